"""Permission-checked lookups. No endpoint, consumer or action loads an incident or an alert by id
without going through one of these.

A firefighter asking for something that is not theirs gets "not found", never "forbidden": an id
that exists must not be distinguishable from one that does not.
"""

from backend.accounts.access import responder_of
from backend.accounts.models import Responder
from backend.dispatch.models import Alert, Incident
from backend.errors import NotAllowed, NotFound


def require_permission(user, permission: str, doing: str) -> None:
    if not (user and user.is_authenticated and user.is_active and user.has_perm(permission)):
        raise NotAllowed(f"You are not allowed to {doing}.")


def require_firefighter_or_coordinator(user, doing: str) -> None:
    """For what every crew member and every coordinator may read (the on-scene checklist)."""
    if not (user and user.is_authenticated and user.is_active):
        raise NotAllowed(f"Log in to {doing}.")
    if not (Responder.objects.filter(user=user).exists() or user.has_perm("accounts.view_board")):
        raise NotAllowed(f"Only firefighters and coordinators can {doing}.")


def access_incident_for_coordinator(
    user, incident_id, *, permission: str, doing: str, for_update: bool = False
) -> Incident:
    require_permission(user, permission, doing)
    queryset = Incident.objects.select_for_update() if for_update else Incident.objects.all()
    try:
        return queryset.get(pk=incident_id)
    except (Incident.DoesNotExist, ValueError, TypeError):
        raise NotFound(f"There is no incident {incident_id}.") from None


def access_alert_for_responder(
    user, alert_id, *, for_update: bool = False, lock_incident: bool = False, lock_responder: bool = False
) -> Alert:
    """The firefighter's own alert. `for_update` locks its row. Before it, `lock_incident` locks
    its incident's row and `lock_responder` the responder's, always in the order incident,
    responder, alert (the coordinators' actions take incident then alerts), so that answers,
    stand-downs and an accept on two incidents at once queue rather than deadlock."""
    responder = responder_of(user)
    queryset = Alert.objects.select_related("incident", "responder__station", "responder__user")
    try:
        if lock_incident:
            # Found through the alert, in one query; only the incident's row is locked here.
            incidents = Incident.objects.select_for_update(of=("self",)).filter(
                alerts__pk=alert_id, alerts__responder=responder
            )
            if not incidents.values_list("pk", flat=True):
                raise Alert.DoesNotExist
        if lock_responder:
            Responder.objects.select_for_update().filter(pk=responder.pk).exists()
        if for_update:
            queryset = queryset.select_for_update(of=("self",))
        return queryset.get(pk=alert_id, responder=responder)
    except (Alert.DoesNotExist, ValueError, TypeError):
        raise NotFound(f"You have no alert {alert_id}.") from None


def alerts_for_responder(user):
    responder = responder_of(user)
    return Alert.objects.filter(responder=responder).select_related("incident", "responder__station", "responder__user")


def access_incident_for_responder(user, incident_id) -> Incident:
    """An incident the firefighter was alerted to, for the crew-status view."""
    responder = responder_of(user)
    try:
        # distinct: a firefighter alerted twice to the incident (a re-dispatch) is one match.
        return Incident.objects.filter(pk=incident_id, alerts__responder=responder).distinct().get()
    except (Incident.DoesNotExist, ValueError, TypeError):
        raise NotFound(f"You have no incident {incident_id}.") from None


BOARD_PERMISSION = "accounts.view_board"


def access_incident_for_board_or_crew(user, incident_id) -> Incident:
    """An incident as the coordinators' board sees it (any incident), or as a firefighter alerted
    to it does; anyone else is refused (403), and a firefighter asking for an incident they were
    not alerted to is told it does not exist (404). For what both share, such as the nearest
    defibrillators."""
    if user and user.is_authenticated and user.is_active and user.has_perm(BOARD_PERMISSION):
        try:
            return Incident.objects.get(pk=incident_id)
        except (Incident.DoesNotExist, ValueError, TypeError):
            raise NotFound(f"There is no incident {incident_id}.") from None
    return access_incident_for_responder(user, incident_id)
