"""A dispatch reaches every subscribed device through a real HTTP push service stand-in that
decrypts the payload and checks VAPID; each failure answer leads to the right retry or end."""

import asyncio
import datetime
import json

import pytest
from asgiref.sync import sync_to_async
from django.db.models import F
from django.utils import timezone
from webpush.models import SubscriptionInfo

from backend.delivery.models import Delivery, DeliveryState
from backend.delivery.sending import DeliveryPass
from backend.delivery.subscriptions import subscribe_device
from backend.delivery.transports.webpush import WebPushTransport
from backend.dispatch.actions import dispatch_incident
from backend.worker.loop import Worker

pytestmark = pytest.mark.django_db(transaction=True)


@sync_to_async
def subscribe(responder, subscription, label="phone"):
    subscribe_device(
        actor=responder.user,
        endpoint=subscription["endpoint"],
        p256dh=subscription["keys"]["p256dh"],
        auth=subscription["keys"]["auth"],
        label=label,
    )


@sync_to_async
def deliveries():
    return list(Delivery.objects.order_by("pk"))


async def send_everything_due(worker):
    await worker.run_once()
    await worker.drain()


@pytest.fixture
async def worker():
    transport = WebPushTransport()
    async with transport:
        yield DeliveryPass({"webpush": transport}, name="test-worker")


async def test_a_dispatch_sends_one_decryptable_push_per_device_with_the_right_headers(
    push_service, worker, incident, carol, alice, bob, settings
):
    phone, tablet, bobs = push_service.subscribe(), push_service.subscribe(), push_service.subscribe()
    await subscribe(alice, phone)
    await subscribe(alice, tablet, "tablet")
    await subscribe(bob, bobs)
    await sync_to_async(dispatch_incident)(actor=carol, incident_id=incident.pk)

    await send_everything_due(worker)

    pushes = push_service.received
    assert sorted(p.endpoint for p in pushes) == sorted(s["endpoint"] for s in (phone, tablet, bobs))
    for push in pushes:
        assert push.ttl == settings.PUSH_TTL_SECONDS >= 60
        assert push.urgency == "high"
        assert push.topic == f"incident-{incident.pk}"
        assert push.vapid_claims["sub"] == settings.VAPID_SUBJECT
        assert push.json["web_push"] == 8030 and push.json["notification"]["title"] == "Cardiac arrest alert"
        assert push.json["notification"]["tag"] == f"incident-{incident.pk}"
        assert push.json["incident_id"] == incident.pk and push.json["type"] == "alert.created"
        # No patient or location details on a lock screen.
        text = push.text.lower()
        assert "example road" not in text and "eeast" not in text and "norwich" not in text
    assert {(d.state, d.last_status) for d in await deliveries()} == {(DeliveryState.SENT, 201)}
    assert not push_service.rejections


async def test_vapid_signatures_use_the_configured_key(push_service, worker, incident, carol, alice, settings):
    await subscribe(alice, push_service.subscribe(application_server_key=settings.VAPID_PUBLIC_KEY))
    await sync_to_async(dispatch_incident)(actor=carol, incident_id=incident.pk)
    await send_everything_due(worker)
    assert len(push_service.received) == 1 and not push_service.rejections


@pytest.mark.parametrize("status", [404, 410])
async def test_a_gone_subscription_is_deleted(push_service, worker, incident, carol, alice, status):
    subscription = push_service.subscribe()
    await subscribe(alice, subscription)
    push_service.respond_with(status)
    await sync_to_async(dispatch_incident)(actor=carol, incident_id=incident.pk)
    await send_everything_due(worker)
    (delivery,) = await deliveries()
    assert (delivery.state, delivery.last_status) == (DeliveryState.FAILED, status)
    assert not await sync_to_async(SubscriptionInfo.objects.filter(endpoint=subscription["endpoint"]).exists)()


