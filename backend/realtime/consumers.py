"""The two sockets: a firefighter's own events, and the coordinators' live board.

Consumers are thin: they authenticate, replay, forward frames from the channel layer, and turn the
few frames a client may send into calls to actions. Frame formats and close codes:
docs/events.md.
"""

import json
import logging
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from backend.accounts.models import Responder
from backend.dispatch import actions, payloads
from backend.dispatch.models import COMMITTED_STATES, Alert, Incident, IncidentStatus
from backend.errors import ActionError
from backend.realtime import events
from backend.realtime.models import ResponderEvent

logger = logging.getLogger(__name__)


class CloseCode:
    NOT_LOGGED_IN = 4401
    NOT_ALLOWED = 4403
    BAD_REQUEST = 4400
    UNSUPPORTED_DATA = 1003  # binary frames
    INVALID_PAYLOAD = 1007  # not JSON, or not a JSON object
    TOO_BIG = 1009


class _EventSocket(AsyncWebsocketConsumer):
    """What both sockets share: closing with a reason, size and format checks, ping."""

    group: str

    async def refuse(self, code: int) -> None:
        # Accept first: a close before accepting is an HTTP 403 and the client never sees the code.
        await self.accept()
        await self.close(code=code)

    async def join(self, group: str) -> None:
        self.group = group
        await self.channel_layer.group_add(group, self.channel_name)

    async def disconnect(self, code):
        group = getattr(self, "group", None)
        if group:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def send_frame(self, frame: dict) -> None:
        await self.send(text_data=json.dumps(frame, separators=(",", ":")))

    async def send_error(self, code: str, message: str) -> None:
        await self.send_frame(events.envelope(type="error", data={"code": code, "message": message}))

    async def receive(self, text_data=None, bytes_data=None):
        if bytes_data is not None:
            await self.close(code=CloseCode.UNSUPPORTED_DATA)
            return
        if len(text_data) > settings.WEBSOCKET_MAX_MESSAGE_BYTES or (
            len(text_data.encode("utf-8")) > settings.WEBSOCKET_MAX_MESSAGE_BYTES
        ):
            await self.close(code=CloseCode.TOO_BIG)
            return
        try:
            frame = json.loads(text_data)
        except ValueError:
            await self.close(code=CloseCode.INVALID_PAYLOAD)
            return
        if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
            await self.close(code=CloseCode.INVALID_PAYLOAD)
            return
        if frame["type"] == "ping":
            await self.send_frame(events.envelope(type="pong", data={}))
            return
        await self.handle_frame(frame)

    async def handle_frame(self, frame: dict) -> None:
        # Unknown types get an error but keep the socket: a newer app may send what we don't know.
        await self.send_error("unknown_type", f"Frames of type {frame['type'][:40]!r} are not accepted here.")

    async def deliver(self, message):
        await self.send_frame(message["frame"])


class ResponderConsumer(_EventSocket):
    """/ws/responder/?last_event_id=N: a firefighter's alerts, crew updates and cancellations.

    Joins the responder's group before reading the backlog, so nothing committed in between is
    missed; anything that arrives both ways is sent once (by id)."""

    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.refuse(CloseCode.NOT_LOGGED_IN)
            return
        self.responder_id = await _responder_id(user)
        if self.responder_id is None:
            await self.refuse(CloseCode.NOT_ALLOWED)
            return
        last_event_id = _last_event_id(self.scope)
        if last_event_id is False:
            await self.refuse(CloseCode.BAD_REQUEST)
            return
        await self.join(events.responder_group(self.responder_id))
        await self.accept()
        await self._replay_after(last_event_id)

    async def _replay_after(self, last_event_id: int | None) -> None:
        backlog, newest_id, truncated = await _backlog(self.responder_id, last_event_id)
        # Live frames up to here were replayed or are already known to the client. Not an id beyond
        # the newest: that one was never given out, and trusting it would drop every live event.
        self.client_had_up_to = newest_id if last_event_id is None else min(last_event_id, newest_id)
        self.replayed_ids = set()
        for event in backlog:
            await self.send_frame(events.stored_envelope(event))
            self.replayed_ids.add(event.pk)
        await self.send_frame(
            events.envelope(
                type="sync.ready",
                data={"replayed": len(backlog), "last_event_id": newest_id, "complete": not truncated},
            )
        )

    async def deliver(self, message):
        event_id = message["frame"].get("id")
        if event_id is not None and (event_id <= (self.client_had_up_to or 0) or event_id in self.replayed_ids):
            return
        await self.send_frame(message["frame"])

    async def handle_frame(self, frame):
        if frame["type"] != "alert.ack":
            await super().handle_frame(frame)
            return
        alert_id = frame.get("alert_id")
        if not isinstance(alert_id, int) or isinstance(alert_id, bool):
            await self.send_error("invalid", "alert.ack needs an integer alert_id.")
            return
        try:
            await _acknowledge(self.scope["user"], alert_id)
        except ActionError as error:
            await self.send_error(error.code, error.message)
            return
        await self.send_frame(events.envelope(type="alert.ack.ok", data={"alert_id": alert_id}))


