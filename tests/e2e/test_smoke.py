"""A phone opens the app: the whole product served as `make run` serves it, in Debian's Chromium.

Proves the browser test infrastructure (tests/e2e/conftest.py) end to end: the page at `/`, its
Content-Security-Policy, the manifest and the service worker, logging in through the API, and a
WebSocket under that policy."""

import re
from pathlib import Path

import pytest

from backend.headers import APP_POLICY
from tests.e2e.helpers import log_in, watch_for_problems, watch_the_console

PWA = Path(__file__).resolve().parents[2] / "pwa"


def title_of_the_index_page() -> str:
    match = re.search(r"<title>(.*?)</title>", (PWA / "index.html").read_text(encoding="utf-8"), re.S)
    return match.group(1).strip() if match else ""


def test_it_opens_the_app_at_the_root_under_its_policy(page):
    problems = watch_for_problems(page)

    response = page.goto("/")

    assert response.status == 200
    assert response.headers["content-security-policy"].startswith("; ".join(APP_POLICY))
    assert title_of_the_index_page(), "pwa/index.html has a <title>"
    assert page.title() == title_of_the_index_page()
    page.wait_for_load_state("networkidle")
    assert problems == []


@pytest.mark.skipif(
    not ((PWA / "manifest.webmanifest").exists() and (PWA / "sw.js").exists()),
    reason="the app's manifest and service worker (pwa/manifest.webmanifest, pwa/sw.js) have not landed yet",
)
def test_it_links_the_manifest_and_registers_the_service_worker(page, server):
    problems = watch_for_problems(page)
    page.goto("/")

    href = page.locator('link[rel="manifest"]').get_attribute("href")
    manifest = page.request.get(page.evaluate("href => new URL(href, location.href).href", href))
    assert manifest.ok and manifest.json()["name"]
    scope = page.evaluate(
        """() => Promise.race([
            navigator.serviceWorker.ready.then((registration) => registration.scope),
            new Promise((_, reject) => setTimeout(() => reject(new Error("no service worker became ready")), 8000)),
        ])"""
    )
    assert scope == f"{server.url}/"
    assert problems == []


def test_a_phone_logged_in_through_the_api_has_its_session_and_its_socket(phone, page, server):
    profile = log_in(phone, "ff.norwich.1")
    assert profile["roles"] == ["firefighter"]
    problems = watch_for_problems(page)
    page.goto("/")

    me = page.evaluate("() => fetch('/api/v1/me/').then((response) => response.json())")
    first_frame = page.evaluate(
        """() => new Promise((resolve, reject) => {
            const socket = new WebSocket(`ws://${location.host}/ws/responder/`);
            socket.onmessage = (message) => { resolve(JSON.parse(message.data)); socket.close(); };
            socket.onclose = (event) => reject(new Error(`closed with ${event.code}`));
            setTimeout(() => reject(new Error("no frame within 5 s")), 5000);
        })"""
    )

    assert me == profile
    assert first_frame["type"] == "sync.ready"
    assert problems == []


def test_the_login_page_logs_no_error_when_nobody_is_signed_in(page):
    """The app asks who is signed in (GET /api/v1/auth/session/), and nobody is an answer, not a
    401 in the console of every login page."""
    seen = watch_the_console(page)
    asked = []
    page.on("request", lambda request: asked.append(request.url) if "/api/v1/auth/session/" in request.url else None)

    page.goto("/")
    page.locator("form input#password").wait_for()
    page.wait_for_load_state("networkidle")

    assert seen == []
    assert asked, "the app did not ask who is signed in"


def test_a_signed_in_phone_opens_on_home_without_an_error(phone, page):
    log_in(phone, "ff.norwich.2")
    seen = watch_the_console(page)

    page.goto("/")
    page.locator(".topbar .pill-live").wait_for()

    assert "#/login" not in page.url
    assert seen == []
