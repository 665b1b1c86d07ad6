"""Our own deployment checks (backend/checks.py, run by `manage.py check --deploy`): socket origins
and the push-service allowlist must be present, https in production, and never wildcards."""

import pytest
from django.core import checks as django_checks

from backend import checks


def ids(problems) -> list[str]:
    return [problem.id for problem in problems]


def levels(problems) -> set[int]:
    return {problem.level for problem in problems}


@pytest.fixture
def production(settings):
    settings.PRODUCTION = True
    return settings


# --- Socket origins -----------------------------------------------------------------------------------


def test_good_production_origins_pass(production):
    production.ALLOWED_ORIGINS = ["https://coresponder.example.nhs.uk", "https://backup.example.nhs.uk"]

    assert checks.socket_origins() == []


def test_no_origins_is_an_error(production):
    production.ALLOWED_ORIGINS = []

    assert ids(checks.socket_origins()) == ["coresponder.E001"]


@pytest.mark.parametrize("origin", ["*", "https://*.example.nhs.uk", "null"])
def test_a_wildcard_or_null_origin_is_an_error(production, origin):
    production.ALLOWED_ORIGINS = ["https://coresponder.example.nhs.uk", origin]

    assert ids(checks.socket_origins()) == ["coresponder.E002"]


def test_plain_http_is_an_error_in_production(production):
    production.ALLOWED_ORIGINS = ["http://coresponder.example.nhs.uk"]

    problems = checks.socket_origins()

    assert ids(problems) == ["coresponder.E003"] and levels(problems) == {django_checks.ERROR}


def test_plain_http_is_a_warning_in_development(settings):
    settings.PRODUCTION = False
    settings.ALLOWED_ORIGINS = ["http://127.0.0.1:8000"]

    problems = checks.socket_origins()

    assert ids(problems) == ["coresponder.W001"] and levels(problems) == {django_checks.WARNING}


# --- Push-service allowlist ------------------------------------------------------------------------


def test_the_default_allowlist_passes_in_production(production):
    assert production.PUSH_SERVICE_ALLOWLIST  # the browsers' push services, from settings.py

    assert checks.push_service_allowlist() == []


def test_an_empty_allowlist_is_an_error(production):
    production.PUSH_SERVICE_ALLOWLIST = []

    assert ids(checks.push_service_allowlist()) == ["coresponder.E011"]


@pytest.mark.parametrize("entry", ["https://*", "https://*.com", "https://fcm.*.com", "https://push*.example.com"])
def test_a_wildcard_wider_than_one_domains_subdomains_is_an_error(production, entry):
    production.PUSH_SERVICE_ALLOWLIST = ["https://fcm.googleapis.com", entry]

    assert ids(checks.push_service_allowlist()) == ["coresponder.E012"]


def test_named_subdomain_wildcards_are_allowed(production):
    production.PUSH_SERVICE_ALLOWLIST = ["https://*.push.apple.com", "https://*.notify.windows.com"]

    assert checks.push_service_allowlist() == []


@pytest.mark.parametrize(
    "entry",
    ["fcm.googleapis.com", "https://fcm.googleapis.com/fcm/send", "ftp://push.example", "*://fcm.googleapis.com"],
)
def test_an_entry_that_is_not_scheme_and_host_is_an_error(production, entry):
    production.PUSH_SERVICE_ALLOWLIST = [entry]

    assert ids(checks.push_service_allowlist()) == ["coresponder.E014"]


def test_a_plain_http_push_service_is_an_error_in_production_and_a_warning_otherwise(settings):
    settings.PUSH_SERVICE_ALLOWLIST = ["http://127.0.0.1:*"]
    settings.PRODUCTION = True
    assert ids(checks.push_service_allowlist()) == ["coresponder.E013"]

    settings.PRODUCTION = False
    assert ids(checks.push_service_allowlist()) == ["coresponder.W011"]


def test_the_checks_run_with_check_deploy():
    registered = django_checks.registry.registry.get_checks(include_deployment_checks=True)

    for check in (checks.socket_origins, checks.push_service_allowlist, checks.public_base_url, checks.email_relay):
        assert check in registered, check.__name__


