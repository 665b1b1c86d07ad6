"""Recording what a crew did on scene: the checklist's one-tap timestamps, synced from the phone.

A phone on a bad network sends each tap until it gets an answer, so recording is idempotent on the
phone's key: the same key with the same event returns what was stored, creating nothing; the same
key with a different event is refused, because silently keeping either would lose the other.
"""

import datetime
import uuid

from django.db import IntegrityError, transaction
from django.utils import formats, timezone

from backend import idempotency
from backend.checklists import content
from backend.checklists.models import OnSceneEvent
from backend.dispatch import access
from backend.dispatch import actions as dispatch_actions
from backend.dispatch.models import Alert, AlertState
from backend.errors import Conflict, InvalidInput

# A phone's clock may run a little fast; an event further in the future than this is a mistake.
MAX_AHEAD_OF_SERVER = datetime.timedelta(minutes=5)
# Events from before the alert (a crew already there, a phone clock running slow) are accepted
# up to this long before it.
MAX_BEFORE_ALERT = datetime.timedelta(hours=1)
# A long resuscitation has a few dozen taps; this only stops a broken client filling the table.
MAX_EVENTS_PER_ALERT = 500
# An event logged while going there is an arrival: the crew member is on scene from its time
# (dispatch.actions.arrive_by_checklist), though "On scene" was never pressed or never sent.
ARRIVING_STATES = {AlertState.ACCEPTED, AlertState.EN_ROUTE}
# An event synced after the alert ended, of one who was going when it ended, may be from before the
# end: an arrival then, heard of late (dispatch.actions.arrive_before_the_end).
ENDED_STATES = {AlertState.CANCELLED, AlertState.STOOD_DOWN}


def record_onscene_event(
    *,
    actor,
    alert_id: int,
    idempotency_key: uuid.UUID,
    type: str,
    occurred_at: datetime.datetime,
    data: dict | None = None,
) -> tuple[OnSceneEvent, bool]:
    """Store one on-scene event of the actor's own alert. Returns (event, created): created is
    False when the same event was already stored under this key (a retry).

    Accepted whatever the alert's state (the crew logs what happened even after the incident was
    cancelled or they were cleared), except when the crew member declined it, or was stood down
    and nothing shows they had arrived by then. A new event on an alert accepted or en route makes
    its crew member on scene from the event's time (ARRIVING_STATES); so does one from before the
    end of an alert cancelled or stood down while accepted or en route, synced after (ENDED_STATES).
    """
    data = dict(data or {})
    digest = body_hash(type=type, occurred_at=occurred_at, data=data)
    with transaction.atomic():
        alert = access.access_alert_for_responder(actor, alert_id)
        stored = _stored(alert, idempotency_key)
        if stored is not None:
            return _the_same_or_conflict(stored, digest), False
        _check_event(alert, type=type, occurred_at=occurred_at, data=data, now=timezone.now())
        _check_alert_takes_events(alert, occurred_at)
        if _may_be_an_arrival(alert):
            # Before the event's row: the arrival locks the incident then the alert, the order the
            # coordinators' actions take, which the event's reference to the alert would upset.
            dispatch_actions.arrive_by_checklist(actor=actor, alert_id=alert.pk, at=occurred_at)
        try:
            with transaction.atomic():  # a savepoint: a duplicate key must not spoil the transaction
                event = OnSceneEvent.objects.create(
                    alert=alert,
                    idempotency_key=idempotency_key,
                    type=type,
                    occurred_at=occurred_at,
                    data=data,
                    received_at=timezone.now(),
                    body_hash=digest,
                )
        except IntegrityError:
            # Another copy of this submission committed between our look-up and our insert.
            stored = _stored(alert, idempotency_key)
            if stored is None:
                raise
            return _the_same_or_conflict(stored, digest), False
    return event, True


def _may_be_an_arrival(alert: Alert) -> bool:
    """Whether the event may make its crew member on scene (dispatch.actions.arrive_by_checklist
    decides, its rows locked): going there, or ended while going with no arrival heard of. Asks
    nothing of the database: most events come from those already on scene."""
    if alert.state in ARRIVING_STATES:
        return True
    return alert.state in ENDED_STATES and alert.accepted_at is not None and alert.on_scene_at is None


