"""POST /api/v1/auth/login/: the app logs a firefighter in with a session, as Django's login view
does; a failure never says which part was wrong."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from tests.api.helpers import assert_error, assert_matches

PASSWORD = "correct horse battery staple"
URL = "/api/v1/auth/login/"


@pytest.fixture(autouse=True)
def fast_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def alice_with_password(alice):
    alice.user.set_password(PASSWORD)
    alice.user.save()
    return alice


@pytest.fixture
def browser(db):
    return Client(enforce_csrf_checks=True)


def csrf_token(browser) -> str:
    return browser.get("/api/v1/auth/csrf/").json()["csrf_token"]


def log_in(browser, username, password, *, token=None):
    headers = {"X-CSRFToken": token if token is not None else csrf_token(browser)}
    return browser.post(
        URL, {"username": username, "password": password}, content_type="application/json", headers=headers
    )


def test_it_logs_a_firefighter_in_and_answers_with_their_profile(browser, alice_with_password):
    response = log_in(browser, "alice", PASSWORD)

    assert response.status_code == 200, response.content
    assert_matches("me", response.json())
    assert response.json() == browser.get("/api/v1/me/").json()
    assert response.json()["roles"] == ["firefighter"]
    assert response.cookies["sessionid"].value
    assert "no-store" in response["Cache-Control"]


def test_it_logs_a_coordinator_in(browser, carol):
    carol.set_password(PASSWORD)
    carol.save()

    response = log_in(browser, "carol", PASSWORD)

    assert response.status_code == 200
    assert response.json()["roles"] == ["coordinator"]


@pytest.mark.parametrize(
    ("username", "password"),
    [("alice", "wrong password"), ("nobody-called-this", PASSWORD), ("ALICE", PASSWORD), ("alice", "")],
    ids=["wrong password", "unknown user", "wrong case", "empty password"],
)
def test_it_refuses_wrong_credentials_without_saying_which_part_was_wrong(
    browser, alice_with_password, username, password
):
    response = log_in(browser, username, password)

    if password == "":
        # An empty field is a form error, like any missing field; it says nothing about the account.
        assert_error(response, 400, "invalid", field="password")
    else:
        error = assert_error(response, 400, "invalid_credentials")
        assert error == {"code": "invalid_credentials", "message": "Wrong username or password.", "fields": {}}
    assert_error(browser.get("/api/v1/me/"), 401)


def test_it_refuses_a_deactivated_user_with_the_same_answer(browser, alice_with_password):
    get_user_model().objects.filter(pk=alice_with_password.user.pk).update(is_active=False)
    wrong = log_in(browser, "alice", "wrong password").json()

    response = log_in(browser, "alice", PASSWORD)

    assert response.status_code == 400
    assert response.json() == wrong
    assert_error(browser.get("/api/v1/me/"), 401)


def test_it_needs_the_csrf_token(browser, alice_with_password):
    csrf_token(browser)  # the cookie is there, but the header is not

    response = browser.post(URL, {"username": "alice", "password": PASSWORD}, content_type="application/json")

    assert_error(response, 403, "permission_denied")
    assert "CSRF" in response.json()["error"]["message"]
    assert_error(browser.get("/api/v1/me/"), 401)


def test_it_refuses_a_token_that_does_not_match_the_cookie(browser, alice_with_password):
    csrf_token(browser)
    assert_error(log_in(browser, "alice", PASSWORD, token="x" * 32), 403)


def test_it_starts_a_new_session_and_a_new_csrf_token(browser, alice_with_password):
    """No session fixation, and a token read before logging in no longer works (Django rotates
    it): the app reads the csrftoken cookie again, or GETs /auth/csrf/, after logging in."""
    old_token = csrf_token(browser)
    browser.session.save()
    old_session_key = browser.session.session_key

    response = log_in(browser, "alice", PASSWORD, token=old_token)

    assert response.status_code == 200
    assert browser.cookies["sessionid"].value != old_session_key
    new_token = browser.cookies["csrftoken"].value
    assert new_token and new_token != old_token
    patch = {"path": "/api/v1/me/", "data": {"on_call": False}, "content_type": "application/json"}
    assert_error(browser.patch(**patch, headers={"X-CSRFToken": old_token}), 403)
    assert browser.patch(**patch, headers={"X-CSRFToken": new_token}).status_code == 200


def test_it_needs_a_username_and_a_password(browser, db):
    error = assert_error(
        browser.post(URL, {}, content_type="application/json", headers={"X-CSRFToken": csrf_token(browser)}), 400
    )
    assert set(error["fields"]) == {"username", "password"}


def test_logging_in_as_someone_else_replaces_the_first_session(browser, alice_with_password, bob):
    bob.user.set_password(PASSWORD)
    bob.user.save()
    log_in(browser, "alice", PASSWORD)

    response = log_in(browser, "bob", PASSWORD)

    assert response.json()["username"] == "bob"
    assert browser.get("/api/v1/me/").json()["username"] == "bob"
