"""Sending to channel-layer groups once the current transaction commits: how the stored events, the
board, the workers' wake-up call and the end of a login reach open sockets and sleeping workers.

Nothing is sent for a transaction that rolls back. A failed send is logged and forgotten: each
caller has a durable record behind the message (a stored event replayed on reconnect, the board's
snapshot, the outbox a worker polls anyway, the session a socket re-checks).

Inside an ASGI server (a request or a socket's database call, running on a worker thread of the
server's event loop) the messages are handed to that loop and the thread goes on at once: the
commit has already made everything durable, so the dispatch call's answer need not wait for the
fan-out (issue 17: the CAD's call waited for every group send of every step, one round trip to the
loop each). One sender task per loop sends the batches in the order they were handed over, each
batch's sends together, so what one transaction sends still goes out before what a later one
does, as when each commit waited for its sends. Outside a server (tests, management commands) the
sends are made before the commit returns, as before.

A request's own sends wait for its answer (`answer_first`): the loop sends the answer, then the
frames, never the other way round. The frames' serialisation and hand-over to Redis took the loop
about 2-4 ms while the dispatch call's answer waited behind it (bench/dispatch_latency.py --probe,
"loop sends" before "answer to daphne"; issue 17); writing the answer takes the loop well under a
millisecond, which is all the phones' frames now wait. Batches still go out in commit order: a
request's held batch holds the ones handed over after it.
"""

import asyncio
import contextlib
import contextvars
import logging
import weakref

from asgiref.sync import SyncToAsync, async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)

# With the channel layer unreachable each batch waits out its connection timeout, and batches
# queue up behind it; past this many the oldest is dropped (its clients catch up from the
# database, as after any failed send) so that live messages are not held behind a stale backlog.
MAX_QUEUED_BATCHES = 1000

# Per event loop: the queue of batches its sender task drains, and that task (kept referenced).
_senders: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, tuple[asyncio.Queue, asyncio.Task]]" = (
    weakref.WeakKeyDictionary()
)


# The batches asked for inside `one_hand_over()`, if one is open in this context.
_collected: contextvars.ContextVar[list | None] = contextvars.ContextVar("batches_for_one_hand_over", default=None)

# Set by `answer_first()` for an HTTP request: the event its answer's sending sets, which the
# request's batches wait for. The request's thread sees it (sync_to_async copies the context).
_answer_sent: contextvars.ContextVar[asyncio.Event | None] = contextvars.ContextVar("answer_sent", default=None)

# The longest a request's batch waits for its answer. The answer normally follows the commit within
# a millisecond or two; a view that goes on working after its commit (or a loaded machine) must not
# hold its frames, and every batch queued behind them, for longer than this.
ANSWER_WAIT_S = 0.02


@contextlib.asynccontextmanager
async def answer_first(send):
    """On the event loop, around an HTTP request's view and the sending of its answer: what the
    request's transactions hand over is sent once the answer's body has been handed to the server
    (or the request failed or was cancelled), or after ANSWER_WAIT_S at the latest. Batches handed
    over meanwhile by others wait behind it, so the order of commits is kept. Yields the `send` to
    answer with."""
    answer_sent = asyncio.Event()

    async def send_then_release(message):
        await send(message)
        if message["type"] == "http.response.body":  # the first chunk is the whole of most answers
            answer_sent.set()

    token = _answer_sent.set(answer_sent)
    try:
        yield send_then_release
    finally:
        _answer_sent.reset(token)
        answer_sent.set()


def send_on_commit(messages: list[tuple[str, dict]]) -> None:
    """Send (group, channel-layer message) pairs once the current transaction commits."""
    collected = _collected.get()
    if collected is not None:
        collected.append(messages)
        return
    transaction.on_commit(lambda: _send_now([messages]))


@contextlib.contextmanager
def one_hand_over():
    """The batches asked for inside the block are handed to the event loop together after commit,
    each still sent after the one before: an action that tells several audiences (a dispatch: the
    alerted's events, the board's devices, then its alerts and incident, the workers' wake-up)
    wakes the loop once, not once per batch. Each wake-up is a write to the loop's pipe at which
    the request's thread can lose the interpreter to the loop for milliseconds while the commit's
    other callbacks and the answer wait (issue 17). Nothing is asked for if the block raises. No
    savepoint that might roll back may be opened inside the block (its sends would still go)."""
    if _collected.get() is not None:  # nested: the outer block hands over
        yield
        return
    batches: list[list[tuple[str, dict]]] = []
    token = _collected.set(batches)
    try:
        yield
    finally:
        _collected.reset(token)
    if batches:
        transaction.on_commit(lambda: _send_now(batches))


def _send_now(batches: list[list[tuple[str, dict]]]) -> None:
    loop = _server_loop()
    if loop is not None:
        try:
            loop.call_soon_threadsafe(_enqueue_all, batches, _answer_sent.get())
            return
        except RuntimeError:  # the loop closed (the server is stopping): send here instead
            pass
    for messages in batches:
        try:
            async_to_sync(_group_send_all)(messages)
        except Exception:  # every caller has a durable record behind the message
            logger.exception(
                "Sending %d real-time message(s) failed; clients will catch up on reconnect", len(messages)
            )


