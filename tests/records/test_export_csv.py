"""The reports' CSV export: its rows and figures, its safety against formula injection, who may
download it, and the audit entry each download writes."""

import csv
import io

import pytest

from backend.accounts.models import Station
from backend.audit.models import AuditAction, AuditEntry
from tests.conftest import NORWICH, admin_client_for
from tests.records.reports_fixtures import hand_checked_incidents
from tests.records.test_report_admin import staff_with

URL = "/admin/reports/export.csv"
SPRING = {"date_from": "2025-03-01", "date_to": "2025-04-30"}


@pytest.fixture
def fixture(stations, alice, bob, charlie, dave, carol):
    return hand_checked_incidents(stations, alice, bob, charlie, dave, carol)


def download(user, query):
    response = admin_client_for(user).get(URL, query)
    assert response.status_code == 200, response.content
    return response


def parsed(response) -> list[dict]:
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")  # so that spreadsheet programs read UTF-8
    return list(csv.DictReader(io.StringIO(text[1:])))


def test_one_row_per_station_per_month_and_a_totals_row(fixture, carol):
    response = download(carol, SPRING)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="coresponder-report-2025-03-01-to-2025-04-30.csv"'
    rows = parsed(response)
    # 3 stations x 2 months, then the totals.
    assert [(row["Station"], row["Month (YYYY-MM)"]) for row in rows] == [
        ("Great Yarmouth", "2025-03"),
        ("Great Yarmouth", "2025-04"),
        ("King's Lynn", "2025-03"),
        ("King's Lynn", "2025-04"),
        ("Norwich", "2025-03"),
        ("Norwich", "2025-04"),
        ("All stations", "All months"),
    ]


def test_the_header_gives_every_figure_with_its_unit(fixture, carol):
    header = next(csv.reader(io.StringIO(download(carol, SPRING).content.decode("utf-8")[1:])))
    assert header[:2] == ["Station", "Month (YYYY-MM)"]
    assert all(heading.endswith(("(count)", "(s)", "(%)")) for heading in header[2:])
    assert "Alert to on scene, 90th percentile (s)" in header
    assert "Utstein group: ROSC at handover (%)" in header
    assert "Attended since the scheme started (count)" in header


def test_the_figures_are_those_of_the_report(fixture, carol):
    rows = {(row["Station"], row["Month (YYYY-MM)"]): row for row in parsed(download(carol, SPRING))}
    norwich_march = rows[("Norwich", "2025-03")]
    # I1: alice and bob attended; acceptance 60 and 120 (median 90, p90 60 + 0.9 * 60 = 114);
    # on scene 600 and 540 (median 570, p90 540 + 0.9 * 60 = 594); crew 300 s ahead; ROSC; 2 shocks;
    # running total I5 + I1 = 2.
    assert {key: norwich_march[key] for key in list(norwich_march)[2:]} == {
        "Incidents (count)": "1",
        "Medical emergencies attended (count)": "1",
        "Attendances (count)": "2",
        "Attended since the scheme started (count)": "2",
        "Alert to acceptance, median (s)": "90.0",
        "Alert to acceptance, 90th percentile (s)": "114.0",
        "Alerts accepted (count)": "2",
        "Alert to on scene, median (s)": "570.0",
        "Alert to on scene, 90th percentile (s)": "594.0",
        "Firefighters on scene (count)": "2",
        "Crews timed against the ambulance (count)": "1",
        "Crew first on scene (count)": "1",
        "Crew first on scene (%)": "100.0",
        "Crew ahead of the ambulance, median (s)": "300.0",
        "Crew ahead of the ambulance, 90th percentile (s)": "300.0",
        "When first: ahead of the ambulance, median (s)": "300.0",
        "Resuscitation attempted (count)": "1",
        "ROSC at handover (count)": "1",
        "ROSC at handover (%)": "100.0",
        "ROSC at handover not known (count)": "0",
        "Utstein group: resuscitation attempted (count)": "1",
        "Utstein group: ROSC at handover (count)": "1",
        "Utstein group: ROSC at handover (%)": "100.0",
        "Utstein group: ROSC at handover not known (count)": "0",
        "Shocks by crews (count)": "2",
    }
    # King's Lynn in April: I4 alerted dave, who never answered: no times at all (empty cells).
    lynn_april = rows[("King's Lynn", "2025-04")]
    assert lynn_april["Incidents (count)"] == "1"
    assert lynn_april["Alert to acceptance, median (s)"] == ""
    assert lynn_april["ROSC at handover (%)"] == ""
    # The totals: as worked out in test_reports.py.
    total = rows[("All stations", "All months")]
    assert (total["Incidents (count)"], total["Medical emergencies attended (count)"]) == ("5", "4")
    assert (total["Alert to acceptance, median (s)"], total["Alert to on scene, 90th percentile (s)"]) == (
        "67.5",
        "720.0",
    )
    assert (total["Crew first on scene (%)"], total["Crew ahead of the ambulance, median (s)"]) == ("75.0", "345.0")
    assert (total["ROSC at handover (%)"], total["Shocks by crews (count)"]) == ("66.7", "6")


