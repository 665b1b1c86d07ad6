"""The escalation ladder (settings.ESCALATION_LADDER): when each step of an incident is due."""

import datetime
import math

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


def widest_ring() -> int:
    """The number of the widest ring of stations a dispatch can alert (the first, then each of
    DISPATCH_NEXT_RINGS_KM)."""
    return 1 + len(settings.DISPATCH_NEXT_RINGS_KM)


def what_step_does(incident: Incident, step: int) -> str:
    """What step `step` will do for this incident, as the board and the API say it: its action,
    except that a ring step at the widest ring is "resend". It still re-sends to the unanswered and
    looks again within the widest ring (escalation._resend_and_widen), but there is no wider ring
    to alert, and "ring" promises one (found by trying the board: "Next: wider ring" with none left;
    a dispatch that reaches nobody widens to the widest ring at once)."""
    action = action_of(step)
    if action == "ring" and incident.ring >= widest_ring():
        return "resend"
    return action


def undispatched_alarm_at(created_at: datetime.datetime) -> datetime.datetime:
    """When an incident created at `created_at` and not dispatched by then sounds the board's alarm
    (settings.UNDISPATCHED_ALARM_SECONDS): its first due time, until a dispatch starts the ladder
    (escalation.py runs it: a trial found one left undispatched above a scrolled board, unseen)."""
    return created_at + datetime.timedelta(seconds=settings.UNDISPATCHED_ALARM_SECONDS)


def start_escalation(incident: Incident) -> None:
    """Set the clock on first dispatch (in memory; the caller saves)."""
    incident.escalation_step = 0
    incident.next_escalation_at = due_time(incident, 0)


def has_finished(incident: Incident) -> bool:
    """The ladder has run its last step (a dispatched incident with no step left)."""
    return incident.dispatched_at is not None and due_time(incident, incident.escalation_step) is None


def start_again(incident: Incident, now: datetime.datetime) -> None:
    """Run a finished ladder again from its first step, spaced as it was from the dispatch but
    counted from `now` (in memory; the caller saves): re-send to the unanswered and look again
    within the widest ring, text, and raise the alarm again if still short (coverage.py, when a
    crew drops out after the ladder has finished)."""
    incident.escalation_step = 0
    incident.escalation_delay_seconds = max(0, round((now - incident.dispatched_at).total_seconds()))
    incident.next_escalation_at = due_time(incident, 0)
    incident.ladder_resumed_at = incident.ladder_resumed_step = None  # counted from its first step


def is_held(incident: Incident) -> bool:
    """Short of crews since a coordinator stood crews down, the ladder waiting for their dispatch
    (coverage.follow_coverage, `hold`): dispatched, not covered, no due time, and a step still to
    run (a ladder paused while covered keeps covered_at; a finished one has no step left)."""
    return (
        incident.dispatched_at is not None
        and incident.covered_at is None
        and incident.next_escalation_at is None
        and due_time(incident, incident.escalation_step) is not None
    )


def resume_held(incident: Incident, now: datetime.datetime) -> None:
    """Resume a held ladder at the step it had reached, that step due as long after `now` as it
    comes after the step before it, and never sooner than a new incident's first step comes after
    its dispatch (in memory; the caller saves): those alerted now get at least the first step's
    interval to answer (found by a browser trial: resumed at a step 15 s after the one before, the
    named responder had 15 s before the step ran and "Nobody going" sounded). The hold, and its
    `held` alarm, are over (held_since). A fresh attempt: the incident keeps when and at which
    step (ladder_resumed_at, ladder_resumed_step), so the boards' `unanswered` alarm waits for a
    step to run since, as for a new incident (found by a review: it sounded at once after a resume
    past the first step)."""
    step = incident.escalation_step
    incident.ladder_resumed_at, incident.ladder_resumed_step = now, step
    seconds = settings.ESCALATION_LADDER[step][0]
    gap = seconds - (settings.ESCALATION_LADDER[step - 1][0] if step else 0)
    gap = max(gap, settings.ESCALATION_LADDER[0][0])  # as a new incident's ladder waits (due_time, step 0)
    since_dispatch = math.floor((now - incident.dispatched_at).total_seconds())
    incident.escalation_delay_seconds = max(0, since_dispatch + gap - seconds)
    # Not a fraction of a second sooner than `gap` after `now` (the delay is in whole seconds).
    incident.next_escalation_at = max(due_time(incident, step), now + datetime.timedelta(seconds=gap))
    # The `held` alarm, raised during the hold, is over with it: the coordinator has dispatched (a
    # trial found it sounding on, as the escalation alarm, after "Alert named"). Its sounding stays
    # in the audit trail (alarms.record_sounding); the caller saves ALARM_FIELDS too.
    if incident.alarm_raised_at is not None and incident.held_since and incident.alarm_raised_at >= incident.held_since:
        incident.alarm_raised_at = None
        incident.alarm_message = ""
    incident.held_since = None


def held_alarm_at(incident: Incident) -> datetime.datetime | None:
    """When a held ladder's incident sounds the board's `held` alarm if nobody has dispatched,
    cancelled or closed it (settings.HELD_LADDER_REMINDER_SECONDS after the hold began:
    Incident.held_since); None when not held. Raised once by the escalation pass (escalation.py):
    without it an incident left short by a stand-down and forgotten sounded nothing, ever (H17)."""
    if incident.held_since is None:
        return None
    return incident.held_since + datetime.timedelta(seconds=settings.HELD_LADDER_REMINDER_SECONDS)
