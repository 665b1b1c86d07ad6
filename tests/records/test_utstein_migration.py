"""Migration 0006 (the Utstein core, issue 16) keeps the records made before it as they were: the
new items take their defaults, no stored value is rewritten, and the record still passes the
form's rules."""

import datetime
import uuid

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from backend.records import payloads, validation
from backend.records.models import Outcome, RecordKind

BEFORE = [("records", "0005_welfare_email_retry")]
AFTER = [("records", "0006_utstein_core_and_cad_times")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture(autouse=True)
def back_to_the_latest_schema():
    """Later migrations change columns too (0008: the outcome at handover may be null): the tests
    run after this one need the schema of today."""
    yield
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_an_outcome_made_before_the_utstein_core_keeps_its_values_and_stays_valid(incident, erin):
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
            location_type="public_place",
            witnessed="crew",
            first_cpr_by="bystander",
            crew_arrived_at=incident.created_at + datetime.timedelta(seconds=30),
        )
    finally:
        migrate(AFTER)
    record = Outcome.objects.get(pk=old.pk)
    assert (record.location_type, record.witnessed, record.first_cpr_by) == ("public_place", "crew", "bystander")
    assert record.presumed_cause == "" and record.collapse_at is None and record.collapse_time_estimated is False
    assert record.first_cpr_at is None and record.first_shock_any_at is None
    assert record.public_defibrillator_first_shock_at is None
    values = payloads.field_values(RecordKind.OUTCOME, record)
    validation.check(RecordKind.OUTCOME, values, incident=record.incident, now=timezone.now())
