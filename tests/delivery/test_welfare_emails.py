"""The delivery worker emails the welfare leads about follow-up requests (backend.records.notify):
in the background of its loop, and never twice when several workers run at once."""

import re
import threading
import uuid

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.core import mail
from django.db import connection
from django.utils import timezone

from backend.dispatch.actions import dispatch_incident
from backend.records import notify
from backend.records.models import WelfareCheckIn
from backend.worker.loop import Worker
from tests.conftest import make_firefighter

pytestmark = pytest.mark.django_db(transaction=True)


def ask_for_follow_ups(alerts) -> list[WelfareCheckIn]:
    now = timezone.now()
    return [
        WelfareCheckIn.objects.create(
            alert=alert,
            idempotency_key=uuid.uuid4(),
            body_hash="0" * 64,
            submitted_at=now,
            updated_at=now,
            impact=5,
            follow_up="welfare",
            notes="Secret notes.",
        )
        for alert in alerts
    ]


@pytest.fixture
def email_the_leads(wendy, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    mail.outbox = []
    wendy.email = "wendy@example.org"
    wendy.save()


async def test_a_worker_pass_emails_the_welfare_leads_once(incident, carol, alice, email_the_leads):
    alerts = await sync_to_async(dispatch_incident)(actor=carol, incident_id=incident.pk)
    [check_in] = await sync_to_async(ask_for_follow_ups)(alerts)

    async with Worker(name="welfare-test-worker") as worker:
        await worker.run_once()
    assert [message.to for message in mail.outbox] == [["wendy@example.org"]]
    assert f"/admin/records/welfarecheckin/{check_in.pk}/change/" in mail.outbox[0].body
    await check_in.arefresh_from_db()
    assert check_in.welfare_leads_notified_at is not None

    async with Worker(name="another-worker") as again:  # a fresh worker: no poll-interval pause
        await again.run_once()
    assert len(mail.outbox) == 1


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs PostgreSQL: SQLite takes its write lock at BEGIN, so no race"
)
def test_concurrent_workers_never_email_about_the_same_check_in_twice(
    incident, carol, stations, email_the_leads, settings
):
    settings.DISPATCH_MAX_PER_STATION = 30
    settings.DISPATCH_MAX_RESPONDERS = 30
    for number in range(30):
        make_firefighter(f"ff{number}", stations["norwich"])
    check_ins = ask_for_follow_ups(dispatch_incident(actor=carol, incident_id=incident.pk))
    sent: dict[str, int] = {}
    start = threading.Barrier(4)

    def work(name):
        start.wait()
        try:
            sent[name] = async_to_sync(notify.send_due_welfare_emails)(limit=100)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(f"w{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    links = [re.search(r"/welfarecheckin/(\d+)/", message.body).group(1) for message in mail.outbox]
    assert len(links) == len(check_ins) == 30 and len(set(links)) == 30  # each check-in emailed once
    assert sum(sent.values()) == 30
    assert not WelfareCheckIn.objects.filter(welfare_leads_notified_at__isnull=True).exists()
