"""Serve the whole product from one process: daphne for HTTP and WebSockets and, in the embedded
setup (DELIVERY_WORKER_EMBEDDED, on by default without REDIS_URL), the worker on the same
event loop, so that `make run` needs nothing else."""

from django.conf import settings
from django.core.management.base import BaseCommand

# daphne drops a WebSocket handshake that the application has not accepted within this (its
# default is 5 s). The consumers accept at once, but after a web process dies thousands of phones
# reconnect to the others at the same moment, and their handshakes wait longer than 5 s for the
# event loop to reach them: 2,318 of 10,000 were dropped and tried again (bench/reconnect_storm.py).
# The app gives up on a socket not open within 30 s (pwa/app/socket.js OPEN_DEADLINE_MS).
WEBSOCKET_CONNECT_TIMEOUT_S = 30


class Command(BaseCommand):
    help = "Run daphne, with the worker inside it in the embedded setup."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", default="8000")

    def handle(self, *args, host, port, **options):
        # daphne.server installs Twisted's asyncio reactor on import: it must come first.
        import asyncio

        from daphne.cli import CommandLineInterface
        from daphne.server import twisted_loop
        from twisted.internet import reactor

        from backend.worker.daphne_server import SlicedTimeoutServer

        if settings.DELIVERY_WORKER_EMBEDDED:
            from backend.worker.loop import run_worker

            stop = asyncio.Event()

            def start_worker():
                task = twisted_loop.create_task(run_worker(stop))
                # Keep a reference so the task is not garbage-collected while it runs.
                reactor.embedded_worker_task = task
                reactor.addSystemEventTrigger("before", "shutdown", stop.set)

            reactor.callWhenRunning(start_worker)
            self.stdout.write("Worker: running inside this process.")
        else:
            # Said at start: without a worker nothing sends pushes or texts, nor escalates (the
            # board says so too, once no worker has reported).
            self.stdout.write(
                "Worker: not in this process (DELIVERY_WORKER_EMBEDDED is off, as it is with REDIS_URL):"
                " run `manage.py run_worker` beside it, or no push, text or escalation is sent."
            )
        interface = CommandLineInterface()
        interface.server_class = SlicedTimeoutServer  # its per-connection walk in slices (see there)
        interface.run(
            [
                "--bind",
                host,
                "--port",
                str(port),
                "--websocket_connect_timeout",
                str(WEBSOCKET_CONNECT_TIMEOUT_S),
                "backend.asgi:application",
            ]
        )
