"""A firefighter counts as logged out on the boards only when no login of theirs is left. Found by a
browser trial: Alex, logged in on two phones (neither a push phone) and going to a job, logged out
of the second; the first stayed connected and sent "En route", and the wall read "En route · logged
out at 12:34:46, no push phone" in red, the admin's board "Logged out at 12:34:46", until he logged
in again (backend/dispatch/presence.py, _still_logged_in_elsewhere). A responder shown logged out
whose phone, still logged in, answers or connects its socket is shown logged in again (seen_in_app)."""

from unittest import mock

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from backend.accounts.models import Responder, UserSession
from backend.dispatch import payloads
from backend.dispatch.actions import dispatch_incident, respond_to_alert
from tests.delivery.test_subscriptions_follow_the_person import browser_of, log_out
from tests.realtime.sockets import FRAME_TIMEOUT_S, communicator, receive_until_sync_ready, session_cookie_for


def board_frames(send, kind: str) -> list[dict]:
    return [data for call in send.call_args_list for each, data in call.args[0] if each == kind]


def board_says(alert) -> str | None:
    alert.refresh_from_db()
    alert.responder.refresh_from_db()
    return payloads.board_alert(alert)["responder_logged_out_at"]


@pytest.fixture
def accepted(incident, carol, alice):
    dispatch_incident(actor=carol, incident_id=incident.pk)
    alert = incident.alerts.get(responder=alice)
    respond_to_alert(actor=alice.user, alert_id=alert.pk, response="accept")
    return alert


@pytest.mark.django_db
def test_logging_out_of_one_of_two_phones_logged_in_does_not_show_them_logged_out(accepted, alice):
    first, second = browser_of(alice.user), browser_of(alice.user)  # no push subscription on either

    with mock.patch("backend.realtime.events.send_to_board") as send:
        assert log_out(second).status_code == 204

    assert board_frames(send, "board.responder") == []
    assert board_says(accepted) is None
    # The first phone, still logged in, goes on: still not logged out.
    response = first.post(
        f"/api/v1/alerts/{accepted.pk}/respond/",
        {"response": "en_route"},
        content_type="application/json",
        headers={"X-CSRFToken": first.get("/api/v1/auth/csrf/").json()["csrf_token"]},
    )
    assert response.status_code == 200, response.content
    assert board_says(accepted) is None

    # Logging out of that one too leaves no login: logged out.
    with mock.patch("backend.realtime.events.send_to_board") as send:
        assert log_out(first).status_code == 204
    alice.refresh_from_db()
    assert alice.logged_out_at is not None
    assert board_says(accepted) == alice.logged_out_at.isoformat()
    [frame] = board_frames(send, "board.responder")
    assert frame["responder_id"] == alice.pk and frame["logged_out_at"] == alice.logged_out_at.isoformat()


@pytest.mark.django_db
def test_an_expired_session_elsewhere_is_no_login(accepted, alice):
    browser_of(alice.user)
    UserSession.objects.update(expire_date=timezone.now())  # that phone's login has run out
    assert log_out(browser_of(alice.user)).status_code == 204
    alice.refresh_from_db()
    assert alice.logged_out_at is not None


@pytest.mark.django_db
def test_an_answer_from_a_phone_still_logged_in_clears_a_stale_logout(accepted, alice):
    phone = browser_of(alice.user)
    Responder.objects.filter(pk=alice.pk).update(logged_out_at=timezone.now())  # as left before the fix
    assert board_says(accepted) is not None

    with mock.patch("backend.realtime.events.send_to_board") as send:
        response = phone.post(
            f"/api/v1/alerts/{accepted.pk}/respond/",
            {"response": "en_route"},
            content_type="application/json",
            headers={"X-CSRFToken": phone.get("/api/v1/auth/csrf/").json()["csrf_token"]},
        )
    assert response.status_code == 200, response.content
    assert board_says(accepted) is None
    [frame] = board_frames(send, "board.responder")
    assert frame["responder_id"] == alice.pk and frame["logged_out_at"] is None


@pytest.mark.django_db(transaction=True)
async def test_a_socket_connected_by_a_phone_still_logged_in_clears_a_stale_logout(alice):
    await sync_to_async(Responder.objects.filter(pk=alice.pk).update)(logged_out_at=timezone.now())
    cookie = await sync_to_async(session_cookie_for)(alice.user)

    with mock.patch("backend.realtime.events.send_to_board") as send:
        socket = communicator("/ws/responder/", cookie=cookie)
        connected, _ = await socket.connect(timeout=FRAME_TIMEOUT_S)
        assert connected
        await receive_until_sync_ready(socket)
        await socket.disconnect(timeout=0.1)

    await sync_to_async(alice.refresh_from_db)()
    assert alice.logged_out_at is None
    [frame] = board_frames(send, "board.responder")
    assert frame["responder_id"] == alice.pk and frame["logged_out_at"] is None
