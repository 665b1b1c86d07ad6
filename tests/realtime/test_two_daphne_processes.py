"""With REDIS_URL set, an event created in one daphne process reaches a socket held by another.

Two real daphne processes share the test's PostgreSQL database and one Redis. Firefighters'
sockets are spread over both (alice holds one on each); the ambulance dispatch system creates and
dispatches an incident through the HTTP API of one process. Every alerted firefighter's socket
must get the `alert.created` frame exactly once, whichever process holds it; nobody else gets one.

Needs DATABASE_URL (PostgreSQL) and REDIS_URL, e.g.:
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/coresponder REDIS_URL=redis://127.0.0.1:6379/0 \
        .venv/bin/python -m pytest tests/realtime/test_two_daphne_processes.py
"""

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from knox.models import AuthToken

from tests.conftest import NORWICH_INCIDENT, make_firefighter
from tests.realtime.sockets import session_cookie_for

REPO_ROOT = Path(__file__).resolve().parents[2]
DAPHNE = Path(sys.executable).with_name("daphne")

pytestmark = [
    pytest.mark.skipif(
        not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://"))
        or not os.environ.get("REDIS_URL"),
        reason="needs DATABASE_URL (PostgreSQL) and REDIS_URL: two daphne processes share a database and a Redis",
    ),
    # The daphne processes read the test database from their own connections: data must be committed.
    pytest.mark.django_db(transaction=True),
]

START_TIMEOUT_S = 20
CONNECT_TIMEOUT_S = 5
FRAME_TIMEOUT_S = 10
# After every expected frame has arrived, keep listening this long to catch duplicates and strays.
LINGER_S = 1.5


# --- Two daphne processes -----------------------------------------------------------------------


@dataclass
class Server:
    port: int
    process: subprocess.Popen
    log_path: Path

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ws_url(self, path: str) -> str:
        return f"ws://127.0.0.1:{self.port}{path}"

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _test_database_url() -> str:
    """The database this test runs in (test_<name>), as a URL for the subprocesses."""
    db = settings.DATABASES["default"]
    credentials = quote(db["USER"] or "", safe="")
    if db.get("PASSWORD"):
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgres://{credentials}@{host}:{port}/{quote(db['NAME'], safe='')}"


