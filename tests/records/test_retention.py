"""manage.py apply_retention: old records lose their free text and the people they name, the
statistics stay exactly the same, a second run changes nothing, and --dry-run only counts."""

import datetime
import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from backend.audit.models import AuditAction, AuditEntry
from backend.dispatch.models import Alert, Incident
from backend.records.admin_reports import report_csv
from backend.records.models import Amendment, Attendance, Outcome, RecordKind, WelfareCheckIn
from backend.records.reports import ReportFilters, build_report
from tests.records.reports_fixtures import (
    hand_checked_incidents,
    make_alert,
    make_amendment,
    make_attendance,
    make_incident,
    make_outcome,
    make_welfare,
)


@pytest.fixture
def old_and_new(settings, stations, alice, bob, charlie, dave, carol):
    """The hand-checked incidents (2025) are older than a year; one incident from last week is not."""
    settings.RECORDS_RETENTION_DAYS = 365
    old = hand_checked_incidents(stations, alice, bob, charlie, dave, carol)
    i1_alice = Attendance.objects.get(alert__incident=old.incidents["I1"], alert__responder=alice)
    make_amendment(i1_alice, RecordKind.ATTENDANCE, alice.user, reason="I was there at 10:09, not 10:10.")
    make_amendment(Outcome.objects.get(incident=old.incidents["I1"]), RecordKind.OUTCOME, carol)
    make_welfare(Alert.objects.get(incident=old.incidents["I1"], responder=bob), notes="Hard one: a child.")

    recent = make_incident(timezone.now() - datetime.timedelta(days=7), carol, notes="Gate code 4321")
    alert = make_alert(recent, alice, accepted=30, on_scene=300)
    make_attendance(alert, notes="Recent notes")
    make_outcome(recent, stations["norwich"], submitted_by=alice.user, crew=[alice], notes="Recent outcome notes")
    make_welfare(alert, notes="Recent welfare notes")
    return old, recent


def run(*args) -> str:
    out = io.StringIO()
    call_command("apply_retention", *args, stdout=out)
    return out.getvalue()


def figures() -> str:
    """Every figure of the reports, for the old period and for this year, as the CSV writes them."""
    old = report_csv(build_report(ReportFilters(datetime.date(2025, 2, 1), datetime.date(2025, 5, 31))))
    today = timezone.localdate()
    recent = report_csv(build_report(ReportFilters(today - datetime.timedelta(days=30), today)))
    return old + recent


def test_the_statistics_are_the_same_before_and_after(old_and_new):
    before = figures()
    run()
    assert figures() == before
    # Not an empty report: February to May holds I1 to I8 but I7 (no alert); I5 and I6 attended too.
    assert "All stations,All months,7,6,9,6," in before


def test_free_text_is_removed_from_old_records(old_and_new):
    old, recent = old_and_new
    run()
    old_incidents = Incident.objects.exclude(pk=recent.pk)
    assert set(old_incidents.values_list("notes", "address", "what3words", "cancel_reason").distinct()) == {
        ("", "", "", "")
    }
    assert not Attendance.objects.filter(alert__incident__in=old_incidents).exclude(notes="").exists()
    assert not Outcome.objects.filter(incident__in=old_incidents).exclude(notes="").exists()
    assert not WelfareCheckIn.objects.filter(alert__incident__in=old_incidents).exclude(notes="").exists()
    assert not Alert.objects.filter(incident__in=old_incidents).exclude(decline_note="").exists()
    assert list(Amendment.objects.values_list("reason", flat=True)) == ["", ""]
    # Positions rounded to about a kilometre.
    i1 = Incident.objects.get(pk=old.incidents["I1"].pk)
    assert (i1.latitude, i1.longitude) == (52.63, 1.3)


def test_people_are_unlinked_from_old_records(old_and_new):
    _, recent = old_and_new
    run()
    old_attendances = Attendance.objects.exclude(alert__incident=recent)
    old_outcomes = Outcome.objects.exclude(incident=recent)
    assert not old_attendances.filter(submitted_by__isnull=False).exists()
    assert not old_outcomes.filter(submitted_by__isnull=False).exists()
    assert not Outcome.crew.through.objects.filter(outcome__in=old_outcomes).exists()
    assert not Amendment.objects.filter(amended_by__isnull=False).exists()
    assert not old_attendances.filter(pseudonymised_at__isnull=True).exists()
    assert not old_outcomes.filter(pseudonymised_at__isnull=True).exists()
    assert not WelfareCheckIn.objects.exclude(alert__incident=recent).filter(pseudonymised_at__isnull=True).exists()


