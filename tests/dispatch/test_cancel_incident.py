import pytest

from backend.dispatch.actions import cancel_incident, dispatch_incident, respond_to_alert
from backend.dispatch.models import Alert, Incident, IncidentStatus
from backend.errors import Conflict, InvalidInput, NotAllowed
from backend.realtime.models import ResponderEvent


@pytest.fixture
def alerts(incident, carol, alice, bob):
    return {a.responder.user.username: a for a in dispatch_incident(actor=carol, incident_id=incident.pk)}


def test_it_cancels_the_incident_and_every_active_alert(alerts, carol, incident):
    respond_to_alert(
        actor=alerts["bob"].responder.user, alert_id=alerts["bob"].pk, response="decline", reason="unavailable"
    )
    cancel_incident(actor=carol, incident_id=incident.pk, reason="Not a cardiac arrest")

    incident.refresh_from_db()
    assert (incident.status, incident.cancel_reason) == (IncidentStatus.CANCELLED, "Not a cardiac arrest")
    assert incident.cancelled_at is not None
    assert {a.responder.user.username: a.state for a in Alert.objects.all()} == {
        "alice": "cancelled",
        "bob": "declined",  # their answer is kept; they are still told the incident is cancelled
    }


def test_everyone_alerted_hears_that_it_is_cancelled(alerts, carol, incident):
    cancel_incident(actor=carol, incident_id=incident.pk, reason="Hoax call")
    last_crew_updates = ResponderEvent.objects.filter(type="incident.updated").order_by("-id")[:2]
    assert {e.responder.user.username for e in last_crew_updates} == {"alice", "bob"}
    assert all(e.data["incident"]["status"] == "cancelled" for e in last_crew_updates)
    assert all(e.data["incident"]["cancel_reason"] == "Hoax call" for e in last_crew_updates)


def test_a_reason_is_required(incident, carol):
    with pytest.raises(InvalidInput) as error:
        cancel_incident(actor=carol, incident_id=incident.pk, reason="  ")
    assert "reason" in error.value.fields
    assert Incident.objects.get(pk=incident.pk).status == IncidentStatus.OPEN


def test_it_cannot_be_cancelled_twice(incident, carol):
    cancel_incident(actor=carol, incident_id=incident.pk, reason="Hoax")
    with pytest.raises(Conflict) as error:
        cancel_incident(actor=carol, incident_id=incident.pk, reason="Again")
    assert error.value.message.startswith("EEAST-0001 was cancelled at ")
    assert error.value.message.endswith(" by carol: it cannot be cancelled again.")


def test_a_cancelled_incident_cannot_be_dispatched(incident, carol, alice):
    cancel_incident(actor=carol, incident_id=incident.pk, reason="Hoax")
    with pytest.raises(Conflict):
        dispatch_incident(actor=carol, incident_id=incident.pk)
    assert not Alert.objects.exists()


def test_a_firefighter_cannot_cancel(incident, alice):
    with pytest.raises(NotAllowed):
        cancel_incident(actor=alice.user, incident_id=incident.pk, reason="Hoax")
