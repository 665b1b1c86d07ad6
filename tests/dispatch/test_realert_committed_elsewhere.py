"""Found by a browser trial: Chris Ellis (Gorleston, 3.5 km) was alerted to EEAST-T16-001, accepted
another incident (002), so his 001 alert was stood down ("Accepted another incident"); a coordinator
then stood him down from 002, and he was free. When Alex Cole withdrew from 001 ("Can't attend after
all") and left it a crew short, Chris was not alerted again: only those stood down because enough
crews were going were, and the ladder's next ring skips everyone ever alerted to the incident. It
went to Wymondham, 41 km away.

Those stood down from an incident because they accepted another are alerted again when it is short,
and at the ladder's ring steps, if they are free and can go, nearest first, before any wider ring,
as those stood down because enough crews were going. Not those a coordinator or the control room
stood down, nor those who declined: those were deliberate.

Alex and Ben are at Great Yarmouth (under 1 km from 001), Chris at Gorleston (3.5 km), Will at
Wymondham (42 km: the second ring). The crew target is 2.
"""

import pytest

from backend.audit.models import AuditAction, AuditEntry
from backend.dispatch import ladder, payloads
from backend.dispatch.actions import create_incident, dispatch_incident, respond_to_alert, stand_down
from backend.dispatch.escalation import run_due_escalations
from backend.dispatch.models import Alert, AlertState, Incident, StandDownReason
from backend.realtime.models import ResponderEvent
from tests.conftest import GREAT_YARMOUTH, make_firefighter, make_station

GORLESTON = (52.5770, 1.7230)
WYMONDHAM = (52.5700, 1.1160)
FIRST_INCIDENT = (52.6080, 1.7300)  # a street in Great Yarmouth: Gorleston's station 3.5 km away
SECOND_INCIDENT = (52.5650, 1.7200)  # a street in Gorleston


@pytest.fixture(autouse=True)
def rules(settings):
    settings.ESCALATION_LADDER = [(60, "ring"), (90, "sms"), (120, "ring"), (180, "alarm")]
    settings.DISPATCH_RADIUS_KM = 20
    settings.DISPATCH_NEXT_RINGS_KM = [45, 80]
    settings.COVERED_STAND_DOWN_GRACE_SECONDS = 30
    settings.DISPATCH_CREW_TARGET = 2


@pytest.fixture
def crews(db):
    yarmouth = make_station("Great Yarmouth", "great-yarmouth", GREAT_YARMOUTH)
    gorleston = make_station("Gorleston", "gorleston", GORLESTON)
    wymondham = make_station("Wymondham", "wymondham", WYMONDHAM)
    return {
        "alex": make_firefighter("alex", yarmouth),
        "ben": make_firefighter("ben", yarmouth),
        "chris": make_firefighter("chris", gorleston),
        "will": make_firefighter("will", wymondham),
    }


def dispatched(carol, reference, where) -> Incident:
    incident = create_incident(
        actor=carol, cad_reference=reference, latitude=where[0], longitude=where[1], address=f"{reference} Road"
    )
    dispatch_incident(actor=carol, incident_id=incident.pk)
    return Incident.objects.get(pk=incident.pk)


def alert_of(incident, responder) -> Alert:
    return Alert.objects.get(incident=incident, responder=responder)


def answer(incident, responder, response, **extra) -> Alert:
    return respond_to_alert(actor=responder.user, alert_id=alert_of(incident, responder).pk, response=response, **extra)


def alerted(incident) -> set[str]:
    return set(incident.alerts.values_list("responder__user__username", flat=True))


def fresh(incident) -> Incident:
    return Incident.objects.get(pk=incident.pk)


def chris_went_to_the_second_incident(carol, crews) -> tuple[Incident, Incident]:
    """001 covered by Alex and Ben; Chris, alerted to it, accepted 002 instead."""
    first = dispatched(carol, "EEAST-T16-001", FIRST_INCIDENT)
    assert alerted(first) == {"alex", "ben", "chris"}  # Wymondham is beyond the first ring
    answer(first, crews["alex"], "accept")
    answer(first, crews["ben"], "accept")
    assert fresh(first).covered_at is not None
    second = dispatched(carol, "EEAST-T16-002", SECOND_INCIDENT)
    assert alerted(second) == {"chris"}  # Alex and Ben are going to 001
    answer(second, crews["chris"], "accept")
    stood_down = alert_of(first, crews["chris"])
    assert (stood_down.state, stood_down.stood_down_reason) == (
        AlertState.STOOD_DOWN,
        StandDownReason.COMMITTED_ELSEWHERE,
    )
    return first, second


def stood_down_from(carol, incident, responder) -> None:
    stand_down(actor=carol, incident_id=incident.pk, alert_ids=[alert_of(incident, responder).pk])


def alex_withdraws(first, crews) -> None:
    answer(first, crews["alex"], "decline", reason="no_transport")  # "Can't attend after all"
    assert fresh(first).covered_at is None


