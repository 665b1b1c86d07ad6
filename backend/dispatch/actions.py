"""Every state change of incidents and alerts, one function each.

Each action checks permission, owns its transaction, and tells the affected people through
backend.realtime.events, which sends only after commit. Views, API endpoints, admin actions and
socket consumers parse input and call these; they never change incidents or alerts themselves.
"""

import datetime
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Value
from django.db.models.functions import Upper
from django.utils import formats, timezone

from backend.audit import log as audit_log
from backend.audit.log import new_alert_entries, record_alert_changes, record_overrides
from backend.audit.models import AuditAction, AuditEntry
from backend.bulk_rows import insert_rows, new_instance
from backend.delivery import readiness, receipts
from backend.delivery.models import Kind
from backend.delivery.outbox import enqueue_pushes
from backend.dispatch import access, alarms, messages, payloads, positions
from backend.dispatch.coverage import Change, Coverage, covers, follow_coverage, tally
from backend.dispatch.ladder import is_held, resume_held, start_escalation, undispatched_alarm_at, widest_ring
from backend.dispatch.models import (
    COMMITTED_STATES,
    MAX_CREW_TARGET,
    AlarmKind,
    Alert,
    AlertState,
    DeclineReason,
    Incident,
    IncidentCategory,
    IncidentStatus,
    StandDownReason,
    UnreachedReason,
)
from backend.dispatch.selection import (
    Selection,
    committed_elsewhere,
    eligible_responders,
    select_responders,
    why_named_not_alerted,
)
from backend.errors import CommittedElsewhere, Conflict, InvalidInput
from backend.realtime import events
from backend.roles import role_of
from backend.sql_literals import literals

logger = logging.getLogger(__name__)

# States in which a responder is still expected to turn up, or could still answer.
ACTIVE_STATES = {AlertState.ALERTED, AlertState.RECEIVED, AlertState.ACCEPTED, AlertState.EN_ROUTE, AlertState.ON_SCENE}
UNANSWERED_STATES = {AlertState.ALERTED, AlertState.RECEIVED}
# The times of an alert that the reports count: setting one marks the alert's summary due
# (Alert.summary_due; backend.records.summaries catches up).
REPORTED_TIMES = {"accepted_at", "on_scene_at"}


@dataclass(frozen=True)
class Transition:
    target: AlertState
    allowed_from: frozenset
    timestamp_field: str


# A firefighter's answers. Declining after accepting is allowed (plans change; better the
# coordinator knows), and so is accepting after declining while the incident is open.
RESPONSES = {
    "received": Transition(AlertState.RECEIVED, frozenset({AlertState.ALERTED}), "received_at"),
    "accept": Transition(
        AlertState.ACCEPTED, frozenset({AlertState.ALERTED, AlertState.RECEIVED, AlertState.DECLINED}), "accepted_at"
    ),
    "decline": Transition(
        AlertState.DECLINED,
        frozenset({AlertState.ALERTED, AlertState.RECEIVED, AlertState.ACCEPTED, AlertState.EN_ROUTE}),
        "declined_at",
    ),
    "en_route": Transition(AlertState.EN_ROUTE, frozenset({AlertState.ACCEPTED}), "en_route_at"),
    "on_scene": Transition(AlertState.ON_SCENE, frozenset({AlertState.ACCEPTED, AlertState.EN_ROUTE}), "on_scene_at"),
    "cleared": Transition(
        AlertState.CLEARED, frozenset({AlertState.ACCEPTED, AlertState.EN_ROUTE, AlertState.ON_SCENE}), "cleared_at"
    ),
}

# What each state is called in a message to a firefighter.
_STATE_PHRASES = {
    AlertState.ALERTED: "has not been answered yet",
    AlertState.RECEIVED: "has not been answered yet",
    AlertState.ACCEPTED: "is accepted",
    AlertState.DECLINED: "was declined",
    AlertState.EN_ROUTE: "is en route",
    AlertState.ON_SCENE: "is on scene",
    AlertState.CLEARED: "is cleared",
    AlertState.STOOD_DOWN: "was stood down",
    AlertState.CANCELLED: "belongs to an incident that was cancelled",
}


_STOOD_DOWN_PHRASES = {
    StandDownReason.COORDINATOR: "by a coordinator",
    StandDownReason.CONTROL_ROOM: "by the ambulance control room",
    StandDownReason.ENOUGH_CREWS: "enough crews are going",
    StandDownReason.COMMITTED_ELSEWHERE: "you accepted another incident",
    StandDownReason.INCIDENT_CLOSED: "the incident was closed",
}


# --- Incidents ----------------------------------------------------------------------------------


def create_incident(
    *,
    actor,
    cad_reference: str,
    latitude: float,
    longitude: float,
    address: str,
    category: str = IncidentCategory.CARDIAC_ARREST,
    what3words: str = "",
    notes: str = "",
    crew_target: int | None = None,
    ambulance_eta: datetime.datetime | None = None,
) -> Incident:
    """`crew_target`: how many responders the incident needs (the CAD may ask for its own);
    DISPATCH_CREW_TARGET when None. `ambulance_eta`: the ambulance's estimated arrival, if the CAD
    knows it."""
    incident = _insert_incident(
        actor=actor,
        cad_reference=cad_reference,
        latitude=latitude,
        longitude=longitude,
        address=address,
        category=category,
        what3words=what3words,
        notes=notes,
        crew_target=crew_target,
        ambulance_eta=ambulance_eta,
    )
    board_incident = payloads.board_incident(incident, coverage=_nobody_alerted_yet(incident))
    events.send_to_board([("board.incident", board_incident)])
    return incident


def create_and_dispatch_incident(*, actor, **incident) -> tuple[Incident, list[Alert]]:
    """The CAD's single call: create and dispatch in one transaction. Apart, a failure between the
    two (the database lost, the process killed) left an incident nobody was alerted to, and the
    CAD's retry was refused as a duplicate. Returns the incident as the dispatch left it (its
    dispatch time, ring and reach) and the alerts made: every alert of the incident.

    The dispatch works on the instance just inserted: the row is this transaction's own (nobody
    else can see it, so there is nothing to lock or re-read), and the board is told about the
    incident once, as the dispatch left it (issue 17: the CAD's call re-read, re-locked and
    described the new incident three times)."""
    try:
        with transaction.atomic():
            # No savepoint of its own around the insert (two statements fewer, issue 17): a
            # duplicate CAD reference rolls back the whole call, and is told apart afterwards.
            # Inserted already dispatched (its clock started), not inserted then updated.
            created = _insert_incident(actor=actor, savepoint=False, dispatching=True, **incident)
            access.require_permission(actor, "dispatch.dispatch_incident", "dispatch incidents")
            alerts = _dispatch_open_incident(created, actor=actor, alerted_before=set())
    except IntegrityError:
        _refuse_if_duplicate(incident["cad_reference"])
        raise
    _log_dispatched(created, actor=actor, alerts=alerts)
    return created, alerts


def _nobody_alerted_yet(incident: Incident) -> Coverage:
    """The coverage of an incident no one has been alerted to yet, without counting (no query)."""
    return tally(incident.crew_target, ())


def _insert_incident(
    *,
    actor,
    cad_reference: str,
    latitude: float,
    longitude: float,
    address: str,
    category: str = IncidentCategory.CARDIAC_ARREST,
    what3words: str = "",
    notes: str = "",
    crew_target: int | None = None,
    ambulance_eta: datetime.datetime | None = None,
    savepoint: bool = True,
    dispatching: bool = False,
) -> Incident:
    """The incident row (permission and input checked; a duplicate CAD reference refused), with its
    log line after commit. The caller tells the board. `savepoint=False`: the caller's transaction
    is rolled back on a duplicate and the caller refuses it (_refuse_if_duplicate). `dispatching`:
    the caller dispatches it in the same transaction, so it is written dispatched at the moment it
    is created, its ladder started (one INSERT, not an INSERT and an UPDATE: issue 17)."""
    access.require_permission(actor, "dispatch.add_incident", "create incidents")
    _check_location(latitude, longitude)
    _check_crew_target(crew_target)
    incident = Incident(
        cad_reference=cad_reference,
        latitude=latitude,
        longitude=longitude,
        address=address,
        category=category,
        what3words=what3words,
        notes=notes,
        created_by=actor,
        ambulance_eta=ambulance_eta,
        **({} if crew_target is None else {"crew_target": crew_target}),
    )
    now = timezone.now()
    if dispatching:
        _set_the_clock(incident, now)
    else:
        # Not dispatched yet: the board's alarm sounds if nobody dispatches it in time (escalation.py).
        incident.next_escalation_at = undispatched_alarm_at(now)
    try:
        with transaction.atomic(savepoint=savepoint):
            # created_at: the same instant as dispatched_at. Its audit entry goes in with it (in the
            # same statement on PostgreSQL: no round trip more in the CAD's call, issue 17).
            insert_rows([incident], now=now, one_per_row=audit_log.new_incident_entry(actor))
    except IntegrityError:
        if not savepoint:
            raise  # the caller's transaction is broken: it tells a duplicate apart after rolling back
        _refuse_if_duplicate(cad_reference)
        raise
    _log_after_commit(
        "Incident created",
        event="incident.created",
        incident_id=incident.pk,
        actor_id=actor.pk,
    )
    return incident


