"""Memory over time in the serving process (issue 17): does `manage.py serve`, whose collections
run on a timer only (backend/worker/serving.py), keep a flat resident set over a long run with
real churn, or does something grow (cycles never collected, caches that grow per socket or per
incident, per-connection state never freed)?

Two `manage.py serve` processes (embedded: daphne with the worker inside, each on its own scratch
SQLite copy of the same data, the in-memory channel layer), given the same load side by side:

* timed:     the product as deployed: CPython's automatic collections off, timed ones only;
* automatic: the baseline, the same code with CPython's automatic collections (this script's
             server wrapper makes collect_on_the_timer_only and collect_the_young no-ops in
             backend/worker/daphne_server.py, as plain daphne runs; the product's thresholds and
             start-up freeze, set in backend/asgi.py, are the same in both).

Each server gets --sockets authenticated idle responder sockets (held by a client process of its
own) sending the app's ping frame every 25 s, and, on the same schedule for both:

* every --dispatch-every-s (30 s) a dispatch through the API alerting one station's 20
  firefighters; the frames are checked (`missing_frames`: an alerted open socket that did not read
  its `alert.created` within 10 s); --answers of the alerted answer through the API (half accept,
  half decline); those who accepted post a position at once and again before the incident ends; the
  incident is cancelled or closed (in turn) two dispatches later;
* every minute --churn-pct of the sockets (3 %) close and reconnect a few seconds later, as phones
  losing signal: half with a close handshake, half cut (the transport aborted).

Every --sample-s (30 s) this process samples each server's VmRSS, its open sockets (/proc) and its
collector's counters (gc.get_stats(), on SIGUSR2); on SIGUSR1 each writes a census of the objects
its collector tracks, by type, after the warm-up and after the last sample (and every
--census-every-min if asked: a census's list of every object shows as a step in RSS). After
the --warmup-min, RSS growth is fitted (least squares) in KB per hour, and for each half of the
measured window, so a reader can see whether growth slows.

    flock /tmp/bench.lock .venv/bin/python bench/memory_soak.py --minutes 4 --warmup-min 1
    nice -n 10 .venv/bin/python bench/memory_soak.py --minutes 60

The last line printed is one JSON object with the figures.
"""

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import random
import shutil
import signal
import sys
import tempfile
import time
import uuid
from pathlib import Path
from types import SimpleNamespace

import dispatch_latency as latency
import socket_capacity as capacity
from figures import BenchTimeout, free_port

REPO_ROOT = Path(__file__).resolve().parent.parent
SERVERS = ("timed", "automatic")  # the product as deployed, and the baseline
FRAME_WAIT_S = 10
RECONNECT_AFTER_S = (2.0, 8.0)  # a phone that lost signal comes back after this long
INCIDENT_LIFE_DISPATCHES = 2  # an incident is cancelled or closed this many dispatches later
CENSUS_TOP = 25
AFTER_CLOSE_S = 10
LOAD_OUTLASTS_SAMPLES_S = 20  # the last sample and census while every socket is still held


# --- The servers: manage.py serve, with a census and the collector's counters on signals -------------


