"""The coordinators' reports with years of data: how long do the reports page and the CSV export take?

Builds --incidents synthetic incidents (default 50,000) spread over --years (default 5) and
--stations (default 40), with bulk_create: for each incident one or two stations' firefighters
alerted (3 each), most accepting, most of those attending with times, and an outcome form per
attending crew (a mix of witnessed/rhythm/ROSC, shocks, crew and ambulance arrival times). As
after any bulk load, `manage.py rebuild_report_summaries` then makes the alerts' summaries and
keeps the settled months' figures (timed). Then, as a coordinator through the Django test client,
it fetches the reports page and the CSV export for the whole period and all stations (and the
page for one station, and for the page's default of the last twelve months), --repeats times
each, and counts the queries each makes. Last, the page again with the kept months dropped before
each fetch: what the first report after they are dropped costs (not the target's measure).

    SQLite       a fresh database in a temporary directory (always)
    PostgreSQL   a scratch database made beside the one --database-url (or DATABASE_URL) names,
                 dropped at the end (only when one is given)

Each engine runs in its own process (Django's settings are per process). Target: each at most
1000 ms, with a number of queries that does not depend on the number of incidents. The last line
printed is one JSON object with the figures (times in ms).

    .venv/bin/python bench/reports.py
    .venv/bin/python bench/reports.py --database-url postgres://postgres@127.0.0.1:5432/coresponder
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from figures import percentile, rounded

REPO_ROOT = Path(__file__).resolve().parent.parent
TARGET_MS = 1000.0
FIREFIGHTERS_PER_STATION = 6
ALERTED_PER_STATION = 3
BATCH = 5000


# --- The data (runs inside the engine's process) ----------------------------------------------------


def set_up_data(incidents: int, stations: int, years: int, seed: int = 2026):
    """Migrate the fresh database and fill it. Returns the coordinator and the period covered."""
    import datetime
    import hashlib
    import io
    import random

    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    from backend.accounts.models import Responder, Station
    from backend.dispatch.models import Alert, AlertState, Incident, IncidentStatus
    from backend.records.models import Attendance, CrewRole, Outcome
    from backend.roles import COORDINATORS

    call_command("migrate", verbosity=0, interactive=False)
    rng = random.Random(seed)
    User = get_user_model()
    now = timezone.now().replace(microsecond=0)
    first = now - datetime.timedelta(days=365 * years)
    span_s = int((now - first).total_seconds()) - 3600
    coordinator = User.objects.create_user(username="bench-coordinator", is_staff=True)
    coordinator.groups.add(Group.objects.get(name=COORDINATORS))
    # created_at is auto_now_add: the bench writes history, so it sets the times itself.
    Incident._meta.get_field("created_at").auto_now_add = False
    body_hash = hashlib.sha256(b"bench").hexdigest()
    # Incidents in time order, as a live system makes them.
    created = sorted(first + datetime.timedelta(seconds=rng.randrange(span_s)) for _ in range(incidents))

    with transaction.atomic():
        station_rows = Station.objects.bulk_create(
            [
                Station(name=f"Station {s:02d}", code=f"station-{s:02d}", latitude=52 + s / 100, longitude=1 + s / 100)
                for s in range(stations)
            ]
        )
        users = User.objects.bulk_create(
            [User(username=f"ff{i:05d}") for i in range(stations * FIREFIGHTERS_PER_STATION)]
        )
        responders = Responder.objects.bulk_create(
            [Responder(user=user, station=station_rows[i // FIREFIGHTERS_PER_STATION]) for i, user in enumerate(users)]
        )
        by_station = [
            responders[s * FIREFIGHTERS_PER_STATION : (s + 1) * FIREFIGHTERS_PER_STATION] for s in range(stations)
        ]

        for batch_start in range(0, incidents, BATCH):
            count = min(BATCH, incidents - batch_start)
            batch = Incident.objects.bulk_create(
                [
                    Incident(
                        cad_reference=f"BENCH-{batch_start + i:07d}",
                        latitude=52.6,
                        longitude=1.3,
                        address="Bench Road",
                        status=IncidentStatus.CLOSED,
                        created_by=coordinator,
                        created_at=created[batch_start + i],
                    )
                    for i in range(count)
                ]
            )
            alerts, attendance_of, outcomes = [], [], []
            for incident in batch:
                home = rng.randrange(stations)
                crews = [home] if rng.random() < 0.7 else [home, (home + 1) % stations]
                for station_index in crews:
                    attended_any = False
                    for responder in rng.sample(by_station[station_index], ALERTED_PER_STATION):
                        alerted_at = incident.created_at + datetime.timedelta(seconds=rng.randrange(5, 60))
                        alert = Alert(
                            incident=incident,
                            responder=responder,
                            station=station_rows[station_index],
                            state=AlertState.CLEARED,
                            distance_km=rng.uniform(0.5, 15),
                            rank=len(alerts) + 1,
                            alerted_at=alerted_at,
                        )
                        if rng.random() < 0.75:
                            alert.accepted_at = alerted_at + datetime.timedelta(seconds=rng.randrange(10, 240))
                            if rng.random() < 0.9:
                                alert.on_scene_at = alert.accepted_at + datetime.timedelta(
                                    seconds=rng.randrange(180, 1200)
                                )
                                attended_any = True
                                attendance_of.append((alert, alert.on_scene_at))
                        alerts.append(alert)
                    if attended_any:
                        outcomes.append((incident, station_rows[station_index]))
            Alert.objects.bulk_create(alerts)
            Attendance.objects.bulk_create(
                [
                    Attendance(
                        alert=alert,
                        attended=True,
                        role=CrewRole.CREW_MEMBER,
                        on_scene_at=on_scene_at,
                        idempotency_key=uuid.UUID(int=rng.getrandbits(128)),
                        body_hash=body_hash,
                        submitted_at=now,
                        updated_at=now,
                    )
                    for alert, on_scene_at in attendance_of
                ]
            )
            Outcome.objects.bulk_create(
                [_outcome(rng, incident, station, now, body_hash) for incident, station in outcomes]
            )
    # Loaded past the actions, so the reports' summaries and kept months are made as after a bulk
    # load, and timed: it is what a deployment with years of data already in it would run.
    started = time.perf_counter()
    call_command("rebuild_report_summaries", stdout=io.StringIO())
    summaries_s = time.perf_counter() - started
    # Fresh statistics for the query planner, as autovacuum (PostgreSQL) would soon make them.
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return coordinator, timezone.localtime(first).date(), timezone.localdate(), summaries_s


def _outcome(rng, incident, station, now, body_hash):
    import datetime

    from backend.records.models import FirstRhythm, Outcome, Witnessed, YesNoUnknown

    attempted = rng.random() < 0.8
    rhythm = rng.choice([FirstRhythm.SHOCK_ADVISED, FirstRhythm.NO_SHOCK_ADVISED, FirstRhythm.UNKNOWN])
    rosc_any = attempted and rng.random() < 0.3
    crew_arrived = incident.created_at + datetime.timedelta(seconds=rng.randrange(300, 1300))
    ambulance = incident.created_at + datetime.timedelta(seconds=rng.randrange(300, 1800))
    return Outcome(
        incident=incident,
        station=station,
        idempotency_key=uuid.UUID(int=rng.getrandbits(128)),
        body_hash=body_hash,
        submitted_at=now,
        updated_at=now,
        resuscitation_attempted=attempted,
        not_attempted_reason="" if attempted else "dnacpr",
        location_type="home",
        witnessed=rng.choice(list(Witnessed)),
        bystander_cpr=YesNoUnknown.UNKNOWN,
        dispatcher_assisted_cpr=YesNoUnknown.UNKNOWN,
        public_defibrillator_applied=YesNoUnknown.NO,
        compressions=attempted,
        defibrillator_applied=attempted,
        first_rhythm=rhythm if attempted else "",
        crew_shocks=rng.randrange(0, 4) if attempted and rhythm == FirstRhythm.SHOCK_ADVISED else 0,
        # Half the forms give the crew's arrival; the others leave it to the attendances.
        crew_arrived_at=crew_arrived if rng.random() < 0.5 else None,
        ambulance_arrived_at=ambulance if rng.random() < 0.9 else None,
        rosc_any_time=rosc_any,
        rosc_at_handover=rosc_any and rng.random() < 0.7,
    )


# --- The measurements -------------------------------------------------------------------------------


def coordinator_client(coordinator):
    """Logged in to the admin past its second factor, as tests/conftest.py's admin_client_for."""
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.create(user=coordinator, name="Bench authenticator", confirmed=True)
    client = Client()
    client.force_login(coordinator)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


