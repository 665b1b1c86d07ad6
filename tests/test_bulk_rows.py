"""backend/bulk_rows.py: the dispatch's rows inserted in database form without the ORM's
per-field preparation must be the rows the ORM writes. Each model the dispatch writes this way is
written once by `bulk_create` and once by `insert_rows` from equal instances, and the stored rows are
read back raw (the database's own forms: SQLite's text datetimes and JSON, PostgreSQL's types) and
compared column by column, every column but the id. The PostgreSQL pass runs the same tests."""

import datetime
from collections import Counter

import pytest
from django.db import connection
from django.db.models.signals import post_init
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backend.audit.log import new_alert_entries, record_alert_changes
from backend.audit.models import AuditAction, AuditEntry
from backend.bulk_rows import insert_rows, insert_values, new_instance
from backend.delivery.models import Channel, Delivery, DeliveryState, Kind, PushDevice
from backend.delivery.subscriptions import subscribe_device
from backend.dispatch.models import Alert, AlertState, DeclineReason, DistanceFrom, StandDownReason
from backend.realtime.models import ResponderEvent
from tests.conftest import browser_subscription

NOW = datetime.datetime(2026, 12, 5, 21, 30, 15, 123456, tzinfo=datetime.UTC)
EARLIER = NOW - datetime.timedelta(minutes=3, microseconds=7)


@pytest.fixture
def frozen_now(monkeypatch):
    """auto_now_add columns (created_at) stamped with one known time by either path."""
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    return NOW


def raw_rows(model, pks) -> list[tuple]:
    """The stored rows of `model` with these ids, in id order, as the database driver returns them,
    every column but the id."""
    meta = model._meta
    columns = [field.column for field in meta.concrete_fields if field is not meta.pk]
    quote = connection.ops.quote_name
    placeholders = ", ".join(["%s"] * len(pks))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(quote(c) for c in columns)} FROM {quote(meta.db_table)} "  # noqa: S608 (the model's names)
            f"WHERE {quote(meta.pk.column)} IN ({placeholders}) ORDER BY {quote(meta.pk.column)}",
            pks,
        )
        return [tuple(row) for row in cursor.fetchall()]


def written_both_ways(model, make_instances, *, remove_between=False):
    """(rows bulk_create wrote, rows insert_rows wrote) for two lists of equal instances, and the
    instances insert_rows wrote. `remove_between`: the first rows are deleted before the second
    are written (for tables with unique constraints)."""
    by_orm = model.objects.bulk_create(make_instances())
    orm_rows = raw_rows(model, [instance.pk for instance in by_orm])
    if remove_between:
        model.objects.filter(pk__in=[instance.pk for instance in by_orm]).delete()
    by_helper = insert_rows(make_instances())
    return orm_rows, raw_rows(model, [instance.pk for instance in by_helper]), by_helper


def assert_same_rows(orm_rows, helper_rows):
    assert len(helper_rows) == len(orm_rows) > 0
    for orm_row, helper_row in zip(orm_rows, helper_rows, strict=True):
        assert helper_row == orm_row


def assert_read_back_equal(model, instances):
    """What the ORM reads back is what the instances hold: their ids were set from the rows, in order."""
    for instance in instances:
        assert instance._state.adding is False and instance._state.db == "default"
        stored = model.objects.get(pk=instance.pk)
        for field in model._meta.concrete_fields:
            assert getattr(stored, field.attname) == getattr(instance, field.attname), field.name


def alerts_for(incident, responders):
    def make():
        return [
            Alert(
                incident=incident,
                responder=responder,
                station_id=responder.station_id,
                distance_km=1.234 + index,
                distance_from=DistanceFrom.POSITION if index % 2 else DistanceFrom.STATION,
                rank=index + 1,
                alerted_at=NOW,
                **(
                    {
                        "state": AlertState.DECLINED,
                        "version": 3,
                        "decline_reason": DeclineReason.OTHER,
                        "decline_note": "Zu weit — trop loin, 'quoted' \"twice\"",
                        "received_at": EARLIER,
                        "declined_at": NOW,
                        "stood_down_reason": StandDownReason.COORDINATOR,
                        "summary_due": False,
                    }
                    if index == 1
                    else {}
                ),
            )
            for index, responder in enumerate(responders)
        ]

    return make


