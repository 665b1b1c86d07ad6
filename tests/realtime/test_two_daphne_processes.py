"""With REDIS_URL set, an event created in one daphne process reaches a socket held by another.

Two real daphne processes share the test's PostgreSQL database and one Redis. Firefighters'
sockets are spread over both (alice holds one on each); the ambulance dispatch system creates and
dispatches an incident through the HTTP API of one process. Every alerted firefighter's socket
must get the `alert.created` frame exactly once, whichever process holds it; nobody else gets one;
no socket is closed by the server. The second test first leaves both processes idle for longer
than Redis's blocking read, as they are most of the night.

Needs DATABASE_URL (PostgreSQL) and REDIS_URL, e.g.:
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/coresponder REDIS_URL=redis://127.0.0.1:6379/0 \
        .venv/bin/python -m pytest tests/realtime/test_two_daphne_processes.py
"""

import asyncio
import http.client
import json
import os
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from knox.models import AuthToken

from tests.conftest import NORWICH_INCIDENT, make_firefighter
from tests.realtime.sockets import session_cookie_for
from tests.support import live_server

pytestmark = [
    pytest.mark.processes,
    pytest.mark.skipif(
        not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://"))
        or not os.environ.get("REDIS_URL"),
        reason="needs DATABASE_URL (PostgreSQL) and REDIS_URL: two daphne processes share a database and a Redis",
    ),
    # The daphne processes read the test database from their own connections: data must be committed.
    pytest.mark.django_db(transaction=True),
]

START_TIMEOUT_S = 60  # a start-up, not a measure: slow on a busy two-core machine
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
    port = live_server.free_port()
    process = live_server.start(live_server.daphne_command(port), env, log_path)
    return Server(port=port, process=process, log_path=log_path)


def _wait_until_listening(server: Server) -> None:
    live_server.wait_until_answering(
        server.process,
        server.port,
        timeout=START_TIMEOUT_S,
        log_path=server.log_path,
        name=f"daphne on port {server.port}",
    )


def _delete_redis_keys(redis_url: str, prefix: str) -> None:
    """Group memberships a crashed or killed consumer did not remove (they would expire in a day)."""
    import redis

    client = redis.Redis.from_url(redis_url, socket_timeout=5)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture
def two_servers(transactional_db, tmp_path, request):
    """Two daphne processes on the test database and a channel-layer prefix of their own."""
    prefix = f"test-two-daphnes-{uuid.uuid4().hex[:12]}"
    env = {
        **os.environ,
        "DATABASE_URL": _test_database_url(),
        "REDIS_URL": os.environ["REDIS_URL"],
        "CHANNEL_LAYER_PREFIX": prefix,
        "DJANGO_ENV": "development",
        "PYTHONUNBUFFERED": "1",
    }
    servers = []

    # Registered before starting anything, so the processes are killed even if start-up fails, and
    # before the test database is flushed (the processes hold connections to it).
    def stop_all():
        for server in servers:
            live_server.stop(server.process, timeout=5)
        _delete_redis_keys(os.environ["REDIS_URL"], prefix)

    request.addfinalizer(stop_all)
    for name in ("a", "b"):
        servers.append(_start(tmp_path / f"daphne-{name}.log", env))
    for server in servers:
        _wait_until_listening(server)
    return servers


# --- Clients --------------------------------------------------------------------------------------


@dataclass
class Listener:
    """One firefighter's socket on one server, every frame it received after sync.ready, and how
    it ended if the server closed it."""

    name: str
    server: Server
    cookie: str
    frames: list = field(default_factory=list)
    closed: str | None = None

    @property
    def where(self) -> str:
        return f"{self.name}'s socket on port {self.server.port}"

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
    from websockets.exceptions import ConnectionClosed

    while not stop.is_set():
        try:
            # Cancelling recv() loses nothing (websockets' asyncio API guarantees it).
            message = await asyncio.wait_for(socket_.recv(), 0.1)
        except TimeoutError:
            continue
        except ConnectionClosed as closed:
            listener.closed = str(closed)
            return
        listener.frames.append(json.loads(message))


def _post_json(server: Server, path: str, body: dict, token: str) -> tuple[int, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=FRAME_TIMEOUT_S)
    try:
        connection.request(
            "POST",
            path,
            body=json.dumps(body),
            headers={"Content-Type": "application/json", "Authorization": f"Token {token}"},
        )
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"{}")
    finally:
        connection.close()


