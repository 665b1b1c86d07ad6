"""/api/v1/incidents/: coordinators and the ambulance dispatch system."""

import pytest

from backend.dispatch.models import Incident
from tests.api.helpers import assert_error, assert_matches
from tests.conftest import client_for, token_client_for

NEW = {"cad_reference": "EEAST-2026-0042", "latitude": 52.63, "longitude": 1.295, "address": "3 Elm Hill, Norwich"}


def test_a_coordinator_creates_an_incident(carol):
    response = client_for(carol).post("/api/v1/incidents/", NEW, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert_matches("incident_detail", body)
    assert body["cad_reference"] == "EEAST-2026-0042" and body["alerts"] == []
    assert Incident.objects.get(pk=body["id"]).created_by == carol


def test_the_cad_creates_and_dispatches_in_one_call_with_its_token(cad, alice, bob):
    response = token_client_for(cad).post("/api/v1/incidents/", {**NEW, "dispatch": True}, format="json")
    assert response.status_code == 201, response.content
    assert [a["responder_name"] for a in response.json()["alerts"]] == ["Alice", "Bob"]


def test_a_duplicate_cad_reference_is_409_naming_the_existing_incident(carol):
    api = client_for(carol)
    first = api.post("/api/v1/incidents/", NEW, format="json").json()
    error = assert_error(api.post("/api/v1/incidents/", NEW, format="json"), 409, "conflict", field="cad_reference")
    assert error["existing_incident_id"] == first["id"]
    assert Incident.objects.count() == 1


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("latitude", 95),
        ("latitude", "north"),
        ("longitude", -181),
        ("longitude", None),
        ("cad_reference", ""),
        ("cad_reference", "has spaces"),
        ("cad_reference", "x" * 41),
        ("address", ""),
        ("category", "broken_leg"),
        ("what3words", "not a w3w"),
    ],
)
def test_bad_input_is_400_with_a_message_for_the_field(carol, field, value):
    response = client_for(carol).post("/api/v1/incidents/", {**NEW, field: value}, format="json")
    assert_error(response, 400, "invalid", field=field)
    assert not Incident.objects.exists()


def test_a_body_that_is_not_json_is_400(carol):
    response = client_for(carol).post("/api/v1/incidents/", "{not json", content_type="application/json")
    assert_error(response, 400, "parse_error")


def test_a_body_that_is_a_list_is_400(carol):
    response = client_for(carol).post("/api/v1/incidents/", [1, 2], format="json")
    assert_error(response, 400, "invalid")


def test_list_and_filter_by_status(carol, incident):
    api = client_for(carol)
    body = api.get("/api/v1/incidents/").json()
    assert_matches("incident_list", body)
    assert [i["id"] for i in body["results"]] == [incident.pk]
    assert api.get("/api/v1/incidents/?status=cancelled").json()["count"] == 0
    assert_error(api.get("/api/v1/incidents/?status=bogus"), 400, field="status")


def test_detail_shows_the_alerts(carol, incident, alice):
    api = client_for(carol)
    api.post(f"/api/v1/incidents/{incident.pk}/dispatch/", {}, format="json")
    body = api.get(f"/api/v1/incidents/{incident.pk}/").json()
    assert_matches("incident_detail", body)
    assert [(a["responder_name"], a["state"]) for a in body["alerts"]] == [("Alice", "alerted")]


def test_an_unknown_incident_is_404(carol):
    assert_error(client_for(carol).get("/api/v1/incidents/987654/"), 404, "not_found")


def test_dispatch_with_unknown_station_or_responder_ids_is_400_and_alerts_nobody(carol, incident, alice):
    api = client_for(carol)
    error = assert_error(
        api.post(f"/api/v1/incidents/{incident.pk}/dispatch/", {"station_ids": [9999]}, format="json"),
        400,
        field="station_ids",
    )
    assert "9999" in str(error["fields"])
    assert_error(
        api.post(f"/api/v1/incidents/{incident.pk}/dispatch/", {"responder_ids": [alice.pk, 8888]}, format="json"),
        400,
        field="responder_ids",
    )
    assert not incident.alerts.exists()


def test_two_coordinators_dispatching_on_the_same_picture_widen_once(carol, incident, alice, bob, charlie):
    # Both boards showed no alert; both coordinators press Dispatch: the second is told what changed.
    api = client_for(carol)
    first = api.post(f"/api/v1/incidents/{incident.pk}/dispatch/", {"seen_alerts": 0}, format="json")
    assert first.status_code == 200 and len(first.json()["alerts"]) == 2

    error = assert_error(
        api.post(f"/api/v1/incidents/{incident.pk}/dispatch/", {"seen_alerts": 0}, format="json"),
        409,
        field="seen_alerts",
    )

    assert "2 more responders were alerted" in error["message"]
    assert incident.alerts.count() == 2
    again = api.post(f"/api/v1/incidents/{incident.pk}/dispatch/", {"seen_alerts": 2}, format="json")
    assert again.status_code == 200  # on the current picture, the next ring goes ahead


