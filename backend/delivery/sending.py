"""Sending the outbox: the worker's delivery pass claims due deliveries with a lease, sends them
concurrently and records what happened (backend/worker/ runs it, with the other apps' passes).

Several workers on several machines can run at once: on PostgreSQL a claim is
`SELECT ... FOR UPDATE SKIP LOCKED` (workers never wait for each other and never claim the same
row), on SQLite the write lock serialises claims. A claimed row carries a lease; if its worker
dies, the lease expires and another worker claims the row again. A result is written only by the
worker that still holds the lease, so a slow worker whose lease was taken over cannot overwrite.
"""

import asyncio
import contextlib
import datetime
import functools
import logging
from collections import defaultdict

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection, transaction
from django.db.models import DateTimeField, F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from backend import scheduling
from backend.backoff import backoff_seconds
from backend.delivery import readiness, receipts
from backend.delivery.models import Channel, Delivery, DeliveryState, Kind, PushDevice, WorkerHeartbeat
from backend.delivery.transports import Job, Transport, TransportError
from backend.scheduling import Every, Pass
from backend.sql_literals import Literal

logger = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 5
# How long the recorder waits for the rest of a fan-out's sends before writing the results it has:
# one transaction (and one board update) per fan-out, not one per push that happened to finish
# while the last write ran, which took the worker's CPU and the write lock from the sends. 0.5 s
# was shorter than a 200-push fan-out takes on a busy machine: the write (and its board update)
# then ran beside the last sends and held them back (bench/push_fanout.py --probe:
# records_during_sends). A push service that hangs delays the others' "sent" on the board by this
# much at most; the leases (DELIVERY_LEASE_SECONDS, 30 s) are far longer.
RECORD_BATCH_WAIT_SECONDS = 2.0
# How many due rows the pass claims when it was idle (its last claim found none): the first phones'
# pushes leave after a claim of this many rows, not of the whole fan-out (200 rows took 20-56 ms on
# SQLite, bench/push_fanout.py --probe: claim_ms_each); the next claim takes the rest.
FIRST_CLAIM_ROWS = 20


# --- Database steps (sync) ----------------------------------------------------------------------------

# What deciding and sending need, and no more, read as plain values: one tuple per row. A claim of
# two hundred rows built seven models per row before (a delivery, its alert, incident, responder,
# device, subscription and check: 1,400 model instances), about 20 ms of CPU on this machine for a
# claim that holds a fan-out's pushes back and competes with its sends for the interpreter
# (bench/push_fanout.py --probe: claim_ms_each; tests/delivery/test_fanout_work.py counts it).
CLAIM_COLUMNS = (
    "pk",
    "alert_id",
    "device_id",
    "device_check_id",
    "channel",
    "kind",
    "attempts",
    "round",
    "alert__incident_id",
    "alert__state",
    "alert__alerted_at",
    "alert__stood_down_reason",
    "alert__on_scene_at",
    "alert__incident__status",
    "alert__incident__covered_at",
    "alert__responder__phone_number",
    "device__subscription_id",
    "device__subscription__endpoint",
    "device__subscription__p256dh",
    "device__subscription__auth",
    "device_check__result",
    "device_check__created_at",
)


def claim_due(*, worker: str, limit: int, now: datetime.datetime | None = None) -> list[Job]:
    """Lease up to `limit` due deliveries to `worker` and return what is needed to send them.
    Deliveries whose alert no longer needs them (answered, stood down, cancelled) are closed here."""
    now = now or timezone.now()
    lease_until = now + datetime.timedelta(seconds=settings.DELIVERY_LEASE_SECONDS)
    # The states as literals: a generic plan (prepared statements) compared with parameters read
    # every push ever sent, not knowing the state of the index of held leases (backend/sql_literals.py).
    due = Q(state=Literal(DeliveryState.PENDING), next_attempt_at__lte=now) | Q(
        state=Literal(DeliveryState.SENDING), lease_expires_at__lt=now
    )
    with transaction.atomic():
        rows = _lock_due(due, limit)
        jobs, claimed_ids, closed_by_reason = [], [], defaultdict(list)
        shown_by_receipt = receipts.alerts_shown_by_receipt(
            {row.alert_id for row in rows if row.channel == Channel.SMS}
        )
        for row in rows:
            reason = _not_needed_because(row, shown_by_receipt=shown_by_receipt)
            if reason:
                closed_by_reason[reason].append(row.pk)
                continue
            claimed_ids.append(row.pk)
            jobs.append(_job(row, attempts=row.attempts + 1))
        # Plain UPDATEs, not bulk_update: a hundred-row claim must take milliseconds, not a CASE
        # expression per field per row.
        if claimed_ids:
            Delivery.objects.filter(pk__in=claimed_ids).update(
                state=DeliveryState.SENDING,
                attempts=F("attempts") + 1,
                lease_expires_at=lease_until,
                leased_by=worker,
                first_attempt_at=Coalesce("first_attempt_at", Value(now, output_field=DateTimeField())),
            )
        for reason, ids in closed_by_reason.items():
            Delivery.objects.filter(pk__in=ids).update(
                state=DeliveryState.CANCELLED, last_error=reason, finished_at=now, lease_expires_at=None, leased_by=""
            )
    return jobs


