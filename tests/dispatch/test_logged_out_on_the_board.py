"""A firefighter who logs out of the app is shown so on the coordinators' boards: at once (a
`board.responder` frame), and after a reload (their alerts' `responder_logged_out_at`), until they
log in to the app again (backend/dispatch/presence.py). Found by a browser trial: one who logged
out mid-job still read "En route · seen in the open app" on the board."""

from unittest import mock

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from backend.audit.models import AuditAction, AuditEntry
from backend.dispatch import payloads
from backend.dispatch.actions import dispatch_incident, respond_to_alert
from backend.errors import NotAllowed
from backend.realtime import events
from tests.api.helpers import assert_matches
from tests.conftest import admin_client_for, browser_subscription
from tests.delivery.test_subscriptions_follow_the_person import PHONE, TABLET, browser_of, log_out, subscribe

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def fast_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def en_route(incident, carol, alice, bob):
    dispatch_incident(actor=carol, incident_id=incident.pk)
    alert = incident.alerts.get(responder=alice)
    respond_to_alert(actor=alice.user, alert_id=alert.pk, response="accept")
    respond_to_alert(actor=alice.user, alert_id=alert.pk, response="en_route")
    return alert


def board_frames(send, kind: str) -> list[dict]:
    return [data for call in send.call_args_list for each, data in call.args[0] if each == kind]


def fresh_board_alert(alert) -> dict:
    alert.refresh_from_db()
    alert.responder.refresh_from_db()
    data = payloads.board_alert(alert)
    assert_matches("board_alert", data)
    return data


