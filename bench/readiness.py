"""The readiness of phones with a year of alerts: what does working out "proven" cost?

Builds --stations stations (default 40) of --responders firefighters each (default 25: 1,000 in
all), each with --devices push devices (default 2) and --alerts real alerts (default 50) pushed to
each device, most of them shown (a receipt), on a fresh SQLite database in a temporary directory.
Then, --repeats times each (default 7):

- the readiness page (/admin/readiness/, all stations), through the Django test client as a
  coordinator past the second factor, and its floor: the same page's two reads (every responder
  with user and station, every device of theirs) without the proof subquery, timed in the same run;
  and build_readiness alone (the queries and the counting, no template) against the same floor;
- the board's `proven` for one dispatch (reachability.proven_device_ids of 40 devices) and its
  floor: the same 40 devices read by primary key.

Reports ratios to the floors (the machine is shared: absolute times vary, ratios less) and the
number of queries, which must not grow with the number of alerts. The last line printed is one
JSON object with the figures, units in the names.

    .venv/bin/python bench/readiness.py
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from figures import percentile, rounded

REPO_ROOT = Path(__file__).resolve().parent.parent
BATCH = 5000
DISPATCHED_DEVICES = 40


def set_up_data(stations: int, responders: int, devices: int, alerts: int):
    import datetime

    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.core.management import call_command
    from django.db import transaction
    from django.utils import timezone
    from webpush.models import SubscriptionInfo

    from backend.accounts.models import Responder, Station
    from backend.delivery.models import Channel, Delivery, DeliveryState, Kind, PushDevice
    from backend.dispatch.models import Alert, Incident, IncidentStatus
    from backend.roles import COORDINATORS

    call_command("migrate", verbosity=0, interactive=False)
    User = get_user_model()
    now = timezone.now()
    coordinator = User.objects.create_user(username="bench-coordinator", is_staff=True)
    coordinator.groups.add(Group.objects.get(name=COORDINATORS))
    with transaction.atomic():
        station_rows = Station.objects.bulk_create(
            [Station(name=f"Station {s:02d}", code=f"s{s:02d}", latitude=52, longitude=1) for s in range(stations)]
        )
        users = User.objects.bulk_create([User(username=f"ff{i:05d}") for i in range(stations * responders)])
        people = Responder.objects.bulk_create(
            [
                Responder(
                    user=user,
                    station=station_rows[i // responders],
                    on_call=i % 3 != 0,
                    phone_number="" if i % 4 else "+447700900000",
                )
                for i, user in enumerate(users)
            ]
        )
        subscriptions = SubscriptionInfo.objects.bulk_create(
            [
                SubscriptionInfo(endpoint=f"https://fcm.googleapis.com/fcm/send/bench-{i}-{d}", p256dh="x", auth="y")
                for i in range(len(users))
                for d in range(devices)
            ]
        )
        phones = PushDevice.objects.bulk_create(
            [
                PushDevice(
                    subscription=subscription,
                    user=users[n // devices],
                    label=f"Phone {n % devices}",
                    # A third proven by a test lately, a third long ago, a third never.
                    last_proven_at=[now - datetime.timedelta(days=1), now - datetime.timedelta(days=40), None][n % 3],
                )
                for n, subscription in enumerate(subscriptions)
            ]
        )
        incidents = Incident.objects.bulk_create(
            [
                Incident(
                    cad_reference=f"BENCH-{a:05d}",
                    latitude=52,
                    longitude=1,
                    address="Bench Road",
                    status=IncidentStatus.CLOSED,
                    created_by=coordinator,
                )
                for a in range(alerts)
            ]
        )
        phones_of = {}
        for phone in phones:
            phones_of.setdefault(phone.user_id, []).append(phone)
        rows = []
        for a, incident in enumerate(incidents):
            alerted_at = now - datetime.timedelta(days=365 * a / alerts)
            alert_rows = Alert.objects.bulk_create(
                [
                    Alert(
                        incident=incident,
                        responder=person,
                        station_id=person.station_id,
                        distance_km=1,
                        rank=1,
                        alerted_at=alerted_at,
                    )
                    for person in people
                ]
            )
            for alert, person in zip(alert_rows, people, strict=True):
                for phone in phones_of[person.user_id]:
                    shown = alerted_at if (a + phone.pk) % 5 else None
                    rows.append(
                        Delivery(
                            alert=alert,
                            channel=Channel.WEBPUSH,
                            kind=Kind.ALERT,
                            device=phone,
                            state=DeliveryState.SENT,
                            next_attempt_at=alerted_at,
                            finished_at=alerted_at,
                            shown_at=shown,
                        )
                    )
            if len(rows) >= BATCH:
                Delivery.objects.bulk_create(rows)
                rows = []
        Delivery.objects.bulk_create(rows)
    return coordinator, [phone.pk for phone in phones]


def timed(function, repeats: int) -> tuple[list[float], int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    timings, queries = [], 0
    function()  # warm
    for _ in range(repeats):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            function()
            timings.append((time.perf_counter() - started) * 1000)
        queries = len(captured.captured_queries)
    return timings, queries


def run(args) -> dict:
    import django

    sys.path.insert(0, str(REPO_ROOT))
    django.setup()
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from backend.accounts.models import Responder
    from backend.delivery import reachability
    from backend.delivery.models import Delivery, PushDevice

    started = time.perf_counter()
    coordinator, phone_ids = set_up_data(args.stations, args.responders, args.devices, args.alerts)
    setup_s = time.perf_counter() - started
    client = Client()
    client.force_login(coordinator)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = TOTPDevice.objects.create(user=coordinator, name="b", confirmed=True).persistent_id
    session.save()

    def page():
        response = client.get("/admin/readiness/")
        assert response.status_code == 200, response.status_code

    def queries():
        reachability.build_readiness(reachability.ReadinessFilters())

    def page_floor():
        everyone = list(Responder.objects.select_related("user", "station").order_by("station__name", "user__username"))
        list(PushDevice.objects.filter(user_id__in=[r.user_id for r in everyone]).order_by("label", "pk"))

    dispatched = phone_ids[:: max(1, len(phone_ids) // DISPATCHED_DEVICES)][:DISPATCHED_DEVICES]

    def proven():
        reachability.proven_device_ids(dispatched)

    def proven_floor():
        list(PushDevice.objects.filter(pk__in=dispatched))

    page_ms, page_queries = timed(page, args.repeats)
    floor_ms, _ = timed(page_floor, args.repeats)
    queries_ms, _ = timed(queries, args.repeats)
    proven_ms, proven_queries = timed(proven, args.repeats)
    proven_floor_ms, _ = timed(proven_floor, args.repeats)
    p50 = lambda values: percentile(values, 0.5)  # noqa: E731
    return {
        "responders": args.stations * args.responders,
        "devices": len(phone_ids),
        "deliveries": Delivery.objects.count(),
        "setup_s": round(setup_s, 1),
        "readiness_page_p50_ms": rounded(p50(page_ms), 1),
        "readiness_reads_floor_p50_ms": rounded(p50(floor_ms), 1),
        "readiness_queries_p50_ms": rounded(p50(queries_ms), 1),
        "readiness_queries_to_floor_ratio": rounded(p50(queries_ms) / p50(floor_ms), 2),
        "readiness_page_to_floor_ratio": rounded(p50(page_ms) / p50(floor_ms), 2),
        "readiness_page_queries": page_queries,
        "proven_of_dispatch_p50_ms": rounded(p50(proven_ms), 2),
        "proven_floor_p50_ms": rounded(p50(proven_floor_ms), 2),
        "proven_to_floor_ratio": rounded(p50(proven_ms) / p50(proven_floor_ms), 2),
        "proven_queries": proven_queries,
        "load_average_1min": round(os.getloadavg()[0], 2),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stations", type=int, default=40)
    parser.add_argument("--responders", type=int, default=25, help="per station")
    parser.add_argument("--devices", type=int, default=2, help="per responder")
    parser.add_argument("--alerts", type=int, default=50, help="real alerts pushed to every device")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(run(args)), flush=True)
        return 0
    work_dir = Path(tempfile.mkdtemp(prefix="coresponder-bench-readiness-"))
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "backend.settings",
        "DJANGO_ENV": "development",
        "SQLITE_PATH": str(work_dir / "bench.sqlite3"),
    }
    env.pop("DATABASE_URL", None)
    try:
        argv = [sys.executable, __file__, "--child", *(argv if argv is not None else sys.argv[1:])]
        completed = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=3600)
        if completed.returncode != 0:
            sys.stderr.write(completed.stderr[-4000:])
            print(json.dumps({"error": f"exit {completed.returncode}"}))
            return 2
        figures = json.loads(completed.stdout.strip().splitlines()[-1])
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    print(
        f"{figures['responders']} responders, {figures['devices']} devices, {figures['deliveries']} alert pushes"
        f" (built in {figures['setup_s']} s; load average {figures['load_average_1min']} on {os.cpu_count()} CPUs)"
    )
    print(
        f"  readiness page  p50 {figures['readiness_page_p50_ms']:8.1f} ms"
        f"  {figures['readiness_page_queries']} queries (x{figures['readiness_page_to_floor_ratio']} the floor)"
    )
    print(
        f"  build_readiness p50 {figures['readiness_queries_p50_ms']:8.1f} ms"
        f"  (x{figures['readiness_queries_to_floor_ratio']}); the floor, its two reads without the proof"
        f" {figures['readiness_reads_floor_p50_ms']:.1f} ms"
    )
    print(
        f"  proven of {DISPATCHED_DEVICES} devices p50 {figures['proven_of_dispatch_p50_ms']:.2f} ms"
        f"  {figures['proven_queries']} query; by primary key alone {figures['proven_floor_p50_ms']:.2f} ms"
        f" (x{figures['proven_to_floor_ratio']})"
    )
    print(json.dumps(figures), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
