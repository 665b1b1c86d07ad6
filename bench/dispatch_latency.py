"""Dispatch-to-socket latency: how long after the ambulance dispatch system's API call does each
alerted firefighter's socket hold its `alert.created` frame?

With N idle firefighter sockets connected (--sockets, default 1000) and K of them alerted per
incident (--alerted, default 20), the script creates and dispatches incidents through
POST /api/v1/incidents/ {"dispatch": true} (--incidents, default 50, after a few unmeasured
warm-up incidents) and measures, on the client's clock, from just before the request is sent to
the moment each alerted socket has read its frame. It then measures the floor: the same fan-out
(K of N idle sockets receive a frame of the same size) through a bare `websockets` broadcast
server, triggered over a control socket, with the same client. Then the durable floors: the same
again, but the floor server first writes the incident, its K alerts and K stored events in one
transaction (plain sqlite3 in WAL mode as the product's SQLite, and plain psycopg on a scratch
PostgreSQL database when --database-url answers), so the dispatch call can be read against a floor
that includes durability (goal: within 3x) and the socket p99 against the bare broadcast (goal:
within 10x). --no-durable-floors skips them. --interleave measures the product and the floors in
turns, a round of each, rather than one after another, so that the machine's other work (whose
effect on this 2-core machine moves by 1.5x from one minute to the next) falls on all of them alike.

    --mode embedded      one process as `make run` starts it (manage.py serve: daphne with the
                         delivery worker inside), SQLite in a temporary directory, in-memory layer
    --mode distributed   two `manage.py serve` processes on PostgreSQL and Redis (a scratch
                         database made and dropped here); sockets alternate between them,
                         dispatch goes to one (--plain-daphne: plain daphne processes instead)

The script sets up its own data: N firefighters in stations of K, stations 7+ km apart with
DISPATCH_RADIUS_KM=1 and DISPATCH_MAX_PER_STATION=K, each incident at the next station, so every
dispatch alerts exactly that station's K firefighters. Sessions are written directly. Nobody has
a push subscription, so no Web Push is sent: this measures the socket path only.

--positions N (issue 14) keeps N other responders' positions flowing during the run: each has
accepted an alert (crews of POSITIONS_CREW on incidents far from the measured ones, off call so
no dispatch selects them) and POSTs /api/v1/alerts/{id}/positions/ every 10 s, spread evenly, as
the app does. Run once without and once with it to compare the ratios to the floor.

--probe runs each server with timers around the view, the actions, the commits, the after-commit
sends, the consumer and the garbage collector, and prints where the time goes. --experiment NAME
tries a proposed backend change the same way (by wrapping, in the server process) to see what it
would gain; the product's files are not touched.

The last line printed is one JSON object with the figures. Examples:
    .venv/bin/python bench/dispatch_latency.py --mode embedded
    .venv/bin/python bench/dispatch_latency.py --mode distributed \
        --database-url postgres://postgres@127.0.0.1:5432/coresponder --redis-url redis://127.0.0.1:6379/0
"""

import argparse
import asyncio
import contextlib
import functools
import json
import os
import random
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from figures import BenchTimeout, fmt, free_port, percentile, stop
from figures import rounded as _rounded

from tests.support import live_server  # importable once figures has put the repository's root on sys.path

REPO_ROOT = Path(__file__).resolve().parent.parent
TARGET_P99_MS = 100.0
WARMUP_INCIDENTS = 3
# A station every 0.1 degree (at least 7 km at these latitudes), alerting radius 1 km.
GRID_STEP_DEG = 0.1
GRID_COLUMNS = 40
RADIUS_KM = 1.0
START_TIMEOUT_S = 30
CONNECT_TIMEOUT_S = 30
CONNECT_CONCURRENCY = 50
FRAME_TIMEOUT_S = 5
HTTP_TIMEOUT_S = 10


# --- Figures ---------------------------------------------------------------------------------------


def summary(values_ms: list[float]) -> dict:
    return {
        "p50": percentile(values_ms, 0.50),
        "p95": percentile(values_ms, 0.95),
        "p99": percentile(values_ms, 0.99),
        "max": max(values_ms) if values_ms else None,
    }


def rounded(value, digits=2):
    return _rounded(value, digits)


# --- Processes ---------------------------------------------------------------------------------------


@dataclass
class Process:
    name: str
    port: int
    popen: subprocess.Popen
    log_path: Path

    def tail(self) -> str:
        return live_server.tail(self.log_path, 3000)


def start_process(name: str, argv: list[str], env: dict, log_dir: Path, port: int) -> Process:
    log_path = log_dir / f"{name}.log"
    return Process(name=name, port=port, popen=live_server.start(argv, env, log_path), log_path=log_path)


def log_errors(process: Process) -> str:
    """Each distinct exception in a server's log, counted, and the first traceback in full."""
    try:
        lines = process.log_path.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    counts: dict[str, int] = {}
    first_traceback: list[str] = []
    for number, line in enumerate(lines):
        if line.startswith("Traceback"):
            end = number + 1
            while end < len(lines) and (lines[end].startswith((" ", "\t")) or not lines[end].strip()):
                end += 1
            if end < len(lines):
                counts[lines[end]] = counts.get(lines[end], 0) + 1
            if not first_traceback:
                first_traceback = lines[max(0, number - 3) : end + 1]
    summary = "\n".join(f"    {count} x {line}" for line, count in counts.items()) or "    (no tracebacks)"
    return summary + ("\n  first:\n" + "\n".join(first_traceback) if first_traceback else "")


def wait_until_listening(process: Process) -> None:
    live_server.wait_until_answering(
        process.popen, process.port, timeout=START_TIMEOUT_S, log_path=process.log_path, name=process.name
    )


def stop_process(process: Process) -> None:
    stop(process.popen, timeout=5)


def raise_open_files_limit(sockets: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 2 * sockets + 512  # our end and, inherited by the servers, theirs
    if soft < wanted:
        new_soft = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (new_soft, hard))
        if new_soft < wanted:
            print(f"warning: open-files limit is {new_soft}, below the {wanted} wanted", flush=True)


# --- Data -----------------------------------------------------------------------------------------------


@dataclass
class Plan:
    """Who is where: socket i belongs to firefighter i; station s holds firefighters s*K .. s*K+K-1."""

    station_locations: list[tuple[float, float]]
    cookies: list[str]
    token: str
    positions: list = field(default_factory=list)  # (alert id, API token) of each responder sharing (--positions)

    @property
    def station_count(self) -> int:
        return len(self.station_locations)


def station_location(index: int) -> tuple[float, float]:
    row, column = divmod(index, GRID_COLUMNS)
    return (50.0 + row * GRID_STEP_DEG, -3.0 + column * GRID_STEP_DEG)


