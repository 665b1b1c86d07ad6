# ruff: noqa: E501  (the matrix reads best one row per line)
"""Who may call what, built from the URL configuration and the socket routes.

Every route under /api/ and /admin/ (and /healthz) must have an entry here, and every socket route
and frame type one in tests/security/test_permission_matrix_sockets.py: a new endpoint, admin page,
model admin, socket or frame type without one fails test_every_api_route_has_an_entry,
test_every_admin_route_has_an_entry, test_every_socket_route_has_an_entry or
test_every_socket_frame_type_has_an_entry. Each entry is tried as every role
(tests/security/world.py), with the object it names: alice's alert, another station's incident, the
crew lead's own accepted alert... The world is built once for the module; each test runs in a
savepoint inside it, so what one test writes no other sees.

Forbidden means 401, 403 or 404 with nothing in the body but the error envelope (no field errors,
no names, references or addresses) in the API, and a redirect to the login page or a bare 403/404
page in the admin.
"""

import uuid
from dataclasses import dataclass

import pytest
from axes.models import AccessFailureLog
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from backend.checklists.content import event_ids
from backend.records.models import CadTimes
from tests.api.helpers import assert_matches
from tests.conftest import browser_subscription, pass_second_factor
from tests.security.world import (
    ALICES_ENDPOINT,
    FIREFIGHTERS,
    ROLES,
    SECRETS,
    admin_client,
    api_methods,
    build_world,
    make_personas,
    routes_under,
    walk_urls,
)
from tests.support.database import once_per_module

AUTHENTICATED = [role for role in ROLES if role != "anonymous"]
STAFF = ("coordinator", "welfare_lead")


def only(*roles: str, status: int) -> dict:
    return dict.fromkeys(roles, status)


def everyone(status: int) -> dict:
    return dict.fromkeys(ROLES, status)


def signed_in(status: int) -> dict:
    return dict.fromkeys(AUTHENTICATED, status)


@dataclass(frozen=True)
class Entry:
    method: str
    url: str  # with {placeholders}, see url_of
    expect: dict  # role -> status; a role left out gets 401 when anonymous, 403 otherwise
    body: object = None
    setup: str = ""  # a record made first, see RECORDS_MADE_FIRST; {record} is its id

    @property
    def route(self) -> str:
        path = self.url.lstrip("/")
        for placeholder, converter in _CONVERTERS.items():
            path = path.replace(placeholder, converter)
        return path

    def status_for(self, role: str) -> int:
        return self.expect.get(role, 401 if role == "anonymous" else 403)


_CONVERTERS = {
    "{incident}": "<int:incident_id>",
    "{accepted_incident}": "<int:incident_id>",
    "{alert}": "<int:alert_id>",
    "{accepted_alert}": "<int:alert_id>",
    "{own_accepted_alert}": "<int:alert_id>",
    "{charlies_alert}": "<int:alert_id>",
    "{record}": "<int:record_id>",
    "{check}": "<int:check_id>",
    "{message}": "<int:message_id>",
    "{postcode}": "<str:postcode>",
}
FIREFIGHTERS_200 = only(*FIREFIGHTERS, status=200)
OWNER_ONLY = {"firefighter": 200, "other_station_firefighter": 404, "crew_lead": 404}

ATTENDANCE = {"attended": True, "role": "crew_member"}
WELFARE = {"impact": 2, "follow_up": "none"}
OUTCOME = {"resuscitation_attempted": False, "not_attempted_reason": "dnacpr"}
POSITION = {"latitude": 52.63, "longitude": 1.29, "accuracy_m": 12}

