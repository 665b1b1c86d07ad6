"""A message to the crews reaches each recipient's phones as a push through the real push service
stand-in (decrypted there): generic words only, never the message's text; its own topic and tag,
so it replaces no alert; no receipt token, so neither the phone's readiness nor the alert's funnel
moves."""

import pytest
from asgiref.sync import sync_to_async

from backend.delivery import receipts
from backend.delivery.models import Delivery, DeliveryState, Kind, PushDevice
from backend.delivery.sending import DeliveryPass
from backend.delivery.subscriptions import subscribe_device
from backend.delivery.transports.webpush import WebPushTransport
from backend.dispatch.actions import close_incident, dispatch_incident, respond_to_alert
from backend.dispatch.messages import send_crew_message

pytestmark = pytest.mark.django_db(transaction=True)

SECRET = "Patient John Example, 12 Example Road, key safe 4321"


@sync_to_async
def subscribe(responder, subscription):
    subscribe_device(
        actor=responder.user,
        endpoint=subscription["endpoint"],
        p256dh=subscription["keys"]["p256dh"],
        auth=subscription["keys"]["auth"],
        label="phone",
    )


@pytest.fixture
async def worker():
    transport = WebPushTransport()
    async with transport:
        yield DeliveryPass({"webpush": transport}, name="test-worker")


async def send_everything_due(worker):
    await worker.run_once()
    await worker.drain()


async def test_the_push_says_a_message_is_waiting_and_never_what_it_says(push_service, worker, incident, carol, alice):
    phone = push_service.subscribe()
    await subscribe(alice, phone)
    [alert] = await sync_to_async(dispatch_incident)(actor=carol, incident_id=incident.pk)
    await send_everything_due(worker)
    push_service.reset()

    await sync_to_async(send_crew_message)(actor=carol, incident_id=incident.pk, text=SECRET)
    await send_everything_due(worker)

    [push] = push_service.received
    assert push.json["type"] == "message.created"
    assert push.json["notification"]["title"] == "Message from control"
    assert "new message from control" in push.json["notification"]["body"].lower()
    for word in ("john", "example", "4321", "key safe", "eeast", "norwich"):
        assert word not in push.text.lower()
    assert push.json["alert_id"] == alert.pk and push.json["url"].endswith(f"/#/alerts/{alert.pk}")
    # Its own tag and topic: it neither replaces the alert on the lock screen nor, at the push
    # service, an alert push still waiting for the phone.
    assert push.json["notification"]["tag"] == f"message-{incident.pk}"
    assert push.topic == f"message-{incident.pk}"
    assert push.urgency == "high"
    assert "receipt" not in push.json
    assert not push_service.rejections


async def test_a_message_push_moves_neither_readiness_nor_the_alerts_funnel(
    push_service, worker, incident, carol, alice
):
    phone = push_service.subscribe()
    await subscribe(alice, phone)
    [alert] = await sync_to_async(dispatch_incident)(actor=carol, incident_id=incident.pk)
    await send_everything_due(worker)
    before = await sync_to_async(lambda: (receipts.funnels_of([alert.pk]), list(PushDevice.objects.values())))()

    await sync_to_async(send_crew_message)(actor=carol, incident_id=incident.pk, text="Ambulance on scene")
    await send_everything_due(worker)

    after = await sync_to_async(lambda: (receipts.funnels_of([alert.pk]), list(PushDevice.objects.values())))()
    assert after[0] == before[0]
    assert [{k: v for k, v in d.items() if k != "last_success_at"} for d in after[1]] == [
        {k: v for k, v in d.items() if k != "last_success_at"} for d in before[1]
    ]
    assert await sync_to_async(Delivery.objects.filter(kind=Kind.MESSAGE, state=DeliveryState.SENT).count)() == 1


async def test_a_queued_message_push_is_not_sent_once_the_responder_has_left_or_the_incident_ended(
    push_service, worker, incident, carol, alice, bob
):
    await subscribe(alice, push_service.subscribe())
    await subscribe(bob, push_service.subscribe())
    alerts = {
        a.responder.user.username: a
        for a in await sync_to_async(dispatch_incident)(actor=carol, incident_id=incident.pk)
    }
    await send_everything_due(worker)
    push_service.reset()
    await sync_to_async(send_crew_message)(actor=carol, incident_id=incident.pk, text="Ambulance on scene")
    await sync_to_async(respond_to_alert)(
        actor=bob.user, alert_id=alerts["bob"].pk, response="decline", reason="unavailable"
    )

    await send_everything_due(worker)

    assert len(push_service.received) == 1
    reasons = await sync_to_async(
        lambda: dict(Delivery.objects.filter(kind=Kind.MESSAGE).values_list("alert_id", "last_error"))
    )()
    assert reasons[alerts["bob"].pk] == "Not sent: the alert is declined."
    await sync_to_async(send_crew_message)(actor=carol, incident_id=incident.pk, text="Again")
    await sync_to_async(close_incident)(actor=carol, incident_id=incident.pk)
    await send_everything_due(worker)
    assert [p.json["type"] for p in push_service.received] == ["message.created", "alert.stood_down"]
