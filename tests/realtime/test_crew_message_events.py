"""Messages to the crews over the sockets: a firefighter's app hears `message.created` (stored,
replayable), the board hears it and each `message.acknowledged`, and the board's snapshot carries
the open incidents' messages. Every frame is checked against its schema (tests/realtime/sockets.py)."""

import pytest
from asgiref.sync import sync_to_async

from backend.dispatch.messages import acknowledge_crew_message, send_crew_message
from tests.realtime.sockets import connect, dispatch, receive_frame, receive_until_sync_ready

pytestmark = pytest.mark.django_db(transaction=True)


async def test_the_message_and_its_acknowledgement_reach_the_app_and_the_board(incident, carol, alice):
    alerts = await dispatch(carol, incident)
    board = await connect("/ws/coordinator/", carol)
    assert (await receive_frame(board))["type"] == "board.snapshot"
    app = await connect("/ws/responder/?last_event_id=0", alice.user)
    await receive_until_sync_ready(app)

    message = await sync_to_async(send_crew_message)(actor=carol, incident_id=incident.pk, text="Ambulance on scene")

    on_app = await receive_frame(app)
    assert on_app["type"] == "message.created" and isinstance(on_app["id"], int)
    assert (on_app["data"]["message"]["text"], on_app["data"]["alert_id"]) == ("Ambulance on scene", alerts["alice"].pk)
    on_board = await receive_frame(board)
    assert on_board["type"] == "message.created" and on_board["id"] is None
    assert on_board["data"]["message"]["id"] == message.pk

    await sync_to_async(acknowledge_crew_message)(actor=alice.user, message_id=message.pk)

    acked = await receive_frame(board)
    assert acked["type"] == "message.acknowledged"
    assert (acked["data"]["message_id"], acked["data"]["responder_name"]) == (message.pk, "Alice")
    assert (await receive_frame(app))["type"] == "message.acknowledged"
    await board.disconnect()
    await app.disconnect()


async def test_a_reconnecting_app_is_replayed_the_message(incident, carol, alice):
    await dispatch(carol, incident)
    await sync_to_async(send_crew_message)(actor=carol, incident_id=incident.pk, text="Rear door")
    app = await connect("/ws/responder/?last_event_id=0", alice.user)
    replayed, _ready = await receive_until_sync_ready(app)
    messages = [frame["data"]["message"]["text"] for frame in replayed if frame["type"] == "message.created"]
    assert messages == ["Rear door"]
    await app.disconnect()


async def test_the_boards_snapshot_carries_the_open_incidents_messages(incident, carol, alice):
    await dispatch(carol, incident)
    message = await sync_to_async(send_crew_message)(actor=carol, incident_id=incident.pk, text="Rear door")
    await sync_to_async(acknowledge_crew_message)(actor=alice.user, message_id=message.pk)

    board = await connect("/ws/coordinator/", carol)
    snapshot = await receive_frame(board)

    [item] = snapshot["data"]["messages"]
    assert (item["id"], item["incident_id"], item["text"]) == (message.pk, incident.pk, "Rear door")
    assert [ack["responder_name"] for ack in item["acknowledgements"]] == ["Alice"]
    await board.disconnect()
