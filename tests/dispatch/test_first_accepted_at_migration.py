"""Migration dispatch/0017 fills in Alert.first_accepted_at for the alerts made before it: from the
acceptance time, or, where a re-alert cleared it, from the audit trail's earliest "accepted" entry
for the alert (the earlier of the two where both say). Never accepted: left empty. After it the
product keeps the field itself and never reads the trail for it (test_dropped_out_after_realert.py)."""

import datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from backend.audit.models import AuditAction, AuditEntry
from backend.dispatch.models import Alert

BEFORE = "0016_incident_alarm_message"
AFTER = "0017_alert_first_accepted_at"
START = timezone.now() - datetime.timedelta(days=3)


def at(minutes: float) -> datetime.datetime:
    return START + datetime.timedelta(minutes=minutes)


def migrate(target):
    """The models as they are at `target`, once the database is migrated to it."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([("dispatch", target)])
    return executor.loader.project_state([("dispatch", target)]).apps


@pytest.fixture(autouse=True)
def back_to_the_latest_schema():
    """The tests that follow on the same database need today's schema."""
    yield
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


def old_alert(apps, incident, responder, rank, **times):
    return apps.get_model("dispatch", "Alert").objects.create(
        incident_id=incident.pk,
        responder_id=responder.pk,
        station_id=responder.station_id,
        rank=rank,
        distance_km=1.0,
        alerted_at=at(0),
        **times,
    )


def trail(alert, state, minutes, *, object_id=None) -> None:
    """An ALERT_STATE entry for the alert, as record_alert_changes writes them."""
    AuditEntry.objects.create(
        at=at(minutes),
        role="firefighter",
        action=AuditAction.ALERT_STATE,
        object_type="alert",
        object_id=str(alert.pk) if object_id is None else object_id,
        incident_id=alert.incident_id,
        channel="api",
        detail={"state": state},
    )


@pytest.mark.django_db(transaction=True)
def test_the_migration_fills_in_who_accepted_before_it(incident, alice, bob, charlie, dave):
    old_apps = migrate(BEFORE)
    try:
        # Accepted, and still so: the acceptance time (its entry a moment later, as when written).
        accepted = old_alert(old_apps, incident, alice, 1, state="accepted", accepted_at=at(1))
        trail(accepted, "accepted", 1.01)
        # Accepted, stood down and alerted again: the re-alert cleared accepted_at; the trail says.
        realerted = old_alert(old_apps, incident, bob, 2, state="alerted", realerted_at=at(5))
        trail(realerted, "accepted", 2)
        trail(realerted, "stood_down", 3)
        trail(realerted, "alerted", 5)
        # Accepted, alerted again and accepted again: first accepted before its accepted_at.
        again = old_alert(old_apps, incident, charlie, 3, state="accepted", accepted_at=at(6), realerted_at=at(5))
        trail(again, "accepted", 2.5)
        trail(again, "accepted", 6.01)
        # Never accepted.
        declined = old_alert(old_apps, incident, dave, 4, state="declined", declined_at=at(1))
        trail(declined, "declined", 1)
        trail(declined, "accepted", 2, object_id="not-an-alert")
    finally:
        migrate(AFTER)

    first = dict(Alert.objects.values_list("pk", "first_accepted_at"))
    assert first[accepted.pk] == at(1)
    assert first[realerted.pk] == at(2)
    assert first[again.pk] == at(2.5)
    assert first[declined.pk] is None
