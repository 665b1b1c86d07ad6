"""Alerting a named responder who cannot be alerted again (found by a browser trial of the board):
the board's dialog listed Kate, who had declined the incident; choosing her, the answer read
"Nobody was alerted: the named responders are off call, untrained or already alerted", though she
was on call and trained. Now the candidates mark who cannot be alerted and why, and a named
dispatch that reaches nobody says the true reason."""

import pytest
from django.test import Client
from django.urls import reverse

from backend.accounts.models import Responder
from backend.dispatch.actions import dispatch_incident, respond_to_alert, stand_down
from backend.dispatch.admin import AlertNamedForm
from backend.dispatch.models import AlertState, Incident, UnreachedReason
from tests.conftest import admin_client_for, pass_second_factor


def coordinator_api(user):
    client = Client()
    client.force_login(user)
    pass_second_factor(client, user)
    return client


def name_in_dispatch(client, incident, *responders):
    response = client.post(
        f"/api/v1/incidents/{incident.pk}/dispatch/",
        {"responder_ids": [responder.pk for responder in responders]},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    return response.json()["dispatch"]


@pytest.fixture
def declined(carol, incident, alice, bob):
    """Alice and Bob alerted; Alice declined."""
    alerts = {alert.responder_id: alert for alert in dispatch_incident(actor=carol, incident_id=incident.pk)}
    return respond_to_alert(actor=alice.user, alert_id=alerts[alice.pk].pk, response="decline", reason="unavailable")


def test_naming_someone_who_declined_says_so(carol, incident, alice, declined):
    outcome = name_in_dispatch(coordinator_api(carol), incident, alice)

    assert outcome["alerted_count"] == 0
    assert outcome["nobody_because"] == UnreachedReason.NAMED_DECLINED
    assert "declined this incident" in outcome["message"]
    assert Incident.objects.get(pk=incident.pk).unreached_reason == UnreachedReason.NAMED_DECLINED


def test_naming_someone_already_alerted_or_off_call_says_which(carol, incident, alice, bob, charlie, declined):
    client = coordinator_api(carol)

    assert name_in_dispatch(client, incident, bob)["nobody_because"] == UnreachedReason.NAMED_ALREADY_ALERTED
    Responder.objects.filter(pk=charlie.pk).update(on_call=False)
    assert name_in_dispatch(client, incident, charlie)["nobody_because"] == UnreachedReason.NAMED_OFF_CALL
    assert name_in_dispatch(client, incident, alice, charlie)["nobody_because"] == UnreachedReason.NAMED_NOT_AVAILABLE


def test_someone_stood_down_is_still_alerted_again_by_name(carol, incident, alice, bob, declined):
    bob_alert = incident.alerts.get(responder=bob)
    stand_down(actor=carol, incident_id=incident.pk, alert_ids=[bob_alert.pk])

    assert name_in_dispatch(coordinator_api(carol), incident, bob)["alerted_count"] == 1
    bob_alert.refresh_from_db()
    assert bob_alert.state == AlertState.ALERTED


def test_the_candidates_mark_who_declined_and_when(carol, incident, alice, bob, charlie, declined):
    response = coordinator_api(carol).get(f"/api/v1/incidents/{incident.pk}/named-candidates/")

    listed = {item["id"]: item for item in response.json()["responders"]}
    assert bob.pk not in listed  # alerted and unanswered: already on the card
    assert listed[alice.pk]["cannot_alert"] == "declined"
    assert listed[alice.pk]["cannot_alert_since"] == declined.declined_at.isoformat()
    assert (listed[charlie.pk]["cannot_alert"], listed[charlie.pk]["cannot_alert_since"]) == (None, None)


def test_the_admins_form_leaves_out_who_declined_and_says_why_not(carol, incident, alice, bob, charlie, declined):
    form = AlertNamedForm(incident=incident)
    assert [choice for choice, _label in form.fields["responder"].choices] == [charlie.pk]

    page = admin_client_for(carol).get(reverse("admin:dispatch_incident_alert_named", args=[incident.pk]))
    assert "declined this incident" in page.content.decode()
