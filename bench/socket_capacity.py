"""Sockets per process: how many authenticated idle responder sockets one daphne process holds, what
each costs in memory, what the process spends at idle, how fast sockets connect, and what the
dispatch latency becomes as they grow (issue 17, item 1).

One `manage.py serve` process (daphne with the worker inside, SQLite, the in-memory channel layer:
the embedded setup), set up as bench/dispatch_latency.py does (its data, sessions, server start and
socket client are reused): --sockets firefighters in stations of --alerted, each with a session.
Sockets are added in steps up to each --checkpoints value (a socket that fails to open is tried once
more, as the app reconnects; the run stops at one that fails twice). At
each checkpoint:

* resident set (VmRSS of the server) and its growth per socket since the warm-up's baseline
  (kb_per_socket: (RSS now - RSS at baseline) / (sockets now - sockets at baseline));
* connect rate of the step (sockets opened, authenticated and sent `sync.ready`, per second);
* CPU at idle: the server's user + system CPU over --idle-s seconds with nothing happening but
  daphne's keep-alive pings (every 20 s per socket), as a percentage of one core;
* dispatch latency: --incidents dispatches through the API, each alerting one connected station's
  --alerted sockets; from the API call to each alerted socket reading its `alert.created`.

The figures are wall-clock and CPU on a small shared machine: the load average is printed, and
the 1,000-socket checkpoint is the baseline the later ones are read against (the p99 ratio).

The client is split so that its own pauses stay out of the measured latency (the default since
5 December 2026, in both modes): child processes (--client-processes, one per 10,000 sockets,
collector off) hold the idle sockets, and this process holds only the sockets the dispatches alert
(embedded: every socket of the stations any checkpoint alerts, 640 at the default checkpoints;
distributed: the first --measured), with everything it holds frozen out of its collector
(`gc.freeze()`) after each connect step, so that a collection here walks only the dispatches' own
objects. The server sees the same sockets, added in the same steps, pinging as often (each process spreads
its own over --app-ping-s), and the same dispatches alert the same sockets as with
`--client-processes 0` (one client process holding all: there, at 10,000 sockets, the client's
collections of its 10,000 sockets' objects were inside the measured latency, 43.5 ms of CPU in one
dispatch). With --probe, this process's collections that overlapped the dispatches are counted at
each checkpoint (client_gc_in_dispatches), so a reader can see they are gone.

    .venv/bin/python bench/socket_capacity.py
    .venv/bin/python bench/socket_capacity.py --sockets 2000 --checkpoints 1000,2000 --idle-s 10

The last line printed is one JSON object with the figures.
"""

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import resource
import shutil
import signal
import sys
import tempfile
import time
import uuid
from pathlib import Path
from types import SimpleNamespace

import dispatch_latency as latency
from figures import BenchTimeout, free_port, percentile

TARGET_KB_PER_SOCKET = 50.0
TARGET_P99_RATIO = 2.0
# daphne itself refuses a handshake its application has not accepted within 5 s; the client waits longer
# so that a refusal is daphne's, not the client's.
CONNECT_TIMEOUT_S = 60
CONNECT_RETRIES = 3
latency.START_TIMEOUT_S = 180  # a server starting on this shared machine at load 20 took over 30 s


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_of(index: int, ports: list[int]) -> int:
    """Socket i goes to server i mod N: every station's sockets are spread over the servers, so a
    dispatch reaches sockets on all of them through the channel layer."""
    return ports[index % len(ports)]


