"""The reports' figures against the hand-checked fixture (tests/records/reports_fixtures.py), the
filters, and the number of queries.

The working for every expected number is in the comments. Medians and 90th percentiles
interpolate between the nearest values: for n sorted values the p-th is at position (n-1)*p.
"""

import datetime

import pytest
from django.db import connection

from backend.records.reports import ReportFilters, build_report, default_date_range, months_between
from tests.records.reports_fixtures import hand_checked_incidents, local, make_incident, make_outcome, many_incidents

MARCH, APRIL = datetime.date(2025, 3, 1), datetime.date(2025, 4, 1)


@pytest.fixture
def fixture(stations, alice, bob, charlie, dave, carol):
    return hand_checked_incidents(stations, alice, bob, charlie, dave, carol)


def spring(station=None):
    return build_report(ReportFilters(datetime.date(2025, 3, 1), datetime.date(2025, 4, 30), station))


def by_station(report, name):
    return next(row for row in report.by_station if row.station.name == name)


def by_month(report, month):
    return next(row for row in report.by_month if row.month == month)


def spread(s):
    return (s.count, s.median, s.p90)


def test_counts_per_station_per_month(fixture, stations):
    report = spring()
    norwich, yarmouth, lynn = stations["norwich"], stations["yarmouth"], stations["lynn"]
    # (incidents, emergencies attended, attendances)
    cells = {
        (station.name, month): (
            report.cell(station, month).counts.incidents,
            report.cell(station, month).counts.emergencies_attended,
            report.cell(station, month).counts.attendances,
        )
        for station in (norwich, yarmouth, lynn)
        for month in (MARCH, APRIL)
    }
    assert cells == {
        ("Norwich", MARCH): (1, 1, 2),  # I1: alice and bob
        ("Norwich", APRIL): (2, 2, 3),  # I3 (00:30 BST on 1 April): alice, bob; I8: alice
        ("Great Yarmouth", MARCH): (2, 1, 1),  # I1 (charlie declined), I2 (charlie attended)
        ("Great Yarmouth", APRIL): (1, 1, 1),  # I3: charlie
        ("King's Lynn", MARCH): (1, 0, 0),  # I2: dave's form says he did not attend
        ("King's Lynn", APRIL): (1, 0, 0),  # I4: dave never answered
    }


def test_totals_count_each_incident_once(fixture):
    report = spring()
    # March: I1, I2 (I1 alerted Norwich and Yarmouth: once). April: I3, I4, I8. I7 had no alert.
    assert [row.counts.incidents for row in report.by_month] == [2, 3]
    # Attended: March I1, I2; April I3, I8.
    assert [row.counts.emergencies_attended for row in report.by_month] == [2, 2]
    # Attendances add up: 2 + 1 in March, 3 + 1 in April.
    assert [row.counts.attendances for row in report.by_month] == [3, 4]
    assert (report.total.counts.incidents, report.total.counts.emergencies_attended) == (5, 4)
    assert report.total.counts.attendances == 7
    # Per station over both months: Norwich I1, I3, I8; Yarmouth I1, I2, I3; Lynn I2, I4.
    assert [(row.station.name, row.counts.incidents) for row in report.by_station] == [
        ("Great Yarmouth", 3),
        ("King's Lynn", 2),
        ("Norwich", 3),
    ]


def test_alert_to_acceptance(fixture):
    report = spring()
    # Accepted alerts: I1 alice 60, bob 120; I2 charlie 30, dave 90; I3 alice 45, bob 75,
    # charlie 150; I8 alice 40. Sorted: 30 40 45 60 75 90 120 150.
    # Median at 3.5: (60 + 75) / 2 = 67.5. p90 at 6.3: 120 + 0.3 * 30 = 129.
    assert spread(report.total.to_acceptance) == pytest.approx((8, 67.5, 129.0))
    # Norwich 40 45 60 75 120: median 60; p90 at 3.6: 75 + 0.6 * 45 = 102.
    assert spread(by_station(report, "Norwich").to_acceptance) == pytest.approx((5, 60.0, 102.0))
    # Yarmouth 30 150: median 90; p90 at 0.9: 30 + 0.9 * 120 = 138.
    assert spread(by_station(report, "Great Yarmouth").to_acceptance) == pytest.approx((2, 90.0, 138.0))
    assert spread(by_station(report, "King's Lynn").to_acceptance) == pytest.approx((1, 90.0, 90.0))
    # March 30 60 90 120: median 75; p90 at 2.7: 90 + 0.7 * 30 = 111.
    assert spread(by_month(report, MARCH).to_acceptance) == pytest.approx((4, 75.0, 111.0))
    # April 40 45 75 150: median 60; p90 at 2.7: 75 + 0.7 * 75 = 127.5.
    assert spread(by_month(report, APRIL).to_acceptance) == pytest.approx((4, 60.0, 127.5))


