"""The board is told what the escalation ladder does next and when (`next_escalation_at`,
`next_escalation_action`, `escalation_ladder_steps` on the board's incident payload, docs/events.md),
so a coordinator sees "Next: texts at 14:04:30" rather than only the alerted count growing. Found by
a tester: the board showed no escalation progress at all."""

import datetime
from unittest import mock

import pytest

from backend.dispatch import payloads
from backend.dispatch.actions import cancel_incident, close_incident, dispatch_incident, respond_to_alert
from backend.dispatch.coverage import coverage_of
from backend.dispatch.escalation import run_due_escalations
from backend.dispatch.models import Incident
from tests.api.helpers import assert_matches
from tests.conftest import client_for
from tests.dispatch.test_escalation import ladder  # noqa: F401 (autouse: the same ladder and rings)


@pytest.fixture
def dispatched(incident, carol, alice, bob, charlie, dave):
    dispatch_incident(actor=carol, incident_id=incident.pk)
    incident.refresh_from_db()
    return incident


def at(incident, seconds):
    return incident.dispatched_at + datetime.timedelta(seconds=seconds)


def board(incident_id) -> dict:
    data = payloads.board_incident(Incident.objects.get(pk=incident_id))
    assert_matches("board_incident", data)
    return data


def next_step(data) -> tuple:
    return data["escalation_step"], data["next_escalation_action"], data["next_escalation_at"]


def test_an_incident_not_dispatched_has_no_next_step_only_the_time_of_its_alarm(incident, settings):
    # Before a dispatch the worker looks at it only to sound the board's alarm if nobody has
    # dispatched it by then (UNDISPATCHED_ALARM_SECONDS: tests/dispatch/test_undispatched_alarm.py).
    data = board(incident.pk)
    due = incident.created_at + datetime.timedelta(seconds=settings.UNDISPATCHED_ALARM_SECONDS)
    assert next_step(data) == (0, None, due.isoformat())
    assert data["escalation_ladder_steps"] == 4


def test_the_first_dispatch_tells_the_board_the_ladder_s_first_step(dispatched):
    data = board(dispatched.pk)
    assert next_step(data) == (0, "ring", at(dispatched, 60).isoformat())
    assert data["escalation_ladder_steps"] == 4


def test_each_step_s_frame_tells_every_board_the_step_after_it(dispatched):
    seen = []
    for seconds in (61, 91, 121, 181):  # ring, sms, ring, alarm
        with mock.patch("backend.realtime.events.send_to_board") as send:
            run_due_escalations(now=at(dispatched, seconds))
        # The step's own frame comes last (a ring's widening tells the board of its alerts first).
        frames = [data for call in send.call_args_list for kind, data in call.args[0] if kind == "board.incident"]
        assert_matches("board_incident", frames[-1])
        seen.append(next_step(frames[-1]))
    assert seen == [
        (1, "sms", at(dispatched, 90).isoformat()),
        (2, "ring", at(dispatched, 120).isoformat()),
        (3, "alarm", at(dispatched, 180).isoformat()),
        (4, None, None),  # past the last step: nothing to come
    ]


def test_a_ring_step_at_the_widest_ring_is_no_wider_ring(dispatched, settings):
    # Found by trying the board: "Next: wider ring" on an incident already at its widest ring. The
    # step still re-sends and looks again within that ring, so it is said as a re-send.
    settings.DISPATCH_NEXT_RINGS_KM = [35]  # two rings: the ladder's first ring step reaches the widest
    assert next_step(board(dispatched.pk))[1] == "ring"
    run_due_escalations(now=at(dispatched, 61))  # ring: to the widest ring
    run_due_escalations(now=at(dispatched, 91))  # sms
    data = board(dispatched.pk)
    assert data["ring"] == 2
    assert next_step(data) == (2, "resend", at(dispatched, 120).isoformat())
    run_due_escalations(now=at(dispatched, 121))  # the step runs all the same, then the alarm
    assert next_step(board(dispatched.pk)) == (3, "alarm", at(dispatched, 180).isoformat())


def test_the_board_is_told_the_widest_ring_so_its_button_can_say_look_again(dispatched, carol, settings):
    # Found by a tester: "Dispatch next ring" at the widest ring, answered "Nobody was alerted:
    # everyone in range has already been alerted". The board compares `ring` with `widest_ring`.
    data = board(dispatched.pk)
    assert (data["ring"], data["widest_ring"]) == (1, 3)  # 20 km, then 35 and 80
    settings.DISPATCH_NEXT_RINGS_KM = [35]
    run_due_escalations(now=at(dispatched, 61))  # ring: to the widest ring
    data = board(dispatched.pk)
    assert (data["ring"], data["widest_ring"]) == (2, 2)
    detail = client_for(carol).get(f"/api/v1/incidents/{dispatched.pk}/").json()
    assert_matches("incident_detail", detail)
    assert (detail["ring"], detail["widest_ring"]) == (2, 2)


def test_a_covered_incident_has_no_next_step_the_ladder_waits(dispatched):
    for alert in dispatched.alerts.select_related("responder__user"):  # alice and bob: the target is 2
        respond_to_alert(actor=alert.responder.user, alert_id=alert.pk, response="accept")
    data = board(dispatched.pk)
    assert data["covered"] is True
    # Due: standing the unanswered down once the grace is over, no step of the ladder.
    assert data["next_escalation_at"] is not None and data["next_escalation_action"] is None


@pytest.mark.parametrize("end", ["cancel", "close"])
def test_a_finished_incident_has_no_next_step(dispatched, carol, end):
    if end == "cancel":
        cancel_incident(actor=carol, incident_id=dispatched.pk, reason="Hoax")
    else:
        close_incident(actor=carol, incident_id=dispatched.pk)
    assert next_step(board(dispatched.pk)) == (0, None, None)


def test_the_api_s_incident_carries_it_too(dispatched, carol):
    api = client_for(carol)
    detail = api.get(f"/api/v1/incidents/{dispatched.pk}/").json()
    assert_matches("incident_detail", detail)
    assert next_step(detail) == (0, "ring", at(dispatched, 60).isoformat())
    listed = api.get("/api/v1/incidents/").json()
    assert_matches("incident_list", listed)
    assert [next_step(item) for item in listed["results"]] == [next_step(detail)]


def test_it_costs_no_query(dispatched, django_assert_num_queries):
    incident = Incident.objects.get(pk=dispatched.pk)
    coverage = coverage_of(incident)
    with django_assert_num_queries(0):
        data = payloads.board_incident(incident, coverage=coverage)
    assert data["next_escalation_action"] == "ring"
