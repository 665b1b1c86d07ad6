"""How long a login lasts, and ending logins.

Firefighters log in on their own phones and must still be logged in when an alert comes: their
session lasts settings.SESSION_COOKIE_AGE (30 days) and slides with use. Staff (coordinators,
welfare leads) hold the admin, with health data and the power to dispatch: their session ends
ADMIN_SESSION_MAX_AGE after logging in whatever happens, and after ADMIN_SESSION_IDLE without
use. An open live board counts as use (its socket keeps the session alive: sockets.py), since a
board is watched rather than clicked.

Only our session engine is supported (settings.SESSION_ENGINE, backend/accounts/session_store.py):
a user's sessions are found by the user's id, which it keeps in an indexed column.
"""

import datetime
import time

from django.conf import settings
from django.contrib import auth
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.base import UpdateError
from django.utils import timezone

from backend import roles
from backend.accounts.session_store import SessionStore, UserSession

# When the session began (epoch seconds), and when it was last marked as used.
STARTED_AT = "coresponder_started_at"
SEEN_AT = "coresponder_seen_at"
# Marking a session as used writes it; at most this often (idle limits are far longer).
STAFF_REFRESH_SECONDS = 60
FIREFIGHTER_REFRESH_SECONDS = 3600


def start(session, user) -> None:
    """At login: a staff session ends at a fixed time, however much it is used."""
    now = time.time()
    session[STARTED_AT] = session[SEEN_AT] = now
    if roles.is_privileged(user):
        session.set_expiry(timezone.now() + datetime.timedelta(seconds=settings.ADMIN_SESSION_MAX_AGE))


def still_live(session, is_staff: bool, now: float | None = None) -> bool:
    """Whether a session that Django still holds is within our limits (Django itself drops it once
    its expiry date has passed)."""
    if not is_staff:
        return True
    now = now or time.time()
    started = session.get(STARTED_AT, 0)
    seen = session.get(SEEN_AT, started)
    return now - started < settings.ADMIN_SESSION_MAX_AGE and now - seen < settings.ADMIN_SESSION_IDLE


def mark_used(session, is_staff: bool, now: float | None = None) -> bool:
    """Note that the session is in use; True if that changed it (and it must be saved). Saving a
    firefighter's session moves its expiry date on: that is what makes it slide."""
    now = now or time.time()
    every = STAFF_REFRESH_SECONDS if is_staff else FIREFIGHTER_REFRESH_SECONDS
    if now - session.get(SEEN_AT, 0) < every:
        return False
    session[SEEN_AT] = now
    return True


class SessionLifetimeMiddleware:
    """Ends a staff session past its limits (the request goes on as anonymous: the admin asks for
    a login, the API answers 401) and marks sessions as used. After AuthenticationMiddleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if auth.SESSION_KEY in request.session and request.user.is_authenticated:
            is_staff = roles.is_privileged(request.user)
            if not still_live(request.session, is_staff):
                auth.logout(request)
            else:
                mark_used(request.session, is_staff)
        return self.get_response(request)


def session_is_live(session_key: str | None, user_id: int) -> bool:
    """For a socket opened with this session: is it still this active user's, within its limits?
    Marks it as used, as a request would."""
    if not session_key:
        return False
    store = SessionStore(session_key)
    # Empty when the session is gone (logged out, revoked) or past its expiry date.
    if str(store.get(auth.SESSION_KEY)) != str(user_id):
        return False
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return False
    is_staff = roles.is_privileged(user)
    if not still_live(store, is_staff):
        return False
    if mark_used(store, is_staff):
        try:
            store.save()
        except UpdateError:  # deleted since it was read
            return False
    return True


def _unexpired_sessions_of(user_ids):
    # By the sessions' user id index: no session is read apart from these users' own, nor decoded.
    return UserSession.objects.filter(user_id__in=list(user_ids), expire_date__gt=timezone.now())


def session_keys_of(user_ids) -> list[str]:
    """The keys of the unexpired sessions of these users (one indexed query)."""
    return list(_unexpired_sessions_of(user_ids).values_list("session_key", flat=True))


def has_live_session(user_id: int) -> bool:
    """Whether this user still holds an unexpired session: another phone of theirs still logged in.
    Asked when a firefighter logs out (backend/dispatch/presence.py); one indexed query, however
    many others are logged in (issue 17: 30,000 phones)."""
    return _unexpired_sessions_of([user_id]).exists()
