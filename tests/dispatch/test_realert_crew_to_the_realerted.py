"""The one alerted again hears the crew of the re-alert too. Found by a browser trial: both crews of
an incident stood down by the coordinator, one of them alerted again by name; the boards and the
other phone said "No one going now: 1 stood down by control, 1 alerted again after accepting", the
re-alerted firefighter's phone kept "No one going now: 2 stood down by control (2 needed)" until a
reload. Those first alerted get the crew with their alert over the API (their phone opens the new
alert's screen, which reads it); a phone alerted again may already show that alert's screen, and
reads nothing: the crew comes to it in its `incident.updated`.

Alice and Bob are at Norwich; the crew target is 2."""

import pytest

from backend.dispatch.actions import create_incident, dispatch_incident, respond_to_alert, stand_down
from backend.dispatch.models import Alert, Incident
from backend.realtime.models import ResponderEvent
from tests.conftest import NORWICH_INCIDENT


@pytest.fixture(autouse=True)
def rules(settings):
    settings.ESCALATION_LADDER = [(60, "ring"), (90, "sms"), (120, "alarm")]
    settings.DISPATCH_RADIUS_KM = 20
    settings.DISPATCH_NEXT_RINGS_KM = [35]
    settings.DISPATCH_CREW_TARGET = 2


def alert_of(incident, responder) -> Alert:
    return Alert.objects.get(incident=incident, responder=responder)


def latest(responder, type_) -> ResponderEvent:
    return ResponderEvent.objects.filter(responder=responder, type=type_).order_by("-pk").first()


def test_the_realerted_phone_hears_the_crew_of_its_realert(carol, alice, bob):
    incident = create_incident(
        actor=carol,
        cad_reference="T7-3",
        latitude=NORWICH_INCIDENT[0],
        longitude=NORWICH_INCIDENT[1],
        address="12 Example Road, Norwich",
    )
    dispatch_incident(actor=carol, incident_id=incident.pk)
    incident = Incident.objects.get(pk=incident.pk)
    for responder in (alice, bob):
        respond_to_alert(actor=responder.user, alert_id=alert_of(incident, responder).pk, response="accept")
    stand_down(actor=carol, incident_id=incident.pk, alert_ids=[alert_of(incident, r).pk for r in (alice, bob)])

    dispatch_incident(actor=carol, incident_id=incident.pk, responder_ids=[alice.pk])

    assert alert_of(incident, alice).state == "alerted"
    created = latest(alice, "alert.created")
    update = latest(alice, "incident.updated")
    assert update is not None and update.pk > created.pk  # after her re-alert, not the stand-down's
    told = {member["responder_id"]: member["no_longer_going"] for member in update.data["crew"]}
    assert told == {alice.pk: "alerted_again", bob.pk: "stood_down_by_control"}
    # Bob's phone heard the same crew.
    told_bob = {
        member["responder_id"]: member["no_longer_going"] for member in latest(bob, "incident.updated").data["crew"]
    }
    assert told_bob == told
