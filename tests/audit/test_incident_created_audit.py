"""Every incident created is in the audit trail, by every path: who created it, from where, and
which incident (found by trying the product: an incident the CAD created without dispatching it,
or a coordinator created on the board with "Dispatch at once" unticked, left no entry at all, and
one created and dispatched showed only its alerts). The entry is written with the incident's own
insert: on PostgreSQL in the same statement, so the CAD's create-and-dispatch call (issue 17)
costs no statement more there. No free text: the address and notes stay on the incident."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from backend.audit.models import AuditAction, AuditEntry
from backend.dispatch import actions
from backend.dispatch.models import Incident
from backend.errors import Conflict
from tests.conftest import NORWICH_INCIDENT, admin_client_for, client_for, token_client_for

pytestmark = pytest.mark.django_db

NEW = {
    "cad_reference": "CAD-T1-001",
    "latitude": NORWICH_INCIDENT[0],
    "longitude": NORWICH_INCIDENT[1],
    "address": "3 Elm Hill, Norwich",
    "notes": "Side door, ring twice",
}


def creation_entries(incident_id):
    return list(AuditEntry.objects.filter(action=AuditAction.CREATE, object_type="incident", incident_id=incident_id))


def assert_one_creation_entry(incident_id, actor, *, role, channel):
    [entry] = creation_entries(incident_id)
    assert (entry.object_type, entry.object_id, entry.incident_id) == ("incident", str(incident_id), incident_id)
    assert (entry.actor_id, entry.actor_username, entry.role) == (actor.pk, actor.username, role)
    assert entry.channel == channel
    assert entry.detail == {}  # no free text: no address, no notes, no reference
    assert entry.get_action_display() == "Created"
    return entry


def test_the_cad_creating_an_incident_without_dispatching_it_is_audited(cad):
    response = token_client_for(cad).post("/api/v1/incidents/", NEW, format="json")
    assert response.status_code == 201, response.content

    assert_one_creation_entry(response.json()["id"], cad, role="dispatch_system", channel="api")


def test_a_coordinator_creating_an_incident_on_the_board_without_dispatching_it_is_audited(carol):
    # The board's "New incident" with "Dispatch at once" unticked (wall.js): the API with dispatch false.
    response = client_for(carol).post("/api/v1/incidents/", {**NEW, "dispatch": False}, format="json")
    assert response.status_code == 201, response.content

    assert_one_creation_entry(response.json()["id"], carol, role="coordinator", channel="api")


def test_the_cads_create_and_dispatch_call_audits_the_incident_beside_its_alerts(cad, alice, bob):
    response = token_client_for(cad).post("/api/v1/incidents/", {**NEW, "dispatch": True}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()

    assert_one_creation_entry(body["id"], cad, role="dispatch_system", channel="api")
    alert_entries = AuditEntry.objects.filter(incident_id=body["id"], object_type="alert")
    assert sorted(entry.object_id for entry in alert_entries) == sorted(str(alert["id"]) for alert in body["alerts"])


def test_an_incident_added_in_the_admin_is_audited(carol):
    form = {
        "cad_reference": "CAD-T1-002",
        "category": "cardiac_arrest",
        "latitude": "52.631",
        "longitude": "1.296",
        "address": "1 Tombland, Norwich",
        "what3words": "",
        "notes": "",
        "crew_target": "2",
    }
    response = admin_client_for(carol).post(reverse("admin:dispatch_incident_add"), form)
    assert response.status_code == 302, response.content

    incident = Incident.objects.get(cad_reference="CAD-T1-002")
    assert_one_creation_entry(incident.pk, carol, role="coordinator", channel="admin")


def test_the_action_audits_whoever_calls_it(carol):
    incident = actions.create_incident(actor=carol, **NEW)

    assert_one_creation_entry(incident.pk, carol, role="coordinator", channel="system")


def test_a_refused_duplicate_leaves_no_creation_entry(carol, cad):
    first = actions.create_incident(actor=carol, **NEW)
    with pytest.raises(Conflict):
        actions.create_incident(actor=carol, **NEW)
    response = token_client_for(cad).post("/api/v1/incidents/", {**NEW, "dispatch": True}, format="json")
    assert response.status_code == 409, response.content

    assert AuditEntry.objects.filter(action=AuditAction.CREATE, object_type="incident").count() == 1
    assert len(creation_entries(first.pk)) == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has no INSERT inside WITH")
@pytest.mark.parametrize("dispatch", [False, True])
def test_on_postgresql_the_entry_goes_in_with_the_incident(cad, alice, dispatch):
    client = token_client_for(cad)
    with CaptureQueriesContext(connection) as queries:
        response = client.post("/api/v1/incidents/", {**NEW, "dispatch": dispatch}, format="json")
    assert response.status_code == 201, response.content

    writing_incidents = [q["sql"] for q in queries.captured_queries if 'INSERT INTO "dispatch_incident"' in q["sql"]]
    assert len(writing_incidents) == 1
    assert writing_incidents[0].startswith('WITH "new_rows" AS (INSERT INTO "dispatch_incident"')
    assert 'INSERT INTO "audit_auditentry"' in writing_incidents[0]
    assert_one_creation_entry(response.json()["id"], cad, role="dispatch_system", channel="api")
