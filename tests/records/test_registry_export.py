"""The registry and template exports (issue 16, item 4): a known small data set gives known rows,
known Utstein figures (the comparator group included) and known alerting-system figures; the
command and the admin's downloads give the same; no patient identifier is written; every
download is audited; only those allowed may download."""

import csv
import datetime
import io

import pytest
from django.core.management import call_command

from backend.audit.models import AuditAction, AuditEntry
from backend.dispatch.models import AlertState
from backend.records import registry
from backend.records.models import CadTimes
from tests.conftest import admin_client_for
from tests.records.reports_fixtures import local, make_alert, make_attendance, make_incident, make_outcome
from tests.records.test_report_admin import staff_with

MARCH = {"date_from": "2025-03-01", "date_to": "2025-03-31"}
PERIOD = registry.Period(datetime.date(2025, 3, 1), datetime.date(2025, 3, 31))
UTC = datetime.UTC


@pytest.fixture
def known(stations, alice, bob, charlie, dave, carol):
    """March 2025 (GMT: local time is UTC).

    A  3 Mar 10:00  alice (acc 60, on scene 480 after the alert at 10:00:30), bob declined. Norwich:
                    bystander-witnessed, bystander CPR, shock advised, 1 shock, ROSC at handover;
                    crew 10:08:30, ambulance on the form 10:15; the CAD: call 09:58:30, ambulance 10:14.
    B  10 Mar 12:00 charlie (acc 30, on scene 720). Yarmouth: not witnessed, no shock advised, no
                    ROSC; crew 12:12:30, ambulance 12:09 (the form; no CAD times).
    C  12 Mar 08:00 alice (acc 40, on scene 300). Norwich: not attempted (DNACPR), no ambulance time.
    D  15 Mar 09:00 dave alerted, never answered: an alert, not a case.
    E  1 Apr        a Norwich case after the period.
    """
    norwich, yarmouth = stations["norwich"], stations["yarmouth"]
    a = make_incident(local(2025, 3, 3, 10, 0), carol, cad_reference="EEAST-A")
    make_attendance(make_alert(a, alice, after=30, accepted=60, on_scene=480))
    make_alert(a, bob, after=30, state=AlertState.DECLINED)
    make_outcome(
        a,
        norwich,
        submitted_by=alice.user,
        crew=[alice],
        witnessed="bystander",
        bystander_cpr="yes",
        first_rhythm="shock_advised",
        defibrillator_applied=True,
        crew_shocks=1,
        rosc_any_time=True,
        rosc_at_handover=True,
        age_band="55_74",
        sex="female",
        presumed_cause="medical",
        crew_arrived_at=local(2025, 3, 3, 10, 8, 30),
        ambulance_arrived_at=local(2025, 3, 3, 10, 15),
        notes="Mrs Smith, 12 Example Road",  # free text: never exported
    )
    CadTimes.objects.create(
        incident=a,
        call_received_at=local(2025, 3, 3, 9, 58, 30),
        ambulance_at_scene_at=local(2025, 3, 3, 10, 14),
        updated_at=local(2025, 3, 3, 11, 0),
    )
    b = make_incident(local(2025, 3, 10, 12, 0), carol, cad_reference="EEAST-B")
    make_attendance(make_alert(b, charlie, after=30, accepted=30, on_scene=720))
    make_outcome(
        b,
        yarmouth,
        witnessed="not_witnessed",
        first_rhythm="no_shock_advised",
        crew_arrived_at=local(2025, 3, 10, 12, 12, 30),
        ambulance_arrived_at=local(2025, 3, 10, 12, 9),
    )
    c = make_incident(local(2025, 3, 12, 8, 0), carol, cad_reference="EEAST-C")
    make_attendance(make_alert(c, alice, after=30, accepted=40, on_scene=300))
    make_outcome(c, norwich, resuscitation_attempted=False, not_attempted_reason="dnacpr", witnessed="")
    d = make_incident(local(2025, 3, 15, 9, 0), carol, cad_reference="EEAST-D")
    make_alert(d, dave, after=30)
    e = make_incident(local(2025, 4, 1, 9, 0), carol, cad_reference="EEAST-E")
    make_outcome(e, norwich)


def rows_of(text: str) -> list[dict]:
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:])))