def run_soak_server(collections: str, command: list[str]) -> None:
    """The server `command` (manage.py serve) in this process; on SIGUSR1 it appends a census of the
    tracked objects by type to $BENCH_SOAK_LOG, on SIGUSR2 the collector's counters.
    `collections`: "timed" (as deployed) or "automatic" (CPython's automatic collections kept)."""
    import gc

    import daphne.server  # noqa: F401  (installs the asyncio reactor first)

    sys.path.insert(0, str(REPO_ROOT))
    if collections == "automatic":
        from backend.worker import daphne_server

        daphne_server.collect_on_the_timer_only = lambda: None
        daphne_server.collect_the_young = lambda: None
    log = open(os.environ["BENCH_SOAK_LOG"], "a", buffering=1)  # noqa: SIM115 (open for the process's life)

    def write(line: dict) -> None:
        log.write(json.dumps(line) + "\n")

    def census(signum, frame, key: str = "census") -> None:
        started = time.perf_counter()
        counts, timers = {}, {}
        for obj in gc.get_objects():
            name = type(obj).__qualname__
            counts[name] = counts.get(name, 0) + 1
            if name == "DelayedCall":  # Twisted's timers: what each would call (none once called or cancelled)
                func = getattr(obj, "func", None)
                what = "(called or cancelled)" if func is None else getattr(func, "__qualname__", repr(func)[:80])
                timers[what] = timers.get(what, 0) + 1
        took = round((time.perf_counter() - started) * 1000, 1)
        write({key: counts, "timers": timers, "frozen": gc.get_freeze_count(), "took_ms": took, "at": time.time()})

    def collected_census(signum, frame) -> None:
        """What is still reachable: a full collection first (for the idle server, before and after)."""
        gc.collect()
        census(signum, frame, key="reachable")

    def counters(signum, frame) -> None:
        write(
            {
                "stats": gc.get_stats(),
                "count": gc.get_count(),
                "frozen": gc.get_freeze_count(),
                "enabled": gc.isenabled(),
                "threshold": gc.get_threshold(),
                "at": time.time(),
            }
        )

    def never_raising(handler):
        """A signal handler's exception would stop the server (it is raised in the event loop)."""

        def run(signum, frame):
            try:
                handler(signum, frame)
            except Exception as error:
                write({"error": f"{type(error).__name__}: {error}"[:300], "at": time.time()})

        return run

    signal.signal(signal.SIGUSR1, never_raising(census))
    signal.signal(signal.SIGUSR2, never_raising(counters))
    signal.signal(signal.SIGRTMIN, never_raising(collected_census))
    from django.core.management import execute_from_command_line

    execute_from_command_line(command)


class Server:
    """One server process and its log of answers to the signals."""

    def __init__(self, name: str, process: latency.Process, log: Path):
        self.name, self.process, self.log, self.read = name, process, log, 0
        self.samples, self.censuses, self.reachable = [], [], []
        self.after_close = None

    @property
    def pid(self) -> int:
        return self.process.popen.pid

    def ask(self, sig: int, key: str, timeout: float = 60) -> dict | None:
        """Send `sig` and wait for the next line holding `key`."""
        os.kill(self.pid, sig)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.log.open("rb") as f:
                f.seek(self.read)
                text = f.read()
            if text.endswith(b"\n"):
                self.read += len(text)
                for line in text.decode().splitlines():
                    entry = json.loads(line)
                    if key in entry:
                        return entry
            time.sleep(0.2)
        return None


def open_sockets(pid: int) -> int:
    count = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            count += os.readlink(fd).startswith("socket:")
    return count


def start_servers(env: dict, work_dir: Path) -> dict[str, Server]:
    servers = {}
    for name in SERVERS:
        port = free_port()
        database = work_dir / f"{name}.sqlite3"
        log = work_dir / f"soak-{name}.jsonl"
        log.touch()
        command = [sys.executable, str(Path(__file__).resolve()), "--soak-server", name, "--"]
        command += [str(REPO_ROOT / "manage.py"), "serve", "--host", "127.0.0.1", "--port", str(port)]
        own_env = {**env, "SQLITE_PATH": str(database), "BENCH_SOAK_LOG": str(log)}
        servers[name] = Server(name, latency.start_process(f"server-{name}", command, own_env, work_dir, port), log)
    for server in servers.values():
        latency.wait_until_listening(server.process)
    return servers


# --- Data --------------------------------------------------------------------------------------------


def set_up(args, work_dir: Path) -> SimpleNamespace:
    """The firefighters and sessions (bench/dispatch_latency.py's plan), an API token for the first
    --answers firefighters of each station, and each responder's socket index; then the database
    copied, one file per server."""
    plan = latency.set_up_data(args.sockets, args.alerted)
    from django.db import connections, transaction
    from knox.models import AuthToken

    from backend.accounts.models import Responder

    index_of = {}
    tokens = {}
    with transaction.atomic():
        for pk, username, user in Responder.objects.filter(user__username__startswith="ff").values_list(
            "pk", "user__username", "user"
        ):
            index = int(username[2:])
            index_of[pk] = index
            if index % args.alerted < args.answers:
                tokens[index] = user
        from django.contrib.auth import get_user_model

        users = get_user_model().objects.in_bulk(list(tokens.values()))
        tokens = {index: AuthToken.objects.create(user=users[user], expiry=None)[1] for index, user in tokens.items()}
    connections.close_all()  # SQLite checkpoints its WAL into the file as the last connection closes
    source = Path(os.environ["SQLITE_PATH"])
    for name in SERVERS:
        for suffix in ("", "-wal", "-shm"):
            if Path(f"{source}{suffix}").exists():
                shutil.copy(f"{source}{suffix}", work_dir / f"{name}.sqlite3{suffix}")
    return SimpleNamespace(plan=plan, index_of=index_of, tokens=tokens)


