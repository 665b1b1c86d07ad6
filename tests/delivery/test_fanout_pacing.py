"""How a fan-out's pushes leave the worker: the first claim after an idle spell is small, so the first
phones' pushes go out while the rest are still to be claimed; each push's request is written before
the next push is encrypted, so the push service works on the first while the worker encrypts the
last (bench/push_fanout.py measures the time against the bare pywebpush floor). And the outbox's
promises hold all the same: one sender per delivery at a time, a dead worker's rows sent by another
once its lease has expired, no push sent twice but those the dead worker may have handed over.
Counted in claims, requests, pushes and records, never in time."""

import asyncio
import datetime

import aiohttp
import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone
from webpush.models import SubscriptionInfo

from backend.delivery import sending
from backend.delivery.models import Delivery, DeliveryState
from backend.delivery.sending import DeliveryPass
from backend.delivery.subscriptions import subscribe_device
from backend.delivery.transports import Transport
from backend.delivery.transports import webpush as webpush_transport
from backend.delivery.transports.webpush import WebPushTransport
from backend.dispatch.actions import create_incident, dispatch_incident
from tests.conftest import NORWICH_INCIDENT

pytestmark = pytest.mark.django_db(transaction=True)


@sync_to_async
def subscribe_devices(push_service, responders, each: int) -> list[str]:
    """`each` devices per responder, subscribed at the stand-in; their endpoints."""
    endpoints = []
    for responder in responders:
        for number in range(each):
            subscription = push_service.subscribe()
            subscribe_device(
                actor=responder.user,
                endpoint=subscription["endpoint"],
                p256dh=subscription["keys"]["p256dh"],
                auth=subscription["keys"]["auth"],
                label=f"device {number}",
            )
            endpoints.append(subscription["endpoint"])
    return endpoints


@pytest.fixture
def claims(monkeypatch):
    """(limit asked, rows leased, worker) of every claim the passes make."""
    made = []
    original = sending.claim_due

    def counting(*, worker, limit, now=None):
        jobs = original(worker=worker, limit=limit, now=now)
        made.append((limit, len(jobs), worker))
        return jobs

    monkeypatch.setattr(sending, "claim_due", counting)
    return made


@pytest.fixture
def record_calls(monkeypatch):
    sizes = []
    original = sending.record_sent_batch

    def counting(results, *, worker):
        sizes.append(len(results))
        return original(results, worker=worker)

    monkeypatch.setattr(sending, "record_sent_batch", counting)
    return sizes


async def run_until_idle(worker: DeliveryPass) -> list[int]:
    """Turn the pass as the worker's loop does, until a claim finds nothing; what each turn started."""
    started = []
    while count := await worker.run_once():
        started.append(count)
    await worker.drain()
    return started


@sync_to_async
def states() -> dict[str, int]:
    counts: dict[str, int] = {}
    for state in Delivery.objects.values_list("state", flat=True):
        counts[state] = counts.get(state, 0) + 1
    return counts


async def test_the_first_claim_after_an_idle_spell_is_small_and_the_next_takes_the_rest(
    push_service, claims, incident, carol, alice, bob, monkeypatch
):
    monkeypatch.setattr(sending, "FIRST_CLAIM_ROWS", 3)
    await subscribe_devices(push_service, [alice, bob], each=4)
    await sync_to_async(dispatch_incident)(actor=carol, incident_id=incident.pk)
    async with WebPushTransport() as transport:
        worker = DeliveryPass({"webpush": transport}, name="w1", max_in_flight=100)
        assert await run_until_idle(worker) == [3, 5]
        assert await worker.run_once() == 0
        await worker.stop()
    assert [rows for _, rows, _ in claims] == [3, 5, 0, 0]
    asked = [limit for limit, _, _ in claims]
    assert asked[0] == 3 and asked[1] >= 92 and asked[3] == 3  # the free slots; small again once idle
    assert len(push_service.received) == 8 and await states() == {DeliveryState.SENT: 8}


