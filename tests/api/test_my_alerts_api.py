"""/api/v1/alerts/: a firefighter's own alerts and answers."""

import pytest

from backend.dispatch.actions import cancel_incident, dispatch_incident
from backend.dispatch.models import Alert
from tests.api.helpers import assert_error, assert_matches
from tests.conftest import client_for


@pytest.fixture
def alerts(incident, carol, alice, bob):
    return {a.responder.user.username: a for a in dispatch_incident(actor=carol, incident_id=incident.pk)}


def test_a_firefighter_lists_only_their_own_alerts(alerts, alice):
    body = client_for(alice.user).get("/api/v1/alerts/").json()
    assert_matches("alert_list", body)
    assert [a["id"] for a in body["results"]] == [alerts["alice"].pk]


def test_active_filter_leaves_out_cancelled_incidents(alerts, alice, carol, incident):
    api = client_for(alice.user)
    assert api.get("/api/v1/alerts/?active=true").json()["count"] == 1
    cancel_incident(actor=carol, incident_id=incident.pk, reason="Hoax")
    assert api.get("/api/v1/alerts/?active=true").json()["count"] == 0
    assert api.get("/api/v1/alerts/").json()["count"] == 1


def test_detail_includes_the_incident_and_the_crew(alerts, alice):
    body = client_for(alice.user).get(f"/api/v1/alerts/{alerts['alice'].pk}/").json()
    assert_matches("alert_with_crew", body)
    assert body["incident"]["address"] == "12 Example Road, Norwich"
    assert [m["responder_name"] for m in body["crew"]] == ["Alice", "Bob"]


def test_someone_elses_alert_is_404_with_no_data(alerts, alice):
    error = assert_error(client_for(alice.user).get(f"/api/v1/alerts/{alerts['bob'].pk}/"), 404, "not_found")
    assert "Example Road" not in str(error)


def test_accept_then_decline_with_reason(alerts, alice):
    api = client_for(alice.user)
    url = f"/api/v1/alerts/{alerts['alice'].pk}/respond/"
    body = api.post(url, {"response": "accept"}, format="json").json()
    assert_matches("alert_with_crew", body)
    assert body["state"] == "accepted"
    assert_error(api.post(url, {"response": "decline"}, format="json"), 400, field="reason")
    body = api.post(url, {"response": "decline", "reason": "no_transport"}, format="json").json()
    assert (body["state"], body["decline_reason"]) == ("declined", "no_transport")


def test_a_retried_accept_returns_the_same_result(alerts, alice):
    api = client_for(alice.user)
    url = f"/api/v1/alerts/{alerts['alice'].pk}/respond/"
    first = api.post(url, {"response": "accept"}, format="json").json()
    second = api.post(url, {"response": "accept"}, format="json")
    assert second.status_code == 200
    assert second.json()["version"] == first["version"]


def test_answering_a_cancelled_incident_is_409_saying_why(alerts, alice, carol, incident):
    cancel_incident(actor=carol, incident_id=incident.pk, reason="Patient walked away")
    response = client_for(alice.user).post(
        f"/api/v1/alerts/{alerts['alice'].pk}/respond/", {"response": "accept"}, format="json"
    )
    error = assert_error(response, 409, "conflict")
    assert "Patient walked away" in error["message"]
    assert Alert.objects.get(pk=alerts["alice"].pk).state == "cancelled"


def test_an_unknown_response_is_400(alerts, alice):
    response = client_for(alice.user).post(
        f"/api/v1/alerts/{alerts['alice'].pk}/respond/", {"response": "maybe"}, format="json"
    )
    assert_error(response, 400, field="response")


def test_a_coordinator_has_no_alerts_of_their_own(alerts, carol):
    assert_error(client_for(carol).get("/api/v1/alerts/"), 403, "permission_denied")
