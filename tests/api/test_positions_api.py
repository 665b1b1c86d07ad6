"""Positions shared while responding (POST /api/v1/alerts/{id}/positions/), read by coordinators and
the crew (GET /api/v1/incidents/{id}/positions/, audited), the ambulance's arrival from the CAD, the
on-call fix (PUT /api/v1/me/position/) and its opt-in, and the retention pass (docs/positions.md)."""

import datetime
import logging

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backend.accounts.models import OnCallPosition
from backend.audit.models import AuditEntry
from backend.dispatch import actions, positions
from backend.dispatch.models import AlertPosition
from backend.realtime import events
from backend.realtime.events import frame_of
from backend.realtime.models import ResponderEvent
from tests.api.helpers import assert_error, assert_matches
from tests.conftest import NORWICH, NORWICH_INCIDENT, client_for, token_client_for

NEAR = {"latitude": 52.6280, "longitude": 1.3000, "accuracy_m": 8}


@pytest.fixture
def sent(monkeypatch):
    """Every (group, frame) sent to sockets, as sent (after commit in real life)."""
    frames = []
    monkeypatch.setattr(
        events, "send_on_commit", lambda messages: frames.extend((group, frame_of(m)) for group, m in messages)
    )
    return frames


@pytest.fixture
def alerts(incident, carol, alice, bob):
    made = actions.dispatch_incident(actor=carol, incident_id=incident.pk)
    return {alert.responder.user.username: alert for alert in made}


@pytest.fixture
def accepted(alerts, alice):
    actions.respond_to_alert(actor=alice.user, alert_id=alerts["alice"].pk, response="accept")
    return alerts["alice"]


def share(user, alert, **fix):
    return client_for(user).post(f"/api/v1/alerts/{alert.pk}/positions/", {**NEAR, **fix}, format="json")


def test_an_accepted_alert_shares_its_position_with_an_estimate(accepted, alice, sent):
    response = share(alice.user, accepted)
    assert response.status_code == 201, response.content
    body = response.json()
    assert_matches("position_answer", body)
    assert body["sharing"] is True and body["stored"] is True
    assert body["estimate"]["method"] == "estimate" and body["estimate"]["eta_seconds"] > 0
    stored = AlertPosition.objects.get(alert=accepted)
    assert (stored.latitude, stored.longitude, stored.accuracy_m) == (NEAR["latitude"], NEAR["longitude"], 8)


def test_the_board_and_the_committed_crew_hear_of_it_and_nothing_is_stored_for_replay(
    accepted, alerts, alice, bob, sent
):
    actions.respond_to_alert(actor=bob.user, alert_id=alerts["bob"].pk, response="accept")
    sent.clear()
    before = ResponderEvent.objects.count()
    share(alice.user, accepted)
    assert ResponderEvent.objects.count() == before
    groups = {group for group, frame in sent if frame["type"] == "position.updated"}
    assert groups == {events.BOARD_GROUP, events.responder_group(alice.pk), events.responder_group(bob.pk)}
    frame = next(frame for _, frame in sent if frame["type"] == "position.updated")
    assert_matches("event.position.updated", frame)
    assert frame["id"] is None
    assert frame["data"]["alert_id"] == accepted.pk and frame["data"]["incident_id"] == accepted.incident_id


# --- What a position costs: 500 responders send one every 10 s while dispatches must not slow -----


def _statements(captured) -> list[str]:
    """The statements run, by kind: SELECT, INSERT, ..., and BEGIN / END for the transaction (the
    test's own transaction makes the action's a savepoint)."""
    kinds = []
    for query in captured:
        word = query["sql"].lstrip("(").split(None, 1)[0].upper()  # PostgreSQL brackets a UNION's parts
        kinds.append({"SAVEPOINT": "BEGIN", "RELEASE": "END"}.get(word, word))
    return kinds


def _lock() -> list[str]:
    """The alert's row lock inside the write: on PostgreSQL only (SQLite's write is serialised)."""
    return ["SELECT"] if connection.features.has_select_for_update else []


