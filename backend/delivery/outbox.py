"""Writing deliveries. Called by dispatch actions inside their transaction, so a delivery exists
if and only if its alert does; the workers are woken after commit. `alerts` are dispatch's Alert
rows, used through their fields only: delivery sits below dispatch and does not import it
(docs/architecture.md)."""

import functools
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.db.models import Max

from backend.bulk_rows import insert_values
from backend.compiled_reads import JoinedLoad
from backend.delivery.models import Channel, Delivery, Kind, PushDevice
from backend.scheduling import wake_workers_on_commit

# The responders' devices with their subscriptions, as `PushDevice.objects.filter(user_id__in=...)
# .select_related("subscription")` reads them, by SQL written once per process: compiled per dispatch,
# the queryset took longer to build than to run (backend/compiled_reads.py; issue 17 item 2).
_DEVICES_WITH_SUBSCRIPTION = JoinedLoad(PushDevice, ("subscription",), "user")


@dataclass(frozen=True, slots=True)
class QueuedPush:
    """A push just queued: its alert, and the device it goes to (read with its subscription)."""

    alert_id: int
    device: PushDevice


def enqueue_pushes(alerts: list, *, round: int | None = None, now, kind: str = Kind.ALERT) -> list[QueuedPush]:
    """One Web Push delivery per subscribed device of each responder. A stand-down push tells a
    locked phone that the alert on its lock screen no longer stands (same tag and topic, so it
    replaces the alert's notification, and the push service drops the alert if undelivered).
    `round` None: each alert's next round of this kind (an alert can be stood down, alerted again
    when coverage drops, and stood down again). The rows are written as values, not Delivery
    instances: nothing reads them back (the workers claim them), and building 200 of a dispatch's
    by keyword took longer than writing them (issue 17 item 3)."""
    if not alerts:
        return []
    rounds = _next_rounds(alerts, channel=Channel.WEBPUSH, kind=kind) if round is None else {}
    devices_by_user: dict[int, list[PushDevice]] = {}
    for device in _DEVICES_WITH_SUBSCRIPTION.rows(sorted({a.responder.user_id for a in alerts})):
        devices_by_user.setdefault(device.user_id, []).append(device)
    queued = [
        QueuedPush(alert.pk, device) for alert in alerts for device in devices_by_user.get(alert.responder.user_id, [])
    ]
    rows = [
        {
            "alert_id": push.alert_id,
            "channel": Channel.WEBPUSH,
            "kind": kind,
            "device_id": push.device.pk,
            "round": rounds.get(push.alert_id, 1) if round is None else round,
            "next_attempt_at": now,
            "target": push_service_host(push.device.subscription.endpoint),
        }
        for push in queued
    ]
    _store_and_wake(rows)
    return queued


@functools.lru_cache(maxsize=8192)
def push_service_host(endpoint: str) -> str:
    """The push service a subscription's endpoint names (a delivery's `target`). Cached: a
    deployment's phones keep their endpoints for months and each dispatch asks again."""
    return urlsplit(endpoint).hostname or ""


def enqueue_sms(alerts: list, *, now) -> None:
    """One text per alert whose responder has a phone number, in each alert's next round."""
    rounds = _next_rounds(alerts, channel=Channel.SMS, kind=Kind.ALERT) if alerts else {}
    rows = [
        {
            "alert_id": alert.pk,
            "channel": Channel.SMS,
            "round": rounds.get(alert.pk, 1),
            "next_attempt_at": now,
            "target": mask_phone(alert.responder.phone_number),
        }
        for alert in alerts
        if alert.responder.phone_number
    ]
    _store_and_wake(rows)


def _next_rounds(alerts: list, *, channel: str, kind: str) -> dict[int, int]:
    """Alert id -> the round after the last one queued for it on this channel and kind (absent: 1)."""
    last = (
        Delivery.objects.filter(alert__in=alerts, channel=channel, kind=kind)
        .values("alert_id")
        .annotate(last=Max("round"))
        .values_list("alert_id", "last")
    )
    return {alert_id: last_round + 1 for alert_id, last_round in last}


def mask_phone(number: str) -> str:
    return f"…{number[-3:]}" if number else ""


def _store_and_wake(rows: list[dict]) -> None:
    if rows:
        insert_values(Delivery, rows, returning=False)
        wake_workers_on_commit()
