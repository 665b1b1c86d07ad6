"""Storing and sending events: the one place where state changes leave the process.

Actions call `record_for_responders` (stored, replayable) and `send_to_board` inside their
transaction. Nothing is sent until that transaction commits, so no socket ever hears of a change
that was rolled back. A failed send is logged and forgotten: the stored event is sent from the
database before the responder's next live event, or replayed when the client reconnects, and the
board re-reads its snapshot.

Every frame a client receives has the envelope documented in docs/events.md:
    {"type": "...", "id": <int or null>, "sent_at": "<ISO 8601>", "data": {...}}
"""

import json
import logging
from collections.abc import Callable, Iterable
from functools import cache

from django.db import connection
from django.utils import timezone

from backend.accounts.models import Responder
from backend.broadcast import (
    one_hand_over,  # noqa: F401  (for the actions: their sends in one hand-over)
    send_on_commit,
)
from backend.bulk_rows import NEW_ROWS, EncodedJson, ReadPerRow, insert_rows, insert_rows_reading, new_instance
from backend.realtime.models import ResponderEvent

logger = logging.getLogger(__name__)

BOARD_GROUP = "board"

_COMPACT = (",", ":")  # the frames' separators
# json.dumps(value, separators=_COMPACT), with one encoder for every frame: json.dumps makes a new
# JSONEncoder for each call given any option, about 1 us a frame, some sixty frames and documents
# in a dispatch of 20 (issue 17 item 2). The same characters: the encoder's other options are
# json.dumps' defaults, and an encoder keeps no state between calls.
_encode = json.JSONEncoder(separators=_COMPACT).encode


def responder_group(responder_id: int) -> str:
    return f"responder.{responder_id}"


def envelope(*, type: str, data: dict, id: int | None = None, sent_at=None) -> dict:
    sent_at = sent_at or timezone.now()
    return {"type": type, "id": id, "sent_at": sent_at.isoformat(), "data": data}


def stored_envelope(event: ResponderEvent) -> dict:
    return envelope(type=event.type, data=event.data, id=event.pk, sent_at=event.created_at)


def record_for_responders(
    responder_ids: Iterable[int], type: str, data_for: Callable[[int], dict], *, locked: bool = False
) -> list[ResponderEvent]:
    """Store one event per responder and send each to its responder's sockets after commit.

    Must run inside the caller's transaction. Locks the responders' rows (in id order, so two
    writers cannot deadlock) before inserting: a later writer for the same responder waits for
    this transaction to commit, so its event gets a higher id. That keeps each responder's ids in
    commit order, which replay-after-id relies on. `locked`: the caller's transaction has locked
    every one of these rows already, in id order (a dispatch, as it loads those it alerts:
    selection_reads.responders_loaded(..., lock=True)), so they are not locked again.
    """
    responder_ids = sorted(set(responder_ids))
    if not responder_ids:
        return []
    if not locked:
        _lock_responders(responder_ids)
    # Each event's data is encoded once, for its row and its frame alike (bulk_rows.EncodedJson).
    data_texts = {}
    new_events = []
    for rid in responder_ids:
        data = data_for(rid)
        data_texts[rid] = text = _encode(data)
        new_events.append(new_instance(ResponderEvent, responder_id=rid, type=type, data=EncodedJson(data, text)))
    events, previous_ids = _insert_after_the_newest(new_events)
    send_on_commit(
        [
            (
                responder_group(event.responder_id),
                {
                    "type": "deliver",
                    "text": _frame_text(type, event.pk, event.created_at, data_texts[event.responder_id]),
                    "event_id": event.pk,
                    "previous_id": previous_ids[event.responder_id] or 0,
                },
            )
            for event in events
        ]
    )
    return events


def _frame_text(type: str, id: int, sent_at, data_text: str) -> str:
    """The stored event's frame as _deliver encodes its envelope, with the data's text put in as it
    is: the same characters as json.dumps(envelope(...), separators=_COMPACT) (held so by
    tests/realtime/test_event_reads.py), without encoding the data again."""
    head = _encode({"type": type, "id": id, "sent_at": sent_at.isoformat()})
    return f'{head[:-1]},"data":{data_text}}}'


def _lock_responders(responder_ids: list[int]) -> None:
    """SELECT ... FOR UPDATE of the responders' rows, in id order (as the queryset
    `select_for_update().filter(pk__in=...).order_by("pk")` wrote it; SQLite, which has no FOR
    UPDATE, holds the database's write lock from BEGIN IMMEDIATE)."""
    sql = _reads_sql(connection.vendor)["lock"].format(ids=_placeholders(responder_ids))
    if connection.features.has_select_for_update:
        sql += " FOR UPDATE"
    with connection.cursor() as cursor:
        cursor.execute(sql, responder_ids)
        cursor.fetchall()


