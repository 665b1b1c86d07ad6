"""Login throttling (django-axes, settings.AXES_*): failures lock out one username from one address
for a cool-off, so a station's crews behind one shared address still log in, and the same person
can still log in from elsewhere. The app gets JSON that says when to try again; so does the admin,
as a page."""

import datetime

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.utils import timezone

from tests.api.helpers import assert_error

PASSWORD = "correct horse battery staple"
URL = "/api/v1/auth/login/"
STATION = "192.0.2.10"  # one station's shared address
ELSEWHERE = "198.51.100.7"


@pytest.fixture(autouse=True)
def fast_hashing_and_limits(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.AXES_FAILURE_LIMIT = 5
    settings.AXES_COOLOFF_TIME = datetime.timedelta(minutes=15)


@pytest.fixture
def crew(alice, bob):
    for responder in (alice, bob):
        responder.user.set_password(PASSWORD)
        responder.user.save()
    return alice, bob


def phone(address: str) -> Client:
    return Client(enforce_csrf_checks=True, REMOTE_ADDR=address)


def log_in(browser: Client, username: str, password: str):
    token = browser.get("/api/v1/auth/csrf/").json()["csrf_token"]
    return browser.post(
        URL,
        {"username": username, "password": password},
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )


def fail_times(count: int, username: str, address: str):
    response = None
    for _ in range(count):
        response = log_in(phone(address), username, "wrong password")
    return response


def test_failures_below_the_limit_are_only_wrong_credentials(crew):
    response = fail_times(4, "alice", STATION)

    assert_error(response, 400, "invalid_credentials")
    assert log_in(phone(STATION), "alice", PASSWORD).status_code == 200


def test_five_failures_lock_that_user_out_from_that_address_with_a_json_answer(crew):
    fifth = fail_times(5, "alice", STATION)

    assert_error(fifth, 429, "locked_out")
    response = log_in(phone(STATION), "alice", PASSWORD)  # even the right password

    body = assert_error(response, 429, "locked_out")
    unlock = timezone.localtime(AccessAttempt.objects.get(username="alice").attempt_time) + datetime.timedelta(
        minutes=15
    )
    assert f"Try again after {unlock:%H:%M}" in body["message"]
    assert response["Content-Type"] == "application/json"
    assert 14 * 60 <= int(response["Retry-After"]) <= 15 * 60
    assert "sessionid" not in response.cookies


def test_the_limit_comes_from_settings(crew, settings):
    settings.AXES_FAILURE_LIMIT = 2

    assert_error(fail_times(2, "alice", STATION), 429, "locked_out")


def test_another_user_at_the_same_station_still_logs_in(crew):
    fail_times(5, "alice", STATION)

    response = log_in(phone(STATION), "bob", PASSWORD)

    assert response.status_code == 200, response.content
    assert response.json()["username"] == "bob"


def test_the_same_user_from_another_address_still_logs_in(crew):
    fail_times(5, "alice", STATION)

    response = log_in(phone(ELSEWHERE), "alice", PASSWORD)

    assert response.status_code == 200, response.content


def test_the_lockout_ends_after_the_cool_off(crew):
    fail_times(5, "alice", STATION)
    assert_error(log_in(phone(STATION), "alice", PASSWORD), 429, "locked_out")

    # 15 minutes and a second pass.
    AccessAttempt.objects.update(attempt_time=timezone.now() - datetime.timedelta(minutes=15, seconds=1))

    assert log_in(phone(STATION), "alice", PASSWORD).status_code == 200


def test_a_success_clears_earlier_failures(crew):
    fail_times(4, "alice", STATION)
    assert log_in(phone(STATION), "alice", PASSWORD).status_code == 200

    assert_error(fail_times(4, "alice", STATION), 400, "invalid_credentials")


def test_the_admin_login_is_throttled_the_same_way_with_a_page(carol):
    carol.set_password(PASSWORD)
    carol.save()
    desk = Client(REMOTE_ADDR=STATION)
    for _ in range(5):
        desk.post("/admin/login/", {"username": "carol", "password": "wrong password"})

    response = desk.post("/admin/login/", {"username": "carol", "password": PASSWORD})

    assert response.status_code == 429
    assert response["Content-Type"].startswith("text/html")
    assert "Too many failed logins" in response.content.decode()
    assert "Co-responder alerting" in response.content.decode()  # the admin's own page, not a bare one
    assert "_auth_user_id" not in desk.session
    # From another desk the same coordinator gets in (to the second factor).
    other = Client(REMOTE_ADDR=ELSEWHERE)
    assert other.post("/admin/login/", {"username": "carol", "password": PASSWORD}).status_code == 302
    assert other.session["_auth_user_id"] == str(carol.pk)
