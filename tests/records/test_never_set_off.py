"""Which forms of a call apply to whom (CLINICAL.md, DESIGN.md "after the call", hazard log H10
control 4): the crew's outcome to those who attended (access.OutcomeDuty), their own attendance
form and welfare check-in to anyone who set off (mobile: an en-route time) or attended. One who
never set off (alerted and never accepted, declined, stood down, or the call cancelled or closed
before they set off) owes none of them: the forms list says so (`own_forms_expected` false, the
outcome not theirs to fill), home counts nothing, and they may still file their own.

Found by a browser trial: the phone's forms list asked for an attendance form and a welfare
check-in after calls the firefighter was stood down from, or that were cancelled, before they set
off; only a withdrawal ("Can't attend after all") before setting off was taken as owing none."""

import pytest

from backend.dispatch.actions import cancel_incident, close_incident, respond_to_alert, stand_down
from tests.conftest import client_for


def listed(alert) -> dict | None:
    results = client_for(alert.responder.user).get("/api/v1/records/").json()["results"]
    found = [item for item in results if item["alert_id"] == alert.pk]
    return found[0] if found else None


def form(alert, kind) -> dict:
    return client_for(alert.responder.user).get(f"/api/v1/alerts/{alert.pk}/{kind}/").json()


def owes_nothing(item) -> bool:
    """The list asks this firefighter for none of the call's forms."""
    return item["own_forms_expected"] is False and item["fills_outcome"] is False


def end_before_setting_off(how, alert, carol):
    if how == "stood_down":
        stand_down(actor=carol, incident_id=alert.incident_id, alert_ids=[alert.pk])
    elif how == "cancelled":
        cancel_incident(actor=carol, incident_id=alert.incident_id, reason="Ambulance on scene")
    else:
        close_incident(actor=carol, incident_id=alert.incident_id)


@pytest.mark.parametrize("how", ["stood_down", "cancelled", "closed"])
def test_one_whose_call_ended_before_they_set_off_owes_no_forms(how, alice_alert, carol):
    end_before_setting_off(how, alice_alert, carol)
    item = listed(alice_alert)
    assert owes_nothing(item), item
    for kind in ("attendance", "welfare"):
        assert form(alice_alert, kind)["own_forms_expected"] is False, kind
    assert form(alice_alert, "attendance")["prefill"] == {"attended": False}  # no "Mobile"


@pytest.mark.parametrize("how", ["stood_down", "cancelled", "closed"])
def test_one_who_set_off_and_never_arrived_owes_only_their_own(how, alice_alert, carol):
    respond_to_alert(actor=alice_alert.responder.user, alert_id=alice_alert.pk, response="en_route")
    end_before_setting_off(how, alice_alert, carol)
    item = listed(alice_alert)
    # Mobile: their attendance (on-call pay, "did not attend") and a welfare check-in; not the
    # crew's outcome, which nobody of the crew attended.
    assert item["own_forms_expected"] is True, item
    assert item["outcome_expected"] is False and item["fills_outcome"] is False, item


def test_one_who_never_accepted_is_not_asked_at_all(alerts, carol):
    alert = alerts["bob"]
    respond_to_alert(actor=alert.responder.user, alert_id=alert.pk, response="decline", reason="no_transport")
    stand_down(actor=carol, incident_id=alerts["alice"].incident_id, alert_ids=[alerts["alice"].pk])
    assert listed(alert) is None and listed(alerts["alice"]) is None


def test_one_still_going_owes_them(alice_alert, bob_alert, carol):
    stand_down(actor=carol, incident_id=alice_alert.incident_id, alert_ids=[alice_alert.pk])
    assert listed(bob_alert)["own_forms_expected"] is True