def test_recent_records_are_untouched(old_and_new, alice):
    _, recent = old_and_new
    run()
    recent.refresh_from_db()
    assert (recent.notes, recent.address) == ("Gate code 4321", "12 Example Road, Norwich")
    attendance = Attendance.objects.get(alert__incident=recent)
    assert (attendance.notes, attendance.submitted_by, attendance.pseudonymised_at) == (
        "Recent notes",
        alice.user,
        None,
    )
    outcome = Outcome.objects.get(incident=recent)
    assert (outcome.notes, outcome.submitted_by, list(outcome.crew.all())) == (
        "Recent outcome notes",
        alice.user,
        [alice],
    )
    assert WelfareCheckIn.objects.get(alert__incident=recent).notes == "Recent welfare notes"


def test_one_audit_entry_with_counts_only(old_and_new):
    output = run()
    [entry] = AuditEntry.objects.filter(object_type="retention")
    assert (entry.action, entry.actor, entry.role, entry.channel) == (
        AuditAction.PSEUDONYMISE,
        None,
        "system",
        "system",
    )
    # Old: 10 attendances (I1 2, I2 2, I3 3, I8, I5, I6), 7 outcomes, 1 welfare check-in, 2 amendments,
    # 8 incidents (I1-I8 all have an address), 1 alert with a decline note, 2 crew links (I1).
    counts = {key: value for key, value in entry.detail.items() if key not in ("cutoff", "retention_days")}
    assert counts == {
        "attendances": 10,
        "outcomes": 7,
        "welfare_check_ins": 1,
        "amendments": 2,
        "incidents": 8,
        "alerts": 1,
        "crew_links": 2,
    }
    assert entry.detail["retention_days"] == 365
    assert "10 attendances, 7 outcomes, 1 welfare check ins, 2 amendments" in output
    assert "Hard one" not in str(entry.detail) and "Norwich" not in str(entry.detail)


def test_a_second_run_changes_nothing(old_and_new):
    run()
    stamps = list(Attendance.objects.order_by("pk").values_list("pseudonymised_at", flat=True))
    output = run()
    assert "0 attendances, 0 outcomes, 0 welfare check ins, 0 amendments, 0 incidents, 0 alerts, 0 crew links" in output
    assert list(Attendance.objects.order_by("pk").values_list("pseudonymised_at", flat=True)) == stamps
    second = AuditEntry.objects.filter(object_type="retention").order_by("id").last()
    assert second.detail["attendances"] == 0


def test_a_dry_run_counts_and_changes_nothing(old_and_new):
    output = run("--dry-run")
    assert output.startswith("Would pseudonymise")
    assert "10 attendances, 7 outcomes" in output
    assert Attendance.objects.exclude(notes="").count() == 2  # I1 alice's and the recent one
    assert not Attendance.objects.filter(pseudonymised_at__isnull=False).exists()
    assert Amendment.objects.filter(amended_by__isnull=False).count() == 2
    assert not AuditEntry.objects.filter(object_type="retention").exists()


def test_the_age_comes_from_the_setting(old_and_new, settings):
    settings.RECORDS_RETENTION_DAYS = 3650
    assert "0 attendances" in run("--dry-run")


def test_an_old_incident_without_text_still_has_its_position_rounded_once(old_and_new, carol):
    """An incident whose text is already empty (none was given, or an earlier run took it) must not
    keep the exact position of the patient's home."""
    blank = make_incident(
        datetime.datetime(2025, 3, 1, 12, tzinfo=datetime.UTC),
        carol,
        address="",
        latitude=52.631234,
        longitude=1.296789,
    )
    assert "9 incidents" in run()
    blank.refresh_from_db()
    assert (blank.latitude, blank.longitude) == (52.63, 1.3)
    assert "0 incidents" in run()
    blank.refresh_from_db()
    assert (blank.latitude, blank.longitude) == (52.63, 1.3)
