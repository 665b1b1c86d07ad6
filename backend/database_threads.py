"""The sockets' database work, on threads of their own rather than channels' one.

channels' `database_sync_to_async` is thread-sensitive: outside an HTTP request, every call in a
process runs on one thread. Every socket's connect (session, user, responder, the replay query)
therefore waited for every other's: 8-34 connects a second, and after a web process died its
phones' handshakes queued for longer than daphne waits (5 s) and were dropped (docs/scaling.md).

Nothing in that work needs one thread: each socket awaits its own calls one at a time (so its
own order holds: the backlog before sync.ready), and each call takes and gives back its database
connection (as channels' wrapper does, with `close_old_connections` before and after; with a pool,
that returns the connection to the pool). So the calls run on a pool of
`WEBSOCKET_DATABASE_THREADS` threads (settings: by default half the database pool, so that a
reconnect storm can never ask for more connections than the pool has). 0 keeps channels' one
thread. The pool keeps a connection for each of these threads (backend/postgresql/pool.py,
`kept_for_sockets`): the HTTP requests share the rest, so a socket's call never waits for a push
receipt to give one back.

Those threads are split in two: connecting (reads only: the user, the responder, the replay, the
board's snapshot) and the frames of open sockets (an `alert.ack` is a write that can wait for row
locks: a dispatch or stand-down of the same incident in progress, or the transaction of a process
killed in the middle of one until PostgreSQL ends it). In one queue, a few acknowledgements waiting
for a lock held every thread, and every reconnecting phone waited with them.
"""

import asyncio
import contextlib
import functools
from collections import deque
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, close_old_connections, connection, connections
from django.db.backends.sqlite3.creation import DatabaseCreation

from backend.postgresql.pool import draw_on_the_sockets_share, serve_this_thread_first

CONNECTS = "connect"
FRAMES = "frames"
_executors: dict[tuple[str, int], ThreadPoolExecutor] = {}


def thread_count() -> int:
    """The threads the sockets' database work may use; 0 for channels' one thread."""
    threads = settings.WEBSOCKET_DATABASE_THREADS
    return 0 if threads and _database_needs_one_thread() else threads