async def test_429_is_retried_no_sooner_than_retry_after(push_service, worker, incident, carol, alice):
    await subscribe(alice, push_service.subscribe())
    push_service.respond_with(429, times=1, retry_after=20)
    await sync_to_async(dispatch_incident)(actor=carol, incident_id=incident.pk)
    await send_everything_due(worker)
    (delivery,) = await deliveries()
    assert (delivery.state, delivery.last_status) == (DeliveryState.PENDING, 429)
    assert delivery.next_attempt_at >= timezone.now() + datetime.timedelta(seconds=19)
    # When it is due again, the retry goes through.
    await sync_to_async(Delivery.objects.update)(next_attempt_at=timezone.now())
    await send_everything_due(worker)
    (delivery,) = await deliveries()
    assert (delivery.state, delivery.attempts) == (DeliveryState.SENT, 2)
    assert len(push_service.received) == 1


@pytest.mark.parametrize("status", [500, 503])
async def test_server_errors_are_retried_with_backoff(push_service, worker, incident, carol, alice, status):
    await subscribe(alice, push_service.subscribe())
    push_service.respond_with(status, times=1)
    await sync_to_async(dispatch_incident)(actor=carol, incident_id=incident.pk)
    await send_everything_due(worker)
    (delivery,) = await deliveries()
    assert (delivery.state, delivery.last_status) == (DeliveryState.PENDING, status)
    assert delivery.next_attempt_at > timezone.now()


@pytest.mark.parametrize("status", [400, 403, 413])
async def test_other_client_errors_fail_for_good_with_the_reason(push_service, worker, incident, carol, alice, status):
    await subscribe(alice, push_service.subscribe())
    push_service.respond_with(status)
    await sync_to_async(dispatch_incident)(actor=carol, incident_id=incident.pk)
    await send_everything_due(worker)
    (delivery,) = await deliveries()
    assert (delivery.state, delivery.last_status) == (DeliveryState.FAILED, status)
    assert f"({status})" in delivery.last_error


async def test_a_redirect_is_not_followed(push_service, worker, incident, carol, alice):
    await subscribe(alice, push_service.subscribe())
    push_service.respond_with(308, headers={"Location": "http://127.0.0.1:1/internal"})
    await sync_to_async(dispatch_incident)(actor=carol, incident_id=incident.pk)
    await send_everything_due(worker)
    (delivery,) = await deliveries()
    assert (delivery.state, delivery.last_status) == (DeliveryState.FAILED, 308)


@pytest.mark.parametrize("kind", ["not-http", "truncated", "close"])
async def test_garbage_from_the_push_service_is_retried(push_service, worker, incident, carol, alice, kind):
    await subscribe(alice, push_service.subscribe())
    push_service.garbage(kind, times=1)
    await sync_to_async(dispatch_incident)(actor=carol, incident_id=incident.pk)
    await send_everything_due(worker)
    (delivery,) = await deliveries()
    assert delivery.state == DeliveryState.PENDING and "Attempt 1" in delivery.last_error


async def test_a_hanging_push_service_times_out_and_is_retried(push_service, incident, carol, alice, settings):
    settings.PUSH_TIMEOUT_SECONDS = 0.3
    await subscribe(alice, push_service.subscribe())
    push_service.hang(times=1)
    await sync_to_async(dispatch_incident)(actor=carol, incident_id=incident.pk)
    async with WebPushTransport() as transport:
        worker = DeliveryPass({"webpush": transport}, name="w")
        started = asyncio.get_running_loop().time()
        await send_everything_due(worker)
        # The stand-in never answers: the pass ends because the 0.3 s setting cut the request, not
        # the 10 s default. The bound is half that default, not a performance target: at 2 s this
        # failed under load (2.06 s, CI beside another suite), while the default would take 10.
        assert asyncio.get_running_loop().time() - started < 5
    (delivery,) = await deliveries()
    assert delivery.state == DeliveryState.PENDING and "did not answer in time" in delivery.last_error