def set_up_data(sockets: int, alerted: int) -> Plan:
    """Migrate the (fresh) database the environment names and fill it. Runs in this process."""
    import datetime

    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group
    from django.core.management import call_command
    from django.db import connections, transaction
    from django.utils import timezone
    from django.utils.crypto import get_random_string
    from knox.models import AuthToken

    from backend.accounts.models import Responder, Skill, Station
    from backend.accounts.session_store import SessionStore, UserSession
    from backend.roles import DISPATCH_SYSTEMS

    call_command("migrate", verbosity=0, interactive=False)
    User = get_user_model()
    station_count = sockets // alerted
    expires = timezone.localdate() + datetime.timedelta(days=365)
    with transaction.atomic():
        stations = Station.objects.bulk_create(
            [
                Station(name=f"Bench station {s}", code=f"bench-{s}", latitude=lat, longitude=lon)
                for s, (lat, lon) in enumerate(station_location(s) for s in range(station_count))
            ]
        )
        unusable = make_password(None)  # no password: sessions are written directly below
        users = User.objects.bulk_create(
            [
                User(username=f"ff{i:05d}", first_name="Firefighter", last_name=str(i), password=unusable)
                for i in range(sockets)
            ]
        )
        # Firefighters beyond the last full station are on call nowhere: idle sockets only.
        Responder.objects.bulk_create(
            [
                Responder(
                    user=user,
                    station=stations[min(i // alerted, station_count - 1)],
                    on_call=i < station_count * alerted,
                    skills=[Skill.BLS, Skill.AED],
                    life_support_training_expires=expires,
                    defibrillator_training_expires=expires,
                )
                for i, user in enumerate(users)
            ]
        )
        session_expiry = timezone.now() + datetime.timedelta(days=1)
        store = SessionStore()
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
        cad = User.objects.create_user(username="bench-cad")
        cad.groups.add(Group.objects.get(name=DISPATCH_SYSTEMS))
        _, token = AuthToken.objects.create(user=cad, expiry=None)
    cookies = [f"{settings.SESSION_COOKIE_NAME}={session.session_key}" for session in sessions]
    connections.close_all()  # the servers get the database to themselves
    return Plan(station_locations=[station_location(s) for s in range(station_count)], cookies=cookies, token=token)


POSITIONS_CREW = 4  # responders per incident whose positions flow (--positions)
POSITIONS_EVERY_S = 10.0


def set_up_positions(count: int) -> list[tuple[int, str]]:
    """`count` responders who accepted alerts on incidents of their own (crews of POSITIONS_CREW),
    far south of the measured grid and off call, so that no measured dispatch selects them; each
    with an API token. Returns (alert id, token) for each."""
    import datetime

    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.db import connections, transaction
    from django.utils import timezone
    from knox.models import AuthToken

    from backend.accounts.models import Responder, Skill, Station
    from backend.dispatch.models import Alert, AlertState, Incident

    User = get_user_model()
    expires = timezone.localdate() + datetime.timedelta(days=365)
    now = timezone.now()
    incidents_needed = -(-count // POSITIONS_CREW)
    with transaction.atomic():
        cad = User.objects.get(username="bench-cad")
        station = Station.objects.create(name="Bench positions", code="bench-positions", latitude=45.0, longitude=-3.0)
        users = User.objects.bulk_create(
            [User(username=f"pos{i:05d}", password=make_password(None)) for i in range(count)]
        )
        responders = Responder.objects.bulk_create(
            [
                Responder(
                    user=user,
                    station=station,
                    on_call=False,
                    skills=[Skill.BLS, Skill.AED],
                    life_support_training_expires=expires,
                    defibrillator_training_expires=expires,
                )
                for user in users
            ]
        )
        incidents = Incident.objects.bulk_create(
            [
                Incident(
                    cad_reference=f"BENCH-POS-{n:04d}",
                    latitude=45.0 + n * 0.01,
                    longitude=-3.0,
                    address=f"Positions street {n}",
                    created_by=cad,
                    dispatched_at=now,
                    crew_target=POSITIONS_CREW,
                )
                for n in range(incidents_needed)
            ]
        )
        alerts = Alert.objects.bulk_create(
            [
                Alert(
                    incident=incidents[i // POSITIONS_CREW],
                    responder=responder,
                    station=station,
                    state=AlertState.ACCEPTED,
                    distance_km=1.0,
                    rank=i % POSITIONS_CREW + 1,
                    alerted_at=now,
                    accepted_at=now,
                    summary_due=False,
                )
                for i, responder in enumerate(responders)
            ]
        )
        tokens = [AuthToken.objects.create(user=user, expiry=None)[1] for user in users]
    connections.close_all()
    return [(alert.pk, token) for alert, token in zip(alerts, tokens, strict=True)]


async def keep_positions_flowing(port: int, sharing: list[tuple[int, str]], stats: dict) -> None:
    """Each responder POSTs a position every POSITIONS_EVERY_S, spread evenly over the interval,
    moving a little each time (as pwa/app/position.js sends them), until cancelled."""
    gap = POSITIONS_EVERY_S / max(1, len(sharing))
    round_number = 0
    while True:
        round_number += 1
        for index, (alert_id, token) in enumerate(sharing):
            started = time.perf_counter()
            body = {
                "latitude": 45.0 + (index // POSITIONS_CREW) * 0.01 + 0.02 - round_number * 0.0005,
                "longitude": -3.0 + 0.0001 * index,
                "accuracy_m": 10,
            }
            try:
                _, status, _, finished = await post_json(port, f"/api/v1/alerts/{alert_id}/positions/", body, token)
            except (OSError, TimeoutError):
                status, finished = 0, time.perf_counter()
            stats["sent"] += 1
            if status not in (200, 201):
                stats["failed"] += 1
            stats["post_ms"].append((finished - started) * 1000)
            await asyncio.sleep(max(0.0, gap - (time.perf_counter() - started)))


def postgres_params(url: str) -> dict:
    import dj_database_url

    parsed = dj_database_url.parse(url)
    if parsed["ENGINE"] != "django.db.backends.postgresql":
        raise SystemExit(f"--database-url must be a PostgreSQL URL, not {url!r}")
    return parsed


def postgres_url(params: dict, name: str) -> str:
    from urllib.parse import quote

    credentials = quote(params.get("USER") or "", safe="")
    if params.get("PASSWORD"):
        credentials += ":" + quote(params["PASSWORD"], safe="")
    return f"postgres://{credentials}@{params.get('HOST') or '127.0.0.1'}:{params.get('PORT') or 5432}/{name}"


def admin_connection(params: dict):
    import psycopg

    return psycopg.connect(
        dbname="postgres",
        user=params.get("USER") or None,
        password=params.get("PASSWORD") or None,
        host=params.get("HOST") or "127.0.0.1",
        port=params.get("PORT") or 5432,
        autocommit=True,
        connect_timeout=5,
    )


def create_scratch_database(params: dict, name: str) -> None:
    from psycopg import sql

    with admin_connection(params) as connection:
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop_scratch_database(params: dict, name: str) -> None:
    from psycopg import sql

    with admin_connection(params) as connection:
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def delete_redis_keys(redis_url: str, prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url, socket_timeout=5)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        for start in range(0, len(keys), 500):
            client.delete(*keys[start : start + 500])
    finally:
        client.close()


@contextlib.contextmanager
def django_on_a_scratch_database(database_url: str, redis_url: str, *, name: str, per_station: int):
    """This process's Django settings pointed at a scratch PostgreSQL database beside `database_url`
    (created here, dropped on the way out, with the Redis keys of its channel-layer prefix), for the
    scripts that run the product's code in-process (bench/dispatch_counts.py, bench/plan_check.py).
    Yields the channel layer's prefix. The delivery worker does not run; DISPATCH_MAX_PER_STATION is
    `per_station`."""
    import dj_database_url

    from tests.support.cluster import postgres_url

    server = dj_database_url.parse(database_url)
    scratch = f"{name}_{uuid.uuid4().hex[:8]}"
    prefix = f"{name.split('_')[0]}{uuid.uuid4().hex[:6]}"
    os.environ.update(
        DJANGO_SETTINGS_MODULE="backend.settings",
        DATABASE_URL=postgres_url(server, name=scratch),
        REDIS_URL=redis_url,
        CHANNEL_LAYER_PREFIX=prefix,
        DISPATCH_MAX_PER_STATION=str(per_station),
        DELIVERY_WORKER_EMBEDDED="0",
    )
    create_scratch_database(server, scratch)
    try:
        yield prefix
    finally:
        from django.db import connections

        connections.close_all()
        drop_scratch_database(server, scratch)
        delete_redis_keys(redis_url, prefix)


# --- The client: sockets and the dispatch call ---------------------------------------------------------


@dataclass
class Round:
    """One incident (or floor round): who should get a frame, and when each did."""

    expected: frozenset
    done: asyncio.Event
    t_sent: float = 0.0
    t_response: float | None = None
    receipts: dict = field(default_factory=dict)  # socket index -> [receive times]
    got: int = 0
    unexpected: int = 0


class Client:
    """N sockets in one asyncio loop, recording when each reads an alert.created frame."""

    def __init__(self):
        self.rounds: dict[str, Round] = {}
        self.sockets = []
        self.readers = []
        self.stray = 0
        self.frame_sizes = []
        self.closed: dict[int, str] = {}  # socket index -> why it ended, if it did before close_all
        self.positions = {"sent": 0, "failed": 0, "post_ms": []}  # the positions flowing (--positions)

    def on_message(self, index: int, received: float, message) -> None:
        if not isinstance(message, str) or '"alert.created"' not in message[:64]:
            return
        frame = json.loads(message)
        reference = frame["data"]["alert"]["incident"]["cad_reference"]
        state = self.rounds.get(reference)
        if state is None:
            self.stray += 1
            return
        times = state.receipts.setdefault(index, [])
        times.append(received)
        if len(self.frame_sizes) < 200:
            self.frame_sizes.append(len(message))
        if index not in state.expected:
            state.unexpected += 1
        elif len(times) == 1:
            state.got += 1
            if state.got == len(state.expected):
                state.done.set()

    async def _read(self, index: int, connection) -> None:
        try:
            async for message in connection:
                self.on_message(index, time.perf_counter(), message)
        except Exception as error:
            self.closed[index] = f"{type(error).__name__}: {error}"
        else:
            self.closed[index] = f"closed by the server ({connection.close_code})"

    async def connect_all(self, urls_and_headers: list[tuple[str, str, str | None]], concurrency: int) -> None:
        from websockets.asyncio.client import connect

        limit = asyncio.Semaphore(concurrency)

        async def open_one(index: int, url: str, origin: str, cookie: str | None):
            async with limit:
                connection = await connect(
                    url,
                    origin=origin,
                    additional_headers={"Cookie": cookie} if cookie else None,
                    compression=None,
                    open_timeout=CONNECT_TIMEOUT_S,
                    close_timeout=2,
                    ping_interval=None,
                    max_size=2**20,
                )
                first = json.loads(await asyncio.wait_for(connection.recv(), CONNECT_TIMEOUT_S))
                if first.get("type") != "sync.ready":
                    raise RuntimeError(f"socket {index}: expected sync.ready first, got {first}")
                return connection

        results = await asyncio.gather(
            *(open_one(index, *entry) for index, entry in enumerate(urls_and_headers)), return_exceptions=True
        )
        failures = [result for result in results if isinstance(result, BaseException)]
        self.sockets = [result for result in results if not isinstance(result, BaseException)]
        if failures:
            await self.close_all()
            raise RuntimeError(
                f"{len(failures)} of {len(results)} sockets failed to open; the first: "
                f"{type(failures[0]).__name__}: {failures[0]}"
            )
        self.readers = [
            asyncio.create_task(self._read(index, connection)) for index, connection in enumerate(self.sockets)
        ]

    async def close_all(self) -> None:
        await asyncio.wait_for(
            asyncio.gather(*(connection.close() for connection in self.sockets), return_exceptions=True), 30
        )
        for reader in self.readers:
            reader.cancel()
        await asyncio.gather(*self.readers, return_exceptions=True)
        self.sockets, self.readers = [], []

    def expect(self, reference: str, expected: set[int]) -> Round:
        state = Round(expected=frozenset(expected), done=asyncio.Event())
        self.rounds[reference] = state
        return state


async def post_json(port: int, path: str, body: dict, token: str) -> tuple[float, int, bytes, float]:
    """A bare HTTP/1.1 POST: (time just before connecting, status, body, time the response ended)."""
    payload = json.dumps(body).encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"Authorization: Token {token}\r\nContent-Length: {len(payload)}\r\nConnection: close\r\n\r\n"
    ).encode()
    sent = time.perf_counter()
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), HTTP_TIMEOUT_S)
    try:
        writer.write(head + payload)
        await writer.drain()
        response = await asyncio.wait_for(reader.read(), HTTP_TIMEOUT_S)
    finally:
        writer.close()
    finished = time.perf_counter()
    status_line, _, rest = response.partition(b"\r\n")
    status = int(status_line.split()[1]) if status_line.startswith(b"HTTP/") else 0
    return sent, status, rest.partition(b"\r\n\r\n")[2], finished


class KeptConnection:
    """The CAD's calls over one HTTP/1.1 connection kept open between them (--keep-alive), as an
    HTTP client's connection pool keeps it: no TCP handshake nor new protocol instance per call.
    The answer ends at its Content-Length. Reconnects if the server closed it."""

    def __init__(self, port: int):
        self.port = port
        self.reader = self.writer = None
        self.opened = 0  # connections opened: 1 if the server kept it for every call

    async def post_json(self, path: str, body: dict, token: str) -> tuple[float, int, bytes, float]:
        payload = json.dumps(body).encode()
        head = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\nContent-Type: application/json\r\n"
            f"Authorization: Token {token}\r\nContent-Length: {len(payload)}\r\n\r\n"
        ).encode()
        sent = time.perf_counter()
        if self.writer is None or self.writer.is_closing() or self.reader.at_eof():
            self.reader, self.writer = await asyncio.wait_for(
                asyncio.open_connection("127.0.0.1", self.port), HTTP_TIMEOUT_S
            )
            self.opened += 1
        self.writer.write(head + payload)
        await self.writer.drain()
        header = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), HTTP_TIMEOUT_S)
        length = re.search(rb"(?im)^content-length:\s*(\d+)", header)
        if length is None:
            raise RuntimeError(f"an answer without Content-Length on a kept connection: {header[:300]!r}")
        answer = await asyncio.wait_for(self.reader.readexactly(int(length[1])), HTTP_TIMEOUT_S)
        finished = time.perf_counter()
        if re.search(rb"(?im)^connection:\s*close", header):
            self.writer.close()
            self.writer = None
        status = int(header.split(b" ", 2)[1])
        return sent, status, answer, finished

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def pause_between_rounds() -> None:
    await asyncio.sleep(random.uniform(0.1, 0.2))