def measure(url: str, client, repeats: int, *, forget_kept_months: bool = False) -> dict:
    """`forget_kept_months`: every fetch works each month out from the alerts and forms, as the
    first report after the months' figures were dropped would."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from backend.records.models import ReportMonth

    timings, cpu = [], []
    queries = None
    size = None
    for _ in range(repeats):
        if forget_kept_months:
            ReportMonth.objects.all().delete()
        with CaptureQueriesContext(connection) as captured:
            started, started_cpu = time.perf_counter(), time.process_time()
            response = client.get(url)
            body = response.content
            timings.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - started_cpu) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"GET {url} answered {response.status_code}")
        queries, size = len(captured.captured_queries), len(body)
    # This process's CPU time: on SQLite it includes the database's work, and it is less disturbed
    # than the wall clock by other work on the machine.
    return {
        "p50_ms": percentile(timings, 0.5),
        "max_ms": max(timings),
        "cpu_p50_ms": percentile(cpu, 0.5),
        "queries": queries,
        "bytes": size,
    }


def run_engine(args) -> dict:
    import django

    sys.path.insert(0, str(REPO_ROOT))
    django.setup()
    from django.db import connection

    from backend.accounts.models import Station

    started = time.perf_counter()
    coordinator, first, last, summaries_s = set_up_data(args.incidents, args.stations, args.years)
    setup_s = time.perf_counter() - started
    client = coordinator_client(coordinator)
    period = f"date_from={first.isoformat()}&date_to={last.isoformat()}"
    one_station = Station.objects.order_by("name").first().pk
    page = measure(f"/admin/reports/?{period}", client, args.repeats)
    page_station = measure(f"/admin/reports/?{period}&station={one_station}", client, args.repeats)
    page_default = measure("/admin/reports/", client, args.repeats)  # the last twelve months
    csv = measure(f"/admin/reports/export.csv?{period}", client, args.repeats)
    worked_out = measure(f"/admin/reports/?{period}", client, args.repeats, forget_kept_months=True)
    return {
        "engine": connection.vendor,
        "setup_s": round(setup_s, 1),
        "summaries_rebuild_s": round(summaries_s, 1),
        "reports_page_p50_ms": rounded(page["p50_ms"], 1),
        "reports_page_max_ms": rounded(page["max_ms"], 1),
        "reports_page_one_station_p50_ms": rounded(page_station["p50_ms"], 1),
        "reports_page_last_12_months_p50_ms": rounded(page_default["p50_ms"], 1),
        "reports_page_cpu_p50_ms": rounded(page["cpu_p50_ms"], 1),
        "csv_export_p50_ms": rounded(csv["p50_ms"], 1),
        "csv_export_cpu_p50_ms": rounded(csv["cpu_p50_ms"], 1),
        "csv_export_max_ms": rounded(csv["max_ms"], 1),
        "reports_page_without_kept_months_p50_ms": rounded(worked_out["p50_ms"], 1),
        "queries_page": page["queries"],
        "queries_csv": csv["queries"],
        "page_kb": round(page["bytes"] / 1024, 1),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "csv_kb": round(csv["bytes"] / 1024, 1),
    }


def run_in_child(args, engine: str, env: dict) -> dict:
    argv = [sys.executable, __file__, "--engine", engine, "--incidents", str(args.incidents)]
    argv += ["--stations", str(args.stations), "--years", str(args.years), "--repeats", str(args.repeats)]
    completed = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=args.timeout)
    if completed.returncode != 0:
        sys.stderr.write(completed.stderr[-4000:])
        raise RuntimeError(f"the {engine} run failed (exit {completed.returncode})")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def print_engine(figures: dict) -> None:
    verdict = lambda ms: "ok" if ms is not None and ms <= TARGET_MS else "OVER TARGET"  # noqa: E731
    print(
        f"{figures['engine']}: data built in {figures['setup_s']} s (of which the reports' summaries"
        f" {figures['summaries_rebuild_s']} s); load average {figures['load_average_1min']} on {os.cpu_count()} CPUs",
        flush=True,
    )
    print(
        f"  reports page   p50 {figures['reports_page_p50_ms']:7.1f} ms  max {figures['reports_page_max_ms']:7.1f} ms"
        f"  {figures['queries_page']} queries  {figures['page_kb']} KB  {verdict(figures['reports_page_max_ms'])}"
    )
    print(
        f"  process CPU    page p50 {figures['reports_page_cpu_p50_ms']:7.1f} ms, CSV p50"
        f" {figures['csv_export_cpu_p50_ms']:7.1f} ms (on SQLite this includes the database)"
    )
    print(f"  one station    p50 {figures['reports_page_one_station_p50_ms']:7.1f} ms   (whole period)")
    print(
        f"  no kept months p50 {figures['reports_page_without_kept_months_p50_ms']:7.1f} ms"
        "   (every month worked out from the alerts and forms, then kept)"
    )
    print(f"  last 12 months p50 {figures['reports_page_last_12_months_p50_ms']:7.1f} ms   (the page's default)")
    print(
        f"  CSV export     p50 {figures['csv_export_p50_ms']:7.1f} ms  max {figures['csv_export_max_ms']:7.1f} ms"
        f"  {figures['queries_csv']} queries  {figures['csv_kb']} KB  {verdict(figures['csv_export_max_ms'])}"
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--incidents", type=int, default=50_000)
    parser.add_argument("--stations", type=int, default=40)
    parser.add_argument("--years", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=5, help="fetches of each page (default 5)")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"), help="also run on PostgreSQL")
    parser.add_argument("--skip-sqlite", action="store_true", help="only PostgreSQL (needs --database-url)")
    parser.add_argument("--timeout", type=int, default=1800, help="give up on an engine after this many seconds")
    parser.add_argument("--engine", choices=["sqlite", "postgresql"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.engine:  # the child process: the database is already named in the environment
        print(json.dumps(run_engine(args)), flush=True)
        return 0

    work_dir = Path(tempfile.mkdtemp(prefix="coresponder-bench-reports-"))
    base_env = {**os.environ, "DJANGO_SETTINGS_MODULE": "backend.settings", "DJANGO_ENV": "development"}
    base_env.pop("DATABASE_URL", None)
    results = {"incidents": args.incidents, "stations": args.stations, "years": args.years, "target_ms": TARGET_MS}
    scratch = None
    try:
        print(f"{args.incidents} incidents over {args.years} years and {args.stations} stations", flush=True)
        if not args.skip_sqlite:
            sqlite = run_in_child(args, "sqlite", {**base_env, "SQLITE_PATH": str(work_dir / "bench.sqlite3")})
            print_engine(sqlite)
            results["sqlite"] = sqlite
        if args.database_url:
            from dispatch_latency import create_scratch_database, drop_scratch_database, postgres_params, postgres_url

            params = postgres_params(args.database_url)
            scratch = (params, f"coresponder_bench_reports_{uuid.uuid4().hex[:8]}")
            create_scratch_database(*scratch)
            postgres = run_in_child(args, "postgresql", {**base_env, "DATABASE_URL": postgres_url(*scratch)})
            print_engine(postgres)
            results["postgresql"] = postgres
        engines = [results[name] for name in ("sqlite", "postgresql") if name in results]
        results["within_target"] = all(
            engine["reports_page_max_ms"] <= TARGET_MS and engine["csv_export_max_ms"] <= TARGET_MS
            for engine in engines
        )
    except Exception as error:
        import traceback

        traceback.print_exc()
        results["error"] = f"{type(error).__name__}: {error}"[:2000]
    finally:
        if scratch is not None:
            drop_scratch_database(*scratch)
        shutil.rmtree(work_dir, ignore_errors=True)
    print(json.dumps(results), flush=True)
    return 0 if "error" not in results else 2


if __name__ == "__main__":
    sys.exit(main())