def test_seen_alerts_must_be_a_whole_number_from_0(carol, incident):
    for bad in (-1, "2", 1.5, True):
        assert_error(
            client_for(carol).post(f"/api/v1/incidents/{incident.pk}/dispatch/", {"seen_alerts": bad}, format="json"),
            400,
            field="seen_alerts",
        )
    assert not incident.alerts.exists()


def test_stand_down_and_cancel_through_the_api(carol, incident, alice, bob):
    api = client_for(carol)
    alerts = api.post(f"/api/v1/incidents/{incident.pk}/dispatch/", {}, format="json").json()["alerts"]
    body = api.post(
        f"/api/v1/incidents/{incident.pk}/stand-down/", {"alert_ids": [alerts[1]["id"]]}, format="json"
    ).json()
    assert [a["state"] for a in body["alerts"]] == ["alerted", "stood_down"]
    assert_error(api.post(f"/api/v1/incidents/{incident.pk}/cancel/", {}, format="json"), 400, field="reason")
    body = api.post(f"/api/v1/incidents/{incident.pk}/cancel/", {"reason": "Hoax"}, format="json").json()
    assert body["status"] == "cancelled"
    assert [a["state"] for a in body["alerts"]] == ["cancelled", "stood_down"]
    error = assert_error(api.post(f"/api/v1/incidents/{incident.pk}/dispatch/", {}, format="json"), 409)
    assert "cancelled" in error["message"]


def test_close_through_the_api(carol, incident):
    body = client_for(carol).post(f"/api/v1/incidents/{incident.pk}/close/", format="json").json()
    assert body["status"] == "closed"


# --- What a dispatch did, said plainly (a CAD must never believe a dispatch worked when it did not) ---

FAR_AWAY = {"latitude": 50.1, "longitude": -5.5}  # Cornwall: no station within any ring


def test_a_dispatch_answer_shows_the_incident_dispatched(cad, alice, bob):
    response = token_client_for(cad).post("/api/v1/incidents/", {**NEW, "dispatch": True}, format="json")
    body = response.json()
    assert body["dispatched_at"] is not None  # as a GET right after shows it
    assert body["dispatch"] == {
        "alerted_count": 2,
        "resumed_count": 0,
        "nobody_because": "",
        "message": "Alerted 2 responders.",
    }
    assert body["crew_target"] == 2 and body["covered"] is False


def test_a_dispatch_out_of_range_says_it_alerted_nobody_and_why(cad, alice):
    response = token_client_for(cad).post("/api/v1/incidents/", {**NEW, **FAR_AWAY, "dispatch": True}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert_matches("incident_detail", body)
    assert body["dispatch"]["alerted_count"] == 0
    assert body["dispatch"]["nobody_because"] == "no_station_in_range"
    assert body["dispatch"]["message"] == "Nobody was alerted: no station is within range."
    assert body["alarm_raised_at"] is not None and body["unreached_reason"] == "no_station_in_range"
    assert body["dispatched_at"] is not None  # the ladder keeps looking


def test_a_dispatch_that_finds_nobody_nearby_widens_at_once(carol, charlie, settings):
    settings.DISPATCH_RADIUS_KM = 10
    settings.DISPATCH_NEXT_RINGS_KM = [35]
    incident = client_for(carol).post("/api/v1/incidents/", NEW, format="json").json()

    body = client_for(carol).post(f"/api/v1/incidents/{incident['id']}/dispatch/", {}, format="json").json()

    assert [alert["responder_name"] for alert in body["alerts"]] == ["Charlie"]  # Great Yarmouth, 28 km
    assert body["ring"] == 2 and body["dispatch"]["alerted_count"] == 1
    assert body["alarm_raised_at"] is None


def test_the_cad_can_ask_for_its_own_crew_target(cad):
    response = token_client_for(cad).post("/api/v1/incidents/", {**NEW, "crew_target": 3}, format="json")
    assert response.json()["crew_target"] == 3


@pytest.mark.parametrize("value", [0, 21, True, "3", 2.5])
def test_a_bad_crew_target_is_400_naming_it(cad, value):
    response = token_client_for(cad).post("/api/v1/incidents/", {**NEW, "crew_target": value}, format="json")
    assert_error(response, 400, "invalid", field="crew_target")
    assert not Incident.objects.exists()
