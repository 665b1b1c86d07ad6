"""PostgreSQL's plans, read as work done (EXPLAIN ANALYZE: rows and loops, never time), and the
history the planner tests need (tests/dispatch/test_history_plans.py, test_selection_reads.py);
the generic plans of statements prepared as psycopg prepares them (tests/dispatch/test_generic_plans.py,
bench/plan_check.py --generic)."""

import contextlib
import itertools
import re

from django.db import connection, transaction
from django.utils import timezone

from backend.dispatch.models import Alert, Incident


class _RolledBack(Exception):
    pass


def plans(statements: list[str]) -> list[tuple[str, dict]]:
    """(statement, plan) of each read, run again under EXPLAIN ANALYZE in a transaction rolled back
    (a locking read locks nothing for long)."""
    found = []
    for sql in statements:
        if not sql.startswith("SELECT"):
            continue
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql)
                found.append((sql, cursor.fetchone()[0][0]["Plan"]))
                raise _RolledBack
        except _RolledBack:
            pass
    return found


def plan_nodes(node: dict):
    yield node
    for child in node.get("Plans", []):
        yield from plan_nodes(child)


def rows_read(plan: dict, table: str) -> int:
    """Rows of `table` its scans looked at: those they returned and those their filters dropped, for
    every loop (Actual Rows is per loop and rounded down: a loop that stopped at its first row
    shows 0, counted as 1)."""
    read = 0
    for node in plan_nodes(plan):
        if node.get("Relation Name") == table:
            looked_at = node["Actual Rows"] + node.get("Rows Removed by Filter", 0)
            looked_at += node.get("Rows Removed by Index Recheck", 0)
            read += max(looked_at, 1) * node["Actual Loops"]
    return read


def relations(plan: dict) -> set[str]:
    return {node["Relation Name"] for node in plan_nodes(plan) if "Relation Name" in node}


def rows_hashed(plan: dict) -> int:
    return sum(node["Actual Rows"] * node["Actual Loops"] for node in plan_nodes(plan) if node["Node Type"] == "Hash")


# --- Generic plans ------------------------------------------------------------------------------------
# With server-side binding (backend/settings.py, DATABASE_PREPARED_STATEMENTS) psycopg prepares a
# statement a connection has run twice; after five executions PostgreSQL may plan it once for all
# parameter values (plan_cache_mode=auto), without looking at them. PostgreSQL 15 has no EXPLAIN
# (GENERIC_PLAN): the statement is PREPAREd with the parameter types psycopg sends, and EXECUTEd
# under EXPLAIN ANALYZE with plan_cache_mode forced to custom, then to generic.

GENERIC_SLACK_ROWS = 20  # rows a generic plan may read beyond twice the custom plan's (another index)

_statement_names = itertools.count()


@contextlib.contextmanager
def bound_statements():
    """The statements run inside, with their parameters as Django passed them to psycopg."""
    found: list[tuple[str, list | tuple | None]] = []

    def keep(execute, sql, params, many, context):
        if not many:
            found.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(keep):
        yield found


def numbered(sql: str) -> str:
    """Django's %s placeholders as PostgreSQL's $1..$n (and %% as %), as psycopg sends them."""
    counter = itertools.count(1)
    return re.sub(r"%([%s])", lambda m: "%" if m.group(1) == "%" else f"${next(counter)}", sql)


def sent_types(params) -> list[str]:
    """The parameters' types as psycopg declares them with server-side binding: int2/int4/int8 by
    value, timestamptz, bool, float8, arrays of them; a str, a list of str or None as `unknown`,
    PostgreSQL inferring its type from the statement."""
    from psycopg.adapt import PyFormat, Transformer

    connection.ensure_connection()
    transformer = Transformer.from_context(connection.connection)
    transformer.dump_sequence(params, [PyFormat.AUTO] * len(params))
    oids = list(transformer.types)
    with connection.cursor() as cursor:
        cursor.execute("SELECT o, o::regtype::text FROM unnest(%s::oid[]) o", [[o for o in oids if o]])
        names = dict(cursor.fetchall())
    return [names[oid] if oid else "unknown" for oid in oids]


def prepared(sql: str, params) -> tuple[str, str]:
    """PREPARE's text after the statement's name (its parameter types and the statement with $n),
    and EXECUTE's after the name (the parameter values as literals)."""
    if params is None:  # run as written: psycopg reads no placeholder
        return f"AS {sql}", ""
    if not params:
        return f"AS {numbered(sql)}", ""
    values = connection.ops.compose_sql(", ".join(["%s"] * len(params)), list(params))
    return f"({', '.join(sent_types(params))}) AS {numbered(sql)}", f"({values})"


