"""Writing deliveries. Called by dispatch actions inside their transaction, so a delivery exists
if and only if its alert does; the workers are woken after commit. `alerts` are dispatch's Alert
rows, used through their fields only: delivery sits below dispatch and does not import it
(docs/architecture.md)."""

from urllib.parse import urlsplit

from django.db.models import Max

from backend.bulk_rows import insert_rows
from backend.compiled_reads import JoinedLoad
from backend.delivery.models import Channel, Delivery, Kind, PushDevice
from backend.scheduling import wake_workers_on_commit

# The responders' devices with their subscriptions, as `PushDevice.objects.filter(user_id__in=...)
# .select_related("subscription")` reads them, by SQL written once per process: compiled per dispatch,
# the queryset took longer to build than to run (backend/compiled_reads.py; issue 17 item 2).
_DEVICES_WITH_SUBSCRIPTION = JoinedLoad(PushDevice, ("subscription",), "user")


def enqueue_pushes(alerts: list, *, round: int | None = None, now, kind: str = Kind.ALERT) -> list[Delivery]:
    """One Web Push delivery per subscribed device of each responder. A stand-down push tells a
    locked phone that the alert on its lock screen no longer stands (same tag and topic, so it
    replaces the alert's notification, and the push service drops the alert if undelivered).
    `round` None: each alert's next round of this kind (an alert can be stood down, alerted again
    when coverage drops, and stood down again)."""
    if not alerts:
        return []
    rounds = _next_rounds(alerts, channel=Channel.WEBPUSH, kind=kind) if round is None else {}
    devices_by_user: dict[int, list[PushDevice]] = {}
    for device in _DEVICES_WITH_SUBSCRIPTION.rows(sorted({a.responder.user_id for a in alerts})):
        devices_by_user.setdefault(device.user_id, []).append(device)
    deliveries = [
        Delivery(
            alert=alert,
            channel=Channel.WEBPUSH,
            kind=kind,
            device=device,
            round=rounds.get(alert.pk, 1) if round is None else round,
            next_attempt_at=now,
            target=urlsplit(device.subscription.endpoint).hostname or "",
        )
        for alert in alerts
        for device in devices_by_user.get(alert.responder.user_id, [])
    ]
    return _store_and_wake(deliveries)


def enqueue_sms(alerts: list, *, now) -> list[Delivery]:
    """One text per alert whose responder has a phone number, in each alert's next round."""
    rounds = _next_rounds(alerts, channel=Channel.SMS, kind=Kind.ALERT) if alerts else {}
    deliveries = [
        Delivery(
            alert=alert,
            channel=Channel.SMS,
            round=rounds.get(alert.pk, 1),
            next_attempt_at=now,
            target=mask_phone(alert.responder.phone_number),
        )
        for alert in alerts
        if alert.responder.phone_number
    ]
    return _store_and_wake(deliveries)


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


def _store_and_wake(deliveries: list[Delivery]) -> list[Delivery]:
    if not deliveries:
        return []
    stored = insert_rows(deliveries)
    wake_workers_on_commit()
    return stored
