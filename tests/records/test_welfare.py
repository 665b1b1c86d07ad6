"""The welfare check-in: private to its author and the welfare leads; a request for a follow-up
emails the welfare leads, with no health data in the email."""

import uuid

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from backend.accounts.roles import WELFARE_LEADS
from backend.errors import InvalidInput, NotFound
from backend.records import actions
from backend.records.models import WelfareCheckIn
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


def test_a_follow_up_request_emails_the_active_welfare_leads_after_commit(
    alice_alert, welfare_leads, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        record, _ = check_in(alice_alert, impact=5, follow_up="trim", notes="I keep seeing her face.")
    assert mailoutbox == []  # nothing before the check-in is committed
    for callback in callbacks:
        callback()

    assert sorted(address for message in mailoutbox for address in message.to) == [
        "walter@example.org",
        "wendy@example.org",
    ]
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


def test_no_follow_up_no_email(alice_alert, welfare_leads, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        check_in(alice_alert, impact=2, follow_up="none")
    assert mailoutbox == []
    assert WelfareCheckIn.objects.get().welfare_leads_notified_at is None


def test_asking_for_a_follow_up_later_emails_them_then(
    alice_alert, welfare_leads, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        check_in(alice_alert, impact=2)
        actions.change_record(
            actor=alice_alert.responder.user,
            kind="welfare",
            alert_id=alice_alert.pk,
            idempotency_key=uuid.uuid4(),
            reason="It got worse",
            fields={"follow_up": "welfare", "impact": 4},
        )
    assert len(mailoutbox) == 2  # one message to each welfare lead with an address
    assert WelfareCheckIn.objects.get().welfare_leads_notified_at is not None


def test_a_failing_mail_server_does_not_lose_the_check_in(
    alice_alert, welfare_leads, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 1
    with django_capture_on_commit_callbacks(execute=True):
        _, created = check_in(alice_alert, impact=5, follow_up="welfare")
    assert created
    assert WelfareCheckIn.objects.get().welfare_leads_notified_at is None  # not told: a later run can retry


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
