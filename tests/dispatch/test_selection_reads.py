"""The selection's reads as SQL written once (backend/dispatch/selection_reads.py): the same rows as
the querysets they replace, and no queryset compiled for them on a dispatch (issue 17 item 2)."""

import datetime

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import OuterRef, Q, Subquery
from django.db.models.sql.compiler import SQLCompiler
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backend.accounts.models import OnCallPosition, Responder, Station
from backend.dispatch import selection_reads
from backend.dispatch.actions import create_incident, dispatch_incident, respond_to_alert
from backend.dispatch.models import Alert, Incident
from backend.dispatch.selection import _commitments_of, eligible_responders, select_responders
from tests.conftest import NORWICH_INCIDENT, make_firefighter, make_station
from tests.support.plans import a_history, cleared_alerts, plan_nodes


def orm_eligible(*, today, station_ids, near, named=None):
    """The queryset selection.select_responders read before (as of main, 5 December)."""
    queryset = eligible_responders(today=today).filter(Q(station_id__in=station_ids) | Q(pk__in=near))
    if named is not None:
        queryset = queryset.filter(pk__in=named)
    committed_to = Subquery(_commitments_of(OuterRef("pk")).values("incident_id")[:1])
    return sorted(queryset.annotate(committed_to=committed_to).values_list("pk", "station_id", "committed_to"))


def sql_eligible(*, today, station_ids, near, named=None):
    return sorted(
        selection_reads.eligible_rows(today=today, station_ids=station_ids, responder_ids_near=near, named=named)
    )


@pytest.fixture
def a_mixed_county(stations, alice, bob, charlie, dave, carol):
    """Responders on and off call, expired, deactivated, at an inactive station, committed to an
    open incident (bob, accepted), alerted but not answering (alice), sharing a fresh fix."""
    make_firefighter("off-duty", stations["norwich"], on_call=False)
    make_firefighter("expired", stations["norwich"], expires=timezone.localdate() - datetime.timedelta(days=1))
    gone = make_firefighter("gone", stations["norwich"])
    get_user_model().objects.filter(pk=gone.user_id).update(is_active=False)
    closed = make_station("Closed", "closed", (52.63, 1.30))
    closed.active = False
    closed.save()
    make_firefighter("at-closed", closed)
    roamer = make_firefighter("roamer", stations["norwich"], share_position_on_call=True)
    OnCallPosition.objects.create(
        responder=roamer,
        latitude=NORWICH_INCIDENT[0],
        longitude=NORWICH_INCIDENT[1],
        recorded_at=timezone.now(),
        received_at=timezone.now(),
    )
    incident = create_incident(
        actor=carol, cad_reference="MIX-1", latitude=NORWICH_INCIDENT[0], longitude=NORWICH_INCIDENT[1], address="x"
    )
    dispatch_incident(actor=carol, incident_id=incident.pk)
    bob_alert = Alert.objects.get(incident=incident, responder=bob)
    respond_to_alert(actor=bob.user, alert_id=bob_alert.pk, response="accept")
    return incident


def test_the_eligible_rows_are_the_querysets_rows(a_mixed_county, stations, alice, bob, charlie, dave):
    today = timezone.localdate()
    all_stations = list(Station.objects.values_list("pk", flat=True))
    cases = [
        {"station_ids": all_stations, "near": set()},
        {"station_ids": [stations["norwich"].pk], "near": set()},
        {"station_ids": [], "near": {alice.pk, dave.pk}},
        {"station_ids": [stations["norwich"].pk], "near": {dave.pk}},
        {"station_ids": all_stations, "near": set(), "named": [bob.pk, charlie.pk]},
        {"station_ids": all_stations, "near": set(), "named": []},
        {"station_ids": [], "near": set()},
    ]
    for case in cases:
        assert sql_eligible(today=today, **case) == orm_eligible(today=today, **case), case
    # Bob is committed to the open incident; the others are not.
    everyone = sql_eligible(today=today, station_ids=all_stations, near=set())
    rows = {pk: committed for pk, _station, committed in everyone}
    assert rows[bob.pk] == a_mixed_county.pk
    assert rows[alice.pk] is None


