"""Coverage: does an incident have the crews it needs?

Covering an incident: responders committed to it now (accepted, en route, on scene) and those who
were on scene and have cleared. Covered: at least the incident's crew target. The counts the board,
the API and the reports show are worked out here from the alerts' states and times, so they
remember who went after the incident is cleared, cancelled or closed.

`follow_coverage` is called by every action that can change coverage, with the incident row
locked, and moves the incident's escalation clock: covered pauses the ladder and, after a grace,
stands down whoever has not answered (backend/dispatch/escalation.py); uncovered again resumes the
ladder at the step it had reached; a crew lost when the ladder had finished starts it again.
"""

import datetime
import enum
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count, Q

from backend.dispatch import ladder
from backend.dispatch.models import COMMITTED_STATES, AlertState, Incident, StandDownReason


@dataclass(frozen=True)
class Coverage:
    target: int
    committed: int  # accepted, en route or on scene now
    covering: int  # committed, plus attended and cleared
    accepted: int  # accepted at some time and not declined since
    attended: int  # were on scene, whatever they are now
    # Accepted at some time, whatever they are now, after a re-alert too (Alert.first_accepted_at):
    # the alarm says "Nobody has accepted" only if none did. Not in the payload's counts (as_payload).
    ever_accepted: int
    # Those who accepted at some time and are not going now, each once by their state now
    # (no_longer_going): stood down by a coordinator or the control room, alerted again and not
    # answered yet, or dropped out by their own doing. In the payload while nobody is going
    # (payloads.board_incident).
    stood_down_by_control: int = 0
    alerted_again: int = 0
    dropped_out: int = 0

    @property
    def covered(self) -> bool:
        return self.covering >= self.target

    @property
    def lead(self) -> str:
        """The counts as the boards' coverage line starts them (board-state.js coverageText): those
        committed now are "going", those who attended and cleared are said apart: "2 going (2
        needed)", "1 going, 1 cleared from the scene (3 needed)", "2 cleared from the scene (3
        needed)". Found by a trial: an alarm said "Now 2 going" of two crews who had cleared."""
        cleared = self.covering - self.committed
        who = (
            f"{self.committed} going" if self.committed or not cleared else "",
            f"{cleared} cleared from the scene" if cleared else "",
        )
        return f"{', '.join(part for part in who if part)} ({self.target} needed)"

    def as_payload(self) -> dict:
        return {
            "crew_target": self.target,
            "committed_count": self.committed,
            "covering_count": self.covering,
            "accepted_count": self.accepted,
            "attended_count": self.attended,
            "covered": self.covered,
        }


# What tally() reads of each alert, so callers holding alerts and callers holding a queryset count
# the same way.
TALLIED_FIELDS = ("state", "accepted_at", "on_scene_at", "first_accepted_at", "stood_down_reason")


def covers(state: str, on_scene_at: datetime.datetime | None) -> bool:
    """Whether an alert in `state` counts towards its incident's cover: committed now, or on scene
    and cleared since."""
    return state in COMMITTED_STATES or (state == AlertState.CLEARED and on_scene_at is not None)


_Time = datetime.datetime | None


class NoLongerGoing(enum.StrEnum):
    """Where a responder who accepted at some time stands now that they are not going."""

    STOOD_DOWN_BY_CONTROL = "stood_down_by_control"  # a coordinator's or the control room's act
    ALERTED_AGAIN = "alerted_again"  # alerted again since, not answered yet
    DROPPED_OUT = "dropped_out"  # their own doing: declined after all, cleared before arriving


_BY_CONTROL = frozenset({StandDownReason.COORDINATOR, StandDownReason.CONTROL_ROOM})
_UNANSWERED = frozenset({AlertState.ALERTED, AlertState.RECEIVED})


def no_longer_going(
    state: str, on_scene_at: _Time, first_accepted_at: _Time, stood_down_reason: str
) -> NoLongerGoing | None:
    """How a responder who accepted at some time (Alert.first_accepted_at, kept by a re-alert) is
    not going now, by their state now, so that each is counted once and the boards and the phones
    say the same: None if they never accepted, are going, cleared from the scene, or the incident
    was cancelled. Found by a browser trial: one alerted again by name (not answered yet) was
    counted as "accepted, then dropped out" beside those stood down, and the phones called a
    coordinator's stand-down a drop-out."""
    if (first_accepted_at is None and on_scene_at is None) or covers(state, on_scene_at):
        return None
    if state in _UNANSWERED:
        return NoLongerGoing.ALERTED_AGAIN
    if state == AlertState.STOOD_DOWN and stood_down_reason in _BY_CONTROL:
        return NoLongerGoing.STOOD_DOWN_BY_CONTROL
    if state == AlertState.CANCELLED:
        return None
    return NoLongerGoing.DROPPED_OUT


