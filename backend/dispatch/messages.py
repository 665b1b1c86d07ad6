"""Messages to the crews: a coordinator tells an incident's responders something after dispatch
("Ambulance on scene", "Access by the rear door"), and each phone says "Got it".

Two actions, one per state change, called by the API (and the board): `send_crew_message` and
`acknowledge_crew_message`. Each owns its transaction, audits, and tells people through
backend.realtime.events (after commit). The text travels only where a login is needed (the
sockets and the API); the push says "New message from control" and nothing more, as a coordinator
may type patient details. A message holding an NHS number or a date of birth is refused
(backend/patient_identifiers.py); a name cannot be told by a pattern. Who is told: docs/events.md,
`message.created`.

Whom a message reaches, the M of the boards' "Seen by N of M", is kept on the server, once
(MessageRecipient rows, counted in CrewMessage.recipient_count): those told when it was sent, those
alerted to the incident since (`reach_the_alerted`, from the dispatch: their app loads the
incident's messages with the alert), and any other responder who acknowledges it. The boards read
the count from the message and from `message.recipients` when it grows; they count nothing
themselves. Found by a browser trial: a responder alerted after the message said "Got it", and both
boards said "Seen by 2 of 1".
"""

import logging
from collections import defaultdict

from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from backend import patient_identifiers
from backend.audit.log import record
from backend.audit.models import AuditAction
from backend.delivery.models import Kind
from backend.delivery.outbox import enqueue_pushes
from backend.dispatch import access, payloads
from backend.dispatch.models import (
    MESSAGE_MAX_LENGTH,
    MESSAGE_RECIPIENT_STATES,
    Alert,
    CrewMessage,
    Incident,
    MessageAcknowledgement,
    MessageRecipient,
)
from backend.errors import Conflict, InvalidInput
from backend.realtime import events

logger = logging.getLogger(__name__)

# Who may send and read messages: the coordinators' board (the contract of issue 15).
BOARD_PERMISSION = "accounts.view_board"


def send_crew_message(*, actor, incident_id: int, text: str) -> CrewMessage:
    """Store the message, tell each responder still part of the open incident (a stored
    `message.created`, replayable, and a push to each of their phones) and every board."""
    text = _valid_text(text)
    with transaction.atomic():
        # The incident's row is locked, as closing and cancelling lock it: a message is never sent
        # to an incident that has just ended.
        incident = access.access_incident_for_coordinator(
            actor, incident_id, permission=BOARD_PERMISSION, doing="send messages to crews", for_update=True
        )
        if not incident.is_open:
            raise Conflict(f"Incident {incident.cad_reference} is {incident.status}: its crews cannot be messaged.")
        recipients = list(
            Alert.objects.filter(incident=incident, state__in=MESSAGE_RECIPIENT_STATES)
            .select_related("responder__user")
            .order_by("pk")
        )
        if not recipients:
            raise Conflict(_nobody_to_tell(incident))
        now = timezone.now()
        message = CrewMessage.objects.create(
            incident=incident, author=actor, text=text, sent_at=now, recipient_count=len(recipients)
        )
        MessageRecipient.objects.bulk_create([MessageRecipient(message=message, alert=alert) for alert in recipients])
        # Who sent what to whom; not the words (they may hold patient details: the row has them).
        record(
            actor,
            AuditAction.CREATE,
            "crew_message",
            message.pk,
            incident_id=incident.pk,
            detail={"recipient_alert_ids": [alert.pk for alert in recipients], "length": len(text)},
        )
        _tell_about_new_message(message, recipients, now=now)
    transaction.on_commit(
        lambda: logger.info(
            "Message sent to crews",
            extra={
                "event": "crew_message.sent",
                "message_id": message.pk,
                "incident_id": incident_id,
                "actor_id": actor.pk,
                "recipient_count": len(recipients),
            },
        )
    )
    return message


