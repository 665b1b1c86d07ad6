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
    insert, three statements, none of them a queryset compiled for the call."""
    compiled = []
    original = SQLCompiler.as_sql
    monkeypatch.setattr(SQLCompiler, "as_sql", lambda self, *a, **k: compiled.append(1) or original(self, *a, **k))
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        stored = events.record_for_responders([bob.pk, alice.pk], "test.one", lambda rid: {"n": rid})
    assert compiled == []
    statements = [q["sql"] for q in queries.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]
    assert len(statements) == 3
    lock = statements[0]
    ids = sorted([alice.pk, bob.pk])
    assert lock.startswith('SELECT "accounts_responder"."id" FROM "accounts_responder"')
    assert f"IN ({ids[0]}, {ids[1]}) ORDER BY" in lock
    assert lock.endswith("FOR UPDATE") == connection.features.has_select_for_update
    assert [event.responder_id for event in stored] == ids