# --- The load: one client process per server, on the same schedule -------------------------------------


def load_process(pipe, name: str, port: int, data: SimpleNamespace, args) -> None:
    """Holds one server's sockets and plays the schedule; answers ("connected", error) once its
    sockets are open, waits for ("go", t0, t_end) and answers ("done", figures)."""
    import gc

    gc.disable()  # the client lives for one run; its pauses are not measured
    try:
        figures = asyncio.run(drive(pipe, name, port, data, args))
    except Exception as error:
        figures = {"error": f"{type(error).__name__}: {error}"[:500]}
    pipe.send(("done", figures))


async def drive(pipe, name: str, port: int, data: SimpleNamespace, args) -> dict:
    loop = asyncio.get_running_loop()
    plan = data.plan
    client = latency.Client()
    figures = {
        "dispatches": 0,
        "dispatch_failed": 0,
        "frames_expected": 0,
        "missing_frames": 0,
        "answers": 0,
        "answers_failed": 0,
        "positions": 0,
        "positions_failed": 0,
        "incidents_ended": 0,
        "incidents_end_failed": 0,
        "reconnects": 0,
        "reconnects_failed": 0,
        "closed_by_server": 0,
    }
    try:
        await capacity.connect_more(client, plan, [port], list(range(args.sockets)), args.connect_concurrency)
    except Exception as error:
        pipe.send(("connected", f"{type(error).__name__}: {error}"[:500]))
        return figures
    pipe.send(("connected", None))
    _, t0, t_end = await loop.run_in_executor(None, pipe.recv)
    pinging = asyncio.create_task(capacity.keep_pinging(client, args.app_ping_s))
    random_ = random.Random(args.seed)  # the same choices for both servers
    ending: list[tuple[int, list[tuple[int, str]], int]] = []  # (incident id, accepted (alert, token), number)
    number = 0
    next_dispatch, next_churn = t0 + 5, t0 + 60
    try:
        while time.time() < t_end:
            now = time.time()
            if now >= next_churn:
                next_churn += 60
                await churn(client, plan, port, random_, args, figures)
            elif now >= next_dispatch:
                next_dispatch += args.dispatch_every_s
                if len(ending) >= INCIDENT_LIFE_DISPATCHES:
                    await end_incident(port, plan, *ending.pop(0), figures)
                started = await dispatch(client, port, data, number, args, figures)
                if started:
                    ending.append(started)
                number += 1
            else:
                await asyncio.sleep(min(next_churn, next_dispatch, t_end) - now)
        for incident in ending:
            await end_incident(port, plan, *incident, figures)
    finally:
        pinging.cancel()
        figures["closed_by_server"] = sum("closed by the server" in why for why in client.closed.values())
        figures["closed_other"] = len(client.closed) - figures["closed_by_server"]
        client.sockets = [s for s in client.sockets if s is not None]
        with contextlib.suppress(Exception):
            await client.close_all()
    return figures


