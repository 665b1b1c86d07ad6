"""Serve the whole product from one process: daphne for HTTP and WebSockets and, in the embedded
setup (DELIVERY_WORKER_EMBEDDED, on by default without REDIS_URL), the worker on the same
event loop, so that `make run` needs nothing else."""

from django.conf import settings
from django.core.management.base import BaseCommand


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
        interface = CommandLineInterface()
        interface.server_class = SlicedTimeoutServer  # its per-connection walk in slices (see there)
        interface.run(["--bind", host, "--port", str(port), "backend.asgi:application"])
