"""Coverage: once enough crews are going the ladder stops and the others are stood down; if a crew
drops out, the ladder resumes and those stood down are alerted again.

Alice and Bob are at Norwich, Charlie at Great Yarmouth (about 28 km), Dave at King's Lynn (far).
The crew target is 2 unless a test says otherwise.
"""

import datetime

import pytest
from django.db.models import Count

from backend.delivery.models import Channel, Delivery, Kind
from backend.delivery.subscriptions import subscribe_device
from backend.dispatch import coverage
from backend.dispatch.actions import close_incident, create_incident, dispatch_incident, respond_to_alert, stand_down
from backend.dispatch.escalation import run_due_escalations
from backend.dispatch.models import Alert, AlertState, Incident, StandDownReason
from backend.dispatch.payloads import board_incident
from backend.realtime.models import ResponderEvent
from tests.conftest import NORWICH_INCIDENT, browser_subscription

LADDER = [(60, "ring"), (90, "sms"), (120, "ring"), (180, "alarm")]
GRACE = 30


@pytest.fixture(autouse=True)
def rules(settings):
    settings.ESCALATION_LADDER = LADDER
    settings.DISPATCH_RADIUS_KM = 20
    settings.DISPATCH_NEXT_RINGS_KM = [35, 80]
    settings.COVERED_STAND_DOWN_GRACE_SECONDS = GRACE
    settings.DISPATCH_CREW_TARGET = 2


def make_incident(carol, reference="EEAST-1", **extra):
    return create_incident(
        actor=carol,
        cad_reference=reference,
        latitude=NORWICH_INCIDENT[0],
        longitude=NORWICH_INCIDENT[1],
        address="12 Example Road, Norwich",
        **extra,
    )


@pytest.fixture
def everyone(alice, bob, charlie, dave):
    for responder in (alice, bob, charlie, dave):
        responder.phone_number = "+447700900123"
        responder.save()
        subscribe_device(
            actor=responder.user,
            endpoint=f"https://fcm.googleapis.com/fcm/send/{responder.user.username}",
            label="phone",
            **browser_subscription("https://x")["keys"],
        )
    return {"alice": alice, "bob": bob, "charlie": charlie, "dave": dave}


def dispatched(carol, **extra) -> Incident:
    incident = make_incident(carol, **extra)
    dispatch_incident(actor=carol, incident_id=incident.pk)
    incident.refresh_from_db()
    return incident


def at(incident, seconds):
    return incident.dispatched_at + datetime.timedelta(seconds=seconds)


def alert(incident, name) -> Alert:
    return Alert.objects.get(incident=incident, responder__user__username=name)


def answer(incident, name, response, **extra):
    found = alert(incident, name)
    return respond_to_alert(actor=found.responder.user, alert_id=found.pk, response=response, **extra)


def states(incident) -> dict:
    return {a.responder.user.username: a.state for a in incident.alerts.select_related("responder__user")}


def fresh(incident) -> Incident:
    return Incident.objects.get(pk=incident.pk)


def test_reaching_the_crew_target_covers_the_incident_and_pauses_the_ladder(carol, everyone):
    incident = dispatched(carol)
    answer(incident, "alice", "accept")
    assert fresh(incident).covered_at is None

    answer(incident, "bob", "accept")

    incident = fresh(incident)
    assert incident.covered_at is not None
    assert incident.next_escalation_at == incident.covered_at + datetime.timedelta(seconds=GRACE)
    assert board_incident(incident)["covered"] is True


def test_after_the_grace_the_unanswered_are_stood_down_with_a_push_that_replaces_the_alert(carol, everyone):
    incident = dispatched(carol, crew_target=1)
    run_due_escalations(now=at(incident, 61))  # the next ring: Charlie at Great Yarmouth
    answer(incident, "alice", "accept")
    covered_at = fresh(incident).covered_at

    assert run_due_escalations(now=covered_at + datetime.timedelta(seconds=GRACE - 1)) == 0
    assert run_due_escalations(now=covered_at + datetime.timedelta(seconds=GRACE)) == 1

    incident = fresh(incident)
    assert states(incident) == {"alice": "accepted", "bob": "stood_down", "charlie": "stood_down"}
    assert {alert(incident, name).stood_down_reason for name in ("bob", "charlie")} == {"enough_crews"}
    stand_downs = Delivery.objects.filter(kind=Kind.STAND_DOWN, channel=Channel.WEBPUSH)
    assert sorted(d.alert.responder.user.username for d in stand_downs) == ["bob", "charlie"]
    assert incident.next_escalation_at is None


