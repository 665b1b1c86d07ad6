"""Permissions-Policy (backend/headers.py): every answer says which powerful features its page may
use. The app may use the screen wake lock (CPR), audio without a tap (the alarm, the metronome) and
the position (responding); the admin, the board, the API and its docs may use none. Every other
feature is switched off by name, for the page and anything it might frame."""

import pytest
from django.test import Client
from django.urls import reverse

from backend.headers import FEATURES
from tests.conftest import admin_client_for

APP_USES = {"autoplay", "geolocation", "screen-wake-lock"}


def allowlists(response) -> dict[str, str]:
    header = response["Permissions-Policy"]
    parsed = {}
    for item in (part.strip() for part in header.split(",")):
        feature, allowlist = item.split("=", 1)
        assert feature not in parsed, f"{feature} given twice"
        parsed[feature] = allowlist
    return parsed


def assert_allows_only(response, allowed: set[str]) -> None:
    policy = allowlists(response)
    assert {feature for feature, allowlist in policy.items() if allowlist != "()"} == allowed
    assert all(policy[feature] == "(self)" for feature in allowed), policy
    # The features everyone worries about are named, so that "not named" never means "allowed".
    assert {"camera", "microphone", "geolocation", "payment", "usb", "display-capture"} <= set(policy)


@pytest.fixture
def browser(db):
    return Client()


@pytest.mark.parametrize("path", ["/", "/index.html", "/sw.js", "/icons/icon.svg", "/no-such-page"])
def test_the_app_may_use_the_wake_lock_audio_and_the_position_and_nothing_else(browser, path):
    assert_allows_only(browser.get(path), APP_USES)


@pytest.mark.parametrize(
    "path",
    ["/app/main.js", "/app/views/checklist.js", "/app/styles.css", "/manifest.webmanifest", "/icons/icon-192.png"],
)
def test_an_app_subresource_carries_no_policy(browser, path):
    """Permissions-Policy applies to documents only: a module or a stylesheet runs under its page's."""
    response = browser.get(path)

    assert response.status_code == 200
    assert "Permissions-Policy" not in response
    assert response["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("path", ["/admin/login/", "/admin/two-factor/", "/static/dispatch/board.js"])
def test_the_admin_may_use_nothing(browser, path):
    assert_allows_only(browser.get(path), set())


def test_the_board_may_use_nothing(carol):
    response = admin_client_for(carol).get(reverse("admin:dispatch_incident_board"))

    assert response.status_code == 200
    assert_allows_only(response, set())


@pytest.mark.parametrize("path", ["/api/v1/alerts/", "/api/v1/me/", "/api/v1/auth/csrf/", "/api/schema/"])
def test_the_api_may_use_nothing(alice, path):
    browser = Client()
    browser.force_login(alice.user)

    for accept in ("application/json", "text/html"):
        assert_allows_only(browser.get(path, headers={"Accept": accept}), set())
    assert_allows_only(Client().get(path), set())  # a refusal too


@pytest.mark.parametrize("path", ["/api/docs/", "/api/docs/?script="])
def test_the_api_docs_may_use_nothing(browser, path):
    assert_allows_only(browser.get(path), set())


def test_every_feature_is_named_once_in_the_list():
    assert len(FEATURES) == len(set(FEATURES))
    assert set(FEATURES) >= APP_USES
