"""A socket closed on a real `manage.py serve` leaves no cyclic garbage of daphne's, autobahn's or
Twisted's: what the connection held is freed by reference counting once daphne forgets it, not
left to a full collection, which walks every open socket's objects (1.2 s of CPU at 10,000
sockets, docs/scaling.md). Counted with the collector's DEBUG_SAVEALL in the server process, on
a signal; never timed."""

import asyncio
import json
import os
import signal
import sys
import time
from pathlib import Path

import pytest
import websockets

from tests.support import live_server

pytestmark = pytest.mark.processes

SOCKETS = 10
# The server as `manage.py serve` runs it, with a hook: on SIGUSR2 a full collection keeping what it
# found unreachable, counted by type (the packages a connection is made of) into $GARBAGE_FILE.
SERVER = """
import gc, json, os, signal, sys
import daphne.server  # installs Twisted's asyncio reactor first, as manage.py serve does
import backend.asgi

PACKAGES = {"daphne", "autobahn", "twisted", "backend", "channels", "django", "asyncio", "_asyncio"}

def count_cyclic_garbage(signum, frame):
    gc.set_debug(gc.DEBUG_SAVEALL)
    gc.collect()
    gc.set_debug(0)
    found = {}
    for obj in gc.garbage:
        if type(obj).__module__.split(".")[0] in PACKAGES or isinstance(obj, BaseException):
            found[type(obj).__qualname__] = found.get(type(obj).__qualname__, 0) + 1
    gc.garbage.clear()
    with open(os.environ["GARBAGE_FILE"] + ".part", "w") as out:
        json.dump(found, out)
    os.replace(os.environ["GARBAGE_FILE"] + ".part", os.environ["GARBAGE_FILE"])

signal.signal(signal.SIGUSR2, count_cyclic_garbage)
from django.core.management import execute_from_command_line
execute_from_command_line(["manage.py", "serve", "--host", "127.0.0.1", "--port", sys.argv[1]])
"""


async def open_and_close_sockets(port: int) -> list[int]:
    """SOCKETS sockets without a login: each is accepted, then closed by the server (4401)."""

    async def one() -> int:
        url = f"ws://127.0.0.1:{port}/ws/responder/"
        async with websockets.connect(url, origin=f"http://127.0.0.1:{port}") as socket:
            with pytest.raises(websockets.ConnectionClosed):
                while True:
                    await asyncio.wait_for(socket.recv(), 10)
            return socket.close_code

    return await asyncio.gather(*(one() for _ in range(SOCKETS)))


def cyclic_garbage(popen, garbage_file: Path) -> dict:
    garbage_file.unlink(missing_ok=True)
    os.kill(popen.pid, signal.SIGUSR2)
    deadline = time.monotonic() + 30
    while not garbage_file.exists():
        assert time.monotonic() < deadline, "the server did not count its garbage"
        time.sleep(0.1)
    return json.loads(garbage_file.read_text())


def test_closed_sockets_leave_no_cyclic_garbage_in_the_server(tmp_path, demo_database_template):
    port = live_server.free_port()
    env = live_server.embedded_env(tmp_path / "db.sqlite3", f"http://127.0.0.1:{port}")
    env["GARBAGE_FILE"] = str(tmp_path / "garbage.json")
    live_server.copy_database(demo_database_template, tmp_path / "db.sqlite3")
    with live_server.running(
        [sys.executable, "-c", SERVER, str(port)],
        env,
        tmp_path / "server.log",
        port=port,
        timeout=120,
        name="manage.py serve",  # listening: no HTTP request, whose own garbage would be counted too
    ) as popen:
        cyclic_garbage(popen, tmp_path / "garbage.json")  # what the start left
        assert asyncio.run(open_and_close_sockets(port)) == [4401] * SOCKETS
        time.sleep(2.5)  # daphne forgets closed connections in its walk of every second
        found = cyclic_garbage(popen, tmp_path / "garbage.json")
    # Before: each socket left autobahn's protocol (its is_closed Deferred resolved with the protocol
    # itself) and Twisted's upgraded request and channel (in each other's `requests` / `channel`).
    assert found == {}, json.dumps(found)
