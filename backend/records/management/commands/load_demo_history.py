"""The demo's first year (backend/records/demo_history.py): 405 medical emergencies attended by
firefighters of nine Norfolk stations from 18 July 2016, seeded. Run after load_demo_data (its
stations); idempotent; never in production."""

import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from backend.records import demo_history


class Command(BaseCommand):
    help = "Load the demo's generated first year of the Norfolk pilot (idempotent; not for production)."

    def handle(self, *args, **options):
        if settings.PRODUCTION:
            raise CommandError("The demo history is generated data; it is never loaded with DJANGO_ENV=production.")
        started = time.perf_counter()
        try:
            written = demo_history.load_history()
        except demo_history.MissingStations as problem:
            raise CommandError(str(problem)) from None
        if not written:
            self.stdout.write("Demo history already loaded: nothing to do.")
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo history ready: {written} medical emergencies from {demo_history.PILOT_STARTED:%-d %B %Y}, "
                f"nine stations, in {time.perf_counter() - started:.1f} s."
            )
        )
