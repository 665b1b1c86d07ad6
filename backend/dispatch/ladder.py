"""The escalation ladder (settings.ESCALATION_LADDER): when each step of an incident is due."""

import datetime

from django.conf import settings

from backend.dispatch.models import Incident


def due_time(incident: Incident, step: int) -> datetime.datetime | None:
    """When step `step` is due, counted from the first dispatch (plus any time the ladder was paused
    because the incident was covered); None after the last step."""
    if incident.dispatched_at is None or step >= len(settings.ESCALATION_LADDER):
        return None
    seconds, _action = settings.ESCALATION_LADDER[step]
    return incident.dispatched_at + datetime.timedelta(seconds=seconds + incident.escalation_delay_seconds)


def action_of(step: int) -> str:
    return settings.ESCALATION_LADDER[step][1]


def start_escalation(incident: Incident) -> None:
    """Set the clock on first dispatch (in memory; the caller saves)."""
    incident.escalation_step = 0
    incident.next_escalation_at = due_time(incident, 0)
