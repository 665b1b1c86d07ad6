"""The reports' per-alert summaries (backend.records.summaries) and the kept figures of settled
months (ReportMonth): kept up by the worker's summaries pass and caught up by every report, never
behind in a report, costing a dispatch or an answer nothing, and giving the same figures as working
everything out again."""

import datetime
import io
import threading
import uuid

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from backend.accounts.models import Responder
from backend.dispatch import actions as dispatch_actions
from backend.dispatch.actions import dispatch_incident, respond_to_alert
from backend.dispatch.models import Incident
from backend.records import actions, reports
from backend.records.admin_reports import report_csv
from backend.records.models import AlertSummary, Attendance, Outcome, RecordKind, ReportMonth
from backend.records.months import month_number, month_of_moment
from backend.records.reports import ReportFilters, build_report
from backend.records.summaries import catch_up, note_changed_incidents, rebuild_all, summarise_alerts, summarise_due
from tests.records.conftest import accept, ago, iso, submit, valid_outcome
from tests.records.reports_fixtures import hand_checked_incidents
from tests.records.test_idempotency import needs_postgresql

SPRING = ReportFilters(datetime.date(2025, 3, 1), datetime.date(2025, 4, 30))
MARCH, APRIL = month_number(datetime.date(2025, 3, 1)), month_number(datetime.date(2025, 4, 1))


def summary_of(alert) -> AlertSummary:
    """The alert's summary once caught up, as a report reads it."""
    catch_up()
    return AlertSummary.objects.get(alert=alert)


def all_summaries() -> list[tuple]:
    fields = [field.attname for field in AlertSummary._meta.concrete_fields]
    return list(AlertSummary.objects.order_by("alert").values_list(*fields))


def seconds_between(later, earlier) -> float:
    return (later - earlier).total_seconds()


# --- Summaries kept up by the actions -------------------------------------------------------------


def test_a_dispatch_marks_its_alerts_due_and_the_pass_summarises_them_with_the_station_of_the_time(alerts, stations):
    # The dispatch wrote no summary: it only marked its alerts (in the same row write).
    assert AlertSummary.objects.count() == 0
    assert {alert.pk for alert in alerts.values()} == set(
        dispatch_actions.Alert.objects.filter(summary_due=True).values_list("pk", flat=True)
    )
    assert summarise_due() == len(alerts)
    assert not dispatch_actions.Alert.objects.filter(summary_due=True).exists()
    assert summarise_due() == 0  # nothing left to do: the next pass costs one query
    for alert in alerts.values():
        summary = summary_of(alert)
        assert summary.station_id == alert.responder.station_id == stations["norwich"].pk
        assert summary.incident_created_at == alert.incident.created_at
        assert (summary.attended, summary.to_acceptance_s, summary.to_on_scene_s) == (False, None, None)


def test_accepting_and_arriving_mark_the_alert_due_again_and_give_the_intervals(alerts):
    catch_up()
    alert = accept(alerts["alice"])
    assert dispatch_actions.Alert.objects.get(pk=alert.pk).summary_due is True
    assert summary_of(alert).to_acceptance_s == seconds_between(alert.accepted_at, alert.alerted_at)
    alert = respond_to_alert(actor=alert.responder.user, alert_id=alert.pk, response="on_scene")
    assert summary_of(alert).to_on_scene_s == seconds_between(alert.on_scene_at, alert.alerted_at)


