"""The nearest defibrillators at national size: how long does an incident's "nearest 3 within
DEFIBRILLATORS_RADIUS_M" take over 100,000 points, on SQLite and on PostgreSQL without PostGIS?

Loads --points defibrillators (default 100,000; seeded) spread over Great Britain as they are in
life: most clustered around towns, the rest scattered over the land's rough outline. Then asks for
the nearest ones to --queries incident positions (default 2,000, near where people are, after 200
unmeasured warm-up queries) three ways, in the same process, in turn for each incident:

    floor      the same bounding-box SELECT (id, latitude, longitude) by the raw database driver:
               what the index answers, no ORM, no distance
    query      backend/places/nearest.py: nearest_defibrillators (the ORM's SELECT of the box, the
               exact distance of each point in it, the nearest first): the target's measure
    payload    backend/places/payloads.py: defibrillators_near, what the API answers (query, plus
               "open now" from opening_hours for each point returned)

    SQLite       a fresh database in a temporary directory (always)
    PostgreSQL   a scratch database made beside the one --database-url (or DATABASE_URL, else
                 postgres://postgres@127.0.0.1:5432/postgres) names, dropped at the end; skipped
                 with --skip-postgresql

Each engine runs in its own process (Django's settings are per process). Both are ANALYZEd after
the load, as autovacuum (PostgreSQL) or `manage.py import_defibrillators`' callers would leave
them. Target: the query's p99 within 5 ms on each. Prints the load average; the last line is one
JSON object with the figures (times in ms) and each engine's ratio to its floor.

    .venv/bin/python bench/nearest_defibrillators.py
    .venv/bin/python bench/nearest_defibrillators.py --points 100000 --queries 2000
"""

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from figures import percentile, rounded

REPO_ROOT = Path(__file__).resolve().parent.parent
TARGET_P99_MS = 5.0
WARM_UP = 200
# Great Britain's land, roughly, as boxes (south, north, west, east) weighted by their area: the
# south of England and Wales, the Midlands and the north, the north-east, Scotland.
LAND = [
    (50.05, 51.60, -5.70, 1.40),
    (51.60, 53.50, -4.70, 1.75),
    (53.50, 55.00, -3.60, -0.10),
    (55.00, 58.60, -6.20, -2.00),
]
TOWNS = 400
IN_TOWNS = 0.7  # the share of points around towns (sd 3 km); the rest scattered
TOWN_SPREAD_DEG = 0.027


def _box_weights():
    return [(north - south) * (east - west) for south, north, west, east in LAND]


def _uniform(rng) -> tuple[float, float]:
    south, north, west, east = rng.choices(LAND, weights=_box_weights())[0]
    return rng.uniform(south, north), rng.uniform(west, east)


def positions(count: int, seed: int, towns_seed: int) -> list[tuple[float, float]]:
    """`count` points: most around TOWNS town centres (the same towns for the same towns_seed), the
    rest anywhere on the land's boxes."""
    town_rng = random.Random(towns_seed)
    towns = [_uniform(town_rng) for _ in range(TOWNS)]
    rng = random.Random(seed)
    points = []
    for _ in range(count):
        if rng.random() < IN_TOWNS:
            lat, lon = rng.choice(towns)
            points.append((rng.gauss(lat, TOWN_SPREAD_DEG), rng.gauss(lon, TOWN_SPREAD_DEG * 1.6)))
        else:
            points.append(_uniform(rng))
    return points


HOURS = ["24/7", "Mo-Fr 08:00-18:00", "Mo-Su 07:00-22:00; PH off", "", "Mo-Sa 09:00-17:30"]
ACCESS = ["yes", "yes", "yes", "customers", "private", "unknown"]


