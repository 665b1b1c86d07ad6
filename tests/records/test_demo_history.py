"""The demo's first year (issue 16, item 6): 405 medical emergencies attended by firefighters of
nine Norfolk stations from 18 July 2016, the fire crew first in about 40 % of calls; seeded, so
the same figures every time; loading it again writes nothing."""

import datetime
import io

import pytest
from django.core.management import call_command

from backend.dispatch.models import Incident
from backend.records import demo_history
from backend.records.models import Outcome
from backend.records.reports import ReportFilters, build_report

THE_YEAR = ReportFilters(datetime.date(2016, 7, 18), datetime.date(2017, 7, 17))


@pytest.fixture
def demo(db, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("load_demo_data", stdout=io.StringIO())


def figures():
    report = build_report(THE_YEAR)
    total = report.total
    return {
        "attended": total.counts.emergencies_attended,
        "stations": sorted(row.station.code for row in report.by_station if row.counts.emergencies_attended),
        "per_station": {row.station.code: row.counts.emergencies_attended for row in report.by_station},
        "attendances": total.counts.attendances,
        "crew_first": total.crew_first,
        "timed": total.ahead_of_ambulance.count,
        "to_on_scene_median": total.to_on_scene.median,
        "attempted": total.counts.resuscitation_attempted,
        "rosc": total.counts.rosc_at_handover,
    }


def test_the_year_has_the_pilots_totals_and_loads_once(demo):
    out = io.StringIO()
    call_command("load_demo_history", stdout=out)
    assert "405 medical emergencies" in out.getvalue()
    found = figures()
    assert found["attended"] == 405
    assert len(found["stations"]) == 9
    assert {"dereham", "wymondham", "norwich", "thetford"} <= set(found["stations"])
    assert found["timed"] == 405
    assert 0.35 <= found["crew_first"] / found["timed"] <= 0.45
    # Each month of the year has calls: a working scheme, not one bar.
    assert all(row.counts.emergencies_attended for row in build_report(THE_YEAR).by_month)

    again = io.StringIO()
    call_command("load_demo_history", stdout=again)
    assert "already loaded" in again.getvalue()
    assert Incident.objects.filter(cad_reference__startswith="PILOT-").count() == 405
    assert figures() == found


def test_the_year_is_the_same_from_the_same_seed():
    assert demo_history.plan_history() == demo_history.plan_history()
    assert demo_history.plan_history(1) != demo_history.plan_history()


def test_the_generated_outcomes_pass_the_forms_rules(demo):
    """The history is what crews could have submitted: every outcome passes the form's checks."""
    from backend.records import payloads, validation
    from backend.records.models import RecordKind

    demo_history.load_history()
    for outcome in Outcome.objects.select_related("incident").prefetch_related("crew")[:405]:
        values = payloads.field_values(RecordKind.OUTCOME, outcome)
        crew_ids = set(values["crew"])
        validation.check(
            RecordKind.OUTCOME, values, incident=outcome.incident, now=outcome.submitted_at, crew_ids=crew_ids
        )


def test_the_history_needs_the_demo_stations(db):
    with pytest.raises(demo_history.MissingStations):
        demo_history.load_history()