def threads_for(queue: str) -> int:
    """Of thread_count(), those for connecting (CONNECTS) or for frames (FRAMES): frames get a
    third, at least one; with a single thread, both share it."""
    threads = thread_count()
    if threads <= 1:
        return threads
    frames = max(1, threads // 3)
    return frames if queue == FRAMES else threads - frames


def _database_needs_one_thread() -> bool:
    """An in-memory SQLite database (the tests') is shared between threads through SQLite's shared
    cache, where a read that meets another thread's write fails at once ("database table is
    locked") instead of waiting for it as on a file.

    Read from the database's settings, never from `connection`: this runs on the event loop, where
    Django's `connection` is per asyncio task (asgiref's Local), so each socket's first look made
    a DatabaseWrapper of its own that lived as long as the socket (3.8 KB and 19 objects for the
    collector to walk) and was left as cyclic garbage when it closed (14 objects), reclaimed only
    by a full collection (docs/scaling.md, "The serving process's pauses")."""
    database = connections.settings[DEFAULT_DB_ALIAS]
    return database["ENGINE"] == "django.db.backends.sqlite3" and DatabaseCreation.is_in_memory_db(database["NAME"])


def _executor(queue: str, threads: int) -> ThreadPoolExecutor:
    # One per queue and size, made on first use (a test may change the setting); never shut down:
    # idle threads cost nothing and hold no database connection.
    key = ("shared", 1) if thread_count() == 1 else (queue, threads)
    if key not in _executors:
        _executors[key] = ThreadPoolExecutor(
            max_workers=threads,
            thread_name_prefix=f"socket-database-{key[0]}",
            initializer=_connect_thread_starts if key[0] == CONNECTS else draw_on_the_sockets_share,
        )
    return _executors[key]


def _connect_thread_starts() -> None:
    """A connect thread's connections come from those the pool keeps for the sockets' threads, and
    first when it waits for one (backend/postgresql/pool.py)."""
    draw_on_the_sockets_share()
    serve_this_thread_first()


def _with_fresh_connection(function, *args, **kwargs):
    """As channels' wrapper: a connection that died or aged out is replaced before, and given back
    (to the pool, or closed if CONN_MAX_AGE is 0) after. A PostgreSQL connection without a pool is
    closed too: otherwise each of the threads would hold one for CONN_MAX_AGE (and, in the tests,
    keep the test database from being dropped)."""
    close_old_connections()
    try:
        return function(*args, **kwargs)
    finally:
        if connection.vendor == "postgresql" and not connection.settings_dict.get("OPTIONS", {}).get("pool"):
            connection.close()
        close_old_connections()


def socket_database_sync_to_async(function, *, queue: str = FRAMES):
    """`function` (which uses the database), made awaitable for a socket consumer, on the sockets'
    threads for `queue`. A decorator, like channels' `database_sync_to_async`."""

    @functools.wraps(function)
    async def run(*args, **kwargs):
        threads = threads_for(queue)
        if not threads:
            return await database_sync_to_async(function)(*args, **kwargs)
        executor = _executor(queue, threads)
        on_a_socket_thread = sync_to_async(_with_fresh_connection, thread_sensitive=False, executor=executor)
        return await on_a_socket_thread(function, *args, **kwargs)

    run.func = function  # the function itself, as channels' wrapper has it (a test calls it in its transaction)
    return run


def connect_database_sync_to_async(function):
    """As socket_database_sync_to_async, on the threads for connecting."""
    return socket_database_sync_to_async(function, queue=CONNECTS)


class ConnectSlots:
    """The connects' turns on the connect threads, in one process (its event loop): `size` database
    calls handed to the threads at a time, the calls of connects that have begun (their replay, the
    board's snapshot) before the first call (the log-in) of those that have not, each kind in
    arrival order.

    A connect holds a slot only for a database call, not for its whole start: between its calls it
    joins its groups in Redis, and its calls' answers come back through an event loop that is also
    serving the process's HTTP requests. Held for the whole start, a slot was on a thread about a
    third of the time, and after a web process died its phones were taken back at about 13 a
    second (docs/scaling.md, "Recovery, after the fixes"). Its later calls go first, so that a phone
    that has logged in is replayed before the next one logs in: with one queue for every call, no
    phone had its sync.ready until the last had logged in.

    A waiting connect that is cancelled (its phone hung up) leaves the queue.

    There are twice as many slots as threads (`for_threads`): one call working on each thread and
    one waiting at it. A call's answer goes back through the event loop, 30-40 ms after the thread
    is done with it in a process busy with push receipts, and only then was its slot handed to the
    next call: each thread was idle about a third of the time (docs/scaling.md). The call waiting at
    a thread starts as soon as the one before it ends; a connect's later call can wait behind at
    most one log-in per thread."""

    BEGUN, NEW = 0, 1
    CALLS_PER_THREAD = 2

    @classmethod
    def for_threads(cls, threads: int) -> "ConnectSlots":
        return cls(cls.CALLS_PER_THREAD * threads)

    def __init__(self, size: int):
        self._free = size
        self._waiting: tuple[deque, deque] = (deque(), deque())  # BEGUN, NEW

    @contextlib.asynccontextmanager
    async def turn(self, *, begun: bool):
        """One database call's turn; begun: this connect has made its first call already."""
        await self._acquire(self._waiting[self.BEGUN if begun else self.NEW])
        try:
            yield
        finally:
            self._release()

    async def _acquire(self, queue: deque) -> None:
        if self._free:
            self._free -= 1
            return
        waiter = asyncio.get_running_loop().create_future()
        queue.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.cancelled():
                with contextlib.suppress(ValueError):  # _release may have passed over it already
                    queue.remove(waiter)
            else:
                self._release()  # handed the slot just as it was cancelled: pass it on
            raise

    def _release(self) -> None:
        for queue in self._waiting:
            while queue:
                waiter = queue.popleft()
                if not waiter.done():
                    waiter.set_result(None)  # the slot goes straight to the next in line
                    return
        self._free += 1
