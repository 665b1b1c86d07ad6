"""The worker's readiness pass (backend/delivery/readiness.py: run_scheduled_checks): a test push to
each device of an on-call responder not proven within READINESS_PROVEN_WITHIN_DAYS, outside the
quiet hours, at most once a day per device; tests with no receipt in time fail, two failures in a
row flag the device, and a proof (a test's receipt or a real alert's) clears the flag.

Times are passed in (`now`), never waited for: each test moves `now` on instead of the clock."""

import datetime
import threading

import pytest
from django.db import connection
from django.utils import timezone

from backend import scheduling
from backend.delivery import readiness
from backend.delivery.models import CheckFailure, CheckReason, CheckResult, Delivery, DeviceCheck, Kind, PushDevice
from backend.delivery.sending import claim_due, record_sent_batch
from backend.delivery.subscriptions import subscribe_device
from backend.dispatch.actions import dispatch_incident, record_push_receipt
from tests.conftest import browser_subscription

DAY = datetime.timedelta(days=1)


def register(responder, name="phone", *, days_ago=30) -> PushDevice:
    """A device registered `days_ago` days ago (the pass leaves a device alone on its first day)."""
    endpoint = f"https://fcm.googleapis.com/fcm/send/{responder.user.username}-{name}"
    device, _ = subscribe_device(
        actor=responder.user, endpoint=endpoint, label=name, **browser_subscription(endpoint)["keys"]
    )
    PushDevice.objects.filter(pk=device.pk).update(created_at=timezone.now() - days_ago * DAY)
    device.refresh_from_db()
    return device


@pytest.fixture(autouse=True)
def no_quiet_hours(settings):
    settings.READINESS_QUIET_HOURS = None
    settings.READINESS_PROVEN_WITHIN_DAYS = 7


def checks_of(device):
    return list(DeviceCheck.objects.filter(device=device).order_by("pk"))


def pass_the_check(check: DeviceCheck, *, now=None):
    """What the phone does: the worker sends the test push, the service worker posts its receipt."""
    jobs = [job for job in claim_due(worker="w", limit=50) if job.check_id == check.pk]
    record_sent_batch([(job, 201) for job in jobs], worker="w")
    [job] = jobs
    return readiness.record_test_receipt(check_id=check.pk, token=job.receipt_token, event="shown", now=now)


# --- Who is due -------------------------------------------------------------------------------------------


def test_it_sends_a_scheduled_test_to_each_device_of_an_on_call_responder_never_proven(alice):
    phone, tablet = register(alice, "phone"), register(alice, "tablet")

    assert readiness.run_scheduled_checks() == 2

    for device in (phone, tablet):
        [check] = checks_of(device)
        assert (check.reason, check.result, check.requested_by) == (CheckReason.SCHEDULED, CheckResult.PENDING, None)
        [push] = Delivery.objects.filter(device_check=check)
        assert (push.kind, push.alert, push.device) == (Kind.TEST, None, device)


