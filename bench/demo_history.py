"""How long the demo's first year takes to load (`manage.py load_demo_history`, run by `make run`):
405 incidents with their alerts, attendance and outcome forms, CAD times and the reports'
summaries, written with bulk inserts into a fresh SQLite database (temporary directory).

The floor, measured in the same run on the same database: a bulk insert of 405 bare incidents (the
least any load of this history could write). The last line printed is one JSON object with the
figures (times in ms) and the ratio of the load to the floor.

    .venv/bin/python bench/demo_history.py
"""

import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="coresponder-demo-history-") as directory:
        os.environ["SQLITE_PATH"] = str(Path(directory) / "db.sqlite3")
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
        sys.path.insert(0, str(REPO_ROOT))
        import django

        django.setup()
        from django.contrib.auth import get_user_model
        from django.core.management import call_command

        from backend.dispatch.models import Incident
        from backend.records import demo_history

        call_command("migrate", verbosity=0)
        call_command("load_demo_data", stdout=io.StringIO())

        started = time.perf_counter()
        written = demo_history.load_history()
        load_ms = (time.perf_counter() - started) * 1000
        assert written == demo_history.EMERGENCIES

        creator = get_user_model().objects.get(username="cad")
        started = time.perf_counter()
        Incident.objects.bulk_create(
            Incident(cad_reference=f"FLOOR-{n}", latitude=52.6, longitude=1.3, address="floor", created_by=creator)
            for n in range(demo_history.EMERGENCIES)
        )
        floor_ms = (time.perf_counter() - started) * 1000
        Incident.objects.filter(cad_reference__startswith="FLOOR-").delete()

        started = time.perf_counter()
        assert demo_history.load_history() == 0
        again_ms = (time.perf_counter() - started) * 1000

    print(f"load_demo_history: {load_ms:.0f} ms for {written} incidents; again (nothing to do): {again_ms:.0f} ms")
    print(f"floor (bulk insert of {written} bare incidents): {floor_ms:.0f} ms")
    figures = {
        "demo_history_load_ms": round(load_ms, 1),
        "demo_history_reload_ms": round(again_ms, 1),
        "floor_bulk_incidents_ms": round(floor_ms, 1),
        "load_to_floor_ratio": round(load_ms / floor_ms, 1),
        "incidents": written,
    }
    print(json.dumps(figures), flush=True)


if __name__ == "__main__":
    main()
