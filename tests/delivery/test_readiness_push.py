"""A test of the device goes the alert's way: the outbox, a worker's delivery pass, a real HTTP
push service (the strict stand-in, which checks VAPID and the headers and decrypts the payload).
Its payload is a test's (its own title, body, tag and topic, no incident) with a receipt token, and
that token passes the test."""

import pytest
from asgiref.sync import sync_to_async

from backend.delivery import readiness
from backend.delivery.models import CheckFailure, CheckResult, DeviceCheck, PushDevice
from backend.delivery.sending import DeliveryPass
from backend.delivery.subscriptions import subscribe_device
from backend.delivery.transports.webpush import TEST_TAG, TEST_TITLE, WebPushTransport

pytestmark = pytest.mark.django_db(transaction=True)


@sync_to_async
def subscribe(responder, subscription) -> str:
    subscribe_device(
        actor=responder.user,
        endpoint=subscription["endpoint"],
        p256dh=subscription["keys"]["p256dh"],
        auth=subscription["keys"]["auth"],
        label="phone",
    )
    return subscription["endpoint"]


@pytest.fixture
async def worker():
    transport = WebPushTransport()
    async with transport:
        yield DeliveryPass({"webpush": transport}, name="test-worker")


async def send_everything_due(worker):
    await worker.run_once()
    await worker.drain()


async def test_a_test_push_reaches_the_push_service_as_a_test_and_its_token_passes_it(
    push_service, worker, alice, settings
):
    endpoint = await subscribe(alice, push_service.subscribe())
    check, created = await sync_to_async(readiness.request_test)(actor=alice.user, endpoint=endpoint)
    assert created

    await send_everything_due(worker)

    [push] = push_service.received
    assert not push_service.rejections
    assert (push.urgency, push.topic, push.ttl) == ("high", "device-test", settings.PUSH_TTL_SECONDS)
    payload = push.json
    assert payload["type"] == "device.test" and payload["check_id"] == check.pk
    assert payload["notification"]["title"] == TEST_TITLE == "Test alert — no action needed"
    assert payload["notification"]["tag"] == TEST_TAG
    assert payload["web_push"] == 8030 and payload["mutable"] is True
    assert "alert_id" not in payload and "incident_id" not in payload
    assert len(payload["receipt"]) == 43

    passed = await sync_to_async(readiness.record_test_receipt)(
        check_id=check.pk, token=payload["receipt"], event="shown"
    )
    assert passed.result == CheckResult.PASSED and passed.sent_at is not None


async def test_a_test_the_push_service_refuses_fails_with_the_reason(push_service, worker, alice):
    subscription = push_service.subscribe()
    endpoint = await subscribe(alice, subscription)
    push_service.respond_with(400, endpoint=subscription)
    check, _ = await sync_to_async(readiness.request_test)(actor=alice.user, endpoint=endpoint)

    await send_everything_due(worker)

    check = await DeviceCheck.objects.aget(pk=check.pk)
    assert (check.result, check.failure_code) == (CheckResult.FAILED, CheckFailure.REFUSED)
    assert "(400)" in check.failure_reason
    device = await PushDevice.objects.aget()
    assert device.failed_checks_in_a_row == 1


async def test_a_test_to_a_subscription_gone_forgets_the_device(push_service, worker, alice):
    """404/410: the subscription, its device and the device's tests go (the app registers the phone
    again when it next opens, and tells the firefighter)."""
    subscription = push_service.subscribe()
    endpoint = await subscribe(alice, subscription)
    push_service.respond_with(410, endpoint=subscription)
    await sync_to_async(readiness.request_test)(actor=alice.user, endpoint=endpoint)

    await send_everything_due(worker)

    assert not await PushDevice.objects.aexists()
    assert not await DeviceCheck.objects.aexists()
