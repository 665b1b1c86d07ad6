"""The worker's loop: run every registered pass that is due, then sleep until the next poll or a
wake-up. It knows no app: deliveries, escalations, welfare e-mails and the rest are passes the apps
register (backend/scheduling.py).

Run as many workers as wanted, on as many machines as wanted: each pass shares its work with the
other workers through the database (leases, row locks), never through this loop.
"""

import asyncio
import contextlib
import functools
import logging
import os
import socket
import uuid

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from backend import scheduling
from backend.scheduling import WAKE_GROUP, Pass, WorkerIdentity, registered_passes

logger = logging.getLogger(__name__)

# How long past its due time a scheduled pass (every_seconds > 0: escalations, summaries, heartbeat)
# waits while another pass's work is in progress (Pass.in_progress: a fan-out being claimed and
# sent). Run between a fan-out's first claim and the rest, the report summaries of its 200 alerts
# took 14 ms of CPU and SQLite's write lock, which the next claim waited for; escalation steps are
# tens of seconds apart, so a second or two later is no matter, and never more than this.
HOLD_BACK_SECONDS = 2.0


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Worker:
    """Runs `passes` (by default every registered one) until `stop` is set."""

    def __init__(self, passes: list[Pass] | None = None, *, name: str | None = None):
        self.identity = WorkerIdentity(name=name or worker_name(), started_at=timezone.now())
        self.passes = registered_passes(self.identity) if passes is None else passes
        self._last_run: dict[int, float] = {}
        self._started: list[Pass] = []
        self._woken = asyncio.Event()  # set by a commit in this process that made work due

    async def run(self, stop: asyncio.Event) -> None:
        layer = get_channel_layer()
        wake_channel = await layer.new_channel()
        await layer.group_add(WAKE_GROUP, wake_channel)
        wake = self._local_wake_up(asyncio.get_running_loop())
        scheduling.add_local_wake_up(wake)
        logger.info("Worker %s started: %s", self.identity.name, ", ".join(p.name for p in self.passes))
        try:
            async with self:
                while not stop.is_set():
                    self._woken.clear()  # a wake-up from now on runs the passes again
                    if not await self.run_once():
                        await self._wait(layer, wake_channel, stop)
        finally:
            scheduling.remove_local_wake_up(wake)
            await layer.group_discard(WAKE_GROUP, wake_channel)
            logger.info("Worker %s stopped", self.identity.name)

    def _local_wake_up(self, loop: asyncio.AbstractEventLoop):
        """What a commit in this process calls to wake this worker (from the committing thread)."""

        def wake() -> None:
            with contextlib.suppress(RuntimeError):  # the loop has closed: the worker has stopped
                loop.call_soon_threadsafe(self._woken.set)

        return wake

    async def __aenter__(self) -> "Worker":
        """Start every pass (a test may then turn the loop itself with `run_once`)."""
        self._started = []
        try:
            for each in self.passes:
                await each.start()
                self._started.append(each)
        except BaseException:
            await self.__aexit__(None, None, None)
            raise
        return self

    async def __aexit__(self, *exc_info) -> None:
        """Stop the passes started, last first, each finishing what it started."""
        while self._started:
            await self._started.pop().stop()

    async def run_once(self) -> int:
        """Run every pass that is due, those of every turn (the deliveries) first and the others in
        order; how much work they started (0: idle). A scheduled pass waits while another's work
        is in progress, up to HOLD_BACK_SECONDS past its due time."""
        now = asyncio.get_running_loop().time()
        total = 0
        for each in self._in_turn_order:
            due_since = self._last_run.get(id(each), float("-inf")) + each.every_seconds
            if now < due_since:
                continue
            if each.every_seconds and now - due_since < HOLD_BACK_SECONDS and self._in_progress(besides=each):
                continue
            self._last_run[id(each)] = now
            total += await self._run_pass(each)
        return total

    @functools.cached_property
    def _in_turn_order(self) -> list[Pass]:
        """The passes run on every turn first: a dispatch's first claim no longer waits for the
        heartbeat's write or the escalations' query that come before it in INSTALLED_APPS."""
        return sorted(self.passes, key=lambda each: each.every_seconds > 0)

    def _in_progress(self, *, besides: Pass) -> bool:
        return any(other.in_progress() for other in self.passes if other is not besides)

    async def _run_pass(self, each: Pass) -> int:
        """One pass's run. A pass that fails (the database restarting, a bug) is logged and run
        again when next due: it must never end the worker, whose other passes send the alerts.
        Its database connection is dropped if broken, so the next run opens a new one."""
        try:
            return await each.run_once()
        except Exception as error:
            # The class only: a database error's text may quote the values of a row.
            logger.error("Pass %r failed (%s); running it again when next due.", each.name, type(error).__name__)
            await sync_to_async(close_old_connections)()
            return 0

    async def _wait(self, layer, wake_channel: str, stop: asyncio.Event) -> None:
        """Until a wake-up (a message, or a commit in this process), a stop, or the poll interval,
        whichever comes first."""
        waiters = [
            asyncio.ensure_future(layer.receive(wake_channel)),
            asyncio.ensure_future(stop.wait()),
            asyncio.ensure_future(self._woken.wait()),
        ]
        try:
            await asyncio.wait(waiters, timeout=settings.DELIVERY_POLL_SECONDS, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
            await asyncio.gather(*waiters, return_exceptions=True)


async def run_worker(stop: asyncio.Event, *, name: str | None = None) -> None:
    """Run one worker with every registered pass until `stop` is set."""
    await Worker(name=name).run(stop)
