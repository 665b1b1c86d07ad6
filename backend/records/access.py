"""Permission-checked lookups of after-call records. No endpoint, admin page or action loads a
record without going through one of these.

A firefighter's forms hang off their own alert, and only one they accepted: anyone else's alert,
or one they never accepted, is "not found". The outcome form belongs to the crew (the incident and
the station the firefighter was alerted as a member of): every crew member who accepted may read
it, and one who attended writes it (outcome_duty: the crew lead who attended, else the first of the
crew to arrive). A welfare check-in is its author's and the welfare leads': to anyone else it does
not exist.
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Exists, Min, OuterRef, Q, QuerySet
from django.utils import timezone

from backend.accounts.models import Responder, Station
from backend.checklists.models import OnSceneEvent
from backend.dispatch import access as dispatch_access
from backend.dispatch.models import Alert, AlertState, Incident, IncidentStatus
from backend.errors import NotAllowed, NotFound
from backend.records.models import Attendance, Outcome, RecordKind, WelfareCheckIn
from backend.roles import is_welfare_lead

CREW_LEAD_SKILL = "crew_lead"
AMEND_PERMISSION = "records.amend_record"
REPORTS_PERMISSION = "records.view_reports"

MODELS = {RecordKind.ATTENDANCE: Attendance, RecordKind.OUTCOME: Outcome, RecordKind.WELFARE: WelfareCheckIn}


# Accepted at some point (a re-alert clears accepted_at, not first_accepted_at: actions._ask_afresh).
# Found by a browser trial: a call accepted, stood down, alerted again by name and then cancelled
# left the forms list, while one never alerted again was listed as "Not needed".
EVER_ACCEPTED = Q(accepted_at__isnull=False) | Q(first_accepted_at__isnull=False)


def ever_accepted(alert: Alert) -> bool:
    return alert.accepted_at is not None or alert.first_accepted_at is not None


def accepted_alert(user, kind: str, alert_id) -> Alert:
    """The user's own alert that they accepted at some point (ever_accepted). For the welfare form,
    anyone who is not a firefighter is told "not found" too: whether a check-in exists is itself
    private."""
    if kind == RecordKind.WELFARE and not _is_firefighter(user):
        raise NotFound(f"You have no alert {alert_id}.")
    alert = dispatch_access.access_alert_for_responder(user, alert_id)
    if not ever_accepted(alert):
        raise NotFound(f"You have no alert {alert_id} that you accepted.")
    return alert


def is_crew_lead(responder: Responder) -> bool:
    return CREW_LEAD_SKILL in (responder.skills or [])


def attended(alert: Alert, logged_on_scene: set[int]) -> bool:
    """Was on scene, whatever the alert's state now: an on-scene time (the board's and the app's
    "attended": backend/dispatch/coverage.py, backend/dispatch/payloads.py crew_member), events
    logged on scene by their phone (`logged_on_scene`: alert ids), as attendance_prefill has it, or
    their attendance form says so (someone busy on scene who pressed nothing: the reports count
    them as attending too)."""
    attendance = getattr(alert, "attendance", None)
    return alert.on_scene_at is not None or alert.pk in logged_on_scene or bool(attendance and attendance.attended)


# How an alert that was accepted can end with its firefighter never setting off: a withdrawal
# ("Can't attend after all"), a stand-down (by control, or the incident closed), a cancellation.
ENDED_UNLESS_GOING = (AlertState.DECLINED, AlertState.STOOD_DOWN, AlertState.CANCELLED)


def never_set_off(alert: Alert, logged_on_scene: set[int]) -> bool:
    """Accepted, and the alert ended before they set off: withdrew ("Can't attend after all"),
    stood down, or the call cancelled or closed, with no en-route time and nothing saying they were
    on scene (attended). They did not go, so they owe neither an attendance form nor a welfare
    check-in: the forms list says "not needed" and home does not count them (`own_forms_expected`
    in GET records/). They may still file either, as anyone who accepted may (found by the ninth
    trial of the product for a withdrawal: home asked for two forms; by a later browser trial for
    a stand-down or a cancel before setting off). One who set off (an en-route time) still owes
    them, however the call ended for them: they were mobile. Also one who set off, was stood down
    and was alerted again (which clears en_route_at: first_en_route_at is kept)."""
    return alert.state in ENDED_UNLESS_GOING and not ever_set_off(alert) and not attended(alert, logged_on_scene)


def ever_set_off(alert: Alert) -> bool:
    """Set off at some point (a re-alert clears en_route_at, not first_en_route_at: actions._ask_afresh)."""
    return alert.en_route_at is not None or alert.first_en_route_at is not None


@dataclass(frozen=True)
class OutcomeDuty:
    """Who of a crew fills in its outcome form. `expected`: someone of the crew attended, so the
    crew owes the form. `writers`: the alerts of those who may submit it: the crew leads who
    attended, else the first of the crew to arrive. Found by a trial of the product: the only crew
    lead who accepted never got there, the one who did was told the lead fills it in, and the
    incident had no outcome record. When nobody of the crew is known to have attended nothing is
    owed, but the crew lead may still file it (a crew whose phones recorded nothing of being there)."""

    expected: bool
    writers: tuple[Alert, ...]

    def falls_to(self, alert: Alert) -> bool:
        return any(writer.pk == alert.pk for writer in self.writers)

    @property
    def names(self) -> list[str]:
        return [writer.responder.display_name for writer in self.writers]

    def refusal(self) -> str:
        """Why someone else may not submit it. No names: a refusal holds no data (the form, which
        a crew member may read, names who submits it)."""
        if self.expected:
            return (
                "Your crew's outcome form is submitted by the crew lead who attended, "
                "else by the first of your crew to arrive."
            )
        if self.writers:
            return "Nobody of your crew is recorded as attending: only your crew lead may submit its outcome form."
        return "Nobody of your crew is recorded as attending, so your crew owes no outcome form."


def outcome_duties(alerts) -> dict[tuple[int, int], OutcomeDuty]:
    """The outcome duty of the crews of these alerts, by (incident, station), in one query."""
    crews = {(alert.incident_id, alert.station_id) for alert in alerts}
    if not crews:
        return {}
    by_crew = _members_by_crew(
        Alert.objects.filter(
            incident_id__in={incident for incident, _ in crews}, station_id__in={station for _, station in crews}
        )
    )
    return {crew: _duty_of(by_crew.get(crew, [])) for crew in crews}


def outcome_duties_of_crews(alerts: QuerySet) -> dict[tuple[int, int], OutcomeDuty]:
    """The outcome duty of every crew with an accepted alert among `alerts`, in one query. Filter
    `alerts` only by what a whole crew shares (its incident, its station, its outcome form), so
    that no crew is judged on part of its members."""
    return {crew: _duty_of(members) for crew, members in _members_by_crew(alerts).items()}


def _members_by_crew(alerts: QuerySet) -> dict[tuple[int, int], list[Alert]]:
    members = (
        alerts.filter(EVER_ACCEPTED)
        .select_related("responder__user", "attendance")
        .annotate(first_logged_at=Min("onscene_events__occurred_at"))
        .order_by("pk")
    )
    by_crew = defaultdict(list)
    for member in members:
        by_crew[(member.incident_id, member.station_id)].append(member)
    return by_crew


def outcome_duty(alert: Alert) -> OutcomeDuty:
    return outcome_duties([alert])[(alert.incident_id, alert.station_id)]


def require_outcome_writer(alert: Alert) -> None:
    duty = outcome_duty(alert)
    if not duty.falls_to(alert):
        raise NotAllowed(duty.refusal())


@dataclass(frozen=True)
class OwedOutcome:
    """A crew's outcome form owed and not filed: the incident, the crew's station, who owes it."""

    incident: Incident
    station: Station
    owed_by: list[str]

    @property
    def ended_at(self) -> datetime.datetime | None:
        return self.incident.closed_at or self.incident.cancelled_at


def outcomes_owed_for_coordinator(user, *, since, until, station=None) -> list[OwedOutcome]:
    """The crews' outcome forms owed (outcome_duty) and not filed, of the incidents created from
    `since` to before `until` that have ended (closed or cancelled), the longest ended first. The
    outcome figures and the registry count only incidents with an outcome form, so a form nobody
    files silently drops its incident out of them (found by a trial). For those who may see the
    reports. Incidents past the retention cut-off are left out: their records are pseudonymised,
    and naming who was there would link people to them again. One query, however many crews."""
    dispatch_access.require_permission(user, REPORTS_PERMISSION, "see the scheme's reports")
    cutoff = timezone.now() - datetime.timedelta(days=settings.RECORDS_RETENTION_DAYS)
    filed = Outcome.objects.filter(incident_id=OuterRef("incident_id"), station_id=OuterRef("station_id"))
    crews = Alert.objects.filter(
        incident__status__in=(IncidentStatus.CLOSED, IncidentStatus.CANCELLED),
        incident__created_at__gte=max(since, cutoff),
        incident__created_at__lt=until,
    ).exclude(Exists(filed))
    if station is not None:
        crews = crews.filter(station=station)
    duties = outcome_duties_of_crews(crews.select_related("incident", "station"))
    owed = [
        OwedOutcome(duty.writers[0].incident, duty.writers[0].station, duty.names)
        for duty in duties.values()
        if duty.expected
    ]
    return sorted(
        owed, key=lambda item: (item.ended_at or item.incident.created_at, item.incident.pk, item.station.name)
    )


_NEVER = datetime.datetime.max.replace(tzinfo=datetime.UTC)


def _duty_of(crew: list[Alert]) -> OutcomeDuty:
    logged_on_scene = {member.pk for member in crew if member.first_logged_at is not None}
    attendees = sorted(
        (member for member in crew if attended(member, logged_on_scene)),
        key=lambda member: (_arrived_at(member) or _NEVER, member.pk),
    )
    if attendees:
        leads = [member for member in attendees if is_crew_lead(member.responder)]
        return OutcomeDuty(expected=True, writers=tuple(leads or attendees[:1]))
    return OutcomeDuty(expected=False, writers=tuple(member for member in crew if is_crew_lead(member.responder)))


def _arrived_at(member: Alert):
    """The earliest time the crew member is known to have been on scene, or None."""
    attendance = getattr(member, "attendance", None)
    form_time = attendance.on_scene_at if attendance and attendance.attended else None
    times = [time for time in (member.on_scene_at, member.first_logged_at, form_time) if time is not None]
    return min(times, default=None)


def record_of_alert(kind: str, alert: Alert, *, for_update: bool = False):
    """The record this alert's form fills in, or None: the firefighter's own attendance or
    check-in, or their crew's outcome."""
    queryset = MODELS[kind].objects.all()
    if for_update:
        queryset = queryset.select_for_update()
    if kind == RecordKind.OUTCOME:
        return queryset.filter(incident_id=alert.incident_id, station_id=alert.station_id).first()
    return queryset.filter(alert=alert).first()


