"""The work between a commit and the frames on the sockets (issue 17: 9.5 ms embedded, and through
Redis 26 ms to the other process's sockets, against a bare broadcast's 3-4 ms).

Counted, never timed: the encodings of a frame, the turns of the event loop a batch waits for, and
the round trips to Redis of a dispatch's sends and of reading them back."""

import asyncio
import json
import uuid

import pytest
from channels.layers import InMemoryChannelLayer, get_channel_layer

from backend import broadcast
from backend.realtime import events
from backend.realtime.events import frame_of
from tests.realtime.sockets import connect, dispatch, receive_frame

pytestmark = pytest.mark.django_db(transaction=True)

BOARD = "/ws/coordinator/"


def redis_layer_or_skip():
    layer = get_channel_layer()
    if not hasattr(layer, "connection"):
        pytest.skip("needs REDIS_URL: counts round trips to Redis")
    return layer


async def test_a_frame_for_several_sockets_is_encoded_once(incident, carol, alice, bob, monkeypatch):
    """Three boards open: each board.alert is turned into JSON once, when it is handed over, not
    once by each board socket's consumer."""
    boards = []
    for _ in range(3):
        board = await connect(BOARD, carol)
        assert (await receive_frame(board))["type"] == "board.snapshot"
        boards.append(board)
    encoded = []
    dumps, encode = json.dumps, events._encode

    def counting(encoder):
        def counted(value, *args, **kwargs):
            if isinstance(value, dict) and value.get("type") == "board.alert":
                encoded.append(value["data"]["id"])
            return encoder(value, *args, **kwargs)

        return counted

    monkeypatch.setattr(json, "dumps", counting(dumps))
    monkeypatch.setattr(events, "_encode", counting(encode))  # the frames' own encoder
    alerts = await dispatch(carol, incident)
    for board in boards:
        received = []
        while (frame := await receive_frame(board))["type"] != "board.incident":
            received.append(frame)
        assert sorted(frame["data"]["id"] for frame in received if frame["type"] == "board.alert") == sorted(
            alert.pk for alert in alerts.values()
        )
        await board.disconnect()
    assert sorted(encoded) == sorted(alert.pk for alert in alerts.values())  # was three times each


async def test_the_in_memory_layer_queues_a_batch_in_the_turn_that_takes_it():
    """The loop's callback that takes a committed batch puts its messages on the members' queues
    itself: no sender task, no task per group or per member, no later turn of the loop (each of
    which could wait for the request's thread to let go of the interpreter)."""
    layer = get_channel_layer()
    if not isinstance(layer, InMemoryChannelLayer):
        pytest.skip("the in-memory layer's")
    await broadcast.sent()
    channels = [await layer.new_channel() for _ in range(3)]
    for number, channel in enumerate(channels):
        await layer.group_add(f"responder.{900 + number}", channel)
    message = {"type": "deliver", "text": '{"type":"alert.created"}', "event_id": 7}
    tasks_before = asyncio.all_tasks()

    broadcast._enqueue_all([[(f"responder.{900 + number}", message) for number in range(3)]])

    # No await since: still the same turn of the loop.
    assert [layer.channels[channel].qsize() if channel in layer.channels else 0 for channel in channels] == [1, 1, 1]
    assert asyncio.all_tasks() == tasks_before
    for number, channel in enumerate(channels):
        assert (await layer.receive(channel))["text"] == message["text"]
        await layer.group_discard(f"responder.{900 + number}", channel)


class RoundTrips:
    """Writes to Redis connections (each a round trip: a pipeline is one write), counted."""

    def __init__(self, monkeypatch):
        from redis.asyncio.connection import AbstractConnection

        self.count = 0
        self.commands = []
        send = AbstractConnection.send_packed_command

        async def counted(connection, command, *args, **kwargs):
            self.count += 1
            self.commands.append(bytes(command if isinstance(command, bytes) else b"".join(command))[:60])
            return await send(connection, command, *args, **kwargs)

        monkeypatch.setattr(AbstractConnection, "send_packed_command", counted)


async def _members_of_twenty_groups(layer) -> tuple[list[str], list[str]]:
    tag = uuid.uuid4().hex[:8]
    groups = [f"responder.fanout-{tag}-{number}" for number in range(20)]
    channels = [await layer.new_channel() for _ in groups]
    for group, channel in zip(groups, channels, strict=True):
        await layer.group_add(group, channel)
    return groups, channels