def _nobody_to_tell(incident: Incident) -> str:
    """Why a message to nobody is refused. Found by a trial: a message to an incident not yet
    dispatched read "Message sent." and "Not yet seen (0 of 0)", and once the crews alerted later
    read it, "Seen by 1 of 0". Refused, not kept for later: the coordinator learns at once that
    nobody was told (no push went), and writes it again once someone is alerted, to those who are;
    what a crew needs before dispatch goes in the incident's notes, which the alert carries."""
    if not Alert.objects.filter(incident=incident).exists():
        return f"Nobody is alerted to {incident.cad_reference} yet: dispatch first."
    return (
        f"Nobody alerted to {incident.cad_reference} is still part of it (each declined, was stood down "
        "or has cleared): alert someone first."
    )


def _valid_text(text) -> str:
    text = text.strip() if isinstance(text, str) else ""
    if not text:
        raise InvalidInput("Write the message.", fields={"text": ["A message of 1 to 280 characters is required."]})
    if "\x00" in text:  # PostgreSQL cannot store it; no keyboard types it
        raise InvalidInput("The message has errors.", fields={"text": ["Text cannot contain a null character."]})
    if len(text) > MESSAGE_MAX_LENGTH:
        raise InvalidInput(
            "The message is too long.",
            fields={"text": [f"At most {MESSAGE_MAX_LENGTH} characters ({len(text)} given)."]},
        )
    # It goes to every crew of the incident: an NHS number or a date of birth is refused (a
    # postcode to meet at, or an age, is not). backend/patient_identifiers.py.
    identifier = patient_identifiers.refusal(text, what="a message to crews")
    if identifier is not None:
        raise InvalidInput("The message seems to identify the patient.", fields={"text": [identifier]})
    return text


def _tell_about_new_message(message: CrewMessage, recipients: list[Alert], *, now) -> None:
    data = payloads.crew_message(message, [])
    by_responder = {alert.responder_id: alert for alert in recipients}
    events.record_for_responders(
        by_responder, "message.created", lambda rid: {"message": data, "alert_id": by_responder[rid].pk}
    )
    events.send_to_board([("message.created", {"message": data})])
    # A phone whose app is closed hears of it by a push: "New message from control", no text.
    enqueue_pushes(recipients, round=None, now=now, kind=Kind.MESSAGE)


def acknowledge_crew_message(*, actor, message_id: int) -> MessageAcknowledgement:
    """A firefighter alerted to the message's incident says "Got it". Idempotent: a second
    acknowledgement (a queued retry, another device) returns the first and tells nobody again.
    Allowed after the incident has ended: a phone offline until then still sends its answer."""
    with transaction.atomic():
        message, alert = access.access_message_for_responder(actor, message_id, lock_responder=True)
        existing = MessageAcknowledgement.objects.filter(message=message, alert=alert).first()
        if existing is not None:
            existing.alert = alert
            return existing
        ack = MessageAcknowledgement.objects.create(message=message, alert=alert, acknowledged_at=timezone.now())
        ack.alert = alert
        # One the message did not reach (alerted before it, no longer part of the incident when it
        # was sent, and not alerted again since) is reached now: counted before the board hears of
        # the acknowledgement, so that it never says more have seen it than it reached.
        reached = [] if _reaches(message, alert) else _reach(CrewMessage.objects.filter(pk=message.pk), [alert])
        record(
            actor,
            AuditAction.CREATE,
            "message_acknowledgement",
            ack.pk,
            incident_id=message.incident_id,
            detail={"message_id": message.pk, "alert_id": alert.pk},
        )
        data = payloads.message_acknowledgement(ack)
        events.send_to_board([*_recipients_items(message.incident_id, reached), ("message.acknowledged", data)])
        # The firefighter's other devices (and this one after a reconnect) stop asking for "Got it".
        events.record_for_responders([alert.responder_id], "message.acknowledged", lambda rid: data)
    return ack


# --- Whom a message reaches -----------------------------------------------------------------------


