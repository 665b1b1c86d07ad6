"""State changes of responders' own settings, and logging in and out of the app."""

from django.contrib import auth
from django.db import transaction
from django.utils import timezone

from backend.dispatch.access import responder_of
from backend.errors import InvalidInput


class WrongCredentials(InvalidInput):
    code = "invalid_credentials"


def log_in(*, request, username: str, password: str):
    """Start a session for whoever these credentials belong to, as Django's login view does (a new
    session key, a new CSRF token). Says nothing of which part was wrong, nor whether the account
    exists or is deactivated: every failure is the same error."""
    user = auth.authenticate(request, username=username, password=password)
    if user is None or not user.is_active:
        raise WrongCredentials("Wrong username or password.")
    auth.login(request, user)
    return user


def log_out(*, request) -> None:
    """End the session, if there is one. Logging out twice is not an error."""
    auth.logout(request)


def set_availability(*, actor, on_call: bool) -> None:
    """A firefighter books on or off call. Only on-call responders are alerted."""
    with transaction.atomic():
        responder = responder_of(actor)
        if responder.on_call != on_call:
            responder.on_call = on_call
            responder.on_call_changed_at = timezone.now()
            responder.save(update_fields=["on_call", "on_call_changed_at"])


def profile_of(user) -> dict:
    """Who the logged-in user is and what they may do; the responder part only for firefighters."""
    profile = {
        "username": user.username,
        "name": user.get_full_name() or user.username,
        "roles": roles_of(user),
        "responder": None,
    }
    responder = getattr(user, "responder", None)
    if responder is not None:
        profile["responder"] = {
            "id": responder.pk,
            "station": {"id": responder.station_id, "name": responder.station.name},
            "on_call": responder.on_call,
            "skills": responder.skills,
            "training_in_date": responder.training_in_date(),
            "life_support_training_expires": _iso(responder.life_support_training_expires),
            "defibrillator_training_expires": _iso(responder.defibrillator_training_expires),
        }
    return profile


def roles_of(user) -> list[str]:
    roles = []
    if hasattr(user, "responder"):
        roles.append("firefighter")
    if user.has_perm("accounts.view_board"):
        roles.append("coordinator")
    if user.has_perm("dispatch.add_incident") and not user.is_staff:
        roles.append("dispatch_system")
    return roles


def _iso(value):
    return value.isoformat() if value else None
