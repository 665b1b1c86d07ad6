"""The connection pool behind DATABASE_POOL, told apart from an outage.

psycopg_pool makes a request that finds no free connection wait in a queue, up to the pool's
timeout (DATABASE_POOL_TIMEOUT, 10 s), while the pool's own workers open connections in the
background. When PostgreSQL is down or unreachable those attempts fail, are retried with growing
pauses (1, 2, 4 ... s, for five minutes), and the waiting request is never told: it waits the whole
timeout and gets a PoolTimeout, which the API answers as 503 `database_busy`. Without the pool the
request's own connection attempt fails within DATABASE_CONNECT_TIMEOUT (3 s) and the CAD is told
`database_unavailable` in time to act on it.

`OutageAwarePool` keeps the pool's behaviour for a burst on a healthy database (wait up to the
timeout, then PoolTimeout: `database_busy`) and answers an outage as fast as no pool would:

1. When one of its attempts to connect fails, every request then waiting is failed at once with
   `DatabaseUnreachable` (an OperationalError: 503 `database_unavailable`). The pool's own attempt
   is the health probe: no connection is opened beyond the pool's. A burst on a healthy database
   makes no failing attempt, so its requests still wait for a connection to come back.
2. A failed attempt is given up at once (reconnect_timeout 0: psycopg_pool then tries once more
   straight away) instead of being retried in the background for five minutes. So a request that
   arrives later, with no connection free, makes the pool start a fresh attempt for it (the pool
   grows) rather than wait for the next retry, which can be a minute away and leaves the request
   to time out; once PostgreSQL is back, the next request's attempt reconnects at once.
3. When a connection taken from the pool turns out dead (the pool's check), every other idle one
   is checked at once. psycopg_pool would check them one per turn with growing pauses (0, 1, 2,
   4 ... s): after an outage dropped ten idle connections, that alone outlasts the timeout.

A request is therefore answered `database_unavailable` after at most one connection attempt, which
DATABASE_CONNECT_TIMEOUT bounds (refused: at once; unreachable: 3 s). What this does not cover: a
request whose query hangs on a connection the network dropped silently (no reset), and requests
waiting while every connection of a full pool is held by such queries (tests/faults cuts
connections with a reset, as a server that restarts or a firewall that rejects does).

It also lets the sockets' connects go first (`serve_this_thread_first`): psycopg_pool serves the
requests waiting for a connection in arrival order, so after a web process died the phones that
came back to a survivor waited behind every push receipt queued there before them (the receipts
spent more than half their time in that queue, py-spy in bench/faults.py's daphne_killed), and
their resync waited with them. A thread marked first (the sockets' connect threads,
backend/database_threads.py) joins the queue after the other marked ones and before every request.
They are few (a share of the pool), so the requests still get the rest of the pool.

First in line was not enough: every connection could be held by a request (a receipt holds one
until it ends, the event loop's hops included), so a connect still waited for one to end, about
half of each connect call after a kill (docs/scaling.md, "Where the last phones' time went"), and
the sockets' one frames thread waited behind the whole queue of receipts for each acknowledgement.
So the pool keeps `kept_for_sockets` connections for the sockets' threads (those marked with
`draw_on_the_sockets_share`, as many as WEBSOCKET_DATABASE_THREADS): every other thread (the HTTP
requests, the embedded worker) may hold at most the rest at once, and waits for one of its own to
come back beyond that, up to the same timeout (then PoolTimeout: `database_busy`), even while a
kept connection is idle. The sockets' threads are no more than the connections kept for them, so
they never wait for a request to end.

Points 1 to 3 and the queue override psycopg_pool internals (`_connect`, `_check_connection`, `_lock`,
`_waiting`): psycopg-pool is pinned in requirements.txt, and tests/test_database_pool.py runs
each point against a real PostgreSQL through a proxy that cuts it off, so an upgrade that changes
them fails there.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

logger = logging.getLogger(__name__)


class DatabaseUnreachable(psycopg.OperationalError):
    """The pool tried to connect while this request waited for a connection, and could not. An
    OperationalError, so Django raises it as django.db.OperationalError (cause: this), and the API
    answers 503 `database_unavailable` (backend/api/errors.py), as when a request without the pool
    cannot connect."""


_first_in_line = threading.local()
_sockets_share = threading.local()


def serve_this_thread_first() -> None:
    """From now on, when the calling thread waits for a pooled connection, it is served before the
    waiting requests (after other threads so marked). For a thread pool's initializer."""
    _first_in_line.marked = True


def draw_on_the_sockets_share() -> None:
    """From now on, the calling thread's connections come from those the pool keeps for the sockets'
    threads (`kept_for_sockets`), not from the requests' share. For a thread pool's initializer."""
    _sockets_share.drawn_on = True


def _draws_on_the_sockets_share() -> bool:
    return getattr(_sockets_share, "drawn_on", False)