def test_a_stored_position_reads_once_then_holds_the_write_for_one_check_and_the_insert(accepted, alice, sent):
    with CaptureQueriesContext(connection) as captured:
        _, stored = positions.record_alert_position(actor=alice.user, alert_id=accepted.pk, **NEAR)
    assert stored
    # One read (the alert, its incident, its responder, the last fix's time); the transaction (on
    # SQLite the one writer's lock a dispatch waits for) holds the check that names the crew, and
    # the insert; no read after it.
    assert _statements(captured) == ["SELECT", "BEGIN", *_lock(), "SELECT", "INSERT", "END"]


def test_a_stored_position_is_one_batch_of_sends_to_the_board_and_the_crew(accepted, alerts, alice, bob, monkeypatch):
    actions.respond_to_alert(actor=bob.user, alert_id=alerts["bob"].pk, response="accept")
    batches = []
    monkeypatch.setattr(events, "send_on_commit", batches.append)
    positions.record_alert_position(actor=alice.user, alert_id=accepted.pk, **NEAR)
    [batch] = batches
    assert [group for group, _ in batch] == [
        events.BOARD_GROUP,
        # By responder id, as the product orders them (not as text: "responder.10" < "responder.9").
        *(events.responder_group(pk) for pk in sorted((alice.pk, bob.pk))),
    ]


def test_a_fix_too_soon_is_answered_from_two_reads_and_writes_nothing(accepted, alice, sent):
    positions.record_alert_position(actor=alice.user, alert_id=accepted.pk, **NEAR)
    sent.clear()
    with CaptureQueriesContext(connection) as captured:
        _, stored = positions.record_alert_position(actor=alice.user, alert_id=accepted.pk, **NEAR)
    assert not stored and not sent
    assert _statements(captured) == ["SELECT", "SELECT"]


def test_a_position_posted_costs_its_authentication_and_three_queries(accepted, alice, sent):
    client = token_client_for(alice.user)
    with CaptureQueriesContext(connection) as captured:
        assert client.post(f"/api/v1/alerts/{accepted.pk}/positions/", NEAR, format="json").status_code == 201
    # The token check's (the token with its user, then the permissions; one statement on PostgreSQL:
    # backend/accounts/tokens.py), then the action's.
    authentication = ["SELECT"] if connection.vendor == "postgresql" else ["SELECT", "SELECT"]
    assert _statements(captured) == [*authentication, "SELECT", "BEGIN", *_lock(), "SELECT", "INSERT", "END"]


def test_a_crew_member_not_going_does_not_hear_of_it(accepted, alerts, alice, bob, sent):
    share(alice.user, accepted)
    assert events.responder_group(bob.pk) not in {group for group, _ in sent}


def test_an_unanswered_alert_does_not_share(alerts, alice):
    assert_error(share(alice.user, alerts["alice"]), 409, "not_responding")
    assert not AlertPosition.objects.exists()


@pytest.mark.parametrize("ending", ["cleared", "decline"])
def test_after_clearing_or_declining_sharing_is_refused(accepted, alice, ending):
    actions.respond_to_alert(actor=alice.user, alert_id=accepted.pk, response="en_route")
    actions.respond_to_alert(actor=alice.user, alert_id=accepted.pk, response=ending, reason="other")
    assert_error(share(alice.user, accepted), 409, "not_responding")


def test_after_the_incident_is_cancelled_sharing_is_refused(accepted, alice, carol, incident):
    actions.cancel_incident(actor=carol, incident_id=incident.pk, reason="Ambulance on scene")
    error = assert_error(share(alice.user, accepted), 409, "not_responding")
    assert "cancelled" in error["message"]


def test_someone_elses_alert_is_404(accepted, bob):
    assert_error(share(bob.user, accepted), 404, "not_found")


@pytest.mark.parametrize(
    ("fix", "field"),
    [
        ({"latitude": 91}, "latitude"),
        ({"longitude": -181}, "longitude"),
        ({"latitude": "52.6"}, "latitude"),
        ({"accuracy_m": -1}, "accuracy_m"),
        ({"accuracy_m": 50000}, "accuracy_m"),
        ({"recorded_at": "2026-01-01T10:00:00"}, "recorded_at"),
        ({"recorded_at": "not a time"}, "recorded_at"),
    ],
)
def test_bad_input_is_400_naming_the_field(accepted, alice, fix, field):
    assert_error(share(alice.user, accepted, **fix), 400, "invalid", field=field)