def test_the_attendance_form_corrects_the_arrival_or_says_there_was_none(alerts):
    alice = respond_to_alert(
        actor=alerts["alice"].responder.user, alert_id=accept(alerts["alice"]).pk, response="on_scene"
    )
    bob = accept(alerts["bob"])
    corrected = ago(minutes=30)
    submit(alice, attended=True, on_scene_at=iso(corrected))
    submit(bob, attended=False)

    summary = summary_of(alice)
    assert summary.attended is True
    assert summary.to_on_scene_s == seconds_between(corrected, alice.alerted_at)
    assert summary.form_on_scene_s == seconds_between(corrected, alice.incident.created_at)
    summary = summary_of(bob)
    assert (summary.attended, summary.to_on_scene_s, summary.form_on_scene_s) == (False, None, None)
    assert summary.to_acceptance_s is not None

    later = ago(minutes=25)
    actions.change_record(
        actor=alice.responder.user,
        kind=RecordKind.ATTENDANCE,
        alert_id=alice.pk,
        idempotency_key=uuid.uuid4(),
        reason="Looked at the appliance's log.",
        fields={"on_scene_at": iso(later)},
    )
    assert summary_of(alice).to_on_scene_s == seconds_between(later, alice.alerted_at)


def test_a_firefighter_who_moves_station_stays_counted_where_they_were(alerts, stations, alice):
    alert = accept(alerts["alice"])
    Responder.objects.filter(pk=alice.pk).update(station=stations["yarmouth"])
    submit(alert, attended=True)
    assert summary_of(alert).station_id == stations["norwich"].pk
    today = alert.incident.created_at.date()
    report = build_report(ReportFilters(today - datetime.timedelta(days=1), today + datetime.timedelta(days=1)))
    attendances = {row.station.name: row.counts.attendances for row in report.by_station}
    assert attendances["Norwich"] == 1 and attendances["Great Yarmouth"] == 0


def test_the_summaries_kept_up_by_the_actions_equal_a_rebuild(alerts):
    alice = respond_to_alert(
        actor=alerts["alice"].responder.user, alert_id=accept(alerts["alice"]).pk, response="on_scene"
    )
    submit(alice, attended=True, on_scene_at=iso(ago(minutes=40)))
    submit(accept(alerts["bob"]), attended=False)
    catch_up()
    kept_up = all_summaries()
    AlertSummary.objects.all().delete()
    rebuild_all()
    assert all_summaries() == kept_up and len(kept_up) == len(alerts)


def test_a_recent_incident_costs_two_queries_and_no_kept_month(alerts, django_assert_num_queries):
    # The dispatch and every answer pay this (they hold the alerts locked already): the summary's
    # sources, and writing it.
    with django_assert_num_queries(2):
        summarise_alerts([alert.pk for alert in alerts.values()], locked=True)
    assert not ReportMonth.objects.exists()


def test_an_outcome_belongs_to_the_station_its_lead_was_alerted_from(alerts, stations, erin):
    alert = accept(alerts["erin"])
    Responder.objects.filter(pk=erin.pk).update(station=stations["yarmouth"])
    outcome, _ = submit(alert, RecordKind.OUTCOME, **valid_outcome(crew=[erin.pk]))
    assert outcome.station_id == stations["norwich"].pk


def test_an_answer_for_an_incident_of_a_settled_month_counts_that_month_up(alerts):
    # An incident still open from two months ago (its alerts summarised as a bulk load would be).
    alert = alerts["alice"]
    long_ago = ago(days=70)
    Incident.objects.filter(pk=alert.incident_id).update(created_at=long_ago)
    summarise_alerts([alert.pk], locked=True)
    month = ReportMonth.objects.get(month=month_of_moment(long_ago))
    accept(alert)
    catch_up()  # the worker's pass, or the next report
    month.refresh_from_db()
    assert month.changes == 2


