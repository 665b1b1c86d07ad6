"""Connecting in a reconnect storm: after a web process dies, all its phones reconnect at once to
the processes left (docs/scaling.md, "What breaks first").

- The sockets' database work runs on several threads (backend/database_threads.py), not on
  channels' one thread per process, so connects overlap instead of queueing one after another.
- The handshake is accepted before any database work, so daphne (which drops a handshake not
  accepted within 5 s) never drops one that waits for the database.
- A socket whose phone hung up while it waited does no more work for it, and one that waits
  answers the app's ping meanwhile.

Asserted on work done (threads met, look-ups made), never on time."""

import asyncio
import threading

import pytest
from asgiref.sync import sync_to_async

from backend import database_threads
from backend.sockets import consumers
from tests.realtime.sockets import (
    FRAME_TIMEOUT_S,
    communicator,
    receive_frame,
    receive_until_sync_ready,
    session_cookie_for,
)

pytestmark = pytest.mark.django_db(transaction=True)

RESPONDER = "/ws/responder/"
THREADS = 6  # WEBSOCKET_DATABASE_THREADS here: 4 for connecting, 2 for the frames of open sockets
CONNECT_THREADS = 4
FRAME_THREADS = 2
# How long a connect waits at the barrier for the others before the test fails: a bound on a
# failure, not a measure.
BARRIER_TIMEOUT_S = 10


@pytest.fixture
def socket_threads(settings, monkeypatch):
    settings.WEBSOCKET_DATABASE_THREADS = THREADS
    # The tests' in-memory SQLite keeps socket work on one thread (a read meeting another thread's
    # write fails there at once); these connects only read, so they may use the threads.
    monkeypatch.setattr(database_threads, "_database_needs_one_thread", lambda: False)


async def cookie_of(responder) -> str:
    return await sync_to_async(session_cookie_for)(responder.user)


async def test_it_runs_the_database_work_of_concurrent_connects_on_several_threads(alice, socket_threads, monkeypatch):
    # Every connect waits inside its second-factor check until CONNECT_THREADS connects are in it at
    # once: on one thread the first would wait alone, and the barrier would break.
    barrier = threading.Barrier(CONNECT_THREADS, timeout=BARRIER_TIMEOUT_S)
    threads_met = set()
    check = consumers._passed_second_factor_if_needed

    def meets_the_other_connects(session, user):
        threads_met.add(threading.get_ident())
        barrier.wait()
        return check(session, user)

    monkeypatch.setattr(consumers, "_passed_second_factor_if_needed", meets_the_other_connects)
    cookie = await cookie_of(alice)
    sockets = [communicator(RESPONDER, cookie=cookie) for _ in range(CONNECT_THREADS)]

    handshakes = await asyncio.gather(*(socket.connect(timeout=FRAME_TIMEOUT_S) for socket in sockets))
    replays = await asyncio.gather(*(receive_until_sync_ready(socket) for socket in sockets))

    assert [connected for connected, _ in handshakes] == [True] * CONNECT_THREADS
    assert [ready["type"] for _, ready in replays] == ["sync.ready"] * CONNECT_THREADS
    assert len(threads_met) == CONNECT_THREADS
    await asyncio.gather(*(socket.disconnect() for socket in sockets))


async def test_it_never_uses_more_threads_than_set(alice, socket_threads, monkeypatch):
    threads_used = set()
    check = consumers._passed_second_factor_if_needed

    def counted(session, user):
        threads_used.add(threading.current_thread().name)
        return check(session, user)

    monkeypatch.setattr(consumers, "_passed_second_factor_if_needed", counted)
    cookie = await cookie_of(alice)
    sockets = [communicator(RESPONDER, cookie=cookie) for _ in range(3 * THREADS)]

    await asyncio.gather(*(socket.connect(timeout=FRAME_TIMEOUT_S) for socket in sockets))
    await asyncio.gather(*(receive_until_sync_ready(socket) for socket in sockets))

    assert 1 <= len(threads_used) <= CONNECT_THREADS
    assert all(name.startswith("socket-database-connect") for name in threads_used)
    await asyncio.gather(*(socket.disconnect() for socket in sockets))


