"""/ws/responder/: a firefighter's alerts, answers, acknowledgements, and replay after a gap.

Every frame received is checked against its JSON Schema (tests/realtime/sockets.py)."""

import datetime

import pytest
from asgiref.sync import sync_to_async
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backend.database_threads import connect_database_sync_to_async
from backend.dispatch import actions
from backend.dispatch.models import Alert, AlertState
from backend.realtime import events
from backend.realtime.models import ResponderEvent
from backend.realtime.pruning import prune_stored_events
from backend.sockets import consumers
from tests.realtime.sockets import (
    connect,
    dispatch,
    new_incident,
    receive_frame,
    receive_frames,
    receive_until_sync_ready,
)

pytestmark = pytest.mark.django_db(transaction=True)

RESPONDER = "/ws/responder/"


# --- Helpers ------------------------------------------------------------------------------------


@sync_to_async
def respond(responder, alert: Alert, response: str) -> Alert:
    return actions.respond_to_alert(actor=responder.user, alert_id=alert.pk, response=response)


@sync_to_async
def cancel(actor, incident, reason="Ambulance on scene") -> None:
    actions.cancel_incident(actor=actor, incident_id=incident.pk, reason=reason)


@sync_to_async
def reload(alert: Alert) -> Alert:
    return Alert.objects.get(pk=alert.pk)


@sync_to_async
def stored_events_of(responder, *, after: int = 0) -> list[tuple[int, str]]:
    return list(
        ResponderEvent.objects.filter(responder=responder, id__gt=after).order_by("id").values_list("id", "type")
    )


@sync_to_async
def first_sent_at(event_id: int) -> str:
    return ResponderEvent.objects.get(pk=event_id).created_at.isoformat()


async def open_socket(responder, *, last_event_id=None):
    """A connected responder socket, after its replay; the replayed frames and sync.ready."""
    path = RESPONDER if last_event_id is None else f"{RESPONDER}?last_event_id={last_event_id}"
    socket = await connect(path, responder.user)
    replayed, ready = await receive_until_sync_ready(socket)
    return socket, replayed, ready


def ids_and_types(frames: list[dict]) -> list[tuple[int, str]]:
    return [(frame["id"], frame["type"]) for frame in frames]


# --- Connecting and live events -------------------------------------------------------------------


async def test_it_sends_sync_ready_first_on_connecting(alice):
    socket, replayed, ready = await open_socket(alice)

    assert replayed == []
    assert ready["id"] is None
    assert ready["data"] == {"replayed": 0, "last_event_id": 0, "complete": True}
    await socket.disconnect()


async def test_it_sends_a_dispatched_alert_as_alert_created(incident, carol, alice):
    socket, _, _ = await open_socket(alice)

    alerts = await dispatch(carol, incident)

    created = await receive_frame(socket)
    assert created["type"] == "alert.created"
    assert created["data"]["alert"]["id"] == alerts["alice"].pk
    assert created["data"]["alert"]["state"] == "alerted"
    assert created["data"]["alert"]["incident"]["cad_reference"] == "EEAST-0001"
    # Only the alert: the crew of a brand-new dispatch is all "alerted", and the app loads it with
    # the alert over the API (no n-squared crew updates on the dispatch hot path).
    assert await socket.receive_nothing(timeout=0.2)
    assert await stored_events_of(alice) == ids_and_types([created])
    await socket.disconnect()


