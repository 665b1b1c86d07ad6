import pytest

from backend.dispatch.actions import close_incident, dispatch_incident, respond_to_alert
from backend.dispatch.models import Alert, IncidentStatus
from backend.errors import Conflict, NotAllowed


def test_it_clears_those_on_scene_and_stands_down_the_rest(incident, carol, alice, bob):
    alerts = {a.responder.user.username: a for a in dispatch_incident(actor=carol, incident_id=incident.pk)}
    for response in ["accept", "on_scene"]:
        respond_to_alert(actor=alice.user, alert_id=alerts["alice"].pk, response=response)

    close_incident(actor=carol, incident_id=incident.pk)

    incident.refresh_from_db()
    assert incident.status == IncidentStatus.CLOSED and incident.closed_at is not None
    assert {a.responder.user.username: a.state for a in Alert.objects.all()} == {
        "alice": "cleared",
        "bob": "stood_down",
    }


def test_a_closed_incident_cannot_be_closed_again_or_by_a_firefighter(incident, carol, alice):
    with pytest.raises(NotAllowed):
        close_incident(actor=alice.user, incident_id=incident.pk)
    close_incident(actor=carol, incident_id=incident.pk)
    with pytest.raises(Conflict):
        close_incident(actor=carol, incident_id=incident.pk)