def _refuse_if_duplicate(cad_reference: str) -> None:
    """After an IntegrityError on inserting an incident: Conflict if the CAD reference is taken, in
    any case (the constraint is on UPPER(cad_reference): the existing incident is found as it is)."""
    existing = (
        Incident.objects.alias(upper_reference=Upper("cad_reference"))
        .filter(upper_reference=Upper(Value(cad_reference)))
        .first()
    )
    if existing is not None:
        raise _duplicate(existing) from None


def _duplicate(existing: Incident) -> Conflict:
    return Conflict(
        f"An incident with CAD reference {existing.cad_reference} already exists (incident {existing.pk}).",
        fields={"cad_reference": [f"Already used by incident {existing.pk}."]},
        extra={"existing_incident_id": existing.pk},
    )


def _check_location(latitude, longitude) -> None:
    errors = {}
    if not _is_number(latitude) or not -90 <= latitude <= 90:
        errors["latitude"] = ["Latitude must be a number from -90 to 90."]
    if not _is_number(longitude) or not -180 <= longitude <= 180:
        errors["longitude"] = ["Longitude must be a number from -180 to 180."]
    if not errors:
        errors = _outside_the_area(latitude, longitude)
    if errors:
        raise InvalidInput("The incident's location is not valid.", fields=errors)


def _outside_the_area(latitude: float, longitude: float) -> dict[str, list[str]]:
    """What is outside the area this deployment serves (settings.INCIDENT_AREA_*), per field."""
    south, north = settings.INCIDENT_AREA_SOUTH, settings.INCIDENT_AREA_NORTH
    west, east = settings.INCIDENT_AREA_WEST, settings.INCIDENT_AREA_EAST
    swapped = south <= longitude <= north and west <= latitude <= east
    hint = " (or latitude and longitude are swapped)" if swapped else ""
    errors = {}
    if not south <= latitude <= north:
        errors["latitude"] = [
            f"Latitude {latitude:g} is outside the area this service covers ({south:g} to {north:g}){hint}."
        ]
    if not west <= longitude <= east:
        errors["longitude"] = [
            f"Longitude {longitude:g} is outside the area this service covers ({west:g} to {east:g}){hint}."
        ]
    return errors


def _check_crew_target(crew_target) -> None:
    if crew_target is None:
        return
    if not _is_number(crew_target) or crew_target != int(crew_target) or not 1 <= crew_target <= MAX_CREW_TARGET:
        raise InvalidInput(
            "The crew target is not valid.",
            fields={"crew_target": [f"A whole number of responders from 1 to {MAX_CREW_TARGET}."]},
        )


def _is_number(value) -> bool:
    """A real number: not a boolean, which Python counts as an int."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def dispatch_incident(
    *,
    actor,
    incident_id: int,
    station_ids: list[int] | None = None,
    responder_ids: list[int] | None = None,
    today: datetime.date | None = None,
    seen_alerts: int | None = None,
) -> list[Alert]:
    """Alert the nearest eligible responders who have not been alerted to this incident yet.

    Safe to repeat: a second dispatch alerts only people the first did not (for example someone
    who has just come on call). With `responder_ids` the coordinator names who to alert (still
    only if on call and trained, but even if committed to another incident: an audited override;
    and again if they were stood down from this one) and distance is not a limit; `station_ids`
    limits the stations.

    A dispatch that finds nobody in the incident's ring widens to the next ring at once. If it
    still alerts nobody, the incident records why (`unreached_reason`), and if nobody at all is
    alerted to it, the board's alarm is raised at once. The incident counts as dispatched either
    way, so its ladder keeps looking (someone may come on call). Returns the alerts created,
    nearest first; an empty list means nobody eligible was left.

    `seen_alerts`: how many alerts the caller's screen showed for the incident (the board sends
    it). If more have been made since (another coordinator, the escalation ladder), the dispatch
    is refused with Conflict: two coordinators pressing "Dispatch next ring" on the same picture
    want one more ring, not two.
    """
    with transaction.atomic():
        incident = _open_incident_for_update(
            actor,
            incident_id,
            "dispatch.dispatch_incident",
            doing="dispatch incidents",
            refusal="a {status} incident cannot be dispatched",
        )
        if seen_alerts is not None:
            _check_nobody_alerted_since(incident, seen_alerts)
        alerts = _dispatch_open_incident(
            incident, actor=actor, station_ids=station_ids, responder_ids=responder_ids, today=today
        )
    _log_dispatched(incident, actor=actor, alerts=alerts)
    return alerts


def _check_nobody_alerted_since(incident: Incident, seen_alerts: int) -> None:
    alerted = Alert.objects.filter(incident=incident).count()
    if alerted > seen_alerts:
        more = alerted - seen_alerts
        raise Conflict(
            f"{more} more responder{'s were' if more > 1 else ' was'} alerted to {incident.cad_reference} "
            "since your screen showed it: look again before dispatching further.",
            fields={"seen_alerts": [f"{alerted} are alerted now, not {seen_alerts}."]},
        )


def _dispatch_open_incident(
    incident: Incident,
    *,
    actor,
    station_ids: list[int] | None = None,
    responder_ids: list[int] | None = None,
    today: datetime.date | None = None,
    alerted_before: set[int] | None = None,
) -> list[Alert]:
    """dispatch_incident's work on the incident, open and locked (or made) by the caller's
    transaction. `alerted_before`: the responders already alerted to it, if the caller knows
    (none, for an incident just made); else read."""
    now = timezone.now()
    resumed: list[Alert] = []
    if incident.dispatched_at is None:
        _start_the_clock(incident, now)
    elif is_held(incident):
        # Held since a coordinator stood crews down (_follow_coverage): this dispatch resumes the
        # ladder, and those stood down by nobody's decision about the incident (enough crews were
        # going, or they accepted another incident), the nearest, are alerted again first, as when
        # coverage drops by itself.
        resume_held(incident, now)
        incident.save(update_fields=[*RESUME_FIELDS, *ALARM_FIELDS])
        resumed = alert_again_when_short(incident, now=now, actor=actor)
        for alert in resumed:  # told apart from those named (payloads.dispatch_outcome: resumed_count)
            alert.resumed_with_ladder = responder_ids is None or alert.responder_id not in responder_ids
    if responder_ids is not None:
        # Named people stood down from this incident earlier (for any reason) are alerted again.
        again = _alert_again(
            incident, _stood_down(incident, responder_ids=set(responder_ids)), now=now, actor=actor, named=True
        )
        alerts, nobody_because = alert_more_responders(
            incident, radius_km=None, station_ids=station_ids, responder_ids=responder_ids, today=today, actor=actor
        )
        alerts = again + alerts
        if not alerts:  # why, of the named (selection sees only who is left to alert)
            today = today or timezone.localdate()
            nobody_because = why_named_not_alerted(incident.pk, responder_ids, today=today) or nobody_because
    else:
        alerts, nobody_because = _alert_widening(
            incident, station_ids=station_ids, today=today, actor=actor, alerted_before=alerted_before
        )
    alerts = resumed + alerts
    if not alerts:
        _nobody_reached(incident, nobody_because, now=now)
    return alerts


def _log_dispatched(incident: Incident, *, actor, alerts: list[Alert]) -> None:
    _log_after_commit(
        "Incident dispatched",
        event="incident.dispatched",
        incident_id=incident.pk,
        actor_id=actor.pk,
        alert_ids=[alert.pk for alert in alerts],
        unreached_reason=incident.unreached_reason,
    )


def ring_radius_km(ring: int) -> float:
    """Ring 1 is DISPATCH_RADIUS_KM; later rings are DISPATCH_NEXT_RINGS_KM (the last repeats)."""
    if ring <= 1 or not settings.DISPATCH_NEXT_RINGS_KM:
        return settings.DISPATCH_RADIUS_KM
    return settings.DISPATCH_NEXT_RINGS_KM[min(ring - 2, len(settings.DISPATCH_NEXT_RINGS_KM) - 1)]


def _alert_widening(
    incident: Incident, *, station_ids, today, actor, alerted_before: set[int] | None = None
) -> tuple[list[Alert], str]:
    """Alert the incident's ring; if that reaches nobody, the next ring, until the widest (a ring
    that reached nobody alerted nobody, so `alerted_before` still holds)."""
    while True:
        alerts, nobody_because = alert_more_responders(
            incident,
            radius_km=ring_radius_km(incident.ring),
            station_ids=station_ids,
            today=today,
            actor=actor,
            alerted_before=alerted_before,
        )
        if alerts or incident.ring >= widest_ring():
            return alerts, nobody_because
        incident.ring += 1
        incident.save(update_fields=["ring"])


def _start_the_clock(incident: Incident, now) -> None:
    """The first dispatch, whoever it reached: the ladder starts from it."""
    _set_the_clock(incident, now)
    incident.save(update_fields=["dispatched_at", "escalation_step", "next_escalation_at"])


def _set_the_clock(incident: Incident, now) -> None:
    """_start_the_clock in memory (the caller writes the row)."""
    incident.dispatched_at = now
    start_escalation(incident)


def _nobody_reached(incident: Incident, nobody_because: str, *, now) -> None:
    """A dispatch alerted nobody new: the incident keeps why. If nobody at all is alerted to it,
    the board's alarm is raised at once."""
    incident.unreached_reason = nobody_because
    changed = ["unreached_reason"]
    if not incident.alerts.filter(state__in=ACTIVE_STATES).exists():
        changed += ALARM_FIELDS
        raise_board_alarm(
            incident,
            now=now,
            message=f"Dispatch of incident {incident.cad_reference} reached nobody: "
            f"{UnreachedReason(nobody_because).label.lower()} (within {ring_radius_km(incident.ring):g} km).",
            kind=AlarmKind.UNREACHED,
        )
    incident.save(update_fields=changed)
    events.send_to_board([("board.incident", payloads.board_incident(incident))])


