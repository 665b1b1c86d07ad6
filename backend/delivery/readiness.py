"""Readiness: proof that each phone will ring, before it is needed (docs/delivery.md, "Readiness").

A device is *proven* when its service worker said it showed a push: a real alert's receipt or a
test's. A test (a DeviceCheck) is one push of kind "test" through the same path as an alert (the
outbox, a worker, the push service, the service worker), carrying a receipt token like an alert's;
the receipt completes it. It fails when the phone says notifications are not allowed, when the push
service refuses the push for good, or when no receipt comes within READINESS_RECEIPT_WAIT_SECONDS.
Two failures in a row flag the device (PushDevice.flagged) until it is proven again.

Tests start when the firefighter taps "Test my alerts" (`request_test`), and from the worker's
readiness pass (`run_scheduled_checks`): each device of an on-call responder not proven within
READINESS_PROVEN_WITHIN_DAYS, outside READINESS_QUIET_HOURS, at most once a day per device.
"""

import datetime
import logging
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from backend import scheduling
from backend.accounts.access import responder_of
from backend.delivery import receipts
from backend.delivery.models import (
    Channel,
    CheckFailure,
    CheckReason,
    CheckResult,
    Delivery,
    DeviceCheck,
    Kind,
    Permission,
    PushDevice,
)
from backend.errors import NotFound
from backend.scheduling import Every

logger = logging.getLogger(__name__)

# How often the worker looks for overdue tests and devices due a check. A test's receipt wait is
# at least 10 s, so a test is closed within a minute of its deadline.
PASS_SECONDS = 30
ONE_A_DAY = datetime.timedelta(hours=24)

FAILURE_REASONS = {
    CheckFailure.PERMISSION: "Notifications are not allowed for the app on this phone.",
    CheckFailure.NO_RECEIPT: "The phone did not say it showed the test within {seconds} s.",
    CheckFailure.REFUSED: "The push service refused the test: {detail}",
}


# --- Whose device, whose test: the look-ups the API uses -----------------------------------------------


def access_own_device(actor, endpoint: str) -> PushDevice:
    """The actor's own device, named by its push endpoint (which only that browser knows). Another
    user's endpoint is answered as an unknown one: the answer says nothing of whose it is."""
    responder_of(actor)
    device = PushDevice.objects.filter(user=actor, subscription__endpoint=endpoint).first()
    if device is None:
        # No field errors: a refusal says nothing of another user's subscription.
        raise NotFound("This phone is not registered for alerts: turn on notifications first.")
    return device


def access_own_check(actor, check_id: int) -> DeviceCheck:
    """One of the actor's own devices' tests, or NotFound (another user's as an unknown one)."""
    responder_of(actor)
    check = DeviceCheck.objects.filter(pk=check_id, device__user=actor).select_related("device").first()
    if check is None:
        raise NotFound("No such test of your phones.")
    return check


# --- What the app says of itself ------------------------------------------------------------------------


def report_state(
    *,
    actor,
    endpoint: str,
    platform: str,
    installed: bool,
    permission: str,
    now: datetime.datetime | None = None,
) -> PushDevice:
    """The app's word on its own device, at start and with each test: its platform, whether it runs
    installed (standalone), and the notification permission. (That a push subscription is present
    is the endpoint itself: a phone without one has no device to report on.)"""
    device = access_own_device(actor, endpoint)
    device.platform, device.installed, device.permission = platform, installed, permission
    device.state_reported_at = now or timezone.now()
    device.save(update_fields=["platform", "installed", "permission", "state_reported_at"])
    return device


# --- Starting a test -----------------------------------------------------------------------------------


def request_test(*, actor, endpoint: str, state: dict | None = None, now: datetime.datetime | None = None):
    """The firefighter tapped "Test my alerts" on their own device: returns (the check, whether it
    is new). A test still waiting for this device's receipt is returned as it is, not doubled. With
    the app's state (report_state's fields) it is recorded first; a phone that says notifications
    are not allowed fails at once, since no push can be shown there, and is told what to do."""
    now = now or timezone.now()
    device = access_own_device(actor, endpoint)
    if state:
        device = report_state(actor=actor, endpoint=endpoint, now=now, **state)
    with transaction.atomic():
        device = PushDevice.objects.select_for_update().get(pk=device.pk)
        waiting = device.checks.filter(result=CheckResult.PENDING, created_at__gte=now - _receipt_wait()).first()
        if waiting is not None:
            return waiting, False
        [check] = start_checks([device], reason=CheckReason.ASKED, requested_by=actor, now=now)
    return check, True


