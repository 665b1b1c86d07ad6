"""A checklist tap from before the end, synced after it, is an arrival before the end. Found by a
browser trial: a firefighter without signal tapped "At patient" and "CPR started" at 10:05 (queued
on the phone: "On scene" needs signal), the coordinator cancelled at 10:10, the taps synced at
10:15: the events were kept but the arrival was not (the incident was no longer open), so the alert
stayed "not attended" and the board and the reports said attended 0. The alert keeps its ending
and gains the on-scene time from the tap's, audited, and the phone, the crew and the boards are
told (backend/dispatch/actions.py arrive_before_the_end; docs/hazard-log.md H04 control 9).

The alert ends as it would have, the arrival heard in time: a close clears those on scene, so one
the close stood down is cleared at the close's time (found by a later browser trial: the row read
"Stood down: incident closed" beside "attended 1"); a cancel or a coordinator's stand-down ends
those on scene as the others, so those endings stay."""

import datetime
import uuid
from unittest import mock

import pytest
from django.utils import timezone

from backend.audit.models import AuditAction, AuditEntry
from backend.checklists.actions import record_onscene_event
from backend.dispatch import coverage
from backend.dispatch.actions import (
    arrive_before_the_end,
    arrive_by_checklist,
    cancel_incident,
    close_incident,
    dispatch_incident,
    respond_to_alert,
    stand_down,
)
from backend.dispatch.models import Alert, AlertState, Incident, IncidentStatus, StandDownReason
from backend.errors import Conflict
from backend.realtime import events
from backend.records import access as records_access
from backend.records import prefill
from backend.records.models import RecordKind

MINUTE = datetime.timedelta(minutes=1)


@pytest.fixture
def alerts(incident, carol, alice, bob):
    return {a.responder.user.username: a for a in dispatch_incident(actor=carol, incident_id=incident.pk)}


@pytest.fixture
def now():
    return timezone.now()


def answer(alert, *responses, at):
    """The answers, given at `at`."""
    for response in responses:
        respond_to_alert(actor=alert.responder.user, alert_id=alert.pk, response=response)
    fields = {"accepted": "accepted_at", "en_route": "en_route_at"}
    answered = fresh(alert)
    Alert.objects.filter(pk=alert.pk).update(
        **{field: at for field in fields.values() if getattr(answered, field) is not None}
    )


def record(alert, type="arrived", *, occurred_at):
    return record_onscene_event(
        actor=alert.responder.user,
        alert_id=alert.pk,
        idempotency_key=uuid.uuid4(),
        type=type,
        occurred_at=occurred_at,
    )


def fresh(alert) -> Alert:
    return Alert.objects.get(pk=alert.pk)


def attended(incident) -> int:
    return coverage.coverage_of(Incident.objects.get(pk=incident.pk)).attended


def backdate_the_end(incident, at):
    """The incident's ending and its alerts' endings, moved to `at`."""
    Incident.objects.filter(pk=incident.pk, cancelled_at__isnull=False).update(cancelled_at=at)
    Incident.objects.filter(pk=incident.pk, closed_at__isnull=False).update(closed_at=at)
    Alert.objects.filter(incident=incident, cancelled_at__isnull=False).update(cancelled_at=at)
    Alert.objects.filter(incident=incident, stood_down_at__isnull=False).update(stood_down_at=at)


def end(how, *, carol, incident, alert):
    if how == "cancel":
        cancel_incident(actor=carol, incident_id=incident.pk, reason="Ambulance on scene")
    elif how == "close":
        close_incident(actor=carol, incident_id=incident.pk)
    else:
        stand_down(actor=carol, incident_id=incident.pk, alert_ids=[alert.pk])


# Each ending, as it leaves one on scene: their state, the time it sets, the incident's status.
ENDINGS = {
    "cancel": (AlertState.CANCELLED, "cancelled_at", IncidentStatus.CANCELLED),
    "close": (AlertState.CLEARED, "cleared_at", IncidentStatus.CLOSED),
    "stand_down": (AlertState.STOOD_DOWN, "stood_down_at", IncidentStatus.OPEN),
}
# What the ending set of an alert, and what the arrival must leave as it would have been.
ENDING_FIELDS = ("state", "cancelled_at", "stood_down_at", "stood_down_reason", "cleared_at")