def test_the_station_filter(fixture, carol, stations):
    response = download(carol, {**SPRING, "station": stations["yarmouth"].pk})
    assert response["Content-Disposition"].endswith('-great-yarmouth.csv"')
    rows = parsed(response)
    assert [(row["Station"], row["Month (YYYY-MM)"]) for row in rows] == [
        ("Great Yarmouth", "2025-03"),
        ("Great Yarmouth", "2025-04"),
        ("Great Yarmouth", "All months"),
    ]
    assert rows[-1]["Incidents (count)"] == "3"  # I1, I2, I3
    assert rows[-1]["Shocks by crews (count)"] == "3"


def test_the_date_filter(fixture, carol):
    rows = parsed(download(carol, {"date_from": "2025-04-01", "date_to": "2025-04-30"}))
    assert {row["Month (YYYY-MM)"] for row in rows} == {"2025-04", "All months"}
    assert rows[-1]["Incidents (count)"] == "3"  # I3 (00:30 BST on 1 April), I4, I8


@pytest.mark.parametrize("name", ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\tTab"])
def test_station_names_that_look_like_formulas_are_written_as_text(db, carol, name):
    Station.objects.create(name=name, code="odd", latitude=NORWICH[0], longitude=NORWICH[1])
    rows = parsed(download(carol, {"date_from": "2025-03-01", "date_to": "2025-03-31"}))
    assert rows[0]["Station"] == "'" + name


def test_non_ascii_names_are_utf_8(db, carol):
    Station.objects.create(name="Llanfair Pwllgwyngyll — Gorsaf Dân", code="llan", latitude=53.2, longitude=-4.2)
    rows = parsed(download(carol, {"date_from": "2025-03-01", "date_to": "2025-03-31"}))
    assert rows[0]["Station"] == "Llanfair Pwllgwyngyll — Gorsaf Dân"


def test_each_export_is_audited_with_its_filters(fixture, carol, stations):
    download(carol, {**SPRING, "station": stations["lynn"].pk})
    download(carol, SPRING)
    entries = list(AuditEntry.objects.filter(action=AuditAction.EXPORT).order_by("id"))
    assert [(entry.object_type, entry.actor, entry.channel) for entry in entries] == [
        ("report", carol, "admin"),
        ("report", carol, "admin"),
    ]
    assert [entry.detail for entry in entries] == [
        {"date_from": "2025-03-01", "date_to": "2025-04-30", "station_id": stations["lynn"].pk},
        {"date_from": "2025-03-01", "date_to": "2025-04-30", "station_id": None},
    ]


def test_exporting_needs_the_export_permission(fixture, wendy):
    assert admin_client_for(wendy).get(URL, SPRING).status_code == 403
    assert admin_client_for(staff_with("view_reports")).get(URL, SPRING).status_code == 403
    assert admin_client_for(staff_with("export_reports")).get(URL, SPRING).status_code == 200
    assert AuditEntry.objects.filter(action=AuditAction.EXPORT).count() == 1


def test_bad_filters_get_400_with_the_message_and_no_audit(db, carol):
    response = admin_client_for(carol).get(URL, {"date_from": "2025-05-01", "date_to": "2025-04-30"})
    assert response.status_code == 400
    assert "date_to: The end date (30 April 2025) is before the start date (1 May 2025)" in response.content.decode()
    assert not AuditEntry.objects.filter(action=AuditAction.EXPORT).exists()
