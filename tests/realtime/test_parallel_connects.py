"""Connecting in a reconnect storm: after a web process dies, all its phones reconnect at once to
the processes left (docs/scaling.md, "What breaks first").

- The sockets' database work runs on several threads (backend/database_threads.py), not on
  channels' one thread per process, so connects overlap instead of queueing one after another.
- The handshake is accepted before any database work, so daphne (which drops a handshake not
  accepted within 5 s) never drops one that waits for the database.
- A socket whose phone hung up while it waited does no more work for it.

Asserted on work done (threads met, look-ups made), never on time."""

import asyncio
import threading

import pytest
from asgiref.sync import async_to_sync, sync_to_async

from backend import database_threads
from backend.sockets import consumers
from tests.realtime.sockets import FRAME_TIMEOUT_S, communicator, receive_until_sync_ready, session_cookie_for

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


async def test_it_does_no_more_work_for_a_phone_that_hung_up_while_it_waited(alice, monkeypatch):
    socket = communicator(RESPONDER, cookie=await cookie_of(alice))
    look_up = consumers.user_of_session
    backlogs_read = []

    def phone_hangs_up_meanwhile(scope):
        async_to_sync(socket.send_input)({"type": "websocket.disconnect", "code": 1006})
        return look_up(scope)

    async def counted_backlog(*args):
        backlogs_read.append(args)
        return [], 0, False

    monkeypatch.setattr(consumers, "user_of_session", phone_hangs_up_meanwhile)
    monkeypatch.setattr(consumers, "_backlog", counted_backlog)

    connected, _ = await socket.connect(timeout=FRAME_TIMEOUT_S)
    await socket.wait(timeout=FRAME_TIMEOUT_S)  # the consumer ended on the hang-up

    assert connected
    assert backlogs_read == []  # nor the groups joined, nor sync.ready sent
    assert await socket.receive_nothing()