def load_points(count: int, seed: int) -> None:
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from backend.places.models import Defibrillator

    call_command("migrate", verbosity=0, interactive=False)
    now = timezone.now()
    rng = random.Random(seed + 1)
    batch = []
    for index, (lat, lon) in enumerate(positions(count, seed, towns_seed=seed)):
        batch.append(
            Defibrillator(
                source="osm",
                source_id=f"node/{index + 1}",
                latitude=lat,
                longitude=lon,
                name=f"Defibrillator {index + 1}",
                access=rng.choice(ACCESS),
                opening_hours=rng.choice(HOURS),
                location="By the main door",
                imported_at=now,
            )
        )
        if len(batch) == 5000:
            Defibrillator.objects.bulk_create(batch)
            batch = []
    Defibrillator.objects.bulk_create(batch)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def timed(functions: dict, queries) -> dict[str, list[float]]:
    """Each function's times (ms) for the same incidents, taken in turn for each incident, so that
    a busy moment of the machine falls on all of them alike."""
    for lat, lon in queries[:WARM_UP]:
        for function in functions.values():
            function(lat, lon)
    times = {name: [] for name in functions}
    for lat, lon in queries[WARM_UP:]:
        for name, function in functions.items():
            started = time.perf_counter()
            function(lat, lon)
            times[name].append((time.perf_counter() - started) * 1000)
    return times


def summary(times: list[float]) -> dict:
    return {"p50_ms": rounded(percentile(times, 0.5), 3), "p99_ms": rounded(percentile(times, 0.99), 3)}


def run_engine(args) -> dict:
    import django

    sys.path.insert(0, str(REPO_ROOT))
    django.setup()
    from django.conf import settings
    from django.db import connection

    from backend.places.nearest import bounding_box, nearest_defibrillators
    from backend.places.payloads import defibrillators_near

    started = time.perf_counter()
    load_points(args.points, args.seed)
    load_s = time.perf_counter() - started
    # Incidents happen where people are: near the towns, as the points are (another seed).
    queries = positions(args.queries + WARM_UP, args.seed + 2, towns_seed=args.seed)
    radius_m, count = settings.DEFIBRILLATORS_RADIUS_M, settings.DEFIBRILLATORS_NEAREST_COUNT

    connection.ensure_connection()
    raw = connection.connection  # the driver's own connection (sqlite3 or psycopg)
    placeholder = "?" if connection.vendor == "sqlite" else "%s"
    p = placeholder
    floor_sql = (
        "SELECT id, latitude, longitude FROM places_defibrillator"  # noqa: S608 (constants only)
        f" WHERE latitude >= {p} AND latitude <= {p} AND longitude >= {p} AND longitude <= {p}"
        " AND removed_from_source_at IS NULL"
    )
    found_in_box, found = [], []

    def floor(lat, lon):
        cursor = raw.cursor()
        cursor.execute(floor_sql, bounding_box(lat, lon, radius_m))
        found_in_box.append(len(cursor.fetchall()))
        cursor.close()

    def query(lat, lon):
        found.append(len(nearest_defibrillators(lat, lon, count=count, radius_m=radius_m)))

    times = timed({"floor": floor, "query": query, "payload": defibrillators_near}, queries)
    floor_ms, query_ms, payload_ms = times["floor"], times["query"], times["payload"]
    query_summary = summary(query_ms)
    floor_summary = summary(floor_ms)
    measured = found[WARM_UP:]
    return {
        "engine": connection.vendor,
        "load_s": round(load_s, 1),
        "query": query_summary,
        "floor": floor_summary,
        "payload": summary(payload_ms),
        "ratio_p99_to_floor": rounded(query_summary["p99_ms"] / floor_summary["p99_ms"], 2),
        "points_in_box_mean": rounded(sum(found_in_box[WARM_UP:]) / len(measured), 1),
        "found_mean": rounded(sum(measured) / len(measured), 2),
        "with_none_found": sum(1 for n in measured if n == 0),
        "loadavg_1m": round(os.getloadavg()[0], 2),
    }


