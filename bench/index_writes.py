"""What the indexes that repeated others cost each write (docs/scaling.md, "Indexes that repeated
others"): a foreign key's own index where a composite index or unique constraint already starts with
that column (tests/test_no_redundant_indexes.py keeps them out).

On a scratch PostgreSQL database migrated as the product's, each hot table is copied twice with its
indexes (CREATE TABLE ... LIKE ... INCLUDING ALL): "lean" as the product has it now, and "repeated"
with the single-column index(es) put back. Rounds alternate between the two copies, each one
transaction that inserts the rows a write makes (a dispatch of --alerted: as many alerts and stored
events; a position fix: one position), by one statement of arrays a column, as the product's
inserts do on PostgreSQL, and commits. Reported: each copy's p50 and p99 per transaction and their
ratio (repeated over lean), and each repeated index's size per 1,000 rows.

    .venv/bin/python bench/index_writes.py --database-url postgres://postgres@127.0.0.1:5432/postgres

The last line printed is one JSON object with the figures.
"""

import argparse
import json
import os
import random
import sys
import time

from figures import percentile, rounded

# table -> (the columns the product indexed alone before, rows a write inserts into it)
TABLES = {
    "dispatch_alert": (["incident_id", "responder_id"], "alerted"),
    "realtime_responderevent": (["responder_id"], "alerted"),
    "dispatch_alertposition": (["alert_id"], 1),
}
RESPONDERS = 1000
EVENT_BYTES = 1500  # an alert.created frame's size, as bench/dispatch_latency.py sends


def options(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True, help="a PostgreSQL server (a scratch database is made there)")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0", help="unused but for the settings")
    parser.add_argument("--rounds", type=int, default=3000, help="transactions per copy of each table (default 3000)")
    parser.add_argument("--alerted", type=int, default=20, help="rows of a dispatch (default 20)")
    return parser.parse_args(argv)


def columns_of(cursor, table: str) -> list[tuple[str, str]]:
    cursor.execute(
        "SELECT column_name, data_type FROM information_schema.columns"
        " WHERE table_name = %s AND column_default IS NULL AND is_identity = 'NO' ORDER BY ordinal_position",
        [table],
    )
    return cursor.fetchall()


ARRAY_TYPES = {
    "bigint": "bigint[]",
    "integer": "integer[]",
    "smallint": "smallint[]",
    "character varying": "text[]",
    "text": "text[]",
    "jsonb": "jsonb[]",
    "timestamp with time zone": "timestamptz[]",
    "boolean": "boolean[]",
    "double precision": "float8[]",
    "date": "date[]",
}


def row_values(name: str, data_type: str, number: int, count: int, now) -> list:
    """`count` values of one column for round `number`: incidents in order, responders (and the
    alerts positions belong to) spread as a dispatch's are, distinct within the round."""
    if name == "incident_id":
        return [number] * count
    if data_type == "bigint" and name.endswith("_id"):
        return random.sample(range(1, RESPONDERS + 1), count)
    if data_type in ("bigint", "integer", "smallint"):
        return [1] * count
    if data_type == "jsonb":
        return [json.dumps({"alert": {"id": number}, "pad": "x" * EVENT_BYTES})] * count
    if data_type in ("character varying", "text"):
        return ["alerted"] * count
    if data_type == "timestamp with time zone":
        return [now] * count
    if data_type == "boolean":
        return [False] * count
    if data_type == "double precision":
        return [1.5] * count
    if data_type == "date":
        return [now.date()] * count
    raise ValueError(f"no values for {name} ({data_type})")


def insert_statement(table: str, columns: list[tuple[str, str]]) -> str:
    names = ", ".join(f'"{name}"' for name, _ in columns)
    arrays = ", ".join(f"%s::{ARRAY_TYPES[data_type]}" for _, data_type in columns)
    return f"INSERT INTO {table} ({names}) SELECT * FROM unnest({arrays})"  # noqa: S608 (names from the catalogue)


