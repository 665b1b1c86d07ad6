"""The fault scenarios of tests/faults/ at scale: at least 200 simulated firefighters and 100
dispatches per scenario, on PostgreSQL (a scratch database, created and dropped here) and a private
redis-server, with two daphne processes and two delivery workers, a fresh set per scenario.

    daphne_killed      a daphne process killed (SIGKILL) during the burst, --kills times
    redis_restarted    Redis stopped and restarted (empty) during the burst
    worker_killed      a delivery worker killed while it holds deliveries; the other completes them
    database_down      PostgreSQL unreachable (refused, blackholed, and mid-burst): 503 within 5 s
    offline_then_back  every phone offline for --offline-s while incidents are dispatched and every
                       third cancelled; on reconnect each is replayed everything, in order

Every firefighter has one push subscription (tests/support/push_service.py's stand-in), so the workers
push every alert in every scenario, and each phone's service worker is simulated too
(tests/support/cluster.py `ServiceWorkers`): for every alert push the stand-in accepts, it posts
the receipt the real one (pwa/sw.js) posts once it has shown the notification, with the token from
the decrypted payload, no cookie, once more after a network error or a 5xx. No notification is
drawn: "shown" here means the push reached the phone and its receipt was posted as the worker
posts it; bench/push_receipts.py has the real service worker in Chromium do it. A phone offline
gets its pushes when it is back.

One line per scenario (dispatched, delivered, acknowledged, lost, duplicated, p99 delivery ms, and
the receipts: alert pushes sent, shown by receipt, missing), then one JSON line with every figure
and its unit. The target is unchanged (0 lost and 0 duplicated socket deliveries); the receipts are
reported beside it. Each receipt is an HTTP request, and each request a daphne process serves holds
a PostgreSQL connection of its own for a while: a burst of receipts (phones coming back online with
their held pushes) can take the cluster to a server's max_connections, and the receipts refused
with 503 then are counted as missing (README, "Receipts from the phones").

    .venv/bin/python bench/faults.py --database-url postgres://postgres@127.0.0.1:5432/coresponder
"""

import argparse
import asyncio
import contextlib
import json
import os
import resource
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

SCENARIOS = ("daphne_killed", "redis_restarted", "worker_killed", "database_down", "offline_then_back")
UNITS = {
    "dispatched_incidents": "incidents",
    "alerts": "alerts (one per alerted firefighter per incident)",
    "delivered_alerts": "alerts shown on the firefighter's phone (socket), each once",
    "acknowledged_alerts": "alerts whose alert.ack the server confirmed (standing alerts only)",
    "lost_alerts": "alerts never shown, or cancelled and not shown as cancelled",
    "duplicated_frames": "stored events received twice, or alerts shown twice",
    "p50_delivery_ms, p99_delivery_ms, max_delivery_ms": "milliseconds from the CAD's first POST to the phone "
    "showing the alert (through the fault: reconnection, replay, and for offline_then_back the time offline)",
    "dispatch_answer_p99_ms": "milliseconds from the CAD's first POST to its answer (201, or 409 naming the "
    "incident), retries on another process included",
    "dispatch_retries": "requests the CAD had to send again",
    "reconnections": "socket connections after the first, all phones",
    "push_*": "Web Push messages at the push service stand-in, by (subscription, alert)",
    "outage_*": "dispatch requests sent while PostgreSQL was unreachable; outage_max_answer_s in seconds",
    "offline_s, redis_down_s, scenario_s": "seconds",
    "receipt_pushes_sent": "alert pushes the server recorded as accepted by the push service (sent)",
    "receipt_pushes_shown": "of those, pushes the server holds the phone's 'shown' receipt for (shown_at)",
    "receipt_pushes_unsent": "alert pushes recorded but not accepted by the push service by the end (due, sending, "
    "failed or dropped)",
    "receipt_missing": "alert pushes sent without a receipt",
    "receipt_alerts_shown": "alerts some phone's receipt says were shown (socket deliveries are delivered_alerts)",
    "receipt_refused": "receipts the server refused, by HTTP status (403: a token a re-send replaced; 409: a "
    "second push of an alert already shown)",
    "receipt_given_up": "receipts the simulated service worker gave up on after its two attempts, as sw.js does",
    "receipt_p50_ms, receipt_p99_ms": "milliseconds from the CAD's first POST to the server taking the alert's "
    "first receipt",
    "late_alerts": "alerts shown, but more than late_after_s seconds after the CAD's first POST (not lost)",
    "late_p50_ms, late_p99_ms": "delivery milliseconds of the late alerts alone",
    "lost, late": "totals over the scenarios: alerts never shown within the settle cap, and late ones",
    "resyncs": "times a live socket was dropped by the server's side (a killed process, Redis gone) and the phone "
    "got to sync.ready again (reconnected and replayed)",
    "resync_p50_ms, resync_p99_ms, resync_max_ms": "milliseconds from the drop to that sync.ready",
    "reopen_p50_ms, reopen_p99_ms": "of that, milliseconds from the drop until a socket was open again (the rest is "
    "the server's start: log-in, joining the groups, the replay)",
    "connect_failures": "failed connection attempts, all phones, by why (refused: nothing listening; timeout: no "
    "handshake answer within the client's 10 s; dropped in handshake: the server closed the connection before "
    "answering, as daphne does after 5 s when the handshake waits to be accepted; rejected N: an HTTP status)",
    "backoff_paused_s_total": "seconds the phones spent in their reconnect pauses while resyncing, summed",
    "unresynced": "drops not followed by a sync.ready by the end of the scenario",
}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/coresponder",
        help="the PostgreSQL server (a scratch database is created beside it and dropped after)",
    )
    parser.add_argument("--firefighters", type=int, default=200)
    parser.add_argument("--per-station", type=int, default=10, help="firefighters alerted per dispatch")
    parser.add_argument("--dispatches", type=int, default=100, help="per scenario")
    parser.add_argument("--kills", type=int, default=4)
    parser.add_argument("--offline-s", type=float, default=60)
    parser.add_argument(
        "--settle-s",
        type=float,
        default=180,
        help="after the burst, wait up to this long for every alert to be shown before counting the rest as lost",
    )
    parser.add_argument(
        "--late-after-s", type=float, default=5, help="an alert shown later than this after its dispatch is late"
    )
    parser.add_argument(
        "--pool-size",
        type=int,
        default=10,
        help="PostgreSQL connections per process (DATABASE_POOL_MAX_SIZE); 0: no pool, a connection per thread",
    )
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--keep-logs", type=Path, help="keep the servers' logs in this directory")
    parser.add_argument(
        "--timelines",
        type=Path,
        help="write each scenario's resyncs step by step, per phone, to <scenario>.json in this directory "
        "(monotonic seconds: dropped, pause, connect, open, error, frame, sync.ready)",
    )
    args = parser.parse_args(argv)
    chosen = [name for name in args.scenarios.split(",") if name]
    unknown = set(chosen) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    raise_open_files_limit(4 * args.firefighters + 512)
    return run(args, chosen)


