"""An HTTP request's answer goes before the frames of what it did (backend/broadcast.py,
answer_first; issue 17): the loop serialised and handed the dispatch's frames to the layer while the
CAD's answer waited behind them. The frames wait for the answer's body, or ANSWER_WAIT_S at most,
and batches handed over after a held one still go after it. Orders are checked, never times."""

import asyncio

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from backend import broadcast
from backend.dispatch import actions
from tests.conftest import NORWICH_INCIDENT
from tests.support.channel_layers import replace_group_send

pytestmark = pytest.mark.django_db(transaction=True)

# Only a guard against a hang.
GUARD_S = 10


@pytest.fixture
def happened():
    """What reached the layer and the client, in the order it did."""
    return []


@pytest.fixture
def recorded_layer(monkeypatch, happened):
    """The layer's sends recorded in `happened` and made as before (the in-memory layer's sends at
    once included)."""
    layer = get_channel_layer()
    send_many, send_many_nowait = layer.group_send_many, getattr(layer, "group_send_many_nowait", None)

    async def recorded_send_many(messages):
        happened.extend(("frame", group) for group, _ in messages)
        await send_many(messages)

    def recorded_send_many_nowait(messages):
        happened.extend(("frame", group) for group, _ in messages)
        send_many_nowait(messages)

    monkeypatch.setattr(layer, "group_send_many", recorded_send_many)
    if send_many_nowait is not None:
        monkeypatch.setattr(layer, "group_send_many_nowait", recorded_send_many_nowait)
    return layer


async def until(condition) -> None:
    async def waited():
        while not condition():
            await asyncio.sleep(0.005)

    await asyncio.wait_for(waited(), GUARD_S)


def dispatch_scope(token: str, reference: str) -> tuple[dict, bytes]:
    latitude, longitude = NORWICH_INCIDENT
    body = (
        f'{{"cad_reference": "{reference}", "latitude": {latitude}, "longitude": {longitude}, '
        '"address": "3 Elm Hill", "dispatch": true}'
    ).encode()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/v1/incidents/",
        "raw_path": b"/api/v1/incidents/",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"testserver"),
            (b"content-length", str(len(body)).encode()),
            (b"content-type", b"application/json"),
            (b"authorization", f"Token {token}".encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    return scope, body


async def test_the_cad_s_dispatch_answer_goes_before_the_alerts_frames(cad, stations, alice, recorded_layer, happened):
    """Through the real ASGI handler: the answer's head and body are handed to the server before
    any of the dispatch's frames reach the layer (before, the alerted's frames went first)."""
    from knox.models import AuthToken

    from backend.asgi import django_asgi_app

    _, token = await database_sync_to_async(AuthToken.objects.create)(user=cad, expiry=None)
    scope, body = dispatch_scope(token, "ANSWER-1")
    received = [{"type": "http.request", "body": body, "more_body": False}]
    statuses = []

    async def receive():
        if received:
            return received.pop()
        await asyncio.sleep(GUARD_S)  # the client stays: no disconnect
        return {"type": "http.disconnect"}

    async def send(message):
        if message["type"] == "http.response.start":
            statuses.append(message["status"])
        happened.append(("answer", message["type"]))

    await asyncio.wait_for(django_asgi_app(scope, receive, send), GUARD_S)
    await until(lambda: ("frame", f"responder.{alice.pk}") in happened)

    assert statuses == [201]
    answer_body = happened.index(("answer", "http.response.body"))
    first_frame = next(n for n, (what, _) in enumerate(happened) if what == "frame")
    assert answer_body < first_frame, happened


async def test_a_request_s_frames_wait_for_its_answer(incident, carol, alice, recorded_layer, happened, monkeypatch):
    monkeypatch.setattr(broadcast, "ANSWER_WAIT_S", GUARD_S)

    async def server_send(message):
        happened.append(("answer", message["type"]))

    async with broadcast.answer_first(server_send) as send:
        await sync_to_async(actions.dispatch_incident)(actor=carol, incident_id=incident.pk)
        await asyncio.sleep(0.05)  # the loop has had every chance to send
        assert happened == []
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    await until(lambda: ("frame", f"responder.{alice.pk}") in happened)
    assert happened[:2] == [("answer", "http.response.start"), ("answer", "http.response.body")]


async def test_batches_handed_over_after_a_held_one_go_after_it(monkeypatch):
    """Another request's commit, or a socket's, after the held one: it waits, so that what one
    transaction sends still goes out before what a later one does."""
    monkeypatch.setattr(broadcast, "ANSWER_WAIT_S", GUARD_S)
    layer = get_channel_layer()
    sent = []

    async def group_send(group, message):
        sent.append(message["n"])

    replace_group_send(monkeypatch, layer, group_send)
    answer_sent = asyncio.Event()
    broadcast._enqueue_all([[("board", {"type": "deliver", "n": 1})]], answer_sent)
    broadcast._enqueue_all([[("board", {"type": "deliver", "n": 2})]])
    await asyncio.sleep(0.05)
    assert sent == []

    answer_sent.set()
    await asyncio.wait_for(broadcast.sent(), GUARD_S)
    assert sent == [1, 2]


async def test_a_request_that_fails_releases_its_frames(incident, carol, alice, recorded_layer, happened, monkeypatch):
    """No answer sent (the view raised after its commit, or the client went away): the frames go
    when the request ends."""
    monkeypatch.setattr(broadcast, "ANSWER_WAIT_S", GUARD_S)

    async def server_send(message):
        raise AssertionError("nothing is answered here")

    with pytest.raises(RuntimeError):
        async with broadcast.answer_first(server_send):
            await sync_to_async(actions.dispatch_incident)(actor=carol, incident_id=incident.pk)
            raise RuntimeError("the view failed after its commit")

    await until(lambda: ("frame", f"responder.{alice.pk}") in happened)


async def test_frames_whose_answer_never_comes_go_after_answer_wait_s(
    incident, carol, alice, recorded_layer, happened, monkeypatch
):
    """A view that goes on working after its commit holds its frames (and those behind them) for
    ANSWER_WAIT_S at most, not until it ends."""
    monkeypatch.setattr(broadcast, "ANSWER_WAIT_S", 0.05)

    async def server_send(message):
        pass

    async with broadcast.answer_first(server_send):
        await sync_to_async(actions.dispatch_incident)(actor=carol, incident_id=incident.pk)
        await until(lambda: ("frame", f"responder.{alice.pk}") in happened)


async def test_answer_wait_s_is_the_request_s_wait_not_each_batch_s(monkeypatch):
    """A dispatch hands over several batches (the alerted's, the board's, the workers' wake-up):
    once its frames have waited ANSWER_WAIT_S for the answer, the rest go without waiting again
    (each waited it in turn before, the workers' wake-up last: pushes later by four waits)."""
    monkeypatch.setattr(broadcast, "ANSWER_WAIT_S", 0.05)
    layer = get_channel_layer()
    sent = []

    async def group_send(group, message):
        sent.append(message["n"])

    replace_group_send(monkeypatch, layer, group_send)
    answer_sent = asyncio.Event()
    broadcast._enqueue_all([[("board", {"type": "deliver", "n": n})] for n in range(3)], answer_sent)
    await asyncio.wait_for(broadcast.sent(), GUARD_S)

    assert sent == [0, 1, 2]
    assert answer_sent.is_set()  # released once for all three
