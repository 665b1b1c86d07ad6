"""The reports page in the admin: who may see it, the filter form's messages, what it shows, the
audit entry for each showing, and the link on the admin's home page."""

import datetime
import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.utils import timezone
from django.utils.html import escape

from backend.audit.models import AuditAction, AuditEntry
from tests.conftest import admin_client_for
from tests.records.reports_fixtures import hand_checked_incidents

URL = "/admin/reports/"
SPRING = {"date_from": "2025-03-01", "date_to": "2025-04-30"}


@pytest.fixture
def fixture(stations, alice, bob, charlie, dave, carol):
    return hand_checked_incidents(stations, alice, bob, charlie, dave, carol)


def staff_with(*codenames):
    user = get_user_model().objects.create_user(username="staff-" + "-".join(codenames), is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="records", codename__in=codenames))
    return user


def report_entries():
    return list(AuditEntry.objects.filter(object_type="report").order_by("id"))


def test_a_coordinator_sees_the_figures(fixture, carol):
    response = admin_client_for(carol).get(URL, SPRING)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Incidents created 1 March 2025 to 30 April 2025, all stations" in page
    # The totals row of the activity table: 5 incidents, 4 attended, 7 attendances, 5 since the start.
    activity = _table(page, "table-activity-by-month")
    assert re.search(r"<th scope=\"row\">Total</th><td>5</td><td>4</td><td>7</td><td>5</td>", activity)
    # Times as m:ss: acceptance median 67.5 s shows as 1:08 (rounded), p90 129 s as 2:09.
    times = _table(page, "table-response-times-by-month")
    assert "<td>1:08</td><td>2:09</td><td>8</td>" in times
    assert "<td>75.0 %</td>" in times
    assert 'href="/admin/reports/export.csv?date_from=2025-03-01&amp;date_to=2025-04-30&amp;station="' in page
    assert "table-activity-by-station" in page


def test_the_charts_are_accessible_svg_without_script_or_inline_style(fixture, carol):
    response = admin_client_for(carol).get(URL, SPRING)
    page = response.content.decode()
    charts = re.findall(r"<svg class=\"report-chart\".*?</svg>", page, re.S)
    # Attended per month, running total per month, three interval trends, crew first per month,
    # attended per station.
    assert len(charts) == 7
    for chart in charts:
        assert 'role="img"' in chart
        assert re.search(r'aria-labelledby="(chart-[a-z-]+)-title \1-desc"', chart)
        assert "<desc id=" in chart
    assert "Highest: Norwich, 3" in page
    assert "<script" not in page.split('id="content-main"')[1]
    assert " style=" not in page
    policy = response["Content-Security-Policy"]
    assert "style-src 'self'" in policy and "unsafe-inline" not in policy


def test_one_station_shows_its_months_and_no_station_table(fixture, carol, stations):
    response = admin_client_for(carol).get(URL, {**SPRING, "station": stations["yarmouth"].pk})
    page = response.content.decode()
    assert "Incidents created 1 March 2025 to 30 April 2025, Great Yarmouth" in page
    assert "table-activity-by-station" not in page
    activity = _table(page, "table-activity-by-month")
    assert re.search(r"<th scope=\"row\">Mar 2025</th><td>2</td><td>1</td><td>1</td><td>1</td>", activity)


def test_without_dates_it_shows_the_last_twelve_months(db, carol):
    response = admin_client_for(carol).get(URL)
    assert response.status_code == 200
    # The twelve whole months before this one, and this month so far.
    assert len(response.context["report"].months) == 13


def test_without_dates_in_december_it_starts_a_year_back_not_on_1_january(db, carol, monkeypatch):
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: datetime.date(2026, 12, 3))

    response = admin_client_for(carol).get(URL)

    filters = response.context["report"].filters
    assert (filters.date_from, filters.date_to) == (datetime.date(2025, 12, 1), datetime.date(2026, 12, 3))
    assert "Incidents created 1 December 2025 to 3 December 2026" in response.content.decode()


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"date_from": "2025-05-01", "date_to": "2025-04-30"}, "date_to", "is before the start date (1 May 2025)"),
        ({"date_from": "yesterday"}, "date_from", "Enter the start date as a date, e.g. 2025-04-01."),
        ({"date_to": "2025-02-30"}, "date_to", "Enter the end date as a date, e.g. 2026-03-31."),
        ({"date_from": "2099-01-01", "date_to": "2099-02-01"}, "date_from", "is in the future"),
        ({"date_from": "1990-01-01", "date_to": "2025-01-01"}, "date_from", "Choose a period of at most 20 years."),
        ({"station": "99999"}, "station", "Choose a station from the list, or All stations."),
    ],
)
def test_bad_filters_get_a_message_on_the_field_and_no_figures(db, carol, query, field, message):
    response = admin_client_for(carol).get(URL, query)
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert escape(message) in response.content.decode()
    assert "report" not in response.context
    assert report_entries() == []


def test_viewing_the_figures_is_audited_with_the_filters(fixture, carol, stations):
    admin_client_for(carol).get(URL, {**SPRING, "station": stations["norwich"].pk})
    [entry] = report_entries()
    assert (entry.action, entry.actor, entry.role, entry.channel) == (AuditAction.VIEW, carol, "coordinator", "admin")
    assert entry.detail == {"date_from": "2025-03-01", "date_to": "2025-04-30", "station_id": stations["norwich"].pk}
    assert entry.ip_address == "127.0.0.1"


def test_staff_without_the_permission_get_403(db, wendy):
    response = admin_client_for(wendy).get(URL, SPRING)
    assert response.status_code == 403
    assert report_entries() == []


def test_view_permission_alone_shows_the_page_without_the_export_link(fixture):
    response = admin_client_for(staff_with("view_reports")).get(URL, SPRING)
    assert response.status_code == 200
    assert "export.csv" not in response.content.decode()


def test_firefighters_are_sent_to_the_admin_login(db, alice):
    response = admin_client_for(alice.user).get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_the_admin_home_page_links_to_the_reports_for_coordinators_only(db, carol, wendy):
    assert 'href="/admin/reports/"' in admin_client_for(carol).get("/admin/").content.decode()
    assert 'href="/admin/reports/"' not in admin_client_for(wendy).get("/admin/").content.decode()


def _table(page: str, table_id: str) -> str:
    match = re.search(rf'<table id="{table_id}">.*?</table>', page, re.S)
    assert match, f"no table {table_id}"
    # Counts link to the incidents behind them (tests/records/test_drilldown.py): the text is read here.
    without_links = re.sub(r"<a [^>]*>|</a>", "", match.group(0))
    return re.sub(r">\s+<", "><", without_links)