async def test_a_worker_killed_while_holding_deliveries_loses_none(push_service, incident, carol, alice, bob, settings):
    """The first worker claims and dies before sending; after the lease another sends them all."""
    from backend.delivery.sending import claim_due

    settings.DELIVERY_LEASE_SECONDS = 60
    await subscribe(alice, push_service.subscribe())
    await subscribe(bob, push_service.subscribe())
    await sync_to_async(dispatch_incident)(actor=carol, incident_id=incident.pk)
    held = await sync_to_async(claim_due)(worker="killed", limit=10)
    assert len(held) == 2
    async with WebPushTransport() as transport:
        survivor = DeliveryPass({"webpush": transport}, name="survivor")
        await send_everything_due(survivor)
        assert push_service.received == []  # the lease still stands
        # A minute and a second pass (the lease's end is moved back rather than waited for).
        await sync_to_async(Delivery.objects.filter(leased_by="killed").update)(
            lease_expires_at=F("lease_expires_at") - datetime.timedelta(seconds=61)
        )
        await send_everything_due(survivor)
    assert len(push_service.received) == 2
    assert {(d.state, d.attempts) for d in await deliveries()} == {(DeliveryState.SENT, 2)}


async def test_the_worker_is_woken_after_commit_not_on_its_next_poll(push_service, incident, carol, alice, settings):
    settings.DELIVERY_POLL_SECONDS = 30
    subscription = push_service.subscribe()
    await subscribe(alice, subscription)
    stop = asyncio.Event()
    # The worker enters the transport itself, as `manage.py run_worker` does.
    worker = Worker([DeliveryPass({"webpush": WebPushTransport()}, name="waiting")], name="waiting")
    running = asyncio.create_task(worker.run(stop))
    await asyncio.sleep(0.2)  # let it go idle
    await sync_to_async(dispatch_incident)(actor=carol, incident_id=incident.pk)
    [push] = await push_service.wait_for_async(1, timeout=3)
    stop.set()
    await asyncio.wait_for(running, timeout=35)
    assert json.loads(push.payload)["alert_id"] == (await deliveries())[0].alert_id


async def test_a_cancelled_incident_replaces_the_alert_on_the_lock_screen(push_service, worker, incident, carol, alice):
    """The alert push was sent; the cancellation follows with the same tag and topic, so the phone's
    notification changes to "Alert cancelled" even with the app closed."""
    from backend.dispatch.actions import cancel_incident

    await subscribe(alice, push_service.subscribe())
    await sync_to_async(dispatch_incident)(actor=carol, incident_id=incident.pk)
    await send_everything_due(worker)
    await sync_to_async(cancel_incident)(actor=carol, incident_id=incident.pk, reason="Ambulance on scene")
    await send_everything_due(worker)

    first, second = push_service.received
    assert first.json["type"] == "alert.created"
    assert second.json["type"] == "alert.cancelled"
    assert second.json["notification"]["title"] == "Alert cancelled"
    assert second.json["notification"]["tag"] == first.json["notification"]["tag"] == f"incident-{incident.pk}"
    assert second.topic == first.topic
    assert "ambulance on scene" not in second.text.lower()  # the reason may name the patient's situation


async def test_an_alert_push_not_yet_sent_is_dropped_and_only_the_cancellation_goes(
    push_service, worker, incident, carol, alice
):
    from backend.dispatch.actions import cancel_incident

    await subscribe(alice, push_service.subscribe())
    await sync_to_async(dispatch_incident)(actor=carol, incident_id=incident.pk)
    await sync_to_async(cancel_incident)(actor=carol, incident_id=incident.pk, reason="Hoax")
    await send_everything_due(worker)

    assert [push.json["type"] for push in push_service.received] == ["alert.cancelled"]
    states = {(d.kind, d.state) for d in await deliveries()}
    assert states == {("alert", DeliveryState.CANCELLED), ("stand_down", DeliveryState.SENT)}


