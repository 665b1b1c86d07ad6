"""Noticing that Redis (the channel layer) has lost this process's sockets, and making them resync.

Each socket is a member of its group in Redis. When Redis restarts (it keeps nothing on disk) the
memberships are gone, and a socket that stayed open through the outage would hear nothing ever
again while its pings are still answered by this process. channels_redis raises a lost connection
to only one of a process's consumers; the others carry on. And while Redis was unreachable, live
sends failed in every process.

So one task per process and event loop asks Redis for its run_id every CHECK_SECONDS while sockets
are open. Once Redis answers again after failing to, or answers with another run_id (it
restarted), every socket of this process is closed with 4503: the clients reconnect at once,
join their groups again and are replayed what they missed (docs/events.md). Found by tests/faults
(Redis restarted during a burst).
"""

import asyncio
import contextlib
import logging
import weakref

logger = logging.getLogger(__name__)

CHECK_SECONDS = 2.0
# Not 1012 (service restart): daphne's WebSocket library lets applications close only with 1000 or
# 3000-4999.
RESYNC = 4503

_sockets: weakref.WeakSet = weakref.WeakSet()
_watchers: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # event loop -> its watcher task


def watch(consumer) -> None:
    """Close `consumer` (with RESYNC) if the channel layer is disrupted while it is open."""
    layer = consumer.channel_layer
    if not hasattr(layer, "connection"):
        return  # the in-memory layer: one process, nothing outside it to lose
    _sockets.add(consumer)
    loop = asyncio.get_running_loop()
    watcher = _watchers.get(loop)
    if watcher is None or watcher.done():
        _watchers[loop] = loop.create_task(_watch(layer))


def unwatch(consumer) -> None:
    _sockets.discard(consumer)


async def _watch(layer) -> None:
    known_run_ids = None
    unreachable = False
    while _sockets:
        await asyncio.sleep(CHECK_SECONDS)
        try:
            run_ids = await asyncio.wait_for(_run_ids(layer), CHECK_SECONDS)
        except Exception:  # Redis is down or unreachable: the sockets are told once it is back
            unreachable = True
            continue
        if unreachable or (known_run_ids is not None and run_ids != known_run_ids):
            await _close_all("Redis was unreachable" if unreachable else "Redis restarted")
        known_run_ids, unreachable = run_ids, False


async def _run_ids(layer) -> list[str]:
    ids = []
    for index in range(layer.ring_size):
        info = await layer.connection(index).info("server")
        ids.append(info["run_id"])
    return ids


async def _close_all(why: str) -> None:
    sockets = list(_sockets)
    logger.warning("%s: closing %d socket(s) so that they reconnect and catch up", why, len(sockets))
    for consumer in sockets:
        _sockets.discard(consumer)
        with contextlib.suppress(Exception):
            await consumer.close(code=RESYNC)
