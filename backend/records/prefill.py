"""What the server already knows for a form, so the crew confirms rather than retypes: times from
the alert's transitions and from the checklist's one-tap events (each event type carries its
Utstein meaning in backend/checklists/data/*.json). Only what is known is given; the app leaves the
rest empty. Values are as the API sends them (times as ISO 8601)."""

from backend.checklists import content
from backend.checklists.models import OnSceneEvent
from backend.dispatch.models import Alert
from backend.records import access
from backend.records.models import FirstRhythm, RecordKind


def prefill(kind: str, alert: Alert) -> dict:
    if kind == RecordKind.ATTENDANCE:
        return attendance_prefill(alert)
    if kind == RecordKind.OUTCOME:
        return outcome_prefill(alert)
    return {}


def estimated(kind: str, alert: Alert) -> list[str]:
    """The fields of the form's prefill that are estimates, not times anyone recorded: the app says
    so beside them. "Left scene" from when the call ended for one who was on scene and never
    pressed "Leaving" (cancelled, stood down, closed by control)."""
    if kind != RecordKind.ATTENDANCE or alert.cleared_at is not None:
        return []
    return ["left_scene_at"] if "left_scene_at" in attendance_prefill(alert) else []


def attendance_prefill(alert: Alert) -> dict:
    event_list = list(OnSceneEvent.objects.filter(alert=alert))
    events = _events_by_meaning(event_list)
    known = {
        # Mobile is setting off: the en-route time only, never the acceptance (one who accepted
        # and never set off was not mobile; found by the ninth trial of the product). The first
        # setting off where a re-alert cleared it (stood down on the way, alerted again).
        "mobile_at": alert.en_route_at or alert.first_en_route_at,
        "on_scene_at": alert.on_scene_at,
        "at_patient_at": _first(events, "at_patient"),
        "left_scene_at": alert.cleared_at or _left_when_it_ended(alert, event_list),
    }
    values = {name: value.isoformat() for name, value in known.items() if value is not None}
    if alert.on_scene_at is not None or events:
        values["attended"] = True
    elif access.never_set_off(alert, access.logged_on_scene(alert)):
        values["attended"] = False  # withdrew, stood down or cancelled before setting off
    return values


def _left_when_it_ended(alert: Alert, event_list: list[OnSceneEvent]):
    """For one who was on scene (an on-scene time, or events their phone logged there) and whose
    call ended without their pressing "Leaving": when it ended for them (their alert stood down or
    cancelled, the incident cancelled or closed), an estimate of leaving. Never before the last
    thing they logged on scene: a crew may carry on after a cancel. Found by the eleventh trial of
    the product: "Left scene" was empty, and the app had no way to record leaving."""
    if alert.on_scene_at is None and not event_list:
        return None
    incident = alert.incident
    ends = [alert.stood_down_at, alert.cancelled_at, incident.cancelled_at, incident.closed_at]
    ended = min((at for at in ends if at is not None), default=None)
    if ended is None:
        return None
    on_scene = [alert.on_scene_at] if alert.on_scene_at else []
    return max([ended, *on_scene, *(event.occurred_at for event in event_list)])


def outcome_prefill(alert: Alert) -> dict:
    """From the whole crew: the station's firefighters who accepted this incident, and everything
    their phones logged on scene. The crew ticked as having attended is only those who were on
    scene: an on-scene time, as the coordinators' board and the app count "attended"
    (backend/dispatch/coverage.py, payloads.crew_member), or, as the attendance form's prefill
    has it, events their phone logged on scene (someone who used the checklist and never pressed
    "On scene"), or their attendance form saying so (access.attended). Someone who accepted and was
    stood down on the way did not attend."""
    crew = list(
        Alert.objects.filter(incident_id=alert.incident_id, station_id=alert.station_id, accepted_at__isnull=False)
        .select_related("attendance")
        .order_by("responder_id")
    )
    event_list = list(OnSceneEvent.objects.filter(alert__in=crew).order_by("occurred_at", "id"))
    events = _events_by_meaning(event_list)
    on_scene_times = [member.on_scene_at for member in crew if member.on_scene_at is not None]
    arrived = min(on_scene_times + events.get("at_patient", [])[:1], default=None)
    times = {
        "crew_arrived_at": arrived,
        "cpr_started_at": _first(events, "crew_cpr_started"),
        "pads_on_at": _first(events, "pads_on"),
        "first_shock_at": _first(events, "shock"),
        "rosc_at": _first(events, "rosc"),
        "ambulance_arrived_at": _first(events, "ambulance_arrival"),
        "handover_at": _first(events, "handover"),
    }
    values = {name: value.isoformat() for name, value in times.items() if value is not None}
    logged_on_scene = {event.alert_id for event in event_list}
    values["crew"] = [member.responder_id for member in crew if access.attended(member, logged_on_scene)]
    if "crew_cpr_started" in events:
        values["compressions"] = True
    if {"pads_on", "analysis", "shock"} & set(events):
        values["defibrillator_applied"] = True
    if values.get("compressions") or values.get("defibrillator_applied"):
        values["resuscitation_attempted"] = True
    first_rhythm = _first_rhythm(event_list)
    if first_rhythm:
        values["first_rhythm"] = first_rhythm
    shocks = _shocks_given(event_list)
    if shocks:
        values["crew_shocks"] = shocks
    if "rosc" in events:
        values["rosc_any_time"] = True
    return values


def _first_rhythm(event_list: list[OnSceneEvent]) -> str | None:
    """The defibrillator's advice at the first analysis the crew's phones logged with its advice,
    unless a shock was logged before it: then an earlier analysis, not logged, advised that shock,
    and what came first is not known here. None when the checklist does not say (a shock tapped
    without its analysis, as in the ninth trial, leaves the crew to answer)."""
    for event in event_list:  # earliest first
        meaning = _meaning(event)
        if meaning == "shock":
            return None
        if meaning == "analysis" and event.data.get("advice") in FirstRhythm.values:
            return event.data["advice"]
    return None


def _shocks_given(event_list: list[OnSceneEvent]) -> int:
    """Each phone logs the shocks it saw; two crew members tapping the same shock must not count
    twice, so the crew gave as many shocks as the phone that logged the most."""
    per_phone: dict[int, int] = {}
    for event in event_list:
        if _meaning(event) == "shock":
            per_phone[event.alert_id] = per_phone.get(event.alert_id, 0) + 1
    return max(per_phone.values(), default=0)


def _meaning(event: OnSceneEvent) -> str | None:
    definition = content.event_definition(event.type)
    return definition.get("utstein") if definition else None


def _events_by_meaning(events) -> dict[str, list]:
    """Event times by Utstein meaning, each list earliest first."""
    by_meaning: dict[str, list] = {}
    for event in sorted(events, key=lambda e: (e.occurred_at, e.pk)):
        meaning = _meaning(event)
        if meaning:
            by_meaning.setdefault(meaning, []).append(event.occurred_at)
    return by_meaning


def _first(events: dict, meaning: str):
    times = events.get(meaning)
    return times[0] if times else None