def _insert_after_the_newest(new_events: list[ResponderEvent]) -> tuple[list[ResponderEvent], dict[int, int | None]]:
    """The events stored, and each responder's newest event id before them. On PostgreSQL in one
    statement (a data-modifying WITH: one round trip less in every dispatch, issue 17 item 2),
    whose read sees the snapshot taken when it began, so not the events it inserts. The lock is
    not part of it and must not be: a statement that waited for a responder's lock would still read
    with the snapshot taken before the wait, and miss the event the writer it waited for committed.
    So the lock is always a statement before this one (_lock_responders, or the caller's)."""
    if connection.vendor != "postgresql":
        previous_ids = _newest_event_ids([event.responder_id for event in new_events])
        return insert_rows(new_events), previous_ids
    stored, newest = insert_rows_reading(new_events, ReadPerRow(_reads_sql(connection.vendor)["newest_of_new_row"], []))
    return stored, {event.responder_id: previous for event, previous in zip(stored, newest, strict=True)}


def _newest_event_ids(responder_ids: list[int]) -> dict[int, int | None]:
    """Each responder's newest event id, read after their rows are locked (a statement of its own,
    so it sees what the writers we waited for committed). Sent along with the new event, it lets a
    socket notice that an earlier event never reached it live (consumers.ResponderConsumer)."""
    with connection.cursor() as cursor:
        cursor.execute(_reads_sql(connection.vendor)["newest"].format(ids=_placeholders(responder_ids)), responder_ids)
        return dict(cursor.fetchall())


def _placeholders(values) -> str:
    return ", ".join(["%s"] * len(values))


@cache
def _reads_sql(vendor: str) -> dict[str, str]:
    """The two reads before a batch of events, as the ORM wrote them (names from `_meta`), written
    once per process: built and compiled as querysets on every dispatch they took several times
    longer than the database took to run them (py-spy, issue 17 item 2). `{ids}`: placeholders."""
    q = connection.ops.quote_name
    r, e = q(Responder._meta.db_table), q(ResponderEvent._meta.db_table)
    r_id = f"{r}.{q(Responder._meta.pk.column)}"
    e_id, e_responder = q(ResponderEvent._meta.pk.column), q(ResponderEvent._meta.get_field("responder").column)
    return {
        "lock": f"SELECT {r_id} FROM {r} WHERE {r_id} IN ({{ids}}) ORDER BY {r_id} ASC",  # noqa: S608 (names from _meta)
        "newest": (
            f"SELECT {r_id}, (SELECT U0.{e_id} FROM {e} U0 WHERE U0.{e_responder} = ({r_id})"  # noqa: S608
            f" ORDER BY U0.{e_id} DESC LIMIT 1) FROM {r} WHERE {r_id} IN ({{ids}})"
        ),
        # The same subquery, for the responder of each event being inserted (bulk_rows.ReadPerRow).
        "newest_of_new_row": (
            f"SELECT U0.{e_id} FROM {e} U0 WHERE U0.{e_responder} = ({NEW_ROWS}.{e_responder})"  # noqa: S608
            f" ORDER BY U0.{e_id} DESC LIMIT 1"
        ),
    }


def send_to_board(items: list[tuple[str, dict]]) -> None:
    """Tell every coordinator's board of changes (type, data), after commit. Not stored: a board
    that missed something re-reads the snapshot when it reconnects, and each item carries a
    version so that a late frame never overwrites a newer one."""
    send_on_commit([(BOARD_GROUP, _deliver(envelope(type=type, data=data))) for type, data in items])


def send_to_responders_unstored(responder_ids: Iterable[int], type: str, data: dict) -> None:
    """Send one frame to these responders' sockets after commit, WITHOUT storing it: for what must
    not outlive its purpose in the replayable store (positions, deleted after a day: docs/
    positions.md). A socket that misses it gets the next one, or reads the state over the API."""
    frame = _deliver(envelope(type=type, data=data))
    send_on_commit([(responder_group(responder_id), frame) for responder_id in sorted(set(responder_ids))])


def send_unstored(type: str, data: dict, *, board: bool, responder_ids: Iterable[int]) -> None:
    """One unstored frame to the board (if `board`) and to these responders, after commit, in one
    batch (one hand-over to the server's event loop, not one each): for the frames sent many times
    a second (positions)."""
    frame = _deliver(envelope(type=type, data=data))
    groups = [BOARD_GROUP] if board else []
    groups += [responder_group(responder_id) for responder_id in sorted(set(responder_ids))]
    send_on_commit([(group, frame) for group in groups])


def _deliver(frame: dict) -> dict:
    """The channel-layer message that makes a consumer send `frame` to its client: the frame as the
    client gets it, encoded once here, and its id (the responder socket orders by it). Each
    consumer encoded it again before (each board socket, each responder's), the in-memory layer
    deep-copied the nested frame for every socket and Redis packed it for every message; a string
    is copied and packed for nothing (issue 17, the path from commit to frames)."""
    return {"type": "deliver", "text": _encode(frame), "event_id": frame.get("id")}


def frame_of(message: dict) -> dict:
    """The frame a `deliver` message carries (as sent by this version or, mid-upgrade, the last)."""
    return json.loads(message["text"]) if "text" in message else message["frame"]
