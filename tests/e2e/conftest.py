"""Browser tests: Playwright driving Debian's Chromium (/usr/bin/chromium, installed by `make test`;
never a browser Playwright downloads) against the whole product, served as `make run` serves it.

- `server`: `manage.py serve` (daphne: HTTP and WebSockets, with the delivery worker inside)
  in a subprocess on a free port, on a temporary SQLite database migrated and loaded with the
  demo data (password for every demo user: DEMO_PASSWORD). One for all the browser tests. It
  accepts subscriptions on the push-service stand-in (`tests.support.push_service`, on 127.0.0.1).
- `chromium`: the headless browser, one for all the browser tests.
- `phone`: a fresh phone-sized browser context per test (390x844, touch, mobile), whose relative
  URLs go to the live server; `page` is a page in it.
- `tests.e2e.helpers.log_in(phone, username)`: logs in through the API, as the app does.
- `control`: the outside world, one for all the browser tests: `dispatch(...)` as the ambulance
  dispatch system (the `cad` client's API token), `coordinator` (an `ApiUser`: a `requests` session
  logged in as `coordinator`, whose cookie also opens /ws/coordinator/), `cancel(incident_id)`, and
  `push_payload(alert_id, kind)` (what the server's Web Push transport sends for that alert).
  `dispatcher` is the same, cancelling at the end of the test every incident it left open.
"""

import contextlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from backend.delivery import vapid
from tests.e2e.helpers import new_device_code
from tests.support import live_server

os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",  # tests run as root in a container
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 3,
    "is_mobile": True,
    "has_touch": True,
    "locale": "en-GB",
    "timezone_id": "Europe/London",
}
START_TIMEOUT_S = 60  # a start-up, not a measure: slow on a busy two-core machine
ACTION_TIMEOUT_MS = 10_000


@dataclass
class LiveServer:
    url: str
    env: dict
    log_path: Path

    def manage(self, *args: str, timeout: float = 60) -> str:
        """Run a management command against the server's database; its output."""
        return live_server.manage(self.env, *args, timeout=timeout)

    def log(self) -> str:
        return live_server.tail(self.log_path, 6000)


@contextlib.contextmanager
def demo_server(directory: Path, port: int, env: dict, template: Path) -> Iterator[LiveServer]:
    """`manage.py serve` on `port` with `env` (whose SQLITE_PATH is a new file), on a copy of the
    demo database `template` and its log in `directory`, until the block ends."""
    server = LiveServer(url=f"http://127.0.0.1:{port}", env=env, log_path=directory / "server.log")
    with live_server.demo_server(env, port, server.log_path, timeout=START_TIMEOUT_S, template=template):
        yield server


@pytest.fixture(scope="package")
def server(tmp_path_factory, demo_database_template):
    directory = tmp_path_factory.mktemp("server")
    port = live_server.free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        # Always the embedded setup: its own SQLite file and the in-memory channel layer, even when
        # the rest of the suite runs on PostgreSQL and Redis.
        **live_server.embedded_env(directory / "db.sqlite3", url),
        "VAPID_PRIVATE_KEY": vapid.private_key_b64(vapid.generate()),
        "VAPID_SUBJECT": "mailto:e2e-tests@example.org",
        # The push-service stand-in (tests/support/push_service.py) is plain http on 127.0.0.1.
        "PUSH_SERVICE_ALLOWLIST": ",".join([*django_settings.PUSH_SERVICE_ALLOWLIST, "http://127.0.0.1:*"]),
    }
    with demo_server(directory, port, env, demo_database_template) as server:
        yield server


@pytest.fixture(autouse=True)
def close_connections_of_the_orm_thread():
    """Replaces the suite's async fixture of this name (tests/conftest.py): Playwright's sync API
    keeps its own event loop running in this thread, so no other loop may run here, and these tests
    use no database connection of their own (the server has its own)."""
    yield


# Package-scoped, not session-scoped: while Playwright's sync API runs, its event loop counts as
# running in this thread, so it must be stopped before the rest of the suite's async tests run.
@pytest.fixture(scope="package")
def playwright():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="package")
def chromium(playwright):
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing. `make test` installs Debian's chromium; or run "
            "`apt-get update && apt-get install -y chromium`. The tests never use a downloaded browser."
        )
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def phone(chromium, server):
    context = chromium.new_context(base_url=server.url, **PHONE)
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    yield context
    context.close()


@pytest.fixture
def page(phone):
    return phone.new_page()


# --- Dispatching and watching from outside the browser (the alert-flow tests) ---------------------

TOKEN_FOR_CAD = """
from django.contrib.auth import get_user_model
from knox.models import AuthToken
print(AuthToken.objects.create(get_user_model().objects.get(username="cad"), expiry=None)[1])
"""

PUSH_PAYLOADS = """
import json
from backend.delivery.transports import Job
from backend.delivery.transports.webpush import push_payload
from backend.dispatch.models import Alert
alert = Alert.objects.select_related("incident").get(pk={alert_id})
job = Job(delivery_id=0, channel="webpush", attempts=0, round=1, alert_id=alert.pk,
          incident_id=alert.incident_id, alerted_at=alert.alerted_at, kind={kind!r},
          incident_status=alert.incident.status)
print(json.dumps(push_payload(job)))
"""