def crew_ids(incident_id: int, station_id: int) -> set[int]:
    """Who can be named as the crew of an outcome: the responders alerted to the incident as
    members of the station (the station of the time: Alert.station)."""
    return set(
        Alert.objects.filter(incident_id=incident_id, station_id=station_id).values_list("responder_id", flat=True)
    )


def record_for_coordinator(user, kind: str, record_id, *, for_update: bool = False):
    """An attendance or outcome record, for a coordinator who may amend records. Welfare check-ins
    are never amended by coordinators: to them the kind does not exist."""
    dispatch_access.require_permission(user, AMEND_PERMISSION, "amend records")
    if kind not in (RecordKind.ATTENDANCE, RecordKind.OUTCOME):
        raise NotFound(f"There is no {kind} record {record_id}.")
    queryset = MODELS[kind].objects.all()
    if for_update:
        queryset = queryset.select_for_update(of=("self",))
    if kind == RecordKind.ATTENDANCE:
        queryset = queryset.select_related("alert__incident")
    else:
        queryset = queryset.select_related("incident")
    try:
        return queryset.get(pk=record_id)
    except (MODELS[kind].DoesNotExist, ValueError, TypeError):
        raise NotFound(f"There is no {kind} record {record_id}.") from None


def may_read_welfare(user) -> bool:
    """Welfare leads only (their group, so not every superuser), besides each check-in's author."""
    return is_welfare_lead(user)


