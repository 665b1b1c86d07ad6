"""Who may open which socket, from which page, and what a socket does with frames it cannot accept.

Every frame received is checked against its JSON Schema (tests/realtime/sockets.py)."""

import json

import pytest
from asgiref.sync import sync_to_async

from backend.dispatch import actions
from backend.sockets.consumers import CloseCode
from tests.realtime.sockets import (
    assert_closed_with,
    communicator,
    connect,
    receive_frame,
    receive_until_sync_ready,
    session_cookie_for,
)

pytestmark = pytest.mark.django_db(transaction=True)

RESPONDER = "/ws/responder/"
BOARD = "/ws/coordinator/"


@pytest.fixture
def user_of(request):
    """The user of the persona named by the test's parameter (a firefighter's is their user)."""
    person = request.getfixturevalue(request.param)
    return getattr(person, "user", person)


async def open_responder_socket(responder):
    socket = await connect(RESPONDER, responder.user)
    await receive_until_sync_ready(socket)
    return socket


async def assert_still_open(socket) -> None:
    await socket.send_json_to({"type": "ping"})
    assert (await receive_frame(socket))["type"] == "pong"


# --- Authentication and roles -------------------------------------------------------------------------


@pytest.mark.parametrize("path", [RESPONDER, BOARD])
async def test_it_closes_anonymous_sockets_with_4401(db, path):
    socket = await connect(path)

    await assert_closed_with(socket, CloseCode.NOT_LOGGED_IN)


@pytest.mark.parametrize("path", [RESPONDER, BOARD])
async def test_it_treats_a_forged_session_cookie_as_anonymous(db, path):
    socket = communicator(path, cookie="sessionid=not-a-real-session")
    connected, _ = await socket.connect()

    assert connected
    await assert_closed_with(socket, CloseCode.NOT_LOGGED_IN)


async def test_it_closes_the_socket_of_a_deactivated_firefighter_with_4401(alice):
    cookie = await sync_to_async(session_cookie_for)(alice.user)
    alice.user.is_active = False
    await sync_to_async(alice.user.save)()

    socket = communicator(RESPONDER, cookie=cookie)
    connected, _ = await socket.connect()

    assert connected
    await assert_closed_with(socket, CloseCode.NOT_LOGGED_IN)


@pytest.mark.parametrize("user_of", ["carol", "nobody", "cad"], indirect=True)
async def test_it_closes_the_responder_socket_to_anyone_but_firefighters(user_of):
    socket = await connect(RESPONDER, user_of)

    await assert_closed_with(socket, CloseCode.NOT_ALLOWED)


# --- Origin -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "origin",
    ["https://evil.example", "http://testserver.evil.example", "http://testserver:8443", "null", None],
    ids=["other-site", "lookalike-host", "other-port", "null", "missing"],
)
@pytest.mark.parametrize("path", [RESPONDER, BOARD])
async def test_it_refuses_handshakes_from_other_origins(alice, carol, path, origin):
    user = alice.user if path == RESPONDER else carol
    socket = communicator(path, cookie=await sync_to_async(session_cookie_for)(user), origin=origin)

    connected, _ = await socket.connect()

    assert not connected


async def test_it_refuses_a_same_origin_handshake_to_a_host_not_allowed(alice):
    # Origin equal to Host proves nothing if the Host itself is the attacker's name.
    cookie = await sync_to_async(session_cookie_for)(alice.user)
    socket = communicator(RESPONDER, cookie=cookie, origin="http://attacker.example", host="attacker.example")

    connected, _ = await socket.connect()

    assert not connected


async def test_it_accepts_an_origin_listed_in_allowed_origins(alice, settings):
    settings.ALLOWED_ORIGINS = ["https://pwa.example.nhs.uk"]

    socket = await connect(RESPONDER, alice.user, origin="https://pwa.example.nhs.uk")

    assert (await receive_frame(socket))["type"] == "sync.ready"
    await socket.disconnect()


# --- last_event_id --------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["abc", "-1", "1.5", "0x10"])
async def test_it_closes_with_4400_for_a_bad_last_event_id(alice, value):
    socket = await connect(f"{RESPONDER}?last_event_id={value}", alice.user)

    await assert_closed_with(socket, CloseCode.BAD_REQUEST)


# --- Frames a client sends ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "{not json",
        "",
        '"ping"',
        "[1, 2]",
        "null",
        "42",
        '{"alert_id": 1}',
        '{"type": 7}',
        '{"type": null}',
        '{"type": "ping", "data": ' + "[" * 1000 + "]" * 1000 + "}",
        '{"type": "ping", "type": "alert.ack", "alert_id": 1}',
        '{"type": "alert.ack", "alert_id": NaN}',
        '{"type": "alert.ack", "alert_id": ' + "9" * 5000 + "}",
    ],
    ids=[
        "broken",
        "empty",
        "string",
        "array",
        "null",
        "number",
        "no-type",
        "number-type",
        "null-type",
        "nested-1000-deep",
        "duplicate-key",
        "nan",
        "5000-digit-number",
    ],
)
async def test_it_closes_with_4422_for_frames_that_are_not_event_objects(alice, settings, text):
    settings.WEBSOCKET_MAX_MESSAGE_BYTES = 64 * 1024  # so that the long frames are read, not refused for size
    socket = await open_responder_socket(alice)

    await socket.send_input({"type": "websocket.receive", "text": text})  # send_to refuses ""

    await assert_closed_with(socket, CloseCode.INVALID_PAYLOAD)


