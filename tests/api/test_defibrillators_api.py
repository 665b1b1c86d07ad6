"""GET /api/v1/incidents/{id}/defibrillators/: the nearest defibrillators, for the board and the
crews alerted to the incident (the permission matrix tries every role: tests/security)."""

import datetime

import pytest
from django.utils import timezone

from backend.dispatch import actions
from backend.places.models import Defibrillator
from tests.api.helpers import assert_error, assert_matches
from tests.conftest import NORWICH_INCIDENT, client_for, token_client_for


def place(source_id, north_m, **fields):
    return Defibrillator.objects.create(
        source="osm",
        source_id=source_id,
        latitude=NORWICH_INCIDENT[0] + north_m / 111_195,
        longitude=NORWICH_INCIDENT[1],
        imported_at=timezone.now(),
        **fields,
    )


@pytest.fixture
def defibrillators(db):
    return [
        place("node/1", 240, name="Forum", access="yes", opening_hours="24/7", location="Main entrance", indoor=True),
        place("node/2", -400, name="Gym", access="customers", opening_hours="whenever"),
        place("node/3", 700, access="private"),
        place("node/4", 900, access="yes"),
        place("node/5", 1500, access="yes"),  # beyond the radius
    ]


@pytest.fixture
def alerted(incident, carol, alice):
    alerts = actions.dispatch_incident(actor=carol, incident_id=incident.pk)
    assert alice in [alert.responder for alert in alerts]
    return incident


def url(incident_id) -> str:
    return f"/api/v1/incidents/{incident_id}/defibrillators/"


def test_a_coordinator_gets_the_nearest_three_within_the_radius_nearest_first(incident, carol, defibrillators):
    response = client_for(carol).get(url(incident.pk))

    assert response.status_code == 200, response.content
    body = response.json()
    assert_matches("defibrillator_list", body)
    assert body["radius_m"] == 1000
    assert [point["id"] for point in body["defibrillators"]] == [point.pk for point in defibrillators[:3]]
    forum, gym, private = body["defibrillators"]
    assert forum["distance_m"] == 240 and forum["name"] == "Forum" and forum["indoor"] is True
    assert (forum["access_label"], forum["open_now"]) == ("Public access", True)
    assert forum["attribution"] == "© OpenStreetMap contributors (ODbL)"
    # What is not public says so; hours the parser cannot read are "unknown", never a guess.
    assert gym["access_label"].startswith("Not public") and gym["open_now"] is None
    assert private["access_label"].startswith("Not public")


def test_the_count_and_radius_are_settings(incident, carol, defibrillators, settings):
    settings.DEFIBRILLATORS_NEAREST_COUNT = 5
    settings.DEFIBRILLATORS_RADIUS_M = 2000

    body = client_for(carol).get(url(incident.pk)).json()

    assert body["radius_m"] == 2000 and len(body["defibrillators"]) == 5


def test_none_near_is_an_empty_list(incident, carol, db):
    assert client_for(carol).get(url(incident.pk)).json() == {"radius_m": 1000, "defibrillators": []}


def test_a_responder_alerted_to_the_incident_gets_them(alerted, alice, defibrillators):
    response = client_for(alice.user).get(url(alerted.pk))

    assert response.status_code == 200 and len(response.json()["defibrillators"]) == 3


def test_a_responder_not_alerted_to_it_is_told_it_does_not_exist(alerted, charlie, defibrillators):
    assert_error(client_for(charlie.user).get(url(alerted.pk)), 404, "not_found")


def test_an_unknown_incident_is_404_for_a_coordinator(carol):
    assert_error(client_for(carol).get(url(999999)), 404, "not_found")


def test_the_cad_and_people_with_no_role_are_refused(incident, cad, nobody):
    assert token_client_for(cad).get(url(incident.pk)).status_code == 403
    assert client_for(nobody).get(url(incident.pk)).status_code == 403


def test_anonymous_is_401(incident, api):
    assert api.get(url(incident.pk)).status_code == 401


def test_points_missing_from_the_last_import_are_not_shown(incident, carol, defibrillators):
    Defibrillator.objects.filter(pk=defibrillators[0].pk).update(removed_from_source_at=timezone.now())

    body = client_for(carol).get(url(incident.pk)).json()

    assert defibrillators[0].pk not in [point["id"] for point in body["defibrillators"]]


def test_open_now_follows_the_clock(incident, carol, db, monkeypatch):
    place("node/9", 100, access="yes", opening_hours="Mo-Su 07:00-22:00")
    late = datetime.datetime(2026, 12, 7, 23, 0, tzinfo=datetime.UTC)
    monkeypatch.setattr("backend.places.payloads.timezone.now", lambda: late)

    (point,) = client_for(carol).get(url(incident.pk)).json()["defibrillators"]

    assert point["open_now"] is False
