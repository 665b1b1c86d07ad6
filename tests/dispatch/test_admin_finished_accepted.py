"""A finished incident's coverage text on the admin's Dispatch and Close pages (admin._going_text)
counts everyone who ever accepted, with those who withdrew, as the incident list's Accepted column
and the boards do (board-state.js coverageText): "Accepted 2 (1 withdrew) · attended 1". It said
"Accepted 1 · attended 1" (coverage.Coverage.accepted leaves out those who withdrew) beside the
list's "2 (1 withdrew)" for the same incident."""

import pytest
from django.urls import reverse

from backend.dispatch.actions import close_incident, dispatch_incident, respond_to_alert
from backend.dispatch.admin import _going_text
from backend.dispatch.models import Incident
from tests.conftest import admin_client_for
from tests.dispatch.test_admin_accepted_column import column

CHANGELIST = reverse("admin:dispatch_incident_changelist")
SAID = "Accepted 2 (1 withdrew) · attended 1"


@pytest.fixture
def one_went_one_withdrew(carol, alice, bob, incident):
    """Alice accepted and went on scene; Bob accepted, then withdrew (declined); then it closed."""
    alerts = {a.responder.user.username: a for a in dispatch_incident(actor=carol, incident_id=incident.pk)}
    respond_to_alert(actor=alice.user, alert_id=alerts["alice"].pk, response="accept")
    respond_to_alert(actor=alice.user, alert_id=alerts["alice"].pk, response="on_scene")
    respond_to_alert(actor=bob.user, alert_id=alerts["bob"].pk, response="accept")
    respond_to_alert(actor=bob.user, alert_id=alerts["bob"].pk, response="decline", reason="no_transport")
    close_incident(actor=carol, incident_id=incident.pk)
    return incident


@pytest.mark.parametrize("action", ["dispatch_incidents", "close_incidents"])
def test_the_list_actions_pages_count_who_accepted_as_the_list_does(carol, one_went_one_withdrew, action):
    coordinator = admin_client_for(carol)
    listed = coordinator.get(CHANGELIST)
    assert column(listed, "Accepted") == ["2 (1 withdrew)"]

    page = coordinator.post(CHANGELIST, {"action": action, "_selected_action": [one_went_one_withdrew.pk], "index": 0})

    assert page.status_code == 200
    assert f"<td>{SAID}</td>" in page.content.decode()


def test_an_incident_read_without_the_lists_counts_is_counted_the_same(one_went_one_withdrew):
    assert _going_text(Incident.objects.get(pk=one_went_one_withdrew.pk)) == SAID
