"""Positions shared while responding, and what they are for: the board's and the crew's picture of
who is where and who is likely first on scene (docs/positions.md).

A responder's phone sends its position after they accept an alert (`record_alert_position`), until
the alert is cleared, stood down, cancelled or declined, or the incident ends. Each is stored with
its arrival estimate (backend/dispatch/arrival.py) and sent at once, as an unstored frame
`position.updated`, to the coordinators' board and to the incident's committed crew. When the
alert leaves the committed states, `end_sharing` (called by the actions' "tell everyone" step)
sends `position.cleared`; from then on its positions are no longer served. The worker's retention
pass deletes every position after POSITIONS_RETENTION_HOURS (`delete_expired_positions`).

Positions never go into a push, a log line or the replayable event store; every read (the API's
GET, the board's snapshot) is audited.
"""

import datetime

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max, OuterRef, Subquery
from django.utils import timezone

from backend import priority
from backend.accounts.models import OnCallPosition
from backend.accounts.positions import check_fix
from backend.audit import log as audit_log
from backend.audit.models import AuditAction
from backend.dispatch import access, arrival
from backend.dispatch.models import COMMITTED_STATES, Alert, AlertPosition, Incident, IncidentStatus
from backend.errors import Conflict, NotAllowed, NotFound
from backend.realtime import events
from backend.sql_literals import Literal, literals

# The audit trail's object type for a read of positions.
AUDITED_AS = "positions"


class NotResponding(Conflict):
    """The alert is not accepted, en route or on scene, or its incident is over: the app stops."""

    code = "not_responding"


def _sharing(alert: Alert, incident: Incident | None = None) -> bool:
    """Accepted, en route or on scene, on an open incident: the only time a position is shared."""
    incident = incident or alert.incident
    return alert.state in COMMITTED_STATES and incident.status == IncidentStatus.OPEN


def record_alert_position(
    *, actor, alert_id: int, latitude, longitude, accuracy_m=None, recorded_at=None
) -> tuple[AlertPosition, bool]:
    """The firefighter's own alert's position: stored with its estimate and sent to the board and
    the committed crew. Returns (the newest position, whether this one was stored). A fix no newer
    than the last one stored, or within POSITION_MIN_INTERVAL_SECONDS of it (a retry, a second
    tab), is accepted without being stored: the answer is the last one's.

    Every responder going calls this every ten seconds (500 of them: fifty calls a second) while
    dispatches must not slow down (issue 14), so it is kept to three queries and a short write: one
    read finds the alert, its incident, its responder and when the last fix was taken; the write
    transaction (on SQLite, the one writer's lock that a dispatch would wait for) holds only the
    check that the alert is still sharing, which also names the crew to tell, and the insert."""
    fix = check_fix(latitude=latitude, longitude=longitude, accuracy_m=accuracy_m, recorded_at=recorded_at)
    priority.wait_turn()  # a dispatch being served goes first (backend/priority.py)
    alert = access.access_own_alert_in_one_query(actor, alert_id, _with_last_fix(Alert.objects))
    if not _sharing(alert):
        raise _not_responding(alert)
    stopped = alert.position_stopped_at is not None  # "Share again" after Stop: this fix resumes it
    if not stopped and alert.last_fix_at is not None and _too_soon(fix.recorded_at, alert.last_fix_at):
        return alert.positions.order_by("-id").first(), False
    # Outside the transaction: the routing service may take its timeout, and no row is held meanwhile.
    estimate = arrival.estimate(
        origin=(fix.latitude, fix.longitude), destination=(alert.incident.latitude, alert.incident.longitude)
    )
    with transaction.atomic():
        _hold(alert)
        crew = _crew_going(alert.incident_id)
        if alert.pk not in crew:
            alert.refresh_from_db(fields=["state"])
            alert.incident.refresh_from_db(fields=["status"])
            raise _not_responding(alert)
        position = AlertPosition.objects.create(
            alert=alert,
            latitude=fix.latitude,
            longitude=fix.longitude,
            accuracy_m=fix.accuracy_m,
            recorded_at=fix.recorded_at,
            received_at=timezone.now(),
            distance_km=estimate.distance_km,
            eta_seconds=estimate.eta_seconds,
            method=estimate.method,
            computed_at=estimate.computed_at,
        )
        if stopped:
            Alert.objects.filter(pk=alert.pk).update(position_stopped_at=None)
            alert.position_stopped_at = None
            _audit_sharing(actor, alert, "resumed")
        data = {**position_payload(position, alert), "incident_id": alert.incident_id}
        _send_to(set(crew.values()), "position.updated", data)
    return position, True


