"""The hot paths' statements under PostgreSQL's generic plans (EXPLAIN ANALYZE: rows read and rows
hashed, never time), against a history (bench/plan_check.py's data set, smaller).

With server-side binding (backend/settings.py, DATABASE_PREPARED_STATEMENTS) psycopg prepares each
statement a connection has run twice, and after five executions PostgreSQL may run it by a generic
plan, made once for any parameter values without looking at them (plan_cache_mode=auto). On skewed
data (a few open incidents among a year's closed ones, a few due pushes among all those sent) a
generic plan can read the whole history where the plan made for the values looks a few rows up.
Each statement of each path plan_check runs (the CAD's dispatch call, the answers, the board's
snapshot, the escalation pass, the delivery claim, the sockets' reads...) is prepared with the
parameter types psycopg sends and executed with its own values under a custom then a generic plan
(tests/support/plans.py); the generic plan must read in proportion to what the custom plan reads."""

import sys
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection

from backend.realtime.models import ResponderEvent
from backend.roles import COORDINATORS, DISPATCH_SYSTEMS
from backend.sockets.consumers import _backlog
from tests.support.cluster import populate
from tests.support.plans import bound_statements, custom_and_generic, generic_excess

BENCH = Path(__file__).resolve().parents[2] / "bench"
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

import plan_check  # noqa: E402 (bench/ is put on the path above)

DATA_SET = [
    *("--stations", "4", "--per-station", "10", "--alerts-per-incident", "10"),
    *("--incidents", "1500", "--open", "24", "--pending-retries", "100"),
]


@pytest.fixture(autouse=True)
def on_postgresql_only(db):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's plans")


def analyze() -> None:
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def hot_paths_run(statistics: str) -> plan_check.Recorder:
    """plan_check's history, its open incidents (statistics taken before they opened: stale, or
    after: fresh), and each hot path run once, its statements recorded with their parameters."""
    args = plan_check.options(DATA_SET)
    plan = populate(stations=args.stations, per_station=args.per_station, prefix="generic")
    cad = get_user_model().objects.filter(groups__name=DISPATCH_SYSTEMS).get()
    coordinator = get_user_model().objects.create_user(username="generic-coordinator", is_staff=True)
    coordinator.groups.add(Group.objects.get(name=COORDINATORS))
    plan_check.build_history(args, plan, cad.pk)
    if statistics == "stale":
        analyze()  # a quiet hour's statistics: nothing open
    plan_check.open_incidents(args, plan, cad)
    if statistics == "fresh":
        analyze()
    recorder = plan_check.Recorder()
    plan_check.run_paths(recorder, plan, plan.token, coordinator, set())
    return recorder


@pytest.mark.parametrize("statistics", ["stale", "fresh"])
def test_on_postgresql_each_hot_statements_generic_plan_reads_what_its_custom_plan_reads(statistics):
    recorder = hot_paths_run(statistics)
    compared, unsafe = set(), {}
    for path, bound in recorder.bound.items():
        for sql, params in bound:
            verb = sql.lstrip().split(" ", 1)[0].upper()
            if verb not in plan_check.EXPLAINED:
                continue
            custom, generic = custom_and_generic(sql, params)
            if custom is None and "INSERT INTO" in sql[:200]:
                continue  # its row is there now (a unique reference): an INSERT ... VALUES reads nothing
            assert custom and generic, sql  # each other hot statement can be prepared and explained
            compared.add(path)
            excess = generic_excess(custom["Plan"], generic["Plan"])
            if excess:
                unsafe[f"{path}: {sql}"] = excess
    assert compared == set(recorder.bound)  # every path, the CAD's call included
    assert not unsafe, unsafe


def test_on_postgresql_a_reconnects_backlog_read_starts_at_the_clients_place_under_a_generic_plan(alice, bob):
    """A phone that missed its last five events, among a long history of its own: the events after
    its id are read from there on the (responder, id) index. With `id > last OR id = newest`, the
    generic plan could not start there and read every event of the responder (a year's 6,000 for
    30: 20 ms, plan_check --generic), which plan_check's smaller data set above does not show."""
    ResponderEvent.objects.bulk_create(
        ResponderEvent(responder=responder, type="alert.updated", data={"n": n})
        for n in range(4000)
        for responder in (alice, bob)
    )
    analyze()
    mine = list(ResponderEvent.objects.filter(responder=alice).order_by("-id").values_list("id", flat=True)[:6])
    with bound_statements() as bound:
        backlog, newest_id, _truncated = _backlog.func(alice.pk, mine[-1])
    assert [event.pk for event in backlog] == sorted(mine[:5]) and newest_id == mine[0]
    (sql, params), *_ = bound
    custom, generic = custom_and_generic(sql, params)
    assert not generic_excess(custom["Plan"], generic["Plan"]), sql