async def test_a_dispatchs_twenty_group_sends_are_one_round_trip_to_redis(monkeypatch):
    """The groups' members read and the messages added in one script (channels_redis: four round
    trips per group, eighty; then two: the members in a pipeline, the messages in a script)."""
    layer = redis_layer_or_skip()
    groups, channels = await _members_of_twenty_groups(layer)
    round_trips = RoundTrips(monkeypatch)

    await broadcast._group_send_all([(group, {"type": "deliver", "text": group}) for group in groups])

    assert round_trips.count == 1
    received = await asyncio.gather(*(layer.receive(channel) for channel in channels))
    assert [message["text"] for message in received] == groups


async def test_twenty_waiting_messages_are_read_in_a_few_round_trips(monkeypatch):
    """A process's sockets' messages are read together (channels_redis: four round trips each)."""
    layer = redis_layer_or_skip()
    groups, channels = await _members_of_twenty_groups(layer)
    await broadcast._group_send_all([(group, {"type": "deliver", "text": group}) for group in groups])
    round_trips = RoundTrips(monkeypatch)

    received = await asyncio.gather(*(layer.receive(channel) for channel in channels))
    await layer.wait_received()  # the backup queue cleared

    assert [message["text"] for message in received] == groups
    assert round_trips.count <= 3  # the waiting messages read and backed up; the backup cleared


async def test_one_batchs_messages_to_one_socket_arrive_in_order():
    layer = redis_layer_or_skip()
    channel = await layer.new_channel()
    group = f"board-order-{uuid.uuid4().hex[:8]}"
    await layer.group_add(group, channel)

    await broadcast._group_send_all([(group, {"type": "deliver", "text": str(number)}) for number in range(30)])

    assert [(await layer.receive(channel))["text"] for _ in range(30)] == [str(number) for number in range(30)]


def test_a_deliver_message_carries_its_frame_encoded():
    from backend.realtime.events import _deliver, envelope

    frame = envelope(type="board.alert", data={"id": 3, "state": "alerted"}, id=None)
    message = _deliver(frame)
    assert message["type"] == "deliver" and isinstance(message["text"], str)
    assert frame_of(message) == frame


async def test_a_frame_and_a_ping_reach_their_socket_without_a_hop_to_a_thread(alice, monkeypatch):
    """channels' consumers hop to a thread before every message to close its old database
    connections; these sockets' database calls close theirs on their own threads, so a frame for
    the phone, or its ping, goes straight to the socket."""
    from asgiref import sync

    from backend.realtime.events import _deliver, envelope, responder_group
    from tests.realtime.sockets import receive_until_sync_ready

    phone = await connect("/ws/responder/?last_event_id=0", alice.user)
    await receive_until_sync_ready(phone)
    hops = []
    to_thread = sync.SyncToAsync.__call__

    async def counted(self, *args, **kwargs):
        hops.append(getattr(self.func, "__qualname__", repr(self.func)))
        return await to_thread(self, *args, **kwargs)

    monkeypatch.setattr(sync.SyncToAsync, "__call__", counted)
    frame = envelope(type="crew.message", data={"text": "Stand by"}, id=None)
    await get_channel_layer().group_send(responder_group(alice.pk), _deliver(frame))
    assert await phone.receive_json_from(timeout=3) == frame
    await phone.send_json_to({"type": "ping"})
    assert (await phone.receive_json_from(timeout=3))["type"] == "pong"

    assert hops == []  # was close_old_connections before each (two)
    await phone.disconnect(timeout=0.1)


