"""Work per dispatch, counted rather than timed (issue 17 item 5, docs/scaling.md): the SQL
statements (and the rows they write, by table) and the Redis commands of one dispatch through the
API, on PostgreSQL (a scratch database, created and dropped here) and the Redis channel layer.

The alerted firefighters' phones are stood in for by channel names added to their groups, as a
connected socket adds its own (backend/sockets/consumers.py), so the channel layer does the same
work for each as for a live socket; nothing reads those channels. Redis is watched with MONITOR on
its own connection, and only commands with this run's key prefix are counted (the server is
shared). The delivery worker's sends (Web Push, SMS) are not in the count: they happen in another
process afterwards (bench/push_fanout.py measures them).

    .venv/bin/python bench/dispatch_counts.py --database-url postgres://postgres@127.0.0.1:5432/coresponder \\
        --redis-url redis://127.0.0.1:6379/0

Ends with one JSON line (counts per dispatch; averaged over --dispatches after one warm-up).
"""

import argparse
import json
import os
import re
import sys
import threading
import time
from collections import Counter
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(REPO_ROOT / "bench"))

# A statement's writes: its own, and those of a data-modifying WITH (the alerts with their audit
# entries, on PostgreSQL), counted per table; "FOR UPDATE OF" is not one.
WRITE = re.compile(r'(?:^\s*|AS \()\s*(INSERT INTO|UPDATE|DELETE FROM)\s+"?([a-z0-9_]+)"?', re.IGNORECASE)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/coresponder")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--per-station", type=int, default=20, help="firefighters alerted per dispatch")
    parser.add_argument("--stations", type=int, default=10)
    parser.add_argument("--dispatches", type=int, default=5, help="counted, after one warm-up")
    parser.add_argument(
        "--explain",
        action="store_true",
        help="also run each read of the last dispatch again under EXPLAIN ANALYZE and report PostgreSQL's "
        "execution time for it (every incident dispatched stays open, so the last dispatch's reads meet "
        "--dispatches + 1 open incidents)",
    )
    args = parser.parse_args(argv)

    from dispatch_latency import django_on_a_scratch_database

    with django_on_a_scratch_database(
        args.database_url, args.redis_url, name="coresponder_counts", per_station=args.per_station
    ) as prefix:
        return count(args, prefix)


class RedisMonitor:
    """Every command the Redis server runs whose text names this run's prefix, from MONITOR."""

    def __init__(self, url: str, prefix: str):
        import redis

        self.client = redis.Redis.from_url(url)
        self.prefix = prefix
        self.commands: Counter = Counter()
        self.groups_sent_to: Counter = Counter()  # group key (the prefix dropped) -> ZRANGEs
        self.counting = False
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self.thread.start()
        self.ready.wait(5)

    def _run(self) -> None:
        with self.client.monitor() as monitor:
            self.ready.set()
            for entry in monitor.listen():
                command = entry["command"]
                if self.counting and self.prefix in command:
                    # Commands a Lua script runs are reported too, marked "lua": count them apart.
                    name = command.split(" ", 1)[0].upper()
                    self.commands[f"{name} (in Lua)" if entry.get("client_type") == "lua" else name] += 1
                    if name == "ZRANGE":  # group_send reads the group's members
                        key = command.split(" ")[1].removeprefix(self.prefix)
                        self.groups_sent_to[re.sub(r"\d+", "N", key)] += 1


def rows_written() -> Counter:
    """Rows inserted, updated and deleted so far in this database, by table and kind. The
    statistics are flushed when a backend ends (or about once a second), so close ours first."""
    from django.db import connection

    connection.close()
    time.sleep(1.5)
    with connection.cursor() as cursor:
        cursor.execute("SELECT relname, n_tup_ins, n_tup_upd, n_tup_del FROM pg_stat_user_tables")
        found = Counter()
        for table, inserted, updated, deleted in cursor.fetchall():
            found[f"inserted {table}"] += inserted
            found[f"updated {table}"] += updated
            found[f"deleted {table}"] += deleted
    connection.close()
    return found


