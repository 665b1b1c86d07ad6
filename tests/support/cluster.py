"""A fault-injection harness: the distributed product on this machine, faults to inject into it, and
simulated firefighters who count what they are shown.

- `Cluster`: N daphne processes (the web: HTTP and sockets) and M `manage.py run_worker`
  processes on PostgreSQL and a PRIVATE redis-server (its own port, no persistence), so Redis can
  be stopped and restarted without touching anyone else's. The processes reach PostgreSQL through
  `PgProxy`, a TCP proxy that can cut the database off (existing connections reset, new ones
  refused or left hanging) without stopping the shared server.
- `Firefighter`: an asyncio socket client that behaves as the app (pwa/app/socket.js,
  docs/events.md): it connects to /ws/responder/ with its session cookie and the page's Origin,
  keeps the highest event id it has seen and sends it as `last_event_id` when it reconnects (with
  backoff and jitter, to whichever process answers), keeps each alert's highest version, and sends
  `alert.ack` for every alert it shows (again after a reconnect until the server confirms).
- `ServiceWorkers`: each phone's service worker (pwa/sw.js), simulated with the socket client: for
  each alert push the push service stand-in accepts for a firefighter's subscription it does what
  the real worker does once it has shown the notification: POST /api/v1/push-receipts/ with the
  token from the decrypted payload (no cookie, the site's Origin; again after a network error,
  a 5xx or a 429, after jittered pauses, as sw.js). It runs when the cluster is given the push
  service (`Cluster(push_service=...)`).
- `Dispatcher`: the ambulance dispatch system (CAD): POST /api/v1/incidents/ {"dispatch": true},
  retried on another process when a process dies or answers 503; a 409 naming the existing incident
  means an earlier attempt went through.
- `populate` and `tally` use the Django ORM of the calling process (a pytest-django test database,
  or bench/faults.py's scratch database) to set up firefighters and, afterwards, to compare what
  the database says was alerted with what the firefighters were shown.

Timings are shortened from the app's (reconnect backoff 0.25 s doubling to 2 s instead of 1 s to
30 s; a liveness ping every 2 s instead of 25 s; a socket not open within 10 s given up instead of
30 s) so that a fault is recovered from in seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from tests.support import live_server

START_TIMEOUT_S = 30
HTTP_TIMEOUT_S = 15
CONNECT_TIMEOUT_S = 10  # pwa/app/socket.js OPEN_DEADLINE_MS is 30 s: shortened (above)
BACKOFF_FIRST_S = 0.25
BACKOFF_MAX_S = 2.0
RECEIPT_TIMEOUT_S = 8.0  # pwa/sw.js RECEIPT_TIMEOUT_MS, per attempt
# pwa/sw.js: a network error, a 5xx or a 429 is tried again after a jittered pause, up to four
# attempts within 25 s; any other refusal is final.
RECEIPT_ATTEMPTS = 4
RECEIPT_PAUSES_S = (0.5, 1.5, 3.5)
RECEIPT_DEADLINE_S = 25.0
# A station every 0.1 degree (at least 7 km apart at these latitudes); each dispatch alerts one.
GRID_STEP_DEG = 0.1
GRID_COLUMNS = 40
RADIUS_KM = 1.0


# --- Processes -------------------------------------------------------------------------------------


@dataclass
class Process:
    """One server process, which can be killed and started again on the same port."""

    name: str
    argv: list[str]
    env: dict
    log_path: Path
    port: int | None = None
    popen: subprocess.Popen | None = None

    def start(self) -> None:
        self.popen = live_server.start(self.argv, self.env, self.log_path, append=True)

    @property
    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def wait_until_listening(self) -> None:
        live_server.wait_until_answering(
            self.popen, self.port, timeout=START_TIMEOUT_S, log_path=self.log_path, name=self.name
        )

    def kill(self) -> None:
        """SIGKILL: no clean-up of any kind, as when a machine or container dies."""
        if self.alive:
            self.popen.send_signal(signal.SIGKILL)
            self.popen.wait(timeout=10)

    def stop(self) -> None:
        if self.popen is not None:
            live_server.stop(self.popen, timeout=5)

    def tail(self, chars: int = 3000) -> str:
        return live_server.tail(self.log_path, chars)


class PrivateRedis(Process):
    """A redis-server of our own on a free port: no snapshots, no append-only file, so a restart
    comes back empty, as a Redis that crashed does (channel-layer groups and queues are gone)."""

    def __init__(self, log_dir: Path):
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed")
        port = live_server.free_port()
        argv = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        argv += ["--daemonize", "no", "--dir", str(log_dir)]
        super().__init__(name="redis", argv=argv, env=dict(os.environ), log_path=log_dir / "redis.log", port=port)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


class PgProxy:
    """A TCP proxy in front of PostgreSQL, on its own thread and event loop.

    `cut("refuse")`: existing connections are reset and new ones are reset as soon as they arrive
    (the server is down). `cut("blackhole")`: existing connections are reset and new ones are
    accepted but never answered (a network that drops packets: only a connect timeout helps).
    `restore()` lets connections through again."""

    def __init__(self, upstream_host: str, upstream_port: int):
        self.upstream = (upstream_host, upstream_port)
        self.port = live_server.free_port()
        self.mode = "open"
        self._writers: set[asyncio.StreamWriter] = set()
        self._held: set[asyncio.StreamWriter] = set()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pg-proxy", daemon=True)
        self._server = None

    def start(self) -> PgProxy:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the PostgreSQL proxy did not start")
        return self

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", self.port))
        self._ready.set()
        self._loop.run_forever()

    def _call(self, function) -> None:
        done = threading.Event()

        def run():
            try:
                function()
            finally:
                done.set()

        self._loop.call_soon_threadsafe(run)
        done.wait(10)

    def cut(self, mode: str = "refuse") -> None:
        assert mode in ("refuse", "blackhole"), mode

        def apply():
            self.mode = mode
            for writer in list(self._writers):
                _reset(writer)
            self._writers.clear()

        self._call(apply)

    def restore(self) -> None:
        def apply():
            self.mode = "open"
            for writer in self._held:  # connections left hanging by the blackhole
                _reset(writer)
            self._held.clear()

        self._call(apply)

    def stop(self) -> None:
        def apply():
            self._server.close()
            for writer in [*self._writers, *self._held]:
                _reset(writer)

        if self._thread.is_alive():
            self._call(apply)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.mode == "refuse":
            _reset(writer)
            return
        if self.mode == "blackhole":
            self._held.add(writer)  # kept open, never answered
            return
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            _reset(writer)
            return
        if self.mode != "open":
            # Cut while this one was reaching PostgreSQL: it was in no list for the cut to reset, and
            # went on working through the outage (a dispatch answered 201 while blackholed, under
            # load). Treated as one that arrived after the cut.
            _reset(upstream_writer)
            if self.mode == "blackhole":
                self._held.add(writer)
            else:
                _reset(writer)
            return
        self._writers.update((writer, upstream_writer))
        pipes = [_pipe(reader, upstream_writer), _pipe(upstream_reader, writer)]
        await asyncio.gather(*pipes, return_exceptions=True)
        for end in (writer, upstream_writer):
            self._writers.discard(end)
            with contextlib.suppress(Exception):
                end.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    finally:
        with contextlib.suppress(Exception):
            writer.close()


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP reset (SO_LINGER 0), as a crashed server's kernel does."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


def postgres_url(params: dict, *, name: str, host: str | None = None, port: int | None = None) -> str:
    """A DATABASE_URL from Django-style connection parameters, optionally aimed at another host/port."""
    credentials = quote(params.get("USER") or "", safe="")
    if params.get("PASSWORD"):
        credentials += ":" + quote(params["PASSWORD"], safe="")
    host = host or params.get("HOST") or "127.0.0.1"
    port = port or params.get("PORT") or 5432
    return f"postgres://{credentials}@{host}:{port}/{quote(name, safe='')}"


class Cluster:
    """daphne processes and delivery workers on one database (through the proxy) and a private Redis."""

    def __init__(
        self,
        *,
        database: dict,
        log_dir: Path,
        web: int = 2,
        workers: int = 0,
        env: dict | None = None,
        push_service=None,
    ):
        """push_service: the stand-in the firefighters subscribed to (`subscribe_devices`); given it,
        their service workers send receipts for the pushes it accepts (`ServiceWorkers`)."""
        from backend.delivery import vapid

        self.log_dir = log_dir
        self.push_service = push_service
        self.redis = PrivateRedis(log_dir)
        self.proxy = PgProxy(database.get("HOST") or "127.0.0.1", int(database.get("PORT") or 5432))
        self.env = {
            **os.environ,
            "DATABASE_URL": postgres_url(database, name=database["NAME"], host="127.0.0.1", port=self.proxy.port),
            "REDIS_URL": self.redis.url,
            "CHANNEL_LAYER_PREFIX": "faults",
            "DJANGO_ENV": "development",
            "DJANGO_DEBUG": "0",
            "DELIVERY_WORKER_EMBEDDED": "0",
            "PYTHONUNBUFFERED": "1",
            # Every dispatch alerts exactly one station's firefighters; no escalation while we count.
            "DISPATCH_RADIUS_KM": str(RADIUS_KM),
            "DISPATCH_NEXT_RINGS_KM": str(RADIUS_KM),
            "ESCALATION_LADDER": "3600:alarm",
            "LOG_LEVEL": "WARNING",
            "VAPID_PRIVATE_KEY": vapid.private_key_b64(vapid.generate()),
            "VAPID_SUBJECT": "mailto:fault-injection@example.org",
            **(env or {}),
        }
        self.web = [self._daphne(f"daphne-{index}") for index in range(web)]
        self.workers = [self._worker(f"worker-{index}") for index in range(workers)]

    def _daphne(self, name: str) -> Process:
        port = live_server.free_port()
        argv = live_server.daphne_command(port)
        return Process(name=name, argv=argv, env=self.env, log_path=self.log_dir / f"{name}.log", port=port)

    def _worker(self, name: str) -> Process:
        argv = [sys.executable, "manage.py", "run_worker", "--name", name]
        return Process(name=name, argv=argv, env=self.env, log_path=self.log_dir / f"{name}.log")

    def start(self) -> Cluster:
        self.proxy.start()
        self.redis.start()
        self.redis.wait_until_listening()
        for process in (*self.web, *self.workers):
            process.start()
        for process in self.web:
            process.wait_until_listening()
        return self

    def stop(self) -> None:
        for process in (*self.web, *self.workers):
            process.stop()
        self.redis.stop()
        self.proxy.stop()

    @property
    def ports(self) -> list[int]:
        return [process.port for process in self.web]

    def live_ports(self) -> list[int]:
        return [process.port for process in self.web if process.alive]

    def restart(self, process: Process) -> None:
        process.start()
        if process.port is not None:
            process.wait_until_listening()

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}:\n{p.tail(1500)}" for p in (*self.web, *self.workers, self.redis))


# --- Data ----------------------------------------------------------------------------------------------


@dataclass
class Plan:
    """Who is where: firefighter i is at station i // per_station."""

    station_locations: list[tuple[float, float]]
    per_station: int
    responder_ids: list[int]
    user_ids: list[int]
    cookies: list[str]
    token: str
    push_endpoints: dict[str, int] = field(default_factory=dict)  # subscribe_devices: endpoint -> user id

    def location_of(self, station: int) -> tuple[float, float]:
        lat, lon = self.station_locations[station]
        return lat + 0.001, lon  # about 100 m from the station