def test_once_covered_no_ring_no_text_and_no_alarm(carol, everyone):
    incident = dispatched(carol)
    answer(incident, "alice", "accept")
    answer(incident, "bob", "accept")
    for seconds in (61, 91, 121, 181, 600):
        run_due_escalations(now=at(incident, seconds))
    incident = fresh(incident)
    assert sorted(states(incident)) == ["alice", "bob"]
    assert not Delivery.objects.filter(channel=Channel.SMS).exists()
    assert incident.alarm_raised_at is None


def test_a_crew_that_attended_and_cleared_still_counts(carol, everyone):
    """Accepted at +0:03, on scene at +0:05, cleared at +1:34: at +2:00 nobody else is rung and
    at +3:00 no alarm is raised (found by a control-room trial)."""
    incident = dispatched(carol, crew_target=1)
    answer(incident, "alice", "accept")
    answer(incident, "alice", "on_scene")
    answer(incident, "alice", "cleared")
    for seconds in (61, 91, 121, 181):
        run_due_escalations(now=at(incident, seconds))
    incident = fresh(incident)
    assert "charlie" not in states(incident) and "dave" not in states(incident)
    assert incident.alarm_raised_at is None
    assert board_incident(incident)["covered"] is True


def test_clearing_without_arriving_does_not_count(carol, everyone):
    incident = dispatched(carol, crew_target=1)
    answer(incident, "alice", "accept")
    answer(incident, "alice", "cleared")
    assert board_incident(fresh(incident))["covered"] is False


def test_the_sms_step_texts_nobody_while_covered(carol, everyone):
    incident = dispatched(carol, crew_target=1)
    run_due_escalations(now=at(incident, 61))
    answer(incident, "alice", "accept")
    # Bob and Charlie have not answered; the SMS step would be due at 90 s, inside the grace.
    run_due_escalations(now=at(incident, 91))
    assert not Delivery.objects.filter(channel=Channel.SMS).exists()


def test_when_coverage_drops_the_stood_down_are_alerted_again_and_the_ladder_resumes(carol, everyone):
    incident = dispatched(carol, crew_target=1)
    answer(incident, "alice", "accept")
    covered_at = fresh(incident).covered_at
    run_due_escalations(now=covered_at + datetime.timedelta(seconds=GRACE))  # Bob stood down
    assert alert(incident, "bob").state == AlertState.STOOD_DOWN

    answer(incident, "alice", "decline", reason="no_transport")

    incident = fresh(incident)
    assert incident.covered_at is None
    bob_alert = alert(incident, "bob")
    assert bob_alert.state == AlertState.ALERTED and bob_alert.stood_down_reason == ""
    assert bob_alert.received_at is None  # his phone must show it, and say so, again
    created = ResponderEvent.objects.filter(responder=bob_alert.responder, type="alert.created").order_by("id")
    assert [event.data["alert"]["state"] for event in created] == ["alerted", "alerted"]
    assert Delivery.objects.filter(alert=bob_alert, kind=Kind.ALERT, round=2).count() == 1
    # The ladder is where it was: step 0, the first ring, not yet run.
    assert incident.escalation_step == 0
    assert incident.next_escalation_at >= at(incident, 60)


def test_a_resumed_ladder_keeps_its_spacing_moved_on_by_the_pause(carol, everyone):
    incident = dispatched(carol, crew_target=1)
    answer(incident, "alice", "accept")  # covered within the first second
    incident = fresh(incident)
    Alert.objects.filter(pk=alert(incident, "alice").pk).update(state=AlertState.DECLINED)

    resumed_at = incident.covered_at + datetime.timedelta(seconds=300)
    _coverage, change = coverage.follow_coverage(incident, now=resumed_at)

    assert change is coverage.Change.NO_LONGER_COVERED
    assert incident.escalation_delay_seconds == 300
    assert incident.next_escalation_at == at(incident, 60 + 300)  # the first ring, 60 s after it resumed


def test_a_stood_down_responder_committed_elsewhere_meanwhile_is_not_alerted_again(carol, everyone):
    incident = dispatched(carol, crew_target=1)
    answer(incident, "alice", "accept")
    run_due_escalations(now=fresh(incident).covered_at + datetime.timedelta(seconds=GRACE))
    other = make_incident(carol, reference="EEAST-2")
    dispatch_incident(actor=carol, incident_id=other.pk)
    answer(other, "bob", "accept")

    answer(incident, "alice", "decline", reason="no_transport")

    assert alert(incident, "bob").state == AlertState.STOOD_DOWN