async def _dispatch_and_listen(listeners, expected_names, dispatch_server, token, cad_reference, idle_s=0.0):
    sockets = [await _open(listener) for listener in listeners]
    stop = asyncio.Event()
    collectors = [
        asyncio.create_task(_collect(listener, socket_, stop))
        for listener, socket_ in zip(listeners, sockets, strict=True)
    ]
    try:
        await asyncio.sleep(idle_s)
        status, body = await asyncio.to_thread(
            _post_json,
            dispatch_server,
            "/api/v1/incidents/",
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
            listener.alert_frames_for(cad_reference) or listener.closed for listener in waiting_for
        ):
            await asyncio.sleep(0.05)
        await asyncio.sleep(LINGER_S)
    finally:
        stop.set()
        await asyncio.wait_for(asyncio.gather(*collectors, return_exceptions=True), 5)
        await asyncio.wait_for(asyncio.gather(*(socket_.close() for socket_ in sockets), return_exceptions=True), 5)
    return body


# The Norwich crew is alerted; Great Yarmouth and King's Lynn are beyond the radius.
NORWICH_CREW = {"alice", "bob", "erin"}


@pytest.fixture
def listeners(two_servers, stations, alice, bob, charlie, dave):
    """alice holds a socket on each process (her phone and her tablet); the others one each."""
    server_a, server_b = two_servers
    erin = make_firefighter("erin", stations["norwich"])
    placement = [
        ("alice", alice, server_a),
        ("alice", alice, server_b),
        ("bob", bob, server_b),
        ("erin", erin, server_b),
        ("charlie", charlie, server_a),
        ("dave", dave, server_b),
    ]
    return [
        Listener(name=name, server=server, cookie=session_cookie_for(responder.user))
        for name, responder, server in placement
    ]


@pytest.fixture
def cad_token(cad) -> str:
    _, token = AuthToken.objects.create(user=cad, expiry=None)
    return token


def _dispatch_through(server: Server, listeners, token: str, cad_reference: str, idle_s: float = 0.0) -> dict:
    return asyncio.run(
        asyncio.wait_for(
            _dispatch_and_listen(listeners, NORWICH_CREW, server, token, cad_reference, idle_s=idle_s),
            timeout=60,
        )
    )


def _assert_alerted_exactly_once(body: dict, listeners, cad_reference: str) -> None:
    alerted = {alert["responder_name"].lower() for alert in body["alerts"]}
    assert alerted == NORWICH_CREW, body
    alert_ids = {alert["responder_id"]: alert["id"] for alert in body["alerts"]}
    for listener in listeners:
        assert listener.closed is None, f"The server closed {listener.where}: {listener.closed}"
        frames = listener.alert_frames_for(cad_reference)
        if listener.name in NORWICH_CREW:
            assert len(frames) == 1, f"{listener.where} got {len(frames)} alert.created frames: {listener.frames}"
            alert = frames[0]["data"]["alert"]
            assert alert["id"] == alert_ids[alert["responder_id"]], listener.where
            assert alert["responder_name"].lower() == listener.name, listener.where
            assert isinstance(frames[0]["id"], int), listener.where
        else:
            assert not any(frame.get("type") == "alert.created" for frame in listener.frames), (
                f"{listener.where} was not alerted but got {listener.frames}"
            )


def test_it_delivers_an_alert_dispatched_on_one_process_to_sockets_held_by_another(two_servers, listeners, cad_token):
    server_a, _ = two_servers

    body = _dispatch_through(server_a, listeners, cad_token, "EEAST-2001")

    _assert_alerted_exactly_once(body, listeners, "EEAST-2001")


# Longer than channels_redis's blocking read of the channel (BZPOPMIN, 5 s) and than redis-py 8's
# default socket timeout (5 s): the normal state of a quiet night.
IDLE_S = 7


def test_it_keeps_idle_sockets_open_and_alerts_them_after_a_quiet_spell(two_servers, listeners, cad_token):
    _, server_b = two_servers

    body = _dispatch_through(server_b, listeners, cad_token, "EEAST-2002", idle_s=IDLE_S)

    _assert_alerted_exactly_once(body, listeners, "EEAST-2002")
