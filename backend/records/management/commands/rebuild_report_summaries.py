"""Remake the reports' summary of every alert (backend.records.summaries) from the alerts and
attendance forms, then the kept figures of every settled month (backend.records.reports): after
restoring a backup, or loading alerts or forms other than through the product's actions. Safe to
run at any time; reports made meanwhile read the summaries as they are."""

from django.core.management.base import BaseCommand
from django.db.models import F

from backend.records.models import ReportMonth
from backend.records.reports import keep_settled_months
from backend.records.summaries import rebuild_all


class Command(BaseCommand):
    help = "Remake the reports' summary of every alert, and the kept figures of every settled month."

    def handle(self, *args, **options):
        count = rebuild_all()
        self.stdout.write(f"Summarised {count} alerts.")
        keep_settled_months()
        kept = ReportMonth.objects.filter(built_from=F("changes")).count()
        self.stdout.write(f"Kept the figures of {kept} settled months.")