def test_a_fix_from_the_future_or_too_old_is_400_naming_recorded_at(accepted, alice, settings):
    future = (timezone.now() + datetime.timedelta(minutes=5)).isoformat()
    stale = (timezone.now() - datetime.timedelta(seconds=settings.POSITION_MAX_AGE_SECONDS + 30)).isoformat()
    assert_error(share(alice.user, accepted, recorded_at=future), 400, field="recorded_at")
    assert_error(share(alice.user, accepted, recorded_at=stale), 400, field="recorded_at")
    # A phone's clock a few seconds ahead is no error.
    ahead = (timezone.now() + datetime.timedelta(seconds=3)).isoformat()
    assert share(alice.user, accepted, recorded_at=ahead).status_code == 201


def test_a_retry_or_a_fix_too_soon_is_accepted_without_being_stored(accepted, alice):
    first = share(alice.user, accepted)
    again = share(alice.user, accepted, latitude=52.629)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["stored"] is False and again.json()["estimate"] == first.json()["estimate"]
    assert AlertPosition.objects.count() == 1


def test_later_fixes_make_a_trail_and_the_newest_is_served(accepted, alice, carol, settings):
    settings.POSITION_MIN_INTERVAL_SECONDS = 0
    now = timezone.now()
    share(alice.user, accepted, latitude=52.60, recorded_at=(now - datetime.timedelta(seconds=20)).isoformat())
    share(alice.user, accepted, latitude=52.62, recorded_at=(now - datetime.timedelta(seconds=10)).isoformat())
    assert AlertPosition.objects.count() == 2
    [served] = client_for(carol).get(f"/api/v1/incidents/{accepted.incident_id}/positions/").json()["positions"]
    assert served["latitude"] == 52.62


def test_a_coordinator_reads_the_positions_and_the_read_is_audited(accepted, alice, carol):
    share(alice.user, accepted)
    response = client_for(carol).get(f"/api/v1/incidents/{accepted.incident_id}/positions/")
    assert response.status_code == 200
    body = response.json()
    assert_matches("incident_positions", body)
    [item] = body["positions"]
    assert (item["alert_id"], item["responder_id"], item["responder_name"]) == (
        accepted.pk,
        alice.pk,
        alice.display_name,
    )
    entry = AuditEntry.objects.get(object_type="positions")
    assert (entry.actor, entry.action, entry.incident_id) == (carol, "view", accepted.incident_id)
    assert entry.detail == {"alert_ids": [accepted.pk]}
    assert "52.6" not in str(entry.detail)


def test_the_crew_going_reads_them_and_others_get_404(accepted, alerts, alice, bob, charlie):
    share(alice.user, accepted)
    url = f"/api/v1/incidents/{accepted.incident_id}/positions/"
    assert_error(client_for(bob.user).get(url), 404)  # alerted, not going
    assert_error(client_for(charlie.user).get(url), 404)  # not alerted
    actions.respond_to_alert(actor=bob.user, alert_id=alerts["bob"].pk, response="accept")
    assert len(client_for(bob.user).get(url).json()["positions"]) == 1


def test_once_cleared_the_position_is_no_longer_served_and_the_board_is_told(accepted, alice, carol, sent):
    share(alice.user, accepted)
    sent.clear()
    actions.respond_to_alert(actor=alice.user, alert_id=accepted.pk, response="cleared")
    cleared = [(group, frame) for group, frame in sent if frame["type"] == "position.cleared"]
    assert {group for group, _ in cleared} >= {events.BOARD_GROUP, events.responder_group(alice.pk)}
    for _, frame in cleared:
        assert_matches("event.position.cleared", frame)
    assert client_for(carol).get(f"/api/v1/incidents/{accepted.incident_id}/positions/").json() == {"positions": []}