async def test_a_batch_for_sockets_already_waiting_is_read_in_one_more_round_trip(monkeypatch):
    """The live case: the process's sockets are waiting (a blocking read) when a dispatch's twenty
    messages are added in one script. The blocking read takes the first; the rest are taken, and
    backed up, in one more round trip (channels_redis: the first backed up in a round trip of its
    own, then the next receive waited for its backup to be cleared before reading the rest: four).
    Counted from the batch's send until every socket has its message, the backups cleared."""
    layer = redis_layer_or_skip()
    groups, channels = await _members_of_twenty_groups(layer)
    # Connections enough for the blocking read and the sends, opened now (opening one is a round trip).
    await asyncio.gather(*(layer.connection(0).ping() for _ in range(3)))
    receives = [asyncio.ensure_future(layer.receive(channel)) for channel in channels]
    for _ in range(100):  # until the blocking read is under way (no message yet to wait for)
        await asyncio.sleep(0.01)
        if layer.receive_lock is not None and layer.receive_lock.locked():
            break
    await asyncio.sleep(0.05)
    round_trips = RoundTrips(monkeypatch)

    await broadcast._group_send_all([(group, {"type": "deliver", "text": group}) for group in groups])
    received = await asyncio.gather(*receives)
    await layer.wait_received()

    assert [message["text"] for message in received] == groups
    # The sends' one; then the rest taken with the first, and the backup cleared (was: the first
    # backed up, its backup cleared, the rest read, their backup cleared: four). The receive runs
    # while the sends do, so the two sides are counted together.
    assert round_trips.count == 1 + 2, round_trips.commands


async def test_what_one_script_sends_is_what_channels_redis_would_have_sent():
    """channels_redis's own layer (a process of the version before, or another) reads each message
    as its group_send would have written it: one per channel key, naming the key's channels (two
    sockets of one process: one message naming both), every value as it was."""
    from channels_redis.core import RedisChannelLayer

    layer = redis_layer_or_skip()
    stock = RedisChannelLayer(hosts=layer.hosts, prefix=layer.prefix, capacity=layer.capacity, expiry=layer.expiry)
    tag = uuid.uuid4().hex[:8]
    mine = [await layer.new_channel() for _ in range(2)]
    theirs = await stock.new_channel()
    plain = f"plain-{tag}-" + "x" * 40  # a channel of no process, a name over 31 characters
    group = f"responder.compat-{tag}"
    for channel in [*mine, theirs, plain]:
        await layer.group_add(group, channel)
    message = {
        "type": "deliver",
        "text": '{"type":"alert.created","data":{"address":"3 Elm Hill, Norwich — NR3"}}',
        "event_id": 2**40,
        "ratio": 0.5,
        "raw": b"\x00\xff",
        "nested": {"a": [1, None, True], "b": ""},
    }

    await layer.group_send_many([(group, message)])

    assert await layer.receive(mine[0]) == message
    assert await layer.receive(mine[1]) == message
    assert await stock.receive(theirs) == message
    assert await stock.receive(plain) == message
    keys = await layer.connection(0).keys(layer.prefix + "specific." + layer.client_prefix + "!*")
    assert keys == []  # one message for the two sockets of this process, read by the first receive
    await layer.wait_received()
    await stock.flush()


async def test_a_full_channel_misses_the_message_in_one_script_as_in_channels_redis():
    layer = redis_layer_or_skip()
    tag = uuid.uuid4().hex[:8]
    channel, group = f"plain-full-{tag}", f"responder.full-{tag}"
    await layer.group_add(group, channel)

    await layer.group_send_many([(group, {"type": "deliver", "text": str(n)}) for n in range(layer.capacity + 5)])

    key = layer.prefix + channel
    assert await layer.connection(0).zcard(key) == layer.capacity
    assert (await layer.receive(channel))["text"] == "0"
    await layer.connection(0).delete(key)


async def test_a_group_of_many_sockets_of_one_process_gets_one_message_naming_them_all():
    """A board group with twenty sockets on one process: one message for the process's channel
    key, naming the twenty (more than a short msgpack array holds), each socket given it once."""
    layer = redis_layer_or_skip()
    group = f"board-many-{uuid.uuid4().hex[:8]}"
    channels = [await layer.new_channel() for _ in range(20)]
    for channel in channels:
        await layer.group_add(group, channel)

    await layer.group_send_many([(group, {"type": "deliver", "text": "for all"})])

    key = layer.prefix + layer.non_local_name(channels[0])
    waiting = await layer.connection(0).zrange(key, 0, -1)
    assert len(waiting) == 1
    assert sorted(layer.deserialize(waiting[0])["__asgi_channel__"]) == sorted(channels)
    received = await asyncio.gather(*(layer.receive(channel) for channel in channels))
    assert [message["text"] for message in received] == ["for all"] * 20
    await layer.wait_received()
