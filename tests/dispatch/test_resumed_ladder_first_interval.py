"""Found by a browser trial: after "Alert named" resumed a held ladder (both crews stood down by
control), the resumed step ran on the ladder's own spacing (texts 15 s later) and the boards'
"Nobody going" sounded right after it: the named responder had about 15 s to answer. A resumed
ladder is a fresh attempt (docs/board.md, docs/events.md; H17) and waits as for a new incident:
those alerted get at least the ladder's first step interval (ESCALATION_LADDER[0], as
ladder.due_time gives a new incident's first step) before the resumed step runs
(ladder.resume_held), whether the dispatch names someone or not."""

import datetime

import pytest
from django.conf import settings

from backend.dispatch import ladder
from backend.dispatch.actions import stand_down
from backend.dispatch.escalation import run_due_escalations
from backend.dispatch.models import AlertState
from tests.dispatch.test_board_page import coordinator_api
from tests.dispatch.test_resumed_ladder_clock import unanswered_soundings
from tests.dispatch.test_trial11_counting import (  # noqa: F401 (autouse: the same rules)
    GRACE,
    alert_of,
    answer,
    dispatched,
    fresh,
    rules,
)

pytestmark = pytest.mark.django_db


def held_at_the_texts(incident, carol, alice, bob):
    """Dispatched ten minutes ago; the first step ran; Alice went, Bob was stood down (enough
    crews), then a coordinator stood Alice down: held at step 1 (texts, 30 s after step 0)."""
    incident = dispatched(incident, carol, crew_target=1, minutes_ago=10)
    run_due_escalations(now=incident.dispatched_at + datetime.timedelta(seconds=61))
    answer(incident, alice, "accept")
    run_due_escalations(now=fresh(incident).covered_at + datetime.timedelta(seconds=GRACE))
    assert alert_of(incident, bob).state == AlertState.STOOD_DOWN
    stand_down(actor=carol, incident_id=incident.pk, alert_ids=[alert_of(incident, alice).pk])
    incident = fresh(incident)
    assert ladder.is_held(incident) and incident.escalation_step == 1
    return incident


@pytest.mark.parametrize("named", [True, False], ids=["alert named", "plain dispatch"])
def test_a_resumed_ladder_gives_those_alerted_the_first_step_interval(incident, carol, alice, bob, named):
    incident = held_at_the_texts(incident, carol, alice, bob)
    first_interval = datetime.timedelta(seconds=settings.ESCALATION_LADDER[0][0])
    sounded_before = unanswered_soundings(incident)

    response = coordinator_api(carol).post(
        f"/api/v1/incidents/{incident.pk}/dispatch/",
        {"responder_ids": [alice.pk]} if named else {},
        content_type="application/json",
    )

    assert response.status_code == 200, response.content
    incident = fresh(incident)
    resumed_at = incident.ladder_resumed_at
    # Named, Alice is alerted again; a plain dispatch alerts again Bob (stood down, enough crews).
    assert alert_of(incident, alice if named else bob).state == AlertState.ALERTED
    assert incident.next_escalation_at >= resumed_at + first_interval
    assert response.json()["next_escalation_at"] == incident.next_escalation_at.isoformat()

    # Just short of the first step's interval: no step runs, nothing sounds.
    assert run_due_escalations(now=resumed_at + first_interval - datetime.timedelta(seconds=1)) == 0
    assert fresh(incident).escalation_step == 1
    assert unanswered_soundings(incident) == sounded_before

    # Then the resumed step runs, as a new incident's first step would.
    assert run_due_escalations(now=incident.next_escalation_at) == 1
    assert fresh(incident).escalation_step == 2
    assert unanswered_soundings(incident) == sounded_before + 1


def test_resume_held_waits_at_least_the_first_step_interval_and_keeps_a_longer_gap(incident, carol, alice, bob):
    incident = held_at_the_texts(incident, carol, alice, bob)
    now = incident.dispatched_at + datetime.timedelta(minutes=5)

    ladder.resume_held(incident, now)  # step 1: 30 s after step 0, less than the first step's 60 s

    assert incident.next_escalation_at == now + datetime.timedelta(seconds=60)

    incident.escalation_step, incident.held_since = 3, None  # step 3: 60 s after step 2 (the alarm)
    later = now + datetime.timedelta(minutes=5)
    ladder.resume_held(incident, later)

    assert incident.next_escalation_at == later + datetime.timedelta(seconds=60)