def test_one_row_per_case_keyed_by_the_cad_reference(known):
    rows = rows_of(registry.export_csv("cases", PERIOD))
    assert [row["incident_reference"] for row in rows] == ["EEAST-A", "EEAST-B", "EEAST-C"]
    a, b, c = rows
    assert a["call_received_time"] == "2025-03-03T09:58:30Z"
    assert a["fire_alerted_time"] == "2025-03-03T10:00:30Z"
    assert a["fire_on_scene_time"] == "2025-03-03T10:08:30Z"
    # The ambulance service's own time, where its CAD sent one, over the crew's.
    assert (a["ems_on_scene_time"], a["ems_on_scene_source"]) == ("2025-03-03T10:14:00Z", "cad")
    assert (b["ems_on_scene_time"], b["ems_on_scene_source"]) == ("2025-03-10T12:09:00Z", "crew")
    assert (a["initial_rhythm"], b["initial_rhythm"], c["initial_rhythm"]) == ("shockable", "non_shockable", "unknown")
    assert (a["rosc_at_handover"], b["rosc_at_handover"]) == ("yes", "no")
    assert (c["resuscitation_attempted"], c["resuscitation_not_attempted_reason"]) == ("no", "dnacpr")
    assert (a["age_band"], a["sex"], a["presumed_aetiology"], a["witnessed"]) == (
        "55_74",
        "female",
        "medical",
        "bystander",
    )
    assert a["fire_shocks"] == "1" and a["responding_fire_stations"] == "Norwich"
    # What the registry holds but the scheme does not know: there, empty.
    for name in ("age_years", "survival_to_hospital_discharge", "survival_30_days", "neurological_outcome"):
        assert a[name] == ""


def test_no_patient_identifier_or_free_text_is_exported(known):
    text = registry.export_csv("cases", PERIOD)
    header = rows_of(text)[0].keys()
    for forbidden in ("name", "date_of_birth", "nhs_number", "address", "postcode", "latitude", "longitude", "notes"):
        assert not any(forbidden in heading for heading in header), forbidden
    assert "Smith" not in text and "Example Road" not in text


def test_the_utstein_figures_by_group(known):
    figures = registry.utstein_figures(registry.cases(PERIOD))
    assert (figures.considered, figures.not_attempted) == (3, 1)
    rows = {row.group: row.counts for row in figures.rows}
    assert rows["All cases with resuscitation attempted"] == {
        "Cases": 2,
        "Witnessed (by anyone)": 1,
        "Bystander CPR": 1,
        "Shockable first rhythm": 1,
        "ROSC at any time": 1,
        "ROSC at handover": 1,
        "ROSC at any time not known": 0,
        "ROSC at handover not known": 0,
    }
    comparator = rows["Comparator group: bystander-witnessed, shockable first rhythm"]
    assert (comparator["Cases"], comparator["ROSC at handover"]) == (1, 1)
    assert rows["Not witnessed"]["Cases"] == 1 and rows["Not witnessed"]["ROSC at any time"] == 0
    utstein = rows_of(registry.export_csv("utstein", PERIOD))
    assert utstein[2]["Group"] == "Comparator group: bystander-witnessed, shockable first rhythm"
    assert utstein[2]["ROSC at handover (%)"] == "100.0"
    assert utstein[0]["ROSC at handover (%)"] == "50.0"


HANDOVER_COLUMNS = ("rosc_any_time", "rosc_at_handover", "ongoing_cpr_at_handover", "resuscitation_stopped")


def test_a_question_no_crew_answered_is_written_empty_not_no(known, stations, carol):
    """The tester's case: only "ROSC at any time" answered (yes); the other three were written "no"."""
    norwich, yarmouth = stations["norwich"], stations["yarmouth"]
    f = make_incident(local(2025, 3, 20, 9, 0), carol, cad_reference="EEAST-F")
    make_outcome(f, norwich, rosc_any_time=True, rosc_at_handover=None, ongoing_cpr_at_handover=None)
    make_outcome(f, yarmouth, rosc_any_time=None, rosc_at_handover=None, resuscitation_stopped=None)
    rows = {row["incident_reference"]: row for row in rows_of(registry.export_csv("cases", PERIOD))}
    # Yes if either crew says yes; no if either says no and neither yes; empty if neither answered.
    assert [rows["EEAST-F"][name] for name in HANDOVER_COLUMNS] == ["yes", "", "no", "no"]
    # Answered no by the crew (and every record made before unanswered could be kept): still "no".
    assert [rows["EEAST-B"][name] for name in HANDOVER_COLUMNS] == ["no", "no", "no", "no"]


def test_whether_the_collapse_time_is_an_estimate_is_written_empty_when_not_known(known, stations, carol):
    """It was written "no" when the crew had not said (and stays empty without a collapse time)."""
    answers = {"EEAST-F": None, "EEAST-G": False, "EEAST-H": True}
    for day, (reference, estimated) in enumerate(answers.items(), start=20):
        incident = make_incident(local(2025, 3, day, 9, 0), carol, cad_reference=reference)
        collapse = local(2025, 3, day, 8, 55)
        make_outcome(incident, stations["norwich"], collapse_at=collapse, collapse_time_estimated=estimated)
    rows = {row["incident_reference"]: row for row in rows_of(registry.export_csv("cases", PERIOD))}
    assert [rows[reference]["collapse_time_estimated"] for reference in answers] == ["", "no", "yes"]
    assert rows["EEAST-B"]["collapse_time_estimated"] == ""  # no collapse time


