"""The reads before a batch of stored events (backend/realtime/events.py): the responders' rows
locked and each one's newest event id, by SQL written once per process (issue 17 item 2)."""

import pytest
from django.db import connection, transaction
from django.db.models.sql.compiler import SQLCompiler
from django.test.utils import CaptureQueriesContext

from backend.realtime import events
from backend.realtime.models import ResponderEvent

pytestmark = pytest.mark.django_db


def test_the_newest_event_ids_are_each_responders_newest(alice, bob, charlie):
    with transaction.atomic():
        events.record_for_responders([alice.pk, bob.pk], "test.one", lambda rid: {"n": 1})
        events.record_for_responders([alice.pk], "test.two", lambda rid: {"n": 2})
    newest = events._newest_event_ids([alice.pk, bob.pk, charlie.pk])
    assert newest == {
        alice.pk: ResponderEvent.objects.filter(responder=alice).latest("id").pk,
        bob.pk: ResponderEvent.objects.filter(responder=bob).latest("id").pk,
        charlie.pk: None,
    }


def test_a_batch_locks_the_responders_in_id_order_and_compiles_no_queryset(alice, bob, monkeypatch):
    """Work done, not time: the lock (FOR UPDATE where the database has it), the newest ids and the
    insert, none of them a queryset compiled for the call: three statements, two on PostgreSQL,
    where the newest ids are read in the insert's statement."""
    compiled = []
    original = SQLCompiler.as_sql
    monkeypatch.setattr(SQLCompiler, "as_sql", lambda self, *a, **k: compiled.append(1) or original(self, *a, **k))
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        stored = events.record_for_responders([bob.pk, alice.pk], "test.one", lambda rid: {"n": rid})
    assert compiled == []
    statements = [q["sql"] for q in queries.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]
    assert len(statements) == (2 if connection.vendor == "postgresql" else 3)
    lock = statements[0]
    ids = sorted([alice.pk, bob.pk])
    assert lock.startswith('SELECT "accounts_responder"."id" FROM "accounts_responder"')
    assert f"IN ({ids[0]}, {ids[1]}) ORDER BY" in lock
    assert lock.endswith("FOR UPDATE") == connection.features.has_select_for_update
    assert [event.responder_id for event in stored] == ids


def test_each_event_is_sent_with_its_responders_newest_event_before_the_batch(alice, bob, charlie, monkeypatch):
    """previous_id: the responder's newest stored event before this batch (0 if none), never the
    event itself, whether read in a statement of its own or in the insert's (PostgreSQL)."""
    with transaction.atomic():
        events.record_for_responders([alice.pk, bob.pk], "test.one", lambda rid: {"n": 1})
        events.record_for_responders([alice.pk], "test.two", lambda rid: {"n": 2})
    before = {rid: events._newest_event_ids([rid])[rid] or 0 for rid in (alice.pk, bob.pk, charlie.pk)}
    sent = []
    monkeypatch.setattr(events, "send_on_commit", sent.extend)
    with transaction.atomic():
        stored = events.record_for_responders([charlie.pk, bob.pk, alice.pk], "test.three", lambda rid: {"n": 3})
    previous = {message["event_id"]: message["previous_id"] for _group, message in sent}
    assert previous == {event.pk: before[event.responder_id] for event in stored}
    assert sorted(previous.values()) == sorted([0, before[alice.pk], before[bob.pk]])
    assert all(before[event.responder_id] < event.pk for event in stored)


def test_on_postgresql_a_locked_batch_is_one_statement(alice, bob):
    """A dispatch locks the responders as it loads them (locked=True): its events' newest ids and
    their insert are one round trip on PostgreSQL (a data-modifying WITH), two elsewhere."""
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        events.record_for_responders([alice.pk, bob.pk], "test.one", lambda rid: {"n": rid}, locked=True)
    statements = [q["sql"] for q in queries.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]
    if connection.vendor == "postgresql":
        assert len(statements) == 1
        assert statements[0].startswith('WITH "new_rows" AS (INSERT INTO "realtime_responderevent"')
    else:
        assert len(statements) == 2


class CountedEncodings(dict):
    """A dict whose every encoding by json.dumps is counted: the C encoder takes a dict subclass's
    items through its items() method, once per encoding."""

    def __init__(self, *args, counter, **kwargs):
        super().__init__(*args, **kwargs)
        self.counter = counter

    def items(self):
        self.counter.append(1)
        return super().items()


AWKWARD_DATA = {"alert": {"id": 7, "name": 'Zoë "Q" O\'Neil \\ </script>', "none": None, "x": 1.5, "ok": True}}


def test_a_stored_events_data_is_encoded_once_for_its_row_and_its_frame(alice, bob, monkeypatch):
    """Work done, not time (issue 17): each event's data was encoded three times in a dispatch on
    PostgreSQL (its row's document, the rows' document around it, its frame), twice elsewhere."""
    encodings = []
    sent = []
    monkeypatch.setattr(events, "send_on_commit", sent.extend)
    with transaction.atomic():
        stored = events.record_for_responders(
            [alice.pk, bob.pk], "test.one", lambda rid: CountedEncodings(AWKWARD_DATA, counter=encodings)
        )
    assert len(encodings) == 2  # one a responder
    assert [event.data for event in stored] == [AWKWARD_DATA, AWKWARD_DATA]  # the value again, not its text
    assert not any(isinstance(event.data, str) for event in stored)


def test_a_stored_events_frame_is_its_envelope_as_it_was_encoded_whole(alice, bob, monkeypatch):
    """The frame is built around the data's text: the same characters as the envelope encoded
    whole, and what a replay of the stored row sends."""
    import json

    sent = []
    monkeypatch.setattr(events, "send_on_commit", sent.extend)
    with transaction.atomic():
        stored = events.record_for_responders([alice.pk, bob.pk], "test.one", lambda rid: {**AWKWARD_DATA, "rid": rid})
    texts = {message["event_id"]: message["text"] for _group, message in sent}
    for event in stored:
        data = {**AWKWARD_DATA, "rid": event.responder_id}
        whole = events.envelope(type="test.one", data=data, id=event.pk, sent_at=event.created_at)
        assert texts[event.pk] == json.dumps(whole, separators=(",", ":"))
        assert json.loads(texts[event.pk]) == events.stored_envelope(ResponderEvent.objects.get(pk=event.pk))
