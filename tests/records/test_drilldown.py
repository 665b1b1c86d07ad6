"""Drill-down (issue 16, item 5): each count of the reports links to the incidents behind it, and
the list has as many incidents as the count says; a month's cell lists only that month's; the
Utstein template's counts drill down too; each list shown is audited."""

import datetime
import re
from urllib.parse import parse_qs, urlparse

import pytest

from backend.audit.models import AuditEntry
from backend.records import drilldown
from backend.records.reports import ReportFilters, build_report
from tests.conftest import admin_client_for
from tests.records.reports_fixtures import hand_checked_incidents, local, make_incident, make_outcome
from tests.records.test_report_admin import staff_with

SPRING = ReportFilters(datetime.date(2025, 3, 1), datetime.date(2025, 4, 30))
COUNTS = {
    "incidents": lambda row: row.counts.incidents,
    "attended": lambda row: row.counts.emergencies_attended,
    "timed": lambda row: row.ahead_of_ambulance.count,
    "crew_first": lambda row: row.crew_first,
    "attempted": lambda row: row.counts.resuscitation_attempted,
    "rosc_at_handover": lambda row: row.counts.rosc_at_handover,
    "utstein_attempted": lambda row: row.counts.utstein_attempted,
    "utstein_rosc_at_handover": lambda row: row.counts.utstein_rosc_at_handover,
    "rosc_not_known": lambda row: row.rosc_not_known,
    "utstein_rosc_not_known": lambda row: row.utstein_rosc_not_known,
}


@pytest.fixture
def fixture(stations, alice, bob, charlie, dave, carol):
    return hand_checked_incidents(stations, alice, bob, charlie, dave, carol)


@pytest.mark.parametrize("figure", list(COUNTS))
def test_each_total_lists_as_many_incidents_as_it_counts(fixture, figure):
    report = build_report(SPRING)
    listed = drilldown.incidents_behind(figure, SPRING)
    assert len(listed) == COUNTS[figure](report.total), figure
    for row in report.by_month:
        assert len(drilldown.incidents_behind(figure, SPRING, row.month)) == COUNTS[figure](row), (figure, row.month)


@pytest.mark.parametrize("figure", ["rosc_not_known", "utstein_rosc_not_known"])
def test_the_cases_whose_rosc_at_handover_is_not_known_are_listed(fixture, stations, carol, figure):
    unanswered = make_incident(local(2025, 3, 25, 9, 0), carol)
    make_outcome(
        unanswered, stations["norwich"], witnessed="bystander", first_rhythm="shock_advised", rosc_at_handover=None
    )
    answered_by_one = make_incident(local(2025, 3, 26, 9, 0), carol)
    make_outcome(answered_by_one, stations["norwich"], rosc_at_handover=False)
    make_outcome(answered_by_one, stations["yarmouth"], rosc_at_handover=None)
    report = build_report(SPRING)
    listed = [item.incident for item in drilldown.incidents_behind(figure, SPRING)]
    assert listed == [unanswered] and len(listed) == COUNTS[figure](report.total)
    yarmouth = ReportFilters(SPRING.date_from, SPRING.date_to, stations["yarmouth"])
    by_yarmouth = [item.incident for item in drilldown.incidents_behind(figure, yarmouth)]
    assert len(by_yarmouth) == COUNTS[figure](build_report(yarmouth).total)


def test_the_lists_name_the_incidents(fixture):
    refs = lambda figure: [item.incident.cad_reference for item in drilldown.incidents_behind(figure, SPRING)]  # noqa: E731
    i = fixture.incidents
    assert refs("rosc_at_handover") == [i["I1"].cad_reference, i["I3"].cad_reference]
    assert refs("crew_first") == [i["I1"].cad_reference, i["I3"].cad_reference, i["I8"].cad_reference]
    first = {item.incident.cad_reference: item.ahead_s for item in drilldown.incidents_behind("timed", SPRING)}
    assert first[i["I1"].cad_reference] == 300.0 and first[i["I2"].cad_reference] == -330.0


def test_one_stations_cell_lists_only_its_incidents(fixture, stations):
    yarmouth = ReportFilters(SPRING.date_from, SPRING.date_to, stations["yarmouth"])
    report = build_report(yarmouth)
    listed = drilldown.incidents_behind("attended", yarmouth)
    assert len(listed) == report.total.counts.emergencies_attended
    assert all("Great Yarmouth" in item.stations for item in listed)


def test_the_page_links_each_count_and_the_list_is_audited(fixture, carol):
    client = admin_client_for(carol)
    page = client.get("/admin/reports/", {"date_from": "2025-03-01", "date_to": "2025-04-30"}).content.decode()
    links = set(re.findall(r'href="(/admin/reports/incidents/\?[^"]+)"', page.replace("&amp;", "&")))
    assert any("figure=rosc_at_handover" in link for link in links)
    assert any("figure=utstein%3A2%3A5" in link for link in links)  # the comparator group's ROSC at handover
    # The total's link: the whole period, all stations (no month, no station).
    link = next(
        link
        for link in links
        if parse_qs(urlparse(link).query).keys() == {"date_from", "date_to", "figure"} and "rosc_at_handover" in link
    )
    response = client.get(link)
    assert response.status_code == 200
    listing = response.content.decode()
    assert fixture.incidents["I1"].cad_reference in listing and fixture.incidents["I3"].cad_reference in listing
    assert fixture.incidents["I2"].cad_reference not in listing
    entry = AuditEntry.objects.filter(object_type="report_incidents").latest("at")
    query = parse_qs(urlparse(link).query)
    assert entry.detail["figure"] == query["figure"][0] and entry.detail["count"] == 2


def test_the_utstein_drilldown_lists_the_comparator_group(fixture):
    listed = drilldown.incidents_behind("utstein:2:0", SPRING)
    assert {item.incident.cad_reference for item in listed} >= {fixture.incidents["I1"].cad_reference}


def test_unknown_figures_and_bad_months_are_refused_and_permission_needed(fixture, carol):
    client = admin_client_for(carol)
    query = {"date_from": "2025-03-01", "date_to": "2025-04-30"}
    assert client.get("/admin/reports/incidents/", {**query, "figure": "everything"}).status_code == 404
    assert client.get("/admin/reports/incidents/", {**query, "figure": "utstein:99:0"}).status_code in (404,)
    assert client.get("/admin/reports/incidents/", {**query, "figure": "attended", "month": "March"}).status_code == 400
    nobody = staff_with("export_reports")
    assert admin_client_for(nobody).get("/admin/reports/incidents/", {**query, "figure": "attended"}).status_code == 403
