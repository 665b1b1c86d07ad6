"""Thousands of malformed, unknown, binary and oversized frames against both sockets, in process
(the product's real ASGI application, tests/realtime/sockets.py).

Each frame's answer is predicted from docs/events.md: a frame the socket cannot read closes it
(4415 binary, 4422 not a JSON object with a string type, 4413 too big); a readable frame of an
unknown type, or an alert.ack with a bad alert_id, is answered with an `error` frame and the socket
stays open. No frame may crash a consumer. Meanwhile a firefighter (bob) and a coordinator hold
sockets of their own: every dispatch made during the fuzzing must reach them as usual.
"""

import gc
import json
import random
import string
import sys

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings

from backend.sockets.consumers import CloseCode
from tests.realtime.sockets import (
    assert_closed_with,
    communicator,
    connect,
    dispatch,
    new_incident,
    receive_frame,
    receive_until_sync_ready,
    session_cookie_for,
)

pytestmark = pytest.mark.django_db(transaction=True)

RESPONDER = "/ws/responder/"
BOARD = "/ws/coordinator/"
FRAMES_PER_SOCKET = 2500
SEED = 20261125
# Frames the server sends on its own (a dispatch during the fuzzing), not answers to ours.
ANSWERS = {"pong", "error", "alert.ack.ok"}
TWO_MB = 2 * 1024 * 1024
# docs/events.md: a frame whose arrays and objects nest deeper than this is closed with 4422.
MAX_NESTING = 32


# --- Frames and what each should get ---------------------------------------------------------------


def _text(rng: random.Random, length: int) -> str:
    """Valid Unicode (no lone surrogates: a WebSocket text frame is UTF-8) of many scripts."""
    alphabet = string.printable + 'éßøΩжд中文😀\u200b\u0000\ufeff"\\{}[]:,'
    return "".join(rng.choice(alphabet) for _ in range(length))


