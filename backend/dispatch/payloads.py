"""The JSON shapes of incidents, alerts and crews, shared by the API and the real-time events so
that a client sees one shape whichever way a change reaches it (schemas: docs/events.md)."""

from django.conf import settings

from backend.delivery.receipts import DeviceFunnel, board_item, funnels_of
from backend.dispatch import ladder
from backend.dispatch.coverage import TALLIED_FIELDS, Coverage, coverage_of, no_longer_going, tally
from backend.dispatch.models import Alert, Incident, IncidentStatus, UnreachedReason

ALERT_TIMESTAMP_FIELDS = (
    "alerted_at",
    # The latest re-alert (None: alerted once); the answers after it answered it (Alert.answered_alert).
    "realerted_at",
    "received_at",
    "accepted_at",
    # The first acceptance, kept by a re-alert (which clears accepted_at: actions._ask_afresh): the
    # phone's forms list keeps the call, as GET records/ does (records/access.py EVER_ACCEPTED).
    "first_accepted_at",
    "declined_at",
    "en_route_at",
    # The first setting off, kept by a re-alert (which clears en_route_at): one stood down on the
    # way and alerted again still owes their own forms (records/access.py never_set_off).
    "first_en_route_at",
    "on_scene_at",
    "cleared_at",
    "stood_down_at",
    "cancelled_at",
)


def _iso(value):
    return value.isoformat() if value else None


def incident_summary(incident: Incident) -> dict:
    """What an alerted firefighter needs to go: where, what, and whether it still stands."""
    return {
        "id": incident.pk,
        "cad_reference": incident.cad_reference,
        "category": incident.category,
        "status": incident.status,
        "latitude": incident.latitude,
        "longitude": incident.longitude,
        "address": incident.address,
        "what3words": incident.what3words,
        "notes": incident.notes,
        "created_at": _iso(incident.created_at),
        "cancelled_at": _iso(incident.cancelled_at),
        "cancel_reason": incident.cancel_reason,
        # When a close ended it: the checklist of a crew on scene says so (pwa/app/store.js, closedOf).
        "closed_at": _iso(incident.closed_at),
        "crew_target": incident.crew_target,
        "ambulance_eta": _iso(incident.ambulance_eta),
    }


def alert_detail(
    alert: Alert, *, incident: Incident | None = None, summary: dict | None = None, board: dict | None = None
) -> dict:
    """A firefighter's view of their alert. `summary` (the incident's) can be passed in when many
    alerts of one incident are described at once, as dispatch does; `board`, the alert's
    board_alert, when the caller has it already (it is copied, not changed)."""
    data = board_alert(alert) if board is None else dict(board)
    # The board's: the phone knows whether it is logged in and on call.
    for field in ("responder_logged_out_at", "responder_on_call", "responder_on_call_changed_at"):
        del data[field]
    data["incident"] = summary if summary is not None else incident_summary(incident or alert.incident)
    return data


def crew_member(alert: Alert) -> dict:
    """What the rest of the crew sees of one responder: name, station, answer. Nothing else."""
    return {
        "alert_id": alert.pk,
        "responder_id": alert.responder_id,
        "responder_name": alert.responder.display_name,
        "station": alert.responder.station.name,
        "state": alert.state,
        "version": alert.version,
        # Was on scene, whatever they are now: the crew panel lists who went after clearing.
        "attended": alert.on_scene_at is not None,
        # Accepted at some time, whatever they are now: with nobody going, the crew line says that
        # they accepted and dropped out, not that nobody has accepted (found by a browser trial).
        # Not accepted_at, which a re-alert clears (actions._ask_afresh).
        "ever_accepted": alert.first_accepted_at is not None,
        # How one who accepted is not going now, as the boards count them (coverage.no_longer_going):
        # the crew line says "stood down by control" as the boards do, not "dropped out" (found by a
        # browser trial). Null if going, cleared from the scene, or never accepted.
        "no_longer_going": no_longer_going(
            alert.state, alert.on_scene_at, alert.first_accepted_at, alert.stood_down_reason
        ),
    }


def crew_of(incident: Incident) -> list[dict]:
    alerts = incident.alerts.select_related("responder__user", "responder__station").order_by("rank")
    return [crew_member(alert) for alert in alerts]


