"""What a new connection of the Redis channel layer sends before its first command (PostgreSQL
pass only, where REDIS_URL is set): only what the layer needs. Each socket that connects while the
pool is busy, and each blocking read cancelled by a closing socket, makes a new connection, so in a
reconnect storm this is paid many times (issue 17). Counted on the real Redis, never timed."""

import gc
import os

import pytest
from channels_redis.utils import create_pool
from django.conf import settings
from redis.asyncio.connection import Connection
from redis.exceptions import ResponseError

pytestmark = pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs Redis (REDIS_URL)")


def the_layers_host() -> dict:
    [host] = settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"]
    return host


@pytest.fixture
def commands_sent(monkeypatch):
    """The name of each command any Redis connection of this test sends."""
    sent: list[str] = []
    send_command = Connection.send_command

    async def recording(self, *args, **kwargs):
        sent.append(" ".join(str(part) for part in args[:2]))
        return await send_command(self, *args, **kwargs)

    monkeypatch.setattr(Connection, "send_command", recording)
    return sent


async def test_a_new_connection_sends_no_handshake_beyond_its_database(commands_sent):
    # Before: HELLO 3, CLIENT MAINT_NOTIFICATIONS, CLIENT SETINFO (twice), then SELECT.
    pool = create_pool(the_layers_host())
    try:
        connection = await pool.get_connection()
        await pool.release(connection)
    finally:
        await pool.disconnect()
    assert all(not command.startswith(("HELLO", "CLIENT")) for command in commands_sent), commands_sent
    assert len(commands_sent) <= 1  # SELECT, unless the URL names database 0


async def test_a_new_connection_leaves_no_refused_command_as_garbage():
    # Before: on Redis 7.0, three ResponseErrors per connection, each in a cycle with its frame.
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        pool = create_pool(the_layers_host())
        try:
            connection = await pool.get_connection()
            await pool.release(connection)
        finally:
            await pool.disconnect()
        gc.collect()
        refused = [found for found in gc.garbage if isinstance(found, ResponseError)]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    assert refused == []