# What raise_board_alarm sets on the incident, for the caller's save.
ALARM_FIELDS = ["alarm_raised_at", "alarm_message"]
# What ladder.resume_held sets (besides ALARM_FIELDS), for the caller's save.
RESUME_FIELDS = [
    "next_escalation_at",
    "escalation_delay_seconds",
    "held_since",
    "ladder_resumed_at",
    "ladder_resumed_step",
]


def raise_board_alarm(incident: Incident, *, now, message: str, kind: AlarmKind) -> None:
    """Sound the incident's alarm on every board, afresh: an acknowledgement of an earlier alarm
    does not cover it (docs/board.md). The incident keeps when and what (in memory: the caller
    saves ALARM_FIELDS), so a board opened later shows the alarm in the words it was raised with.
    Audited as the alarm `kind` the board shows it as (alarms.record_sounding)."""
    alarms.record_sounding(incident, kind, now=now)
    limit = Incident._meta.get_field("alarm_message").max_length
    incident.alarm_raised_at = now
    incident.alarm_message = message if len(message) <= limit else f"{message[: limit - 1]}…"
    events.send_to_board(
        [
            (
                "board.alarm",
                {
                    "incident_id": incident.pk,
                    "cad_reference": incident.cad_reference,
                    "raised_at": now.isoformat(),
                    "message": message,
                },
            )
        ]
    )


def alert_more_responders(
    incident: Incident,
    *,
    radius_km: float | None,
    station_ids: list[int] | None = None,
    responder_ids: list[int] | None = None,
    today: datetime.date | None = None,
    actor=None,
    alerted_before: set[int] | None = None,
) -> tuple[list[Alert], str]:
    """Alert the eligible responders not yet alerted, within `radius_km`: the alerts, their pushes,
    their events and their audit entries, all in the caller's transaction (the incident row is
    locked by the caller). `actor` is None when the escalation ladder alerts the next ring.
    `alerted_before`: the responders already alerted to the incident, if the caller knows (else
    read). Returns the alerts made and, if none, why (an UnreachedReason)."""
    already_alerted = (
        set(incident.alerts.values_list("responder_id", flat=True)) if alerted_before is None else alerted_before
    )
    selection: Selection = select_responders(
        latitude=incident.latitude,
        longitude=incident.longitude,
        today=today or timezone.localdate(),
        radius_km=radius_km,
        max_per_station=settings.DISPATCH_MAX_PER_STATION,
        max_total=settings.DISPATCH_MAX_RESPONDERS,
        station_ids=station_ids,
        responder_ids=responder_ids,
        exclude_responder_ids=already_alerted,
        # Those chosen are locked as they are loaded, as their events' storing would lock them.
        lock_chosen=True,
    )
    candidates = selection.candidates
    if not candidates:
        return [], selection.nobody_because
    now = timezone.now()
    first_rank = len(already_alerted) + 1
    alerts = insert_rows(
        [
            new_instance(
                Alert,
                incident=incident,
                responder=candidate.responder,  # cached: already loaded with its station and user
                station_id=candidate.responder.station_id,
                distance_km=candidate.distance_km,
                distance_from=candidate.distance_from,
                rank=first_rank + index,
                alerted_at=now,
            )
            for index, candidate in enumerate(candidates)
        ],
        # Their audit entries (record_alert_changes') in the same statement where the database
        # allows (PostgreSQL: one round trip less in the CAD's call).
        one_per_row=new_alert_entries(actor, incident_id=incident.pk, state=AlertState.ALERTED),
    )
    record_overrides(
        actor,
        [
            (alert, candidate.committed_to)
            for alert, candidate in zip(alerts, candidates, strict=True)
            if candidate.committed_to
        ],
    )
    if incident.unreached_reason:
        incident.unreached_reason = ""
        incident.save(update_fields=["unreached_reason"])
    # New alerts are unanswered, so they change no count of coverage; an incident nobody was
    # alerted to before has none to count (no query), and only those alerted before are the crew
    # to tell of the newcomers.
    _send_alerts(
        incident,
        alerts,
        round=1,
        now=now,
        crew_ids=already_alerted,
        coverage=_nobody_alerted_yet(incident) if not already_alerted else None,
        responders_locked=True,
    )
    return alerts, ""


def _send_alerts(
    incident: Incident,
    alerts: list[Alert],
    *,
    round: int | None,
    now,
    crew_ids: set[int] | None = None,
    coverage: Coverage | None = None,
    responders_locked: bool = False,
    crew_to_the_alerted: bool = False,
) -> None:
    """Tell the alerted (their `alert.created`, a push to each device), their crew and the board.
    `crew_ids`: the responders of the incident's other alerts, if the caller knows them; `coverage`:
    the incident's, if the caller knows it (else each is read). `responders_locked`: the alerted
    responders' rows are locked by this transaction already (select_responders' lock_chosen).
    `crew_to_the_alerted`: the alerted get the crew's `incident.updated` too (those alerted again).
    The incident's messages to the crews reach the alerted too (their counts on the boards grow:
    messages.reach_the_alerted, after the responders' rows are locked, the order an acknowledgement
    takes them in). Their sends leave together after commit (one wake-up of the server's event loop)."""
    with events.one_hand_over():
        _tell_the_alerted(
            incident,
            alerts,
            round=round,
            now=now,
            crew_ids=crew_ids,
            coverage=coverage,
            responders_locked=responders_locked,
            crew_to_the_alerted=crew_to_the_alerted,
        )
        messages.reach_the_alerted(incident, alerts, nobody_before=crew_ids is not None and not crew_ids)


