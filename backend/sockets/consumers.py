"""The two sockets: a firefighter's own events, and the coordinators' live board.

Consumers are thin: they authenticate, replay, forward frames from the channel layer, and turn the
few frames a client may send into calls to actions. Frame formats and close codes:
docs/events.md.
"""

import asyncio
import json
import logging
import weakref
from urllib.parse import parse_qs

from autobahn.exception import Disconnected
from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.db import connection
from django.db.models import BigIntegerField, BooleanField, Q, Subquery, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Least

from backend import database_threads, health, strict_json
from backend.accounts import second_factor
from backend.accounts import sockets as accounts_sockets
from backend.accounts.models import Responder
from backend.accounts.sockets import SessionBoundSocket, user_of_session
from backend.audit import log as audit_log
from backend.database_threads import connect_database_sync_to_async, socket_database_sync_to_async
from backend.dispatch import actions, alarms, coverage, payloads, positions, presence
from backend.dispatch import messages as crew_messages
from backend.dispatch.models import Alert, Incident, IncidentStatus
from backend.errors import ActionError
from backend.places.payloads import defibrillators_near
from backend.realtime import events
from backend.realtime.models import ResponderEvent
from backend.realtime.pruning import replay_horizon, replay_horizon_in_query
from backend.records import notices
from backend.sockets import watch
from backend.sql_literals import Literal, SecondsAgo

logger = logging.getLogger(__name__)


class CloseCode:
    """Every code the server closes a socket with (docs/events.md). An application may only use
    1000 and 3000-4999: daphne refuses anything else (1003, 1007, 1009, ...) with an exception and
    the client saw 1011. The client's mistakes are 44xx, after the HTTP status of the same meaning."""

    NOT_LOGGED_IN = 4401
    NOT_ALLOWED = 4403
    BAD_REQUEST = 4400  # last_event_id is not a whole number
    UNSUPPORTED_DATA = 4415  # a binary frame
    INVALID_PAYLOAD = 4422  # not JSON, not a JSON object, no string `type`, nested too deeply, ...
    TOO_BIG = 4413  # over WEBSOCKET_MAX_MESSAGE_BYTES
    RESYNC = watch.RESYNC  # Redis lost this socket: reconnect now and be replayed what was missed