def custom_and_generic(sql: str, params) -> tuple[dict | None, dict | None]:
    """The statement's EXPLAIN (ANALYZE, FORMAT JSON) as a prepared statement executed with these
    parameter values under a custom plan, then under the generic plan, each in a savepoint rolled
    back (writes and locking reads change nothing). None for a plan that could not be run."""
    declared, arguments = prepared(sql, params)
    return _explained(declared, arguments, "custom"), _explained(declared, arguments, "generic")


def auto_takes_generic(sql: str, params) -> bool:
    """Whether PostgreSQL's own choice (plan_cache_mode=auto) runs the statement by its generic plan
    from its sixth execution on, with these values each time: it does when the generic plan's
    estimated cost is no more than the custom plans' (planning included). Plain EXPLAIN EXECUTE:
    the choice is made, nothing is run."""
    declared, arguments = prepared(sql, params)
    name = f"generic_check_{next(_statement_names)}"
    taken = False
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"PREPARE {name} {declared}")
            cursor.execute("SET LOCAL plan_cache_mode = auto")
            for _ in range(6):
                cursor.execute(f"EXPLAIN EXECUTE {name}{arguments}")
            cursor.execute("SELECT generic_plans FROM pg_prepared_statements WHERE name = %s", [name])
            taken = cursor.fetchone()[0] > 0
            cursor.execute(f"DEALLOCATE {name}")
            raise _RolledBack
    except _RolledBack:
        pass
    return taken


def _explained(declared: str, arguments: str, mode: str) -> dict | None:
    """Prepared, explained and deallocated in one savepoint: psycopg answers a ROLLBACK (a
    savepoint's too) on a connection where it has prepared statements with DEALLOCATE ALL."""
    from django.db import DatabaseError

    name = f"generic_check_{next(_statement_names)}"
    found = None
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"PREPARE {name} {declared}")
            cursor.execute(f"SET LOCAL plan_cache_mode = force_{mode}_plan")
            cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE {name}{arguments}")
            found = cursor.fetchone()[0][0]
            cursor.execute(f"DEALLOCATE {name}")
            raise _RolledBack
    except _RolledBack:
        pass
    except DatabaseError:  # not preparable (SAVEPOINT...), or an INSERT of a row that is there now
        found = None
    return found


def generic_excess(custom: dict, generic: dict) -> list[str]:
    """Where the generic plan works out of proportion to the custom plan: a table's rows read, or
    rows hashed, beyond twice the custom plan's and GENERIC_SLACK_ROWS."""
    excess = []
    for table in sorted(relations(generic)):
        read_custom, read_generic = rows_read(custom, table), rows_read(generic, table)
        if read_generic > 2 * read_custom + GENERIC_SLACK_ROWS:
            excess.append(f"{table}: {read_generic} rows read, custom plan {read_custom}")
    hashed_custom, hashed_generic = rows_hashed(custom), rows_hashed(generic)
    if hashed_generic > 2 * hashed_custom + GENERIC_SLACK_ROWS:
        excess.append(f"{hashed_generic} rows hashed, custom plan {hashed_custom}")
    return excess


def a_history(carol, closed: int) -> None:
    """`closed` incidents closed long ago, written at once."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO {Incident._meta.db_table} (cad_reference, category, latitude, longitude, address,
                what3words, notes, status, created_at, dispatched_at, closed_at, cancel_reason, created_by_id,
                escalation_step, ring, crew_target, escalation_delay_seconds, unreached_reason, alarm_message)
            SELECT 'PAST-' || n, 'cardiac_arrest', 52.6, 1.3, 'x', '', '', 'closed', at, at,
                at + interval '1 hour', '', %s, 3, 1, 2, 0, '', ''
            FROM (SELECT n, now() - n * interval '1 hour' - interval '1 day' AS at
                  FROM generate_series(1, %s) n) h""",  # noqa: S608 (the table's name from _meta)
            [carol.pk, closed],
        )


def cleared_alerts(incidents, responders) -> list[Alert]:
    """An alert of each responder in each of `incidents`, cleared long ago, written at once."""
    return Alert.objects.bulk_create(
        Alert(
            incident=incident,
            responder=responder,
            station_id=responder.station_id,
            state="cleared",
            distance_km=1,
            rank=1,
            alerted_at=timezone.now(),
        )
        for incident in incidents
        for responder in responders
    )
