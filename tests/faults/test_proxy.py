"""The fault tests' PostgreSQL proxy (tests/support/cluster.py `PgProxy`) cuts off every connection,
including one that was still reaching the server when the cut came."""

import asyncio
import socket
import socketserver
import threading

import pytest

from tests.support import cluster


class _Echo(socketserver.BaseRequestHandler):
    def handle(self):
        while data := self.request.recv(1024):
            self.request.sendall(data)


@pytest.fixture
def echo_server():
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Echo)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("mode", ["refuse", "blackhole"])
def test_a_connection_still_reaching_the_server_when_the_proxy_cuts_off_is_cut_off_too(echo_server, monkeypatch, mode):
    reaching, go_on = threading.Event(), threading.Event()
    open_connection = asyncio.open_connection

    async def slow_to_reach_the_server(host, port, **options):
        if port == echo_server:  # the proxy's own connection upstream, held until the cut
            reaching.set()
            await asyncio.get_running_loop().run_in_executor(None, go_on.wait, 10)
        return await open_connection(host, port, **options)

    monkeypatch.setattr(asyncio, "open_connection", slow_to_reach_the_server)
    proxy = cluster.PgProxy("127.0.0.1", echo_server).start()
    try:
        client = socket.create_connection(("127.0.0.1", proxy.port), timeout=5)
        assert reaching.wait(5)
        proxy.cut(mode)
        go_on.set()
        client.settimeout(1)
        try:
            client.sendall(b"SELECT 1")
            answer = client.recv(1024)
        except (TimeoutError, ConnectionError):
            answer = b""  # blackholed (never answered) or reset (refused)
        client.close()
    finally:
        go_on.set()
        proxy.stop()

    assert answer == b"", f"a connection cut off with mode {mode!r} still reached the server"