def _tell_the_alerted(
    incident, alerts, *, round, now, crew_ids, coverage, responders_locked=False, crew_to_the_alerted=False
) -> None:
    by_responder = {alert.responder_id: alert for alert in alerts}
    summary = payloads.incident_summary(incident)
    # Each alert described once, for its owner's event and the board's frame alike.
    described = {alert.pk: payloads.board_alert(alert) for alert in alerts}
    events.record_for_responders(
        by_responder,
        "alert.created",
        lambda rid: {
            "alert": payloads.alert_detail(by_responder[rid], summary=summary, board=described[by_responder[rid].pk])
        },
        locked=responders_locked,
    )
    pushes = enqueue_pushes(alerts, round=round, now=now)
    # The board learns at once how many phones each responder has ("shown on 0 of 2", or "no phone
    # for alerts"), before their alerts, as its snapshot would tell it after a reload. A first
    # round's funnel is the pushes just queued; one alerted again has its earlier rounds.
    funnels = receipts.funnels_of_queued(pushes) if round == 1 else receipts.funnels_of([a.pk for a in alerts])
    devices = [payloads.board_devices(alert, funnels) for alert in alerts]
    events.send_to_board([("board.devices", {"alerts": devices})])
    # Those first alerted get the crew with their alert over the API (their phone opens the new
    # alert's screen, which reads it); telling each of them about all the others (n squared entries
    # for n alerted) would slow the dispatch down for nothing. Those alerted again are told: their
    # phone may show that alert's screen already and read nothing, and kept the crew of before
    # ("2 stood down by control" beside the board's "1 alerted again": found by a browser trial).
    crew_except = set() if crew_to_the_alerted else set(by_responder)
    _tell_everyone_about(
        incident,
        changed=alerts,
        crew_except=crew_except,
        tell_owners=False,
        crew_ids=crew_ids,
        coverage=coverage,
        described=described,
    )


def stand_down(*, actor, incident_id: int, alert_ids: list[int] | None = None) -> list[Alert]:
    """Release responders. Without `alert_ids`: everyone who has not answered yet (used once
    enough have accepted). With `alert_ids`: those responders, whatever they had answered. A
    coordinator's (or the control room's) deliberate act, not a drop-out: if it leaves the incident
    short of crews, nothing sounds and nobody is alerted again by itself; standing down a crew
    going holds the ladder until their next dispatch, whether or not the incident was covered
    (_follow_coverage, ladder.is_held). Found by trials: standing down the one crew on scene read "1
    accepted, then dropped out", sounded the alarm and re-alerted those stood down because enough
    crews were going; standing down the one crew of an incident never covered let the ladder run on."""
    with transaction.atomic():
        incident = _open_incident_for_update(
            actor,
            incident_id,
            "dispatch.stand_down_incident",
            doing="stand crews down",
            refusal="there is nobody to stand down",
        )
        alerts = _alerts_for_update(incident)
        if alert_ids is None:
            chosen = [alert for alert in alerts if alert.state in UNANSWERED_STATES]
        else:
            chosen = _named_alerts(alerts, alert_ids)
        now = timezone.now()
        crew_going = any(alert.state in COMMITTED_STATES for alert in chosen)  # before they move
        changed = _stand_down_alerts(chosen, _stand_down_reason(actor), now=now, actor=actor)
        # Their own act: no drop-out alarm, nobody alerted again; a crew going stood down holds the
        # ladder if short (_follow_coverage); the unanswered alone leave it running.
        _follow_coverage(incident, now=now, stood_down_by_control=crew_going)
        _tell_everyone_about(incident, changed=changed)
    _log_after_commit(
        "Alerts stood down",
        event="alerts.stood_down",
        incident_id=incident_id,
        actor_id=actor.pk,
        alert_ids=[alert.pk for alert in changed],
        state=AlertState.STOOD_DOWN.value,
    )
    return changed


def _stand_down_reason(actor) -> StandDownReason:
    """Who stood crews down, as the phone and the board say it: the ambulance CAD (its token user
    acts in the dispatch system's role) is the control room, not a coordinator."""
    return StandDownReason.CONTROL_ROOM if role_of(actor) == "dispatch_system" else StandDownReason.COORDINATOR


def stand_down_when_covered(*, incident: Incident, now) -> list[Alert]:
    """The escalation pass, once a covered incident's grace is over (incident row locked by the
    caller): those who have not answered are not needed ("Enough crews are going")."""
    unanswered = [alert for alert in _alerts_for_update(incident) if alert.state in UNANSWERED_STATES]
    changed = _stand_down_alerts(unanswered, StandDownReason.ENOUGH_CREWS, now=now, actor=None)
    _tell_everyone_about(incident, changed=changed)
    _log_after_commit(
        "Alerts stood down: enough crews",
        event="alerts.stood_down",
        incident_id=incident.pk,
        alert_ids=[alert.pk for alert in changed],
        state=AlertState.STOOD_DOWN.value,
        reason=StandDownReason.ENOUGH_CREWS.value,
    )
    return changed


def _stand_down_alerts(alerts: list[Alert], reason: str, *, now, actor) -> list[Alert]:
    """Move the still-active alerts among `alerts` (rows locked) to stood down for `reason`: saved,
    audited, and a push that replaces the alert on locked phones. The caller tells everyone."""
    changed = [alert for alert in alerts if _move(alert, AlertState.STOOD_DOWN, "stood_down_at", now)]
    for alert in changed:
        alert.stood_down_reason = reason
    _save_alerts(changed, "stood_down_at", "stood_down_reason", actor=actor)
    enqueue_pushes(changed, now=now, kind=Kind.STAND_DOWN)
    return changed


def _follow_coverage(
    incident: Incident, *, now, lost: Sequence[Alert] = (), stood_down_by_control: bool = False
) -> None:
    """After a change that may have moved the incident's coverage (its row locked): the ladder
    pauses or resumes (backend/dispatch/coverage.py); when it is short of crews again, those stood
    down because enough crews were going, or because they accepted another incident and are free
    again, are alerted again, nearest first, before any wider ring (alert_again_when_short).

    `lost`: the changed alerts that counted towards the cover and no longer do by their
    responder's doing (a decline after accepting, clearing before arriving). A finished ladder
    starts again; and if nobody is left going, the board's alarm is raised afresh, whatever the
    ladder's state and whatever was acknowledged before (found by a trial: the last crew dropped
    out after the escalation alarm was acknowledged and the ladder had finished, and nothing
    sounded).

    `stood_down_by_control`: a coordinator or the control room stood down a crew going (stand_down).
    Not a drop-out: no alarm, nobody alerted again, and if it leaves the incident short, covered
    before or not, the ladder is held until their next dispatch (coverage.follow_coverage `hold`;
    _dispatch_open_incident resumes it)."""
    coverage, change = follow_coverage(incident, now=now, crew_lost=bool(lost), hold=stood_down_by_control)
    if change is Change.NO_LONGER_COVERED and not stood_down_by_control:
        # The system's doing, whoever's answer set it off.
        alert_again_when_short(incident, now=now, actor=None)
    if lost and coverage.covering == 0:
        raise_board_alarm(
            incident, now=now, message=_nobody_going_any_more(incident, coverage, lost), kind=AlarmKind.ESCALATION
        )
        incident.save(update_fields=ALARM_FIELDS)


def _nobody_going_any_more(incident: Incident, coverage: Coverage, lost: Sequence[Alert]) -> str:
    """The alarm's words when the last crew drops out: who, and how, with the counts as they are
    now. "Nobody is going to incident EEAST-1 any more (0 going, 2 needed): Sam Barker can't
    attend after all (no transport)." """
    how = "; ".join(_how_they_dropped_out(alert) for alert in lost)
    return (
        f"Nobody is going to incident {incident.cad_reference} any more "
        f"({coverage.committed} going, {coverage.target} needed): {how}."
    )


def _how_they_dropped_out(alert: Alert) -> str:
    name = alert.responder.display_name
    if alert.state == AlertState.DECLINED:
        reason = DeclineReason(alert.decline_reason).label.lower() if alert.decline_reason else ""
        return f"{name} can't attend after all" + (f" ({reason})" if reason else "")
    if alert.state == AlertState.CLEARED:
        return f"{name} cleared before arriving"
    if alert.state == AlertState.STOOD_DOWN and alert.stood_down_reason:
        return f"{name}: {StandDownReason(alert.stood_down_reason).label.lower()}"
    return f"{name}: {alert.get_state_display().lower()}"


