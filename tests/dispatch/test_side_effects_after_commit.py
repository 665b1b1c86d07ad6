"""Nothing leaves the process before the transaction commits (DESIGN.md: side effects after commit)."""

import logging

import pytest
from asgiref.sync import async_to_sync
from channels import DEFAULT_CHANNEL_LAYER
from channels.layers import InMemoryChannelLayer, channel_layers, get_channel_layer
from django.db import transaction

from backend.dispatch import actions
from backend.dispatch.actions import dispatch_incident
from backend.dispatch.models import Alert, Incident
from backend.realtime.events import frame_of, responder_group
from backend.realtime.models import ResponderEvent
from tests.support.channel_layers import replace_group_send

pytestmark = pytest.mark.django_db(transaction=True)


class Listener:
    """A channel-layer channel subscribed to one responder's group, as their socket would be."""

    def __init__(self, responder):
        # A layer of its own, with its own process channel: on Redis, a receive cut off by the
        # time-out below can leave its blocking read pending on the server, and on the shared
        # layer that read took the next test's message (the PostgreSQL + Redis pass of CI).
        # (In memory, a second layer would hold nothing the product sends: there, the shared one.)
        shared = get_channel_layer()
        in_memory = isinstance(shared, InMemoryChannelLayer)
        self.layer = shared if in_memory else channel_layers.make_backend(DEFAULT_CHANNEL_LAYER)
        self.channel = async_to_sync(self.layer.new_channel)()
        async_to_sync(self.layer.group_add)(responder_group(responder.pk), self.channel)

    def messages(self, timeout=0.3):
        async def drain():
            import asyncio

            received = []
            while True:
                try:
                    received.append(await asyncio.wait_for(self.layer.receive(self.channel), timeout))
                except TimeoutError:
                    return received

        return async_to_sync(drain)()


def test_a_rolled_back_dispatch_sends_nothing_and_stores_nothing(incident, carol, alice):
    listener = Listener(alice)
    with pytest.raises(RuntimeError), transaction.atomic():
        dispatch_incident(actor=carol, incident_id=incident.pk)
        raise RuntimeError("the database failed after the alerts were written")
    assert listener.messages() == []
    assert not Alert.objects.exists() and not ResponderEvent.objects.exists()


def test_a_committed_dispatch_sends_the_stored_event(incident, carol, alice):
    listener = Listener(alice)
    dispatch_incident(actor=carol, incident_id=incident.pk)
    frames = [frame_of(message) for message in listener.messages()]
    stored = ResponderEvent.objects.get(type="alert.created")
    assert frames[0]["type"] == "alert.created" and frames[0]["id"] == stored.pk
    assert frames[0]["data"] == stored.data


def test_a_channel_layer_that_is_down_does_not_fail_the_dispatch(incident, carol, alice, monkeypatch):
    """Redis down: the dispatch still succeeds and the alert is stored, to be replayed when the
    firefighter's app reconnects. The socket is a hint; the database is the record."""
    layer = get_channel_layer()

    async def unreachable(group, message):
        raise ConnectionError("Redis is down")

    replace_group_send(monkeypatch, layer, unreachable)
    alerts = dispatch_incident(actor=carol, incident_id=incident.pk)
    assert [alert.responder_id for alert in alerts] == [alice.pk]
    stored = ResponderEvent.objects.get(responder=alice, type="alert.created")
    assert stored.data["alert"]["id"] == alerts[0].pk


def logged(caplog) -> list:
    return [record for record in caplog.records if record.name == "backend.dispatch.actions"]


def logged_events(caplog) -> list[str]:
    return [record.event for record in logged(caplog)]


def test_a_rolled_back_create_and_dispatch_logs_nothing(carol, alice, caplog, monkeypatch):
    """The incident is created, then the dispatch in the same transaction fails: no incident ever
    existed, so no log line may say one was created."""
    caplog.set_level(logging.INFO, logger="backend.dispatch.actions")

    def database_lost(*args, **kwargs):
        raise RuntimeError("the database failed while alerting")

    monkeypatch.setattr(actions, "alert_more_responders", database_lost)
    with pytest.raises(RuntimeError):
        actions.create_and_dispatch_incident(
            actor=carol, cad_reference="EEAST-RB-1", latitude=52.63, longitude=1.29, address="1 Test Road"
        )
    assert not Incident.objects.exists()
    assert logged_events(caplog) == []


def test_an_action_inside_a_rolled_back_transaction_logs_nothing(incident, carol, alice, caplog):
    caplog.set_level(logging.INFO, logger="backend.dispatch.actions")
    with pytest.raises(RuntimeError), transaction.atomic():
        dispatch_incident(actor=carol, incident_id=incident.pk)
        raise RuntimeError("the database failed after the alerts were written")
    assert logged_events(caplog) == []


def test_a_committed_create_and_dispatch_logs_both_events(carol, alice, caplog):
    caplog.set_level(logging.INFO, logger="backend.dispatch.actions")
    incident, _alerts = actions.create_and_dispatch_incident(
        actor=carol, cad_reference="EEAST-OK-1", latitude=52.63, longitude=1.29, address="1 Test Road"
    )
    assert logged_events(caplog) == ["incident.created", "incident.dispatched"]
    assert [record.incident_id for record in logged(caplog)] == [incident.pk, incident.pk]