API_MATRIX = [
    # Incidents: coordinators and the ambulance dispatch system only.
    Entry("get", "/api/v1/incidents/", only("coordinator", "machine", status=200)),
    Entry("post", "/api/v1/incidents/", only("coordinator", "machine", status=201), "new incident"),
    Entry("get", "/api/v1/incidents/{incident}/", only("coordinator", "machine", status=200)),
    Entry("post", "/api/v1/incidents/{incident}/dispatch/", only("coordinator", "machine", status=200), {}),
    Entry("post", "/api/v1/incidents/{incident}/stand-down/", only("coordinator", "machine", status=200), {}),
    Entry("post", "/api/v1/incidents/{incident}/cancel/", only("coordinator", "machine", status=200), {"reason": "Ambulance on scene."}),
    Entry("post", "/api/v1/incidents/{incident}/close/", only("coordinator", "machine", status=200), {}),
    # The board's "Alert a named responder" (issue 15): whoever may dispatch.
    Entry("get", "/api/v1/incidents/{incident}/named-candidates/", only("coordinator", "machine", status=200)),
    # The board's alarms: coordinators with the board permission only (not the CAD).
    Entry("post", "/api/v1/alarms/acknowledge/", only("coordinator", status=201), {"kind": "worker_silent"}),
    # The CAD's own times (issue 16): the ambulance dispatch system, or a coordinator when its link
    # cannot send them (records.record_cad_times).
    Entry(
        "post",
        "/api/v1/incidents/{incident}/cad-times/",
        only("coordinator", "machine", status=200),
        {"call_received_at": None},
    ),
    # The nearest defibrillators (issue 14): the board, and the crews alerted to the incident (alice
    # and erin on A); a firefighter not alerted to it is told it does not exist.
    Entry("get", "/api/v1/incidents/{incident}/defibrillators/", {"coordinator": 200, "firefighter": 200, "crew_lead": 200, "other_station_firefighter": 404}),
    # Messages to the crews (issue 15): coordinators send and read; the incident's alerted
    # firefighters read and acknowledge; one not alerted to it gets 404, as for an unknown id.
    Entry("get", "/api/v1/incidents/{incident}/messages/", {"coordinator": 200, "firefighter": 200, "crew_lead": 200, "other_station_firefighter": 404}),
    Entry("post", "/api/v1/incidents/{incident}/messages/", only("coordinator", status=201), {"text": "Ambulance on scene"}),
    Entry("post", "/api/v1/messages/{message}/acknowledge/", {"firefighter": 200, "crew_lead": 200, "other_station_firefighter": 404}, {}, setup="a message"),
    # Postcodes: coordinators placing an incident.
    Entry("get", "/api/v1/postcodes/{postcode}/", only("coordinator", status=200), setup="a postcode"),
    # A firefighter's own alerts: another's (same station or not) is 404, a non-firefighter 403.
    Entry("get", "/api/v1/alerts/", FIREFIGHTERS_200),
    Entry("get", "/api/v1/alerts/{alert}/", OWNER_ONLY),
    Entry("get", "/api/v1/alerts/{charlies_alert}/", {"firefighter": 404, "other_station_firefighter": 200, "crew_lead": 404}),
    # Alice is committed to another incident (the world), so her answer here is a decline.
    Entry("post", "/api/v1/alerts/{alert}/respond/", OWNER_ONLY, {"response": "decline", "reason": "already_committed"}),
    Entry("get", "/api/v1/alerts/{alert}/events/", OWNER_ONLY),
    Entry("post", "/api/v1/alerts/{alert}/events/", {**OWNER_ONLY, "firefighter": 201}, "onscene event"),
    Entry("get", "/api/v1/checklist/", {**FIREFIGHTERS_200, "coordinator": 200}),
    Entry("get", "/api/v1/me/", signed_in(200)),
    Entry("patch", "/api/v1/me/", FIREFIGHTERS_200, {"on_call": True}),
    Entry("get", "/api/v1/push-subscriptions/", FIREFIGHTERS_200),
    Entry("post", "/api/v1/push-subscriptions/", only(*FIREFIGHTERS, status=201), "subscription"),
    Entry("delete", "/api/v1/push-subscriptions/", {**signed_in(404), "firefighter": 204}, {"endpoint": ALICES_ENDPOINT}),
    Entry("get", "/api/v1/push/vapid-public-key/", signed_in(200)),
    # The maps' tile settings and the stations: not secret, not public (backend/api/map_views.py).
    Entry("get", "/api/v1/map/", signed_in(200)),
    # Readiness: a test of, or a report on, the caller's own phone only (named by its endpoint);
    # another firefighter's is 404, as an unknown one is (tests/delivery/test_readiness_api.py).
    Entry("post", "/api/v1/push-tests/", {"firefighter": 201, "other_station_firefighter": 404, "crew_lead": 404}, {"endpoint": ALICES_ENDPOINT}),
    Entry("get", "/api/v1/push-tests/{check}/", OWNER_ONLY, setup="alice's test"),
    Entry("put", "/api/v1/push-device-state/", OWNER_ONLY, {"endpoint": ALICES_ENDPOINT, "platform": "android", "installed": True, "permission": "granted"}),
    # The phones' receipts: no session, whoever calls; a token that is not the push's is refused
    # (tests/delivery/test_push_receipts.py: accepted once, replays, foreign tokens, the rate).
    Entry("post", "/api/v1/push-receipts/", everyone(403), {"alert_id": 1, "token": "A" * 43, "event": "shown"}),
    # Logging in and out: open to anyone (CSRF: tests/security/test_csrf.py).
    Entry("get", "/api/v1/auth/csrf/", everyone(200)),
    # Who is signed in: an answer for anyone, nobody signed in included (not a 401).
    Entry("get", "/api/v1/auth/session/", everyone(200)),
    Entry("post", "/api/v1/auth/login/", everyone(400), {"username": "alice", "password": "not alice's password"}),
    Entry("post", "/api/v1/auth/logout/", everyone(204)),
    # The API's own description: public, it holds no data.
    Entry("get", "/api/schema/", everyone(200)),
    Entry("get", "/api/docs/", everyone(200)),
    # After-call records (issue 5): forms of the firefighter's own
    # accepted alert; the welfare form does not exist to anyone else (404 even for coordinators).
    Entry("get", "/api/v1/alerts/{accepted_alert}/attendance/", OWNER_ONLY),
    Entry("get", "/api/v1/alerts/{alert}/attendance/", {"firefighter": 404, "other_station_firefighter": 404, "crew_lead": 404}),
    Entry("post", "/api/v1/alerts/{accepted_alert}/attendance/", {**OWNER_ONLY, "firefighter": 201}, ATTENDANCE),
    Entry("patch", "/api/v1/alerts/{accepted_alert}/attendance/", OWNER_ONLY, {"reason": "Wrong appliance.", "appliance": "21P1"}, setup="alice's attendance"),
    Entry("get", "/api/v1/alerts/{accepted_alert}/welfare/", {**signed_in(404), **OWNER_ONLY}),
    Entry("post", "/api/v1/alerts/{accepted_alert}/welfare/", {**signed_in(404), **OWNER_ONLY, "firefighter": 201}, WELFARE),
    Entry("patch", "/api/v1/alerts/{accepted_alert}/welfare/", {**signed_in(404), **OWNER_ONLY}, {"reason": "Changed my mind.", "impact": 3}, setup="alice's welfare"),
    # The outcome: the crew's; any crew member who accepted may read it, only the crew lead writes it.
    Entry("get", "/api/v1/alerts/{own_accepted_alert}/outcome/", FIREFIGHTERS_200),
    Entry("get", "/api/v1/alerts/{accepted_alert}/outcome/", OWNER_ONLY, setup="erin's outcome"),
    Entry("post", "/api/v1/alerts/{own_accepted_alert}/outcome/", {"crew_lead": 201}, OUTCOME),
    Entry("patch", "/api/v1/alerts/{own_accepted_alert}/outcome/", {"crew_lead": 200}, {"reason": "Wrong rhythm.", "first_rhythm": "unknown"}, setup="erin's outcome"),
    Entry("get", "/api/v1/records/", FIREFIGHTERS_200),
    Entry("get", "/api/v1/welfare-check-ins/", {**signed_in(404), "welfare_lead": 200}, setup="alice's welfare"),
    # Coordinators amend attendance and outcome records (records.amend_record), never check-ins.
    Entry("post", "/api/v1/records/attendance/{record}/amend/", only("coordinator", status=200), {"reason": "Corrected from the appliance log.", "appliance": "21P2"}, setup="alice's attendance"),
    Entry("post", "/api/v1/records/outcome/{record}/amend/", only("coordinator", status=200), {"reason": "Corrected from the ambulance record.", "first_rhythm": "unknown"}, setup="erin's outcome"),
    # Positions (issue 14, docs/positions.md): shared only by the alert's own responder while going
    # (an unanswered alert: 409 not_responding); read by coordinators and the incident's committed
    # crew (alice and erin accepted B; on A they are only alerted: 404).
    Entry("post", "/api/v1/alerts/{accepted_alert}/positions/", {**OWNER_ONLY, "firefighter": 201}, POSITION),
    Entry("post", "/api/v1/alerts/{alert}/positions/", {**OWNER_ONLY, "firefighter": 409}, POSITION),
    # Stop: only the alert's own responder (a coordinator has no alert of theirs; another's is 404).
    Entry("delete", "/api/v1/alerts/{accepted_alert}/positions/", {**OWNER_ONLY, "firefighter": 204}),
    Entry("get", "/api/v1/incidents/{accepted_incident}/positions/", {"coordinator": 200, "firefighter": 200, "crew_lead": 200, "other_station_firefighter": 404}),
    Entry("get", "/api/v1/incidents/{incident}/positions/", {"coordinator": 200, "firefighter": 404, "crew_lead": 404, "other_station_firefighter": 404}),
    # The ambulance's arrival: the CAD, or a coordinator.
    Entry("post", "/api/v1/incidents/{incident}/ambulance-eta/", only("coordinator", "machine", status=200), {"ambulance_eta": None}),
    # The on-call fix: only a firefighter who opted in and is on call (nobody in the world: 409).
    Entry("put", "/api/v1/me/position/", only(*FIREFIGHTERS, status=409), POSITION),
]  # fmt: skip