def test_alerts_are_written_as_the_orm_writes_them(incident, alice, bob, charlie, frozen_now):
    orm_rows, helper_rows, alerts = written_both_ways(
        Alert, alerts_for(incident, [alice, bob, charlie]), remove_between=True
    )
    assert_same_rows(orm_rows, helper_rows)
    assert_read_back_equal(Alert, alerts)


def test_audit_entries_are_written_as_the_orm_writes_them_over_several_statements(carol, frozen_now):
    """Enough rows that SQLite's 999 parameters take more than one statement: the ids still follow
    the instances' order."""

    def make():
        return [
            AuditEntry(
                at=NOW,
                actor=carol if index % 3 else None,
                actor_username="carol" if index % 3 else "",
                role="coordinator" if index % 3 else "system",
                action=AuditAction.ALERT_STATE,
                object_type="alert",
                object_id=str(index),
                incident_id=index if index % 5 else None,
                channel="api",
                ip_address=("203.0.113.7", "::ffff:192.0.2.1", None, "2001:db8::1")[index % 4],
                detail={"state": "alerted", "n": index, "nested": {"ok": True, "text": "é"}} if index % 7 else {},
            )
            for index in range(200)
        ]

    with CaptureQueriesContext(connection) as queries:
        orm_rows, helper_rows, entries = written_both_ways(AuditEntry, make)
    inserts = [q for q in queries.captured_queries if q["sql"].startswith('INSERT INTO "audit_auditentry"')]
    assert len(inserts) % 2 == 0  # as many statements for either path
    assert_same_rows(orm_rows, helper_rows)
    assert [entry.object_id for entry in entries] == [str(index) for index in range(200)]
    assert_read_back_equal(AuditEntry, entries)


def test_stored_events_are_written_as_the_orm_writes_them(alice, bob, frozen_now):
    def make():
        return [
            ResponderEvent(responder_id=responder.pk, type="alert.created", data={"alert": {"id": 7, "tag": "ü"}})
            for responder in (alice, bob)
        ]

    orm_rows, helper_rows, events = written_both_ways(ResponderEvent, make)
    assert_same_rows(orm_rows, helper_rows)
    assert all(event.created_at == NOW for event in events)  # auto_now_add, as pre_save stamps it
    assert_read_back_equal(ResponderEvent, events)


def test_push_deliveries_are_written_as_the_orm_writes_them(incident, alice, bob, frozen_now):
    devices = []
    for responder in (alice, bob):
        subscription = browser_subscription(f"https://fcm.googleapis.com/fcm/send/{responder.pk}")
        device, _created = subscribe_device(
            actor=responder.user, endpoint=subscription["endpoint"], label="phone", **subscription["keys"]
        )
        devices.append(device)
    alerts = insert_rows(alerts_for(incident, [alice, bob])())

    def make():
        return [
            Delivery(
                alert=alert,
                channel=Channel.WEBPUSH,
                kind=Kind.ALERT if index == 0 else Kind.STAND_DOWN,
                device=device,
                round=1 + index,
                next_attempt_at=NOW,
                target="fcm.googleapis.com",
                **({"state": DeliveryState.SENT, "attempts": 2, "last_status": 201} if index else {}),
            )
            for index, (alert, device) in enumerate(zip(alerts, devices, strict=True))
        ]

    orm_rows, helper_rows, deliveries = written_both_ways(Delivery, make, remove_between=True)
    assert_same_rows(orm_rows, helper_rows)
    assert_read_back_equal(Delivery, deliveries)
    assert PushDevice.objects.count() == 2