def _lock_due(due: Q, limit: int) -> list:
    """CLAIM_COLUMNS of up to `limit` due rows, locked (those locked by another worker skipped), in
    the claim's order. On PostgreSQL the rows are locked by a read of their keys alone and their
    values read after (_claimed_rows); elsewhere in one read (SQLite's writer lock is the claim's
    transaction: nothing to plan around, and the embedded worker shares the dispatching process)."""
    locking = (
        Delivery.objects.select_for_update(skip_locked=True, of=("self",)).filter(due).order_by("next_attempt_at", "pk")
    )
    if connection.vendor != "postgresql":
        return list(locking.values_list(*CLAIM_COLUMNS, named=True)[:limit])
    return _claimed_rows(list(locking.values_list("pk", flat=True)[:limit]))


def _claimed_rows(ids: list[int]) -> list:
    """CLAIM_COLUMNS of the rows just locked, in the claim's order. Read apart from the locking
    read, so that PostgreSQL plans the joins for the rows there are: joined in the locking read, they
    were planned for as many rows as it expected to be due, and with statistics that had seen
    hundreds of pushes waiting for their retry it expected all of them and hashed every alert and
    incident ever made to join them (7-13 ms at 2,000 closed incidents; docs/scaling.md)."""
    if not ids:
        return []
    return list(
        Delivery.objects.filter(pk__in=ids).order_by("next_attempt_at", "pk").values_list(*CLAIM_COLUMNS, named=True)
    )


@functools.cache
def _alert_rules():
    """dispatch's Alert, through the outbox's own relation to it: its rules for whether an alert
    still needs a push or a text, asked of a claimed row's columns. delivery sits below dispatch and
    does not import it (docs/architecture.md)."""
    return Delivery._meta.get_field("alert").related_model


def _not_needed_because(row, *, shown_by_receipt: set[int] = frozenset()) -> str:
    """Why a claimed row (CLAIM_COLUMNS) needs sending no more ("" while it does)."""
    if row.kind == Kind.TEST:
        return readiness.why_not_to_send(device_id=row.device_id, check_result=row.device_check__result)
    alert = _alert_rules()
    if row.kind == Kind.STAND_DOWN:
        return "" if row.device_id is not None else "Not sent: the device's subscription was removed."
    if row.kind == Kind.MESSAGE:
        if row.device_id is None:
            return "Not sent: the device's subscription was removed."
        return alert.not_to_message_because(incident_status=row.alert__incident__status, state=row.alert__state)
    if reason := alert.not_to_call_because(incident_status=row.alert__incident__status, state=row.alert__state):
        return reason
    if row.channel == Channel.WEBPUSH and row.device_id is None:
        return "Not sent: the device's subscription was removed."
    if row.channel == Channel.SMS and not row.alert__responder__phone_number:
        return "Not sent: no phone number."
    if row.channel == Channel.SMS and (alert.shown_on_device_in(row.alert__state) or row.alert_id in shown_by_receipt):
        return "Not sent: the device has shown the alert since the text was queued."
    if row.channel == Channel.SMS and (
        reason := alert.not_to_text_because(incident_covered_at=row.alert__incident__covered_at)
    ):
        return reason
    return ""


def _subscription_of(row) -> dict:
    """The claimed row's Web Push subscription, as a Job takes it."""
    return {
        "subscription_id": row.device__subscription_id,
        "endpoint": row.device__subscription__endpoint,
        "p256dh": row.device__subscription__p256dh,
        "auth": row.device__subscription__auth,
    }