async def test_a_fan_out_is_in_progress_from_its_first_claim_until_every_push_is_sent(
    push_service, incident, carol, alice, bob, monkeypatch
):
    """What the worker holds its scheduled passes back for (backend/worker/loop.py)."""
    monkeypatch.setattr(sending, "FIRST_CLAIM_ROWS", 3)
    await subscribe_devices(push_service, [alice, bob], each=4)
    await sync_to_async(dispatch_incident)(actor=carol, incident_id=incident.pk)
    async with WebPushTransport() as transport:
        worker = DeliveryPass({"webpush": transport}, name="w1", max_in_flight=100)
        assert not worker.in_progress()
        assert await worker.run_once() == 3
        assert worker.in_progress()  # the rest still to claim
        assert await worker.run_once() == 5
        await worker.drain()
        assert await worker.run_once() == 0
        assert not worker.in_progress()
        await worker.stop()
    assert len(push_service.received) == 8


async def test_each_request_is_written_before_the_next_push_is_encrypted(
    push_service, incident, carol, alice, bob, monkeypatch
):
    """aiohttp writes a request's body from a task of its own: started all at once, no request of a
    fan-out left before the last push was encrypted."""
    order = []
    encrypt, write_bytes = webpush_transport.encrypt, aiohttp.ClientRequest.write_bytes
    endpoint_of_key = {}  # the phones' p256dh keys: what the encryption is given

    def encrypting(payload, *, p256dh, auth):
        order.append(("encrypt", endpoint_of_key[p256dh]))
        return encrypt(payload, p256dh=p256dh, auth=auth)

    async def writing(self, *args, **kwargs):
        order.append(("write", str(self.url)))
        return await write_bytes(self, *args, **kwargs)

    monkeypatch.setattr(webpush_transport, "encrypt", encrypting)
    monkeypatch.setattr(aiohttp.ClientRequest, "write_bytes", writing)
    endpoints = await subscribe_devices(push_service, [alice, bob], each=3)
    endpoint_of_key.update(await sync_to_async(dict)(SubscriptionInfo.objects.values_list("p256dh", "endpoint")))
    other = await sync_to_async(another_incident)(carol)
    async with WebPushTransport() as transport:
        worker = DeliveryPass({"webpush": transport}, name="w1")
        for each in (incident, other):  # the first opens the connections, the second reuses them
            order.clear()
            await sync_to_async(dispatch_incident)(actor=carol, incident_id=each.pk)
            assert await run_until_idle(worker) == [6]  # one claim: the pacing is within it
        await worker.stop()
    assert [kind for kind, _ in order] == ["encrypt", "write"] * 6
    assert [url for _, url in order[::2]] == [url for _, url in order[1::2]]  # each its own request
    assert sorted(url for _, url in order[::2]) == sorted(endpoints)
    assert len(push_service.received) == 12


def another_incident(carol):
    latitude, longitude = NORWICH_INCIDENT
    return create_incident(
        actor=carol, cad_reference="EEAST-0002", latitude=latitude, longitude=longitude, address="1 Other Road, Norwich"
    )


class Instant(Transport):
    """A push service that accepts at once: the first sends finish while the later ones start."""

    channel = "webpush"

    def __init__(self):
        self.sent = []

    async def send(self, job):
        self.sent.append(job.delivery_id)
        return 201


async def test_a_fan_out_whose_first_sends_finish_while_the_rest_start_is_recorded_in_one_write(
    record_calls, incident, carol, alice, bob, monkeypatch
):
    monkeypatch.setattr(sending, "FIRST_CLAIM_ROWS", 2)
    await subscribe_devices_without_service([alice, bob], each=3)
    await sync_to_async(dispatch_incident)(actor=carol, incident_id=incident.pk)
    transport = Instant()
    worker = DeliveryPass({"webpush": transport}, name="w1")
    started = []
    while count := await worker.run_once():
        started.append(count)
        await asyncio.sleep(0)  # the loop turns between claims, as with the worker's other passes
    for _ in range(100):  # the recorder writes once the pass is idle and nothing is in flight
        if record_calls:
            break
        await asyncio.sleep(0.01)
    await worker.stop()
    assert started == [2, 4]
    assert record_calls == [6]
    assert await states() == {DeliveryState.SENT: 6}


