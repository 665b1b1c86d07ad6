"""Commitment: a firefighter on the way to one incident is never pulled to the next.

Alice and Bob are at Norwich. Incident A and incident B are both in Norwich, a few streets apart.
"""

import pytest

from backend.audit.models import AuditAction, AuditEntry
from backend.delivery.models import Channel, Delivery, Kind
from backend.delivery.subscriptions import subscribe_device
from backend.dispatch.actions import create_incident, dispatch_incident, respond_to_alert
from backend.dispatch.escalation import run_due_escalations
from backend.dispatch.models import Alert, AlertState, StandDownReason
from backend.errors import CommittedElsewhere, Conflict
from backend.realtime.models import ResponderEvent
from tests.conftest import NORWICH_INCIDENT, browser_subscription


def new_incident(carol, reference, offset=0.0):
    return create_incident(
        actor=carol,
        cad_reference=reference,
        latitude=NORWICH_INCIDENT[0] + offset,
        longitude=NORWICH_INCIDENT[1],
        address=f"{reference} Street, Norwich",
    )


def alert_of(responder, incident) -> Alert:
    return Alert.objects.get(responder=responder, incident=incident)


def answer(responder, incident, response, **extra):
    return respond_to_alert(actor=responder.user, alert_id=alert_of(responder, incident).pk, response=response, **extra)


@pytest.fixture
def incident_a(carol, alice, bob):
    incident = new_incident(carol, "A")
    dispatch_incident(actor=carol, incident_id=incident.pk)
    return incident


@pytest.fixture
def incident_b(carol):
    return new_incident(carol, "B", offset=0.01)


@pytest.mark.parametrize("moves", [["accept"], ["accept", "en_route"], ["accept", "on_scene"]])
def test_a_committed_responder_is_not_dispatched_to_another_incident(incident_a, incident_b, carol, alice, moves):
    for move in moves:
        answer(alice, incident_a, move)

    alerts = dispatch_incident(actor=carol, incident_id=incident_b.pk)

    assert [alert.responder.user.username for alert in alerts] == ["bob"]


def test_a_committed_responder_is_not_alerted_by_an_escalation_ring(incident_a, incident_b, carol, alice, bob):
    answer(alice, incident_a, "accept")
    answer(bob, incident_a, "accept")
    dispatch_incident(actor=carol, incident_id=incident_b.pk)  # nobody left at Norwich
    incident_b.refresh_from_db()

    run_due_escalations(now=incident_b.next_escalation_at)

    assert not incident_b.alerts.exists()


def test_a_responder_who_has_cleared_can_be_alerted_again(incident_a, incident_b, carol, alice):
    answer(alice, incident_a, "accept")
    answer(alice, incident_a, "on_scene")
    answer(alice, incident_a, "cleared")

    alerts = dispatch_incident(actor=carol, incident_id=incident_b.pk)

    assert "alice" in [alert.responder.user.username for alert in alerts]


def test_when_everyone_in_range_is_committed_the_dispatch_says_so(incident_a, incident_b, carol, alice, bob, settings):
    settings.DISPATCH_NEXT_RINGS_KM = []
    answer(alice, incident_a, "accept")
    answer(bob, incident_a, "accept")

    assert dispatch_incident(actor=carol, incident_id=incident_b.pk) == []

    incident_b.refresh_from_db()
    assert incident_b.unreached_reason == "everyone_committed"
    assert incident_b.alarm_raised_at is not None


def test_a_coordinator_may_alert_a_committed_responder_by_name_and_it_is_audited(incident_a, incident_b, carol, alice):
    answer(alice, incident_a, "accept")

    [alert] = dispatch_incident(actor=carol, incident_id=incident_b.pk, responder_ids=[alice.pk])

    assert alert.responder == alice
    override = AuditEntry.objects.get(action=AuditAction.OVERRIDE)
    assert override.actor == carol
    assert (override.object_id, override.incident_id) == (str(alert.pk), incident_b.pk)
    assert override.detail == {"committed_to_incident": incident_a.pk}
    assert alert_of(alice, incident_a).state == AlertState.ACCEPTED  # still on A until she chooses


def test_accepting_a_second_incident_while_committed_is_refused_naming_the_first(incident_a, incident_b, carol, alice):
    answer(alice, incident_a, "accept")
    answer(alice, incident_a, "en_route")
    dispatch_incident(actor=carol, incident_id=incident_b.pk, responder_ids=[alice.pk])

    with pytest.raises(CommittedElsewhere) as refused:
        answer(alice, incident_b, "accept")

    assert refused.value.status == 409 and refused.value.code == "committed_elsewhere"
    assert refused.value.extra["other_incident"]["cad_reference"] == "A"
    assert refused.value.extra["other_alert_id"] == alert_of(alice, incident_a).pk
    assert alert_of(alice, incident_b).state == AlertState.ALERTED


