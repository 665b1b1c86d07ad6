"""A firefighter who set off (en route) before control stood them down, and was then alerted again,
was mobile: they owe their attendance form (it feeds on-call pay) and a welfare check-in, however
the call then ended (docs/hazard-log.md H10 control 4, H20). The re-alert clears en_route_at (the
setting off was stood down and is asked afresh: actions._ask_afresh), and never_set_off read it, so
the forms list said "Not needed". The alert keeps that they set off (Alert.first_en_route_at, as
first_accepted_at keeps that they accepted); the audit trail is as it was. The phone's list without
signal says the same (tests/js/forms-set-off-before-a-realert.test.mjs)."""

import pytest

from backend.audit.models import AuditEntry
from backend.dispatch.actions import cancel_incident, dispatch_incident, respond_to_alert, stand_down
from backend.dispatch.models import Alert, AlertState
from tests.conftest import client_for
from tests.records.test_never_set_off import form, listed


def trail_of(alert) -> list[dict]:
    """The audit trail's entries for the alert, oldest first: what each says."""
    entries = AuditEntry.objects.filter(object_type="alert", object_id=str(alert.pk)).order_by("at", "pk")
    return [entry.detail for entry in entries]


def set_off_stood_down_and_alerted_again(alert, carol) -> Alert:
    respond_to_alert(actor=alert.responder.user, alert_id=alert.pk, response="en_route")
    stand_down(actor=carol, incident_id=alert.incident_id, alert_ids=[alert.pk])
    dispatch_incident(actor=carol, incident_id=alert.incident_id, responder_ids=[alert.responder_id])
    alert.refresh_from_db()
    assert alert.state == AlertState.ALERTED and alert.en_route_at is None  # asked afresh
    return alert


def end(how, alert, carol) -> Alert:
    if how == "cancelled":
        cancel_incident(actor=carol, incident_id=alert.incident_id, reason="Ambulance on scene")
    else:
        stand_down(actor=carol, incident_id=alert.incident_id, alert_ids=[alert.pk])
    alert.refresh_from_db()
    return alert


@pytest.mark.parametrize("how", ["cancelled", "stood_down"])
def test_one_who_set_off_before_a_re_alert_still_owes_their_own_forms(how, alice_alert, bob_alert, carol):
    alert = end(how, set_off_stood_down_and_alerted_again(alice_alert, carol), carol)

    item = listed(alert)

    assert item["own_forms_expected"] is True, item  # not "Not needed": they were mobile
    for kind in ("attendance", "welfare"):
        assert form(alert, kind)["own_forms_expected"] is True, kind


def test_the_first_setting_off_is_kept_and_given_while_the_audit_trail_is_unchanged(alice_alert, bob_alert, carol):
    respond_to_alert(actor=alice_alert.responder.user, alert_id=alice_alert.pk, response="en_route")
    alice_alert.refresh_from_db()
    first = alice_alert.en_route_at
    assert alice_alert.first_en_route_at == first
    trail_before = trail_of(alice_alert)

    stand_down(actor=carol, incident_id=alice_alert.incident_id, alert_ids=[alice_alert.pk])
    dispatch_incident(actor=carol, incident_id=alice_alert.incident_id, responder_ids=[alice_alert.responder_id])
    alert = end("cancelled", alice_alert, carol)

    body = client_for(alert.responder.user).get(f"/api/v1/alerts/{alert.pk}/").json()
    assert body["en_route_at"] is None and body["first_en_route_at"] == first.isoformat()
    # Mobile is prefilled from that setting off.
    assert form(alert, "attendance")["prefill"]["mobile_at"] == first.isoformat()
    # The trail: each state as before, nothing else in its entries.
    trail = trail_of(alert)
    assert trail[: len(trail_before)] == trail_before
    assert trail == [
        {"state": state} for state in ("alerted", "accepted", "en_route", "stood_down", "alerted", "cancelled")
    ]


def test_setting_off_again_keeps_the_first(alice_alert, bob_alert, carol):
    alert = set_off_stood_down_and_alerted_again(alice_alert, carol)
    first = alert.first_en_route_at
    respond_to_alert(actor=alert.responder.user, alert_id=alert.pk, response="accept")
    respond_to_alert(actor=alert.responder.user, alert_id=alert.pk, response="en_route")
    alert.refresh_from_db()
    assert alert.en_route_at > first and alert.first_en_route_at == first


def test_one_who_never_set_off_before_the_re_alert_still_owes_none(alice_alert, bob_alert, carol):
    stand_down(actor=carol, incident_id=alice_alert.incident_id, alert_ids=[alice_alert.pk])
    dispatch_incident(actor=carol, incident_id=alice_alert.incident_id, responder_ids=[alice_alert.responder_id])
    alert = end("cancelled", alice_alert, carol)

    assert alert.first_en_route_at is None
    assert listed(alert)["own_forms_expected"] is False