async def dispatch(client, port: int, data, number: int, args, figures: dict):
    """One dispatch alerting station `number`'s firefighters; the frames checked; --answers answer."""
    plan = data.plan
    station = number % plan.station_count
    reference = f"SOAK-{args.run_id}-{number:05d}"
    alerted = set(range(station * args.alerted, (station + 1) * args.alerted))
    state = client.expect(reference, alerted)
    lat, lon = plan.station_locations[station]
    body = {"cad_reference": reference, "latitude": lat + 0.001, "longitude": lon, "address": "Soak street"}
    try:
        _, status, answer, _ = await latency.post_json(
            port, "/api/v1/incidents/", {**body, "dispatch": True}, plan.token
        )
    except (TimeoutError, OSError) as error:
        print(f"    dispatch {reference}: no answer ({type(error).__name__})", flush=True)
        status, answer = 0, b""
    figures["dispatches"] += 1
    if status != 201:
        figures["dispatch_failed"] += 1
        print(f"    dispatch {reference}: HTTP {status}: {answer[:200]!r}", flush=True)
        return None
    incident = json.loads(answer)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(state.done.wait(), FRAME_WAIT_S)
    for index in alerted:
        figures["frames_expected"] += 1
        if index not in state.receipts:
            figures["missing_frames"] += 1
    client.rounds.pop(reference, None)
    accepted = []
    for alert in incident["alerts"]:
        index = data.index_of.get(alert["responder_id"])
        if index is None or index % args.alerted >= args.answers:
            continue
        token = data.tokens[index]
        accept = index % args.alerted < (args.answers + 1) // 2
        answer_body = {"response": "accept"} if accept else {"response": "decline", "reason": "too_far"}
        ok = await post(port, f"/api/v1/alerts/{alert['id']}/respond/", answer_body, token)
        figures["answers"] += 1
        figures["answers_failed"] += not ok
        if accept and ok:
            accepted.append((alert["id"], token))
            await post_position(port, alert["id"], token, lat + 0.01, lon, figures)
    return incident["id"], accepted, number


async def end_incident(port: int, plan, incident_id: int, accepted: list, number: int, figures: dict) -> None:
    """The crew's last positions on the way, then the incident cancelled (even) or closed (odd)."""
    lat, lon = plan.station_locations[number % plan.station_count]
    for alert_id, token in accepted:
        await post_position(port, alert_id, token, lat + 0.005, lon, figures)
    if number % 2:
        ok = await post(port, f"/api/v1/incidents/{incident_id}/close/", {}, plan.token)
    else:
        ok = await post(port, f"/api/v1/incidents/{incident_id}/cancel/", {"reason": "Ambulance on scene"}, plan.token)
    figures["incidents_ended"] += 1
    figures["incidents_end_failed"] += not ok


async def post_position(port: int, alert_id: int, token: str, lat: float, lon: float, figures: dict) -> None:
    body = {"latitude": lat, "longitude": lon, "accuracy_m": 10}
    ok = await post(port, f"/api/v1/alerts/{alert_id}/positions/", body, token)
    figures["positions"] += 1
    figures["positions_failed"] += not ok


async def post(port: int, path: str, body: dict, token: str) -> bool:
    try:
        _, status, answer, _ = await latency.post_json(port, path, body, token)
    except (TimeoutError, OSError) as error:
        print(f"    POST {path}: no answer ({type(error).__name__})", flush=True)
        return False
    if status not in (200, 201):
        print(f"    POST {path}: HTTP {status}: {answer[:200]!r}", flush=True)
    return status in (200, 201)


async def churn(client, plan, port: int, random_: random.Random, args, figures: dict) -> None:
    """--churn-pct of the open sockets go: half closed with a handshake, half cut (the transport
    aborted, no close frame); they come back a few seconds later, as phones losing signal."""
    open_now = [i for i, s in enumerate(client.sockets) if s is not None]
    going = sorted(random_.sample(open_now, min(len(open_now), round(args.sockets * args.churn_pct / 100))))
    connections = []
    for number, index in enumerate(going):
        connection, client.sockets[index] = client.sockets[index], None
        if number % 2:
            connection.transport.abort()
        else:
            connections.append(connection.close())
    await asyncio.gather(*connections, return_exceptions=True)
    await asyncio.sleep(random_.uniform(*RECONNECT_AFTER_S))
    client.readers = [reader for reader in client.readers if not reader.done()]
    for index in going:
        client.closed.pop(index, None)
    try:
        await capacity.connect_more(client, plan, [port], going, args.connect_concurrency)
        figures["reconnects"] += len(going)
    except Exception as error:
        figures["reconnects_failed"] += 1
        print(f"    reconnect: {type(error).__name__}: {error}"[:300], flush=True)


# --- Sampling and the fit --------------------------------------------------------------------------------