async def test_it_tells_the_owner_and_the_whole_crew_when_someone_accepts(incident, carol, alice, bob, charlie):
    alerts = await dispatch(carol, incident)
    sockets = {person.user.username: (await open_socket(person))[0] for person in (alice, bob, charlie)}

    await respond(alice, alerts["alice"], "accept")

    updated, alice_crew = await receive_frames(sockets["alice"], 2)
    assert updated["type"] == "alert.updated"
    assert updated["data"]["alert"]["id"] == alerts["alice"].pk
    assert updated["data"]["alert"]["state"] == "accepted"
    assert updated["data"]["alert"]["version"] == 2
    assert updated["data"]["alert"]["accepted_at"] is not None
    assert alice_crew["type"] == "incident.updated"
    bob_crew = await receive_frame(sockets["bob"])
    assert bob_crew["type"] == "incident.updated"
    for frame in (alice_crew, bob_crew):
        states = {member["responder_name"]: member["state"] for member in frame["data"]["crew"]}
        assert states == {"Alice": "accepted", "Bob": "alerted"}
    # Bob hears of Alice's answer but gets no alert.updated of his own; Charlie (not alerted) nothing.
    assert await sockets["bob"].receive_nothing(timeout=0.2)
    assert await sockets["charlie"].receive_nothing(timeout=0.1)
    for socket in sockets.values():
        await socket.disconnect()


# --- alert.ack --------------------------------------------------------------------------------------


async def test_it_marks_an_acknowledged_alert_received(incident, carol, alice):
    alerts = await dispatch(carol, incident)
    socket, _, _ = await open_socket(alice)

    await socket.send_json_to({"type": "alert.ack", "alert_id": alerts["alice"].pk})

    frames = {frame["type"]: frame for frame in await receive_frames(socket, 2)}
    # The crew is not told: "shown" and "alerted" both mean "not answered yet" to them.
    assert set(frames) == {"alert.ack.ok", "alert.updated"}
    assert await socket.receive_nothing(timeout=0.2)
    assert frames["alert.ack.ok"]["data"] == {"alert_id": alerts["alice"].pk}
    assert frames["alert.updated"]["data"]["alert"]["state"] == "received"
    alert = await reload(alerts["alice"])
    assert alert.state == AlertState.RECEIVED
    assert alert.received_at is not None
    assert frames["alert.updated"]["data"]["alert"]["received_at"] == alert.received_at.isoformat()
    await socket.disconnect()


async def test_it_answers_a_repeated_ack_without_changing_anything(incident, carol, alice):
    alerts = await dispatch(carol, incident)
    socket, _, _ = await open_socket(alice)
    await socket.send_json_to({"type": "alert.ack", "alert_id": alerts["alice"].pk})
    await receive_frames(socket, 2)
    first = await reload(alerts["alice"])

    await socket.send_json_to({"type": "alert.ack", "alert_id": alerts["alice"].pk})

    ok = await receive_frame(socket)
    assert ok["type"] == "alert.ack.ok"
    assert await socket.receive_nothing(timeout=0.2)
    again = await reload(alerts["alice"])
    assert (again.received_at, again.version) == (first.received_at, first.version)
    await socket.disconnect()


async def test_it_refuses_to_ack_someone_elses_alert(incident, carol, alice, bob):
    alerts = await dispatch(carol, incident)
    socket, _, _ = await open_socket(alice)
    events_before = await stored_events_of(bob)

    await socket.send_json_to({"type": "alert.ack", "alert_id": alerts["bob"].pk})

    error = await receive_frame(socket)
    assert error["type"] == "error"
    assert error["data"]["code"] == "not_found"
    bobs = await reload(alerts["bob"])
    assert (bobs.state, bobs.received_at, bobs.version) == (AlertState.ALERTED, None, 1)
    assert await stored_events_of(bob) == events_before
    # The socket is still open and nothing else was sent.
    await socket.send_json_to({"type": "ping"})
    assert (await receive_frame(socket))["type"] == "pong"
    await socket.disconnect()


@pytest.mark.parametrize(
    "frame",
    [{"type": "alert.ack"}, {"type": "alert.ack", "alert_id": "12"}, {"type": "alert.ack", "alert_id": True}],
    ids=["missing", "string", "boolean"],
)
async def test_it_refuses_an_ack_without_an_integer_alert_id(incident, carol, alice, frame):
    alerts = await dispatch(carol, incident)
    socket, _, _ = await open_socket(alice)

    await socket.send_json_to(frame)

    error = await receive_frame(socket)
    assert (error["type"], error["data"]["code"]) == ("error", "invalid")
    assert (await reload(alerts["alice"])).received_at is None
    await socket.disconnect()