# /healthz: public, for load balancers; 503 when no delivery worker reported (none in tests).
HEALTHZ_KEYS = {"status", "database", "channel_layer", "delivery_workers"}


# --- The world and clients ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shared_world(django_db_setup, django_db_blocker):
    """Built once for the module (tests/support/database.py): the same people as tests/conftest.py's
    fixtures, and the world of tests/security/world.py."""
    yield from once_per_module(django_db_blocker, lambda: build_world(**make_personas()))


@pytest.fixture
def world(shared_world, db):
    """The module's world; what a test writes is rolled back after it (a savepoint)."""
    return shared_world


def client_as(world, role: str) -> APIClient:
    """A real session (firefighters, coordinators...) or an API token (the machine client)."""
    client = APIClient()
    user = world.users[role]
    if role == "machine":
        _, token = AuthToken.objects.create(user=user, expiry=None)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    elif user is not None:
        client.force_login(user)
        if user.is_staff:
            pass_second_factor(client, user)
    return client


# Records an entry needs to exist before its request: (role of the author, kind, body).
RECORDS_MADE_FIRST = {
    "alice's attendance": ("firefighter", "attendance", ATTENDANCE),
    "alice's welfare": ("firefighter", "welfare", WELFARE),
    "erin's outcome": ("crew_lead", "outcome", OUTCOME),
}


