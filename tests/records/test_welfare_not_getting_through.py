"""Trial 11: a firefighter asked for a welfare conversation; the demo's welfare lead had no email
address, the worker retried in silence (ten attempts), /healthz said ok and nothing on the board or
the admin's home said so: only the check-in's own page, which coordinators cannot read. Now the demo
gives its welfare lead an address, and while a request is not reaching the welfare leads (no lead
with an address, or the mail relay refusing it again and again) the admin's home and both live boards
say how many, and why, with nothing of the check-ins; the link to them is only for welfare leads."""

import io
import logging
import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse

from backend.accounts.management.commands.load_demo_data import DEMO_WELFARE_EMAIL
from backend.records import notices, notify
from backend.records.models import WelfareCheckIn
from tests.conftest import admin_client_for
from tests.records.conftest import submit
from tests.records.test_welfare import fail_the_relay, later, run_the_worker

NOTES = "Cannot stop thinking about it."
NO_ADDRESS = "No active welfare lead has an email address"
LIST_LINK = re.compile(rb'href="/admin/records/welfarecheckin/\?welfare_emails=undelivered"')


@pytest.fixture
def request_for_follow_up(alice_alert, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        record, _ = submit(alice_alert, "welfare", impact=5, follow_up="welfare", notes=NOTES)
    return record


def page(user, url) -> str:
    response = admin_client_for(user).get(url)
    assert response.status_code == 200, url
    return response.content.decode()


def pages_of_the_coordinators() -> list[str]:
    return [reverse("admin:index"), reverse("admin:dispatch_incident_board"), reverse("board")]


def test_the_demo_s_welfare_lead_has_an_email_address(db, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("load_demo_data", stdout=io.StringIO())
    welfare = get_user_model().objects.get(username="welfare")
    assert welfare.email == DEMO_WELFARE_EMAIL
    assert notify.welfare_lead_addresses() == [DEMO_WELFARE_EMAIL]
    # A demo database loaded before it was given gets it; an address set since is kept.
    get_user_model().objects.filter(pk=welfare.pk).update(email="")
    call_command("load_demo_data", stdout=io.StringIO())
    welfare.refresh_from_db()
    assert welfare.email == DEMO_WELFARE_EMAIL
    get_user_model().objects.filter(pk=welfare.pk).update(email="sam.okafor@example.org")
    call_command("load_demo_data", stdout=io.StringIO())
    welfare.refresh_from_db()
    assert welfare.email == "sam.okafor@example.org"


def test_with_no_welfare_lead_to_email_the_coordinators_are_told_how_many_and_nothing_more(
    request_for_follow_up, alice_alert, carol, wendy, caplog
):
    run_the_worker()
    for url in pages_of_the_coordinators():
        html = page(carol, url)
        assert 'id="welfare-notice"' in html, url
        assert "1 welfare follow-up request not reaching the welfare leads." in html, url
        assert f"{NO_ADDRESS}: give one an address." in html, url
        assert "Only a welfare lead may read them: tell one." in html, url
        # Nothing of the check-in: no link to it, no words of it, no name, no incident.
        assert not LIST_LINK.search(html.encode()), url
        assert NOTES not in html and "welfarecheckin/" not in html, url
        notice = re.search(r'<p [^>]*id="welfare-notice".*?</p>', html, re.S).group(0)
        assert alice_alert.incident.cad_reference not in notice
        assert alice_alert.responder.display_name not in notice


def test_a_welfare_lead_follows_the_notice_to_them_and_a_coordinator_cannot(request_for_follow_up, carol, wendy):
    run_the_worker()
    home = page(wendy, reverse("admin:index"))
    link = LIST_LINK.search(home.encode())
    assert link and "Only a welfare lead may read them" not in home
    url = link.group(0)[len(b'href="') : -1].decode()
    listed = page(wendy, url)
    assert f"/admin/records/welfarecheckin/{request_for_follow_up.pk}/change/" in listed
    # To a coordinator the list still does not exist (records/admin.py), link or no link.
    assert admin_client_for(carol).get(url).status_code == 404


def test_a_request_the_relay_keeps_refusing_is_told_after_some_attempts(request_for_follow_up, carol, wendy, settings):
    wendy.email = "wendy@example.org"
    wendy.save()
    fail_the_relay(settings)
    for attempt in range(1, notify.UNDELIVERED_AFTER_ATTEMPTS + 1):
        assert notices.welfare_notice_for(carol) is None, f"before attempt {attempt}"
        assert run_the_worker(now=later(notify.RETRY_MAX_SECONDS * 2 * attempt)) == 0
    html = page(carol, reverse("admin:index"))
    assert "1 welfare follow-up request not reaching the welfare leads." in html
    assert "Emailing the welfare leads keeps failing (the mail relay)." in html


def test_no_notice_when_nothing_is_waiting_or_for_those_who_do_not_watch_the_board(
    request_for_follow_up, alice, carol, wendy, mailoutbox
):
    run_the_worker()
    assert notices.welfare_notice_for(alice) is None  # a firefighter
    assert notices.welfare_notice_for(carol).count == 1
    wendy.email = "wendy@example.org"
    wendy.save()
    assert run_the_worker(now=later(notify.RETRY_MAX_SECONDS + 1)) == 1
    assert notices.welfare_notice_for(carol) is None
    assert 'id="welfare-notice"' not in page(carol, reverse("admin:index"))


def test_each_attempt_is_counted_once_and_logged_with_its_number(request_for_follow_up, caplog):
    """The trial read the log's count as going from 9 back to 1: it went 1 to 10 (attempt=10), as
    stored; the line with no address now says its attempt in its words too."""
    caplog.set_level(logging.WARNING, logger="backend.records.notify")
    for attempt in range(1, 11):
        run_the_worker(now=later(notify.RETRY_MAX_SECONDS * 2 * attempt))
    logged = [record.attempt for record in caplog.records if record.event == "welfare_email.no_address"]
    assert logged == list(range(1, 11))
    assert [f"(attempt {n})" in record.getMessage() for n, record in zip(logged, caplog.records, strict=True)] == [
        True
    ] * 10
    row = WelfareCheckIn.objects.get()
    assert row.welfare_notice_attempts == 10
    assert row.welfare_notice_last_error == f"Attempt 10: {notify.NO_ADDRESS}"