def _start(log_path: Path, env: dict) -> Server:
    port = _free_port()
    log = log_path.open("wb")
    try:
        process = subprocess.Popen(
            [str(DAPHNE), "-b", "127.0.0.1", "-p", str(port), "backend.asgi:application"],
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    finally:
        log.close()
    return Server(port=port, process=process, log_path=log_path)


def _wait_until_listening(server: Server) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"daphne on port {server.port} exited with {server.process.returncode}:\n{server.log()}")
        try:
            with socket.create_connection(("127.0.0.1", server.port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"daphne on port {server.port} did not listen within {START_TIMEOUT_S} s:\n{server.log()}")


def _stop(server: Server) -> None:
    if server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(timeout=5)


@pytest.fixture
def two_servers(transactional_db, tmp_path, request):
    """Two daphne processes on the test database and a channel-layer prefix of their own."""
    env = {
        **os.environ,
        "DATABASE_URL": _test_database_url(),
        "REDIS_URL": os.environ["REDIS_URL"],
        "CHANNEL_LAYER_PREFIX": f"test-two-daphnes-{uuid.uuid4().hex[:12]}",
        "DJANGO_ENV": "development",
        "PYTHONUNBUFFERED": "1",
    }
    servers = []
    # Registered before starting anything, so the processes are killed even if start-up fails, and
    # before the test database is flushed (the processes hold connections to it).
    request.addfinalizer(lambda: [_stop(server) for server in servers])
    for name in ("a", "b"):
        servers.append(_start(tmp_path / f"daphne-{name}.log", env))
    for server in servers:
        _wait_until_listening(server)
    return servers


# --- Clients --------------------------------------------------------------------------------------


@dataclass
class Listener:
    """One firefighter's socket on one server, and every frame it received after sync.ready."""

    name: str
    server: Server
    cookie: str
    frames: list = field(default_factory=list)

    def alert_frames_for(self, cad_reference: str) -> list[dict]:
        return [
            frame
            for frame in self.frames
            if frame.get("type") == "alert.created"
            and frame["data"]["alert"]["incident"]["cad_reference"] == cad_reference
        ]


async def _open(listener: Listener):
    from websockets.asyncio.client import connect

    socket_ = await connect(
        listener.server.ws_url("/ws/responder/"),
        origin=listener.server.origin,
        additional_headers={"Cookie": listener.cookie},
        open_timeout=CONNECT_TIMEOUT_S,
        close_timeout=2,
    )
    ready = json.loads(await asyncio.wait_for(socket_.recv(), CONNECT_TIMEOUT_S))
    assert ready["type"] == "sync.ready", (listener.name, ready)
    return socket_


async def _collect(listener: Listener, socket_, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            message = await asyncio.wait_for(socket_.recv(), 0.1)
        except TimeoutError:
            continue
        listener.frames.append(json.loads(message))


def _post_json(url: str, body: dict, token: str) -> tuple[int, dict]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Token {token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=FRAME_TIMEOUT_S) as response:  # noqa: S310 (our own server)
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


async def _dispatch_and_listen(listeners, expected_names, dispatch_server, token, cad_reference):
    sockets = [await _open(listener) for listener in listeners]
    stop = asyncio.Event()
    collectors = [
        asyncio.create_task(_collect(listener, socket_, stop)) for listener, socket_ in zip(listeners, sockets)
    ]
    try:
        status, body = await asyncio.to_thread(
            _post_json,
            f"{dispatch_server.origin}/api/v1/incidents/",
            {
                "cad_reference": cad_reference,
                "latitude": NORWICH_INCIDENT[0],
                "longitude": NORWICH_INCIDENT[1],
                "address": "12 Example Road, Norwich",
                "dispatch": True,
            },
            token,
        )
        assert status == 201, body
        waiting_for = [listener for listener in listeners if listener.name in expected_names]
        deadline = time.monotonic() + FRAME_TIMEOUT_S
        while time.monotonic() < deadline and not all(
            listener.alert_frames_for(cad_reference) for listener in waiting_for
        ):
            await asyncio.sleep(0.05)
        await asyncio.sleep(LINGER_S)
    finally:
        stop.set()
        await asyncio.wait_for(asyncio.gather(*collectors, return_exceptions=True), 5)
        await asyncio.wait_for(asyncio.gather(*(socket_.close() for socket_ in sockets), return_exceptions=True), 5)
    return body


def test_it_delivers_an_alert_dispatched_on_one_process_to_sockets_held_by_another(
    two_servers, stations, alice, bob, charlie, dave, cad
):
    server_a, server_b = two_servers
    erin = make_firefighter("erin", stations["norwich"])
    # alice holds a socket on each process (her phone and her tablet); the others one each.
    placement = [
        ("alice", alice, server_a),
        ("alice", alice, server_b),
        ("bob", bob, server_b),
        ("erin", erin, server_b),
        ("charlie", charlie, server_a),
        ("dave", dave, server_b),
    ]
    listeners = [
        Listener(name=name, server=server, cookie=session_cookie_for(responder.user))
        for name, responder, server in placement
    ]
    _, token = AuthToken.objects.create(user=cad, expiry=None)
    norwich_crew = {"alice", "bob", "erin"}  # Great Yarmouth and King's Lynn are beyond the radius

    body = asyncio.run(
        asyncio.wait_for(
            _dispatch_and_listen(listeners, norwich_crew, server_a, token, cad_reference="EEAST-2001"),
            timeout=60,
        )
    )

    alerted = {alert["responder_name"].lower() for alert in body["alerts"]}
    assert alerted == norwich_crew, body
    alert_ids = {alert["responder_id"]: alert["id"] for alert in body["alerts"]}
    for listener in listeners:
        frames = listener.alert_frames_for("EEAST-2001")
        where = f"{listener.name} on port {listener.server.port}"
        if listener.name in norwich_crew:
            assert len(frames) == 1, f"{where} got {len(frames)} alert.created frames: {listener.frames}"
            alert = frames[0]["data"]["alert"]
            assert alert["id"] == alert_ids[alert["responder_id"]], where
            assert alert["responder_name"].lower() == listener.name, where
            assert isinstance(frames[0]["id"], int), where
        else:
            assert frames == [], f"{where} was not alerted but got {frames}"
            assert not any(frame.get("type") == "alert.created" for frame in listener.frames), where