def make_record_first(entry: Entry, world) -> int | None:
    if not entry.setup:
        return None
    if entry.setup == "a message":
        from backend.dispatch.messages import send_crew_message

        return send_crew_message(actor=world.users["coordinator"], incident_id=world.incident, text="Rear door").pk
    if entry.setup == "a postcode":
        from backend.postcodes.models import Postcode

        return Postcode.objects.create(code="NR21TF", postcode="NR2 1TF", latitude=52.63, longitude=1.29).pk
    if entry.setup == "alice's test":
        from backend.delivery import readiness

        check, _ = readiness.request_test(actor=world.users["firefighter"], endpoint=ALICES_ENDPOINT)
        return check.pk
    from backend.records import actions as record_actions

    author, kind, fields = RECORDS_MADE_FIRST[entry.setup]
    record, _ = record_actions.submit_record(
        actor=world.users[author],
        kind=kind,
        alert_id=world.own_accepted_alerts[author],
        idempotency_key=uuid.uuid4(),
        fields=dict(fields),
    )
    return record.pk


def url_of(entry: Entry, world, role: str, record_id: int | None = None) -> str:
    values = {
        "{record}": record_id,
        "{check}": record_id,
        "{message}": record_id,
        "{postcode}": "nr2 1tf",
        "{incident}": world.incident,
        "{accepted_incident}": world.accepted_incident,
        "{alert}": world.alert,
        "{accepted_alert}": world.accepted_alert,
        "{own_accepted_alert}": world.own_accepted_alerts.get(role, world.accepted_alert),
        "{charlies_alert}": world.own_accepted_alerts["other_station_firefighter"],
    }
    url = entry.url
    for placeholder, value in values.items():
        url = url.replace(placeholder, str(value))
    return url


def body_of(entry: Entry, role: str):
    if entry.body == "new incident":
        return {"cad_reference": f"NEW-{role}", "latitude": 52.6, "longitude": 1.3, "address": "Somewhere"}
    if entry.body == "subscription":
        return browser_subscription(f"https://fcm.googleapis.com/fcm/send/{role}-new-phone")
    if entry.body == "onscene event":
        return {"idempotency_key": str(uuid.uuid4()), "type": event_ids()[0], "occurred_at": timezone.now().isoformat()}
    if isinstance(entry.body, dict) and entry.url.endswith(("/attendance/", "/outcome/", "/welfare/", "/amend/")):
        # Records' submissions, changes and amendments carry a key made by the phone.
        return {"idempotency_key": str(uuid.uuid4()), **entry.body}
    return entry.body


def assert_refusal_holds_no_data(response, status: int) -> None:
    """Only the error envelope: a code and a message, no field errors, nothing of the object."""
    assert response.status_code == status, response.content
    body = response.json()
    assert_matches("api_error", body)
    assert set(body["error"]) == {"code", "message", "fields"}, body
    assert body["error"]["fields"] == {}, body
    text = response.content.decode()
    leaked = [secret for secret in SECRETS if secret in text]
    assert not leaked, f"{leaked} in a refusal: {text}"


