"""`manage.py export_registry --from 2016-07-18 --to 2017-07-17`: the per-case CSV for the
out-of-hospital cardiac arrest registry (docs/registry.md), or with --kind the Utstein template's
figures or the alerting system's, for incidents created in that period (local dates, inclusive).
Written to standard output or --output; audited like the admin's download (channel "command")."""

import datetime
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from backend.audit.log import record
from backend.audit.models import AuditAction
from backend.records import registry


def _date(text: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"{text!r} is not a date: write it as YYYY-MM-DD.") from None


class Command(BaseCommand):
    help = "Export the per-case registry CSV, or the Utstein or alerting figures, for a period."

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="date_from", required=True, help="First day (YYYY-MM-DD), included.")
        parser.add_argument("--to", dest="date_to", required=True, help="Last day (YYYY-MM-DD), included.")
        parser.add_argument("--kind", choices=registry.KINDS, default="cases", help="What to export (default: cases).")
        parser.add_argument("--output", help="A file to write (default: standard output).")

    def handle(self, *args, date_from, date_to, kind, output, **options):
        period = registry.Period(_date(date_from), _date(date_to))
        if period.date_to < period.date_from:
            raise CommandError(f"--to ({period.date_to}) is before --from ({period.date_from}).")
        text = registry.export_csv(kind, period)
        record(
            None, AuditAction.EXPORT, "registry", channel="command", detail={**period.as_audit_detail(), "kind": kind}
        )
        if output:
            Path(output).write_text(text, encoding="utf-8")
            self.stderr.write(f"Wrote {output}.")
        else:
            self.stdout.write(text, ending="")