def welfare_check_ins_for_lead(user) -> QuerySet:
    """Every check-in, newest first, for a welfare lead; to anyone else the list does not exist."""
    if not may_read_welfare(user):
        raise NotFound("Not found.")
    return WelfareCheckIn.objects.select_related(
        "alert__incident", "alert__responder__user", "alert__responder__station"
    )


def my_accepted_alerts(user, *, since) -> QuerySet:
    """The firefighter's alerts they accepted at some point (EVER_ACCEPTED) first alerted since
    `since`, newest first, each with `logged_on_scene`: their phone logged events on scene
    (attended, never_set_off)."""
    return (
        dispatch_access.alerts_for_responder(user)
        .filter(EVER_ACCEPTED, alerted_at__gte=since)
        .select_related("attendance", "welfare_check_in")
        .annotate(logged_on_scene=Exists(OnSceneEvent.objects.filter(alert_id=OuterRef("pk"))))
        .order_by("-alerted_at", "-pk")
    )


def logged_on_scene(alert: Alert) -> set[int]:
    """{alert.pk} if its phone logged events on scene, else empty: as `attended` takes it, for one
    alert (read from my_accepted_alerts' annotation where there is one, else asked)."""
    logged = getattr(alert, "logged_on_scene", None)
    if logged is None:
        logged = OnSceneEvent.objects.filter(alert_id=alert.pk).exists()
    return {alert.pk} if logged else set()


def _is_firefighter(user) -> bool:
    return bool(
        user and user.is_authenticated and user.is_active and Responder.objects.filter(user_id=user.pk).exists()
    )