# --- The API --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("entry", API_MATRIX, ids=[f"{entry.method} {entry.url}" for entry in API_MATRIX])
def test_the_api_permission_matrix(world, role, entry):
    client = client_as(world, role)
    body = body_of(entry, role)
    call = getattr(client, entry.method)
    path = url_of(entry, world, role, make_record_first(entry, world))
    response = call(path, body, format="json") if body is not None else call(path)

    want = entry.status_for(role)
    assert response.status_code == want, (role, entry.method, path, response.content[:500])
    if want in (401, 403, 404):
        assert_refusal_holds_no_data(response, want)
    if want == 204:
        assert response.content == b""


def test_every_api_route_has_an_entry():
    """A new endpoint (or a new method on one) cannot be added without deciding who may use it."""
    in_conf = {(route, method) for route, callback in routes_under("api/").items() for method in api_methods(callback)}
    in_matrix = {(entry.route, entry.method) for entry in API_MATRIX}
    missing = sorted(in_conf - in_matrix)
    assert not missing, f"No entry in API_MATRIX for: {missing}"
    stale = sorted(in_matrix - in_conf)
    assert not stale, f"Entries for routes that are not in the URL conf: {stale}"
    # And nothing outside /api/, /admin/ and /healthz that this matrix would not see.
    others = {route for route, _ in walk_urls() if not route.startswith(("api/", "admin/"))}
    # /board/ is a page, not an API: who may open it is tested in tests/dispatch/test_board_page.py.
    # /favicon.ico: a redirect to the app's public icon, open to everyone (below).
    assert others == {"healthz", "board/", "favicon.ico"}, others


# --- Ownership in lists: each firefighter sees only their own -------------------------------------------


@pytest.mark.parametrize("role", FIREFIGHTERS)
def test_a_firefighter_lists_only_their_own_alerts(world, role):
    response = client_as(world, role).get("/api/v1/alerts/")

    assert response.status_code == 200
    assert {alert["id"] for alert in response.json()["results"]} == world.alerts_of[role]


@pytest.mark.parametrize("role", FIREFIGHTERS)
def test_a_firefighter_lists_only_their_own_push_devices(world, role):
    response = client_as(world, role).get("/api/v1/push-subscriptions/")

    assert response.status_code == 200
    endpoints = [device["endpoint"] for device in response.json()["results"]]
    assert endpoints == ([ALICES_ENDPOINT] if role == "firefighter" else [])


@pytest.mark.parametrize("role", FIREFIGHTERS)
def test_a_firefighter_lists_only_their_own_records(world, role):
    response = client_as(world, role).get("/api/v1/records/")

    assert response.status_code == 200
    assert {row["alert_id"] for row in response.json()["results"]} <= world.alerts_of[role]


def test_an_unknown_api_url_is_a_json_404(world):
    response = client_as(world, "coordinator").get("/api/v1/nothing-here/")

    assert_refusal_holds_no_data(response, 404)


def test_anonymous_gets_401_with_a_www_authenticate_header():
    response = APIClient().get("/api/v1/incidents/")

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Token")


# --- /favicon.ico -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_the_site_icon_is_open_to_everyone_and_leads_only_to_the_apps_icon(world, role):
    response = client_as(world, role).get("/favicon.ico")

    assert (response.status_code, response["Location"]) == (301, "/icons/icon.svg")
    assert response.content == b""


# --- /healthz ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_healthz_is_open_to_everyone_and_holds_only_status(world, role):
    response = client_as(world, role).get("/healthz")

    assert response.status_code in (200, 503)
    assert set(response.json()) == HEALTHZ_KEYS
    assert not [secret for secret in SECRETS if secret in response.content.decode()]


# --- The admin ----------------------------------------------------------------------------------------------