def run_in_child(args, engine: str, env: dict) -> dict:
    argv = [sys.executable, __file__, "--engine", engine, "--points", str(args.points)]
    argv += ["--queries", str(args.queries), "--seed", str(args.seed)]
    completed = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=args.timeout)
    if completed.returncode != 0:
        sys.stderr.write(completed.stderr[-4000:])
        raise RuntimeError(f"the {engine} run failed (exit {completed.returncode})")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def print_engine(figures: dict) -> None:
    verdict = "ok" if figures["query"]["p99_ms"] <= TARGET_P99_MS else "OVER TARGET"
    print(
        f"{figures['engine']}: {figures['load_s']} s to load; load average {figures['loadavg_1m']} on"
        f" {os.cpu_count()} CPUs; {figures['points_in_box_mean']} points in a box on average,"
        f" {figures['found_mean']} found ({figures['with_none_found']} incidents with none in range)",
        flush=True,
    )
    for name in ("floor", "query", "payload"):
        print(f"  {name:8} p50 {figures[name]['p50_ms']:7.3f} ms   p99 {figures[name]['p99_ms']:7.3f} ms")
    print(f"  query p99 / floor p99 = {figures['ratio_p99_to_floor']}   target p99 <= {TARGET_P99_MS} ms: {verdict}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=2000, help="measured queries per way (default 2,000)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/postgres",
        help="where to make the PostgreSQL scratch database",
    )
    parser.add_argument("--skip-postgresql", action="store_true")
    parser.add_argument("--timeout", type=int, default=1800, help="give up on an engine after this many seconds")
    parser.add_argument("--engine", choices=["sqlite", "postgresql"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.engine:  # the child process: the database is already named in the environment
        print(json.dumps(run_engine(args)), flush=True)
        return 0

    work_dir = Path(tempfile.mkdtemp(prefix="coresponder-bench-defibrillators-"))
    base_env = {**os.environ, "DJANGO_SETTINGS_MODULE": "backend.settings", "DJANGO_ENV": "development"}
    base_env.pop("DATABASE_URL", None)
    results = {
        "points": args.points,
        "queries": args.queries,
        "target_p99_ms": TARGET_P99_MS,
        "loadavg_1m_start": round(os.getloadavg()[0], 2),
    }
    scratch = None
    try:
        print(f"{args.points} defibrillators over Great Britain, {args.queries} incidents", flush=True)
        print(f"load average at the start: {results['loadavg_1m_start']} on {os.cpu_count()} CPUs", flush=True)
        engines = [("sqlite", {**base_env, "SQLITE_PATH": str(work_dir / "bench.sqlite3")})]
        if not args.skip_postgresql:
            from dispatch_latency import create_scratch_database, postgres_params, postgres_url

            params = postgres_params(args.database_url)
            scratch = (params, f"coresponder_bench_defibrillators_{uuid.uuid4().hex[:8]}")
            create_scratch_database(*scratch)
            engines.append(("postgresql", {**base_env, "DATABASE_URL": postgres_url(*scratch)}))
        for engine, env in engines:
            figures = run_in_child(args, engine, env)
            print_engine(figures)
            for name in ("query", "floor", "payload"):
                for key, value in figures[name].items():
                    results[f"{engine}_{name}_{key}"] = value
            results[f"{engine}_ratio_p99_to_floor"] = figures["ratio_p99_to_floor"]
            results[f"{engine}_points_in_box_mean"] = figures["points_in_box_mean"]
            results[f"{engine}_loadavg_1m"] = figures["loadavg_1m"]
        results["within_target"] = all(results[f"{engine}_query_p99_ms"] <= TARGET_P99_MS for engine, _ in engines)
    except Exception as error:
        import traceback

        traceback.print_exc()
        results["error"] = f"{type(error).__name__}: {error}"[:2000]
    finally:
        if scratch is not None:
            from dispatch_latency import drop_scratch_database

            drop_scratch_database(*scratch)
        shutil.rmtree(work_dir, ignore_errors=True)
    results["loadavg_1m_end"] = round(os.getloadavg()[0], 2)
    print(json.dumps(results), flush=True)
    return 0 if "error" not in results else 2


if __name__ == "__main__":
    sys.exit(main())
