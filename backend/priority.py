"""Dispatch first: requests that can wait (a responder's position, which 500 phones send every 10 s)
wait while a dispatch is being served, so that the dispatch has the process to itself.

A web process runs one Python interpreter at a time (the GIL) and, on SQLite, one writer. A
position costs the process about 10 ms of work (most of it Django's and daphne's handling of any
request, not the position's three queries), and at fifty a second one or two of them arrived
during each dispatch and took their share of it: dispatches were 1.5x slower with positions
flowing (issue 14, docs/positions.md). A position delayed by a few tens of milliseconds matters to
nobody; so what can wait, waits.

- A view says how urgent its methods are: `urgency = {"POST": URGENT}` on a dispatch,
  `{"POST": CAN_WAIT}` on a position.
- `DispatchFirst` (ASGI, backend/asgi.py) counts the urgent requests being served, from their
  arrival until their response is sent and their after-commit sends have left (broadcast.py), and
  holds a request that can wait, before Django handles it, while any is.
- A request that can wait and was already being handled when the dispatch came waits at its
  action's `wait_turn()` (called in a worker thread, before the action's queries and its write),
  unless it was held already.

Nothing that can wait is refused or lost: it is held once, for at most MAX_WAIT_S, then goes on (a
storm of dispatches delays positions, never starves them; and held at one point only, a request
never keeps a database connection from the pool for long while it waits). Per process: in the distributed
setup each web process holds back its own positions while it serves a dispatch; the dispatch's
database (PostgreSQL) has no single writer to share.
"""

import asyncio
import contextlib
import contextvars
import functools
import threading

from django.db import connection
from django.urls import Resolver404, resolve

from backend import broadcast

URGENT = "urgent"
CAN_WAIT = "can wait"
# The longest a request that can wait is held at each point: longer than any dispatch takes, so
# that the dispatch finishes alone, short enough that positions keep flowing in a storm.
MAX_WAIT_S = 1.0
# How long an urgent request's after-commit sends are awaited before the positions held go on.
SENDS_WAIT_S = 0.5
# Only these methods can be urgent or wait; reads are never held, and cost no URL lookup.
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class _Urgent:
    """How many urgent requests are in flight, and who waits for none to be. Shared by the event
    loop (the ASGI middleware) and the request threads (`wait_turn`), hence the lock; it is only
    ever held for a few operations, never while waiting on anything else."""

    def __init__(self):
        self.count = 0
        self.none_left = threading.Condition()
        self.loop_events: dict[asyncio.AbstractEventLoop, asyncio.Event] = {}

    def begin(self) -> None:
        with self.none_left:
            self.count += 1

    def end(self) -> None:
        with self.none_left:
            self.count -= 1
            if self.count:
                return
            self.none_left.notify_all()
            waiting, self.loop_events = self.loop_events, {}
        for loop, event in waiting.items():
            with contextlib.suppress(RuntimeError):  # a loop closed since: nobody waits on it
                loop.call_soon_threadsafe(event.set)

    def event_for(self, loop: asyncio.AbstractEventLoop) -> asyncio.Event | None:
        """An event set when no urgent request is left; None if none is now."""
        with self.none_left:
            if not self.count:
                return None
            return self.loop_events.setdefault(loop, asyncio.Event())


_urgent = _Urgent()
# Set in a request's context (which its worker thread inherits) once it has been held.
_held = contextvars.ContextVar("held_for_urgent", default=False)


def urgent_in_flight() -> int:
    return _urgent.count


@contextlib.contextmanager
def urgent():
    """Marks work as urgent for as long as it runs: what can wait waits for it."""
    _urgent.begin()
    try:
        yield
    finally:
        _urgent.end()


async def wait_turn_async(max_wait: float | None = None) -> None:
    """On the event loop: return once no urgent request is in flight, or after `max_wait`
    (MAX_WAIT_S)."""
    event = _urgent.event_for(asyncio.get_running_loop())
    if event is not None:
        _held.set(True)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(MAX_WAIT_S if max_wait is None else max_wait):
                await event.wait()


def wait_turn(max_wait: float | None = None) -> None:
    """In a request's thread, before work that can wait: return once no urgent request is in
    flight, or after `max_wait` (MAX_WAIT_S). Never waits a second time for a request held
    already, on an event loop's own thread (it would stop the loop serving the dispatch), nor
    inside a transaction (whatever it holds, a dispatch might need)."""
    if not _urgent.count or _held.get() or connection.in_atomic_block or _on_event_loop():
        return
    _held.set(True)
    timeout = MAX_WAIT_S if max_wait is None else max_wait
    with _urgent.none_left:
        _urgent.none_left.wait_for(lambda: not _urgent.count, timeout=timeout)


def _on_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def urgency_of(scope) -> str | None:
    """URGENT, CAN_WAIT or None for an HTTP request, from its view's `urgency` for its method."""
    method = scope.get("method", "")
    if method not in WRITES:
        return None
    path, root = scope.get("path", ""), scope.get("root_path", "")
    return _urgency(method, path.removeprefix(root) if root else path)


@functools.lru_cache(maxsize=4096)
def _urgency(method: str, path: str) -> str | None:
    try:
        match = resolve(path)
    except Resolver404:
        return None
    view = getattr(match.func, "view_class", None) or match.func
    return getattr(view, "urgency", {}).get(method)


class DispatchFirst:
    """ASGI middleware for HTTP: urgent requests are counted while served (until their response and
    their after-commit sends have gone), and requests that can wait are held while any is."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        kind = urgency_of(scope) if scope["type"] == "http" else None
        if kind == URGENT:
            with urgent():
                await self.app(scope, receive, send)
                await _sends_gone()
            return
        if kind == CAN_WAIT:
            await wait_turn_async()
        await self.app(scope, receive, send)


async def _sends_gone() -> None:
    """The urgent request's after-commit sends (handed to this loop's sender, broadcast.py) have
    been made, or SENDS_WAIT_S has passed."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(SENDS_WAIT_S):
            await broadcast.sent()
