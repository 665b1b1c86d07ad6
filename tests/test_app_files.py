"""The firefighters' app (pwa/) is served from the site root by WhiteNoise (backend/pwa.py), beside
the admin, the API and /static/. Checked both ways WhiteNoise runs: files looked up per request
(development) and scanned once at start-up (production)."""

import pytest
from django.conf import settings as django_settings
from django.test import Client

PWA = django_settings.BASE_DIR / "pwa"
APP = {
    "index.html": "<!doctype html><title>Test app</title>",
    "sw.js": "self.addEventListener('fetch', () => {});",
    "manifest.webmanifest": '{"name": "Test app", "start_url": "/"}',
    "app/main.js": "export const ready = true;",
    "app/app.css": "body { margin: 0; }",
    "icons/icon-192.png": "not really a png",
    # The app's development tooling, never to be served:
    "package.json": '{"devDependencies": {"axe-core": "4"}}',
    "package-lock.json": "{}",
    "node_modules/axe-core/axe.min.js": "/* axe */",
    "tools/make_icons.py": "print('icons')",
    ".eslintrc.json": "{}",
    "app/.secret": "x",
}


@pytest.fixture(params=[True, False], ids=["development", "production"])
def app_root(request, settings, tmp_path):
    for name, text in APP.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    settings.WHITENOISE_ROOT = tmp_path
    settings.WHITENOISE_AUTOREFRESH = request.param
    return tmp_path


@pytest.fixture
def browser(app_root):
    return Client()  # made after the settings change: WhiteNoise reads them when the client starts


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_the_root_is_the_apps_index_page(browser):
    response = browser.get("/")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert body(response) == APP["index.html"].encode()


def test_index_html_redirects_to_the_root(browser):
    response = browser.get("/index.html")
    assert response.status_code == 302
    assert response["Location"] == "./"


def test_the_service_worker_is_at_the_root_never_cached_and_may_control_everything(browser):
    response = browser.get("/sw.js")

    assert response.status_code == 200
    assert "javascript" in response["Content-Type"]
    assert response["Cache-Control"] == "no-cache"
    assert response["Service-Worker-Allowed"] == "/"
    assert body(response) == APP["sw.js"].encode()


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/", "text/html"),
        ("/manifest.webmanifest", "application/manifest+json"),
        ("/app/main.js", "text/javascript"),
        ("/app/app.css", "text/css"),
        ("/icons/icon-192.png", "image/png"),
    ],
)
def test_the_apps_other_files_are_cached_briefly(browser, path, content_type):
    response = browser.get(path)

    assert response.status_code == 200
    assert response["Content-Type"].startswith(content_type)
    assert response["Cache-Control"] == "max-age=60, public"
    assert "Service-Worker-Allowed" not in response


@pytest.mark.parametrize(
    "path",
    [
        "/package.json",
        "/package-lock.json",
        "/node_modules/axe-core/axe.min.js",
        "/tools/make_icons.py",
        "/.eslintrc.json",
        "/app/.secret",
    ],
)
def test_the_apps_development_files_are_not_served(browser, path):
    assert browser.get(path).status_code == 404


def test_static_files_keep_whitenoises_own_headers(browser):
    response = browser.get("/static/admin/css/base.css")

    assert response.status_code == 200
    assert "Service-Worker-Allowed" not in response
    assert response["Cache-Control"] != "no-cache"


def test_the_admin_and_the_api_still_answer(browser, db):
    assert browser.get("/admin/login/").status_code == 200
    assert browser.get("/api/v1/checklist/").status_code == 401
    assert browser.get("/api/docs/").status_code == 200
    assert browser.get("/api/v1/nothing-here/")["Content-Type"] == "application/json"


def test_an_unknown_page_is_a_404(browser):
    assert browser.get("/no-such-page").status_code == 404


def test_the_real_app_directory_is_served_at_the_root(db):
    """Whatever pwa/index.html holds now (a placeholder, or the app): `/` is that file."""
    response = Client().get("/")

    assert response.status_code == 200
    assert body(response) == (PWA / "index.html").read_bytes()


def test_the_app_shell_is_sent_compressed_and_api_answers_are_not(client, alice):
    from django.test import Client

    response = client.get("/app/main.js", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response["Content-Encoding"] == "gzip"
    import gzip

    body = gzip.decompress(b"".join(response.streaming_content) if response.streaming else response.content)
    assert body.startswith(b"//") or b"import" in body[:2000]
    browser = Client()
    browser.force_login(alice.user)
    api = browser.get("/api/v1/me/", headers={"Accept-Encoding": "gzip"})
    assert api.status_code == 200 and not api.has_header("Content-Encoding")


def test_the_site_icon_browsers_ask_every_page_for_is_the_apps():
    """The admin's pages name no icon, so the browser asks for /favicon.ico: a 404 in the
    coordinators' console on every page until it led to the app's icon."""
    from django.test import Client

    answer = Client().get("/favicon.ico")
    assert (answer.status_code, answer["Location"]) == (301, "/icons/icon.svg")
    assert Client().get(answer["Location"]).status_code == 200
