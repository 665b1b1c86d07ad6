"""Receipts from the phone itself: the funnel of one alert on one device.

Sent: the push service accepted the push (the delivery's state). Shown: the service worker showed
the notification and said so. Opened: the firefighter tapped it. Answered: the alert's own answer
(dispatch's, not kept here).

The service worker has no session when it runs (the app may be closed, the firefighter logged
out), so a push carries a receipt token instead: an HMAC (SHA-256, keyed by the server's secret
key) of the delivery's id and attempt number, made when a worker claims the delivery and sent only
inside the encrypted push. Nothing is stored for it: a claim of two hundred pushes writes no token
(bench/push_fanout.py), and the receipt is checked by working the token out again for each of the
alert's pushes, compared in constant time. Without the secret key no token can be made. The token
names one attempt of one delivery of one alert, and is good for one "shown" and one "opened", each
once: a second use is refused as a replay, a token that is not one of ours (or not for that alert)
as invalid. It opens nothing else: no view takes it but the receipt's.

A re-claimed delivery (a retry, a worker that died) is a new attempt with a new token; a receipt
with the old one is refused, and the phone sends one with the new when the re-sent push arrives.
"""

import base64
import datetime
import functools
import hashlib
import hmac
from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from backend.delivery import reachability
from backend.delivery.models import Channel, Delivery, DeliveryState, Kind
from backend.errors import Conflict, NotAllowed
from backend.realtime import events

# Keeps these tokens apart from every other use of the secret key (a salt, not a secret).
HMAC_SALT = "backend.delivery.receipts"
EVENTS = ("shown", "opened")


class InvalidReceiptToken(NotAllowed):
    code = "invalid_receipt_token"


class ReceiptAlreadyRecorded(Conflict):
    code = "receipt_already_recorded"


def token_for(delivery_id: int, attempt: int) -> str:
    """The receipt token of one attempt of one delivery: 43 characters (32 bytes, base64url). The
    same HMAC as Django's salted_hmac(HMAC_SALT, ..., algorithm="sha256"), with its key derived once
    per secret key rather than once per token (a claim makes one token per push)."""
    digest = hmac.digest(_token_key(settings.SECRET_KEY), f"{delivery_id}:{attempt}".encode(), "sha256")
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@functools.lru_cache(maxsize=4)
def _token_key(secret_key: str) -> bytes:
    """salted_hmac's key: SHA-256 of the salt and the secret key (keyed by the secret key, so a
    changed SECRET_KEY, as in a test's settings, gets its own)."""
    return hashlib.sha256(f"{HMAC_SALT}{secret_key}".encode()).digest()


def record_receipt(*, alert_id: int, token: str, event: str, now: datetime.datetime | None = None) -> Delivery:
    """Record that the device showed (or opened) the alert's notification; returns the delivery.
    Raises InvalidReceiptToken for a token that is not the live one of one of this alert's pushes,
    and ReceiptAlreadyRecorded when this event was already recorded with it (a replay). Opening
    implies showing: an "opened" whose "shown" never arrived records both."""
    pushes = Delivery.objects.filter(alert_id=alert_id, channel=Channel.WEBPUSH, kind=Kind.ALERT)
    return _record(pushes, token=token, event=event, now=now, of_what="alert")


def record_check_receipt(*, check_id: int, token: str, event: str, now: datetime.datetime | None = None) -> Delivery:
    """The same for a test of the device (backend/delivery/readiness.py): the token must be the live
    one of one of that check's test pushes, so an alert's token, another check's, a stale or a
    forged one is refused alike, and a replay too."""
    pushes = Delivery.objects.filter(device_check_id=check_id, channel=Channel.WEBPUSH, kind=Kind.TEST)
    return _record(pushes, token=token, event=event, now=now, of_what="test")


def _record(pushes, *, token: str, event: str, now: datetime.datetime | None, of_what: str) -> Delivery:
    if event not in EVENTS:
        raise ValueError(event)
    now = now or timezone.now()
    match = _matching_push(pushes.values_list("pk", "attempts"), token)
    if match is None:
        raise InvalidReceiptToken(f"This receipt token is not valid for this {of_what}.")
    # Still that attempt: a push re-claimed since (a retry) has a new token, and the old one is stale.
    ours = pushes.filter(pk=match[0], attempts=match[1])
    field = f"{event}_at"
    with transaction.atomic():
        # One conditional UPDATE: of two copies of the same receipt racing, exactly one wins.
        updated = ours.filter(**{f"{field}__isnull": True}).update(**{field: now})
        if event == "opened":
            ours.filter(shown_at__isnull=True).update(shown_at=now)
        delivery = ours.select_related("device").first()
    if delivery is None:
        raise InvalidReceiptToken(f"This receipt token is not valid for this {of_what}.")
    if not updated:
        raise ReceiptAlreadyRecorded(f"This device's {event} receipt for the {of_what} is already recorded.")
    return delivery


def _matching_push(pushes, token: str) -> tuple[int, int] | None:
    """The (id, attempt) of the push whose token this is, or None. Every push is compared, in
    constant time each, so the answer's timing says nothing of which one matched."""
    given = token.encode("ascii", "replace")
    match = None
    for delivery_id, attempt in pushes:
        if hmac.compare_digest(token_for(delivery_id, attempt).encode("ascii"), given):
            match = (delivery_id, attempt)
    return match


# --- The funnel, as the board and the admin show it ---------------------------------------------------


