"""State changes of responders' own settings, and logging in and out of the app."""

from django.conf import settings
from django.contrib import auth
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from knox.models import AuthToken
from webpush.models import SubscriptionInfo

from backend.accounts import sessions, sockets
from backend.accounts.access import responder_of
from backend.accounts.positions import forget_on_call_position
from backend.accounts.session_store import UserSession
from backend.accounts.throttling import LockedOut, lockout_message
from backend.audit import log as audit_log
from backend.audit.models import AuditAction
from backend.errors import InvalidInput, NotAllowed


class WrongCredentials(InvalidInput):
    code = "invalid_credentials"


def log_in(*, request, username: str, password: str):
    """Start a session for whoever these credentials belong to, as Django's login view does (a new
    session key, a new CSRF token). Says nothing of which part was wrong, nor whether the account
    exists or is deactivated: every failure is the same error."""
    user = auth.authenticate(request, username=username, password=password)
    if getattr(request, "axes_locked_out", False):  # set by django-axes (settings.AXES_*)
        raise LockedOut(lockout_message(request, username))
    if user is None or not user.is_active:
        raise WrongCredentials("Wrong username or password.")
    auth.login(request, user)
    return user


def log_out(*, request, push_endpoint: str | None = None):
    """End the session, if there is one, and return whose it was (None if nobody was logged in).
    Logging out twice is not an error. The session's sockets close (on_logged_out), the user's other
    devices stay logged in. Audited (`log_out` of the user, with how many push subscriptions went):
    found by a trial, a firefighter who logged out mid-job left no trace of it. A responder's
    `logged_out_at`, which the board shows, is set by the caller (backend/dispatch/presence.py).

    `push_endpoint` is this device's push subscription, as the app sends it: it is removed with the
    session, so the phone stops getting this person's alerts (a phone handed back or shared). Only a
    subscription of the user logging out is removed; anyone else's, or one unknown, is left alone
    without a word. A session that expires removes nothing: alerts must still arrive."""
    user = auth.get_user(request)  # the session's user (the API does not authenticate)
    if not user.is_authenticated:
        user = None
    with transaction.atomic():
        removed = 0
        if user is not None and push_endpoint:
            removed = _remove_push_subscriptions([user.pk], endpoint=push_endpoint)[user.pk]
        if user is not None:
            audit_log.record(
                user,
                AuditAction.LOG_OUT,
                "user",
                user.pk,
                request=request,
                detail={"push_subscriptions_removed": removed},
            )
        auth.logout(request)
    return user


def sign_out_everywhere(*, actor, user_ids) -> int:
    """A coordinator ends every login of these users (a lost phone, someone leaving): their
    sessions and API tokens are deleted, their open sockets closed, and their push subscriptions
    removed, so a lost phone gets no more alerts; each of their phones still in their hands
    subscribes again when they log in to the app. Returns how many sessions ended. The boards are
    told by the caller (backend/dispatch/presence.py), as for a logout."""
    with transaction.atomic():
        users = list(get_user_model().objects.filter(pk__in=user_ids))
        for user in users:
            if not _may_sign_out(actor, user):
                raise NotAllowed(f"You are not allowed to sign out {user.get_username()}.")
        ids = [user.pk for user in users]
        keys = sessions.session_keys_of(ids)
        UserSession.objects.filter(session_key__in=keys).delete()
        AuthToken.objects.filter(user_id__in=ids).delete()
        removed = _remove_push_subscriptions(ids)
        audit_log.record_many(
            actor,
            AuditAction.CHANGE,
            [
                ("user", user_id, None, {"signed_out_everywhere": True, "push_subscriptions_removed": removed[user_id]})
                for user_id in ids
            ],
        )
        sockets.close_sockets_of_users(ids)
    return len(keys)


def _remove_push_subscriptions(user_ids, *, endpoint: str | None = None) -> dict[int, int]:
    """Delete these users' push subscriptions (only the one at `endpoint`, if given); how many per
    user. They are django-webpush's rows, bound to their user by its PushInformation (the delivery
    app's PushDevice goes with them, and any push still waiting for it is not sent)."""
    subscriptions = SubscriptionInfo.objects.filter(webpush_info__user_id__in=user_ids)
    if endpoint is not None:
        subscriptions = subscriptions.filter(endpoint=endpoint)
    owners = dict(subscriptions.values_list("pk", "webpush_info__user_id"))
    SubscriptionInfo.objects.filter(pk__in=owners).delete()
    removed = dict.fromkeys(user_ids, 0)
    for user_id in owners.values():
        removed[user_id] += 1
    return removed


def _may_sign_out(actor, user) -> bool:
    if actor.has_perm("auth.change_user"):
        return True
    return hasattr(user, "responder") and actor.has_perm("accounts.change_responder")


def on_logged_in(sender, request, user, **kwargs) -> None:
    """Signal receiver (user_logged_in), for every way of logging in."""
    if request is not None:
        sessions.start(request.session, user)


def on_logged_out(sender, request, user, **kwargs) -> None:
    """Signal receiver (user_logged_out): the admin's logout, the API's, an expired staff session."""
    if request is not None:
        sockets.close_sockets_of_session(request.session.session_key)


def on_user_saved(sender, instance, **kwargs) -> None:
    """Signal receiver (post_save of the user model): a deactivated user's sockets close. Their
    sessions and tokens no longer authenticate (inactive users are refused), and stay for the record."""
    if not instance.is_active:
        sockets.close_sockets_of_users([instance.pk])


def set_availability(*, actor, on_call: bool) -> None:
    """A firefighter books on or off call. Only on-call responders are alerted."""
    with transaction.atomic():
        responder = responder_of(actor)
        if responder.on_call != on_call:
            responder.on_call = on_call
            responder.on_call_changed_at = timezone.now()
            responder.save(update_fields=["on_call", "on_call_changed_at"])
        if not on_call:
            forget_on_call_position(responder)  # off call, nobody needs to know where they are


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
            "share_position_on_call": responder.share_position_on_call,
            "skills": responder.skills,
            "training_in_date": responder.training_in_date(),
            "life_support_training_expires": _iso(responder.life_support_training_expires),
            "defibrillator_training_expires": _iso(responder.defibrillator_training_expires),
            # A fix older than this is refused (positions.check_fix): the phone drops one instead.
            "position_max_age_seconds": settings.POSITION_MAX_AGE_SECONDS,
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
