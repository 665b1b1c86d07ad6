"""The control room's board page (/board/, issue 15): who may open it, under which headers, and
the API it calls: acknowledging an alarm (audited, on every board, in the snapshot), whom a
coordinator may alert by name, and every action the board offers refused to a firefighter."""

import pytest
from django.test import Client

from backend.audit.models import AuditAction, AuditEntry
from backend.dispatch import actions
from backend.dispatch.models import AlarmAcknowledgement, IncidentStatus
from backend.headers import ADMIN_POLICY
from tests.conftest import admin_client_for, client_for, pass_second_factor

pytestmark = pytest.mark.django_db

ACKNOWLEDGE = "/api/v1/alarms/acknowledge/"


# --- The page -------------------------------------------------------------------------------------


def test_a_coordinator_past_the_second_factor_gets_the_board(carol):
    response = admin_client_for(carol).get("/board/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "data-wall-board" in page and "dispatch/wall.js" in page
    assert 'data-socket-path="/ws/coordinator/"' in page
    assert "admin/base_site" not in page and 'id="nav-sidebar"' not in page  # outside the admin's chrome


def test_the_board_names_its_icon_and_the_icon_is_served(carol):
    """Without one the browser asked for /favicon.ico: a 404 in the board's console on every load
    (found trying the board)."""
    page = admin_client_for(carol).get("/board/").content.decode()
    assert '<link rel="icon" href="/icons/icon.svg"' in page
    assert Client().get("/icons/icon.svg").status_code == 200


def test_the_board_has_the_admin_board_s_headers(carol):
    response = admin_client_for(carol).get("/board/")
    policy = response["Content-Security-Policy"]
    for part in ADMIN_POLICY:
        assert part in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "autoplay=()" in response["Permissions-Policy"]
    assert "no-cache" in response["Cache-Control"] or "no-store" in response["Cache-Control"]


def test_nobody_signed_in_is_sent_to_the_admin_login_and_back(db):
    response = Client().get("/board/")
    assert response.status_code == 302
    assert response["Location"] == "/admin/login/?next=/board/"


def test_a_coordinator_without_the_second_factor_is_sent_to_log_in(carol):
    client = Client()
    client.force_login(carol)
    response = client.get("/board/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


@pytest.mark.parametrize("who", ["alice", "nobody", "cad"])
def test_anyone_without_the_board_permission_gets_403(request, who):
    user = request.getfixturevalue(who)
    user = getattr(user, "user", user)
    client = Client()
    client.force_login(user)
    assert client.get("/board/").status_code == 403


def test_the_admin_links_to_the_board(carol):
    page = admin_client_for(carol).get("/admin/dispatch/incident/board/").content.decode()
    assert 'href="/board/"' in page


# --- Acknowledging an alarm --------------------------------------------------------------------


def coordinator_api(user):
    client = Client(enforce_csrf_checks=False)
    client.force_login(user)
    pass_second_factor(client, user)
    return client


def test_a_coordinator_acknowledges_an_incident_s_alarm_audited_and_told_to_every_board(carol, incident):
    response = coordinator_api(carol).post(
        ACKNOWLEDGE, {"kind": "unreached", "incident_id": incident.pk}, content_type="application/json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["kind"] == "unreached" and body["incident_id"] == incident.pk
    assert body["acknowledged_by"] == "carol"
    stored = AlarmAcknowledgement.objects.get()
    assert stored.acknowledged_by == carol and stored.incident == incident
    entry = AuditEntry.objects.get(object_type="alarm_acknowledgement")
    assert entry.action == AuditAction.CREATE and entry.actor == carol and entry.incident_id == incident.pk
    assert entry.detail == {"kind": "unreached"}


def test_the_acknowledgement_is_sent_to_the_board(carol, incident):
    from unittest import mock

    with mock.patch("backend.dispatch.alarms.events.send_to_board") as send:
        coordinator_api(carol).post(
            ACKNOWLEDGE, {"kind": "escalation", "incident_id": incident.pk}, content_type="application/json"
        )
    [(items,), _] = send.call_args
    [(kind, data)] = items
    assert kind == "alarm.acknowledged" and data["kind"] == "escalation" and data["incident_id"] == incident.pk


def test_the_board_s_snapshot_carries_the_newest_acknowledgement_of_each_alarm(carol, incident):
    from backend.sockets.consumers import _board_snapshot

    client = coordinator_api(carol)
    client.post(ACKNOWLEDGE, {"kind": "unreached", "incident_id": incident.pk}, content_type="application/json")
    second = client.post(
        ACKNOWLEDGE, {"kind": "unreached", "incident_id": incident.pk}, content_type="application/json"
    )
    client.post(ACKNOWLEDGE, {"kind": "worker_silent"}, content_type="application/json")
    snapshot = _board_snapshot.func(carol, None)  # the query itself, in this test's transaction
    acknowledgements = {(item["kind"], item["incident_id"]): item for item in snapshot["alarm_acknowledgements"]}
    assert set(acknowledgements) == {("unreached", incident.pk), ("worker_silent", None)}
    assert acknowledgements[("unreached", incident.pk)]["id"] == second.json()["id"]
    assert snapshot["incidents"][0]["escalation_step"] == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "loud"}, "kind"),
        ({"kind": "unreached"}, "incident_id"),
        ({"kind": "worker_silent", "incident_id": 1}, "incident_id"),
        ({"kind": "unreached", "incident_id": "one"}, "incident_id"),
    ],
)
def test_a_bad_acknowledgement_is_refused_naming_the_field(carol, incident, body, field):
    response = coordinator_api(carol).post(ACKNOWLEDGE, body, content_type="application/json")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert not AlarmAcknowledgement.objects.exists()


