"""The rules for who is alerted: radius, availability, training, station cap, order and ties."""

import datetime

from django.contrib.auth import get_user_model

from backend.dispatch.selection import great_circle_km, select_responders
from tests.conftest import NORWICH, NORWICH_INCIDENT, make_firefighter, make_station

TODAY = datetime.date(2026, 11, 25)


def select(**overrides):
    rules = {
        "latitude": NORWICH_INCIDENT[0],
        "longitude": NORWICH_INCIDENT[1],
        "today": TODAY,
        "radius_km": 20,
        "max_per_station": 4,
        "max_total": 50,
    }
    rules.update(overrides)
    return [candidate.responder.user.username for candidate in select_responders(**rules).candidates]


def test_great_circle_distance_matches_a_known_pair():
    # Norwich to Great Yarmouth fire stations: about 28 km.
    assert 27.5 < great_circle_km(52.6237, 1.3113, 52.6089, 1.7262) < 28.5
    assert great_circle_km(*NORWICH, *NORWICH) == 0


def test_it_keeps_responders_inside_the_radius_only(alice, charlie, dave):
    assert select() == ["alice"]
    assert select(radius_km=40) == ["alice", "charlie"]
    assert select(radius_km=100) == ["alice", "charlie", "dave"]


def test_it_leaves_out_responders_who_are_not_on_call(stations, alice):
    make_firefighter("off-duty", stations["norwich"], on_call=False)
    assert select() == ["alice"]


def test_it_leaves_out_responders_whose_training_has_expired(stations, alice):
    make_firefighter("expired", stations["norwich"], expires=TODAY - datetime.timedelta(days=1))
    make_firefighter("expires-today", stations["norwich"], expires=TODAY)
    assert select() == ["alice", "expires-today"]


def test_it_leaves_out_a_responder_with_either_training_missing_or_expired(stations, alice):
    no_defib = make_firefighter("no-defib", stations["norwich"])
    no_defib.defibrillator_training_expires = None
    no_defib.save()
    old_bls = make_firefighter("old-bls", stations["norwich"])
    old_bls.life_support_training_expires = TODAY - datetime.timedelta(days=30)
    old_bls.save()
    assert select() == ["alice"]


def test_it_leaves_out_deactivated_users_and_inactive_stations(stations, alice, bob):
    get_user_model().objects.filter(username="bob").update(is_active=False)
    assert select() == ["alice"]
    stations["norwich"].active = False
    stations["norwich"].save()
    assert select() == []


def test_it_caps_the_number_from_one_station(stations, alice, bob, charlie):
    make_firefighter("ella", stations["norwich"])
    assert select(max_per_station=2, radius_km=40) == ["alice", "bob", "charlie"]


def test_it_caps_the_total(alice, bob, charlie):
    assert select(max_total=2, radius_km=40) == ["alice", "bob"]


def test_it_orders_nearest_station_first_then_by_station_then_responder(stations):
    # Two stations the same distance from the incident: the one created first wins ties.
    east = make_station("East", "east", (NORWICH_INCIDENT[0], NORWICH_INCIDENT[1] + 0.05))
    west = make_station("West", "west", (NORWICH_INCIDENT[0], NORWICH_INCIDENT[1] - 0.05))
    make_firefighter("w2", west)
    make_firefighter("e1", east)
    make_firefighter("w1", west)
    make_firefighter("near", make_station("Near", "near", (NORWICH_INCIDENT[0] + 0.001, NORWICH_INCIDENT[1])))
    assert select() == ["near", "e1", "w2", "w1"]


def test_it_can_exclude_responders_already_alerted_and_limit_stations(stations, alice, bob, charlie):
    assert select(radius_km=40, exclude_responder_ids={alice.pk}) == ["bob", "charlie"]
    assert select(radius_km=40, station_ids=[stations["yarmouth"].pk]) == ["charlie"]


def test_named_responders_ignore_the_radius_but_not_availability(stations, alice, dave):
    off = make_firefighter("off", stations["lynn"], on_call=False)
    assert select(radius_km=None, responder_ids=[dave.pk, off.pk]) == ["dave"]