class _EventSocket(SessionBoundSocket, AsyncWebsocketConsumer):
    """What both sockets share: accepting, logging in, closing with a reason, size and format
    checks, ping, and closing when the login ends (backend/accounts/sockets.py)."""

    group: str
    gone = False  # the client hung up (set by disconnect)
    closed_here = False  # the server closed it (close): nothing more is sent on it

    async def connect(self):
        """Accept the handshake at once, before any database work: daphne drops a handshake not
        accepted within 5 s (--websocket_connect_timeout), and in a reconnect storm the database
        work of thousands of sockets queues. A socket that is then refused still gets its close
        code, as before (a close before accepting is an HTTP 403 and the client never sees the
        code).

        Then the rest of the connect (log-in, joining, replay or snapshot), its database calls
        taking turns on the connect threads (`_connect_slots`): one call working and one waiting at
        each thread, a connect's later call (the replay) before another's first (the log-in), so that
        each phone is replayed soon after it logs in, and the threads never wait while a connect
        joins its groups in Redis or while the event loop takes a call's answer back.

        That rest runs beside the consumer, not in it, so that the socket answers the app's `ping`
        while it waits its turn: the app gives up on a socket whose ping has no pong within 10 s
        and joins the back of the queue again, and in a reconnect storm of thousands every phone
        did so before its turn came, and none came back (bench/reconnect_storm.py). A phone that
        hangs up meanwhile ends the consumer, which cancels the rest (`disconnect`)."""
        await self.accept()
        self.starting = asyncio.create_task(self._start_in_turn())

    async def _start_in_turn(self) -> None:
        try:
            await self.start()
        except asyncio.CancelledError:
            raise
        except Exception:
            # As a connect that raised (the database down, say): closed, and the app reconnects.
            logger.exception("A socket could not be started")
            await self.close()

    async def started(self) -> bool:
        """Waits for the rest of the connect; whether the socket is logged in and joined."""
        await asyncio.shield(self.starting)
        return getattr(self, "group", None) is not None

    async def start(self) -> None:
        raise NotImplementedError

    async def log_in(self, look_up):
        """In one database call, the user and, if logged in (for staff, past the second factor),
        what `look_up(user)` returns. Returns _GONE when the socket is closed with 4401 or the
        client has gone. One call, not one per look-up: each waits its turn for a pooled
        connection, behind the HTTP requests (receipts, dispatches) that want one too."""
        async with _connect_slots().turn(begun=False):
            user, logged_in, found = await _log_in(self.scope, look_up)
        self.scope["user"]._wrapped = user
        if self.gone:
            return _GONE
        if not logged_in:
            await self.close(code=CloseCode.NOT_LOGGED_IN)
            return _GONE
        return found

    async def join(self, group: str) -> None:
        """Joins `group` and the login's groups, at once: each is a Redis round trip."""
        self.group = group
        await asyncio.gather(self.channel_layer.group_add(group, self.channel_name), self.bind_to_session())
        watch.watch(self)  # closed to resync if Redis loses the membership (backend/sockets/watch.py)

    async def disconnect(self, code):
        # The phone has gone: the rest of its connect would be work for nobody. (Cancelling is not
        # enough on its own: asgiref lets a database call that is under way finish and may then
        # swallow the cancellation, so the start also looks at `gone` after each call.)
        self.gone = True
        starting = getattr(self, "starting", None)
        if starting is not None:
            starting.cancel()
        watch.unwatch(self)
        group = getattr(self, "group", None)
        if group:
            await self.channel_layer.group_discard(group, self.channel_name)
        await self.unbind_from_session()

    async def dispatch(self, message):
        """channels' dispatch, without the hop to a thread it makes before every message (to close
        that thread's old database connections). Every database call these sockets make runs on
        the sockets' threads, which do that themselves before and after each call
        (backend/database_threads.py), so the hop closed nothing; but each message (every frame
        delivered, every ping) waited for it, one at a time through channels' single thread: a
        dispatch's twenty frames reached their sockets one hop apart (issue 17, py-spy)."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def session_ended(self, message):
        """Logged out, revoked by a coordinator, or deactivated."""
        await self.close(code=CloseCode.NOT_LOGGED_IN)

    async def close(self, code=None, reason=None):
        self.closed_here = True
        await super().close(code=code, reason=reason)

    async def send(self, text_data=None, bytes_data=None, close=False):
        """Nothing is sent on a socket that is closing: closed here, or by its client (daphne tells
        the consumer only once the connection has gone). A frame for it is dropped. Found by a
        browser trial: a logout's `session.ended` closed the phone's socket, the same logout's
        `position.cleared` (backend/dispatch/positions.py, end_sharing_logged_out) came next, and
        daphne refused to send it ("Attempt to send on a closed protocol"), which ended the
        consumer with "Exception inside application" in the server's log."""
        if self.closed_here:
            return
        try:
            await super().send(text_data=text_data, bytes_data=bytes_data, close=close)
        except Disconnected:
            self.closed_here = True

    async def send_frame(self, frame: dict) -> None:
        await self.send(text_data=json.dumps(frame, separators=(",", ":")))

    async def send_error(self, code: str, message: str) -> None:
        await self.send_frame(events.envelope(type="error", data={"code": code, "message": message}))

    async def receive(self, text_data=None, bytes_data=None):
        if not await self.session_still_live():
            await self.close(code=CloseCode.NOT_LOGGED_IN)
            return
        if bytes_data is not None:
            await self.close(code=CloseCode.UNSUPPORTED_DATA)
            return
        if len(text_data) > settings.WEBSOCKET_MAX_MESSAGE_BYTES or (
            len(text_data.encode("utf-8")) > settings.WEBSOCKET_MAX_MESSAGE_BYTES
        ):
            await self.close(code=CloseCode.TOO_BIG)
            return
        try:
            # As strict as the API: no duplicate keys, NaN, endless numbers or deep nesting.
            frame = strict_json.loads(text_data)
        except ValueError:
            await self.close(code=CloseCode.INVALID_PAYLOAD)
            return
        if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
            await self.close(code=CloseCode.INVALID_PAYLOAD)
            return
        if frame["type"] == "ping":
            await self.send_frame(events.envelope(type="pong", data={}))
            return
        if not await self.started():
            return  # refused or closed while starting: the frame has nobody to act for
        await self.handle_frame(frame)

    async def handle_frame(self, frame: dict) -> None:
        # Unknown types get an error but keep the socket: a newer app may send what we don't know.
        await self.send_error("unknown_type", f"Frames of type {frame['type'][:40]!r} are not accepted here.")

    async def deliver(self, message):
        # A live frame can come once the socket has joined its group, while the rest of its start
        # (the replay, the snapshot) is still going: it goes out after that, as before.
        if await self.started():
            await self.send(text_data=_text_of(message))