def test_alert_to_on_scene_prefers_the_form_and_leaves_out_who_did_not_attend(fixture):
    report = spring()
    # I1 alice 600 (her form has no time: the app's), bob 540 (his form, not the app's 700);
    # I2 charlie 900, dave left out (his form says he did not attend, whatever he pressed);
    # I3 alice 300, bob 420, charlie 480; I8 alice 360.
    # Sorted: 300 360 420 480 540 600 900. Median 480; p90 at 5.4: 600 + 0.4 * 300 = 720.
    assert spread(report.total.to_on_scene) == pytest.approx((7, 480.0, 720.0))
    # Norwich 300 360 420 540 600: median 420; p90 at 3.6: 540 + 0.6 * 60 = 576.
    assert spread(by_station(report, "Norwich").to_on_scene) == pytest.approx((5, 420.0, 576.0))
    # Yarmouth 480 900: median 690; p90: 480 + 0.9 * 420 = 858.
    assert spread(by_station(report, "Great Yarmouth").to_on_scene) == pytest.approx((2, 690.0, 858.0))
    assert spread(by_station(report, "King's Lynn").to_on_scene) == (0, None, None)


def test_crew_first_on_scene_against_the_ambulance(fixture):
    report = spring()
    # I1 Norwich: crew from the forms (bob's 10:10:00), ambulance 10:15:00: 300 s ahead.
    # I2 Yarmouth: crew 14:15:30, ambulance 14:10:00: -330 (after).
    # I3 Norwich: no ambulance time: not compared. I3 Yarmouth: charlie's form 23:38:30 UTC,
    # ambulance 23:45:00 UTC: 390. I8 Norwich: 12:06 against 12:20: 840.
    # Sorted -330 300 390 840: first 3 of 4 = 75 %; median (300 + 390) / 2 = 345;
    # p90 at 2.7: 390 + 0.7 * 450 = 705.
    total = report.total
    assert (total.crew_first, total.crew_first_percent) == (3, 75.0)
    assert spread(total.ahead_of_ambulance) == pytest.approx((4, 345.0, 705.0))
    # Norwich 300 840: both first; median 570; p90 300 + 0.9 * 540 = 786.
    norwich = by_station(report, "Norwich")
    assert (norwich.crew_first, norwich.crew_first_percent) == (2, 100.0)
    assert spread(norwich.ahead_of_ambulance) == pytest.approx((2, 570.0, 786.0))
    # Yarmouth -330 390: one first of two; median 30; p90 -330 + 0.9 * 720 = 318.
    yarmouth = by_station(report, "Great Yarmouth")
    assert (yarmouth.crew_first, yarmouth.crew_first_percent) == (1, 50.0)
    assert spread(yarmouth.ahead_of_ambulance) == pytest.approx((2, 30.0, 318.0))