# --- Replay -------------------------------------------------------------------------------------------


async def test_it_replays_what_was_missed_in_order_before_sync_ready(incident, carol, alice, bob):
    socket, _, ready = await open_socket(alice)
    seen = ready["data"]["last_event_id"]
    await socket.disconnect()
    second = await new_incident(carol, "EEAST-0002")
    await dispatch(carol, incident)
    alerts = await dispatch(carol, second)
    await cancel(carol, incident)
    missed = await stored_events_of(alice, after=seen)
    assert [kind for _, kind in missed] == ["alert.created", "alert.created", "alert.updated", "incident.updated"]

    socket, replayed, ready = await open_socket(alice, last_event_id=seen)

    assert ids_and_types(replayed) == missed  # in id order, each once, and only Alice's
    assert replayed[0]["sent_at"] == await first_sent_at(replayed[0]["id"])  # when it happened, not now
    assert replayed[2]["data"]["alert"]["state"] == "cancelled"
    assert ready["data"] == {"replayed": 4, "last_event_id": missed[-1][0], "complete": True}
    # Live events still arrive after the replay.
    await respond(alice, alerts["alice"], "accept")
    live = await receive_frames(socket, 2)
    assert [frame["type"] for frame in live] == ["alert.updated", "incident.updated"]
    assert live[0]["id"] > missed[-1][0]
    await socket.disconnect()


async def test_it_replays_only_events_after_the_id_sent(incident, carol, alice):
    await dispatch(carol, incident)
    await cancel(carol, incident)
    (first_id, _), *rest = await stored_events_of(alice)

    socket, replayed, ready = await open_socket(alice, last_event_id=first_id)

    assert ids_and_types(replayed) == rest
    assert ready["data"]["replayed"] == len(rest) == 2
    await socket.disconnect()


async def test_it_sends_an_event_both_replayed_and_live_only_once(incident, carol, alice, monkeypatch):
    # An event committed after the socket joined its group but before the backlog is read reaches
    # the consumer twice: in the backlog and from the channel layer.
    read_backlog = consumers._backlog

    async def dispatch_then_read_backlog(*args):
        await dispatch(carol, incident)
        return await read_backlog(*args)

    monkeypatch.setattr(consumers, "_backlog", dispatch_then_read_backlog)

    socket, replayed, ready = await open_socket(alice, last_event_id=0)

    assert [frame["type"] for frame in replayed] == ["alert.created"]
    assert ready["data"]["replayed"] == 1
    # The live copies were queued before the next event; the next frames must be the next event.
    await cancel(carol, incident)
    after = await receive_frames(socket, 2)
    assert [frame["type"] for frame in after] == ["alert.updated", "incident.updated"]
    assert after[0]["id"] > replayed[-1]["id"]
    await socket.disconnect()


async def test_it_replays_nothing_without_last_event_id(incident, carol, alice):
    await dispatch(carol, incident)
    newest_id = (await stored_events_of(alice))[-1][0]

    socket, replayed, ready = await open_socket(alice)

    assert replayed == []
    assert ready["data"] == {"replayed": 0, "last_event_id": newest_id, "complete": True}
    await cancel(carol, incident)
    assert (await receive_frame(socket))["type"] == "alert.updated"
    await socket.disconnect()


async def test_it_does_not_resend_events_committed_while_a_new_client_connects(incident, carol, alice, monkeypatch):
    # A client with no last_event_id loads its state over the API after sync.ready, and that state
    # includes what committed before sync.ready: those events are not sent again live.
    read_backlog = consumers._backlog

    async def dispatch_then_read_backlog(*args):
        await dispatch(carol, incident)
        return await read_backlog(*args)

    monkeypatch.setattr(consumers, "_backlog", dispatch_then_read_backlog)

    socket, replayed, ready = await open_socket(alice)

    assert replayed == []
    assert ready["data"]["last_event_id"] == (await stored_events_of(alice))[-1][0]
    await cancel(carol, incident)
    assert [frame["type"] for frame in await receive_frames(socket, 2)] == ["alert.updated", "incident.updated"]
    await socket.disconnect()


