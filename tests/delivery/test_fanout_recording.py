"""A fan-out's results are written in one transaction, not one per push that happened to finish
while the previous write ran (work the bare pywebpush floor does not have). Counted in calls of
record_sent_batch, never in time."""

import asyncio

import pytest
from asgiref.sync import sync_to_async

from backend.delivery import sending
from backend.delivery.models import Delivery, DeliveryState
from backend.delivery.sending import DeliveryPass
from backend.delivery.subscriptions import subscribe_device
from backend.delivery.transports.webpush import WebPushTransport
from backend.dispatch.actions import dispatch_incident

pytestmark = pytest.mark.django_db(transaction=True)

DEVICES_EACH = 4


@pytest.fixture
def record_calls(monkeypatch):
    """The batches record_sent_batch was called with (their sizes)."""
    sizes = []
    original = sending.record_sent_batch

    def counting(results, *, worker):
        sizes.append(len(results))
        return original(results, worker=worker)

    monkeypatch.setattr(sending, "record_sent_batch", counting)
    return sizes


@sync_to_async
def subscribe_devices(push_service, responders, *, slow_delay: float) -> None:
    """DEVICES_EACH devices per responder; every other one answered `slow_delay` late."""
    for responder in responders:
        for number in range(DEVICES_EACH):
            subscription = push_service.subscribe()
            if number % 2:
                push_service.delay(slow_delay, endpoint=subscription)
            subscribe_device(
                actor=responder.user,
                endpoint=subscription["endpoint"],
                p256dh=subscription["keys"]["p256dh"],
                auth=subscription["keys"]["auth"],
                label=f"device {number}",
            )


@sync_to_async
def all_sent() -> bool:
    return set(Delivery.objects.values_list("state", flat=True)) == {DeliveryState.SENT}


async def fan_out_through_the_recorder(incident, carol) -> None:
    """One claim and its sends, the results left to the pass's own recorder (not drain())."""
    await sync_to_async(dispatch_incident)(actor=carol, incident_id=incident.pk)
    async with WebPushTransport() as transport:
        worker = DeliveryPass({"webpush": transport}, name="recorder-test")
        assert await worker.run_once() == 2 * DEVICES_EACH
        for _ in range(300):
            if not worker.in_flight and await all_sent():
                break
            await asyncio.sleep(0.05)
        await worker.stop()


async def test_a_fan_out_is_recorded_in_one_write_when_its_sends_finish_at_different_times(
    push_service, record_calls, incident, carol, alice, bob, monkeypatch
):
    monkeypatch.setattr(sending, "RECORD_BATCH_WAIT_SECONDS", 10)  # far longer than the slow answers
    await subscribe_devices(push_service, [alice, bob], slow_delay=0.4)
    await fan_out_through_the_recorder(incident, carol)
    assert record_calls == [2 * DEVICES_EACH]
    assert await all_sent() and len(push_service.received) == 2 * DEVICES_EACH


async def test_a_slow_push_service_holds_the_others_records_back_only_so_long(
    push_service, record_calls, incident, carol, alice, bob, monkeypatch
):
    monkeypatch.setattr(sending, "RECORD_BATCH_WAIT_SECONDS", 0.05)
    await subscribe_devices(push_service, [alice, bob], slow_delay=2)
    await fan_out_through_the_recorder(incident, carol)
    assert len(record_calls) >= 2 and sum(record_calls) == 2 * DEVICES_EACH
    assert record_calls[0] == DEVICES_EACH  # the fast half, written before the slow half came back
    assert await all_sent()
