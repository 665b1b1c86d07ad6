"""A ladder held after a coordinator's stand-down (ladder.is_held) sounds the board's `held` alarm
once, HELD_LADDER_REMINDER_SECONDS after the hold began, if the incident is still open and short and
nobody has dispatched it again, cancelled or closed it (escalation.sound_held_alarm; H17 control 6).
Before, an incident left open with nobody going and its ladder held sounded nothing, ever, if the
coordinator forgot it. A dispatch, a cancel or a close before then ends it, as they end the others."""

import datetime
from unittest import mock

import pytest

from backend.audit.models import AuditAction, AuditEntry
from backend.dispatch import ladder, payloads
from backend.dispatch.actions import cancel_incident, close_incident, dispatch_incident, stand_down
from backend.dispatch.escalation import run_due_escalations
from backend.dispatch.models import AlarmKind, Incident
from tests.api.helpers import assert_matches
from tests.dispatch.test_board_page import ACKNOWLEDGE, coordinator_api
from tests.dispatch.test_coverage_after_a_stand_down import (  # noqa: F401 (autouse: the same rules)
    alert_of,
    answer,
    fresh,
    named_accepted_and_stood_down,
    new_incident,
    rules,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def two_minutes(settings):
    settings.HELD_LADDER_REMINDER_SECONDS = 120


def after(incident: Incident, seconds: int) -> datetime.datetime:
    return incident.held_since + datetime.timedelta(seconds=seconds)


def sounded(incident) -> list[tuple[str, str]]:
    entries = AuditEntry.objects.filter(action=AuditAction.ALARM, incident_id=incident.pk).order_by("pk")
    return [(entry.detail["kind"], entry.detail["raised_at"]) for entry in entries]


def test_a_held_ladder_nobody_dispatches_again_sounds_the_held_alarm_once(carol, alice, bob, charlie, dave):
    incident = named_accepted_and_stood_down(carol, alice)
    assert ladder.is_held(incident) and incident.held_since is not None
    assert ladder.held_alarm_at(incident) == after(incident, 120)
    assert payloads.board_incident(incident)["held_since"] == incident.held_since.isoformat()

    assert run_due_escalations(now=after(incident, 119)) == 0
    assert fresh(incident).alarm_raised_at is None

    with mock.patch("backend.realtime.events.send_to_board") as send:
        assert run_due_escalations(now=after(incident, 121)) == 1

    raised = fresh(incident)
    assert raised.alarm_raised_at == after(incident, 121)
    assert raised.alarm_message == (
        "Nobody is going to incident CAD-D4, 2 min after crews were stood down: dispatch again, or cancel or close it."
    )
    frames = [kind for call in send.call_args_list for kind, _data in call.args[0]]
    assert frames == ["board.alarm", "board.incident"]
    # Still held: the ladder does not run by itself, and the boards show the hold and this alarm.
    assert ladder.is_held(raised) and raised.next_escalation_at is None
    data = payloads.board_incident(raised)
    assert_matches("board_incident", data)
    assert data["held_since"] <= data["alarm_raised_at"]
    # Audited once, as the `held` alarm; the worker does not raise it again.
    assert sounded(incident) == [("held", raised.alarm_raised_at.isoformat())]
    assert run_due_escalations(now=after(incident, 3600)) == 0
    assert fresh(incident).alarm_raised_at == raised.alarm_raised_at
    assert len(sounded(incident)) == 1


def test_its_words_say_who_is_still_going_when_some_are(carol, alice, bob, charlie, dave):
    incident = new_incident(carol)
    Incident.objects.filter(pk=incident.pk).update(crew_target=3)
    dispatch_incident(actor=carol, incident_id=incident.pk, responder_ids=[alice.pk, bob.pk])
    answer(incident, alice, "accept")
    answer(incident, bob, "accept")
    stand_down(actor=carol, incident_id=incident.pk, alert_ids=[alert_of(incident, bob).pk])
    held = fresh(incident)
    assert ladder.is_held(held)

    assert run_due_escalations(now=after(held, 121)) == 1
    assert fresh(incident).alarm_message == (
        "Incident CAD-D4 is still short of crews (1 going (3 needed)) 2 min after crews were stood down: "
        "dispatch again, or cancel or close it."
    )


def test_a_dispatch_before_it_resumes_the_ladder_and_ends_it(carol, alice, bob, charlie, dave):
    incident = named_accepted_and_stood_down(carol, alice)
    held_since = incident.held_since

    dispatch_incident(actor=carol, incident_id=incident.pk)

    resumed = fresh(incident)
    assert not ladder.is_held(resumed) and resumed.held_since is None
    assert payloads.board_incident(resumed)["held_since"] is None
    later = held_since + datetime.timedelta(seconds=121)
    run_due_escalations(now=later)
    assert AlarmKind.HELD.value not in [kind for kind, _ in sounded(incident)]


def test_a_dispatch_after_it_ends_it_on_every_board(carol, alice, bob, charlie, dave):
    """Found by a trial: after "Alert named" the held alarm sounded on, as the escalation alarm."""
    incident = named_accepted_and_stood_down(carol, alice)
    assert run_due_escalations(now=after(incident, 121)) == 1
    raised = fresh(incident)
    assert raised.alarm_raised_at is not None

    dispatch_incident(actor=carol, incident_id=incident.pk, responder_ids=[alice.pk])

    resumed = fresh(incident)
    assert not ladder.is_held(resumed) and resumed.held_since is None
    assert (resumed.alarm_raised_at, resumed.alarm_message) == (None, "")
    data = payloads.board_incident(resumed)
    assert data["alarm_raised_at"] is None
    # Its sounding stays in the audit trail.
    assert sounded(incident) == [("held", raised.alarm_raised_at.isoformat())]


def test_an_alarm_from_before_the_hold_is_not_cleared_by_the_dispatch(carol, alice, bob, charlie, dave):
    incident = named_accepted_and_stood_down(carol, alice)
    before = incident.held_since - datetime.timedelta(seconds=30)
    Incident.objects.filter(pk=incident.pk).update(alarm_raised_at=before, alarm_message="Earlier.")

    dispatch_incident(actor=carol, incident_id=incident.pk, responder_ids=[alice.pk])

    assert (fresh(incident).alarm_raised_at, fresh(incident).alarm_message) == (before, "Earlier.")


@pytest.mark.parametrize("ending", ["cancel", "close"])
def test_an_incident_ended_before_it_sounds_nothing(carol, alice, bob, charlie, dave, ending):
    incident = named_accepted_and_stood_down(carol, alice)
    if ending == "cancel":
        cancel_incident(actor=carol, incident_id=incident.pk, reason="Ambulance took over")
    else:
        close_incident(actor=carol, incident_id=incident.pk)

    assert run_due_escalations(now=after(incident, 3600)) == 0
    assert fresh(incident).alarm_raised_at is None and sounded(incident) == []
    assert payloads.board_incident(fresh(incident))["held_since"] is None


def test_an_incident_covered_again_before_it_sounds_nothing(carol, alice, bob, charlie, dave):
    """One still alerted accepts: covered, the ladder is no longer held."""
    incident = new_incident(carol)
    dispatch_incident(actor=carol, incident_id=incident.pk, responder_ids=[alice.pk, bob.pk, charlie.pk])
    answer(incident, alice, "accept")
    answer(incident, bob, "accept")
    stand_down(actor=carol, incident_id=incident.pk, alert_ids=[alert_of(incident, alice).pk])
    held = fresh(incident)
    assert ladder.is_held(held) and held.held_since is not None

    answer(incident, charlie, "accept")

    assert not ladder.is_held(fresh(incident)) and fresh(incident).held_since is None
    run_due_escalations(now=after(held, 121))
    assert "held" not in [kind for kind, _ in sounded(incident)]


def test_a_coordinator_acknowledges_it_as_the_other_alarms(carol, alice, bob, charlie, dave):
    incident = named_accepted_and_stood_down(carol, alice)
    run_due_escalations(now=after(incident, 121))

    response = coordinator_api(carol).post(
        ACKNOWLEDGE, {"kind": "held", "incident_id": incident.pk}, content_type="application/json"
    )
    assert response.status_code == 201, response.content
    assert_matches("alarm_acknowledgement", response.json())