# --- The client's own pauses, kept out of the rounds ------------------------------------------------
#
# The client reads every alerted socket's frame in this process, so a garbage collection here while
# a round is under way is counted as the server's latency (bench/socket_capacity.py found its own
# client's collections in its tail). What the client holds once its sockets are open (Django, the
# data set up, 1,000 connections) is frozen out of the collector, the collector is off during each
# round and collects between rounds instead, outside the measured time; the product and the floor
# are measured alike. Any collection that still overlaps a round is counted and reported.

CLIENT_COLLECTIONS: list[tuple[int, float, float, float]] = []  # (generation, start, end, cpu ms)


def watch_the_client() -> None:
    import gc

    started = {}

    def on_gc(phase, info):
        if phase == "start":
            started["t"], started["cpu"] = time.perf_counter(), time.thread_time()
        elif "t" in started:
            cpu = (time.thread_time() - started.pop("cpu")) * 1000
            CLIENT_COLLECTIONS.append((info["generation"], started.pop("t"), time.perf_counter(), cpu))

    if on_gc not in gc.callbacks:
        gc.callbacks.append(on_gc)


def freeze_the_client() -> None:
    """Once the sockets are open: what the client holds is never walked by its collector again."""
    import gc

    gc.collect()
    gc.freeze()


@contextlib.contextmanager
def client_collector_off():
    """No collection of the client's during a round; one between rounds instead."""
    import gc

    gc.disable()
    try:
        yield
    finally:
        gc.enable()


async def between_rounds() -> None:
    import gc

    gc.collect()
    await pause_between_rounds()


def client_collections_in(windows: list[tuple[float, float]]) -> dict:
    """The client's collections that overlapped a round (from the call to the round's last frame)."""
    cpu = [
        cpu_ms
        for _, start, end, cpu_ms in CLIENT_COLLECTIONS
        if any(start < w_end and end > w_start for w_start, w_end in windows)
    ]
    return {"count": len(cpu), "cpu_ms_total": round(sum(cpu), 2), "cpu_ms_max": round(max(cpu), 2) if cpu else None}


def round_windows(client: "Client", references: list[str]) -> list[tuple[float, float]]:
    windows = []
    for reference in references:
        state = client.rounds[reference]
        last = max((times[0] for times in state.receipts.values()), default=state.t_sent)
        windows.append((state.t_sent, max(last, state.t_response or state.t_sent)))
    return windows


def collect(client: Client, references: list[str], where=lambda index: "") -> dict:
    latencies, response_ms, missed = [], [], []
    missing = duplicates = unexpected = 0
    for reference in references:
        state = client.rounds[reference]
        for index in sorted(state.expected):
            times = state.receipts.get(index, [])
            if not times:
                missing += 1
                why = client.closed.get(index, "socket still open")
                missed.append(f"{reference} socket {index}{where(index)}: {why}")
                continue
            latencies.append((times[0] - state.t_sent) * 1000)
            duplicates += len(times) - 1
        unexpected += state.unexpected
        if state.t_response is not None:
            response_ms.append((state.t_response - state.t_sent) * 1000)
    return {
        "latencies_ms": latencies,
        "response_ms": response_ms,
        "missing": missing,
        "duplicates": duplicates,
        "unexpected": unexpected,
        "missed": missed,
    }


async def run_product(args, plan: Plan, servers: list[Process], run_id: str) -> dict:
    figures = {}
    async for _ in product_rounds(args, plan, servers, run_id, figures, Client()):
        pass
    return figures


