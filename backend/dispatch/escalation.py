"""Escalation when nobody accepts, driven by due times stored on the incident (never by sleeping
in memory), so a restart loses nothing: whichever worker runs next picks up what is due. Before an
incident's first dispatch its due time is that of the alarm for an incident not dispatched
(ladder.undispatched_alarm_at): nobody is alerted until someone dispatches it.

Each step runs once: the incident row is locked (skipping rows another worker holds) and the step
counter moves on in the same transaction. A step re-checks the state first: an incident that was
cancelled or closed meanwhile escalates no further, and one that is covered (enough crews going,
backend/dispatch/coverage.py) runs no step: once its grace is over, those who have not answered are
stood down and the ladder waits, to resume where it was if coverage drops. A ladder held since a
coordinator's stand-down (ladder.is_held) runs no step either; if nobody dispatches, cancels or
closes the incident meanwhile, the board's `held` alarm sounds once (sound_held_alarm).
"""

import datetime
import logging

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from backend import priority
from backend.delivery.outbox import enqueue_pushes, enqueue_sms
from backend.delivery.receipts import alerts_shown_by_receipt
from backend.dispatch import actions, alarms, ladder, payloads
from backend.dispatch.actions import UNANSWERED_STATES
from backend.dispatch.coverage import Coverage, coverage_of
from backend.dispatch.models import AlarmKind, AlertState, Incident, IncidentStatus
from backend.realtime import events

logger = logging.getLogger(__name__)


def run_due_escalations(*, now=None, limit: int = 20) -> int:
    """Run every escalation step that has come due. Returns how many steps ran."""
    now = now or timezone.now()
    due = Incident.objects.filter(status=IncidentStatus.OPEN, next_escalation_at__lte=now)
    ran = 0
    for incident_id in due.order_by("next_escalation_at").values_list("pk", flat=True)[:limit]:
        ran += escalate_incident(incident_id=incident_id, now=now)
    for incident_id in _held_alarms_due(now).order_by("held_since").values_list("pk", flat=True)[:limit]:
        ran += sound_held_alarm(incident_id=incident_id, now=now)
    return ran


def _held_alarms_due(now):
    """Open incidents whose ladder has been held since a stand-down for HELD_LADDER_REMINDER_SECONDS
    (ladder.held_alarm_at) with no alarm raised since the hold began: that is, not yet this one."""
    since = now - datetime.timedelta(seconds=settings.HELD_LADDER_REMINDER_SECONDS)
    return Incident.objects.filter(status=IncidentStatus.OPEN, held_since__lte=since).exclude(
        alarm_raised_at__gte=F("held_since")
    )


def sound_held_alarm(*, incident_id: int, now=None) -> bool:
    """The board's `held` alarm, once, for an open incident left short since a coordinator's
    stand-down held its ladder (coverage.follow_coverage `hold`), that nobody has dispatched again,
    cancelled or closed since (H17: forgotten, it sounded nothing, ever). A dispatch resumes the
    ladder and ends the hold (ladder.resume_held); cancelling or closing ends the incident. False if
    there was nothing to do (not due, not open, raised already, or another worker holds it)."""
    now = now or timezone.now()
    with transaction.atomic():
        incident = _held_alarms_due(now).filter(pk=incident_id).select_for_update(skip_locked=True).first()
        if incident is None:
            return False
        if not ladder.is_held(incident):  # no longer held: nothing to remind of
            incident.held_since = None
            incident.save(update_fields=["held_since"])
            return False
        _raise_held_alarm(incident, now=now, coverage=coverage_of(incident))
        incident.save(update_fields=actions.ALARM_FIELDS)
        events.send_to_board([("board.incident", payloads.board_incident(incident))])
    logger.info("Incident %s: alarm: held after a stand-down, nobody dispatched", incident_id)
    return True


def _raise_held_alarm(incident: Incident, *, now, coverage: Coverage) -> None:
    """Plain words of who is going and what to do: the card's line says the ladder is held."""
    waited = max(0, round((now - incident.held_since).total_seconds()))
    how_long = f"{waited} s" if waited < 120 else f"{waited // 60} min"
    reference = incident.cad_reference
    if coverage.covering:
        short = f"Incident {reference} is still short of crews ({coverage.lead}) {how_long} after crews were stood down"
    else:
        short = f"Nobody is going to incident {reference}, {how_long} after crews were stood down"
    message = f"{short}: dispatch again, or cancel or close it."
    actions.raise_board_alarm(incident, now=now, message=message, kind=AlarmKind.HELD)


def escalate_incident(*, incident_id: int, now=None) -> bool:
    """Run what is due for the incident: the next step of its ladder, or, once it is covered and
    the grace is over, standing down those who have not answered, or, if nobody has dispatched it,
    the board's alarm. False if there was nothing to do (not due, not open, or another worker holds
    it)."""
    now = now or timezone.now()
    # A step re-sends and widens, a dispatch: positions wait meanwhile (backend/priority.py).
    with priority.urgent(), transaction.atomic():
        incident = (
            Incident.objects.select_for_update(skip_locked=True)
            .filter(pk=incident_id, status=IncidentStatus.OPEN, next_escalation_at__lte=now)
            .first()
        )
        if incident is None:
            return False
        if incident.dispatched_at is None:
            ran = "alarm: not dispatched"
            _raise_undispatched_alarm(incident, now=now)
            incident.next_escalation_at = None  # a dispatch starts the ladder (actions._start_the_clock)
            incident.save(update_fields=["next_escalation_at", *actions.ALARM_FIELDS])
        elif (coverage := coverage_of(incident)).covered:
            ran = "stand down the unanswered: enough crews"
            actions.stand_down_when_covered(incident=incident, now=now)
            incident.next_escalation_at = None  # paused until coverage drops (coverage.follow_coverage)
            incident.save(update_fields=["next_escalation_at"])
        else:
            ran = _run_step(incident, now=now, coverage=coverage)
        events.send_to_board([("board.incident", payloads.board_incident(incident))])
    logger.info("Incident %s: escalation ran: %s", incident_id, ran)
    return True


