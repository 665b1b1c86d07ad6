"""Planner check of the hot paths on PostgreSQL (docs/scaling.md "What grows with what"): does any
statement's execution grow badly with many open incidents, or with a long history (a year of
closed incidents with their alerts, stored events, audit entries, push deliveries and positions)?

A scratch database (created and dropped here) gets stations and firefighters
(tests.support.cluster.populate), then a history written with bulk INSERT ... SELECT (--incidents
closed incidents over --days, --alerts-per-incident alerts each, with their events, audit entries,
deliveries and positions). ANALYZE runs then, before any incident is open: the statistics of a
quiet hour, as in the selection trap fixed in b01502f (backend/dispatch/selection_reads.py). Then
--open incidents are opened (with their alerts in every state, events and due deliveries), and
each hot path runs once through the real code (the API with a firefighter's session or the CAD's
token, the sockets' database functions, the worker's passes) under CaptureQueriesContext: the
"stale" phase. ANALYZE again, and the same paths run on other alerts and incidents: the "fresh"
phase. Each captured statement is then run again under EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)
in a transaction that is rolled back (so the locking reads and the writes can be explained too;
--plain-selects-only for the reads alone), and its execution time (PostgreSQL's own, without the
round trip) and buffers (8 kB pages touched: work done, whatever the machine's load) reported.
A statement above --flag-ms is flagged with its plan's nodes (type, relation, loops, rows).

    .venv/bin/python bench/plan_check.py --database-url postgres://postgres@127.0.0.1:5432/postgres \\
        --redis-url redis://127.0.0.1:6379/0 [--incidents 20000 --alerts-per-incident 20 --open 100]

--generic: each path's statements are also prepared with the parameter types psycopg sends with
server-side binding (backend/settings.py, DATABASE_PREPARED_STATEMENTS) and executed with their own
values under EXPLAIN ANALYZE, with plan_cache_mode forced to custom, then to generic (the plan
PostgreSQL may keep after five executions, made without the values; tests/support/plans.py):
per path, both plans' execution times and rows read, and each statement whose generic plan reads
out of proportion, with its plan and whether plan_cache_mode=auto would take it.

Ends with one JSON line of figures (per phase and path: statements, their summed and largest
execution time in ms, buffers, and the flagged statements).
"""

import argparse
import datetime
import json
import os
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(REPO_ROOT / "bench"))

EXPLAINED = ("SELECT", "INSERT", "UPDATE", "DELETE", "WITH")


