"""Frames that break the socket protocol, sent to a real daphne process: each closes only the
sender's socket, with the code docs/events.md gives for it, and the server logs no exception.

The in-process tests (test_socket_security.py) cannot see the failure this guards against: the
test communicator accepts any close code, but daphne refuses any an application may not use
(1003, 1007, 1009: "invalid close code ... must be 1000 or from [3000, 4999]"), logs an exception,
and the client saw 1011.

While each bad frame is sent, bob holds a socket of his own; a dispatch made through the API just
after must reach him as usual.
"""

import contextlib
import http.client
import json
import uuid

import pytest
import websockets.sync.client
from websockets.exceptions import ConnectionClosed

from backend.sockets.consumers import CloseCode
from tests.conftest import NORWICH_INCIDENT
from tests.support import live_server

START_TIMEOUT_S = 60  # a start-up, not a measure: slow on a busy two-core machine
FRAME_TIMEOUT_S = 10
# What daphne (autobahn) itself allows in one message or frame, by default: 1 MiB.
DAPHNE_MAX_MESSAGE_BYTES = 1024 * 1024

# Run in the server's database by `manage.py shell`: two firefighters at Norwich with a session
# each, and the ambulance dispatch system with a token. Prints them as JSON on its last line.
SETUP = """
import json
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client
from knox.models import AuthToken
from backend.roles import DISPATCH_SYSTEMS
from tests.conftest import NORWICH, make_firefighter, make_station

norwich = make_station("Norwich", "norwich", NORWICH)
cookies = {}
for name in ("alice", "bob"):
    client = Client()
    client.force_login(make_firefighter(name, norwich).user)
    cookies[name] = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
cad = get_user_model().objects.create_user(username="cad")
cad.groups.add(Group.objects.get(name=DISPATCH_SYSTEMS))
print(json.dumps({"cookies": cookies, "token": AuthToken.objects.create(user=cad, expiry=None)[1]}))
"""


class Server:
    def __init__(self, port: int, log_path, people: dict):
        self.port = port
        self.log_path = log_path
        self.cookies = people["cookies"]
        self.token = people["token"]
        self.origin = f"http://127.0.0.1:{port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    @contextlib.contextmanager
    def socket_of(self, name: str):
        """`name`'s responder socket, past its sync.ready frame; closed when the block ends."""
        with websockets.sync.client.connect(
            f"ws://127.0.0.1:{self.port}/ws/responder/",
            origin=self.origin,
            additional_headers={"Cookie": self.cookies[name]},
            open_timeout=FRAME_TIMEOUT_S,
            max_size=None,
        ) as socket:
            assert next_frame(socket)["type"] == "sync.ready"
            yield socket

    def dispatch(self) -> str:
        """Create and dispatch an incident in Norwich through the API, as the CAD does; its reference."""
        cad_reference = f"LIVE-{uuid.uuid4().hex[:8]}"
        body = {
            "cad_reference": cad_reference,
            "latitude": NORWICH_INCIDENT[0],
            "longitude": NORWICH_INCIDENT[1],
            "address": "3 Other Street, Norwich",
            "dispatch": True,
        }
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=FRAME_TIMEOUT_S)
        try:
            connection.request(
                "POST",
                "/api/v1/incidents/",
                body=json.dumps(body),
                headers={"Content-Type": "application/json", "Authorization": f"Token {self.token}"},
            )
            response = connection.getresponse()
            assert response.status == 201, response.read()[:500]
        finally:
            connection.close()
        return cad_reference


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One daphne process, as deployed, on a SQLite file of its own with the in-memory layer."""
    directory = tmp_path_factory.mktemp("bad-frames")
    port = live_server.free_port()
    env = live_server.embedded_env(directory / "db.sqlite3", f"http://127.0.0.1:{port}")
    live_server.manage(env, "migrate", "--verbosity", "0", timeout=120)
    people = json.loads(live_server.manage(env, "shell", "-c", SETUP, timeout=60).strip().splitlines()[-1])
    log_path = directory / "daphne.log"
    with live_server.running(
        live_server.daphne_command(port),
        env,
        log_path,
        port=port,
        timeout=START_TIMEOUT_S,
        name="daphne",
        http_path=live_server.READY_PATH,
    ):
        yield Server(port, log_path, people)


def next_frame(socket) -> dict:
    return json.loads(socket.recv(timeout=FRAME_TIMEOUT_S))


def close_code_after(socket, frame) -> int | None:
    """Send `frame` and wait for the server to close the socket: the code it closed with (None if
    it dropped the connection without a close frame)."""
    socket.send(frame)
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            socket.recv(timeout=FRAME_TIMEOUT_S)
    return closed.value.rcvd.code if closed.value.rcvd is not None else None


def assert_still_served(server: Server, bystander) -> None:
    """The bystander's socket gets the alert of a dispatch made now, and answers a ping."""
    cad_reference = server.dispatch()
    frame = next_frame(bystander)
    while frame["type"] != "alert.created":
        frame = next_frame(bystander)
    assert frame["data"]["alert"]["incident"]["cad_reference"] == cad_reference, frame
    bystander.send(json.dumps({"type": "ping"}))
    assert next_frame(bystander)["type"] == "pong"