def _run_step(incident: Incident, *, now, coverage: Coverage) -> str:
    """The ladder's next step, for an incident still short of crews (`coverage`, as it was before
    the step: a step alerts, texts or sounds, and nobody it reaches has accepted yet)."""
    step = incident.escalation_step
    action = ladder.action_of(step)
    if action == "ring":
        _resend_and_widen(incident, now=now)
    elif action == "sms":
        _text_the_unacknowledged(incident, now=now)
    elif action == "alarm":
        _raise_alarm(incident, now=now)
    first = incident.ladder_resumed_step or 0  # the first step of this attempt: a resume is a fresh one
    if step == first and coverage.covering == 0 and not _alarm_raised_since_dispatch(incident):
        # The board's `unanswered` alarm starts sounding now: past the first escalation step (of
        # the ladder as resumed after a hold, if it was) and nobody going, with no alarm of the
        # incident's own to show in its place (board-state.js, incidentAlarm). The first step runs
        # again only after the last crew dropped out, which raised that alarm
        # (actions._follow_coverage): audited once.
        alarms.record_sounding(incident, AlarmKind.UNANSWERED, now=now)
    incident.escalation_step = step + 1
    incident.next_escalation_at = ladder.due_time(incident, step + 1)
    incident.save(update_fields=["escalation_step", "next_escalation_at", "ring", *actions.ALARM_FIELDS])
    return f"step {step} ({action})"


def _alarm_raised_since_dispatch(incident: Incident) -> bool:
    """The incident's alarm was raised after its first dispatch (one raised before it was the
    alarm for not dispatching it, which the dispatch ended)."""
    raised = incident.alarm_raised_at
    return raised is not None and incident.dispatched_at is not None and raised >= incident.dispatched_at


def _raise_undispatched_alarm(incident: Incident, *, now) -> None:
    """Nobody has dispatched the open incident since it was created (a coordinator's "Add incident"
    or the CAD's `dispatch: false`), UNDISPATCHED_ALARM_SECONDS ago: nobody is alerted to it. Found
    by a trial: its card sat above a scrolled board and nothing sounded for two minutes. The board
    shows it as the `undispatched` alarm (an alarm raised before the dispatch: over once dispatched,
    board-state.js, alarmOf), acknowledged and audited as the others (alarms.py)."""
    waited = max(0, round((now - incident.created_at).total_seconds()))
    how_long = f"{waited} s" if waited < 120 else f"{waited // 60} min"
    message = (
        f"Incident {incident.cad_reference} has not been dispatched {how_long} after it was created: "
        "nobody is alerted to it."
    )
    actions.raise_board_alarm(incident, now=now, message=message, kind=AlarmKind.UNDISPATCHED)


def _resend_and_widen(incident: Incident, *, now) -> None:
    """Re-send to the unanswered; alert again, nearest first, those stood down from the incident
    by nobody's decision about it who can go now (actions.alert_again_when_short: freed since it
    became short, as one stood down because they accepted another incident; the next ring skips
    everyone ever alerted, found by a browser trial); then the next ring. The re-alert is not the
    ring's alerting: the step widens whether or not anyone was alerted again, as re-alerts count for
    nothing in the ladder elsewhere (a drop in coverage leaves the ladder at its step; a dispatch
    resuming a held ladder widens when its ring has nobody new, whoever it alerted again)."""
    unanswered = list(incident.alerts.filter(state__in=UNANSWERED_STATES).select_related("responder"))
    enqueue_pushes(unanswered, now=now)
    actions.alert_again_when_short(incident, now=now, actor=None)
    incident.ring = min(incident.ring + 1, ladder.widest_ring())
    actions.alert_more_responders(incident, radius_km=actions.ring_radius_km(incident.ring))


def _text_the_unacknowledged(incident: Incident, *, now) -> None:
    """A text to everyone none of whose devices has shown the alert: neither the app said so
    (`received`) nor a service worker sent a receipt. The push may not have reached them. (The
    step runs only while the incident is short of crews; a text queued meanwhile is dropped by the
    outbox once it is covered: Alert.not_to_text_because.)"""
    unacknowledged = list(incident.alerts.filter(state=AlertState.ALERTED).select_related("responder"))
    shown = alerts_shown_by_receipt(alert.pk for alert in unacknowledged)
    enqueue_sms([alert for alert in unacknowledged if alert.pk not in shown], now=now)


def _raise_alarm(incident: Incident, *, now) -> None:
    """Words true when the alarm is raised (the board shows them later as they were: Incident.
    alarm_message): "Nobody has accepted" only if nobody ever had; one who accepted and dropped out
    is not nobody (found by a trial), nor is one alerted again since, whose acceptance time the
    re-alert cleared (not its first: Alert.first_accepted_at, counted with the coverage)."""
    coverage = coverage_of(incident)
    reference = incident.cad_reference
    if coverage.covering:
        # In the coverage line's counts and words (Coverage.lead): "has 2 of the 3 crews it needs"
        # of two crews who had cleared read as two going (found by a trial).
        message = f"Incident {reference} is still short of crews after every ring was alerted: {coverage.lead}."
    elif coverage.ever_accepted:
        message = (
            f"Nobody is going to incident {reference} any more (0 going, {coverage.target} needed) "
            "after every ring was alerted."
        )
    else:
        message = f"Nobody has accepted incident {reference} after every ring was alerted."
    actions.raise_board_alarm(incident, now=now, message=message, kind=AlarmKind.ESCALATION)