def backlog_with_a_dispatch_after_its_first_read(actor, incident):
    """consumers._backlog, with `incident` dispatched (and committed, so sent live) right after the
    replay's first statement that reads the stored events, before its next statement if it has one."""
    read_backlog = consumers._backlog.func

    def backlog(responder_id, last_event_id):
        done = {"events_read": False, "dispatched": False}

        def dispatch_once():
            done["dispatched"] = True
            actions.dispatch_incident(actor=actor, incident_id=incident.pk)

        def dispatch_after_the_first_read(execute, sql, params, many, context):
            if done["events_read"] and not done["dispatched"]:
                dispatch_once()
            result = execute(sql, params, many, context)
            done["events_read"] |= ResponderEvent._meta.db_table in sql
            return result

        with connection.execute_wrapper(dispatch_after_the_first_read):
            found = read_backlog(responder_id, last_event_id)
        if not done["dispatched"]:
            dispatch_once()
        return found

    return connect_database_sync_to_async(backlog)


async def test_a_phone_that_missed_nothing_gets_an_event_committed_while_its_replay_reads(
    incident, carol, alice, monkeypatch
):
    """A phone reconnects having missed nothing while a dispatch for its station commits. The replay
    found nothing after the phone's id, then read the newest id in a statement of its own, which saw
    the new event: sync.ready moved the phone past it and its live copy was dropped as already sent,
    so it was never shown and never replayed (tests/faults database_down, lost 1 of 64 under load)."""
    await dispatch(carol, incident)
    [(seen, _)] = await stored_events_of(alice)
    second = await new_incident(carol, "EEAST-0002")
    monkeypatch.setattr(consumers, "_backlog", backlog_with_a_dispatch_after_its_first_read(carol, second))

    socket, replayed, ready = await open_socket(alice, last_event_id=seen)

    [(created_id, _)] = await stored_events_of(alice, after=seen)
    if replayed:
        assert ids_and_types(replayed) == [(created_id, "alert.created")]
    else:
        # Not replayed: then the phone is not told it has it, and it comes live.
        assert ready["data"]["last_event_id"] < created_id, ready
        created = await receive_frame(socket)
        assert (created["id"], created["type"]) == (created_id, "alert.created")
    assert await socket.receive_nothing(timeout=0.2)
    await socket.disconnect()


async def test_a_live_event_after_one_that_never_came_live_brings_the_missing_one_first(
    incident, carol, alice, bob, monkeypatch
):
    """An open socket whose live copy of an event was lost (a layer's dropped send) hears of it with
    the next live event (its previous_id is past what the socket sent), and sends the stored events
    in between first: the responder's own only, in order, though another responder's events lie
    between their ids (consumers._events_between, read by (responder, id))."""
    socket, _, ready = await open_socket(alice)
    seen = ready["data"]["last_event_id"]
    with monkeypatch.context() as lost:
        lost.setattr(events, "send_on_commit", lambda messages: None)  # the first dispatch's sends lost
        await dispatch(carol, incident)
    assert await socket.receive_nothing(timeout=0.2)
    second = await new_incident(carol, "EEAST-0002")
    await dispatch(carol, second)

    frames = await receive_frames(socket, 2)

    mine = await stored_events_of(alice, after=seen)
    assert ids_and_types(frames) == mine  # the lost alert.created, then the live one
    assert [kind for _, kind in mine] == ["alert.created", "alert.created"]
    theirs = [event_id for event_id, _ in await stored_events_of(bob)]
    assert any(mine[0][0] < event_id < mine[1][0] for event_id in theirs)  # Bob's lie in between
    assert await socket.receive_nothing(timeout=0.2)
    await socket.disconnect()