def _job(row, *, attempts: int) -> Job:
    """What sending one claimed row (CLAIM_COLUMNS) needs, for this attempt."""
    token = ""
    if row.channel == Channel.WEBPUSH and row.kind in (Kind.ALERT, Kind.TEST):
        # Each attempt's own receipt token, worked out again when the receipt comes.
        token = receipts.token_for(row.pk, attempts)
    if row.alert_id is None:  # a test of the device: no alert, no incident
        return Job(
            delivery_id=row.pk,
            channel=row.channel,
            attempts=attempts,
            round=row.round,
            alert_id=None,
            incident_id=None,
            alerted_at=row.device_check__created_at,
            kind=row.kind,
            incident_status="",
            receipt_token=token,
            check_id=row.device_check_id,
            **_subscription_of(row),
        )
    if row.channel == Channel.WEBPUSH:
        by_channel = _subscription_of(row)
    else:
        by_channel = {"phone_number": row.alert__responder__phone_number}
    return Job(
        delivery_id=row.pk,
        channel=row.channel,
        attempts=attempts,
        round=row.round,
        alert_id=row.alert_id,
        incident_id=row.alert__incident_id,
        alerted_at=row.alert__alerted_at,
        kind=row.kind,
        incident_status=row.alert__incident__status,
        stood_down_reason=row.alert__stood_down_reason,
        attended=row.alert__on_scene_at is not None,
        receipt_token=token,
        **by_channel,
    )


def record_sent(job: Job, *, worker: str, status: int) -> bool:
    return record_sent_batch([(job, status)], worker=worker) == 1


def record_sent_batch(results: list[tuple[Job, int]], *, worker: str) -> int:
    """Record many successful sends in one transaction; returns how many rows this worker still
    held (a row whose lease another worker has taken over is left to that worker)."""
    now = timezone.now()
    ids_by_status: dict[int, list[int]] = defaultdict(list)
    for job, status in results:
        ids_by_status[status].append(job.delivery_id)
    updated = 0
    with transaction.atomic():
        for status, ids in ids_by_status.items():
            updated += Delivery.objects.filter(pk__in=ids, state=DeliveryState.SENDING, leased_by=worker).update(
                state=DeliveryState.SENT,
                last_status=status,
                last_error="",
                finished_at=now,
                lease_expires_at=None,
                leased_by="",
            )
        subscription_ids = [job.subscription_id for job, _ in results if job.subscription_id]
        if subscription_ids:
            PushDevice.objects.filter(subscription_id__in=subscription_ids).update(last_success_at=now)
        readiness.record_tests_sent([job.check_id for job, _ in results if job.check_id], now=now)
    # The board's "sent" per device (its receipts come later, from the phones).
    receipts.tell_the_board({job.alert_id for job, _ in results if _is_alert_push(job)})
    return updated


def _is_alert_push(job: Job) -> bool:
    return job.channel == Channel.WEBPUSH and job.kind == Kind.ALERT


def record_failure(job: Job, error: TransportError, *, worker: str) -> bool:
    """Retry later with backoff, or give up for good (and forget a subscription that is gone)."""
    now = timezone.now()
    retry_at = _retry_time(job, error, now)
    with transaction.atomic():
        if retry_at is None:
            updated = _mine(job, worker).update(
                state=DeliveryState.FAILED,
                last_status=error.status,
                last_error=_attempt_note(job, error)[:300],
                finished_at=now,
                lease_expires_at=None,
                leased_by="",
            )
        else:
            updated = _mine(job, worker).update(
                state=DeliveryState.PENDING,
                last_status=error.status,
                last_error=_attempt_note(job, error)[:300],
                next_attempt_at=retry_at,
                lease_expires_at=None,
                leased_by="",
            )
        if updated and retry_at is None and job.check_id:
            # A test the push service refused for good has failed (a subscription gone goes next,
            # and its device and checks with it: the app registers the phone again).
            readiness.record_test_refused(job.check_id, reason=error.message, now=now)
        if updated and error.gone and job.subscription_id:
            # The push service says this subscription will never work again (RFC 8030 404/410).
            from webpush.models import SubscriptionInfo

            SubscriptionInfo.objects.filter(pk=job.subscription_id).delete()
    if updated and retry_at is None and _is_alert_push(job):
        receipts.tell_the_board([job.alert_id])  # failed for good: the board says so per device
    return bool(updated)


def _mine(job: Job, worker: str):
    return Delivery.objects.filter(pk=job.delivery_id, state=DeliveryState.SENDING, leased_by=worker)


def _attempt_note(job: Job, error: TransportError) -> str:
    return f"Attempt {job.attempts}: {error.message}"


