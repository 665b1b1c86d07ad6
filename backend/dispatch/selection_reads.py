"""The selection's reads (issue 17 item 2), as SQL written once per process instead of querysets
built and compiled on every dispatch.

py-spy on the CAD's create-and-dispatch call: building and compiling the selection's three
querysets (the stations, the fresh positions, and the eligible responders with each one's
commitment elsewhere as a correlated subquery) was about a fifth of the call, several times the
time the database took to run them. The statements here are the ones the ORM wrote for those
querysets (the same tables, joins, conditions and order; names from the models' `_meta`), with
parameters put in database form as the ORM puts them (`connection.ops.adapt_*`), and they read
plain numbers only (ids and coordinates: nothing for a field to convert), so the rows are the
ones the querysets gave. `tests/dispatch/test_selection_reads.py` holds them equal, row for row,
on several data sets, and counts the compilations a dispatch's selection makes (none).
"""

import datetime
from functools import cache

from django.db import connection

from backend.accounts.models import OnCallPosition, Responder, Station
from backend.compiled_reads import JoinedLoad
from backend.dispatch.models import COMMITTED_STATES, Alert, Incident, IncidentStatus


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _column(model, field_name: str) -> str:
    return _q(model._meta.get_field(field_name).column)


def _table(model) -> str:
    return _q(model._meta.db_table)


def _placeholders(values) -> str:
    return ", ".join(["%s"] * len(values))


def _rows(sql: str, params: list) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


@cache
def _stations_sql(vendor: str) -> str:
    s = _table(Station)
    return (
        f"SELECT {s}.{_column(Station, 'id')}, {s}.{_column(Station, 'latitude')},"  # noqa: S608 (names from _meta)
        f" {s}.{_column(Station, 'longitude')}"
        f" FROM {s} WHERE {s}.{_column(Station, 'active')}"
    )


def active_stations(station_ids: list[int] | None) -> list[tuple[int, float, float]]:
    """(id, latitude, longitude) of the active stations, of `station_ids` only if given."""
    if station_ids is not None and not station_ids:
        return []
    sql = _stations_sql(connection.vendor)
    if station_ids is None:
        return _rows(sql, [])
    return _rows(f"{sql} AND {_table(Station)}.{_column(Station, 'id')} IN ({_placeholders(station_ids)})", station_ids)


@cache
def _fixes_sql(vendor: str) -> str:
    p, r = _table(OnCallPosition), _table(Responder)
    return (
        f"SELECT {p}.{_column(OnCallPosition, 'responder')}, {p}.{_column(OnCallPosition, 'latitude')},"  # noqa: S608
        f" {p}.{_column(OnCallPosition, 'longitude')} FROM {p}"
        f" INNER JOIN {r} ON ({p}.{_column(OnCallPosition, 'responder')} = {r}.{_column(Responder, 'id')})"
        f" WHERE ({p}.{_column(OnCallPosition, 'recorded_at')} >= %s AND {r}.{_column(Responder, 'on_call')}"
        f" AND {r}.{_column(Responder, 'share_position_on_call')}"
    )


def fresh_fixes(cutoff: datetime.datetime, station_ids: list[int] | None) -> list[tuple[int, float, float]]:
    """(responder id, latitude, longitude) of the on-call fixes recorded at or after `cutoff`, of
    responders who share their position on call (of those `station_ids` only, if given)."""
    if station_ids is not None and not station_ids:
        return []
    sql = _fixes_sql(connection.vendor)
    params = [connection.ops.adapt_datetimefield_value(cutoff)]
    if station_ids is not None:
        sql += f" AND {_table(Responder)}.{_column(Responder, 'station')} IN ({_placeholders(station_ids)})"
        params += station_ids
    return _rows(sql + ")", params)


def stations_and_fixes(
    station_ids: list[int] | None, cutoff: datetime.datetime
) -> tuple[list[tuple[int, float, float]], list[tuple[int, float, float]]]:
    """(active_stations(station_ids), fresh_fixes(cutoff, station_ids)) in one statement: the two
    reads are independent (both before the ranking), so one round trip instead of two (UNION ALL,
    each row marked with the read it belongs to; on PostgreSQL a round trip is a fifth of a
    millisecond or more of the CAD's call). The rows are theirs, in no particular order, as theirs."""
    if station_ids is not None and not station_ids:
        return [], []
    stations_sql, fixes_sql = _stations_sql(connection.vendor), _fixes_sql(connection.vendor)
    params = [connection.ops.adapt_datetimefield_value(cutoff)]
    if station_ids is not None:
        stations_sql += f" AND {_table(Station)}.{_column(Station, 'id')} IN ({_placeholders(station_ids)})"
        fixes_sql += f" AND {_table(Responder)}.{_column(Responder, 'station')} IN ({_placeholders(station_ids)})"
        params = [*station_ids, *params, *station_ids]
    sql = f"SELECT 0, {stations_sql.removeprefix('SELECT ')} UNION ALL SELECT 1, {fixes_sql.removeprefix('SELECT ')})"
    stations, fixes = [], []
    for kind, *row in _rows(sql, params):
        (fixes if kind else stations).append(tuple(row))
    return stations, fixes


