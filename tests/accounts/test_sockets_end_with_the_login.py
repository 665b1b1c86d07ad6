"""An open socket closes with 4401 (log in again) when its login ends: logging out (that session's
sockets only), a coordinator's "Sign out everywhere", deactivation, and a session that expires or
idles out while connected (checked when the client next sends a frame). Nothing is sent on a socket
once it is closing."""

import datetime
import math

import pytest
from asgiref.sync import sync_to_async
from autobahn.exception import Disconnected
from django.conf import settings
from django.test import Client
from django.utils import timezone

from backend.accounts import actions, sessions, sockets
from backend.accounts.models import UserSession
from backend.dispatch import positions
from backend.dispatch.actions import dispatch_incident, respond_to_alert
from backend.sockets.consumers import CloseCode, ResponderConsumer
from tests.realtime.sockets import (
    FRAME_TIMEOUT_S,
    assert_closed_with,
    communicator,
    receive_frame,
    receive_until_sync_ready,
    session_cookie_for,
)

pytestmark = pytest.mark.django_db(transaction=True)

RESPONDER = "/ws/responder/"
BOARD = "/ws/coordinator/"


async def open_socket(user, path=RESPONDER):
    """A connected socket with its own new session; the session's key."""
    cookie = await sync_to_async(session_cookie_for)(user)
    socket = communicator(path, cookie=cookie)
    connected, _ = await socket.connect(timeout=FRAME_TIMEOUT_S)
    assert connected
    if path == RESPONDER:
        await receive_until_sync_ready(socket)
    else:
        assert (await receive_frame(socket))["type"] == "board.snapshot"
    return socket, cookie.split("=", 1)[1]


async def assert_still_open(socket) -> None:
    await socket.send_json_to({"type": "ping"})
    assert (await receive_frame(socket))["type"] == "pong"
    await socket.disconnect(timeout=0.1)


@sync_to_async
def log_out(session_key: str) -> None:
    browser = Client()
    browser.cookies[settings.SESSION_COOKIE_NAME] = session_key
    assert browser.post("/api/v1/auth/logout/").status_code == 204


async def test_logging_out_closes_that_sessions_sockets_and_not_the_other_phones(alice):
    phone, key = await open_socket(alice.user)
    tablet, _ = await open_socket(alice.user)

    await log_out(key)

    await assert_closed_with(phone, CloseCode.NOT_LOGGED_IN)
    await assert_still_open(tablet)


@sync_to_async
def going_and_sharing(incident, carol, alice) -> None:
    """Alice accepted the incident's alert and her phone shared a position (on the board's map)."""
    dispatch_incident(actor=carol, incident_id=incident.pk)
    alert = incident.alerts.get(responder=alice)
    respond_to_alert(actor=alice.user, alert_id=alert.pk, response="accept")
    positions.record_alert_position(actor=alice.user, alert_id=alert.pk, latitude=52.63, longitude=1.29)


async def test_a_logout_while_sharing_sends_nothing_on_the_socket_it_closed(incident, carol, alice):
    """Found by a browser trial: the logout's `session.ended` closed the phone's socket, and the same
    logout's `position.cleared` (positions.end_sharing_logged_out) came to it next. Sent on the closed
    socket, daphne raised ("Attempt to send on a closed protocol"): "Exception inside application"."""
    await going_and_sharing(incident, carol, alice)
    phone, key = await open_socket(alice.user)

    await log_out(key)

    output = await phone.receive_output(timeout=FRAME_TIMEOUT_S)
    assert output == {"type": "websocket.close", "code": CloseCode.NOT_LOGGED_IN}
    assert await phone.receive_nothing(timeout=0.5), "sent after the close"
    await phone.disconnect(timeout=0.1)


async def test_a_frame_for_a_socket_its_client_is_closing_is_dropped():
    """daphne tells the consumer that its client has closed only once the connection has gone; a
    frame sent in between is refused with autobahn's Disconnected, which is not let through."""
    consumer = ResponderConsumer()
    refused = []

    async def closing(message):
        refused.append(message)
        raise Disconnected("Attempt to send on a closed protocol")

    consumer.base_send = closing
    await consumer.send(text_data='{"type":"position.cleared"}')
    await consumer.send(text_data='{"type":"position.cleared"}')
    assert len(refused) == 1, "tried again on a socket known to be closing"


