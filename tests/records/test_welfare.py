"""The welfare check-in: private to its author and the welfare leads; a request for a follow-up
is emailed to the welfare leads by the delivery worker, never in the request, with no health data
in the email, and retried until the mail relay takes it."""

import datetime
import logging
import uuid

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from backend.errors import InvalidInput, NotFound
from backend.records import actions, notify
from backend.records.models import WelfareCheckIn
from backend.roles import WELFARE_LEADS
from tests.conftest import client_for
from tests.records.conftest import body, submit


@pytest.fixture
def welfare_leads(wendy):
    wendy.email = "wendy@example.org"
    wendy.save()
    other = get_user_model().objects.create_user(username="walter", email="walter@example.org", is_staff=True)
    gone = get_user_model().objects.create_user(username="wilma", email="wilma@example.org", is_active=False)
    silent = get_user_model().objects.create_user(username="wes")  # no address
    for user in (other, gone, silent):
        user.groups.add(Group.objects.get(name=WELFARE_LEADS))
    return wendy


def check_in(alert, **fields):
    return submit(alert, "welfare", **fields)


def test_a_firefighter_checks_in(alice_alert):
    record, created = check_in(alice_alert, impact=4, follow_up="trim", notes="Young patient.")
    assert created
    assert (record.impact, record.follow_up, record.notes) == (4, "trim", "Young patient.")


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({}, "impact", "Say how affected you feel, from 1 (not at all) to 5 (very much)."),
        ({"impact": 0}, "impact", "Give a whole number from 1 to 5."),
        ({"impact": 6}, "impact", "Give a whole number from 1 to 5."),
        ({"impact": "3"}, "impact", "Give a whole number from 1 to 5."),
        ({"impact": 3, "follow_up": "counselling"}, "follow_up", "Use one of: none, welfare, trim."),
        ({"impact": 3, "notes": "x" * 1001}, "notes", "Keep this to 1000 characters (it has 1001)."),
    ],
)
def test_bad_check_ins_are_refused(alice_alert, fields, field, message):
    with pytest.raises(InvalidInput) as refused:
        check_in(alice_alert, **fields)
    assert refused.value.fields == {field: [message]}


def run_the_worker(now=None) -> int:
    """One pass of the delivery worker's welfare emails (its database steps on this thread)."""
    return async_to_sync(notify.send_due_welfare_emails)(now=now)


def later(seconds: float):
    return timezone.now() + datetime.timedelta(seconds=seconds)


def addresses(outbox) -> list[str]:
    return sorted(address for message in outbox for address in message.to)