# Why some are stood down from an incident by nobody's decision about it: the unanswered once enough
# crews were going, and those who accepted another incident (_release_from_other_incidents). When
# the incident is short again they are asked again, if they can go. Not those a coordinator or the
# control room stood down, nor those who declined (not stood down): deliberate acts. Found by a
# browser trial: one stood down for another incident, free again 3.5 km away, was not asked again
# when a crew withdrew; the ladder's next ring went 41 km.
ALERTED_AGAIN_WHEN_SHORT = frozenset({StandDownReason.ENOUGH_CREWS, StandDownReason.COMMITTED_ELSEWHERE})


def alert_again_when_short(incident: Incident, *, now, actor=None) -> list[Alert]:
    """The incident is short of crews (its row locked by the caller): those stood down from it for
    ALERTED_AGAIN_WHEN_SHORT who can go now (_alert_again: on call, trained, not committed to another
    incident) are alerted again, nearest first. Called where the incident becomes short again by
    nobody's stand-down (_follow_coverage), where a dispatch resumes a held ladder, and by each of
    the ladder's ring steps before it widens (escalation._resend_and_widen), for those freed since.
    `actor` None: the system's doing. Returns those alerted again."""
    stood_down = _stood_down(incident, reasons=ALERTED_AGAIN_WHEN_SHORT)
    # Distance when first alerted, then rank: alerts of several dispatches are in alerting order.
    nearest_first = sorted(stood_down, key=lambda alert: (alert.distance_km, alert.rank))
    return _alert_again(incident, nearest_first, now=now, actor=actor)


def _alert_again(incident: Incident, alerts: list[Alert], *, now, actor, named: bool = False) -> list[Alert]:
    """Alert again those of `alerts` (stood down, rows locked) who can still go: on call, trained,
    and not committed to another incident unless a coordinator named them (the audited override).
    Back to alerted, with `alert.created` and a push, as if new."""
    if not alerts:
        return []
    responder_ids = [alert.responder_id for alert in alerts]
    can_go = set(
        eligible_responders(today=timezone.localdate()).filter(pk__in=responder_ids).values_list("pk", flat=True)
    )
    committed = committed_elsewhere(responder_ids)
    again = [
        alert for alert in alerts if alert.responder_id in can_go and (named or alert.responder_id not in committed)
    ]
    for alert in again:
        _ask_afresh(alert, now)
    _save_alerts(again, *_REALERT_FIELDS, actor=actor)
    overrides = [(alert, committed[alert.responder_id]) for alert in again if alert.responder_id in committed]
    record_overrides(actor, overrides)
    if again:
        _send_alerts(incident, again, round=None, now=now, crew_to_the_alerted=True)
    return again


# What _ask_afresh writes besides the state and version (and the reports' mark: the intervals the
# reports count change with the re-alert and the answers it clears).
_REALERT_FIELDS = (
    "realerted_at",
    "received_at",
    "accepted_at",
    "declined_at",
    "decline_reason",
    "decline_note",
    "en_route_at",
    "stood_down_at",
    "stood_down_reason",
    "summary_due",
)


def _ask_afresh(alert: Alert, now) -> None:
    """A stood-down alert alerted again, in memory: the earlier answer no longer holds, so no count
    may go on counting it (coverage's accepted_count, the reports' acceptances and intervals, the
    attendance form offered to those who accepted), and the board's and the reports' intervals run
    from this alert (Alert.answered_alert). The audit trail keeps every state it had, each with its
    time. Field by field:
    - alerted_at is kept: the first alert, the incident's "fire alerted" time (records/registry.py)
      and the earliest the crew may log an event at (checklists); realerted_at is this alert's time.
    - received_at: cleared, the phone must show this alert and say so again.
    - declined_at, decline_reason, decline_note: cleared, a decline before an acceptance that was
      then stood down is an earlier answer; a new decline sets them afresh.
    - accepted_at, en_route_at: cleared, the acceptance (and the setting off) was stood down: it
      is asked for again. Unless the responder had been on scene (on_scene_at, kept): they went,
      so their acceptance, setting off and arrival stay, as the record that they attended. Coverage
      still counts them as attended (and, once it has finished, accepted) but not as going until
      they accept again; their attendance form stays theirs (records/access.py EVER_ACCEPTED);
      the reports' arrival, measured from the first alert, stays. Answering again sets the new
      times over them (the audit trail keeps the earlier states' times): docs/hazard-log.md, H20.
    - first_accepted_at: kept, that they accepted at some time ("1 accepted, then dropped out"; the
      call stays in their forms list: records/access.py EVER_ACCEPTED).
    - first_en_route_at: kept, that they set off at some time (mobile: their attendance form is
      still owed, records/access.py never_set_off).
    - stood_down_at, stood_down_reason: cleared, no longer stood down.
    - cleared_at, cancelled_at: never set on a stood-down alert (a cleared or cancelled alert is
      never stood down, nor alerted again once its incident has ended).
    - distance_km, distance_from, rank, station: kept, where they were when first alerted.
    """
    alert.state = AlertState.ALERTED
    alert.version += 1
    alert.realerted_at = now
    alert.received_at = None
    alert.declined_at = None
    alert.decline_reason = ""
    alert.decline_note = ""
    if alert.on_scene_at is None:
        alert.accepted_at = None
        alert.en_route_at = None
    alert.stood_down_at = None
    alert.stood_down_reason = ""
    alert.summary_due = True


def _stood_down(incident: Incident, *, reasons=None, responder_ids=None) -> list[Alert]:
    """The incident's stood-down alerts (rows locked), for some reasons or any, of some responders or all."""
    return [
        alert
        for alert in _alerts_for_update(incident)
        if alert.state == AlertState.STOOD_DOWN
        and (reasons is None or alert.stood_down_reason in reasons)
        and (responder_ids is None or alert.responder_id in responder_ids)
    ]


def _named_alerts(alerts: list[Alert], alert_ids: list[int]) -> list[Alert]:
    by_id = {alert.pk: alert for alert in alerts}
    unknown = [alert_id for alert_id in alert_ids if alert_id not in by_id]
    if unknown:
        raise InvalidInput(
            "Some alerts are not part of this incident.",
            fields={"alert_ids": [f"Not an alert of this incident: {', '.join(map(str, unknown))}."]},
        )
    finished = [by_id[alert_id] for alert_id in alert_ids if by_id[alert_id].state not in ACTIVE_STATES]
    if finished:
        names = ", ".join(f"{alert.responder.display_name} ({alert.get_state_display().lower()})" for alert in finished)
        raise Conflict(f"These responders are not active on this incident: {names}.")
    return [by_id[alert_id] for alert_id in dict.fromkeys(alert_ids)]


