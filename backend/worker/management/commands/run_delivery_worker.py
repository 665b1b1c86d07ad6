"""The old name of `manage.py run_worker`, kept for one release so that existing service files
keep working (docs/deployment.md). It runs the same worker, with a warning."""

from backend.worker.management.commands import run_worker


class Command(run_worker.Command):
    help = "Deprecated: use run_worker (the same worker)."

    def handle(self, *args, **options):
        self.stderr.write("run_delivery_worker is deprecated and will be removed: use `manage.py run_worker`.")
        super().handle(*args, **options)
