"""Permission-checked lookups. No endpoint, consumer or action loads an incident or an alert by id
without going through one of these.

A firefighter asking for something that is not theirs gets "not found", never "forbidden": an id
that exists must not be distinguishable from one that does not.
"""

from backend.accounts.access import responder_of
from backend.accounts.models import Responder
from backend.dispatch.models import Alert, CrewMessage, Incident
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


def access_own_alert_in_one_query(user, alert_id, queryset=None) -> Alert:
    """The firefighter's own alert, as `access_alert_for_responder` finds it, in one query: the
    alert joined to its responder's user rather than the responder looked up first. For a call that
    every responder going makes every few seconds (positions), where each query is paid fifty times
    a second. `queryset` adds joins or annotations (never a filter that widens it). Only a miss
    looks up the profile, so that someone with none is still "not allowed" and another's alert
    "not found", as there."""
    if not (user and user.is_authenticated and user.is_active):
        responder_of(user)  # raises NotAllowed
    queryset = Alert.objects.all() if queryset is None else queryset
    try:
        return queryset.get(pk=alert_id, responder__user_id=user.pk)
    except (Alert.DoesNotExist, ValueError, TypeError):
        responder_of(user)
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
    try:
        return access_incident_for_responder(user, incident_id)
    except NotAllowed:
        # Neither (the CAD, a user without a role): the rule, not "only firefighters".
        raise NotAllowed("Only coordinators and the firefighters alerted to this incident can see this.") from None


def access_messages_of_incident(user, incident_id):
    """An incident's messages to its crews (backend/dispatch/messages.py) and whose view they are
    for: a coordinator with the board sees every acknowledgement; a firefighter alerted to the
    incident (in any state) sees the messages and only their own acknowledgement, through their
    alert. Returns (incident, the firefighter's alert or None for a coordinator)."""
    if user and user.is_authenticated and user.is_active and user.has_perm("accounts.view_board"):
        incident = access_incident_for_coordinator(
            user, incident_id, permission="accounts.view_board", doing="read messages to crews"
        )
        return incident, None
    responder = responder_of(user)
    try:
        alert = Alert.objects.select_related("incident", "responder__user").get(
            incident_id=incident_id, responder=responder
        )
    except (Alert.DoesNotExist, ValueError, TypeError):
        raise NotFound(f"You have no incident {incident_id}.") from None
    return alert.incident, alert


def access_message_for_responder(user, message_id, *, lock_responder: bool = False):
    """A message to an incident the firefighter was alerted to, and their alert on it. With
    `lock_responder` the responder's row is locked first (two acknowledgements at once queue), the
    order every action takes rows in after the incident's (incident, responder, alert), so that an
    acknowledgement and an answer at once never deadlock. Anyone else: not found."""
    responder = responder_of(user)
    try:
        message = CrewMessage.objects.select_related("incident").get(pk=message_id)
        if lock_responder:
            Responder.objects.select_for_update().filter(pk=responder.pk).exists()
        alert = Alert.objects.select_related("responder__user").get(
            incident_id=message.incident_id, responder=responder
        )
    except (CrewMessage.DoesNotExist, Alert.DoesNotExist, ValueError, TypeError):
        raise NotFound(f"You have no message {message_id}.") from None
    return message, alert
