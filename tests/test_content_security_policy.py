"""The Content-Security-Policy (backend/pwa.py): the app's pages may load and connect to nothing
but this origin (and its own WebSockets); the admin has a policy of its own; the API has none."""

import re
from urllib.parse import urljoin

import pytest
from django.test import Client
from django.urls import reverse

from backend.dispatch.actions import dispatch_incident
from tests.conftest import admin_client_for


def directives(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    parsed = {}
    for directive in filter(None, (part.strip() for part in header.split(";"))):
        name, *values = directive.split()
        assert name not in parsed, f"{name} given twice"
        parsed[name] = values
    return parsed


@pytest.fixture
def browser(db):
    return Client()


@pytest.mark.parametrize("path", ["/", "/no-such-page"])
def test_the_app_may_use_only_its_own_origin(browser, path):
    policy = directives(browser.get(path))

    assert policy == {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'", "ws://testserver", "wss://testserver"],
        "worker-src": ["'self'"],
        "manifest-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }


def test_the_sockets_allowed_are_this_hosts(browser):
    policy = directives(browser.get("/", headers={"Host": "localhost:8000"}))
    assert policy["connect-src"] == ["'self'", "ws://localhost:8000", "wss://localhost:8000"]


def test_a_host_that_is_not_allowed_gets_no_socket_sources(browser):
    response = browser.get("/", headers={"Host": "evil.example"})
    assert directives(response)["connect-src"] == ["'self'"]


def test_the_admin_has_its_own_strict_policy(browser):
    policy = directives(browser.get("/admin/login/"))

    assert policy["script-src"] == ["'self'"] and policy["style-src"] == ["'self'"]
    assert policy["connect-src"] == ["'self'", "ws://testserver", "wss://testserver"]  # the live board
    assert policy["worker-src"] == ["'none'"] and policy["manifest-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]


@pytest.mark.parametrize("path", ["/api/v1/checklist/", "/api/docs/", "/api/schema/"])
def test_the_api_has_no_policy(browser, path):
    """The browsable API and the API docs page are DRF's and drf-spectacular's, with inline scripts."""
    assert "Content-Security-Policy" not in browser.get(path)


def test_no_policy_ever_allows_inline_code_or_other_hosts(browser):
    for path in ("/", "/admin/login/"):
        header = browser.get(path)["Content-Security-Policy"]
        assert "unsafe" not in header and "*" not in header and "https:" not in header


INLINE_CODE = [
    re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I),  # a script element without src
    re.compile(r"\son[a-z]+\s*=", re.I),  # onclick=, onload=, ...
    re.compile(r"\sstyle\s*=", re.I),
    re.compile(r"<style", re.I),
    re.compile(r"javascript:", re.I),
]


def test_the_admin_pages_coordinators_use_have_no_inline_code(carol, incident, alice):
    """What makes the admin's strict policy safe: none of its pages needs inline script or style.
    (JSON data blocks, <script type="application/json">, are data, not code, and allowed.)"""
    dispatch_incident(actor=carol, incident_id=incident.pk)
    coordinator = admin_client_for(carol)
    pages = [
        "/admin/",
        reverse("admin:dispatch_incident_changelist"),
        reverse("admin:dispatch_incident_add"),
        reverse("admin:dispatch_incident_change", args=[incident.pk]),
        reverse("admin:dispatch_incident_board"),
        reverse("admin:dispatch_alert_changelist"),
        reverse("admin:checklists_onsceneevent_changelist"),
        reverse("admin:accounts_responder_changelist"),
        reverse("admin:accounts_responder_change", args=[alice.pk]),
    ]
    for page in pages:
        response = coordinator.get(page)
        assert response.status_code == 200, page
        html = re.sub(r'<script type="application/json"[^>]*>.*?</script>', "", response.content.decode(), flags=re.S)
        for pattern in INLINE_CODE:
            assert not pattern.search(html), (page, pattern.pattern, pattern.search(html))


MODULE_IMPORT = re.compile(r"^\s*(?:import|export)\s[^;]*?from\s+\"([^\"]+)\"|^\s*import\s+\"([^\"]+)\"", re.M)


def test_the_board_loads_the_apps_socket_client_and_labels_under_the_admins_policy(carol):
    """The board (/static/dispatch/board.js) imports the app's modules from /app/ (served from pwa/):
    every module it needs, followed import by import, is on this origin, which is all the admin's
    `script-src 'self'` allows, and is served as JavaScript."""
    coordinator = admin_client_for(carol)
    page = coordinator.get(reverse("admin:dispatch_incident_board"))
    assert directives(page)["script-src"] == ["'self'"]
    assert '<script type="module" src="/static/dispatch/board.js"></script>' in page.content.decode()

    seen, to_load = set(), ["/static/dispatch/board.js"]
    while to_load:
        url = to_load.pop()
        if url in seen:
            continue
        seen.add(url)
        response = coordinator.get(url)
        assert response.status_code == 200, url
        assert "javascript" in response["Content-Type"], url
        source = b"".join(response.streaming_content) if response.streaming else response.content
        for match in MODULE_IMPORT.finditer(source.decode()):
            spec = match.group(1) or match.group(2)
            assert spec.startswith(("/", "./", "../")) and not spec.startswith("//"), f"{url} imports {spec}"
            to_load.append(urljoin(url, spec))
    assert {"/app/socket.js", "/app/labels.js", "/app/backoff.js"} <= seen
