"""GET /api/v1/auth/csrf/: the token the app sends as X-CSRFToken, for anyone."""

from django.test import Client

from tests.api.helpers import assert_matches
from tests.conftest import client_for


def test_it_gives_an_anonymous_browser_a_token_and_the_cookie(db):
    response = Client(enforce_csrf_checks=True).get("/api/v1/auth/csrf/")

    assert response.status_code == 200
    assert_matches("csrf_token", response.json())
    assert response.cookies["csrftoken"].value
    assert "no-store" in response["Cache-Control"]


def test_its_token_lets_a_logged_in_browser_change_things(alice):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice.user)
    token = browser.get("/api/v1/auth/csrf/").json()["csrf_token"]

    response = browser.patch(
        "/api/v1/me/", {"on_call": False}, content_type="application/json", headers={"X-CSRFToken": token}
    )

    assert response.status_code == 200, response.content


def test_it_answers_a_logged_in_user_too(alice):
    assert client_for(alice.user).get("/api/v1/auth/csrf/").status_code == 200
