"""Migration 0009 lets the crew's compressions and defibrillator, and whether the collapse time is
an estimate, be not known (null) and rewrites nothing: a record made before it keeps its yes and
its no (for those records an unanswered question was stored as no, and cannot now be told from
one: docs/registry.md)."""

import datetime
import uuid

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from backend.records import payloads, validation
from backend.records.models import Outcome, RecordKind

BEFORE = [("records", "0008_outcome_at_handover_not_known")]
AFTER = [("records", "0009_outcome_crew_actions_not_known")]
CREW_ACTIONS = ("compressions", "defibrillator_applied", "collapse_time_estimated")


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture(autouse=True)
def back_to_the_latest_schema():
    yield
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_records_made_before_keep_their_answers_and_new_ones_may_be_not_known(incident, erin):
    old_apps = migrate(BEFORE)
    try:
        OldOutcome = old_apps.get_model("records", "Outcome")
        now = timezone.now()
        old = OldOutcome.objects.create(
            incident_id=incident.pk,
            station_id=erin.station_id,
            idempotency_key=uuid.uuid4(),
            body_hash="0" * 64,
            submitted_at=now,
            updated_at=now,
            resuscitation_attempted=True,
            compressions=True,  # defibrillator_applied: the old default, False
            collapse_at=incident.created_at - datetime.timedelta(minutes=5),
            collapse_time_estimated=False,
        )
    finally:
        migrate(AFTER)
    record = Outcome.objects.get(pk=old.pk)
    assert [getattr(record, name) for name in CREW_ACTIONS] == [True, False, False]
    validation.check(
        RecordKind.OUTCOME, payloads.field_values(RecordKind.OUTCOME, record), incident=incident, now=timezone.now()
    )
    Outcome.objects.filter(pk=old.pk).update(defibrillator_applied=None, collapse_time_estimated=None)
    record = Outcome.objects.get(pk=old.pk)
    assert (record.defibrillator_applied, record.collapse_time_estimated) == (None, None)
