"""Fault injection: the distributed product (two daphne processes, delivery workers, PostgreSQL,
Redis) keeps every alert while its parts fail, counted by simulated firefighters' phones.

Each test starts its own cluster (tests/support/cluster.py) on the test database, with a private
redis-server and a proxy in front of PostgreSQL, runs one scenario (tests/faults/scenarios.py)
and asserts 0 alerts lost and 0 duplicated. bench/faults.py runs the same scenarios at scale.

Needs DATABASE_URL (PostgreSQL) and REDIS_URL (CI's second pass, .ci/run), e.g.:
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/coresponder REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python -m pytest tests/faults
REDIS_URL only says that the distributed setup is under test: the cluster uses a redis-server of
its own, so that stopping it touches nobody else.
"""

import asyncio
import os
import shutil

import pytest
from django.conf import settings

from tests.faults import scenarios
from tests.support.cluster import Cluster, populate, subscribe_devices
from tests.support.push_service import PushServiceStandIn

pytestmark = [
    pytest.mark.skipif(
        not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://"))
        or not os.environ.get("REDIS_URL"),
        reason="fault injection needs DATABASE_URL (PostgreSQL) and REDIS_URL: it runs the distributed setup",
    ),
    pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server for a private Redis"),
    # The servers read the test database from their own connections: data must be committed.
    pytest.mark.django_db(transaction=True),
]

STATIONS = 3
PER_STATION = 4  # 12 firefighters
SCENARIO_TIMEOUT_S = 90


@pytest.fixture
def start_cluster(transactional_db, tmp_path, request):
    """Starts a cluster on the test database; stops it before the database is flushed."""
    clusters = []

    def start(*, web: int = 2, workers: int = 0, env: dict | None = None, push_service=None) -> Cluster:
        cluster = Cluster(
            database=settings.DATABASES["default"],
            log_dir=tmp_path,
            web=web,
            workers=workers,
            env={"DISPATCH_MAX_PER_STATION": str(PER_STATION), **(env or {})},
            push_service=push_service,
        )
        clusters.append(cluster)
        return cluster.start()

    def stop_all():
        for cluster in clusters:
            cluster.stop()

    request.addfinalizer(stop_all)
    return start


@pytest.fixture
def plan(transactional_db):
    return populate(stations=STATIONS, per_station=PER_STATION)


def run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, SCENARIO_TIMEOUT_S))


def assert_nothing_lost_or_duplicated(figures, cluster) -> None:
    print(figures.line())
    assert figures.dispatched > 0 and figures.alerts >= figures.dispatched, figures.line()
    assert figures.lost == 0, f"{figures.line()}\n" + "\n".join(figures.missing[:20]) + cluster.logs()
    assert figures.duplicated == 0, figures.line()
    assert figures.out_of_order == 0, figures.line()
    assert figures.unexpected == 0, figures.line()
    assert figures.delivered == figures.alerts, figures.line()
    assert figures.acknowledged == figures.alerts - figures.cancelled_alerts, figures.line()
    assert figures.extra["incomplete_syncs"] == 0, figures.line()
    assert figures.extra["half_done"] == 0, figures.line()


def test_a_daphne_process_killed_during_a_burst_several_times_loses_and_repeats_nothing(start_cluster, plan):
    cluster = start_cluster(web=2)

    figures = run(scenarios.daphne_killed(cluster, plan, dispatches=18, kills=3))

    assert_nothing_lost_or_duplicated(figures, cluster)
    assert figures.extra["reconnections"] > 0, "no phone had to reconnect: the kills did not hit anyone"


def test_redis_stopped_and_restarted_during_a_burst_loses_nothing_once_it_is_back(start_cluster, plan):
    cluster = start_cluster(web=2)

    figures = run(scenarios.redis_restarted(cluster, plan, dispatches=15))

    assert_nothing_lost_or_duplicated(figures, cluster)


