"""How long logins last (backend/accounts/sessions.py) and ending them: a coordinator's "Sign out
everywhere" (sessions and API tokens), and every open socket of an ended login closed with 4401."""

import datetime
import time

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from knox.models import AuthToken

from backend.accounts import actions, sessions
from backend.accounts.models import UserSession
from backend.audit.models import AuditEntry
from backend.errors import NotAllowed
from tests.conftest import admin_client_for, token_client_for


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def stored(client: Client) -> UserSession:
    return UserSession.objects.get(session_key=client.session.session_key)


def age_session(client: Client, **seconds_ago) -> None:
    """Move the session's clock marks into the past, as if time had passed."""
    session = client.session
    for key, ago in seconds_ago.items():
        session[{"started": sessions.STARTED_AT, "seen": sessions.SEEN_AT}[key]] = time.time() - ago
    session.save()


def me_status(client: Client) -> int:
    return client.get("/api/v1/me/").status_code


# --- Firefighters: long, sliding --------------------------------------------------------------------


def test_a_firefighters_login_lasts_the_configured_days(alice, settings):
    phone = logged_in(alice.user)

    expires_in = stored(phone).expire_date - timezone.now()

    assert settings.SESSION_COOKIE_AGE == 30 * 86400
    assert datetime.timedelta(days=29, hours=23) < expires_in <= datetime.timedelta(days=30)


def test_using_the_app_moves_a_firefighters_expiry_on(alice):
    phone = logged_in(alice.user)
    UserSession.objects.filter(session_key=phone.session.session_key).update(
        expire_date=timezone.now() + datetime.timedelta(days=2)
    )
    age_session(phone, seen=sessions.FIREFIGHTER_REFRESH_SECONDS + 1)

    assert me_status(phone) == 200

    assert stored(phone).expire_date - timezone.now() > datetime.timedelta(days=29)


def test_a_firefighter_idle_for_days_is_still_logged_in(alice):
    phone = logged_in(alice.user)
    age_session(phone, started=20 * 86400, seen=20 * 86400)

    assert me_status(phone) == 200


# --- Staff: fixed maximum, and idle limit ------------------------------------------------------------


def test_a_staff_login_ends_at_a_fixed_time_however_much_it_is_used(carol, settings):
    desk = admin_client_for(carol)
    expires = stored(desk).expire_date
    assert abs((expires - timezone.now()).total_seconds() - settings.ADMIN_SESSION_MAX_AGE) < 60

    age_session(desk, seen=sessions.STAFF_REFRESH_SECONDS + 1)
    assert desk.get("/admin/").status_code == 200
    assert stored(desk).expire_date == expires  # used, saved, and the end did not move

    age_session(desk, started=settings.ADMIN_SESSION_MAX_AGE + 1, seen=0)
    response = desk.get("/admin/")

    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    assert me_status(desk) in (401, 403)
    assert not UserSession.objects.filter(session_key=desk.session.session_key, expire_date__gt=timezone.now()).exists()


def test_a_staff_login_left_idle_ends(carol, settings):
    desk = admin_client_for(carol)
    age_session(desk, seen=settings.ADMIN_SESSION_IDLE - 60)
    assert desk.get("/admin/").status_code == 200  # in use again: the idle clock restarts

    age_session(desk, seen=settings.ADMIN_SESSION_IDLE + 1)

    assert desk.get("/admin/").status_code == 302
    assert me_status(desk) in (401, 403)


def test_limits_come_from_settings(carol, settings):
    settings.ADMIN_SESSION_IDLE = 300
    desk = admin_client_for(carol)
    age_session(desk, seen=301)

    assert desk.get("/admin/").status_code == 302


# --- Sign out everywhere ------------------------------------------------------------------------------


def test_signing_a_firefighter_out_everywhere_ends_every_login_of_theirs_only(alice, bob, carol):
    phone, tablet, bobs_phone = logged_in(alice.user), logged_in(alice.user), logged_in(bob.user)
    token_client = token_client_for(alice.user)
    assert me_status(phone) == me_status(tablet) == me_status(token_client) == 200

    ended = actions.sign_out_everywhere(actor=carol, user_ids=[alice.user.pk])

    assert ended == 2
    assert me_status(phone) in (401, 403) and me_status(tablet) in (401, 403)
    assert token_client.get("/api/v1/me/").status_code == 401
    assert not AuthToken.objects.filter(user=alice.user).exists()
    assert me_status(bobs_phone) == 200
    entry = AuditEntry.objects.get(object_type="user", object_id=str(alice.user.pk))
    assert entry.actor == carol and entry.detail == {"signed_out_everywhere": True, "push_subscriptions_removed": 0}


def test_only_those_allowed_to_change_responders_may_sign_them_out(alice, wendy, carol):
    phone = logged_in(alice.user)

    with pytest.raises(NotAllowed):
        actions.sign_out_everywhere(actor=wendy, user_ids=[alice.user.pk])
    with pytest.raises(NotAllowed):  # another staff member is not a responder: superusers only
        actions.sign_out_everywhere(actor=carol, user_ids=[wendy.pk])

    assert me_status(phone) == 200


def test_the_admin_action_on_responders(alice, carol):
    phone = logged_in(alice.user)
    desk = admin_client_for(carol)

    response = desk.post(
        reverse("admin:accounts_responder_changelist"),
        {"action": "sign_out_everywhere", "_selected_action": [alice.pk], "index": 0},
        follow=True,
    )

    assert response.status_code == 200
    assert "Signed out 1 user(s) everywhere: 1 login(s) ended." in response.content.decode()
    assert me_status(phone) in (401, 403)
    assert desk.get("/admin/").status_code == 200  # the coordinator's own login is untouched


def test_the_admin_action_on_users_is_for_superusers(alice, db):
    from django.contrib.auth import get_user_model

    root = get_user_model().objects.create_superuser(username="root", password=None)
    phone = logged_in(alice.user)

    response = admin_client_for(root).post(
        reverse("admin:auth_user_changelist"),
        {"action": "sign_out_everywhere", "_selected_action": [alice.user.pk], "index": 0},
    )

    assert response.status_code == 302
    assert me_status(phone) in (401, 403)
