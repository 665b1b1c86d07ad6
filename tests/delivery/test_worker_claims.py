"""Claiming deliveries with leases: what a crashed or slow worker leaves behind is retried, and no
delivery is claimed by two workers at once."""

import datetime
import threading

import pytest
from django.db import connection
from django.utils import timezone
from webpush.models import SubscriptionInfo

from backend.delivery.models import Delivery, DeliveryState
from backend.delivery.sending import claim_due, record_failure, record_sent
from backend.delivery.subscriptions import subscribe_device
from backend.delivery.transports import TransportError
from backend.dispatch.actions import cancel_incident, dispatch_incident, respond_to_alert
from tests.conftest import browser_subscription, make_firefighter


def subscribe(responder, name="phone"):
    endpoint = f"https://fcm.googleapis.com/fcm/send/{responder.user.username}-{name}"
    subscribe_device(actor=responder.user, endpoint=endpoint, label=name, **browser_subscription(endpoint)["keys"])


@pytest.fixture
def deliveries(incident, carol, alice, bob):
    subscribe(alice)
    subscribe(alice, "tablet")
    subscribe(bob)
    dispatch_incident(actor=carol, incident_id=incident.pk)
    return list(Delivery.objects.all())


def later(seconds):
    return timezone.now() + datetime.timedelta(seconds=seconds)


def test_dispatch_writes_one_pending_delivery_per_device(deliveries):
    assert sorted((d.alert.responder.user.username, d.device.label) for d in deliveries) == [
        ("alice", "phone"),
        ("alice", "tablet"),
        ("bob", "phone"),
    ]
    assert {d.state for d in deliveries} == {DeliveryState.PENDING}
    assert {d.target for d in deliveries} == {"fcm.googleapis.com"}


def test_a_claim_leases_the_rows_and_a_second_worker_gets_none(deliveries):
    jobs = claim_due(worker="w1", limit=10)
    assert len(jobs) == 3 and all(job.endpoint.startswith("https://fcm") for job in jobs)
    assert claim_due(worker="w2", limit=10) == []
    row = Delivery.objects.get(pk=jobs[0].delivery_id)
    assert (row.state, row.leased_by, row.attempts) == (DeliveryState.SENDING, "w1", 1)


def test_a_dead_workers_rows_are_claimed_again_after_the_lease(deliveries, settings):
    claim_due(worker="dead", limit=10)
    assert claim_due(worker="w2", limit=10, now=later(settings.DELIVERY_LEASE_SECONDS - 1)) == []
    retaken = claim_due(worker="w2", limit=10, now=later(settings.DELIVERY_LEASE_SECONDS + 1))
    assert len(retaken) == 3 and all(job.attempts == 2 for job in retaken)
    # The dead worker coming back to life cannot overwrite what the new owner does.
    assert record_sent(retaken[0], worker="dead", status=201) is False
    assert record_sent(retaken[0], worker="w2", status=201) is True
    assert Delivery.objects.get(pk=retaken[0].delivery_id).state == DeliveryState.SENT


def test_a_sent_delivery_records_its_status_and_time(deliveries):
    job = claim_due(worker="w1", limit=1)[0]
    record_sent(job, worker="w1", status=201)
    row = Delivery.objects.get(pk=job.delivery_id)
    assert (row.state, row.last_status) == (DeliveryState.SENT, 201)
    assert row.finished_at is not None and row.duration_ms is not None
    assert row.device.last_success_at is not None


def test_a_retryable_failure_is_retried_later_and_not_before_retry_after(deliveries):
    job = claim_due(worker="w1", limit=1)[0]
    record_failure(job, TransportError("busy", permanent=False, status=429, retry_after=30), worker="w1")
    row = Delivery.objects.get(pk=job.delivery_id)
    assert row.state == DeliveryState.PENDING and row.last_status == 429
    assert row.next_attempt_at >= timezone.now() + datetime.timedelta(seconds=29)
    assert "Attempt 1" in row.last_error
    assert job.delivery_id not in [j.delivery_id for j in claim_due(worker="w1", limit=10, now=later(20))]
    assert job.delivery_id in [j.delivery_id for j in claim_due(worker="w1", limit=10, now=later(31))]


