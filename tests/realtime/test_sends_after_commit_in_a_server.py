"""Inside an ASGI server, a committed action's sends are handed to the server's event loop: the
request's thread does not wait for them (issue 17: the CAD's dispatch call waited for every group
send of every step), and they still all go out, each transaction's after the one before.

Each test holds the channel layer's sends until the action has returned: before, the action's
thread waited for those sends, so the call never returned while they were held."""

import asyncio

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer

from backend.dispatch import actions
from backend.realtime.events import frame_of
from tests.support.channel_layers import replace_group_send

pytestmark = pytest.mark.django_db(transaction=True)

# Only a guard against a hang: the assertions count sends, never time.
GUARD_S = 10


@pytest.fixture
def second_incident(carol):
    return actions.create_incident(
        actor=carol, cad_reference="EEAST-0002", latitude=52.63, longitude=1.295, address="4 Elm Hill"
    )


@pytest.fixture
def held_sends(monkeypatch):
    """The layer's group sends, recorded as (group, frame type, incident) and held until released.
    Ask for it after the fixtures that write: their own sends (outside a server) would wait."""
    layer = get_channel_layer()
    send = layer.group_send
    held = HeldSends()

    async def group_send(group, message):
        await held.released.wait()
        frame = frame_of(message) if message.get("type") == "deliver" else {}
        data = frame.get("data", {})
        incident = data.get("alert", {}).get("incident_id") if isinstance(data.get("alert"), dict) else None
        held.sent.append((group, frame.get("type"), incident))
        await send(group, message)

    replace_group_send(monkeypatch, layer, group_send)
    yield held
    held.released.set()


class HeldSends:
    def __init__(self):
        self.released = asyncio.Event()
        self.sent: list[tuple[str, str, int | None]] = []

    async def until(self, count: int) -> None:
        async def sent_enough():
            while len(self.sent) < count:
                await asyncio.sleep(0.01)

        await asyncio.wait_for(sent_enough(), GUARD_S)


async def test_the_dispatching_thread_does_not_wait_for_the_sends(incident, carol, alice, bob, held_sends):
    try:
        alerts = await asyncio.wait_for(
            sync_to_async(actions.dispatch_incident)(actor=carol, incident_id=incident.pk), GUARD_S
        )
        assert held_sends.sent == []  # the call returned; nothing has been sent yet
    finally:
        held_sends.released.set()

    # alert.created for each, the board's devices, alerts and incident, the worker woken.
    await held_sends.until(2 + 1 + 2 + 1)
    created = sorted(group for group, type, _ in held_sends.sent if type == "alert.created")
    assert created == sorted(f"responder.{alert.responder_id}" for alert in alerts)
    assert len(alerts) == 2


async def test_each_transaction_is_sent_after_the_one_before(incident, carol, alice, bob, second_incident, held_sends):
    try:
        for each in (incident, second_incident):
            await asyncio.wait_for(sync_to_async(actions.dispatch_incident)(actor=carol, incident_id=each.pk), GUARD_S)
    finally:
        held_sends.released.set()

    await held_sends.until(2 * 6)
    alice_frames = [(type, about) for group, type, about in held_sends.sent if group == f"responder.{alice.pk}"]
    assert alice_frames == [("alert.created", incident.pk), ("alert.created", second_incident.pk)]
    first_of_second = next(n for n, (_, _, about) in enumerate(held_sends.sent) if about == second_incident.pk)
    assert all(about != incident.pk for _, _, about in held_sends.sent[first_of_second:])


def test_outside_a_server_the_sends_are_made_before_the_action_returns(incident, carol, alice, monkeypatch):
    layer = get_channel_layer()
    sent = []

    async def group_send(group, message):
        sent.append(group)

    replace_group_send(monkeypatch, layer, group_send)
    actions.dispatch_incident(actor=carol, incident_id=incident.pk)
    assert f"responder.{alice.pk}" in sent