def fail_the_relay(settings):
    """A relay nobody listens on: the connection is refused at once."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 1


def mend_the_relay(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def test_a_follow_up_request_sends_no_mail_in_the_request(
    alice_alert, welfare_leads, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        check_in(alice_alert, impact=5, follow_up="trim")
    assert mailoutbox == []  # the firefighter's answer never waits for the mail relay
    row = WelfareCheckIn.objects.get()
    assert (row.welfare_leads_notified_at, row.welfare_notice_attempts) == (None, 0)
    assert notify.due_welfare_emails(timezone.now()).get() == row  # the row is the durable marker


def test_the_worker_emails_each_active_welfare_lead_once(
    alice_alert, welfare_leads, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        record, _ = check_in(alice_alert, impact=5, follow_up="trim", notes="I keep seeing her face.")

    assert run_the_worker() == 1
    assert addresses(mailoutbox) == ["walter@example.org", "wendy@example.org"]
    assert len(mailoutbox) == 2  # one message each: no lead sees who else was told
    message = mailoutbox[0]
    assert message.subject == "A firefighter asked for a welfare follow-up"
    link = f"/admin/records/welfarecheckin/{record.pk}/change/"
    assert link in message.body
    # No health data, no name, no incident: only that someone asked, and where to look. (The
    # link's id is left out of the search: the impact, 5, could be part of any id.)
    text = message.subject + message.body.replace(link, "")
    for secret in ("I keep seeing", "trim", "TRiM", "5", "alice", "Alice", "EEAST", "Example Road"):
        assert secret not in text, secret
    assert WelfareCheckIn.objects.get().welfare_leads_notified_at is not None

    assert run_the_worker(now=later(3600)) == 0  # a second pass, even much later, sends nothing
    assert len(mailoutbox) == 2


def test_no_follow_up_no_email(alice_alert, welfare_leads, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        check_in(alice_alert, impact=2, follow_up="none")
    assert run_the_worker() == 0
    assert mailoutbox == []
    assert WelfareCheckIn.objects.get().welfare_leads_notified_at is None


def test_a_request_pseudonymised_before_it_was_sent_is_not_emailed(alice_alert, welfare_leads, mailoutbox):
    check_in(alice_alert, impact=4, follow_up="welfare")
    WelfareCheckIn.objects.update(pseudonymised_at=timezone.now())
    assert run_the_worker() == 0
    assert mailoutbox == []


def test_asking_for_a_follow_up_later_emails_them_then(
    alice_alert, welfare_leads, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        check_in(alice_alert, impact=2)
    assert run_the_worker() == 0
    with django_capture_on_commit_callbacks(execute=True):
        actions.change_record(
            actor=alice_alert.responder.user,
            kind="welfare",
            alert_id=alice_alert.pk,
            idempotency_key=uuid.uuid4(),
            reason="It got worse",
            fields={"follow_up": "welfare", "impact": 4},
        )
    assert mailoutbox == []
    assert run_the_worker() == 1
    assert len(mailoutbox) == 2  # one message to each welfare lead with an address
    assert WelfareCheckIn.objects.get().welfare_leads_notified_at is not None


def test_a_failing_mail_relay_is_retried_with_backoff_then_sends_once(
    alice_alert, welfare_leads, mailoutbox, settings, django_capture_on_commit_callbacks
):
    settings.DELIVERY_RETRY_BASE_SECONDS = 60
    fail_the_relay(settings)
    with django_capture_on_commit_callbacks(execute=True):
        _, created = check_in(alice_alert, impact=5, follow_up="welfare")
    assert created  # the request itself never touched the relay

    assert run_the_worker() == 0
    row = WelfareCheckIn.objects.get()
    assert (row.welfare_leads_notified_at, row.welfare_notice_attempts) == (None, 1)
    assert row.welfare_notice_last_error.startswith("Attempt 1: ConnectionRefusedError")
    assert later(29) <= row.welfare_notice_next_attempt_at <= later(61)  # backoff: 30-60 s
    assert run_the_worker(now=later(20)) == 0  # not due yet: not even tried
    assert WelfareCheckIn.objects.get().welfare_notice_attempts == 1

    assert run_the_worker(now=later(61)) == 0  # due, tried again, failed again, waits longer
    row = WelfareCheckIn.objects.get()
    assert row.welfare_notice_attempts == 2 and "Attempt 2" in row.welfare_notice_last_error
    assert row.welfare_notice_next_attempt_at >= later(61 + 59)

    mend_the_relay(settings)
    assert run_the_worker(now=later(61 + 121)) == 1
    assert addresses(mailoutbox) == ["walter@example.org", "wendy@example.org"]
    row = WelfareCheckIn.objects.get()
    assert row.welfare_leads_notified_at is not None and row.welfare_notice_last_error == ""
    assert run_the_worker(now=later(3600)) == 0
    assert len(mailoutbox) == 2


def test_with_no_welfare_lead_to_email_the_request_waits_for_one(
    alice_alert, wendy, mailoutbox, caplog, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        check_in(alice_alert, impact=5, follow_up="welfare")
    assert run_the_worker() == 0
    assert "no active welfare lead has an email address" in caplog.text
    row = WelfareCheckIn.objects.get()
    assert row.welfare_leads_notified_at is None and row.welfare_notice_next_attempt_at > timezone.now()

    wendy.email = "wendy@example.org"
    wendy.save()
    assert run_the_worker(now=later(notify.RETRY_MAX_SECONDS + 1)) == 1
    assert addresses(mailoutbox) == ["wendy@example.org"]


def test_a_claim_whose_lease_ran_out_cannot_reschedule_the_next_claimants_attempt(
    alice_alert, welfare_leads, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        check_in(alice_alert, impact=5, follow_up="welfare")
    slow = notify.claim_due_welfare_email()
    assert notify.claim_due_welfare_email() is None  # leased: no second worker takes it
    after_the_lease = timezone.now() + notify.lease() + datetime.timedelta(seconds=1)
    taken_over = notify.claim_due_welfare_email(now=after_the_lease)
    assert (slow.attempt, taken_over.attempt) == (1, 2)
    notify.record_welfare_email_failed(slow, "timed out")
    row = WelfareCheckIn.objects.get()
    assert row.welfare_notice_next_attempt_at == after_the_lease + notify.lease()  # still the new claim's lease
    assert row.welfare_notice_last_error == ""


def test_the_logs_hold_nothing_of_the_check_in(
    alice_alert, welfare_leads, mailoutbox, settings, caplog, django_capture_on_commit_callbacks
):
    caplog.set_level(logging.DEBUG)
    fail_the_relay(settings)
    with django_capture_on_commit_callbacks(execute=True):
        check_in(alice_alert, impact=4, follow_up="trim", notes="Nightmares about the little girl.")
    run_the_worker()
    mend_the_relay(settings)
    run_the_worker(now=later(notify.RETRY_MAX_SECONDS + 1))
    assert len(mailoutbox) == 2
    welfare_lines = [r for r in caplog.records if getattr(r, "event", "").startswith("welfare_email.")]
    assert [r.event for r in welfare_lines] == ["welfare_email.failed", "welfare_email.sent"]
    for record in caplog.records:
        logged = record.getMessage() + repr(vars(record))
        for secret in ("Nightmares", "little girl", "trim", "impact", "notes", "example.org"):
            assert secret not in logged, (secret, logged)


# --- Privacy -------------------------------------------------------------------------------------------


def test_the_author_reads_their_check_in(alice_alert, alice):
    record, _ = check_in(alice_alert, impact=3)
    assert actions.open_form(actor=alice.user, kind="welfare", alert_id=alice_alert.pk).record == record


def test_a_coordinator_without_the_welfare_role_is_told_it_does_not_exist(alice_alert, carol):
    check_in(alice_alert, impact=3)
    with pytest.raises(NotFound):
        actions.open_form(actor=carol, kind="welfare", alert_id=alice_alert.pk)
    response = client_for(carol).get(f"/api/v1/alerts/{alice_alert.pk}/welfare/")
    assert response.status_code == 404
    response = client_for(carol).get("/api/v1/welfare-check-ins/")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_another_firefighter_is_told_it_does_not_exist(alice_alert, bob_alert, bob):
    check_in(alice_alert, impact=3)
    for path in (f"/api/v1/alerts/{alice_alert.pk}/welfare/", "/api/v1/welfare-check-ins/"):
        assert client_for(bob.user).get(path).status_code == 404
    response = client_for(bob.user).post(f"/api/v1/alerts/{alice_alert.pk}/welfare/", body(impact=1), format="json")
    assert response.status_code == 404
    assert WelfareCheckIn.objects.get().impact == 3


def test_a_welfare_lead_reads_every_check_in_newest_first(alice_alert, bob_alert, wendy, alice):
    older, _ = check_in(alice_alert, impact=3, follow_up="welfare")
    newer, _ = check_in(bob_alert, impact=1)
    response = client_for(wendy).get("/api/v1/welfare-check-ins/")
    assert response.status_code == 200
    results = response.json()["results"]
    assert [item["id"] for item in results] == [newer.pk, older.pk]
    assert results[1]["responder"] == {"id": alice.pk, "name": "Alice", "station": "Norwich"}
    assert (results[1]["impact"], results[1]["follow_up"], results[1]["cad_reference"]) == (3, "welfare", "EEAST-0001")


def test_a_coordinator_who_is_also_a_welfare_lead_reads_them(alice_alert, carol):
    carol.groups.add(Group.objects.get(name=WELFARE_LEADS))
    carol = get_user_model().objects.get(pk=carol.pk)  # without the permissions cached before
    check_in(alice_alert, impact=3)
    assert client_for(carol).get("/api/v1/welfare-check-ins/").status_code == 200