def station_location(index: int) -> tuple[float, float]:
    row, column = divmod(index, GRID_COLUMNS)
    return (50.0 + row * GRID_STEP_DEG, -3.0 + column * GRID_STEP_DEG)


def populate(*, stations: int, per_station: int, prefix: str = "fault") -> Plan:
    """Stations, on-call firefighters with sessions (as logging in leaves them), and a CAD with a
    token, in the database of the calling process."""
    import datetime

    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group
    from django.db import transaction
    from django.utils import timezone
    from django.utils.crypto import get_random_string
    from knox.models import AuthToken

    from backend.accounts.models import Responder, Skill, Station
    from backend.accounts.session_store import SessionStore, UserSession
    from backend.roles import DISPATCH_SYSTEMS

    User = get_user_model()
    expires = timezone.localdate() + datetime.timedelta(days=365)
    count = stations * per_station
    with transaction.atomic():
        made = Station.objects.bulk_create(
            [
                Station(name=f"{prefix} station {s}", code=f"{prefix}-{s}", latitude=lat, longitude=lon)
                for s, (lat, lon) in enumerate(station_location(s) for s in range(stations))
            ]
        )
        unusable = make_password(None)
        users = User.objects.bulk_create(
            [
                User(username=f"{prefix}{i:05d}", first_name="Firefighter", last_name=str(i), password=unusable)
                for i in range(count)
            ]
        )
        responders = Responder.objects.bulk_create(
            [
                Responder(
                    user=user,
                    station=made[i // per_station],
                    on_call=True,
                    skills=[Skill.BLS, Skill.AED],
                    life_support_training_expires=expires,
                    defibrillator_training_expires=expires,
                )
                for i, user in enumerate(users)
            ]
        )
        store = SessionStore()
        session_expiry = timezone.now() + datetime.timedelta(days=1)
        sessions = []
        for user in users:
            data = {
                "_auth_user_id": str(user.pk),
                "_auth_user_backend": "django.contrib.auth.backends.ModelBackend",
                "_auth_user_hash": user.get_session_auth_hash(),
            }
            key = get_random_string(32, "abcdefghijklmnopqrstuvwxyz0123456789")
            sessions.append(
                UserSession(
                    session_key=key, session_data=store.encode(data), expire_date=session_expiry, user_id=user.pk
                )
            )
        UserSession.objects.bulk_create(sessions)
        cad = User.objects.create_user(username=f"{prefix}-cad")
        cad.groups.add(Group.objects.get(name=DISPATCH_SYSTEMS))
        _, token = AuthToken.objects.create(user=cad, expiry=None)
    return Plan(
        station_locations=[station_location(s) for s in range(stations)],
        per_station=per_station,
        responder_ids=[responder.pk for responder in responders],
        user_ids=[user.pk for user in users],
        cookies=[f"{settings.SESSION_COOKIE_NAME}={session.session_key}" for session in sessions],
        token=token,
    )


def subscribe_devices(plan: Plan, push_service) -> dict[str, int]:
    """One push subscription (the stand-in's) per firefighter: endpoint -> user id."""
    from django.contrib.auth import get_user_model

    from backend.delivery.subscriptions import subscribe_device

    owners = {}
    for user in get_user_model().objects.filter(pk__in=plan.user_ids):
        subscription = push_service.subscribe()
        subscribe_device(actor=user, endpoint=subscription["endpoint"], label="phone", **subscription["keys"])
        owners[subscription["endpoint"]] = user.pk
    plan.push_endpoints.update(owners)
    return owners


# --- HTTP ---------------------------------------------------------------------------------------------------


async def http_json(
    port: int,
    method: str,
    path: str,
    body: dict | None,
    token: str | None,
    timeout: float = HTTP_TIMEOUT_S,
    *,
    origin: str | None = None,
):
    """A bare HTTP/1.1 request: (status, parsed JSON body or None). Raises OSError or TimeoutError
    when the process is gone or does not answer. token None: no Authorization header; origin: an
    Origin header, as a browser sends with a POST."""
    payload = json.dumps(body).encode() if body is not None else b""
    authorization = f"Authorization: Token {token}\r\n" if token is not None else ""
    origin_header = f"Origin: {origin}\r\n" if origin is not None else ""
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"{authorization}{origin_header}Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n"
    ).encode()

    async def exchange():
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            writer.write(head + payload)
            await writer.drain()
            return await reader.read()
        finally:
            writer.close()

    response = await asyncio.wait_for(exchange(), timeout)
    status_line, _, rest = response.partition(b"\r\n")
    if not status_line.startswith(b"HTTP/"):
        raise ConnectionError(f"no HTTP response from port {port}")
    status = int(status_line.split()[1])
    text = rest.partition(b"\r\n\r\n")[2]
    try:
        return status, json.loads(text) if text else None
    except ValueError:
        return status, {"raw": text[:300].decode(errors="replace")}


