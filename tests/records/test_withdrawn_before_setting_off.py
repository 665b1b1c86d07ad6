"""A firefighter who accepted and then withdrew ("Can't attend after all") before setting off owes
no forms of their own: the forms list says so (`own_forms_expected` false), so home does not ask
for an attendance form and a welfare check-in they have no reason to file; they may still file
either. Their attendance form starts at "did not attend", with no mobile time.

Found by the ninth trial of the product: such a firefighter's home said "2 forms to fill after
calls", and the attendance form gave as "Mobile" the time they accepted."""

import uuid

import pytest

from backend.checklists.actions import record_onscene_event
from backend.dispatch.actions import respond_to_alert
from backend.errors import Conflict
from backend.records import actions
from backend.records.models import RecordKind
from tests.conftest import client_for
from tests.records.conftest import ago, submit


def withdraw(alert):
    return respond_to_alert(actor=alert.responder.user, alert_id=alert.pk, response="decline", reason="no_transport")


def listed(alert) -> dict:
    results = client_for(alert.responder.user).get("/api/v1/records/").json()["results"]
    [item] = [item for item in results if item["alert_id"] == alert.pk]
    return item


def test_one_who_withdrew_before_setting_off_owes_no_forms_of_their_own(alice_alert, bob_alert):
    withdraw(alice_alert)
    assert listed(alice_alert)["own_forms_expected"] is False
    assert listed(bob_alert)["own_forms_expected"] is True  # accepted, and still going


def test_one_who_turned_back_after_setting_off_still_owes_them(alice_alert):
    respond_to_alert(actor=alice_alert.responder.user, alert_id=alice_alert.pk, response="en_route")
    withdraw(alice_alert)
    assert listed(alice_alert)["own_forms_expected"] is True


def test_one_whose_phone_logged_events_on_scene_still_owes_them(alice_alert):
    record_onscene_event(
        actor=alice_alert.responder.user,
        alert_id=alice_alert.pk,
        idempotency_key=uuid.uuid4(),
        type="arrived",
        occurred_at=ago(minutes=1),
    )
    # The tap made them on scene (tests/checklists/test_checklist_arrival.py): too late to withdraw.
    with pytest.raises(Conflict):
        withdraw(alice_alert)
    assert listed(alice_alert)["own_forms_expected"] is True


def test_their_attendance_form_starts_at_did_not_attend_and_both_forms_may_still_be_filed(alice_alert, alice):
    withdraw(alice_alert)
    form = actions.open_form(actor=alice.user, kind=RecordKind.ATTENDANCE, alert_id=alice_alert.pk)
    assert form.prefill == {"attended": False}  # no "Mobile": they never set off

    attendance, created = submit(alice_alert, **form.prefill)
    assert created and attendance.attended is False
    _, created = submit(alice_alert, RecordKind.WELFARE, impact=1)
    assert created
    item = listed(alice_alert)
    assert item["attendance"]["version"] == 1 and item["welfare"]["version"] == 1