def test_stood_down_by_the_coordinator_ends_the_sharing(accepted, alice, carol, incident, sent):
    share(alice.user, accepted)
    sent.clear()
    actions.stand_down(actor=carol, incident_id=incident.pk, alert_ids=[accepted.pk])
    assert any(frame["type"] == "position.cleared" for _, frame in sent)
    assert_error(share(alice.user, accepted), 409, "not_responding")


def test_a_dispatch_or_an_acknowledgement_sends_no_position_frame(incident, carol, alice, sent):
    made = actions.dispatch_incident(actor=carol, incident_id=incident.pk)
    actions.respond_to_alert(actor=alice.user, alert_id=made[0].pk, response="received")
    assert not [frame for _, frame in sent if frame["type"].startswith("position.")]


def test_positions_never_reach_a_push_a_stored_event_or_a_log_line(accepted, alice, carol, caplog):
    from backend.delivery.models import Delivery

    caplog.set_level(logging.DEBUG)
    share(alice.user, accepted, latitude=52.6281234, longitude=1.3001234)
    client_for(carol).get(f"/api/v1/incidents/{accepted.incident_id}/positions/")
    actions.respond_to_alert(actor=alice.user, alert_id=accepted.pk, response="cleared")
    assert "52.628" not in caplog.text and "1.3001" not in caplog.text
    assert not any("52.628" in str(event.data) for event in ResponderEvent.objects.all())
    assert not any("52.628" in str(vars(delivery)) for delivery in Delivery.objects.all())


def test_the_retention_pass_deletes_positions_older_than_the_setting(accepted, alice, settings):
    settings.POSITIONS_RETENTION_HOURS = 24
    share(alice.user, accepted)
    alice.share_position_on_call = True
    alice.save()
    OnCallPosition.objects.create(
        responder=alice, latitude=52.6, longitude=1.3, recorded_at=timezone.now(), received_at=timezone.now()
    )
    assert positions.delete_expired_positions(now=timezone.now() + datetime.timedelta(hours=23)) == 0
    assert positions.delete_expired_positions(now=timezone.now() + datetime.timedelta(hours=25)) == 2
    assert not AlertPosition.objects.exists() and not OnCallPosition.objects.exists()


def test_the_board_snapshot_carries_the_positions_and_audits_the_read(accepted, alice, carol):
    from backend.sockets.consumers import _board_snapshot

    share(alice.user, accepted)
    # The function itself, in this test's transaction: through database_sync_to_async it would
    # close the test's connection (PostgreSQL then fails "the connection is closed").
    snapshot = _board_snapshot.func(carol, "10.0.0.7")
    [incident] = snapshot["incidents"]
    assert [item["alert_id"] for item in incident["positions"]] == [accepted.pk]
    assert_matches("event.board.snapshot", events.envelope(type="board.snapshot", data=snapshot))
    entry = AuditEntry.objects.get(object_type="positions")
    assert (entry.actor, entry.channel, entry.ip_address) == (carol, "socket", "10.0.0.7")


# --- The ambulance's arrival, from the CAD -------------------------------------------------------------


def test_the_cad_gives_the_ambulance_eta_when_creating_and_later(cad, carol, sent):
    client = token_client_for(cad)
    soon = timezone.now().replace(microsecond=0, tzinfo=datetime.UTC) + datetime.timedelta(minutes=8)
    eta = soon.isoformat()
    created = client.post(
        "/api/v1/incidents/",
        {"cad_reference": "CAD-1", "latitude": 52.63, "longitude": 1.29, "address": "1 Road", "ambulance_eta": eta},
        format="json",
    )
    assert created.status_code == 201, created.content
    assert_matches("incident_detail", created.json())
    assert created.json()["ambulance_eta"] == eta
    later = (soon + datetime.timedelta(minutes=5)).isoformat()
    response = client.post(
        f"/api/v1/incidents/{created.json()['id']}/ambulance-eta/", {"ambulance_eta": later}, format="json"
    )
    assert response.status_code == 200 and response.json()["ambulance_eta"] == later
    assert any(frame["type"] == "board.incident" and frame["data"]["ambulance_eta"] == later for _, frame in sent)


