"""What the CAD's create-and-dispatch call costs, counted (issue 17 item 2: the call within 3x a
plain transaction writing the same rows). Each test here failed before the work it counts was
removed; timings live in bench/dispatch_latency.py, never here."""

import datetime

import pytest
from django.db import connection
from django.db.models.signals import post_init
from django.db.models.sql.compiler import SQLInsertCompiler
from django.test.utils import CaptureQueriesContext

from backend.accounts.models import Responder
from backend.audit.models import AuditEntry
from backend.delivery.models import Delivery
from backend.delivery.subscriptions import subscribe_device
from backend.dispatch.models import Alert, Incident
from backend.realtime import events
from backend.realtime.events import BOARD_GROUP, frame_of
from backend.realtime.models import ResponderEvent
from tests.conftest import NORWICH_INCIDENT, browser_subscription, make_firefighter, token_client_for

pytestmark = pytest.mark.django_db(transaction=True)

# Authentication (the token, the CAD's permissions: 4), the incident's insert and its dispatch
# time, selection (stations, positions, the eligible with their commitments, the chosen loaded),
# the alerts, their audit entries (and the actor's role), the events (the responders locked, their
# newest ids), the push devices, and the savepoint and transaction statements. Before issue 17 the
# call also locked and re-read the incident it had just made, asked who was alerted to it already,
# read the commitments apart, counted its coverage three times, asked who its crew was, and read
# its alerts back for the answer: 31 for the same dispatch. On 5 December: 21 -> 19 (knox read all the
# CAD's tokens, and the permissions were two queries: tests/api/test_token_check_cost.py) -> 17 (no
# savepoint and release of it around the incident's insert) -> 16 (the incident inserted already
# dispatched, not updated after) -> 15 (the caller's groups, for the audit entries' role, read with its
# permissions by the token check) -> 14 on PostgreSQL (the alerts' audit entries written in the
# alerts' own statement: test_on_postgresql_the_alerts_audit_entries_go_in_with_the_alerts) -> 13 on
# PostgreSQL, 14 on SQLite (the stations and the fresh fixes read in one statement:
# tests/dispatch/test_selection_reads.py) -> 12 and 13 (the alerted responders' rows locked as they
# are loaded, not by a statement of their own before their events: test_the_alerted_are_locked_...)
# -> 11 on PostgreSQL (the responders' newest event ids read in the events' own statement:
# tests/realtime/test_event_reads.py). 11 and 14 since every incident created has its audit entry
# (tests/audit/test_incident_created_audit.py): on PostgreSQL it goes in with the incident, in the
# same statement (a data-modifying WITH), so the count there is unchanged; SQLite has no INSERT
# inside WITH, so there the entry is one INSERT more, after the incident's. 11 -> 10 on PostgreSQL
# (7 December): the token check reads the caller's permissions and groups in the token's statement
# (tests/api/test_token_check_cost.py).
CREATE_AND_DISPATCH_QUERIES = 10 if connection.vendor == "postgresql" else 14


@pytest.fixture
def big_station(stations, settings):
    """Norwich with 12 on-call firefighters, all of whom a dispatch may alert."""
    settings.DISPATCH_MAX_PER_STATION = 50
    return [make_firefighter(f"ff{number:02d}", stations["norwich"]) for number in range(12)]


