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


def test_dispatching_again_alerts_only_people_not_yet_alerted(incident, carol, alice, stations):
    first = dispatch_incident(actor=carol, incident_id=incident.pk)
    assert [a.responder.user.username for a in first] == ["alice"]
    from tests.conftest import make_firefighter

    make_firefighter("late", stations["norwich"])
    second = dispatch_incident(actor=carol, incident_id=incident.pk)
    assert [(a.responder.user.username, a.rank) for a in second] == [("late", 2)]
    assert dispatch_incident(actor=carol, incident_id=incident.pk) == []


def test_a_coordinator_can_name_responders_beyond_the_radius(incident, carol, alice, dave):
    alerts = dispatch_incident(actor=carol, incident_id=incident.pk, responder_ids=[dave.pk])
    assert [a.responder.user.username for a in alerts] == ["dave"]
    assert alerts[0].distance_km > 50


def test_it_can_be_limited_to_some_stations(incident, carol, alice, charlie, stations, settings):
    settings.DISPATCH_RADIUS_KM = 40
    alerts = dispatch_incident(actor=carol, incident_id=incident.pk, station_ids=[stations["yarmouth"].pk])
    assert [a.responder.user.username for a in alerts] == ["charlie"]


def test_with_nobody_eligible_it_alerts_nobody_and_says_why(incident, carol, dave, settings):
    settings.DISPATCH_NEXT_RINGS_KM = []  # Norwich's station is within 20 km, but nobody is on call there
    assert dispatch_incident(actor=carol, incident_id=incident.pk) == []
    incident.refresh_from_db()
    assert incident.unreached_reason == "nobody_on_call"
    assert incident.alarm_raised_at is not None
    # Dispatched all the same: the ladder keeps looking, in case someone comes on call.
    assert incident.dispatched_at is not None and incident.next_escalation_at is not None


def test_the_dispatch_system_can_dispatch(incident, cad, alice):
    assert len(dispatch_incident(actor=cad, incident_id=incident.pk)) == 1


def test_an_unknown_incident_is_not_found(carol):
    from backend.errors import NotFound

    with pytest.raises(NotFound):
        dispatch_incident(actor=carol, incident_id=424242)
