"""Scheduled work: what the worker process runs, registered by the app that owns each piece.

The worker (backend/worker/) knows no app. Each app registers, in its AppConfig.ready, a factory
that makes its passes for one worker process:

    scheduling.register(lambda worker: Every("escalations", settings.DELIVERY_POLL_SECONDS, run_due_escalations))

and the worker turns its loop: it runs every pass that is due (each at most once per its
`every_seconds`), and sleeps until the next poll or until a wake-up (`wake_workers_on_commit`,
sent when something becomes due at once, such as a new alert's pushes).

A pass started nothing (0) or something (a count): when every pass started nothing the worker
sleeps. A pass whose work is slow and must never hold up a push (an e-mail relay) runs
`InBackground`, one run at a time.
"""

import asyncio
import dataclasses
import datetime
import logging
from collections.abc import Awaitable, Callable

from asgiref.sync import sync_to_async
from django.db import transaction

from backend.broadcast import send_on_commit

logger = logging.getLogger(__name__)

# The channel-layer group every worker listens on while it sleeps.
WAKE_GROUP = "worker.wake"


@dataclasses.dataclass(frozen=True)
class WorkerIdentity:
    """The worker process a pass runs in: its name (in leases and heartbeats) and start time."""

    name: str
    started_at: datetime.datetime


class Pass:
    """One kind of scheduled work, for one worker process. Subclasses set `name`, and
    `every_seconds` (at most this often; 0: on every turn of the loop), and override `run_once`."""

    name = "pass"
    every_seconds: float = 0.0

    async def start(self) -> None:
        """Before the first run (enter transports, open connections)."""

    async def run_once(self) -> int:
        """Do what is due; how much work was started (0: nothing was due)."""
        return 0

    def in_progress(self) -> bool:
        """Work this pass started is still going on that the scheduled passes must not slow down (a
        fan-out's pushes being claimed and sent): the worker holds them back meanwhile, for a while."""
        return False

    async def stop(self) -> None:
        """Finish what was started (the worker is stopping, or a test is done)."""


class Every(Pass):
    """A synchronous function (database work) run at most every `seconds`, on a worker thread. Its
    result, if a number, is how much work it started."""

    def __init__(self, name: str, seconds: float, function: Callable[[], int | None]):
        self.name = name
        self.every_seconds = seconds
        self.function = function

    async def run_once(self) -> int:
        started = await sync_to_async(self.function)()
        return started if isinstance(started, int) else 0


class InBackground(Pass):
    """A coroutine function run as a task at most every `seconds`, one run at a time, so that slow
    work never holds up the other passes. A failure is logged and tried again on the next run: the
    work it was doing stays due in the database."""

    def __init__(self, name: str, seconds: float, function: Callable[[], Awaitable]):
        self.name = name
        self.every_seconds = seconds
        self.function = function
        self.task: asyncio.Task | None = None

    async def run_once(self) -> int:
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self._run())
        return 0  # the work goes on in the background: nothing for the loop to hurry for

    async def _run(self) -> None:
        try:
            await self.function()
        except Exception:
            logger.exception("Scheduled work %r failed; trying again on its next run.", self.name)

    async def stop(self) -> None:
        if self.task is not None:
            await asyncio.gather(self.task, return_exceptions=True)


PassFactory = Callable[[WorkerIdentity], Pass]
_factories: dict[str, PassFactory] = {}


def register(key: str, factory: PassFactory) -> None:
    """Have every worker run the pass `factory` makes. `key` names it (registering the same key
    again replaces it, so an app's ready() may run twice). Passes run in the order registered, which
    is the order of INSTALLED_APPS."""
    _factories[key] = factory


def registered_passes(worker: WorkerIdentity) -> list[Pass]:
    """A fresh set of every registered pass, for one worker process."""
    return [factory(worker) for factory in _factories.values()]


def wake_workers_on_commit() -> None:
    """Workers also poll, but a wake-up means due work (the first push) does not wait for the next
    poll. A worker in this process (the embedded setup, `manage.py serve`) is woken by the commit
    itself: through the channel layer its wake-up waited behind the transaction's other after-commit
    sends (a dispatch's 200 alert events) and a turn of the layer; the others hear it there."""
    transaction.on_commit(_wake_local_workers)
    send_on_commit([(WAKE_GROUP, {"type": "worker.wake"})])


# How to wake each worker running in this process: thread-safe callables, one per worker loop.
_local_wake_ups: set[Callable[[], None]] = set()


def add_local_wake_up(wake: Callable[[], None]) -> None:
    """A worker running in this process asks to be woken directly after commits that make work due;
    `wake` is called from the committing thread, so it must be thread-safe and quick."""
    _local_wake_ups.add(wake)


def remove_local_wake_up(wake: Callable[[], None]) -> None:
    _local_wake_ups.discard(wake)


def _wake_local_workers() -> None:
    for wake in list(_local_wake_ups):
        try:
            wake()
        except Exception:  # a stopped worker's loop; the outbox is polled anyway
            logger.exception("Waking a worker of this process failed")
