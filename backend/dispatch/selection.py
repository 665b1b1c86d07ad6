"""Who is alerted to an incident: the rules, kept apart from the action so they can be tested alone.

Eligible: an active user, on call, with life-support and defibrillator training in date, at an
active station within the radius of the incident (great-circle distance from the station), and not
committed to another open incident (accepted, en route or on scene there): a firefighter on the way
to one cardiac arrest is never pulled to the next. A coordinator naming responders may override
that; the caller audits it. Someone alerted to another incident but not yet answering is still
eligible: their phone shows the second alert without taking over the first, and answering either
stands the other down (backend/dispatch/actions.py, docs/events.md).
Order: nearest station first; equal distances by station id, then responder id, so the same
inputs always give the same order. At most `max_per_station` from one station and `max_total`
in all.
"""

import datetime
import math
from collections import defaultdict
from dataclasses import dataclass

from backend.accounts.models import Responder, Station
from backend.dispatch.models import COMMITTED_STATES, Alert, IncidentStatus, UnreachedReason

EARTH_RADIUS_KM = 6371.0088


def great_circle_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Haversine distance; accurate to well under 0.5 % at county scale, which is all we need."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlambda = math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


@dataclass(frozen=True)
class Candidate:
    responder: Responder
    distance_km: float
    committed_to: int | None = None  # the open incident a named responder is committed to (override)


@dataclass(frozen=True)
class Selection:
    candidates: list[Candidate]
    nobody_because: str = ""  # an UnreachedReason when there are no candidates


def eligible_responders(*, today: datetime.date):
    return Responder.objects.filter(
        on_call=True,
        user__is_active=True,
        station__active=True,
        life_support_training_expires__gte=today,
        defibrillator_training_expires__gte=today,
    ).select_related("station", "user")


def select_responders(
    *,
    latitude: float,
    longitude: float,
    today: datetime.date,
    radius_km: float | None,
    max_per_station: int,
    max_total: int,
    station_ids: list[int] | None = None,
    responder_ids: list[int] | None = None,
    exclude_responder_ids: set[int] = frozenset(),
) -> Selection:
    """Candidates in the order they should be alerted, or why there are none. `radius_km=None`
    ignores distance; with `responder_ids` (a coordinator naming people) committed responders are
    kept, marked with the incident they are committed to.

    Stations are few and responders many, so distances are worked out per station first and only
    the responders of stations in range are loaded."""
    distance_by_station = _station_distances(latitude, longitude, radius_km=radius_km, station_ids=station_ids)
    if not distance_by_station:
        return Selection([], UnreachedReason.NO_STATION_IN_RANGE)
    queryset = eligible_responders(today=today).filter(station_id__in=distance_by_station)
    if responder_ids is not None:
        queryset = queryset.filter(pk__in=responder_ids)
    eligible = list(queryset)
    in_range = [responder for responder in eligible if responder.pk not in exclude_responder_ids]
    if not in_range:
        return Selection([], _why_nobody_in_range(eligible, named=responder_ids is not None))
    committed = committed_elsewhere([responder.pk for responder in in_range])
    candidates = [
        Candidate(
            responder=responder,
            distance_km=distance_by_station[responder.station_id],
            committed_to=committed.get(responder.pk),
        )
        for responder in in_range
        if responder_ids is not None or responder.pk not in committed
    ]
    if not candidates:
        return Selection([], UnreachedReason.EVERYONE_COMMITTED)
    candidates.sort(key=lambda c: (c.distance_km, c.responder.station_id, c.responder.pk))
    return Selection(_capped(candidates, max_per_station=max_per_station, max_total=max_total))


def _why_nobody_in_range(eligible: list[Responder], *, named: bool) -> str:
    """Stations are in range but nobody is left: a named responder who cannot go, nobody on call
    there, or everyone there already alerted to this incident."""
    if named:
        return UnreachedReason.NAMED_NOT_AVAILABLE
    return UnreachedReason.EVERYONE_ALERTED if eligible else UnreachedReason.NOBODY_ON_CALL


def _commitments(responder_ids):
    return Alert.objects.filter(
        responder_id__in=responder_ids, state__in=COMMITTED_STATES, incident__status=IncidentStatus.OPEN
    )


def committed_elsewhere(responder_ids: list[int]) -> dict[int, int]:
    """Responder id -> the open incident they are committed to, for those who are. One query on
    the alerts' (responder, state) index."""
    return dict(_commitments(responder_ids).values_list("responder_id", "incident_id"))


def commitments_of(responder_ids: list[int]) -> dict[int, Alert]:
    """Responder id -> the alert they are committed to (with its incident), for those who are."""
    return {alert.responder_id: alert for alert in _commitments(responder_ids).select_related("incident")}


def _station_distances(latitude, longitude, *, radius_km, station_ids) -> dict[int, float]:
    stations = Station.objects.filter(active=True)
    if station_ids is not None:
        stations = stations.filter(pk__in=station_ids)
    distances = {}
    for pk, station_latitude, station_longitude in stations.values_list("pk", "latitude", "longitude"):
        distance = great_circle_km(latitude, longitude, station_latitude, station_longitude)
        if radius_km is None or distance <= radius_km:
            distances[pk] = round(distance, 3)
    return distances


def _capped(candidates: list[Candidate], *, max_per_station: int, max_total: int) -> list[Candidate]:
    taken_per_station: dict[int, int] = defaultdict(int)
    chosen = []
    for candidate in candidates:
        station_id = candidate.responder.station_id
        if taken_per_station[station_id] >= max_per_station:
            continue
        taken_per_station[station_id] += 1
        chosen.append(candidate)
        if len(chosen) >= max_total:
            break
    return chosen