def stop_sharing(*, actor, alert_id: int, request=None) -> bool:
    """`DELETE /api/v1/alerts/{id}/positions/`: the firefighter tapped Stop on their own alert. Kept
    on the alert (`position_stopped_at`, until their next fix: "Share again"), audited (`change` of
    the alert, `position_sharing: stopped`), and the board and the crew are told (`position.cleared`)
    to take them off the map and out of the estimates and "Likely first"; their positions are not
    served meanwhile (latest_positions). Found by a browser trial: the phone said "Not sharing your
    position." while the wall still read "Likely first: Sam Barker (1 min)" minutes later. Returns
    whether it stopped anything: stopping twice, or for an alert no longer shared, does nothing."""
    alert = access.access_own_alert_in_one_query(actor, alert_id, Alert.objects.select_related("incident"))
    if not _sharing(alert) or alert.position_stopped_at is not None:
        return False  # nothing shared to stop (an alert ended clears the boards itself: end_sharing)
    with transaction.atomic():
        _hold(alert)
        stopped = Alert.objects.filter(
            pk=alert.pk, position_stopped_at__isnull=True, state__in=literals(COMMITTED_STATES)
        ).update(position_stopped_at=timezone.now())
        if not stopped:
            return False
        _audit_sharing(actor, alert, "stopped", request=request)
        _send(
            alert.incident,
            "position.cleared",
            {"alert_id": alert.pk, "incident_id": alert.incident_id, "responder_id": alert.responder_id},
            also_to={alert.responder_id},
        )
    return True


def _audit_sharing(actor, alert: Alert, what: str, *, request=None) -> None:
    audit_log.record(
        actor,
        AuditAction.CHANGE,
        "alert",
        alert.pk,
        incident_id=alert.incident_id,
        request=request,
        detail={"position_sharing": what},
    )


def _with_last_fix(alerts):
    """The alerts with their incident and responder, and when their newest stored fix was taken."""
    newest = AlertPosition.objects.filter(alert=OuterRef("pk")).order_by("-id").values("recorded_at")[:1]
    return alerts.select_related("incident", "responder__user").annotate(last_fix_at=Subquery(newest))


def _hold(alert: Alert) -> None:
    """Lock the alert's row where rows are locked (PostgreSQL): an answer or a stand-down that ends
    the sharing waits for this transaction (and its `position.updated` goes before their
    `position.cleared`), or this one sees it. SQLite has no row locks: its transaction, begun
    IMMEDIATE (settings.py), already holds the only writer's lock, so the query is not made there."""
    if connection.features.has_select_for_update:
        Alert.objects.select_for_update(of=("self",)).filter(pk=alert.pk).values_list("pk").first()


def _crew_going(incident_id: int) -> dict[int, int]:
    """Alert id -> responder id of each alert committed to the incident while it is open (none once
    it is over): whom to tell, and whether a given alert may still share."""
    return dict(
        Alert.objects.filter(
            incident_id=incident_id, state__in=COMMITTED_STATES, incident__status=IncidentStatus.OPEN
        ).values_list("pk", "responder_id")
    )


def _too_soon(recorded_at: datetime.datetime, last: datetime.datetime) -> bool:
    return (recorded_at - last).total_seconds() < settings.POSITION_MIN_INTERVAL_SECONDS


def _not_responding(alert: Alert) -> NotResponding:
    if alert.incident.status != IncidentStatus.OPEN:
        message = f"The incident is {alert.incident.status}: your position is no longer shared."
    else:
        message = f"Your alert is {alert.get_state_display().lower()}: your position is shared only while responding."
    return NotResponding(message, extra={"state": alert.state})


def estimate_payload(position: AlertPosition) -> dict:
    return {
        "distance_km": position.distance_km,
        "eta_seconds": position.eta_seconds,
        "method": position.method,
        "computed_at": position.computed_at.isoformat(),
    }


def position_payload(position: AlertPosition, alert: Alert) -> dict:
    """One responder's latest position as the board and the crew see it (docs/positions.md)."""
    return {
        "alert_id": alert.pk,
        "responder_id": alert.responder_id,
        "responder_name": alert.responder.display_name,
        "latitude": position.latitude,
        "longitude": position.longitude,
        "accuracy_m": position.accuracy_m,
        "recorded_at": position.recorded_at.isoformat(),
        "estimate": estimate_payload(position),
    }


def _send(incident: Incident, type: str, data: dict, *, also_to: set[int] = frozenset()) -> None:
    """To the board and to the incident's committed crew (and `also_to`), after commit, unstored."""
    crew = set(also_to)
    if incident.status == IncidentStatus.OPEN:
        crew |= set(
            Alert.objects.filter(incident_id=incident.pk, state__in=COMMITTED_STATES).values_list(
                "responder_id", flat=True
            )
        )
    _send_to(crew, type, data)


def _send_to(responder_ids: set[int], type: str, data: dict) -> None:
    """To the board and to these responders, after commit, unstored: one batch, so one hand-over
    to the server's event loop."""
    events.send_unstored(type, data, board=True, responder_ids=responder_ids)


def end_sharing(incident: Incident, changed: list[Alert]) -> None:
    """After a change of alerts (the actions' "tell everyone" step, inside their transaction): an
    alert that was accepted and is no longer committed to an open incident stops sharing, and the
    board and the crew are told (`position.cleared`) to take its responder off the map. Costs no
    query for alerts never accepted (a dispatch, an acknowledgement)."""
    for alert in changed:
        if alert.accepted_at is None or _sharing(alert, incident):
            continue
        _send(
            incident,
            "position.cleared",
            {"alert_id": alert.pk, "incident_id": incident.pk, "responder_id": alert.responder_id},
            also_to={alert.responder_id},
        )


