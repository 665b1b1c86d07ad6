import pytest

from backend.dispatch.actions import dispatch_incident
from backend.dispatch.models import AlertState
from backend.errors import NotAllowed
from backend.realtime.models import ResponderEvent


def test_it_alerts_the_on_call_responders_within_the_radius_nearest_first(
    incident, carol, alice, bob, charlie, dave, settings
):
    settings.DISPATCH_RADIUS_KM = 40  # Great Yarmouth is about 29 km away, King's Lynn about 60

    alerts = dispatch_incident(actor=carol, incident_id=incident.pk)

    assert [a.responder.user.username for a in alerts] == ["alice", "bob", "charlie"]
    assert all(a.state == AlertState.ALERTED for a in alerts)
    assert [a.rank for a in alerts] == [1, 2, 3]
    assert alerts[0].distance_km < 3 < 25 < alerts[2].distance_km < 35
    incident.refresh_from_db()
    assert incident.dispatched_at is not None


def test_it_stores_an_alert_created_event_for_each_alerted_responder(incident, carol, alice, bob, charlie):
    dispatch_incident(actor=carol, incident_id=incident.pk)

    created = ResponderEvent.objects.filter(type="alert.created")
    assert sorted(e.responder.user.username for e in created) == ["alice", "bob"]


def test_it_refuses_a_firefighter(incident, alice):
    with pytest.raises(NotAllowed):
        dispatch_incident(actor=alice.user, incident_id=incident.pk)
    assert not incident.alerts.exists()
