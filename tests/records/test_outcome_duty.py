"""Who fills in the crew's outcome form: the crew lead who attended, else the first of the crew to
arrive; nothing owed when nobody of the crew attended. The forms list (GET records/) and the form
(GET alerts/<id>/outcome/) say the same for every member of the crew.

Found by a browser trial: the only crew lead who accepted never got there; the firefighter who did
was told "filled in by your crew lead", the lead's list said "Not needed" while his form offered
to fill it in, and the incident had no outcome record."""

import uuid

import pytest

from backend.checklists.actions import record_onscene_event
from backend.dispatch.actions import respond_to_alert
from backend.dispatch.models import Alert
from backend.errors import NotAllowed
from backend.records import actions
from backend.records.models import Outcome, RecordKind
from tests.conftest import client_for
from tests.records.conftest import ago, body, submit, valid_outcome


def on_scene(alert, minutes_ago: int):
    respond_to_alert(actor=alert.responder.user, alert_id=alert.pk, response="on_scene")
    Alert.objects.filter(pk=alert.pk).update(on_scene_at=ago(minutes=minutes_ago))


def listed(alert) -> dict:
    results = client_for(alert.responder.user).get("/api/v1/records/").json()["results"]
    [item] = [item for item in results if item["alert_id"] == alert.pk]
    return {name: item[name] for name in ("outcome_expected", "fills_outcome")}


def form(alert) -> dict:
    data = client_for(alert.responder.user).get(f"/api/v1/alerts/{alert.pk}/outcome/").json()
    return {"editable": data["editable"], **data["outcome_duty"]}


def test_the_one_who_attended_submits_it_and_the_crew_lead_who_did_not_may_not(erin_alert, alice_alert, alice, erin):
    on_scene(alice_alert, minutes_ago=15)
    assert actions.open_form(actor=alice.user, kind=RecordKind.OUTCOME, alert_id=alice_alert.pk).editable is True
    assert actions.open_form(actor=erin.user, kind=RecordKind.OUTCOME, alert_id=erin_alert.pk).editable is False
    with pytest.raises(NotAllowed):
        submit(erin_alert, RecordKind.OUTCOME, **valid_outcome())
    _, created = submit(alice_alert, RecordKind.OUTCOME, **valid_outcome())
    assert created and Outcome.objects.get().station_id == alice_alert.station_id


def test_when_the_crew_lead_did_not_attend_the_first_of_the_crew_to_arrive_fills_it_in(
    erin_alert, alice_alert, bob_alert
):
    on_scene(bob_alert, minutes_ago=20)
    on_scene(alice_alert, minutes_ago=15)

    first = {"outcome_expected": True, "fills_outcome": True}
    others = {"outcome_expected": True, "fills_outcome": False}
    assert (listed(bob_alert), listed(alice_alert), listed(erin_alert)) == (first, others, others)
    assert form(bob_alert) == {"editable": True, "expected": True, "fills_it": True, "filled_in_by": ["Bob"]}
    for alert in (alice_alert, erin_alert):  # the crew lead who never got there too
        assert form(alert) == {"editable": False, "expected": True, "fills_it": False, "filled_in_by": ["Bob"]}

    with pytest.raises(NotAllowed) as refused:
        submit(erin_alert, RecordKind.OUTCOME, **valid_outcome())
    assert refused.value.message == (
        "Your crew's outcome form is submitted by the crew lead who attended, else by the first of your crew to arrive."
    )
    _, created = submit(bob_alert, RecordKind.OUTCOME, **valid_outcome())
    assert created and Outcome.objects.get().station_id == bob_alert.station_id


def test_the_crew_lead_who_attended_fills_it_in_even_when_not_first(erin_alert, alice_alert):
    on_scene(alice_alert, minutes_ago=20)
    on_scene(erin_alert, minutes_ago=10)
    assert listed(erin_alert)["fills_outcome"] is True and listed(alice_alert)["fills_outcome"] is False
    assert form(alice_alert)["filled_in_by"] == ["Erin"]
    with pytest.raises(NotAllowed):
        submit(alice_alert, RecordKind.OUTCOME, **valid_outcome())


def test_a_crew_without_a_crew_lead_has_its_outcome_filled_in_by_the_one_who_attended(
    erin_alert, alice_alert, stations
):
    """As in the trial: the crew lead who accepted belongs to another crew (another station) that
    never got there; the firefighter who attended is the only one of their own crew."""
    Alert.objects.filter(pk=alice_alert.pk).update(station=stations["yarmouth"])
    alice_alert.refresh_from_db()
    on_scene(alice_alert, minutes_ago=10)

    assert listed(alice_alert) == {"outcome_expected": True, "fills_outcome": True}
    assert form(alice_alert) == {"editable": True, "expected": True, "fills_it": True, "filled_in_by": ["Alice"]}
    # The lead's own crew owes nothing, and both screens say so (he may still file it: see below).
    assert listed(erin_alert) == {"outcome_expected": False, "fills_outcome": True}
    assert form(erin_alert) == {"editable": True, "expected": False, "fills_it": True, "filled_in_by": ["Erin"]}

    response = client_for(alice_alert.responder.user).post(
        f"/api/v1/alerts/{alice_alert.pk}/outcome/", body(**valid_outcome()), format="json"
    )
    assert response.status_code == 201, response.content


def test_the_attendance_form_saying_attended_counts_as_attending(erin_alert, alice_alert, alice):
    """Busy on scene, nobody pressed "On scene" nor used the checklist: the crew still owes the
    outcome, filled in by the one whose attendance form says they were there."""
    assert listed(alice_alert) == {"outcome_expected": False, "fills_outcome": False}
    submit(alice_alert, attended=True, on_scene_at=ago(minutes=30).isoformat())
    assert listed(alice_alert) == {"outcome_expected": True, "fills_outcome": True}
    assert listed(erin_alert) == {"outcome_expected": True, "fills_outcome": False}
    opened = actions.open_form(actor=alice.user, kind=RecordKind.OUTCOME, alert_id=alice_alert.pk)
    assert opened.editable and opened.prefill["crew"] == [alice.pk]


def test_events_logged_on_scene_count_and_order_the_arrivals(erin_alert, alice_alert, bob_alert):
    on_scene(alice_alert, minutes_ago=10)
    record_onscene_event(
        actor=bob_alert.responder.user,
        alert_id=bob_alert.pk,
        idempotency_key=uuid.uuid4(),
        type="arrived",
        occurred_at=ago(minutes=12),
    )
    assert listed(bob_alert)["fills_outcome"] is True and listed(alice_alert)["fills_outcome"] is False


def test_when_nobody_attended_nothing_is_owed_and_only_the_crew_lead_may_file_it(erin_alert, alice_alert):
    assert listed(alice_alert) == {"outcome_expected": False, "fills_outcome": False}
    assert listed(erin_alert) == {"outcome_expected": False, "fills_outcome": True}
    assert form(alice_alert) == {"editable": False, "expected": False, "fills_it": False, "filled_in_by": ["Erin"]}
    with pytest.raises(NotAllowed) as refused:
        submit(alice_alert, RecordKind.OUTCOME, **valid_outcome())
    assert refused.value.message == (
        "Nobody of your crew is recorded as attending: only your crew lead may submit its outcome form."
    )