def measure_table(connection, table: str, repeated_columns: list[str], rows: int, rounds: int) -> dict:
    import datetime

    with connection.cursor() as cursor:
        for copy in ("lean", "repeated"):
            cursor.execute(f"CREATE TABLE bench_{copy}_{table} (LIKE {table} INCLUDING ALL)")
        for column in repeated_columns:
            cursor.execute(f"CREATE INDEX bench_repeated_{table}_{column} ON bench_repeated_{table} ({column})")
        columns = columns_of(cursor, table)
    statements = {copy: insert_statement(f"bench_{copy}_{table}", columns) for copy in ("lean", "repeated")}
    times = {"lean": [], "repeated": []}
    for number in range(rounds):
        now = datetime.datetime.now(datetime.UTC)
        values = [row_values(name, data_type, number, rows, now) for name, data_type in columns]
        order = ("lean", "repeated") if number % 2 else ("repeated", "lean")
        for copy in order:
            started = time.perf_counter()
            with connection.transaction():
                connection.execute(statements[copy], values, prepare=True)
            times[copy].append((time.perf_counter() - started) * 1000)
    warm = rounds // 10
    figures = {copy: {"p50": percentile(v[warm:], 0.5), "p99": percentile(v[warm:], 0.99)} for copy, v in times.items()}
    with connection.cursor() as cursor:
        sizes = {}
        for column in repeated_columns:
            cursor.execute("SELECT pg_relation_size(%s)", [f"bench_repeated_{table}_{column}"])
            sizes[column] = cursor.fetchone()[0] / 1024 / (rounds * rows / 1000)
    figures["repeated_index_kb_per_1000_rows"] = sizes
    return figures


def main(argv=None) -> int:
    args = options(argv)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from dispatch_latency import django_on_a_scratch_database

    print(f"load before: {os.getloadavg()[0]:.2f}", flush=True)
    with django_on_a_scratch_database(args.database_url, args.redis_url, name="index_writes", per_station=20):
        import django
        import psycopg

        django.setup()
        from django.core.management import call_command
        from django.db import connection as django_connection

        call_command("migrate", verbosity=0)
        url = os.environ["DATABASE_URL"]
        django_connection.close()
        results = {}
        with psycopg.connect(url, autocommit=True) as connection:
            for table, (repeated_columns, rows) in TABLES.items():
                count = args.alerted if rows == "alerted" else rows
                figures = measure_table(connection, table, repeated_columns, count, args.rounds)
                ratio = figures["repeated"]["p50"] / figures["lean"]["p50"]
                print(
                    f"  {table}: {count} row(s) a transaction; p50 lean {figures['lean']['p50']:.3f} ms,"
                    f" with {', '.join(repeated_columns)} indexed alone {figures['repeated']['p50']:.3f} ms"
                    f" ({ratio:.3f}x); p99 {figures['lean']['p99']:.3f} / {figures['repeated']['p99']:.3f} ms;"
                    f" the repeated index(es) {figures['repeated_index_kb_per_1000_rows']} kB per 1,000 rows",
                    flush=True,
                )
                results[table] = (figures, ratio, count)
    load_after = os.getloadavg()[0]
    print(f"load after: {load_after:.2f}", flush=True)
    line = {}
    for table, (figures, ratio, count) in results.items():
        line[f"{table}_rows_per_write"] = count
        line[f"{table}_lean_p50_ms"] = rounded(figures["lean"]["p50"], 3)
        line[f"{table}_repeated_p50_ms"] = rounded(figures["repeated"]["p50"], 3)
        line[f"{table}_repeated_over_lean_x"] = rounded(ratio, 3)
        line[f"{table}_repeated_index_kb_per_1000_rows"] = rounded(
            sum(figures["repeated_index_kb_per_1000_rows"].values()), 1
        )
    line["load_1m_after"] = round(load_after, 2)
    print(json.dumps(line))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
