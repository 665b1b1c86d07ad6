"""The PostgreSQL connection pool (DATABASE_POOL, Django's OPTIONS["pool"] with psycopg_pool).

Without it, every request thread of a daphne process holds a connection of its own for
CONN_MAX_AGE, and a burst of push receipts opens as many connections as there are requests at
once: past PostgreSQL's max_connections, requests fail. With it, a process never holds more than
DATABASE_POOL_MAX_SIZE connections; a request waits for a free one up to DATABASE_POOL_TIMEOUT, and
after that gets a clear 503 `database_busy` with Retry-After (never a 500).

Connections are counted in pg_stat_activity (by an application_name of the test's own), never
timed."""

import concurrent.futures
import http.client
import json
import os
import threading
import uuid
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import OperationalError

from backend.dispatch import actions
from tests.api.helpers import assert_error
from tests.conftest import token_client_for
from tests.support import live_server
from tests.test_settings import PRODUCTION, start

ON_POSTGRESQL = os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://"))
START_TIMEOUT_S = 60  # a start-up on a busy machine, not a measure
POOL_MAX = 3
BURST = 30  # requests at once, ten times the pool

SHOW_DATABASE = """
import json
from django.conf import settings as s
print(json.dumps({"options": s.DATABASES["default"]["OPTIONS"], "max_age": s.DATABASES["default"]["CONN_MAX_AGE"]}))
"""


def database_settings(env: dict) -> dict:
    result = start(env, then=SHOW_DATABASE)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


# --- Settings --------------------------------------------------------------------------------------------

pool_settings = pytest.mark.processes  # each starts Django in a fresh interpreter


@pool_settings
def test_production_on_postgresql_pools_connections_and_keeps_none_per_thread():
    shown = database_settings(PRODUCTION)
    assert shown["options"]["pool"] == {"min_size": 2, "max_size": 20, "timeout": 10.0, "name": "coresponder"}
    assert shown["max_age"] == 0  # Django refuses a pool with persistent connections


@pool_settings
def test_the_pool_is_sized_from_the_environment_and_can_be_turned_off():
    sized = database_settings(
        {**PRODUCTION, "DATABASE_POOL_MIN_SIZE": "1", "DATABASE_POOL_MAX_SIZE": "8", "DATABASE_POOL_TIMEOUT": "2.5"}
    )
    assert sized["options"]["pool"] == {"min_size": 1, "max_size": 8, "timeout": 2.5, "name": "coresponder"}
    off = database_settings({**PRODUCTION, "DATABASE_POOL": "0"})
    assert "pool" not in off["options"] and off["max_age"] == 60


@pool_settings
@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"DATABASE_POOL_MAX_SIZE": "many"}, "DATABASE_POOL_MAX_SIZE='many' is not a whole number"),
        ({"DATABASE_POOL_MAX_SIZE": "0"}, "DATABASE_POOL_MAX_SIZE='0' is below the minimum"),
        ({"DATABASE_POOL_MIN_SIZE": "9", "DATABASE_POOL_MAX_SIZE": "4"}, "DATABASE_POOL_MIN_SIZE must not be above"),
        ({"DATABASE_POOL": "sometimes"}, "DATABASE_POOL='sometimes' is not a boolean"),
    ],
)
def test_a_bad_pool_setting_stops_start_up_naming_it(extra, message):
    result = start({**PRODUCTION, **extra})
    assert result.returncode != 0 and message in result.stderr


SHOW_SOCKET_THREADS = """
from django.conf import settings as s
print(s.WEBSOCKET_DATABASE_THREADS)
"""


def socket_threads(env: dict) -> int:
    result = start(env, then=SHOW_SOCKET_THREADS)
    assert result.returncode == 0, result.stderr
    return int(result.stdout.strip().splitlines()[-1])


@pool_settings
def test_the_sockets_database_threads_take_half_the_pool_and_never_more_than_all_of_it():
    # backend/database_threads.py: a reconnect storm must not take every pooled connection, nor
    # ask for more than the pool has.
    assert socket_threads({**PRODUCTION, "DATABASE_POOL_MAX_SIZE": "10"}) == 5
    assert socket_threads({**PRODUCTION, "DATABASE_POOL_MIN_SIZE": "1", "DATABASE_POOL_MAX_SIZE": "1"}) == 1
    assert socket_threads({**PRODUCTION, "DATABASE_POOL": "0"}) == 0  # channels' one thread
    assert socket_threads({**PRODUCTION, "DATABASE_POOL_MAX_SIZE": "10", "WEBSOCKET_DATABASE_THREADS": "10"}) == 10
    too_many = start({**PRODUCTION, "DATABASE_POOL_MAX_SIZE": "10", "WEBSOCKET_DATABASE_THREADS": "11"})
    assert too_many.returncode != 0 and "WEBSOCKET_DATABASE_THREADS='11' is above the maximum of 10" in too_many.stderr


# --- No free connection: a clear 503 ------------------------------------------------------------------------