def count(args, prefix: str) -> int:
    import django

    django.setup()
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from backend.realtime.events import responder_group
    from tests.support.cluster import populate

    load_start = os.getloadavg()[0]
    call_command("migrate", verbosity=0, interactive=False)
    plan = populate(stations=args.stations, per_station=args.per_station, prefix="counts")
    layer = get_channel_layer()

    async def stand_in_for_the_phones():
        for responder_id in plan.responder_ids:
            await layer.group_add(responder_group(responder_id), await layer.new_channel())

    async_to_sync(stand_in_for_the_phones)()

    monitor = RedisMonitor(args.redis_url, prefix)
    monitor.start()
    client = Client(HTTP_AUTHORIZATION=f"Token {plan.token}", HTTP_HOST="127.0.0.1")

    def dispatch(number: int) -> None:
        lat, lon = plan.location_of(number % args.stations)
        body = {"cad_reference": f"COUNT-{number}", "latitude": lat, "longitude": lon, "address": "1 Count Street"}
        answer = client.post("/api/v1/incidents/", {**body, "dispatch": True}, content_type="application/json")
        if answer.status_code != 201:
            raise SystemExit(f"dispatch answered {answer.status_code}: {answer.content[:300]!r}")
        return len(answer.json().get("alerts", []))

    dispatch(0)  # warm-up: first-use queries (content types, permissions cache) not counted
    rows_before = rows_written()
    statements: list[str] = []
    alerted = 0
    monitor.counting = True
    for number in range(1, args.dispatches + 1):
        with CaptureQueriesContext(connection) as queries:
            alerted += dispatch(number)
        statements += [query["sql"] for query in queries.captured_queries]
    last_dispatch = [query["sql"] for query in queries.captured_queries]
    time.sleep(1.0)  # MONITOR's stream lags the commands a little
    monitor.counting = False
    rows = +(rows_written() - rows_before)  # + drops the zeros

    n = args.dispatches
    writes = Counter()
    writing_statements = 0
    for sql in statements:
        found = WRITE.findall(sql)
        writing_statements += bool(found)
        for keyword, table in found:
            writes[f"{keyword.split()[0].upper()} {table}"] += 1
    redis_total = sum(monitor.commands.values())
    per = {
        "alerted_per_dispatch": alerted / n,
        "sql_statements_per_dispatch": len(statements) / n,
        "sql_writes_per_dispatch": sum(writes.values()) / n,
        "sql_writing_statements_per_dispatch": writing_statements / n,
        "sql_writes_by_table_per_dispatch": {key: value / n for key, value in sorted(writes.items())},
        "sql_rows_written_per_dispatch": sum(rows.values()) / n,
        "sql_rows_written_by_table_per_dispatch": {key: value / n for key, value in sorted(rows.items())},
        "redis_commands_per_dispatch": redis_total / n,
        "redis_group_sends_by_group_per_dispatch": {
            key: value / n for key, value in sorted(monitor.groups_sent_to.items())
        },
        "redis_commands_by_name_per_dispatch": {key: value / n for key, value in sorted(monitor.commands.items())},
    }
    load_end = os.getloadavg()[0]
    print(f"{n} dispatches counted (after one warm-up), {args.per_station} firefighters at each station")
    print(f"alerted per dispatch: {per['alerted_per_dispatch']:.1f}")
    print(
        f"SQL statements per dispatch: {per['sql_statements_per_dispatch']:.1f}, of them writing: "
        f"{per['sql_writing_statements_per_dispatch']:.1f} ({per['sql_writes_per_dispatch']:.1f} writes by table)"
    )
    for key, value in per["sql_writes_by_table_per_dispatch"].items():
        print(f"  {key}: {value:.1f}")
    print(f"rows written per dispatch (pg_stat_user_tables): {per['sql_rows_written_per_dispatch']:.1f}")
    for key, value in per["sql_rows_written_by_table_per_dispatch"].items():
        print(f"  {key}: {value:.1f}")
    print(f"Redis commands per dispatch (this process, the channel layer): {redis_total / n:.1f}")
    for key, value in per["redis_commands_by_name_per_dispatch"].items():
        print(f"  {key}: {value:.1f}")
    print("group sends by group (N: a number):")
    for key, value in per["redis_group_sends_by_group_per_dispatch"].items():
        print(f"  {key}: {value:.1f}")
    explained = explain_reads(last_dispatch) if args.explain else {}
    if explained:
        print(f"PostgreSQL's execution time of the last dispatch's reads ({args.dispatches + 1} incidents open):")
        for sql, ms in explained.items():
            print(f"  {ms:7.3f} ms  {sql}")
    print(f"load average (1 min) {load_start:.2f} -> {load_end:.2f}")
    summary = {
        **per,
        **(
            {
                "open_incidents_at_last_dispatch": args.dispatches + 1,
                "read_execution_ms_by_statement": explained,
                "read_execution_total_ms": round(sum(explained.values()), 3),
            }
            if explained
            else {}
        ),
        "dispatches_counted": n,
        "load_average_1m_start_end": [round(load_start, 2), round(load_end, 2)],
        "units": "counts per dispatch: SQL statements (a bulk INSERT is one), rows (pg_stat_user_tables), "
        "Redis commands (MONITOR)",
    }
    print(json.dumps(summary, separators=(",", ":")))
    return 0


def explain_reads(statements: list[str]) -> dict[str, float]:
    """{the start of each plain read (not a locking one): its execution time in ms}, as PostgreSQL
    reports it under EXPLAIN ANALYZE (the server's own time, without the round trip). The captured
    text has its parameters in place (psycopg binds them on the client), so it runs as it was."""
    from django.db import connection

    times = {}
    with connection.cursor() as cursor:
        for sql in statements:
            if not sql.startswith("SELECT") or " FOR UPDATE" in sql:
                continue
            cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql)
            times[sql[:90]] = round(cursor.fetchone()[0][0]["Execution Time"], 3)
    return times


if __name__ == "__main__":
    sys.exit(main())