def test_a_related_object_saved_after_it_was_assigned_lends_its_id(incident, alice, frozen_now):
    alert = Alert(
        incident=incident, responder=alice, station_id=alice.station_id, distance_km=1, rank=1, alerted_at=NOW
    )
    delivery = Delivery(alert=alert, channel=Channel.SMS, next_attempt_at=NOW)
    insert_rows([alert])
    insert_rows([delivery])
    assert Delivery.objects.get(pk=delivery.pk).alert_id == alert.pk


def test_it_refuses_an_unsaved_related_object_and_a_row_already_written(incident, alice, frozen_now):
    alert = Alert(
        incident=incident, responder=alice, station_id=alice.station_id, distance_km=1, rank=1, alerted_at=NOW
    )
    with pytest.raises(ValueError, match="not saved yet"):
        insert_rows([Delivery(alert=alert, channel=Channel.SMS, next_attempt_at=NOW)])
    insert_rows([alert])
    with pytest.raises(ValueError, match="new Alert instances only"):
        insert_rows([alert])
    assert Delivery.objects.count() == 0 and Alert.objects.count() == 1


@pytest.mark.skipif(connection.vendor != "sqlite", reason="every PostgreSQL Django supports returns the ids")
def test_without_returning_the_rows_go_one_at_a_time_with_the_same_values(alice, bob, frozen_now, monkeypatch):
    """An SQLite older than 3.35 cannot return the ids of a multi-row insert: a row at a time."""

    def make():
        return [
            ResponderEvent(responder_id=responder.pk, type="alert.created", data={"n": 1}) for responder in (alice, bob)
        ]

    by_orm = ResponderEvent.objects.bulk_create(make())
    monkeypatch.setattr(type(connection.features), "can_return_rows_from_bulk_insert", False)
    with CaptureQueriesContext(connection) as queries:
        events = insert_rows(make())
    assert len([q for q in queries.captured_queries if q["sql"].startswith("INSERT")]) == 2
    assert_same_rows(raw_rows(ResponderEvent, [e.pk for e in by_orm]), raw_rows(ResponderEvent, [e.pk for e in events]))
    assert_read_back_equal(ResponderEvent, events)


def test_it_stamps_the_time_it_is_given(alice):
    """An incident created and dispatched at once holds one instant in both columns."""
    given = NOW - datetime.timedelta(seconds=5)
    (event,) = insert_rows([ResponderEvent(responder_id=alice.pk, type="alert.created", data={})], now=given)
    assert event.created_at == given == ResponderEvent.objects.get(pk=event.pk).created_at


def audit_rows(index: int, carol) -> dict:
    return {
        "at": NOW,
        "actor_id": carol.pk if index % 3 else None,
        "actor_username": "carol" if index % 3 else "",
        "role": "coordinator" if index % 3 else "system",
        "action": AuditAction.ALERT_STATE,
        "object_type": "alert",
        "object_id": str(index),
        "incident_id": index if index % 5 else None,
        "channel": "api",
        "ip_address": ("203.0.113.7", "::ffff:192.0.2.1", None, "2001:db8::1")[index % 4],
        **({"detail": {"state": "alerted", "n": index, "nested": {"ok": True, "text": "é"}}} if index % 7 else {}),
    }


def test_rows_given_as_values_are_written_as_the_orm_writes_them_with_no_instance_built(carol, frozen_now):
    """insert_values (the audit trail's many entries): the same rows as bulk_create of instances made
    from the same values (a field not given, `detail`, takes its default), the ids in order, and no
    AuditEntry built on the way (post_init)."""
    built = []

    def count(sender, instance, **kwargs):
        built.append(instance)

    post_init.connect(count, sender=AuditEntry)
    try:
        with CaptureQueriesContext(connection) as queries:
            pks = insert_values(AuditEntry, [audit_rows(index, carol) for index in range(200)])
    finally:
        post_init.disconnect(count, sender=AuditEntry)
    assert built == []
    inserts = [q for q in queries.captured_queries if q["sql"].startswith('INSERT INTO "audit_auditentry"')]
    assert len(inserts) == (1 if connection.vendor == "postgresql" else 3)  # SQLite: 999 parameters a statement
    by_orm = AuditEntry.objects.bulk_create([AuditEntry(**audit_rows(index, carol)) for index in range(200)])
    assert_same_rows(raw_rows(AuditEntry, [entry.pk for entry in by_orm]), raw_rows(AuditEntry, pks))
    assert list(AuditEntry.objects.filter(pk__in=pks).order_by("pk").values_list("object_id", flat=True)) == [
        str(index) for index in range(200)
    ]
    assert insert_values(AuditEntry, [audit_rows(1, carol)], returning=False) is None
    with pytest.raises(ValueError, match="no such column"):
        insert_values(AuditEntry, [{**audit_rows(1, carol), "actor": carol}])


