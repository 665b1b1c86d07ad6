"""A phone's position fix: its checks, and the on-call fix a responder opted in to share.

The checks are here, in the people layer, because both kinds of position use them: the on-call fix
(kept here, as it belongs to the responder, not to an alert) and the positions shared while
responding (backend/dispatch/positions.py). docs/positions.md says what is kept and for how long.
"""

import datetime
import math
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from backend import priority
from backend.accounts.access import responder_of
from backend.accounts.models import OnCallPosition, Responder
from backend.errors import Conflict, InvalidInput

# A fix less precise than this says nothing useful about where a responder is (a phone with no GPS
# placing itself by cell towers can be kilometres out).
MAX_ACCURACY_M = 5000


@dataclass(frozen=True)
class Fix:
    latitude: float
    longitude: float
    accuracy_m: float | None
    recorded_at: datetime.datetime


class NotSharing(Conflict):
    code = "not_sharing"


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def check_fix(*, latitude, longitude, accuracy_m=None, recorded_at=None, now=None) -> Fix:
    """The fix, or InvalidInput naming each field at fault. `recorded_at` (an aware datetime; the
    time of receipt when None) must not be in the future (beyond POSITION_CLOCK_SKEW_SECONDS of a
    clock running ahead) nor older than POSITION_MAX_AGE_SECONDS."""
    now = now or timezone.now()
    errors = {}
    if not _number(latitude) or not -90 <= latitude <= 90:
        errors["latitude"] = ["Latitude must be a number from -90 to 90."]
    if not _number(longitude) or not -180 <= longitude <= 180:
        errors["longitude"] = ["Longitude must be a number from -180 to 180."]
    if accuracy_m is not None and (not _number(accuracy_m) or not 0 <= accuracy_m <= MAX_ACCURACY_M):
        errors["accuracy_m"] = [f"Accuracy must be a number of metres from 0 to {MAX_ACCURACY_M}."]
    if recorded_at is None:
        recorded_at = now
    elif recorded_at > now + datetime.timedelta(seconds=settings.POSITION_CLOCK_SKEW_SECONDS):
        errors["recorded_at"] = ["The fix's time is in the future: check the phone's clock."]
    elif recorded_at < now - datetime.timedelta(seconds=settings.POSITION_MAX_AGE_SECONDS):
        errors["recorded_at"] = [
            f"The fix is older than {settings.POSITION_MAX_AGE_SECONDS} seconds: send a fresh one."
        ]
    if errors:
        raise InvalidInput("The position is not valid.", fields=errors)
    return Fix(latitude, longitude, accuracy_m, min(recorded_at, now))


def set_share_position_on_call(*, actor, share: bool) -> None:
    """The firefighter's opt-in. Opting out deletes the fix at once."""
    with transaction.atomic():
        responder = responder_of(actor)
        if responder.share_position_on_call != share:
            responder.share_position_on_call = share
            responder.save(update_fields=["share_position_on_call"])
        if not share:
            forget_on_call_position(responder)


def record_on_call_position(*, actor, latitude, longitude, accuracy_m=None, recorded_at=None) -> OnCallPosition:
    """`PUT /api/v1/me/position/`: replace the responder's on-call fix. 409 `not_sharing` unless they
    opted in and are on call (the app then stops sending)."""
    fix = check_fix(latitude=latitude, longitude=longitude, accuracy_m=accuracy_m, recorded_at=recorded_at)
    priority.wait_turn()  # a dispatch being served goes first (backend/priority.py)
    responder = responder_of(actor)
    if not responder.share_position_on_call:
        raise NotSharing("You have not chosen to share your position while on call.")
    if not responder.on_call:
        raise NotSharing("You are off call: your position is not shared.")
    position, _created = OnCallPosition.objects.update_or_create(
        responder=responder,
        defaults={
            "latitude": fix.latitude,
            "longitude": fix.longitude,
            "accuracy_m": fix.accuracy_m,
            "recorded_at": fix.recorded_at,
            "received_at": timezone.now(),
        },
    )
    return position


def forget_on_call_position(responder: Responder) -> None:
    """Going off call or opting out: the fix goes at once."""
    OnCallPosition.objects.filter(responder=responder).delete()