@needs_postgresql
@pytest.mark.django_db(transaction=True)
def test_an_on_scene_tap_and_the_attendance_form_at_once_keep_both(incident, carol, alice, bob, erin, monkeypatch):
    """The tap's transaction has marked the alert due and not committed when the form comes: the
    form's summary must wait for it and read its time, not overwrite the summary with what it read
    before (nor deadlock)."""
    Incident.objects.filter(pk=incident.pk).update(created_at=ago(hours=1))
    alerts = {a.responder.user.username: a for a in dispatch_incident(actor=carol, incident_id=incident.pk)}
    alert = accept(alerts["alice"])
    tap_summarised, tap_may_commit = threading.Event(), threading.Event()
    tell = dispatch_actions._tell_everyone_about

    def tell_then_hold(*args, **kwargs):
        tell(*args, **kwargs)
        if threading.current_thread().name == "tap":
            tap_summarised.set()
            tap_may_commit.wait(timeout=10)

    monkeypatch.setattr(dispatch_actions, "_tell_everyone_about", tell_then_hold)
    errors = []

    def in_thread(work):
        def run():
            try:
                work()
            except Exception as error:
                errors.append(error)
            finally:
                connection.close()

        return run

    tap = threading.Thread(
        name="tap",
        target=in_thread(lambda: respond_to_alert(actor=alert.responder.user, alert_id=alert.pk, response="on_scene")),
    )
    form = threading.Thread(name="form", target=in_thread(lambda: submit(alert, attended=True)))
    tap.start()
    assert tap_summarised.wait(timeout=10)
    form.start()
    form.join(timeout=1)  # the form gets as far as it can while the tap holds its transaction open
    tap_may_commit.set()
    tap.join(timeout=10)
    form.join(timeout=10)

    assert errors == []
    kept_up = summary_of(alert)
    assert kept_up.attended is True and kept_up.to_on_scene_s is not None
    AlertSummary.objects.all().delete()
    rebuild_all()
    assert summary_of(alert).to_on_scene_s == kept_up.to_on_scene_s


# --- Kept months ------------------------------------------------------------------------------------


@pytest.fixture
def fixture(stations, alice, bob, charlie, dave, carol):
    return hand_checked_incidents(stations, alice, bob, charlie, dave, carol)


def worked_out_from_scratch(filters: ReportFilters) -> str:
    """The report's CSV with nothing kept: every month worked out from the alerts and forms."""
    ReportMonth.objects.all().delete()
    with CaptureQueriesContext(connection):
        csv = report_csv(build_report(filters))
    ReportMonth.objects.all().delete()
    return csv


def kept_months() -> dict[int, ReportMonth]:
    """The months with figures kept. (The fixture's changes to its months leave rows without.)"""
    return {row.month: row for row in ReportMonth.objects.filter(figures__isnull=False)}


def reads_alerts(filters: ReportFilters) -> tuple[str, bool]:
    """The report's CSV, and whether it read the alerts' summaries one by one."""
    with CaptureQueriesContext(connection) as captured:
        csv = report_csv(build_report(filters))
    return csv, any("to_acceptance_s" in query["sql"] for query in captured.captured_queries)


def test_a_report_keeps_whole_settled_months_and_the_next_reads_them(fixture):
    first, worked_out = reads_alerts(SPRING)
    assert worked_out
    kept = kept_months()
    assert set(kept) == {MARCH, APRIL}
    assert all(row.built_from == row.changes for row in kept.values())
    again, worked_out = reads_alerts(SPRING)
    assert not worked_out
    assert again == first


def test_part_months_recent_months_and_one_stations_reports_keep_nothing(fixture, stations, carol):
    build_report(ReportFilters(datetime.date(2025, 3, 2), datetime.date(2025, 4, 30)))
    assert set(kept_months()) == {APRIL}
    ReportMonth.objects.all().delete()
    build_report(ReportFilters(SPRING.date_from, SPRING.date_to, station=stations["norwich"]))
    assert not kept_months()
    today = datetime.date.today()
    build_report(ReportFilters(today.replace(day=1), today))
    assert not kept_months()


def test_a_coordinators_amendment_to_a_kept_month_is_in_the_next_report(fixture, bob, carol):
    before, _ = reads_alerts(SPRING)
    changes = kept_months()[MARCH].changes
    attendance = Attendance.objects.get(alert__incident=fixture.incidents["I1"], alert__responder=bob)
    actions.amend_record(
        actor=carol,
        kind=RecordKind.ATTENDANCE,
        record_id=attendance.pk,
        idempotency_key=uuid.uuid4(),
        reason="The crew's log says later.",
        fields={"on_scene_at": iso(attendance.alert.alerted_at + datetime.timedelta(seconds=640))},
    )
    march = ReportMonth.objects.get(month=MARCH)
    assert march.changes == changes + 1 and march.built_from == changes
    after, worked_out = reads_alerts(SPRING)
    assert worked_out and after != before
    assert build_report(SPRING).by_station[0].to_on_scene.median is not None
    assert after == worked_out_from_scratch(SPRING)


