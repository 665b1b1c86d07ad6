"""How the board counts and words crews, as the eleventh browser trial found it wrong.

- The escalation alarm said "has 2 of the 3 crews it needs" (and the board "Now 2 going") of two
  crews who had cleared from the scene: it now says the coverage line's counts.
- A firefighter who logged out while en route kept a live-looking arrival estimate: their
  position is taken off the board and the crew's map at logout, and not served while logged out.
- A coordinator standing down the one crew on scene sounded the drop-out alarm and re-alerted
  those stood down because enough crews were going: their own act now sounds nothing, alerts
  nobody again, and holds the ladder until their next dispatch.
- Going off call while en route did not show on the board: the boards are told.
"""

import datetime
from unittest import mock

import pytest

from backend.dispatch import ladder, payloads, positions
from backend.dispatch.actions import dispatch_incident, respond_to_alert, stand_down
from backend.dispatch.escalation import run_due_escalations
from backend.dispatch.models import Alert, AlertState, Incident, StandDownReason
from backend.realtime import events
from tests.api.helpers import assert_matches
from tests.conftest import client_for
from tests.delivery.test_subscriptions_follow_the_person import browser_of, log_out

pytestmark = pytest.mark.django_db

LADDER = [(60, "ring"), (90, "sms"), (120, "ring"), (180, "alarm")]
GRACE = 30
NEAR = {"latitude": 52.6280, "longitude": 1.3000, "accuracy_m": 8}


@pytest.fixture(autouse=True)
def rules(settings):
    settings.ESCALATION_LADDER = LADDER
    settings.DISPATCH_RADIUS_KM = 20
    settings.DISPATCH_NEXT_RINGS_KM = [35, 80]
    settings.COVERED_STAND_DOWN_GRACE_SECONDS = GRACE


def fresh(incident) -> Incident:
    return Incident.objects.get(pk=incident.pk)


def alert_of(incident, responder) -> Alert:
    return Alert.objects.get(incident=incident, responder=responder)


def answer(incident, responder, *responses, **extra):
    alert = alert_of(incident, responder)
    for response in responses:
        respond_to_alert(actor=responder.user, alert_id=alert.pk, response=response, **extra)


def dispatched(incident, carol, crew_target: int, minutes_ago: int = 0) -> Incident:
    Incident.objects.filter(pk=incident.pk).update(crew_target=crew_target)
    dispatch_incident(actor=carol, incident_id=incident.pk)
    if minutes_ago:
        earlier = datetime.timedelta(minutes=minutes_ago)
        incident = fresh(incident)
        Incident.objects.filter(pk=incident.pk).update(
            dispatched_at=incident.dispatched_at - earlier, next_escalation_at=incident.next_escalation_at - earlier
        )
    return fresh(incident)


def board_frames(send, kind: str) -> list[dict]:
    return [data for call in send.call_args_list for each, data in call.args[0] if each == kind]


# --- 1. The alarm in the coverage line's counts ---------------------------------------------------


def test_the_escalation_alarm_counts_crews_who_cleared_as_cleared_not_going(incident, carol, alice, bob, charlie):
    incident = dispatched(incident, carol, crew_target=3, minutes_ago=10)
    for responder in (alice, bob):
        answer(incident, responder, "accept", "on_scene", "cleared")
    for seconds in (61, 91, 121, 181):
        run_due_escalations(now=incident.dispatched_at + datetime.timedelta(seconds=seconds))

    assert fresh(incident).alarm_message == (
        "Incident EEAST-0001 is still short of crews after every ring was alerted: 2 cleared from the scene (3 needed)."
    )


# --- 2. Logged out while en route: no live estimate -----------------------------------------------


@pytest.fixture
def alice_en_route_sharing(incident, carol, alice, bob):
    incident = dispatched(incident, carol, crew_target=2)
    answer(incident, alice, "accept", "en_route")
    positions.record_alert_position(actor=alice.user, alert_id=alert_of(incident, alice).pk, **NEAR)
    assert [item["responder_id"] for item in positions.latest_positions([incident.pk])[incident.pk]] == [alice.pk]
    return incident


