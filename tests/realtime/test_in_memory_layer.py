"""The embedded setup's in-memory channel layer (backend/realtime/layers.py): it walks its channels
for expired messages at most once a second, and its group memberships (three per socket) once a
minute, since they expire only after a day. Counted walks, never timings."""

import asyncio
import time

import pytest

from backend.realtime import layers

SECONDS = 120


class CountedMembers(dict):
    """A group's members, counting the walks over them."""

    walks = 0

    def items(self):
        CountedMembers.walks += 1
        return super().items()


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(layers.time, "monotonic", clock)
    CountedMembers.walks = 0
    return clock


async def layer_with_sockets(count: int) -> tuple[layers.ThrottledInMemoryChannelLayer, list[str]]:
    layer = layers.ThrottledInMemoryChannelLayer(expiry=60)
    channels = []
    for number in range(count):
        channel = await layer.new_channel()
        layer.channels.setdefault(channel, asyncio.Queue())
        for group in (f"responder.{number}", f"user.{number}", f"session.{number}"):
            await layer.group_add(group, channel)
        channels.append(channel)
    layer.groups = {group: CountedMembers(members) for group, members in layer.groups.items()}
    return layer, channels


async def test_it_walks_the_group_memberships_once_a_minute_not_every_second(clock):
    layer, _ = await layer_with_sockets(10)
    for _ in range(SECONDS):
        clock.now += 1
        layer._clean_expired()
    # Before: every second, each of the 30 groups (120 s x 30 = 3,600 walks).
    assert CountedMembers.walks == 30 * SECONDS // 60


async def test_an_expired_message_still_ends_its_channels_memberships_within_a_second(clock):
    layer, channels = await layer_with_sockets(2)
    await layer.send(channels[0], {"type": "alert"})
    message_expires_at = layer.channels[channels[0]]._queue[0][0]
    layer.channels[channels[0]]._queue[0] = (time.time() - 1, *layer.channels[channels[0]]._queue[0][1:])
    assert message_expires_at > time.time()
    clock.now += 1
    layer._clean_expired()
    assert channels[0] not in layer.channels
    assert all(channels[0] not in members for members in layer.groups.values())
    assert channels[1] in layer.groups["responder.1"]


async def test_a_day_old_membership_still_ends_within_a_minute(clock):
    layer, channels = await layer_with_sockets(1)
    layer.groups["user.0"][channels[0]] = time.time() - layer.group_expiry - 1
    for _ in range(60):
        clock.now += 1
        layer._clean_expired()
    assert channels[0] not in layer.groups["user.0"]
    assert channels[0] in layer.groups["responder.0"]
