"""Escalation when nobody accepts, driven by due times stored on the incident (never by sleeping
in memory), so a restart loses nothing: whichever worker runs next picks up what is due.

Each step runs once: the incident row is locked (skipping rows another worker holds) and the step
counter moves on in the same transaction. A step re-checks the state first: an incident that was
accepted, cancelled or closed meanwhile escalates no further.
"""

import logging

from django.db import transaction
from django.utils import timezone

from backend.delivery.outbox import enqueue_pushes, enqueue_sms
from backend.dispatch import ladder, payloads
from backend.dispatch.actions import UNANSWERED_STATES, alert_more_responders, ring_radius_km
from backend.dispatch.models import COMMITTED_STATES, AlertState, Incident, IncidentStatus
from backend.realtime import events

logger = logging.getLogger(__name__)


def run_due_escalations(*, now=None, limit: int = 20) -> int:
    """Run every escalation step that has come due. Returns how many steps ran."""
    now = now or timezone.now()
    due = Incident.objects.filter(status=IncidentStatus.OPEN, next_escalation_at__lte=now)
    ran = 0
    for incident_id in due.order_by("next_escalation_at").values_list("pk", flat=True)[:limit]:
        ran += escalate_incident(incident_id=incident_id, now=now)
    return ran


def escalate_incident(*, incident_id: int, now=None) -> bool:
    """Run the incident's next escalation step if it is due. False if there was nothing to do
    (not due, not open, or another worker holds it)."""
    now = now or timezone.now()
    with transaction.atomic():
        incident = (
            Incident.objects.select_for_update(skip_locked=True)
            .filter(pk=incident_id, status=IncidentStatus.OPEN, next_escalation_at__lte=now)
            .first()
        )
        if incident is None:
            return False
        step = incident.escalation_step
        action = ladder.action_of(step)
        accepted = incident.alerts.filter(state__in=COMMITTED_STATES).exists()
        if action == "sms":
            _text_the_unacknowledged(incident, step=step, now=now)
        elif not accepted and action == "ring":
            _resend_and_widen(incident, step=step, now=now)
        elif not accepted and action == "alarm":
            _raise_alarm(incident, now=now)
        incident.escalation_step = step + 1
        incident.next_escalation_at = ladder.due_time(incident, step + 1)
        incident.save(update_fields=["escalation_step", "next_escalation_at", "ring", "alarm_raised_at"])
        events.send_to_board([("board.incident", payloads.board_incident(incident))])
    logger.info("Incident %s: escalation step %d (%s) ran; accepted already: %s", incident_id, step, action, accepted)
    return True


def _round(step: int) -> int:
    """Delivery round of a step: round 1 is the dispatch itself."""
    return step + 2


def _resend_and_widen(incident: Incident, *, step: int, now) -> None:
    unanswered = list(incident.alerts.filter(state__in=UNANSWERED_STATES).select_related("responder"))
    enqueue_pushes(unanswered, round=_round(step), now=now)
    incident.ring += 1
    alert_more_responders(incident, radius_km=ring_radius_km(incident.ring))


def _text_the_unacknowledged(incident: Incident, *, step: int, now) -> None:
    """A text to everyone whose device has not shown the alert: the push may not have reached it."""
    not_shown = list(incident.alerts.filter(state=AlertState.ALERTED).select_related("responder"))
    enqueue_sms(not_shown, round=_round(step), now=now)


def _raise_alarm(incident: Incident, *, now) -> None:
    incident.alarm_raised_at = now
    events.send_to_board(
        [
            (
                "board.alarm",
                {
                    "incident_id": incident.pk,
                    "cad_reference": incident.cad_reference,
                    "raised_at": now.isoformat(),
                    "message": f"Nobody has accepted incident {incident.cad_reference} after every ring was alerted.",
                },
            )
        ]
    )
