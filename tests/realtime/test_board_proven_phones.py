"""The board learns which alerted responders' phones are proven to ring (`proven` per device in
`board.devices`, docs/events.md): at once on a dispatch, in the snapshot, and when a phone shows
the alert. Every frame is checked against its JSON Schema (tests/realtime/sockets.py)."""

import datetime

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from backend.delivery.models import PushDevice
from backend.delivery.subscriptions import subscribe_device
from tests.conftest import browser_subscription
from tests.realtime.sockets import connect, dispatch, receive_frame

pytestmark = pytest.mark.django_db(transaction=True)


@sync_to_async
def give_phone(responder, *, proven_days_ago: int | None) -> None:
    endpoint = f"https://fcm.googleapis.com/fcm/send/{responder.user.username}-phone"
    subscribe_device(actor=responder.user, endpoint=endpoint, label="phone", **browser_subscription(endpoint)["keys"])
    if proven_days_ago is not None:
        PushDevice.objects.filter(user=responder.user).update(
            last_proven_at=timezone.now() - datetime.timedelta(days=proven_days_ago)
        )


def proven_by_responder(frame: dict) -> dict[int, list[bool]]:
    return {item["responder_id"]: [d["proven"] for d in item["devices"]] for item in frame["data"]["alerts"]}


async def test_a_dispatch_and_the_snapshot_say_which_phones_are_proven(incident, carol, alice, bob, erin):
    await give_phone(alice, proven_days_ago=1)
    await give_phone(bob, proven_days_ago=8)  # too long ago
    socket = await connect("/ws/coordinator/", carol)
    assert (await receive_frame(socket))["type"] == "board.snapshot"

    await dispatch(carol, incident)
    while (devices := await receive_frame(socket))["type"] != "board.devices":
        pass
    assert proven_by_responder(devices) == {alice.pk: [True], bob.pk: [False], erin.pk: []}
    await socket.disconnect()

    socket = await connect("/ws/coordinator/", carol)
    snapshot = await receive_frame(socket)
    snapshot_devices = {"data": {"alerts": snapshot["data"]["devices"]}}
    assert proven_by_responder(snapshot_devices) == {alice.pk: [True], bob.pk: [False], erin.pk: []}
    await socket.disconnect()