async def test_a_backlog_past_its_limit_drops_its_oldest_batch(monkeypatch, caplog):
    """The channel layer unreachable: batches queue behind the one waiting out its timeout; past
    the limit the oldest goes (its clients catch up from the database) rather than memory growing
    and live messages waiting behind a stale backlog."""
    from backend import broadcast

    monkeypatch.setattr(broadcast, "MAX_QUEUED_BATCHES", 3)
    layer = get_channel_layer()
    released = asyncio.Event()
    sent = []

    async def group_send(group, message):
        await released.wait()
        sent.append(message["n"])

    replace_group_send(monkeypatch, layer, group_send)
    broadcast._enqueue([("board", {"type": "deliver", "n": 0})])
    await asyncio.sleep(0)  # the sender takes batch 0 and waits on the layer
    for n in range(1, 6):  # 1, 2, 3 queue; 4 and 5 push out 1 and 2
        broadcast._enqueue([("board", {"type": "deliver", "n": n})])
    released.set()

    async def until_sent():
        while len(sent) < 4:
            await asyncio.sleep(0.01)

    await asyncio.wait_for(until_sent(), GUARD_S)
    assert sent == [0, 3, 4, 5]
    assert "dropped" in caplog.text


async def test_sent_waits_for_every_batch_handed_over_so_far(monkeypatch):
    """What an action handed to the loop is on the layer once `sent()` returns, however slow the
    layer (Redis): a test, or anything else that acts and then looks, waits for it."""
    from backend import broadcast

    layer = get_channel_layer()
    sent = []

    async def group_send(group, message):
        await asyncio.sleep(0.02)  # a round trip to Redis
        sent.append(message["n"])

    replace_group_send(monkeypatch, layer, group_send)
    await broadcast.sent()  # nothing handed over yet: returns at once
    for n in range(3):
        broadcast._enqueue([("board", {"type": "deliver", "n": n})])

    await asyncio.wait_for(broadcast.sent(), GUARD_S)
    assert sent == [0, 1, 2]


async def test_a_board_opened_after_a_dispatch_is_not_sent_the_dispatch_late(monkeypatch, incident, carol, alice):
    """A dispatch made on the ORM's thread hands its sends to the test's loop; on a slow layer (CI's
    Redis pass) a board opened next joined its group before they went out and got the dispatch's
    board.incident as its first live frame. Opening a socket waits for them (tests/realtime/sockets.py)."""
    from tests.realtime.sockets import connect, dispatch, receive_frame

    layer = get_channel_layer()
    group_send = layer.group_send

    async def slow_group_send(group, message):
        await asyncio.sleep(0.05)
        await group_send(group, message)

    replace_group_send(monkeypatch, layer, slow_group_send)
    await dispatch(carol, incident)
    board = await connect("/ws/coordinator/", carol)
    assert (await receive_frame(board))["type"] == "board.snapshot"
    assert await board.receive_nothing(timeout=0.3)
    await board.disconnect()


async def test_a_dispatch_wakes_the_loop_once_for_all_its_sends(incident, carol, alice, bob, held_sends):
    """A commit hands over several batches (the alerted's events, the board's devices, the board's
    alerts and incident, the worker's wake-up); each wake-up of the loop is a write to its pipe at
    which the request's thread can lose the interpreter to the loop (issue 17). One is enough: the
    loop takes every batch waiting when it wakes, in order."""
    loop = asyncio.get_running_loop()
    wake_ups = []
    call_soon_threadsafe = loop.call_soon_threadsafe

    def counted(callback, *args, **kwargs):
        if getattr(callback, "__module__", "") == "backend.broadcast":
            wake_ups.append(callback.__name__)
        return call_soon_threadsafe(callback, *args, **kwargs)

    loop.call_soon_threadsafe = counted
    try:
        await asyncio.wait_for(sync_to_async(actions.dispatch_incident)(actor=carol, incident_id=incident.pk), GUARD_S)
    finally:
        del loop.call_soon_threadsafe
        held_sends.released.set()

    await held_sends.until(2 + 1 + 2 + 1)
    assert len(wake_ups) == 1, wake_ups
    types = [type for _, type, _ in held_sends.sent]
    assert types.index("board.devices") < types.index("board.alert") < types.index("board.incident")
