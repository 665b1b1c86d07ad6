"""Migration dispatch/0023 fills in Alert.first_en_route_at for the alerts made before it: from the
en-route time, or, where a re-alert cleared it, from the audit trail's earliest "en_route" entry for
the alert (the earlier of the two where both say). Never set off: left empty. After it the product
keeps the field itself (tests/records/test_set_off_before_a_realert.py)."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from backend.dispatch.models import Alert
from tests.dispatch.test_first_accepted_at_migration import at, migrate, old_alert, trail

BEFORE = "0022_position_stopped"
AFTER = "0023_alert_first_en_route_at"


@pytest.fixture(autouse=True)
def back_to_the_latest_schema():
    """The tests that follow on the same database need today's schema."""
    yield
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_the_migration_fills_in_who_set_off_before_it(incident, alice, bob, charlie, dave):
    old_apps = migrate(BEFORE)
    try:
        # En route, and still so: the en-route time.
        going = old_alert(old_apps, incident, alice, 1, state="en_route", accepted_at=at(1), en_route_at=at(2))
        trail(going, "en_route", 2.01)
        # Set off, stood down and alerted again: the re-alert cleared en_route_at; the trail says.
        realerted = old_alert(old_apps, incident, bob, 2, state="alerted", realerted_at=at(5))
        trail(realerted, "accepted", 1)
        trail(realerted, "en_route", 2)
        trail(realerted, "stood_down", 3)
        trail(realerted, "alerted", 5)
        # Set off again after a re-alert: first set off before its en_route_at.
        again = old_alert(old_apps, incident, charlie, 3, state="en_route", en_route_at=at(7), realerted_at=at(5))
        trail(again, "en_route", 2.5)
        trail(again, "en_route", 7.01)
        # Never set off.
        stood_down = old_alert(old_apps, incident, dave, 4, state="stood_down", accepted_at=at(1))
        trail(stood_down, "accepted", 1)
        trail(stood_down, "en_route", 2, object_id="not-an-alert")
    finally:
        migrate(AFTER)

    first = dict(Alert.objects.values_list("pk", "first_en_route_at"))
    assert first[going.pk] == at(2)
    assert first[realerted.pk] == at(2)
    assert first[again.pk] == at(2.5)
    assert first[stood_down.pk] is None
