"""Migration delivery/0007: a phone that showed an alert before last_proven_at was kept is proven
by its latest receipt; a later proof already recorded is not moved back."""

import datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from backend.delivery.models import Delivery, Kind, PushDevice
from backend.delivery.subscriptions import subscribe_device
from backend.dispatch.actions import dispatch_incident
from tests.conftest import browser_subscription


def migrate(target):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([("delivery", target)])


def device_of(responder) -> PushDevice:
    endpoint = f"https://fcm.googleapis.com/fcm/send/{responder.user.username}-backfill"
    device, _ = subscribe_device(
        actor=responder.user, endpoint=endpoint, label="phone", **browser_subscription(endpoint)["keys"]
    )
    return device


@pytest.mark.django_db(transaction=True)
def test_the_latest_receipt_of_each_phone_becomes_its_proof(incident, carol, alice, bob):
    shown = timezone.now() - datetime.timedelta(days=2)
    later_proof = timezone.now() - datetime.timedelta(hours=1)
    alices, bobs = device_of(alice), device_of(bob)
    dispatch_incident(actor=carol, incident_id=incident.pk)
    migrate("0006_devicecheck_failure_code")
    try:
        Delivery.objects.filter(device__in=[alices, bobs], kind=Kind.ALERT).update(shown_at=shown)
        PushDevice.objects.filter(pk=alices.pk).update(last_proven_at=None)
        PushDevice.objects.filter(pk=bobs.pk).update(last_proven_at=later_proof)
    finally:
        migrate("0007_backfill_last_proven_at")
    assert PushDevice.objects.get(pk=alices.pk).last_proven_at == shown
    assert PushDevice.objects.get(pk=bobs.pk).last_proven_at == later_proof