def start_checks(devices: list[PushDevice], *, reason: str, requested_by=None, now: datetime.datetime) -> list:
    """One test of each device, in the caller's transaction: the checks and their pending pushes
    (two INSERTs, however many devices), and the workers woken once after commit (as a dispatch's
    pushes are). A phone whose last word is that notifications are blocked gets no push: its test
    fails at once."""
    if not devices:
        return []
    checks = DeviceCheck.objects.bulk_create(
        [DeviceCheck(device=device, reason=reason, requested_by=requested_by) for device in devices]
    )
    blocked = {check.pk for check in checks if check.device.permission not in ("", Permission.GRANTED)}
    for check in checks:
        if check.pk not in blocked:
            continue
        _fail(DeviceCheck.objects.filter(pk=check.pk), CheckFailure.PERMISSION, now=now)
        check.refresh_from_db()
    pushes = [
        Delivery(
            device_check=check,
            channel=Channel.WEBPUSH,
            kind=Kind.TEST,
            device=check.device,
            next_attempt_at=now,
            target=urlsplit(check.device.subscription.endpoint).hostname or "",
        )
        for check in checks
        if check.pk not in blocked
    ]
    if pushes:
        Delivery.objects.bulk_create(pushes)
        scheduling.wake_workers_on_commit()
    for check in checks:
        _log_after_commit("Device test started", event="readiness.test_started", check=check)
    return checks


def why_not_to_send(*, device_id: int | None, check_result: str) -> str:
    """The outbox asks before sending a test push (sending.claim_due, from the claimed row's
    columns): a removed device, or a test already over (it timed out waiting for a retry), needs
    none."""
    if device_id is None:
        return "Not sent: the device's subscription was removed."
    if check_result != CheckResult.PENDING:
        return "Not sent: the test is over."
    return ""


# --- Results --------------------------------------------------------------------------------------------


def record_tests_sent(check_ids, *, now: datetime.datetime) -> None:
    """The push service accepted these tests' pushes (the first acceptance is kept)."""
    if check_ids:
        DeviceCheck.objects.filter(pk__in=list(check_ids), sent_at__isnull=True).update(sent_at=now)


def record_test_refused(check_id: int, *, reason: str, now: datetime.datetime) -> None:
    """The push service refused the test's push for good (sending.record_failure)."""
    _fail(DeviceCheck.objects.filter(pk=check_id), CheckFailure.REFUSED, now=now, detail=reason)


def record_test_receipt(*, check_id: int, token: str, event: str, now: datetime.datetime | None = None) -> DeviceCheck:
    """The phone's service worker showed (or its firefighter tapped) the test's notification, and
    says so with the token its push carried (no session: receipts.py). The test passes and the
    device is proven, even when the receipt comes after the test was given up for lost: the phone
    did ring. Refuses a token that is not one of this test's pushes, and a replay, as for alerts."""
    now = now or timezone.now()
    with transaction.atomic():
        delivery = receipts.record_check_receipt(check_id=check_id, token=token, event=event, now=now)
        DeviceCheck.objects.filter(pk=check_id, shown_at__isnull=True).update(
            shown_at=delivery.shown_at,
            result=CheckResult.PASSED,
            failure_code="",
            failure_reason="",
            finished_at=now,
        )
        if delivery.device_id is not None:
            record_proof(device_id=delivery.device_id, at=delivery.shown_at)
        check = DeviceCheck.objects.get(pk=check_id)
    _log_after_commit(f"Device test receipt: {event}", event=f"readiness.test_{event}", check=check)
    return check


def record_proof(*, device_id: int, at: datetime.datetime) -> None:
    """The device showed a push (an alert's receipt, or a test's): proven at `at` (never moved
    back), and its run of failed checks ends."""
    PushDevice.objects.filter(pk=device_id).update(
        last_proven_at=Greatest(Coalesce("last_proven_at", Value(at)), Value(at)),
        failed_checks_in_a_row=0,
    )


def close_overdue_checks(*, now: datetime.datetime) -> int:
    """Tests still waiting for a receipt after READINESS_RECEIPT_WAIT_SECONDS have failed."""
    overdue = DeviceCheck.objects.filter(result=CheckResult.PENDING, created_at__lt=now - _receipt_wait())
    closed = 0
    for check_id in list(overdue.values_list("pk", flat=True)):
        closed += _fail(DeviceCheck.objects.filter(pk=check_id), CheckFailure.NO_RECEIPT, now=now)
    return closed


def _fail(checks: QuerySet, code: str, *, now: datetime.datetime, detail: str = "") -> int:
    """Fail a pending check once (a conditional UPDATE: a receipt, a refusal and the overdue pass
    may race), and count it against its device."""
    reason = FAILURE_REASONS[code].format(seconds=settings.READINESS_RECEIPT_WAIT_SECONDS, detail=detail)[:200]
    with transaction.atomic():
        check = checks.first()
        if check is None:
            return 0
        # Only a pending check fails: of a refusal and the overdue pass racing, one counts.
        failed = DeviceCheck.objects.filter(pk=check.pk, result=CheckResult.PENDING).update(
            result=CheckResult.FAILED, failure_code=code, failure_reason=reason, finished_at=now
        )
        if not failed:
            return 0
        PushDevice.objects.filter(pk=check.device_id).update(
            failed_checks_in_a_row=F("failed_checks_in_a_row") + 1,
            last_failure_at=now,
            last_failure_reason=reason,
        )
    _log_after_commit("Device test failed", event="readiness.test_failed", check=check, failure_code=code)
    return 1