@sync_to_async
def subscribe_devices_without_service(responders, each: int) -> None:
    for responder in responders:
        for number in range(each):
            endpoint = f"https://fcm.googleapis.com/fcm/send/{responder.pk}-{number}"
            subscribe_device(
                actor=responder.user,
                endpoint=endpoint,
                p256dh="BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM",
                auth="tBHItJI5svbpez7KI4CCXg",
                label=f"device {number}",
            )


async def test_two_workers_share_a_fan_out_and_send_each_push_once(
    push_service, claims, incident, carol, alice, bob, monkeypatch
):
    monkeypatch.setattr(sending, "FIRST_CLAIM_ROWS", 2)
    endpoints = await subscribe_devices(push_service, [alice, bob], each=4)
    await sync_to_async(dispatch_incident)(actor=carol, incident_id=incident.pk)
    async with WebPushTransport() as transport:
        first = DeliveryPass({"webpush": transport}, name="w1", max_in_flight=3)
        second = DeliveryPass({"webpush": transport}, name="w2", max_in_flight=3)
        # Turn by turn, as two workers woken by the same dispatch would claim.
        while sum([await first.run_once(), await second.run_once()]):
            pass
        for worker in (first, second):
            await worker.drain()
            await worker.stop()
    assert sorted(push.endpoint for push in push_service.received) == sorted(endpoints)  # each once
    leased = {worker: sum(rows for _, rows, name in claims if name == worker) for worker in ("w1", "w2")}
    assert leased["w1"] > 0 and leased["w2"] > 0 and sum(leased.values()) == 8
    assert await states() == {DeliveryState.SENT: 8}


class DiesAfter(Transport):
    """The real transport until `count` pushes have been handed to the push service; then every
    send hangs, as in a worker about to be killed."""

    channel = "webpush"

    def __init__(self, real: WebPushTransport, count: int):
        self.real = real
        self.count = count
        self.handed_over = 0
        self.hanging = asyncio.Event()

    async def send(self, job):
        if self.handed_over >= self.count:
            self.hanging.set()
            await asyncio.Event().wait()  # until the worker is killed
        self.handed_over += 1
        return await self.real.send(job)


async def kill(worker: DeliveryPass) -> None:
    """As `kill -9` would: nothing of the pass runs again, nothing more is recorded."""
    tasks = [task for task in [worker._recorder, *worker.in_flight] if task is not None]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


@sync_to_async
def expire_the_leases_of(worker: str) -> int:
    return Delivery.objects.filter(state=DeliveryState.SENDING, leased_by=worker).update(
        lease_expires_at=timezone.now() - datetime.timedelta(seconds=1)
    )


async def test_a_worker_killed_mid_fan_out_leaves_its_rows_to_another_once_the_leases_expire(
    push_service, claims, incident, carol, alice, bob, monkeypatch
):
    monkeypatch.setattr(sending, "FIRST_CLAIM_ROWS", 3)
    endpoints = await subscribe_devices(push_service, [alice, bob], each=4)
    await sync_to_async(dispatch_incident)(actor=carol, incident_id=incident.pk)
    async with WebPushTransport() as transport:
        dying = DiesAfter(transport, count=2)
        doomed = DeliveryPass({"webpush": dying}, name="doomed")
        assert await doomed.run_once() == 3  # its first, small claim, all started
        await asyncio.wait_for(dying.hanging.wait(), timeout=10)
        await push_service.wait_for_async(2)
        await kill(doomed)  # two pushes handed over, the third not, none recorded
        handed_over = {push.endpoint for push in push_service.received}

        survivor = DeliveryPass({"webpush": transport}, name="survivor")
        assert await run_until_idle(survivor) == [3, 2]  # what was never claimed; not the leased
        assert await expire_the_leases_of("doomed") == 3
        assert await run_until_idle(survivor) == [3]
        await survivor.stop()
    received = [push.endpoint for push in push_service.received]
    assert sorted(set(received)) == sorted(endpoints)  # every device reached
    twice = {endpoint for endpoint in received if received.count(endpoint) > 1}
    assert len(received) == 10 and twice == handed_over  # again only what the dead worker handed over
    assert await states() == {DeliveryState.SENT: 8}
    assert [(name, rows) for _, rows, name in claims if rows] == [
        ("doomed", 3),
        ("survivor", 3),
        ("survivor", 2),
        ("survivor", 3),
    ]
