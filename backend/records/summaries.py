"""The reports' summary of each alert (AlertSummary): station, incident, whether the firefighter
attended, and the intervals the reports count, worked out once when they change rather than on
every report. A report over five years then reads one narrow table instead of joining every
alert to its incident, firefighter and attendance form (bench/reports.py measures both).

Kept up outside the dispatch's transaction, so that a dispatch or an answer never pays for the
reports, and caught up by every report first, so that a report is never behind:
- alerts made, accepted or on scene: dispatch marks them (`Alert.summary_due`, in the same row
  write), and `summarise_due` summarises the marked ones: a pass of the worker every
  SUMMARIES_EVERY_SECONDS (records/apps.py), and `catch_up` at the start of each report;
- attendance forms submitted, changed or amended: backend.records.actions, in their transaction.
docs/architecture.md says why (measured).
The same changes to an incident of a settled month (backend.records.months), and outcome forms
changed or amended, mark that month's kept figures (ReportMonth) as out of date.
Anything that writes alerts or attendance forms another way (a restore, a bulk load) runs
`manage.py rebuild_report_summaries` after.
"""

from collections.abc import Iterable

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from backend.dispatch.models import Alert
from backend.records.models import AlertSummary, ReportMonth
from backend.records.months import is_settled, month_of_moment

# What a summary is made from, per alert: one query, joined once.
SOURCES = (
    "pk",
    "incident_id",
    "station_id",
    "incident__created_at",
    "alerted_at",
    "realerted_at",
    "accepted_at",
    "on_scene_at",
    "attendance__attended",
    "attendance__on_scene_at",
)
_DERIVED = [
    "incident",
    "station",
    "incident_created_at",
    "attended",
    "to_acceptance_s",
    "to_on_scene_s",
    "form_on_scene_s",
]
# Small enough that each chunk's transaction (SQLite's write lock) holds up a dispatch only briefly.
REBUILD_CHUNK = 1000


def summarise_alerts(alert_ids: Iterable[int], *, locked: bool = False) -> None:
    """Make or remake the summaries of these alerts, in the caller's transaction: two queries, and
    one more to lock the alerts' rows first unless the caller holds them locked already (`locked`).
    Two changes to one alert at once (an on-scene tap and the attendance form) then summarise one
    after the other, the second reading what the first committed; unlocked, the later could
    overwrite the summary with what it read before the other committed."""
    ids = list(alert_ids)
    if not locked:
        list(Alert.objects.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk", flat=True))
    rows = Alert.objects.filter(pk__in=ids).order_by().values_list(*SOURCES)
    summaries = [AlertSummary(**summary_values(*row)) for row in rows]
    if summaries:
        AlertSummary.objects.bulk_create(
            summaries, update_conflicts=True, unique_fields=["alert"], update_fields=_DERIVED
        )
        note_changed_incidents(summary.incident_created_at for summary in summaries)


def summarise_due(*, limit: int = REBUILD_CHUNK) -> int:
    """Summarise up to `limit` alerts marked due (`Alert.summary_due`) in one short transaction, and
    clear their marks; how many. Their rows are locked first (skipping rows another worker or an
    answer holds: they are marked still, and summarised next time), so a change committed while
    this runs is never overwritten and never unmarked."""
    with transaction.atomic():
        due = list(
            Alert.objects.select_for_update(skip_locked=True)
            .filter(summary_due=True)
            .order_by("pk")
            .values_list("pk", flat=True)[:limit]
        )
        if due:
            summarise_alerts(due, locked=True)
            Alert.objects.filter(pk__in=due).update(summary_due=False)
    return len(due)


def catch_up() -> int:
    """Summarise every alert marked due; how many. A report calls this first: one query when none
    is due (the worker's pass keeps it so)."""
    if not Alert.objects.filter(summary_due=True).exists():
        return 0
    total = 0
    while caught := summarise_due():
        total += caught
    return total


def note_changed_incidents(created_ats: Iterable) -> None:
    """Something the reports count changed for incidents created at these times: the kept figures
    of their months (ReportMonth) must be worked out again. Months not yet settled are never kept,
    so the alerts and forms of recent incidents (every dispatch and answer) cost no query here."""
    now = timezone.now()
    months = {month for month in map(month_of_moment, created_ats) if is_settled(month, now)}
    if months:
        # Made if missing, then counted up: a report reading the month meanwhile keeps nothing stale.
        ReportMonth.objects.bulk_create([ReportMonth(month=month) for month in months], ignore_conflicts=True)
        ReportMonth.objects.filter(month__in=months).update(changes=F("changes") + 1)


def rebuild_all() -> int:
    """Remake every alert's summary, a chunk at a time, each chunk in its own short transaction
    (locking its alerts, so a change made meanwhile is never overwritten), and have every kept
    month worked out again; returns how many alerts."""
    count = 0
    ids = Alert.objects.order_by("pk").values_list("pk", flat=True)
    last = 0
    while chunk := list(ids.filter(pk__gt=last)[:REBUILD_CHUNK]):
        with transaction.atomic():
            summarise_alerts(chunk)
            Alert.objects.filter(pk__in=chunk).update(summary_due=False)
        count += len(chunk)
        last = chunk[-1]
    ReportMonth.objects.update(changes=F("changes") + 1)
    return count


def _seconds(later, earlier) -> float | None:
    return None if later is None or earlier is None else (later - earlier).total_seconds()


def summary_values(
    alert_id,
    incident_id,
    station_id,
    created_at,
    alerted_at,
    realerted_at,
    accepted_at,
    on_scene_at,
    form_says_attended,
    form_on_scene,
) -> dict:
    """The fields of one alert's summary, from its row of SOURCES."""
    # form_says_attended is None until the firefighter submits the attendance form.
    attended = form_says_attended is True
    # Nobody gets there without accepting, and someone whose form says they did not attend did not
    # get there. The form's on-scene time is the crew's own correction of the alert's.
    arrived_at = None
    if accepted_at is not None and form_says_attended is not False:
        arrived_at = form_on_scene or on_scene_at
    return {
        "alert_id": alert_id,
        "incident_id": incident_id,
        "station_id": station_id,
        "incident_created_at": created_at,
        "attended": attended,
        # From the alert each answered: a re-alert's answers from the re-alert (its earlier answer
        # was cleared by it), an arrival kept from before it from the first (Alert.answered_alert).
        "to_acceptance_s": _seconds(accepted_at, Alert.answered_alert(alerted_at, realerted_at, accepted_at)),
        "to_on_scene_s": _seconds(arrived_at, Alert.answered_alert(alerted_at, realerted_at, arrived_at)),
        "form_on_scene_s": _seconds(form_on_scene, created_at) if attended else None,
    }