def create_and_dispatch(client, reference: str):
    latitude, longitude = NORWICH_INCIDENT
    body = {"cad_reference": reference, "latitude": latitude, "longitude": longitude, "address": "3 Elm Hill"}
    response = client.post("/api/v1/incidents/", {**body, "dispatch": True}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_it_costs_the_same_queries_for_three_alerted_as_for_twelve(cad, big_station, settings):
    client = token_client_for(cad)
    create_and_dispatch(client, "WARM-UP")  # first-use reads (content types) not counted
    counts = {}
    for alerted in (3, 12):
        settings.DISPATCH_MAX_RESPONDERS = alerted
        with CaptureQueriesContext(connection) as queries:
            body = create_and_dispatch(client, f"COST-{alerted}")
        assert len(body["alerts"]) == alerted
        counts[alerted] = len(queries.captured_queries)
    assert counts[3] == counts[12] <= CREATE_AND_DISPATCH_QUERIES, counts


def test_the_rows_it_writes_are_not_prepared_value_by_value_by_the_orm(cad, big_station, settings, monkeypatch):
    """The incident, its alerts, their audit entries and their stored events go in through
    backend/bulk_rows.py: the ORM's insert compiler prepares no value, however many are alerted
    (before: each of the 20 fields of each alert, and each field of each entry and event)."""
    client = token_client_for(cad)
    create_and_dispatch(client, "WARM-UP")
    prepared = []
    prepare_value = SQLInsertCompiler.prepare_value

    def counted(self, field, value):
        prepared.append(field.model.__name__)
        return prepare_value(self, field, value)

    monkeypatch.setattr(SQLInsertCompiler, "prepare_value", counted)
    by_alerted = {}
    for alerted in (3, 12):
        settings.DISPATCH_MAX_RESPONDERS = alerted
        prepared.clear()
        create_and_dispatch(client, f"COST-{alerted}")
        by_alerted[alerted] = sorted(set(prepared))
    assert by_alerted == {3: [], 12: []}


def test_it_answers_with_every_alert_without_reading_them_back(cad, big_station):
    client = token_client_for(cad)
    create_and_dispatch(client, "WARM-UP")
    with CaptureQueriesContext(connection) as queries:
        body = create_and_dispatch(client, "EEAST-0001")
    alerts_read = [q["sql"] for q in queries.captured_queries if q["sql"].startswith('SELECT "dispatch_alert"."id"')]
    assert alerts_read == []
    stored = Alert.objects.filter(incident_id=body["id"]).order_by("rank")
    assert [alert["id"] for alert in body["alerts"]] == [alert.pk for alert in stored]
    assert [alert["responder_name"] for alert in body["alerts"]] == [alert.responder.display_name for alert in stored]
    assert body["committed_count"] == 0 and body["dispatched_at"] and body["dispatch"]["alerted_count"] == 12


def test_selection_builds_only_the_responders_it_alerts(cad, big_station, settings):
    """Twelve on call in range, three alerted: the other nine are ranked from their ids and
    stations, never built as Responder objects with their stations and users."""
    settings.DISPATCH_MAX_RESPONDERS = 3
    client = token_client_for(cad)
    create_and_dispatch(client, "WARM-UP")
    built = []

    def count(sender, instance, **kwargs):
        built.append(instance)

    post_init.connect(count, sender=Responder)
    try:
        body = create_and_dispatch(client, "EEAST-0001")
    finally:
        post_init.disconnect(count, sender=Responder)
    assert len(body["alerts"]) == 3
    assert len(built) == 3


def test_the_board_is_told_of_the_new_incident_once_as_the_dispatch_left_it(cad, big_station, monkeypatch):
    # What the action hands over for the board group, in its order (read at the hand-over rather
    # than from a channel layer: Redis does not keep the order of one batch's concurrent sends,
    # and a receive cut off by a time-out leaves channels_redis's receive lock on a dead loop).
    sent = []
    hand_over = events.send_on_commit

    def recorded(messages):
        sent.extend(frame_of(message) for group, message in messages if group == BOARD_GROUP)
        hand_over(messages)

    monkeypatch.setattr(events, "send_on_commit", recorded)

    body = create_and_dispatch(token_client_for(cad), "EEAST-0001")

    incidents = [frame["data"] for frame in sent if frame["type"] == "board.incident"]
    assert len(incidents) == 1
    assert incidents[0]["id"] == body["id"] and incidents[0]["dispatched_at"] == body["dispatched_at"]
    assert [frame["type"] for frame in sent] == ["board.devices", *["board.alert"] * 12, "board.incident"]


def test_the_incident_is_inserted_without_a_savepoint_of_its_own(cad, big_station):
    client = token_client_for(cad)
    create_and_dispatch(client, "WARM-UP")
    with CaptureQueriesContext(connection) as queries:
        create_and_dispatch(client, "EEAST-0001")
    savepoints = [q["sql"] for q in queries.captured_queries if "SAVEPOINT" in q["sql"].upper()]
    assert savepoints == []  # was SAVEPOINT and RELEASE SAVEPOINT


def test_the_incident_is_inserted_already_dispatched_not_updated_after(cad, big_station, settings):
    client = token_client_for(cad)
    create_and_dispatch(client, "WARM-UP")
    with CaptureQueriesContext(connection) as queries:
        body = create_and_dispatch(client, "EEAST-0001")
    # On PostgreSQL the insert is inside a WITH that also writes the incident's audit entry.
    writes = [
        write
        for q in queries.captured_queries
        for write in ('INSERT INTO "dispatch_incident"', 'UPDATE "dispatch_incident"')
        if write in q["sql"]
    ]
    assert writes == ['INSERT INTO "dispatch_incident"']  # was that and UPDATE "dispatch_incident" SET ...
    incident = Incident.objects.get(pk=body["id"])
    assert incident.dispatched_at == incident.created_at  # created and dispatched at the same instant
    first_step_after, _action = settings.ESCALATION_LADDER[0]
    assert incident.escalation_step == 0
    assert incident.next_escalation_at == incident.dispatched_at + datetime.timedelta(seconds=first_step_after)
    assert datetime.datetime.fromisoformat(body["dispatched_at"].replace("Z", "+00:00")) == incident.dispatched_at


def test_it_reads_the_alerted_phones_once(cad, big_station):
    """Their pushes are queued from the devices read; which of them are proven (for the board) is
    judged from the same rows, not read again."""
    for responder in big_station[:3]:
        endpoint = f"https://fcm.googleapis.com/fcm/send/{responder.user.username}"
        subscribe_device(
            actor=responder.user, endpoint=endpoint, label="phone", **browser_subscription(endpoint)["keys"]
        )
    client = token_client_for(cad)
    create_and_dispatch(client, "WARM-UP")
    with CaptureQueriesContext(connection) as queries:
        create_and_dispatch(client, "EEAST-0001")
    device_reads = [q["sql"] for q in queries.captured_queries if q["sql"].startswith('SELECT "delivery_pushdevice"')]
    assert len(device_reads) == 1  # was 2
    assert Delivery.objects.filter(alert__incident__cad_reference="EEAST-0001").count() == 3


def test_the_audit_entries_role_is_not_read_apart(cad, big_station):
    client = token_client_for(cad)
    create_and_dispatch(client, "WARM-UP")
    with CaptureQueriesContext(connection) as queries:
        body = create_and_dispatch(client, "EEAST-0001")
    group_reads = [q["sql"] for q in queries.captured_queries if q["sql"].startswith('SELECT "auth_group"."name"')]
    assert group_reads == []  # was one, between the alerts' insert and their audit entries'
    roles = set(AuditEntry.objects.filter(incident_id=body["id"]).values_list("role", flat=True))
    assert roles == {"dispatch_system"}


def test_a_duplicate_create_and_dispatch_is_refused_naming_the_incident_and_alerts_nobody(cad, big_station):
    client = token_client_for(cad)
    first = create_and_dispatch(client, "EEAST-0001")
    latitude, longitude = NORWICH_INCIDENT
    body = {"cad_reference": "EEAST-0001", "latitude": latitude, "longitude": longitude, "address": "3 Elm Hill"}
    response = client.post("/api/v1/incidents/", {**body, "dispatch": True}, format="json")
    assert response.status_code == 409, response.content
    assert response.json()["error"]["existing_incident_id"] == first["id"]
    assert Alert.objects.count() == len(first["alerts"])


def test_it_builds_no_audit_entry_for_its_audit_rows(cad, big_station):
    """The alerts' audit entries go in as values: no AuditEntry is built (12 were, one per alert,
    each costing more in Model.__init__ than its row in the insert)."""
    client = token_client_for(cad)
    create_and_dispatch(client, "WARM-UP")
    built = []

    def count(sender, instance, **kwargs):
        built.append(instance)

    post_init.connect(count, sender=AuditEntry)
    try:
        body = create_and_dispatch(client, "EEAST-0001")
    finally:
        post_init.disconnect(count, sender=AuditEntry)
    assert built == []
    entries = AuditEntry.objects.filter(incident_id=body["id"], object_type="alert").order_by("pk")
    assert [entry.object_id for entry in entries] == [str(alert["id"]) for alert in body["alerts"]]
    assert {(entry.action, entry.role, entry.actor_id, entry.channel) for entry in entries} == {
        ("alert_state", "dispatch_system", cad.pk, "api")
    }
    assert all(entry.detail == {"state": "alerted"} for entry in entries)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has no INSERT inside WITH")
def test_on_postgresql_the_alerts_audit_entries_go_in_with_the_alerts(cad, big_station):
    client = token_client_for(cad)
    create_and_dispatch(client, "WARM-UP")
    with CaptureQueriesContext(connection) as queries:
        body = create_and_dispatch(client, "EEAST-0001")
    writing_entries = [q["sql"] for q in queries.captured_queries if 'INSERT INTO "audit_auditentry"' in q["sql"]]
    assert len(writing_entries) == 2  # the incident's own entry, with the incident; the alerts', with the alerts
    assert writing_entries[0].startswith('WITH "new_rows" AS (INSERT INTO "dispatch_incident"')
    assert writing_entries[1].startswith('WITH "new_rows" AS (INSERT INTO "dispatch_alert"')  # was a statement apart
    assert len(queries.captured_queries) == CREATE_AND_DISPATCH_QUERIES == 10
    assert AuditEntry.objects.filter(incident_id=body["id"], object_type="alert").count() == 12


def test_it_builds_its_alerts_and_events_by_position_not_by_keywords(cad, big_station, monkeypatch):
    """Model.__init__'s keyword path (each field's default looked up, each relation set through its
    descriptor) cost about 35 us an alert: the alerts and their stored events are built by position
    (backend/bulk_rows.py: new_instance), as a row read from the database is."""
    client = token_client_for(cad)
    create_and_dispatch(client, "WARM-UP")
    by_keywords = []
    for model in (Alert, ResponderEvent):
        original = model.__init__

        def counted(self, *args, _original=original, _model=model, **kwargs):
            if kwargs:
                by_keywords.append(_model.__name__)
            _original(self, *args, **kwargs)

        monkeypatch.setattr(model, "__init__", counted)
    body = create_and_dispatch(client, "EEAST-0001")
    assert len(body["alerts"]) == 12
    assert by_keywords == []  # was 12 alerts and 12 events
    stored = Alert.objects.filter(incident_id=body["id"]).order_by("rank")
    assert [(alert.responder_id, alert.rank, alert.state, alert.version) for alert in stored] == [
        (alert["responder_id"], alert["rank"], "alerted", 1) for alert in body["alerts"]
    ]
    assert ResponderEvent.objects.filter(type="alert.created", data__alert__incident_id=body["id"]).count() == 12


def test_the_alerted_are_locked_as_they_are_loaded_not_by_a_statement_of_their_own(cad, big_station):
    """Their events' storing locks the responders' rows (in id order) unless the transaction has:
    the read that loads those chosen locks them (FOR UPDATE OF the responders, in id order, on
    PostgreSQL), and the separate lock statement is gone (one round trip)."""
    client = token_client_for(cad)
    create_and_dispatch(client, "WARM-UP")
    with CaptureQueriesContext(connection) as queries:
        create_and_dispatch(client, "EEAST-0001")
    statements = [q["sql"] for q in queries.captured_queries]
    lock_apart = 'SELECT "accounts_responder"."id" FROM "accounts_responder" WHERE "accounts_responder"."id" IN'
    assert not [sql for sql in statements if sql.startswith(lock_apart)]  # was one, before the events' insert
    (loading,) = [
        sql for sql in statements if sql.startswith('SELECT "accounts_responder"."id", "accounts_responder"."user_id"')
    ]
    if connection.vendor == "postgresql":
        assert loading.endswith('ORDER BY "accounts_responder"."id" ASC FOR UPDATE OF "accounts_responder"')
    else:
        assert loading.endswith('ORDER BY "accounts_responder"."id" ASC')  # SQLite: BEGIN IMMEDIATE's lock


def test_its_input_serializer_deep_copies_no_field(cad, big_station, monkeypatch):
    """DRF deep-copies each declared field for every serializer made (each field's __init__ run
    again on deep copies of its arguments): the CAD's input serializer copies them shallowly. Its
    answers to bad input are the same, call after call."""
    from rest_framework import fields

    client = token_client_for(cad)
    create_and_dispatch(client, "WARM-UP")
    deep_copies = []
    original = fields.Field.__deepcopy__

    def counted(self, memo):
        deep_copies.append(type(self).__name__)
        return original(self, memo)

    monkeypatch.setattr(fields.Field, "__deepcopy__", counted)
    create_and_dispatch(client, "EEAST-0001")
    assert deep_copies == []  # was one per field: 10
    latitude, longitude = NORWICH_INCIDENT
    for _ in range(2):
        bad = {"cad_reference": "no spaces", "latitude": 91, "longitude": longitude, "address": "x", "dispatch": "yes"}
        response = client.post("/api/v1/incidents/", bad, format="json")
        assert response.status_code == 400
        errors = response.json()["error"]["fields"]
        assert errors["cad_reference"] == ["Use letters, digits and / _ . - only."]
        assert set(errors) == {"cad_reference", "latitude", "dispatch"}
    body = {"cad_reference": "EEAST-0002", "latitude": latitude, "longitude": longitude, "address": "3 Elm Hill"}
    response = client.post("/api/v1/incidents/", {**body, "what3words": "///filled.count.soap"}, format="json")
    assert response.status_code == 201 and response.json()["what3words"] == "///filled.count.soap"
