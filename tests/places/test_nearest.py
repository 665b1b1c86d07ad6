"""The nearest query: a bounding box, then the exact distance; nearest first, within the radius."""

import pytest
from django.utils import timezone

from backend.places.models import Defibrillator
from backend.places.nearest import bounding_box, distance_m, nearest_defibrillators

pytestmark = pytest.mark.django_db
INCIDENT = (52.6300, 1.2950)


def place(source_id, north_m, east_m, **fields):
    lat = INCIDENT[0] + north_m / 111_195
    lon = INCIDENT[1] + east_m / (111_195 * 0.6074)  # cos(52.63°)
    return Defibrillator.objects.create(
        source="osm", source_id=source_id, latitude=lat, longitude=lon, imported_at=timezone.now(), **fields
    )


def test_distance_is_the_great_circle_distance():
    # Norwich (Carrow) to Great Yarmouth's station: 28.1 km as the crow flies.
    assert distance_m(52.6237, 1.3113, 52.6089, 1.7262) == pytest.approx(28_100, rel=0.01)


def test_the_box_holds_the_whole_circle_east_and_west():
    _, north, west, east = bounding_box(*INCIDENT, 1000)
    assert distance_m(*INCIDENT, north, INCIDENT[1]) == pytest.approx(1000, rel=1e-3)
    assert distance_m(*INCIDENT, INCIDENT[0], east) >= 1000 and distance_m(*INCIDENT, INCIDENT[0], west) >= 1000


def test_it_returns_the_nearest_within_the_radius_nearest_first():
    far_corner = place("corner", 800, 800)  # in the box, 1,131 m away: outside the circle
    third = place("third", 0, -900)
    first = place("first", 100, 0)
    second = place("second", -500, 0)
    place("fourth", 950, 0)
    place("removed", 50, 0, removed_from_source_at=timezone.now())

    found = nearest_defibrillators(*INCIDENT, count=3, radius_m=1000)

    assert [nearby.defibrillator for nearby in found] == [first, second, third]
    assert [round(nearby.distance_m, -1) for nearby in found] == [100, 500, 900]
    everything_within = nearest_defibrillators(*INCIDENT, count=9, radius_m=1000)
    assert far_corner not in [nearby.defibrillator for nearby in everything_within]