def test_stations_and_fixes_are_the_querysets_rows(a_mixed_county, stations):
    assert sorted(selection_reads.active_stations(None)) == sorted(
        Station.objects.filter(active=True).values_list("pk", "latitude", "longitude")
    )
    norwich = [stations["norwich"].pk]
    assert selection_reads.active_stations(norwich) == list(
        Station.objects.filter(active=True, pk__in=norwich).values_list("pk", "latitude", "longitude")
    )
    cutoff = timezone.now() - datetime.timedelta(minutes=5)
    expected = list(
        OnCallPosition.objects.filter(
            recorded_at__gte=cutoff, responder__share_position_on_call=True, responder__on_call=True
        ).values_list("responder_id", "latitude", "longitude")
    )
    assert len(expected) == 1
    assert selection_reads.fresh_fixes(cutoff, None) == expected
    assert selection_reads.fresh_fixes(cutoff, norwich) == expected
    assert selection_reads.fresh_fixes(cutoff, [stations["lynn"].pk]) == []
    assert selection_reads.fresh_fixes(timezone.now() + datetime.timedelta(minutes=1), None) == []


def test_a_selection_compiles_no_queryset(a_mixed_county, monkeypatch):
    """Work done, not time: the stations, fixes and eligible responders, and the loading of those
    chosen with their stations and users, are read by SQL written once per process."""
    compiled = []
    original = SQLCompiler.as_sql

    def counting(self, *args, **kwargs):
        compiled.append(self.query.model.__name__)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(SQLCompiler, "as_sql", counting)
    selection = select_responders(
        latitude=NORWICH_INCIDENT[0],
        longitude=NORWICH_INCIDENT[1],
        today=timezone.localdate(),
        radius_km=40,
        max_per_station=4,
        max_total=50,
    )
    assert selection.candidates
    assert compiled == []


def values_of(instance) -> dict:
    return {field.attname: getattr(instance, field.attname) for field in instance._meta.concrete_fields}


def test_the_responders_loaded_are_the_querysets_with_their_station_and_user(a_mixed_county, alice, bob, dave):
    alice.skills = ["bls", "aed"]
    alice.phone_number = "+44 1603 000000"
    alice.save()
    ids = [alice.pk, bob.pk, dave.pk, 999_999]
    expected = Responder.objects.select_related("station", "user").in_bulk(ids)
    loaded = selection_reads.responders_loaded(ids)
    assert sorted(loaded) == sorted(expected) == sorted([alice.pk, bob.pk, dave.pk])
    with CaptureQueriesContext(connection) as queries:
        for pk, responder in loaded.items():
            assert type(responder) is Responder
            assert values_of(responder) == values_of(expected[pk])
            assert values_of(responder.station) == values_of(expected[pk].station)
            assert values_of(responder.user) == values_of(expected[pk].user)
            assert responder.user.responder is responder
            assert responder._state.adding is False and responder._state.db == "default"
    assert queries.captured_queries == []
    assert loaded[alice.pk].skills == ["bls", "aed"]
    assert isinstance(loaded[alice.pk].life_support_training_expires, datetime.date)
    assert loaded[alice.pk].on_call is True and loaded[alice.pk].user.is_active is True
    assert selection_reads.responders_loaded([]) == {}


def test_on_sqlite_each_commitment_is_looked_up_by_the_responders_alerts_not_every_open_incident(a_mixed_county):
    """Work done: the subquery reads the responder's alerts by their (responder, state) index, then
    each one's incident by its key; it read every open incident, and looked for an alert of the
    responder in each, before (its time grew with the open incidents)."""
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's plan; PostgreSQL plans the same inner join with its own statistics")
    sql = selection_reads._eligible_sql(connection.vendor) + ")"
    day = connection.ops.adapt_datefield_value(timezone.localdate())
    params = [*selection_reads._COMMITMENT_PARAMS, day, day]
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        plan = [row[-1] for row in cursor.fetchall()]
    alerts = next(step for step in plan if step.startswith("SEARCH U0"))
    incidents = next(step for step in plan if step.startswith("SEARCH U1"))
    assert "responder_id=?" in alerts
    assert "PRIMARY KEY" in incidents
    assert plan.index(alerts) < plan.index(incidents)


