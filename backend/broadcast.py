"""Sending to channel-layer groups once the current transaction commits: how the stored events, the
board, the workers' wake-up call and the end of a login reach open sockets and sleeping workers.

Nothing is sent for a transaction that rolls back. A failed send is logged and forgotten: each
caller has a durable record behind the message (a stored event replayed on reconnect, the board's
snapshot, the outbox a worker polls anyway, the session a socket re-checks).
"""

import asyncio
import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)


def send_on_commit(messages: list[tuple[str, dict]]) -> None:
    """Send (group, channel-layer message) pairs once the current transaction commits."""
    transaction.on_commit(lambda: _send_now(messages))


def _send_now(messages: list[tuple[str, dict]]) -> None:
    try:
        async_to_sync(_group_send_all)(messages)
    except Exception:  # every caller has a durable record behind the message
        logger.exception("Sending %d real-time message(s) failed; clients will catch up on reconnect", len(messages))


async def _group_send_all(messages: list[tuple[str, dict]]) -> None:
    layer = get_channel_layer()
    # Sent together so that fan-out to twenty crews costs one round of sends, not twenty in a row.
    results = await asyncio.gather(
        *(layer.group_send(group, message) for group, message in messages),
        return_exceptions=True,
    )
    failures = [result for result in results if isinstance(result, BaseException)]
    if failures:
        logger.error("%d of %d real-time sends failed: %r", len(failures), len(messages), failures[0])
