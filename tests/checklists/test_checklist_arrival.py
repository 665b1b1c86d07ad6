"""A checklist tap is an arrival (trial 12): with no signal, "On scene" was refused while the
checklist's "At patient" and "CPR started" queued and synced; the coordinator then cancelled, and
the phone told someone doing CPR "You are not needed", the board "attended 0". An on-scene event
on an alert accepted or en route now makes its crew member on scene from the event's time, through
the arrival answer, so that the board, the coverage, the audit trail and "attended" follow."""

import datetime
import uuid
from unittest import mock

import pytest
from django.utils import timezone

from backend.audit.models import AuditAction, AuditEntry
from backend.checklists.actions import record_onscene_event
from backend.dispatch import coverage
from backend.dispatch.actions import cancel_incident, dispatch_incident, respond_to_alert
from backend.dispatch.models import Alert, AlertState, Incident
from backend.errors import Conflict
from backend.realtime import events

MINUTE = datetime.timedelta(minutes=1)


@pytest.fixture
def alerts(incident, carol, alice, bob):
    return {a.responder.user.username: a for a in dispatch_incident(actor=carol, incident_id=incident.pk)}


def answer(alert, *responses):
    """The answers, given five minutes ago."""
    for response in responses:
        respond_to_alert(actor=alert.responder.user, alert_id=alert.pk, response=response)
    answered = fresh(alert)
    Alert.objects.filter(pk=alert.pk).update(
        **{
            field: getattr(answered, field) - 5 * MINUTE
            for field in ("accepted_at", "en_route_at")
            if getattr(answered, field) is not None
        }
    )


def record(alert, type="arrived", *, occurred_at=None):
    return record_onscene_event(
        actor=alert.responder.user,
        alert_id=alert.pk,
        idempotency_key=uuid.uuid4(),
        type=type,
        occurred_at=occurred_at or timezone.now(),
    )


def fresh(alert) -> Alert:
    return Alert.objects.get(pk=alert.pk)


def attended(incident) -> int:
    return coverage.coverage_of(Incident.objects.get(pk=incident.pk)).attended


@pytest.mark.parametrize("before", [("accept",), ("accept", "en_route")])
def test_an_event_of_one_going_makes_them_on_scene_at_its_time(alerts, incident, before):
    alert = alerts["alice"]
    answer(alert, *before)
    tapped_at = timezone.now() - datetime.timedelta(seconds=20)

    record(alert, "cpr_started", occurred_at=tapped_at)

    arrived = fresh(alert)
    assert (arrived.state, arrived.on_scene_at) == (AlertState.ON_SCENE, tapped_at)
    assert attended(incident) == 1
    assert AuditEntry.objects.filter(
        action=AuditAction.ALERT_STATE, object_id=str(alert.pk), detail={"state": "on_scene"}
    ).exists()


def test_the_board_and_the_crew_member_are_told(alerts):
    alert = alerts["alice"]
    answer(alert, "accept", "en_route")
    with (
        mock.patch.object(events, "send_to_board") as board,
        mock.patch.object(events, "record_for_responders") as responders,
    ):
        record(alert)
    board_alerts = [data for call in board.call_args_list for kind, data in call.args[0] if kind == "board.alert"]
    assert [each["state"] for each in board_alerts] == ["on_scene"]
    told = [call.args[1] for call in responders.call_args_list]
    assert "alert.updated" in told


def test_a_cancel_after_the_taps_synced_counts_them_as_attending(alerts, carol, incident):
    """The trial's steps: en route, the taps synced, then the cancel: on scene, attended 1, and
    the refusal of a later answer does not say "not needed"."""
    alert = alerts["alice"]
    answer(alert, "accept", "en_route")
    record(alert, "arrived", occurred_at=timezone.now() - 2 * MINUTE)
    record(alert, "cpr_started", occurred_at=timezone.now() - MINUTE)

    cancel_incident(actor=carol, incident_id=incident.pk, reason="Ambulance on scene")

    ended = fresh(alert)
    assert ended.state == AlertState.CANCELLED and ended.on_scene_at is not None
    assert attended(incident) == 1
    with pytest.raises(Conflict) as refused:
        respond_to_alert(actor=alert.responder.user, alert_id=alert.pk, response="cleared")
    assert "not needed" not in refused.value.message


def test_later_taps_keep_the_first_arrival(alerts):
    alert = alerts["alice"]
    answer(alert, "accept")
    first = timezone.now() - 2 * MINUTE
    record(alert, "arrived", occurred_at=first)
    record(alert, "pads_on", occurred_at=timezone.now())
    assert fresh(alert).on_scene_at == first


def test_an_arrival_is_never_before_accepting_nor_after_now(alerts):
    alert = alerts["alice"]
    answer(alert, "accept")
    accepted_at = fresh(alert).accepted_at
    record(alert, occurred_at=accepted_at - 10 * MINUTE)  # a phone clock running slow
    assert fresh(alert).on_scene_at == accepted_at

    bob = alerts["bob"]
    answer(bob, "accept")
    record(bob, occurred_at=timezone.now() + 3 * MINUTE)  # one running fast
    assert fresh(bob).on_scene_at <= timezone.now()


def test_pressing_on_scene_after_changes_nothing(alerts):
    alert = alerts["alice"]
    answer(alert, "accept")
    tapped_at = timezone.now() - MINUTE
    record(alert, occurred_at=tapped_at)
    respond_to_alert(actor=alert.responder.user, alert_id=alert.pk, response="on_scene")
    assert fresh(alert).on_scene_at == tapped_at


@pytest.mark.parametrize("responses", [(), ("received",)])
def test_an_event_before_answering_is_no_arrival(alerts, responses):
    alert = alerts["alice"]
    answer(alert, *responses)
    record(alert)
    assert fresh(alert).on_scene_at is None


def test_an_event_synced_after_the_cancel_keeps_the_cancel(alerts, carol, incident):
    alert = alerts["alice"]
    answer(alert, "accept")
    tapped_at = timezone.now() - MINUTE
    cancel_incident(actor=carol, incident_id=incident.pk, reason="Ambulance on scene")

    record(alert, occurred_at=tapped_at)

    # Nothing reopens; the arrival from before the cancel is recorded
    # (tests/checklists/test_arrival_before_the_end.py).
    assert fresh(alert).state == AlertState.CANCELLED
    assert fresh(alert).on_scene_at is not None