class _WaitingQueue(deque):
    """The pool's queue of waiting clients (psycopg_pool appends, and pops from the left to serve),
    with the marked threads' clients ahead of the others, each kind in arrival order."""

    def __init__(self):
        super().__init__()
        self._first: set[int] = set()  # ids of the marked clients in the queue (they are in it, so alive)

    def append(self, client) -> None:
        if not getattr(_first_in_line, "marked", False):
            super().append(client)
            return
        position = 0
        while position < len(self) and id(self[position]) in self._first:
            position += 1
        self.insert(position, client)
        self._first.add(id(client))

    def popleft(self):
        client = super().popleft()
        self._first.discard(id(client))
        return client

    def clear(self) -> None:
        super().clear()
        self._first.clear()


class OutageAwarePool(ConnectionPool):
    def __init__(self, *args, reconnect_timeout: float = 0.0, kept_for_sockets: int = 0, **kwargs):
        super().__init__(*args, reconnect_timeout=reconnect_timeout, **kwargs)
        with self._lock:
            self._waiting = _WaitingQueue()  # empty: nothing has asked for a connection yet
        self.kept_for_sockets = kept_for_sockets
        if not 0 <= kept_for_sockets < self.max_size:
            raise ValueError(f"kept_for_sockets must leave the requests at least one of {self.max_size} connections")
        # The requests' share: how many more connections they may take now, and the requests waiting
        # for one of theirs to come back (served in arrival order, as the pool serves its queue).
        self._requests_may_take = self.max_size - kept_for_sockets
        self._waiting_for_share: deque[threading.Event] = deque()
        self._held_by_requests: set[int] = set()  # ids of the connections out with requests (out, so alive)

    def getconn(self, timeout: float | None = None):
        """A connection; for a thread other than the sockets', one of the requests' share."""
        if not self.kept_for_sockets or _draws_on_the_sockets_share():
            return super().getconn(timeout)
        timeout = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        self._wait_for_the_requests_share(timeout)
        try:
            conn = super().getconn(max(deadline - time.monotonic(), 0.001))
        except BaseException:
            self._give_back_to_the_requests_share()
            raise
        with self._lock:
            self._held_by_requests.add(id(conn))
        return conn

    def putconn(self, conn) -> None:
        try:
            super().putconn(conn)
        finally:
            with self._lock:
                held_by_a_request = id(conn) in self._held_by_requests
                self._held_by_requests.discard(id(conn))
            if held_by_a_request:
                self._give_back_to_the_requests_share()

    def _wait_for_the_requests_share(self, timeout: float) -> None:
        with self._lock:
            if self._requests_may_take and not self._waiting_for_share:
                self._requests_may_take -= 1
                return
            turn = threading.Event()
            self._waiting_for_share.append(turn)
        if turn.wait(timeout):
            return
        with self._lock:
            if turn.is_set():
                return  # handed over just as the wait ended
            self._waiting_for_share.remove(turn)
            self._stats[self._REQUESTS_ERRORS] += 1
        # As psycopg_pool words its own, so that the API answers it 503 `database_busy`.
        raise PoolTimeout(f"couldn't get a connection after {timeout:.2f} sec")

    def _give_back_to_the_requests_share(self) -> None:
        with self._lock:
            if self._waiting_for_share:
                self._waiting_for_share.popleft().set()  # straight to the next request in line
            else:
                self._requests_may_take += 1

    def get_stats(self) -> dict[str, int]:
        stats = super().get_stats()
        if self.kept_for_sockets:
            with self._lock:
                stats["requests_waiting_for_their_share"] = len(self._waiting_for_share)
        return stats

    def _connect(self, timeout: float | None = None):
        """Every connection the pool opens (at start, to grow, to replace a lost one) comes here."""
        try:
            return super()._connect(timeout)
        except Exception as error:
            self._fail_waiting_requests(error)
            raise

    def reconnect_failed(self) -> None:
        """psycopg_pool gave up an attempt (at once here: reconnect_timeout 0) and counts one
        connection fewer. A request that began waiting after the attempt's last failure told the
        waiting ones, but before this, neither grew the pool (it was still counted) nor was told:
        it is told now. One that comes after this grows the pool, which attempts again for it."""
        super().reconnect_failed()
        self._fail_waiting_requests(None)

    def _check_connection(self, conn) -> None:
        try:
            super()._check_connection(conn)
        except Exception:
            # One idle connection is dead: the others likely died with it (the server restarted,
            # the network reset them). Check them all now, replacing the dead ones, so that the
            # request waits in the queue and is told the outcome of the pool's next attempt.
            self.check()
            raise

    def _fail_waiting_requests(self, error: Exception | None) -> None:
        with self._lock:
            waiting = list(self._waiting)
            self._waiting.clear()
        if not waiting:
            return
        why = f": {type(error).__name__}" if error is not None else ""
        told = 0
        for client in waiting:
            # An exception of its own for each request: they are raised on different threads.
            unreachable = DatabaseUnreachable(f"the pool {self.name!r} could not connect to the database{why}")
            unreachable.__cause__ = error
            told += client.fail(unreachable)  # False: that request had just timed out or been served
        logger.warning("Database unreachable: %d requests waiting for a connection were told so", told)