class ResponderConsumer(_EventSocket):
    """/ws/responder/?last_event_id=N: a firefighter's alerts, crew updates and cancellations.

    Joins the responder's group before reading the backlog, so nothing committed in between is
    missed; anything that arrives both ways is sent once (by id)."""

    def session_recheck_seconds(self) -> float:
        return accounts_sockets.FIREFIGHTER_RECHECK_SECONDS

    async def start(self):
        self.responder_id = await self.log_in(_responder_id)
        if self.responder_id is _GONE:
            return
        if self.responder_id is None:
            await self.close(code=CloseCode.NOT_ALLOWED)
            return
        last_event_id = _last_event_id(self.scope)
        if last_event_id is False:
            await self.close(code=CloseCode.BAD_REQUEST)
            return
        await self.join(events.responder_group(self.responder_id))
        await self._replay_after(last_event_id)

    async def _replay_after(self, last_event_id: int | None) -> None:
        async with _connect_slots().turn(begun=True):
            backlog, newest_id, truncated = await _backlog(self.responder_id, last_event_id)
        # Live frames up to the newest were replayed, or the client has them or reloads them over
        # the API. Not an id beyond the newest: that one was never given out, and trusting it would
        # drop every live event. The backlog, read after the newest id, can hold later events: their
        # live copies must not be sent again either.
        self.sent_up_to = max([newest_id, *(event.pk for event in backlog)])
        for event in backlog:
            await self.send_frame(events.stored_envelope(event))
        await self.send_frame(
            events.envelope(
                type="sync.ready",
                data={"replayed": len(backlog), "last_event_id": newest_id, "complete": not truncated},
            )
        )

    async def deliver(self, message):
        """Stored events go out in id order with no gaps. The client keeps only the highest id it
        has seen and is replayed after it, so an event that missed its live send (Redis down, its
        process killed between commit and send) or is overtaken by a later one from another
        process would otherwise be skipped for ever: it is sent from the database first."""
        if not await self.started():  # as in _EventSocket.deliver: after the replay
            return
        event_id = message["event_id"] if "text" in message else message["frame"].get("id")
        if event_id is None:
            await self.send(text_data=_text_of(message))
            return
        if event_id <= self.sent_up_to:
            return  # replayed, known to the client, or already sent to fill a gap
        if message.get("previous_id", 0) > self.sent_up_to:
            for event in await _events_between(self.responder_id, self.sent_up_to, event_id):
                await self.send_frame(events.stored_envelope(event))
        await self.send(text_data=_text_of(message))
        self.sent_up_to = event_id

    async def handle_frame(self, frame):
        if frame["type"] != "alert.ack":
            await super().handle_frame(frame)
            return
        alert_id = frame.get("alert_id")
        if not isinstance(alert_id, int) or isinstance(alert_id, bool):
            await self.send_error("invalid", "alert.ack needs an integer alert_id.")
            return
        try:
            await _acknowledge(self.scope["user"], alert_id, _client_address(self.scope))
        except ActionError as error:
            await self.send_error(error.code, error.message)
            return
        await self.send_frame(events.envelope(type="alert.ack.ok", data={"alert_id": alert_id}))