# What each role may do on each model's admin pages: v(iew), a(dd), c(hange), d(elete). Anyone not
# staff (firefighters, the machine client, nobody) is sent to the login page from every admin page.
# A model registered in the admin without a row here fails test_every_admin_route_has_an_entry.
ADMIN_MODELS = {
    # app_label.model_name: {role: rights}
    "accounts.station": {"coordinator": "v"},
    "accounts.responder": {"coordinator": "vc"},
    "dispatch.incident": {"coordinator": "vac"},
    "dispatch.alert": {"coordinator": "v"},
    "realtime.responderevent": {},
    "delivery.delivery": {"coordinator": "v"},
    "delivery.pushdevice": {"coordinator": "v"},
    "checklists.onsceneevent": {"coordinator": "v"},
    # The checklist's versions: coordinators read them; only clinical safety officers approve or
    # withdraw one, on the two pages below (tests/checklists/test_sign_off.py tries them as a CSO).
    "checklists.checklistversion": {"coordinator": "v"},
    "records.attendance": {"coordinator": "v"},
    "records.outcome": {"coordinator": "v"},
    "records.cadtimes": {"coordinator": "v"},
    # Check-ins are private to their author and the welfare leads, coordinators included.
    "records.welfarecheckin": {"welfare_lead": "v"},
    "audit.auditentry": {"coordinator": "v"},
    # Imported defibrillators: read-only to everyone (they change by import_defibrillators only).
    "places.defibrillator": {"coordinator": "v"},
    # Django's and libraries' models: superusers only.
    "auth.group": {},
    "auth.user": {},
    "knox.authtoken": {},
    "webpush.pushinformation": {},
    "otp_totp.totpdevice": {},
    "axes.accessattempt": {},
    "axes.accesslog": {},
    "axes.accessfailurelog": {},
}
# Models whose pages do not exist (404, not 403) to staff without the right to see them.
HIDDEN_MODELS = {"records.welfarecheckin"}
# The standard pages of a model admin: (suffix, right needed, method).
MODEL_PAGES = [
    ("", "v"),
    ("add/", "a"),
    ("<path:object_id>/change/", "v"),
    ("<path:object_id>/history/", "v"),
    ("<path:object_id>/delete/", "d"),
    ("<path:object_id>/", "redirect"),
]
# Pages of the admin site itself and our custom ones: route -> {role: status} for staff roles;
# non-staff are redirected to the login page unless listed.
LOGIN = "login"
ADMIN_PAGES = {
    "admin/": {"coordinator": 200, "welfare_lead": 200},
    "admin/login/": {role: 200 for role in ROLES} | {"coordinator": 302, "welfare_lead": 302},
    # GET: logging out is a POST (staff get 405; anyone else is sent to the login page).
    "admin/logout/": {**everyone(302), "coordinator": 405, "welfare_lead": 405},
    "admin/password_change/": {"coordinator": 200, "welfare_lead": 200},
    "admin/password_change/done/": {"coordinator": 200, "welfare_lead": 200},
    "admin/autocomplete/": {"coordinator": 403, "welfare_lead": 403},
    "admin/jsi18n/": {"coordinator": 200, "welfare_lead": 200},
    "admin/r/<path:content_type_id>/<path:object_id>/": {"coordinator": 404, "welfare_lead": 404},
    "admin/(?P<url>.*)$": {"coordinator": 404, "welfare_lead": 404},
    # The second factor (backend/accounts/admin_site.py): these staff have a device already.
    "admin/two-factor/": {"coordinator": 200, "welfare_lead": 200},
    "admin/two-factor/enrol/": {"coordinator": 302, "welfare_lead": 302},
    "admin/otp_totp/totpdevice/<int:pk>/config/": {"coordinator": 403, "welfare_lead": 403},
    "admin/otp_totp/totpdevice/<int:pk>/qrcode/": {"coordinator": 403, "welfare_lead": 403},
    # Amending a record after its lock (records.amend_record).
    "admin/records/attendance/<path:object_id>/amend/": {"coordinator": 200, "welfare_lead": 403},
    "admin/records/outcome/<path:object_id>/amend/": {"coordinator": 200, "welfare_lead": 403},
    # The clinical sign-off of a checklist version: clinical safety officers only (none here).
    "admin/checklists/checklistversion/<path:object_id>/approve/": {"coordinator": 403, "welfare_lead": 403},
    "admin/checklists/checklistversion/<path:object_id>/withdraw/": {"coordinator": 403, "welfare_lead": 403},
    # The scheme's reports and their export (records.view_reports, records.export_reports).
    "admin/reports/": {"coordinator": 200, "welfare_lead": 403},
    "admin/reports/export.csv": {"coordinator": 200, "welfare_lead": 403},
    # The readiness of the crews' phones (delivery.view_pushdevice and accounts.view_responder).
    "admin/readiness/": {"coordinator": 200, "welfare_lead": 403},
    # The registry's downloads (records.export_registry) and the drill-down (records.view_reports).
    "admin/reports/registry/<slug:kind>.csv": {"coordinator": 200, "welfare_lead": 403},
    "admin/reports/incidents/": {"coordinator": 200, "welfare_lead": 403},
    # The live board: coordinators (accounts.view_board).
    "admin/dispatch/incident/board/": {"coordinator": 200, "welfare_lead": 403},
    # The incident page's buttons (GET: they are forms' POST targets; POST below).
    "admin/dispatch/incident/<path:object_id>/dispatch/": {"coordinator": 405, "welfare_lead": 405},
    "admin/dispatch/incident/<path:object_id>/stand-down/": {"coordinator": 405, "welfare_lead": 405},
    "admin/dispatch/incident/<path:object_id>/close/": {"coordinator": 405, "welfare_lead": 405},
    "admin/dispatch/incident/<path:object_id>/cancel/": {"coordinator": 200, "welfare_lead": 302},
    "admin/dispatch/incident/<path:object_id>/alert-named/": {"coordinator": 200, "welfare_lead": 302},
}
# An app's index: staff who may see something in it.
APP_INDEX = "admin/^(?P<app_label>"


