"""A deeper Schemathesis run than CI's (tests/fuzz/test_api_fuzz.py): every operation of
/api/schema/ as every role, --examples requests each (CI spreads 100 per operation over the roles).

In process, like the CI test: the product's WSGI application on a throw-away test database (an
in-memory SQLite by default; with DATABASE_URL, a test database next to that one), with the
suite's personas and alerts (tests/security/world.py). Checks: no 5xx, every response matches its
documented schema. Prints each failure, one line per operation, then one JSON line of figures:
operations, examples, failures, seconds.

    .venv/bin/python bench/fuzz_api.py --examples 200
    .venv/bin/python bench/fuzz_api.py --examples 50 --operation "POST /api/v1/incidents/"
"""

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=200, help="requests per operation per role (default 200)")
    parser.add_argument("--seed", type=int, default=None, help="Hypothesis seed (default: derandomized)")
    parser.add_argument("--operation", action="append", help='only this operation, e.g. "GET /api/v1/me/"')
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test.utils import setup_test_environment, teardown_test_environment

    from backend.delivery import vapid
    from tests.fuzz.api import ROLES, fuzz_all
    from tests.security.world import build_world, make_personas

    key = vapid.generate()
    settings.VAPID_PRIVATE_KEY = vapid.private_key_b64(key)
    settings.VAPID_PUBLIC_KEY = vapid.public_key_b64(key)
    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        people = make_personas()
        world = build_world(**people)
        from backend.records import actions as record_actions

        for author, kind, fields in (("alice", "attendance", {"attended": True}), ("erin", "outcome", None)):
            fields = fields or {"resuscitation_attempted": False, "not_attempted_reason": "dnacpr"}
            role = {"alice": "firefighter", "erin": "crew_lead"}[author]
            record_actions.submit_record(
                actor=people[author].user,
                kind=kind,
                alert_id=world.own_accepted_alerts[role],
                idempotency_key=__import__("uuid").uuid4(),
                fields=fields,
            )
        run = fuzz_all(
            world,
            examples_per_role=args.examples,
            roles=ROLES,
            seed=args.seed,
            only=set(args.operation) if args.operation else None,
        )
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()

    failures = 0
    for name, result in run["results"].items():
        failures += len(result.failures)
        statuses = " ".join(f"{status}:{count}" for status, count in sorted(result.statuses.items()))
        print(f"{name:60} {result.examples:6} examples  {len(result.failures)} failures  [{statuses}]")
        for failure in result.failures:
            print(f"    as {failure['role']} -> {failure['status']}: {failure['failure'][:600]}")
            print(f"    {failure['curl'][:600]}")
    figures = {
        "operations": len(run["results"]),
        "examples": sum(result.examples for result in run["results"].values()),
        "failures": failures,
        "seconds": round(run["seconds"], 1),
    }
    print(json.dumps(figures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
