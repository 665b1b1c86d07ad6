"""The work a fan-out does besides the pushes themselves, counted (never timed): the claim is the
same three statements however many rows it leases and reads only what sending needs, a dispatch wakes
the worker once, and a second fan-out to the same push service reuses the first one's connections
(bench/push_fanout.py measures the time against the bare pywebpush floor)."""

import base64

import aiohttp
import aiohttp.tracing
import pytest
from asgiref.sync import sync_to_async
from django.db import connection
from django.db.models import signals
from django.test.utils import CaptureQueriesContext
from django.utils.crypto import salted_hmac

from backend import scheduling
from backend.delivery import receipts, vapid
from backend.delivery.models import Delivery, DeliveryState
from backend.delivery.receipts import token_for
from backend.delivery.sending import DeliveryPass, claim_due
from backend.delivery.subscriptions import subscribe_device
from backend.delivery.transports import webpush as webpush_transport
from backend.delivery.transports.webpush import WebPushTransport
from backend.dispatch.actions import create_incident, dispatch_incident
from tests.conftest import NORWICH_INCIDENT, browser_subscription, make_firefighter


def subscribe(responder, subscription=None, label="phone"):
    subscription = subscription or browser_subscription(f"https://fcm.googleapis.com/fcm/send/{responder.pk}-{label}")
    subscribe_device(actor=responder.user, endpoint=subscription["endpoint"], label=label, **subscription["keys"])


def another_incident(carol):
    latitude, longitude = NORWICH_INCIDENT
    return create_incident(
        actor=carol, cad_reference="EEAST-0002", latitude=latitude, longitude=longitude, address="1 Other Road, Norwich"
    )