async def product_rounds(args, plan: Plan, servers: list[Process], run_id: str, figures: dict, client: "Client"):
    """The product's run, one step at a time: it yields once its sockets are open and after each
    round (warm-up ones included), and fills `figures` when it ends (--interleave takes a round of
    each floor between two of its rounds)."""
    entries = []
    for index, cookie in enumerate(plan.cookies):
        server = servers[index % len(servers)]
        origin = f"http://127.0.0.1:{server.port}"
        entries.append((f"ws://127.0.0.1:{server.port}/ws/responder/", origin, cookie))
    started = time.perf_counter()
    await client.connect_all(entries, args.connect_concurrency)
    print(f"  {len(entries)} sockets connected in {time.perf_counter() - started:.1f} s", flush=True)

    dispatch_port = servers[0].port
    flowing = None
    if plan.positions:
        # To the last server: in distributed mode, the other one from the dispatches.
        flowing = asyncio.create_task(keep_positions_flowing(servers[-1].port, plan.positions, client.positions))
        await asyncio.sleep(POSITIONS_EVERY_S)  # a full round flowing before the first measured dispatch
    measured = []
    total = WARMUP_INCIDENTS + args.incidents
    kept = KeptConnection(dispatch_port) if args.keep_alive else None
    call = kept.post_json if kept else functools.partial(post_json, dispatch_port)
    freeze_the_client()
    yield
    for number in range(total):
        station = number % plan.station_count
        reference = f"BENCH-{run_id}-{number:04d}"
        expected = set(range(station * args.alerted, (station + 1) * args.alerted))
        state = client.expect(reference, expected)
        lat, lon = plan.station_locations[station]
        with client_collector_off():
            state.t_sent, status, body, state.t_response = await call(
                "/api/v1/incidents/",
                {
                    "cad_reference": reference,
                    "latitude": lat + 0.001,
                    "longitude": lon,
                    "address": f"Bench street {number}",
                    "dispatch": True,
                },
                plan.token,
            )
            if status != 201:
                raise RuntimeError(f"dispatch {reference}: HTTP {status}: {body[:500]!r}")
            alerts = json.loads(body)["alerts"]
            if len(alerts) != args.alerted:
                raise RuntimeError(f"dispatch {reference} alerted {len(alerts)} firefighters, not {args.alerted}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(state.done.wait(), FRAME_TIMEOUT_S)
        if number >= WARMUP_INCIDENTS:
            measured.append(reference)
        await between_rounds()
        yield
    await asyncio.sleep(0.5)  # late duplicates
    if kept is not None:
        kept.close()
        print(f"  the CAD's calls went over {kept.opened} kept connection(s)", flush=True)
    if flowing is not None:
        flowing.cancel()
        await asyncio.gather(flowing, return_exceptions=True)
    figures.update(collect(client, measured, where=lambda index: f" on {servers[index % len(servers)].name}"))
    figures["positions"] = client.positions
    figures["stray"] = client.stray
    figures["frame_bytes"] = int(percentile(client.frame_sizes, 0.5) or 1500)
    figures["references"] = measured
    figures["t_sent"] = {reference: client.rounds[reference].t_sent for reference in measured}
    figures["windows"] = dict(zip(measured, round_windows(client, measured), strict=True))
    figures["client_collections"] = client_collections_in(list(figures["windows"].values()))
    await client.close_all()


# --- The floor: a bare websockets broadcast server ------------------------------------------------------


def floor_server(port: int, frame_bytes: int, durable: str | None = None) -> None:
    """Runs in its own process: /ws/<index> sockets idle; /control sends a frame to named ones
    (with `durable`, after writing the incident, its alerts and events in one transaction)."""
    from websockets.asyncio.server import serve

    sockets = {}
    write = durable_writer(durable) if durable else None

    async def handler(connection):
        path = connection.request.path
        if path == "/control":
            async for message in connection:
                command = json.loads(message)
                size = command.get("frame_bytes", frame_bytes)  # --interleave: the product's, as it goes
                if write is not None:
                    write(command["reference"], command["targets"], size)
                for index in command["targets"]:
                    target = sockets.get(index)
                    if target is None:
                        continue
                    # One frame per target, serialised per target, as the product does.
                    frame = {
                        "type": "alert.created",
                        "id": index,
                        "data": {"alert": {"incident": {"cad_reference": command["reference"]}, "responder": index}},
                    }
                    frame["pad"] = "x" * max(0, size - len(json.dumps(frame)) - 10)
                    await target.send(json.dumps(frame, separators=(",", ":")))
                await connection.send("ok")
            return
        index = int(path.rsplit("/", 1)[-1])
        sockets[index] = connection
        try:
            await connection.send(json.dumps({"type": "sync.ready", "id": None, "data": {}}))
            await connection.wait_closed()
        finally:
            sockets.pop(index, None)

    async def main():
        async with serve(handler, "127.0.0.1", port, compression=None, max_size=2**20, backlog=2048) as server:
            await server.serve_forever()

    asyncio.run(main())


async def run_floor(args, port: int) -> dict:
    figures = {}
    async for _ in floor_rounds(args, port, figures):
        pass
    return figures


async def floor_rounds(args, port: int, figures: dict, frame_bytes=None):
    """A floor's run, one step at a time, as product_rounds. `frame_bytes`: a function giving the
    size of frame to send (the product's so far, with --interleave); else the server's own."""
    from websockets.asyncio.client import connect

    client = Client()
    origin = f"http://127.0.0.1:{port}"
    await client.connect_all(
        [(f"ws://127.0.0.1:{port}/ws/{index}", origin, None) for index in range(args.sockets)],
        args.connect_concurrency,
    )
    control = await connect(f"ws://127.0.0.1:{port}/control", compression=None, open_timeout=CONNECT_TIMEOUT_S)
    station_count = args.sockets // args.alerted
    measured = []
    freeze_the_client()
    try:
        yield
        for number in range(WARMUP_INCIDENTS + args.incidents):
            station = number % station_count
            reference = f"FLOOR-{number:04d}"
            targets = list(range(station * args.alerted, (station + 1) * args.alerted))
            state = client.expect(reference, set(targets))
            command = {"reference": reference, "targets": targets}
            if frame_bytes is not None:
                command["frame_bytes"] = frame_bytes()
            with client_collector_off():
                state.t_sent = time.perf_counter()
                await control.send(json.dumps(command))
                await asyncio.wait_for(control.recv(), HTTP_TIMEOUT_S)
                state.t_response = time.perf_counter()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(state.done.wait(), FRAME_TIMEOUT_S)
            if number >= WARMUP_INCIDENTS:
                measured.append(reference)
            await between_rounds()
            yield
        await asyncio.sleep(0.5)
    finally:
        await control.close()
    figures.update(collect(client, measured))
    figures["client_collections"] = client_collections_in(round_windows(client, measured))
    await client.close_all()


# --- Durable floors: the same rows written by plain sqlite3 / psycopg, then the same broadcast -------------

DURABLE_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS floor_incident (id {serial} PRIMARY KEY, cad_reference VARCHAR(64) NOT NULL,"
    " latitude DOUBLE PRECISION NOT NULL, longitude DOUBLE PRECISION NOT NULL, address VARCHAR(255) NOT NULL,"
    " status VARCHAR(20) NOT NULL, created_at TIMESTAMP NOT NULL)",
    "CREATE TABLE IF NOT EXISTS floor_alert (id {serial} PRIMARY KEY, incident_id BIGINT NOT NULL"
    " REFERENCES floor_incident (id), responder_id BIGINT NOT NULL, state VARCHAR(20) NOT NULL,"
    " round INTEGER NOT NULL, alerted_at TIMESTAMP NOT NULL)",
    "CREATE INDEX IF NOT EXISTS floor_alert_incident ON floor_alert (incident_id)",
    "CREATE TABLE IF NOT EXISTS floor_event (id {serial} PRIMARY KEY, responder_id BIGINT NOT NULL,"
    " type VARCHAR(40) NOT NULL, payload TEXT NOT NULL, created_at TIMESTAMP NOT NULL)",
    "CREATE INDEX IF NOT EXISTS floor_event_responder ON floor_event (responder_id, id)",
)


def durable_rows(reference: str, targets: list[int], frame_bytes: int) -> tuple[tuple, list[tuple], list[tuple]]:
    """The incident, one alert per target and one stored event per target (its frame as payload)."""
    import datetime

    now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
    incident = (reference, 52.63, 1.29, "Bench street", "dispatched", now)
    alerts = [(index, "alerted", 1, now) for index in targets]
    events = [(index, "alert.created", "x" * frame_bytes, now) for index in targets]
    return incident, alerts, events


def durable_writer(database: str):
    """write(reference, targets, frame_bytes): one transaction, committed durably, as the product's
    dispatch commits (SQLite: WAL, BEGIN IMMEDIATE, the product's settings; PostgreSQL: the server's
    defaults, synchronous_commit on)."""
    if database.startswith("sqlite:"):
        import sqlite3

        connection = sqlite3.connect(database.removeprefix("sqlite:"), isolation_level=None, timeout=20)
        connection.execute("PRAGMA journal_mode=WAL")
        for statement in DURABLE_SCHEMA:
            connection.execute(statement.format(serial="INTEGER"))

        def write_sqlite(reference, targets, frame_bytes):
            incident, alerts, events = durable_rows(reference, targets, frame_bytes)
            connection.execute("BEGIN IMMEDIATE")
            cursor = connection.execute(
                "INSERT INTO floor_incident (cad_reference, latitude, longitude, address, status, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                incident,
            )
            incident_id = cursor.lastrowid
            connection.executemany(
                "INSERT INTO floor_alert (incident_id, responder_id, state, round, alerted_at) VALUES (?, ?, ?, ?, ?)",
                [(incident_id, *alert) for alert in alerts],
            )
            connection.executemany(
                "INSERT INTO floor_event (responder_id, type, payload, created_at) VALUES (?, ?, ?, ?)", events
            )
            connection.execute("COMMIT")

        return write_sqlite

    import psycopg

    connection = psycopg.connect(database, autocommit=True)
    for statement in DURABLE_SCHEMA:
        connection.execute(statement.format(serial="BIGSERIAL"))

    def write_postgres(reference, targets, frame_bytes):
        incident, alerts, events = durable_rows(reference, targets, frame_bytes)
        with connection.transaction(), connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO floor_incident (cad_reference, latitude, longitude, address, status, created_at)"
                " VALUES (%s, %s, %s, %s, %s, %s) RETURNING id",
                incident,
            )
            incident_id = cursor.fetchone()[0]
            cursor.executemany(
                "INSERT INTO floor_alert (incident_id, responder_id, state, round, alerted_at)"
                " VALUES (%s, %s, %s, %s, %s)",
                [(incident_id, *alert) for alert in alerts],
            )
            cursor.executemany(
                "INSERT INTO floor_event (responder_id, type, payload, created_at) VALUES (%s, %s, %s, %s)", events
            )

    return write_postgres


def run_durable_floors(args, env: dict, work_dir: Path, processes: list, frame_bytes: int) -> dict:
    """The floor again with each durable write: {"sqlite": figures, "postgresql": figures}. PostgreSQL
    gets a scratch database of its own, dropped afterwards; it is skipped (with a note) if the
    server at --database-url does not answer."""
    databases, dropped = durable_floor_databases(args, work_dir)
    floors = {}
    try:
        for name, database in databases.items():
            floor = start_floor_server(f"floor-{name}", env, work_dir, processes, frame_bytes, durable=database)
            floors[name] = asyncio.run(run_floor(args, floor.port))
            stop_process(floor)
    finally:
        dropped()
    return floors


def durable_floor_databases(args, work_dir: Path) -> tuple[dict[str, str], Callable[[], None]]:
    """The durable floors' databases by name (SQLite always; PostgreSQL in a scratch database of its
    own if the server at --database-url answers, else skipped with a note), and what drops them."""
    databases = {"sqlite": f"sqlite:{work_dir / 'floor.sqlite3'}"}
    params = postgres_params(args.database_url)
    scratch = f"coresponder_floor_{uuid.uuid4().hex[:8]}"
    try:
        create_scratch_database(params, scratch)
        databases["postgresql"] = postgres_url(params, scratch)
    except Exception as error:
        print(f"  note: no PostgreSQL durable floor ({type(error).__name__}: {error})", flush=True)
        scratch = None

    def dropped() -> None:
        if scratch:
            try:
                drop_scratch_database(params, scratch)
            except Exception as error:
                print(f"warning: could not drop scratch database {scratch}: {error}", file=sys.stderr)

    return databases, dropped


def start_floor_server(name: str, env: dict, work_dir: Path, processes: list, frame_bytes: int, durable=None):
    """A floor server process (bare, or writing durably to `durable`), listening."""
    port = free_port()
    command = [sys.executable, str(Path(__file__).resolve()), "--floor-server", str(port)]
    command += ["--frame-bytes", str(frame_bytes)] + (["--durable", durable] if durable else [])
    floor = start_process(name, command, env, work_dir, port)
    processes.append(floor)
    wait_until_listening(floor)
    return floor


def run_interleaved(args, env: dict, work_dir: Path, processes: list, plan: Plan, servers: list, run_id: str):
    """--interleave: the product and every floor measured in turns, a round of each in the same
    order (the product's, the bare floor's, then each durable floor's) until all have run theirs,
    so that what else the machine is doing falls on all of them alike. Run one after another, a
    floor measured a minute after the product met another minute's load (this machine's speed
    moves by 1.5x between runs, and the ratio with it). The floors send frames of the product's
    size as measured so far. Returns (product, bare floor, durable floors by name)."""
    databases, dropped = ({}, lambda: None) if args.no_durable_floors else durable_floor_databases(args, work_dir)
    try:
        bare = start_floor_server("floor", env, work_dir, processes, 1500)
        durable = {
            name: start_floor_server(f"floor-{name}", env, work_dir, processes, 1500, durable=database)
            for name, database in databases.items()
        }
        return asyncio.run(_interleaved(args, plan, servers, run_id, bare, durable))
    finally:
        for process in processes:
            if process.name.startswith("floor"):
                with contextlib.suppress(Exception):
                    stop_process(process)
        dropped()


