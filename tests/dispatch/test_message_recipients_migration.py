"""Migration dispatch/0019 fills in whom each message sent before it reaches (MessageRecipient) and
counts them (CrewMessage.recipient_count): those told when it was sent, from the audit trail's entry
send_crew_message wrote; those alerted to the incident since (first, or again); and any other who
acknowledged it. After it the product keeps them itself (test_message_reach.py)."""

import datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from backend.audit.models import AuditAction, AuditEntry
from backend.dispatch.models import CrewMessage, MessageRecipient

BEFORE = "0018_undispatched_alarm"
AFTER = "0019_message_recipients"
START = timezone.now() - datetime.timedelta(days=3)


def at(minutes: float) -> datetime.datetime:
    return START + datetime.timedelta(minutes=minutes)


def migrate(target):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([("dispatch", target)])
    return executor.loader.project_state([("dispatch", target)]).apps


@pytest.fixture(autouse=True)
def back_to_the_latest_schema():
    yield
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


def old_alert(apps, incident, responder, rank, state, **times):
    return apps.get_model("dispatch", "Alert").objects.create(
        incident_id=incident.pk,
        responder_id=responder.pk,
        station_id=responder.station_id,
        rank=rank,
        distance_km=1.0,
        state=state,
        alerted_at=times.pop("alerted_at", at(0)),
        **times,
    )


@pytest.mark.django_db(transaction=True)
def test_the_migration_counts_the_told_those_alerted_since_and_who_acknowledged(
    incident, carol, alice, bob, charlie, dave, erin
):
    old_apps = migrate(BEFORE)
    try:
        message_model = old_apps.get_model("dispatch", "CrewMessage")
        ack_model = old_apps.get_model("dispatch", "MessageAcknowledgement")
        told = old_alert(old_apps, incident, alice, 1, "accepted")
        # Declined before the message (not told), then acknowledged it anyway.
        declined = old_alert(old_apps, incident, bob, 2, "declined", declined_at=at(1))
        # Stood down before the message, alerted again after it.
        realerted = old_alert(old_apps, incident, charlie, 3, "alerted", realerted_at=at(5))
        # Alerted after it (a wider ring), acknowledged it: the trial's "Seen by 2 of 1".
        later = old_alert(old_apps, incident, dave, 4, "accepted", alerted_at=at(4))
        # Declined before it, never acknowledged: not reached.
        old_alert(old_apps, incident, erin, 5, "declined", declined_at=at(1))
        message = message_model.objects.create(
            incident_id=incident.pk, author_id=carol.pk, text="Rear door", sent_at=at(2), recipient_count=1
        )
        AuditEntry.objects.create(
            at=at(2),
            role="coordinator",
            action=AuditAction.CREATE,
            object_type="crew_message",
            object_id=str(message.pk),
            incident_id=incident.pk,
            channel="api",
            detail={"recipient_alert_ids": [told.pk], "length": 9},
        )
        for alert in (told, declined, later):
            ack_model.objects.create(message_id=message.pk, alert_id=alert.pk, acknowledged_at=at(6))
        # Made without the product (no trail entry): those alerted by then and still part of it.
        untraced = message_model.objects.create(
            incident_id=incident.pk, author_id=carol.pk, text="Ambulance on scene", sent_at=at(3), recipient_count=0
        )
    finally:
        migrate(AFTER)

    reached = set(MessageRecipient.objects.filter(message_id=message.pk).values_list("alert_id", flat=True))
    assert reached == {told.pk, declined.pk, realerted.pk, later.pk}
    assert CrewMessage.objects.get(pk=message.pk).recipient_count == 4
    untraced_reached = set(MessageRecipient.objects.filter(message_id=untraced.pk).values_list("alert_id", flat=True))
    assert untraced_reached == {told.pk, realerted.pk, later.pk}
    assert CrewMessage.objects.get(pk=untraced.pk).recipient_count == 3
