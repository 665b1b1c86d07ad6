"""The dispatch call's own CPU, this tree against another revision, in turns (issue 17).

The other benchmarks time the call from a client, where this machine's noise (its speed moves by a
factor of two from day to day, and other work shares its two cores) hides a change of a few
milliseconds. This one takes the call in-process, through Django's test client and the product's
whole view (middleware, token, action, answer), and counts the request thread's CPU time
(`time.thread_time`), which another process's work moves far less than the wall clock. Automatic
collections are off and a collection runs between two calls, untimed, as `manage.py serve` times
its own (backend/worker/serving.py).

Each round runs a child process per tree, this one and the baseline (`--against REV`: a worktree
of that revision made for the run and removed after), in turns, on a fresh database each: SQLite,
or PostgreSQL with `--database-url` (a scratch database per child beside it, dropped after). The
data are bench/push_fanout.py's (--responders subscribed firefighters around the incident, each
with a phone). `--mode dispatch` sends POST /incidents/{id}/dispatch/ to an incident made before
(the board's "Dispatch"; `--alerted 200` is the push fan-out's dispatch); `--mode create` sends the
CAD's create-and-dispatch POST /incidents/ (`--alerted 20` is bench/dispatch_latency.py's).

    .venv/bin/python bench/dispatch_cpu.py --against HEAD~1 --alerted 200
    .venv/bin/python bench/dispatch_cpu.py --against HEAD~1 --mode create --alerted 20 \\
        --responders 400 --database-url postgres://postgres@127.0.0.1:5432/postgres

Prints each child's CPU and wall p50 / min per call and the ratio of this tree's CPU p50 to the
baseline's, round by round; the last line is one JSON object.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from figures import rounded

HERE = Path(__file__).resolve().parent.parent


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--against", default="HEAD", help="the baseline revision (default HEAD)")
    parser.add_argument("--mode", choices=("dispatch", "create"), default="dispatch")
    parser.add_argument("--responders", type=int, default=200, help="subscribed firefighters in range")
    parser.add_argument("--alerted", type=int, default=200, help="DISPATCH_MAX_RESPONDERS")
    parser.add_argument("--calls", type=int, default=60, help="measured calls per child (after 3 unmeasured)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of one child per tree")
    parser.add_argument("--database-url", help="PostgreSQL server for scratch databases (default: SQLite)")
    return parser.parse_args(argv)


def summary(cpu_ms: list[float], wall_ms: list[float]) -> dict:
    return {
        "cpu_p50_ms": rounded(statistics.median(cpu_ms), 2),
        "cpu_min_ms": rounded(min(cpu_ms), 2),
        "wall_p50_ms": rounded(statistics.median(wall_ms), 2),
        "wall_min_ms": rounded(min(wall_ms), 2),
    }


def ratios(rounds: list[dict]) -> dict:
    """This tree's CPU p50 over the baseline's, per round, and their median."""
    per_round = [rounded(r["this"]["cpu_p50_ms"] / r["baseline"]["cpu_p50_ms"], 3) for r in rounds]
    return {"cpu_p50_ratio_per_round": per_round, "cpu_p50_ratio_median_x": rounded(statistics.median(per_round), 3)}


# --- A child: one tree, one database, the calls timed ---------------------------------------------


def run_child(spec: dict) -> None:
    root = Path(spec["root"])
    sys.path[:0] = [str(root), str(root / "bench")]
    os.chdir(root)
    import push_fanout

    import backend
    from backend.delivery import vapid

    if Path(backend.__file__).resolve().parent.parent != root.resolve():
        raise RuntimeError(f"{backend.__file__} is not the tree's own code ({root})")
    from tests.support.push_service import PushServiceStandIn

    class Sizes:
        devices = spec["responders"]
        push_max_concurrency = 0

    key = vapid.generate()
    workdir = Path(spec["workdir"])
    env = push_fanout.bench_environment(workdir, Sizes, vapid.private_key_b64(key))
    env.update(DELIVERY_WORKER_EMBEDDED="false", DISPATCH_MAX_RESPONDERS=str(spec["alerted"]))
    if spec.get("database_url"):
        env["DATABASE_URL"] = spec["database_url"]
    os.environ.update(env)
    stand_in = PushServiceStandIn().start()
    try:
        push_fanout.manage(env, "migrate", "--verbosity", "0")
        import django

        django.setup()
        plan = push_fanout.set_up_data(stand_in, Sizes.devices, spec["calls"] + 3, vapid.public_key_b64(key))
        print(json.dumps(timed_calls(plan, spec, push_fanout.INCIDENT_LOCATION)), flush=True)
    finally:
        stand_in.stop()


def timed_calls(plan, spec: dict, location) -> dict:
    import gc

    from django.test import Client

    client = Client(HTTP_AUTHORIZATION=f"Token {plan.token}")

    def call(number: int, incident_id: int) -> None:
        if spec["mode"] == "create":
            body = {"cad_reference": f"CPU-{number}", "latitude": location[0], "longitude": location[1]}
            body.update(address="Bench street", dispatch=True)
            response = client.post("/api/v1/incidents/", body, content_type="application/json", HTTP_HOST="127.0.0.1")
            expected = 201
        else:
            url = f"/api/v1/incidents/{incident_id}/dispatch/"
            response = client.post(url, {}, content_type="application/json", HTTP_HOST="127.0.0.1")
            expected = 200
        if response.status_code != expected:
            raise RuntimeError(f"call {number}: {response.status_code} {response.content[:300]!r}")

    for number, incident_id in enumerate(plan.incident_ids[:3]):
        call(number, incident_id)
    gc.disable()
    cpu_ms, wall_ms = [], []
    for number, incident_id in enumerate(plan.incident_ids[3:], start=3):
        gc.collect()
        wall, cpu = time.perf_counter(), time.thread_time()
        call(number, incident_id)
        cpu_ms.append((time.thread_time() - cpu) * 1000)
        wall_ms.append((time.perf_counter() - wall) * 1000)
    return summary(cpu_ms, wall_ms)


# --- The parent: trees, scratch databases, turns ---------------------------------------------------


def baseline_tree(revision: str, into: Path) -> Path:
    tree = into / "baseline"
    subprocess.run(["git", "-C", str(HERE), "worktree", "add", "-q", "--detach", str(tree), revision], check=True)
    (tree / ".venv").symlink_to(HERE / ".venv")
    return tree


def scratch_database(server_url: str, name: str) -> str:
    import psycopg

    with psycopg.connect(server_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')
    return server_url.rsplit("/", 1)[0] + "/" + name


def drop_database(server_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(server_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')


def run_one(tree: Path, label: str, args, into: Path, number: int) -> dict:
    workdir = into / f"{label}-{number}"
    workdir.mkdir()
    spec = {
        "root": str(tree),
        "workdir": str(workdir),
        "mode": args.mode,
        "responders": args.responders,
        "alerted": args.alerted,
        "calls": args.calls,
    }
    name = f"dispatch_cpu_{os.getpid()}_{label}_{number}"
    if args.database_url:
        spec["database_url"] = scratch_database(args.database_url, name)
    try:
        done = subprocess.run(
            [sys.executable, __file__, "--child", json.dumps(spec)], capture_output=True, text=True, cwd=tree
        )
    finally:
        if args.database_url:
            drop_database(args.database_url, name)
    if done.returncode != 0:
        raise RuntimeError(f"{label} child failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        return run_child(json.loads(sys.argv[2]))
    args = parse_args()
    into = Path(tempfile.mkdtemp(prefix="dispatch-cpu-"))
    load_start = os.getloadavg()[0]
    print(f"machine load average (1 min) at the start: {load_start:.2f} on {os.cpu_count()} CPUs", flush=True)
    tree = None
    try:
        tree = baseline_tree(args.against, into)
        rounds = []
        for number in range(args.rounds):
            figures = {}
            # Turns: the baseline first in even rounds, this tree first in odd ones.
            order = [("baseline", tree), ("this", HERE)] if number % 2 == 0 else [("this", HERE), ("baseline", tree)]
            for label, root in order:
                figures[label] = run_one(root, label, args, into, number)
                print(f"round {number + 1} {label:8} {figures[label]}", flush=True)
            rounds.append(figures)
    finally:
        if tree is not None:
            subprocess.run(["git", "-C", str(HERE), "worktree", "remove", "--force", str(tree)], check=False)
        shutil.rmtree(into, ignore_errors=True)
    result = {
        "against": args.against,
        "mode": args.mode,
        "responders": args.responders,
        "alerted": args.alerted,
        "calls": args.calls,
        "engine": "postgresql" if args.database_url else "sqlite",
        **ratios(rounds),
        "this_cpu_p50_ms": [r["this"]["cpu_p50_ms"] for r in rounds],
        "baseline_cpu_p50_ms": [r["baseline"]["cpu_p50_ms"] for r in rounds],
        "this_wall_p50_ms": [r["this"]["wall_p50_ms"] for r in rounds],
        "baseline_wall_p50_ms": [r["baseline"]["wall_p50_ms"] for r in rounds],
        "loadavg_1m_at_start": rounded(load_start, 2),
        "loadavg_1m_at_end": rounded(os.getloadavg()[0], 2),
    }
    print(json.dumps(result))
    return None


if __name__ == "__main__":
    main()