def _retry_time(job: Job, error: TransportError, now: datetime.datetime) -> datetime.datetime | None:
    """Exponential backoff with full jitter, never sooner than Retry-After, and never past the time
    the alert stays useful or the attempt limit."""
    if error.permanent or job.attempts >= settings.DELIVERY_MAX_ATTEMPTS:
        return None
    delay = backoff_seconds(job.attempts)
    if error.retry_after is not None:
        delay = max(delay, error.retry_after)
    retry_at = now + datetime.timedelta(seconds=delay)
    if retry_at > job.alerted_at + datetime.timedelta(seconds=settings.PUSH_TTL_SECONDS):
        return None
    return retry_at


def record_heartbeat(name: str, *, started_at: datetime.datetime) -> None:
    WorkerHeartbeat.objects.update_or_create(
        name=name,
        defaults={"last_seen_at": timezone.now()},
        create_defaults={"started_at": started_at, "last_seen_at": timezone.now()},
    )


# --- The loop (async) -----------------------------------------------------------------------------------


class DeliveryPass(Pass):
    """The worker's pass that sends the outbox. `transports` maps a channel to a Transport, entered
    by `start` (or already entered, by a test) and left by `stop`.

    Sends run as concurrent tasks, at most `max_in_flight` at once. A send that succeeds frees its
    slot at once and leaves its result to a recorder task that writes results in batches: with
    200 pushes per dispatch, one write per push would take longer than the pushes themselves.
    """

    name = "deliveries"
    every_seconds = 0.0  # every turn: a new alert's pushes wake the worker and go at once

    def __init__(self, transports: dict[str, Transport], *, name: str, max_in_flight: int | None = None):
        self.transports = transports
        self.worker_name = name  # the lease holder in the rows it claims
        self.max_in_flight = max_in_flight or settings.PUSH_MAX_CONCURRENCY
        self.in_flight: set[asyncio.Task] = set()
        self._next_claim_rows = FIRST_CLAIM_ROWS  # how many to claim next, at most (see run_once)
        # Clear from a claim until one finds less than it asked for (nothing more is due): the
        # recorder waits for the whole fan-out rather than write beside the sends still to start.
        self._all_started = asyncio.Event()
        self._all_started.set()
        self._sent: list[tuple[Job, int]] = []
        self._sent_waiting = asyncio.Event()
        self._flushing = asyncio.Lock()  # one write of results at a time, the recorder's or drain's
        self._recorder: asyncio.Task | None = None
        self._entered: list[Transport] = []

    async def start(self) -> None:
        for transport in self.transports.values():
            await transport.__aenter__()
            self._entered.append(transport)

    async def run_once(self) -> int:
        """Claim due deliveries and start sending them; how many were started. After an idle spell
        the claim takes FIRST_CLAIM_ROWS rows, so that the first pushes of a fan-out leave while
        the rest are still to be claimed; the next claim (the worker runs the pass again at once)
        takes as many as there are free slots."""
        if self._recorder is None:
            self._recorder = asyncio.create_task(self._record_sent_batches())
        if len(self.in_flight) >= self.max_in_flight:
            # Full: wait for a slot rather than spinning on queries.
            await asyncio.wait(self.in_flight, return_when=asyncio.FIRST_COMPLETED)
            return 1
        limit = min(self.max_in_flight - len(self.in_flight), self._next_claim_rows)
        self._all_started.clear()
        started = 0
        try:
            started = await self._claim_and_start(limit)
        finally:
            if started < limit:  # it took all that was due: no more of this fan-out to start
                self._all_started.set()
        return started

    def in_progress(self) -> bool:
        """A fan-out is being claimed or sent: the worker holds its scheduled passes back meanwhile."""
        return bool(self.in_flight) or not self._all_started.is_set()

    async def _claim_and_start(self, limit: int) -> int:
        jobs = await sync_to_async(claim_due)(worker=self.worker_name, limit=limit)
        self._next_claim_rows = self.max_in_flight if jobs else FIRST_CLAIM_ROWS
        if jobs and logger.isEnabledFor(logging.INFO):
            logger.info(
                "Deliveries claimed",
                extra={
                    "event": "deliveries.claimed",
                    "worker": self.worker_name,
                    "delivery_ids": [j.delivery_id for j in jobs],
                },
            )
        for job in jobs:
            task = asyncio.create_task(self._deliver(job))
            self.in_flight.add(task)
            task.add_done_callback(self.in_flight.discard)
            # One send's first step (its encryption and request) before the next is started, and
            # a turn of the loop between them, in which aiohttp writes the request just prepared
            # (its body goes out from a task of its own). Started all at once, every request of a
            # fan-out waited in the loop until the last of them was encrypted: 200 pushes, 100-160
            # ms before the push service saw the first (bench/push_fanout.py --probe).
            await asyncio.sleep(0)
        return len(jobs)

    async def drain(self) -> None:
        """Wait for every send started so far and record its result (tests, shutdown)."""
        while self.in_flight:
            await asyncio.gather(*list(self.in_flight), return_exceptions=True)
        await self._flush_sent()

    async def stop(self) -> None:
        await self.drain()
        if self._recorder is not None:
            async with self._flushing:
                # Never in the middle of a write: a batch it had taken and not written would be
                # lost, its rows left leased, and sent again when their leases expire.
                self._recorder.cancel()
            await asyncio.gather(self._recorder, return_exceptions=True)
            self._recorder = None
        while self._entered:
            await self._entered.pop().__aexit__(None, None, None)

    async def _record_sent_batches(self) -> None:
        while True:
            await self._sent_waiting.wait()
            await self._until_sends_settle()
            await self._flush_sent()

    async def _until_sends_settle(self) -> None:
        """Until every due send has been started (a claim found less than it asked for) and every
        send in flight has finished, or RECORD_BATCH_WAIT_SECONDS. A slow push service holds the
        others' records back by that much at most (their leases last far longer). The first sends
        of a fan-out finish while its later ones are still being claimed and started: a write then
        would run beside those."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + RECORD_BATCH_WAIT_SECONDS
        while (remaining := deadline - loop.time()) > 0:
            if not self._all_started.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._all_started.wait(), timeout=remaining)
            elif self.in_flight:
                await asyncio.wait(list(self.in_flight), timeout=remaining)
            else:
                return

    async def _flush_sent(self) -> None:
        async with self._flushing:
            self._sent_waiting.clear()
            batch, self._sent = self._sent, []
            if batch:
                await sync_to_async(record_sent_batch)(batch, worker=self.worker_name)

    async def _deliver(self, job: Job) -> None:
        transport = self.transports.get(job.channel)
        try:
            if transport is None:
                raise TransportError(f"No {job.channel} transport is configured.", permanent=True)
            status = await transport.send(job)
        except TransportError as error:
            await sync_to_async(record_failure)(job, error, worker=self.worker_name)
            logger.warning(
                "Delivery %s failed: %s",
                job.delivery_id,
                error.message,
                extra=_attempt_fields(job, error.status, "failed", permanent=error.permanent),
            )
            return
        except Exception:  # a bug in a transport must not kill the worker; the row is retried
            logger.exception("Delivery %s raised", job.delivery_id, extra=_attempt_fields(job, None, "error"))
            await sync_to_async(record_failure)(
                job, TransportError("Internal error while sending.", permanent=False), worker=self.worker_name
            )
            return
        if logger.isEnabledFor(logging.INFO):  # its fields are built per push: only when logged
            logger.info("Delivery sent", extra=_attempt_fields(job, status, "sent"))
        self._sent.append((job, status))
        self._sent_waiting.set()


def _attempt_fields(job: Job, status: int | None, outcome: str, **more) -> dict:
    """What a log line says about one attempt: ids, channel, outcome and the service's status code.
    Never the job's endpoint, keys or phone number."""
    return {
        "event": f"delivery.{outcome}",
        "delivery_id": job.delivery_id,
        "alert_id": job.alert_id,
        "incident_id": job.incident_id,
        "channel": job.channel,
        "kind": job.kind,
        "attempt": job.attempts,
        "round": job.round,
        "outcome": outcome,
        "status_code": status,
        **more,
    }


def default_transports() -> dict[str, Transport]:
    from backend.delivery.transports.webpush import WebPushTransport

    transports: dict[str, Transport] = {}
    if settings.VAPID_PRIVATE_KEY:
        transports[Channel.WEBPUSH] = WebPushTransport()
    sms = _sms_transport()
    if sms is not None:
        transports[Channel.SMS] = sms
    return transports


def _sms_transport():
    if not (settings.NOTIFY_API_KEY and settings.NOTIFY_SMS_TEMPLATE_ID):
        return None
    from backend.delivery.transports.sms import NotifySmsTransport

    return NotifySmsTransport()


def register_passes() -> None:
    """The worker's delivery passes: a heartbeat (what /healthz and the board's warning read), and
    sending what is due with the transports the settings configure."""
    scheduling.register(
        "delivery.heartbeat",
        lambda worker: Every(
            "heartbeat",
            HEARTBEAT_SECONDS,
            functools.partial(record_heartbeat, worker.name, started_at=worker.started_at),
        ),
    )
    scheduling.register("delivery.send", lambda worker: DeliveryPass(default_transports(), name=worker.name))