async def test_signing_out_everywhere_closes_all_of_their_sockets_only(alice, bob, carol):
    phone, _ = await open_socket(alice.user)
    tablet, _ = await open_socket(alice.user)
    bobs, _ = await open_socket(bob.user)

    await sync_to_async(actions.sign_out_everywhere)(actor=carol, user_ids=[alice.user.pk])

    await assert_closed_with(phone, CloseCode.NOT_LOGGED_IN)
    await assert_closed_with(tablet, CloseCode.NOT_LOGGED_IN)
    await assert_still_open(bobs)


async def test_deactivating_a_user_closes_their_open_sockets(alice, carol):
    phone, _ = await open_socket(alice.user)
    board, _ = await open_socket(carol, BOARD)
    alice.user.is_active = False

    await sync_to_async(alice.user.save)()

    await assert_closed_with(phone, CloseCode.NOT_LOGGED_IN)
    await assert_still_open(board)


async def test_a_session_that_expired_while_connected_closes_at_the_next_frame(alice, monkeypatch):
    monkeypatch.setattr(sockets, "FIREFIGHTER_RECHECK_SECONDS", 0)
    phone, key = await open_socket(alice.user)
    await sync_to_async(UserSession.objects.filter(session_key=key).update)(
        expire_date=timezone.now() - datetime.timedelta(seconds=1)
    )

    await phone.send_json_to({"type": "ping"})

    await assert_closed_with(phone, CloseCode.NOT_LOGGED_IN)


async def test_a_board_left_past_the_staff_limit_closes_at_the_next_frame(carol, monkeypatch):
    monkeypatch.setattr(sockets, "RECHECK_SECONDS", 0)
    board, key = await open_socket(carol, BOARD)

    @sync_to_async
    def eight_hours_pass():
        store = UserSession.objects.get(session_key=key)
        data = store.get_decoded()
        data[sessions.STARTED_AT] -= settings.ADMIN_SESSION_MAX_AGE + 1
        UserSession.objects.save(key, data, store.expire_date)

    await eight_hours_pass()
    await board.send_json_to({"type": "ping"})

    await assert_closed_with(board, CloseCode.NOT_LOGGED_IN)


async def test_a_watched_board_keeps_its_staff_session_from_idling_out(carol, monkeypatch):
    """A wall board is watched, not clicked: its pings count as use."""
    monkeypatch.setattr(sockets, "RECHECK_SECONDS", 0)
    monkeypatch.setattr(sessions, "STAFF_REFRESH_SECONDS", 0)
    board, key = await open_socket(carol, BOARD)

    await board.send_json_to({"type": "ping"})
    assert (await receive_frame(board))["type"] == "pong"

    seen = await sync_to_async(lambda: UserSession.objects.get(session_key=key).get_decoded()[sessions.SEEN_AT])()
    started = await sync_to_async(lambda: UserSession.objects.get(session_key=key).get_decoded()[sessions.STARTED_AT])()
    assert seen > started
    await board.disconnect(timeout=0.1)


async def test_a_phone_pinging_is_checked_against_its_session_every_ten_minutes_a_board_every_minute(
    alice, carol, monkeypatch
):
    # Each check is a database call: at 10,000 phones pinging every 25 s, a check a minute each
    # was some 170 calls a second (docs/scaling.md). A firefighter's session lasts 30 days and its
    # ending closes the socket at once through its groups; a staff session idles out in minutes.
    checks = []
    check = sessions.session_is_live
    monkeypatch.setattr(sessions, "session_is_live", lambda key, user_id: checks.append(user_id) or check(key, user_id))
    phone, _ = await open_socket(alice.user)
    board, _ = await open_socket(carol, BOARD)
    # A whole number of seconds, not before the sockets' own checks: adding 25 s to a fraction
    # rounds, and 24 rounded steps summed to 599.9999999999 s in about 1 run in 15 (flaky in CI).
    clock = [float(math.ceil(sockets._clock()))]
    monkeypatch.setattr(sockets, "_clock", lambda: clock[0])

    async def ping_both_after(seconds: float) -> None:
        clock[0] += seconds
        for socket in (phone, board):
            await socket.send_json_to({"type": "ping"})
            assert (await receive_frame(socket))["type"] == "pong"

    await ping_both_after(600)  # both checked now: the count starts here
    checks.clear()
    for _ in range(23):  # nine and a half minutes of pings every 25 s
        await ping_both_after(25)
    assert checks.count(alice.user.pk) == 0
    assert checks.count(carol.pk) == 7  # every third ping: 75 s apart
    await ping_both_after(25)
    assert checks.count(alice.user.pk) == 1
    await phone.disconnect(timeout=0.1)
    await board.disconnect(timeout=0.1)
