"""The reports page lists the crews' outcome forms owed and not filed, naming who owes each
(access.outcomes_owed_for_coordinator, following access.outcome_duty).

Found by a trial: nothing told coordinators which outcome forms were owed, and the outcome figures
and the registry count only incidents with an outcome form, so a form nobody filed silently
dropped its incident out of them."""

import datetime
import re

import pytest

from backend.audit.models import AuditEntry
from backend.dispatch.actions import close_incident
from backend.dispatch.models import Alert
from backend.records import access
from backend.records.models import RecordKind
from tests.conftest import admin_client_for
from tests.records.conftest import ago, submit, valid_outcome
from tests.records.reports_fixtures import local, make_alert, make_incident

URL = "/admin/reports/"


def owed_table(user) -> str:
    page = admin_client_for(user).get(URL).content.decode()
    match = re.search(r'<table id="table-outcomes-owed">.*?</table>', page, re.S)
    assert match, "no table of outcome forms owed"
    return match.group(0)


def owed_counts() -> list[int]:
    return [entry.detail["count"] for entry in AuditEntry.objects.filter(object_type="outcomes_owed").order_by("id")]


def test_an_outcome_owed_is_listed_with_who_owes_it_until_it_is_filed(incident, alice_alert, erin_alert, carol):
    # Alice got there; Erin, the crew lead, accepted and never did: the form is Alice's.
    Alert.objects.filter(pk=alice_alert.pk).update(on_scene_at=ago(minutes=30))
    assert incident.cad_reference not in owed_table(carol)  # still open: the crew may be on scene

    close_incident(actor=carol, incident_id=incident.pk)
    table = owed_table(carol)
    assert incident.cad_reference in table
    assert "<td>Norwich</td>" in table and "<td>Alice</td>" in table and "Erin" not in table
    assert "Outcome forms owed, not filed: 1" in table
    assert "Example Road" not in table  # the incident's address: no patient details

    submit(alice_alert, RecordKind.OUTCOME, **valid_outcome())
    table = owed_table(carol)
    assert incident.cad_reference not in table and "None." in table
    # Each showing is audited with the report's filters and how many were listed.
    assert owed_counts() == [0, 1, 0]


def test_a_crew_nobody_of_which_attended_owes_nothing(incident, alice_alert, carol):
    close_incident(actor=carol, incident_id=incident.pk)
    assert incident.cad_reference not in owed_table(carol)


def test_staff_without_the_reports_permission_do_not_see_it(incident, alice_alert, carol, wendy):
    Alert.objects.filter(pk=alice_alert.pk).update(on_scene_at=ago(minutes=30))
    close_incident(actor=carol, incident_id=incident.pk)
    response = admin_client_for(wendy).get(URL)
    assert response.status_code == 403
    assert incident.cad_reference not in response.content.decode()
    assert owed_counts() == []


@pytest.mark.parametrize("count", [5, 40])
def test_the_number_of_queries_does_not_grow_with_the_incidents(
    count, stations, alice, charlie, dave, carol, django_assert_max_num_queries
):
    responders = [alice, charlie, dave]
    start = local(2025, 1, 1, 12, 0)
    for index in range(count):
        incident = make_incident(start + datetime.timedelta(hours=index), carol)
        make_alert(incident, responders[index % 3], accepted=60, on_scene=400)
    carol.has_perm(access.REPORTS_PERMISSION)  # the permissions, read once per request
    # One query for 5 incidents and for 40: every accepted alert of the crews without an outcome
    # form, with their incident, station, people and attendance forms.
    with django_assert_max_num_queries(1):
        owed = access.outcomes_owed_for_coordinator(
            carol, since=start, until=start + datetime.timedelta(days=31), station=None
        )
        assert {item.owed_by[0] for item in owed} == {"Alice", "Charlie", "Dave"}
    assert len(owed) == count
