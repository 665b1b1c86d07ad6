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
thread.
"""

import functools
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.conf import settings
from django.db import close_old_connections, connection

_executors: dict[int, ThreadPoolExecutor] = {}


def thread_count() -> int:
    """The threads the sockets' database work may use; 0 for channels' one thread."""
    threads = settings.WEBSOCKET_DATABASE_THREADS
    return 0 if threads and _database_needs_one_thread() else threads


def _database_needs_one_thread() -> bool:
    """An in-memory SQLite database (the tests') is shared between threads through SQLite's shared
    cache, where a read that meets another thread's write fails at once ("database table is
    locked") instead of waiting for it as on a file."""
    return connection.vendor == "sqlite" and connection.is_in_memory_db()


def _executor(threads: int) -> ThreadPoolExecutor:
    # One per size, made on first use (a test may change the setting); never shut down: its idle
    # threads cost nothing and hold no database connection.
    if threads not in _executors:
        _executors[threads] = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="socket-database")
    return _executors[threads]


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


def socket_database_sync_to_async(function):
    """`function` (which uses the database), made awaitable for a socket consumer, on the sockets'
    threads. A decorator, like channels' `database_sync_to_async`."""

    @functools.wraps(function)
    async def run(*args, **kwargs):
        threads = thread_count()
        if not threads:
            return await database_sync_to_async(function)(*args, **kwargs)
        on_a_socket_thread = sync_to_async(_with_fresh_connection, thread_sensitive=False, executor=_executor(threads))
        return await on_a_socket_thread(function, *args, **kwargs)

    return run
