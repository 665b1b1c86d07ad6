"""A worker process (distributed setup): run as many as wanted, on as many machines as wanted; they
share the work through the database. It runs every pass the apps register (deliveries, escalations,
welfare e-mails, ...: docs/architecture.md). Stops cleanly on SIGTERM or SIGINT, finishing the
sends it has started."""

import asyncio
import signal

from django.core.management.base import BaseCommand

from backend.worker.loop import run_worker


class Command(BaseCommand):
    help = "Run the scheduled work: Web Push and SMS deliveries, escalation steps, welfare e-mails."

    def add_arguments(self, parser):
        parser.add_argument("--name", help="Worker name in leases and heartbeats (default: host:pid:random).")

    def handle(self, *args, name=None, **options):
        asyncio.run(self._run(name))

    async def _run(self, name):
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await run_worker(stop, name=name)