@pytest.mark.parametrize("how", ENDINGS)
@pytest.mark.parametrize("before", [("accept",), ("accept", "en_route")])
def test_a_tap_before_the_end_synced_after_it_is_an_arrival_before_the_end(alerts, carol, incident, now, how, before):
    """Accepted at T-10, tapped at T, ended at T+5, synced at T+10 (now)."""
    alert = alerts["alice"]
    tapped_at = now - 10 * MINUTE
    answer(alert, *before, at=tapped_at - 10 * MINUTE)
    end(how, carol=carol, incident=incident, alert=alert)
    backdate_the_end(incident, tapped_at + 5 * MINUTE)
    ended = fresh(alert)

    record(alert, "arrived", occurred_at=tapped_at)

    arrived = fresh(alert)
    state, ending_field, status = ENDINGS[how]
    assert arrived.on_scene_at == tapped_at
    # Nothing reopens: the alert ends as one on scene then (a close clears them), at the ending's
    # time; the incident keeps its status.
    assert (arrived.state, getattr(arrived, ending_field)) == (state, tapped_at + 5 * MINUTE)
    if how == "close":
        assert ended.stood_down_reason == StandDownReason.INCIDENT_CLOSED
        assert (arrived.stood_down_at, arrived.stood_down_reason) == (None, "")
    else:
        assert arrived.stood_down_reason == ended.stood_down_reason
    assert Incident.objects.get(pk=incident.pk).status == status
    assert arrived.version == ended.version + 1 and arrived.summary_due
    assert attended(incident) == 1
    assert AuditEntry.objects.filter(
        action=AuditAction.CHANGE,
        object_type="alert",
        object_id=str(alert.pk),
        incident_id=incident.pk,
        detail={"changed": ["on_scene_at"], "state": state, "from": "checklist"},
    ).exists()


@pytest.mark.parametrize("how", ENDINGS)
def test_the_alert_ends_as_if_the_arrival_had_been_heard_in_time(alerts, carol, incident, now, how):
    """Bob pressed "On scene" and it was heard; Alice's tap, from before his, reached the server
    only after the ending: her alert ends as his did (a close clears both at its time; a cancel
    cancels both; a coordinator's stand-down stands both down), and her attendance form's "left
    scene" is said as his is."""
    alice, bob = alerts["alice"], alerts["bob"]
    answer(alice, "accept", "en_route", at=now - 10 * MINUTE)
    answer(bob, "accept", at=now - 10 * MINUTE)
    respond_to_alert(actor=bob.responder.user, alert_id=bob.pk, response="on_scene")
    if how == "stand_down":
        stand_down(actor=carol, incident_id=incident.pk, alert_ids=[alice.pk, bob.pk])
    else:
        end(how, carol=carol, incident=incident, alert=alice)
    ended = Incident.objects.get(pk=incident.pk)

    record(alice, "arrived", occurred_at=now - 2 * MINUTE)

    heard_late, heard_in_time = fresh(alice), fresh(bob)
    assert heard_late.on_scene_at == now - 2 * MINUTE
    assert {field: getattr(heard_late, field) for field in ENDING_FIELDS} == {
        field: getattr(heard_in_time, field) for field in ENDING_FIELDS
    }
    state, ending_field, status = ENDINGS[how]
    assert heard_late.state == state and getattr(heard_late, ending_field) is not None
    if how == "close":
        assert heard_late.cleared_at == ended.closed_at
    # Nothing reopens, nothing is dispatched or escalated again.
    after = Incident.objects.get(pk=incident.pk)
    assert (after.status, after.next_escalation_at) == (status, ended.next_escalation_at)
    assert Alert.objects.filter(incident=incident).count() == len(alerts)
    assert attended(incident) == 2
    late, in_time = (prefill.prefill(RecordKind.ATTENDANCE, alert) for alert in (heard_late, heard_in_time))
    assert late["left_scene_at"] == in_time["left_scene_at"] and late["attended"] is True
    assert prefill.estimated(RecordKind.ATTENDANCE, heard_late) == prefill.estimated(
        RecordKind.ATTENDANCE, heard_in_time
    )


def test_a_close_s_clearing_is_audited_as_an_alert_state_change(alerts, carol, incident, now):
    """As the close's clearing of one on scene is (an "alert state" entry: the state it reached),
    by whoever's sync cleared it; and the on-scene time, from the checklist, as before."""
    alert = alerts["alice"]
    answer(alert, "accept", at=now - 10 * MINUTE)
    close_incident(actor=carol, incident_id=incident.pk)
    states_before = AuditEntry.objects.filter(action=AuditAction.ALERT_STATE, object_id=str(alert.pk)).count()

    record(alert, "arrived", occurred_at=now - 2 * MINUTE)

    changes = AuditEntry.objects.filter(action=AuditAction.ALERT_STATE, object_id=str(alert.pk)).order_by("at", "pk")
    assert changes.count() == states_before + 1
    last = changes.last()
    assert (last.object_type, last.incident_id, last.detail) == ("alert", incident.pk, {"state": "cleared"})
    assert last.actor == alert.responder.user
    assert AuditEntry.objects.filter(
        action=AuditAction.CHANGE,
        object_id=str(alert.pk),
        detail={"changed": ["on_scene_at"], "state": "cleared", "from": "checklist"},
    ).exists()