@dataclass
class Dispatched:
    reference: str
    station: int
    t_sent: float
    incident_id: int | None = None
    attempts: list = field(default_factory=list)  # (port, status or error)
    t_done: float | None = None  # when the CAD had its answer (201, or 409 naming the incident)


class Dispatcher:
    """The CAD: creates and dispatches incidents, retrying on any live process until one answers."""

    def __init__(self, cluster: Cluster, plan: Plan, run_id: str):
        self.cluster, self.plan, self.run_id = cluster, plan, run_id
        self.dispatched: dict[str, Dispatched] = {}
        self._next = 0

    def _port(self) -> int:
        ports = self.cluster.live_ports() or self.cluster.ports
        self._next += 1
        return ports[self._next % len(ports)]

    async def dispatch(self, number: int, station: int, deadline_s: float = 60, reference: str = "") -> Dispatched:
        reference = reference or f"{self.run_id}-{number:04d}"
        record = Dispatched(reference=reference, station=station, t_sent=time.monotonic())
        self.dispatched[reference] = record
        lat, lon = self.plan.location_of(station)
        body = {"cad_reference": reference, "latitude": lat, "longitude": lon, "address": f"{number} Fault Street"}
        body["dispatch"] = True
        deadline = time.monotonic() + deadline_s
        while time.monotonic() < deadline:
            port = self._port()
            try:
                status, answer = await http_json(port, "POST", "/api/v1/incidents/", body, self.plan.token)
            except (OSError, TimeoutError, ConnectionError) as error:
                record.attempts.append((port, type(error).__name__))
                await asyncio.sleep(0.2)
                continue
            record.attempts.append((port, status))
            if status == 201:
                record.incident_id, record.t_done = answer["id"], time.monotonic()
                return record
            if status == 409 and answer and answer["error"].get("existing_incident_id"):
                # An earlier attempt went through.
                record.incident_id, record.t_done = answer["error"]["existing_incident_id"], time.monotonic()
                return record
            if status in (502, 503):
                await asyncio.sleep(0.5)
                continue
            raise AssertionError(f"dispatch {reference} answered {status}: {answer}")
        raise TimeoutError(f"dispatch {reference} did not go through in {deadline_s} s: {record.attempts}")

    async def cancel(self, record: Dispatched, deadline_s: float = 30) -> None:
        path = f"/api/v1/incidents/{record.incident_id}/cancel/"
        deadline = time.monotonic() + deadline_s
        while time.monotonic() < deadline:
            try:
                status, answer = await http_json(self._port(), "POST", path, {"reason": "Not needed"}, self.plan.token)
            except (OSError, TimeoutError, ConnectionError):
                await asyncio.sleep(0.2)
                continue
            if status == 200 or (status == 409 and "cancel" in json.dumps(answer)):
                return
            if status in (502, 503):
                await asyncio.sleep(0.5)
                continue
            raise AssertionError(f"cancel of {record.reference} answered {status}: {answer}")
        raise TimeoutError(f"cancel of {record.reference} did not go through in {deadline_s} s")