def test_an_unknown_incident_is_not_found_and_a_finished_one_is_a_conflict(carol, incident):
    client = coordinator_api(carol)
    missing = client.post(ACKNOWLEDGE, {"kind": "unreached", "incident_id": 999999}, content_type="application/json")
    assert missing.status_code == 404
    actions.close_incident(actor=carol, incident_id=incident.pk)
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.CLOSED
    closed = client.post(
        ACKNOWLEDGE, {"kind": "unreached", "incident_id": incident.pk}, content_type="application/json"
    )
    assert closed.status_code == 409


@pytest.mark.parametrize("who", ["alice", "cad", "nobody"])
def test_only_coordinators_with_the_board_permission_acknowledge(request, incident, who):
    user = request.getfixturevalue(who)
    user = getattr(user, "user", user)
    response = client_for(user).post(ACKNOWLEDGE, {"kind": "unreached", "incident_id": incident.pk}, format="json")
    assert response.status_code == 403
    assert not AlarmAcknowledgement.objects.exists()


def test_anonymous_acknowledgement_is_refused(incident):
    response = Client().post(ACKNOWLEDGE, {"kind": "worker_silent"}, content_type="application/json")
    assert response.status_code in (401, 403)


# --- Whom to alert by name, and every action of the board refused to a firefighter -------------------


def test_a_coordinator_lists_whom_to_alert_by_name_nearest_first(carol, incident, alice, bob, charlie):
    actions.dispatch_incident(actor=carol, incident_id=incident.pk, responder_ids=[alice.pk])
    response = coordinator_api(carol).get(f"/api/v1/incidents/{incident.pk}/named-candidates/")
    assert response.status_code == 200
    names = [item["name"] for item in response.json()["responders"]]
    assert alice.display_name not in names  # already alerted here
    assert names.index(bob.display_name) < names.index(charlie.display_name)  # Norwich before Yarmouth
    assert all(item["committed_to"] is None for item in response.json()["responders"])


BOARD_ACTIONS = [
    ("post", "dispatch/", {}),
    ("post", "dispatch/", {"responder_ids": [1]}),
    ("post", "stand-down/", {}),
    ("post", "stand-down/", {"alert_ids": [1]}),
    ("post", "cancel/", {"reason": "Ambulance first"}),
    ("post", "close/", None),
    ("get", "named-candidates/", None),
]


@pytest.mark.parametrize(("method", "path", "body"), BOARD_ACTIONS)
def test_every_action_of_the_board_is_refused_to_a_firefighter(alice, incident, method, path, body):
    client = client_for(alice.user)
    url = f"/api/v1/incidents/{incident.pk}/{path}"
    response = client.get(url) if method == "get" else client.post(url, body, format="json")
    assert response.status_code in (403, 404), response.content
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.OPEN and incident.dispatched_at is None


def test_a_firefighter_may_not_create_an_incident_from_the_board_s_endpoint(alice):
    response = client_for(alice.user).post(
        "/api/v1/incidents/",
        {"cad_reference": "X-1", "latitude": 52.6, "longitude": 1.3, "address": "1 Road"},
        format="json",
    )
    assert response.status_code == 403


def test_a_coordinator_may_create_an_incident_from_the_board(carol):
    response = coordinator_api(carol).post(
        "/api/v1/incidents/",
        {"cad_reference": "BOARD-1", "latitude": 52.6, "longitude": 1.3, "address": "1 Road", "what3words": "a.b.c"},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content


def test_the_board_mounts_the_map_module_when_the_product_has_one(carol, monkeypatch):
    from backend.dispatch import board_page

    monkeypatch.setattr(board_page.finders, "find", lambda path: None)
    assert 'data-map-module=""' in admin_client_for(carol).get("/board/").content.decode()
    monkeypatch.setattr(board_page.finders, "find", lambda path: f"/somewhere/{path}")
    assert 'data-map-module="/static/dispatch/board-map.js"' in admin_client_for(carol).get("/board/").content.decode()
