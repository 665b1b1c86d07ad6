"""Which phones are proven to ring, and by what each responder can be reached: the coordinators'
readiness view (/admin/readiness/, backend/delivery/admin_readiness.py) and the board's warning
about alerted responders with no proven phone (the `proven` of each device in `board.devices`).

A device is proven when its service worker said, within READINESS_PROVEN_WITHIN_DAYS days, that it
showed a push, and no two checks have failed since. That word is PushDevice.last_proven_at, set
by every receipt, a real alert's or a test's (backend/delivery/readiness.py: record_proof); one
column, so the dispatch that tells the board which phones are proven reads no push history.

A flagged device (two or more checks failed in a row) is not proven unless a receipt came after
its last failure: a real alert shown since then proves it again. Nor is one whose app reported
notifications blocked after its proof.

Reachable by: "push" when the responder has a proven device; else "sms" when they have a number
for texts (the escalation ladder's text step); else "nothing".

Who is on call and at which station is the accounts app's (Responder); the readiness of devices is
this app's, so the queries are here, above accounts in the layers.
"""

import datetime
from dataclasses import dataclass, field

from django.conf import settings
from django.utils import timezone

from backend.accounts.models import Responder, Station
from backend.delivery.models import Permission, PushDevice


class Reach:
    PUSH = "push"
    SMS = "sms"
    NOTHING = "nothing"


def proven_since(now: datetime.datetime | None = None) -> datetime.datetime:
    """The earliest proof that still counts."""
    now = now or timezone.now()
    return now - datetime.timedelta(days=settings.READINESS_PROVEN_WITHIN_DAYS)


def devices_with_proof(queryset=None):
    """The devices to judge (kept as the one place a proof could be annotated, should it come from
    elsewhere again)."""
    return PushDevice.objects.all() if queryset is None else queryset


def proof_of(device: PushDevice) -> datetime.datetime | None:
    """The latest word from the device that it showed a push."""
    return device.last_proven_at


def is_proven(device: PushDevice, *, since: datetime.datetime) -> bool:
    proof = proof_of(device)
    if proof is None or proof < since:
        return False
    # Two checks failed since the proof: the phone has stopped ringing, whatever it did before.
    failing_since = device.flagged and (device.last_failure_at is None or device.last_failure_at >= proof)
    # The app said since that notifications are blocked: nothing it is sent can show.
    blocked_since = device.permission == Permission.DENIED and (
        device.state_reported_at is None or device.state_reported_at >= proof
    )
    return not (failing_since or blocked_since)


def proven_device_ids(device_ids, *, now: datetime.datetime | None = None) -> set[int]:
    """Which of these devices are proven now. One query, whatever their number."""
    device_ids = [device_id for device_id in device_ids if device_id is not None]
    if not device_ids:
        return set()
    return proven_among(devices_with_proof(PushDevice.objects.filter(pk__in=device_ids)), now=now)


def proven_among(devices, *, now: datetime.datetime | None = None) -> set[int]:
    """Which of these devices, already read, are proven now (no query)."""
    since = proven_since(now)
    return {device.pk for device in devices if is_proven(device, since=since)}


# --- The readiness of each responder ------------------------------------------------------------


@dataclass
class DeviceReadiness:
    device: PushDevice
    proof_at: datetime.datetime | None
    proven: bool


@dataclass
class ResponderReadiness:
    responder: Responder
    devices: list[DeviceReadiness] = field(default_factory=list)

    @property
    def has_sms_number(self) -> bool:
        return bool(self.responder.phone_number.strip())

    @property
    def proven(self) -> bool:
        return any(device.proven for device in self.devices)

    @property
    def reachable_by(self) -> str:
        if self.proven:
            return Reach.PUSH
        if self.has_sms_number:
            return Reach.SMS
        return Reach.NOTHING


@dataclass(frozen=True)
class ReadinessFilters:
    station: Station | None = None
    on_call_only: bool = False
    not_proven_only: bool = False

    def as_audit_detail(self) -> dict:
        return {
            "station_id": self.station.pk if self.station else None,
            "on_call_only": self.on_call_only,
            "not_proven_only": self.not_proven_only,
        }


@dataclass
class StationCounts:
    station: Station
    responders: int = 0
    on_call: int = 0
    # Of those on call: who a dispatch now would reach by a proven phone, only by text, or not at all.
    on_call_by_push: int = 0
    on_call_by_sms_only: int = 0
    on_call_by_nothing: int = 0

    def add(self, readiness: ResponderReadiness) -> None:
        self.responders += 1
        if not readiness.responder.on_call:
            return
        self.on_call += 1
        reach = readiness.reachable_by
        if reach == Reach.PUSH:
            self.on_call_by_push += 1
        elif reach == Reach.SMS:
            self.on_call_by_sms_only += 1
        else:
            self.on_call_by_nothing += 1


@dataclass
class Readiness:
    filters: ReadinessFilters
    since: datetime.datetime
    responders: list[ResponderReadiness]  # those the filters select
    by_station: list[StationCounts]  # every station with responders (or the chosen one), filters aside
    total: StationCounts


def readiness_of_responders(*, station: Station | None = None, now: datetime.datetime | None = None):
    """Every responder (of one station, or all), each with their devices and whether each is proven.
    Two queries."""
    since = proven_since(now)
    # Active accounts only: a disabled one is never alerted (dispatch/selection.py), so there is no
    # one to count on or to chase.
    responders = (
        Responder.objects.filter(user__is_active=True)
        .select_related("user", "station")
        .order_by("station__name", "user__username")
    )
    if station is not None:
        responders = responders.filter(station=station)
    responders = list(responders)
    devices = devices_with_proof(PushDevice.objects.filter(user_id__in=[r.user_id for r in responders])).order_by(
        "label", "pk"
    )
    by_user: dict[int, list[DeviceReadiness]] = {}
    for device in devices:
        by_user.setdefault(device.user_id, []).append(
            DeviceReadiness(device=device, proof_at=proof_of(device), proven=is_proven(device, since=since))
        )
    return [ResponderReadiness(responder=r, devices=by_user.get(r.user_id, [])) for r in responders]


def build_readiness(filters: ReadinessFilters, *, now: datetime.datetime | None = None) -> Readiness:
    """The readiness view: the responders the filters select, and counts per station (of the chosen
    station, or of all; the on-call and not-proven filters narrow the list, not the counts)."""
    everyone = readiness_of_responders(station=filters.station, now=now)
    counts: dict[int, StationCounts] = {}
    total = StationCounts(station=filters.station)
    for readiness in everyone:
        station = readiness.responder.station
        counts.setdefault(station.pk, StationCounts(station=station)).add(readiness)
        total.add(readiness)
    selected = [readiness for readiness in everyone if _selected(readiness, filters)]
    return Readiness(
        filters=filters,
        since=proven_since(now),
        responders=selected,
        by_station=sorted(counts.values(), key=lambda row: row.station.name),
        total=total,
    )


def _selected(readiness: ResponderReadiness, filters: ReadinessFilters) -> bool:
    if filters.on_call_only and not readiness.responder.on_call:
        return False
    return not (filters.not_proven_only and readiness.proven)