@pytest.mark.parametrize("days", [-2, 2, -666_000])
def test_an_ambulance_eta_more_than_a_day_away_is_400(cad, incident, days):
    """Found by the API fuzzing: the year 194 was stored and echoed."""
    when = (
        timezone.now() + datetime.timedelta(days=days)
        if days > -1000
        else datetime.datetime(194, 2, 1, tzinfo=datetime.UTC)
    )
    response = token_client_for(cad).post(
        f"/api/v1/incidents/{incident.pk}/ambulance-eta/", {"ambulance_eta": when.isoformat()}, format="json"
    )
    assert_error(response, 400, field="ambulance_eta")


def test_an_ambulance_eta_with_an_odd_offset_is_kept_and_given_back_in_utc(cad, incident):
    """ISO 8601 allows an offset in seconds (-00:01:15); RFC 3339 readers do not: found by the fuzzing."""
    odd = datetime.timezone(-datetime.timedelta(minutes=1, seconds=15))
    when = (timezone.now() + datetime.timedelta(minutes=9)).replace(microsecond=0).astimezone(odd)
    response = token_client_for(cad).post(
        f"/api/v1/incidents/{incident.pk}/ambulance-eta/", {"ambulance_eta": when.isoformat()}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["ambulance_eta"] == when.astimezone(datetime.UTC).isoformat()


def test_an_ambulance_eta_without_an_offset_is_400(cad, incident):
    response = token_client_for(cad).post(
        f"/api/v1/incidents/{incident.pk}/ambulance-eta/", {"ambulance_eta": "2026-12-04T15:20:00"}, format="json"
    )
    assert_error(response, 400, field="ambulance_eta")


# --- The on-call fix and its opt-in -------------------------------------------------------------------


def test_the_opt_in_is_off_by_default_and_a_fix_is_refused_without_it(alice):
    client = client_for(alice.user)
    me = client.get("/api/v1/me/").json()
    assert me["responder"]["share_position_on_call"] is False
    assert_error(client.put("/api/v1/me/position/", NEAR, format="json"), 409, "not_sharing")


def test_opting_in_keeps_the_latest_fix_only(alice):
    client = client_for(alice.user)
    response = client.patch("/api/v1/me/", {"share_position_on_call": True}, format="json")
    assert response.status_code == 200 and response.json()["responder"]["share_position_on_call"] is True
    assert_matches("me", response.json())
    assert client.put("/api/v1/me/position/", NEAR, format="json").status_code == 204
    assert client.put("/api/v1/me/position/", {**NEAR, "latitude": 52.7}, format="json").status_code == 204
    assert list(OnCallPosition.objects.values_list("latitude", flat=True)) == [52.7]


@pytest.mark.parametrize("change", [{"on_call": False}, {"share_position_on_call": False}])
def test_going_off_call_or_opting_out_deletes_the_fix(alice, change):
    client = client_for(alice.user)
    client.patch("/api/v1/me/", {"share_position_on_call": True}, format="json")
    client.put("/api/v1/me/position/", NEAR, format="json")
    assert client.patch("/api/v1/me/", change, format="json").status_code == 200
    assert not OnCallPosition.objects.exists()


def test_an_off_call_firefighter_cannot_send_a_fix(alice):
    client = client_for(alice.user)
    client.patch("/api/v1/me/", {"share_position_on_call": True, "on_call": False}, format="json")
    assert_error(client.put("/api/v1/me/position/", NEAR, format="json"), 409, "not_sharing")


def test_patching_me_with_nothing_is_400_naming_on_call(alice):
    assert_error(client_for(alice.user).patch("/api/v1/me/", {}, format="json"), 400, field="on_call")


def test_a_bad_on_call_fix_is_400_naming_the_field(alice):
    client = client_for(alice.user)
    client.patch("/api/v1/me/", {"share_position_on_call": True}, format="json")
    assert_error(client.put("/api/v1/me/position/", {**NEAR, "longitude": 200}, format="json"), 400, field="longitude")


def test_a_fix_at_the_station_is_measured_from_there(alice):
    # The estimate from the station to the incident is a few minutes, as a sanity check of units.
    found = positions.arrival.estimate(origin=NORWICH, destination=NORWICH_INCIDENT)
    assert 60 < found.eta_seconds < 600