async def test_a_connect_does_not_wait_behind_acknowledgements_waiting_for_a_lock(alice, socket_threads, monkeypatch):
    # An alert.ack is a write: it can wait for a row lock (a dispatch of the same incident in
    # progress, or a killed process's transaction until PostgreSQL ends it). Acknowledgements from
    # as many sockets as there are threads in all wait here; a phone connecting meanwhile must not.
    lock_released = threading.Event()
    acknowledging = []

    def waits_for_a_lock(*, actor, alert_id, response):
        acknowledging.append(alert_id)
        lock_released.wait(BARRIER_TIMEOUT_S)

    monkeypatch.setattr(consumers.actions, "respond_to_alert", waits_for_a_lock)
    cookie = await cookie_of(alice)
    open_sockets = [communicator(RESPONDER, cookie=cookie) for _ in range(THREADS)]
    await asyncio.gather(*(socket.connect(timeout=FRAME_TIMEOUT_S) for socket in open_sockets))
    await asyncio.gather(*(receive_until_sync_ready(socket) for socket in open_sockets))
    for alert_id, socket in enumerate(open_sockets, start=1):
        await socket.send_json_to({"type": "alert.ack", "alert_id": alert_id})
    while len(acknowledging) < FRAME_THREADS:
        await asyncio.sleep(0.01)

    phone = communicator(RESPONDER, cookie=cookie)
    connected, _ = await phone.connect(timeout=FRAME_TIMEOUT_S)
    _, ready = await receive_until_sync_ready(phone)

    assert connected and ready["type"] == "sync.ready"
    assert len(acknowledging) == FRAME_THREADS and not lock_released.is_set()  # still waiting
    lock_released.set()
    for socket in open_sockets:
        assert (await socket.receive_json_from(timeout=FRAME_TIMEOUT_S))["type"] == "alert.ack.ok"
    await asyncio.gather(*(socket.disconnect() for socket in [*open_sockets, phone]))


async def test_it_accepts_the_handshake_before_looking_up_the_user(alice, socket_threads, monkeypatch):
    looking_up = threading.Event()
    go_on = threading.Event()
    look_up = consumers.user_of_session

    def held_up(scope):
        looking_up.set()
        go_on.wait(BARRIER_TIMEOUT_S)
        return look_up(scope)

    monkeypatch.setattr(consumers, "user_of_session", held_up)
    socket = communicator(RESPONDER, cookie=await cookie_of(alice))

    connected, _ = await socket.connect(timeout=FRAME_TIMEOUT_S)
    started_looking_up = await asyncio.to_thread(looking_up.wait, FRAME_TIMEOUT_S)

    assert connected and started_looking_up and not go_on.is_set()
    go_on.set()
    _, ready = await receive_until_sync_ready(socket)
    assert ready["data"]["complete"] is True
    await socket.disconnect()


async def a_connect_holding_the_only_slot(alice, monkeypatch):
    """A phone whose connect is in its user look-up, held there until the returned event is set,
    in the only connect slot."""
    holding, release = threading.Event(), threading.Event()
    look_up = consumers.user_of_session
    looked_up = []

    def held_up(scope):
        looked_up.append(scope["path"])
        holding.set()
        release.wait(BARRIER_TIMEOUT_S)
        return look_up(scope)

    monkeypatch.setattr(consumers, "user_of_session", held_up)
    only_slot = database_threads.ConnectSlots(1)
    monkeypatch.setattr(consumers, "_connect_slots", lambda: only_slot)
    first = communicator(RESPONDER, cookie=await cookie_of(alice))
    assert (await first.connect(timeout=FRAME_TIMEOUT_S))[0]
    assert await asyncio.to_thread(holding.wait, FRAME_TIMEOUT_S)
    return first, release, looked_up


