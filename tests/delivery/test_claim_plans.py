"""Work PostgreSQL does for the worker's claim of due deliveries when hundreds of pushes wait for
their retry (EXPLAIN ANALYZE: rows and loops, never time; bench/plan_check.py --pending-retries).
With statistics that had seen them, PostgreSQL expected every pending retry to be due: it read them
all to find the due ones, and hashed every alert and incident ever made to join the ~700 rows it
expected (7-13 ms at 2,000 closed incidents, docs/scaling.md)."""

import datetime

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backend.delivery.models import Delivery
from backend.delivery.sending import claim_due
from backend.delivery.subscriptions import subscribe_device
from backend.dispatch.actions import dispatch_incident
from backend.dispatch.models import Incident
from tests.conftest import browser_subscription
from tests.support.plans import a_history, cleared_alerts, plan_nodes, plans, rows_read

RETRIES = 700
IN_FLIGHT = 100


@pytest.fixture(autouse=True)
def on_postgresql_only(db):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's plans")


class _RolledBack(Exception):
    pass


def analyze() -> None:
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def pushes_sent(alerts) -> None:
    """The history's pushes, each sent at its first attempt, long ago."""
    long_ago = timezone.now() - datetime.timedelta(days=2)
    Delivery.objects.bulk_create(
        Delivery(alert=alert, channel="webpush", state="sent", attempts=1, last_status=201, next_attempt_at=long_ago)
        for alert in alerts
    )


def retries_waiting(alerts) -> None:
    """Pushes that failed once and wait for their retry, due in the next minutes."""
    soon = timezone.now() + datetime.timedelta(minutes=10)
    Delivery.objects.bulk_create(
        Delivery(alert=alert, channel="webpush", state="pending", attempts=1, last_status=503, next_attempt_at=soon)
        for alert in alerts
    )


def in_flight(alerts) -> None:
    """Pushes another worker is sending now: leased, the lease not expired."""
    now = timezone.now()
    Delivery.objects.bulk_create(
        Delivery(
            alert=alert,
            channel="webpush",
            state="sending",
            attempts=1,
            next_attempt_at=now,
            leased_by="another worker",
            lease_expires_at=now + datetime.timedelta(seconds=30),
        )
        for alert in alerts
    )


def claimed_and_rolled_back(limit: int) -> tuple[list, list[str]]:
    """The claim's jobs and statements, its leases undone so that EXPLAIN meets the rows it found."""
    with CaptureQueriesContext(connection) as queries:
        try:
            with transaction.atomic():
                jobs = claim_due(worker="w1", limit=limit)
                raise _RolledBack
        except _RolledBack:
            pass
    return jobs, [q["sql"] for q in queries.captured_queries]


@pytest.mark.parametrize("statistics", ["stale", "fresh"])
def test_on_postgresql_the_claim_reads_what_is_due_not_the_retries_waiting_or_every_alert(
    statistics, carol, alice, bob, charlie, incident
):
    a_history(carol, 2000)
    alerts = cleared_alerts(list(Incident.objects.filter(status="closed")), [alice, bob, charlie])
    pushes_sent(alerts[RETRIES + IN_FLIGHT :])
    if statistics == "stale":
        analyze()  # taken before any push failed
    retries_waiting(alerts[:RETRIES])
    in_flight(alerts[RETRIES : RETRIES + IN_FLIGHT])
    if statistics == "fresh":
        analyze()  # taken with the retries waiting
    for responder in (alice, bob):
        endpoint = f"https://fcm.googleapis.com/fcm/send/{responder.user.username}"
        keys = browser_subscription(endpoint)["keys"]
        subscribe_device(actor=responder.user, endpoint=endpoint, label="phone", **keys)
    dispatch_incident(actor=carol, incident_id=incident.pk)
    due = Delivery.objects.filter(alert__incident=incident).count()
    assert due == 2

    # As the worker claims after a claim that found rows: as many as it has free slots.
    jobs, statements = claimed_and_rolled_back(limit=500)

    assert sorted(job.alert_id for job in jobs) == sorted(incident.alerts.values_list("pk", flat=True))
    explained = plans(statements)
    assert explained
    for sql, plan in explained:
        # The due rows, by index: not the retries waiting, nor the leases held.
        assert rows_read(plan, "delivery_delivery") <= due, sql
        # Each claimed row's alert and incident by their keys: not every alert or incident ever made.
        assert rows_read(plan, "dispatch_alert") <= len(jobs), sql
        assert rows_read(plan, "dispatch_incident") <= len(jobs), sql
        assert not [node for node in plan_nodes(plan) if node["Node Type"] == "Hash"], sql