def assert_alerted_again(alert: Alert, *, by=None) -> None:
    """Alerted again as _alert_again does it, audited as `by`'s doing (None: the system's)."""
    assert alert.state == AlertState.ALERTED and alert.stood_down_reason == ""
    assert alert.realerted_at is not None
    # As _alert_again audits any re-alert: a new `alerted` state, by whoever's doing it was.
    latest = AuditEntry.objects.filter(action=AuditAction.ALERT_STATE, object_id=str(alert.pk)).order_by("pk").last()
    assert (latest.detail["state"], latest.actor) == ("alerted", by)
    # And his phone is told afresh.
    created = ResponderEvent.objects.filter(responder_id=alert.responder_id, type="alert.created")
    assert [event.data["alert"]["id"] for event in created.order_by("id")].count(alert.pk) == 2


def test_the_trial_chris_free_again_is_alerted_again_when_001_is_short_before_any_wider_ring(carol, crews):
    first, second = chris_went_to_the_second_incident(carol, crews)
    stood_down_from(carol, second, crews["chris"])  # free again

    alex_withdraws(first, crews)

    chris = alert_of(first, crews["chris"])
    assert_alerted_again(chris)
    assert "will" not in alerted(first)  # nobody from a wider ring yet
    # The ladder goes on as it would (the re-alert takes no step of it): its next ring, if still
    # short, reaches Wymondham, after Chris was asked.
    run_due_escalations(now=fresh(first).next_escalation_at)
    will = alert_of(first, crews["will"])
    assert chris.realerted_at < will.alerted_at


def test_one_still_on_the_other_incident_is_not_alerted_again(carol, crews):
    first, _second = chris_went_to_the_second_incident(carol, crews)

    alex_withdraws(first, crews)

    chris = alert_of(first, crews["chris"])
    assert (chris.state, chris.stood_down_reason) == (AlertState.STOOD_DOWN, StandDownReason.COMMITTED_ELSEWHERE)
    assert chris.realerted_at is None


def test_the_ladder_s_ring_step_alerts_again_one_freed_since_nearest_first_then_the_wider_ring(carol, crews):
    first, second = chris_went_to_the_second_incident(carol, crews)
    alex_withdraws(first, crews)  # Chris still on 002: not alerted again
    assert alert_of(first, crews["chris"]).state == AlertState.STOOD_DOWN
    stood_down_from(carol, second, crews["chris"])  # free again after the drop

    assert run_due_escalations(now=fresh(first).next_escalation_at) == 1  # the ring step

    chris = alert_of(first, crews["chris"])
    assert_alerted_again(chris)
    # The step widens all the same, as it does after those stood down for enough crews are alerted
    # again (the re-alert is not the ring's alerting), and Chris is asked first.
    assert fresh(first).ring == 2
    will = alert_of(first, crews["will"])
    assert will.state == AlertState.ALERTED
    told = ResponderEvent.objects.filter(type="alert.created", responder__in=[crews["chris"], crews["will"]])
    assert [event.responder_id for event in told.order_by("id")][-2:] == [crews["chris"].pk, crews["will"].pk]


def test_those_stood_down_by_a_coordinator_or_who_declined_are_not_alerted_again(carol, crews):
    first = dispatched(carol, "EEAST-T16-001", FIRST_INCIDENT)
    answer(first, crews["alex"], "accept")
    answer(first, crews["ben"], "decline", reason="unavailable")
    answer(first, crews["alex"], "on_scene")  # not a crew going stood down: the ladder is not held
    stood_down_from(carol, first, crews["chris"])  # the coordinator's own act
    answer(first, crews["ben"], "accept")  # covered
    answer(first, crews["ben"], "decline", reason="no_transport")  # short again

    run_due_escalations(now=fresh(first).next_escalation_at)

    assert alert_of(first, crews["chris"]).stood_down_reason == StandDownReason.COORDINATOR
    assert alert_of(first, crews["chris"]).state == AlertState.STOOD_DOWN
    assert alert_of(first, crews["ben"]).state == AlertState.DECLINED


def test_a_dispatch_resuming_a_held_ladder_alerts_him_again_with_those_stood_down_for_enough_crews(carol, crews):
    first, second = chris_went_to_the_second_incident(carol, crews)
    stood_down_from(carol, second, crews["chris"])  # free again
    stood_down_from(carol, first, crews["alex"])  # the coordinator's own act: nothing runs by itself
    assert ladder.is_held(fresh(first))
    assert alert_of(first, crews["chris"]).state == AlertState.STOOD_DOWN

    alerts = dispatch_incident(actor=carol, incident_id=first.pk)

    assert_alerted_again(alert_of(first, crews["chris"]), by=carol)
    assert payloads.dispatch_outcome(fresh(first), alerts)["resumed_count"] == 1
    # Alex, stood down by the coordinator, is not: the coordinator's deliberate act.
    assert alert_of(first, crews["alex"]).state == AlertState.STOOD_DOWN
