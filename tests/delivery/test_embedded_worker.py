"""`manage.py serve` (what `make run` runs) is the whole product in one process: a dispatch through
its API reaches a subscribed phone's push service with no separate worker running."""

import json
import os
import urllib.request

import pytest

from backend.delivery import vapid
from tests.support.live_server import copy_database, free_port, manage, running, serve_command, tail
from tests.support.push_service import PushServiceStandIn

SETUP = """
from django.contrib.auth import get_user_model
from knox.models import AuthToken
from backend.delivery.subscriptions import subscribe_device
subscription = {subscription!r}
firefighter = get_user_model().objects.get(username="ff.norwich.1")
subscribe_device(actor=firefighter, endpoint=subscription["endpoint"], label="phone", **subscription["keys"])
print(AuthToken.objects.create(get_user_model().objects.get(username="cad"), expiry=None)[1])
"""


@pytest.fixture
def stand_in():
    with PushServiceStandIn() as service:
        yield service


@pytest.mark.processes
def test_a_dispatch_through_the_api_of_the_served_product_reaches_the_phone(tmp_path, stand_in, demo_database_template):
    port = free_port()
    key = vapid.generate()
    env = {
        **{name: value for name, value in os.environ.items() if name not in ("DATABASE_URL", "REDIS_URL")},
        "SQLITE_PATH": str(tmp_path / "db.sqlite3"),
        "VAPID_PRIVATE_KEY": vapid.private_key_b64(key),
        "VAPID_SUBJECT": "mailto:tests@example.org",
        "PUSH_SERVICE_ALLOWLIST": f"{stand_in.origin}",
        "DELIVERY_POLL_SECONDS": "30",  # so only the wake-up after commit can make it fast
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
    }
    copy_database(demo_database_template, tmp_path / "db.sqlite3")  # migrated, with the demo data
    setup = SETUP.format(subscription=stand_in.subscribe())
    token = manage(env, "shell", "-c", setup, timeout=60).strip().splitlines()[-1]
    log_path = tmp_path / "serve.log"
    with running(serve_command(port), env, log_path, port=port, timeout=60, name="manage.py serve"):
        body = json.dumps(
            {"cad_reference": "E2E-1", "latitude": 52.63, "longitude": 1.30, "address": "Any Street", "dispatch": True}
        ).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/v1/incidents/",
            data=body,
            headers={"Content-Type": "application/json", "Authorization": f"Token {token}"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (our own server)
            incident = json.load(response)
        assert "Norwich" in {alert["station"].split(" ")[0] for alert in incident["alerts"]}
        [push] = stand_in.wait_for(1, timeout=5)
        assert push.json["incident_id"] == incident["id"]
    assert "Worker: running inside this process." in tail(log_path)


@pytest.mark.processes
def test_a_served_product_without_its_worker_says_so_at_start(tmp_path, demo_database_template):
    """Found trying the product on PostgreSQL and Redis with `make run`: nothing said that pushes,
    texts and escalation need `manage.py run_worker` beside it until the board's warning came."""
    port = free_port()
    env = {
        **{name: value for name, value in os.environ.items() if name not in ("DATABASE_URL", "REDIS_URL")},
        "SQLITE_PATH": str(tmp_path / "db.sqlite3"),
        "DELIVERY_WORKER_EMBEDDED": "0",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
    }
    copy_database(demo_database_template, tmp_path / "db.sqlite3")
    log_path = tmp_path / "serve.log"
    with running(serve_command(port), env, log_path, port=port, timeout=60, name="manage.py serve"):
        pass
    said = tail(log_path)
    assert "run `manage.py run_worker` beside it" in said
    assert "Worker: running inside this process." not in said