def _json_value(rng: random.Random, depth: int = 0):
    kind = rng.randrange(8 if depth < 3 else 5)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False])
    if kind == 2:
        return rng.choice([0, -1, 2**31, 2**63, 10**30, rng.randint(-(10**6), 10**6)])
    if kind == 3:
        return rng.choice([0.5, -1e308, 1e-300, float(rng.random())])
    if kind == 4:
        return _text(rng, rng.randrange(20))
    if kind in (5, 6):
        return [_json_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {_text(rng, rng.randrange(8)): _json_value(rng, depth + 1) for _ in range(rng.randrange(4))}


def make_frame(rng: random.Random, path: str) -> tuple[str, object]:
    """('text' | 'bytes', data) of one of many kinds, weighted towards frames that keep the socket
    open (so thousands are sent without reconnecting for each)."""
    kind = rng.choices(
        ["unknown", "ack", "ping", "garbage", "not-object", "bad-type", "binary", "oversized", "nested"],
        weights=[40, 25, 10, 6, 5, 5, 3, 3, 3],
    )[0]
    if kind == "unknown":
        frame_type = rng.choice([_text(rng, rng.randrange(1, 30)), "alert.ACK", "PING", "alert.ack ", "board.snapshot"])
        frame = {"type": frame_type, **{_text(rng, 5): _json_value(rng) for _ in range(rng.randrange(3))}}
        return "text", json.dumps(frame, ensure_ascii=rng.random() < 0.5)
    if kind == "ack":
        alert_id = rng.choice([_json_value(rng), rng.randint(10**7, 10**9), -rng.randint(1, 10**6), 10**40])
        frame = {"type": "alert.ack", "alert_id": alert_id}
        if rng.random() < 0.3:
            frame["extra"] = _json_value(rng)
        return "text", json.dumps(frame)
    if kind == "ping":
        return "text", json.dumps(
            {"type": "ping", **{_text(rng, 4): _json_value(rng) for _ in range(rng.randrange(3))}}
        )
    if kind == "garbage":
        valid = json.dumps({"type": "ping", "x": _json_value(rng)})
        return "text", rng.choice([_text(rng, rng.randrange(1, 200)), valid[: rng.randrange(len(valid))], valid + "}"])
    if kind == "not-object":
        return "text", json.dumps(rng.choice([[1, 2], "ping", 42, None, True, [{"type": "ping"}], 1.5]))
    if kind == "bad-type":
        frame = {"type": rng.choice([None, 7, [], {}, True, ["ping"]])} if rng.random() < 0.8 else {"alert_id": 1}
        return "text", json.dumps(frame)
    if kind == "binary":
        return "bytes", rng.choice([rng.randbytes(rng.randrange(1, 300)), b'{"type": "ping"}', b""])
    if kind == "oversized":
        size = rng.choice([settings.WEBSOCKET_MAX_MESSAGE_BYTES + 1, 64 * 1024, TWO_MB])
        filler = rng.choice(["x", "é", "😀"])
        return "text", json.dumps({"type": "ping", "pad": filler * size}, ensure_ascii=False)
    depth = rng.randrange(1000, 2000)  # deeper than the JSON parser goes, within the size limit
    return "text", '{"type": "ping", "x": ' + "[" * depth + "]" * depth + "}"


def nesting_depth(text: str) -> int:
    """How deep arrays and objects nest in `text`, brackets inside strings not counted; in a loop,
    not by recursion. The frames' own count, not the product's (backend/strict_json.py)."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def expected_answer(kind: str, data, path: str, own_alert_ids: set[int]):
    """What docs/events.md says the socket does with this frame: a close code, or the reply's
    (type, error code)."""
    if kind == "bytes":
        return CloseCode.UNSUPPORTED_DATA
    if len(data.encode("utf-8")) > settings.WEBSOCKET_MAX_MESSAGE_BYTES:
        return CloseCode.TOO_BIG
    # Before parsing: json.loads would recurse to the interpreter's limit on the deep frames (see
    # test_predicting_an_answer_leaves_stack_for_the_finalizers_a_collection_runs).
    if nesting_depth(data) > MAX_NESTING:
        return CloseCode.INVALID_PAYLOAD
    try:
        frame = json.loads(data)
    except ValueError:
        return CloseCode.INVALID_PAYLOAD
    if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
        return CloseCode.INVALID_PAYLOAD
    if frame["type"] == "ping":
        return ("pong", None)
    if frame["type"] == "alert.ack" and path == RESPONDER:
        alert_id = frame.get("alert_id")
        if not isinstance(alert_id, int) or isinstance(alert_id, bool):
            return ("error", "invalid")
        return ("alert.ack.ok", None) if alert_id in own_alert_ids else ("error", "not_found")
    return ("error", "unknown_type")


def _recurse(frames: int) -> int:
    return 0 if frames == 0 else 1 + _recurse(frames - 1)


# Stack a finalizer is given at the least wherever a collection comes while an answer is predicted:
# enough for one that logs (a Future whose exception nobody retrieved), and for pytest to format
# what one raises.
FINALIZER_FRAMES = 100


def test_predicting_an_answer_leaves_stack_for_the_finalizers_a_collection_runs(monkeypatch):
    """Was: expected_answer parsed the fuzz's 1,000-2,000 deep frames with json.loads, which
    recursed to the interpreter's limit. A garbage collection set off there (the test process
    collects after 10,000 net allocations, backend/worker/serving.py, so one can come at any depth)
    ran the finalizers of that moment's garbage, this test's or an earlier one's, with no stack
    left: each raised RecursionError, and pytest's unraisable-exception hook, formatting that with
    no stack left either, failed with RecursionError itself, hiding what it was formatting (CI, the
    coordinator's fuzz, once). Here a collection comes at every allocation, and each must leave
    FINALIZER_FRAMES of stack."""
    frame = '{"type": "ping", "x": ' + "[" * 1999 + "]" * 1999 + "}"
    probed = []

    def probe(phase, info):
        if phase == "start":
            probed.append(_recurse(FINALIZER_FRAMES))

    # A callback that cannot run is reported here, not formatted by pytest with no stack left.
    monkeypatch.setattr(sys, "unraisablehook", lambda unraisable: None)
    collections_before = sum(generation["collections"] for generation in gc.get_stats())
    thresholds = gc.get_threshold()
    gc.callbacks.append(probe)
    gc.set_threshold(1, 10**6, 10**6)
    try:
        answer = expected_answer("text", frame, BOARD, set())
    finally:
        gc.set_threshold(*thresholds)
        gc.callbacks.remove(probe)
    collections = sum(generation["collections"] for generation in gc.get_stats()) - collections_before

    assert answer == CloseCode.INVALID_PAYLOAD
    assert collections > 0
    assert len(probed) == collections, f"{collections - len(probed)} of {collections} collections had no stack left"


# --- Sockets ----------------------------------------------------------------------------------------


class Fuzzer:
    """One user's socket on one path, reopened whenever a frame closes it."""

    def __init__(self, path: str, cookie: str):
        self.path = path
        self.cookie = cookie
        self.socket = None
        self.opened = 0

    async def open(self):
        self.socket = communicator(self.path, cookie=self.cookie)
        connected, _ = await self.socket.connect(timeout=3)
        assert connected
        self.opened += 1
        if self.path == RESPONDER:
            await receive_until_sync_ready(self.socket)
        else:
            assert (await receive_frame(self.socket))["type"] == "board.snapshot"

    async def reply(self) -> dict:
        """The next frame that answers ours (server events from the dispatches are skipped)."""
        return await next_answer(self.socket)

    async def send(self, kind: str, data) -> None:
        # send_input: send_to refuses an empty frame.
        await self.socket.send_input({"type": "websocket.receive", kind: data})

    async def closed_with(self, code: int) -> None:
        """The next output that is not a server event closes the socket with `code`."""
        while True:
            output = await self.socket.receive_output(timeout=3)
            if output.get("type") == "websocket.send" and json.loads(output["text"])["type"] not in ANSWERS:
                continue
            assert output.get("type") == "websocket.close", f"expected a close with {code}, got {output!r}"
            assert output.get("code") == code, f"expected close code {code}, got {output!r}"
            await self.socket.disconnect(timeout=0.1)
            self.socket = None
            return


async def fuzz(fuzzer: Fuzzer, frames: int, rng: random.Random, own_alert_ids: set[int], on_halfway) -> dict:
    """Send `frames` frames, checking each answer; the counts of each outcome."""
    outcomes = {}
    for number in range(frames):
        if number == frames // 2:
            await on_halfway()
        if fuzzer.socket is None:
            await fuzzer.open()
        kind, data = make_frame(rng, fuzzer.path)
        want = expected_answer(kind, data, fuzzer.path, own_alert_ids)
        await fuzzer.send(kind, data)
        if isinstance(want, int):
            await fuzzer.closed_with(want)
            outcomes[want] = outcomes.get(want, 0) + 1
            continue
        frame = await fuzzer.reply()
        got = (frame["type"], frame["data"].get("code") if frame["type"] == "error" else None)
        assert got == want, f"frame {number} ({data[:200]!r}): got {frame}, expected {want}"
        outcomes[got] = outcomes.get(got, 0) + 1
    return outcomes


async def next_answer(socket) -> dict:
    """The next frame that is not a server event."""
    while (frame := await receive_frame(socket))["type"] not in ANSWERS:
        pass
    return frame


async def alert_frames(socket, count: int) -> list[dict]:
    frames = []
    while len(frames) < count:
        frame = await receive_frame(socket)
        if frame["type"] == "alert.created":
            frames.append(frame)
    return frames


@pytest.mark.parametrize("path", [RESPONDER, BOARD])
async def test_thousands_of_bad_frames_crash_nothing_and_disturb_nobody_else(path, dave, bob, carol):
    """Dave (King's Lynn, never alerted to Norwich) or a coordinator sends the frames; bob
    (Norwich) and another coordinator's board must receive every dispatch made meanwhile."""
    fuzzing_user = dave.user if path == RESPONDER else carol
    cookie = await sync_to_async(session_cookie_for)(fuzzing_user)
    bobs = await connect(RESPONDER, bob.user)
    await receive_until_sync_ready(bobs)
    board = await connect(BOARD, carol)
    assert (await receive_frame(board))["type"] == "board.snapshot"
    dispatched = []

    async def dispatch_one():
        incident = await new_incident(carol, f"FUZZ-{len(dispatched) + 1}")
        alerts = await dispatch(carol, incident)
        dispatched.append(alerts["bob"].pk)

    fuzzer = Fuzzer(path, cookie)
    await dispatch_one()
    outcomes = await fuzz(fuzzer, FRAMES_PER_SOCKET, random.Random(SEED + len(path)), set(), dispatch_one)
    await dispatch_one()

    # Every kind of answer was exercised, and the socket was reopened after each close.
    closes = sum(count for outcome, count in outcomes.items() if isinstance(outcome, int))
    assert fuzzer.opened == closes + (1 if fuzzer.socket is not None else 0)
    assert {CloseCode.UNSUPPORTED_DATA, CloseCode.INVALID_PAYLOAD, CloseCode.TOO_BIG} <= set(outcomes)
    assert ("error", "unknown_type") in outcomes and ("pong", None) in outcomes
    if path == RESPONDER:
        assert ("error", "invalid") in outcomes and ("error", "not_found") in outcomes
    # Bob got each alert, once, in order; the other board saw each incident.
    received = await alert_frames(bobs, len(dispatched))
    assert [frame["data"]["alert"]["id"] for frame in received] == dispatched
    board_incidents = set()
    while len(board_incidents) < len(dispatched):
        frame = await receive_frame(board)
        if frame["type"] == "board.incident":
            board_incidents.add(frame["data"]["cad_reference"])
    assert board_incidents == {f"FUZZ-{number}" for number in range(1, len(dispatched) + 1)}
    for socket in (bobs, board):
        await socket.send_json_to({"type": "ping"})
        assert (await next_answer(socket))["type"] == "pong"
        await socket.disconnect()
    if fuzzer.socket is not None:
        await fuzzer.socket.disconnect()


@pytest.mark.parametrize("path", [RESPONDER, BOARD])
async def test_a_2_mb_frame_closes_the_socket_with_4413(path, alice, carol):
    """In process the frame reaches the consumer's check. A real daphne cuts off a message over
    1 MiB before that (tests/realtime/test_bad_frames_live.py)."""
    socket = await connect(path, alice.user if path == RESPONDER else carol)
    await receive_frame(socket)

    await socket.send_to(text_data=json.dumps({"type": "ping", "pad": "x" * TWO_MB}))

    await assert_closed_with(socket, CloseCode.TOO_BIG)


async def test_an_ack_of_ones_own_alert_among_the_fuzz_is_still_accepted(incident, carol, alice):
    """The one well-formed frame a responder may send works after a burst of bad ones."""
    alerts = await dispatch(carol, incident)
    socket = await connect(RESPONDER, alice.user)
    await receive_until_sync_ready(socket)
    rng = random.Random(SEED)
    for _ in range(200):
        frame = {"type": rng.choice(["nope", "alert.ack"]), "alert_id": rng.choice(["1", None, 10**9, 1.5])}
        await socket.send_json_to(frame)
        assert (await next_answer(socket))["type"] == "error"

    await socket.send_json_to({"type": "alert.ack", "alert_id": alerts["alice"].pk})

    reply = await next_answer(socket)
    assert reply == {**reply, "type": "alert.ack.ok", "data": {"alert_id": alerts["alice"].pk}}
    await socket.disconnect()
