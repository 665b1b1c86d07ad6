"""Selection by a fresh on-call position (issue 14 item 4): a responder who opted in and whose fix is
fresher than POSITION_FRESH_FOR_SELECTION_SECONDS is ranked, and the radius applied, by that
position; a stale fix, or none shared, leaves the station (backend/dispatch/selection.py)."""

import datetime

import pytest
from django.utils import timezone

from backend.accounts.models import OnCallPosition
from backend.dispatch import actions
from backend.dispatch.selection import select_responders
from tests.conftest import GREAT_YARMOUTH, KINGS_LYNN, NORWICH_INCIDENT, make_firefighter

TODAY = timezone.localdate()
# About 1 km and 3 km from the incident (north of it, along a meridian).
ONE_KM_AWAY = (NORWICH_INCIDENT[0] + 1 / 111.195, NORWICH_INCIDENT[1])
THREE_KM_AWAY = (NORWICH_INCIDENT[0] + 3 / 111.195, NORWICH_INCIDENT[1])


def place(responder, where, *, age_seconds=30, opted_in=True):
    responder.share_position_on_call = opted_in
    responder.save(update_fields=["share_position_on_call"])
    recorded = timezone.now() - datetime.timedelta(seconds=age_seconds)
    OnCallPosition.objects.update_or_create(
        responder=responder,
        defaults={"latitude": where[0], "longitude": where[1], "recorded_at": recorded, "received_at": recorded},
    )


def select(radius_km=20):
    return select_responders(
        latitude=NORWICH_INCIDENT[0],
        longitude=NORWICH_INCIDENT[1],
        today=TODAY,
        radius_km=radius_km,
        max_per_station=4,
        max_total=50,
    ).candidates


def ranked(radius_km=20):
    return [(c.responder.user.username, round(c.distance_km, 1), c.distance_from) for c in select(radius_km)]


def test_a_fresh_position_ranks_a_responder_before_those_measured_from_the_station(alice, bob):
    # Both at Norwich station (about 1.3 km); bob is 1 km away, north of the incident, now.
    place(bob, ONE_KM_AWAY)
    assert ranked() == [("bob", 1.0, "position"), ("alice", 1.3, "station")]


def test_a_fresh_position_farther_than_the_station_ranks_them_after(alice, bob):
    place(alice, THREE_KM_AWAY)
    assert ranked() == [("bob", 1.3, "station"), ("alice", 3.0, "position")]


def test_a_stale_fix_is_ignored(alice, bob, settings):
    settings.POSITION_FRESH_FOR_SELECTION_SECONDS = 600
    place(alice, THREE_KM_AWAY, age_seconds=601)
    assert [item[2] for item in ranked()] == ["station", "station"]


def test_a_fix_of_someone_who_has_not_opted_in_is_ignored(alice, bob):
    place(alice, THREE_KM_AWAY, opted_in=False)
    assert [item[2] for item in ranked()] == ["station", "station"]


def test_a_responder_whose_station_is_out_of_range_but_who_is_near_is_eligible(alice, dave):
    # Dave's station (King's Lynn) is about 60 km away; he is 1 km from the incident.
    place(dave, ONE_KM_AWAY)
    assert ranked() == [("dave", 1.0, "position"), ("alice", 1.3, "station")]


def test_a_responder_whose_station_is_in_range_but_who_is_far_is_not(alice, bob):
    place(bob, KINGS_LYNN)
    assert ranked() == [("alice", 1.3, "station")]
    assert [item[0] for item in ranked(radius_km=100)] == ["alice", "bob"]


def test_nobody_near_and_no_station_in_range_says_so(stations):
    charlie = make_firefighter("far", stations["yarmouth"])
    place(charlie, GREAT_YARMOUTH)
    selection = select_responders(
        latitude=NORWICH_INCIDENT[0],
        longitude=NORWICH_INCIDENT[1],
        today=TODAY,
        radius_km=20,
        max_per_station=4,
        max_total=50,
        station_ids=[stations["yarmouth"].pk],
    )
    assert selection.candidates == [] and selection.nobody_because == "no_station_in_range"


def test_the_alert_says_where_its_distance_is_measured_from(incident, carol, alice, bob):
    place(bob, ONE_KM_AWAY)
    made = {
        alert.responder.user.username: alert
        for alert in actions.dispatch_incident(actor=carol, incident_id=incident.pk)
    }
    assert (made["bob"].rank, made["bob"].distance_from, made["bob"].distance_km) == (
        1,
        "position",
        pytest.approx(1.0, abs=0.01),
    )
    assert (made["alice"].rank, made["alice"].distance_from) == (2, "station")
    made["bob"].refresh_from_db()
    assert made["bob"].distance_from == "position"