def board_alert(alert: Alert) -> dict:
    """A coordinator's view of one alert: the crew member's answer and every timestamp."""
    responder = alert.responder
    data = {
        "id": alert.pk,
        "incident_id": alert.incident_id,
        "responder_id": alert.responder_id,
        "responder_name": responder.display_name,
        "station": responder.station.name,
        "state": alert.state,
        "version": alert.version,
        "distance_km": alert.distance_km,
        "distance_from": alert.distance_from,
        "rank": alert.rank,
        "decline_reason": alert.decline_reason,
        "decline_note": alert.decline_note,
        "stood_down_reason": alert.stood_down_reason,
        # When the responder logged out of the app (null: logged in since): the board says so on
        # their alerts (backend/dispatch/presence.py; found by a trial: "seen in the open app" after
        # a firefighter logged out mid-job).
        "responder_logged_out_at": _iso(responder.logged_out_at),
        # Whether the responder is on call, and since when (backend/dispatch/presence.py): the board
        # says "off call" on an active alert of theirs (found by a trial: off call while en route).
        "responder_on_call": responder.on_call,
        "responder_on_call_changed_at": _iso(responder.on_call_changed_at),
    }
    data.update({field: _iso(getattr(alert, field)) for field in ALERT_TIMESTAMP_FIELDS})
    return data


def board_devices(alert: Alert, funnels: dict[int, list[DeviceFunnel]]) -> dict:
    """What each of the responder's devices did with the alert's pushes (backend/delivery/
    receipts.py): sent (the push service accepted it), shown (the service worker's receipt),
    opened (tapped). `funnels`: from receipts.funnels_of or funnels_of_queued. No device: an empty list
    (the responder has no phone registered for pushes)."""
    return board_item(
        alert_id=alert.pk, incident_id=alert.incident_id, responder_id=alert.responder_id, funnels=funnels
    )


def board_devices_of(alerts: list[Alert]) -> list[dict]:
    """board_devices of many alerts, in one query."""
    funnels = funnels_of([alert.pk for alert in alerts])
    return [board_devices(alert, funnels) for alert in alerts]


def board_incident(incident: Incident, *, coverage: Coverage | None = None) -> dict:
    """`coverage` can be given by a caller that has already counted (the board snapshot); else one
    query counts it. Coverage figures remember who went: they are worked out from the alerts'
    times, so they stay right after clearing, cancelling or closing."""
    if coverage is None:
        coverage = coverage_of(incident)
    data = incident_summary(incident)
    data.update(
        {
            "dispatched_at": _iso(incident.dispatched_at),
            "alarm_raised_at": _iso(incident.alarm_raised_at),
            "alarm_message": incident.alarm_message,
            "covered_at": _iso(incident.covered_at),
            "unreached_reason": incident.unreached_reason,
            "ring": incident.ring,
            # The widest ring a dispatch or the ladder can reach: there a dispatch only looks again.
            "widest_ring": ladder.widest_ring(),
            # Past its first step (1 or more) with nobody accepted, the board sounds its alarm.
            "escalation_step": incident.escalation_step,
            **_next_escalation(incident, coverage),
            **coverage.as_payload(),
            **_no_longer_going_counts(incident, coverage),
        }
    )
    return data


def _no_longer_going_counts(incident: Incident, coverage: Coverage) -> dict:
    """While the open incident has nobody going: those who accepted it at some time, each counted
    once by their state now (coverage.no_longer_going), so that the boards say "no one going now: 1
    stood down by control, 1 accepted, then dropped out" rather than "nobody has accepted", after
    a re-alert too (it clears the alert's acceptance time, not its first: Alert.first_accepted_at).
    Found by browser trials: one alerted again and not answered yet was counted as dropped out. All
    None while somebody is going, and once the incident has ended (the boards then say other
    things). Counted with the coverage: no query."""
    counts = {
        "stood_down_by_control_count": coverage.stood_down_by_control,
        "alerted_again_count": coverage.alerted_again,
        "dropped_out_count": coverage.dropped_out,
    }
    if incident.status != IncidentStatus.OPEN or coverage.covering:
        return dict.fromkeys(counts)
    return counts


