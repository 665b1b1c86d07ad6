"""Deployment checks of our own (`manage.py check --deploy`, run by `make check`).

Two settings guard against being made to talk to the wrong party: the origins allowed to open
sockets and make state changes with a session (cross-site WebSocket hijacking), and the push
services the server will POST to (otherwise a subscription could point it at an internal
address). Each must be present, https in production, and without wildcards where one would let
anybody in. Ids: coresponder.E001-E003 (origins), coresponder.E011-E014 (push allowlist),
coresponder.W001 and W011 (plain http outside production, which is only for development).

Two more say where the product sends people: PUBLIC_BASE_URL, the address in pushes, texts and
the welfare leads' emails (coresponder.E021: https in production), and the mail relay, which must
not be sent its password in clear (coresponder.E031: TLS or SSL when a user is set).

And one says who the push services may contact: VAPID_SUBJECT must not be a placeholder
(coresponder.E041; W041 outside production). Apple's push service refuses a subject it takes for
one (403 BadJwtToken), so no iPhone would ever ring: a mailto: or https: whose host is localhost,
or any name under the reserved example, invalid, test and local names (RFC 2606, RFC 6761,
RFC 6762), such as example.com or example.nhs.uk.
"""

from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

ORIGINS_MISSING = "coresponder.E001"
ORIGIN_WILDCARD = "coresponder.E002"
ORIGIN_NOT_HTTPS = "coresponder.E003"
ORIGIN_HTTP = "coresponder.W001"
PUSH_ALLOWLIST_MISSING = "coresponder.E011"
PUSH_WILDCARD = "coresponder.E012"
PUSH_NOT_HTTPS = "coresponder.E013"
PUSH_NOT_A_HOST = "coresponder.E014"
PUSH_HTTP = "coresponder.W011"
PUBLIC_URL_NOT_HTTPS = "coresponder.E021"
PUBLIC_URL_HTTP = "coresponder.W021"
EMAIL_IN_CLEAR = "coresponder.E031"
VAPID_SUBJECT_PLACEHOLDER = "coresponder.E041"
VAPID_SUBJECT_PLACEHOLDER_DEV = "coresponder.W041"
# A host with one of these labels anywhere is a placeholder: example.com, example.nhs.uk,
# coresponder.example; the last label alone: nhs.invalid, coresponder.test, station.local.
PLACEHOLDER_LABELS = frozenset({"example", "localhost"})
PLACEHOLDER_TOP_LABELS = frozenset({"example", "invalid", "test", "local", "localhost", "localdomain"})


@register(Tags.security, deploy=True)
def socket_origins(app_configs=None, **kwargs):
    origins = list(getattr(settings, "ALLOWED_ORIGINS", []) or [])
    if not origins:
        return [
            Error(
                "DJANGO_ALLOWED_ORIGINS is empty: the app's own origin must be listed for its socket and "
                "session requests to be trusted.",
                hint="Set DJANGO_ALLOWED_ORIGINS=https://your.host (comma-separated for several).",
                id=ORIGINS_MISSING,
            )
        ]
    problems = []
    for origin in origins:
        parts = urlsplit(origin)
        if "*" in origin or origin.strip() == "null":
            problems.append(
                Error(
                    f"DJANGO_ALLOWED_ORIGINS has {origin!r}: a wildcard or null origin would let other sites "
                    "open a firefighter's socket with their session.",
                    hint="List each origin exactly, e.g. https://coresponder.example.nhs.uk.",
                    id=ORIGIN_WILDCARD,
                )
            )
        elif parts.scheme != "https":
            problems.append(_not_https("DJANGO_ALLOWED_ORIGINS", origin, ORIGIN_NOT_HTTPS, ORIGIN_HTTP))
    return [problem for problem in problems if problem is not None]


