import pytest

from backend.dispatch.actions import cancel_incident, dispatch_incident, respond_to_alert, stand_down
from backend.dispatch.models import Alert
from backend.errors import Conflict, InvalidInput, NotAllowed
from backend.realtime.models import ResponderEvent


@pytest.fixture
def alerts(incident, carol, alice, bob, stations):
    from tests.conftest import make_firefighter

    make_firefighter("ella", stations["norwich"])
    return {a.responder.user.username: a for a in dispatch_incident(actor=carol, incident_id=incident.pk)}


def states():
    return {a.responder.user.username: a.state for a in Alert.objects.select_related("responder__user")}


def test_it_stands_down_everyone_who_has_not_answered(alerts, carol, incident):
    respond_to_alert(actor=alerts["alice"].responder.user, alert_id=alerts["alice"].pk, response="accept")
    respond_to_alert(actor=alerts["bob"].responder.user, alert_id=alerts["bob"].pk, response="received")

    changed = stand_down(actor=carol, incident_id=incident.pk)

    assert sorted(a.responder.user.username for a in changed) == ["bob", "ella"]
    assert states() == {"alice": "accepted", "bob": "stood_down", "ella": "stood_down"}
    assert Alert.objects.get(pk=alerts["bob"].pk).stood_down_at is not None


def test_it_tells_each_stood_down_responder(alerts, carol, incident):
    stand_down(actor=carol, incident_id=incident.pk, alert_ids=[alerts["bob"].pk])
    updated = ResponderEvent.objects.filter(type="alert.updated")
    assert [(e.responder.user.username, e.data["alert"]["state"]) for e in updated] == [("bob", "stood_down")]


def test_named_alerts_can_be_stood_down_even_if_accepted(alerts, carol, incident):
    respond_to_alert(actor=alerts["alice"].responder.user, alert_id=alerts["alice"].pk, response="accept")
    stand_down(actor=carol, incident_id=incident.pk, alert_ids=[alerts["alice"].pk])
    assert states()["alice"] == "stood_down"


def test_an_alert_of_another_incident_is_refused(alerts, carol, incident):
    with pytest.raises(InvalidInput) as error:
        stand_down(actor=carol, incident_id=incident.pk, alert_ids=[alerts["alice"].pk, 999999])
    assert "999999" in error.value.fields["alert_ids"][0]
    assert set(states().values()) == {"alerted"}


def test_a_responder_who_already_declined_cannot_be_stood_down(alerts, carol, incident):
    respond_to_alert(
        actor=alerts["alice"].responder.user, alert_id=alerts["alice"].pk, response="decline", reason="unavailable"
    )
    with pytest.raises(Conflict) as error:
        stand_down(actor=carol, incident_id=incident.pk, alert_ids=[alerts["alice"].pk])
    assert "declined" in error.value.message


def test_a_firefighter_cannot_stand_crews_down(alerts, incident):
    with pytest.raises(NotAllowed):
        stand_down(actor=alerts["alice"].responder.user, incident_id=incident.pk)
    assert set(states().values()) == {"alerted"}


def test_a_cancelled_incident_has_nobody_to_stand_down(alerts, carol, incident):
    cancel_incident(actor=carol, incident_id=incident.pk, reason="Hoax")
    with pytest.raises(Conflict):
        stand_down(actor=carol, incident_id=incident.pk)