# --- Simulated firefighters ---------------------------------------------------------------------------------


@dataclass
class Firefighter:
    """One phone with the app open. Every counter is about what this phone was shown."""

    index: int
    responder_id: int
    cookie: str
    ports: list[int]
    last_event_id: int | None = None
    event_ids: Counter = field(default_factory=Counter)  # stored event id -> times received
    alerts: dict = field(default_factory=dict)  # alert id -> the highest version seen
    shown_at: dict = field(default_factory=dict)  # alert id -> monotonic time first shown
    shown_twice: int = 0
    out_of_order: int = 0
    incomplete_syncs: int = 0
    acked: set = field(default_factory=set)
    connections: int = 0
    ack_errors: list = field(default_factory=list)
    online: asyncio.Event = field(default_factory=asyncio.Event)
    live: asyncio.Event = field(default_factory=asyncio.Event)  # set while a socket is past sync.ready
    _socket = None
    last_error: str = ""
    phase: str = ""
    # Resync after a lost connection: from the moment a live socket dropped (not one this side
    # closed) to the next sync.ready, i.e. reconnected and replayed. Seconds, one per drop.
    dropped_at: float | None = None
    resync_s: list = field(default_factory=list)
    # Of that, the part until a socket was open again (the rest is the server's start: log-in,
    # joining, replay). Seconds, one per drop.
    reopen_s: list = field(default_factory=list)
    # Where a resync's time goes: failed connection attempts by why, and the pauses between them.
    connect_failures: Counter = field(default_factory=Counter)
    backoff_slept_s: float = 0.0
    # Each resync step by step, for finding where a slow one's time went: (monotonic time, what
    # happened: dropped, pause, connect <port>, open, error, frame <type>, sync.ready).
    timeline: list = field(default_factory=list)

    def _mark(self, label: str) -> None:
        if self.dropped_at is not None:
            self.timeline.append((round(time.monotonic(), 4), label))

    async def run(self, stop: asyncio.Event) -> None:
        from websockets.asyncio.client import connect
        from websockets.exceptions import WebSocketException

        attempt = 0
        while not stop.is_set():
            self.phase = "waiting to be online"
            await self.online.wait()
            self.phase = "connecting"
            port = self.ports[(self.index + attempt) % len(self.ports)]
            query = "" if self.last_event_id is None else f"?last_event_id={self.last_event_id}"
            self._mark(f"connect {port}")
            try:
                async with connect(
                    f"ws://127.0.0.1:{port}/ws/responder/{query}",
                    origin=f"http://127.0.0.1:{port}",
                    additional_headers={"Cookie": self.cookie},
                    open_timeout=CONNECT_TIMEOUT_S,
                    close_timeout=1,
                    ping_interval=2,  # the app's liveness ping, shortened
                    ping_timeout=4,
                    compression=None,
                ) as websocket:
                    self._socket = websocket
                    self._mark("open")
                    self.connections += 1
                    if self.dropped_at is not None and len(self.reopen_s) < len(self.resync_s) + 1:
                        self.reopen_s.append(time.monotonic() - self.dropped_at)
                    self.phase = "connected"
                    attempt = await self._read(websocket, stop, attempt)
            except (OSError, TimeoutError, WebSocketException) as error:
                self.last_error = f"{type(error).__name__}: {error}"[:120]  # reconnect, as the app does
                self._mark("error " + self.last_error)
                if self._socket is None:  # failed before the socket opened (else: an open socket dropped)
                    self.connect_failures[_why_not_connected(error)] += 1
            finally:
                self._socket = None
                if self.live.is_set() and self.online.is_set() and not stop.is_set() and self.dropped_at is None:
                    self.dropped_at = time.monotonic()  # the server's side went away
                    self._mark("dropped")
                self.live.clear()
            if stop.is_set():
                return
            attempt += 1
            self.phase = "backing off"
            pause = random.uniform(0, min(BACKOFF_MAX_S, BACKOFF_FIRST_S * 2 ** min(attempt, 6)))
            self._mark(f"pause {pause:.3f}")
            if self.dropped_at is not None:
                self.backoff_slept_s += pause
            await asyncio.sleep(pause)

    async def _read(self, websocket, stop: asyncio.Event, attempt: int) -> int:
        stopping = asyncio.ensure_future(stop.wait())
        going_offline = asyncio.ensure_future(self._until_offline())
        try:
            while True:
                receiving = asyncio.ensure_future(websocket.recv())
                done, _ = await asyncio.wait({receiving, stopping, going_offline}, return_when=asyncio.FIRST_COMPLETED)
                if receiving not in done:
                    receiving.cancel()
                    await websocket.close()
                    return attempt
                frame = json.loads(receiving.result())
                if await self._on_frame(websocket, frame):
                    attempt = 0  # a connection that reached sync.ready counts as a success
        finally:
            stopping.cancel()
            going_offline.cancel()

    async def _until_offline(self) -> None:
        while self.online.is_set():
            await asyncio.sleep(0.05)

    async def _on_frame(self, websocket, frame: dict) -> bool:
        kind, event_id = frame.get("type"), frame.get("id")
        self._mark(f"frame {kind}")
        if event_id is not None:
            self.event_ids[event_id] += 1
            if self.last_event_id is not None and event_id <= self.last_event_id:
                self.out_of_order += 1
            self.last_event_id = max(self.last_event_id or 0, event_id)
        if kind == "sync.ready":
            if not frame["data"]["complete"]:
                self.incomplete_syncs += 1
            self.last_event_id = max(self.last_event_id or 0, frame["data"]["last_event_id"])
            self.live.set()
            if self.dropped_at is not None:
                self.resync_s.append(time.monotonic() - self.dropped_at)
                self._mark("sync.ready")
                self.dropped_at = None
            # Acknowledgements whose answer was lost with the last connection: send them again.
            for alert_id in sorted(set(self.shown_at) - self.acked):
                if self.alerts[alert_id]["state"] in ("alerted", "received"):
                    await websocket.send(json.dumps({"type": "alert.ack", "alert_id": alert_id}))
            return True
        if kind in ("alert.created", "alert.updated"):
            alert = frame["data"]["alert"]
            known = self.alerts.get(alert["id"])
            if known is None or alert["version"] > known["version"]:
                self.alerts[alert["id"]] = alert
            if kind == "alert.created":
                if alert["id"] in self.shown_at:
                    self.shown_twice += 1
                else:
                    self.shown_at[alert["id"]] = time.monotonic()
                    await websocket.send(json.dumps({"type": "alert.ack", "alert_id": alert["id"]}))
        elif kind == "alert.ack.ok":
            self.acked.add(frame["data"]["alert_id"])
        elif kind == "error":
            self.ack_errors.append(frame["data"])
        return False

    @property
    def duplicated(self) -> int:
        return self.shown_twice + sum(count - 1 for count in self.event_ids.values())