def test_rows_given_as_values_ask_a_columns_plain_default_once_not_once_a_row(incident, alice, monkeypatch):
    """A dispatch's 200 deliveries name 7 of their 20 columns: each other column's default was asked
    (and converted) once a row. A default that is a plain value is the same for every row; only a
    callable one (a JSON column's dict) is asked again for each row."""
    from django.db.models import Field, ForeignKey

    asked = []
    for cls in (Field, ForeignKey):
        original = cls.get_default

        def counting(self, original=original):
            asked.append(self.attname)
            return original(self)

        monkeypatch.setattr(cls, "get_default", counting)
    [alert] = Alert.objects.bulk_create(
        [Alert(incident=incident, responder=alice, station=alice.station, rank=1, distance_km=1.0, alerted_at=NOW)]
    )
    asked.clear()  # the alert's own
    rows = [{"alert_id": alert.pk, "channel": Channel.SMS, "round": n, "next_attempt_at": NOW} for n in range(1, 101)]
    insert_values(Delivery, rows, returning=False)
    # Once a column (a foreign key's counts twice: ForeignKey.get_default asks Field's), not 100 times.
    assert max(Counter(asked).values()) <= 2
    assert Delivery.objects.filter(alert=alert, state=DeliveryState.PENDING, attempts=0, kind=Kind.ALERT).count() == 100


def test_new_instances_take_a_plain_default_as_read_once_and_a_callable_ones_afresh(incident, alice, monkeypatch):
    """new_instance for a dispatch's 200 alerts asked each of 15 fields' default once an alert; a
    plain default is now read once for the model, a callable default (a JSON column's dict) still
    called for each instance, so no two instances share one mutable value."""
    from django.db.models import Field, ForeignKey

    new_instance(Alert, incident=incident, responder=alice, station_id=alice.station_id, rank=1)  # the plan
    asked = []
    for cls in (Field, ForeignKey):
        original = cls.get_default

        def counting(self, original=original):
            asked.append(self.attname)
            return original(self)

        monkeypatch.setattr(cls, "get_default", counting)
    alerts = [
        new_instance(Alert, incident=incident, responder=alice, station_id=alice.station_id, rank=n) for n in range(50)
    ]
    assert asked == []
    assert {(a.state, a.version, a.decline_note) for a in alerts} == {(AlertState.ALERTED, 1, "")}
    entries = [new_instance(AuditEntry, at=NOW, role="system", action=AuditAction.VIEW) for _ in range(2)]
    assert entries[0].detail == {} and entries[0].detail is not entries[1].detail


