"""Garbage-collector pauses in the serving process as long-lived socket state grows (issue 17 item 1):
the collector's CPU time per dispatch-sized burst of work at 1,000, 5,000 and 10,000 sockets'
worth of long-lived objects, with the product's tuning (backend/worker/serving.py: survivors of a
full collection frozen) and without it (GC_FREEZE_SURVIVORS=false: start-up frozen, thresholds
raised, as before), each in a fresh process that loads backend.asgi as daphne does.

The sockets are stand-ins: per socket, --objects-per-socket container objects in a reference cycle
(a real socket is about 40 KB, a few hundred such objects), so the figures are the collector's
work, measured as CPU time of the collecting thread (time.thread_time), which other processes on
the machine do not inflate as they do wall time. Each "dispatch" holds --burst objects until it
ends (a request's rows and model instances) and leaves --kept alive (as a request leaves cache
entries behind). The socket ramp-up
itself runs collections too; those are counted apart.

    .venv/bin/python bench/gc_pauses.py
    .venv/bin/python bench/gc_pauses.py --checkpoints 1000,5000,10000 --dispatches 200

The last line printed is one JSON object with the figures.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT / "bench"))

from figures import percentile  # noqa: E402

CHILD = r"""
import gc, json, sys, time
import backend.asgi  # the product's tuning, as daphne loads it

checkpoints, per_socket, dispatches, burst, kept_per_dispatch = json.loads(sys.argv[1])
pauses, current = [], {"gen": None, "t": 0.0}

def on_gc(phase, info):
    if phase == "start":
        current["t"] = time.thread_time()
    else:
        pauses.append((info["generation"], (time.thread_time() - current["t"]) * 1000))

gc.callbacks.append(on_gc)

class SocketState:
    pass

def open_socket():
    state = SocketState()
    state.me = state  # a cycle, as Twisted's protocol and transport
    state.parts = [[n] for n in range(per_socket - 2)]  # lists: always tracked by the collector
    return state

class Dispatch:
    pass

sockets, kept, out = [], [], []
for target in checkpoints:
    start = len(pauses)
    while len(sockets) < target:
        sockets.append(open_socket())
    ramp = pauses[start:]
    per_dispatch = []
    for _ in range(dispatches):
        before = len(pauses)
        work = [[n, [n]] for n in range(burst // 2)]  # a request's objects, alive until it ends
        survivor = Dispatch(); survivor.me = survivor; survivor.rows = work[:kept_per_dispatch]
        kept.append(survivor)
        per_dispatch.append(sum(ms for _, ms in pauses[before:]))
    during = pauses[start + len(ramp):]
    out.append({
        "sockets": target,
        "tracked_objects": len(gc.get_objects()),
        "frozen_objects": gc.get_freeze_count(),
        "ramp_collections": {g: sum(1 for gen, _ in ramp if gen == g) for g in (0, 1, 2)},
        "ramp_max_ms": max((ms for _, ms in ramp), default=0.0),
        "per_dispatch_ms": per_dispatch,
        "collections": {g: sum(1 for gen, _ in during if gen == g) for g in (0, 1, 2)},
        "max_ms": {g: max((ms for gen, ms in during if gen == g), default=0.0) for g in (0, 1, 2)},
    })
print(json.dumps(out))
"""


def run_child(freeze_survivors: bool, args) -> list[dict]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_", "GC_"))},
        "DJANGO_SETTINGS_MODULE": "backend.settings",
        "DJANGO_ENV": "development",
        "SQLITE_PATH": str(Path(tempfile.gettempdir()) / "gc-pauses-unused.sqlite3"),
        "GC_FREEZE_SURVIVORS": "true" if freeze_survivors else "false",
    }
    parameters = json.dumps([args.checkpoints, args.objects_per_socket, args.dispatches, args.burst, args.kept])
    result = subprocess.run(
        [sys.executable, "-c", CHILD, parameters], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=1800
    )
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-3000:])
    return json.loads(result.stdout.strip().splitlines()[-1])


def summarise(checkpoint: dict) -> dict:
    per_dispatch = checkpoint["per_dispatch_ms"]
    return {
        "sockets": checkpoint["sockets"],
        "tracked_objects": checkpoint["tracked_objects"],
        "frozen_objects": checkpoint["frozen_objects"],
        "gc_p50_ms": round(percentile(per_dispatch, 0.5), 2),
        "gc_p99_ms": round(percentile(per_dispatch, 0.99), 2),
        "gc_max_ms": round(max(per_dispatch), 2),
        "collections": checkpoint["collections"],
        "full_max_ms": round(checkpoint["max_ms"]["2"], 1),
        "ramp_collections": checkpoint["ramp_collections"],
        "ramp_max_ms": round(checkpoint["ramp_max_ms"], 1),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoints", default="1000,5000,10000", help="sockets' worth of objects")
    parser.add_argument("--objects-per-socket", type=int, default=300)
    parser.add_argument("--dispatches", type=int, default=200, help="bursts of work measured at each checkpoint")
    parser.add_argument("--burst", type=int, default=20000, help="objects allocated per dispatch")
    parser.add_argument("--kept", type=int, default=50, help="objects each dispatch leaves alive")
    args = parser.parse_args(argv)
    args.checkpoints = sorted({int(n) for n in args.checkpoints.split(",") if n.strip()})
    load_start = os.getloadavg()[0]
    print(f"gc pauses: checkpoints {args.checkpoints}; load average {load_start:.2f} on {os.cpu_count()} CPUs")
    figures = {}
    for name, freeze in (("without_freezing_survivors", False), ("with_freezing_survivors", True)):
        figures[name] = [summarise(c) for c in run_child(freeze, args)]
        for c in figures[name]:
            print(
                f"  {name:27s} {c['sockets']:6d} sockets ({c['tracked_objects']:8d} tracked, {c['frozen_objects']:8d}"
                f" frozen): GC CPU per dispatch p50 {c['gc_p50_ms']} p99 {c['gc_p99_ms']} max {c['gc_max_ms']} ms;"
                f" collections {c['collections']}, longest full {c['full_max_ms']} ms; ramp-up: {c['ramp_collections']}"
                f" longest {c['ramp_max_ms']} ms",
                flush=True,
            )
    result = {"loadavg_1m_start": round(load_start, 2), "loadavg_1m_end": round(os.getloadavg()[0], 2)}
    for name, checkpoints in figures.items():
        first, last = checkpoints[0], checkpoints[-1]
        result[name] = checkpoints
        result[f"{name}_p99_last_over_first_x"] = round(last["gc_p99_ms"] / max(first["gc_p99_ms"], 0.01), 2)
        result[f"{name}_ramp_max_ms_at_last"] = last["ramp_max_ms"]
    without, with_ = figures["without_freezing_survivors"][-1], figures["with_freezing_survivors"][-1]
    result["ramp_longest_pause_without_over_with_x"] = round(
        without["ramp_max_ms"] / max(with_["ramp_max_ms"], 0.01), 1
    )
    print(f"  load average {os.getloadavg()[0]:.2f} at the end")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
