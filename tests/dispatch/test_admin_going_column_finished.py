"""The incident list's "Going / needed" column says nothing of a finished incident. Found by a
product trial: a closed incident read "1 / 2" (the one who attended and cleared, against the crew
target: nobody is going to a finished job) and a cancelled one "0 / 1". A finished incident's row
says "—" there; who accepted and who attended are its Accepted and Attended columns, in the finished
boards' counts ("Accepted 2 (1 withdrew) · attended 1": board-state.js coverageText)."""

import pytest
from django.urls import reverse

from backend.dispatch.actions import cancel_incident, close_incident, dispatch_incident, respond_to_alert
from tests.conftest import admin_client_for
from tests.dispatch.test_admin_accepted_column import column

CHANGELIST = reverse("admin:dispatch_incident_changelist")


@pytest.fixture
def went_and_withdrew(carol, alice, bob, incident):
    """Alice accepted and went on scene; Bob accepted, then withdrew."""
    alerts = {a.responder.user.username: a for a in dispatch_incident(actor=carol, incident_id=incident.pk)}
    respond_to_alert(actor=alice.user, alert_id=alerts["alice"].pk, response="accept")
    respond_to_alert(actor=alice.user, alert_id=alerts["alice"].pk, response="on_scene")
    respond_to_alert(actor=bob.user, alert_id=alerts["bob"].pk, response="accept")
    respond_to_alert(actor=bob.user, alert_id=alerts["bob"].pk, response="decline", reason="no_transport")
    return incident


def test_an_open_incident_says_who_is_going_against_the_target(carol, went_and_withdrew):
    listed = admin_client_for(carol).get(CHANGELIST)
    assert column(listed, "Going / needed") == [f"1 / {went_and_withdrew.crew_target}"]


@pytest.mark.parametrize("finish", ["close", "cancel"])
def test_a_finished_incident_says_nobody_is_going_and_keeps_who_accepted_and_attended(carol, went_and_withdrew, finish):
    if finish == "close":
        close_incident(actor=carol, incident_id=went_and_withdrew.pk)
    else:
        cancel_incident(actor=carol, incident_id=went_and_withdrew.pk, reason="Ambulance on scene")

    listed = admin_client_for(carol).get(CHANGELIST)

    assert listed.status_code == 200
    assert column(listed, "Going / needed") == ["—"]
    assert column(listed, "Accepted") == ["2 (1 withdrew)"]
    assert column(listed, "Attended") == ["1"]