@register(Tags.security, deploy=True)
def push_service_allowlist(app_configs=None, **kwargs):
    entries = list(getattr(settings, "PUSH_SERVICE_ALLOWLIST", []) or [])
    if not entries:
        return [
            Error(
                "PUSH_SERVICE_ALLOWLIST is empty: no push subscription would be accepted, so no alert could be pushed.",
                hint="Leave PUSH_SERVICE_ALLOWLIST unset for the browsers' push services, or list them.",
                id=PUSH_ALLOWLIST_MISSING,
            )
        ]
    problems = []
    for entry in entries:
        parts = urlsplit(entry)
        host = parts.hostname or ""
        if parts.scheme not in ("http", "https") or not host or parts.path not in ("", "/"):
            problems.append(
                Error(
                    f"PUSH_SERVICE_ALLOWLIST has {entry!r}, which is not scheme://host.",
                    hint="e.g. https://fcm.googleapis.com, or https://*.push.apple.com for subdomains.",
                    id=PUSH_NOT_A_HOST,
                )
            )
        elif _too_wide(host):
            problems.append(
                Error(
                    f"PUSH_SERVICE_ALLOWLIST has {entry!r}: a wildcard may stand only for the subdomains of "
                    "a named domain, or the server could be made to POST anywhere.",
                    hint="Use *.example.com (a leading '*.' before at least two labels), never '*' alone.",
                    id=PUSH_WILDCARD,
                )
            )
        elif parts.scheme != "https":
            problems.append(_not_https("PUSH_SERVICE_ALLOWLIST", entry, PUSH_NOT_HTTPS, PUSH_HTTP))
    return [problem for problem in problems if problem is not None]


@register(Tags.security, deploy=True)
def public_base_url(app_configs=None, **kwargs):
    """Links in pushes, texts and emails lead here: an http or development address would send a
    firefighter or a welfare lead somewhere else."""
    url = settings.PUBLIC_BASE_URL
    if urlsplit(url).scheme == "https":
        return []
    problem = _not_https("PUBLIC_BASE_URL", url, PUBLIC_URL_NOT_HTTPS, PUBLIC_URL_HTTP)
    problem.hint = "Set PUBLIC_BASE_URL to the address firefighters and staff use, e.g. https://your.host."
    return [problem]


@register(Tags.security, deploy=True)
def email_relay(app_configs=None, **kwargs):
    if settings.EMAIL_HOST_USER and not (settings.EMAIL_USE_TLS or getattr(settings, "EMAIL_USE_SSL", False)):
        return [
            Error(
                "EMAIL_HOST_USER is set but the mail relay is used without TLS: its password would cross the "
                "network in clear.",
                hint="Set EMAIL_USE_TLS=1 (or use a relay that needs no password on a private network).",
                id=EMAIL_IN_CLEAR,
            )
        ]
    return []


@register(Tags.security, deploy=True)
def vapid_subject(app_configs=None, **kwargs):
    """The contact in every push's VAPID claims (RFC 8292). Only checked when Web Push is
    configured; its form (mailto: or https:) is checked when the settings load."""
    subject = (getattr(settings, "VAPID_SUBJECT", "") or "").strip()
    if not getattr(settings, "VAPID_PRIVATE_KEY", "") or not subject:
        return []
    host = _subject_host(subject)
    if host is not None and not _placeholder_host(host):
        return []
    message = (
        f"VAPID_SUBJECT is {subject!r}, a placeholder: Apple's push service refuses pushes whose VAPID "
        "subject is localhost or a reserved example, invalid, test or local name, so no iPhone would get an alert."
    )
    hint = "Set VAPID_SUBJECT to a monitored address of the team that runs the service, e.g. mailto:team@nhs.net."
    if settings.PRODUCTION:
        return [Error(message, hint=hint, id=VAPID_SUBJECT_PLACEHOLDER)]
    return [Warning(message, hint=hint, id=VAPID_SUBJECT_PLACEHOLDER_DEV)]


def _subject_host(subject: str) -> str | None:
    """The host of a mailto: address's domain or of an https: URL, lower case; None if there is none."""
    if subject.lower().startswith("mailto:"):
        address = subject[len("mailto:") :].split("?", 1)[0].split(",", 1)[0]
        host = address.rpartition("@")[2].strip().rstrip(">").strip()
    else:
        try:
            host = urlsplit(subject).hostname or ""
        except ValueError:
            return None
    host = host.lower().rstrip(".")
    return host or None


def _placeholder_host(host: str) -> bool:
    labels = host.split(".")
    return bool(PLACEHOLDER_LABELS.intersection(labels)) or labels[-1] in PLACEHOLDER_TOP_LABELS


def _too_wide(host: str) -> bool:
    """'*' only as a whole first label, before at least two named labels (*.push.apple.com)."""
    if "*" not in host:
        return False
    first, _, rest = host.partition(".")
    return first != "*" or "*" in rest or rest.count(".") < 1


def _not_https(setting: str, value: str, error_id: str, warning_id: str):
    message = f"{setting} has {value!r}, which is not https."
    if settings.PRODUCTION:
        return Error(message, hint="Production is served over https only.", id=error_id)
    return Warning(message, hint="Plain http is for development on this machine only.", id=warning_id)