def log_in(username: str) -> Client:
    browser = Client(enforce_csrf_checks=True)
    token = browser.get("/api/v1/auth/csrf/").json()["csrf_token"]
    response = browser.post(
        "/api/v1/auth/login/",
        {"username": username, "password": PASSWORD},
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 200, response.content
    return browser


def test_every_board_is_told_at_once_when_a_firefighter_logs_out(en_route, alice):
    with mock.patch("backend.realtime.events.send_to_board") as send:
        assert log_out(browser_of(alice.user)).status_code == 204

    [frame] = board_frames(send, "board.responder")
    alice.refresh_from_db()
    assert alice.logged_out_at is not None
    assert frame == {
        "responder_id": alice.pk,
        "logged_out_at": alice.logged_out_at.isoformat(),
        "on_call": True,
        "on_call_changed_at": None,
        "changed_at": alice.logged_out_at.isoformat(),
    }
    assert_matches("event.board.responder", events.envelope(type="board.responder", data=frame))


def test_their_alerts_say_it_after_a_reload(en_route, alice, bob, carol):
    assert fresh_board_alert(en_route)["responder_logged_out_at"] is None

    log_out(browser_of(alice.user))

    alice.refresh_from_db()
    assert fresh_board_alert(en_route)["responder_logged_out_at"] == alice.logged_out_at.isoformat()
    # The snapshot a board reads on connecting carries it with the alert.
    from backend.sockets.consumers import _board_snapshot

    snapshot = _board_snapshot.func(carol, None)
    by_alert = {alert["id"]: alert for alert in snapshot["alerts"]}
    assert by_alert[en_route.pk]["responder_logged_out_at"] == alice.logged_out_at.isoformat()
    bobs = en_route.incident.alerts.get(responder=bob)
    assert by_alert[bobs.pk]["responder_logged_out_at"] is None  # only hers


def test_logging_in_to_the_app_again_clears_it_and_tells_the_boards(en_route, alice):
    alice.user.set_password(PASSWORD)
    alice.user.save()
    log_out(browser_of(alice.user))

    with mock.patch("backend.realtime.events.send_to_board") as send:
        log_in("alice")

    alice.refresh_from_db()
    assert alice.logged_out_at is None
    [frame] = board_frames(send, "board.responder")
    assert frame["responder_id"] == alice.pk and frame["logged_out_at"] is None
    assert fresh_board_alert(en_route)["responder_logged_out_at"] is None


def test_a_login_of_one_who_had_not_logged_out_tells_the_boards_nothing(alice):
    alice.user.set_password(PASSWORD)
    alice.user.save()
    with mock.patch("backend.realtime.events.send_to_board") as send:
        log_in("alice")
    assert board_frames(send, "board.responder") == []


def test_the_phone_s_own_alert_does_not_carry_it(en_route, alice):
    log_out(browser_of(alice.user))
    en_route.refresh_from_db()
    detail = payloads.alert_detail(en_route)
    assert "responder_logged_out_at" not in detail
    assert_matches("alert", detail)


def test_logging_out_of_one_of_two_phones_still_rung_tells_the_boards_nothing(en_route, alice):
    """Her tablet still holds its subscription, so her alerts still ring there: not logged out."""
    phone, tablet = PHONE, TABLET
    subscribe(alice.user, browser_subscription(phone))
    subscribe(alice.user, browser_subscription(tablet))
    with mock.patch("backend.realtime.events.send_to_board") as send:
        assert log_out(browser_of(alice.user), {"endpoint": phone}).status_code == 204

    assert board_frames(send, "board.responder") == []
    alice.refresh_from_db()
    assert alice.logged_out_at is None
    assert fresh_board_alert(en_route)["responder_logged_out_at"] is None


def test_logging_out_of_the_last_phone_still_rung_tells_the_boards(en_route, alice):
    phone = PHONE
    subscribe(alice.user, browser_subscription(phone))
    with mock.patch("backend.realtime.events.send_to_board") as send:
        assert log_out(browser_of(alice.user), {"endpoint": phone}).status_code == 204

    assert len(board_frames(send, "board.responder")) == 1
    alice.refresh_from_db()
    assert alice.logged_out_at is not None


# --- A coordinator's "Sign out everywhere" -------------------------------------------------------------
# Found in review: the admin's action ended their logins and removed their push subscriptions, so
# their phones no longer rang, and the boards still read "seen in the open app" (the accounts app,
# below dispatch, told nobody). backend/dispatch/presence.py: sign_out_everywhere.


def sign_out_everywhere(desk: Client, changelist: str, selected: list[int]):
    return desk.post(
        reverse(changelist),
        {"action": "sign_out_everywhere", "_selected_action": selected, "index": 0},
        follow=True,
    )


def test_signing_a_firefighter_out_everywhere_tells_every_board(en_route, alice, bob, carol):
    browser_of(alice.user)  # a login of hers, which ends
    with mock.patch("backend.realtime.events.send_to_board") as send:
        response = sign_out_everywhere(admin_client_for(carol), "admin:accounts_responder_changelist", [alice.pk])

    assert response.status_code == 200
    assert "Signed out 1 user(s) everywhere: 1 login(s) ended." in response.content.decode()
    alice.refresh_from_db()
    assert alice.logged_out_at is not None
    [frame] = board_frames(send, "board.responder")
    assert frame == {
        "responder_id": alice.pk,
        "logged_out_at": alice.logged_out_at.isoformat(),
        "on_call": True,
        "on_call_changed_at": None,
        "changed_at": alice.logged_out_at.isoformat(),
    }
    assert_matches("event.board.responder", events.envelope(type="board.responder", data=frame))
    # Kept, so a board opened later says it too; only hers.
    assert fresh_board_alert(en_route)["responder_logged_out_at"] == alice.logged_out_at.isoformat()
    assert fresh_board_alert(en_route.incident.alerts.get(responder=bob))["responder_logged_out_at"] is None


def test_it_is_audited_on_each_of_their_alerts_still_active_as_a_logout_is(en_route, alice, bob, carol):
    sign_out_everywhere(admin_client_for(carol), "admin:accounts_responder_changelist", [alice.pk])

    entries = AuditEntry.objects.filter(action=AuditAction.LOG_OUT)
    assert [(e.object_type, e.object_id, e.incident_id, e.actor, e.detail) for e in entries] == [
        ("alert", str(en_route.pk), en_route.incident_id, carol, {"state": "en_route", "signed_out_everywhere": True})
    ]
    # And, as before, the user's own entry: every login ended by the coordinator.
    assert AuditEntry.objects.filter(
        action=AuditAction.CHANGE, object_type="user", object_id=str(alice.user.pk), actor=carol
    ).exists()


def test_the_users_page_action_tells_the_boards_too(en_route, alice, db):
    root = get_user_model().objects.create_superuser(username="root", password=None)
    with mock.patch("backend.realtime.events.send_to_board") as send:
        sign_out_everywhere(admin_client_for(root), "admin:auth_user_changelist", [alice.user.pk, root.pk])

    [frame] = board_frames(send, "board.responder")  # the superuser is no responder
    assert frame["responder_id"] == alice.pk and frame["logged_out_at"] is not None


def test_one_already_shown_logged_out_keeps_the_time_and_the_boards_hear_nothing_new(en_route, alice, carol):
    log_out(browser_of(alice.user))
    alice.refresh_from_db()
    logged_out_at = alice.logged_out_at

    with mock.patch("backend.realtime.events.send_to_board") as send:
        sign_out_everywhere(admin_client_for(carol), "admin:accounts_responder_changelist", [alice.pk])

    assert board_frames(send, "board.responder") == []
    alice.refresh_from_db()
    assert alice.logged_out_at == logged_out_at


def test_a_refused_sign_out_tells_the_boards_nothing(en_route, alice, wendy):
    """Wendy (a welfare lead) may not; the action checks it (accounts.actions.sign_out_everywhere)."""
    from backend.dispatch import presence

    with mock.patch("backend.realtime.events.send_to_board") as send, pytest.raises(NotAllowed):
        presence.sign_out_everywhere(actor=wendy, user_ids=[alice.user.pk])

    assert board_frames(send, "board.responder") == []
    alice.refresh_from_db()
    assert alice.logged_out_at is None
    assert not AuditEntry.objects.filter(action=AuditAction.LOG_OUT).exists()


def test_logging_in_to_the_app_again_after_it_clears_it(en_route, alice, carol):
    alice.user.set_password(PASSWORD)
    alice.user.save()
    sign_out_everywhere(admin_client_for(carol), "admin:accounts_responder_changelist", [alice.pk])

    log_in("alice")

    alice.refresh_from_db()
    assert alice.logged_out_at is None
    assert fresh_board_alert(en_route)["responder_logged_out_at"] is None
