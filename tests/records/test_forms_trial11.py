"""The after-call forms as the eleventh trial of the product found them, on the server's side:

- "Left scene" was never filled in for one on scene whose incident was cancelled, or who was stood
  down: they have no "Leaving" to press. The attendance form now gives the time the call ended for
  them (never before what they logged on scene), marked as an estimate (`prefill_estimated`).
- The call's forms page said "Not started", then "Not needed", of the own forms of one who withdrew
  before setting off: it waited for the forms list. Each form now says whether it is owed
  (`own_forms_expected`, as the list does)."""

import datetime
import uuid

from backend.checklists.actions import record_onscene_event
from backend.dispatch.actions import cancel_incident, respond_to_alert, stand_down
from backend.records import actions
from backend.records.models import RecordKind
from tests.conftest import client_for
from tests.records.conftest import submit


def on_scene(alert):
    respond_to_alert(actor=alert.responder.user, alert_id=alert.pk, response="en_route")
    return respond_to_alert(actor=alert.responder.user, alert_id=alert.pk, response="on_scene")


def attendance(alert):
    return actions.open_form(actor=alert.responder.user, kind=RecordKind.ATTENDANCE, alert_id=alert.pk)


def test_left_scene_is_when_the_incident_was_cancelled_as_an_estimate(alice_alert, carol):
    on_scene(alice_alert)
    incident = cancel_incident(actor=carol, incident_id=alice_alert.incident_id, reason="Ambulance on scene")
    form = attendance(alice_alert)
    assert form.prefill["left_scene_at"] == incident.cancelled_at.isoformat()
    assert form.estimated == ("left_scene_at",)
    record, created = submit(alice_alert, **form.prefill)
    assert created and record.left_scene_at == incident.cancelled_at


def test_left_scene_is_when_they_were_stood_down(alice_alert, carol):
    on_scene(alice_alert)
    stand_down(actor=carol, incident_id=alice_alert.incident_id, alert_ids=[alice_alert.pk])
    alice_alert.refresh_from_db()
    form = attendance(alice_alert)
    assert form.prefill["left_scene_at"] == alice_alert.stood_down_at.isoformat()
    assert form.estimated == ("left_scene_at",)


def test_left_scene_is_never_before_what_they_logged_on_scene(alice_alert, carol):
    on_scene(alice_alert)
    incident = cancel_incident(actor=carol, incident_id=alice_alert.incident_id, reason="Ambulance on scene")
    later = incident.cancelled_at + datetime.timedelta(seconds=40)  # CPR carried on after the cancel
    record_onscene_event(
        actor=alice_alert.responder.user,
        alert_id=alice_alert.pk,
        idempotency_key=uuid.uuid4(),
        type="cpr_started",
        occurred_at=later,
    )
    assert attendance(alice_alert).prefill["left_scene_at"] == later.isoformat()


def test_not_for_one_who_never_got_there_nor_one_who_cleared(alice_alert, bob_alert, carol):
    respond_to_alert(actor=bob_alert.responder.user, alert_id=bob_alert.pk, response="en_route")
    on_scene(alice_alert)
    cleared = respond_to_alert(actor=alice_alert.responder.user, alert_id=alice_alert.pk, response="cleared")
    cancel_incident(actor=carol, incident_id=alice_alert.incident_id, reason="Ambulance on scene")
    bob = attendance(bob_alert)
    assert "left_scene_at" not in bob.prefill and bob.estimated == ()
    alice = attendance(alice_alert)
    assert alice.prefill["left_scene_at"] == cleared.cleared_at.isoformat() and alice.estimated == ()


def test_each_form_says_whether_their_own_forms_are_owed(alice_alert, bob_alert):
    respond_to_alert(
        actor=alice_alert.responder.user, alert_id=alice_alert.pk, response="decline", reason="no_transport"
    )
    for kind in ("attendance", "welfare", "outcome"):
        alice = client_for(alice_alert.responder.user).get(f"/api/v1/alerts/{alice_alert.pk}/{kind}/").json()
        bob = client_for(bob_alert.responder.user).get(f"/api/v1/alerts/{bob_alert.pk}/{kind}/").json()
        assert alice["own_forms_expected"] is False and bob["own_forms_expected"] is True, kind
        assert alice["prefill_estimated"] == [] and bob["prefill_estimated"] == [], kind