def test_one_row_of_another_model_per_row_is_written_with_them(incident, alice, bob, charlie, carol, frozen_now):
    """An alert's audit entry written with the alert (insert_rows' one_per_row): the entries
    record_alert_changes writes for the same alerts, each naming its alert by its new id, in the
    alerts' order; on PostgreSQL in the alerts' own statement (one round trip), elsewhere after it."""
    make_any = alerts_for(incident, [alice, bob, charlie])

    def make():
        alerts = make_any()
        for alert in alerts:
            alert.state = AlertState.ALERTED  # one state for all, as a dispatch's new alerts
        return alerts

    by_orm = Alert.objects.bulk_create(make())
    record_alert_changes(carol, by_orm)
    alert_entries = AuditEntry.objects.filter(object_type="alert")  # not the incident's own entry
    expected = raw_rows(AuditEntry, list(alert_entries.order_by("pk").values_list("pk", flat=True)))
    Alert.objects.filter(pk__in=[alert.pk for alert in by_orm]).delete()
    alerts = make()
    entries = new_alert_entries(carol, incident_id=incident.pk, state=AlertState.ALERTED)
    with CaptureQueriesContext(connection) as queries:
        insert_rows(alerts, one_per_row=entries)
    statements = [q["sql"] for q in queries.captured_queries]
    if connection.vendor == "postgresql":
        assert len(statements) == 1 and 'INSERT INTO "audit_auditentry"' in statements[0]
    else:
        assert [sql.split(" (")[0] for sql in statements] == [
            'INSERT INTO "dispatch_alert"',
            'INSERT INTO "audit_auditentry"',
        ]
    assert_read_back_equal(Alert, alerts)
    new_entries = AuditEntry.objects.filter(object_id__in=[str(alert.pk) for alert in alerts]).order_by("pk")
    assert [entry.object_id for entry in new_entries] == [str(alert.pk) for alert in alerts]
    columns = [field.column for field in AuditEntry._meta.concrete_fields if field is not AuditEntry._meta.pk]
    ignored = {columns.index("object_id")}
    written = raw_rows(AuditEntry, [entry.pk for entry in new_entries])
    assert [[v for i, v in enumerate(row) if i not in ignored] for row in written] == [
        [v for i, v in enumerate(row) if i not in ignored] for row in expected
    ]


def test_an_instance_built_by_position_is_the_one_built_by_keywords(incident, alice):
    """new_instance (the dispatch's alerts and events): Model.__init__'s positional path gives the
    instance the keyword path gives, its related objects cached, its other fields' defaults."""
    values = {
        "incident": incident,
        "responder": alice,
        "station_id": alice.station_id,
        "distance_km": 1.5,
        "distance_from": DistanceFrom.POSITION,
        "rank": 2,
        "alerted_at": NOW,
    }
    by_keywords, by_position = Alert(**values), new_instance(Alert, **values)

    def state(alert):
        fields = {key: value for key, value in vars(alert).items() if key != "_state"}
        return fields, alert._state.adding, alert._state.db, alert._state.fields_cache

    assert state(by_position) == state(by_keywords)
    assert by_position.incident is incident and by_position.responder is alice
    assert by_position.state == AlertState.ALERTED and by_position.version == 1 and by_position.summary_due is True
    event = new_instance(ResponderEvent, responder_id=alice.pk, type="alert.created", data={"n": 1})
    assert vars(event) | {"_state": None} == vars(
        ResponderEvent(responder_id=alice.pk, type="alert.created", data={"n": 1})
    ) | {"_state": None}
    with pytest.raises(TypeError, match="no field"):
        new_instance(Alert, colour="red")


AWKWARD_TEXTS = ['"quoted"', "it's", "back\\slash", "{braces}", "a,b", "NULL", "", "line\nbreak", "é ü 🚒", " spaced "]


def test_awkward_values_come_back_as_they_went(alice, bob, frozen_now):
    """Text and JSON that an array literal must escape (PostgreSQL's rows travel as arrays): quotes,
    backslashes, braces, commas, the word NULL, empty text, JSON that is a list or a string."""
    responders = [alice, bob]
    datas = [{"text": text, "list": [text, None, 1.5], "nested": {"k": text}} for text in AWKWARD_TEXTS] + [
        ["a", "list"],
        "a string",
        0,
        {"": "empty key"},
    ]
    events = [
        new_instance(
            ResponderEvent, responder=responders[index % 2], type=AWKWARD_TEXTS[index % len(AWKWARD_TEXTS)], data=data
        )
        for index, data in enumerate(datas)
    ]
    insert_rows(events)
    stored = list(ResponderEvent.objects.filter(pk__in=[event.pk for event in events]).order_by("pk"))
    assert [(event.responder_id, event.type, event.data) for event in stored] == [
        (responders[index % 2].pk, AWKWARD_TEXTS[index % len(AWKWARD_TEXTS)], data) for index, data in enumerate(datas)
    ]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's rows travel as one JSON document")
