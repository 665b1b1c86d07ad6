"""Data retention: the records of incidents older than RECORDS_RETENTION_DAYS (default 8 years)
lose their free text and the people they name, and keep every figure the reports use.

For the incidents created before the cut-off:
- attendance, outcome and welfare forms: notes emptied, the submitting user unlinked, an outcome's
  crew list emptied, pseudonymised_at set;
- amendments of those forms: the reason emptied and the amending user unlinked (the names of the
  changed fields stay: they are not personal);
- the incident: access notes, address, what3words and cancellation reason emptied, and its position
  rounded to 2 decimal places (about 1 km): the address is not needed for any figure, and an exact
  position would point at the patient's home;
- alerts: the free-text decline note emptied.

What stays, so that the statistics are the same before and after: every time, count and choice,
the incident's date, and each alert's firefighter (which is how an attendance belongs to a station:
removing it would lose the per-station figures; the firefighter's account is not personal health
data, and unlinking it for good needs the responder records of old leavers to be removed first).

Idempotent: what is already done is not done or counted again (a second run changes nothing).
`--dry-run` prints the counts and changes nothing. A run writes one audit entry (action
pseudonymise, object type "retention") with the cut-off and the counts, nothing else.
"""

import datetime

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction
from django.db.models import F, FloatField, Q
from django.db.models.functions import Round
from django.utils import timezone

from backend.audit.log import record
from backend.audit.models import AuditAction
from backend.dispatch.models import Alert, Incident
from backend.records.models import Amendment, Attendance, Outcome, RecordKind, WelfareCheckIn

POSITION_DECIMALS = 2


class Command(BaseCommand):
    help = "Remove free text and unlink people from the records of incidents older than RECORDS_RETENTION_DAYS."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Print what would change; change nothing.")

    def handle(self, *args, dry_run=False, **options):
        days = settings.RECORDS_RETENTION_DAYS
        cutoff = timezone.now() - datetime.timedelta(days=days)
        with transaction.atomic():
            counts = apply_retention(cutoff, dry_run=dry_run)
            if not dry_run:
                record(
                    None,
                    AuditAction.PSEUDONYMISE,
                    "retention",
                    channel="system",
                    detail={"cutoff": cutoff.isoformat(), "retention_days": days, **counts},
                )
        verb = "Would pseudonymise" if dry_run else "Pseudonymised"
        summary = ", ".join(f"{count} {name.replace('_', ' ')}" for name, count in counts.items())
        before = f"{timezone.localtime(cutoff):%Y-%m-%d %H:%M}"
        self.stdout.write(f"{verb}, for incidents created before {before}: {summary}.")


def apply_retention(cutoff: datetime.datetime, *, dry_run: bool = False) -> dict[str, int]:
    """Pseudonymise what is older than `cutoff` and not done yet; return how many of each."""
    now = timezone.now()
    old = Q(alert__incident__created_at__lt=cutoff)
    attendances = Attendance.objects.filter(old, pseudonymised_at__isnull=True)
    welfare = WelfareCheckIn.objects.filter(old, pseudonymised_at__isnull=True)
    outcomes = Outcome.objects.filter(incident__created_at__lt=cutoff, pseudonymised_at__isnull=True)
    amendments = Amendment.objects.filter(
        _amendments_of(RecordKind.ATTENDANCE, Attendance.objects.filter(old))
        | _amendments_of(RecordKind.OUTCOME, Outcome.objects.filter(incident__created_at__lt=cutoff))
        | _amendments_of(RecordKind.WELFARE, WelfareCheckIn.objects.filter(old))
    ).exclude(reason="", amended_by__isnull=True)
    # Every old incident still holding text or an exact position: one without any text must not
    # keep pointing at the patient's home.
    incidents = (
        Incident.objects.filter(created_at__lt=cutoff)
        .alias(
            rounded_latitude=Round("latitude", POSITION_DECIMALS, output_field=FloatField()),
            rounded_longitude=Round("longitude", POSITION_DECIMALS, output_field=FloatField()),
        )
        .filter(
            ~Q(address="", notes="", what3words="", cancel_reason="")
            | ~Q(latitude=F("rounded_latitude"))
            | ~Q(longitude=F("rounded_longitude"))
        )
    )
    alerts = Alert.objects.filter(incident__created_at__lt=cutoff).exclude(decline_note="")
    crew_links = Outcome.crew.through.objects.filter(outcome__incident__created_at__lt=cutoff)

    counts = {
        "attendances": attendances.count(),
        "outcomes": outcomes.count(),
        "welfare_check_ins": welfare.count(),
        "amendments": amendments.count(),
        "incidents": incidents.count(),
        "alerts": alerts.count(),
        "crew_links": crew_links.count(),
    }
    if dry_run:
        return counts
    forms = {"notes": "", "submitted_by": None, "pseudonymised_at": now}
    attendances.update(**forms)
    welfare.update(**forms)
    outcomes.update(**forms)
    crew_links.delete()
    amendments.update(reason="", amended_by=None)
    incidents.update(
        address="",
        notes="",
        what3words="",
        cancel_reason="",
        latitude=Round("latitude", POSITION_DECIMALS),
        longitude=Round("longitude", POSITION_DECIMALS),
    )
    alerts.update(decline_note="")
    return counts


def _amendments_of(kind: RecordKind, records) -> Q:
    return Q(record_kind=kind, record_id__in=records.values("pk"))
