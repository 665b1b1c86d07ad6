"""Remake the reports' summary of every alert (backend.records.summaries) from the alerts and
attendance forms: after restoring a backup, or loading alerts or forms other than through the
product's actions. Safe to run at any time; the reports read the summaries as they are."""

from django.core.management.base import BaseCommand

from backend.records.summaries import rebuild_all


class Command(BaseCommand):
    help = "Remake the reports' summary of every alert from the alerts and attendance forms."

    def handle(self, *args, **options):
        count = rebuild_all()
        self.stdout.write(f"Summarised {count} alerts.")
