"""POST /api/v1/auth/logout/: the session ends; CSRF-protected; harmless when already logged out."""

import pytest
from django.test import Client

from tests.api.helpers import assert_error

URL = "/api/v1/auth/logout/"


@pytest.fixture
def browser(alice):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice.user)
    return browser


def csrf_token(browser) -> str:
    return browser.get("/api/v1/auth/csrf/").json()["csrf_token"]


def test_it_ends_the_session(browser):
    assert browser.get("/api/v1/me/").status_code == 200

    response = browser.post(URL, headers={"X-CSRFToken": csrf_token(browser)})

    assert response.status_code == 204
    assert response.content == b""
    assert response.cookies["sessionid"].value == ""  # the browser is told to drop it
    assert_error(browser.get("/api/v1/me/"), 401)


def test_it_needs_the_csrf_token(browser):
    csrf_token(browser)

    assert_error(browser.post(URL), 403, "permission_denied")
    assert browser.get("/api/v1/me/").status_code == 200


def test_it_is_harmless_when_nobody_is_logged_in(db):
    browser = Client(enforce_csrf_checks=True)
    token = csrf_token(browser)

    assert browser.post(URL, headers={"X-CSRFToken": token}).status_code == 204
    assert browser.post(URL, headers={"X-CSRFToken": token}).status_code == 204