class CoordinatorConsumer(_EventSocket):
    """/ws/coordinator/: a snapshot of every open incident and its alerts, then live changes."""

    async def start(self):
        may_view_board = await self.log_in(lambda user: user.has_perm("accounts.view_board"))
        if may_view_board is _GONE:
            return
        if not may_view_board:
            await self.close(code=CloseCode.NOT_ALLOWED)
            return
        user = self.scope["user"]
        await self.join(events.BOARD_GROUP)
        async with _connect_slots().turn(begun=True):
            snapshot = await _board_snapshot(user, _client_address(self.scope))
        await self.send_frame(events.envelope(type="board.snapshot", data=snapshot))
        self.workers_watch = asyncio.create_task(self._watch_workers(snapshot["delivery_workers"]["alive"]))
        self.welfare_watch = asyncio.create_task(self._watch_welfare(user, snapshot["welfare_notice"]))

    async def disconnect(self, code):
        for name in ("workers_watch", "welfare_watch"):
            watch = getattr(self, name, None)
            if watch is not None:
                watch.cancel()
                # Forgotten too: the cancelled task keeps its CancelledError, whose traceback holds the
                # task's frame and so this consumer, a cycle only a full collection would reclaim.
                setattr(self, name, None)
        await super().disconnect(code)

    async def _watch_workers(self, alive: bool) -> None:
        """Send `board.workers` when the delivery workers stop reporting or start again: nothing
        else would tell a coordinator that pushes have stopped going out."""
        while True:
            await asyncio.sleep(settings.BOARD_WORKER_CHECK_SECONDS)
            try:
                status = await socket_database_sync_to_async(health.delivery_workers_status)()
            except Exception as exc:  # the database may be down for a moment; the board keeps what it showed
                logger.warning("Could not read the delivery workers' heartbeats for the board: %s", type(exc).__name__)
                continue
            if status["alive"] != alive:
                alive = status["alive"]
                await self.send_frame(events.envelope(type="board.workers", data=status))

    async def _watch_welfare(self, user, notice: dict | None) -> None:
        """Send `board.welfare` when the notice of welfare follow-ups not reaching the welfare leads
        (backend/records/notices.py) appears, changes or clears: a board stays open for hours, and
        the page showed it only as it loaded (found by a trial: an open board never said so). Read
        as this coordinator, whose link it is or is not; a count and a reason, nothing of a check-in."""
        while True:
            await asyncio.sleep(settings.BOARD_WELFARE_CHECK_SECONDS)
            try:
                now = await socket_database_sync_to_async(notices.welfare_notice_payload)(user)
            except Exception as exc:  # the database may be down for a moment; the board keeps what it showed
                logger.warning("Could not read the welfare notice for the board: %s", type(exc).__name__)
                continue
            if now != notice:
                notice = now
                await self.send_frame(events.envelope(type="board.welfare", data={"notice": notice}))


def _text_of(message: dict) -> str:
    """A `deliver` message's frame as sent: encoded once by its sender (backend/realtime/events.py),
    or here if it came from a process of the version before (a rolling upgrade)."""
    text = message.get("text")
    return text if text is not None else json.dumps(message["frame"], separators=(",", ":"))


# As long as the board keeps a finished incident's card (board-state.js: FINISHED_KEPT_MS).
BOARD_FINISHED_KEPT_SECONDS = 10 * 60
_GONE = object()  # log_in: the socket was closed, or its client has gone
_slots_by_loop: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _connect_slots() -> database_threads.ConnectSlots:
    """The connects' database calls handed to the connect threads at once, in this process (its
    event loop)."""
    loop = asyncio.get_running_loop()
    if loop not in _slots_by_loop:
        threads = database_threads.threads_for(database_threads.CONNECTS)
        _slots_by_loop[loop] = database_threads.ConnectSlots.for_threads(max(1, threads))
    return _slots_by_loop[loop]


@connect_database_sync_to_async
def _log_in(scope, look_up) -> tuple:
    """(user, logged in, look_up(user) if logged in): a logged-in user; for staff, a session that
    has also passed the second factor, as the admin and the API require
    (backend/accounts/second_factor.py)."""
    user = user_of_session(scope)
    if not user.is_authenticated or not _passed_second_factor_if_needed(scope.get("session"), user):
        return user, False, None
    return user, True, look_up(user)


def _passed_second_factor_if_needed(session, user) -> bool:
    return not second_factor.needs_second_factor(user) or second_factor.session_passed_second_factor(session, user)


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


