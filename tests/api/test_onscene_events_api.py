"""/api/v1/alerts/{id}/events/: the checklist's one-tap timestamps, synced from the phone.

POST records one (201), answers a retry with the original (200), refuses a reused key (409);
GET lists the alert's events in the order they happened. Only the alert's own firefighter."""

import datetime
import uuid

import pytest
from django.test import Client
from django.utils import timezone

from backend.checklists.models import OnSceneEvent
from backend.dispatch.actions import dispatch_incident, respond_to_alert
from tests.api.helpers import assert_error, assert_matches
from tests.conftest import client_for


@pytest.fixture
def alerts(incident, carol, alice, bob):
    return {a.responder.user.username: a for a in dispatch_incident(actor=carol, incident_id=incident.pk)}


@pytest.fixture
def alert(alerts):
    return alerts["alice"]


@pytest.fixture
def api(alice):
    return client_for(alice.user)


def url(alert) -> str:
    return f"/api/v1/alerts/{alert.pk}/events/"


def event_body(type="shock", **overrides) -> dict:
    """As the app sends it: a new key, the phone's time in UTC with a Z, and the event's data."""
    body = {
        "idempotency_key": str(uuid.uuid4()),
        "type": type,
        "occurred_at": (timezone.now() - datetime.timedelta(seconds=30)).isoformat(timespec="milliseconds"),
        "data": {"shock_number": 1, "patient": "adult"} if type == "shock" else {},
    }
    body["occurred_at"] = body["occurred_at"].replace("+00:00", "Z")
    body.update(overrides)
    return body


def test_it_records_an_event_and_answers_201_with_it(api, alert):
    body = event_body("shock")

    response = api.post(url(alert), body, format="json")

    assert response.status_code == 201, response.content
    stored = response.json()
    assert_matches("onscene_event", stored)
    assert stored["alert_id"] == alert.pk
    assert stored["idempotency_key"] == body["idempotency_key"]
    assert (stored["type"], stored["data"]) == ("shock", {"shock_number": 1, "patient": "adult"})
    assert datetime.datetime.fromisoformat(stored["occurred_at"]) == datetime.datetime.fromisoformat(
        body["occurred_at"]
    )
    assert OnSceneEvent.objects.get().pk == stored["id"]


def test_a_retry_answers_200_with_the_original_and_creates_nothing(api, alert):
    body = event_body("pads_on")
    first = api.post(url(alert), body, format="json")

    again = api.post(url(alert), body, format="json")

    assert again.status_code == 200
    assert_matches("onscene_event", again.json())
    assert again.json() == first.json()
    assert OnSceneEvent.objects.count() == 1


def test_a_key_reused_for_another_event_is_a_409_saying_so(api, alert):
    body = event_body("shock")
    first = api.post(url(alert), body, format="json").json()

    response = api.post(url(alert), {**body, "data": {"shock_number": 2}}, format="json")

    error = assert_error(response, 409, "conflict", field="idempotency_key")
    assert "already used for a different event" in error["message"]
    assert error["existing_event_id"] == first["id"]
    assert OnSceneEvent.objects.count() == 1


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"type": "coffee_break"}, "type"),
        ({"idempotency_key": "not-a-uuid"}, "idempotency_key"),
        ({"occurred_at": "2025-03-01T14:07:12"}, "occurred_at"),
        ({"occurred_at": "yesterday"}, "occurred_at"),
        ({"occurred_at": "2099-01-01T00:00:00Z"}, "occurred_at"),
        ({"occurred_at": "2001-01-01T00:00:00Z"}, "occurred_at"),
        ({"data": {"shock_number": 0}}, "data.shock_number"),
        ({"data": {"comment": "patient is John"}}, "data.comment"),
        ({"data": ["shock"]}, "data"),
    ],
    ids=[
        "unknown type",
        "key not a uuid",
        "time without offset",
        "not a time",
        "far future",
        "long before the alert",
        "shock number 0",
        "free text",
        "data not an object",
    ],
)
def test_bad_input_is_a_400_naming_the_field(api, alert, overrides, field):
    response = api.post(url(alert), event_body(**{"type": "shock", **overrides}), format="json")

    assert_error(response, 400, "invalid", field=field)
    assert not OnSceneEvent.objects.exists()


def test_a_missing_field_is_a_400_naming_it(api, alert):
    error = assert_error(api.post(url(alert), {"type": "arrived"}, format="json"), 400)
    assert set(error["fields"]) == {"idempotency_key", "occurred_at"}


def test_data_may_be_left_out(api, alert):
    body = event_body("arrived")
    del body["data"]

    response = api.post(url(alert), body, format="json")

    assert response.status_code == 201
    assert response.json()["data"] == {}


def test_a_declined_alert_takes_no_events(api, alert):
    respond_to_alert(actor=alert.responder.user, alert_id=alert.pk, response="decline", reason="unavailable")

    error = assert_error(api.post(url(alert), event_body("arrived"), format="json"), 409, "conflict")

    assert "declined" in error["message"]


def test_it_lists_the_alerts_events_in_the_order_they_happened(api, alert):
    now = timezone.now()
    for type, minutes_ago in [("pads_on", 1), ("arrived", 3), ("cpr_started", 2)]:
        occurred_at = (now - datetime.timedelta(minutes=minutes_ago)).isoformat()
        api.post(url(alert), event_body(type, occurred_at=occurred_at), format="json")

    response = api.get(url(alert))

    assert response.status_code == 200
    assert_matches("onscene_event_list", response.json())
    assert [event["type"] for event in response.json()["results"]] == ["arrived", "cpr_started", "pads_on"]


def test_the_list_is_empty_before_anything_is_recorded(api, alert):
    assert api.get(url(alert)).json() == {"results": []}


def test_someone_elses_alert_is_a_404_with_no_data(alerts, bob):
    bobs_api = client_for(bob.user)
    alices = alerts["alice"]
    alices_api = client_for(alices.responder.user)
    alices_api.post(url(alices), event_body("arrived"), format="json")

    for response in (bobs_api.get(url(alices)), bobs_api.post(url(alices), event_body("arrived"), format="json")):
        error = assert_error(response, 404, "not_found")
        assert "Example Road" not in str(error) and "arrived" not in str(error)
    assert OnSceneEvent.objects.count() == 1


def test_a_coordinator_cannot_record_or_list_through_the_api(alert, carol):
    api = client_for(carol)
    assert_error(api.get(url(alert)), 403)
    assert_error(api.post(url(alert), event_body("arrived"), format="json"), 403)


def test_a_browser_session_needs_the_csrf_token(alert, alice):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice.user)
    body = event_body("arrived")

    assert_error(browser.post(url(alert), body, content_type="application/json"), 403)
    token = browser.get("/api/v1/auth/csrf/").json()["csrf_token"]
    response = browser.post(url(alert), body, content_type="application/json", headers={"X-CSRFToken": token})

    assert response.status_code == 201, response.content