async def test_it_closes_the_board_with_4422_for_malformed_json(carol):
    socket = await connect(BOARD, carol)
    await receive_frame(socket)

    await socket.send_to(text_data="{")

    await assert_closed_with(socket, CloseCode.INVALID_PAYLOAD)


async def test_it_answers_an_unknown_type_with_an_error_and_stays_open(alice):
    socket = await open_responder_socket(alice)

    await socket.send_json_to({"type": "alert.delete", "alert_id": 1})

    error = await receive_frame(socket)
    assert error["type"] == "error"
    assert error["data"]["code"] == "unknown_type"
    await assert_still_open(socket)
    await socket.disconnect()


@pytest.mark.parametrize("path", [RESPONDER, BOARD])
async def test_it_closes_with_4415_for_a_binary_frame(alice, carol, path):
    socket = await connect(path, alice.user if path == RESPONDER else carol)
    await receive_frame(socket)

    await socket.send_to(bytes_data=json.dumps({"type": "ping"}).encode())

    await assert_closed_with(socket, CloseCode.UNSUPPORTED_DATA)


def ping_of_exactly(size: int, filler: str = "x") -> str:
    """A ping frame of exactly `size` bytes of UTF-8, padded mostly with `filler`."""
    room = size - len(json.dumps({"type": "ping", "pad": ""}).encode())
    per_char = len(filler.encode())
    pad = filler * (room // per_char) + "x" * (room % per_char)
    text = json.dumps({"type": "ping", "pad": pad}, ensure_ascii=False)
    assert len(text.encode()) == size
    return text


async def test_it_accepts_a_frame_of_exactly_the_size_limit(alice, settings):
    settings.WEBSOCKET_MAX_MESSAGE_BYTES = 512
    socket = await open_responder_socket(alice)

    await socket.send_to(text_data=ping_of_exactly(512))

    assert (await receive_frame(socket))["type"] == "pong"
    await socket.disconnect()


@pytest.mark.parametrize("filler", ["x", "é"], ids=["ascii", "two-byte-characters"])
async def test_it_closes_with_4413_for_a_frame_over_the_size_limit(alice, settings, filler):
    # With two-byte characters the frame is under the limit in characters but over it in bytes.
    settings.WEBSOCKET_MAX_MESSAGE_BYTES = 512
    socket = await open_responder_socket(alice)

    await socket.send_to(text_data=ping_of_exactly(514, filler))

    await assert_closed_with(socket, CloseCode.TOO_BIG)


async def test_it_closes_with_4413_at_the_default_limit(alice):
    socket = await open_responder_socket(alice)

    await socket.send_to(text_data=ping_of_exactly(4096 + 2))

    await assert_closed_with(socket, CloseCode.TOO_BIG)


BAD_FRAMES = {
    "binary": ({"bytes": b'{"type": "ping"}'}, CloseCode.UNSUPPORTED_DATA),
    "not-json": ({"text": "{not json"}, CloseCode.INVALID_PAYLOAD),
    "json-array": ({"text": '[{"type": "ping"}]'}, CloseCode.INVALID_PAYLOAD),
    "json-string": ({"text": '"ping"'}, CloseCode.INVALID_PAYLOAD),
    "type-not-a-string": ({"text": '{"type": 5}'}, CloseCode.INVALID_PAYLOAD),
    "over-the-size-limit": ({"text": json.dumps({"type": "ping", "pad": "x" * 5000})}, CloseCode.TOO_BIG),
    "nested-1000-deep": ({"text": '{"type": "ping", "x": ' + "[" * 1000 + "]" * 1000 + "}"}, CloseCode.INVALID_PAYLOAD),
}


@pytest.mark.parametrize(("frame", "code"), BAD_FRAMES.values(), ids=BAD_FRAMES.keys())
async def test_one_clients_bad_frame_does_not_affect_another(incident, carol, alice, bob, frame, code):
    """Through a real daphne too: tests/realtime/test_bad_frames_live.py."""
    alices = await open_responder_socket(alice)
    bobs = await open_responder_socket(bob)

    await alices.send_input({"type": "websocket.receive", **frame})
    await assert_closed_with(alices, code)
    alerts = await sync_to_async(actions.dispatch_incident)(actor=carol, incident_id=incident.pk)

    created = await receive_frame(bobs)
    assert created["type"] == "alert.created"
    assert created["data"]["alert"]["id"] == next(alert.pk for alert in alerts if alert.responder_id == bob.pk)
    await assert_still_open(bobs)
    await bobs.disconnect()
