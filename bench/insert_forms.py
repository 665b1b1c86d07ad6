"""How a dispatch's rows travel to PostgreSQL (docs/scaling.md, "The view's time is Python, not
waiting"): as one JSON document a statement (the product since 6 December: `backend/bulk_rows.py`
`_json_rows_sql`), against the forms before it: one array a column for the alerts (`_unnest_sql`),
which psycopg converts value by value in Python, and VALUES rows for the stored events (whose JSON
column never went as an array).

On a scratch PostgreSQL database migrated as the product's, each round is one transaction, rolled
back, that writes what a dispatch of --alerted writes with `insert_rows`: the alerts with their
audit entries (one statement) and their stored `alert.created` events (one statement). Rounds
alternate between the two forms in blocks. Reported per form: the p50 and p99 of the round's wall
time and of this process's CPU time (the Python and libpq work the call's thread does), and the
ratio of the arrays' to the document's (above 1: the document is cheaper).

    .venv/bin/python bench/insert_forms.py --database-url postgres://postgres@127.0.0.1:5432/postgres

The last line printed is one JSON object with the figures.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from figures import percentile, rounded

# An alert.created event's data, as a dispatch stores it (about 1 kB).
EVENT_DATA = {
    "alert": {
        "id": 441,
        "rank": 1,
        "state": "alerted",
        "station": "Bench station 22",
        "version": 1,
        "incident": {
            "id": 23,
            "notes": "",
            "status": "open",
            "address": "Bench street 22",
            "category": "cardiac_arrest",
            "latitude": 50.001,
            "longitude": -0.7999999999999998,
            "created_at": "2026-12-06T13:44:41.304418+00:00",
            "what3words": "",
            "crew_target": 2,
            "cancelled_at": None,
            "cad_reference": "BENCH-f2e3d907-0022",
        },
        "alerted_at": "2026-12-06T13:44:41.308432+00:00",
        "distance_km": 0.111,
        "distance_from": "station",
        "responder_name": "Firefighter 440 — Zoë O'Brien",
        "decline_note": "",
    }
}


def options(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True, help="a PostgreSQL server (a scratch database is made there)")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0", help="unused but for the settings")
    parser.add_argument("--alerted", type=int, default=20, help="rows of each kind a round writes (default 20)")
    parser.add_argument("--rounds", type=int, default=500, help="measured rounds of each form (default 500)")
    parser.add_argument("--block", type=int, default=50, help="rounds of one form before the other's (default 50)")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = options(argv)
    from dispatch_latency import django_on_a_scratch_database

    with django_on_a_scratch_database(args.database_url, args.redis_url, name="coresponder_forms", per_station=20):
        return measure(args)


def measure(args) -> int:
    import django

    django.setup()
    import logging

    from django.core.management import call_command
    from django.db import transaction
    from django.utils import timezone

    import backend.bulk_rows as bulk_rows
    from backend.accounts.models import Responder
    from backend.audit.log import new_alert_entries
    from backend.dispatch.models import Alert, Incident
    from backend.realtime.models import ResponderEvent
    from tests.support.cluster import populate

    logging.disable(logging.INFO)
    load_start = os.getloadavg()[0]
    call_command("migrate", verbosity=0, interactive=False)
    populate(stations=max(1, args.alerted // 20 + 1), per_station=20, prefix="forms")
    responders = list(Responder.objects.select_related("station", "user").order_by("pk")[: args.alerted])
    actor = responders[0].user
    incident = Incident.objects.create(
        cad_reference="FORMS-1", latitude=52.63, longitude=1.29, address="1 Bench Street", created_by=actor
    )
    document_form = bulk_rows._json_rows

    def a_round() -> None:
        now = timezone.now()
        with transaction.atomic():
            alerts = [
                bulk_rows.new_instance(
                    Alert,
                    incident=incident,
                    responder=responder,
                    station_id=responder.station_id,
                    distance_km=0.5 + index / 7,
                    distance_from="station",
                    rank=index + 1,
                    alerted_at=now,
                )
                for index, responder in enumerate(responders)
            ]
            entries = new_alert_entries(actor, incident_id=incident.pk, state="alerted")
            bulk_rows.insert_rows(alerts, one_per_row=entries)
            events = [
                bulk_rows.new_instance(ResponderEvent, responder=responder, type="alert.created", data=EVENT_DATA)
                for responder in responders
            ]
            bulk_rows.insert_rows(events)
            transaction.set_rollback(True)

    forms = {
        "json_document": document_form,
        "arrays": lambda params, width: None,  # _insert_sql then takes the arrays a column
    }
    for form in forms.values():  # warm: the statements prepared, the caches full
        bulk_rows._json_rows = form
        for _ in range(20):
            a_round()
    timings = {name: {"wall": [], "cpu": []} for name in forms}
    blocks = max(1, args.rounds // args.block)
    for block in range(blocks):
        order = list(forms) if block % 2 == 0 else list(reversed(forms))
        for name in order:
            bulk_rows._json_rows = forms[name]
            for _ in range(args.block):
                cpu, wall = time.process_time(), time.perf_counter()
                a_round()
                timings[name]["cpu"].append((time.process_time() - cpu) * 1000)
                timings[name]["wall"].append((time.perf_counter() - wall) * 1000)
    bulk_rows._json_rows = document_form
    load_end = os.getloadavg()[0]

    figures = {}
    for name, times in timings.items():
        for kind in ("wall", "cpu"):
            p50, p99 = percentile(times[kind], 0.5), percentile(times[kind], 0.99)
            figures[f"{name}_{kind}_p50_ms"], figures[f"{name}_{kind}_p99_ms"] = rounded(p50, 3), rounded(p99, 3)
            print(f"{name:14s} {kind:4s} p50 {p50:7.3f}  p99 {p99:7.3f} ms  ({len(times[kind])} rounds)")
    for kind in ("wall", "cpu"):
        ratio = figures[f"arrays_{kind}_p50_ms"] / figures[f"json_document_{kind}_p50_ms"]
        figures[f"arrays_over_document_{kind}_p50_x"] = rounded(ratio, 3)
        print(f"arrays over the document, {kind} p50: {ratio:.3f}x")
    print(f"load average (1 min) {load_start:.2f} -> {load_end:.2f}")
    figures.update(
        alerted=args.alerted,
        rounds_each=blocks * args.block,
        loadavg_1m_start=rounded(load_start, 2),
        loadavg_1m_end=rounded(load_end, 2),
    )
    print(json.dumps(figures, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