def test_rosc_overall_and_in_the_utstein_group_per_patient(fixture):
    report = spring()
    counts = report.total.counts
    # Attempted: I1, I2, I3 (two forms, one patient); I8 not attempted. ROSC at handover: I1, and
    # I3 (Yarmouth's form says so, Norwich's not): 2 of 3.
    assert (counts.resuscitation_attempted, counts.rosc_at_handover) == (3, 2)
    assert report.total.rosc_percent == pytest.approx(200 / 3)
    # Utstein group (bystander-witnessed, shock advised): I1, I3, both with ROSC at handover.
    # I8 is bystander-witnessed but not attempted; I2 was crew-witnessed.
    assert (counts.utstein_attempted, counts.utstein_rosc_at_handover) == (2, 2)
    assert report.total.utstein_rosc_percent == 100.0
    # Shocks by crews: 2 (I1) + 1 + 3 (I3) = 6; I5's 5 and I6's 7 are outside the range.
    assert counts.crew_shocks == 6
    # Per station each form counts: Norwich I1 (ROSC), I3 (none); Yarmouth I2 (none), I3 (ROSC).
    norwich, yarmouth = by_station(report, "Norwich").counts, by_station(report, "Great Yarmouth").counts
    assert (norwich.resuscitation_attempted, norwich.rosc_at_handover, norwich.utstein_attempted) == (2, 1, 2)
    assert (yarmouth.resuscitation_attempted, yarmouth.rosc_at_handover, yarmouth.utstein_attempted) == (2, 1, 1)
    assert (norwich.crew_shocks, yarmouth.crew_shocks) == (3, 3)
    # Per month: March I1, I2 (ROSC I1; Utstein I1); April I3 (ROSC; Utstein).
    march, april = by_month(report, MARCH).counts, by_month(report, APRIL).counts
    assert (march.resuscitation_attempted, march.rosc_at_handover, march.utstein_attempted, march.crew_shocks) == (
        2,
        1,
        1,
        2,
    )
    assert (april.resuscitation_attempted, april.rosc_at_handover, april.utstein_attempted, april.crew_shocks) == (
        1,
        1,
        1,
        4,
    )
    assert by_station(report, "King's Lynn").rosc_percent is None


def test_rosc_at_handover_not_known_counts_neither_as_rosc_nor_as_no_rosc(fixture, stations, carol):
    # I9, 25 Mar: Norwich attempted, in the Utstein group, ROSC at handover not known (unanswered).
    i9 = make_incident(local(2025, 3, 25, 9, 0), carol)
    make_outcome(i9, stations["norwich"], witnessed="bystander", first_rhythm="shock_advised", rosc_at_handover=None)
    # I10, 26 Mar: Yarmouth's form not known, Norwich's no: known (no), as the registry counts it.
    i10 = make_incident(local(2025, 3, 26, 9, 0), carol)
    make_outcome(i10, stations["norwich"], rosc_at_handover=False)
    make_outcome(i10, stations["yarmouth"], rosc_at_handover=None)
    report = spring()
    total = report.total
    # Attempted: I1, I2, I3, I9, I10. ROSC at handover: I1, I3. Known: all but I9. 2 of 4 (not of 5).
    assert (total.counts.resuscitation_attempted, total.counts.rosc_at_handover) == (5, 2)
    assert (total.rosc_not_known, total.rosc_percent) == (1, 50.0)
    # Utstein group: I1, I3 (ROSC) and I9 (not known): 2 of 2 known.
    assert (total.counts.utstein_attempted, total.utstein_rosc_not_known, total.utstein_rosc_percent) == (3, 1, 100.0)
    # Per station each form counts: Yarmouth's I10 form is not known there.
    yarmouth = by_station(report, "Great Yarmouth")
    assert (yarmouth.counts.resuscitation_attempted, yarmouth.rosc_not_known, yarmouth.rosc_percent) == (3, 1, 50.0)
    march = by_month(report, MARCH)
    assert (march.counts.resuscitation_attempted, march.rosc_not_known, march.rosc_percent) == (
        4,
        1,
        pytest.approx(100 / 3),
    )


def test_running_total_since_the_first_incident(fixture):
    report = spring()
    # The scheme started with I5 (27 Feb, attended by alice of Norwich): 1 before the range.
    # End of March: 1 + I1, I2 = 3; end of April: 3 + I3, I8 = 5.
    assert report.scheme_started == datetime.date(2025, 2, 27)
    assert [row.running_total for row in report.by_month] == [3, 5]
    assert report.total.running_total == 5
    # Norwich: I5, then I1 (2), then I3, I8 (4). Yarmouth: I2 (1), I3 (2). Lynn: none.
    assert [row.running_total for row in report.by_station] == [2, 0, 4]


def test_running_total_from_a_configured_start_inside_the_range(fixture, settings, stations):
    settings.RECORDS_SCHEME_STARTED = datetime.date(2025, 3, 10)
    report = spring()
    # I1 (3 March) is before the start: end of March only I2 (1); end of April + I3, I8 (3).
    assert [row.running_total for row in report.by_month] == [1, 3]
    # Norwich: I1 does not count: 0 in March, I3 and I8 in April: 2.
    norwich = stations["norwich"]
    assert [report.cell(norwich, month).running_total for month in (MARCH, APRIL)] == [0, 2]