async def test_it_does_no_more_work_for_a_phone_that_hung_up_while_it_waited(alice, socket_threads, monkeypatch):
    first, release, looked_up = await a_connect_holding_the_only_slot(alice, monkeypatch)
    backlogs_read = []
    read_backlog = consumers._backlog

    async def counted_backlog(*args):
        backlogs_read.append(args)
        return await read_backlog(*args)

    monkeypatch.setattr(consumers, "_backlog", counted_backlog)
    waiting = communicator(RESPONDER, cookie=await cookie_of(alice))
    assert (await waiting.connect(timeout=FRAME_TIMEOUT_S))[0]  # accepted, waiting for the slot

    await waiting.disconnect()  # the phone hangs up before its turn
    release.set()
    await receive_until_sync_ready(first)

    assert len(looked_up) == 1  # the first phone's only: nothing looked up for the one that left
    assert len(backlogs_read) == 1
    await first.disconnect()


async def test_a_socket_waiting_for_its_turn_answers_the_apps_ping(alice, socket_threads, monkeypatch):
    # The app gives up on a socket whose ping has no pong within 10 s (pwa/app/socket.js): in a
    # reconnect storm every phone did so before its turn came, and joined the back of the queue.
    first, release, _ = await a_connect_holding_the_only_slot(alice, monkeypatch)
    waiting = communicator(RESPONDER, cookie=await cookie_of(alice))
    assert (await waiting.connect(timeout=FRAME_TIMEOUT_S))[0]

    await waiting.send_json_to({"type": "ping"})
    pong = await receive_frame(waiting)

    assert pong["type"] == "pong"
    release.set()
    await receive_until_sync_ready(first)
    _, ready = await receive_until_sync_ready(waiting)
    assert ready["data"]["complete"] is True
    await asyncio.gather(first.disconnect(), waiting.disconnect())


async def test_the_connect_threads_are_served_first_by_the_connection_pool_and_the_frame_threads_are_not(
    alice, socket_threads
):
    """A phone reconnecting after its process died must not wait for a pooled connection behind the
    push receipts queued there (backend/postgresql/pool.py): the connect threads are marked."""
    from backend.postgresql import pool

    def marked() -> bool:
        return getattr(pool._first_in_line, "marked", False)

    assert await database_threads.connect_database_sync_to_async(marked)() is True
    assert await database_threads.socket_database_sync_to_async(marked)() is False
    assert marked() is False  # nor any other thread (this one, a request's)


async def test_the_sockets_threads_draw_on_the_connections_the_pool_keeps_for_them(alice, socket_threads):
    """Neither a reconnecting phone's log-in and replay nor an open socket's acknowledgement waits
    for a push receipt to give a pooled connection back (backend/postgresql/pool.py): every socket
    thread draws on the connections kept for them, and no other thread does."""
    from backend.postgresql import pool

    assert await database_threads.connect_database_sync_to_async(pool._draws_on_the_sockets_share)() is True
    assert await database_threads.socket_database_sync_to_async(pool._draws_on_the_sockets_share)() is True
    assert pool._draws_on_the_sockets_share() is False  # nor any other thread (this one, a request's)