def test_no_free_pooled_connection_is_a_503_database_busy_saying_to_try_again(cad, alice, monkeypatch):
    from psycopg_pool import PoolTimeout

    def pool_exhausted(*args, **kwargs):
        # What Django raises when pool.getconn() times out (django.db.utils wraps psycopg's errors).
        raise OperationalError("couldn't get a connection after 10.00 sec") from PoolTimeout("timeout")

    monkeypatch.setattr(actions, "create_incident", pool_exhausted)
    response = token_client_for(cad).post(
        "/api/v1/incidents/",
        {"cad_reference": "EEAST-POOL-1", "latitude": 52.63, "longitude": 1.295, "address": "1 Elm Hill"},
        format="json",
    )
    body = assert_error(response, 503, "database_busy")
    assert "Try again" in body["message"] and response["Retry-After"] == "5"


# --- A burst of receipts on a real daphne and PostgreSQL ------------------------------------------------------


def _test_database_url(application_name: str) -> str:
    db = settings.DATABASES["default"]
    credentials = quote(db["USER"] or "", safe="")
    if db.get("PASSWORD"):
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host, port = db.get("HOST") or "127.0.0.1", db.get("PORT") or 5432
    return f"postgres://{credentials}@{host}:{port}/{quote(db['NAME'], safe='')}?application_name={application_name}"


class ConnectionCounter:
    """The most connections `application_name` held at once, from pg_stat_activity, polled on a thread
    of its own until stopped."""

    def __init__(self, application_name: str):
        self.application_name = application_name
        self.most = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        import psycopg

        db = settings.DATABASES["default"]
        with psycopg.connect(
            host=db.get("HOST") or "127.0.0.1",
            port=db.get("PORT") or 5432,
            user=db["USER"],
            password=db.get("PASSWORD") or None,
            dbname=db["NAME"],
            autocommit=True,
        ) as connection:
            while not self._stop.is_set():
                (count,) = connection.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", (self.application_name,)
                ).fetchone()
                self.most = max(self.most, count)
                self._stop.wait(0.005)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(10)


def _receipt(port: int, number: int) -> int:
    """A push receipt for an alert that does not exist: a database look-up, then 403 or 404."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        body = json.dumps({"alert_id": 10_000_000 + number, "token": "A" * 43, "event": "shown"})
        connection.request("POST", "/api/v1/push-receipts/", body=body, headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def _burst(tmp_path, request, *, pool: bool) -> tuple[list[int], int]:
    """BURST receipts at once on a daphne process with or without the pool: (statuses, the most
    connections the process held at once)."""
    application_name = f"pool-test-{uuid.uuid4().hex[:10]}"
    env = {
        **os.environ,
        "DATABASE_URL": _test_database_url(application_name),
        "DJANGO_ENV": "development",
        "DATABASE_POOL": "1" if pool else "0",
        "DATABASE_POOL_MIN_SIZE": "1",
        "DATABASE_POOL_MAX_SIZE": str(POOL_MAX),
        "DATABASE_POOL_TIMEOUT": "120",  # waiting is the point here; the 503 is tested above
        "PUSH_RECEIPT_RATE_PER_MINUTE": "100000",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("REDIS_URL", None)  # receipts need no channel layer across processes
    port = live_server.free_port()
    log_path = tmp_path / "daphne.log"
    process = live_server.start(live_server.daphne_command(port), env, log_path)
    # Stopped before the test database is flushed: the process holds connections to it.
    request.addfinalizer(lambda: live_server.stop(process, timeout=5))
    live_server.wait_until_answering(process, port, timeout=START_TIMEOUT_S, log_path=log_path, name="daphne")
    with ConnectionCounter(application_name) as counter, concurrent.futures.ThreadPoolExecutor(BURST) as senders:
        statuses = list(senders.map(lambda number: _receipt(port, number), range(BURST)))
    return statuses, counter.most


@pytest.mark.usefixtures("transactional_db")
@pytest.mark.processes
@pytest.mark.skipif(not ON_POSTGRESQL, reason="needs DATABASE_URL (PostgreSQL): counts its connections")
def test_a_burst_of_receipts_ten_times_the_pool_is_served_on_the_pool_s_connections(tmp_path, request):
    statuses, most = _burst(tmp_path, request, pool=True)
    assert set(statuses) <= {403, 404}, statuses  # every receipt answered, none failed
    assert 1 <= most <= POOL_MAX


@pytest.mark.usefixtures("transactional_db")
@pytest.mark.processes
@pytest.mark.skipif(not ON_POSTGRESQL, reason="needs DATABASE_URL (PostgreSQL): counts its connections")
def test_without_the_pool_the_same_burst_opens_a_connection_per_request_thread(tmp_path, request):
    """What the pool is for (and that the count above can fail): without it, the burst holds more
    connections at once than the pool would ever open."""
    statuses, most = _burst(tmp_path, request, pool=False)
    assert set(statuses) <= {403, 404}, statuses
    assert most > POOL_MAX