def _next_escalation(incident: Incident, coverage: Coverage) -> dict:
    """What the escalation ladder does next and when (backend/dispatch/escalation.py), from the
    incident's own fields and the settings: no query. `next_escalation_at`: when the worker next
    looks at the incident (None once it is not open). `next_escalation_action`: what the ladder's step
    due then does ("resend" for a ring step at the widest ring: ladder.what_step_does), or None when
    what is due is no step (not dispatched, past the last step, covered: the ladder waits and the
    unanswered are stood down; closed or cancelled)."""
    step = incident.escalation_step
    # The worker looks only at open incidents (escalation.run_due_escalations).
    due = incident.next_escalation_at if incident.status == IncidentStatus.OPEN else None
    runs_a_step = due is not None and not coverage.covered and ladder.due_time(incident, step) is not None
    return {
        "next_escalation_at": _iso(due),
        "next_escalation_action": ladder.what_step_does(incident, step) if runs_a_step else None,
        "escalation_ladder_steps": len(settings.ESCALATION_LADDER),
        # Since when the ladder has been held after a stand-down (ladder.is_held), while open: an
        # alarm raised since is the `held` alarm (escalation.sound_held_alarm; board-state.js).
        "held_since": _iso(incident.held_since) if incident.status == IncidentStatus.OPEN else None,
        # When a dispatch last resumed the held ladder, and at which step (ladder.resume_held): a
        # fresh attempt, whose `unanswered` alarm waits for a step to run since (board-state.js).
        "ladder_resumed_at": _iso(incident.ladder_resumed_at),
        "ladder_resumed_step": incident.ladder_resumed_step,
    }


def incident_with_alerts(incident: Incident, alerts: list[Alert]) -> dict:
    """The incident with `alerts`, which must be all of its alerts (nearest first) with their
    responders loaded, as after create-and-dispatch: counted from them, so no query."""
    coverage = tally(incident.crew_target, ([getattr(alert, field) for field in TALLIED_FIELDS] for alert in alerts))
    return {**board_incident(incident, coverage=coverage), "alerts": [board_alert(alert) for alert in alerts]}


def dispatch_outcome(incident: Incident, alerts: list[Alert]) -> dict:
    """What one dispatch did: how many it alerted (and how many of them were alerted again because
    it resumed a held ladder: stood down earlier as enough crews were going or as they accepted
    another incident, not named: actions.alert_again_when_short) and, if
    nobody, why, in words a caller can show. Found by a trial: naming one firefighter on a held
    ladder said "Alerted 23 responders."."""
    resumed = sum(1 for alert in alerts if getattr(alert, "resumed_with_ladder", False))
    others = len(alerts) - resumed
    if resumed:
        again = f"{resumed} stood down earlier {'were' if resumed != 1 else 'was'} alerted again as the ladder resumed."
        message = f"Alerted {others} responder{'s' if others != 1 else ''}; {again}" if others else again.capitalize()
    elif alerts:
        message = f"Alerted {len(alerts)} responder{'s' if len(alerts) != 1 else ''}."
    else:
        message = f"Nobody was alerted: {UnreachedReason(incident.unreached_reason).label.lower()}."
    return {
        "alerted_count": len(alerts),
        "resumed_count": resumed,
        "nobody_because": "" if alerts else incident.unreached_reason,
        "message": message,
    }


def crew_message(message, acknowledgements) -> dict:
    """A message to the crews (backend/dispatch/messages.py) with its acknowledgements (those the
    reader may see: all for a coordinator, their own for a firefighter), oldest first."""
    return {
        "id": message.pk,
        "incident_id": message.incident_id,
        "text": message.text,
        "author_name": _author_name(message.author),
        "sent_at": _iso(message.sent_at),
        "recipient_count": message.recipient_count,
        "acknowledgements": [message_acknowledgement(ack) for ack in acknowledgements],
    }


def message_recipients(incident_id: int, messages) -> dict:
    """How many responders each of an incident's messages now reaches (the board's
    `message.recipients`): its recipient_count grew, as someone was alerted to the incident after it
    or acknowledged it without having been told (backend/dispatch/messages.py)."""
    return {
        "incident_id": incident_id,
        "messages": [{"message_id": message.pk, "recipient_count": message.recipient_count} for message in messages],
    }


def message_acknowledgement(ack) -> dict:
    """One responder's "Got it" (the `message.acknowledged` event's data)."""
    return {
        "message_id": ack.message_id,
        "incident_id": ack.alert.incident_id,
        "responder_id": ack.alert.responder_id,
        "responder_name": ack.alert.responder.display_name,
        "acknowledged_at": _iso(ack.acknowledged_at),
    }


def _author_name(user) -> str:
    return user.get_full_name() or user.get_username()