async def test_a_connect_joining_its_groups_leaves_the_database_threads_to_the_next_phone(
    alice, socket_threads, monkeypatch
):
    """A connect's slot is for its database calls only: while one phone joins its groups (Redis
    round trips, and an event loop busy with HTTP requests), the next phone logs in. Held for the
    whole start, a slot was on a thread about a third of the time, and after a web process died
    its phones were taken back at about 13 a second (docs/scaling.md)."""
    monkeypatch.setattr(consumers, "_connect_slots", lambda: only_slot)
    only_slot = database_threads.ConnectSlots(1)
    look_up = consumers.user_of_session
    looked_up = []

    def counted(scope):
        looked_up.append(scope["path"])
        return look_up(scope)

    monkeypatch.setattr(consumers, "user_of_session", counted)
    joining, go_on = asyncio.Event(), asyncio.Event()
    bind = consumers._EventSocket.bind_to_session

    async def first_one_held_up(self):
        if not joining.is_set():
            joining.set()
            await go_on.wait()
        await bind(self)

    monkeypatch.setattr(consumers._EventSocket, "bind_to_session", first_one_held_up)
    cookie = await cookie_of(alice)
    first, second = communicator(RESPONDER, cookie=cookie), communicator(RESPONDER, cookie=cookie)
    assert (await first.connect(timeout=FRAME_TIMEOUT_S))[0]
    await asyncio.wait_for(joining.wait(), FRAME_TIMEOUT_S)

    assert (await second.connect(timeout=FRAME_TIMEOUT_S))[0]
    for _ in range(int(BARRIER_TIMEOUT_S / 0.01)):  # a bound on a failure, not a measure
        if len(looked_up) == 2:
            break
        await asyncio.sleep(0.01)

    assert len(looked_up) == 2 and not go_on.is_set()  # the second logged in while the first joined
    go_on.set()
    for socket in (first, second):
        _, ready = await receive_until_sync_ready(socket)
        assert ready["data"]["complete"] is True
    await asyncio.gather(first.disconnect(), second.disconnect())


async def test_a_connect_thread_goes_on_to_the_next_call_without_waiting_for_the_event_loop(
    alice, settings, monkeypatch
):
    """A call's answer comes back through the event loop, 30-40 ms after the thread is done with it
    in a process busy with push receipts (docs/scaling.md); a thread that was given the next call
    only then was idle about a third of the time. So the next call waits at the thread already:
    with one connect thread, a second phone's log-in is handed to it while the first's is worked on,
    and the thread starts it while the event loop is still busy."""
    settings.WEBSOCKET_DATABASE_THREADS = 2  # one thread for connecting, one for frames
    monkeypatch.setattr(database_threads, "_database_needs_one_thread", lambda: False)
    first_held, release_first, second_looked_up = threading.Event(), threading.Event(), threading.Event()
    look_up = consumers.user_of_session
    looked_up = []

    def first_one_held(scope):
        looked_up.append(scope["path"])
        if len(looked_up) == 1:
            first_held.set()
            release_first.wait(BARRIER_TIMEOUT_S)
        else:
            second_looked_up.set()
        return look_up(scope)

    monkeypatch.setattr(consumers, "user_of_session", first_one_held)
    log_in = consumers._log_in
    handed_over = []

    async def counted(*args):
        handed_over.append(args)  # on the loop, as the call is handed to the threads
        return await log_in(*args)

    monkeypatch.setattr(consumers, "_log_in", counted)
    cookie = await cookie_of(alice)
    first, second = communicator(RESPONDER, cookie=cookie), communicator(RESPONDER, cookie=cookie)
    assert (await first.connect(timeout=FRAME_TIMEOUT_S))[0]
    assert await asyncio.to_thread(first_held.wait, FRAME_TIMEOUT_S)
    assert (await second.connect(timeout=FRAME_TIMEOUT_S))[0]
    for _ in range(int(BARRIER_TIMEOUT_S / 0.01)):  # a bound on a failure, not a measure
        if len(handed_over) == 2:
            break
        await asyncio.sleep(0.01)

    assert len(handed_over) == 2 and len(looked_up) == 1  # queued at the thread, which is busy with the first
    release_first.set()
    # The event loop is held here (a blocking wait on it): only the thread can start the second.
    assert second_looked_up.wait(BARRIER_TIMEOUT_S)
    for socket in (first, second):
        _, ready = await receive_until_sync_ready(socket)
        assert ready["data"]["complete"] is True
    await asyncio.gather(first.disconnect(), second.disconnect())
