"""Permission-checked lookups of after-call records. No endpoint, admin page or action loads a
record without going through one of these.

A firefighter's forms hang off their own alert, and only one they accepted: anyone else's alert,
or one they never accepted, is "not found". The outcome form belongs to the crew (the incident and
the station the firefighter was alerted as a member of): every crew member who accepted may read
it, only the crew lead writes it. A welfare check-in is its author's and the welfare leads': to
anyone else it does not exist.
"""

from django.db.models import QuerySet

from backend.accounts.models import Responder
from backend.dispatch import access as dispatch_access
from backend.dispatch.models import Alert
from backend.errors import NotAllowed, NotFound
from backend.records.models import Attendance, Outcome, RecordKind, WelfareCheckIn
from backend.roles import is_welfare_lead

CREW_LEAD_SKILL = "crew_lead"
AMEND_PERMISSION = "records.amend_record"

MODELS = {RecordKind.ATTENDANCE: Attendance, RecordKind.OUTCOME: Outcome, RecordKind.WELFARE: WelfareCheckIn}


def accepted_alert(user, kind: str, alert_id) -> Alert:
    """The user's own alert that they accepted at some point. For the welfare form, anyone who is
    not a firefighter is told "not found" too: whether a check-in exists is itself private."""
    if kind == RecordKind.WELFARE and not _is_firefighter(user):
        raise NotFound(f"You have no alert {alert_id}.")
    alert = dispatch_access.access_alert_for_responder(user, alert_id)
    if alert.accepted_at is None:
        raise NotFound(f"You have no alert {alert_id} that you accepted.")
    return alert


def is_crew_lead(responder: Responder) -> bool:
    return CREW_LEAD_SKILL in (responder.skills or [])


def require_crew_lead(alert: Alert) -> None:
    if not is_crew_lead(alert.responder):
        raise NotAllowed("Only the crew lead submits the outcome form.")


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
    """The firefighter's alerts they accepted since `since`, newest first."""
    return (
        dispatch_access.alerts_for_responder(user)
        .filter(accepted_at__isnull=False, alerted_at__gte=since)
        .select_related("attendance", "welfare_check_in")
        .order_by("-alerted_at", "-pk")
    )


def _is_firefighter(user) -> bool:
    return bool(
        user and user.is_authenticated and user.is_active and Responder.objects.filter(user_id=user.pk).exists()
    )
