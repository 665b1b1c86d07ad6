"""manage.py serve's daphne server walks its connections (timeouts and keep-alive pings; reaping
finished applications) in slices spread over daphne's periods (2 s, 1 s) instead of all at once.
Counted, not timed."""

import asyncio
import time

import pytest

from tests.support import live_server


class Connection:
    def __init__(self):
        self.checked = 0

    def check_timeouts(self):
        self.checked += 1


@pytest.fixture
def server_and_timers(monkeypatch):
    from backend.worker import daphne_server

    timers = []
    monkeypatch.setattr(daphne_server.reactor, "callLater", lambda delay, f, *args: timers.append((delay, f, args)))
    server = daphne_server.SlicedTimeoutServer.__new__(daphne_server.SlicedTimeoutServer)
    server.connections = {Connection(): {} for _ in range(1000)}
    return server, timers


def test_it_checks_a_twentieth_of_the_connections_at_a_time(server_and_timers):
    server, timers = server_and_timers
    server.timeout_checker()
    assert sum(connection.checked for connection in server.connections) == 50
    assert [delay for delay, _, _ in timers] == [0.1]


def test_a_walk_checks_every_connection_once_in_daphnes_period_then_starts_again(server_and_timers):
    server, timers = server_and_timers
    server.timeout_checker()
    waited = 0.0
    while timers[-1][1] != server.timeout_checker:
        delay, then, args = timers[-1]
        waited += delay
        then(*args)
    waited += timers[-1][0]
    assert {connection.checked for connection in server.connections} == {1}
    assert waited == pytest.approx(2.0)


def test_a_connection_closed_during_the_walk_is_not_checked(server_and_timers):
    server, timers = server_and_timers
    server.timeout_checker()
    last = list(server.connections)[-1]
    del server.connections[last]
    while timers[-1][1] != server.timeout_checker:
        _, then, args = timers[-1]
        then(*args)
    assert last.checked == 0


def test_manage_py_serve_runs_this_server(monkeypatch):
    from daphne.cli import CommandLineInterface

    from backend.worker.daphne_server import SlicedTimeoutServer
    from backend.worker.management.commands.serve import Command

    used = []
    monkeypatch.setattr(CommandLineInterface, "run", lambda self, argv: used.append((self.server_class, argv)))
    monkeypatch.setattr("django.conf.settings.DELIVERY_WORKER_EMBEDDED", False)
    Command().handle(host="127.0.0.1", port="0")
    [(server_class, argv)] = used
    assert server_class is SlicedTimeoutServer
    # A handshake waits up to the app's opening deadline (30 s), not daphne's 5 s, in a reconnect storm.
    assert argv[argv.index("--websocket_connect_timeout") + 1] == "30"
    assert live_server.WEBSOCKET_CONNECT_TIMEOUT_S == 30  # the tests' and benchmarks' plain daphne too


def test_its_server_turns_off_the_automatic_collections_as_it_starts(monkeypatch):
    from daphne.server import Server

    from backend.worker import daphne_server

    calls = []
    monkeypatch.setattr(daphne_server, "collect_on_the_timer_only", lambda: calls.append("timer only"))
    monkeypatch.setattr(Server, "run", lambda self: calls.append("run"))
    daphne_server.SlicedTimeoutServer.__new__(daphne_server.SlicedTimeoutServer).run()
    assert calls == ["timer only", "run"]


# --- The applications' walk (daphne's application_checker, in slices) ----------------------------


class Application:
    """An application instance as daphne holds it (an asyncio future's interface)."""

    def __init__(self, *, done=False, exception=None, cancelled=False):
        self._done, self._exception, self._cancelled = done, exception, cancelled
        self.cancel_called = False

    def done(self):
        return self._done

    def exception(self):
        if self._cancelled:
            raise asyncio.CancelledError
        return self._exception

    def cancel(self):
        self.cancel_called = True


class Protocol:
    def __init__(self):
        self.handled = []

    def handle_exception(self, exception):
        self.handled.append(exception)


@pytest.fixture
def application_server(monkeypatch):
    from backend.worker import daphne_server

    timers = []
    monkeypatch.setattr(daphne_server.reactor, "callLater", lambda delay, f, *args: timers.append((delay, f, args)))
    server = daphne_server.SlicedTimeoutServer.__new__(daphne_server.SlicedTimeoutServer)
    server.application_close_timeout = 10
    server.stopped = False
    monkeypatch.setattr(server, "stop", lambda: setattr(server, "stopped", True), raising=False)
    return server, timers


def walk_applications_to_the_end(server, timers) -> float:
    server.application_checker()
    waited = 0.0
    while timers[-1][1] != server.application_checker:
        delay, then, args = timers[-1]
        waited += delay
        then(*args)
    return waited + timers[-1][0]


def test_it_reaps_a_tenth_of_the_connections_at_a_time_and_all_in_daphnes_second(application_server):
    server, timers = application_server
    server.connections = {
        Protocol(): {"application_instance": Application(done=True), "disconnected": 1.0} for _ in range(1000)
    }
    server.application_checker()
    assert len(server.connections) == 900
    assert [delay for delay, _, _ in timers] == [0.1]
    assert walk_applications_to_the_end(server, timers) == pytest.approx(1.0)
    assert server.connections == {}