async def _interleaved(args, plan: Plan, servers: list, run_id: str, bare, durable: dict):
    product_client = Client()

    def product_frame_bytes() -> int:
        return int(percentile(product_client.frame_sizes, 0.5) or 1500)

    product, floor, floors = {}, {}, {name: {} for name in durable}
    await in_turns(
        [
            product_rounds(args, plan, servers, run_id, product, product_client),
            floor_rounds(args, bare.port, floor, product_frame_bytes),
            *(floor_rounds(args, durable[name].port, floors[name], product_frame_bytes) for name in durable),
        ]
    )
    return product, floor, floors


async def in_turns(runs: list) -> None:
    """Step each run (an async generator) once in turn, in the list's order, until all have ended."""
    while runs:
        for run in list(runs):
            try:
                await anext(run)
            except StopAsyncIteration:
                runs.remove(run)


def durable_report(product: dict, bare: dict, durable: dict) -> dict:
    """The product against the durable floors (the dispatch call) and the bare floor (the socket p99)."""
    response = summary(product["response_ms"])
    socket_p99 = summary(product["latencies_ms"])["p99"]
    bare_p99 = summary(bare["latencies_ms"])["p99"]
    figures = {}
    print("\n  durable floors (the same incident, alerts and events in one transaction, then the same broadcast):")
    for name, floor in durable.items():
        call, frames = summary(floor["response_ms"]), summary(floor["latencies_ms"])
        call_x = response["p50"] / call["p50"] if call["p50"] else None
        print(
            f"    {name:10s} call p50 {fmt(call['p50'])}  p99 {fmt(call['p99'])} ms; socket p50 {fmt(frames['p50'])}"
            f"  p99 {fmt(frames['p99'])} ms; product's call p50 is {call_x:.1f}x (goal <= 3x)"
        )
        figures.update(
            {
                f"durable_{name}_call_p50_ms": rounded(call["p50"]),
                f"durable_{name}_call_p99_ms": rounded(call["p99"]),
                f"durable_{name}_p50_ms": rounded(frames["p50"]),
                f"durable_{name}_p99_ms": rounded(frames["p99"]),
                f"call_p50_over_durable_{name}_x": rounded(call_x, 1),
                f"durable_{name}_missing_frames": floor["missing"],
            }
        )
    socket_x = socket_p99 / bare_p99 if socket_p99 is not None and bare_p99 else None
    print(f"    socket p99 over the bare broadcast floor: {socket_x:.1f}x (goal <= 10x)" if socket_x else "")
    figures["socket_p99_over_bare_floor_x"] = rounded(socket_x, 1)
    return figures


# --- Probe: where the time goes inside daphne ----------------------------------------------------------


def run_probed_server(command: list[str]) -> None:
    """The server `command` (manage.py serve, or daphne) run in this process with timers written to
    $BENCH_PROBE_LOG, one JSON line per span (start and end, perf_counter: comparable across
    processes on Linux) and per garbage collection. The product's functions are wrapped, never
    changed."""
    import gc

    import daphne.server  # noqa: F401  (installs the asyncio reactor first)

    sys.path.insert(0, str(REPO_ROOT))
    from django.db.backends.base.base import BaseDatabaseWrapper

    import backend.asgi
    from backend import broadcast
    from backend.api import views
    from backend.dispatch import actions
    from backend.realtime import events
    from backend.sockets import consumers

    apply_experiments(os.environ.get("BENCH_EXPERIMENTS", ""))
    if os.environ.get("BENCH_GC_THRESHOLD") and "gc-tuning" not in os.environ.get("BENCH_EXPERIMENTS", ""):
        # Other thresholds than the product's (backend/worker/serving.py), to compare their pauses.
        gc.set_threshold(*(int(part) for part in os.environ["BENCH_GC_THRESHOLD"].split(",")))
    log = open(os.environ["BENCH_PROBE_LOG"], "a", buffering=1)  # noqa: SIM115 (open for the process's life)
    local = threading.local()
    lock = threading.Lock()

    def record(name: str, reference: str | None, start: float, end: float) -> None:
        line = json.dumps({"span": name, "ref": reference, "start": start, "end": end})
        with lock:
            log.write(line + "\n")

    def current() -> str | None:
        return getattr(local, "reference", None)

    def timed(name, original, label=None):
        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                record(label(*args, **kwargs) if label else name, current(), start, time.perf_counter())

        return wrapper

    original_post = views.IncidentListView.post

    def post(self, request):
        local.reference = request.data.get("cad_reference") if isinstance(request.data, dict) else None
        start = time.perf_counter()
        try:
            return original_post(self, request)
        finally:
            record("view", local.reference, start, time.perf_counter())
            local.reference = None

    views.IncidentListView.post = post
    # The CAD's create-and-dispatch calls these two steps (dispatch_incident and create_incident
    # wrap them for the other callers).
    actions._insert_incident = timed("create_incident", actions._insert_incident)
    actions._dispatch_open_incident = timed("dispatch_incident", actions._dispatch_open_incident)
    actions.select_responders = timed("  select_responders", actions.select_responders)
    actions._tell_everyone_about = timed("  _tell_everyone_about", actions._tell_everyone_about)
    events.record_for_responders = timed(
        "record_for_responders",
        events.record_for_responders,
        label=lambda ids, type, data_for, **kwargs: f"  record {type}",
    )
    broadcast._send_now = timed(
        "send", broadcast._send_now, label=lambda batches: f"after-commit send ({_frame_type(batches[0][0][1])}, ...)"
    )
    BaseDatabaseWrapper._commit = timed("commit", BaseDatabaseWrapper._commit)

    # The sends themselves, on the event loop (after-commit send above only hands them over).
    original_group_send_all = broadcast._group_send_all

    async def group_send_all(messages):
        reference = _cad_reference(messages)
        start = time.perf_counter()
        try:
            return await original_group_send_all(messages)
        finally:
            record(f"loop sends ({_frame_type(messages[0][1])}, ...)", reference, start, time.perf_counter())

    broadcast._group_send_all = group_send_all
    if hasattr(broadcast, "_sender_idle"):  # the in-memory layer's sends, made as the loop takes them
        original_enqueue_all = broadcast._enqueue_all

        def enqueue_all(batches, *answer_sent):
            start = time.perf_counter()
            try:
                return original_enqueue_all(batches, *answer_sent)
            finally:
                name = f"loop takes the batches ({_frame_type(batches[0][0][1])}, ...)"
                record(name, _cad_reference(batches[0]), start, time.perf_counter())

        broadcast._enqueue_all = enqueue_all

    original_deliver = consumers.ResponderConsumer.deliver

    async def deliver(self, message):
        if _frame_type(message) != "alert.created":
            return await original_deliver(self, message)
        start = time.perf_counter()
        await original_deliver(self, message)
        record("consumer deliver", _cad_reference([(None, message)]), start, time.perf_counter())

    consumers.ResponderConsumer.deliver = deliver

    # The request's first work on its thread (Django's request_started signal, whose receivers are
    # synchronous) and the start of the middleware chain: how long the hops from the loop took.
    from django.core import signals as django_signals

    def request_thread_starts(**kwargs):
        if threading.current_thread() is not threading.main_thread():
            moment = time.perf_counter()
            record("request_started (thread)", None, moment, moment)

    django_signals.request_started.connect(request_thread_starts, weak=False)
    from django.utils.deprecation import MiddlewareMixin

    first_middleware = MiddlewareMixin.__call__

    def middleware_call(self, request):
        if type(self).__module__ == "django.middleware.security" and request.path == "/api/v1/incidents/":
            moment = time.perf_counter()
            record("middleware chain starts", None, moment, moment)
        return first_middleware(self, request)

    MiddlewareMixin.__call__ = middleware_call

    # Before the view, on PostgreSQL: the connection's health check, then the token check (the
    # token with its user, a SHA-512, the caller's permissions and groups), then DRF's own checks.
    from backend.accounts import tokens

    def moments_around(name, original):
        def wrapper(*args, **kwargs):
            record(f"{name} begins", None, time.perf_counter(), time.perf_counter())
            try:
                return original(*args, **kwargs)
            finally:
                record(f"{name} ends", None, time.perf_counter(), time.perf_counter())

        return wrapper

    tokens.TokenAuthentication.authenticate_credentials = moments_around(
        "token check", tokens.TokenAuthentication.authenticate_credentials
    )
    tokens.load_permissions = moments_around("permissions read", tokens.load_permissions)

    # daphne walks every connection from the reactor: application_checker each second,
    # timeout_checker (which also sends the keep-alive pings) every two. Both block the event loop
    # for a time that grows with the sockets.
    from daphne.server import Server

    Server.application_checker = timed("daphne application_checker", Server.application_checker)
    Server.timeout_checker = timed("daphne timeout_checker", Server.timeout_checker)
    with contextlib.suppress(ImportError):  # manage.py serve's server walks in slices: each timed
        from backend.worker.daphne_server import SlicedTimeoutServer

        SlicedTimeoutServer._check_timeouts_slice = timed(
            "daphne timeout_checker", SlicedTimeoutServer._check_timeouts_slice
        )
        SlicedTimeoutServer._check_applications_slice = timed(
            "daphne application_checker", SlicedTimeoutServer._check_applications_slice
        )

    gc_started = {}

    def on_gc(phase, info):
        # Wall and CPU time of the collecting thread: a collection whose wall time is far above its
        # CPU time was stopped (another thread had the GIL, or the process was not scheduled).
        if phase == "start":
            gc_started["t"], gc_started["cpu"] = time.perf_counter(), time.thread_time()
        elif "t" in gc_started:
            end, cpu = time.perf_counter(), (time.thread_time() - gc_started.pop("cpu")) * 1000
            line = {
                "span": f"gc gen{info['generation']}",
                "ref": None,
                "start": gc_started.pop("t"),
                "end": end,
                "cpu_ms": round(cpu, 2),
                "thread": threading.current_thread().name,
                "collected": info["collected"],
            }
            with lock:
                log.write(json.dumps(line) + "\n")

    gc.callbacks.append(on_gc)

    def census(signum, frame) -> None:
        """On SIGUSR1: the objects the collector tracks, by type (what each socket keeps alive)."""
        counts = {}
        for obj in gc.get_objects():
            name = type(obj).__qualname__
            counts[name] = counts.get(name, 0) + 1
        line = {"census": counts, "frozen": gc.get_freeze_count(), "at": time.perf_counter()}
        with lock:
            log.write(json.dumps(line) + "\n")

    signal.signal(signal.SIGUSR1, census)

    def garbage_census(signum, frame) -> None:
        """On SIGUSR2: a full collection, and what it found unreachable (cyclic garbage), by type."""
        gc.set_debug(gc.DEBUG_SAVEALL)
        try:
            started = time.perf_counter()
            collected = gc.collect()
            took = time.perf_counter() - started
        finally:
            gc.set_debug(0)
        counts = {}
        for obj in gc.garbage:
            name = type(obj).__qualname__
            counts[name] = counts.get(name, 0) + 1
        gc.garbage.clear()
        line = {"garbage": counts, "collected": collected, "took_ms": round(took * 1000, 1), "at": time.perf_counter()}
        with lock:
            log.write(json.dumps(line) + "\n")

    signal.signal(signal.SIGUSR2, garbage_census)
    loop_watch = {"started": False}
    # What counts as a long callback or a stop of the loop (socket_capacity.py keeps 20 ms; this
    # script asks for 5 to see what a 30 ms dispatch waits for).
    pause_s = float(os.environ.get("BENCH_LOOP_PAUSE_MS", "20")) / 1000

    # Every callback the event loop runs, timed: one of 20 ms or more is written with what it was
    # and the loop thread's CPU time in it (wall far above CPU: the thread waited, for the GIL or
    # for a core).
    original_run = asyncio.events.Handle._run

    def timed_run(handle):
        start, cpu = time.perf_counter(), time.thread_time()
        try:
            return original_run(handle)
        finally:
            end = time.perf_counter()
            if end - start >= pause_s:
                line = {
                    "span": "loop callback",
                    "ref": None,
                    "start": start,
                    "end": end,
                    "cpu_ms": round((time.thread_time() - cpu) * 1000, 2),
                    "what": repr(handle)[:300],
                }
                with lock:
                    log.write(json.dumps(line) + "\n")

    asyncio.events.Handle._run = timed_run

    def watch_the_loop(loop, expected: float) -> None:
        """Every 10 ms on the event loop: a callback late by more than 20 ms is a stop of the loop."""
        now = time.perf_counter()
        if now - expected > pause_s:
            record("loop stopped", None, expected, now)
        loop.call_later(0.01, watch_the_loop, loop, time.perf_counter() + 0.01)

    product_application = backend.asgi.application

    async def application(scope, receive, send):
        if not loop_watch["started"]:
            loop_watch["started"] = True
            loop = asyncio.get_running_loop()
            loop.call_later(0.01, watch_the_loop, loop, time.perf_counter() + 0.01)
        if scope["type"] == "http" and scope["path"] == "/api/v1/incidents/" and scope["method"] == "POST":
            now = time.perf_counter()
            record("http arrives", None, now, now)
            local_send = send

            async def send(message):
                # The answer handed to daphne: its head, then its body (the client has it soon after).
                if message["type"] in ("http.response.start", "http.response.body"):
                    moment = time.perf_counter()
                    name = "answer to daphne" if message["type"] == "http.response.start" else "answer body to daphne"
                    record(name, None, moment, moment)
                return await local_send(message)

        return await product_application(scope, receive, send)

    # daphne (directly or through manage.py serve) loads "backend.asgi:application": this one.
    backend.asgi.application = application
    if Path(command[0]).name == "manage.py":
        from django.core.management import execute_from_command_line

        execute_from_command_line(command)
    else:
        from daphne.cli import CommandLineInterface

        CommandLineInterface().run(command[1:])