# --- The scheduled pass ---------------------------------------------------------------------------------


def in_quiet_hours(moment: datetime.time, window: tuple[datetime.time, datetime.time] | None) -> bool:
    """Whether a local time of day falls in the quiet window [start, end), which may wrap midnight."""
    if window is None:
        return False
    start, end = window
    if start < end:
        return start <= moment < end
    return moment >= start or moment < end


def devices_due_for_check(*, now: datetime.datetime) -> QuerySet:
    """Devices of on-call responders not proven within READINESS_PROVEN_WITHIN_DAYS (or never),
    with no test begun in the last 24 hours (whatever became of it), and registered more than 24
    hours ago: at enrolment the app offers "Test my alerts" with the phone in the firefighter's
    hand, and a scheduled push minutes later would only repeat it."""
    recent_check = DeviceCheck.objects.filter(device=OuterRef("pk"), created_at__gte=now - ONE_A_DAY)
    stale = now - datetime.timedelta(days=settings.READINESS_PROVEN_WITHIN_DAYS)
    return (
        PushDevice.objects.filter(user__responder__on_call=True, user__is_active=True, created_at__lt=now - ONE_A_DAY)
        .filter(Q(last_proven_at__isnull=True) | Q(last_proven_at__lt=stale))
        .filter(~Exists(recent_check))
        .select_related("subscription")
        .order_by("pk")
    )


def run_scheduled_checks(*, now: datetime.datetime | None = None) -> int:
    """The worker's readiness pass: close overdue tests, then (outside the quiet hours) start a test
    of each device due one. How many tests it closed or started.

    Each device is locked while its test is started (SKIP LOCKED on PostgreSQL: a device another
    worker holds is left to it), and the "none in the last day" rule is read again once the locks
    are held: the locking query's snapshot may predate another worker's commit of a test."""
    now = now or timezone.now()
    done = close_overdue_checks(now=now)
    if in_quiet_hours(timezone.localtime(now).time(), settings.READINESS_QUIET_HOURS):
        return done
    with transaction.atomic():
        locked = list(devices_due_for_check(now=now).select_for_update(skip_locked=True, of=("self",)))
        tested_meanwhile = set(
            DeviceCheck.objects.filter(device__in=locked, created_at__gte=now - ONE_A_DAY).values_list(
                "device_id", flat=True
            )
        )
        due = [device for device in locked if device.pk not in tested_meanwhile]
        start_checks(due, reason=CheckReason.SCHEDULED, now=now)
    return done + len(due)


def register_passes() -> None:
    scheduling.register("delivery.readiness", lambda worker: Every("readiness", PASS_SECONDS, run_scheduled_checks))


# --- What the app and the on-call answer say ------------------------------------------------------------


def is_proven(device: PushDevice, *, now: datetime.datetime) -> bool:
    stale = now - datetime.timedelta(days=settings.READINESS_PROVEN_WITHIN_DAYS)
    return device.last_proven_at is not None and device.last_proven_at >= stale


def readiness_of(user, *, now: datetime.datetime | None = None) -> dict:
    """The firefighter's phones at a glance, and a warning when none is proven (the on-call answer
    and the app show it; the coordinators' readiness view reads the same fields)."""
    now = now or timezone.now()
    devices = list(PushDevice.objects.filter(user=user))
    proven = [device for device in devices if is_proven(device, now=now)]
    flagged = [device for device in devices if device.flagged]
    warning = None
    if not devices:
        warning = "No phone of yours is registered for alerts: open the app on your phone and turn on notifications."
    elif not proven:
        warning = (
            f"None of your phones has shown an alert or a test in the last {settings.READINESS_PROVEN_WITHIN_DAYS} "
            "days: tap “Test my alerts” in the app to check that alerts get through."
        )
    elif flagged:
        warning = "A phone of yours failed its last two tests: open the app on it and tap “Test my alerts”."
    return {"devices": len(devices), "proven_devices": len(proven), "flagged_devices": len(flagged), "warning": warning}


def _receipt_wait() -> datetime.timedelta:
    return datetime.timedelta(seconds=settings.READINESS_RECEIPT_WAIT_SECONDS)


def _log_after_commit(message: str, *, event: str, check: DeviceCheck, **more) -> None:
    """Ids only: never the endpoint or anything of the phone's owner."""
    fields = {"event": event, "check_id": check.pk, "device_id": check.device_id, "check_kind": check.reason, **more}
    transaction.on_commit(lambda: logger.info(message, extra=fields))