def end_sharing_logged_out(alerts: list[Alert]) -> None:
    """Their responder logged out of the app (backend/dispatch/presence.py, inside its transaction):
    the phone shares no more, so the board and the crew are told (`position.cleared`) to take them
    off the map, and their positions are not served while they stay logged out (latest_positions).
    Found by a trial: "500 m · about 1 min (estimate)" and "ETA 1 min" stayed, as if live, after
    an en-route firefighter logged out. `alerts`: theirs still active, with their incidents."""
    sharing = [alert for alert in alerts if alert.accepted_at is not None and _sharing(alert)]
    shown = (
        set(AlertPosition.objects.filter(alert__in=sharing).values_list("alert_id", flat=True)) if sharing else set()
    )
    for alert in sharing:
        if alert.pk not in shown:
            continue  # nothing of theirs on any map
        _send(
            alert.incident,
            "position.cleared",
            {"alert_id": alert.pk, "incident_id": alert.incident_id, "responder_id": alert.responder_id},
        )


def latest_positions(incident_ids: list[int]) -> dict[int, list[dict]]:
    """Incident id -> the latest position of each of its alerts still sharing (committed, incident
    open, its responder not logged out of the app: end_sharing_logged_out, nor stopped by the
    firefighter: stop_sharing), nearest to arrival
    first. Two queries whatever the number of incidents."""
    # The status and states as literals: a generic plan (prepared statements) compared with
    # parameters took a third of all incidents for open and hashed the year's history to join the
    # board's few alerts (tests/dispatch/test_generic_plans.py, backend/sql_literals.py).
    newest_ids = (
        AlertPosition.objects.filter(
            alert__incident_id__in=incident_ids,
            alert__state__in=literals(COMMITTED_STATES),
            alert__incident__status=Literal(IncidentStatus.OPEN),
        )
        .values("alert_id")
        .annotate(newest=Max("id"))
        .values_list("newest", flat=True)
    )
    positions = AlertPosition.objects.filter(pk__in=list(newest_ids)).select_related("alert__responder__user")
    by_incident: dict[int, list[dict]] = {incident_id: [] for incident_id in incident_ids}
    for position in sorted(positions, key=lambda p: (p.eta_seconds, p.alert_id)):
        if position.alert.responder.logged_out_at is not None or position.alert.position_stopped_at is not None:
            continue  # no longer shared (logged out, or Stop): their last fix is not where they are now
        by_incident[position.alert.incident_id].append(position_payload(position, position.alert))
    return by_incident


def read_incident_positions(*, actor, incident_id: int) -> list[dict]:
    """`GET /api/v1/incidents/{id}/positions/`: for coordinators (the board's permission) and the
    incident's committed crew; anyone else gets "not found". Audited, with the alerts read."""
    incident = _incident_for_positions(actor, incident_id)
    positions = latest_positions([incident.pk])[incident.pk]
    record_reads(actor, {incident.pk: positions})
    return positions


# Who may read them (docs/positions.md, "Who sees them"): not the CAD, nor anyone else.
POSITIONS_REFUSAL = (
    "Only coordinators and the incident's own crew (accepted, en route or on scene) can see responders' positions."
)


def _incident_for_positions(actor, incident_id) -> Incident:
    if actor and actor.is_authenticated and actor.is_active and actor.has_perm("accounts.view_board"):
        return access.access_incident_for_coordinator(
            actor, incident_id, permission="accounts.view_board", doing="see positions"
        )
    try:
        incident = access.access_incident_for_responder(actor, incident_id)
    except NotAllowed:
        # Neither a coordinator nor a firefighter (the CAD, a user without a role): the rule, not
        # "only firefighters", which would be wrong twice (coordinators may; a profile is not enough).
        raise NotAllowed(POSITIONS_REFUSAL) from None
    if not incident.alerts.filter(responder__user=actor, state__in=COMMITTED_STATES).exists():
        raise NotFound(f"You have no incident {incident_id}.")
    return incident


def record_reads(actor, positions_by_incident: dict[int, list[dict]]) -> None:
    """One audit entry per incident whose positions were read (none for an incident with none)."""
    audit_log.record_many(
        actor,
        AuditAction.VIEW,
        [
            (AUDITED_AS, incident_id, incident_id, {"alert_ids": [item["alert_id"] for item in positions]})
            for incident_id, positions in positions_by_incident.items()
            if positions
        ],
    )


def delete_expired_positions(now=None) -> int:
    """The worker's retention pass: every position, shared while responding or on call, received
    more than POSITIONS_RETENTION_HOURS ago. Returns how many were deleted."""
    cutoff = (now or timezone.now()) - datetime.timedelta(hours=settings.POSITIONS_RETENTION_HOURS)
    deleted, _ = AlertPosition.objects.filter(received_at__lt=cutoff).delete()
    on_call, _ = OnCallPosition.objects.filter(received_at__lt=cutoff).delete()
    return deleted + on_call
