"""GET /api/v1/map/: the maps' tile settings and the stations (backend/api/map_views.py)."""

from rest_framework.test import APIClient

from backend.accounts.models import Station
from tests.api.helpers import assert_error, assert_matches
from tests.conftest import client_for


def test_a_firefighter_gets_no_tiles_by_default_and_the_active_stations(alice, settings):
    settings.MAP_TILE_URL = ""
    Station.objects.create(name="Closed station", code="closed", latitude=52.0, longitude=1.0, active=False)
    body = client_for(alice.user).get("/api/v1/map/").json()
    assert_matches("map", body)
    assert body["tile_url"] == "" and body["attribution"] == ""
    names = [station["name"] for station in body["stations"]]
    assert "Norwich" in names and "Closed station" not in names
    norwich = next(station for station in body["stations"] if station["name"] == "Norwich")
    assert {"latitude", "longitude", "code", "id"} <= norwich.keys()


def test_the_tile_server_and_its_attribution_come_from_the_settings(carol, settings):
    settings.MAP_TILE_URL = "https://tiles.example.org/{z}/{x}/{y}.png"
    settings.MAP_TILE_ATTRIBUTION = "© OpenStreetMap contributors"
    body = client_for(carol).get("/api/v1/map/").json()
    assert_matches("map", body)
    assert body["tile_url"] == "https://tiles.example.org/{z}/{x}/{y}.png"
    assert body["attribution"] == "© OpenStreetMap contributors"


def test_nobody_signed_out_gets_the_stations(db):
    assert_error(APIClient().get("/api/v1/map/"), 401)