@dataclass
class DeviceFunnel:
    """One device's part in one alert, over every round of pushes sent to it."""

    device_id: int | None
    label: str
    sent_at: datetime.datetime | None = None  # the first push the push service accepted
    shown_at: datetime.datetime | None = None
    opened_at: datetime.datetime | None = None
    failed: str = ""  # why the last push failed, while none was accepted
    # The device is proven to ring (backend/delivery/reachability.py): recently shown a push, this
    # alert's or another's or a test's, and not failing its checks since. A phone that shows this
    # alert is proven by that alone.
    proven: bool = False

    def as_payload(self) -> dict:
        def iso(value):
            return value.isoformat() if value else None

        return {
            "device_id": self.device_id,
            "label": self.label,
            "sent_at": iso(self.sent_at),
            "shown_at": iso(self.shown_at),
            "opened_at": iso(self.opened_at),
            "failed": self.failed,
            "proven": self.proven or self.shown_at is not None,
        }


def board_item(*, alert_id: int, incident_id: int, responder_id: int, funnels: dict[int, list[DeviceFunnel]]) -> dict:
    """One alert's devices as the board's `board.devices` frames carry them
    (backend/schemas/board_devices.schema.json)."""
    return {
        "alert_id": alert_id,
        "incident_id": incident_id,
        "responder_id": responder_id,
        "devices": [funnel.as_payload() for funnel in funnels.get(alert_id, [])],
    }


def tell_the_board(alert_ids) -> None:
    """Send the board these alerts' devices as they stand (after pushes were sent or failed for
    good). Two queries; after commit."""
    alert_ids = list(alert_ids)
    if not alert_ids:
        return
    owners = (
        Delivery.objects.filter(alert_id__in=alert_ids)
        .order_by()  # no ordering fields in the DISTINCT
        .values_list("alert_id", "alert__incident_id", "alert__responder_id")
        .distinct()
    )
    funnels = funnels_of(alert_ids)
    items = [
        board_item(alert_id=alert_id, incident_id=incident_id, responder_id=responder_id, funnels=funnels)
        for alert_id, incident_id, responder_id in owners
        if alert_id in funnels
    ]
    if items:
        events.send_to_board([("board.devices", {"alerts": items})])


FUNNEL_FIELDS = (
    "alert_id",
    "device_id",
    "channel",
    "kind",
    "state",
    "finished_at",
    "last_error",
    "shown_at",
    "opened_at",
    "device__label",
)


def funnels_of(alert_ids) -> dict[int, list[DeviceFunnel]]:
    """Alert id -> the funnel of each device its alert pushes went to (alerts without any: absent).
    Two queries (the pushes, and which devices are proven), whatever the number of alerts."""
    rows = (
        Delivery.objects.filter(alert_id__in=list(alert_ids), channel=Channel.WEBPUSH, kind=Kind.ALERT)
        .select_related("device")
        # What a funnel shows, no more: the recorder asks this for every fan-out it writes.
        .only(*FUNNEL_FIELDS)
        .order_by("alert_id", "device_id", "round", "pk")
    )
    funnels: dict[int, dict[int | None, DeviceFunnel]] = defaultdict(dict)
    for delivery in rows:
        key = delivery.device_id if delivery.device_id is not None else -delivery.pk
        funnel = funnels[delivery.alert_id].get(key)
        if funnel is None:
            label = delivery.device.label if delivery.device else "Removed device"
            funnel = funnels[delivery.alert_id][key] = DeviceFunnel(device_id=delivery.device_id, label=label)
        _add(funnel, delivery)
    return _with_proof({alert_id: list(devices.values()) for alert_id, devices in funnels.items()})


def funnels_of_queued(queued: list) -> dict[int, list[DeviceFunnel]]:
    """The same for pushes just queued (a dispatch's first round: outbox.QueuedPush, with their
    devices as the dispatch read them a moment before in its transaction): nothing sent, shown or
    opened yet, so no query (issue 17: the devices were read again to see which are proven)."""
    proven = reachability.proven_among({push.device.pk: push.device for push in queued}.values())
    funnels: dict[int, dict[int, DeviceFunnel]] = defaultdict(dict)
    for push in queued:
        device = push.device
        funnels[push.alert_id].setdefault(device.pk, DeviceFunnel(device_id=device.pk, label=device.label))
    return _with_proof({alert_id: list(devices.values()) for alert_id, devices in funnels.items()}, proven=proven)


def _with_proof(
    funnels: dict[int, list[DeviceFunnel]], *, proven: set[int] | None = None
) -> dict[int, list[DeviceFunnel]]:
    """Mark the proven devices (one query for them all, unless the caller knows `proven`), so the
    board can say which alerted responders have no phone proven to ring."""
    if proven is None:
        proven = reachability.proven_device_ids({f.device_id for devices in funnels.values() for f in devices})
    for devices in funnels.values():
        for funnel in devices:
            funnel.proven = funnel.device_id in proven
    return funnels


def _add(funnel: DeviceFunnel, delivery: Delivery) -> None:
    if delivery.state == DeliveryState.SENT and delivery.finished_at:
        funnel.sent_at = _earliest(funnel.sent_at, delivery.finished_at)
        funnel.failed = ""
    elif delivery.state == DeliveryState.FAILED and funnel.sent_at is None:
        funnel.failed = delivery.last_error
    funnel.shown_at = _earliest(funnel.shown_at, delivery.shown_at)
    funnel.opened_at = _earliest(funnel.opened_at, delivery.opened_at)
    if funnel.opened_at and not funnel.shown_at:
        funnel.shown_at = funnel.opened_at


def _earliest(a, b):
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)


def alerts_shown_by_receipt(alert_ids) -> set[int]:
    """Which of these alerts some device has shown (a receipt), whatever the app said."""
    return set(
        Delivery.objects.filter(alert_id__in=list(alert_ids), channel=Channel.WEBPUSH, shown_at__isnull=False)
        .order_by()  # no ordering fields in the DISTINCT
        .values_list("alert_id", flat=True)
        .distinct()
    )