def test_the_utstein_percentages_leave_out_the_cases_not_known(known, stations, carol):
    f = make_incident(local(2025, 3, 20, 9, 0), carol, cad_reference="EEAST-F")
    make_outcome(f, stations["norwich"], rosc_any_time=None, rosc_at_handover=None)
    rows = {row.group: row for row in registry.utstein_figures(registry.cases(PERIOD)).rows}
    everyone = rows["All cases with resuscitation attempted"]
    # A, B and F attempted; ROSC at handover: A yes, B no, F not known. 1 of the 2 known, not 1 of 3.
    assert (everyone.counts["Cases"], everyone.counts["ROSC at handover"]) == (3, 1)
    assert everyone.counts["ROSC at handover not known"] == 1
    assert everyone.percent("ROSC at handover") == 50.0
    assert everyone.percent("ROSC at handover not known") == pytest.approx(100 / 3)
    utstein = {row["Group"]: row for row in rows_of(registry.export_csv("utstein", PERIOD))}
    assert utstein["All cases with resuscitation attempted"]["ROSC at handover (%)"] == "50.0"
    assert utstein["All cases with resuscitation attempted"]["ROSC at handover not known (count)"] == "1"


def test_the_alerting_system_figures(known):
    figures = registry.alerting_figures(PERIOD, registry.cases(PERIOD))
    assert (figures.alerts_sent, figures.alerts_accepted) == (5, 3)
    assert figures.acceptance_percent == 60.0
    assert figures.to_acceptance_median_s == 40.0  # 60, 30, 40
    assert figures.to_arrival_median_s == 480.0  # 480, 720, 300
    # A: fire 10:08:30, ambulance (CAD) 10:14:00, 330 s ahead; B: 210 s after; C: not timed.
    assert (figures.incidents_timed_against_ambulance, figures.incidents_responder_first) == (2, 1)
    assert figures.responder_first_percent == 50.0
    assert figures.fire_ahead_when_first_median_s == 330.0
    assert figures.responders_before_ambulance == 1
    written = {row["Measure"]: row["Value"] for row in rows_of(registry.export_csv("alerting", PERIOD))}
    assert written["Acceptance rate"] == "60.0"
    assert written["Ahead of the ambulance when first, median"] == "330.0"


def test_the_command_writes_the_same_and_is_audited(known):
    out = io.StringIO()
    call_command("export_registry", "--from", "2025-03-01", "--to", "2025-03-31", stdout=out)
    assert out.getvalue() == registry.export_csv("cases", PERIOD)
    entry = AuditEntry.objects.get(object_type="registry")
    assert entry.action == AuditAction.EXPORT
    assert entry.detail == {"date_from": "2025-03-01", "date_to": "2025-03-31", "station_id": None, "kind": "cases"}
    out = io.StringIO()
    call_command("export_registry", "--from", "2025-03-01", "--to", "2025-03-31", "--kind", "utstein", stdout=out)
    assert out.getvalue().startswith("\ufeffGroup,")


def test_the_admin_downloads_are_audited_and_need_the_permission(known, carol):
    client = admin_client_for(carol)
    for kind in registry.KINDS:
        response = client.get(f"/admin/reports/registry/{kind}.csv", MARCH)
        assert response.status_code == 200, response.content
        assert response.content.decode("utf-8") == registry.export_csv(kind, PERIOD)
        assert f"coresponder-{kind}-2025-03-01-to-2025-03-31.csv" in response["Content-Disposition"]
    kinds = sorted(entry.detail["kind"] for entry in AuditEntry.objects.filter(object_type="registry", actor=carol))
    assert kinds == sorted(registry.KINDS)

    only_reports = staff_with("view_reports", "export_reports")
    assert admin_client_for(only_reports).get("/admin/reports/registry/cases.csv", MARCH).status_code == 403
    assert client.get("/admin/reports/registry/everything.csv", MARCH).status_code == 404
    assert client.get("/admin/reports/registry/cases.csv", {"date_from": "March"}).status_code == 400


def test_the_reports_page_shows_the_template_and_the_alerting_figures(known, carol):
    page = admin_client_for(carol).get("/admin/reports/", MARCH).content.decode()
    assert "Utstein template figures by group" in page
    assert "Comparator group: bystander-witnessed, shockable first rhythm" in page
    assert "Alerting-system figures" in page and "60.0 %" in page
    assert "/admin/reports/registry/cases.csv?" in page