def test_on_postgresql_each_commitment_is_looked_up_by_the_responders_alerts_not_every_open_incident(
    a_mixed_county, carol
):
    """Work done, as PostgreSQL ran it (EXPLAIN ANALYZE): each candidate's alerts are read once, and
    no more incidents than that finds. Its statistics taken while few incidents were open (as in a
    deployment whose day gets busy, or a benchmark's run), it read every open incident for each
    candidate and looked for the candidate's alert in each, before: 8,540 index scans and 18.7 ms
    of the CAD's call with 61 open incidents and 140 candidates (issue 17)."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's plan; SQLite's is held by the test above")
    a_history(carol, 400)
    cleared_alerts(Incident.objects.filter(status="closed")[:60], list(Responder.objects.all()))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # the statistics of a quiet hour
    for number in range(40):  # then a busy one: more open incidents, none anyone's commitment
        create_incident(actor=carol, cad_reference=f"OPEN-{number}", latitude=52.6, longitude=1.3, address="x")
    sql = selection_reads._eligible_sql(connection.vendor) + ")"
    params = [*selection_reads._COMMITMENT_PARAMS, *[connection.ops.adapt_datefield_value(timezone.localdate())] * 2]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        candidates = cursor.fetchall()
        cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, params)
        plan = cursor.fetchone()[0][0]["Plan"]
    loops, incident_rows = {"dispatch_alert": 0, "dispatch_incident": 0}, 0
    for node in plan_nodes(plan):
        if node.get("Relation Name") in loops:
            loops[node["Relation Name"]] += node["Actual Loops"]
        if node.get("Relation Name") == "dispatch_incident":
            # Actual Rows is per loop and rounded down: a loop that stopped at its first row shows 0.
            incident_rows += max(node["Actual Rows"], 1) * node["Actual Loops"]
    committed = [row for row in candidates if row[2] is not None]
    assert len(candidates) >= 4 and len(committed) == 1  # bob, who accepted
    assert loops["dispatch_alert"] == len(candidates), loops
    assert incident_rows <= len(candidates) + len(committed), (incident_rows, loops)


def test_the_stations_and_fixes_read_together_are_the_two_reads_rows(a_mixed_county, stations):
    cutoff = timezone.now() - datetime.timedelta(minutes=5)
    norwich, lynn = [stations["norwich"].pk], [stations["lynn"].pk]
    later = timezone.now() + datetime.timedelta(minutes=1)
    for station_ids, since in [(None, cutoff), (norwich, cutoff), (lynn, cutoff), (None, later), ([], cutoff)]:
        together = selection_reads.stations_and_fixes(station_ids, since)
        apart = (selection_reads.active_stations(station_ids), selection_reads.fresh_fixes(since, station_ids))
        assert tuple(sorted(rows) for rows in together) == tuple(sorted(rows) for rows in apart), station_ids
    stations_read, fixes_read = selection_reads.stations_and_fixes(None, cutoff)
    assert len(fixes_read) == 1 and len(stations_read) == Station.objects.filter(active=True).count()


def test_a_selection_reads_the_stations_and_fixes_in_one_statement(a_mixed_county):
    """Three statements: the stations with the fresh fixes (one round trip, was two), the eligible
    with their commitments, the chosen loaded."""
    with CaptureQueriesContext(connection) as queries:
        selection = select_responders(
            latitude=NORWICH_INCIDENT[0],
            longitude=NORWICH_INCIDENT[1],
            today=timezone.localdate(),
            radius_km=40,
            max_per_station=4,
            max_total=50,
        )
    assert selection.candidates
    assert any(candidate.distance_from == "position" for candidate in selection.candidates)  # the roamer's fix
    statements = [query["sql"] for query in queries.captured_queries]
    assert len(statements) == 3
    assert " UNION ALL " in statements[0] and '"accounts_oncallposition"' in statements[0]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite locks the database, not rows")
@pytest.mark.django_db(transaction=True)
def test_the_chosen_are_locked_for_the_transaction_when_asked(stations, alice, bob, charlie):
    """select_responders(lock_chosen=True), as a dispatch calls it: another transaction cannot lock
    a chosen responder's row until this one ends (their events then go in without locking again)."""
    import threading

    from django.db import OperationalError, connections, transaction

    def another_transaction_can_lock(responder_id) -> bool:
        outcome = []

        def attempt():
            try:
                with transaction.atomic(), connections["default"].cursor() as cursor:
                    cursor.execute(
                        'SELECT 1 FROM "accounts_responder" WHERE "id" = %s FOR UPDATE NOWAIT', [responder_id]
                    )
                outcome.append(True)
            except OperationalError:
                outcome.append(False)
            finally:
                connections["default"].close()

        thread = threading.Thread(target=attempt)
        thread.start()
        thread.join()
        return outcome[0]

    def select(lock_chosen):
        return select_responders(
            latitude=NORWICH_INCIDENT[0],
            longitude=NORWICH_INCIDENT[1],
            today=timezone.localdate(),
            radius_km=40,
            max_per_station=4,
            max_total=50,
            lock_chosen=lock_chosen,
        )

    with transaction.atomic():
        chosen = [candidate.responder.pk for candidate in select(lock_chosen=False).candidates]
        assert chosen and another_transaction_can_lock(chosen[0])
    with transaction.atomic():
        assert [candidate.responder.pk for candidate in select(lock_chosen=True).candidates] == chosen
        assert not any(another_transaction_can_lock(pk) for pk in chosen)
    assert another_transaction_can_lock(chosen[0])
