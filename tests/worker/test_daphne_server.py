"""manage.py serve's daphne server walks its connections (timeouts, keep-alive pings) in slices
spread over daphne's 2 s period instead of all at once. Counted, not timed."""

import pytest


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
    monkeypatch.setattr(CommandLineInterface, "run", lambda self, argv: used.append(self.server_class))
    monkeypatch.setattr("django.conf.settings.DELIVERY_WORKER_EMBEDDED", False)
    Command().handle(host="127.0.0.1", port="0")
    assert used == [SlicedTimeoutServer]