# --- Where the product sends people, and its mail relay -----------------------------------------------


def test_the_public_address_must_be_https_in_production(production):
    production.PUBLIC_BASE_URL = "http://127.0.0.1:8000"
    assert ids(checks.public_base_url()) == ["coresponder.E021"]

    production.PUBLIC_BASE_URL = "https://coresponder.example.nhs.uk"
    assert checks.public_base_url() == []


def test_a_development_public_address_is_only_a_warning_outside_production(settings):
    settings.PRODUCTION = False
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:8000"
    assert ids(checks.public_base_url()) == ["coresponder.W021"]


def test_a_mail_relay_with_a_password_needs_tls(settings):
    settings.EMAIL_HOST_USER = "coresponder"
    settings.EMAIL_USE_TLS = False
    assert ids(checks.email_relay()) == ["coresponder.E031"]

    settings.EMAIL_USE_TLS = True
    assert checks.email_relay() == []


def test_a_relay_without_a_user_may_go_without_tls(settings):
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_USE_TLS = False
    assert checks.email_relay() == []


# --- The VAPID subject: a contact the push services accept ----------------------------------------------


@pytest.mark.parametrize(
    "subject",
    [
        "mailto:admin@localhost",
        "mailto:push@localhost.localdomain",
        "https://localhost/contact",
        "https://localhost:8443",
        "mailto:coresponder-admin@example.nhs.uk",  # what `make check` used to use
        "mailto:admin@example.com",
        "mailto:admin@EXAMPLE.org",
        "https://example.net/push-contact",
        "https://www.example.com",
        "mailto:ops@coresponder.example",
        "mailto:ops@nhs.invalid",
        "https://invalid",
        "mailto:ops@invalid",
        "mailto:ops@coresponder.test",
        "https://push.coresponder.local/contact",
        "mailto:ops@station.local",
        "mailto:ops@example.nhs.uk?subject=push",
    ],
)
def test_a_placeholder_vapid_subject_is_refused_in_production(production, subject):
    """Apple's push service answers 403 BadJwtToken to a VAPID subject it takes for a placeholder,
    so no iPhone would ever get an alert."""
    production.VAPID_PRIVATE_KEY = "configured"
    production.VAPID_SUBJECT = subject

    problems = checks.vapid_subject()

    assert ids(problems) == ["coresponder.E041"] and levels(problems) == {django_checks.ERROR}
    assert subject in problems[0].msg and "Apple" in problems[0].msg


@pytest.mark.parametrize(
    "subject",
    [
        "mailto:coresponder-admin@nhs.net",
        "mailto:Co-Responding.Team@eastamb.nhs.uk",
        "https://www.eastamb.nhs.uk/contact-us",
        "https://coresponder.norfolkfireservice.gov.uk",
        "mailto:push@examples.co.uk",  # only the reserved names are placeholders
        "mailto:ops@testing.nhs.uk",
        "mailto:ops@localhealth.nhs.uk",
    ],
)
def test_a_real_vapid_subject_passes(production, subject):
    production.VAPID_PRIVATE_KEY = "configured"
    production.VAPID_SUBJECT = subject

    assert checks.vapid_subject() == []


def test_a_placeholder_vapid_subject_is_a_warning_outside_production(settings):
    settings.PRODUCTION = False
    settings.VAPID_PRIVATE_KEY = "configured"
    settings.VAPID_SUBJECT = "mailto:coresponder-demo@example.org"  # the development default

    problems = checks.vapid_subject()

    assert ids(problems) == ["coresponder.W041"] and levels(problems) == {django_checks.WARNING}


def test_without_web_push_configured_the_subject_is_not_checked(production):
    production.VAPID_PRIVATE_KEY = ""
    production.VAPID_SUBJECT = ""

    assert checks.vapid_subject() == []


def test_the_vapid_subject_check_runs_with_check_deploy():
    registered = django_checks.registry.registry.get_checks(include_deployment_checks=True)

    assert checks.vapid_subject in registered
