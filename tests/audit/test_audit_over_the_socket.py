"""An alert acknowledged over the firefighter's socket is audited as the firefighter's, made over
the socket: not as the system's."""

import pytest
from asgiref.sync import sync_to_async

from backend.audit.models import AuditAction, AuditEntry
from tests.realtime.sockets import connect, dispatch, receive_frames, receive_until_sync_ready

pytestmark = pytest.mark.django_db(transaction=True)


async def test_an_acknowledgement_over_the_socket_is_audited_as_the_firefighters(incident, carol, alice):
    alerts = await dispatch(carol, incident)
    socket = await connect("/ws/responder/", alice.user)
    await receive_until_sync_ready(socket)

    await socket.send_json_to({"type": "alert.ack", "alert_id": alerts["alice"].pk})
    await receive_frames(socket, 2)
    await socket.disconnect()

    entry = await sync_to_async(
        AuditEntry.objects.filter(action=AuditAction.ALERT_STATE, object_id=str(alerts["alice"].pk)).first
    )()
    assert (entry.actor_username, entry.role, entry.channel, entry.detail) == (
        "alice",
        "firefighter",
        "socket",
        {"state": "received"},
    )
