"""A firefighter's answers: every legal move, every illegal one, idempotent repeats."""

import pytest

from backend.dispatch.actions import (
    RESPONSES,
    cancel_incident,
    close_incident,
    dispatch_incident,
    respond_to_alert,
    stand_down,
)
from backend.dispatch.models import Alert, AlertState
from backend.errors import Conflict, InvalidInput, NotAllowed, NotFound
from backend.realtime.models import ResponderEvent


@pytest.fixture
def alerts(incident, carol, alice, bob):
    dispatched = dispatch_incident(actor=carol, incident_id=incident.pk)
    return {alert.responder.user.username: alert for alert in dispatched}


def respond(alert, response, **extra):
    return respond_to_alert(actor=alert.responder.user, alert_id=alert.pk, response=response, **extra)


def put_in_state(alert, state):
    """Walk an alert to `state` through legal answers."""
    path = {
        AlertState.ALERTED: [],
        AlertState.RECEIVED: ["received"],
        AlertState.ACCEPTED: ["accept"],
        AlertState.DECLINED: ["decline"],
        AlertState.EN_ROUTE: ["accept", "en_route"],
        AlertState.ON_SCENE: ["accept", "en_route", "on_scene"],
        AlertState.CLEARED: ["accept", "on_scene", "cleared"],
    }[state]
    for response in path:
        respond(alert, response, reason="unavailable")
    alert.refresh_from_db()
    assert alert.state == state


def test_it_accepts_and_records_the_time(alerts):
    alert = respond(alerts["alice"], "accept")
    assert alert.state == AlertState.ACCEPTED
    assert alert.accepted_at is not None
    assert alert.version == 2


def test_it_walks_the_whole_way_to_cleared_with_a_time_for_each_step(alerts):
    for response in ["received", "accept", "en_route", "on_scene", "cleared"]:
        respond(alerts["alice"], response)
    alert = Alert.objects.get(pk=alerts["alice"].pk)
    assert alert.state == AlertState.CLEARED
    times = [alert.received_at, alert.accepted_at, alert.en_route_at, alert.on_scene_at, alert.cleared_at]
    assert all(times) and times == sorted(times)


def test_it_records_a_decline_with_its_reason(alerts):
    alert = respond(alerts["alice"], "decline", reason="too_far", note="Out of area")
    assert (alert.state, alert.decline_reason, alert.decline_note) == (AlertState.DECLINED, "too_far", "Out of area")


def test_declining_needs_a_known_reason(alerts):
    with pytest.raises(InvalidInput) as error:
        respond(alerts["alice"], "decline", reason="bored")
    assert "reason" in error.value.fields
    assert Alert.objects.get(pk=alerts["alice"].pk).state == AlertState.ALERTED


def test_an_unknown_response_is_refused(alerts):
    with pytest.raises(InvalidInput):
        respond(alerts["alice"], "teleport")


def test_repeating_an_answer_changes_nothing_and_is_not_an_error(alerts):
    respond(alerts["alice"], "accept")
    events_before = ResponderEvent.objects.count()
    again = respond(alerts["alice"], "accept")
    assert again.state == AlertState.ACCEPTED and again.version == 2
    assert ResponderEvent.objects.count() == events_before


def test_received_after_accepting_records_the_time_but_keeps_the_state(alerts):
    respond(alerts["alice"], "accept")
    alert = respond(alerts["alice"], "received")
    assert alert.state == AlertState.ACCEPTED
    assert alert.received_at is not None
    # And only once.
    first = alert.received_at
    assert respond(alerts["alice"], "received").received_at == first


LEGAL = {(state, response) for response, transition in RESPONSES.items() for state in transition.allowed_from}
STATES_A_FIREFIGHTER_CAN_REACH = [
    AlertState.ALERTED,
    AlertState.RECEIVED,
    AlertState.ACCEPTED,
    AlertState.DECLINED,
    AlertState.EN_ROUTE,
    AlertState.ON_SCENE,
    AlertState.CLEARED,
]
ILLEGAL = [
    (state, response)
    for state in STATES_A_FIREFIGHTER_CAN_REACH
    for response in RESPONSES
    if response != "received" and (state, response) not in LEGAL and RESPONSES[response].target != state
]


