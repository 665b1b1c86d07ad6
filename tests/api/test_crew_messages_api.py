"""/api/v1/incidents/{id}/messages/ and /api/v1/messages/{id}/acknowledge/ (issue 15's contract)."""

import pytest
from rest_framework.test import APIClient

from backend.dispatch.actions import close_incident, dispatch_incident
from backend.dispatch.models import CrewMessage
from tests.api.helpers import assert_error, assert_matches
from tests.conftest import client_for, pass_second_factor, token_client_for


@pytest.fixture
def alerts(incident, carol, alice, bob):
    return {a.responder.user.username: a for a in dispatch_incident(actor=carol, incident_id=incident.pk)}


def url(incident) -> str:
    return f"/api/v1/incidents/{incident.pk}/messages/"


def send(user, incident, text="Ambulance on scene"):
    return client_for(user).post(url(incident), {"text": text}, format="json")


def test_a_coordinator_sends_a_message(alerts, carol, incident):
    carol.first_name, carol.last_name = "Carol", "Jones"
    carol.save()
    response = send(carol, incident, "  Ambulance on scene  ")
    assert response.status_code == 201, response.content
    body = response.json()
    assert_matches("crew_message", body)
    assert (body["text"], body["author_name"], body["incident_id"]) == (
        "Ambulance on scene",
        "Carol Jones",
        incident.pk,
    )
    assert body["acknowledgements"] == [] and body["recipient_count"] == 2


@pytest.mark.parametrize("body", [{"text": ""}, {"text": "   "}, {"text": "x" * 281}, {}])
def test_a_bad_text_is_400_naming_text(alerts, carol, incident, body):
    response = client_for(carol).post(url(incident), body, format="json")
    assert_error(response, 400, "invalid", field="text")
    assert not CrewMessage.objects.exists()


def test_a_message_identifying_the_patient_is_400_naming_text(alerts, carol, incident):
    response = send(carol, incident, "Patient DOB 01/02/1950, NHS 943 476 5919")
    error = assert_error(response, 400, "invalid", field="text")
    # The board shows the field's message (board.js: sendCrewMessage; wall.js: errorText).
    assert error["fields"]["text"] == [
        "This looks like a patient's NHS number: a message to crews must not identify the patient."
    ]
    assert not CrewMessage.objects.exists()


def test_a_closed_incident_is_409(alerts, carol, incident):
    close_incident(actor=carol, incident_id=incident.pk)
    assert_error(send(carol, incident), 409, "conflict")


def test_an_unknown_incident_is_404(carol):
    assert_error(client_for(carol).post("/api/v1/incidents/999999/messages/", {"text": "Hi"}, format="json"), 404)


@pytest.mark.parametrize("who", ["alice", "cad", "wendy", "nobody"])
def test_only_coordinators_may_send(alerts, incident, request, who):
    user = request.getfixturevalue(who)
    user = getattr(user, "user", user)
    client = token_client_for(user) if who == "cad" else client_for(user)
    assert_error(client.post(url(incident), {"text": "Hi"}, format="json"), 403)
    assert not CrewMessage.objects.exists()


def test_sending_with_a_session_needs_the_csrf_token(alerts, carol, incident):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(carol)
    pass_second_factor(client, carol)
    assert_error(client.post(url(incident), {"text": "Hi"}, format="json"), 403)
    assert not CrewMessage.objects.exists()


def test_coordinators_and_the_alerted_read_the_messages(alerts, carol, incident, charlie):
    send(carol, incident, "First")
    send(carol, incident, "Second")
    for user in (carol, alerts["alice"].responder.user):
        response = client_for(user).get(url(incident))
        assert response.status_code == 200, response.content
        assert_matches("crew_message_list", response.json())
        assert [m["text"] for m in response.json()["messages"]] == ["Second", "First"]
    assert_error(client_for(charlie.user).get(url(incident)), 404, "not_found")


def test_an_alerted_firefighter_acknowledges_idempotently_and_sees_only_their_own(alerts, carol, incident, charlie):
    message_id = send(carol, incident).json()["id"]
    ack_url = f"/api/v1/messages/{message_id}/acknowledge/"
    alice = client_for(alerts["alice"].responder.user)

    first = alice.post(ack_url)
    again = alice.post(ack_url)
    client_for(alerts["bob"].responder.user).post(ack_url)

    assert first.status_code == again.status_code == 200, first.content
    assert_matches("message_acknowledgement", first.json())
    assert first.json() == again.json()
    [seen] = alice.get(url(incident)).json()["messages"]
    assert [a["responder_name"] for a in seen["acknowledgements"]] == ["Alice"]
    [board] = client_for(carol).get(url(incident)).json()["messages"]
    assert sorted(a["responder_name"] for a in board["acknowledgements"]) == ["Alice", "Bob"]
    assert_error(client_for(charlie.user).post(ack_url), 404, "not_found")
    assert_error(client_for(carol).post(ack_url), 403)
    assert_error(alice.post("/api/v1/messages/999999/acknowledge/"), 404)
