"""A coordinator's stand-down, and who is going after it, as a browser trial found them wrong.

1. Standing down the one crew of an incident that was never covered (one firefighter alerted by
   name, accepted, then stood down: 1 going of the 2 needed) let the ladder run on: "Next: wider
   ring" stayed, then 17 more were alerted and the alarm sounded "Nobody has accepted". The same
   stand-down of an incident that had been covered holds the ladder until the coordinator's next
   dispatch (test_coverage.py, test_trial11_counting.py): now it does whether or not it had been.
2. Stand both crews down, then alert one of them again by name: the boards said "1 stood down by
   control, 1 accepted, then dropped out" of the one alerted again and not answered yet. Each is
   counted once, by their state now.
3. The phones' crew line called the stand-down a drop-out ("2 accepted, then dropped out") where
   the boards said "stood down by control": each crew member says how they are not going, as the
   boards count it (tests/js/board-stand-down-counting.test.mjs words it).

Alice and Bob are at Norwich, Charlie and Dave further out; the crew target is 2.
"""

import datetime

import pytest

from backend.dispatch import ladder
from backend.dispatch.actions import create_incident, dispatch_incident, respond_to_alert, stand_down
from backend.dispatch.coverage import NoLongerGoing, coverage_of, no_longer_going, tally
from backend.dispatch.escalation import run_due_escalations
from backend.dispatch.models import Alert, AlertState, Incident, StandDownReason
from backend.dispatch.payloads import board_incident, crew_of
from backend.realtime.models import ResponderEvent
from tests.api.helpers import assert_matches
from tests.conftest import NORWICH_INCIDENT

pytestmark = pytest.mark.django_db

LADDER = [(60, "ring"), (90, "sms"), (120, "ring"), (180, "alarm")]


@pytest.fixture(autouse=True)
def rules(settings):
    settings.ESCALATION_LADDER = LADDER
    settings.DISPATCH_RADIUS_KM = 20
    settings.DISPATCH_NEXT_RINGS_KM = [35, 80]
    settings.COVERED_STAND_DOWN_GRACE_SECONDS = 30
    settings.DISPATCH_CREW_TARGET = 2


def new_incident(carol) -> Incident:
    return create_incident(
        actor=carol,
        cad_reference="CAD-D4",
        latitude=NORWICH_INCIDENT[0],
        longitude=NORWICH_INCIDENT[1],
        address="12 Example Road, Norwich",
    )


def fresh(incident) -> Incident:
    return Incident.objects.get(pk=incident.pk)


def alert_of(incident, responder) -> Alert:
    return Alert.objects.get(incident=incident, responder=responder)


def answer(incident, responder, response, **extra):
    respond_to_alert(actor=responder.user, alert_id=alert_of(incident, responder).pk, response=response, **extra)


def named_accepted_and_stood_down(carol, alice) -> Incident:
    """The trial's CAD-D4: Alice alerted by name, accepted (1 going, 2 needed: never covered), and
    stood down by the coordinator before the first step was due."""
    incident = new_incident(carol)
    dispatch_incident(actor=carol, incident_id=incident.pk, responder_ids=[alice.pk])
    answer(incident, alice, "accept")
    assert fresh(incident).covered_at is None and fresh(incident).next_escalation_at is not None
    stand_down(actor=carol, incident_id=incident.pk, alert_ids=[alert_of(incident, alice).pk])
    return fresh(incident)


# --- 1. The hold, whether or not the incident had been covered ------------------------------------


def test_standing_down_the_only_crew_of_an_incident_never_covered_holds_the_ladder(carol, alice, bob, charlie, dave):
    incident = named_accepted_and_stood_down(carol, alice)

    assert ladder.is_held(incident)
    assert incident.next_escalation_at is None and incident.escalation_step == 0
    data = board_incident(incident)
    assert (data["next_escalation_at"], data["next_escalation_action"]) == (None, None)
    # Nothing runs by itself: nobody else alerted, no alarm (until the `held` alarm, if nobody
    # dispatches, cancels or closes it: test_held_ladder_alarm.py).
    assert run_due_escalations(now=ladder.held_alarm_at(incident) - datetime.timedelta(seconds=1)) == 0
    assert list(Alert.objects.filter(incident=incident).values_list("responder", flat=True)) == [alice.pk]
    assert fresh(incident).alarm_raised_at is None


def test_the_coordinators_next_dispatch_resumes_the_ladder_held_so(carol, alice, bob, charlie, dave):
    incident = named_accepted_and_stood_down(carol, alice)

    dispatch_incident(actor=carol, incident_id=incident.pk)

    incident = fresh(incident)
    assert not ladder.is_held(incident) and incident.next_escalation_at is not None
    assert incident.escalation_step == 0


def test_standing_down_one_crew_of_two_going_short_of_three_holds_it_too(carol, alice, bob, charlie, dave):
    incident = new_incident(carol)
    Incident.objects.filter(pk=incident.pk).update(crew_target=3)
    dispatch_incident(actor=carol, incident_id=incident.pk)
    answer(incident, alice, "accept")
    answer(incident, bob, "accept")

    stand_down(actor=carol, incident_id=incident.pk, alert_ids=[alert_of(incident, bob).pk])

    assert ladder.is_held(fresh(incident))