def cancel_incident(*, actor, incident_id: int, reason: str) -> Incident:
    """The call turned out not to need us (ambulance on scene, not a cardiac arrest, hoax).
    Everyone still active is told at once."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("Say why the incident is cancelled.", fields={"reason": ["A reason is required."]})
    with transaction.atomic():
        incident = _open_incident_for_update(
            actor,
            incident_id,
            "dispatch.cancel_incident",
            doing="cancel incidents",
            refusal="a {status} incident cannot be cancelled",
            ending=IncidentStatus.CANCELLED,
        )
        now = timezone.now()
        incident.status = IncidentStatus.CANCELLED
        incident.cancelled_at = now
        incident.cancel_reason = reason[:200]
        incident.save(update_fields=["status", "cancelled_at", "cancel_reason"])
        _audit_incident_ended(actor, incident)
        alerts = _alerts_for_update(incident)
        changed = [alert for alert in alerts if _move(alert, AlertState.CANCELLED, "cancelled_at", now)]
        _save_alerts(changed, "cancelled_at", actor=actor)
        enqueue_pushes(changed, now=now, kind=Kind.STAND_DOWN)
        _tell_everyone_about(incident, changed=changed)
    _log_after_commit(
        "Incident cancelled",
        event="incident.cancelled",
        incident_id=incident_id,
        actor_id=actor.pk,
        alert_ids=[alert.pk for alert in changed],
        state=AlertState.CANCELLED.value,
    )
    return incident


def close_incident(*, actor, incident_id: int) -> Incident:
    """The job is done: those on scene are cleared, anyone else still active is stood down."""
    with transaction.atomic():
        incident = _open_incident_for_update(
            actor,
            incident_id,
            "dispatch.stand_down_incident",
            doing="close incidents",
            refusal="a {status} incident cannot be closed",
            ending=IncidentStatus.CLOSED,
        )
        now = timezone.now()
        incident.status = IncidentStatus.CLOSED
        incident.closed_at = now
        incident.next_escalation_at = None
        incident.save(update_fields=["status", "closed_at", "next_escalation_at"])
        _audit_incident_ended(actor, incident)
        alerts = _alerts_for_update(incident)
        on_scene = [alert for alert in alerts if alert.state == AlertState.ON_SCENE]
        others = [alert for alert in alerts if alert.state != AlertState.ON_SCENE]
        cleared = [alert for alert in on_scene if _move(alert, AlertState.CLEARED, "cleared_at", now)]
        _save_alerts(cleared, "cleared_at", actor=actor)
        stood_down = _stand_down_alerts(others, StandDownReason.INCIDENT_CLOSED, now=now, actor=actor)
        _tell_everyone_about(incident, changed=[*cleared, *stood_down])
    _log_after_commit(
        "Incident closed",
        event="incident.closed",
        incident_id=incident_id,
        actor_id=actor.pk,
        alert_states={alert.pk: alert.state for alert in [*cleared, *stood_down]},
    )
    return incident


def _audit_incident_ended(actor, incident: Incident) -> None:
    """Who cancelled or closed the incident, and from where: the alerts' entries said it only for
    an incident someone had been alerted to (found by trying the product: a cancelled incident
    that had alerted nobody left no trace of who cancelled it). The status only: the reason is
    free text, kept on the incident. The action names the ending, so the trail reads "Cancelled" or
    "Closed" (it read "Changed" for a cancellation, found the same way)."""
    action = _ENDING_ACTIONS[incident.status]
    audit_log.record(
        actor, action, "incident", incident.pk, incident_id=incident.pk, detail={"status": incident.status}
    )


# How each ending of an incident reads in the audit trail.
_ENDING_ACTIONS = {IncidentStatus.CANCELLED: AuditAction.CANCEL, IncidentStatus.CLOSED: AuditAction.CLOSE}


def set_ambulance_eta(*, actor, incident_id: int, ambulance_eta: datetime.datetime | None) -> Incident:
    """The CAD (or a coordinator) says when the ambulance is expected (None: not known). The board
    and the crew panel compare it with the responders' estimates ("likely first on scene")."""
    with transaction.atomic():
        incident = _open_incident_for_update(
            actor,
            incident_id,
            "dispatch.add_incident",
            doing="give the ambulance's arrival",
            refusal="its ambulance's arrival no longer matters",
        )
        incident.ambulance_eta = ambulance_eta
        incident.save(update_fields=["ambulance_eta"])
        _tell_the_crew(incident, leave_out=set())
        events.send_to_board([("board.incident", payloads.board_incident(incident))])
    _log_after_commit(
        "Ambulance arrival given", event="incident.ambulance_eta", incident_id=incident_id, actor_id=actor.pk
    )
    return incident


# --- A firefighter's answers -----------------------------------------------------------------------


def respond_to_alert(
    *, actor, alert_id: int, response: str, reason: str = "", note: str = "", at: datetime.datetime | None = None
) -> Alert:
    """Record a firefighter's answer to their own alert.

    Repeating the answer the alert already has changes nothing and is not an error (a retry after
    a lost response must succeed). "received" is the device saying it has shown the alert; it is
    recorded once and never moves an alert backwards.

    `at`, for "on_scene" only: when they arrived, if not now (arrive_by_checklist: a checklist tap
    synced late), kept between the alert's previous step and now.
    """
    transition = RESPONSES.get(response)
    if transition is None:
        raise InvalidInput(
            f"Unknown response {response!r}.",
            fields={"response": [f"Use one of: {', '.join(RESPONSES)}."]},
        )
    if at is not None and response != "on_scene":
        raise InvalidInput("Only an arrival on scene can be given a time.", fields={"at": ["Only with on_scene."]})
    if response == "decline" and reason not in DeclineReason.values:
        raise InvalidInput(
            "Say why you are declining.",
            fields={"reason": [f"Choose one of: {', '.join(DeclineReason.values)}."]},
        )
    if response == "received":
        with transaction.atomic():
            alert = access.access_alert_for_responder(actor, alert_id, for_update=True)
            return alert if alert.state == transition.target else _mark_received(alert, actor)
    with transaction.atomic():
        # The incident first, as the coordinators' actions lock it: an answer can change its
        # coverage, and two answers at once must not both miss that it is now covered. An accept
        # also holds the responder, so that they are never counted on two incidents.
        alert = access.access_alert_for_responder(
            actor, alert_id, for_update=True, lock_incident=True, lock_responder=response == "accept"
        )
        if alert.state == transition.target:
            return alert
        incident = alert.incident
        if not incident.is_open:
            # A declined alert stays declined when the incident ends; it must not be accepted after.
            raise Conflict(_incident_over(incident, alert), extra={"state": alert.state})
        if alert.state not in transition.allowed_from:
            raise Conflict(_refusal(alert, response), extra={"state": alert.state})
        if response == "accept":
            _refuse_if_committed_elsewhere(alert)
        now = timezone.now()
        covered_before = covers(alert.state, alert.on_scene_at)
        _move(alert, transition.target, transition.timestamp_field, _arrival_time(alert, at, now) if at else now)
        update_fields = ["state", "version", transition.timestamp_field]
        if transition.timestamp_field in REPORTED_TIMES:
            alert.summary_due = True
            update_fields.append("summary_due")
        if response == "accept":
            update_fields += _first_acceptance(alert, now)
        if response == "en_route":
            update_fields += _first_setting_off(alert)
        if response == "decline":
            alert.decline_reason = reason
            alert.decline_note = (note or "")[:200]
            update_fields += ["decline_reason", "decline_note"]
        alert.save(update_fields=update_fields)
        record_alert_changes(actor, [alert])
        if response == "accept":
            _release_from_other_incidents(alert, now=now)
        # A decline after accepting ("Can't attend after all"), or clearing before arriving.
        lost = [alert] if covered_before and not covers(alert.state, alert.on_scene_at) else []
        _follow_coverage(incident, now=now, lost=lost)
        _tell_everyone_about(incident, changed=[alert])
    _log_after_commit(
        "Alert answered",
        event="alert.answered",
        alert_id=alert.pk,
        incident_id=alert.incident_id,
        response=response,
        state=alert.state,
        version=alert.version,
    )
    return alert


def arrive_by_checklist(*, actor, alert_id: int, at: datetime.datetime) -> Alert | None:
    """A crew member logged an on-scene event on the checklist (backend.checklists.actions) while
    their alert was accepted or en route: they are on scene, from the event's time, as if they had
    pressed "On scene" then (respond_to_alert), so that the board, the coverage, the audit trail
    and the count of who attended follow. Found by a browser trial: with no signal "On scene" was
    refused, the checklist's taps queued and synced, and a cancel then told someone doing CPR "You
    are not needed", the board "attended 0". An alert that ended (cancelled, stood down) after the
    event's time, the event synced late, is on scene before its end (arrive_before_the_end): also
    when it ended between the caller's read and this lock. None, changing nothing, when the alert
    is in any other state (already on scene, not answered) or ended before the event. Called in the
    caller's transaction; takes the locks the answer takes, in its order."""
    with transaction.atomic():
        alert = access.access_alert_for_responder(actor, alert_id, for_update=True, lock_incident=True)
        if alert.state in _ENDINGS_BEFORE_ARRIVAL_HEARD:
            return arrive_before_the_end(actor=actor, alert_id=alert_id, at=at)
        if alert.state not in RESPONSES["on_scene"].allowed_from or not alert.incident.is_open:
            return None
        return respond_to_alert(actor=actor, alert_id=alert_id, response="on_scene", at=at)


# An alert's ending that can come after its responder arrived without the server hearing of it
# (no signal): the time field each ending sets (arrive_before_the_end).
_ENDINGS_BEFORE_ARRIVAL_HEARD = {AlertState.CANCELLED: "cancelled_at", AlertState.STOOD_DOWN: "stood_down_at"}


