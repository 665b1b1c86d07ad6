"""A closed socket leaves no cyclic garbage of the product's own: what it held is freed by reference
counting when it closes, not left for a full collection, which at 10,000 sockets walks millions of
objects and stops the event loop for hundreds of ms (docs/scaling.md, "The serving process's
pauses"). Counted with the collector's DEBUG_SAVEALL (the unreachable objects it found), never
timed.

Through the ASGI application in this process (channels' communicator): daphne's and Twisted's own
per-connection objects are not here; bench/socket_capacity.py --probe counts those."""

import gc
import os
from collections import Counter

import pytest
from asgiref.sync import sync_to_async

from tests.realtime.sockets import connect, receive_frame, receive_until_sync_ready, session_cookie_for

pytestmark = [
    pytest.mark.django_db(transaction=True),
    # On Redis (the PostgreSQL pass) each socket here also leaves a Redis connection's transport:
    # opened and closed one at a time, each socket is the one in the layer's blocking read when it
    # closes, and a cancelled read drops its connection (channels_redis; with many sockets open,
    # only a close of the one reading does). Its three refused commands' exceptions are gone
    # (tests/realtime/test_redis_connections.py). The in-memory layer is what these count.
    pytest.mark.skipif(bool(os.environ.get("REDIS_URL")), reason="counted on the in-memory layer only"),
]

RESPONDER = "/ws/responder/"
BOARD = "/ws/coordinator/"
SOCKETS = 3


async def open_ping_and_close(path: str, user) -> None:
    socket = await connect(path, user)
    if path == RESPONDER:
        await receive_until_sync_ready(socket)
    else:
        assert (await receive_frame(socket))["type"] == "board.snapshot"
    await socket.send_json_to({"type": "ping"})
    assert (await receive_frame(socket))["type"] == "pong"
    await socket.disconnect()


async def cyclic_garbage_of_sockets(path: str, user) -> Counter:
    """The objects a full collection finds unreachable after SOCKETS sockets opened and closed, by
    type. One socket first, so that what is made once (the database thread's connection, caches)
    is not counted."""
    await sync_to_async(session_cookie_for)(user)
    await open_ping_and_close(path, user)
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        for _ in range(SOCKETS):
            await open_ping_and_close(path, user)
        gc.collect()
        return Counter(type(found).__qualname__ for found in gc.garbage if _a_sockets_own(found))
    finally:
        gc.set_debug(0)
        gc.garbage.clear()


# What a socket is made of, beyond plain containers: a consumer and what it holds (database
# connections, tasks, futures, contexts, exceptions). Plain lists, dicts, tuples, cells and
# functions are left out: another thread of the test process may drop cycles of its own meanwhile
# (Django's SQL compiler makes a recursive closure for each select_related query, whatever runs it).
SOCKETS_OWN_PACKAGES = {"backend", "channels", "asgiref", "django", "asyncio", "_asyncio"}


def _a_sockets_own(found) -> bool:
    return isinstance(found, BaseException) or type(found).__module__.split(".")[0] in SOCKETS_OWN_PACKAGES


async def test_a_closed_firefighter_socket_leaves_no_cyclic_garbage(alice):
    # Before: a DatabaseWrapper per socket (14 objects in cycles), made on the event loop by a look
    # at Django's `connection`, which is per asyncio task there.
    assert await cyclic_garbage_of_sockets(RESPONDER, alice.user) == Counter()


async def test_a_closed_board_socket_leaves_no_cyclic_garbage(carol):
    assert await cyclic_garbage_of_sockets(BOARD, carol) == Counter()
