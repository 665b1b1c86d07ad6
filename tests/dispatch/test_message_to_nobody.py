"""Trial 12: a message to an incident not yet dispatched, with nobody alerted, read "Message sent."
and "Not yet seen (0 of 0)"; after the dispatch the crews alerted read it and the boards said "Seen
by 1 of 0: Sam Barker". A message that would reach nobody is now refused, saying why (the
coordinator learns at once that nobody was told; what a crew needs before dispatch goes in the
incident's notes, which the alert carries), so no count is ever "of 0"."""

import pytest

from backend.audit.models import AuditEntry
from backend.delivery.models import Delivery
from backend.dispatch.actions import dispatch_incident, respond_to_alert, stand_down
from backend.dispatch.messages import send_crew_message
from backend.dispatch.models import CrewMessage
from backend.errors import Conflict
from backend.realtime.models import ResponderEvent
from tests.api.helpers import assert_error
from tests.conftest import client_for


def test_a_message_to_an_incident_with_nobody_alerted_is_refused_saying_dispatch_first(carol, incident):
    response = client_for(carol).post(
        f"/api/v1/incidents/{incident.pk}/messages/", {"text": "Access by the rear door"}, format="json"
    )

    error = assert_error(response, 409, "conflict")
    assert error["message"] == f"Nobody is alerted to {incident.cad_reference} yet: dispatch first."
    assert not CrewMessage.objects.exists()
    assert not ResponderEvent.objects.exists() and not Delivery.objects.exists()
    assert not AuditEntry.objects.filter(object_type="crew_message").exists()


def test_once_dispatched_the_message_goes_to_those_alerted_and_counts_them(carol, incident, alice, bob):
    dispatch_incident(actor=carol, incident_id=incident.pk)
    message = send_crew_message(actor=carol, incident_id=incident.pk, text="Access by the rear door")
    assert message.recipient_count == 2


def test_a_message_when_everyone_alerted_has_left_is_refused_too(carol, incident, alice, bob):
    alerts = {a.responder.user.username: a for a in dispatch_incident(actor=carol, incident_id=incident.pk)}
    respond_to_alert(
        actor=alerts["alice"].responder.user, alert_id=alerts["alice"].pk, response="decline", reason="unavailable"
    )
    stand_down(actor=carol, incident_id=incident.pk, alert_ids=[alerts["bob"].pk])

    with pytest.raises(Conflict) as refused:
        send_crew_message(actor=carol, incident_id=incident.pk, text="Ambulance on scene")
    assert refused.value.message == (
        f"Nobody alerted to {incident.cad_reference} is still part of it (each declined, was stood down or has "
        "cleared): alert someone first."
    )
    assert not CrewMessage.objects.exists()