def test_backoff_grows_and_gives_up_after_the_attempt_limit(deliveries, settings):
    settings.DELIVERY_MAX_ATTEMPTS = 3
    settings.DELIVERY_RETRY_BASE_SECONDS = 1
    ours = deliveries[0].pk
    for job in claim_due(worker="w", limit=10):
        if job.delivery_id != ours:
            record_sent(job, worker="w", status=201)
    Delivery.objects.filter(pk=ours).update(state=DeliveryState.PENDING, attempts=0, leased_by="")
    delays = []
    for attempt in range(1, 4):
        (job,) = claim_due(worker="w", limit=10, now=later(120 * attempt))
        assert job.attempts == attempt
        before = timezone.now()
        record_failure(job, TransportError("503", permanent=False, status=503), worker="w")
        row = Delivery.objects.get(pk=ours)
        if row.state == DeliveryState.PENDING:
            delays.append((row.next_attempt_at - before).total_seconds())
    row = Delivery.objects.get(pk=ours)
    assert row.state == DeliveryState.FAILED and row.attempts == 3
    # Full jitter within [ceiling/2, ceiling], the ceiling doubling each attempt.
    assert 0.5 <= delays[0] <= 1.1 and 1.0 <= delays[1] <= 2.1


def test_a_permanent_failure_is_final(deliveries):
    job = claim_due(worker="w1", limit=1)[0]
    record_failure(job, TransportError("bad request", permanent=True, status=400), worker="w1")
    assert Delivery.objects.get(pk=job.delivery_id).state == DeliveryState.FAILED
    assert job.delivery_id not in [j.delivery_id for j in claim_due(worker="w1", limit=10, now=later(999))]


def test_a_gone_subscription_is_deleted_and_its_device_never_tried_again(deliveries):
    job = claim_due(worker="w1", limit=1)[0]
    record_failure(job, TransportError("gone", permanent=True, status=410, gone=True), worker="w1")
    assert not SubscriptionInfo.objects.filter(pk=job.subscription_id).exists()
    row = Delivery.objects.get(pk=job.delivery_id)
    assert (row.state, row.last_status, row.device) == (DeliveryState.FAILED, 410, None)
    assert "gone" in row.last_error


def test_deliveries_no_longer_needed_are_closed_not_sent(deliveries, carol, incident):
    alice_alert = incident.alerts.get(responder__user__username="alice")
    respond_to_alert(actor=alice_alert.responder.user, alert_id=alice_alert.pk, response="accept")
    jobs = claim_due(worker="w1", limit=10)
    assert [j.alert_id for j in jobs] == [incident.alerts.get(responder__user__username="bob").pk]
    cancel_incident(actor=carol, incident_id=incident.pk, reason="Hoax")
    closed = Delivery.objects.filter(state=DeliveryState.CANCELLED)
    assert closed.count() == 2 and "accepted" in closed.first().last_error


def test_an_alert_older_than_its_ttl_is_not_retried(deliveries, settings):
    settings.PUSH_TTL_SECONDS = 60
    job = claim_due(worker="w1", limit=1)[0]
    record_failure(job, TransportError("busy", permanent=False, status=503, retry_after=120), worker="w1")
    assert Delivery.objects.get(pk=job.delivery_id).state == DeliveryState.FAILED


@pytest.mark.django_db(transaction=True)
def test_concurrent_workers_never_claim_the_same_delivery(incident, carol, stations, settings):
    if connection.vendor != "postgresql":
        pytest.skip("SKIP LOCKED is PostgreSQL's; SQLite serialises writers, so there is no race to test")
    settings.DISPATCH_MAX_PER_STATION = 60
    settings.DISPATCH_MAX_RESPONDERS = 60
    for number in range(60):
        subscribe(make_firefighter(f"ff{number}", stations["norwich"]))
    dispatch_incident(actor=carol, incident_id=incident.pk)
    claimed: dict[str, list[int]] = {}
    start = threading.Barrier(4)

    def work(name):
        start.wait()
        mine = claimed.setdefault(name, [])
        while batch := claim_due(worker=name, limit=5):
            mine.extend(job.delivery_id for job in batch)
        connection.close()

    threads = [threading.Thread(target=work, args=(f"w{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    everything = [delivery_id for ids in claimed.values() for delivery_id in ids]
    assert len(everything) == 60 and len(set(everything)) == 60
    assert sum(1 for ids in claimed.values() if ids) >= 2  # the work really was shared
