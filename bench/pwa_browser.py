"""What the browser benchmarks (screenshots.py, pwa_load.py) share: the product served as `make run`
serves it (manage.py serve on a temporary SQLite database with the demo data), Debian's Chromium
through Playwright, logging in and dispatching through the API."""

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import urllib.request
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository's root, for tests.support.live_server

from tests.support import live_server

REPO_ROOT = live_server.ROOT
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking"]
DEMO_PASSWORD = "demo-password-2026"  # backend/accounts/management/commands/load_demo_data.py
STATIONS = {"norwich": (52.6237, 1.3113), "thetford": (52.4138, 0.7461)}
os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")


class Product:
    def __init__(self, url: str, env: dict):
        self.url = url
        self.env = env
        self._token = None

    def manage(self, *args: str) -> str:
        return live_server.manage(self.env, *args)

    def as_cad(self, path: str, body: dict | None = None) -> dict:
        if self._token is None:
            self._token = self.manage("create_api_token", "cad").strip().splitlines()[-1]
        request = urllib.request.Request(  # noqa: S310 (our own server)
            f"{self.url}{path}",
            data=json.dumps(body or {}).encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Token {self._token}"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return json.loads(response.read())

    def dispatch(self, station: str = "norwich", address: str = "14 Prince of Wales Road, Norwich NR1 1BD") -> dict:
        latitude, longitude = STATIONS[station]
        return self.as_cad(
            "/api/v1/incidents/",
            {
                "cad_reference": f"EEAST-{uuid.uuid4().hex[:8].upper()}",
                "latitude": latitude,
                "longitude": longitude,
                "address": address,
                "dispatch": True,
            },
        )

    def set_ambulance_eta(self, incident_id: int, ambulance_eta: str | None) -> dict:
        """When the ambulance is expected (ISO with an offset), as the CAD says it."""
        return self.as_cad(f"/api/v1/incidents/{incident_id}/ambulance-eta/", {"ambulance_eta": ambulance_eta})

    def close(self, incident_id: int) -> None:
        self.as_cad(f"/api/v1/incidents/{incident_id}/close/")


@contextlib.contextmanager
def running_product():
    """The product on a free port with the demo data, stopped (and its database deleted) after."""
    with tempfile.TemporaryDirectory(prefix="coresponder-bench-") as directory:
        port = live_server.free_port()
        url = f"http://127.0.0.1:{port}"
        env = live_server.embedded_env(Path(directory) / "db.sqlite3", url)
        env["VAPID_PRIVATE_KEY"] = subprocess.run(
            [
                sys.executable,
                "-c",
                "from backend.delivery import vapid; print(vapid.private_key_b64(vapid.generate()))",
            ],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        env["VAPID_SUBJECT"] = "mailto:bench@example.org"
        with live_server.demo_server(env, port, Path(directory) / "server.log", timeout=30):
            yield Product(url, env)


def log_in(context, username: str) -> None:
    """Logs the browser context in through the API, as the app does: the session cookie is set."""
    token = context.request.get("/api/v1/auth/csrf/").json()["csrf_token"]
    response = context.request.post(
        "/api/v1/auth/login/", data={"username": username, "password": DEMO_PASSWORD}, headers={"X-CSRFToken": token}
    )
    if not response.ok:
        raise RuntimeError(f"logging in as {username}: {response.status} {response.text()}")


def respond(context, alert_id: int, *answers: str) -> None:
    for answer in answers:
        token = next(cookie["value"] for cookie in context.cookies() if cookie["name"] == "csrftoken")
        response = context.request.post(
            f"/api/v1/alerts/{alert_id}/respond/", data={"response": answer}, headers={"X-CSRFToken": token}
        )
        if not response.ok:
            raise RuntimeError(f"answering {answer}: {response.status} {response.text()}")


def share_position(context, alert_id: int, latitude: float, longitude: float) -> None:
    """A position shared while responding, as the app posts it (POST /api/v1/alerts/{id}/positions/)."""
    token = next(cookie["value"] for cookie in context.cookies() if cookie["name"] == "csrftoken")
    response = context.request.post(
        f"/api/v1/alerts/{alert_id}/positions/",
        data={"latitude": latitude, "longitude": longitude, "accuracy_m": 20},
        headers={"X-CSRFToken": token},
    )
    if not response.ok:
        raise RuntimeError(f"sharing a position: {response.status} {response.text()}")


def my_alert(context, incident_id: int) -> dict:
    alerts = context.request.get("/api/v1/alerts/?active=true").json()["results"]
    return next(alert for alert in alerts if alert["incident_id"] == incident_id)
