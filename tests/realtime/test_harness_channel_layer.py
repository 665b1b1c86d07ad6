"""The harness's check for a channel layer left stuck by a test whose event loop has ended
(tests/conftest.py replaces such a layer before the next test)."""

import asyncio
import os
import uuid

import pytest
from channels.layers import InMemoryChannelLayer

from tests.support.channel_layers import a_receive_is_left_on

REDIS_URL = os.environ.get("REDIS_URL")


def run_on_a_loop_that_then_ends(coroutine):
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coroutine)
    finally:
        loop.close()  # tasks the coroutine left pending never run again, as at the end of a test


def test_an_in_memory_layer_that_received_is_not_stuck():
    layer = InMemoryChannelLayer()

    async def send_and_receive():
        channel = await layer.new_channel()
        await layer.send(channel, {"type": "ping"})
        return await layer.receive(channel)

    assert run_on_a_loop_that_then_ends(send_and_receive()) == {"type": "ping"}
    assert not a_receive_is_left_on(layer)


@pytest.mark.skipif(not REDIS_URL, reason="needs REDIS_URL: the stuck receive is channels_redis's")
def test_a_redis_layer_left_with_a_cancelled_wait_for_its_channel_lock_is_found_stuck(db):
    # `db`: only so that the `database` marker puts it in .ci/run's second pass, the one with Redis.
    from channels_redis.core import RedisChannelLayer

    layer = RedisChannelLayer(hosts=[REDIS_URL], prefix=f"harness-{uuid.uuid4().hex[:8]}")
    channel = run_on_a_loop_that_then_ends(layer.new_channel())

    async def a_test_that_ends_while_a_receive_waits():
        await layer.send(channel, {"type": "first"})
        assert await layer.receive(channel) == {"type": "first"}
        # The next receive waits for the channel's lock, held by the first one's backup cleaner; the
        # test ends there, as a consumer's read does when its test is over.
        waiting = asyncio.ensure_future(layer.receive(channel))
        while max(layer.receive_clean_locks.wait_counts.values(), default=0) < 2:
            await asyncio.sleep(0)
        waiting.cancel()
        await asyncio.gather(waiting, return_exceptions=True)
        await asyncio.gather(*layer.receive_cleaners)

    run_on_a_loop_that_then_ends(a_test_that_ends_while_a_receive_waits())
    assert layer.receive_count == 0 and not layer.receive_cleaners  # what the harness looked at before
    assert a_receive_is_left_on(layer)

    async def the_next_test_receives_twice():
        await layer.send(channel, {"type": "second"})
        await layer.send(channel, {"type": "third"})
        await layer.receive(channel)
        await layer.receive(channel)

    # What every later socket test of the process met before the harness replaced such a layer.
    with pytest.raises(RuntimeError, match="different event loop"):
        run_on_a_loop_that_then_ends(the_next_test_receives_twice())
