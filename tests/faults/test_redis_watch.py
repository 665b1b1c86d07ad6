"""Regression: sockets that stay open while Redis restarts are closed (4503) so that they resync.

Found by bench/faults.py (Redis restarted during a burst, 200 phones): channels_redis hands a lost
connection to one consumer per process; the others stayed open, their group memberships gone with
the restarted Redis, and heard nothing more while their pings were still answered: 645 of 1,000
alerts never reached the phones. backend/sockets/watch.py now asks Redis for its run_id and closes
every socket of the process once Redis is back from an outage or has restarted. Here a stand-in
layer plays Redis; tests/faults/test_faults.py and bench/faults.py restart a real one.
"""

import asyncio

import pytest

from backend.sockets import watch
from backend.sockets.consumers import CloseCode


class FakeRedis:
    def __init__(self, answers):
        self.answers = list(answers)
        self.questions = 0
        self._asked = asyncio.Event()

    async def asked(self, times: int) -> None:
        """Until the watcher has asked `times` times."""
        while self.questions < times:
            self._asked.clear()
            await self._asked.wait()

    async def info(self, section):
        assert section == "server"
        self.questions += 1
        self._asked.set()
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return {"run_id": answer}


class FakeLayer:
    ring_size = 1

    def __init__(self, answers):
        self.redis = FakeRedis(answers)

    def connection(self, index):
        return self.redis


class FakeSocket:
    def __init__(self, layer):
        self.channel_layer = layer
        self.closed_with = asyncio.get_running_loop().create_future()

    async def close(self, code=None):
        if not self.closed_with.done():
            self.closed_with.set_result(code)


@pytest.fixture(autouse=True)
def quick_checks(monkeypatch):
    monkeypatch.setattr(watch, "CHECK_SECONDS", 0.01)


@pytest.mark.parametrize(
    "answers",
    [
        ["first-run", ConnectionError("refused"), "first-run"],  # unreachable, then back
        ["first-run", "first-run", "second-run"],  # restarted between two checks
    ],
    ids=["unreachable-then-back", "restarted"],
)
async def test_sockets_are_closed_to_resync_once_redis_is_back_or_has_restarted(answers):
    layer = FakeLayer(answers)
    sockets = [FakeSocket(layer) for _ in range(3)]
    for socket in sockets:
        watch.watch(socket)

    codes = await asyncio.wait_for(asyncio.gather(*(socket.closed_with for socket in sockets)), 2)

    assert codes == [CloseCode.RESYNC] * 3 == [4503] * 3


async def test_sockets_stay_open_while_redis_answers_the_same_run_id():
    layer = FakeLayer(["same-run"])
    socket = FakeSocket(layer)
    watch.watch(socket)

    # Ten checks, counted rather than slept through.
    await asyncio.wait_for(layer.redis.asked(10), 2)

    assert not socket.closed_with.done()
    watch.unwatch(socket)


async def test_a_socket_that_has_gone_is_not_closed_again():
    layer = FakeLayer(["first-run", ConnectionError("refused"), "first-run"])
    gone, staying = FakeSocket(layer), FakeSocket(layer)
    watch.watch(gone)
    watch.watch(staying)
    watch.unwatch(gone)

    assert await asyncio.wait_for(staying.closed_with, 2) == 4503
    assert not gone.closed_with.done()