def _enqueue_all(batches: list[list[tuple[str, dict]]], answer_sent: asyncio.Event | None = None) -> None:
    """On the loop's thread. A layer that delivers without waiting (the in-memory one) is given the
    batches here and now, when nothing handed over earlier is still being sent and no answer is
    awaited: the frames are on their sockets' queues in this turn of the loop instead of after two
    more (the sender task's wake-up, then a task per group and per socket), and each turn can wait
    up to the interpreter's switch interval (5 ms) for the request's thread, which is still
    rendering its answer (issue 17: 9.5 ms from commit to frames, embedded). Batches of a request
    whose answer is not sent yet go to the sender, which waits for `answer_sent`."""
    if answer_sent is not None and not answer_sent.is_set():
        for messages in batches:
            _enqueue(messages, answer_sent)
        return
    send_now = getattr(get_channel_layer(), "group_send_many_nowait", None)
    if send_now is not None and _sender_idle():
        for messages in batches:
            try:
                send_now(messages)
            except Exception:  # every caller has a durable record behind the message
                logger.exception(
                    "Sending %d real-time message(s) failed; clients will catch up on reconnect", len(messages)
                )
        return
    for messages in batches:
        _enqueue(messages)


def _sender_idle() -> bool:
    """Nothing handed to this loop's sender is waiting or being sent (so sending now keeps the order)."""
    sender = _senders.get(asyncio.get_running_loop())
    return sender is None or sender[1].done() or sender[0]._unfinished_tasks == 0


def _server_loop() -> asyncio.AbstractEventLoop | None:
    """The running event loop that this thread works for (set by asgiref's sync_to_async, which an
    ASGI server's requests and channels' database_sync_to_async run through), if any."""
    loop = getattr(SyncToAsync.threadlocal, "main_event_loop", None)
    if loop is None or not loop.is_running() or loop.is_closed():
        return None
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return loop
    return None  # called on a loop's own thread: async_to_sync refuses; keep its error


def _enqueue(messages: list[tuple[str, dict]], answer_sent: asyncio.Event | None = None) -> None:
    """On the loop's thread: queue the batch for the loop's sender, starting it if needed. The
    sender waits for `answer_sent`, if given, before sending it (and whatever is queued after it)."""
    loop = asyncio.get_running_loop()
    sender = _senders.get(loop)
    if sender is None or sender[1].done():
        queue: asyncio.Queue = asyncio.Queue()
        sender = (queue, loop.create_task(_send_batches(queue)))
        _senders[loop] = sender
    queue = sender[0]
    if queue.qsize() >= MAX_QUEUED_BATCHES:
        dropped, _ = queue.get_nowait()
        queue.task_done()
        logger.error(
            "%d real-time batches waiting to be sent: the oldest (%d message(s)) dropped; clients will catch up",
            MAX_QUEUED_BATCHES,
            len(dropped),
        )
    queue.put_nowait((messages, answer_sent))


async def _send_batches(queue: asyncio.Queue) -> None:
    while True:
        messages, answer_sent = await queue.get()
        try:
            if answer_sent is not None and not answer_sent.is_set():
                try:
                    await asyncio.wait_for(answer_sent.wait(), ANSWER_WAIT_S)
                except TimeoutError:
                    # Released for the request's other batches too: ANSWER_WAIT_S is the request's
                    # wait, not each batch's (a dispatch hands over four, the workers' wake-up last).
                    answer_sent.set()
            await _group_send_all(messages)
        except Exception:  # every caller has a durable record behind the message
            logger.exception(
                "Sending %d real-time message(s) failed; clients will catch up on reconnect", len(messages)
            )
        finally:
            queue.task_done()


async def sent() -> None:
    """Wait until every batch handed to this event loop's sender so far has been sent (or failed).
    Whoever acts and then looks (a test that dispatches, then opens a socket) waits for this, or the
    action's sends may arrive after the socket has joined the group, as they may in a server."""
    sender = _senders.get(asyncio.get_running_loop())
    if sender is not None and not sender[1].done():
        await sender[0].join()


async def _group_send_all(messages: list[tuple[str, dict]]) -> None:
    layer = get_channel_layer()
    send_many = getattr(layer, "group_send_many", None)
    if send_many is not None:
        # The product's layers send a batch in one go (backend/realtime/layers.py): on Redis two
        # round trips for the whole batch rather than four per group.
        await send_many(messages)
        return
    # Sent together so that fan-out to twenty crews costs one round of sends, not twenty in a row.
    results = await asyncio.gather(
        *(layer.group_send(group, message) for group, message in messages),
        return_exceptions=True,
    )
    failures = [result for result in results if isinstance(result, BaseException)]
    if failures:
        logger.error("%d of %d real-time sends failed: %r", len(failures), len(messages), failures[0])