def statements(queries) -> list[str]:
    """The SELECTs, UPDATEs and the like, not the savepoints around them."""
    return [q["sql"] for q in queries if not q["sql"].upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK TO"))]


def claim_counting(limit=500):
    with CaptureQueriesContext(connection) as queries:
        jobs = claim_due(worker="w1", limit=limit)
    return jobs, statements(queries.captured_queries)


@pytest.mark.django_db
def test_a_claim_is_the_same_statements_whether_it_leases_three_rows_or_twelve(
    incident, carol, stations, alice, bob, settings
):
    settings.DISPATCH_MAX_PER_STATION = settings.DISPATCH_MAX_RESPONDERS = 20
    subscribe(alice)
    subscribe(alice, label="tablet")
    subscribe(bob)
    dispatch_incident(actor=carol, incident_id=incident.pk)
    few, few_statements = claim_counting()

    crew = [make_firefighter(f"ff{number}", stations["norwich"]) for number in range(9)]
    for responder in crew:
        subscribe(responder)
    other = another_incident(carol)
    dispatch_incident(actor=carol, incident_id=other.pk)
    many, many_statements = claim_counting()

    assert (len(few), len(many)) == (3, 12)
    # The locking SELECT, on PostgreSQL the read of the rows it locked (test_claim_plans.py says why
    # apart), and one UPDATE.
    assert len(few_statements) == len(many_statements) == (3 if connection.vendor == "postgresql" else 2)
    assert {job.endpoint for job in many} == set(
        Delivery.objects.filter(alert__incident=other).values_list("device__subscription__endpoint", flat=True)
    )
    assert set(Delivery.objects.values_list("state", flat=True)) == {DeliveryState.SENDING}


@pytest.mark.django_db
def test_the_claim_reads_only_what_deciding_and_sending_need(incident, carol, alice):
    subscribe(alice)
    dispatch_incident(actor=carol, incident_id=incident.pk)
    [job], [*_lock, select, _update] = claim_counting()  # on PostgreSQL the values are read after the lock
    columns = select.split(" FROM ")[0]
    # Neither the incident's address nor the rows' bookkeeping is read for every push sent.
    for unneeded in ('"dispatch_incident"."address"', '"delivery_delivery"."last_error"', '"dispatch_alert"."note"'):
        assert unneeded not in columns
    assert columns.count(",") + 1 <= 30
    assert (job.incident_id, job.round, job.kind, job.incident_status) == (incident.pk, 1, "alert", "open")
    assert job.p256dh and job.auth and job.receipt_token


@pytest.mark.django_db
def test_a_claim_builds_no_model_instance_whatever_it_leases(incident, carol, stations, alice, bob, settings):
    """A claim reads plain values: it built a delivery, alert, incident, responder, device,
    subscription and check per row (1,400 models for a 200-push fan-out), most of its CPU."""
    settings.DISPATCH_MAX_PER_STATION = settings.DISPATCH_MAX_RESPONDERS = 20
    for responder in [alice, bob, *(make_firefighter(f"ff{number}", stations["norwich"]) for number in range(8))]:
        subscribe(responder)
    dispatch_incident(actor=carol, incident_id=incident.pk)
    built = []

    def count(sender, **kwargs):
        built.append(sender.__name__)

    signals.post_init.connect(count)
    try:
        jobs, _ = claim_counting()
    finally:
        signals.post_init.disconnect(count)
    assert len(jobs) == 10
    assert built == []
    assert {(job.attempts, job.kind, job.incident_status, job.incident_id) for job in jobs} == {
        (1, "alert", "open", incident.pk)
    }
    assert [job.receipt_token for job in jobs] == [token_for(job.delivery_id, 1) for job in jobs]


@pytest.mark.django_db
def test_a_receipt_token_is_the_salted_hmac_it_always_was(settings):
    """Tokens already on phones (pushes sent before an upgrade) must still match: the key is only
    derived once per secret key now, the HMAC is the same."""

    def salted(delivery_id, attempt):
        digest = salted_hmac(receipts.HMAC_SALT, f"{delivery_id}:{attempt}", algorithm="sha256").digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")

    assert token_for(12345, 2) == salted(12345, 2)
    settings.SECRET_KEY = "another secret key, as after a rotation" * 2
    assert token_for(12345, 2) == salted(12345, 2)


@pytest.mark.django_db
def test_a_dispatch_wakes_the_worker_once(incident, carol, alice, bob, django_capture_on_commit_callbacks, monkeypatch):
    subscribe(alice)
    subscribe(alice, label="tablet")
    subscribe(bob)
    wakes = []
    monkeypatch.setattr(scheduling, "send_on_commit", lambda messages: wakes.append(messages))
    dispatch_incident(actor=carol, incident_id=incident.pk)
    assert wakes == [[(scheduling.WAKE_GROUP, {"type": "worker.wake"})]]


async def two_fan_outs_to_four_phones(push_service, incident, carol, alice, bob) -> WebPushTransport:
    """Alice's and Bob's phone and tablet subscribed, `incident` and another one dispatched, each
    fan-out sent by one worker through one transport (returned, closed)."""

    @sync_to_async
    def subscribe_all():
        for responder in (alice, bob):
            for label in ("phone", "tablet"):
                subscribe(responder, push_service.subscribe(), label=label)
        return another_incident(carol)

    other = await subscribe_all()
    async with WebPushTransport() as transport:
        worker = DeliveryPass({"webpush": transport}, name="two-fan-outs")
        for each in (incident, other):
            await sync_to_async(dispatch_incident)(actor=carol, incident_id=each.pk)
            assert await worker.run_once() == 4
            await worker.drain()
        await worker.stop()
    return transport


@pytest.mark.django_db(transaction=True)
async def test_a_second_fan_out_to_the_same_push_service_reuses_the_first_ones_connections(
    push_service, incident, carol, alice, bob
):
    transport = await two_fan_outs_to_four_phones(push_service, incident, carol, alice, bob)
    assert len(push_service.received) == 8
    assert 1 <= transport.connections_opened <= 4  # at most one per push in flight at once, never one per push


@pytest.mark.django_db(transaction=True)
async def test_each_phones_key_and_push_service_origin_are_worked_out_once_not_per_push(
    push_service, incident, carol, alice, bob, monkeypatch
):
    """Parsing the endpoint for the JWT's audience and the phone's key for every push of every
    fan-out was work per message the bare floor has once per message too, and we need not."""
    parsed_urls = []
    urlsplit = vapid.urlsplit

    def counting_urlsplit(url, *args, **kwargs):
        parsed_urls.append(url)
        return urlsplit(url, *args, **kwargs)

    monkeypatch.setattr(vapid, "urlsplit", counting_urlsplit)
    keys_before = webpush_transport.receiver_key.cache_info()

    await two_fan_outs_to_four_phones(push_service, incident, carol, alice, bob)
    assert len(push_service.received) == 8
    assert len(parsed_urls) == len(set(parsed_urls)) == 4  # one per phone, for two fan-outs
    keys = webpush_transport.receiver_key.cache_info()  # the stand-in parses keys too: not counted
    assert (keys.misses - keys_before.misses, keys.hits - keys_before.hits) == (4, 4)


@pytest.mark.django_db(transaction=True)
async def test_a_push_is_sent_with_no_request_tracing(push_service, incident, carol, alice, monkeypatch):
    """aiohttp sends about ten trace signals per request to a session with trace_configs: work per
    push the bare pywebpush floor does not do (the connections are counted by the socket factory)."""
    signals = []
    original = aiohttp.tracing.Trace.send_request_start

    async def counting(self, *args, **kwargs):
        signals.append("request_start")
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(aiohttp.tracing.Trace, "send_request_start", counting)
    await sync_to_async(subscribe)(alice, push_service.subscribe())
    await sync_to_async(dispatch_incident)(actor=carol, incident_id=incident.pk)
    async with WebPushTransport() as transport:
        worker = DeliveryPass({"webpush": transport}, name="tracing-test")
        assert await worker.run_once() == 1
        await worker.drain()
        await worker.stop()
    assert len(push_service.received) == 1 and transport.connections_opened == 1
    assert signals == []


@pytest.mark.django_db
def test_the_recorders_board_update_reads_only_the_funnels_columns(incident, carol, alice, bob):
    from backend.delivery.receipts import funnels_of

    subscribe(alice)
    subscribe(bob)
    [alice_alert, bob_alert] = dispatch_incident(actor=carol, incident_id=incident.pk)
    with CaptureQueriesContext(connection) as queries:
        funnels = funnels_of([alice_alert.pk, bob_alert.pk])
    pushes = next(sql for sql in statements(queries.captured_queries) if '"delivery_delivery"."shown_at"' in sql)
    columns = pushes.split(" FROM ")[0]
    for unneeded in (
        '"delivery_delivery"."target"',
        '"delivery_delivery"."created_at"',
        '"delivery_pushdevice"."last_failure_reason"',
    ):
        assert unneeded not in columns
    assert [[funnel.label for funnel in funnels[alert.pk]] for alert in (alice_alert, bob_alert)] == [
        ["phone"],
        ["phone"],
    ]
