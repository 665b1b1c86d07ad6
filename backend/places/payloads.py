"""The defibrillators' JSON, the same for the API and the board's snapshot
(backend/schemas/defibrillator_list.schema.json)."""

import datetime

from django.conf import settings
from django.utils import timezone

from backend.places.models import ATTRIBUTION, Access, Source
from backend.places.nearest import Nearby, nearest_defibrillators
from backend.places.opening import open_now


def defibrillator(nearby: Nearby, *, now: datetime.datetime) -> dict:
    point = nearby.defibrillator
    return {
        "id": point.pk,
        "latitude": point.latitude,
        "longitude": point.longitude,
        "distance_m": round(nearby.distance_m),
        "name": point.name,
        "access": point.access,
        "access_label": Access(point.access).label,
        "location": point.location,
        "level": point.level,
        "indoor": point.indoor,
        "opening_hours": point.opening_hours,
        "open_now": open_now(point.opening_hours, now),
        "operator": point.operator,
        "phone": point.phone,
        "source": point.source,
        "attribution": ATTRIBUTION[Source(point.source)],
    }


def defibrillators_near(latitude: float, longitude: float) -> dict:
    """The nearest defibrillators to a point, as settings say how many and how far."""
    radius_m = settings.DEFIBRILLATORS_RADIUS_M
    found = nearest_defibrillators(latitude, longitude, count=settings.DEFIBRILLATORS_NEAREST_COUNT, radius_m=radius_m)
    now = timezone.now()
    return {"radius_m": radius_m, "defibrillators": [defibrillator(nearby, now=now) for nearby in found]}