def _why_not_connected(error: BaseException) -> str:
    """A connection attempt's failure in a word: refused (nothing listening: a killed process),
    timeout (the handshake not answered within CONNECT_TIMEOUT_S), dropped in handshake (the server
    closed the connection before answering it: daphne does so with a handshake its application has
    not accepted within --websocket_connect_timeout, 5 s), rejected (an HTTP status instead of the
    upgrade), other."""
    from websockets.exceptions import InvalidMessage, InvalidStatus

    if isinstance(error, ConnectionRefusedError):
        return "refused"
    if isinstance(error, TimeoutError):
        return "timeout"
    if isinstance(error, InvalidMessage):
        return "dropped in handshake"
    if isinstance(error, InvalidStatus):
        return f"rejected {error.response.status_code}"
    return type(error).__name__


class ServiceWorkers:
    """Every firefighter's service worker (pwa/sw.js), as `Firefighter` is their app. The real worker,
    given an alert push, shows the notification and then POSTs {"alert_id", "token", "event":
    "shown"} to /api/v1/push-receipts/ with the token the push carried, with no cookie, the page's
    Origin and 8 s per attempt, again after a network error, a 5xx or a 429 (up to four attempts
    within 25 s, jittered pauses), never after another refusal.
    Here nothing is drawn: a push the stand-in accepted counts as shown, and the receipt is posted
    the same way. Each attempt goes to the web processes as a load balancer in front of them sends
    it: a process that refuses the connection (killed, not yet back) is passed over for the next,
    while one that fails after taking the request costs the attempt. A firefighter who is offline
    (offline_then_back) gets the push when back, as the push service holds a message for a phone
    out of reach, and only then can post the receipt."""

    def __init__(self, cluster: Cluster, plan: Plan, firefighters: list[Firefighter]):
        self.cluster = cluster
        by_user = {user_id: firefighters[index] for index, user_id in enumerate(plan.user_ids)}
        self.by_endpoint = {endpoint: by_user[user_id] for endpoint, user_id in plan.push_endpoints.items()}
        self.stored: dict[int, float] = {}  # alert id -> monotonic time the server took its first receipt
        self.refused: Counter = Counter()  # HTTP status -> receipts refused (final, as in sw.js)
        self.given_up = 0  # receipts abandoned after the attempts sw.js makes
        self.failures: Counter = Counter()  # why attempts failed: an HTTP status or an error's name
        self.shown = 0  # alert pushes shown (each posts one receipt)
        self._tasks: set[asyncio.Task] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_listening = None
        self._next = 0

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop_listening = self.cluster.push_service.on_push(self._arrived_elsewhere)

    def _arrived_elsewhere(self, push) -> None:
        """The stand-in's on_push, on its own thread: hand the push to this event loop."""
        self._loop.call_soon_threadsafe(self._arrived, push)

    def _arrived(self, push) -> None:
        firefighter = self.by_endpoint.get(push.endpoint)
        payload = push.json if isinstance(push.json, dict) else {}
        if firefighter is None or not payload.get("receipt") or not payload.get("alert_id"):
            return  # not one of ours, or a push without a receipt (a stand-down)
        task = self._loop.create_task(self._show(firefighter, payload["alert_id"], payload["receipt"]))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _show(self, firefighter: Firefighter, alert_id: int, token: str) -> None:
        await firefighter.online.wait()
        self.shown += 1
        body = {"alert_id": alert_id, "token": token, "event": "shown"}
        started = time.monotonic()
        for attempt in range(RECEIPT_ATTEMPTS):
            if attempt:
                pause = RECEIPT_PAUSES_S[attempt - 1] * (1 + random.random() / 2)
                if time.monotonic() - started + pause >= RECEIPT_DEADLINE_S:
                    break
                await asyncio.sleep(pause)
            try:
                status = await self._post(body)
            except (OSError, TimeoutError, ConnectionError) as error:
                self.failures[type(error).__name__] += 1
                continue
            if 200 <= status < 300:
                self.stored.setdefault(alert_id, time.monotonic())
                return
            if status < 500 and status != 429:
                self.refused[status] += 1
                return
            self.failures[status] += 1
        self.given_up += 1

    async def _post(self, body: dict) -> int:
        """One attempt, through the 'load balancer': the next process that takes the connection."""
        self._next += 1
        ports = self.cluster.ports
        for turn in range(len(ports)):
            port = ports[(self._next + turn) % len(ports)]
            try:
                # The page's origin: each process here is the site at its own port.
                origin = f"http://127.0.0.1:{port}"
                status, _answer = await http_json(
                    port, "POST", "/api/v1/push-receipts/", body, None, RECEIPT_TIMEOUT_S, origin=origin
                )
            except ConnectionRefusedError:
                if turn == len(ports) - 1:
                    raise
                continue
            return status
        raise ConnectionRefusedError("no web process")

    async def close(self) -> None:
        if self._stop_listening is not None:
            self._stop_listening()
        if self._tasks:
            _done, pending = await asyncio.wait(set(self._tasks), timeout=2 * RECEIPT_ATTEMPTS * RECEIPT_TIMEOUT_S)
            for task in pending:
                task.cancel()