def test_a_cancel_s_ending_is_no_state_change(alerts, carol, incident, now):
    """The alert stays cancelled: no state change is audited, only the on-scene time."""
    alert = alerts["alice"]
    answer(alert, "accept", at=now - 10 * MINUTE)
    cancel_incident(actor=carol, incident_id=incident.pk, reason="Ambulance on scene")
    states_before = AuditEntry.objects.filter(action=AuditAction.ALERT_STATE, object_id=str(alert.pk)).count()

    record(alert, "arrived", occurred_at=now - 2 * MINUTE)

    after = fresh(alert)
    assert (after.state, after.cleared_at, after.on_scene_at) == (AlertState.CANCELLED, None, now - 2 * MINUTE)
    assert AuditEntry.objects.filter(action=AuditAction.ALERT_STATE, object_id=str(alert.pk)).count() == states_before


@pytest.mark.parametrize(("how", "state"), [("cancel", "cancelled"), ("close", "cleared")])
def test_the_phone_the_crew_and_the_boards_are_told(alerts, carol, incident, now, how, state):
    alert = alerts["alice"]
    tapped_at = now - 10 * MINUTE
    answer(alert, "accept", "en_route", at=tapped_at - 10 * MINUTE)
    end(how, carol=carol, incident=incident, alert=alert)
    backdate_the_end(incident, tapped_at + 5 * MINUTE)

    with (
        mock.patch.object(events, "send_to_board") as board,
        mock.patch.object(events, "record_for_responders") as responders,
    ):
        record(alert, "cpr_started", occurred_at=tapped_at)

    sent = [item for call in board.call_args_list for item in call.args[0]]
    [board_alert] = [data for kind, data in sent if kind == "board.alert"]
    assert (board_alert["state"], board_alert["on_scene_at"]) == (state, tapped_at.isoformat())
    assert board_alert["stood_down_reason"] == ""
    [board_incident] = [data for kind, data in sent if kind == "board.incident"]
    assert board_incident["attended_count"] == 1
    told = {call.args[1]: call for call in responders.call_args_list}
    owner = told["alert.updated"]
    assert set(owner.args[0]) == {alert.responder_id}
    mine = owner.args[2](alert.responder_id)["alert"]
    assert (mine["state"], mine["on_scene_at"]) == (state, tapped_at.isoformat())
    crew = told["incident.updated"].args[2](alerts["bob"].responder_id)["crew"]
    assert [member["attended"] for member in crew if member["alert_id"] == alert.pk] == [True]


def test_later_taps_keep_the_arrival_and_tell_nobody_again(alerts, carol, incident, now):
    alert = alerts["alice"]
    tapped_at = now - 10 * MINUTE
    answer(alert, "accept", at=tapped_at - 10 * MINUTE)
    cancel_incident(actor=carol, incident_id=incident.pk, reason="Ambulance on scene")
    backdate_the_end(incident, tapped_at + 5 * MINUTE)
    record(alert, "arrived", occurred_at=tapped_at)
    arrived = fresh(alert)

    with mock.patch.object(events, "send_to_board") as board:
        record(alert, "cpr_started", occurred_at=tapped_at + MINUTE)
        record(alert, "pads_on", occurred_at=tapped_at + 7 * MINUTE)  # after the end: carrying on

    assert (fresh(alert).on_scene_at, fresh(alert).version) == (tapped_at, arrived.version)
    board.assert_not_called()


def test_an_alert_ended_between_the_checklist_s_read_and_the_arrival_s_lock_still_arrives(alerts, carol, incident, now):
    """The checklist read the alert going (accepted), so it asks for the live arrival; the cancel
    committed before the arrival took its locks: the arrival is one before the end."""
    alert = alerts["alice"]
    tapped_at = now - 10 * MINUTE
    answer(alert, "accept", at=tapped_at - 10 * MINUTE)
    cancel_incident(actor=carol, incident_id=incident.pk, reason="Ambulance on scene")
    backdate_the_end(incident, tapped_at + 5 * MINUTE)

    arrived = arrive_by_checklist(actor=alert.responder.user, alert_id=alert.pk, at=tapped_at)

    assert (arrived.state, arrived.on_scene_at) == (AlertState.CANCELLED, tapped_at)
    assert fresh(alert).on_scene_at == tapped_at