def arrive_before_the_end(*, actor, alert_id: int, at: datetime.datetime) -> Alert | None:
    """A checklist event from before the end synced after it: a crew member without signal tapped
    "At patient" at 10:05 while accepted or en route, the incident was cancelled (or closed, or they
    were stood down) at 10:10, and the tap reached the server at 10:15. They were on scene: the
    alert stays ended (nothing reopens; a close's ending is a clearing, below) and gains the on-scene
    time an arrival answer would have set, from the event's time kept between their previous step
    and the ending (_arrival_time), so that "attended", the board's counts, the reports' arrival and
    the forms follow. Audited as a change of the on-scene time; the phone, the crew and the boards
    are told as of any alert change. Found by a browser trial: the board said attended 0 of a crew
    doing CPR (docs/hazard-log.md, H04 control 9).

    The alert ends as it would have, the arrival heard in time: a close clears those on scene
    (close_incident), so one the close stood down is cleared at the close's time instead
    (_cleared_by_the_close; audited as an alert state change, as the close's clearing is). Found
    by a browser trial: the row read "Stood down: incident closed" beside "attended 1". A cancel,
    and a coordinator's or the control room's stand-down, end those on scene as the others
    (cancelled; stood down, for the same reason): their ending stays.

    None, changing nothing, unless the alert ended (cancelled or stood down) at or after `at`,
    having been accepted (accepted_at: a cancelled or stood-down alert that has it was accepted or
    en route when it ended; a re-alert clears it) and with no on-scene time. Called in the caller's
    transaction (backend.checklists.actions, through arrive_by_checklist); takes the locks the
    answer takes, in its order: the incident, then the alert."""
    with transaction.atomic():
        alert = access.access_alert_for_responder(actor, alert_id, for_update=True, lock_incident=True)
        ending_field = _ENDINGS_BEFORE_ARRIVAL_HEARD.get(alert.state)
        ended_at = getattr(alert, ending_field) if ending_field else None
        if ended_at is None or at > ended_at or alert.accepted_at is None or alert.on_scene_at is not None:
            return None
        alert.on_scene_at = _arrival_time(alert, at, ended_at)
        alert.version += 1
        alert.summary_due = True  # on_scene_at is one of the REPORTED_TIMES
        cleared = _cleared_by_the_close(alert)
        alert.save(update_fields=["on_scene_at", "version", "summary_due", *cleared])
        # The on-scene time, by name only; a state change (a close's clearing) as each one is.
        audit_log.record(
            actor,
            AuditAction.CHANGE,
            "alert",
            alert.pk,
            incident_id=alert.incident_id,
            detail={"changed": ["on_scene_at"], "state": alert.state, "from": "checklist"},
        )
        if cleared:
            record_alert_changes(actor, [alert])
        _tell_everyone_about(alert.incident, changed=[alert])
    _log_after_commit(
        "Arrival before the end recorded from the checklist",
        event="alert.arrived_before_the_end",
        alert_id=alert.pk,
        incident_id=alert.incident_id,
        state=alert.state,
        version=alert.version,
    )
    return alert


def _cleared_by_the_close(alert: Alert) -> list[str]:
    """An alert the close of its incident stood down, now known to have been on scene by then
    (arrive_before_the_end): cleared at the close's time, as close_incident clears those on scene,
    and never stood down (in memory; the fields to save). Any other ending stays: a cancel cancels
    those on scene too, and a coordinator's or the control room's stand-down stands them down."""
    if alert.state != AlertState.STOOD_DOWN or alert.stood_down_reason != StandDownReason.INCIDENT_CLOSED:
        return []
    alert.state = AlertState.CLEARED
    alert.cleared_at = alert.stood_down_at  # the close's time (close_incident: the same `now`)
    alert.stood_down_at = None
    alert.stood_down_reason = ""
    return ["state", "cleared_at", "stood_down_at", "stood_down_reason"]


def _arrival_time(alert: Alert, at: datetime.datetime, now) -> datetime.datetime:
    """An arrival time given by the phone: no later than now (a phone's clock may run fast; for an
    arrival heard of after the end, the end) and no earlier than the step before it (accepting,
    setting off), so that no report shows a crew on scene before they accepted."""
    earliest = max((step for step in (alert.accepted_at, alert.en_route_at) if step is not None), default=at)
    return min(max(at, earliest), now)


def _first_acceptance(alert: Alert, now) -> list[str]:
    """Keep when the responder first accepted (in memory; the fields to save): their first accept,
    or one after a decline or a re-alert if they had not accepted before. Never cleared, unlike
    accepted_at (_ask_afresh), so that "1 accepted, then dropped out" is still said after a
    re-alert, from the alert itself rather than the audit trail."""
    if alert.first_accepted_at is not None:
        return []
    alert.first_accepted_at = now
    return ["first_accepted_at"]


def _first_setting_off(alert: Alert) -> list[str]:
    """Keep when the responder first set off (in memory; the fields to save), as _first_acceptance:
    never cleared, unlike en_route_at (_ask_afresh), so that one who set off, was stood down and was
    alerted again still owes their attendance form (records/access.py never_set_off)."""
    if alert.first_en_route_at is not None:
        return []
    alert.first_en_route_at = alert.en_route_at
    return ["first_en_route_at"]


def _refuse_if_committed_elsewhere(alert: Alert) -> None:
    """Nobody is counted on two incidents. The caller holds the responder's row, so that two
    accepts on two incidents at once cannot both pass this check."""
    # No condition on the incident in SQL: the responder's alerts in a committed state (by their
    # (responder, state) index), then each one's incident by its key, open or not told apart here.
    # With the incidents' status in the WHERE clause, PostgreSQL, its statistics taken while few
    # incidents were open, read every open incident and looked for the responder's alert in each
    # (bench/plan_check.py; the selection's trap, backend/dispatch/selection_reads.py).
    # The states as literals (backend/sql_literals.py): as parameters, a generic plan (prepared
    # statements) expected any of them and read all the responder's alerts, a year's, for the one.
    committed = (
        Alert.objects.filter(responder_id=alert.responder_id, state__in=literals(COMMITTED_STATES))
        .exclude(pk=alert.pk)
        .select_related("incident")
        .order_by("incident_id", "rank")
    )
    other = next((each for each in committed if each.incident.status == IncidentStatus.OPEN), None)
    if other is None:
        return
    raise CommittedElsewhere(
        f"You are already on incident {other.incident.cad_reference} ({other.get_state_display().lower()}). "
        'Leave it first ("Can\'t attend after all") if you are going to this one instead.',
        extra={
            "state": alert.state,
            "other_alert_id": other.pk,
            "other_incident": {
                "id": other.incident_id,
                "cad_reference": other.incident.cad_reference,
                "address": other.incident.address,
                "state": other.state,
            },
        },
    )


def _release_from_other_incidents(alert: Alert, *, now) -> None:
    """The responder accepted this alert: their unanswered alerts on other open incidents stand
    down at once ("Accepted another incident"), so that no second alarm rings on a phone on its
    way to a job, and no ladder re-sends to it. Each of those incidents' coordinators and crews is
    told. Their coverage does not change: an unanswered alert never counted."""
    # The incident's status is looked at here, not in SQL, as in _refuse_if_committed_elsewhere:
    # with it in the WHERE clause and statistics of a quiet hour, PostgreSQL read every open
    # incident and, for each, the responder's alerts and the whole users table (98 open incidents:
    # 98 scans of each, 2.8 ms; bench/plan_check.py). An unanswered alert of an incident that is no
    # longer open is locked for nothing (there is none: closing and cancelling end them).
    unanswered = (
        Alert.objects.select_for_update(of=("self",))
        .filter(responder_id=alert.responder_id, state__in=literals(UNANSWERED_STATES))  # as above
        .exclude(pk=alert.pk)
        .select_related("incident", "responder__user", "responder__station")
    )
    others = [other for other in unanswered if other.incident.status == IncidentStatus.OPEN]
    for other in others:
        changed = _stand_down_alerts([other], StandDownReason.COMMITTED_ELSEWHERE, now=now, actor=alert.responder.user)
        _tell_everyone_about(other.incident, changed=changed)