def raise_open_files_limit(wanted: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < wanted:
        resource.setrlimit(
            resource.RLIMIT_NOFILE, (wanted if hard == resource.RLIM_INFINITY else min(wanted, hard), hard)
        )


def run(args, chosen: list[str]) -> int:
    import dj_database_url
    from dispatch_latency import create_scratch_database, drop_scratch_database

    from tests.support.push_service import PushServiceStandIn

    server = dj_database_url.parse(args.database_url)
    if server["ENGINE"] != "django.db.backends.postgresql":
        raise SystemExit(f"--database-url must be PostgreSQL, not {args.database_url!r}")
    scratch = f"coresponder_faults_bench_{uuid.uuid4().hex[:8]}"
    with PushServiceStandIn() as push_service:
        # This process's Django: the scratch database, no Redis (it sends nothing live), and the
        # stand-in allowed as a push service so the firefighters can subscribe to it.
        from tests.support.cluster import postgres_url

        os.environ.update(
            DJANGO_SETTINGS_MODULE="backend.settings",
            DATABASE_URL=postgres_url(server, name=scratch),
            PUSH_SERVICE_ALLOWLIST=push_service.origin,
        )
        os.environ.pop("REDIS_URL", None)
        create_scratch_database(server, scratch)
        try:
            return run_scenarios(args, chosen, push_service)
        finally:
            from django.db import connections

            connections.close_all()
            drop_scratch_database(server, scratch)


def run_scenarios(args, chosen: list[str], push_service) -> int:
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from tests.faults import scenarios
    from tests.support.cluster import Cluster, populate, subscribe_devices

    started = time.monotonic()
    load_at_start = os.getloadavg()[0]
    print(f"load average at the start: {load_at_start:.2f}", flush=True)
    call_command("migrate", verbosity=0, interactive=False)
    stations = args.firefighters // args.per_station
    plan = populate(stations=stations, per_station=args.per_station, prefix="bench")
    subscribe_devices(plan, push_service)
    print(
        f"{len(plan.responder_ids)} firefighters in {stations} stations of {args.per_station}, each subscribed to "
        f"push; set up in {time.monotonic() - started:.1f} s",
        flush=True,
    )
    settle = {"settle_s": args.settle_s}  # late is not lost: wait (capped) until every alert is shown
    runs = {
        "daphne_killed": lambda c: scenarios.daphne_killed(
            c, plan, dispatches=args.dispatches, kills=args.kills, **settle
        ),
        "redis_restarted": lambda c: scenarios.redis_restarted(c, plan, dispatches=args.dispatches, **settle),
        "worker_killed": lambda c: scenarios.worker_killed(c, plan, push_service, dispatches=args.dispatches, **settle),
        "database_down": lambda c: scenarios.database_down(c, plan, dispatches=args.dispatches, probes=3, **settle),
        "offline_then_back": lambda c: scenarios.offline_then_back(
            c, plan, dispatches=args.dispatches, offline_s=args.offline_s, **settle
        ),
    }
    results, failed = {}, False
    for name in chosen:
        if args.keep_logs:
            args.keep_logs.mkdir(parents=True, exist_ok=True)
            logs = contextlib.nullcontext(tempfile.mkdtemp(prefix=f"faults-{name}-", dir=args.keep_logs))
        else:
            logs = tempfile.TemporaryDirectory(prefix=f"faults-{name}-")
        with logs as log_dir:
            cluster = Cluster(
                database=settings.DATABASES["default"],
                log_dir=Path(log_dir),
                web=2,
                workers=2,
                env={
                    "DISPATCH_MAX_PER_STATION": str(args.per_station),
                    "PUSH_SERVICE_ALLOWLIST": push_service.origin,
                    "DELIVERY_LEASE_SECONDS": "5",
                    # Every phone's receipts come from one address here (127.0.0.1), and the limit
                    # is per address (and per process: each daphne counts its own).
                    "PUSH_RECEIPT_RATE_PER_MINUTE": "100000",
                    # As in production (docs/deployment.md): each process holds at most this many
                    # PostgreSQL connections, so a burst of receipts waits for one (or is answered
                    # 503) instead of taking the shared server to max_connections, which failed
                    # the whole scenario on 4 December 2026.
                    "DATABASE_POOL": "1" if args.pool_size else "0",
                    "DATABASE_POOL_MAX_SIZE": str(max(args.pool_size, 1)),
                },
                push_service=push_service,  # the phones' service workers post receipts
            )
            try:
                cluster.start()
                began = time.monotonic()
                figures = asyncio.run(asyncio.wait_for(runs[name](cluster), 600))
            except Exception as error:  # report the scenario as failed and go on with the next
                print(f"{name}: FAILED: {type(error).__name__}: {error}\n{cluster.logs()}", flush=True)
                results[name] = {"error": f"{type(error).__name__}: {error}"}
                failed = True
                continue
            finally:
                cluster.stop()
        figures.extra["scenario_s"] = round(time.monotonic() - began, 1)
        figures.extra.update(late_figures(figures.delivery_ms, args.late_after_s))
        print(figures.line(), flush=True)
        print(receipts_line(figures.extra), flush=True)
        for line in figures.missing[:10]:
            print(f"  {line}", flush=True)
        results[name] = figures.as_json()
        if args.timelines:
            args.timelines.mkdir(parents=True, exist_ok=True)
            (args.timelines / f"{name}.json").write_text(json.dumps(figures.timelines))
        failed |= figures.lost > 0 or figures.duplicated > 0
    errored = any("error" in result for result in results.values())
    load = os.getloadavg()
    print(f"load average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}", flush=True)
    summary = {
        # Totals over the scenarios run: never shown (lost) and shown, but after --late-after-s (late);
        # null when a scenario failed, since its alerts were not counted at all.
        "lost": None if errored else sum(result["lost_alerts"] for result in results.values()),
        "late": None if errored else sum(result["late_alerts"] for result in results.values()),
        "late_after_s": args.late_after_s,
        "settle_cap_s": args.settle_s,
        "load_average_1m_start_end": [round(load_at_start, 2), round(load[0], 2)],
        "firefighters": len(plan.responder_ids),
        "dispatches_per_scenario": args.dispatches,
        "alerted_per_dispatch": args.per_station,
        "web_processes": 2,
        "delivery_workers": 2,
        "scenarios": results,
        "units": UNITS,
        "target": "0 lost and 0 duplicated in every scenario",
        "met": not failed,
    }
    print(json.dumps(summary, separators=(",", ":")), flush=True)
    return 1 if failed else 0


def late_figures(delivery_ms: list[float], late_after_s: float) -> dict:
    """Late is not lost: alerts shown, but more than `late_after_s` after their dispatch, and the
    p50 / p99 of those (lost ones, never shown, are `lost_alerts`)."""
    late = sorted(ms for ms in delivery_ms if ms > late_after_s * 1000)

    def p(fraction: float) -> float | None:
        if not late:
            return None
        position = (len(late) - 1) * fraction
        low = int(position)
        high = min(low + 1, len(late) - 1)
        return round(late[low] + (late[high] - late[low]) * (position - low), 1)

    return {"late_alerts": len(late), "late_p50_ms": p(0.5), "late_p99_ms": p(0.99)}


def receipts_line(extra: dict) -> str:
    """The phones' own receipts beside the sockets' deliveries."""
    return (
        f"  receipts: {extra['receipt_pushes_shown']} of {extra['receipt_pushes_sent']} alert pushes sent shown "
        f"({extra['receipt_alerts_shown']} alerts; {extra['receipt_pushes_unsent']} pushes never sent), "
        f"missing {extra['receipt_missing']}, refused "
        f"{extra['receipt_refused'] or 0}, given up {extra['receipt_given_up']}, p50 / p99 "
        f"{extra['receipt_p50_ms']} / {extra['receipt_p99_ms']} ms"
    )


if __name__ == "__main__":
    sys.exit(main())