def test_the_pass_costs_the_same_queries_for_one_device_as_for_twenty(stations, django_assert_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.conftest import make_firefighter

    register(make_firefighter("first", stations["norwich"]))
    with CaptureQueriesContext(connection) as one:
        assert readiness.run_scheduled_checks() == 1
    DeviceCheck.objects.all().delete()
    PushDevice.objects.all().delete()
    for number in range(20):
        register(make_firefighter(f"ff{number}", stations["norwich"]))

    with django_assert_num_queries(len(one)):
        assert readiness.run_scheduled_checks() == 20

    assert Delivery.objects.filter(kind=Kind.TEST).count() == 20


def test_a_phone_that_said_notifications_are_blocked_is_sent_no_scheduled_test(alice, bob):
    blocked, fine = register(alice), register(bob)
    PushDevice.objects.filter(pk=blocked.pk).update(permission="denied")

    assert readiness.run_scheduled_checks() == 2

    [check] = checks_of(blocked)
    assert (check.result, check.failure_code) == (CheckResult.FAILED, CheckFailure.PERMISSION)
    assert not Delivery.objects.filter(device_check=check).exists()
    assert Delivery.objects.filter(device_check__device=fine).count() == 1


def test_it_skips_a_device_proven_recently_and_tests_one_proven_too_long_ago(alice, bob):
    recent, stale = register(alice), register(bob)
    now = timezone.now()
    PushDevice.objects.filter(pk=recent.pk).update(last_proven_at=now - 6 * DAY)
    PushDevice.objects.filter(pk=stale.pk).update(last_proven_at=now - 8 * DAY)

    assert readiness.run_scheduled_checks(now=now) == 1

    assert checks_of(recent) == [] and len(checks_of(stale)) == 1


def test_it_skips_responders_off_call(alice, bob):
    register(alice)
    bobs = register(bob)
    alice.on_call = False
    alice.save()

    assert readiness.run_scheduled_checks() == 1
    assert DeviceCheck.objects.get().device == bobs


def test_it_leaves_a_device_alone_on_its_first_day(alice):
    new = register(alice, days_ago=0)
    now = timezone.now()

    assert readiness.run_scheduled_checks(now=now) == 0
    assert readiness.run_scheduled_checks(now=now + DAY + datetime.timedelta(minutes=1)) == 1
    assert len(checks_of(new)) == 1


def test_it_tests_a_device_at_most_once_a_day_whatever_became_of_the_test(alice, settings):
    device = register(alice)
    now = timezone.now()
    assert readiness.run_scheduled_checks(now=now) == 1
    # Its test failed (no receipt): the next day's pass tries again, not the next turn's.
    later = now + datetime.timedelta(seconds=settings.READINESS_RECEIPT_WAIT_SECONDS + 1)
    assert readiness.run_scheduled_checks(now=later) == 1  # the overdue test closed, nothing new
    assert readiness.run_scheduled_checks(now=now + datetime.timedelta(hours=23)) == 0
    assert len(checks_of(device)) == 1

    assert readiness.run_scheduled_checks(now=now + DAY + datetime.timedelta(minutes=1)) == 1
    assert len(checks_of(device)) == 2


# --- Quiet hours ----------------------------------------------------------------------------------------


def test_it_sends_nothing_in_the_quiet_hours_and_resumes_after(alice, settings):
    device = register(alice)
    now = timezone.now()
    settings.READINESS_QUIET_HOURS = quiet_around(now)

    assert readiness.run_scheduled_checks(now=now) == 0
    assert checks_of(device) == []

    assert readiness.run_scheduled_checks(now=now + datetime.timedelta(hours=2)) == 1


def test_the_quiet_hours_close_overdue_tests_all_the_same(alice, settings):
    device = register(alice)
    now = timezone.now()
    readiness.run_scheduled_checks(now=now)
    later = now + datetime.timedelta(seconds=settings.READINESS_RECEIPT_WAIT_SECONDS + 1)
    settings.READINESS_QUIET_HOURS = quiet_around(later)

    assert readiness.run_scheduled_checks(now=later) == 1

    assert checks_of(device)[0].result == CheckResult.FAILED


def quiet_around(moment) -> tuple[datetime.time, datetime.time]:
    """Quiet hours from an hour before `moment` (local time) to an hour after."""
    local = timezone.localtime(moment)
    start = (local - datetime.timedelta(hours=1)).time().replace(second=0, microsecond=0)
    end = (local + datetime.timedelta(hours=1)).time().replace(second=0, microsecond=0)
    return start, end


@pytest.mark.parametrize(
    ("window", "moment", "quiet"),
    [
        (("22:00", "08:00"), "23:30", True),
        (("22:00", "08:00"), "03:00", True),
        (("22:00", "08:00"), "07:59", True),
        (("22:00", "08:00"), "08:00", False),
        (("22:00", "08:00"), "12:00", False),
        (("22:00", "08:00"), "21:59", False),
        (("22:00", "08:00"), "22:00", True),
        (("01:00", "05:30"), "00:30", False),
        (("01:00", "05:30"), "01:00", True),
        (("01:00", "05:30"), "05:30", False),
    ],
)
def test_quiet_hours_may_wrap_midnight(window, moment, quiet):
    clock = datetime.time.fromisoformat
    assert readiness.in_quiet_hours(clock(moment), (clock(window[0]), clock(window[1]))) is quiet


def test_no_quiet_hours_means_never_quiet():
    assert readiness.in_quiet_hours(datetime.time(3, 0), None) is False


# --- Failures, flags and proof --------------------------------------------------------------------------


def test_a_test_with_no_receipt_in_time_fails_and_two_failures_flag_the_device(alice, settings):
    device = register(alice)
    wait = datetime.timedelta(seconds=settings.READINESS_RECEIPT_WAIT_SECONDS)
    now = timezone.now()
    readiness.run_scheduled_checks(now=now)
    assert readiness.close_overdue_checks(now=now + wait - datetime.timedelta(seconds=1)) == 0

    assert readiness.close_overdue_checks(now=now + wait + datetime.timedelta(seconds=1)) == 1

    [check] = checks_of(device)
    assert (check.result, check.failure_code) == (CheckResult.FAILED, CheckFailure.NO_RECEIPT)
    assert "did not say it showed the test" in check.failure_reason
    device.refresh_from_db()
    assert (device.failed_checks_in_a_row, device.flagged) == (1, False)
    assert device.last_failure_reason == check.failure_reason

    next_day = now + DAY + datetime.timedelta(minutes=1)
    readiness.run_scheduled_checks(now=next_day)
    readiness.close_overdue_checks(now=next_day + wait + datetime.timedelta(seconds=1))

    device.refresh_from_db()
    assert (device.failed_checks_in_a_row, device.flagged) == (2, True)


def test_closing_an_overdue_test_twice_counts_it_once(alice, settings):
    device = register(alice)
    now = timezone.now()
    readiness.run_scheduled_checks(now=now)
    later = now + datetime.timedelta(seconds=settings.READINESS_RECEIPT_WAIT_SECONDS + 1)
    assert readiness.close_overdue_checks(now=later) == 1
    assert readiness.close_overdue_checks(now=later) == 0
    device.refresh_from_db()
    assert device.failed_checks_in_a_row == 1


def test_a_test_already_over_is_not_failed_again(alice, settings):
    """The push service's refusal arriving after the overdue pass closed the test counts no more."""
    device = register(alice)
    now = timezone.now()
    readiness.run_scheduled_checks(now=now)
    [check] = checks_of(device)
    readiness.close_overdue_checks(now=now + datetime.timedelta(seconds=settings.READINESS_RECEIPT_WAIT_SECONDS + 1))

    readiness.record_test_refused(check.pk, reason="The push service refused the message (400).", now=now)

    check.refresh_from_db()
    device.refresh_from_db()
    assert (check.failure_code, device.failed_checks_in_a_row) == (CheckFailure.NO_RECEIPT, 1)


def test_a_tests_receipt_passes_it_proves_the_device_and_clears_the_flag(alice):
    device = register(alice)
    PushDevice.objects.filter(pk=device.pk).update(failed_checks_in_a_row=2)
    readiness.run_scheduled_checks()
    [check] = checks_of(device)

    passed = pass_the_check(check)

    assert passed.result == CheckResult.PASSED and passed.shown_at is not None and passed.sent_at is not None
    assert passed.duration_ms is not None and passed.duration_ms >= 0
    device.refresh_from_db()
    assert device.last_proven_at == passed.shown_at
    assert (device.failed_checks_in_a_row, device.flagged) == (0, False)
    # Proven: the next pass leaves it alone, even days later.
    assert readiness.run_scheduled_checks(now=timezone.now() + 2 * DAY) == 0


def test_a_receipt_after_the_test_was_given_up_still_proves_the_phone(alice, settings):
    device = register(alice)
    now = timezone.now()
    readiness.run_scheduled_checks(now=now)
    [check] = checks_of(device)
    jobs = claim_due(worker="w", limit=10)
    readiness.close_overdue_checks(now=now + datetime.timedelta(seconds=settings.READINESS_RECEIPT_WAIT_SECONDS + 1))

    readiness.record_test_receipt(check_id=check.pk, token=jobs[0].receipt_token, event="shown")

    check.refresh_from_db()
    device.refresh_from_db()
    assert check.result == CheckResult.PASSED and check.failure_code == ""
    assert device.last_proven_at is not None and device.failed_checks_in_a_row == 0


def test_a_real_alerts_receipt_proves_the_device(alice, incident, carol):
    device = register(alice)
    PushDevice.objects.filter(pk=device.pk).update(failed_checks_in_a_row=3)
    dispatch_incident(actor=carol, incident_id=incident.pk)
    [job] = claim_due(worker="w", limit=10)

    record_push_receipt(alert_id=job.alert_id, token=job.receipt_token, event="shown")

    device.refresh_from_db()
    assert device.last_proven_at == Delivery.objects.get(pk=job.delivery_id).shown_at
    assert (device.failed_checks_in_a_row, device.flagged) == (0, False)
    assert readiness.run_scheduled_checks() == 0


def test_a_later_proof_never_moves_the_proven_time_back(alice):
    device = register(alice)
    now = timezone.now()
    readiness.record_proof(device_id=device.pk, at=now)
    readiness.record_proof(device_id=device.pk, at=now - DAY)
    device.refresh_from_db()
    assert device.last_proven_at == now


def test_a_test_the_push_service_refuses_fails_at_once(alice):
    from backend.delivery.sending import record_failure
    from backend.delivery.transports import TransportError

    device = register(alice)
    readiness.run_scheduled_checks()
    [job] = claim_due(worker="w", limit=10)

    record_failure(
        job, TransportError("The push service refused the message (400).", permanent=True, status=400), worker="w"
    )

    [check] = checks_of(device)
    assert (check.result, check.failure_code) == (CheckResult.FAILED, CheckFailure.REFUSED)
    assert "refused the message (400)" in check.failure_reason
    device.refresh_from_db()
    assert device.failed_checks_in_a_row == 1


def test_a_test_over_before_its_push_went_is_not_sent(alice, settings):
    device = register(alice)
    now = timezone.now()
    readiness.run_scheduled_checks(now=now)
    readiness.close_overdue_checks(now=now + datetime.timedelta(seconds=settings.READINESS_RECEIPT_WAIT_SECONDS + 1))

    assert claim_due(worker="w", limit=10) == []
    [push] = Delivery.objects.filter(device_check__device=device)
    assert (push.state, push.last_error) == ("cancelled", "Not sent: the test is over.")


def test_the_delivery_app_registers_the_pass():
    identity = scheduling.WorkerIdentity(name="w", started_at=timezone.now())
    passes = {p.name: p for p in scheduling.registered_passes(identity)}
    assert passes["readiness"].every_seconds == readiness.PASS_SECONDS


@pytest.mark.django_db(transaction=True)
def test_workers_running_the_pass_at_once_test_each_phone_once(stations):
    if connection.vendor != "postgresql":
        pytest.skip("SKIP LOCKED is PostgreSQL's; SQLite serialises writers, so there is no race to test")
    from tests.conftest import make_firefighter

    for number in range(30):
        register(make_firefighter(f"ff{number}", stations["norwich"]))
    start = threading.Barrier(4)
    started: list[int] = []

    def work():
        start.wait()
        for _ in range(3):
            started.append(readiness.run_scheduled_checks())
        connection.close()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sum(started) == 30
    assert DeviceCheck.objects.count() == 30
    assert DeviceCheck.objects.values("device").distinct().count() == 30