def _cad_reference(messages: list) -> str | None:
    """The incident a batch of sends is about, from its first frame, to match it to its request
    (the sends run on the event loop, outside the request's thread)."""
    message = messages[0][1] if messages else {}
    if isinstance(message.get("text"), str):  # the frame encoded once by its sender: not decoded here
        found = re.search(r'"cad_reference":"([^"]*)"', message["text"])
        return found.group(1) if found else None
    frame = message.get("frame")
    data = frame.get("data", {}) if isinstance(frame, dict) else {}
    incident = data.get("alert", {}).get("incident") if isinstance(data.get("alert"), dict) else data
    return incident.get("cad_reference") if isinstance(incident, dict) else None


def _frame_type(message: dict) -> str:
    if isinstance(message.get("text"), str):
        found = re.match(r'\{"type":"([^"]*)"', message["text"])
        return found.group(1) if found else "?"
    frame = message.get("frame")
    return frame.get("type", "?") if isinstance(frame, dict) else message.get("type", "?")


EXPERIMENTS = {
    "stations-first": "select_responders only loads responders of stations within the radius",
    "throttled-clean": "the in-memory channel layer cleans expired entries at most once a second",
    "gc-tuning": "gc.freeze() after start-up and a gen0 threshold of 10,000 (700 by default)",
    "pubsub-layer": "channels_redis's RedisPubSubChannelLayer instead of RedisChannelLayer",
    "switch-interval": "sys.setswitchinterval(BENCH_SWITCH_INTERVAL, default 0.001 s; Python's is 0.005 s): the event "
    "loop waits less for the interpreter while a request's thread runs",
}


def apply_experiments(names: str) -> None:
    """Proposed backend changes, tried by wrapping the product in the server process (the
    product's files are not changed). Runs after Django is set up, before serving.
    BENCH_GC_THRESHOLD="a,b,c" overrides gc-tuning's thresholds."""
    import gc

    names = {name for name in names.split(",") if name}
    if "stations-first" in names:
        from backend.accounts.models import Station
        from backend.dispatch import actions, selection

        original_select = actions.select_responders

        def select_nearby(*, latitude, longitude, radius_km, station_ids=None, **kwargs):
            if radius_km is not None:
                stations = Station.objects.filter(active=True).values_list("pk", "latitude", "longitude")
                near = [
                    pk
                    for pk, lat, lon in stations
                    if selection.great_circle_km(latitude, longitude, lat, lon) <= radius_km
                ]
                station_ids = near if station_ids is None else [pk for pk in station_ids if pk in near]
            return original_select(
                latitude=latitude, longitude=longitude, radius_km=radius_km, station_ids=station_ids, **kwargs
            )

        actions.select_responders = select_nearby
    if "throttled-clean" in names:
        from channels.layers import InMemoryChannelLayer

        original_clean = InMemoryChannelLayer._clean_expired

        def clean_at_most_once_a_second(self):
            now = time.monotonic()
            if now >= getattr(self, "_next_clean", 0):
                self._next_clean = now + 1.0
                original_clean(self)

        InMemoryChannelLayer._clean_expired = clean_at_most_once_a_second
    if "pubsub-layer" in names:
        from django.conf import settings

        layer = settings.CHANNEL_LAYERS["default"]
        if layer["BACKEND"] in (
            "channels_redis.core.RedisChannelLayer",
            "backend.realtime.layers.BatchedRedisChannelLayer",
        ):
            layer["BACKEND"] = "channels_redis.pubsub.RedisPubSubChannelLayer"
            layer["CONFIG"] = {"hosts": layer["CONFIG"]["hosts"], "prefix": layer["CONFIG"]["prefix"]}
    if "switch-interval" in names:
        sys.setswitchinterval(float(os.environ.get("BENCH_SWITCH_INTERVAL", "0.001")))
    if "gc-tuning" in names:
        gc.collect()
        gc.freeze()
        threshold = os.environ.get("BENCH_GC_THRESHOLD", "10000,10,10")
        gc.set_threshold(*(int(part) for part in threshold.split(",")))


# Moments logged without the incident's reference (before the request is parsed, or after its
# view): matched to the call sent last before them.
MOMENTS = (
    "request_started (thread)",
    "middleware chain starts",
    "token check begins",
    "permissions read begins",
    "permissions read ends",
    "token check ends",
    "answer to daphne",
    "answer body to daphne",
)


