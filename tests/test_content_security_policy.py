"""The Content-Security-Policy (backend/headers.py): the app's pages may load and connect to nothing
but this origin (and its own WebSockets); the admin has a policy of its own; the API's own pages
(Swagger UI at /api/docs/, DRF's browsable API) allow only their libraries' inline style blocks, by
hash, and no inline script; a JSON answer may load nothing. No policy allows unsafe-eval."""

import base64
import hashlib
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


def style_hashes(policy: dict) -> set[str]:
    return {source for source in policy["style-src"] if source.startswith("'sha256-")}


def hash_of(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


INLINE_STYLE = re.compile(r"<style[^>]*>(.*?)</style>", re.S)
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I)
STYLE_ATTRIBUTE = re.compile(r"\sstyle\s*=", re.I)


def assert_page_runs_under_its_policy(response) -> dict:
    """The page's inline styles are exactly those its policy allows by hash; it has no inline
    script (JSON data blocks are data) and no style attribute (the policy allows none)."""
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    policy = directives(response)
    html = response.content.decode()
    assert {hash_of(css) for css in INLINE_STYLE.findall(html)} == style_hashes(policy)
    assert not INLINE_SCRIPT.search(html), INLINE_SCRIPT.search(html)
    assert not STYLE_ATTRIBUTE.search(html)
    return policy


def test_the_api_docs_page_has_a_policy_without_inline_script(browser):
    policy = assert_page_runs_under_its_policy(browser.get("/api/docs/"))

    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"][0] == "'self'" and len(policy["style-src"]) == 2
    assert policy["connect-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"] and policy["object-src"] == ["'none'"]


def test_the_swagger_files_are_served_by_the_product_itself(browser):
    html = browser.get("/api/docs/").content.decode()
    sources = re.findall(r'<(?:script|link)[^>]*(?:src|href)="([^"]+)"', html)

    assert sources and all(source.startswith("/") and not source.startswith("//") for source in sources), sources
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in sources
    script = browser.get("/api/docs/?script=")
    assert script.status_code == 200 and "javascript" in script["Content-Type"]
    assert "SwaggerUIBundle(" in script.content.decode()


@pytest.mark.parametrize("path", ["/api/v1/me/", "/api/v1/alerts/", "/api/v1/checklist/"])
def test_the_browsable_api_has_a_policy_without_inline_script(alice, path):
    browser = Client()
    browser.force_login(alice.user)

    policy = assert_page_runs_under_its_policy(browser.get(path, headers={"Accept": "text/html"}))

    assert policy["script-src"] == ["'self'"]
    assert policy["connect-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]


@pytest.mark.parametrize("path", ["/api/v1/checklist/", "/api/v1/auth/csrf/", "/api/schema/", "/api/docs/?script="])
def test_an_api_answer_that_is_data_may_load_nothing(browser, path):
    policy = directives(browser.get(path))

    assert policy["default-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]
    assert set(policy) == {"default-src", "base-uri", "form-action", "frame-ancestors"}


POLICED_PAGES = ["/", "/no-such-page", "/admin/login/", "/api/docs/", "/api/docs/?script=", "/api/schema/"]


def test_no_policy_ever_allows_eval_inline_code_or_other_hosts(browser, alice):
    signed_in = Client()
    signed_in.force_login(alice.user)
    answers = [browser.get(path) for path in POLICED_PAGES]
    answers += [
        signed_in.get("/api/v1/me/", headers={"Accept": accept}) for accept in ("text/html", "application/json")
    ]
    for response in answers:
        header = response["Content-Security-Policy"]
        assert "unsafe" not in header and "*" not in header, header
        assert "https:" not in header and "http:" not in header, header


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


# A policy governs the document or worker whose response carries it, never a file a page loads
# (backend/headers.py): the app's subresources carry none, its documents and its worker the full one.
APP_SUBRESOURCES = [
    "/app/main.js",
    "/app/views/alert.js",
    "/app/styles.css",
    "/manifest.webmanifest",
    "/icons/icon-192.png",
]
APP_DOCUMENTS_AND_WORKER = ["/", "/index.html", "/sw.js", "/icons/icon.svg", "/no-such-page"]


@pytest.mark.parametrize("path", APP_SUBRESOURCES)
def test_an_app_subresource_carries_no_policy(browser, path):
    response = browser.get(path)

    assert response.status_code == 200
    assert "Content-Security-Policy" not in response
    assert response["X-Content-Type-Options"] == "nosniff"  # never run as anything but what it is


@pytest.mark.parametrize("path", APP_DOCUMENTS_AND_WORKER)
def test_an_app_document_and_the_service_worker_carry_the_full_policy(browser, path):
    response = browser.get(path)

    assert directives(response) == directives(browser.get("/"))
    assert directives(response)["script-src"] == ["'self'"] and directives(response)["worker-src"] == ["'self'"]
    assert response["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("path", ["/static/dispatch/board.js", "/static/admin/css/base.css"])
def test_the_admins_files_keep_their_policy(browser, path):
    """Only the app's own subresources lose it: /static/ is left as it was."""
    assert directives(browser.get(path))["worker-src"] == ["'none'"]