def _responder_id(user) -> int | None:
    row = Responder.objects.filter(user=user, user__is_active=True).values_list("pk", "logged_out_at").first()
    if row is None:
        return None
    responder_id, logged_out_at = row
    if logged_out_at is not None:
        # A phone still logged in connects: not "logged out" on the boards (backend/dispatch/presence.py).
        presence.seen_in_app(Responder.objects.get(pk=responder_id))
    return responder_id


@connect_database_sync_to_async
def _backlog(responder_id: int, last_event_id: int | None):
    """Events after the client's last id, oldest first, at most the replay limit. A client with no
    id is new: it loads state over the API and needs no history. An id beyond the newest was not
    this responder's (another account's on a shared phone, or from before a database restore), so
    the client's place is unknown: it must reload, as when it missed more than the limit.

    One query (each query of a reconnect storm waits for the process's other work: docs/scaling.md):
    the events after the client's id and the newest event, each row with the newest id and the
    replay horizon, so all from one snapshot: events pruned before it show in its horizon, and none
    after it can be missing from its rows (backend/realtime/pruning.py). The newest id must never
    come from a later statement than the rows: an event committed in between would be counted as
    replayed (sync.ready's last_event_id, `sent_up_to`) without having been, and its live copy
    dropped as already sent; the phone would never be shown it (tests/faults, database_down). A
    second query only for a responder with no stored events at all: the horizon."""
    mine = ResponderEvent.objects.filter(responder_id=responder_id)
    if last_event_id is None:
        return [], mine.order_by("-id").values_list("id", flat=True).first() or 0, False
    limit = settings.WEBSOCKET_REPLAY_LIMIT
    newest = _newest_event_id(responder_id)
    # The newest row comes along when the client missed nothing, to carry the newest id and horizon:
    # ids above the client's, or from the newest (nothing is above it in this snapshot). One bound,
    # not `id > last OR id = newest`: a generic plan (prepared statements) could not start the
    # (responder, id) index there and read all the responder's events, a year's 6,000 for 30
    # (20 ms; tests/dispatch/test_generic_plans.py). With no events, LEAST ignores the NULL (on
    # SQLite it is NULL): no rows either way.
    rows = list(
        mine.filter(id__gt=Least(Value(last_event_id, output_field=BigIntegerField()), newest - 1))
        .annotate(newest_id=newest, pruned_through_id=replay_horizon_in_query())
        .order_by("id")[: limit + 1]
    )
    if rows:
        newest_id, horizon = rows[0].newest_id, rows[0].pruned_through_id or 0
    else:  # none stored (or all pruned) when the rows were read: anything since comes live
        newest_id, horizon = 0, replay_horizon()
    backlog = [event for event in rows if event.pk > last_event_id]
    if last_event_id > newest_id:
        return [], newest_id, True
    pruned_since = last_event_id < horizon
    truncated = len(backlog) > limit or pruned_since
    return ([] if pruned_since else backlog[:limit]), newest_id, truncated


def _newest_event_id(responder_id: int) -> Subquery:
    return Subquery(
        ResponderEvent.objects.filter(responder_id=responder_id).order_by("-id").values("id")[:1],
        output_field=BigIntegerField(),
    )


@socket_database_sync_to_async
def _events_between(responder_id: int, after_id: int, before_id: int) -> list[ResponderEvent]:
    """The responder's events after `after_id` and before `before_id`, in order. The bounds are
    row comparisons on (responder, id), which only the (responder, id) index can serve: written as
    `id > %s AND id < %s`, a generic plan (a prepared statement, backend/settings.py) could read
    the primary key's range instead, every responder's events between the two ids, and did on a
    small history (tests/dispatch/test_generic_plans.py)."""
    return list(
        ResponderEvent.objects.filter(responder_id=responder_id)
        .filter(_responder_key_between(responder_id, after_id, before_id))
        .order_by("id")
    )