def _admin_model_routes() -> dict[str, tuple[str, str]]:
    """route -> (model label, right) for every standard page of every registered model."""
    routes = {}
    for model in admin.site._registry:
        label = f"{model._meta.app_label}.{model._meta.model_name}"
        base = f"admin/{model._meta.app_label}/{model._meta.model_name}/"
        for suffix, right in MODEL_PAGES:
            routes[base + suffix] = (label, right)
        if label == "auth.user":
            routes[base + "<id>/password/"] = (label, "c")
    return routes


def _expected_admin_status(route: str, role: str, model_routes) -> int | str:
    staff = role in STAFF
    if route in ADMIN_PAGES:
        return ADMIN_PAGES[route].get(role, LOGIN if not staff else 403)
    if route.startswith(APP_INDEX):
        return LOGIN if not staff else None  # checked per app below
    label, right = model_routes[route]
    if not staff:
        return LOGIN
    if right == "redirect":
        return 302  # to the object's change page
    rights = ADMIN_MODELS[label].get(role, "")
    # Change rights include viewing.
    if right in rights or (right == "v" and "c" in rights):
        return 200
    return 404 if label in HIDDEN_MODELS and right == "v" else 403


def populate_admin_rows(world) -> None:
    """A row for every model in the admin that the world does not make anyway."""
    for setup in RECORDS_MADE_FIRST:
        make_record_first(Entry("get", "", {}, setup=setup), world)
    AuthToken.objects.create(user=world.users["machine"], expiry=None)
    # A failed login, for django-axes' pages.
    APIClient().post("/api/v1/auth/login/", {"username": "alice", "password": "wrong"}, format="json")
    AccessFailureLog.objects.get_or_create(
        username="alice", ip_address="127.0.0.1", user_agent="test", http_accept="*/*", path_info="/api/v1/auth/login/"
    )
    admin_client(world.users["coordinator"])  # a TOTP device for the device pages
    CadTimes.objects.create(incident_id=world.incident, call_received_at=timezone.now(), updated_at=timezone.now())


def _admin_url(route: str, world, model_routes) -> str:
    if route in model_routes:
        label, _ = model_routes[route]
        model = ContentType.objects.get_by_natural_key(*label.split(".")).model_class()
        obj = model._default_manager.order_by("pk").first()
        # Django looks an object up before checking permissions: a missing one tests nothing.
        assert obj is not None, f"No {label} in the world: add one so that its pages are really checked"
        return "/" + route.replace("<path:object_id>", str(obj.pk)).replace("<id>", str(obj.pk))
    return _custom_admin_url(route, world)


def _custom_admin_url(route: str, world) -> str:
    if route == "admin/r/<path:content_type_id>/<path:object_id>/":
        content_type = ContentType.objects.get_by_natural_key("dispatch", "incident")
        return f"/admin/r/{content_type.pk}/{world.incident}/"
    if route == "admin/(?P<url>.*)$":
        return "/admin/no-such-page/"
    if "<int:pk>" in route:
        from django_otp.plugins.otp_totp.models import TOTPDevice

        return "/" + route.replace("<int:pk>", str(TOTPDevice.objects.order_by("pk").first().pk))
    if route == "admin/reports/registry/<slug:kind>.csv":
        return "/admin/reports/registry/cases.csv"
    if route == "admin/reports/incidents/":
        return "/admin/reports/incidents/?figure=attended"
    if route.startswith("admin/records/"):
        model = ContentType.objects.get_by_natural_key("records", route.split("/")[2]).model_class()
        return "/" + route.replace("<path:object_id>", str(model.objects.order_by("pk").first().pk))
    return "/" + route.replace("<path:object_id>", str(world.incident))


