"""A dispatch that resumes a held ladder (a coordinator had stood down the one crew going) is a fresh
attempt: those it alerts get the step's interval to answer (ladder.resume_held). The boards' own
`unanswered` alarm ("Nobody going") waits for a new incident's first step to run; after a resume
past the first step it sounded at once, as the boards counted the steps run before the hold. The
incident now says when its ladder resumed and at which step (`ladder_resumed_at`,
`ladder_resumed_step`: board-state.js waits for a step to run since; tests/js/
board-resumed-ladder.test.mjs), and the pass audits that alarm when the resumed step has run with
nobody going, as it does for the first step."""

import datetime

import pytest

from backend.audit.models import AuditAction, AuditEntry
from backend.dispatch import ladder
from backend.dispatch.actions import stand_down
from backend.dispatch.escalation import run_due_escalations
from backend.dispatch.models import Incident
from tests.api.helpers import assert_matches
from tests.dispatch.test_board_page import coordinator_api
from tests.dispatch.test_trial11_counting import (  # noqa: F401 (autouse: the same rules)
    GRACE,
    alert_of,
    answer,
    dispatched,
    fresh,
    rules,
)

pytestmark = pytest.mark.django_db


def held_after_two_steps(incident, carol, alice, bob) -> Incident:
    """Nobody answers the first two steps; then Alice goes, Bob is stood down (enough crews) and a
    coordinator stands Alice down: held at the third step."""
    incident = dispatched(incident, carol, crew_target=1)
    for seconds in (61, 91):
        run_due_escalations(now=incident.dispatched_at + datetime.timedelta(seconds=seconds))
    answer(incident, alice, "accept")
    run_due_escalations(now=fresh(incident).covered_at + datetime.timedelta(seconds=GRACE))
    stand_down(actor=carol, incident_id=incident.pk, alert_ids=[alert_of(incident, alice).pk])
    incident = fresh(incident)
    assert ladder.is_held(incident) and incident.escalation_step == 2
    return incident


def unanswered_soundings(incident) -> int:
    return AuditEntry.objects.filter(
        action=AuditAction.ALARM, incident_id=incident.pk, detail__kind="unanswered"
    ).count()


def test_a_dispatch_resuming_a_held_ladder_says_when_and_at_which_step(incident, carol, alice, bob):
    incident = held_after_two_steps(incident, carol, alice, bob)
    assert incident.ladder_resumed_at is None

    response = coordinator_api(carol).post(
        f"/api/v1/incidents/{incident.pk}/dispatch/", {}, content_type="application/json"
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert_matches("incident_detail", body)
    incident = fresh(incident)
    assert incident.ladder_resumed_at is not None
    assert body["ladder_resumed_at"] == incident.ladder_resumed_at.isoformat()
    assert body["ladder_resumed_step"] == incident.ladder_resumed_step == incident.escalation_step == 2
    read_back = coordinator_api(carol).get(f"/api/v1/incidents/{incident.pk}/").json()
    assert body == {**read_back, "dispatch": body["dispatch"]}


def test_the_unanswered_alarm_of_the_resumed_attempt_is_audited_when_its_step_has_run(incident, carol, alice, bob):
    incident = held_after_two_steps(incident, carol, alice, bob)
    assert unanswered_soundings(incident) == 1  # the first attempt's, at its first step
    coordinator_api(carol).post(f"/api/v1/incidents/{incident.pk}/dispatch/", {}, content_type="application/json")
    incident = fresh(incident)

    run_due_escalations(now=incident.next_escalation_at)

    assert fresh(incident).escalation_step == 3
    assert unanswered_soundings(incident) == 2


def test_a_ladder_started_again_is_not_counted_from_an_earlier_resume(incident, carol, alice, bob):
    incident = held_after_two_steps(incident, carol, alice, bob)
    ladder.resume_held(incident, incident.dispatched_at + datetime.timedelta(minutes=5))
    assert incident.ladder_resumed_step == 2

    ladder.start_again(incident, incident.dispatched_at + datetime.timedelta(minutes=10))

    assert incident.escalation_step == 0
    assert (incident.ladder_resumed_at, incident.ladder_resumed_step) == (None, None)