def test_standing_down_only_the_unanswered_of_a_short_incident_leaves_its_ladder_running(
    carol, alice, bob, charlie, dave
):
    """Not a crew going: the coordinator takes away no cover, and the ladder goes on looking."""
    incident = new_incident(carol)
    dispatch_incident(actor=carol, incident_id=incident.pk)
    answer(incident, alice, "accept")
    due = fresh(incident).next_escalation_at

    stand_down(actor=carol, incident_id=incident.pk, alert_ids=[alert_of(incident, bob).pk])

    incident = fresh(incident)
    assert not ladder.is_held(incident) and incident.next_escalation_at == due


def test_a_crew_dropping_out_of_an_incident_never_covered_does_not_hold_it(carol, alice, bob, charlie, dave):
    """Their own doing, not control's: the ladder runs on and the alarm is raised (H17, 6)."""
    incident = new_incident(carol)
    dispatch_incident(actor=carol, incident_id=incident.pk, responder_ids=[alice.pk])
    answer(incident, alice, "accept")
    due = fresh(incident).next_escalation_at

    answer(incident, alice, "decline", reason="no_transport")

    incident = fresh(incident)
    assert incident.next_escalation_at == due and incident.alarm_raised_at is not None


# --- 2. Each responder counted once, by their state now -------------------------------------------


def both_stood_down_then_alice_named_again(carol, alice, bob) -> Incident:
    incident = new_incident(carol)
    dispatch_incident(actor=carol, incident_id=incident.pk)
    answer(incident, alice, "accept")
    answer(incident, bob, "accept")
    stand_down(actor=carol, incident_id=incident.pk, alert_ids=[alert_of(incident, alice).pk])
    stand_down(actor=carol, incident_id=incident.pk, alert_ids=[alert_of(incident, bob).pk])
    dispatch_incident(actor=carol, incident_id=incident.pk, responder_ids=[alice.pk])
    assert alert_of(incident, alice).state == AlertState.ALERTED
    assert alert_of(incident, bob).stood_down_reason == StandDownReason.COORDINATOR
    return fresh(incident)


def test_one_alerted_again_and_not_answered_is_not_counted_as_dropped_out(carol, alice, bob, charlie, dave):
    incident = both_stood_down_then_alice_named_again(carol, alice, bob)

    data = board_incident(incident)

    assert_matches("board_incident", data)
    assert (data["stood_down_by_control_count"], data["alerted_again_count"], data["dropped_out_count"]) == (1, 1, 0)


def test_the_crew_says_how_each_is_not_going_as_the_boards_count_them(carol, alice, bob, charlie, dave):
    incident = both_stood_down_then_alice_named_again(carol, alice, bob)

    crew = {member["responder_id"]: member for member in crew_of(incident)}

    for member in crew.values():
        assert_matches("crew_member", member)
    assert crew[alice.pk]["no_longer_going"] == "alerted_again"
    assert crew[bob.pk]["no_longer_going"] == "stood_down_by_control"
    # Those never accepted are not counted (the crew line says "nobody has accepted" of them).
    assert {member["no_longer_going"] for id, member in crew.items() if id not in (alice.pk, bob.pk)} <= {None}
    # Bob's phone heard it with the crew of the re-alert.
    update = ResponderEvent.objects.filter(responder=bob, type="incident.updated").order_by("-pk").first()
    told = {member["responder_id"]: member["no_longer_going"] for member in update.data["crew"]}
    assert (told[alice.pk], told[bob.pk]) == ("alerted_again", "stood_down_by_control")


# --- 3. The categories, one each -----------------------------------------------------------------

T = datetime.datetime(2026, 1, 1, 12, tzinfo=datetime.UTC)


@pytest.mark.parametrize(
    ("state", "on_scene_at", "first_accepted_at", "reason", "expected"),
    [
        ("alerted", None, None, "", None),  # never accepted
        ("declined", None, None, "", None),
        ("stood_down", None, None, "coordinator", None),
        ("accepted", None, T, "", None),  # going
        ("on_scene", T, T, "", None),
        ("cleared", T, T, "", None),  # cleared from the scene: counts towards the cover
        ("stood_down", None, T, "coordinator", NoLongerGoing.STOOD_DOWN_BY_CONTROL),
        ("stood_down", T, T, "control_room", NoLongerGoing.STOOD_DOWN_BY_CONTROL),
        ("alerted", None, T, "", NoLongerGoing.ALERTED_AGAIN),
        ("received", T, T, "", NoLongerGoing.ALERTED_AGAIN),
        ("declined", None, T, "", NoLongerGoing.DROPPED_OUT),
        ("cleared", None, T, "", NoLongerGoing.DROPPED_OUT),  # cleared before arriving
        ("stood_down", None, T, "committed_elsewhere", NoLongerGoing.DROPPED_OUT),
        ("cancelled", None, T, "", None),
    ],
)
def test_how_one_who_accepted_is_not_going_now(state, on_scene_at, first_accepted_at, reason, expected):
    assert no_longer_going(state, on_scene_at, first_accepted_at, reason) == expected


def test_the_tally_counts_each_once(carol, alice, bob, charlie, dave):
    incident = both_stood_down_then_alice_named_again(carol, alice, bob)

    counted = coverage_of(incident)

    assert (counted.stood_down_by_control, counted.alerted_again, counted.dropped_out, counted.ever_accepted) == (
        1,
        1,
        0,
        2,
    )
    assert tally(2, [("declined", T, None, T, ""), ("alerted", None, None, T, "")]).dropped_out == 1
