"""Who is alerted to an incident: the rules, kept apart from the action so they can be tested alone.

Eligible: an active user, on call, with life-support and defibrillator training in date, at an
active station within the radius of the incident (great-circle distance from the station), and not
committed to another open incident (accepted, en route or on scene there): a firefighter on the way
to one cardiac arrest is never pulled to the next. A coordinator naming responders may override
that; the caller audits it. Someone alerted to another incident but not yet answering is still
eligible: their phone shows the second alert without taking over the first, and answering either
stands the other down (backend/dispatch/actions.py, docs/events.md).
By position where it is fresh (issue 14): a responder who opted in to share their position while on
call (Responder.share_position_on_call) and whose latest fix is younger than
POSITION_FRESH_FOR_SELECTION_SECONDS is measured from that fix, not from their station, and the
radius applies to that distance. So a responder whose station is out of range but who is within the
radius is eligible (they are near: that is the point), and one whose station is in range but who is
farther than the radius is not (they are reached by a wider ring, as anyone that far). A stale fix,
or no opt-in, leaves the station. The alert's `distance_from` says which.
Order: nearest first (by station or fresh position); equal distances by station id, then responder id, so the same
inputs always give the same order. At most `max_per_station` from one station and `max_total`
in all.
"""

import datetime
import math
from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from backend.accounts.models import Responder
from backend.dispatch import selection_reads
from backend.dispatch.models import (
    COMMITTED_STATES,
    Alert,
    AlertState,
    DistanceFrom,
    IncidentStatus,
    UnreachedReason,
)

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
    distance_from: str = DistanceFrom.STATION


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
    lock_chosen: bool = False,
) -> Selection:
    """Candidates in the order they should be alerted, or why there are none. `radius_km=None`
    ignores distance; with `responder_ids` (a coordinator naming people) committed responders are
    kept, marked with the incident they are committed to. `lock_chosen`: the chosen responders'
    rows are locked for the caller's transaction as they are loaded (in id order), for a caller
    that stores events for them next (events.record_for_responders(..., locked=True)).

    Stations are few and responders many, so distances are worked out per station first and only
    the responders of stations in range are loaded."""
    # The stations and the fresh fixes in one read (selection_reads.stations_and_fixes).
    stations, fixes = selection_reads.stations_and_fixes(
        None if station_ids is None else list(station_ids), _fresh_cutoff(timezone.now())
    )
    distance_by_station = _distances_of_stations(stations, latitude, longitude, radius_km=radius_km)
    distance_by_position = _distances_of_fixes(fixes, latitude, longitude)
    near_by_position = {
        pk for pk, distance in distance_by_position.items() if radius_km is None or distance <= radius_km
    }
    if not distance_by_station and not near_by_position:
        return Selection([], UnreachedReason.NO_STATION_IN_RANGE)
    # Chosen from (id, station) pairs, and only those chosen loaded whole: the on-call responders in
    # range can be hundreds, of whom at most max_total are alerted (issue 17: building every one
    # with its station and user was the dispatch's largest cost in Python).
    # A fresh position out of range takes the responder out of this ring, whatever their station.
    # Each one's commitment elsewhere is read in the same query (committed_elsewhere's rule), by
    # SQL written once (selection_reads: eligible_responders and _commitments_of, compiled).
    eligible = [
        row
        for row in selection_reads.eligible_rows(
            today=today,
            station_ids=distance_by_station,
            responder_ids_near=near_by_position,
            named=None if responder_ids is None else list(responder_ids),
        )
        if row[0] not in distance_by_position or row[0] in near_by_position
    ]
    in_range = [row for row in eligible if row[0] not in exclude_responder_ids]
    if not in_range:
        return Selection([], _why_nobody_in_range(eligible, named=responder_ids is not None))
    ranked = _ranked(in_range, distance_by_station, distance_by_position, keep_committed=responder_ids is not None)
    if not ranked:
        return Selection([], _why_everyone_left_is_committed(eligible, in_range))
    chosen = _capped(ranked, max_per_station=max_per_station, max_total=max_total)
    return Selection(_with_responders_loaded(chosen, distance_by_position, lock=lock_chosen))


# An eligible responder as selection first reads them, enough to rank and cap: (id, station id, the
# open incident they are committed to or None). Plain tuples: the rows in range can be hundreds,
# and a dataclass for each (and a Candidate for each) was most of the selection's Python (issue 17
# item 2); only those chosen become Candidates, with their Responder loaded.
_Row = tuple[int, int, int | None]
# A row ranked: (distance in km, station id, id, committed to). Sorted as tuples: nearest first,
# then by station, then by responder (ids are unique, so the last field is never compared).
_RankedRow = tuple[float, int, int, int | None]


def _ranked(rows: list[_Row], distance_by_station, distance_by_position, *, keep_committed: bool) -> list[_RankedRow]:
    """The rows in the order they should be alerted: each one's distance from a fresh position if it
    has one, else from its station. Those committed elsewhere are left out unless `keep_committed`
    (a coordinator naming them)."""
    ranked = [
        (
            distance_by_position[pk] if pk in distance_by_position else distance_by_station[station_id],
            station_id,
            pk,
            committed_to,
        )
        for pk, station_id, committed_to in rows
        if keep_committed or committed_to is None
    ]
    ranked.sort()
    return ranked