@pytest.mark.parametrize(("state", "response"), ILLEGAL)
def test_every_illegal_move_is_a_conflict_and_changes_nothing(alerts, state, response):
    alert = alerts["alice"]
    put_in_state(alert, state)
    before = Alert.objects.get(pk=alert.pk)
    with pytest.raises(Conflict) as error:
        respond(alert, response, reason="unavailable")
    assert "You cannot" in error.value.message
    after = Alert.objects.get(pk=alert.pk)
    assert (after.state, after.version) == (before.state, before.version)


def test_the_illegal_list_is_not_empty():
    assert len(ILLEGAL) >= 15


def test_it_refuses_an_answer_after_the_incident_was_cancelled_and_says_why(alerts, carol, incident):
    cancel_incident(actor=carol, incident_id=incident.pk, reason="Ambulance on scene first")
    with pytest.raises(Conflict) as error:
        respond(alerts["alice"], "accept")
    assert "cancelled (Ambulance on scene first)" in error.value.message


def test_it_never_tells_one_who_was_on_scene_they_are_not_needed_when_refusing_after_a_cancel(alerts, carol, incident):
    """They may be in the middle of CPR (docs/hazard-log.md, H04 control 7): how the call ended, no more."""
    put_in_state(alerts["alice"], AlertState.ON_SCENE)
    cancel_incident(actor=carol, incident_id=incident.pk, reason="Ambulance on scene first")
    with pytest.raises(Conflict) as on_scene:
        respond(alerts["alice"], "cleared")
    assert on_scene.value.message == "The incident was cancelled (Ambulance on scene first)."
    with pytest.raises(Conflict) as never_there:
        respond(alerts["bob"], "accept")
    assert never_there.value.message == "The incident was cancelled (Ambulance on scene first): you are not needed."


def test_it_never_tells_one_who_was_on_scene_they_are_not_needed_when_refusing_after_a_close(alerts, carol, incident):
    put_in_state(alerts["alice"], AlertState.ON_SCENE)
    close_incident(actor=carol, incident_id=incident.pk)
    with pytest.raises(Conflict) as on_scene:
        respond(alerts["alice"], "on_scene")
    assert on_scene.value.message == "The incident is closed."
    with pytest.raises(Conflict) as never_there:
        respond(alerts["bob"], "accept")
    assert never_there.value.message == "The incident is closed: you are not needed."


def test_it_refuses_an_answer_after_being_stood_down(alerts, carol, incident):
    stand_down(actor=carol, incident_id=incident.pk)
    with pytest.raises(Conflict) as error:
        respond(alerts["alice"], "accept")
    assert "stood down" in error.value.message


def test_a_firefighter_cannot_answer_someone_elses_alert(alerts):
    with pytest.raises(NotFound):
        respond_to_alert(actor=alerts["bob"].responder.user, alert_id=alerts["alice"].pk, response="accept")
    assert Alert.objects.get(pk=alerts["alice"].pk).state == AlertState.ALERTED


def test_a_coordinator_without_a_responder_profile_cannot_answer(alerts, carol):
    with pytest.raises(NotAllowed):
        respond_to_alert(actor=carol, alert_id=alerts["alice"].pk, response="accept")


def test_an_answer_tells_the_owner_and_the_whole_crew(alerts):
    respond(alerts["alice"], "accept")
    latest = ResponderEvent.objects.order_by("-id")
    owner_updates = latest.filter(type="alert.updated")
    assert [e.responder.user.username for e in owner_updates] == ["alice"]
    crew_updates = ResponderEvent.objects.filter(type="incident.updated").order_by("-id")[:2]
    assert {e.responder.user.username for e in crew_updates} == {"alice", "bob"}
    crew = crew_updates[0].data["crew"]
    assert {member["responder_name"]: member["state"] for member in crew} == {"Alice": "accepted", "Bob": "alerted"}


@pytest.mark.parametrize("response", ["accept", "en_route", "on_scene", "cleared"])
def test_nobody_answers_an_incident_that_is_over(alerts, carol, incident, response):
    respond(alerts["bob"], "decline", reason="unavailable")  # declined alerts stay declined when cancelled
    cancel_incident(actor=carol, incident_id=incident.pk, reason="Ambulance on scene")
    with pytest.raises(Conflict) as error:
        respond(alerts["bob"], response, reason="unavailable")
    assert "cancelled (Ambulance on scene)" in error.value.message
    assert Alert.objects.get(pk=alerts["bob"].pk).state == AlertState.DECLINED
