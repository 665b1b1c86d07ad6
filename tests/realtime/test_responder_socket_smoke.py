import pytest
from asgiref.sync import sync_to_async

from backend.dispatch.actions import dispatch_incident
from tests.realtime.sockets import communicator, session_cookie_for

pytestmark = pytest.mark.django_db(transaction=True)


async def test_it_delivers_a_dispatched_alert_to_the_firefighters_socket(incident, carol, alice):
    socket = communicator("/ws/responder/", cookie=await sync_to_async(session_cookie_for)(alice.user))
    connected, _ = await socket.connect()
    assert connected
    ready = await socket.receive_json_from(timeout=2)
    assert ready["type"] == "sync.ready"

    await sync_to_async(dispatch_incident)(actor=carol, incident_id=incident.pk)

    frame = await socket.receive_json_from(timeout=2)
    assert frame["type"] == "alert.created"
    assert frame["data"]["alert"]["incident"]["cad_reference"] == "EEAST-0001"
    await socket.disconnect()