def test_each_slice_of_the_walk_collects_the_young_generation(application_server, monkeypatch):
    # Ten times a second, so that it never swells (backend/worker/serving.py, collect_the_young).
    from backend.worker import daphne_server

    collections = []
    monkeypatch.setattr(daphne_server, "collect_the_young", lambda: collections.append(1))
    server, timers = application_server
    server.connections = {}
    walk_applications_to_the_end(server, timers)
    assert len(collections) == 10


def test_it_keeps_a_live_connection_and_cancels_an_application_that_outlived_its_socket(application_server):
    server, timers = application_server
    live = Protocol()
    closing = Protocol()
    stuck = Application()
    server.connections = {
        live: {"application_instance": Application()},
        closing: {"application_instance": stuck, "disconnected": time.time() - 60},
    }
    walk_applications_to_the_end(server, timers)
    assert stuck.cancel_called
    assert live in server.connections and closing in server.connections  # reaped once it has ended


def test_what_an_application_raised_is_logged_and_told_to_its_open_socket(application_server, caplog):
    server, timers = application_server
    open_socket, closed_socket, cancelled = Protocol(), Protocol(), Protocol()
    failure = ValueError("boom")
    server.connections = {
        open_socket: {"application_instance": Application(done=True, exception=failure)},
        closed_socket: {"application_instance": Application(done=True, exception=failure), "disconnected": time.time()},
        cancelled: {"application_instance": Application(done=True, cancelled=True)},
    }
    walk_applications_to_the_end(server, timers)
    assert open_socket.handled == [failure] and closed_socket.handled == []
    assert caplog.text.count("Exception inside application: boom") == 2
    assert server.connections == {open_socket: {}, cancelled: {}}  # still open: only the application went


def test_an_application_that_raised_keyboardinterrupt_stops_the_server(application_server):
    server, timers = application_server
    server.connections = {Protocol(): {"application_instance": Application(done=True, exception=KeyboardInterrupt())}}
    walk_applications_to_the_end(server, timers)
    assert server.stopped


def test_an_answer_is_not_formatted_a_second_time_into_twisteds_own_log(monkeypatch):
    """daphne logs each HTTP request (its access log); Twisted's factory also formatted a combined
    log line for it, into a log daphne sends nowhere, on the event loop between writing the answer
    and sending it (issue 17 item 2). Counted: the formatter is not called."""
    from daphne.http_protocol import HTTPFactory

    from backend.worker import daphne_server

    server = daphne_server.SlicedTimeoutServer.__new__(daphne_server.SlicedTimeoutServer)
    server.http_factory = HTTPFactory(server)
    formatted = []
    monkeypatch.setattr(server.http_factory, "_logFormatter", lambda *args: formatted.append(args) or "line")
    server.http_factory._logFile = type("LogFile", (), {"write": lambda self, line: None})()
    server.http_factory.log(object())
    assert formatted == []
    assert server.http_factory is server._http_factory


# --- What the server sends is not held to the limit on what a client sends ------------------------


def open_protocol(protocol_class, *, limit: int):
    """A WebSocket protocol as daphne's factory makes it once open, sending its frames to `sent`."""
    from autobahn.websocket.protocol import TrafficStats

    protocol = protocol_class()
    protocol.state = protocol.STATE_OPEN
    protocol.maxMessagePayloadSize = limit
    protocol.trafficStats = TrafficStats()
    protocol.trackedTimings = None
    protocol._perMessageCompress = None
    protocol.autoFragmentSize = 0
    protocol.sent = []
    protocol.sendFrame = lambda **frame: protocol.sent.append(frame)
    return protocol


def test_a_message_over_the_limit_is_sent_and_the_limit_kept_for_what_clients_send():
    """Trial 18: a board's snapshot of 1.2 MB (68 open incidents, 1,467 alerts) over daphne's 1 MiB
    could never be sent: the coordinators' board never went live."""
    from autobahn.exception import PayloadExceededError
    from daphne.ws_protocol import WebSocketProtocol

    from backend.worker.daphne_server import SendsAnySize

    snapshot = b"x" * 2048
    plain = open_protocol(WebSocketProtocol, limit=1024)
    with pytest.raises(PayloadExceededError):
        plain.sendMessage(snapshot)  # daphne's own: the limit both ways
    ours = open_protocol(SendsAnySize, limit=1024)
    ours.sendMessage(snapshot)
    assert [frame["payload"] for frame in ours.sent] == [snapshot]
    assert ours.maxMessagePayloadSize == 1024  # still the limit on what a client sends


def test_its_server_makes_its_sockets_with_that_protocol():
    from daphne.ws_protocol import WebSocketFactory

    from backend.worker.daphne_server import SendsAnySize, SlicedTimeoutServer

    server = SlicedTimeoutServer.__new__(SlicedTimeoutServer)
    server.ws_factory = WebSocketFactory(server, server="Daphne")
    assert server.ws_factory.protocol is SendsAnySize