def test_deliveries_held_by_a_killed_worker_are_completed_by_another(start_cluster, plan, settings):
    with PushServiceStandIn() as push_service:
        settings.PUSH_SERVICE_ALLOWLIST = [push_service.origin]
        subscribe_devices(plan, push_service)
        cluster = start_cluster(
            web=2,
            workers=2,
            env={"PUSH_SERVICE_ALLOWLIST": push_service.origin, "DELIVERY_LEASE_SECONDS": "5"},
            push_service=push_service,  # and the phones' service workers post their receipts
        )

        figures = run(scenarios.worker_killed(cluster, plan, push_service, dispatches=9))

    assert_nothing_lost_or_duplicated(figures, cluster)
    extra = figures.extra
    assert extra["held_by_killed_worker"] > 0
    assert extra["push_deliveries"] == figures.alerts  # one device per firefighter
    assert extra["push_lost"] == 0, figures.line()
    assert extra["deliveries_not_sent"] == 0, figures.line()
    assert extra["push_unexpected"] == 0, figures.line()
    # At least once: a push the dead worker had handed over may be sent again, never more than once
    # per delivery it held, with the same Topic and tag so the phone shows one notification
    # (scenarios.worker_killed).
    assert extra["push_resent"] <= extra["held_by_killed_worker"], figures.line()
    assert extra["push_resent_not_collapsible"] == 0, figures.line()
    # Every push the server recorded as sent has the phone's receipt. A push the dead worker had
    # handed over brings a receipt too: taken if it comes before the delivery is re-claimed (then
    # the re-sent push's receipt is a 409), refused as stale after it (403: the re-sent one counts).
    assert extra["receipt_pushes_sent"] == extra["push_deliveries"], figures.line()
    assert extra["receipt_pushes_shown"] == extra["receipt_pushes_sent"], figures.line()
    assert extra["receipt_missing"] == 0 and extra["receipt_given_up"] == 0, figures.line()
    assert extra["receipt_alerts_shown"] == figures.alerts, figures.line()


# With the connection pool (DATABASE_POOL, on in production) a request that finds no free connection
# waits up to DATABASE_POOL_TIMEOUT, and a busy pool answers `database_busy` then. Here it is far
# above any delay the machine's load could add (the CAD's probe gives up after 30 s), so a
# `database_unavailable` answer can only come from the pool telling the request that its attempt to
# connect failed (backend/postgresql/pool.py), never from the pool's timeout; and one attempt is bounded
# by DATABASE_CONNECT_TIMEOUT (3 s). Before that fix these answers were `database_busy` (or none).
POOL_TIMEOUT_S = 60
WITHOUT_POOL = {"DATABASE_POOL": "0"}
WITH_POOL = {"DATABASE_POOL": "1", "DATABASE_POOL_TIMEOUT": str(POOL_TIMEOUT_S)}


@pytest.mark.parametrize("pool_env", [WITHOUT_POOL, WITH_POOL], ids=["without_pool", "with_pool"])
def test_with_postgresql_unavailable_dispatch_answers_503_quickly_and_leaves_nothing_half_done(
    start_cluster, plan, pool_env
):
    cluster = start_cluster(web=2, env=pool_env)

    figures = run(scenarios.database_down(cluster, plan, dispatches=12, probes=2))

    extra = figures.extra
    assert extra["outage_2xx"] == 0, extra["outage_answers"]
    assert extra["outage_database_unavailable"] == extra["outage_requests"], extra["outage_answers"]
    if pool_env is WITHOUT_POOL:
        # Without the pool the request's own connection attempt fails: 3 s at most (blackholed).
        assert extra["outage_max_answer_s"] < 5, extra["outage_answers"]
    assert_nothing_lost_or_duplicated(figures, cluster)


def test_firefighters_offline_are_replayed_every_alert_in_order_and_told_of_cancellations(start_cluster, plan):
    cluster = start_cluster(web=2)

    # Offline for 10 s here (several minutes in production is the same code path: the replay reads
    # the stored events after last_event_id, however old); bench/faults.py stays away longer.
    figures = run(scenarios.offline_then_back(cluster, plan, dispatches=9, offline_s=10))

    assert_nothing_lost_or_duplicated(figures, cluster)
    assert figures.cancelled_alerts > 0
    assert figures.cancelled_shown_as_cancelled == figures.cancelled_alerts
    assert figures.extra["replayed_out_of_dispatch_order"] == 0, figures.line()
