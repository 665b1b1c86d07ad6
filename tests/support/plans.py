"""PostgreSQL's plans, read as work done (EXPLAIN ANALYZE: rows and loops, never time), and the
history the planner tests need (tests/dispatch/test_history_plans.py, test_selection_reads.py)."""

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


def a_history(carol, closed: int) -> None:
    """`closed` incidents closed long ago, written at once."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO {Incident._meta.db_table} (cad_reference, category, latitude, longitude, address,
                what3words, notes, status, created_at, dispatched_at, closed_at, cancel_reason, created_by_id,
                escalation_step, ring, crew_target, escalation_delay_seconds, unreached_reason)
            SELECT 'PAST-' || n, 'cardiac_arrest', 52.6, 1.3, 'x', '', '', 'closed', at, at,
                at + interval '1 hour', '', %s, 3, 1, 2, 0, ''
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