def test_on_postgresql_the_statement_is_the_same_text_for_any_number_of_rows(incident, alice, bob, charlie, carol):
    """psycopg splits a statement at its placeholders on every call once it has more than 50 (the
    limit of its cache): a dispatch's alerts with their audit entries as VALUES rows had 430. As one
    JSON document of the rows, the text is the same for 2 rows as for 3 (or 20), and the rows are
    one parameter, which psycopg does not convert value by value in Python (as it did an array a
    column); rows with a JSON column go so too."""
    texts = []

    def keep_text(execute, sql, params, many, context):
        texts.append((sql, len(params)))
        return execute(sql, params, many, context)

    entries = new_alert_entries(carol, incident_id=incident.pk, state="alerted")
    with connection.execute_wrapper(keep_text):
        first = insert_rows(alerts_for(incident, [alice, bob])(), one_per_row=entries)
        Alert.objects.filter(pk__in=[alert.pk for alert in first]).delete()
        insert_rows(alerts_for(incident, [bob, charlie, alice])(), one_per_row=entries)
        insert_values(ResponderEvent, [{"responder_id": alice.pk, "type": "x", "data": {}}] * 2)
    inserts = [(sql, count) for sql, count in texts if sql.startswith(("INSERT", "WITH"))]
    (alerts_sql, alerts_params), (again_sql, again_params), (events_sql, events_params) = inserts
    assert alerts_sql == again_sql and "jsonb_array_elements" in alerts_sql
    audit_values = len([field for field in AuditEntry._meta.concrete_fields if not field.primary_key]) - 1
    assert alerts_params == again_params == 1 + audit_values  # the rows, and the audit entry's values
    assert "jsonb_array_elements" in events_sql and events_params == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's rows travel as one JSON document")
def test_a_value_with_no_json_form_goes_as_arrays_and_comes_back_as_it_went(incident, alice, bob):
    """JSON has no infinity: rows holding one are written as an array a column instead."""
    texts = []

    def keep_text(execute, sql, params, many, context):
        texts.append(sql)
        return execute(sql, params, many, context)

    alerts = alerts_for(incident, [alice, bob])()
    alerts[1].distance_km = float("inf")
    with connection.execute_wrapper(keep_text):
        insert_rows(alerts)
    assert any("UNNEST" in sql for sql in texts)
    stored = Alert.objects.filter(pk__in=[alert.pk for alert in alerts]).order_by("pk")
    assert [alert.distance_km for alert in stored] == [alerts[0].distance_km, float("inf")]


def test_floats_come_back_as_the_same_doubles(incident, alice, bob, charlie):
    """On PostgreSQL each float travels as the shortest text that reads back as it (JSON), through
    jsonb's exact decimal, to double precision: the same double, whatever its digits."""
    awkward = [1 / 3, 0.1 + 0.2, 1e-7]
    alerts = alerts_for(incident, [alice, bob, charlie])()
    for alert, distance in zip(alerts, awkward, strict=True):
        alert.distance_km = distance
    insert_rows(alerts)
    stored = Alert.objects.filter(pk__in=[alert.pk for alert in alerts]).order_by("pk")
    assert [alert.distance_km for alert in stored] == awkward


def test_each_instance_gets_the_key_of_its_own_row(incident, alice, bob, charlie):
    """The keys come back in the rows' order (PostgreSQL: the document's ORDINALITY), so each
    instance holds its own row's key, not a neighbour's."""
    alerts = alerts_for(incident, [charlie, alice, bob])()
    insert_rows(alerts)
    stored = {alert.pk: alert for alert in Alert.objects.filter(pk__in=[alert.pk for alert in alerts])}
    assert [(stored[alert.pk].responder_id, stored[alert.pk].rank) for alert in alerts] == [
        (alert.responder_id, alert.rank) for alert in alerts
    ]
