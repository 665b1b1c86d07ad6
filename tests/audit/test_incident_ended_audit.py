"""Who cancelled or closed an incident is in the audit trail, whoever was alerted to it (found by
trying the product: cancelling an incident that had alerted nobody left no trace of who did it;
only the alerts' state changes were audited), and the entry says how it ended: "Cancelled" or
"Closed", not "Changed" (found by trying the product: a coordinator read "Changed" for a
cancellation)."""

import pytest

from backend.audit.models import AuditAction, AuditEntry
from backend.dispatch import actions
from backend.errors import Conflict
from tests.conftest import client_for, token_client_for

pytestmark = pytest.mark.django_db


def entries_about(incident):
    """How it ended: the incident's entries but the one for its creation
    (tests/audit/test_incident_created_audit.py)."""
    entries = AuditEntry.objects.filter(object_type="incident", incident_id=incident.pk)
    return list(entries.exclude(action=AuditAction.CREATE))


def test_cancelling_an_incident_nobody_was_alerted_to_is_audited_with_who_and_where(incident, carol):
    response = client_for(carol).post(
        f"/api/v1/incidents/{incident.pk}/cancel/", {"reason": "Ambulance on scene"}, format="json"
    )
    assert response.status_code == 200, response.content

    [entry] = entries_about(incident)
    assert (entry.actor_id, entry.action, entry.object_id) == (carol.pk, AuditAction.CANCEL, str(incident.pk))
    assert entry.get_action_display() == "Cancelled"  # what the audit trail in the admin shows
    assert entry.detail == {"status": "cancelled"}  # the reason is free text: kept on the incident only
    assert entry.channel == "api"


def test_closing_an_incident_is_audited_once_beside_its_alerts_changes(incident, carol, alice):
    actions.dispatch_incident(actor=carol, incident_id=incident.pk)
    actions.close_incident(actor=carol, incident_id=incident.pk)

    [entry] = entries_about(incident)
    assert (entry.actor_id, entry.action, entry.detail) == (carol.pk, AuditAction.CLOSE, {"status": "closed"})
    assert entry.get_action_display() == "Closed"
    assert AuditEntry.objects.filter(object_type="alert", incident_id=incident.pk).exists()


def test_the_cad_closing_an_incident_reads_closed_as_the_dispatch_system(incident, cad):
    response = token_client_for(cad).post(f"/api/v1/incidents/{incident.pk}/close/", format="json")
    assert response.status_code == 200, response.content

    [entry] = entries_about(incident)
    assert (entry.actor_id, entry.role, entry.action) == (cad.pk, "dispatch_system", AuditAction.CLOSE)


def test_a_refused_cancel_leaves_no_entry(incident, carol):
    actions.cancel_incident(actor=carol, incident_id=incident.pk, reason="Hoax")
    with pytest.raises(Conflict):
        actions.cancel_incident(actor=carol, incident_id=incident.pk, reason="Again")
    assert len(entries_about(incident)) == 1
