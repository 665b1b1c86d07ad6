"""Acknowledging the board's alarms (issue 15; docs/board.md).

Which alarms are sounding is worked out by each board from what it already knows (the snapshot and
the frames: board-state.js, alarmsOf): an incident unanswered past its first escalation step, the
escalation alarm, a dispatch that reached nobody, the delivery workers gone silent. What the server
keeps is who acknowledged which alarm and when: one row per acknowledgement, audited, sent to every
board as `alarm.acknowledged` and carried by the board's snapshot, so that an alarm one coordinator
has acknowledged stops sounding on every screen, including one opened later.

When an incident's alarm starts sounding is audited too (`alarm` entries, record_sounding), where the
server raises it: actions.raise_board_alarm (a dispatch that reached nobody, the escalation alarm,
the last crew dropping out) and the escalation pass (not dispatched in time; nobody going after the
first escalation step). The trail then shows when each alarm began as well as who acknowledged it.
The delivery workers' alarm is not: no server process raises it (each board sees the heartbeats go
stale: sockets/consumers.py, _watch_workers).
"""

import logging

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from backend.audit.log import record
from backend.audit.models import AuditAction
from backend.dispatch import access
from backend.dispatch.models import SYSTEM_ALARM_KINDS, AlarmAcknowledgement, AlarmKind, Incident, IncidentStatus
from backend.errors import Conflict, InvalidInput
from backend.realtime import events

logger = logging.getLogger(__name__)

BOARD_PERMISSION = "accounts.view_board"
ACKNOWLEDGED_EVENT = "alarm.acknowledged"


def acknowledge_alarm(*, actor, kind: str, incident_id: int | None = None) -> AlarmAcknowledgement:
    """Record that `actor` acknowledged the alarm `kind` (of the incident, for every kind but
    worker_silent), audit it and tell every board. Acknowledging again is allowed: each is kept."""
    access.require_permission(actor, BOARD_PERMISSION, "acknowledge the board's alarms")
    if kind not in AlarmKind.values:
        raise InvalidInput(f"Unknown alarm {kind!r}.", fields={"kind": [f"Use one of: {', '.join(AlarmKind.values)}."]})
    with transaction.atomic():
        incident = _incident_of(actor, kind, incident_id)
        acknowledgement = AlarmAcknowledgement.objects.create(
            kind=kind, incident=incident, acknowledged_by=actor, acknowledged_at=timezone.now()
        )
        record(
            actor,
            AuditAction.CREATE,
            "alarm_acknowledgement",
            acknowledgement.pk,
            incident_id=incident.pk if incident else None,
            detail={"kind": kind},
        )
        events.send_to_board([(ACKNOWLEDGED_EVENT, acknowledgement_payload(acknowledgement))])
    logger.info("Alarm %s of incident %s acknowledged by user %s", kind, incident_id, actor.pk)
    return acknowledgement


def record_sounding(incident: Incident, kind: AlarmKind, *, now) -> None:
    """Audit that the incident's alarm `kind` starts sounding on the boards at `now`: the system's
    entry (no actor), in the caller's transaction, so a step that is rolled back, or one another
    worker runs instead, leaves none. The alarm's kind and when, nothing of its words or the patient
    (object `alarm`, named by its kind, as the board keys it with the incident)."""
    record(
        None,
        AuditAction.ALARM,
        "alarm",
        kind,
        incident_id=incident.pk,
        detail={"kind": kind.value, "raised_at": now.isoformat()},
    )


def _incident_of(actor, kind: str, incident_id: int | None) -> Incident | None:
    if kind in SYSTEM_ALARM_KINDS:
        if incident_id is not None:
            raise InvalidInput(
                "This alarm belongs to no incident.", fields={"incident_id": ["Leave it out for this alarm."]}
            )
        return None
    if incident_id is None:
        raise InvalidInput("Say which incident's alarm.", fields={"incident_id": ["This alarm needs its incident."]})
    incident = access.access_incident_for_coordinator(
        actor, incident_id, permission=BOARD_PERMISSION, doing="acknowledge the board's alarms"
    )
    if incident.status != IncidentStatus.OPEN:
        raise Conflict(f"Incident {incident.cad_reference} is no longer open: its alarms have stopped.")
    return incident


def acknowledgement_payload(acknowledgement: AlarmAcknowledgement) -> dict:
    user = acknowledgement.acknowledged_by
    return {
        "id": acknowledgement.pk,
        "kind": acknowledgement.kind,
        "incident_id": acknowledgement.incident_id,
        "acknowledged_by": user.get_full_name() or user.get_username(),
        "acknowledged_at": acknowledgement.acknowledged_at.isoformat(),
    }


def acknowledgements_for_board(incident_ids) -> list[dict]:
    """What the board's snapshot carries: the newest acknowledgement of each alarm of the open
    incidents, and the newest of the delivery workers' alarm. One query."""
    rows = (
        AlarmAcknowledgement.objects.filter(
            Q(incident_id__in=list(incident_ids)) | Q(kind__in=SYSTEM_ALARM_KINDS, incident__isnull=True)
        )
        .select_related("acknowledged_by")
        .order_by("id")
    )
    newest = {(row.kind, row.incident_id): row for row in rows}  # later rows win
    return [acknowledgement_payload(row) for row in newest.values()]
