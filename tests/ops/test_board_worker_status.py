"""The coordinators' board is told when no delivery worker has reported recently (then pushes are
not being sent), by the same rule as /healthz: in the snapshot on connecting, and by a
`board.workers` frame whenever that changes while the board is open."""

import asyncio
import datetime

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from backend import health
from backend.delivery.models import WorkerHeartbeat
from backend.delivery.sending import record_heartbeat
from tests.realtime.sockets import connect, receive_frame

pytestmark = pytest.mark.django_db(transaction=True)

BOARD = "/ws/coordinator/"
STALE_AFTER = health.WORKER_STALE_AFTER.total_seconds()


def beat(seconds_ago: float, name: str = "host:1:abc") -> datetime.datetime:
    when = timezone.now() - datetime.timedelta(seconds=seconds_ago)
    WorkerHeartbeat.objects.update_or_create(name=name, defaults={"started_at": when, "last_seen_at": when})
    return when


async def open_board(user):
    socket = await connect(BOARD, user)
    snapshot = await receive_frame(socket)
    assert snapshot["type"] == "board.snapshot"
    return socket, snapshot["data"]["delivery_workers"]


async def test_the_snapshot_says_no_worker_was_ever_heard_from(carol):
    socket, workers = await open_board(carol)

    assert workers == {"alive": False, "last_heard_at": None, "stale_after_seconds": int(STALE_AFTER)}
    await socket.disconnect()


async def test_the_snapshot_says_workers_are_sending_after_a_recent_heartbeat(carol):
    await sync_to_async(beat)(1)

    socket, workers = await open_board(carol)

    assert workers["alive"] is True
    await socket.disconnect()


async def test_the_snapshot_says_when_the_last_worker_was_heard_from_once_stale(carol):
    await sync_to_async(beat)(600, name="old-worker")
    heard_at = await sync_to_async(beat)(STALE_AFTER + 5, name="newest-worker")

    socket, workers = await open_board(carol)

    assert workers["alive"] is False
    assert datetime.datetime.fromisoformat(workers["last_heard_at"]) == heard_at
    await socket.disconnect()


@pytest.mark.parametrize(("seconds_ago", "alive"), [(STALE_AFTER - 2, True), (STALE_AFTER + 2, False)])
def test_the_board_and_healthz_agree_on_what_stale_means(client, seconds_ago, alive):
    beat(seconds_ago)

    assert health.delivery_workers_status()["alive"] is alive
    assert client.get("/healthz").json()["delivery_workers"][0]["alive"] is alive


async def test_an_open_board_hears_when_workers_start_and_stop_reporting(carol, settings):
    settings.BOARD_WORKER_CHECK_SECONDS = 0.1
    socket, workers = await open_board(carol)
    assert workers["alive"] is False

    await sync_to_async(record_heartbeat)("worker-1", started_at=timezone.now())
    started = await receive_frame(socket)
    assert started["type"] == "board.workers"
    assert started["data"]["alive"] is True

    await sync_to_async(WorkerHeartbeat.objects.update)(
        last_seen_at=timezone.now() - datetime.timedelta(seconds=STALE_AFTER + 1)
    )
    stopped = await receive_frame(socket)
    assert stopped["type"] == "board.workers"
    assert stopped["data"]["alive"] is False
    assert stopped["data"]["last_heard_at"] is not None
    await socket.disconnect()


async def test_an_open_board_is_not_told_again_while_nothing_changes(carol, settings, monkeypatch):
    settings.BOARD_WORKER_CHECK_SECONDS = 0.01
    checks = []
    real_status = health.delivery_workers_status
    monkeypatch.setattr(health, "delivery_workers_status", lambda: checks.append(1) or real_status())
    socket, workers = await open_board(carol)
    assert workers["alive"] is False

    # Twenty checks (counted, not waited for) with the workers still silent: nothing to say.
    await asyncio.wait_for(_until(lambda: len(checks) > 20), 10)
    assert await socket.receive_nothing(timeout=0.05, interval=0.01)
    await socket.disconnect()


async def _until(condition) -> None:
    while not condition():
        await asyncio.sleep(0.01)


async def test_a_board_closed_stops_checking(carol, settings, monkeypatch):
    settings.BOARD_WORKER_CHECK_SECONDS = 0.01
    socket, _ = await open_board(carol)
    checks = []
    monkeypatch.setattr(health, "delivery_workers_status", lambda: checks.append(1) or {"alive": False})
    await socket.disconnect()
    checks.clear()

    # Ten checks' worth of time.
    await asyncio.sleep(0.1)
    assert checks == []
