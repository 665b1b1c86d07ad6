"""Stand-down pushes come in rounds of their kind, as alerts do: a responder stood down, alerted
again and then stood down once more (by a cancel or a close) gets the next round on their phone."""

from backend.delivery.models import Delivery, Kind
from backend.delivery.subscriptions import subscribe_device
from backend.dispatch.actions import cancel_incident, close_incident, dispatch_incident, stand_down
from backend.dispatch.models import Alert


def subscribe(push_service, responder):
    phone = push_service.subscribe()
    subscribe_device(
        actor=responder.user,
        endpoint=phone["endpoint"],
        p256dh=phone["keys"]["p256dh"],
        auth=phone["keys"]["auth"],
        label="phone",
    )


def stood_down_and_alerted_again(push_service, incident, carol, alice) -> Alert:
    subscribe(push_service, alice)
    [alert] = dispatch_incident(actor=carol, incident_id=incident.pk)
    stand_down(actor=carol, incident_id=incident.pk, alert_ids=[alert.pk])
    dispatch_incident(actor=carol, incident_id=incident.pk, responder_ids=[alice.pk])
    return alert


def stand_down_rounds(alert) -> list[int]:
    return list(
        Delivery.objects.filter(alert=alert, kind=Kind.STAND_DOWN).order_by("round").values_list("round", flat=True)
    )


def test_one_stood_down_and_alerted_again_is_told_of_the_cancel_on_their_phone(push_service, incident, carol, alice):
    """Their first stand-down push was round 1 of its kind; the cancel's is the next round. (A cancel
    that sent round 1 again broke the outbox's one-delivery-per-round rule: a 500, and the incident
    could never be cancelled; found by the board's browser test in CI.)"""
    phone = push_service.subscribe()
    subscribe_device(
        actor=alice.user,
        endpoint=phone["endpoint"],
        p256dh=phone["keys"]["p256dh"],
        auth=phone["keys"]["auth"],
        label="phone",
    )
    [alert] = dispatch_incident(actor=carol, incident_id=incident.pk)
    stand_down(actor=carol, incident_id=incident.pk, alert_ids=[alert.pk])
    dispatch_incident(actor=carol, incident_id=incident.pk, responder_ids=[alice.pk])

    cancel_incident(actor=carol, incident_id=incident.pk, reason="Ambulance on scene first")

    assert Alert.objects.get(pk=alert.pk).state == "cancelled"
    assert stand_down_rounds(alert) == [1, 2]


def test_one_stood_down_and_alerted_again_is_told_of_the_close_on_their_phone(push_service, incident, carol, alice):
    alert = stood_down_and_alerted_again(push_service, incident, carol, alice)

    close_incident(actor=carol, incident_id=incident.pk)

    assert Alert.objects.get(pk=alert.pk).state == "stood_down"
    assert stand_down_rounds(alert) == [1, 2]