def test_the_station_filter(fixture, stations):
    report = spring(stations["yarmouth"])
    assert [row.station.name for row in report.by_station] == ["Great Yarmouth"]
    # Yarmouth alone: March I1, I2 (attended I2); April I3.
    assert [(row.counts.incidents, row.counts.emergencies_attended) for row in report.by_month] == [(2, 1), (1, 1)]
    assert spread(report.total.to_acceptance) == pytest.approx((2, 90.0, 138.0))
    assert (report.total.crew_first, report.total.ahead_of_ambulance.count) == (1, 2)
    # Yarmouth's running total: nothing before March; I2, then I3.
    assert [row.running_total for row in report.by_month] == [1, 2]
    assert report.total.counts.crew_shocks == 3


def test_the_date_filter_uses_local_months(fixture):
    # I3 was created at 23:30 UTC on 31 March: 00:30 on 1 April in Britain, so it is April's.
    march = build_report(ReportFilters(datetime.date(2025, 3, 1), datetime.date(2025, 3, 31)))
    assert march.total.counts.incidents == 2
    assert march.months == [MARCH]
    april = build_report(ReportFilters(datetime.date(2025, 4, 1), datetime.date(2025, 4, 30)))
    assert april.total.counts.incidents == 3  # I3, I4, I8
    # Running total at the end of April: I5, I1, I2 before the range, I3 and I8 in it.
    assert april.total.running_total == 5
    one_day = build_report(ReportFilters(datetime.date(2025, 3, 20), datetime.date(2025, 3, 20)))
    assert one_day.total.counts.incidents == 1  # I2


def test_an_empty_period_has_no_figures(db, stations):
    report = build_report(ReportFilters(datetime.date(2025, 1, 1), datetime.date(2025, 2, 28)))
    assert report.total.counts.incidents == 0
    assert spread(report.total.to_acceptance) == (0, None, None)
    assert report.total.crew_first_percent is None
    assert report.scheme_started is None


def test_default_range_is_the_last_twelve_months():
    assert default_date_range(datetime.date(2026, 3, 15)) == (datetime.date(2025, 3, 1), datetime.date(2026, 3, 15))
    assert default_date_range(datetime.date(2026, 12, 3)) == (datetime.date(2025, 12, 1), datetime.date(2026, 12, 3))
    assert months_between(datetime.date(2025, 11, 30), datetime.date(2026, 2, 1)) == [
        datetime.date(2025, 11, 1),
        datetime.date(2025, 12, 1),
        datetime.date(2026, 1, 1),
        datetime.date(2026, 2, 1),
    ]


@pytest.mark.parametrize("count", [10, 200])
def test_the_number_of_queries_does_not_grow_with_the_rows(
    count, stations, alice, charlie, dave, carol, django_assert_max_num_queries
):
    many_incidents(count, stations, [alice, charlie, dave], carol)
    filters = ReportFilters(datetime.date(2025, 1, 1), datetime.date(2025, 12, 31))
    # The same bound for 10 and for 200 incidents: whether any alert's summary is behind, stations,
    # the kept months, the alerts, the outcome forms, keeping the months, the scheme's start, 2 for
    # the running total; on
    # PostgreSQL 3 more: the transaction (a savepoint in a test) around them, its end, and
    # turning JIT off.
    postgresql = 3 if connection.vendor == "postgresql" else 0
    with django_assert_max_num_queries(9 + postgresql):
        report = build_report(filters)
        # The figures are worked out lazily: ask for them inside the block too.
        rows = [*report.by_station, *report.by_month, report.total, *report.station_month_rows()]
        assert sum(row.to_on_scene.count for row in report.by_month) == count
        assert all(row.crew_first_percent is not None for row in rows if row.ahead_of_ambulance.count)
    assert report.total.counts.incidents == count
    # The next report reads the months kept by the first: neither alerts nor forms (nor summaries
    # to catch up: one query says none is behind).
    with django_assert_max_num_queries(6 + postgresql) as captured:
        again = build_report(filters)
        assert sum(row.to_on_scene.count for row in again.by_month) == count
    assert not [query for query in captured.captured_queries if "to_acceptance_s" in query["sql"]]