def _with_responders_loaded(chosen: list[_RankedRow], distance_by_position, *, lock: bool = False) -> list[Candidate]:
    """The chosen rows as candidates with their Responder (station and user) loaded, in one query
    (SQL written once: selection_reads.responders_loaded). A responder deleted since the first read
    is left out."""
    responders = selection_reads.responders_loaded([pk for _distance, _station, pk, _committed in chosen], lock=lock)
    return [
        Candidate(
            responders[pk],
            distance,
            committed_to,
            DistanceFrom.POSITION if pk in distance_by_position else DistanceFrom.STATION,
        )
        for distance, _station_id, pk, committed_to in chosen
        if pk in responders
    ]


def fresh_position_distances(latitude, longitude, *, station_ids=None, now=None) -> dict[int, float]:
    """Responder id -> distance from their fresh on-call fix to the incident, for those who opted in
    and whose fix is younger than POSITION_FRESH_FOR_SELECTION_SECONDS. One query on a table of at
    most one row per on-call responder."""
    fixes = selection_reads.fresh_fixes(
        _fresh_cutoff(now or timezone.now()), None if station_ids is None else list(station_ids)
    )
    return _distances_of_fixes(fixes, latitude, longitude)


def _fresh_cutoff(now) -> datetime.datetime:
    return now - datetime.timedelta(seconds=settings.POSITION_FRESH_FOR_SELECTION_SECONDS)


def _distances_of_fixes(fixes, latitude, longitude) -> dict[int, float]:
    return {
        responder_id: round(great_circle_km(latitude, longitude, fix_latitude, fix_longitude), 3)
        for responder_id, fix_latitude, fix_longitude in fixes
    }


def _why_everyone_left_is_committed(eligible: list[_Row], in_range: list[_Row]) -> str:
    """Nobody new to alert, and those not yet alerted to this incident are committed elsewhere. If
    others in range were left out as already alerted to it, that is said too: a second "next ring"
    pressed just after another was told only "everyone is committed to another incident", with 13
    of 14 just alerted to this one (found by trying the product)."""
    if len(in_range) < len(eligible):
        return UnreachedReason.EVERYONE_ALERTED_OR_COMMITTED
    return UnreachedReason.EVERYONE_COMMITTED


def _why_nobody_in_range(eligible: list[_Row], *, named: bool) -> str:
    """Stations are in range but nobody is left: a named responder who cannot go, nobody on call
    there, or everyone there already alerted to this incident."""
    if named:
        return UnreachedReason.NAMED_NOT_AVAILABLE
    return UnreachedReason.EVERYONE_ALERTED if eligible else UnreachedReason.NOBODY_ON_CALL


def why_named_not_alerted(incident_id: int, responder_ids, *, today: datetime.date) -> str | None:
    """Why a coordinator's named dispatch alerted none of `responder_ids`, when one reason holds for
    them all (an UnreachedReason): off call or untrained, declined this incident, or already alerted
    to it (or cleared from it). A named responder stood down from it is alerted again, so is none of
    these. A mix of reasons: NAMED_NOT_AVAILABLE. None when some named responder fits none of them
    (a station left out by `station_ids`): the caller keeps the selection's reason."""
    can_go = set(eligible_responders(today=today).filter(pk__in=responder_ids).values_list("pk", flat=True))
    states = dict(
        Alert.objects.filter(incident_id=incident_id, responder_id__in=responder_ids)
        .exclude(state=AlertState.STOOD_DOWN)
        .values_list("responder_id", "state")
    )
    reasons = set()
    for responder_id in set(responder_ids):
        if responder_id not in can_go:
            reasons.add(UnreachedReason.NAMED_OFF_CALL)
        elif states.get(responder_id) == AlertState.DECLINED:
            reasons.add(UnreachedReason.NAMED_DECLINED)
        elif responder_id in states:
            reasons.add(UnreachedReason.NAMED_ALREADY_ALERTED)
        else:
            return None
    if len(reasons) > 1:
        return UnreachedReason.NAMED_NOT_AVAILABLE
    return reasons.pop() if reasons else None


def _commitments(responder_ids):
    return Alert.objects.filter(
        responder_id__in=responder_ids, state__in=COMMITTED_STATES, incident__status=IncidentStatus.OPEN
    )


def _commitments_of(responder_id):
    """_commitments of one responder (an OuterRef in a subquery)."""
    return Alert.objects.filter(
        responder_id=responder_id, state__in=COMMITTED_STATES, incident__status=IncidentStatus.OPEN
    )


def committed_elsewhere(responder_ids: list[int]) -> dict[int, int]:
    """Responder id -> the open incident they are committed to, for those who are. One query on
    the alerts' (responder, state) index."""
    return dict(_commitments(responder_ids).values_list("responder_id", "incident_id"))


def commitments_of(responder_ids: list[int]) -> dict[int, Alert]:
    """Responder id -> the alert they are committed to (with its incident), for those who are."""
    return {alert.responder_id: alert for alert in _commitments(responder_ids).select_related("incident")}


def _distances_of_stations(stations, latitude, longitude, *, radius_km) -> dict[int, float]:
    distances = {}
    for pk, station_latitude, station_longitude in stations:
        distance = great_circle_km(latitude, longitude, station_latitude, station_longitude)
        if radius_km is None or distance <= radius_km:
            distances[pk] = round(distance, 3)
    return distances


def _capped(ranked: list[_RankedRow], *, max_per_station: int, max_total: int) -> list[_RankedRow]:
    taken_per_station: dict[int, int] = defaultdict(int)
    chosen = []
    for row in ranked:
        station_id = row[1]
        if taken_per_station[station_id] >= max_per_station:
            continue
        taken_per_station[station_id] += 1
        chosen.append(row)
        if len(chosen) >= max_total:
            break
    return chosen