def probe_report(log_paths: list[Path], t_sent: dict[str, float]) -> dict:
    """Per span: when it started after the client's send (first occurrence per incident) and how
    long it took (summed per incident), p50 / p99 in ms; and garbage collections during the run."""
    spans: dict[str, dict[str, list[tuple[float, float]]]] = {}
    arrivals, collections, moments = [], {}, {}
    first_sent, last_sent = min(t_sent.values()), max(t_sent.values()) + 1
    for path in log_paths:
        if not path.exists():
            continue
        for line in path.read_text().splitlines():
            entry = json.loads(line)
            name, reference = entry["span"], entry["ref"]
            if name == "http arrives":
                arrivals.append(entry["start"])
            elif name in MOMENTS:
                moments.setdefault(name, []).append(entry["start"])
            elif name.startswith("gc "):
                if first_sent <= entry["start"] <= last_sent:
                    collections.setdefault(name, []).append((entry["end"] - entry["start"]) * 1000)
            elif reference in t_sent:
                spans.setdefault(name, {}).setdefault(reference, []).append((entry["start"], entry["end"]))
    arrivals.sort()

    def p50_p99(values):
        return {"p50": rounded(percentile(values, 0.5), 1), "p99": rounded(percentile(values, 0.99), 1)}

    report = {}
    reached = []
    for sent in t_sent.values():
        after = [t for t in arrivals if t >= sent]
        if after:
            reached.append((after[0] - sent) * 1000)
    report["http arrives"] = {"at": p50_p99(reached)}
    for name in MOMENTS:  # each call's first after it was sent (one dispatch is in flight at a time)
        times = sorted(moments.get(name, []))
        after_sent = [next((t for t in times if t >= sent), None) for sent in t_sent.values()]
        if any(t is not None for t in after_sent):
            report[name] = {
                "at": p50_p99([(t - sent) * 1000 for t, sent in zip(after_sent, t_sent.values(), strict=True) if t])
            }
    for name, by_reference in spans.items():
        starts = [(min(s for s, _ in times) - t_sent[ref]) * 1000 for ref, times in by_reference.items()]
        ends = [(max(e for _, e in times) - t_sent[ref]) * 1000 for ref, times in by_reference.items()]
        took = [sum(e - s for s, e in times) * 1000 for times in by_reference.values()]
        report[name] = {"at": p50_p99(starts), "until": p50_p99(ends), "took": p50_p99(took)}
    for name, pauses in sorted(collections.items()):
        report[name] = {"count": len(pauses), "took": p50_p99(pauses), "max_ms": rounded(max(pauses), 1)}
    return report


def server_collections_in_rounds(log_paths: list[Path], windows: dict) -> dict:
    """The servers' collections (--probe) that overlapped a measured dispatch, from its call to its
    last frame: how many, and their wall time in all (backend/worker/serving.py holds its timed
    collections back while a dispatch is served)."""
    spans = [
        (entry["start"], entry["end"])
        for path in log_paths
        if path.exists()
        for entry in map(json.loads, path.read_text().splitlines())
        if entry.get("ref", "") is None and entry.get("span", "").startswith("gc ")
    ]
    inside = [(start, end) for start, end in spans if any(s < end and start < e for s, e in windows.values())]
    return {"count": len(inside), "ms": round(sum(end - start for start, end in inside) * 1000, 1)}


def slowest_dispatches(log_paths: list[Path], product: dict, count: int = 3) -> list[dict]:
    """The `count` dispatches whose last frame came latest (the p99 is one of them: 20 frames of 1,000
    are one dispatch's), each with its stages and every pause that overlapped it of 1 ms or more
    (the servers' collections, loop stops, long loop callbacks, daphne's walks; the client's
    collections), in ms after the client sent the call: what the tail is made of."""
    entries = []
    for path in log_paths:
        if path.exists():
            entries.extend(json.loads(line) for line in path.read_text().splitlines())
    entries = [entry for entry in entries if "span" in entry]
    windows = product["windows"]
    out = []
    for reference, (start, end) in sorted(windows.items(), key=lambda item: item[1][0] - item[1][1])[:count]:

        def ms(t, start=start):
            return round((t - start) * 1000, 1)

        stages = [
            {"span": entry["span"].strip(), "at": ms(entry["start"]), "took": ms(entry["end"]) - ms(entry["start"])}
            for entry in entries
            if entry["ref"] == reference
        ]
        pauses = [
            {
                "span": entry["span"],
                "at": ms(entry["start"]),
                "took": round((entry["end"] - entry["start"]) * 1000, 1),
                **{key: entry[key] for key in ("cpu_ms", "what") if key in entry},
            }
            for entry in entries
            if entry["ref"] is None
            and entry["start"] < end
            and entry["end"] > start
            and entry["end"] - entry["start"] >= 0.001
            and entry["span"].startswith(("gc ", "daphne ", "loop "))
        ]
        pauses += [
            {"span": f"client gc gen{generation}", "at": ms(c_start), "took": round((c_end - c_start) * 1000, 1)}
            for generation, c_start, c_end, _ in CLIENT_COLLECTIONS
            if c_start < end and c_end > start
        ]
        out.append({"reference": reference, "last_frame_ms": ms(end), "stages": stages, "pauses": pauses})
    return out


# --- The run -------------------------------------------------------------------------------------------