class Crowd:
    """Every firefighter's client in this event loop (and their service workers, with a push service)."""

    def __init__(self, plan: Plan, cluster: Cluster):
        self.firefighters = [
            Firefighter(index=i, responder_id=rid, cookie=cookie, ports=cluster.ports)
            for i, (rid, cookie) in enumerate(zip(plan.responder_ids, plan.cookies, strict=True))
        ]
        self.stop = asyncio.Event()
        self.tasks: list[asyncio.Task] = []
        self.service_workers = (
            ServiceWorkers(cluster, plan, self.firefighters) if cluster.push_service is not None else None
        )

    async def connect(self, timeout: float = 60) -> None:
        if self.service_workers is not None:
            self.service_workers.start()
        for firefighter in self.firefighters:
            firefighter.online.set()
            self.tasks.append(asyncio.create_task(firefighter.run(self.stop)))
        await self.all_live(timeout)

    async def all_live(self, timeout: float = 30) -> None:
        async def wait():
            await asyncio.gather(*(f.live.wait() for f in self.firefighters if f.online.is_set()))

        try:
            await asyncio.wait_for(wait(), timeout)
        except TimeoutError:
            waiting = [f.index for f in self.firefighters if f.online.is_set() and not f.live.is_set()]
            raise TimeoutError(f"{len(waiting)} firefighters were not connected after {timeout} s") from None

    async def wait_until(self, condition, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return True
            await asyncio.sleep(0.1)
        return condition()

    async def close(self) -> None:
        self.stop.set()
        for firefighter in self.firefighters:
            firefighter.online.set()  # so nobody waits to come online
        if self.service_workers is not None:
            await self.service_workers.close()
        done, pending = await asyncio.wait(self.tasks, timeout=10)
        for task in pending:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        for task in done:
            if not task.cancelled() and task.exception() is not None:
                raise task.exception()


# --- Counting ---------------------------------------------------------------------------------------------------


@dataclass
class Figures:
    scenario: str
    dispatched: int = 0
    alerts: int = 0
    delivered: int = 0
    acknowledged: int = 0
    lost: int = 0
    duplicated: int = 0
    out_of_order: int = 0
    unexpected: int = 0
    cancelled_alerts: int = 0
    cancelled_shown_as_cancelled: int = 0
    delivery_ms: list = field(default_factory=list)
    missing: list = field(default_factory=list)
    extra: dict = field(default_factory=dict)
    timelines: dict = field(default_factory=dict)  # firefighter index -> Firefighter.timeline

    def p(self, fraction: float) -> float | None:
        if not self.delivery_ms:
            return None
        ordered = sorted(self.delivery_ms)
        position = (len(ordered) - 1) * fraction
        low = int(position)
        high = min(low + 1, len(ordered) - 1)
        return ordered[low] + (ordered[high] - ordered[low]) * (position - low)

    def line(self) -> str:
        p99 = self.p(0.99)
        p99_text = "n/a" if p99 is None else f"{p99:.0f}"
        extra = "".join(f" {key}={value}" for key, value in self.extra.items())
        return (
            f"{self.scenario}: dispatched={self.dispatched} alerts={self.alerts} delivered={self.delivered} "
            f"acknowledged={self.acknowledged} lost={self.lost} duplicated={self.duplicated} "
            f"p99_delivery_ms={p99_text}{extra}"
        )

    def as_json(self) -> dict:
        def ms(value):
            return None if value is None else round(value, 1)

        return {
            "dispatched_incidents": self.dispatched,
            "alerts": self.alerts,
            "delivered_alerts": self.delivered,
            "acknowledged_alerts": self.acknowledged,
            "lost_alerts": self.lost,
            "duplicated_frames": self.duplicated,
            "out_of_order_events": self.out_of_order,
            "unexpected_alerts": self.unexpected,
            "cancelled_alerts": self.cancelled_alerts,
            "cancelled_shown_as_cancelled": self.cancelled_shown_as_cancelled,
            "p50_delivery_ms": ms(self.p(0.5)),
            "p99_delivery_ms": ms(self.p(0.99)),
            "max_delivery_ms": ms(max(self.delivery_ms) if self.delivery_ms else None),
            **self.extra,
        }


def tally(scenario: str, dispatcher: Dispatcher, crowd: Crowd) -> Figures:
    """Compare the database (what was alerted, and what is cancelled) with what the phones showed.

    lost: an alert in the database its firefighter was never shown, or a cancelled alert they were
    not shown as cancelled. duplicated: a stored event received twice by one phone, or a second
    alert.created for an alert already shown. Acknowledged: the server confirmed the phone's
    alert.ack (alerts still standing only: a cancelled one cannot be acknowledged)."""
    from backend.dispatch.models import Alert, AlertState, Incident

    figures = Figures(scenario=scenario)
    by_responder = {firefighter.responder_id: firefighter for firefighter in crowd.firefighters}
    references = set(dispatcher.dispatched)
    alerts = list(
        Alert.objects.filter(incident__cad_reference__in=references).values_list(
            "pk", "responder_id", "state", "incident__cad_reference", "incident__status"
        )
    )
    figures.dispatched = len({reference for *_, reference, _status in alerts})
    figures.alerts = len(alerts)
    # An incident the CAD was told about but nobody was alerted to is lost whole.
    for reference in Incident.objects.filter(cad_reference__in=references, alerts__isnull=True).values_list(
        "cad_reference", flat=True
    ):
        figures.lost += 1
        figures.missing.append(f"{reference}: stored without any alert")
    alert_ids = {pk for pk, *_ in alerts}
    for pk, responder_id, state, reference, _status in alerts:
        firefighter = by_responder[responder_id]
        if pk not in firefighter.shown_at:
            figures.lost += 1
            figures.missing.append(
                f"{reference} alert {pk} never shown to firefighter {firefighter.index}, "
                f"{_where_the_phone_is(pk, firefighter)} (connections {firefighter.connections}, "
                f"live {firefighter.live.is_set()}, "
                f"last event {firefighter.last_event_id}, {firefighter.phase}, last error {firefighter.last_error})"
            )
            continue
        figures.delivered += 1
        figures.delivery_ms.append((firefighter.shown_at[pk] - dispatcher.dispatched[reference].t_sent) * 1000)
        if state == AlertState.CANCELLED:
            figures.cancelled_alerts += 1
            if firefighter.alerts[pk]["state"] == AlertState.CANCELLED:
                figures.cancelled_shown_as_cancelled += 1
            else:
                figures.lost += 1
                figures.missing.append(
                    f"{reference} alert {pk}: firefighter {firefighter.index} not told it is cancelled"
                )
        elif pk in firefighter.acked:
            figures.acknowledged += 1
    for firefighter in crowd.firefighters:
        figures.duplicated += firefighter.duplicated
        figures.out_of_order += firefighter.out_of_order
        mine = {pk for pk, alert in firefighter.alerts.items() if alert["incident"]["cad_reference"] in references}
        figures.unexpected += len(mine - alert_ids)
    figures.timelines = {f.index: f.timeline for f in crowd.firefighters if f.timeline}
    figures.extra["reconnections"] = sum(max(0, f.connections - 1) for f in crowd.firefighters)
    resyncs = [seconds * 1000 for f in crowd.firefighters for seconds in f.resync_s]
    resync = Figures(scenario="", delivery_ms=resyncs)
    figures.extra["resyncs"] = len(resyncs)
    figures.extra["resync_p50_ms"] = None if not resyncs else round(resync.p(0.5), 1)
    figures.extra["resync_p99_ms"] = None if not resyncs else round(resync.p(0.99), 1)
    figures.extra["resync_max_ms"] = None if not resyncs else round(max(resyncs), 1)
    reopens = Figures(scenario="", delivery_ms=[seconds * 1000 for f in crowd.firefighters for seconds in f.reopen_s])
    figures.extra["reopen_p50_ms"] = None if not reopens.delivery_ms else round(reopens.p(0.5), 1)
    figures.extra["reopen_p99_ms"] = None if not reopens.delivery_ms else round(reopens.p(0.99), 1)
    failures = Counter()
    for firefighter in crowd.firefighters:
        failures.update(firefighter.connect_failures)
    figures.extra["connect_failures"] = dict(sorted(failures.items()))
    figures.extra["backoff_paused_s_total"] = round(sum(f.backoff_slept_s for f in crowd.firefighters), 1)
    # Drops not yet resynced when the scenario ended (a phone still away after the cap).
    figures.extra["unresynced"] = sum(1 for f in crowd.firefighters if f.dropped_at is not None)
    figures.extra["incomplete_syncs"] = sum(f.incomplete_syncs for f in crowd.firefighters)
    figures.extra["half_done"] = len(half_done(references))
    answered = [(d.t_done - d.t_sent) * 1000 for d in dispatcher.dispatched.values() if d.t_done is not None]
    figures.extra["dispatch_answer_p99_ms"] = round(Figures(scenario="", delivery_ms=answered).p(0.99) or 0, 1)
    figures.extra["dispatch_retries"] = sum(len(d.attempts) - 1 for d in dispatcher.dispatched.values())
    if crowd.service_workers is not None:
        figures.extra.update(receipt_figures(dispatcher, alerts, crowd.service_workers))
    return figures


def _where_the_phone_is(alert_id: int, firefighter: Firefighter) -> str:
    """Whether an alert not shown can still reach the phone: the app resumes after the highest event
    id it has seen, so an event at or below it will never be replayed (lost for good, however long
    one waits), while one above it would be on the next reconnect (late, or lost live)."""
    from backend.realtime.models import ResponderEvent

    created = ResponderEvent.objects.filter(type="alert.created", data__alert__id=alert_id)
    event_id = created.values_list("id", flat=True).first()
    if event_id is None:
        return "no alert.created stored"
    if firefighter.last_event_id is not None and event_id <= firefighter.last_event_id:
        return f"its event {event_id} at or below the phone's last event id: never to be replayed"
    return f"its event {event_id} above the phone's last event id: a reconnect would replay it"


def receipt_figures(dispatcher: Dispatcher, alerts: list[tuple], service_workers: ServiceWorkers) -> dict:
    """The phones' receipts beside the sockets' deliveries: of the alert pushes the server recorded
    as sent, how many it holds a receipt for (`shown_at`, docs/delivery.md), and when the first
    receipt of each alert was taken, from the CAD's first POST (milliseconds, as delivery_ms)."""
    from backend.delivery.models import Channel, Delivery, DeliveryState, Kind

    pushes = list(
        Delivery.objects.filter(
            alert__incident__cad_reference__in=set(dispatcher.dispatched), channel=Channel.WEBPUSH, kind=Kind.ALERT
        ).values_list("alert_id", "state", "shown_at")
    )
    sent = [(alert_id, shown) for alert_id, state, shown in pushes if state == DeliveryState.SENT]
    reference_of = {pk: reference for pk, _responder, _state, reference, _status in alerts}
    stored_ms = [
        (at - dispatcher.dispatched[reference_of[alert_id]].t_sent) * 1000
        for alert_id, at in service_workers.stored.items()
        if alert_id in reference_of
    ]
    timing = Figures(scenario="", delivery_ms=stored_ms)
    return {
        "receipt_pushes_sent": len(sent),
        # Recorded but never accepted by the push service (still due, being sent, failed, dropped).
        "receipt_pushes_unsent": len(pushes) - len(sent),
        "receipt_pushes_shown": sum(1 for _alert, shown in sent if shown is not None),
        "receipt_missing": sum(1 for _alert, shown in sent if shown is None),
        "receipt_alerts_shown": len({alert_id for alert_id, _state, shown in pushes if shown is not None}),
        "receipt_refused": dict(sorted(service_workers.refused.items())),
        "receipt_given_up": service_workers.given_up,
        "receipt_attempts_failed": {
            str(why): count for why, count in sorted(service_workers.failures.items(), key=str)
        },
        "receipt_p50_ms": None if timing.p(0.5) is None else round(timing.p(0.5), 1),
        "receipt_p99_ms": None if timing.p(0.99) is None else round(timing.p(0.99), 1),
    }


def half_done(references: set[str]) -> list[str]:
    """Incidents without alerts and alerts without their stored alert.created event: what a
    dispatch interrupted half-way would leave."""
    from backend.dispatch.models import Alert, Incident
    from backend.realtime.models import ResponderEvent

    problems = []
    for incident in Incident.objects.filter(cad_reference__in=references).prefetch_related("alerts"):
        if not incident.alerts.all():
            problems.append(f"incident {incident.cad_reference} has no alerts")
    created = Counter(
        event.data["alert"]["id"]
        for event in ResponderEvent.objects.filter(
            type="alert.created", data__alert__incident__cad_reference__in=list(references)
        )
    )
    for pk in Alert.objects.filter(incident__cad_reference__in=references).values_list("pk", flat=True):
        if created[pk] != 1:
            problems.append(f"alert {pk} has {created[pk]} alert.created events")
    return problems