def test_a_coordinator_standing_down_a_committed_crew_holds_the_ladder_until_their_dispatch(carol, everyone):
    """Their own act, not a drop-out (trial 11): nothing runs by itself; their dispatch resumes it."""
    incident = dispatched(carol, crew_target=1)
    answer(incident, "alice", "accept")
    stand_down(actor=carol, incident_id=incident.pk, alert_ids=[alert(incident, "alice").pk])
    incident = fresh(incident)
    assert incident.covered_at is None and incident.next_escalation_at is None
    assert alert(incident, "alice").stood_down_reason == StandDownReason.COORDINATOR

    dispatch_incident(actor=carol, incident_id=incident.pk)
    assert fresh(incident).next_escalation_at is not None


def test_the_counts_remember_who_went_after_closing(carol, everyone):
    incident = dispatched(carol)
    answer(incident, "alice", "accept")
    answer(incident, "alice", "on_scene")
    answer(incident, "bob", "accept")
    close_incident(actor=carol, incident_id=incident.pk)

    figures = board_incident(fresh(incident))

    assert (figures["accepted_count"], figures["attended_count"], figures["committed_count"]) == (2, 1, 0)
    assert alert(incident, "bob").stood_down_reason == StandDownReason.INCIDENT_CLOSED


def test_the_database_counts_and_the_tally_agree(carol, everyone):
    incident = dispatched(carol, crew_target=3)
    run_due_escalations(now=at(incident, 61))
    answer(incident, "alice", "accept")
    answer(incident, "alice", "on_scene")
    answer(incident, "alice", "cleared")
    answer(incident, "bob", "accept")
    answer(incident, "charlie", "accept")
    answer(incident, "charlie", "decline", reason="no_transport")

    counted = Incident.objects.annotate(alerted=Count("alerts"), **coverage.COUNT_ANNOTATIONS).get(pk=incident.pk)
    tallied = coverage.coverage_of(incident)

    assert (tallied.committed, tallied.covering, tallied.accepted, tallied.attended) == (1, 2, 2, 1)
    assert (counted.committed_total, counted.covering_total, counted.accepted_total, counted.attended_total) == (
        1,
        2,
        2,
        1,
    )


# --- The last crew going drops out (found by a browser trial) ----------------------------------------
# The ladder finished with one crew going of the two needed, its alarm sounded and was acknowledged;
# then the crew tapped "Can't attend after all": 0 going, nothing sounding, and nothing more would
# happen. Whatever drops the last crew, the board's alarm is raised afresh and a finished ladder
# starts again.


def board_alarms(send) -> list[dict]:
    """The `board.alarm` frames among the calls of a mocked events.send_to_board."""
    return [data for call in send.call_args_list for kind, data in call.args[0] if kind == "board.alarm"]


def dispatched_minutes_ago(carol, minutes=10, **extra) -> Incident:
    """Dispatched `minutes` ago, so that the ladder's steps run at times already past, as they
    would have, and what happens now comes after them."""
    incident = dispatched(carol, **extra)
    earlier = datetime.timedelta(minutes=minutes)
    Incident.objects.filter(pk=incident.pk).update(
        dispatched_at=incident.dispatched_at - earlier, next_escalation_at=incident.next_escalation_at - earlier
    )
    return fresh(incident)


def finished_ladder_with_one_going(carol):
    """Alice accepted, the crew target is 2, and every step of the ladder has run (minutes ago)."""
    incident = dispatched_minutes_ago(carol)
    answer(incident, "alice", "accept")
    for seconds in (61, 91, 121, 181):
        run_due_escalations(now=at(incident, seconds))
    return fresh(incident)


def test_the_last_crew_dropping_out_after_the_acknowledged_escalation_alarm_raises_it_afresh(carol, everyone):
    from unittest import mock

    from backend.dispatch.alarms import acknowledge_alarm

    incident = finished_ladder_with_one_going(carol)
    assert incident.escalation_step == len(LADDER) and incident.next_escalation_at is None
    assert incident.alarm_message == (
        "Incident EEAST-1 is still short of crews after every ring was alerted: 1 going (2 needed)."
    )
    acknowledgement = acknowledge_alarm(actor=carol, kind="escalation", incident_id=incident.pk)

    with mock.patch("backend.realtime.events.send_to_board") as send:
        answer(incident, "alice", "decline", reason="no_transport")

    incident = fresh(incident)
    assert incident.alarm_raised_at > acknowledgement.acknowledged_at  # so it sounds until acknowledged again
    assert incident.alarm_message == (
        "Nobody is going to incident EEAST-1 any more (0 going, 2 needed): Alice can't attend after all (no transport)."
    )
    [frame] = board_alarms(send)
    assert frame["message"] == incident.alarm_message
    assert frame["raised_at"] == incident.alarm_raised_at.isoformat()
    assert board_incident(incident)["alarm_message"] == incident.alarm_message
    # The ladder starts again from its first step, spaced as from a dispatch now.
    assert incident.escalation_step == 0
    assert abs((incident.next_escalation_at - incident.alarm_raised_at).total_seconds() - 60) <= 1