async def connect_more(client: latency.Client, plan, ports: list[int], indexes: list[int], concurrency: int) -> int:
    """Sockets `indexes` (firefighter i's session on socket i), added to `client`'s. Sockets that
    fail to open are tried again after the others, up to CONNECT_RETRIES times, after a pause and
    with half the concurrency each time, as the app reconnects with backoff; raises if any still
    fails (after keeping the ones that opened). Returns how many needed another try."""
    if not indexes:
        return 0
    failed = await _open_sockets(client, plan, ports, list(indexes), concurrency)
    retried = len(failed)
    for attempt in range(CONNECT_RETRIES):
        if not failed:
            break
        print(f"    {len(failed)} sockets failed to open ({failed[0][1]}); trying them again", flush=True)
        await asyncio.sleep(2 * (attempt + 1))
        concurrency = max(1, concurrency // 2)
        failed = await _open_sockets(client, plan, ports, [index for index, _ in failed], concurrency)
    if failed:
        raise RuntimeError(
            f"{len(failed)} of {len(indexes)} sockets failed to open {CONNECT_RETRIES + 1} times; "
            f"the first: {failed[0][1]}"
        )
    return retried


async def _open_sockets(client, plan, ports: list[int], indexes: list[int], concurrency: int) -> list[tuple[int, str]]:
    """Open these sockets; the (index, error) of each that failed."""
    from websockets.asyncio.client import connect

    limit = asyncio.Semaphore(concurrency)

    async def open_one(index: int):
        port = server_of(index, ports)
        async with limit:
            connection = await connect(
                f"ws://127.0.0.1:{port}/ws/responder/",
                origin=f"http://127.0.0.1:{port}",
                additional_headers={"Cookie": plan.cookies[index]},
                compression=None,
                open_timeout=CONNECT_TIMEOUT_S,
                close_timeout=2,
                ping_interval=None,  # the server pings; the client answers
                max_size=2**20,
            )
            first = json.loads(await asyncio.wait_for(connection.recv(), CONNECT_TIMEOUT_S))
            if first.get("type") != "sync.ready":
                raise RuntimeError(f"socket {index}: expected sync.ready first, got {first}")
            return index, connection

    results = await asyncio.gather(*(open_one(i) for i in indexes), return_exceptions=True)
    failed = []
    for index, result in zip(indexes, results, strict=True):
        if isinstance(result, BaseException):
            failed.append((index, f"{type(result).__name__}: {result}"))
            continue
        _, connection = result
        while len(client.sockets) <= index:  # keep socket i at position i
            client.sockets.append(None)
        client.sockets[index] = connection
        client.readers.append(asyncio.create_task(client._read(index, connection)))
    return failed


APP_PING = json.dumps({"type": "ping"})
PING_TICK_S = 0.1


async def keep_pinging(client: latency.Client, every_s: float) -> None:
    """As the app does (pwa/app/socket.js, a ping frame every 25 s, answered by the consumer with a
    pong): each open socket sends one every `every_s`, spread evenly over the interval."""
    while True:
        sockets = [s for s in client.sockets if s is not None]
        per_tick = max(1, round(len(sockets) * PING_TICK_S / every_s))
        for first in range(0, max(len(sockets), 1), per_tick):
            for connection in sockets[first : first + per_tick]:
                with contextlib.suppress(Exception):
                    await connection.send(APP_PING)
            await asyncio.sleep(PING_TICK_S)


# --- Client processes: the idle sockets beyond the measured ones -----------------------------------


def client_process(commands, cookies: list[str], ports: list[int]) -> None:
    """A child process holding idle sockets (tens of thousands of websocket clients in one Python
    process would make the client, not the servers, the bottleneck, and its collections would pause
    the process that reads the alerted sockets' frames). It obeys ("connect", indexes, concurrency),
    ("status",), ("ping", every_s), ("quiet",) and ("close",) from the pipe `commands`, answering
    each."""
    import gc

    gc.disable()  # the client's pauses would show as the servers' latency; it lives for one run
    plan = SimpleNamespace(cookies=cookies)

    async def serve():
        client = latency.Client()
        pinging = None
        loop = asyncio.get_running_loop()
        while True:
            command = await loop.run_in_executor(None, commands.recv)
            if command[0] == "connect":
                _, indexes, concurrency = command
                try:
                    retried = await connect_more(client, plan, ports, indexes, concurrency)
                    commands.send(("connected", retried, None))
                except Exception as error:
                    commands.send(("connected", 0, f"{type(error).__name__}: {error}"[:500]))
            elif command[0] == "status":
                commands.send(("status", len(client.closed)))
            elif command[0] == "ping":
                pinging = asyncio.create_task(keep_pinging(client, command[1]))
                commands.send(("pinging",))
            elif command[0] == "quiet":
                pinging.cancel()
                commands.send(("quiet",))
            else:
                client.sockets = [s for s in client.sockets if s is not None]
                with contextlib.suppress(Exception):
                    await client.close_all()
                commands.send(("closed",))
                return

    asyncio.run(serve())


class ClientProcesses:
    """K client processes; a range of sockets to add is split between them."""

    def __init__(self, count: int, cookies: list[str], ports: list[int]):
        context = multiprocessing.get_context("fork")
        self.pipes, self.processes = [], []
        for _ in range(count):
            ours, theirs = context.Pipe()
            process = context.Process(target=client_process, args=(theirs, cookies, ports), daemon=True)
            process.start()
            self.pipes.append(ours)
            self.processes.append(process)

    async def ask(self, pipe, command):
        loop = asyncio.get_running_loop()
        pipe.send(command)
        return await loop.run_in_executor(None, pipe.recv)

    async def connect(self, indexes: list[int], concurrency: int) -> int:
        """Sockets `indexes`, split in contiguous parts; raises if any part failed."""
        count = len(self.pipes)
        bounds = [len(indexes) * part // count for part in range(count + 1)]
        answers = await asyncio.gather(
            *(
                self.ask(pipe, ("connect", indexes[bounds[part] : bounds[part + 1]], max(1, concurrency // count)))
                for part, pipe in enumerate(self.pipes)
            )
        )
        errors = [error for _, _, error in answers if error]
        if errors:
            raise RuntimeError(errors[0])
        return sum(retried for _, retried, _ in answers)

    async def everyone(self, command) -> None:
        await asyncio.gather(*(self.ask(pipe, command) for pipe in self.pipes))

    async def closed_by_server(self) -> int:
        answers = await asyncio.gather(*(self.ask(pipe, ("status",)) for pipe in self.pipes))
        return sum(closed for _, closed in answers)

    async def close(self) -> None:
        await asyncio.wait_for(asyncio.gather(*(self.ask(pipe, ("close",)) for pipe in self.pipes)), 120)
        for process in self.processes:
            process.join(10)


async def dispatch_round(client, plan, port: int, stations: list[int], alerted: int, run_id: str, label: str):
    """One dispatch per station in `stations`, one after another: each alerted socket's latency (ms),
    and each dispatch's (sent, last frame read) on perf_counter's clock (the servers' too, on Linux)."""
    latencies, intervals = [], []
    for number, station in enumerate(stations):
        reference = f"CAP-{run_id}-{label}-{number:03d}"
        state = client.expect(reference, set(range(station * alerted, (station + 1) * alerted)))
        lat, lon = plan.station_locations[station]
        body = {"cad_reference": reference, "latitude": lat + 0.001, "longitude": lon, "address": "Bench street"}
        try:
            state.t_sent, status, answer, state.t_response = await latency.post_json(
                port, "/api/v1/incidents/", {**body, "dispatch": True}, plan.token
            )
        except (TimeoutError, OSError) as error:
            # An overloaded machine: the dispatch's frames count as missing, the run goes on.
            print(f"    dispatch {reference}: no answer ({type(error).__name__})", flush=True)
            latencies.extend([None] * len(state.expected))
            continue
        if status != 201:
            raise RuntimeError(f"dispatch {reference}: HTTP {status}: {answer[:300]!r}")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(state.done.wait(), latency.FRAME_TIMEOUT_S)
        for index in state.expected:
            times = state.receipts.get(index)
            latencies.append((times[0] - state.t_sent) * 1000 if times else None)
        received = [times[0] for times in state.receipts.values()]
        intervals.append((state.t_sent, max(received) if received else time.perf_counter()))
        await latency.pause_between_rounds()
    return latencies, intervals


def probe_entries(log_paths: list[Path]) -> list[dict]:
    entries = []
    for path in log_paths:
        if path.exists():
            entries.extend(json.loads(line) for line in path.read_text().splitlines())
    return entries


def probe_spans(log_paths: list[Path]) -> list[tuple[str, float, float]]:
    """The probed servers' pauses of the event loop that do not belong to one dispatch: garbage
    collections, daphne's walks over every connection and the loop's stops of more than 20 ms
    (bench/dispatch_latency.py --probe), and this client's own (CLIENT_PAUSES)."""
    spans = [
        (entry["span"], entry["start"], entry["end"])
        for entry in probe_entries(log_paths)
        if entry.get("span", "").startswith(("gc ", "daphne ", "loop "))
    ]
    return spans + [(name, start, end) for name, start, end, _ in CLIENT_PAUSES]


# The client's own pauses (this process reads the alerted sockets' frames, so its collections and
# stops add to the measured latency as the server's do): (name, start, end, cpu ms).
CLIENT_PAUSES: list[tuple[str, float, float, float]] = []


def watch_the_client() -> None:
    """Record this process's garbage collections (wall and CPU) in CLIENT_PAUSES."""
    import gc

    started = {}

    def on_gc(phase, info):
        if phase == "start":
            started["t"], started["cpu"] = time.perf_counter(), time.thread_time()
        elif "t" in started:
            cpu = (time.thread_time() - started.pop("cpu")) * 1000
            CLIENT_PAUSES.append((f"client gc gen{info['generation']}", started.pop("t"), time.perf_counter(), cpu))

    gc.callbacks.append(on_gc)


async def watch_the_client_loop() -> None:
    """Every 10 ms: a wake-up late by more than 20 ms is a stop of this client's loop."""
    while True:
        expected = time.perf_counter() + 0.01
        await asyncio.sleep(0.01)
        now = time.perf_counter()
        if now - expected > 0.02:
            CLIENT_PAUSES.append(("client loop stopped", expected, now, 0.0))


def client_collections_in(intervals: list[tuple[float, float]]) -> dict:
    """This process's collections that overlapped a dispatch: how many, their CPU in all and the
    longest (the part of the measured latency that is the client's, not the server's)."""
    cpu = [
        cpu_ms
        for name, start, end, cpu_ms in CLIENT_PAUSES
        if name.startswith("client gc") and any(start < d_end and end > d_start for d_start, d_end in intervals)
    ]
    return {"count": len(cpu), "cpu_ms_total": round(sum(cpu), 2), "cpu_ms_max": round(max(cpu), 2) if cpu else None}


def slowest_dispatches(log_paths: list[Path], found: list, alerted: int, intervals, count: int = 3) -> list[dict]:
    """The `count` dispatches with the latest frame, each with every pause (server's or client's)
    of 10 ms or more that overlapped it: what the tail is made of."""
    entries = [e for e in probe_entries(log_paths) if "span" in e] + [
        {"span": name, "start": start, "end": end, "cpu_ms": round(cpu, 1)} for name, start, end, cpu in CLIENT_PAUSES
    ]
    worst = []
    for number, (d_start, d_end) in enumerate(intervals):
        frames = [ms for ms in found[number * alerted : (number + 1) * alerted] if ms is not None]
        worst.append((max(frames) if frames else float("inf"), d_start, d_end))
    out = []
    for latest, d_start, d_end in sorted(worst, reverse=True)[:count]:
        overlapping = [
            {
                "span": e["span"],
                "ms": round((e["end"] - e["start"]) * 1000, 1),
                **{k: e[k] for k in ("cpu_ms", "thread", "collected", "what") if k in e},
            }
            for e in entries
            if e["start"] < d_end
            and e["end"] > d_start
            and (e["end"] - e["start"]) >= 0.01
            and e["span"].startswith(("gc ", "daphne ", "loop ", "client "))
        ]
        out.append({"latest_frame_ms": round(latest, 1), "pauses": overlapping})
    return out


def census(log_paths: list[Path], pids: list[int]) -> dict:
    """The servers' tracked objects by type (the probe writes them on SIGUSR1), summed."""
    before = len([e for e in probe_entries(log_paths) if "census" in e])
    for pid in pids:
        os.kill(pid, signal.SIGUSR1)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = [e for e in probe_entries(log_paths) if "census" in e]
        if len(found) >= before + len(pids):
            counts = {}
            for entry in found[before:]:
                for name, n in entry["census"].items():
                    counts[name] = counts.get(name, 0) + n
            return counts
        time.sleep(0.5)
    return {}


def census_growth(before: dict, after: dict, sockets: int, top: int = 25) -> list[tuple[str, float]]:
    growth = {name: (after.get(name, 0) - before.get(name, 0)) / sockets for name in set(before) | set(after)}
    return sorted(((n, round(g, 2)) for n, g in growth.items() if g), key=lambda item: -abs(item[1]))[:top]


def pauses(log_paths: list[Path], idle_window: tuple[float, float], dispatches: list[tuple[float, float]]) -> dict:
    """Per kind of pause: how many, their p50 / max, and the share of time they took, over the idle
    window (per second of it) and within the dispatches (ms overlapping each dispatch's interval,
    summed, over the dispatches' summed duration: the part of the measured latency they explain)."""
    spans = probe_spans(log_paths)
    dispatch_ms = sum(end - start for start, end in dispatches) * 1000
    idle_s = idle_window[1] - idle_window[0]
    figures = {}
    for name in sorted({name for name, _, _ in spans}):
        mine = [(start, end) for kind, start, end in spans if kind == name]
        in_idle = [(end - start) * 1000 for start, end in mine if idle_window[0] <= start < idle_window[1]]
        overlap_ms = sum(
            max(0.0, min(end, d_end) - max(start, d_start)) * 1000
            for start, end in mine
            for d_start, d_end in dispatches
        )
        during = [(end - start) * 1000 for start, end in mine if any(d_s <= start < d_e for d_s, d_e in dispatches)]
        figures[name] = {
            "idle_count": len(in_idle),
            "idle_ms_per_s": round(sum(in_idle) / idle_s, 2) if idle_s else None,
            "idle_p50_ms": round(percentile(in_idle, 0.5), 2) if in_idle else None,
            "idle_max_ms": round(max(in_idle), 1) if in_idle else None,
            "dispatch_count": len(during),
            "dispatch_max_ms": round(max(during), 1) if during else None,
            "dispatch_share_pct": round(overlap_ms / dispatch_ms * 100, 1) if dispatch_ms else None,
        }
    return figures


def print_pauses(figures: dict) -> None:
    for name, f in figures.items():
        print(
            f"      {name:28s} idle: {f['idle_count']:4d} ({f['idle_ms_per_s']} ms/s, p50 {f['idle_p50_ms']}, "
            f"max {f['idle_max_ms']} ms); in dispatches: {f['dispatch_count']:3d} (max {f['dispatch_max_ms']} ms,"
            f" {f['dispatch_share_pct']} % of the dispatches' time)",
            flush=True,
        )


def redis_memory(redis_url: str, prefix: str) -> dict:
    """Redis's used_memory (the whole server's: others' keys too) and, counted exactly, the bytes
    and number of this run's keys (the channel layer's groups and channels under `prefix`)."""
    import redis

    client = redis.Redis.from_url(redis_url, socket_timeout=30)
    try:
        used = int(client.info("memory")["used_memory"])
        keys = list(client.scan_iter(match=f"{prefix}*", count=5000))
        ours = 0
        for first in range(0, len(keys), 2000):
            pipe = client.pipeline(transaction=False)
            for key in keys[first : first + 2000]:
                pipe.memory_usage(key, samples=0)
            ours += sum(size or 0 for size in pipe.execute())
        return {"used_memory": used, "our_bytes": ours, "our_keys": len(keys)}
    finally:
        client.close()


def on_server(server_index: int, sockets: int, servers: int) -> int:
    """How many of sockets 0..sockets-1 are on server `server_index` (server_of's round robin)."""
    return len(range(server_index, sockets, servers))


def alerted_stations(args, connected: int) -> list[int]:
    """The stations the --incidents dispatches alert at a checkpoint of `connected` sockets: spread
    over every connected station (embedded), or over the first --measured sockets' (distributed)."""
    among = args.measured if args.mode == "distributed" and args.client_processes else connected
    return [(n * 7) % (among // args.alerted) for n in range(args.incidents)]


def sockets_of_this_process(args) -> set[int] | None:
    """The sockets this process holds, beside the client processes' (None: all of them). The ones the
    dispatches alert: the first --measured (distributed), or (embedded) every station's that any
    checkpoint's dispatches alert, and station 0's (the warm-up), so that the embedded measure
    alerts the same sockets as with --client-processes 0 while this process holds a few hundred."""
    if not args.client_processes:
        return None
    if args.mode == "distributed":
        return set(range(args.measured))
    stations = {0}.union(*(alerted_stations(args, target) for target in args.checkpoints))
    return {station * args.alerted + n for station in stations for n in range(args.alerted)}


async def connect_step(args, client, children, plan, ports: list[int], mine: set[int] | None, step: range) -> int:
    """Sockets `step`: this process's part here, the rest in the client processes, at once
    (--connect-concurrency in all, shared in proportion). Returns how many were tried again."""
    indexes = list(step)
    if mine is None:
        return await connect_more(client, plan, ports, indexes, args.connect_concurrency)
    ours = [index for index in indexes if index in mine]
    theirs = [index for index in indexes if index not in mine]
    our_share = max(1, round(args.connect_concurrency * len(ours) / len(indexes))) if ours else 0
    retried = await asyncio.gather(
        connect_more(client, plan, ports, ours, our_share),
        children.connect(theirs, max(1, args.connect_concurrency - our_share)) if theirs else asyncio.sleep(0, 0),
    )
    return sum(retried)


def freeze_this_process() -> None:
    """With client processes this one holds only the alerted sockets: what it holds from here on
    (sockets, the set-up's data) is moved out of the collector's reach, so that its collections
    during the dispatches walk only the dispatches' own objects. One collection first, here, out of
    any measured window."""
    import gc

    gc.collect()
    gc.freeze()


async def measure(args, plan, servers: list[latency.Process], run_id: str) -> dict:
    """Add sockets up to each checkpoint and measure. This process holds the sockets the dispatches
    alert (all of them without client processes; with them, the alerted ones
    (sockets_of_this_process), and the client processes the rest)."""
    client = latency.Client()
    ports = [server.port for server in servers]
    pids = [server.popen.pid for server in servers]
    children = ClientProcesses(args.client_processes, plan.cookies, ports) if args.client_processes else None
    mine = sockets_of_this_process(args)
    dispatch_port = ports[0]
    # Warm-up: the measured sockets (distributed) or station 0's, and a few dispatches, so imports and
    # caches are in the baseline.
    base_sockets = args.measured if args.mode == "distributed" and children else args.alerted
    await connect_more(client, plan, ports, list(range(base_sockets)), args.connect_concurrency)
    await dispatch_round(client, plan, dispatch_port, [0, 0, 0], args.alerted, run_id, "warmup")
    await asyncio.sleep(2)
    if args.probe:
        watch_the_client()
        client.loop_watch = asyncio.create_task(watch_the_client_loop())  # lives for the run
        base_census = census(args.probe_logs, pids)
    base_rss = [rss_kb(pid) for pid in pids]
    base_redis = redis_memory(args.redis_url, args.prefix) if args.mode == "distributed" else None
    print(
        f"  baseline: {base_sockets} sockets, RSS {', '.join(f'{kb / 1024:.1f}' for kb in base_rss)} MiB",
        flush=True,
    )
    checkpoints, connected, stopped_by = [], base_sockets, None
    try:
        for target in args.checkpoints:
            started = time.perf_counter()
            try:
                retried = await connect_step(args, client, children, plan, ports, mine, range(connected, target))
            except Exception as error:
                stopped_by = f"at {connected}..{target}: {error}"[:500]
                print(f"  stopped: {stopped_by}", flush=True)
                break
            connect_s = time.perf_counter() - started
            previous, connected = connected, target
            if mine is not None:
                freeze_this_process()
            await asyncio.sleep(2)
            rss = [rss_kb(pid) for pid in pids]
            if args.probe:
                objects = census(args.probe_logs, pids)
                per_socket = census_growth(base_census, objects, connected - base_sockets)
                all_types = census_growth(base_census, objects, connected - base_sockets, 10**6)
                print(
                    f"    tracked objects: {sum(objects.values())}, per socket since the baseline "
                    f"{round(sum(g for _, g in all_types), 1)}; by type: {per_socket}",
                    flush=True,
                )
            redis_now = redis_memory(args.redis_url, args.prefix) if base_redis else None
            cpu_before = [cpu_seconds(pid) for pid in pids]
            idle_started = time.perf_counter()
            await asyncio.sleep(args.idle_s)
            idle_window = (idle_started, time.perf_counter())
            idle_cpu = [
                (cpu_seconds(pid) - before) / args.idle_s * 100 for pid, before in zip(pids, cpu_before, strict=True)
            ]
            if args.app_ping_s:
                pinged_cpu = await idle_cpu_while_pinging(args, client, children, pids)
            stations = alerted_stations(args, connected)
            found, intervals = await dispatch_round(
                client, plan, dispatch_port, stations, args.alerted, run_id, f"n{connected}"
            )
            frames = [ms for ms in found if ms is not None]
            per_server = [
                {
                    "sockets": on_server(number, connected, len(servers)),
                    "rss_mib": round(rss[number] / 1024, 1),
                    "kb_per_socket": round(
                        (rss[number] - base_rss[number])
                        / (on_server(number, connected, len(servers)) - on_server(number, base_sockets, len(servers))),
                        1,
                    ),
                    "idle_cpu_pct": round(idle_cpu[number], 2),
                }
                for number in range(len(servers))
            ]
            checkpoint = {
                "sockets": connected,
                "rss_mib": round(sum(rss) / 1024, 1),
                "kb_per_socket": round((sum(rss) - sum(base_rss)) / (connected - base_sockets), 1),
                "connect_per_s": round((connected - previous) / connect_s, 1),
                "connects_retried": retried,
                "idle_cpu_pct": round(sum(idle_cpu), 2),
                "idle_cpu_pct_with_app_pings": round(sum(pinged_cpu), 2) if args.app_ping_s else None,
                "dispatch_p50_ms": round(percentile(frames, 0.5), 1) if frames else None,
                "dispatch_p99_ms": round(percentile(frames, 0.99), 1) if frames else None,
                "missing_frames": len(found) - len(frames),
                "closed_by_server": len(client.closed) + (await children.closed_by_server() if children else 0),
                "loadavg_1m": round(os.getloadavg()[0], 2),
            }
            if len(servers) > 1:
                checkpoint["servers"] = per_server
            if redis_now:
                growth = connected - base_sockets
                checkpoint["redis_used_memory_mib"] = round(redis_now["used_memory"] / 2**20, 1)
                checkpoint["redis_used_bytes_per_socket"] = round(
                    (redis_now["used_memory"] - base_redis["used_memory"]) / growth
                )
                checkpoint["redis_our_keys"] = redis_now["our_keys"]
                checkpoint["redis_our_bytes_per_socket"] = round(
                    (redis_now["our_bytes"] - base_redis["our_bytes"]) / growth
                )
            if args.probe:
                checkpoint["pauses"] = pauses(args.probe_logs, idle_window, intervals)
                checkpoint["slowest_dispatches"] = slowest_dispatches(args.probe_logs, found, args.alerted, intervals)
                checkpoint["client_gc_in_dispatches"] = client_collections_in(intervals)
                checkpoint["census_per_socket"] = per_socket
            checkpoints.append(checkpoint)
            print_checkpoint(checkpoint)
        if args.probe and checkpoints:
            await garbage_of_closed_sockets(args, client, children, pids, connected)
            children = None  # closed
    finally:
        client.sockets = [s for s in client.sockets if s is not None]
        await client.close_all()
        if children:
            with contextlib.suppress(Exception):
                await children.close()
    return {"checkpoints": checkpoints, "stopped_by": stopped_by}


async def garbage_of_closed_sockets(args, client, children, pids: list[int], connected: int) -> None:
    """The cyclic garbage the closed sockets left: a full collection (with the objects it found kept
    and counted by type) before closing them all, and another once daphne has forgotten them."""
    garbage_census(args.probe_logs, pids)
    client.sockets = [s for s in client.sockets if s is not None]
    await client.close_all()
    if children:
        await children.close()
    await asyncio.sleep(5)  # daphne reaps finished applications every second
    found = garbage_census(args.probe_logs, pids)
    per_socket = sorted(((name, round(n / connected, 2)) for name, n in found["garbage"].items()), key=lambda i: -i[1])
    print(
        f"  after closing {connected} sockets: a full collection found {found['collected']} objects of cyclic "
        f"garbage ({found['collected'] / connected:.1f} a socket, {found['took_ms']} ms): {per_socket[:25]}",
        flush=True,
    )


def garbage_census(log_paths: list[Path], pids: list[int]) -> dict:
    """A full collection in each server, keeping what it found unreachable, by type (the probe does
    it on SIGUSR2), summed."""
    before = len([e for e in probe_entries(log_paths) if "garbage" in e])
    for pid in pids:
        os.kill(pid, signal.SIGUSR2)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = [e for e in probe_entries(log_paths) if "garbage" in e]
        if len(found) >= before + len(pids):
            total = {"garbage": {}, "collected": 0, "took_ms": 0.0}
            for entry in found[before:]:
                total["collected"] += entry["collected"]
                total["took_ms"] = max(total["took_ms"], entry["took_ms"])
                for name, n in entry["garbage"].items():
                    total["garbage"][name] = total["garbage"].get(name, 0) + n
            return total
        time.sleep(0.5)
    return {"garbage": {}, "collected": 0, "took_ms": 0.0}


async def idle_cpu_while_pinging(args, client, children, pids: list[int]) -> list[float]:
    """The servers' CPU (% of one core each) over another --idle-s with every socket sending the
    app's ping frame every --app-ping-s."""
    tasks = [asyncio.create_task(keep_pinging(client, args.app_ping_s))]
    if children:
        await children.everyone(("ping", args.app_ping_s))
    try:
        await asyncio.sleep(args.app_ping_s)  # every socket pinging before the window opens
        before = [cpu_seconds(pid) for pid in pids]
        await asyncio.sleep(args.idle_s)
        return [(cpu_seconds(pid) - cpu) / args.idle_s * 100 for pid, cpu in zip(pids, before, strict=True)]
    finally:
        for task in tasks:
            task.cancel()
        if children:
            await children.everyone(("quiet",))


def print_checkpoint(c: dict) -> None:
    print(
        f"  {c['sockets']:6d} sockets: RSS {c['rss_mib']:8.1f} MiB, {c['kb_per_socket']:6.1f} KB/socket, "
        f"connect {c['connect_per_s']:6.1f}/s, idle CPU {c['idle_cpu_pct']:5.2f}%, dispatch p50 "
        f"{c['dispatch_p50_ms']} p99 {c['dispatch_p99_ms']} ms, missing {c['missing_frames']}, "
        f"closed by the server {c['closed_by_server']} (load {c['loadavg_1m']})",
        flush=True,
    )
    for number, server in enumerate(c.get("servers", [])):
        print(
            f"      server {number}: {server['sockets']} sockets, RSS {server['rss_mib']} MiB, "
            f"{server['kb_per_socket']} KB/socket, idle CPU {server['idle_cpu_pct']}%",
            flush=True,
        )
    if c.get("idle_cpu_pct_with_app_pings") is not None:
        print(f"      idle CPU with the app's pings: {c['idle_cpu_pct_with_app_pings']}%", flush=True)
    if "redis_our_keys" in c:
        print(
            f"      Redis: {c['redis_our_keys']} keys of this run, {c['redis_our_bytes_per_socket']} bytes/socket "
            f"(MEMORY USAGE); used_memory {c['redis_used_memory_mib']} MiB, "
            f"{c['redis_used_bytes_per_socket']} bytes/socket (the whole server's: others' keys too)",
            flush=True,
        )
    if "pauses" in c:
        print_pauses(c["pauses"])
    if "client_gc_in_dispatches" in c:
        gcs = c["client_gc_in_dispatches"]
        print(
            f"      the client's collections during the dispatches: {gcs['count']} ({gcs['cpu_ms_total']} ms of CPU"
            f" in all, the longest {gcs['cpu_ms_max']} ms)",
            flush=True,
        )
    for slow in c.get("slowest_dispatches", []):
        print(f"      slow dispatch: last frame {slow['latest_frame_ms']} ms; pauses: {slow['pauses']}", flush=True)


def report(args, result: dict, load_at_start: float) -> dict:
    checkpoints = result["checkpoints"]
    last = checkpoints[-1] if checkpoints else {}
    first = checkpoints[0] if checkpoints else {}
    ratio = None
    if first.get("dispatch_p99_ms") and last.get("dispatch_p99_ms") and last is not first:
        ratio = round(last["dispatch_p99_ms"] / first["dispatch_p99_ms"], 2)
    figures = {
        "sockets_target": args.sockets,
        "sockets_reached": last.get("sockets", 0),
        "stopped_by": result["stopped_by"],
        "kb_per_socket": last.get("kb_per_socket"),
        "rss_mib_at_max": last.get("rss_mib"),
        "idle_cpu_pct_at_max": last.get("idle_cpu_pct"),
        "dispatch_p99_ms_first": first.get("dispatch_p99_ms"),
        "dispatch_p99_ms_at_max": last.get("dispatch_p99_ms"),
        "p99_at_max_over_first_x": ratio,
        "mode": args.mode,
        "servers": args.servers,
        "client_processes": args.client_processes,
        "sockets_per_server_at_max": last.get("sockets", 0) // args.servers,
        # One process: the goal is 10,000 on it; several: the total asked for (30,000 by default).
        "target_sockets_met": last.get("sockets", 0) >= (10000 if args.mode == "embedded" else args.sockets),
        "target_kb_per_socket_met": last.get("kb_per_socket") is not None
        and last["kb_per_socket"] <= TARGET_KB_PER_SOCKET,
        "target_p99_ratio_met": ratio is not None and ratio <= TARGET_P99_RATIO,
        "checkpoints": checkpoints,
        "loadavg_1m_start": round(load_at_start, 2),
        "loadavg_1m_end": round(os.getloadavg()[0], 2),
    }
    print(
        f"\n  targets: >= {10000 if args.mode == 'embedded' else args.sockets} sockets: {figures['sockets_reached']}"
        f" ({figures['sockets_per_server_at_max']} per server); <= {TARGET_KB_PER_SOCKET:.0f} KB each: "
        f"{figures['kb_per_socket']}; p99 at the last checkpoint <= {TARGET_P99_RATIO:.0f}x the first: {ratio}"
        f"\n  machine load average (1 min): {load_at_start:.2f} at the start, {os.getloadavg()[0]:.2f} at the end"
        f" on {os.cpu_count()} CPUs (shared: other work shows in every figure)",
        flush=True,
    )
    return figures


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=["embedded", "distributed"], default="embedded")
    parser.add_argument("--servers", type=int, help="distributed: daphne processes (default 3)")
    parser.add_argument(
        "--sockets", type=int, help="firefighters, each with a session (default 10000; distributed 30000)"
    )
    parser.add_argument(
        "--checkpoints",
        help="socket counts to measure at (default 1000,5000,10000; distributed 1000,10000,20000,30000)",
    )
    parser.add_argument("--alerted", type=int, default=20, help="firefighters per station, alerted per dispatch")
    parser.add_argument("--incidents", type=int, default=20, help="dispatches measured at each checkpoint")
    parser.add_argument("--idle-s", type=float, default=25.0, help="idle CPU window (daphne pings every 20 s)")
    parser.add_argument(
        "--connect-concurrency",
        type=int,
        default=10,
        help="sockets opening at once per server (default 10: connects are serial per process, and daphne "
        "refuses a handshake not accepted within 5 s)",
    )
    parser.add_argument(
        "--client-processes",
        type=int,
        help="child processes holding the idle sockets, one per 10,000 by default; 0: this process holds them "
        "all (embedded before 5 December)",
    )
    parser.add_argument("--measured", type=int, default=200, help="distributed: the sockets of this process, alerted")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/coresponder",
        help="distributed: the PostgreSQL server (a scratch database is created beside it)",
    )
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0")
    parser.add_argument(
        "--app-ping-s",
        type=float,
        default=0,
        help="also measure idle CPU with every socket sending the app's ping frame this often (the app: 25)",
    )
    parser.add_argument("--timeout", type=int, default=3600, help="give up after this many seconds")
    parser.add_argument(
        "--probe",
        action="store_true",
        help="time the servers' garbage collections and daphne's per-connection walks at each checkpoint",
    )
    parser.add_argument("--keep-probe-logs", metavar="DIR", help="with --probe: copy the servers' probe logs here")
    args = parser.parse_args(argv)
    distributed = args.mode == "distributed"
    args.servers = args.servers or (3 if distributed else 1)
    if not distributed and args.servers != 1:
        parser.error("--servers is for --mode distributed")
    args.sockets = args.sockets or (30000 if distributed else 10000)
    args.checkpoints = args.checkpoints or ("1000,10000,20000,30000" if distributed else "1000,5000,10000")
    args.checkpoints = sorted({int(n) for n in args.checkpoints.split(",") if n.strip()})
    if args.client_processes is None:
        args.client_processes = -(-args.sockets // 10000)
    if not args.checkpoints or args.checkpoints[-1] > args.sockets or args.checkpoints[0] <= args.alerted:
        parser.error("--checkpoints must be above --alerted and at most --sockets")
    if any(n % args.alerted for n in args.checkpoints):
        parser.error("each checkpoint must be a multiple of --alerted (whole stations)")
    if (
        distributed
        and args.client_processes
        and (args.measured % args.alerted or not args.alerted <= args.measured < args.checkpoints[0])
    ):
        parser.error("--measured must be whole stations, below the first checkpoint")
    return args


def server_env(args, work_dir: Path, run_id: str) -> tuple[dict, tuple | None]:
    """The servers' environment: embedded on SQLite and the in-memory layer; distributed on a scratch
    PostgreSQL database and Redis under a prefix of this run. Returns (env, scratch database)."""
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")},
        "DJANGO_SETTINGS_MODULE": "backend.settings",
        "DJANGO_ENV": "development",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DISPATCH_RADIUS_KM": str(latency.RADIUS_KM),
        "DISPATCH_MAX_PER_STATION": str(args.alerted),
        "DISPATCH_MAX_RESPONDERS": str(args.alerted),
        "ESCALATION_LADDER": "86400:alarm",  # nobody answers here: nothing re-sent during the run
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }
    if args.mode == "embedded":
        env["SQLITE_PATH"] = str(work_dir / "bench.sqlite3")
        return env, None
    params = latency.postgres_params(args.database_url)
    scratch = (params, f"coresponder_capacity_{run_id}")
    latency.create_scratch_database(params, scratch[1])
    env["DATABASE_URL"] = latency.postgres_url(params, scratch[1])
    env["REDIS_URL"] = args.redis_url
    env["CHANNEL_LAYER_PREFIX"] = args.prefix
    return env, scratch


def start_servers(args, env: dict, work_dir: Path) -> list[latency.Process]:
    servers = []
    args.probe_logs = []
    for number in range(args.servers):
        port = free_port()
        # manage.py serve in both modes, as deployed (docs/deployment.md); with REDIS_URL set (distributed)
        # the worker is not inside it.
        command = latency.server_command(SimpleNamespace(mode="embedded", probe=args.probe, experiment=[]), port)
        args.probe_logs.append(work_dir / f"probe-{number}.jsonl")
        own_env = {**env, "BENCH_PROBE_LOG": str(args.probe_logs[-1]), "BENCH_EXPERIMENTS": ""}
        servers.append(latency.start_process(f"server-{number}", command, own_env, work_dir, port))
    for server in servers:
        latency.wait_until_listening(server)
    return servers


def main(argv=None) -> int:
    args = parse_args(argv)

    def on_alarm(signum, frame):
        raise BenchTimeout(f"the benchmark took longer than {args.timeout} s")

    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(args.timeout)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    latency.raise_open_files_limit(args.sockets)
    print(
        f"open files: soft limit {soft}, hard {hard}; now {resource.getrlimit(resource.RLIMIT_NOFILE)[0]} "
        "(each server and client process inherits it)",
        flush=True,
    )
    work_dir = Path(tempfile.mkdtemp(prefix="coresponder-capacity-"))
    servers, scratch = [], None
    run_id = uuid.uuid4().hex[:8]
    args.prefix = f"capacity-{run_id}"
    try:
        env, scratch = server_env(args, work_dir, run_id)
        os.environ.update(env)
        for name in ("DATABASE_URL", "REDIS_URL"):
            if name not in env:
                os.environ.pop(name, None)
        load_at_start = os.getloadavg()[0]
        print(
            f"socket capacity, {args.mode}: {args.servers} server process(es), {args.client_processes} client "
            f"process(es), up to {args.sockets} sockets, checkpoints {args.checkpoints}; load average "
            f"{load_at_start:.2f} on {os.cpu_count()} CPUs",
            flush=True,
        )
        started = time.perf_counter()
        plan = latency.set_up_data(args.sockets, args.alerted)
        print(f"  data: {args.sockets} firefighters with sessions ({time.perf_counter() - started:.1f} s)", flush=True)
        servers = start_servers(args, env, work_dir)
        result = asyncio.run(measure(args, plan, servers, run_id))
        for server in servers:
            if server.popen.poll() is not None:
                result["stopped_by"] = f"{server.name} exited with {server.popen.returncode}: {server.tail()[-300:]}"
        figures = report(args, result, load_at_start)
    except (Exception, KeyboardInterrupt) as error:
        import traceback

        traceback.print_exc()
        for server in servers:
            print(f"--- {server.name} log (tail) ---\n{server.tail()}", file=sys.stderr)
        figures = {"error": f"{type(error).__name__}: {error}"[:2000]}
    finally:
        signal.alarm(0)
        for server in servers:
            with contextlib.suppress(Exception):
                latency.stop_process(server)
        if scratch:
            with contextlib.suppress(Exception):
                from django.db import connections

                connections.close_all()
            with contextlib.suppress(Exception):
                latency.drop_scratch_database(*scratch)
            with contextlib.suppress(Exception):
                latency.delete_redis_keys(args.redis_url, args.prefix)
        if args.keep_probe_logs:
            for path in getattr(args, "probe_logs", []):
                with contextlib.suppress(OSError):
                    shutil.copy(path, Path(args.keep_probe_logs) / f"{run_id}-{path.name}")
        shutil.rmtree(work_dir, ignore_errors=True)
    print(json.dumps(figures), flush=True)
    return 0 if "error" not in figures else 2


if __name__ == "__main__":
    sys.exit(main())