async def test_it_says_the_replay_is_incomplete_beyond_the_limit(incident, carol, alice, settings):
    settings.WEBSOCKET_REPLAY_LIMIT = 3
    second = await new_incident(carol, "EEAST-0002")
    await dispatch(carol, incident)
    await cancel(carol, incident)
    alerts = await dispatch(carol, second)
    missed = await stored_events_of(alice)
    assert len(missed) == 4

    socket, replayed, ready = await open_socket(alice, last_event_id=0)

    assert ids_and_types(replayed) == missed[:3]  # the oldest, so nothing is skipped in between
    assert ready["data"] == {"replayed": 3, "last_event_id": missed[-1][0], "complete": False}
    await respond(alice, alerts["alice"], "accept")
    assert (await receive_frame(socket))["type"] == "alert.updated"
    await socket.disconnect()


async def test_it_still_sends_live_events_after_an_id_it_never_gave_out(incident, carol, alice):
    # An id kept from another account on a shared phone, or from before a database restore: the
    # client's place is unknown, so it must reload, and must not lose live events meanwhile.
    socket, replayed, ready = await open_socket(alice, last_event_id=999_999)

    assert replayed == []
    assert ready["data"] == {"replayed": 0, "last_event_id": 0, "complete": False}
    alerts = await dispatch(carol, incident)
    created = await receive_frame(socket)
    assert created["type"] == "alert.created"
    assert created["data"]["alert"]["id"] == alerts["alice"].pk
    await socket.disconnect()


async def test_a_phone_whose_missed_events_were_pruned_is_told_to_reload(incident, carol, alice, settings):
    # Replaying what is left after a prune would leave a hole the phone could not see.
    await dispatch(carol, incident)
    [(seen, _)] = await stored_events_of(alice)
    await cancel(carol, incident)
    settings.STORED_EVENTS_RETENTION_DAYS = 1
    await sync_to_async(prune_stored_events)(now=timezone.now() + datetime.timedelta(days=2))

    socket, replayed, ready = await open_socket(alice, last_event_id=seen - 1)

    assert replayed == []
    assert ready["data"]["complete"] is False
    await socket.disconnect()


async def test_a_phone_that_saw_everything_pruned_is_replayed_what_came_after(incident, carol, alice, settings):
    await dispatch(carol, incident)
    [(seen, _)] = await stored_events_of(alice)
    settings.STORED_EVENTS_RETENTION_DAYS = 1
    await sync_to_async(prune_stored_events)(now=timezone.now() + datetime.timedelta(days=2))
    assert await stored_events_of(alice) == []
    await cancel(carol, incident)
    later = await stored_events_of(alice)

    socket, replayed, ready = await open_socket(alice, last_event_id=seen)

    assert ids_and_types(replayed) == later
    assert ready["data"] == {"replayed": len(later), "last_event_id": later[-1][0], "complete": True}
    await socket.disconnect()


@sync_to_async
def backlog_and_queries(responder, last_event_id: int) -> tuple[list[int], int, bool, int]:
    """What the replay reads for a phone that last saw `last_event_id`: (the backlog's ids, the newest
    id, truncated, the queries it took)."""
    with CaptureQueriesContext(connection) as queries:
        backlog, newest_id, truncated = consumers._backlog.func(responder.pk, last_event_id)
    return [event.pk for event in backlog], newest_id, truncated, len(queries)


async def test_the_replay_of_a_reconnecting_phone_is_one_query_whether_it_missed_events_or_not(incident, carol, alice):
    """In a reconnect storm each query of a connect waits its turn behind the process's other work
    (docs/scaling.md, "Recovery, after the fixes"): the backlog is read with the newest id and the
    replay horizon in one statement. Before, three: the newest id, the backlog, the horizon; then
    two for a phone that had missed nothing, whose second statement could see an event the first had
    not (test_a_phone_that_missed_nothing_gets_an_event_committed_while_its_replay_reads)."""
    await dispatch(carol, incident)
    await cancel(carol, incident)
    (first_id, _), *rest = await stored_events_of(alice)
    newest = rest[-1][0]

    assert await backlog_and_queries(alice, first_id) == ([event_id for event_id, _ in rest], newest, False, 1)
    assert await backlog_and_queries(alice, newest) == ([], newest, False, 1)
    assert await backlog_and_queries(alice, newest + 1) == ([], newest, True, 1)  # an id it never gave out
