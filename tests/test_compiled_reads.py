"""Rows with their related rows by SQL written once (backend/compiled_reads.py): the instances
select_related gives, and no queryset compiled to read them (issue 17 item 2)."""

import pytest
from django.db import connection
from django.db.models.sql.compiler import SQLCompiler
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backend.accounts.models import Responder
from backend.compiled_reads import JoinedLoad
from backend.delivery.models import Delivery, PushDevice
from backend.delivery.outbox import _DEVICES_WITH_SUBSCRIPTION, enqueue_pushes
from backend.delivery.subscriptions import subscribe_device
from backend.dispatch.actions import create_incident, dispatch_incident
from backend.dispatch.models import Alert
from tests.conftest import NORWICH_INCIDENT, browser_subscription

pytestmark = pytest.mark.django_db


def values_of(instance) -> dict:
    return {field.attname: getattr(instance, field.attname) for field in instance._meta.concrete_fields}


def subscribe(responder, name):
    keys = browser_subscription(f"https://push.example/{name}")["keys"]
    return subscribe_device(
        actor=responder.user, endpoint=f"https://fcm.googleapis.com/fcm/send/{name}", label=name, **keys
    )[0]


@pytest.fixture
def devices(alice, bob, charlie):
    return [subscribe(alice, "alice-phone"), subscribe(alice, "alice-tablet"), subscribe(bob, "bob-phone")]


@pytest.fixture
def count_compilations(monkeypatch):
    compiled = []
    original = SQLCompiler.as_sql
    monkeypatch.setattr(SQLCompiler, "as_sql", lambda self, *a, **k: compiled.append(1) or original(self, *a, **k))
    return compiled


def test_the_devices_are_select_relateds(devices, alice, bob, charlie):
    users = [alice.user_id, bob.user_id, charlie.user_id]
    expected = {
        device.pk: device for device in PushDevice.objects.filter(user_id__in=users).select_related("subscription")
    }
    loaded = _DEVICES_WITH_SUBSCRIPTION.rows(users)
    assert sorted(device.pk for device in loaded) == sorted(expected) and len(loaded) == 3
    with CaptureQueriesContext(connection) as queries:
        for device in loaded:
            assert values_of(device) == values_of(expected[device.pk])
            assert values_of(device.subscription) == values_of(expected[device.pk].subscription)
            assert device.subscription.device is device  # the one-to-one's reverse, as select_related sets it
    assert queries.captured_queries == []
    assert _DEVICES_WITH_SUBSCRIPTION.rows([]) == []
    assert _DEVICES_WITH_SUBSCRIPTION.rows([charlie.user_id]) == []


def test_a_nullable_or_reverse_relation_is_refused():
    with pytest.raises(ValueError):
        JoinedLoad(Responder, ("on_call_position",), "id")  # a reverse one-to-one: select_related outer-joins it
    with pytest.raises(ValueError):
        JoinedLoad(Delivery, ("device",), "id")  # nullable (an SMS has no device): select_related outer-joins it


def test_queued_pushes_read_the_devices_without_compiling_a_queryset(devices, carol, alice, bob, count_compilations):
    incident = create_incident(
        actor=carol, cad_reference="CR-1", latitude=NORWICH_INCIDENT[0], longitude=NORWICH_INCIDENT[1], address="x"
    )
    dispatch_incident(actor=carol, incident_id=incident.pk)
    alerts = list(Alert.objects.filter(incident=incident).select_related("responder"))
    count_compilations.clear()
    queued = enqueue_pushes(alerts, round=2, now=timezone.now())
    assert count_compilations == []
    responder_of_alert = {alert.pk: alert.responder_id for alert in alerts}
    expected = sorted((device.user.responder.pk, device.pk) for device in devices)
    assert sorted((responder_of_alert[push.alert_id], push.device.pk) for push in queued) == expected
    stored = Delivery.objects.filter(alert__in=alerts, round=2)
    assert sorted((d.alert.responder_id, d.device_id) for d in stored) == expected