async def test_a_stood_down_responder_is_told_by_push(push_service, worker, incident, carol, alice, bob):
    from backend.dispatch.actions import stand_down

    await subscribe(alice, push_service.subscribe())
    await subscribe(bob, push_service.subscribe())
    alerts = await sync_to_async(dispatch_incident)(actor=carol, incident_id=incident.pk)
    await send_everything_due(worker)
    bobs = next(alert for alert in alerts if alert.responder_id == bob.pk)
    await sync_to_async(stand_down)(actor=carol, incident_id=incident.pk, alert_ids=[bobs.pk])
    await send_everything_due(worker)

    stood_down = [push for push in push_service.received if push.json["type"] == "alert.stood_down"]
    assert [push.json["alert_id"] for push in stood_down] == [bobs.pk]
    assert stood_down[0].json["notification"]["title"] == "Stood down"


async def test_once_enough_crews_are_going_the_others_phones_say_so(push_service, worker, carol, alice, bob, settings):
    """Crew target 1: Alice accepts, and after the grace Bob's locked phone hears, through the real
    push service, that enough crews are going (the same tag, so it replaces his alert)."""
    from django.utils import timezone

    from backend.dispatch.actions import create_incident, respond_to_alert
    from backend.dispatch.escalation import run_due_escalations

    settings.COVERED_STAND_DOWN_GRACE_SECONDS = 0
    await subscribe(bob, push_service.subscribe())
    incident = await sync_to_async(create_incident)(
        actor=carol, cad_reference="EEAST-T1", latitude=52.63, longitude=1.295, address="1 Road", crew_target=1
    )
    alerts = await sync_to_async(dispatch_incident)(actor=carol, incident_id=incident.pk)
    await send_everything_due(worker)
    alices = next(alert for alert in alerts if alert.responder_id == alice.pk)
    await sync_to_async(respond_to_alert)(actor=alice.user, alert_id=alices.pk, response="accept")
    await sync_to_async(run_due_escalations)(now=timezone.now())
    await send_everything_due(worker)

    first, second = push_service.received
    assert (first.json["type"], second.json["type"]) == ("alert.created", "alert.stood_down")
    assert second.json["notification"]["body"] == "Enough crews are going: you are not needed."
    assert second.json["notification"]["tag"] == first.json["notification"]["tag"]


async def test_an_alert_push_is_declarative_web_push_with_a_receipt_token_and_within_the_size_limit(
    push_service, worker, incident, carol, alice, settings
):
    """Safari 18.4+ shows the declarative form even when no service worker runs; `mutable` lets our
    worker run where it can (to send the receipt). The stand-in checks the size (4096 octets
    encrypted, RFC 8030) with a long, real-looking site address and large ids."""
    from backend.dispatch.models import Alert, Incident

    settings.PUBLIC_BASE_URL = "https://co-responder-alerts.east-of-england-ambulance-service.nhs.uk"
    await sync_to_async(Incident.objects.filter(pk=incident.pk).update)(cad_reference="EEAST-2026-999999")
    await subscribe(alice, push_service.subscribe())
    await sync_to_async(dispatch_incident)(actor=carol, incident_id=incident.pk)

    await send_everything_due(worker)

    [push] = push_service.received
    assert not push_service.rejections
    payload = push.json
    assert payload["web_push"] == 8030 and payload["mutable"] is True
    note = payload["notification"]
    assert {"title", "body", "navigate", "tag", "lang", "silent"} <= set(note)
    assert note["navigate"] == f"{settings.PUBLIC_BASE_URL}/#/alerts/{payload['alert_id']}"
    assert len(payload["receipt"]) == 43
    # Both forms without patient details or the address.
    text = push.text.lower()
    for secret in ("example road", "eeast", "norwich", "alice"):
        assert secret not in text
    # Room to spare under the limit: encrypted, the body adds 86 octets of header, 16 of tag, 1 of padding.
    assert len(push.payload) + 103 < 4096 / 2
    alert = await sync_to_async(Alert.objects.get)(pk=payload["alert_id"])
    assert alert.incident_id == incident.pk