class CoordinatorConsumer(_EventSocket):
    """/ws/coordinator/: a snapshot of every open incident and its alerts, then live changes."""

    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.refuse(CloseCode.NOT_LOGGED_IN)
            return
        if not await database_sync_to_async(user.has_perm)("accounts.view_board"):
            await self.refuse(CloseCode.NOT_ALLOWED)
            return
        await self.join(events.BOARD_GROUP)
        await self.accept()
        await self.send_frame(events.envelope(type="board.snapshot", data=await _board_snapshot()))


def _last_event_id(scope) -> int | bool | None:
    """The id the client last saw; None if it sent none; False if what it sent is not an id."""
    values = parse_qs(scope.get("query_string", b"").decode("latin1")).get("last_event_id")
    if not values:
        return None
    try:
        value = int(values[0])
    except ValueError:
        return False
    return value if value >= 0 else False


@database_sync_to_async
def _responder_id(user) -> int | None:
    return Responder.objects.filter(user=user, user__is_active=True).values_list("pk", flat=True).first()


@database_sync_to_async
def _backlog(responder_id: int, last_event_id: int | None):
    """Events after the client's last id, oldest first, at most the replay limit. A client with no
    id is new: it loads state over the API and needs no history. An id beyond the newest was not
    this responder's (another account's on a shared phone, or from before a database restore), so
    the client's place is unknown: it must reload, as when it missed more than the limit."""
    mine = ResponderEvent.objects.filter(responder_id=responder_id)
    newest_id = mine.order_by("-id").values_list("id", flat=True).first() or 0
    if last_event_id is None:
        return [], newest_id, False
    if last_event_id > newest_id:
        return [], newest_id, True
    limit = settings.WEBSOCKET_REPLAY_LIMIT
    backlog = list(mine.filter(id__gt=last_event_id).order_by("id")[: limit + 1])
    truncated = len(backlog) > limit
    return backlog[:limit], newest_id, truncated


@database_sync_to_async
def _acknowledge(user, alert_id: int):
    return actions.respond_to_alert(actor=user, alert_id=alert_id, response="received")


@database_sync_to_async
def _board_snapshot() -> dict:
    """Two queries whatever the number of open incidents."""
    incidents = list(Incident.objects.filter(status=IncidentStatus.OPEN).order_by("-created_at")[:200])
    alerts = list(
        Alert.objects.filter(incident__in=incidents)
        .select_related("incident", "responder__user", "responder__station")
        .order_by("incident_id", "rank")
    )
    committed: dict[int, int] = {}
    for alert in alerts:
        if alert.state in COMMITTED_STATES:
            committed[alert.incident_id] = committed.get(alert.incident_id, 0) + 1
    return {
        "incidents": [
            payloads.board_incident(incident, accepted_count=committed.get(incident.pk, 0)) for incident in incidents
        ],
        "alerts": [payloads.board_alert(alert) for alert in alerts],
    }