def reach_the_alerted(incident: Incident, alerts: list[Alert], *, nobody_before: bool = False) -> None:
    """Alerts just made, or made again, on `incident` (backend/dispatch/actions.py, _send_alerts, in
    the dispatch's transaction with the incident locked): the incident's messages reach them too
    (their app loads the messages with the alert, and says "Got it" to them), so each message's
    count grows and every board is told (`message.recipients`). They are not sent the messages as
    events nor pushed them (docs/events.md, `message.created`). `nobody_before`: nobody was alerted
    to the incident before these, so no message can have been sent to it (send_crew_message refuses
    one to nobody) and nothing is read: the CAD's call costs no query more. Otherwise one query when
    the incident has no message, at most four when it has (whatever their number and the alerts')."""
    if not alerts or nobody_before:
        return
    reached = _reach(CrewMessage.objects.filter(incident=incident), alerts)
    events.send_to_board(_recipients_items(incident.pk, reached))


def _reach(messages, alerts: list[Alert]) -> list[CrewMessage]:
    """The `messages` (a queryset) now reach `alerts` too: their rows locked first (a dispatch and
    an acknowledgement adding to the same message count one after the other, each seeing the
    other's rows), the recipients added (once per alert: those already reached stay as they were)
    and each count set from its rows. Returns the messages whose count changed."""
    locked = list(messages.select_for_update().only("pk", "incident_id", "recipient_count").order_by("pk"))
    if not locked:
        return []
    MessageRecipient.objects.bulk_create(
        [MessageRecipient(message=message, alert=alert) for message in locked for alert in alerts],
        ignore_conflicts=True,
    )
    counts = dict(
        MessageRecipient.objects.filter(message__in=locked)
        .values("message")
        .annotate(reached=Count("pk"))
        .values_list("message", "reached")
    )
    changed = [message for message in locked if counts.get(message.pk, 0) != message.recipient_count]
    for message in changed:
        message.recipient_count = counts[message.pk]
    if changed:
        CrewMessage.objects.bulk_update(changed, ["recipient_count"])
    return changed


def _reaches(message: CrewMessage, alert: Alert) -> bool:
    return MessageRecipient.objects.filter(message=message, alert=alert).exists()


def _recipients_items(incident_id: int, messages: list[CrewMessage]) -> list[tuple[str, dict]]:
    """The board's `message.recipients` frame for these messages' new counts (none if none changed)."""
    if not messages:
        return []
    return [("message.recipients", payloads.message_recipients(incident_id, messages))]


# --- Reading --------------------------------------------------------------------------------------


def messages_of(user, incident_id: int) -> list[dict]:
    """An incident's messages, newest first, as `user` may see them (access.access_messages_of_incident)."""
    incident, own_alert = access.access_messages_of_incident(user, incident_id)
    messages = list(incident.messages.select_related("author").order_by("-sent_at", "-pk"))
    acks = MessageAcknowledgement.objects.filter(message__in=messages)
    if own_alert is not None:
        acks = acks.filter(alert=own_alert)
    by_message = _acknowledgements_by_message(acks)
    return [payloads.crew_message(message, by_message[message.pk]) for message in messages]


def board_messages_of(incidents: list[Incident]) -> list[dict]:
    """Every message of these incidents with all acknowledgements, for the board's snapshot: two
    queries whatever the number of incidents."""
    messages = list(
        CrewMessage.objects.filter(incident__in=incidents).select_related("author").order_by("-sent_at", "-pk")
    )
    by_message = _acknowledgements_by_message(MessageAcknowledgement.objects.filter(message__in=messages))
    return [payloads.crew_message(message, by_message[message.pk]) for message in messages]


def _acknowledgements_by_message(acks) -> dict[int, list[MessageAcknowledgement]]:
    by_message: dict[int, list[MessageAcknowledgement]] = defaultdict(list)
    for ack in acks.select_related("alert__responder__user").order_by("acknowledged_at", "pk"):
        by_message[ack.message_id].append(ack)
    return by_message