def options(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--stations", type=int, default=10)
    parser.add_argument("--per-station", type=int, default=20, help="firefighters at each station")
    parser.add_argument("--incidents", type=int, default=20_000, help="closed incidents in the history")
    parser.add_argument("--days", type=int, default=365, help="the history's span")
    parser.add_argument("--alerts-per-incident", type=int, default=20, help="at most --per-station")
    parser.add_argument("--events-per-alert", type=int, default=3, help="stored events (responder events)")
    parser.add_argument("--audit-per-alert", type=int, default=2)
    parser.add_argument("--positions-per-alert", type=int, default=10, help="for each alert that was accepted")
    parser.add_argument("--open", type=int, default=100, help="open incidents, opened after the first ANALYZE")
    parser.add_argument(
        "--pending-retries",
        type=int,
        default=600,
        help="of the open incidents' pushes, how many failed once and wait for their retry (not due yet)",
    )
    parser.add_argument("--flag-ms", type=float, default=1.0)
    parser.add_argument("--plain-selects-only", action="store_true", help="explain no locking read and no write")
    parser.add_argument("--scratch-prefix", default="plan_check", help="the scratch database's name starts with this")
    parser.add_argument(
        "--show", action="append", default=[], metavar="PATH", help="print every statement of this path (repeatable)"
    )
    parser.add_argument(
        "--generic",
        action="store_true",
        help="also each path's statements prepared as psycopg prepares them, under a custom and a generic plan",
    )
    args = parser.parse_args(argv)
    args.alerts_per_incident = min(args.alerts_per_incident, args.per_station)
    return args


def main(argv=None) -> int:
    args = options(argv)

    from dispatch_latency import django_on_a_scratch_database

    with django_on_a_scratch_database(
        args.database_url, args.redis_url, name=args.scratch_prefix, per_station=args.per_station
    ):
        return check(args)


# --- The data set ----------------------------------------------------------------------------------


def sql(statement: str, params=None) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def analyze() -> None:
    sql("ANALYZE")


def build_history(args, plan, cad_user_id: int) -> dict:
    """The closed incidents, each alerting the first --alerts-per-incident firefighters of a station
    (incident n: station n mod --stations), the two nearest accepting and clearing, the others stood
    down or declining; each alert's events, audit entries and sent push; the accepted ones' positions.
    Ids rise with time, as they do."""
    started = time.monotonic()
    sql("CREATE TEMPORARY TABLE plan_station (n int PRIMARY KEY, station_id bigint)")
    sql(
        "INSERT INTO plan_station SELECT n - 1, s FROM unnest(%s::bigint[]) WITH ORDINALITY AS t(s, n)",
        [station_ids(plan)],
    )
    sql(
        """
        INSERT INTO dispatch_incident (cad_reference, category, latitude, longitude, address, what3words, notes,
            status, created_at, dispatched_at, closed_at, cancelled_at, cancel_reason, created_by_id, escalation_step,
            ring, crew_target, escalation_delay_seconds, unreached_reason, alarm_message)
        SELECT 'HIST-' || h.n, 'cardiac_arrest', s.latitude, s.longitude, h.n || ' History Road', '', '',
            CASE WHEN h.n %% 20 = 0 THEN 'cancelled' ELSE 'closed' END, at, at,
            CASE WHEN h.n %% 20 = 0 THEN NULL ELSE at + interval '50 minutes' END,
            CASE WHEN h.n %% 20 = 0 THEN at + interval '5 minutes' END,
            CASE WHEN h.n %% 20 = 0 THEN 'Stood down by ambulance control' ELSE '' END,
            %s, 3, 1, 2, 0, '', ''
        FROM (SELECT n, now() - interval '1 day' - (%s - n) * (%s * interval '1 day' / %s) AS at
              FROM generate_series(1, %s) n) h
        JOIN plan_station p ON p.n = h.n %% %s
        JOIN accounts_station s ON s.id = p.station_id
        ORDER BY h.n
        """,
        [cad_user_id, args.incidents, args.days, args.incidents, args.incidents, len(plan.station_locations)],
    )
    sql(
        """
        INSERT INTO dispatch_alert (incident_id, responder_id, station_id, state, version, distance_km, distance_from,
            rank, decline_reason, decline_note, stood_down_reason, alerted_at, received_at, accepted_at, declined_at,
            en_route_at, on_scene_at, cleared_at, stood_down_at, cancelled_at, summary_due)
        SELECT i.id, r.id, r.station_id,
            CASE WHEN i.status = 'cancelled' THEN 'cancelled' WHEN r.rank <= 2 THEN 'cleared'
                 WHEN r.rank %% 3 = 0 THEN 'declined' ELSE 'stood_down' END,
            4, r.rank * 0.4, 'station', r.rank,
            CASE WHEN i.status = 'closed' AND r.rank > 2 AND r.rank %% 3 = 0 THEN 'unavailable' ELSE '' END, '',
            CASE WHEN i.status = 'closed' AND r.rank > 2 AND r.rank %% 3 <> 0 THEN 'enough_crews' ELSE '' END,
            i.created_at, i.created_at + interval '20 seconds',
            CASE WHEN r.rank <= 2 THEN i.created_at + interval '1 minute' END,
            CASE WHEN i.status = 'closed' AND r.rank > 2 AND r.rank %% 3 = 0
                 THEN i.created_at + interval '1 minute' END,
            CASE WHEN r.rank <= 2 THEN i.created_at + interval '2 minutes' END,
            CASE WHEN r.rank <= 2 THEN i.created_at + interval '8 minutes' END,
            CASE WHEN i.status = 'closed' AND r.rank <= 2 THEN i.closed_at END,
            CASE WHEN i.status = 'closed' AND r.rank > 2 AND r.rank %% 3 <> 0 THEN i.created_at + interval '3 minutes'
                 END,
            i.cancelled_at, false
        FROM dispatch_incident i
        JOIN plan_station p ON p.station_id = (SELECT s.id FROM accounts_station s
                                               WHERE s.latitude = i.latitude AND s.longitude = i.longitude LIMIT 1)
        JOIN LATERAL (SELECT x.id, x.station_id, row_number() OVER (ORDER BY x.id) AS rank FROM accounts_responder x
                      WHERE x.station_id = p.station_id ORDER BY x.id LIMIT %s) r ON true
        WHERE i.cad_reference LIKE 'HIST-%%'
        ORDER BY i.id, r.rank
        """,
        [args.alerts_per_incident],
    )
    history_events(args.events_per_alert, "HIST-%%")
    sql(
        """
        INSERT INTO audit_auditentry (at, actor_id, actor_username, role, action, object_type, object_id, incident_id,
            channel, ip_address, detail)
        SELECT a.alerted_at + k * interval '1 minute', u.id, u.username, 'firefighter', 'alert_state', 'alert',
            a.id::text, a.incident_id, 'api', '10.0.0.1', jsonb_build_object('state', a.state)
        FROM dispatch_alert a JOIN accounts_responder r ON r.id = a.responder_id JOIN auth_user u ON u.id = r.user_id
        CROSS JOIN generate_series(1, %s) k
        ORDER BY a.alerted_at, a.id, k
        """,
        [args.audit_per_alert],
    )
    sql(
        """
        INSERT INTO delivery_delivery (alert_id, channel, kind, round, state, attempts, next_attempt_at, leased_by,
            created_at, first_attempt_at, finished_at, last_status, last_error, target)
        SELECT a.id, 'webpush', 'alert', 1, 'sent', 1, a.alerted_at, '', a.alerted_at, a.alerted_at,
            a.alerted_at + interval '1 second', 201, '', 'push.example.net'
        FROM dispatch_alert a ORDER BY a.id
        """
    )
    sql(
        """
        INSERT INTO dispatch_alertposition (alert_id, latitude, longitude, accuracy_m, recorded_at, received_at,
            distance_km, eta_seconds, method, computed_at)
        SELECT a.id, 50.0, -3.0, 10, at, at, 1.0, 120, 'straight', at
        FROM (SELECT a.id, a.accepted_at + k * interval '10 seconds' AS at
              FROM dispatch_alert a CROSS JOIN generate_series(1, %s) k
              WHERE a.accepted_at IS NOT NULL) a
        ORDER BY at, a.id
        """,
        [args.positions_per_alert],
    )
    return {**table_rows(), "history_build_s": round(time.monotonic() - started, 1)}


def history_events(per_alert: int, cad_like: str) -> None:
    """Each alert's stored events (its creation, its changes, its crew's), in time order."""
    sql(
        f"""
        INSERT INTO realtime_responderevent (responder_id, type, data, created_at)
        SELECT a.responder_id, CASE WHEN k = 1 THEN 'alert.created' WHEN k %% 2 = 0 THEN 'alert.updated'
                                    ELSE 'incident.updated' END,
            jsonb_build_object('alert', jsonb_build_object('id', a.id, 'state', a.state, 'incident_id', a.incident_id)),
            a.alerted_at + k * interval '30 seconds'
        FROM dispatch_alert a JOIN dispatch_incident i ON i.id = a.incident_id
        CROSS JOIN generate_series(1, %s) k
        WHERE i.cad_reference LIKE '{cad_like}'
        ORDER BY a.alerted_at + k * interval '30 seconds', a.id
        """,  # noqa: S608 (a constant of this script)
        [per_alert],
    )


def table_rows() -> dict:
    from django.db import connection

    tables = [
        "dispatch_incident",
        "dispatch_alert",
        "realtime_responderevent",
        "audit_auditentry",
        "delivery_delivery",
        "dispatch_alertposition",
    ]
    with connection.cursor() as cursor:
        found = {}
        for table in tables:
            cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608
            found[f"rows_{table}"] = cursor.fetchone()[0]
    return found


def station_ids(plan) -> list[int]:
    from backend.accounts.models import Responder

    ids = dict(Responder.objects.filter(pk__in=plan.responder_ids).values_list("pk", "station_id"))
    return [ids[plan.responder_ids[s * plan.per_station]] for s in range(len(plan.station_locations))]


def open_incidents(args, plan, cad) -> None:
    """--open incidents opened within the last hour, each alerting the first --alerts-per-incident
    firefighters of its station: in each, two firefighters are committed (accepted, en route, on
    scene; nobody on two), the others unanswered, shown, declined, or stood down because they are
    committed elsewhere; their events; a push each, sent, but for one in forty, due now (the worker's
    claim finds them), and --pending-retries of them failed once and waiting for their retry, not due
    yet: hundreds of them made PostgreSQL expect hundreds of due rows and hash every alert ever made
    to join them (7 ms at 2,000 closed incidents; at 20,000 it looked them up one by one again)."""
    from django.utils import timezone

    from backend.delivery.models import Delivery
    from backend.dispatch.models import Alert, Incident
    from backend.realtime.models import ResponderEvent

    now = timezone.now()
    stations = len(plan.station_locations)
    made = Incident.objects.bulk_create(
        Incident(
            cad_reference=f"OPEN-{n}",
            latitude=plan.station_locations[n % stations][0],
            longitude=plan.station_locations[n % stations][1],
            address=f"{n} Open Road",
            created_by=cad,
            dispatched_at=now - datetime.timedelta(minutes=60 - n * 50 / max(1, args.open)),
            next_escalation_at=now + datetime.timedelta(minutes=5),
            escalation_step=1,
        )
        for n in range(args.open)
    )
    committed_on = {}  # responder index -> the open incident number it is committed to
    for n in range(args.open):
        station, turn = n % stations, n // stations
        for k in (2 * turn, 2 * turn + 1):
            if k < min(args.alerts_per_incident, plan.per_station // 2):  # half of each station stays free
                committed_on[station * plan.per_station + k] = n
    alerts = []
    for n, incident in enumerate(made):
        station = n % stations
        for k in range(args.alerts_per_incident):
            index = station * plan.per_station + k
            at = incident.dispatched_at
            alert = Alert(
                incident=incident,
                responder_id=plan.responder_ids[index],
                station_id=station_ids_cache(plan)[station],
                distance_km=0.4 * (k + 1),
                rank=k + 1,
                alerted_at=at,
            )
            if committed_on.get(index) == n:
                alert.state = ("accepted", "en_route", "on_scene")[n % 3]
                alert.received_at = alert.accepted_at = at + datetime.timedelta(seconds=40)
            elif index in committed_on:
                alert.state, alert.stood_down_reason = "stood_down", "committed_elsewhere"
                alert.stood_down_at = at + datetime.timedelta(minutes=1)
            elif k % 4 == 3:
                alert.state, alert.decline_reason = "declined", "unavailable"
                alert.declined_at = at + datetime.timedelta(minutes=1)
            elif k % 4 == 2:
                alert.state, alert.received_at = "received", at + datetime.timedelta(seconds=20)
            alerts.append(alert)
    Alert.objects.bulk_create(alerts, batch_size=2000)
    ResponderEvent.objects.bulk_create(
        (
            ResponderEvent(responder_id=alert.responder_id, type="alert.created", data={"alert": {"id": alert.pk}})
            for alert in alerts
        ),
        batch_size=2000,
    )
    unanswered = [alert for alert in alerts if alert.state in ("alerted", "received")]
    retrying = [i for i in range(len(unanswered)) if i % 40][: args.pending_retries]
    if len(retrying) < args.pending_retries:
        print(f"  only {len(retrying)} pending retries: too few unanswered alerts for {args.pending_retries}")
    retrying = set(retrying)
    Delivery.objects.bulk_create(
        (open_push(alert, now, due=i % 40 == 0, retrying=i in retrying) for i, alert in enumerate(unanswered)),
        batch_size=2000,
    )


def open_push(alert, now, *, due: bool, retrying: bool):
    """An open alert's push: due now (never tried), waiting for its retry after a failure (due within
    the next ten minutes: the worker's claim must not read them), or sent."""
    from backend.delivery.models import Delivery

    push = Delivery(alert=alert, channel="webpush", target="push.example.net")
    if due:
        push.state, push.attempts, push.next_attempt_at = "pending", 0, now - datetime.timedelta(seconds=1)
    elif retrying:
        push.state, push.attempts, push.last_status = "pending", 1, 503
        push.first_attempt_at = alert.alerted_at
        push.next_attempt_at = now + datetime.timedelta(seconds=30 + alert.pk % 570)
    else:
        push.state, push.attempts, push.next_attempt_at = "sent", 1, alert.alerted_at
        push.first_attempt_at = push.finished_at = alert.alerted_at
    return push


_STATIONS = {}


def station_ids_cache(plan) -> list[int]:
    if _STATIONS.get("plan") is not plan:  # another data set (tests/dispatch/test_generic_plans.py)
        _STATIONS.update(plan=plan, ids=station_ids(plan))
    return _STATIONS["ids"]


# --- The hot paths -----------------------------------------------------------------------------------


class Recorder:
    """Each path's captured statements, by phase: as run (parameters inlined), and as bound (the
    SQL with its placeholders and the parameters, to be prepared as psycopg prepares them)."""

    def __init__(self):
        self.paths: dict[str, list[str]] = {}
        self.bound: dict[str, list[tuple[str, list | None]]] = {}

    def run(self, name: str, function, *, roll_back: bool = False):
        """`roll_back`: the path's changes are undone afterwards, so that its statements meet the
        same rows again under EXPLAIN (the claim: the deliveries it leased are due again)."""
        from django.db import connection, transaction
        from django.test.utils import CaptureQueriesContext

        from tests.support.plans import bound_statements

        result = None
        with CaptureQueriesContext(connection) as queries, bound_statements() as bound:
            if not roll_back:
                result = function()
            else:
                try:
                    with transaction.atomic():
                        result = function()
                        raise _RollBack
                except _RollBack:
                    pass
        self.paths[name] = [query["sql"] for query in queries.captured_queries]
        self.bound[name] = bound
        return result


def subjects(used: set[int]):
    """An open incident not used yet that has an unanswered alert of a firefighter committed nowhere
    and a second one, and two more open incidents for cancelling and closing, and two for the
    escalation: (incident, [two alerts], cancel id, close id, [escalation ids])."""
    from backend.dispatch.models import Alert, AlertState, Incident

    for incident in Incident.objects.filter(status="open").exclude(pk__in=used).order_by("-pk"):
        unanswered = list(
            Alert.objects.filter(incident=incident, state=AlertState.ALERTED)
            .exclude(responder__alerts__state__in=["accepted", "en_route", "on_scene"])
            .select_related("responder__user")
            .order_by("rank")[:2]
        )
        if len(unanswered) == 2:
            used.add(incident.pk)
            break
    others = list(
        Incident.objects.filter(status="open").exclude(pk__in=used).order_by("pk").values_list("pk", flat=True)[:4]
    )
    used.update(others)
    return incident, unanswered, others[0], others[1], others[2:4]


def run_paths(recorder: Recorder, plan, cad_token: str, coordinator, used: set[int]) -> None:
    from django.conf import settings
    from django.test import Client
    from django.utils import timezone

    from backend.delivery.sending import claim_due
    from backend.dispatch.escalation import run_due_escalations
    from backend.dispatch.models import Incident
    from backend.realtime.models import ResponderEvent
    from backend.sockets import consumers

    incident, (alert, other), cancel_id, close_id, escalate_ids = subjects(used)
    user = alert.responder.user
    cookie = plan.cookies[plan.user_ids.index(user.pk)].split("=", 1)[1]
    phone = Client(HTTP_HOST="127.0.0.1")
    phone.cookies[settings.SESSION_COOKIE_NAME] = cookie
    other_phone = Client(HTTP_HOST="127.0.0.1")
    other_phone.cookies[settings.SESSION_COOKIE_NAME] = plan.cookies[
        plan.user_ids.index(other.responder.user_id)
    ].split("=", 1)[1]
    cad = Client(HTTP_AUTHORIZATION=f"Token {cad_token}", HTTP_HOST="127.0.0.1")

    def post(client, url, body):
        def call():
            answer = client.post(url, body, content_type="application/json")
            if answer.status_code >= 300:
                raise SystemExit(f"{url} answered {answer.status_code}: {answer.content[:300]!r}")
            return answer

        return call

    # A phone reconnecting that missed its last five events, and one event filling a gap.
    mine = list(
        ResponderEvent.objects.filter(responder_id=alert.responder_id).order_by("-id").values_list("id", flat=True)[:6]
    )
    recorder.run("socket_connect_backlog", lambda: consumers._backlog.func(alert.responder_id, mine[-1]))
    recorder.run("socket_events_between", lambda: consumers._events_between.func(alert.responder_id, mine[3], mine[0]))
    recorder.run("socket_alert_ack", lambda: consumers._acknowledge.func(user, alert.pk, "127.0.0.1"))
    respond = f"/api/v1/alerts/{alert.pk}/respond/"
    recorder.run("api_accept", post(phone, respond, {"response": "accept"}))
    fix = {"latitude": incident.latitude + 0.01, "longitude": incident.longitude}
    recorder.run("api_position", post(phone, f"/api/v1/alerts/{alert.pk}/positions/", fix))
    recorder.run("api_en_route", post(phone, respond, {"response": "en_route"}))
    recorder.run("api_on_scene", post(phone, respond, {"response": "on_scene"}))
    decline = {"response": "decline", "reason": "unavailable"}
    recorder.run("api_decline", post(other_phone, f"/api/v1/alerts/{other.pk}/respond/", decline))
    recorder.run("board_snapshot", lambda: consumers._board_snapshot.func(coordinator, "127.0.0.1"))
    now = timezone.now()
    Incident.objects.filter(pk__in=escalate_ids).update(next_escalation_at=now - datetime.timedelta(seconds=1))
    recorder.run("escalation_pass", lambda: run_due_escalations(now=now, limit=len(escalate_ids)))
    claimed = recorder.run("delivery_claim", lambda: claim_due(worker="plan-check", limit=100), roll_back=True)
    print(f"  the claim returned {len(claimed)} jobs (rolled back, to be explained as it found them)")
    recorder.run("api_cancel", post(cad, f"/api/v1/incidents/{cancel_id}/cancel/", {"reason": "Ambulance control"}))
    recorder.run("api_close", post(cad, f"/api/v1/incidents/{close_id}/close/", {}))
    # The CAD's call: an incident created and dispatched (its token, permissions, the incident,
    # stations, selection, responders, alerts and audit, events with their newest ids, push devices).
    call = {"cad_reference": f"PLAN-CALL-{len(used)}", "address": "1 Call Road", "dispatch": True}
    latitude, longitude = plan.station_locations[incident.pk % len(plan.station_locations)]
    recorder.run(
        "api_dispatch", post(cad, "/api/v1/incidents/", {**call, "latitude": latitude, "longitude": longitude})
    )


# --- EXPLAIN -------------------------------------------------------------------------------------------


class _RollBack(Exception):
    pass


def explain(statement: str) -> dict | None:
    """PostgreSQL's plan of the statement as run again now, in a transaction rolled back."""
    from django.db import DatabaseError, connection, transaction

    found = {}
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + statement)
                found = cursor.fetchone()[0][0]
            raise _RollBack
    except _RollBack:
        return found
    except DatabaseError as error:  # e.g. an INSERT whose row is there now
        return {"error": str(error).splitlines()[0]}


def nodes(node: dict):
    yield node
    for child in node.get("Plans", []):
        yield from nodes(child)


def buffers(node: dict) -> int:
    return node.get("Shared Hit Blocks", 0) + node.get("Shared Read Blocks", 0)


def describe(plan: dict) -> list[str]:
    out = []
    for node in nodes(plan):
        where = node.get("Relation Name") or node.get("Subplan Name") or ""
        index = f" ({node['Index Name']})" if node.get("Index Name") else ""
        out.append(f"{node['Node Type']} {where}{index} loops={node['Actual Loops']} rows={node['Actual Rows']}")
    return out


def report_path(name: str, statements: list[str], args) -> dict:
    explained, total, biggest, pages = 0, 0.0, 0.0, 0
    flagged = []
    for statement in statements:
        verb = statement.lstrip().split(" ", 1)[0].upper()
        if verb not in EXPLAINED:
            continue
        if args.plain_selects_only and (verb != "SELECT" or " FOR UPDATE" in statement):
            continue
        found = explain(statement)
        if not found or "error" in found:
            continue
        ms = found["Execution Time"]
        explained += 1
        total += ms
        biggest = max(biggest, ms)
        pages += buffers(found["Plan"])
        if name in args.show:
            print(f"  [{name}] {ms:7.3f} ms {buffers(found['Plan']):5} buffers  {statement[:150]}")
            for line in describe(found["Plan"]):
                print(f"      {line}")
        if ms > args.flag_ms:
            flagged.append(
                {
                    "sql": statement[:160],
                    "execution_ms": round(ms, 3),
                    "buffers": buffers(found["Plan"]),
                    "nodes": describe(found["Plan"]),
                }
            )
    return {
        "statements": len(statements),
        "explained": explained,
        "execution_total_ms": round(total, 3),
        "execution_max_ms": round(biggest, 3),
        "buffers_total": pages,
        "flagged": flagged,
    }


def generic_report(name: str, bound: list[tuple[str, list | None]], args) -> dict:
    """The path's statements prepared as psycopg prepares them (server-side binding), each executed
    with its own parameters under a custom plan and under the generic plan: PostgreSQL's execution
    times, rows read (every scan's rows, returned or filtered out, times its loops), and the
    statements whose generic plan reads out of proportion (tests.support.plans.generic_excess)."""
    from tests.support.plans import auto_takes_generic, custom_and_generic, generic_excess, relations, rows_read

    figures = {"compared": 0, "custom_ms": 0.0, "generic_ms": 0.0, "custom_rows": 0, "generic_rows": 0, "unsafe": []}
    figures["generic_jit_ms"] = figures["custom_jit_ms"] = 0.0
    for statement, params in bound:
        if statement.lstrip().split(" ", 1)[0].upper() not in EXPLAINED:
            continue
        custom, generic = custom_and_generic(statement, params)
        if not custom or not generic:
            continue
        read = [sum(rows_read(p["Plan"], t) for t in relations(p["Plan"])) for p in (custom, generic)]
        figures["compared"] += 1
        figures["custom_ms"] += custom["Execution Time"]
        figures["generic_ms"] += generic["Execution Time"]
        figures["custom_rows"] += read[0]
        figures["generic_rows"] += read[1]
        # A generic plan's cost estimate can pass jit_above_cost where the custom plan's does not:
        # its JIT compilation is then paid on every execution.
        figures["generic_jit_ms"] += generic.get("JIT", {}).get("Timing", {}).get("Total", 0.0)
        figures["custom_jit_ms"] += custom.get("JIT", {}).get("Timing", {}).get("Total", 0.0)
        excess = generic_excess(custom["Plan"], generic["Plan"])
        if excess or name in args.show:
            print(f"  [{name} generic] {'UNSAFE ' if excess else ''}{statement[:150]}")
            print(
                f"      custom  {custom['Execution Time']:.3f} ms, {read[0]} rows read; generic "
                f"{generic['Execution Time']:.3f} ms, {read[1]} rows read {excess}, JIT "
                f"{generic.get('JIT', {}).get('Timing', {}).get('Total', 0):.1f} ms"
            )
            for line in describe(generic["Plan"]):
                print(f"      generic: {line}")
        jit_ms = generic.get("JIT", {}).get("Timing", {}).get("Total", 0.0)
        if excess or jit_ms:
            auto = auto_takes_generic(statement, params)
            print(
                f"  [{name} generic] {statement[:120]}: JIT {jit_ms:.1f} ms; PostgreSQL's own choice "
                f"(plan_cache_mode=auto) {'TAKES' if auto else 'does not take'} the generic plan"
            )
        if excess:
            figures["unsafe"].append(
                {"sql": statement[:160], "excess": excess, "auto_takes_it": auto, "generic": describe(generic["Plan"])}
            )
    figures["custom_ms"] = round(figures["custom_ms"], 3)
    figures["generic_ms"] = round(figures["generic_ms"], 3)
    figures["generic_jit_ms"] = round(figures["generic_jit_ms"], 3)
    return figures


def print_generic(generic: dict) -> None:
    for phase, paths in generic.items():
        print(f"{phase} statistics, prepared statements: custom / generic plan")
        for name, f in paths.items():
            print(
                f"  {name:24} {f['compared']:3} statements, {f['custom_ms']:8.3f} / {f['generic_ms']:8.3f} ms, "
                f"{f['custom_rows']:7} / {f['generic_rows']:7} rows read, {len(f['unsafe'])} unsafe"
                + (f", JIT {f['generic_jit_ms']:.1f} ms in the generic" if f["generic_jit_ms"] else "")
            )


def check(args) -> int:
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.core.management import call_command

    from backend.roles import COORDINATORS, DISPATCH_SYSTEMS
    from tests.support.cluster import populate

    load_start = os.getloadavg()[0]
    call_command("migrate", verbosity=0, interactive=False)
    plan = populate(stations=args.stations, per_station=args.per_station, prefix="plan")
    cad = get_user_model().objects.filter(groups__name=DISPATCH_SYSTEMS).get()
    coordinator = get_user_model().objects.create_user(username="plan-coordinator", is_staff=True)
    coordinator.groups.add(Group.objects.get(name=COORDINATORS))
    sizes = build_history(args, plan, cad.pk)
    analyze()  # the statistics of a quiet hour: nothing open
    open_incidents(args, plan, cad)
    print(f"history: {sizes}; {args.open} incidents open")
    used: set[int] = set()
    phases, generic = {}, {}
    for phase in ("stale", "fresh"):
        if phase == "fresh":
            analyze()
        recorder = Recorder()
        run_paths(recorder, plan, plan.token, coordinator, used)
        phases[phase] = {name: report_path(name, statements, args) for name, statements in recorder.paths.items()}
        if args.generic:
            generic[phase] = {name: generic_report(name, bound, args) for name, bound in recorder.bound.items()}
    load_end = os.getloadavg()[0]
    for phase, paths in phases.items():
        print(f"{phase} statistics:")
        for name, figures in paths.items():
            print(
                f"  {name:24} {figures['explained']:3}/{figures['statements']:3} statements explained, "
                f"{figures['execution_total_ms']:8.3f} ms in all, largest {figures['execution_max_ms']:7.3f} ms, "
                f"{figures['buffers_total']:6} buffers"
            )
            for flag in figures["flagged"]:
                print(f"    FLAGGED {flag['execution_ms']:.3f} ms, {flag['buffers']} buffers: {flag['sql']}")
                for line in flag["nodes"]:
                    print(f"      {line}")
    print_generic(generic)
    print(f"load average (1 min) {load_start:.2f} -> {load_end:.2f}")
    summary = {
        "history": {**sizes, "closed_incidents": args.incidents, "days": args.days},
        "open_incidents": args.open,
        "flag_above_ms": args.flag_ms,
        **{
            f"{phase}_statistics": {
                name: {
                    "statements": f["statements"],
                    "execution_total_ms": f["execution_total_ms"],
                    "execution_max_ms": f["execution_max_ms"],
                    "buffers_total_8kB_pages": f["buffers_total"],
                    "flagged_ms": [[x["execution_ms"], x["sql"][:80]] for x in f["flagged"]],
                }
                for name, f in paths.items()
            }
            for phase, paths in phases.items()
        },
        **{f"{phase}_statistics_generic": paths for phase, paths in generic.items()},
        "load_average_1m_start_end": [round(load_start, 2), round(load_end, 2)],
    }
    print(json.dumps(summary, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
