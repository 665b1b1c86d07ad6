# ruff: noqa: E501  (the matrix reads best one row per line)
"""Who may open which socket and send which frame: the socket part of the permission matrix
(tests/security/test_permission_matrix.py has the API, the admin and /healthz).

Every socket route and every frame type a consumer accepts must have an entry here: a new socket or
frame type without one fails test_every_socket_route_has_an_entry or
test_every_socket_frame_type_has_an_entry. Each entry is tried as every role (tests/security/world.py).

Its own module because its world is committed (transactional_db): the consumers read the database
on their own thread, through their own connection, and would not see the rows of a transaction that
the API matrix's world, built once per module, keeps open.
"""

import pytest
from asgiref.sync import sync_to_async
from knox.models import AuthToken

from backend.sockets.consumers import CloseCode
from tests.realtime.sockets import assert_closed_with, connect, receive_frame
from tests.security.world import (
    FIREFIGHTERS,
    ROLES,
    SECRETS,
    accepted_frame_types,
    build_world,
    documented_client_frames,
    socket_routes,
)

# Socket route -> {role: what happens}: "open" (the first frame comes), or the close code.
SOCKET_MATRIX = {
    "/ws/responder/": {
        "anonymous": CloseCode.NOT_LOGGED_IN,
        **dict.fromkeys(FIREFIGHTERS, "open"),
        **dict.fromkeys(("coordinator", "welfare_lead", "machine", "nobody"), CloseCode.NOT_ALLOWED),
    },
    "/ws/coordinator/": {
        "anonymous": CloseCode.NOT_LOGGED_IN,
        "coordinator": "open",
        **dict.fromkeys((*FIREFIGHTERS, "welfare_lead", "machine", "nobody"), CloseCode.NOT_ALLOWED),
    },
}
# (socket route, frame type) -> the frame sent and, per role that may open the socket, the answer:
# the reply's type, and for an error its code. {alert} is alice's alert on incident A.
FRAME_MATRIX = {
    ("/ws/responder/", "ping"): ({"type": "ping"}, dict.fromkeys(FIREFIGHTERS, ("pong", None))),
    ("/ws/responder/", "alert.ack"): (
        {"type": "alert.ack", "alert_id": "{alert}"},
        {"firefighter": ("alert.ack.ok", None), "other_station_firefighter": ("error", "not_found"), "crew_lead": ("error", "not_found")},
    ),
    ("/ws/coordinator/", "ping"): ({"type": "ping"}, {"coordinator": ("pong", None)}),
}  # fmt: skip


def test_every_socket_route_has_an_entry():
    assert set(socket_routes()) == set(SOCKET_MATRIX)
    assert all(set(expected) == set(ROLES) for expected in SOCKET_MATRIX.values())


def test_every_socket_frame_type_has_an_entry():
    """A consumer that starts accepting a new frame type must say who may send it."""
    accepted = {(path, frame_type) for path, cls in socket_routes().items() for frame_type in accepted_frame_types(cls)}
    assert accepted == set(FRAME_MATRIX)
    # And the documentation lists the same frames (docs/events.md, "Frames a client may send").
    documented = {
        (f"/ws/{socket}/", frame_type)
        for frame_type, sockets in documented_client_frames().items()
        for socket in sockets
    }
    assert documented == accepted


@pytest.fixture
def socket_world(transactional_db, alice, charlie, erin, carol, wendy, cad, nobody):
    return build_world(alice=alice, charlie=charlie, erin=erin, carol=carol, wendy=wendy, cad=cad, nobody=nobody)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("path", sorted(SOCKET_MATRIX))
async def test_the_socket_permission_matrix(socket_world, path, role):
    socket = await connect(path, socket_world.users[role])
    want = SOCKET_MATRIX[path][role]
    if want != "open":
        await assert_closed_with(socket, want)
        return
    first = await receive_frame(socket)
    assert first["type"] in ("sync.ready", "board.snapshot")
    for (frame_path, _frame_type), (frame, answers) in FRAME_MATRIX.items():
        if frame_path != path:
            continue
        sent = {key: (socket_world.alert if value == "{alert}" else value) for key, value in frame.items()}
        await socket.send_json_to(sent)
        reply = await receive_frame(socket)
        want_type, want_code = answers[role]
        assert reply["type"] == want_type, (role, sent, reply)
        if want_code:
            assert reply["data"]["code"] == want_code
            leaked = [secret for secret in SECRETS if secret in str(reply)]
            assert not leaked, (role, reply)
    await socket.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_a_socket_ignores_an_api_token(socket_world):
    """Machine clients use the REST API: a token on a socket handshake does not log it in."""
    from tests.realtime.sockets import communicator

    _, token = await sync_to_async(AuthToken.objects.create)(user=socket_world.users["machine"], expiry=None)
    socket = communicator("/ws/coordinator/")
    socket.scope["headers"].append((b"authorization", f"Token {token}".encode()))
    connected, _ = await socket.connect()

    assert connected
    await assert_closed_with(socket, CloseCode.NOT_LOGGED_IN)


@pytest.mark.django_db(transaction=True)
async def test_a_responder_frame_type_is_not_accepted_on_the_board(socket_world):
    """Frame types are per socket: alert.ack on the board is an unknown type there."""
    board = await connect("/ws/coordinator/", socket_world.users["coordinator"])
    await receive_frame(board)

    await board.send_json_to({"type": "alert.ack", "alert_id": socket_world.alert})

    reply = await receive_frame(board)
    assert (reply["type"], reply["data"]["code"]) == ("error", "unknown_type")
    await board.disconnect()
