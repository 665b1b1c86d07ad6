"""Arrival estimates (backend/dispatch/arrival.py): the straight-line estimate, the routing service's
answer read, and the fall-back to the estimate on any failure of a (local, stand-in) routing server."""

import datetime
import http.server
import json
import threading
import time

import pytest

from backend.dispatch import arrival
from tests.conftest import NORWICH, NORWICH_INCIDENT

NOW = datetime.datetime(2026, 12, 4, 15, 0, tzinfo=datetime.UTC)


def test_the_estimate_is_the_straight_line_times_the_road_factor_at_the_average_speed():
    # 10 km straight (0.0899 degrees of latitude), road factor 1.5: 15 km; at 60 km/h, 15 minutes.
    found = arrival.straight_line_estimate(
        origin=(52.0, 1.0), destination=(52.0 + 10 / 111.195, 1.0), road_factor=1.5, speed_kmh=60, now=NOW
    )
    assert found.distance_km == pytest.approx(15.0, abs=0.01)
    assert found.eta_seconds == pytest.approx(900, abs=2)
    assert found.method == "estimate"
    assert found.as_payload() == {
        "distance_km": found.distance_km,
        "eta_seconds": found.eta_seconds,
        "method": "estimate",
        "computed_at": NOW.isoformat(),
    }


def test_the_estimate_of_someone_already_there_is_nothing():
    found = arrival.straight_line_estimate(origin=NORWICH, destination=NORWICH, road_factor=1.3, speed_kmh=40, now=NOW)
    assert (found.distance_km, found.eta_seconds) == (0, 0)


def test_the_route_url_puts_longitude_first_as_osrm_wants():
    url = arrival.route_url("http://osrm:5000", origin=(52.6, 1.3), destination=(52.7, 1.4))
    assert url == "http://osrm:5000/route/v1/driving/1.300000,52.600000;1.400000,52.700000?overview=false"


@pytest.mark.parametrize(
    "answer",
    [
        {"code": "NoRoute", "routes": []},
        {"code": "Ok", "routes": []},
        {"code": "Ok", "routes": [{"distance": "far", "duration": 10}]},
        {"code": "Ok", "routes": [{"distance": 100, "duration": -1}]},
        {"code": "Ok", "routes": [{"distance": True, "duration": 10}]},
        ["not", "an", "object"],
    ],
)
def test_a_routing_answer_without_a_usable_route_gives_nothing(answer):
    assert arrival.estimate_from_route(answer, now=NOW) is None


def test_a_routing_answer_gives_its_first_route():
    found = arrival.estimate_from_route({"code": "Ok", "routes": [{"distance": 2412.7, "duration": 259.6}]}, now=NOW)
    assert (found.distance_km, found.eta_seconds, found.method) == (2.41, 260, "routing")


class RoutingStandIn(http.server.BaseHTTPRequestHandler):
    """An OSRM-compatible stand-in: answers as the server's `behaviour` says."""

    behaviour = "ok"
    paths: list[str] = []

    def do_GET(self):
        type(self).paths.append(self.path)
        if self.behaviour == "slow":
            time.sleep(1.0)
        if self.behaviour == "error":
            self.send_response(500)
            self.end_headers()
            return
        body = (
            b"not json"
            if self.behaviour == "garbage"
            else json.dumps({"code": "Ok", "routes": [{"distance": 3000.0, "duration": 240.0}]}).encode()
        )
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)
        except BrokenPipeError:  # the slow case: the client has given up, as it should
            pass

    def log_message(self, *args):
        pass


@pytest.fixture
def routing_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RoutingStandIn)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    RoutingStandIn.paths = []
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.processes
def test_with_a_routing_service_its_route_is_used(routing_server, settings):
    settings.ROUTING_URL = routing_server
    RoutingStandIn.behaviour = "ok"
    found = arrival.estimate(origin=NORWICH, destination=NORWICH_INCIDENT, now=NOW)
    assert (found.distance_km, found.eta_seconds, found.method) == (3.0, 240, "routing")
    assert RoutingStandIn.paths == [
        f"/route/v1/driving/{NORWICH[1]:.6f},{NORWICH[0]:.6f};{NORWICH_INCIDENT[1]:.6f},{NORWICH_INCIDENT[0]:.6f}"
        "?overview=false"
    ]


@pytest.mark.processes
@pytest.mark.parametrize("behaviour", ["error", "garbage", "slow"])
def test_a_failing_or_slow_routing_service_falls_back_to_the_estimate(routing_server, settings, behaviour, caplog):
    settings.ROUTING_URL = routing_server
    settings.ROUTING_TIMEOUT_SECONDS = 0.2
    RoutingStandIn.behaviour = behaviour
    started = time.monotonic()
    found = arrival.estimate(origin=NORWICH, destination=NORWICH_INCIDENT, now=NOW)
    assert time.monotonic() - started < 0.9
    assert found.method == "estimate"
    assert found == arrival.straight_line_estimate(
        origin=NORWICH,
        destination=NORWICH_INCIDENT,
        road_factor=1.3,
        speed_kmh=settings.ARRIVAL_AVERAGE_SPEED_KMH,
        now=NOW,
    )
    # The positions are in the URL: the log says what failed, never where.
    assert "route/v1" not in caplog.text and f"{NORWICH[0]:.4f}" not in caplog.text


def test_with_no_routing_service_nothing_is_asked(settings):
    settings.ROUTING_URL = ""
    assert arrival.estimate(origin=NORWICH, destination=NORWICH_INCIDENT, now=NOW).method == "estimate"


def test_nothing_answering_at_all_falls_back_to_the_estimate(settings):
    settings.ROUTING_URL = "http://127.0.0.1:9"  # discard: refused at once
    assert arrival.estimate(origin=NORWICH, destination=NORWICH_INCIDENT, now=NOW).method == "estimate"
