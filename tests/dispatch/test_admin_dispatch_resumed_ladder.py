"""Found by a browser trial: the incident page's Dispatch button, pressed on an incident whose
ladder was held (a coordinator had stood down the crew that was going), resumed the ladder but
said, as a failure, "nobody was alerted: everyone in range has already been alerted.". The page
now says the escalation resumed, in the boards' words (wall.js resumedDispatchText), and says
"nobody was alerted" only of a dispatch that did nothing on a ladder that was not held."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from backend.dispatch import ladder
from backend.dispatch.actions import stand_down
from backend.dispatch.models import AlertState
from tests.conftest import admin_client_for
from tests.dispatch.test_trial11_counting import (  # noqa: F401 (autouse: the same rules)
    alert_of,
    answer,
    covered_by_alice_on_scene,
    dispatched,
    fresh,
    rules,
)

pytestmark = pytest.mark.django_db


def press_dispatch(carol, incident):
    """The incident page's Dispatch button, with the count of alerts its page showed."""
    response = admin_client_for(carol).post(
        reverse("admin:dispatch_incident_dispatch", args=[incident.pk]), {"seen_alerts": incident.alerts.count()}
    )
    assert response.status_code == 302
    return [(message.level_tag, str(message)) for message in get_messages(response.wsgi_request)]


def held_by_standing_down(incident, carol, responder):
    stand_down(actor=carol, incident_id=incident.pk, alert_ids=[alert_of(incident, responder).pk])
    incident = fresh(incident)
    assert ladder.is_held(incident)
    return incident


def test_a_held_ladder_resumed_with_nobody_new_to_alert_says_it_resumed(incident, carol, alice):
    # Alice, the only one in range, on scene covers it; the coordinator stands her down.
    incident = dispatched(incident, carol, crew_target=1)
    answer(incident, alice, "accept", "on_scene")
    incident = held_by_standing_down(incident, carol, alice)

    said = press_dispatch(carol, incident)

    assert not ladder.is_held(fresh(incident))
    assert said == [("info", "EEAST-0001: escalation resumed; everyone in range has already been alerted.")]


def test_a_held_ladder_resumed_says_who_was_alerted_again(incident, carol, alice, bob):
    incident = held_by_standing_down(covered_by_alice_on_scene(incident, carol, alice, bob), carol, alice)

    [(level, text)] = press_dispatch(carol, incident)

    assert alert_of(incident, bob).state == AlertState.ALERTED
    assert level == "success"
    assert text.startswith("EEAST-0001: escalation resumed: 1 alerted again: Bob (Norwich, ")


def test_a_dispatch_that_reached_nobody_new_on_a_ladder_not_held_still_says_nobody_was_alerted(incident, carol, alice):
    incident = dispatched(incident, carol, crew_target=1)
    assert not ladder.is_held(incident)

    said = press_dispatch(carol, incident)

    # Alice has not answered yet: someone may still go.
    assert said == [("warning", "EEAST-0001: nobody was alerted: everyone in range has already been alerted.")]
