# ruff: noqa: E501  (the matrix reads best one row per line)
"""Who may call what. Every URL under /api/v1/ must have a row here (checked against the URL conf),
so a new endpoint cannot be added without deciding who may use it."""

import uuid

import pytest
from django.contrib.auth import get_user_model
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from rest_framework.test import APIClient

from backend.delivery.subscriptions import subscribe_device
from backend.dispatch.actions import dispatch_incident
from tests.api.helpers import assert_error
from tests.conftest import browser_subscription, client_for, token_client_for

ALICES_ENDPOINT = "https://fcm.googleapis.com/fcm/send/alices-phone"
ROLES = ["anonymous", "firefighter", "other_firefighter", "coordinator", "dispatch_system", "no_role"]


def everyone(status: int) -> dict:
    return dict.fromkeys(ROLES, status)


# (method, url template, body, {role: expected status}); {alert} is alice's alert. A role left out
# gets 403, or 401 when anonymous.
MATRIX = [
    ("get", "/api/v1/incidents/", None, {"firefighter": 403, "coordinator": 200, "dispatch_system": 200}),
    ("post", "/api/v1/incidents/", "new", {"firefighter": 403, "coordinator": 201, "dispatch_system": 201}),
    ("get", "/api/v1/incidents/{incident}/", None, {"firefighter": 403, "coordinator": 200, "dispatch_system": 200}),
    ("post", "/api/v1/incidents/{incident}/dispatch/", {}, {"firefighter": 403, "coordinator": 200, "dispatch_system": 200}),
    ("post", "/api/v1/incidents/{incident}/stand-down/", {}, {"firefighter": 403, "coordinator": 200, "dispatch_system": 200}),
    ("post", "/api/v1/incidents/{incident}/cancel/", {"reason": "x"}, {"firefighter": 403, "coordinator": 200, "dispatch_system": 200}),
    ("post", "/api/v1/incidents/{incident}/close/", {}, {"firefighter": 403, "coordinator": 200, "dispatch_system": 200}),
    ("get", "/api/v1/alerts/", None, {"firefighter": 200, "other_firefighter": 200, "coordinator": 403, "dispatch_system": 403}),
    ("get", "/api/v1/alerts/{alert}/", None, {"firefighter": 200, "other_firefighter": 404, "coordinator": 403, "dispatch_system": 403}),
    ("post", "/api/v1/alerts/{alert}/respond/", {"response": "accept"}, {"firefighter": 200, "other_firefighter": 404, "coordinator": 403, "dispatch_system": 403}),
    ("get", "/api/v1/alerts/{alert}/events/", None, {"firefighter": 200, "other_firefighter": 404, "coordinator": 403, "dispatch_system": 403}),
    ("post", "/api/v1/alerts/{alert}/events/", "onscene_event", {"firefighter": 201, "other_firefighter": 404, "coordinator": 403, "dispatch_system": 403}),
    ("get", "/api/v1/checklist/", None, {"firefighter": 200, "other_firefighter": 200, "coordinator": 200}),
    ("get", "/api/v1/me/", None, {"firefighter": 200, "other_firefighter": 200, "coordinator": 200, "dispatch_system": 200, "no_role": 200}),
    ("patch", "/api/v1/me/", {"on_call": True}, {"firefighter": 200, "other_firefighter": 200, "coordinator": 403, "dispatch_system": 403}),
    ("get", "/api/v1/push-subscriptions/", None, {"firefighter": 200, "other_firefighter": 200}),
    ("post", "/api/v1/push-subscriptions/", "subscription", {"firefighter": 201, "other_firefighter": 201}),
    ("delete", "/api/v1/push-subscriptions/", {"endpoint": ALICES_ENDPOINT}, {"firefighter": 204, "other_firefighter": 404, "coordinator": 404, "dispatch_system": 404, "no_role": 404}),
    ("get", "/api/v1/push/vapid-public-key/", None, {"firefighter": 200, "other_firefighter": 200, "coordinator": 200, "dispatch_system": 200, "no_role": 200}),
    # Logging in and out: open to anyone (the CSRF check is tested in tests/api/test_auth_*_api.py).
    ("get", "/api/v1/auth/csrf/", None, everyone(200)),
    ("post", "/api/v1/auth/login/", {"username": "alice", "password": "not alice's password"}, everyone(400)),
    ("post", "/api/v1/auth/logout/", None, everyone(204)),
]  # fmt: skip