def test_an_outcome_amendment_to_a_kept_month_is_in_the_next_report(fixture, carol, stations):
    build_report(SPRING)
    outcome = Outcome.objects.get(incident=fixture.incidents["I1"], station=stations["norwich"])
    actions.amend_record(
        actor=carol,
        kind=RecordKind.OUTCOME,
        record_id=outcome.pk,
        idempotency_key=uuid.uuid4(),
        reason="Three shocks, by the defibrillator's record.",
        fields={"crew_shocks": 3},
    )
    report = build_report(SPRING)
    norwich = next(row for row in report.by_station if row.station == stations["norwich"])
    assert norwich.counts.crew_shocks == 3 + 1  # I1's amended 3, and I3's 1
    assert report_csv(report) == worked_out_from_scratch(SPRING)


def test_a_change_while_a_month_is_worked_out_leaves_nothing_stale(fixture, monkeypatch):
    work_out = reports._work_out

    def with_a_change_meanwhile(*args):
        figures = work_out(*args)
        note_changed_incidents([fixture.incidents["I1"].created_at])  # commits during the report
        return figures

    monkeypatch.setattr(reports, "_work_out", with_a_change_meanwhile)
    build_report(SPRING)
    march, april = ReportMonth.objects.get(month=MARCH), ReportMonth.objects.get(month=APRIL)
    assert march.built_from != march.changes
    assert april.built_from == april.changes
    monkeypatch.undo()
    _, worked_out = reads_alerts(SPRING)
    assert worked_out
    march.refresh_from_db()
    assert march.built_from == march.changes


@pytest.mark.parametrize("spoil", ["time_zone", "format"])
def test_figures_kept_under_another_time_zone_or_shape_are_worked_out_again(fixture, spoil):
    first, _ = reads_alerts(SPRING)
    for row in kept_months().values():
        if spoil == "time_zone":
            row.time_zone = "UTC"
        else:
            row.figures = {**row.figures, "format": 0}
        row.save()
    again, worked_out = reads_alerts(SPRING)
    assert worked_out and again == first


def test_the_rebuild_command_keeps_every_settled_month(fixture):
    call_command("rebuild_report_summaries", stdout=io.StringIO())
    kept = set(kept_months())
    assert {MARCH, APRIL} <= kept
    assert month_number(datetime.date.today()) not in kept
    _, worked_out = reads_alerts(SPRING)
    assert not worked_out


@needs_postgresql
@pytest.mark.django_db(transaction=True)
def test_the_pass_skips_an_alert_an_answer_holds_and_leaves_it_due(incident, carol, alice):
    """An answer holding its alert's row (not yet committed) must neither wait for the pass nor be
    overwritten by it: the pass skips the row, which stays due, and summarises it next time."""
    [alert] = dispatch_incident(actor=carol, incident_id=incident.pk)
    catch_up()
    holding, release = threading.Event(), threading.Event()

    def answer_and_hold():
        try:
            with transaction.atomic():
                dispatch_actions.Alert.objects.select_for_update().get(pk=alert.pk)
                dispatch_actions.Alert.objects.filter(pk=alert.pk).update(summary_due=True)
                holding.set()
                release.wait(timeout=10)
        finally:
            connection.close()

    answer = threading.Thread(target=answer_and_hold)
    answer.start()
    try:
        assert holding.wait(timeout=10)
        assert summarise_due() == 0  # skipped, not waited for
    finally:
        release.set()
        answer.join(timeout=10)
    assert dispatch_actions.Alert.objects.get(pk=alert.pk).summary_due is True
    assert summarise_due() == 1
