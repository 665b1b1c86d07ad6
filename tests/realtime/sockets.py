"""Opening the product's real ASGI application's sockets in tests, as a browser would: with the
session cookie of a logged-in user and the page's Origin; and receiving frames checked against
their JSON Schema (backend/schemas), so that every test also checks the documented format.
"""

import datetime
import functools
import re

from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client
from jsonschema import Draft202012Validator, FormatChecker

from backend import broadcast, schemas
from backend.asgi import application
from backend.dispatch import actions
from tests.conftest import NORWICH_INCIDENT, pass_second_factor

HOST = "testserver"
SAME_ORIGIN = f"http://{HOST}"
# Only a guard against a hang: the tests assert which frames come and in what order, never how
# fast. 3 s was too short for CI, whose Redis pass runs beside `make test` (browsers, clusters) on
# two cores: a board's snapshot, 26 ms on a quiet machine, was not there after 3 s (6 December
# 2026, test_a_board_opened_after_a_dispatch_is_not_sent_the_dispatch_late). As the two-process
# tests' guard (test_two_daphne_processes.py).
FRAME_TIMEOUT_S = 10


def session_cookie_for(user) -> str:
    """The session cookie of a logged-in user; staff have passed the second factor, as they must
    have for the coordinators' socket."""
    client = Client()
    client.force_login(user)
    if user.is_staff:
        pass_second_factor(client, user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def communicator(path: str, *, cookie: str | None = None, origin: str | None = SAME_ORIGIN, host: str = HOST):
    headers = [(b"host", host.encode())]
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    if cookie:
        headers.append((b"cookie", cookie.encode()))
    return WebsocketCommunicator(application, path, headers=headers)


async def connect(path: str, user=None, **options) -> WebsocketCommunicator:
    """A socket whose handshake was accepted (it may still be closed at once with a 44xx code). What
    the test did before (a dispatch on the ORM's thread) has been sent to the groups first: without
    that, on Redis, a board opened after a dispatch received the dispatch's board.incident late."""
    await broadcast.sent()
    cookie = await sync_to_async(session_cookie_for)(user) if user is not None else None
    socket = communicator(path, cookie=cookie, **options)
    connected, _ = await socket.connect(timeout=FRAME_TIMEOUT_S)
    assert connected, f"The handshake for {path} was refused"
    return socket


async def assert_closed_with(socket: WebsocketCommunicator, code: int) -> None:
    """The server's next output closes the socket with `code` (and sends no frame before it)."""
    output = await socket.receive_output(timeout=FRAME_TIMEOUT_S)
    assert output.get("type") == "websocket.close", f"Expected a close with {code}, got {output!r}"
    assert output.get("code") == code, f"Expected close code {code}, got {output.get('code')}"
    # The client hangs up at once, as a browser does. With channels_redis a consumer that goes
    # that fast can hang for seconds in its first Redis read; cancel it rather than wait a second.
    await socket.disconnect(timeout=0.1)


# --- Frames checked against their schema ------------------------------------------------------

# jsonschema checks "date-time" only if the optional rfc3339-validator package is installed; it is
# not a dependency, so without this checker a malformed timestamp would pass unnoticed.
_RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)")
FORMAT_CHECKER = FormatChecker(formats=())
FORMAT_CHECKER.checkers.update(Draft202012Validator.FORMAT_CHECKER.checkers)


@FORMAT_CHECKER.checks("date-time", raises=ValueError)
def _is_rfc3339(value) -> bool:
    if not isinstance(value, str):
        return True  # "format" applies to strings only
    if not _RFC3339.fullmatch(value):
        return False
    datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))  # month 13, hour 25, ... raise
    return True


@functools.cache
def frame_validator(frame_type: str) -> Draft202012Validator:
    return Draft202012Validator(schemas.load(f"event.{frame_type}"), format_checker=FORMAT_CHECKER)


def assert_valid_frame(frame) -> dict:
    """`frame`, after checking that it is an event with a schema and matches that schema."""
    assert isinstance(frame, dict) and isinstance(frame.get("type"), str), f"Not an event frame: {frame!r}"
    assert frame["type"] in schemas.event_types(), f"No schema for frames of type {frame['type']!r}"
    errors = [
        f"{'/'.join(map(str, error.absolute_path)) or '(frame)'}: {error.message}"
        for error in frame_validator(frame["type"]).iter_errors(frame)
    ]
    assert not errors, f"This {frame['type']} frame breaks its schema:\n" + "\n".join(errors)
    return frame


async def receive_frame(socket: WebsocketCommunicator, *, timeout: float = FRAME_TIMEOUT_S) -> dict:
    """The next frame from the server, checked against the schema of its type."""
    return assert_valid_frame(await socket.receive_json_from(timeout=timeout))


async def receive_frames(socket: WebsocketCommunicator, count: int) -> list[dict]:
    return [await receive_frame(socket) for _ in range(count)]


async def receive_until_sync_ready(socket: WebsocketCommunicator) -> tuple[list[dict], dict]:
    """The replayed frames, then the sync.ready frame that ends the replay."""
    replayed = []
    while (frame := await receive_frame(socket))["type"] != "sync.ready":
        replayed.append(frame)
    return replayed, frame


# --- Acting while sockets are open ---------------------------------------------------------------


@sync_to_async
def dispatch(actor, incident) -> dict:
    """Dispatch `incident`; the alerts created, by username."""
    alerts = actions.dispatch_incident(actor=actor, incident_id=incident.pk)
    return {alert.responder.user.username: alert for alert in alerts}


@sync_to_async
def new_incident(actor, cad_reference: str):
    return actions.create_incident(
        actor=actor,
        cad_reference=cad_reference,
        latitude=NORWICH_INCIDENT[0],
        longitude=NORWICH_INCIDENT[1],
        address="3 Other Street, Norwich",
    )