def expected(statuses: dict, role: str) -> int:
    return statuses.get(role, 401 if role == "anonymous" else 403)


@pytest.fixture
def world(incident, carol, cad, alice, charlie, nobody):
    alert = dispatch_incident(actor=carol, incident_id=incident.pk)[0]
    assert alert.responder == alice
    subscription = browser_subscription(ALICES_ENDPOINT)
    subscribe_device(actor=alice.user, endpoint=ALICES_ENDPOINT, label="phone", **subscription["keys"])
    clients = {
        "anonymous": APIClient(),
        "firefighter": client_for(alice.user),
        "other_firefighter": client_for(charlie.user),
        "coordinator": client_for(carol),
        "dispatch_system": token_client_for(cad),
        "no_role": client_for(nobody),
    }
    return {"clients": clients, "incident": incident.pk, "alert": alert.pk}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("method", "url", "body", "statuses"), MATRIX, ids=[f"{m} {u}" for m, u, _, _ in MATRIX])
def test_the_permission_matrix(world, role, method, url, body, statuses):
    if body == "new":
        body = {"cad_reference": f"NEW-{role}", "latitude": 52.6, "longitude": 1.3, "address": "Somewhere"}
    if body == "subscription":
        body = browser_subscription("https://fcm.googleapis.com/fcm/send/new-phone")
    if body == "onscene_event":
        body = {"idempotency_key": str(uuid.uuid4()), "type": "arrived", "occurred_at": timezone.now().isoformat()}
    path = url.format(incident=world["incident"], alert=world["alert"])
    call = getattr(world["clients"][role], method)
    response = call(path, body, format="json") if body is not None else call(path)
    if response.status_code == 204:
        assert response.content == b""
    want = expected(statuses, role)
    assert response.status_code == want, (role, method, path, response.content)
    if want >= 400:
        error = assert_error(response, want)
        # Forbidden means no data: nothing of the incident leaks into the error.
        assert "Example Road" not in str(error) and "EEAST" not in str(error)


def test_anonymous_gets_401_with_a_www_authenticate_header():
    response = APIClient().get("/api/v1/incidents/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Token")


def _api_paths():
    def walk(patterns, prefix=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                yield prefix + str(pattern.pattern)

    return {path for path in walk(get_resolver().url_patterns) if path.startswith("api/v1/")}


def test_every_api_endpoint_is_in_the_matrix():
    in_matrix = {
        url.lstrip("/").replace("{incident}", "<int:incident_id>").replace("{alert}", "<int:alert_id>")
        for _, url, _, _ in MATRIX
    }
    assert _api_paths() == in_matrix


def test_a_session_without_the_csrf_token_cannot_change_anything(alice, incident, carol):
    from django.test import Client

    alert = dispatch_incident(actor=carol, incident_id=incident.pk)[0]
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice.user)
    response = browser.post(
        f"/api/v1/alerts/{alert.pk}/respond/", {"response": "accept"}, content_type="application/json"
    )
    assert_error(response, 403)
    alert.refresh_from_db()
    assert alert.state == "alerted"


def test_a_session_with_the_csrf_token_can(alice, incident, carol):
    from django.test import Client

    alert = dispatch_incident(actor=carol, incident_id=incident.pk)[0]
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice.user)
    browser.get("/admin/login/")  # any page that sets the CSRF cookie
    token = browser.cookies["csrftoken"].value
    response = browser.post(
        f"/api/v1/alerts/{alert.pk}/respond/",
        {"response": "accept"},
        content_type="application/json",
        headers={"X-CSRFToken": token, "Origin": "http://testserver"},
    )
    assert response.status_code == 200, response.content


def test_a_token_of_a_deactivated_user_is_refused(cad):
    client = token_client_for(cad)
    assert client.get("/api/v1/incidents/").status_code == 200
    get_user_model().objects.filter(pk=cad.pk).update(is_active=False)
    assert_error(client.get("/api/v1/incidents/"), 401)


def test_an_unknown_api_url_is_a_json_404(carol):
    response = client_for(carol).get("/api/v1/nothing-here/")
    assert_error(response, 404, "not_found")
