"""The maps' settings: MAP_TILE_URL is checked at start-up (backend/env.py), and the
Content-Security-Policy allows its origin for images only when it is set (backend/headers.py)."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client

from backend import env
from backend.headers import tile_origin
from tests.test_content_security_policy import directives


@pytest.mark.parametrize(
    "url",
    [
        "https://tiles.example.org/{z}/{x}/{y}.png",
        "https://{s}.tile.example.org/{z}/{x}/{y}{r}.png",
        "http://localhost:8080/tiles/{z}/{x}/{y}.png",
    ],
)
def test_a_tile_url_template_is_accepted(monkeypatch, url):
    monkeypatch.setenv("MAP_TILE_URL", url)
    assert env.tile_url("MAP_TILE_URL") == url


def test_no_tile_url_is_none(monkeypatch):
    monkeypatch.delenv("MAP_TILE_URL", raising=False)
    assert env.tile_url("MAP_TILE_URL") == ""


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://tiles.example.org/{z}/{x}/{y}.png", "https://"),
        ("tiles.example.org/{z}/{x}/{y}.png", "https://"),
        ("https://tiles.example.org/{z}/{x}.png", "lacks {y}"),
        ("https://tiles.example.org;script-src/{z}/{x}/{y}", "plain name"),
        ("https://{z}.example.org/{z}/{x}/{y}", "plain name"),
        ("https:///{z}/{x}/{y}", "plain name"),
    ],
)
def test_a_bad_tile_url_stops_start_up_naming_the_setting(monkeypatch, url, message):
    monkeypatch.setenv("MAP_TILE_URL", url)
    with pytest.raises(ImproperlyConfigured, match="MAP_TILE_URL") as raised:
        env.tile_url("MAP_TILE_URL")
    assert message in str(raised.value)


def test_the_tile_origin_covers_the_subdomains_of_a_template():
    assert tile_origin("https://{s}.tile.example.org/{z}/{x}/{y}.png") == "https://*.tile.example.org"
    assert tile_origin("https://tiles.example.org:8443/a/{z}/{x}/{y}.png") == "https://tiles.example.org:8443"


@pytest.mark.parametrize("path", ["/", "/admin/dispatch/incident/board/", "/admin/login/"])
def test_with_no_tile_server_images_come_only_from_this_origin(db, settings, path):
    settings.MAP_TILE_URL = ""
    assert directives(Client().get(path))["img-src"] == ["'self'", "data:"]


@pytest.mark.parametrize("path", ["/", "/admin/dispatch/incident/board/", "/admin/login/"])
def test_with_a_tile_server_its_origin_may_serve_images_and_nothing_else(db, settings, path):
    settings.MAP_TILE_URL = "https://{s}.tile.example.org/{z}/{x}/{y}.png"
    policy = directives(Client().get(path))
    assert policy["img-src"] == ["'self'", "data:", "https://*.tile.example.org"]
    others = [value for name, values in policy.items() if name != "img-src" for value in values]
    assert not any("example.org" in value for value in others)


def test_a_json_answer_never_allows_the_tile_server(db, settings):
    settings.MAP_TILE_URL = "https://tiles.example.org/{z}/{x}/{y}.png"
    policy = directives(Client().get("/api/v1/map/"))
    assert policy == {
        "default-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'none'"],
        "frame-ancestors": ["'none'"],
    }


def test_leaflet_is_served_by_the_product_from_its_npm_package(db):
    """frontend/node_modules/leaflet/dist (installed by `make install`) under /static/vendor/leaflet/."""
    client = Client()
    script = client.get("/static/vendor/leaflet/leaflet.js")
    assert script.status_code == 200
    assert b"Leaflet 1.9.4" in b"".join(script.streaming_content)
    assert client.get("/static/vendor/leaflet/leaflet.css").status_code == 200