@cache
def _committed_to_sql(vendor: str) -> str:
    """The open incident a responder (the outer row) is committed to, most recent first: a correlated
    subquery on the responder's alerts in a committed state, then each one's incident by its key.
    Its parameters: the committed states, then the open status (_COMMITMENT_PARAMS).

    It must read the responder's alerts first, by their (responder, state) index, and never every
    open incident with a look for the responder's alert in each: that grows with the open incidents
    times the candidates. Both planners, left to choose the order of the inner join, chose the
    latter. SQLite is told the order with CROSS JOIN (its documentation: "Manual Control Of Query
    Plans Using CROSS JOIN"; 0.4-0.7 ms at 50 open incidents). To PostgreSQL a CROSS JOIN is the
    same inner join: with statistics taken while few incidents were open, it read all 61 for each of
    140 candidates, 8,540 index scans and 17.6-18.7 ms of PostgreSQL's time (EXPLAIN ANALYZE on
    bench/dispatch_counts.py's data set, issue 17), and an alerts subquery behind OFFSET 0 was
    re-read per open incident just the same. There the incident is not joined at all: its status
    and time are scalar subqueries on its key, which PostgreSQL evaluates for each of the
    responder's committed alerts found (a few at most) and cannot reorder."""
    a, i, r = _table(Alert), _table(Incident), _table(Responder)
    alert_incident, incident_id = _column(Alert, "incident"), _column(Incident, "id")
    responder_is_outer = f"U0.{_column(Alert, 'responder')} = ({r}.{_column(Responder, 'id')})"
    committed = f"U0.{_column(Alert, 'state')} IN ({_placeholders(COMMITTED_STATES)})"
    status, created_at = _column(Incident, "status"), _column(Incident, "created_at")
    by_rank = f"U0.{_column(Alert, 'rank')} ASC LIMIT 1)"
    if vendor == "postgresql":

        def incidents(column: str) -> str:
            return f"(SELECT U1.{column} FROM {i} U1 WHERE U1.{incident_id} = U0.{alert_incident})"  # noqa: S608

        return (
            f"(SELECT U0.{alert_incident} FROM {a} U0 WHERE ({responder_is_outer} AND {committed}"  # noqa: S608
            f" AND {incidents(status)} = %s) ORDER BY {incidents(created_at)} DESC, {by_rank}"
        )
    return (
        f"(SELECT U0.{alert_incident} FROM {a} U0 CROSS JOIN {i} U1"  # noqa: S608 (names from _meta)
        f" WHERE ({responder_is_outer} AND {committed}"
        f" AND U0.{alert_incident} = U1.{incident_id} AND U1.{status} = %s)"
        f" ORDER BY U1.{created_at} DESC, {by_rank}"
    )


# The commitment subquery's parameters, in the order both forms of it take them.
_COMMITMENT_PARAMS = [*(str(state) for state in COMMITTED_STATES), IncidentStatus.OPEN.value]


@cache
def _eligible_sql(vendor: str) -> str:
    r, s = _table(Responder), _table(Station)
    user_model = Responder._meta.get_field("user").related_model
    u = _table(user_model)
    return (
        f"SELECT {r}.{_column(Responder, 'id')}, {r}.{_column(Responder, 'station')}, {_committed_to_sql(vendor)}"  # noqa: S608
        f" FROM {r} INNER JOIN {s} ON ({r}.{_column(Responder, 'station')} = {s}.{_column(Station, 'id')})"
        f" INNER JOIN {u} ON ({r}.{_column(Responder, 'user')} = {u}.{_q(user_model._meta.pk.column)})"
        f" WHERE ({r}.{_column(Responder, 'defibrillator_training_expires')} >= %s"
        f" AND {r}.{_column(Responder, 'life_support_training_expires')} >= %s"
        f" AND {r}.{_column(Responder, 'on_call')} AND {s}.{_column(Station, 'active')}"
        f" AND {u}.{_q(user_model._meta.get_field('is_active').column)}"
    )


def eligible_rows(
    *, today: datetime.date, station_ids, responder_ids_near: set[int] | list[int], named: list[int] | None
) -> list[tuple[int, int, int | None]]:
    """(id, station id, the open incident they are committed to or None) of the eligible responders
    (selection.eligible_responders) at one of `station_ids` or among `responder_ids_near`, of
    `named` only if given: what `eligible_responders(...).filter(Q(station_id__in=...) |
    Q(pk__in=...))` annotated with `_commitments_of` gave, without its order (the caller sorts)."""
    station_ids, near = list(station_ids), sorted(responder_ids_near)
    if (not station_ids and not near) or (named is not None and not named):
        return []
    day = connection.ops.adapt_datefield_value(today)
    r = _table(Responder)
    params = [*_COMMITMENT_PARAMS, day, day]
    where = []
    if station_ids:
        where.append(f"{r}.{_column(Responder, 'station')} IN ({_placeholders(station_ids)})")
        params += station_ids
    if near:
        where.append(f"{r}.{_column(Responder, 'id')} IN ({_placeholders(near)})")
        params += near
    sql = f"{_eligible_sql(connection.vendor)} AND ({' OR '.join(where)})"
    if named is not None:
        sql += f" AND {r}.{_column(Responder, 'id')} IN ({_placeholders(named)})"
        params += list(named)
    return _rows(sql + ")", params)


_RESPONDERS_WITH_STATION_AND_USER = JoinedLoad(Responder, ("station", "user"), "id")


def responders_loaded(responder_ids: list[int], *, lock: bool = False) -> dict[int, Responder]:
    """Responder id -> the Responder with its station and user in place, as
    `Responder.objects.select_related("station", "user").in_bulk(responder_ids)` gives it
    (backend/compiled_reads.py). A responder deleted meanwhile is left out. `lock`: the responders'
    rows locked for the caller's transaction in id order, as events.record_for_responders locks
    them before storing their events (which then need not lock them again: one round trip less)."""
    rows = _RESPONDERS_WITH_STATION_AND_USER.rows(responder_ids, lock=lock)
    return {responder.pk: responder for responder in rows}