def test_leaving_the_first_incident_then_accepting_the_second_works(incident_a, incident_b, carol, alice):
    answer(alice, incident_a, "accept")
    dispatch_incident(actor=carol, incident_id=incident_b.pk, responder_ids=[alice.pk])

    answer(alice, incident_a, "decline", reason="already_committed")
    answer(alice, incident_b, "accept")

    assert alert_of(alice, incident_a).state == AlertState.DECLINED
    assert alert_of(alice, incident_b).state == AlertState.ACCEPTED


def test_accepting_one_alert_stands_down_the_responders_unanswered_alerts_elsewhere(
    incident_a, incident_b, carol, alice
):
    subscribe_device(
        actor=alice.user, endpoint="https://fcm.googleapis.com/fcm/send/alice", label="phone",
        **browser_subscription("https://x")["keys"],
    )  # fmt: skip
    dispatch_incident(actor=carol, incident_id=incident_b.pk)  # alice is alerted to both, answering neither

    answer(alice, incident_b, "accept")

    on_a = alert_of(alice, incident_a)
    assert on_a.state == AlertState.STOOD_DOWN
    assert on_a.stood_down_reason == StandDownReason.COMMITTED_ELSEWHERE
    # Her locked phone's alert for A is replaced, and her app is told.
    assert Delivery.objects.filter(alert=on_a, kind=Kind.STAND_DOWN, channel=Channel.WEBPUSH).count() == 1
    told = [event.data["alert"] for event in ResponderEvent.objects.filter(responder=alice, type="alert.updated")]
    assert [(alert["id"], alert["stood_down_reason"]) for alert in told if alert["id"] == on_a.pk] == [
        (on_a.pk, "committed_elsewhere")
    ]
    # A's ladder re-sends to nobody who has gone elsewhere.
    incident_a.refresh_from_db()
    run_due_escalations(now=incident_a.next_escalation_at)
    assert not Delivery.objects.filter(alert=on_a, kind=Kind.ALERT, round__gt=1).exists()


def test_declining_one_alert_leaves_the_other_ringing(incident_a, incident_b, carol, alice):
    dispatch_incident(actor=carol, incident_id=incident_b.pk)

    answer(alice, incident_b, "decline", reason="too_far")

    assert alert_of(alice, incident_a).state == AlertState.ALERTED


def test_a_coordinator_naming_someone_stood_down_from_this_incident_alerts_them_again(
    incident_a, incident_b, carol, alice
):
    dispatch_incident(actor=carol, incident_id=incident_b.pk)
    answer(alice, incident_a, "accept")  # her alert for B stands down
    answer(alice, incident_a, "decline", reason="already_committed")  # asked to go to B instead

    [again] = dispatch_incident(actor=carol, incident_id=incident_b.pk, responder_ids=[alice.pk])

    assert again.pk == alert_of(alice, incident_b).pk
    assert (again.state, again.stood_down_reason) == (AlertState.ALERTED, "")
    answer(alice, incident_b, "accept")
    assert alert_of(alice, incident_b).state == AlertState.ACCEPTED


def test_a_stood_down_alert_cannot_be_accepted_and_says_why(incident_a, incident_b, carol, alice):
    dispatch_incident(actor=carol, incident_id=incident_b.pk)
    answer(alice, incident_a, "accept")

    with pytest.raises(Conflict) as refused:
        answer(alice, incident_b, "accept")

    assert refused.value.message == "You cannot accept this alert: it was stood down (you accepted another incident)."


def test_a_dispatch_that_found_the_rest_alerted_already_or_committed_says_both(
    incident_a, incident_b, carol, alice, bob, settings
):
    """Found by trying the product: a second "next ring" pressed just after another found all but
    one of those in range alerted to this incident already, and that one committed elsewhere; it
    was told only "everyone in range is committed to another incident"."""
    settings.DISPATCH_NEXT_RINGS_KM = []
    answer(bob, incident_a, "accept")  # committed elsewhere
    assert [alert.responder for alert in dispatch_incident(actor=carol, incident_id=incident_b.pk)] == [alice]

    assert dispatch_incident(actor=carol, incident_id=incident_b.pk) == []

    incident_b.refresh_from_db()
    assert incident_b.unreached_reason == "everyone_alerted_or_committed"
