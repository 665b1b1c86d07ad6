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

    .venv/bin/python bench/socket_capacity.py
    .venv/bin/python bench/socket_capacity.py --sockets 2000 --checkpoints 1000,2000 --idle-s 10

The last line printed is one JSON object with the figures.
"""

import argparse
import asyncio
import contextlib
import json
import os
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


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def connect_more(client: latency.Client, plan, port: int, start: int, end: int, concurrency: int) -> int:
    """Sockets start..end-1 (firefighter i's session on socket i), added to `client`'s. A socket that
    fails to open is tried once more after the others, as the app reconnects; raises if any fails
    twice (after keeping the ones that opened). Returns how many needed the second try."""
    failed = await _open_sockets(client, plan, port, list(range(start, end)), concurrency)
    if failed:
        print(f"    {len(failed)} sockets failed to open ({failed[0][1]}); trying them once more", flush=True)
        again = await _open_sockets(client, plan, port, [index for index, _ in failed], concurrency)
        if again:
            raise RuntimeError(f"{len(again)} of {end - start} sockets failed to open twice; the first: {again[0][1]}")
    return len(failed)


async def _open_sockets(client, plan, port: int, indexes: list[int], concurrency: int) -> list[tuple[int, str]]:
    """Open these sockets; the (index, error) of each that failed."""
    from websockets.asyncio.client import connect

    limit = asyncio.Semaphore(concurrency)
    origin = f"http://127.0.0.1:{port}"

    async def open_one(index: int):
        async with limit:
            connection = await connect(
                f"ws://127.0.0.1:{port}/ws/responder/",
                origin=origin,
                additional_headers={"Cookie": plan.cookies[index]},
                compression=None,
                open_timeout=latency.CONNECT_TIMEOUT_S,
                close_timeout=2,
                ping_interval=None,  # the server pings; the client answers
                max_size=2**20,
            )
            first = json.loads(await asyncio.wait_for(connection.recv(), latency.CONNECT_TIMEOUT_S))
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


async def dispatch_round(client, plan, port: int, stations: list[int], alerted: int, run_id: str, label: str):
    """One dispatch per station in `stations`, one after another: each alerted socket's latency (ms),
    and each dispatch's (sent, last frame read) on perf_counter's clock (the servers' too, on Linux)."""
    latencies, intervals = [], []
    for number, station in enumerate(stations):
        reference = f"CAP-{run_id}-{label}-{number:03d}"
        state = client.expect(reference, set(range(station * alerted, (station + 1) * alerted)))
        lat, lon = plan.station_locations[station]
        body = {"cad_reference": reference, "latitude": lat + 0.001, "longitude": lon, "address": "Bench street"}
        state.t_sent, status, answer, state.t_response = await latency.post_json(
            port, "/api/v1/incidents/", {**body, "dispatch": True}, plan.token
        )
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


def probe_spans(log_paths: list[Path]) -> list[tuple[str, float, float]]:
    """The probed servers' pauses of the event loop that do not belong to one dispatch: garbage
    collections and daphne's walks over every connection (bench/dispatch_latency.py --probe)."""
    spans = []
    for path in log_paths:
        if path.exists():
            for line in path.read_text().splitlines():
                entry = json.loads(line)
                if entry["span"].startswith(("gc ", "daphne ")):
                    spans.append((entry["span"], entry["start"], entry["end"]))
    return spans


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
        during = [
            (end - start) * 1000 for start, end in mine if any(d_s <= start < d_e for d_s, d_e in dispatches)
        ]
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


async def measure(args, plan, server: latency.Process, run_id: str) -> dict:
    client = latency.Client()
    pid, port = server.popen.pid, server.port
    # Warm-up: one station's sockets and a few dispatches, so imports and caches are in the baseline.
    await connect_more(client, plan, port, 0, args.alerted, args.connect_concurrency)
    await dispatch_round(client, plan, port, [0, 0, 0], args.alerted, run_id, "warmup")
    await asyncio.sleep(2)
    base_sockets, base_rss = args.alerted, rss_kb(pid)
    print(f"  baseline: {base_sockets} sockets, RSS {base_rss / 1024:.1f} MiB", flush=True)
    checkpoints, connected, stopped_by = [], base_sockets, None
    for target in args.checkpoints:
        started = time.perf_counter()
        try:
            retried = await connect_more(client, plan, port, connected, target, args.connect_concurrency)
        except Exception as error:
            stopped_by = f"at {connected}..{target}: {error}"[:500]
            print(f"  stopped: {stopped_by}", flush=True)
            break
        connect_s = time.perf_counter() - started
        connected = target
        await asyncio.sleep(2)
        rss = rss_kb(pid)
        cpu_before = cpu_seconds(pid)
        idle_window = (time.perf_counter(), None)
        await asyncio.sleep(args.idle_s)
        idle_window = (idle_window[0], time.perf_counter())
        idle_cpu_pct = (cpu_seconds(pid) - cpu_before) / args.idle_s * 100
        stations = [(n * 7) % (connected // args.alerted) for n in range(args.incidents)]
        found, intervals = await dispatch_round(client, plan, port, stations, args.alerted, run_id, f"n{connected}")
        frames = [ms for ms in found if ms is not None]
        checkpoint = {
            "sockets": connected,
            "rss_mib": round(rss / 1024, 1),
            "kb_per_socket": round((rss - base_rss) / (connected - base_sockets), 1),
            "connect_per_s": round(
                (connected - (checkpoints[-1]["sockets"] if checkpoints else base_sockets)) / connect_s, 1
            ),
            "connects_retried": retried,
            "idle_cpu_pct": round(idle_cpu_pct, 2),
            "dispatch_p50_ms": round(percentile(frames, 0.5), 1) if frames else None,
            "dispatch_p99_ms": round(percentile(frames, 0.99), 1) if frames else None,
            "missing_frames": len(found) - len(frames),
            "closed_by_server": len(client.closed),
            "loadavg_1m": round(os.getloadavg()[0], 2),
        }
        if args.probe:
            checkpoint["pauses"] = pauses(args.probe_logs, idle_window, intervals)
        checkpoints.append(checkpoint)
        c = checkpoint
        print(
            f"  {connected:6d} sockets: RSS {c['rss_mib']:8.1f} MiB, {c['kb_per_socket']:6.1f} KB/socket, "
            f"connect {c['connect_per_s']:6.1f}/s, idle CPU {c['idle_cpu_pct']:5.2f}%, dispatch p50 "
            f"{c['dispatch_p50_ms']} p99 {c['dispatch_p99_ms']} ms, missing {c['missing_frames']}"
            f" (load {c['loadavg_1m']})",
            flush=True,
        )
        if args.probe:
            print_pauses(checkpoint["pauses"])
    client.sockets = [s for s in client.sockets if s is not None]
    await client.close_all()
    return {"checkpoints": checkpoints, "stopped_by": stopped_by}


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
        "target_sockets_met": last.get("sockets", 0) >= 10000,
        "target_kb_per_socket_met": last.get("kb_per_socket") is not None
        and last["kb_per_socket"] <= TARGET_KB_PER_SOCKET,
        "target_p99_ratio_met": ratio is not None and ratio <= TARGET_P99_RATIO,
        "checkpoints": checkpoints,
        "loadavg_1m_start": round(load_at_start, 2),
        "loadavg_1m_end": round(os.getloadavg()[0], 2),
    }
    print(
        f"\n  targets: >= 10,000 sockets: {figures['sockets_reached']}; <= {TARGET_KB_PER_SOCKET:.0f} KB each: "
        f"{figures['kb_per_socket']}; p99 at the last checkpoint <= {TARGET_P99_RATIO:.0f}x the first: {ratio}"
        f"\n  machine load average (1 min): {load_at_start:.2f} at the start, {os.getloadavg()[0]:.2f} at the end"
        f" on {os.cpu_count()} CPUs (shared: other work shows in every figure)",
        flush=True,
    )
    return figures


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sockets", type=int, default=10000, help="firefighters, each with a session (default 10000)")
    parser.add_argument("--checkpoints", default="1000,5000,10000", help="socket counts to measure at")
    parser.add_argument("--alerted", type=int, default=20, help="firefighters per station, alerted per dispatch")
    parser.add_argument("--incidents", type=int, default=20, help="dispatches measured at each checkpoint")
    parser.add_argument("--idle-s", type=float, default=25.0, help="idle CPU window (daphne pings every 20 s)")
    parser.add_argument("--connect-concurrency", type=int, default=100, help="sockets opening at once")
    parser.add_argument("--timeout", type=int, default=1800, help="give up after this many seconds")
    parser.add_argument(
        "--probe",
        action="store_true",
        help="time the servers' garbage collections and daphne's per-connection walks at each checkpoint",
    )
    args = parser.parse_args(argv)
    args.checkpoints = sorted({int(n) for n in args.checkpoints.split(",") if n.strip()})
    if not args.checkpoints or args.checkpoints[-1] > args.sockets or args.checkpoints[0] <= args.alerted:
        parser.error("--checkpoints must be above --alerted and at most --sockets")
    if any(n % args.alerted for n in args.checkpoints):
        parser.error("each checkpoint must be a multiple of --alerted (whole stations)")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)

    def on_alarm(signum, frame):
        raise BenchTimeout(f"the benchmark took longer than {args.timeout} s")

    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(args.timeout)
    latency.raise_open_files_limit(args.sockets)
    work_dir = Path(tempfile.mkdtemp(prefix="coresponder-capacity-"))
    server = None
    run_id = uuid.uuid4().hex[:8]
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")},
        "DJANGO_SETTINGS_MODULE": "backend.settings",
        "DJANGO_ENV": "development",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SQLITE_PATH": str(work_dir / "bench.sqlite3"),
        "DISPATCH_RADIUS_KM": str(latency.RADIUS_KM),
        "DISPATCH_MAX_PER_STATION": str(args.alerted),
        "DISPATCH_MAX_RESPONDERS": str(args.alerted),
        "ESCALATION_LADDER": "86400:alarm",  # nobody answers here: nothing re-sent during the run
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }
    try:
        os.environ.update(env)
        for name in ("DATABASE_URL", "REDIS_URL"):
            os.environ.pop(name, None)
        load_at_start = os.getloadavg()[0]
        print(
            f"socket capacity, one manage.py serve process: up to {args.sockets} sockets, checkpoints "
            f"{args.checkpoints}; load average {load_at_start:.2f} on {os.cpu_count()} CPUs",
            flush=True,
        )
        started = time.perf_counter()
        plan = latency.set_up_data(args.sockets, args.alerted)
        print(f"  data: {args.sockets} firefighters with sessions ({time.perf_counter() - started:.1f} s)", flush=True)
        port = free_port()
        command = latency.server_command(SimpleNamespace(mode="embedded", probe=args.probe, experiment=[]), port)
        args.probe_logs = [work_dir / "probe-server.jsonl"]
        server_env = {**env, "BENCH_PROBE_LOG": str(args.probe_logs[0]), "BENCH_EXPERIMENTS": ""}
        server = latency.start_process("server", command, server_env, work_dir, port)
        latency.wait_until_listening(server)
        result = asyncio.run(measure(args, plan, server, run_id))
        if server.popen.poll() is not None:
            result["stopped_by"] = f"the server exited with {server.popen.returncode}: {server.tail()[-300:]}"
        figures = report(args, result, load_at_start)
    except (Exception, KeyboardInterrupt) as error:
        import traceback

        traceback.print_exc()
        if server is not None:
            print(f"--- server log (tail) ---\n{server.tail()}", file=sys.stderr)
        figures = {"error": f"{type(error).__name__}: {error}"[:2000]}
    finally:
        signal.alarm(0)
        if server is not None:
            with contextlib.suppress(Exception):
                latency.stop_process(server)
        shutil.rmtree(work_dir, ignore_errors=True)
    print(json.dumps(figures), flush=True)
    return 0 if "error" not in figures else 2


if __name__ == "__main__":
    sys.exit(main())
