"""Found by a browser trial: Chris accepted CAD-9, was stood down by control, alerted again by name,
and then the incident was cancelled. The re-alert cleared his alert's accepted_at (actions.
_ask_afresh: the acceptance was stood down and is asked for again), and the forms list (GET
records/, access.my_accepted_alerts) keyed on it, so the call left his list, while a call accepted,
stood down and cancelled without a re-alert was listed as "Not needed". A call the firefighter
accepted at any point stays theirs (Alert.first_accepted_at, kept by the re-alert): listed, with
its forms owed or not as never_set_off says, and its forms open to them. The re-alert still clears
accepted_at (the API and the audit trail say it was asked afresh)."""

from backend.audit.models import AuditEntry
from backend.dispatch.actions import cancel_incident, dispatch_incident, stand_down
from backend.dispatch.models import Alert, AlertState
from tests.conftest import client_for
from tests.records.test_never_set_off import form, listed, owes_nothing


def accepted_stood_down_alerted_again_and_cancelled(alert, carol) -> Alert:
    stand_down(actor=carol, incident_id=alert.incident_id, alert_ids=[alert.pk])
    dispatch_incident(actor=carol, incident_id=alert.incident_id, responder_ids=[alert.responder_id])
    alert.refresh_from_db()
    assert alert.state == AlertState.ALERTED and alert.accepted_at is None and alert.first_accepted_at is not None
    cancel_incident(actor=carol, incident_id=alert.incident_id, reason="Ambulance on scene")
    alert.refresh_from_db()
    return alert


def test_a_call_accepted_then_alerted_again_stays_in_the_forms_list_as_not_needed(alice_alert, bob_alert, carol):
    alert = accepted_stood_down_alerted_again_and_cancelled(alice_alert, carol)

    item = listed(alert)

    assert item is not None, "the call she accepted is in her forms list"
    assert owes_nothing(item), item  # "Not needed", as a call never alerted again
    for kind in ("attendance", "welfare"):
        assert form(alert, kind)["own_forms_expected"] is False, kind


def test_the_re_alert_still_clears_the_acceptance_and_keeps_the_first(alice_alert, bob_alert, carol):
    first = alice_alert.accepted_at
    alert = accepted_stood_down_alerted_again_and_cancelled(alice_alert, carol)

    body = client_for(alert.responder.user).get(f"/api/v1/alerts/{alert.pk}/").json()

    assert body["accepted_at"] is None
    assert body["first_accepted_at"] == first.isoformat()
    assert AuditEntry.objects.filter(object_type="alert", object_id=str(alert.pk), detail__state="accepted").exists()


def test_a_call_never_accepted_is_still_left_out(alerts, alice_alert, carol):
    alert = alerts["bob"]
    stand_down(actor=carol, incident_id=alert.incident_id, alert_ids=[alert.pk])
    dispatch_incident(actor=carol, incident_id=alert.incident_id, responder_ids=[alert.responder_id])
    cancel_incident(actor=carol, incident_id=alert.incident_id, reason="Ambulance on scene")

    assert listed(alert) is None