def assert_no_exception_logged(log: str) -> None:
    for sign in ("Traceback", "Exception", "invalid close code"):
        assert sign not in log, f"daphne logged {sign!r}:\n{log[-3000:]}"


def nested(depth: int) -> str:
    return '{"type": "ping", "data": ' + "[" * depth + "]" * depth + "}"


BAD_FRAMES = {
    "binary": (json.dumps({"type": "ping"}).encode(), CloseCode.UNSUPPORTED_DATA),
    "not-json": ("{not json", CloseCode.INVALID_PAYLOAD),
    "json-array": ('[{"type": "ping"}]', CloseCode.INVALID_PAYLOAD),
    "json-string": ('"ping"', CloseCode.INVALID_PAYLOAD),
    "type-not-a-string": ('{"type": 5}', CloseCode.INVALID_PAYLOAD),
    "over-the-size-limit": (json.dumps({"type": "ping", "pad": "x" * 5000}), CloseCode.TOO_BIG),
    "nested-1000-deep": (nested(1000), CloseCode.INVALID_PAYLOAD),
}


@pytest.mark.processes
@pytest.mark.parametrize(("frame", "code"), BAD_FRAMES.values(), ids=BAD_FRAMES.keys())
def test_a_bad_frame_closes_only_its_socket_with_its_code_and_no_exception(server, frame, code):
    with server.socket_of("bob") as bystander, server.socket_of("alice") as socket:
        logged_before = len(server.log())

        assert close_code_after(socket, frame) == code

        assert_still_served(server, bystander)
    assert_no_exception_logged(server.log()[logged_before:])


def test_the_codes_are_ones_an_application_may_close_with():
    codes = {value for name, value in vars(CloseCode).items() if name.isupper()}
    assert all(4000 <= code <= 4999 for code in codes), codes


@pytest.mark.processes
def test_a_frame_over_daphnes_own_limit_is_cut_off_by_daphne_and_disturbs_nobody(server):
    """daphne refuses a message over 1 MiB itself, before the application sees it: it drops the
    connection without a close frame (the client sees 1006; autobahn could also send 1009). The
    socket's own limit, far below, is what clients meet. docs/events.md says so."""
    with server.socket_of("bob") as bystander, server.socket_of("alice") as socket:
        logged_before = len(server.log())

        code = close_code_after(socket, json.dumps({"type": "ping", "pad": "x" * DAPHNE_MAX_MESSAGE_BYTES}))

        assert code in (None, 1009)
        assert_still_served(server, bystander)
    assert_no_exception_logged(server.log()[logged_before:])