def test_logging_out_while_en_route_takes_the_position_off_the_board_and_the_crews_map(
    alice_en_route_sharing, alice, monkeypatch
):
    incident = alice_en_route_sharing
    sent = []
    monkeypatch.setattr(events, "send_unstored", lambda type, data, **to: sent.append((type, data, to)))

    assert log_out(browser_of(alice.user)).status_code == 204

    alert = alert_of(incident, alice)
    assert [(type, data) for type, data, _to in sent] == [
        ("position.cleared", {"alert_id": alert.pk, "incident_id": incident.pk, "responder_id": alice.pk})
    ]
    assert sent[0][2]["board"] is True
    # A board opened (or reconnected) later reads no position of hers either, until she logs in.
    assert positions.latest_positions([incident.pk])[incident.pk] == []


# --- 3. A coordinator's stand-down is not a drop-out -----------------------------------------------


def covered_by_alice_on_scene(incident, carol, alice, bob) -> Incident:
    """Alice on scene covers the incident (target 1); after the grace Bob is stood down, enough crews."""
    incident = dispatched(incident, carol, crew_target=1)
    answer(incident, alice, "accept", "on_scene")
    run_due_escalations(now=fresh(incident).covered_at + datetime.timedelta(seconds=GRACE))
    assert alert_of(incident, bob).stood_down_reason == StandDownReason.ENOUGH_CREWS
    return fresh(incident)


def test_standing_down_the_only_crew_on_scene_sounds_nothing_and_alerts_nobody_again(incident, carol, alice, bob):
    incident = covered_by_alice_on_scene(incident, carol, alice, bob)

    with mock.patch("backend.realtime.events.send_to_board") as send:
        stand_down(actor=carol, incident_id=incident.pk, alert_ids=[alert_of(incident, alice).pk])

    incident = fresh(incident)
    assert incident.alarm_raised_at is None and board_frames(send, "board.alarm") == []
    assert alert_of(incident, bob).state == AlertState.STOOD_DOWN  # not alerted again
    # The ladder is held, not resumed: nothing runs by itself (until the `held` alarm, if nobody
    # dispatches, cancels or closes it: test_held_ladder_alarm.py).
    assert incident.covered_at is None and incident.next_escalation_at is None
    assert payloads.board_incident(incident)["next_escalation_at"] is None
    assert run_due_escalations(now=ladder.held_alarm_at(incident) - datetime.timedelta(seconds=1)) == 0


def test_the_coordinators_dispatch_after_it_resumes_the_ladder_and_alerts_the_nearest_again(
    incident, carol, alice, bob
):
    incident = covered_by_alice_on_scene(incident, carol, alice, bob)
    stand_down(actor=carol, incident_id=incident.pk, alert_ids=[alert_of(incident, alice).pk])

    alerted = dispatch_incident(actor=carol, incident_id=incident.pk)

    incident = fresh(incident)
    assert alert_of(incident, bob).state == AlertState.ALERTED
    assert alert_of(incident, bob).pk in [alert.pk for alert in alerted]
    # The step it had reached (the first ring) is due its interval after the dispatch.
    assert incident.escalation_step == 0
    assert incident.next_escalation_at is not None
    assert incident.next_escalation_at - datetime.timedelta(seconds=60) <= datetime.datetime.now(datetime.UTC)


# --- 5. Off call while en route: the boards are told ------------------------------------------------


def test_going_off_call_while_en_route_is_told_to_every_board_and_kept_on_the_alert(incident, carol, alice):
    incident = dispatched(incident, carol, crew_target=1)
    answer(incident, alice, "accept", "en_route")

    with mock.patch("backend.realtime.events.send_to_board") as send:
        response = client_for(alice.user).patch("/api/v1/me/", {"on_call": False}, format="json")
    assert response.status_code == 200, response.content

    alice.refresh_from_db()
    [frame] = board_frames(send, "board.responder")
    assert frame["responder_id"] == alice.pk
    assert frame["on_call"] is False and frame["logged_out_at"] is None
    assert frame["on_call_changed_at"] == alice.on_call_changed_at.isoformat()
    assert_matches("event.board.responder", events.envelope(type="board.responder", data=frame))
    alert = alert_of(incident, alice)
    data = payloads.board_alert(alert)
    assert_matches("board_alert", data)
    assert data["responder_on_call"] is False
    assert alert.state == AlertState.EN_ROUTE  # the job carries on


def test_booking_off_call_again_tells_nobody(incident, carol, alice):
    client_for(alice.user).patch("/api/v1/me/", {"on_call": False}, format="json")
    with mock.patch("backend.realtime.events.send_to_board") as send:
        client_for(alice.user).patch("/api/v1/me/", {"on_call": False}, format="json")
    assert board_frames(send, "board.responder") == []