def sample(server: Server, t0: float) -> dict:
    counters = server.ask(signal.SIGUSR2, "stats", timeout=10) or {}
    stats = counters.get("stats") or [{}, {}, {}]
    entry = {
        "t_s": round(time.time() - t0, 1),
        "rss_kb": capacity.rss_kb(server.pid),
        "open_sockets": open_sockets(server.pid),
        "cpu_s": round(capacity.cpu_seconds(server.pid), 2),
        "gc_collections": [generation.get("collections") for generation in stats],
        "gc_collected": [generation.get("collected") for generation in stats],
        "gc_uncollectable": sum(generation.get("uncollectable", 0) for generation in stats),
        "gc_count": counters.get("count"),
        "gc_frozen": counters.get("frozen"),
        "gc_enabled": counters.get("enabled"),
    }
    server.samples.append(entry)
    return entry


def take_census(server: Server, t0: float) -> None:
    found = server.ask(signal.SIGUSR1, "census")
    if found:
        found["t_s"] = round(time.time() - t0, 1)
        server.censuses.append(found)


def take_reachable_census(server: Server) -> None:
    """With no socket open: a full collection, then the census (what the server still holds)."""
    found = server.ask(signal.SIGRTMIN, "reachable")
    if found:
        found["census"] = found.pop("reachable")
        found["rss_kb"] = capacity.rss_kb(server.pid)
        found["open_sockets"] = open_sockets(server.pid)
        server.reachable.append(found)


def slope_per_hour(points: list[tuple[float, float]]) -> float | None:
    """Least squares slope of (seconds, value), per hour."""
    if len(points) < 3:
        return None
    n = len(points)
    mean_t = sum(t for t, _ in points) / n
    mean_v = sum(v for _, v in points) / n
    spread = sum((t - mean_t) ** 2 for t, _ in points)
    if not spread:
        return None
    return sum((t - mean_t) * (v - mean_v) for t, v in points) / spread * 3600


def census_growth(first: dict, last: dict, top: int = CENSUS_TOP) -> list[tuple[str, int]]:
    before, after = first["census"], last["census"]
    growth = {name: after.get(name, 0) - before.get(name, 0) for name in set(before) | set(after)}
    return sorted(((n, g) for n, g in growth.items() if g), key=lambda item: -abs(item[1]))[:top]


def server_figures(server: Server, args) -> dict:
    measured = [s for s in server.samples if s["t_s"] >= args.warmup_min * 60]
    points = [(s["t_s"], s["rss_kb"]) for s in measured]
    half = len(points) // 2
    first, last = (measured[0], measured[-1]) if measured else ({}, {})
    growth = slope_per_hour(points)
    figures = {
        "rss_growth_kb_per_hour": round(growth, 1) if growth is not None else None,
        "rss_growth_kb_per_hour_per_socket": round(growth / args.sockets, 3) if growth is not None else None,
        "rss_growth_kb_per_hour_first_half": _round(slope_per_hour(points[: half + 1])),
        "rss_growth_kb_per_hour_second_half": _round(slope_per_hour(points[half:])),
        "rss_start_mb": round(first["rss_kb"] / 1024, 1) if first else None,
        "rss_end_mb": round(last["rss_kb"] / 1024, 1) if last else None,
        "rss_max_mb": round(max(v for _, v in points) / 1024, 1) if points else None,
        "rss_min_mb": round(min(v for _, v in points) / 1024, 1) if points else None,
        "open_sockets_start": first.get("open_sockets"),
        "open_sockets_end": last.get("open_sockets"),
        "cpu_s_measured": round(last["cpu_s"] - first["cpu_s"], 1) if first else None,
        "gc_collections_measured": [
            (b or 0) - (a or 0)
            for a, b in zip(first.get("gc_collections", []), last.get("gc_collections", []), strict=False)
        ],
        "gc_collected_measured": [
            (b or 0) - (a or 0)
            for a, b in zip(first.get("gc_collected", []), last.get("gc_collected", []), strict=False)
        ],
        "gc_uncollectable": last.get("gc_uncollectable"),
        "gc_enabled": last.get("gc_enabled"),
        "gc_frozen_end": last.get("gc_frozen"),
        "samples_t_s_rss_kb_sockets": [(s["t_s"], s["rss_kb"], s["open_sockets"]) for s in server.samples],
    }
    if len(server.reachable) == 2:
        before, after = server.reachable
        figures["idle_rss_mb_before"] = round(before["rss_kb"] / 1024, 1)
        figures["idle_rss_mb_after"] = round(after["rss_kb"] / 1024, 1)
        figures["idle_open_sockets_after"] = after["open_sockets"]
        figures["idle_reachable_objects_before"] = sum(before["census"].values())
        figures["idle_reachable_objects_after"] = sum(after["census"].values())
        figures["idle_reachable_growth_by_type"] = census_growth(before, after)
    if len(server.censuses) >= 2:
        first_census, last_census = server.censuses[0], server.censuses[-1]
        figures["tracked_objects_start"] = sum(first_census["census"].values())
        figures["tracked_objects_end"] = sum(last_census["census"].values())
        figures["census_growth_by_type"] = census_growth(first_census, last_census)
        figures["census_ms_max"] = max(c["took_ms"] for c in server.censuses)
        figures["tracked_objects_by_census"] = [(c["t_s"], sum(c["census"].values())) for c in server.censuses]
    return figures