def record_push_receipt(*, alert_id: int, token: str, event: str) -> None:
    """A phone's service worker showed (or its firefighter tapped) an alert's notification, and
    says so with the token its push carried (no session: backend/delivery/receipts.py). The board
    is told at once. The alert itself does not change: the app's own acknowledgement (`received`)
    still comes when it opens the alert; the receipt is per device, and the escalation's text
    step counts either (escalation.py)."""
    with transaction.atomic():
        delivery = receipts.record_receipt(alert_id=alert_id, token=token, event=event)
        if delivery.device_id is not None:
            # A real alert shown on the phone proves it as a test would (docs/delivery.md "Readiness").
            readiness.record_proof(device_id=delivery.device_id, at=delivery.shown_at)
    alert = Alert.objects.get(pk=delivery.alert_id)
    funnels = receipts.funnels_of([alert.pk])
    events.send_to_board([("board.devices", {"alerts": [payloads.board_devices(alert, funnels)]})])
    _log_after_commit(
        f"Push receipt: {event}",
        event=f"push.{event}",
        alert_id=alert.pk,
        incident_id=alert.incident_id,
        delivery_id=delivery.pk,
        device_id=delivery.device_id,
    )


def _mark_received(alert: Alert, actor) -> Alert:
    """The app showed the alert. Later states already imply it was seen; record the time once."""
    if alert.received_at is None:
        alert.received_at = timezone.now()
        alert.version += 1
        if alert.state == AlertState.ALERTED:
            alert.state = AlertState.RECEIVED
        alert.save(update_fields=["state", "received_at", "version"])
        record_alert_changes(actor, [alert])
        # The crew's view does not change (alerted and shown both mean "not answered yet"), so
        # the acknowledgement, which every device sends within seconds, tells only its owner and
        # the board: twenty acks must not become four hundred stored events.
        _tell_everyone_about(alert.incident, changed=[alert], tell_crew=False)
        _log_after_commit(
            "Alert shown on a device",
            event="alert.received",
            alert_id=alert.pk,
            incident_id=alert.incident_id,
            state=alert.state,
            version=alert.version,
        )
    return alert


def _incident_over(incident: Incident, alert: Alert) -> str:
    """Why an answer to an ended incident is refused. "You are not needed" only to those who never
    reached the scene: one who was there may be in the middle of CPR (docs/hazard-log.md, H04
    control 7), and is told only how the call ended."""
    if incident.status == IncidentStatus.CANCELLED:
        ended = f"The incident was cancelled ({incident.cancel_reason})"
    else:
        ended = "The incident is closed"
    return f"{ended}." if alert.on_scene_at is not None else f"{ended}: you are not needed."


def _refusal(alert: Alert, response: str) -> str:
    verb = {
        "accept": "accept",
        "decline": "decline",
        "en_route": "go en route on",
        "on_scene": "arrive on scene for",
        "cleared": "clear",
    }[response]
    if alert.state == AlertState.CANCELLED and alert.incident.cancel_reason:
        return f"You cannot {verb} this alert: the incident was cancelled ({alert.incident.cancel_reason})."
    if alert.state == AlertState.STOOD_DOWN and alert.stood_down_reason:
        why = _STOOD_DOWN_PHRASES[alert.stood_down_reason]
        return f"You cannot {verb} this alert: it was stood down ({why})."
    return f"You cannot {verb} this alert: it {_STATE_PHRASES[alert.state]}."


# --- Shared steps ------------------------------------------------------------------------------------


def _log_after_commit(message: str, **fields) -> None:
    """Log an event once its transaction has committed (at once outside a transaction): an action
    can run inside a caller's transaction (create_and_dispatch_incident), and a change rolled back
    there must not leave a log line about an incident or an answer that never existed."""
    transaction.on_commit(lambda: logger.info(message, extra=fields))


def _open_incident_for_update(
    actor, incident_id: int, permission: str, *, doing: str, refusal: str, ending: IncidentStatus | None = None
) -> Incident:
    """The incident, locked for this transaction, if the actor may act on it and it is still open.
    Else refused (_ended_refusal): `refusal` says what cannot be done ("{status}": how it ended);
    `ending` is the ending this action would make, said as "again" if the incident already had it."""
    incident = access.access_incident_for_coordinator(
        actor, incident_id, permission=permission, doing=doing, for_update=True
    )
    if not incident.is_open:
        raise Conflict(_ended_refusal(incident, refusal, ending))
    return incident


def _ended_refusal(incident: Incident, refusal: str, ending: IncidentStatus | None) -> str:
    """How the incident ended, when and by whom, then what cannot be done: "T9-NOR-1 was cancelled
    at 02:07 by Jordan Reeve: a cancelled incident cannot be closed." Found by a browser trial:
    closing a cancelled incident said "it cannot be closed again", as if it had been closed. Who
    is the audit trail's entry of the ending (left out if there is none: the system, or an
    incident ended before the trail named it); the date as well if it ended another day."""
    status = incident.status
    ended_at = incident.cancelled_at if status == IncidentStatus.CANCELLED else incident.closed_at
    said = f"{incident.cad_reference} was {status}"
    if ended_at is not None:
        local = timezone.localtime(ended_at)
        on_day = "" if local.date() == timezone.localdate() else f" on {formats.date_format(local, 'j M Y')}"
        said += f"{on_day} at {formats.time_format(local, 'H:i')}"
    ended_by = (
        AuditEntry.objects.filter(
            object_type="incident", object_id=str(incident.pk), action=_ENDING_ACTIONS.get(status), actor__isnull=False
        )
        .select_related("actor")
        .order_by("-at", "-pk")
        .first()
    )
    if ended_by is not None:
        said += f" by {ended_by.actor.get_full_name() or ended_by.actor_username}"
    why = f"it cannot be {status} again" if status == ending else refusal.format(status=status)
    return f"{said}: {why}."


def _alerts_for_update(incident: Incident) -> list[Alert]:
    return list(
        Alert.objects.select_for_update(of=("self",))
        .filter(incident=incident)
        .select_related("responder__user", "responder__station")
        .order_by("pk")
    )


def _move(alert: Alert, target: AlertState, timestamp_field: str, now) -> bool:
    """Set the new state in memory if the alert is still active (or, for a response, allowed)."""
    if target in (AlertState.STOOD_DOWN, AlertState.CANCELLED, AlertState.CLEARED) and alert.state not in ACTIVE_STATES:
        return False
    alert.state = target
    alert.version += 1
    setattr(alert, timestamp_field, now)
    return True


def _save_alerts(alerts: list[Alert], *timestamp_fields: str, actor) -> None:
    """Save the alerts' new states, and audit them, in one query each."""
    if alerts:
        Alert.objects.bulk_update(alerts, ["state", "version", *timestamp_fields])
        record_alert_changes(actor, alerts)


def _tell_everyone_about(
    incident: Incident,
    *,
    changed: list[Alert],
    tell_crew: bool = True,
    crew_except: set[int] = frozenset(),
    tell_owners: bool = True,
    crew_ids: set[int] | None = None,
    coverage: Coverage | None = None,
    described: dict[int, dict] | None = None,
) -> None:
    """After any change: each changed alert's owner gets `alert.updated` (unless `tell_owners` is
    False: the alerted got `alert.created`), every responder on the incident gets `incident.updated`
    with the crew's state, and the board gets the changed alerts and the incident. `crew_ids` (the
    incident's responders) and `coverage`, if the caller knows them, save reading them; `described`
    (alert id -> its board_alert as the alert stands now), describing them again (a dispatch)."""
    if not changed and incident.status == IncidentStatus.OPEN:
        return
    for alert in changed:
        alert.incident = incident
    positions.end_sharing(incident, changed)
    updated = {alert.responder_id: alert for alert in changed if tell_owners}
    if updated:
        events.record_for_responders(
            updated, "alert.updated", lambda rid: {"alert": payloads.alert_detail(updated[rid], incident=incident)}
        )
    if tell_crew:
        _tell_the_crew(incident, leave_out=crew_except, crew_ids=crew_ids)
    board_items = [
        ("board.alert", described[alert.pk] if described is not None else payloads.board_alert(alert))
        for alert in changed
    ]
    events.send_to_board([*board_items, ("board.incident", payloads.board_incident(incident, coverage=coverage))])


def _tell_the_crew(incident: Incident, *, leave_out: set[int], crew_ids: set[int] | None = None) -> None:
    if crew_ids is None:
        crew_ids = set(incident.alerts.values_list("responder_id", flat=True))
    recipients = set(crew_ids) - leave_out
    if not recipients:
        return
    crew = payloads.crew_of(incident)
    summary = payloads.incident_summary(incident)
    events.record_for_responders(recipients, "incident.updated", lambda rid: {"incident": summary, "crew": crew})
