"""The audit trail in the admin is found by what a coordinator has in hand: an incident's CAD
reference (the trail keeps incidents by our id only), in any case, as references are unique."""

from django.urls import reverse

from backend.dispatch.actions import create_incident, dispatch_incident
from tests.conftest import NORWICH_INCIDENT, admin_client_for


def test_the_audit_trail_is_found_by_the_incidents_cad_reference_in_any_case(carol, alice):
    incident = create_incident(
        actor=carol,
        cad_reference="EEAST-7788",
        latitude=NORWICH_INCIDENT[0],
        longitude=NORWICH_INCIDENT[1],
        address="3 Elm Hill",
    )
    other = create_incident(
        actor=carol,
        cad_reference="EEAST-9999",
        latitude=NORWICH_INCIDENT[0],
        longitude=NORWICH_INCIDENT[1],
        address="x",
    )
    dispatch_incident(actor=carol, incident_id=incident.pk)
    client = admin_client_for(carol)

    found = client.get(reverse("admin:audit_auditentry_changelist"), {"q": "eeast-7788"}).context["cl"].result_list
    assert {entry.incident_id for entry in found} == {incident.pk}
    assert {entry.object_type for entry in found} >= {"incident", "alert"}
    assert other.pk not in {entry.incident_id for entry in found}
