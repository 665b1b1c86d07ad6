"""Found by a browser trial: "Alert named" on an incident whose ladder was held (a coordinator had
stood its crew down) said "Alert Kate Lowe to T14-1: Alerted 23 responders.": the dispatch also
resumed the ladder and alerted again those stood down because enough crews were going. The answer
counts them apart (dispatch.resumed_count) and its message says what happened."""

import pytest

from backend.dispatch import ladder
from backend.dispatch.actions import stand_down
from backend.dispatch.models import AlertState
from tests.api.helpers import assert_matches
from tests.dispatch.test_board_page import coordinator_api
from tests.dispatch.test_trial11_counting import (  # noqa: F401 (autouse: the same rules)
    alert_of,
    covered_by_alice_on_scene,
    fresh,
    rules,
)

pytestmark = pytest.mark.django_db


def held(incident, carol, alice, bob):
    incident = covered_by_alice_on_scene(incident, carol, alice, bob)
    stand_down(actor=carol, incident_id=incident.pk, alert_ids=[alert_of(incident, alice).pk])
    incident = fresh(incident)
    assert ladder.is_held(incident)
    return incident


def test_naming_one_on_a_held_ladder_tells_the_named_from_those_the_ladder_alerted_again(incident, carol, alice, bob):
    incident = held(incident, carol, alice, bob)

    response = coordinator_api(carol).post(
        f"/api/v1/incidents/{incident.pk}/dispatch/", {"responder_ids": [alice.pk]}, content_type="application/json"
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert_matches("incident_detail", body)
    assert alert_of(incident, alice).state == AlertState.ALERTED
    assert alert_of(incident, bob).state == AlertState.ALERTED
    assert body["dispatch"] == {
        "alerted_count": 2,
        "resumed_count": 1,
        "nobody_because": "",
        "message": "Alerted 1 responder; 1 stood down earlier was alerted again as the ladder resumed.",
    }


def test_naming_one_the_ladder_alerts_again_counts_them_as_named(incident, carol, alice, bob):
    incident = held(incident, carol, alice, bob)

    response = coordinator_api(carol).post(
        f"/api/v1/incidents/{incident.pk}/dispatch/", {"responder_ids": [bob.pk]}, content_type="application/json"
    )

    assert response.status_code == 200, response.content
    assert response.json()["dispatch"] == {
        "alerted_count": 1,
        "resumed_count": 0,
        "nobody_because": "",
        "message": "Alerted 1 responder.",
    }


def test_a_plain_dispatch_on_a_held_ladder_says_who_was_alerted_again(incident, carol, alice, bob):
    incident = held(incident, carol, alice, bob)

    response = coordinator_api(carol).post(
        f"/api/v1/incidents/{incident.pk}/dispatch/", {}, content_type="application/json"
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert_matches("incident_detail", body)
    assert body["dispatch"]["resumed_count"] == 1
    assert body["dispatch"]["message"].endswith("1 stood down earlier was alerted again as the ladder resumed.")
    # Every alert of the incident, as the board's detail is.
    assert sorted(alert["responder_id"] for alert in body["alerts"]) == sorted(
        fresh(incident).alerts.values_list("responder_id", flat=True)
    )
