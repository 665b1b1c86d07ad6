"""A user's sessions are found by their user id, kept in an indexed column (settings.SESSION_ENGINE,
backend/accounts/session_store.py), not by decoding every session: a firefighter's logout asks
whether another phone of theirs is still logged in, and at national scale (issue 17: 30,000 phones
logged in) that read and decoded tens of thousands of sessions each time."""

import datetime
from importlib import import_module

import pytest
from django.conf import settings
from django.contrib import auth
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.base import SessionBase
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backend.accounts import sessions

OTHERS = 40
PASSWORD = "correct horse battery staple"


def session_of(user) -> str:
    """A login session of this user in the configured engine, as logging in leaves it; its key."""
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[auth.SESSION_KEY] = str(user.pk)
    store[auth.BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[auth.HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.save()
    return store.session_key


@pytest.fixture
def others_logged_in(db):
    users = get_user_model().objects.bulk_create([get_user_model()(username=f"someone{i:03d}") for i in range(OTHERS)])
    return [session_of(user) for user in users]


@pytest.fixture
def decodes(monkeypatch) -> list[str]:
    """Every session decoded, whichever store decodes it."""
    decoded = []
    decode = SessionBase.decode

    def counting(self, session_data):
        decoded.append(session_data)
        return decode(self, session_data)

    monkeypatch.setattr(SessionBase, "decode", counting)
    return decoded


def test_whether_someone_is_still_logged_in_is_one_indexed_query_that_decodes_nothing(
    alice, bob, others_logged_in, decodes
):
    session_of(alice.user)

    with CaptureQueriesContext(connection) as queries:
        assert sessions.has_live_session(alice.user.pk)
    with CaptureQueriesContext(connection) as none_queries:
        assert not sessions.has_live_session(bob.user.pk)

    assert len(queries) == len(none_queries) == 1
    assert decodes == []


def test_a_users_session_keys_are_one_indexed_query_that_decodes_nothing(alice, bob, others_logged_in, decodes):
    alices = {session_of(alice.user), session_of(alice.user)}
    bobs = session_of(bob.user)

    with CaptureQueriesContext(connection) as queries:
        keys = sessions.session_keys_of([alice.user.pk, bob.user.pk])

    assert set(keys) == alices | {bobs}
    assert len(queries) == 1
    assert decodes == []


def test_an_expired_session_is_no_login(alice, others_logged_in):
    key = session_of(alice.user)
    store_class = import_module(settings.SESSION_ENGINE).SessionStore
    store_class.get_model_class().objects.filter(session_key=key).update(expire_date=timezone.now())

    assert not sessions.has_live_session(alice.user.pk)
    assert sessions.session_keys_of([alice.user.pk]) == []


def test_logging_in_to_the_app_keeps_the_users_id_beside_the_session(alice):
    from backend.accounts.models import UserSession

    alice.user.set_password(PASSWORD)
    alice.user.save()
    phone = Client(enforce_csrf_checks=True)
    token = phone.get("/api/v1/auth/csrf/").json()["csrf_token"]

    response = phone.post(
        "/api/v1/auth/login/",
        {"username": "alice", "password": PASSWORD},
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )

    assert response.status_code == 200
    assert UserSession.objects.get(session_key=phone.session.session_key).user_id == alice.user.pk
    assert sessions.has_live_session(alice.user.pk)


def test_saving_a_session_through_its_manager_keeps_its_user(alice):
    """Django's manager would write the row from its key, data and expiry only, emptying the user."""
    from backend.accounts.models import UserSession

    key = session_of(alice.user)
    row = UserSession.objects.get(session_key=key)

    UserSession.objects.save(key, row.get_decoded() | {"changed": True}, row.expire_date)

    assert UserSession.objects.get(session_key=key).user_id == alice.user.pk


# --- The migration: the sessions Django's engine wrote are copied, so nobody is logged out ----------


def migrate(target):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([("accounts", target)])


@pytest.mark.django_db(transaction=True)
def test_the_migration_copies_the_unexpired_sessions_with_their_users(alice, bob):
    from django.contrib.sessions.backends.db import SessionStore as DjangosSessionStore
    from django.contrib.sessions.models import Session

    from backend.accounts.models import UserSession

    later = timezone.now() + datetime.timedelta(days=3)
    data = {auth.SESSION_KEY: str(alice.user.pk), auth.HASH_SESSION_KEY: alice.user.get_session_auth_hash()}
    migrate("0004_usersession")
    try:
        Session.objects.bulk_create(
            [
                Session(session_key="alices", session_data=DjangosSessionStore().encode(data), expire_date=later),
                Session(
                    session_key="bobs-expired",
                    session_data=DjangosSessionStore().encode({auth.SESSION_KEY: str(bob.user.pk)}),
                    expire_date=timezone.now() - datetime.timedelta(seconds=1),
                ),
                Session(session_key="corrupt", session_data="not a signed session", expire_date=later),
                Session(
                    session_key="anonymous", session_data=DjangosSessionStore().encode({"x": 1}), expire_date=later
                ),
            ]
        )
    finally:
        migrate("0005_copy_sessions_to_usersession")

    copied = {row.session_key: row for row in UserSession.objects.all()}
    assert set(copied) == {"alices", "anonymous"}
    assert copied["alices"].user_id == alice.user.pk and copied["anonymous"].user_id is None
    assert copied["alices"].expire_date == later
    assert copied["alices"].get_decoded() == data  # still decodes: the phone stays logged in
    assert sessions.has_live_session(alice.user.pk)