def _responder_key_between(responder_id: int, after_id: int, before_id: int) -> RawSQL:
    q = connection.ops.quote_name
    table = q(ResponderEvent._meta.db_table)
    responder, event_id = ResponderEvent._meta.get_field("responder").column, ResponderEvent._meta.pk.column
    key = f"({table}.{q(responder)}, {table}.{q(event_id)})"
    return RawSQL(  # noqa: S611 (names from _meta, values as parameters)
        f"{key} > (%s, %s) AND {key} < (%s, %s)",
        [responder_id, after_id, responder_id, before_id],
        output_field=BooleanField(),
    )


@socket_database_sync_to_async
def _acknowledge(user, alert_id: int, address: str | None):
    # The audit trail records the change as made over the socket, from the phone's address.
    with audit_log.acting_from(audit_log.Origin("socket", address)):
        return actions.respond_to_alert(actor=user, alert_id=alert_id, response="received")


def _client_address(scope) -> str | None:
    client = scope.get("client")
    return client[0] if client else None


@connect_database_sync_to_async
def _board_snapshot(user, address: str | None) -> dict:
    """Four queries whatever the number of open incidents, one per open incident for its nearest
    defibrillators (an indexed look-up of a fraction of a millisecond), two for the positions of
    the responders going, whose reading is audited as `user`'s (docs/positions.md), and two for
    the messages to the crews.

    With the open incidents, those closed or cancelled within BOARD_FINISHED_KEPT_SECONDS: a board
    that was open when they finished keeps their cards that long, and a board opened or reloaded
    meanwhile must show the same (two coordinators see the same thing)."""
    # The time in the SQL (backend/sql_literals.py): sent as a parameter, a generic plan (prepared
    # statements) expected a third of all incidents and read every one ever made.
    since = SecondsAgo(BOARD_FINISHED_KEPT_SECONDS)
    # Each arm of the OR by an index of its own (status; closed_at; cancelled_at), which PostgreSQL
    # ORs together: with no index on the two times it read every incident ever made, the whole
    # history for the board's few (2.4 ms at a year's 20,000 incidents; bench/plan_check.py).
    incidents = list(
        Incident.objects.filter(
            Q(status=Literal(IncidentStatus.OPEN)) | Q(closed_at__gte=since) | Q(cancelled_at__gte=since)
        ).order_by("-created_at")[:200]
    )
    open_incidents = [incident for incident in incidents if incident.status == IncidentStatus.OPEN]
    # Their incidents are the ones just read, not joined again: joined, PostgreSQL hashed every
    # incident ever made to find the board's few (a year's 20,000: 12 ms; bench/plan_check.py).
    by_id = {incident.pk: incident for incident in incidents}
    alerts = list(
        Alert.objects.filter(incident_id__in=list(by_id))
        .select_related("responder__user", "responder__station")
        .order_by("incident_id", "rank")
    )
    for alert in alerts:
        alert.incident = by_id[alert.incident_id]
    tallied: dict[int, list[tuple]] = {incident.pk: [] for incident in incidents}
    for alert in alerts:
        tallied[alert.incident_id].append(tuple(getattr(alert, field) for field in coverage.TALLIED_FIELDS))
    shared = positions.latest_positions([incident.pk for incident in incidents])
    with audit_log.acting_from(audit_log.Origin("socket", address)):
        positions.record_reads(user, shared)
    return {
        "incidents": [
            {
                **payloads.board_incident(
                    incident, coverage=coverage.tally(incident.crew_target, tallied[incident.pk])
                ),
                "positions": shared[incident.pk],
            }
            for incident in incidents
        ],
        "alerts": [payloads.board_alert(alert) for alert in alerts],
        "devices": payloads.board_devices_of(alerts),
        "delivery_workers": health.delivery_workers_status(),
        "alarm_acknowledgements": alarms.acknowledgements_for_board(incident.pk for incident in incidents),
        # The nearest defibrillators of each open incident, as GET .../defibrillators/ answers.
        "defibrillators": [
            {"incident_id": incident.pk, **defibrillators_near(incident.latitude, incident.longitude)}
            for incident in open_incidents
        ],
        # Two more queries: the open incidents' messages to the crews, with every acknowledgement.
        "messages": crew_messages.board_messages_of(incidents),
        # Welfare follow-ups not reaching the welfare leads, as the page says it (a count, no more).
        "welfare_notice": notices.welfare_notice_payload(user),
    }
