"""A stand-down says who did it (found by trying the product: the ambulance CAD's stand-down,
`POST /api/v1/incidents/{id}/stand-down/ {}`, was recorded as a coordinator's, and the phone said
"Stood down by a coordinator" when no coordinator had touched it). The CAD's token user is in the
Dispatch systems group: its stand-down is the ambulance control room's (`control_room`), on the
alert, in what the phone and the board are told, and in the 409 a late answer gets."""

import pytest

from backend.dispatch.actions import dispatch_incident
from backend.dispatch.models import Alert, StandDownReason
from backend.realtime.events import stored_envelope
from backend.realtime.models import ResponderEvent
from tests.api.helpers import assert_error, assert_matches
from tests.conftest import client_for, token_client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def alerts(incident, carol, alice, bob):
    return {a.responder.user.username: a for a in dispatch_incident(actor=carol, incident_id=incident.pk)}


def reasons():
    return {a.responder.user.username: a.stood_down_reason for a in Alert.objects.select_related("responder__user")}


def test_the_cads_stand_down_is_the_control_rooms_not_a_coordinators(alerts, incident, cad):
    response = token_client_for(cad).post(f"/api/v1/incidents/{incident.pk}/stand-down/", {}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()

    assert reasons() == {"alice": "control_room", "bob": "control_room"}
    assert {alert["stood_down_reason"] for alert in body["alerts"]} == {"control_room"}
    assert_matches("incident_detail", body)  # the documented reasons include it
    assert StandDownReason("control_room").label == "Stood down by the ambulance control room"


def test_the_phone_is_told_the_control_room_stood_it_down(alerts, incident, cad):
    token_client_for(cad).post(
        f"/api/v1/incidents/{incident.pk}/stand-down/", {"alert_ids": [alerts["alice"].pk]}, format="json"
    )

    [event] = ResponderEvent.objects.filter(type="alert.updated", responder__user__username="alice")
    assert event.data["alert"]["stood_down_reason"] == "control_room"
    assert_matches("event.alert.updated", stored_envelope(event))


def test_a_coordinators_stand_down_still_says_a_coordinator(alerts, incident, carol):
    response = client_for(carol).post(f"/api/v1/incidents/{incident.pk}/stand-down/", {}, format="json")
    assert response.status_code == 200, response.content

    assert reasons() == {"alice": "coordinator", "bob": "coordinator"}


def test_an_answer_after_the_cads_stand_down_is_refused_saying_who(alerts, incident, cad, alice):
    token_client_for(cad).post(f"/api/v1/incidents/{incident.pk}/stand-down/", {}, format="json")

    response = client_for(alice.user).post(
        f"/api/v1/alerts/{alerts['alice'].pk}/respond/", {"response": "accept"}, format="json"
    )

    error = assert_error(response, 409)
    assert error["message"] == "You cannot accept this alert: it was stood down (by the ambulance control room)."