def test_every_admin_route_has_an_entry():
    model_routes = _admin_model_routes()
    missing = [
        route
        for route in routes_under("admin/")
        if route not in ADMIN_PAGES and route not in model_routes and not route.startswith(APP_INDEX)
    ]
    assert not missing, f"No entry for these admin pages: {missing}"
    unlisted_models = sorted({label for label, _ in model_routes.values()} - set(ADMIN_MODELS))
    assert not unlisted_models, f"Models in the admin without a row in ADMIN_MODELS: {unlisted_models}"


def _admin_problem(response, want, role: str, url: str) -> str | None:
    """What is wrong with this answer to `role` for `url`, or None."""
    where = f"{role} GET {url}"
    if want == LOGIN:
        if response.status_code != 302 or not response["Location"].startswith("/admin/login/"):
            return f"{where}: {response.status_code} {response.get('Location', '')}, not sent to the login page"
        return None if response.content == b"" else f"{where}: a body with the redirect"
    if response.status_code != want:
        return f"{where}: {response.status_code}, expected {want}"
    if want >= 300:
        leaked = [secret for secret in SECRETS if secret in response.content.decode(errors="replace")]
        return f"{where}: {leaked} in a refusal" if leaked else None
    return None


@pytest.mark.parametrize("role", ROLES)
def test_the_admin_permission_matrix(world, role):
    """Every admin page, read as each role (one test per role: reading changes nothing)."""
    model_routes = _admin_model_routes()
    populate_admin_rows(world)
    client = admin_client(world.users[role])
    app_labels = {model._meta.app_label for model in admin.site._registry}
    problems, checked = [], 0
    for route in routes_under("admin/"):
        if route.startswith(APP_INDEX):
            for app_label in sorted(app_labels):
                url = f"/admin/{app_label}/"
                visible = any(
                    rights
                    for label, rights in ADMIN_MODELS.items()
                    if label.startswith(f"{app_label}.") and rights.get(role)
                )
                want = LOGIN if role not in STAFF else (200 if visible else 404)
                problems.append(_admin_problem(client.get(url), want, role, url))
            continue
        url = _admin_url(route, world, model_routes)
        want = _expected_admin_status(route, role, model_routes)
        problems.append(_admin_problem(client.get(url), want, role, url))
        checked += 1
    assert checked >= len(model_routes)
    problems = [problem for problem in problems if problem]
    assert not problems, "\n".join(problems)


ADMIN_BUTTONS = ["dispatch", "stand-down", "close", "cancel", "alert-named"]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("button", ADMIN_BUTTONS)
def test_the_admin_buttons_change_nothing_for_anyone_but_coordinators(world, role, button):
    from backend.dispatch.models import Alert, Incident

    client = admin_client(world.users[role])
    before = Incident.objects.get(pk=world.incident)
    alerts_before = Alert.objects.filter(incident=world.incident).count()
    # Charlie is committed to the Yarmouth incident: alerting him by name is the override.
    charlie = world.users["other_station_firefighter"].responder.pk
    response = client.post(
        f"/admin/dispatch/incident/{world.incident}/{button}/",
        {"reason": "Test.", "confirm": "1", "responder": charlie, "override": "on"},
    )

    after = Incident.objects.get(pk=world.incident)
    if role == "coordinator":
        assert response.status_code == 302
        assert response["Location"] == f"/admin/dispatch/incident/{world.incident}/change/"
        return
    if role in STAFF:
        assert response.status_code in (302, 403), response.status_code
        if response.status_code == 302:
            assert response["Location"] == "/admin/dispatch/incident/"
    else:
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    assert (after.status, after.cancel_reason) == (before.status, before.cancel_reason)
    assert Alert.objects.filter(incident=world.incident).count() == alerts_before


def test_a_user_deactivated_is_refused_everywhere_on_the_api(world):
    """A session or token taken before deactivation is refused on every endpoint."""
    clients = {role: client_as(world, role) for role in ("firefighter", "coordinator", "machine")}
    setups = (*RECORDS_MADE_FIRST, "alice's test", "a message", "a postcode")
    made = {setup: make_record_first(Entry("get", "", {}, setup=setup), world) for setup in setups}
    get_user_model().objects.filter(pk__in=[world.users[role].pk for role in clients]).update(is_active=False)
    for role, client in clients.items():
        for entry in API_MATRIX:
            if entry.status_for(role) >= 400 or entry.url.startswith(("/api/v1/auth/", "/api/schema/", "/api/docs/")):
                continue
            path = url_of(entry, world, role, made.get(entry.setup))
            body = body_of(entry, role)
            call = getattr(client, entry.method)
            response = call(path, body, format="json") if body is not None else call(path)
            assert response.status_code in (401, 403), (role, entry.method, path, response.status_code)
            assert_refusal_holds_no_data(response, response.status_code)
