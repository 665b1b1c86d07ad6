"""Ending a user's open sockets when their login ends.

Every socket joins two channel-layer groups: one for its user and one for the session it was
opened with. Logging out closes the sockets of that session (the user's other phones stay
connected); revoking a user's sessions or deactivating the user closes all of theirs. The close
code is 4401 (log in again), as for a socket opened without a login: docs/events.md.

A session can also end while nobody acts (its expiry date passes, or a staff session idles): each
socket re-checks its session when the client sends a frame (the apps ping every 25 s), at most
every RECHECK_SECONDS for staff (whose sessions idle out in minutes) and every
FIREFIGHTER_RECHECK_SECONDS for firefighters (whose sessions last 30 days and slide with use, and
whose logouts, revocations and deactivations close their sockets at once through the groups below).
A check is a database call on the sockets' threads: at 10,000 phones a check a minute each was
some 170 a second, and held up connects and acknowledgements (docs/scaling.md).
"""

import asyncio
import hashlib
import time

from channels import auth as channels_auth
from channels.sessions import CookieMiddleware, SessionMiddleware

from backend.accounts import sessions
from backend.broadcast import send_on_commit
from backend.database_threads import socket_database_sync_to_async

RECHECK_SECONDS = 60
FIREFIGHTER_RECHECK_SECONDS = 600
# The channel-layer message type; consumers handle it as `session_ended`.
SESSION_ENDED = {"type": "session.ended"}


def _clock() -> float:
    """The clock of the session checks (a function of its own, so a test can move it alone)."""
    return time.monotonic()


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def session_group(session_key: str) -> str:
    # A digest: the channel layer (Redis) is no place for a session key.
    return "session." + hashlib.sha256(session_key.encode()).hexdigest()[:40]


def close_sockets_of_users(user_ids) -> None:
    """After the current transaction commits, close every socket of these users."""
    send_on_commit([(user_group(user_id), SESSION_ENDED) for user_id in user_ids])


def close_sockets_of_session(session_key: str | None) -> None:
    if session_key:
        send_on_commit([(session_group(session_key), SESSION_ENDED)])


class SessionBoundSocket:
    """For consumers (AsyncWebsocketConsumer) of logged-in users: joins the user's and the
    session's groups, and tells whether the session is still live. The consumer closes with 4401
    on `session_ended` and when `session_still_live()` is False."""

    async def bind_to_session(self) -> None:
        self.session_groups = [user_group(self.scope["user"].pk)]
        session_key = getattr(self.scope.get("session"), "session_key", None)
        if session_key:
            self.session_groups.append(session_group(session_key))
        # At once: each is a Redis round trip, and a reconnecting phone waits for them.
        await asyncio.gather(*(self.channel_layer.group_add(group, self.channel_name) for group in self.session_groups))
        self.session_checked_at = _clock()

    async def unbind_from_session(self) -> None:
        for group in getattr(self, "session_groups", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    def session_recheck_seconds(self) -> float:
        """How long a session check holds (the module's figures, read now: tests change them)."""
        return RECHECK_SECONDS

    async def session_still_live(self) -> bool:
        if not hasattr(self, "session_checked_at"):
            return True  # not bound: a socket that was refused
        if _clock() - self.session_checked_at < self.session_recheck_seconds():
            return True
        self.session_checked_at = _clock()
        session_key = getattr(self.scope.get("session"), "session_key", None)
        return await socket_database_sync_to_async(sessions.session_is_live)(session_key, self.scope["user"].pk)


class _UserLookedUpByTheConsumer(channels_auth.AuthMiddleware):
    """channels' AuthMiddleware, except that it does not look the user up before the consumer
    runs: the consumer accepts the handshake first and then calls `authenticate(scope)`. Looked up
    here, the session and user queries of a reconnect storm queued in front of the handshakes, and
    daphne drops any handshake not accepted within 5 s (--websocket_connect_timeout)."""

    async def resolve_scope(self, scope):
        pass  # scope["user"] stays unresolved (reading it raises) until authenticate(scope)


def SocketAuthMiddlewareStack(inner):  # named as channels' AuthMiddlewareStack
    return CookieMiddleware(SessionMiddleware(_UserLookedUpByTheConsumer(inner)))


def user_of_session(scope):
    """The socket's user (AnonymousUser if its session has none): channels' own look-up (session,
    user, the session's auth hash), synchronous, for a consumer's database call."""
    return channels_auth.get_user.func(scope)
