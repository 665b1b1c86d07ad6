"""Arrival estimates: how far a responder is from the incident, and when they are likely there.

By default an estimate, worded as one to people: the straight-line distance times a road factor
(ARRIVAL_ROAD_FACTOR, roads are not straight) at an average speed (ARRIVAL_AVERAGE_SPEED_KMH). With
ROUTING_URL set, an OSRM-compatible service's driving route (`/route/v1/driving/lon,lat;lon,lat`)
is asked first, with a short timeout; any failure (refused, slow, not JSON, no route) falls back to
the estimate, so a routing service that is down never stops positions from being recorded.

The functions below `estimate` are pure (tested alone, tests/dispatch/test_arrival.py).
"""

import datetime
import json
import logging
import math
import urllib.error
import urllib.request
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from backend.dispatch.selection import great_circle_km

logger = logging.getLogger(__name__)

ESTIMATE = "estimate"
ROUTING = "routing"


@dataclass(frozen=True)
class Estimate:
    distance_km: float
    eta_seconds: int
    method: str  # ESTIMATE or ROUTING
    computed_at: datetime.datetime

    def as_payload(self) -> dict:
        return {
            "distance_km": self.distance_km,
            "eta_seconds": self.eta_seconds,
            "method": self.method,
            "computed_at": self.computed_at.isoformat(),
        }


def straight_line_estimate(
    *, origin: tuple[float, float], destination: tuple[float, float], road_factor: float, speed_kmh: float, now
) -> Estimate:
    """The straight line times the road factor, at the average speed. Pure."""
    road_km = great_circle_km(*origin, *destination) * road_factor
    return Estimate(
        distance_km=round(road_km, 2),
        eta_seconds=round(road_km / speed_kmh * 3600),
        method=ESTIMATE,
        computed_at=now,
    )


def route_url(base_url: str, *, origin: tuple[float, float], destination: tuple[float, float]) -> str:
    """OSRM takes longitude first. `overview=false`: the distance and duration only, no geometry."""
    (from_lat, from_lon), (to_lat, to_lon) = origin, destination
    return f"{base_url}/route/v1/driving/{from_lon:.6f},{from_lat:.6f};{to_lon:.6f},{to_lat:.6f}?overview=false"


def estimate_from_route(answer: dict, *, now) -> Estimate | None:
    """An OSRM answer's first route, or None when it has none (code other than "Ok", no route, or
    figures that are not numbers). Pure."""
    if not isinstance(answer, dict) or answer.get("code") != "Ok":
        return None
    routes = answer.get("routes")
    if not isinstance(routes, list) or not routes or not isinstance(routes[0], dict):
        return None
    distance_m, duration_s = routes[0].get("distance"), routes[0].get("duration")
    if not all(_finite_number(value) and value >= 0 for value in (distance_m, duration_s)):
        return None
    return Estimate(
        distance_km=round(distance_m / 1000, 2), eta_seconds=round(duration_s), method=ROUTING, computed_at=now
    )


def _finite_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def ask_routing_service(
    base_url: str, *, origin: tuple[float, float], destination: tuple[float, float], timeout: float, now
) -> Estimate | None:
    """The routing service's estimate, or None on any failure (logged without the positions: the
    URL holds them, so only the kind of failure is logged)."""
    # The deployer's URL, checked to be http(s) by the settings: no file: or custom scheme.
    url = route_url(base_url, origin=origin, destination=destination)
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            answer = json.loads(response.read(1_000_000))
    except (OSError, ValueError, urllib.error.URLError) as exc:
        logger.warning("Routing service failed; using the estimate", extra={"failure": type(exc).__name__})
        return None
    found = estimate_from_route(answer, now=now)
    if found is None:
        logger.warning("Routing service gave no route; using the estimate", extra={"failure": "no_route"})
    return found


def estimate(*, origin: tuple[float, float], destination: tuple[float, float], now=None) -> Estimate:
    """The responder's distance and arrival time from `origin` (lat, lon) to `destination`: the
    routing service's when ROUTING_URL is set and it answers in time, else the estimate."""
    now = now or timezone.now()
    if settings.ROUTING_URL:
        routed = ask_routing_service(
            settings.ROUTING_URL,
            origin=origin,
            destination=destination,
            timeout=settings.ROUTING_TIMEOUT_SECONDS,
            now=now,
        )
        if routed is not None:
            return routed
    return straight_line_estimate(
        origin=origin,
        destination=destination,
        road_factor=settings.ARRIVAL_ROAD_FACTOR,
        speed_kmh=settings.ARRIVAL_AVERAGE_SPEED_KMH,
        now=now,
    )
