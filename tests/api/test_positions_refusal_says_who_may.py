"""A refusal to read positions says who may (found by trying the product: the ambulance CAD's
`GET /api/v1/incidents/{id}/positions/` was 403 "Only firefighters with a responder profile can do
this.", though coordinators read them, and no firefighter profile would have been enough either).
docs/positions.md: coordinators (the board's permission) and the incident's own crew going
(accepted, en route, on scene) read them, "nobody else ... not the CAD": the CAD stays refused
(tests/security/test_permission_matrix.py), with the rule in the message, and nothing audited.
The nearest defibrillators, for the board and the crews alerted, had the same wrong message."""

import pytest

from backend.audit.models import AuditEntry
from tests.api.helpers import assert_error
from tests.conftest import client_for, token_client_for

pytestmark = pytest.mark.django_db

POSITIONS_RULE = (
    "Only coordinators and the incident's own crew (accepted, en route or on scene) can see responders' positions."
)
DEFIBRILLATORS_RULE = "Only coordinators and the firefighters alerted to this incident can see this."


def test_the_cad_is_refused_positions_with_the_rule_not_a_firefighters_profile(incident, cad):
    response = token_client_for(cad).get(f"/api/v1/incidents/{incident.pk}/positions/")

    error = assert_error(response, 403, "permission_denied")
    assert error["message"] == POSITIONS_RULE
    assert "responder profile" not in response.content.decode()
    assert not AuditEntry.objects.filter(object_type="positions").exists()


def test_a_user_without_a_role_is_told_the_same(incident, nobody):
    response = client_for(nobody).get(f"/api/v1/incidents/{incident.pk}/positions/")

    assert assert_error(response, 403, "permission_denied")["message"] == POSITIONS_RULE


def test_a_firefighter_not_going_still_finds_no_such_incident(incident, carol, alice):
    """Unchanged: to a firefighter, an incident they are not going to does not exist (404)."""
    response = client_for(alice.user).get(f"/api/v1/incidents/{incident.pk}/positions/")

    assert_error(response, 404)


def test_the_cad_is_refused_the_nearest_defibrillators_with_the_rule(incident, cad):
    response = token_client_for(cad).get(f"/api/v1/incidents/{incident.pk}/defibrillators/")

    assert assert_error(response, 403, "permission_denied")["message"] == DEFIBRILLATORS_RULE