class ApiUser:
    """A `requests` session logged in through the API as the app does (CSRF token, then login)."""

    def __init__(self, base_url: str, username: str):
        import requests

        from tests.e2e.helpers import DEMO_PASSWORD

        self.base_url = base_url
        self.http = requests.Session()
        self.http.get(f"{base_url}/api/v1/auth/csrf/", timeout=10).raise_for_status()
        response = self.http.post(
            f"{base_url}/api/v1/auth/login/",
            json={"username": username, "password": DEMO_PASSWORD},
            headers={"X-CSRFToken": self.http.cookies["csrftoken"]},
            timeout=10,
        )
        assert response.ok, f"logging in as {username}: {response.status_code} {response.text}"
        self.profile = response.json()

    def pass_second_factor(self, code: str) -> None:
        """The admin's code page, as staff do after their password: staff sessions reach the API
        and the board's socket only then (backend/accounts/second_factor.py)."""
        response = self.http.post(
            f"{self.base_url}/admin/two-factor/",
            data={"code": code, "csrfmiddlewaretoken": self.http.cookies["csrftoken"]},
            allow_redirects=False,
            timeout=10,
        )
        assert response.status_code == 302, f"second factor: {response.status_code} {response.text[:300]}"

    def get(self, path: str):
        response = self.http.get(f"{self.base_url}{path}", timeout=10)
        assert response.ok, f"GET {path}: {response.status_code} {response.text}"
        return response.json()

    def post(self, path: str, body: dict):
        # Logging in changed the CSRF token: read the cookie again.
        response = self.http.post(
            f"{self.base_url}{path}",
            json=body,
            headers={"X-CSRFToken": self.http.cookies["csrftoken"]},
            timeout=10,
        )
        assert response.ok, f"POST {path}: {response.status_code} {response.text}"
        return response.json()

    @property
    def session_cookie(self) -> str:
        return f"sessionid={self.http.cookies['sessionid']}"


@dataclass
class Control:
    """The outside world of a browser test: the ambulance dispatch system (the `cad` machine
    client's API token) and a coordinator's session, against the live server."""

    server: LiveServer
    cad_token: str
    coordinator: ApiUser
    _references: list = field(default_factory=list)

    def dispatch(self, reference: str, latitude: float, longitude: float, address: str) -> dict:
        """POST /api/v1/incidents/ with dispatch: true as the CAD does; the incident's detail."""
        import requests

        response = requests.post(
            f"{self.server.url}/api/v1/incidents/",
            json={
                "cad_reference": reference,
                "latitude": latitude,
                "longitude": longitude,
                "address": address,
                "dispatch": True,
            },
            headers={"Authorization": f"Token {self.cad_token}"},
            timeout=10,
        )
        assert response.status_code == 201, f"dispatch: {response.status_code} {response.text}"
        incident = response.json()
        self._references.append(incident["id"])
        return incident

    def set_ambulance_eta(self, incident_id: int, ambulance_eta: str | None) -> dict:
        """POST /api/v1/incidents/{id}/ambulance-eta/ as the CAD does: when the ambulance is expected
        (ISO with an offset, or None for not known); the incident's detail."""
        import requests

        response = requests.post(
            f"{self.server.url}/api/v1/incidents/{incident_id}/ambulance-eta/",
            json={"ambulance_eta": ambulance_eta},
            headers={"Authorization": f"Token {self.cad_token}"},
            timeout=10,
        )
        assert response.ok, f"ambulance ETA: {response.status_code} {response.text}"
        return response.json()

    def cancel(self, incident_id: int, reason: str = "Ambulance crew on scene first.") -> dict:
        return self.coordinator.post(f"/api/v1/incidents/{incident_id}/cancel/", {"reason": reason})

    def push_payload(self, alert_id: int, kind: str = "alert") -> dict:
        """The JSON the server's Web Push transport sends for this alert (built by the server's own
        backend.delivery.transports.webpush.push_payload, with the server's settings)."""
        output = self.server.manage("shell", "-c", PUSH_PAYLOADS.format(alert_id=int(alert_id), kind=kind))
        return json.loads(output.strip().splitlines()[-1])

    def cancel_open_incidents(self) -> None:
        """Leaves no incident open to ring other stations (the escalation ladder) in later tests."""
        for incident_id in self._references:
            detail = self.coordinator.get(f"/api/v1/incidents/{incident_id}/")
            if detail["status"] == "open":
                self.cancel(incident_id, "End of the browser test.")
        self._references.clear()


@pytest.fixture(scope="package")
def control(server):
    token = server.manage("shell", "-c", TOKEN_FOR_CAD).strip().splitlines()[-1]
    coordinator = ApiUser(server.url, "coordinator")
    coordinator.pass_second_factor(new_device_code(server, "coordinator"))
    return Control(server=server, cad_token=token, coordinator=coordinator)


@pytest.fixture
def dispatcher(control):
    """`control`, cancelling at the end of the test whatever incident the test left open."""
    yield control
    control.cancel_open_incidents()