def test_a_ladder_started_again_resends_texts_and_sounds_its_alarm_again(carol, everyone):
    incident = finished_ladder_with_one_going(carol)
    resends_before = Delivery.objects.filter(channel=Channel.WEBPUSH, kind=Kind.ALERT).count()
    answer(incident, "alice", "decline", reason="no_transport")
    dropped = fresh(incident)

    for _step in LADDER:
        assert run_due_escalations(now=fresh(incident).next_escalation_at) == 1

    incident = fresh(incident)
    assert incident.escalation_step == len(LADDER) and incident.next_escalation_at is None
    assert Delivery.objects.filter(channel=Channel.WEBPUSH, kind=Kind.ALERT).count() > resends_before
    assert incident.alarm_raised_at > dropped.alarm_raised_at
    # Alice accepted and dropped out: "Nobody has accepted" would not be true.
    assert incident.alarm_message == (
        "Nobody is going to incident EEAST-1 any more (0 going, 2 needed) after every ring was alerted."
    )


def test_a_coordinator_standing_down_the_last_crew_neither_raises_the_alarm_nor_restarts_the_ladder(carol, everyone):
    """Their own act, not a drop-out (trial 11: standing down the one crew on scene sounded the
    alarm and re-alerted everyone); if the incident still needs crews, they dispatch."""
    incident = finished_ladder_with_one_going(carol)
    before = (incident.alarm_raised_at, incident.alarm_message)

    stand_down(actor=carol, incident_id=incident.pk, alert_ids=[alert(incident, "alice").pk])

    incident = fresh(incident)
    assert (incident.alarm_raised_at, incident.alarm_message) == before
    assert incident.escalation_step == len(LADDER) and incident.next_escalation_at is None


def test_clearing_before_arriving_as_the_last_crew_raises_the_alarm(carol, everyone):
    incident = dispatched(carol)
    answer(incident, "alice", "accept")
    answer(incident, "alice", "en_route")

    answer(incident, "alice", "cleared")

    incident = fresh(incident)
    assert incident.alarm_message == (
        "Nobody is going to incident EEAST-1 any more (0 going, 2 needed): Alice cleared before arriving."
    )


def test_the_last_crew_dropping_out_mid_ladder_raises_the_alarm_and_leaves_the_ladder_where_it_was(carol, everyone):
    """Before the ladder's first step: nothing would sound until the escalation alarm, minutes on."""
    incident = dispatched(carol, crew_target=1)
    answer(incident, "alice", "accept")  # covered: the ladder paused
    answer(incident, "alice", "decline", reason="unavailable")

    incident = fresh(incident)
    assert incident.alarm_raised_at is not None
    assert incident.alarm_message.startswith("Nobody is going to incident EEAST-1 any more (0 going, 1 needed)")
    assert incident.escalation_step == 0
    assert incident.next_escalation_at >= at(incident, 60)  # resumed where it was, not restarted


def test_an_alarm_is_raised_only_when_the_last_crew_going_drops_out(carol, everyone):
    incident = dispatched(carol, crew_target=3)
    answer(incident, "bob", "decline", reason="too_far")  # never going: no drop
    answer(incident, "alice", "accept")
    answer(incident, "alice", "on_scene")
    answer(incident, "alice", "cleared")  # cleared from the scene: she went, the cover stays
    answer(incident, "bob", "accept")
    answer(incident, "bob", "decline", reason="no_transport")  # Alice still counts: 1 of 3
    assert fresh(incident).alarm_raised_at is None


def test_a_crew_lost_while_others_are_going_restarts_a_finished_ladder_without_an_alarm(carol, everyone):
    incident = dispatched_minutes_ago(carol, crew_target=3)
    answer(incident, "alice", "accept")
    answer(incident, "bob", "accept")
    for seconds in (61, 91, 121, 181):
        run_due_escalations(now=at(incident, seconds))
    raised = fresh(incident).alarm_raised_at

    answer(incident, "bob", "decline", reason="no_transport")

    incident = fresh(incident)
    assert incident.alarm_raised_at == raised  # Alice is still going: the card says 1 going (3 needed)
    assert incident.escalation_step == 0 and incident.next_escalation_at is not None