def test_a_tap_before_accepting_arrives_when_they_accepted(alerts, carol, incident, now):
    """Kept between the previous step and the end, as a live arrival is (_arrival_time)."""
    alert = alerts["alice"]
    accepted_at = now - 10 * MINUTE
    answer(alert, "accept", at=accepted_at)
    cancel_incident(actor=carol, incident_id=incident.pk, reason="Ambulance on scene")
    backdate_the_end(incident, now - 5 * MINUTE)

    record(alert, occurred_at=accepted_at - 3 * MINUTE)  # a phone clock running slow

    assert fresh(alert).on_scene_at == accepted_at


def test_a_tap_after_the_end_changes_nothing(alerts, carol, incident, now):
    alert = alerts["alice"]
    answer(alert, "accept", at=now - 20 * MINUTE)
    cancel_incident(actor=carol, incident_id=incident.pk, reason="Ambulance on scene")
    backdate_the_end(incident, now - 10 * MINUTE)
    ended = fresh(alert)

    with pytest.raises(Conflict):  # and the event is refused: they had not arrived by the end
        record(alert, occurred_at=now - 5 * MINUTE)
    # The action itself, asked directly, changes nothing either.
    assert arrive_before_the_end(actor=alert.responder.user, alert_id=alert.pk, at=now - 5 * MINUTE) is None

    after = fresh(alert)
    assert (after.state, after.on_scene_at, after.version) == (AlertState.CANCELLED, None, ended.version)
    assert attended(incident) == 0
    assert not AuditEntry.objects.filter(action=AuditAction.CHANGE, object_id=str(alert.pk)).exists()


@pytest.mark.parametrize("responses", [(), ("received",)])
def test_one_who_never_accepted_is_no_arrival(alerts, carol, incident, now, responses):
    alert = alerts["alice"]
    for response in responses:
        respond_to_alert(actor=alert.responder.user, alert_id=alert.pk, response=response)
    cancel_incident(actor=carol, incident_id=incident.pk, reason="Ambulance on scene")
    backdate_the_end(incident, now - 5 * MINUTE)

    record(alert, occurred_at=now - 10 * MINUTE)  # kept: from before the end

    assert (fresh(alert).state, fresh(alert).on_scene_at) == (AlertState.CANCELLED, None)
    assert attended(incident) == 0


def test_one_who_arrived_before_the_end_keeps_their_arrival(alerts, carol, incident, now):
    alert = alerts["alice"]
    answer(alert, "accept", at=now - 20 * MINUTE)
    respond_to_alert(actor=alert.responder.user, alert_id=alert.pk, response="on_scene")
    on_scene_at = fresh(alert).on_scene_at
    cancel_incident(actor=carol, incident_id=incident.pk, reason="Ambulance on scene")

    assert arrive_before_the_end(actor=alert.responder.user, alert_id=alert.pk, at=now - 15 * MINUTE) is None
    assert fresh(alert).on_scene_at == on_scene_at


def test_the_outcome_form_follows(alerts, carol, incident, now):
    """Alice tapped "CPR started" at T without signal, Bob pressed "On scene" at T+2, the incident
    was cancelled at T+5, Alice's taps synced after: she is the first of the crew to arrive, so the
    outcome form falls to her, and its prefill says the crew arrived at T."""
    alice, bob = alerts["alice"], alerts["bob"]
    tapped_at = now - 10 * MINUTE
    answer(alice, "accept", "en_route", at=tapped_at - 10 * MINUTE)
    answer(bob, "accept", at=tapped_at - 10 * MINUTE)
    respond_to_alert(actor=bob.responder.user, alert_id=bob.pk, response="on_scene")
    Alert.objects.filter(pk=bob.pk).update(on_scene_at=tapped_at + 2 * MINUTE)
    cancel_incident(actor=carol, incident_id=incident.pk, reason="Ambulance on scene")
    backdate_the_end(incident, tapped_at + 5 * MINUTE)

    record(alice, "cpr_started", occurred_at=tapped_at)

    duty = records_access.outcome_duty(fresh(alice))
    assert duty.expected and duty.falls_to(fresh(alice)) and not duty.falls_to(fresh(bob))
    values = prefill.outcome_prefill(fresh(alice))
    assert values["crew_arrived_at"] == tapped_at.isoformat()
    assert set(values["crew"]) == {alice.responder_id, bob.responder_id}
    assert prefill.attendance_prefill(fresh(alice))["on_scene_at"] == tapped_at.isoformat()