def _round(value, digits=1):
    return None if value is None else round(value, digits)


# --- The run ---------------------------------------------------------------------------------------------


def run(args) -> dict:
    work_dir = Path(tempfile.mkdtemp(prefix="coresponder-soak-"))
    args.run_id = uuid.uuid4().hex[:8]
    servers: dict[str, Server] = {}
    loaders = []
    try:
        env, _ = capacity.server_env(SimpleNamespace(mode="embedded", alerted=args.alerted), work_dir, args.run_id)
        env["SQLITE_PATH"] = str(work_dir / "setup.sqlite3")
        os.environ.update(env)
        for name in ("DATABASE_URL", "REDIS_URL"):
            os.environ.pop(name, None)
        load_at_start = os.getloadavg()[0]
        print(
            f"memory soak: {args.sockets} sockets on each of two servers (timed collections, as deployed; "
            f"CPython's automatic ones, the baseline), {args.minutes} min ({args.warmup_min} min warm-up); "
            f"load average {load_at_start:.2f} on {os.cpu_count()} CPUs",
            flush=True,
        )
        started = time.perf_counter()
        data = set_up(args, work_dir)
        print(f"  data: {args.sockets} firefighters, sessions, tokens ({time.perf_counter() - started:.1f} s)")
        servers = start_servers(env, work_dir)
        for server in servers.values():
            take_reachable_census(server)
        context = multiprocessing.get_context("fork")
        for name, server in servers.items():
            ours, theirs = context.Pipe()
            process = context.Process(
                target=load_process, args=(theirs, name, server.process.port, data, args), daemon=True
            )
            process.start()
            loaders.append((name, ours, process))
        for name, pipe, _ in loaders:
            _, error = pipe.recv()
            if error:
                raise RuntimeError(f"{name}: sockets did not open: {error}")
        t0 = time.time() + 2
        t_end = t0 + args.minutes * 60
        for _, pipe, _ in loaders:
            pipe.send(("go", t0, t_end + LOAD_OUTLASTS_SAMPLES_S))
        print(f"  {args.sockets} sockets open on each server ({time.perf_counter() - started:.1f} s); the run starts")
        # Samples half a period off the schedule's ticks (dispatches at 5 s, churn on the minute), so
        # that none lands in a burst of work.
        next_sample, next_census = t0 + args.sample_s / 2, t0 + args.warmup_min * 60
        # A census builds a list of every tracked object (about 290,000 at 2,000 sockets, 2.3 MB): it
        # raised RSS by 0.6-1.9 MiB each time in the first hour's run, so the censuses between the
        # warm-up's and the last (taken after the last sample, while the load still runs) are off
        # unless asked for.
        every = args.census_every_min * 60 if args.census_every_min else float("inf")
        while True:
            now = time.time()
            for server in servers.values():
                if server.process.popen.poll() is not None:
                    raise RuntimeError(f"{server.name} exited: {server.process.tail()[-500:]}")
            if now >= next_sample:
                entries = {name: sample(server, t0) for name, server in servers.items()}
                print(
                    f"  {entries['timed']['t_s'] / 60:5.1f} min: "
                    + "; ".join(
                        f"{name} RSS {e['rss_kb'] / 1024:.1f} MiB, {e['open_sockets']} sockets, "
                        f"gc {e['gc_collections']}"
                        for name, e in entries.items()
                    )
                    + f" (load {os.getloadavg()[0]:.2f})",
                    flush=True,
                )
                next_sample += args.sample_s
            if now >= next_census and now < t_end - 30:
                for server in servers.values():
                    take_census(server, t0)
                next_census += every
            if now >= t_end:
                break
            time.sleep(max(0.1, min(next_sample, next_census, t_end) - time.time()))
        for server in servers.values():  # the last census: after the last sample, every socket still held
            take_census(server, t0)
        results = {}
        for name, pipe, process in loaders:
            if not pipe.poll(300):
                raise RuntimeError(f"{name}'s load did not finish")
            _, results[name] = pipe.recv()
            process.join(30)
        time.sleep(AFTER_CLOSE_S)  # daphne forgets a closed connection within a second or two
        for server in servers.values():
            take_reachable_census(server)
        return report(args, servers, results, load_at_start)
    finally:
        for _, _, process in loaders:
            if process.is_alive():
                process.kill()
        for server in servers.values():
            with contextlib.suppress(Exception):
                latency.stop_process(server.process)
        if args.keep_logs:
            keep_logs(work_dir, Path(args.keep_logs), args.run_id)
        shutil.rmtree(work_dir, ignore_errors=True)