def tally(target: int, alerts: Iterable[tuple[str, _Time, _Time, _Time, str]]) -> Coverage:
    """Count (state, accepted_at, on_scene_at, first_accepted_at, stood_down_reason) of an
    incident's alerts."""
    committed = covering = accepted = attended = ever_accepted = 0
    gone = dict.fromkeys(NoLongerGoing, 0)
    for state, accepted_at, on_scene_at, first_accepted_at, stood_down_reason in alerts:
        if state in COMMITTED_STATES:
            committed += 1
        if covers(state, on_scene_at):
            covering += 1
        if accepted_at is not None and state != AlertState.DECLINED:
            accepted += 1
        if on_scene_at is not None:
            attended += 1
        if first_accepted_at is not None:
            ever_accepted += 1
        if (how := no_longer_going(state, on_scene_at, first_accepted_at, stood_down_reason)) is not None:
            gone[how] += 1
    return Coverage(
        target=target,
        committed=committed,
        covering=covering,
        accepted=accepted,
        attended=attended,
        ever_accepted=ever_accepted,
        stood_down_by_control=gone[NoLongerGoing.STOOD_DOWN_BY_CONTROL],
        alerted_again=gone[NoLongerGoing.ALERTED_AGAIN],
        dropped_out=gone[NoLongerGoing.DROPPED_OUT],
    )


# The same counts as database filters on an incident's alerts, for lists of many incidents (the
# admin's incident list). tests/dispatch/test_coverage.py checks that both ways agree.
_COMMITTED = Q(alerts__state__in=[state.value for state in COMMITTED_STATES])
COUNT_ANNOTATIONS = {
    "committed_total": Count("alerts", filter=_COMMITTED),
    "covering_total": Count(
        "alerts", filter=_COMMITTED | Q(alerts__state=AlertState.CLEARED, alerts__on_scene_at__isnull=False)
    ),
    "accepted_total": Count(
        "alerts", filter=Q(alerts__accepted_at__isnull=False) & ~Q(alerts__state=AlertState.DECLINED)
    ),
    "attended_total": Count("alerts", filter=Q(alerts__on_scene_at__isnull=False)),
}


def coverage_of(incident: Incident) -> Coverage:
    """One query."""
    return tally(incident.crew_target, incident.alerts.values_list(*TALLIED_FIELDS))


class Change(enum.Enum):
    UNCHANGED = "unchanged"
    BECAME_COVERED = "became_covered"
    NO_LONGER_COVERED = "no_longer_covered"


def follow_coverage(
    incident: Incident, *, now: datetime.datetime, crew_lost: bool = False, hold: bool = False
) -> tuple[Coverage, Change]:
    """After a change to the incident's alerts (its row locked by the caller): record when it became
    covered, or that it no longer is, and move the escalation clock to match. `crew_lost`: the
    change took away a crew that counted towards the cover by their own doing (a decline after
    accepting, clearing before arriving). `hold`: the change was a coordinator's (or the control
    room's) deliberate stand-down of a crew going: if it leaves the incident short, the ladder
    does not run on (nor resume, for a cover it ends) but waits, held, for their next dispatch
    (ladder.is_held, resume_held), whether or not the incident had been covered. Found by trials:
    standing down the one crew on scene re-alerted everyone and sounded the alarm; standing down
    the one crew of an incident never covered let the ladder alert the next ring and sound "Nobody
    has accepted". Saves the incident only if something changed. The caller acts on the change
    (backend/dispatch/actions.py)."""
    coverage = coverage_of(incident)
    held = False
    if coverage.covered and incident.covered_at is None:
        incident.covered_at = now
        # The escalation pass stands down the unanswered once the grace is over, then the ladder
        # waits (no due time) until coverage drops.
        incident.next_escalation_at = now + datetime.timedelta(seconds=settings.COVERED_STAND_DOWN_GRACE_SECONDS)
        change = Change.BECAME_COVERED
    elif not coverage.covered and incident.covered_at is not None:
        # Resume where the ladder was: its remaining steps keep their spacing, moved on by the time
        # it was paused, so those alerted again now get the step's interval to answer.
        paused = max(0, round((now - incident.covered_at).total_seconds()))
        incident.escalation_delay_seconds += paused
        incident.covered_at = None
        due = ladder.due_time(incident, incident.escalation_step)
        incident.next_escalation_at = max(due, now) if due is not None and not hold else None
        change = Change.NO_LONGER_COVERED
    else:
        change = Change.UNCHANGED
        if hold and not coverage.covered and incident.dispatched_at and incident.next_escalation_at:
            # Short before and after, the ladder running: held as when the stand-down ends a cover.
            incident.next_escalation_at = None
            held = True
    if crew_lost and not coverage.covered and ladder.has_finished(incident):
        # Short of crews with no step left to run (found by a trial: the last crew dropped out after
        # the ladder had finished, and nothing more would happen): the ladder starts again, so those
        # who have not answered are sent to again, anyone newly on call in range is alerted, the
        # silent are texted, and the alarm sounds again if that brings nobody.
        ladder.start_again(incident, now)
    elif change is Change.UNCHANGED and not held:
        return coverage, change
    # Since when the ladder is held, for its `held` alarm (ladder.held_alarm_at); none once it is not.
    incident.held_since = (incident.held_since or now) if ladder.is_held(incident) else None
    incident.save(
        update_fields=[
            "covered_at",
            "next_escalation_at",
            "escalation_delay_seconds",
            "escalation_step",
            "held_since",
            "ladder_resumed_at",  # ladder.start_again clears it and the step
            "ladder_resumed_step",
        ]
    )
    return coverage, change
