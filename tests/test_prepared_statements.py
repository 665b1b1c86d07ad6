"""PostgreSQL keeps the hot paths' statements prepared (backend/settings.py): psycopg binds the
parameters on the server and prepares a statement once a connection has run it twice, so PostgreSQL
parses and plans the CAD's dozen statements once per connection instead of on every call (issue
17 item 2: 2.5-3.5 ms of planning per call, docs/scaling.md). Whether the plans it keeps are safe
against a year's history is tests/dispatch/test_generic_plans.py's question."""

import pytest
from django.db import connection

from tests.api.test_dispatch_call_cost import big_station, create_and_dispatch  # noqa: F401 (a fixture)
from tests.conftest import token_client_for
from tests.test_database_pool import database_settings
from tests.test_settings import PRODUCTION


@pytest.mark.processes
def test_on_postgresql_statements_are_prepared_after_two_runs_unless_turned_off():
    options = database_settings(PRODUCTION)["options"]
    assert (options["server_side_binding"], options["prepare_threshold"]) == (True, 2)
    assert options["options"] == "-c jit=off"  # a generic plan's JIT cost 24-36 ms (plan_check --generic)
    later = database_settings({**PRODUCTION, "DATABASE_PREPARE_THRESHOLD": "5"})
    assert later["options"]["prepare_threshold"] == 5
    off = database_settings({**PRODUCTION, "DATABASE_PREPARED_STATEMENTS": "0"})
    assert "server_side_binding" not in off["options"] and "prepare_threshold" not in off["options"]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's JIT")
@pytest.mark.django_db
def test_the_connections_do_not_jit_compile():
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's prepared statements")
@pytest.mark.django_db(transaction=True)
def test_the_dispatch_calls_statements_stay_prepared_on_the_connection(cad, big_station):  # noqa: F811
    """After a few calls every statement of the call that is the same text each time (all of them
    but those whose text holds a list's length) is prepared on the connection, as PostgreSQL lists
    them in pg_prepared_statements."""
    client = token_client_for(cad)
    for number in range(4):
        create_and_dispatch(client, f"PREPARED-{number}")
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [statement for (statement,) in cursor.fetchall()]
    for table in ("knox_authtoken", "auth_permission", "dispatch_incident", "accounts_station", "dispatch_alert"):
        assert any(f'"{table}"' in statement for statement in prepared), (table, prepared)
    assert any(
        statement.startswith('WITH "new_rows" AS (INSERT INTO "realtime_responderevent"') for statement in prepared
    )