def body_hash(*, type: str, occurred_at: datetime.datetime, data: dict) -> str:
    """A digest of the event as submitted: the same instant written with a different offset, or
    the same data with its keys in another order, is the same event."""
    return idempotency.body_hash({"type": type, "occurred_at": occurred_at, "data": data})


def _stored(alert: Alert, idempotency_key: uuid.UUID) -> OnSceneEvent | None:
    return OnSceneEvent.objects.filter(alert=alert, idempotency_key=idempotency_key).first()


def _the_same_or_conflict(stored: OnSceneEvent, digest: str) -> OnSceneEvent:
    if stored.body_hash == digest:
        return stored
    when = formats.date_format(timezone.localtime(stored.occurred_at), "H:i:s")
    raise Conflict(
        f"This idempotency key was already used for a different event ({content.event_label(stored.type)} "
        f"at {when}). Make a new key for each new event; resend the same event unchanged to retry it.",
        fields={"idempotency_key": ["Already used for a different event."]},
        extra={"existing_event_id": stored.pk},
    )


def _check_event(alert: Alert, *, type: str, occurred_at: datetime.datetime, data: dict, now) -> None:
    errors: dict[str, list[str]] = {}
    if content.event_definition(type) is None:
        errors["type"] = [f"Use one of the checklist's events: {', '.join(content.event_ids())}."]
    else:
        errors.update(content.data_errors(type, data))
    if occurred_at.tzinfo is None:
        errors["occurred_at"] = ["Give the time with its offset, e.g. 2025-03-01T14:07:12.345Z."]
    elif occurred_at > now + MAX_AHEAD_OF_SERVER:
        errors["occurred_at"] = ["This time is in the future. Check the phone's clock."]
    elif occurred_at < alert.alerted_at - MAX_BEFORE_ALERT:
        errors["occurred_at"] = ["This time is more than an hour before the alert. Check the phone's clock."]
    if errors:
        raise InvalidInput("The on-scene event has errors: see fields.", fields=errors)
    if alert.onscene_events.count() >= MAX_EVENTS_PER_ALERT:
        raise Conflict(f"This alert already has {MAX_EVENTS_PER_ALERT} on-scene events; no more can be recorded.")


def _check_alert_takes_events(alert: Alert, occurred_at: datetime.datetime) -> None:
    """Refuse events for an alert its responder declined (accepting it again re-opens it), or was
    stood down from, or whose incident was cancelled, before arriving. Arriving shows as an
    on-scene time, or as events from before the end: a crew who never pressed "on scene" but
    tapped the checklist, synced late. Events from before the end are taken whenever they come."""
    if alert.state == AlertState.DECLINED:
        raise Conflict(
            "You cannot record on-scene events for this alert: you declined it. Accept it first if you are there.",
            extra={"state": alert.state},
        )
    ended_at, why = _ended(alert)
    if ended_at is None:
        return
    if alert.on_scene_at is not None and alert.on_scene_at <= ended_at:
        return
    if occurred_at <= ended_at or alert.onscene_events.filter(occurred_at__lte=ended_at).exists():
        return
    raise Conflict(
        f"You cannot record on-scene events for this alert: {why} before you arrived.", extra={"state": alert.state}
    )


def _ended(alert: Alert) -> tuple[datetime.datetime | None, str]:
    """When the alert stopped needing its responder before they were on scene, and why."""
    if alert.state == AlertState.STOOD_DOWN:
        return alert.stood_down_at, "you were stood down"
    if alert.state == AlertState.CANCELLED:
        return alert.cancelled_at, "the incident was cancelled"
    return None, ""


def onscene_events_of(*, actor, alert_id: int):
    """The events of the actor's own alert, in the order they happened."""
    alert = access.access_alert_for_responder(actor, alert_id)
    return alert.onscene_events.order_by("occurred_at", "id")