def server_command(args, port: int) -> list[str]:
    """As deployed (docs/deployment.md): `manage.py serve`, daphne with its walks over the
    connections sliced and the young generation collected ten times a second
    (backend/worker/daphne_server.py); embedded, what `make run` starts, with the delivery worker on
    its event loop; distributed, one of several such processes on Redis (the workers run apart).
    Distributed ran plain daphne until 5 December: without the timed young collections its young
    generation swelled and a dispatch met collections of 14-22 ms (--probe)."""
    command = [str(REPO_ROOT / "manage.py"), "serve", "--host", "127.0.0.1", "--port", str(port)]
    if args.plain_daphne and args.mode == "distributed":
        command = live_server.daphne_command(port)
        if args.probe or args.experiment:
            return [sys.executable, str(Path(__file__).resolve()), "--probed-server", *command]
        return command
    if args.probe or args.experiment:
        return [sys.executable, str(Path(__file__).resolve()), "--probed-server", *command]
    return [sys.executable, *command]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=["embedded", "distributed"], default="embedded")
    parser.add_argument("--sockets", type=int, default=1000, help="idle firefighter sockets (default 1000)")
    parser.add_argument("--alerted", type=int, default=20, help="firefighters alerted per incident (default 20)")
    parser.add_argument("--incidents", type=int, default=50, help="measured incidents (default 50)")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/coresponder",
        help="distributed mode: the PostgreSQL server (a scratch database is created beside it)",
    )
    parser.add_argument(
        "--redis-url", default=os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0", help="distributed mode"
    )
    parser.add_argument(
        "--connect-concurrency",
        type=int,
        default=CONNECT_CONCURRENCY,
        help=f"sockets opening at once (default {CONNECT_CONCURRENCY}; the number of sockets models a reconnect storm)",
    )
    parser.add_argument(
        "--positions",
        type=int,
        default=0,
        metavar="N",
        help="keep N other responders' positions flowing every 10 s during the run (issue 14; default 0)",
    )
    parser.add_argument("--probe", action="store_true", help="time the stages inside daphne and print them")
    parser.add_argument(
        "--plain-daphne",
        action="store_true",
        help="distributed mode: plain `daphne backend.asgi:application` processes, as this script ran them "
        "until 5 December, instead of `manage.py serve` as deployed",
    )
    parser.add_argument(
        "--experiment",
        action="append",
        choices=sorted(EXPERIMENTS),
        default=[],
        help="try a proposed backend change by wrapping the product in the server process (repeatable)",
    )
    parser.add_argument("--timeout", type=int, default=900, help="give up after this many seconds (default 900)")
    parser.add_argument("--floor-server", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--frame-bytes", type=int, default=1500, help=argparse.SUPPRESS)
    parser.add_argument("--durable", help=argparse.SUPPRESS)  # the floor server's durable write
    parser.add_argument("--no-durable-floors", action="store_true", help="skip the SQLite and PostgreSQL floors")
    parser.add_argument(
        "--keep-alive",
        action="store_true",
        help="the CAD's calls over one kept HTTP/1.1 connection, as a client's connection pool makes them "
        "(default: a new connection for each call, Connection: close)",
    )
    parser.add_argument(
        "--interleave",
        action="store_true",
        help="measure the product and the floors in turns, a round of each, instead of one after another "
        "(what else the machine does then falls on all of them alike)",
    )
    parser.add_argument("--probed-server", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.floor_server:
        floor_server(args.floor_server, args.frame_bytes, args.durable)
        return 0
    if args.probed_server is not None:
        run_probed_server(args.probed_server)
        return 0
    if not 1 <= args.alerted <= 100:
        parser.error("--alerted must be 1 to 100 (DISPATCH_MAX_PER_STATION's range)")
    if args.sockets < args.alerted:
        parser.error("--sockets must be at least --alerted")
    if args.incidents < 50:
        print(f"note: {args.incidents} incidents; the figures want at least 50", flush=True)

    def on_alarm(signum, frame):
        raise BenchTimeout(f"the benchmark took longer than {args.timeout} s")

    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(args.timeout)
    raise_open_files_limit(args.sockets)
    try:
        return run(args)
    except (Exception, KeyboardInterrupt) as error:
        # The last line is still one JSON object, saying what went wrong (the traceback is above).
        import traceback

        traceback.print_exc()
        print(json.dumps({"mode": args.mode, "error": f"{type(error).__name__}: {error}"[:2000]}), flush=True)
        return 2
    finally:
        signal.alarm(0)


def run(args) -> int:
    sys.path.insert(0, str(REPO_ROOT))
    watch_the_client()
    run_id = uuid.uuid4().hex[:8]
    work_dir = Path(tempfile.mkdtemp(prefix="coresponder-bench-"))
    processes: list[Process] = []
    scratch = None
    prefix = f"bench-{run_id}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "backend.settings",
        "DJANGO_ENV": "development",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DISPATCH_RADIUS_KM": str(RADIUS_KM),
        "DISPATCH_MAX_PER_STATION": str(args.alerted),
        "DISPATCH_MAX_RESPONDERS": str(args.alerted),
        "PYTHONUNBUFFERED": "1",
    }
    try:
        if args.mode == "embedded":
            env.pop("DATABASE_URL", None)
            env.pop("REDIS_URL", None)
            env["SQLITE_PATH"] = str(work_dir / "bench.sqlite3")
            server_count = 1
        else:
            params = postgres_params(args.database_url)
            scratch = (params, f"coresponder_bench_{run_id}")
            create_scratch_database(params, scratch[1])
            env["DATABASE_URL"] = postgres_url(params, scratch[1])
            env["REDIS_URL"] = args.redis_url
            env["CHANNEL_LAYER_PREFIX"] = prefix
            server_count = 2
        os.environ.update(env)
        for name in ("DATABASE_URL", "REDIS_URL"):
            if name not in env:
                os.environ.pop(name, None)

        print(
            f"dispatch latency, {args.mode}: {args.sockets} sockets, {args.alerted} alerted per incident, "
            f"{args.incidents} incidents (+{WARMUP_INCIDENTS} warm-up)",
            flush=True,
        )
        load_at_start = os.getloadavg()[0]
        started = time.perf_counter()
        plan = set_up_data(args.sockets, args.alerted)
        if args.positions:
            plan.positions = set_up_positions(args.positions)
            print(f"  positions: {args.positions} responders sharing every {POSITIONS_EVERY_S:g} s", flush=True)
        print(
            f"  data: {plan.station_count} stations, {args.sockets} firefighters, sessions "
            f"({time.perf_counter() - started:.1f} s)",
            flush=True,
        )

        probe_logs = []
        for number in range(server_count):
            port = free_port()
            server_env = dict(env)
            if args.probe or args.experiment:
                probe_logs.append(work_dir / f"probe-{number}.jsonl")
                server_env["BENCH_PROBE_LOG"] = str(probe_logs[-1])
                server_env["BENCH_EXPERIMENTS"] = ",".join(args.experiment)
                server_env.setdefault("BENCH_LOOP_PAUSE_MS", "5")
            processes.append(start_process(f"server-{number}", server_command(args, port), server_env, work_dir, port))
        for process in processes:
            wait_until_listening(process)
        servers = list(processes)

        durable_floors = None
        if args.interleave:
            product, floor_figures, durable_floors = run_interleaved(
                args, env, work_dir, processes, plan, servers, run_id
            )
        else:
            product = asyncio.run(run_product(args, plan, servers, run_id))
        for process in servers:
            if process.popen.poll() is not None:
                raise RuntimeError(f"{process.name} died during the run:\n{process.tail()}")
            stop_process(process)
        if product["missing"] or product["duplicates"] or product["unexpected"]:
            print("  frames went astray:", flush=True)
            for line in product["missed"][:40]:
                print(f"    missed: {line}", flush=True)
            for process in servers:
                print(
                    f"  --- errors in {process.name}'s log (port {process.port}) ---\n{log_errors(process)}", flush=True
                )
        stages = probe_report(probe_logs, product["t_sent"]) if args.probe else None
        if args.probe:
            product["slowest"] = slowest_dispatches(probe_logs, product)
            product["server_collections"] = server_collections_in_rounds(probe_logs, product["windows"])

        if not args.interleave:
            floor = start_floor_server("floor", env, work_dir, processes, product["frame_bytes"])
            floor_figures = asyncio.run(run_floor(args, floor.port))
            stop_process(floor)
            if not args.no_durable_floors:
                durable_floors = run_durable_floors(args, env, work_dir, processes, product["frame_bytes"])
        if durable_floors:
            product["durable_floors"] = durable_floors
        # Other work on the machine shows in the figures: say how busy it was.
        product["load"] = (load_at_start, os.getloadavg()[0])
    except BaseException:
        for process in processes:
            if process.popen.poll() is not None and process.popen.returncode not in (0, -15):
                print(f"--- {process.name} log ---\n{process.tail()}", file=sys.stderr)
        raise
    finally:
        for process in processes:
            with contextlib.suppress(Exception):
                stop_process(process)
        if scratch:
            with contextlib.suppress(Exception):
                from django.db import connections

                connections.close_all()
            try:
                drop_scratch_database(*scratch)
            except Exception as error:
                print(f"warning: could not drop scratch database {scratch[1]}: {error}", file=sys.stderr)
            with contextlib.suppress(Exception):
                delete_redis_keys(args.redis_url, prefix)
        shutil.rmtree(work_dir, ignore_errors=True)

    return report(args, product, floor_figures, stages)


def report(args, product: dict, floor: dict, stages: dict | None) -> int:
    ours = summary(product["latencies_ms"])
    base = summary(floor["latencies_ms"])
    response = summary(product["response_ms"])
    expected = args.incidents * args.alerted
    print(f"\n  socket receives alert.created, from the API call ({len(product['latencies_ms'])}/{expected} frames):")
    for name, values in (("product", ours), ("floor", base)):
        print(
            f"    {name:8s} p50 {fmt(values['p50'])}  p95 {fmt(values['p95'])}  p99 {fmt(values['p99'])}  "
            f"max {fmt(values['max'])} ms"
        )
    print(f"    HTTP response of the dispatch call: p50 {fmt(response['p50'])}  p99 {fmt(response['p99'])} ms")
    print(
        f"    missing {product['missing']}, duplicates {product['duplicates']}, "
        f"to the wrong socket {product['unexpected']}, stray {product['stray']}; floor missing {floor['missing']}"
    )
    if stages:
        print("\n  where the time goes (ms; 'at' and 'until' after the client sent the request; p50 / p99):")
        for name, values in sorted(stages.items(), key=lambda item: item[1].get("at", {}).get("p50") or 1e9):
            if "count" in values:
                took = values["took"]
                print(
                    f"    {name:44s} {values['count']} during the run, each {fmt(took['p50'])} / {fmt(took['p99'])}"
                    f", max {fmt(values['max_ms'])}"
                )
            elif "took" in values:
                at, until, took = values["at"], values["until"], values["took"]
                print(
                    f"    {name:44s} at {fmt(at['p50'])} / {fmt(at['p99'])}   until {fmt(until['p50'])} / "
                    f"{fmt(until['p99'])}   took {fmt(took['p50'])} / {fmt(took['p99'])}"
                )
            else:
                print(f"    {name:44s} at {fmt(values['at']['p50'])} / {fmt(values['at']['p99'])}")
    print(
        f"    the client's own collections during the rounds: {product['client_collections']['count']} "
        f"(floor {floor['client_collections']['count']})"
    )
    if "server_collections" in product:
        collections = product["server_collections"]
        count, took = collections["count"], fmt(collections["ms"])
        print(f"    the servers' collections during the rounds: {count}, {took} ms in all")
    for slow in product.get("slowest", []):
        print(f"\n  a slow dispatch: its last frame {fmt(slow['last_frame_ms'])} ms after the call")
        for stage in sorted(slow["stages"], key=lambda stage: stage["at"]):
            print(f"      {stage['span']:44s} at {fmt(stage['at'])}  took {fmt(stage['took'])}")
        for pause in sorted(slow["pauses"], key=lambda pause: pause["at"]):
            extra = f"  cpu {pause['cpu_ms']}" if "cpu_ms" in pause else ""
            extra += f"  {pause['what'][:90]}" if "what" in pause else ""
            print(f"      pause: {pause['span']:37s} at {fmt(pause['at'])}  took {fmt(pause['took'])}{extra}")
    ratio = ours["p99"] / base["p99"] if ours["p99"] is not None and base["p99"] else None
    met = ours["p99"] is not None and ours["p99"] <= TARGET_P99_MS and product["missing"] == 0
    for name in sorted(args.experiment):
        print(f"  experiment (not the product as it is): {name}: {EXPERIMENTS[name]}")
    print(f"\n  target p99 <= {TARGET_P99_MS:.0f} ms: {'met' if met else 'MISSED'}\n", flush=True)
    figures = {
        "mode": args.mode,
        "cad_connection": "kept" if args.keep_alive else "new per call",
        "floors_measured": "in turns with the product" if args.interleave else "after the product",
        "sockets": args.sockets,
        "alerted": args.alerted,
        "incidents": args.incidents,
        "warmup_incidents": WARMUP_INCIDENTS,
        "frames_measured": len(product["latencies_ms"]),
        "p50_ms": rounded(ours["p50"]),
        "p95_ms": rounded(ours["p95"]),
        "p99_ms": rounded(ours["p99"]),
        "max_ms": rounded(ours["max"]),
        "http_response_p50_ms": rounded(response["p50"]),
        "http_response_p99_ms": rounded(response["p99"]),
        "floor_p50_ms": rounded(base["p50"]),
        "floor_p95_ms": rounded(base["p95"]),
        "floor_p99_ms": rounded(base["p99"]),
        "p99_over_floor_x": rounded(ratio, 1),
        "missing_frames": product["missing"],
        "duplicate_frames": product["duplicates"],
        "misdirected_frames": product["unexpected"],
        "floor_missing_frames": floor["missing"],
        "client_collections_in_rounds": product["client_collections"]["count"],
        "floor_client_collections_in_rounds": floor["client_collections"]["count"],
        "target_p99_ms": TARGET_P99_MS,
        "target_met": met,
        "loadavg_1m_start": round(product["load"][0], 2),
        "loadavg_1m_end": round(product["load"][1], 2),
    }
    if product.get("durable_floors"):
        figures.update(durable_report(product, floor, product["durable_floors"]))
    if args.positions:
        flow = product["positions"]
        post = summary(flow["post_ms"])
        print(
            f"  positions flowing: {args.positions} responders, {flow['sent']} POSTs ({flow['failed']} failed), "
            f"p50 {fmt(post['p50'])}  p99 {fmt(post['p99'])} ms",
            flush=True,
        )
        figures.update(
            {
                "positions_flowing": args.positions,
                "positions_sent": flow["sent"],
                "positions_failed": flow["failed"],
                "position_post_p50_ms": rounded(post["p50"]),
                "position_post_p99_ms": rounded(post["p99"]),
            }
        )
    if "server_collections" in product:
        figures["server_collections_in_rounds"] = product["server_collections"]["count"]
        figures["server_collection_ms_in_rounds"] = product["server_collections"]["ms"]
    if args.experiment:
        figures["experiments"] = sorted(args.experiment)
    if stages:
        figures["stages_ms"] = stages
    print(json.dumps(figures), flush=True)
    return 0 if product["missing"] == 0 and product["duplicates"] == 0 and product["unexpected"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