def keep_logs(work_dir: Path, keep_dir: Path, run_id: str) -> list[Path]:
    """The servers' logs and samples copied to `keep_dir` (made if missing: an hour's run ended in
    FileNotFoundError there, its figures' JSON line lost, on 6 December), each named after the run."""
    keep_dir.mkdir(parents=True, exist_ok=True)
    kept = []
    for path in sorted([*work_dir.glob("*.log"), *work_dir.glob("*.jsonl")]):
        kept.append(Path(shutil.copy(path, keep_dir / f"{run_id}-{path.name}")))
    return kept


def report(args, servers: dict[str, Server], load: dict, load_at_start: float) -> dict:
    per_server = {name: {**server_figures(server, args), **load[name]} for name, server in servers.items()}
    timed, automatic = per_server["timed"], per_server["automatic"]
    ratio = None
    if timed["rss_growth_kb_per_hour"] is not None and automatic["rss_growth_kb_per_hour"]:
        ratio = round(timed["rss_growth_kb_per_hour"] / automatic["rss_growth_kb_per_hour"], 2)
    load_at_end = os.getloadavg()[0]
    print(f"\n  after the {args.warmup_min} min warm-up, over {args.minutes - args.warmup_min} min:")
    for name, f in per_server.items():
        print(
            f"    {name:9s} RSS {f['rss_start_mb']} -> {f['rss_end_mb']} MiB (min {f['rss_min_mb']}, max "
            f"{f['rss_max_mb']}); growth {f['rss_growth_kb_per_hour']} KB/h ({f['rss_growth_kb_per_hour_per_socket']}"
            f" KB/h a socket; halves {f['rss_growth_kb_per_hour_first_half']} / "
            f"{f['rss_growth_kb_per_hour_second_half']}); sockets {f['open_sockets_start']} -> {f['open_sockets_end']}"
            f"; collections {f['gc_collections_measured']} (collected {f['gc_collected_measured']}, uncollectable "
            f"{f['gc_uncollectable']}); CPU {f['cpu_s_measured']} s",
            flush=True,
        )
        print(
            f"              load: {f['dispatches']} dispatches ({f['dispatch_failed']} failed), "
            f"{f['missing_frames']} of {f['frames_expected']} frames missing, {f['answers']} answers "
            f"({f['answers_failed']} failed), {f['positions']} positions ({f['positions_failed']} failed), "
            f"{f['incidents_ended']} incidents ended ({f['incidents_end_failed']} failed), {f['reconnects']} "
            f"reconnects ({f['reconnects_failed']} rounds failed), {f['closed_by_server']} closed by the server",
            flush=True,
        )
        if "census_growth_by_type" in f:
            print(
                f"              tracked objects (sockets open) {f['tracked_objects_start']} -> "
                f"{f['tracked_objects_end']}; growth by type: {f['census_growth_by_type']}",
                flush=True,
            )
        if "idle_reachable_growth_by_type" in f:
            print(
                f"              idle, no socket, after a full collection: before the sockets "
                f"{f['idle_reachable_objects_before']} objects, RSS {f['idle_rss_mb_before']} MiB; after closing "
                f"them all {f['idle_reachable_objects_after']} objects, RSS {f['idle_rss_mb_after']} MiB, "
                f"{f['idle_open_sockets_after']} sockets; growth by type: {f['idle_reachable_growth_by_type']}",
                flush=True,
            )
    print(
        f"\n  RSS growth, timed over automatic: {ratio} "
        f"({timed['rss_growth_kb_per_hour']} against {automatic['rss_growth_kb_per_hour']} KB/h)"
        f"\n  machine load average (1 min): {load_at_start:.2f} at the start, {load_at_end:.2f} at the end on "
        f"{os.cpu_count()} CPUs (shared: other work shows in every figure)",
        flush=True,
    )
    return {
        "sockets": args.sockets,
        "minutes": args.minutes,
        "warmup_minutes": args.warmup_min,
        "rss_growth_kb_per_hour": timed["rss_growth_kb_per_hour"],
        "rss_growth_kb_per_hour_per_socket": timed["rss_growth_kb_per_hour_per_socket"],
        "rss_start_mb": timed["rss_start_mb"],
        "rss_end_mb": timed["rss_end_mb"],
        "baseline_rss_growth_kb_per_hour": automatic["rss_growth_kb_per_hour"],
        "baseline_rss_growth_kb_per_hour_per_socket": automatic["rss_growth_kb_per_hour_per_socket"],
        "baseline_rss_start_mb": automatic["rss_start_mb"],
        "baseline_rss_end_mb": automatic["rss_end_mb"],
        "rss_growth_timed_over_automatic_x": ratio,
        "missing_frames": timed["missing_frames"],
        "baseline_missing_frames": automatic["missing_frames"],
        "servers": per_server,
        "loadavg_1m_start": round(load_at_start, 2),
        "loadavg_1m_end": round(load_at_end, 2),
    }


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=60, help="the run, warm-up included (default 60)")
    parser.add_argument("--warmup-min", type=float, default=5, help="left out of the fit (default 5)")
    parser.add_argument("--sockets", type=int, default=2000, help="responder sockets on each server (default 2000)")
    parser.add_argument("--alerted", type=int, default=20, help="firefighters per station, alerted per dispatch")
    parser.add_argument("--answers", type=int, default=4, help="alerted firefighters who answer (half accept)")
    parser.add_argument("--dispatch-every-s", type=float, default=30)
    parser.add_argument("--churn-pct", type=float, default=3, help="sockets reconnecting every minute (%%)")
    parser.add_argument("--app-ping-s", type=float, default=25, help="the app's ping frame (pwa/app/socket.js)")
    parser.add_argument("--sample-s", type=float, default=30)
    parser.add_argument(
        "--census-every-min",
        type=float,
        default=0,
        help="censuses between the warm-up's and the last (default none: each raises RSS a little)",
    )
    parser.add_argument("--connect-concurrency", type=int, default=20)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--keep-logs", metavar="DIR", help="copy the servers' logs and samples here")
    parser.add_argument("--soak-server", choices=SERVERS, help=argparse.SUPPRESS)
    parser.add_argument("command", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.soak_server:
        return args
    if args.warmup_min >= args.minutes:
        parser.error("--warmup-min must be below --minutes")
    if args.sockets % args.alerted or args.answers > args.alerted:
        parser.error("--sockets must be whole stations of --alerted, --answers at most --alerted")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.soak_server:
        command = args.command[1:] if args.command[:1] == ["--"] else args.command
        run_soak_server(args.soak_server, command)
        return 0
    timeout = int(args.minutes * 60 + 1800)

    def on_alarm(signum, frame):
        raise BenchTimeout(f"the benchmark took longer than {timeout} s")

    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(timeout)
    latency.raise_open_files_limit(args.sockets)
    sys.path.insert(0, str(REPO_ROOT))
    try:
        figures = run(args)
    except (Exception, KeyboardInterrupt) as error:
        import traceback

        traceback.print_exc()
        figures = {"error": f"{type(error).__name__}: {error}"[:2000]}
    finally:
        signal.alarm(0)
    print(json.dumps(figures), flush=True)
    return 0 if "error" not in figures else 2


if __name__ == "__main__":
    sys.exit(main())
