"""The API token check (backend/accounts/tokens.py), counted: the CAD's calls read its token (with
its user) and its permissions in one query each (issue 17: knox read all the caller's tokens on
every call, and the permissions took two queries). Refusals and expiry stay as they were."""

import datetime

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from tests.conftest import token_client_for

pytestmark = pytest.mark.django_db


def reads_of(queries, table: str) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if f'FROM "{table}"' in q["sql"]]


def test_a_call_reads_the_token_and_the_permissions_once_each(cad):
    client = token_client_for(cad)
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/v1/incidents/")
    assert response.status_code == 200
    assert len(reads_of(queries, "knox_authtoken")) == 1  # was 2: the caller's other tokens too
    # Was 2: its own, then its groups'. On PostgreSQL they are read in the token's statement.
    assert len(reads_of(queries, "auth_permission")) == (0 if connection.vendor == "postgresql" else 1)


def test_the_permissions_read_at_once_are_those_django_grants(cad, carol, alice):
    alice = alice.user
    from backend.accounts.tokens import load_permissions

    for user in (cad, carol, alice):
        expected = type(user).objects.get(pk=user.pk).get_all_permissions()
        fresh = type(user).objects.get(pk=user.pk)
        load_permissions(fresh)
        assert fresh.get_all_permissions() == expected
    assert type(alice).objects.get(pk=alice.pk).has_perm("dispatch.add_incident") is False


def test_the_group_names_read_with_them_are_the_users_groups_and_give_the_same_role(cad, carol, alice):
    """The token check's one query also holds the caller's group names (a group with no permission
    included), so the audit trail's role needs no query of its own (roles.role_of)."""
    from backend.accounts.tokens import load_permissions
    from backend.roles import role_of

    empty = Group.objects.create(name="No permissions at all")
    carol.groups.add(empty)
    alice.user.user_permissions.add(Permission.objects.get(codename="view_incident"))
    for user in (cad, carol, alice.user):
        fresh = type(user).objects.get(pk=user.pk)
        load_permissions(fresh)
        assert fresh._group_names == set(user.groups.values_list("name", flat=True))
        with CaptureQueriesContext(connection) as queries:
            role = role_of(fresh)
        assert role == role_of(type(user).objects.get(pk=user.pk))
        assert reads_of(queries, "auth_group") == []
    fresh_carol = type(carol).objects.get(pk=carol.pk)
    load_permissions(fresh_carol)
    assert "No permissions at all" in fresh_carol._group_names
    assert fresh_carol.get_all_permissions() == type(carol).objects.get(pk=carol.pk).get_all_permissions()


def test_a_caller_without_the_permission_is_still_refused(alice):
    body = {"cad_reference": "X-1", "latitude": 52.6, "longitude": 1.3, "address": "x"}
    response = token_client_for(alice.user).post("/api/v1/incidents/", body, format="json")
    assert response.status_code == 403


def test_an_expired_token_is_refused_and_deleted(cad):
    instance, token = AuthToken.objects.create(user=cad, expiry=datetime.timedelta(days=1))
    AuthToken.objects.filter(pk=instance.pk).update(expiry=timezone.now() - datetime.timedelta(seconds=1))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/v1/incidents/").status_code == 401
    assert not AuthToken.objects.filter(pk=instance.pk).exists()


def test_a_new_token_for_a_caller_deletes_its_expired_ones(cad):
    old, _ = AuthToken.objects.create(user=cad, expiry=datetime.timedelta(days=1))
    AuthToken.objects.filter(pk=old.pk).update(expiry=timezone.now() - datetime.timedelta(seconds=1))
    current, _ = AuthToken.objects.create(user=cad, expiry=datetime.timedelta(days=1))
    call_command("create_api_token", cad.username, stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert not AuthToken.objects.filter(pk=old.pk).exists()
    assert AuthToken.objects.filter(pk=current.pk).exists()
    assert AuthToken.objects.filter(user=cad).count() == 2


def test_the_permissions_are_read_without_compiling_a_queryset(cad, monkeypatch):
    """Work done, not time: the one query's SQL is written once per process (issue 17 item 2);
    building and compiling the union of two querysets on every call cost more than running it."""
    from django.db.models.sql.compiler import SQLCompiler

    from backend.accounts.tokens import load_permissions

    compiled = []
    original = SQLCompiler.as_sql
    monkeypatch.setattr(SQLCompiler, "as_sql", lambda self, *a, **k: compiled.append(1) or original(self, *a, **k))
    fresh = type(cad).objects.get(pk=cad.pk)
    compiled.clear()
    with CaptureQueriesContext(connection) as queries:
        load_permissions(fresh)
    assert compiled == []
    assert len(reads_of(queries, "auth_permission")) == 1
    assert "dispatch.add_incident" in fresh._perm_cache


def test_the_token_is_read_without_compiling_a_queryset(cad, monkeypatch):
    """Work done, not time: the token and its user read by SQL written once per process (issue 17
    item 2), the same instances knox's queryset gave (backend/compiled_reads.py)."""
    from django.db.models.sql.compiler import SQLCompiler

    from backend.accounts.tokens import TokenAuthentication

    instance, token = AuthToken.objects.create(user=cad, expiry=datetime.timedelta(days=1))
    compiled = []
    original = SQLCompiler.as_sql
    monkeypatch.setattr(SQLCompiler, "as_sql", lambda self, *a, **k: compiled.append(1) or original(self, *a, **k))
    with CaptureQueriesContext(connection) as queries:
        user, auth_token = TokenAuthentication().authenticate_credentials(token.encode())
    assert compiled == []
    assert len(reads_of(queries, "knox_authtoken")) == 1
    assert (user.pk, user.username, auth_token.pk, auth_token.token_key) == (
        cad.pk,
        cad.username,
        instance.pk,
        instance.token_key,
    )
    assert auth_token.expiry == AuthToken.objects.get(pk=instance.pk).expiry
    assert auth_token.user is user and auth_token._state.adding is False


def test_a_deleted_token_a_wrong_secret_and_an_inactive_user_are_refused(cad):
    instance, token = AuthToken.objects.create(user=cad, expiry=None)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/v1/incidents/").status_code == 200
    wrong = APIClient()
    wrong.credentials(HTTP_AUTHORIZATION=f"Token {token[:-4]}{'0000' if token[-4:] != '0000' else '1111'}")
    assert wrong.get("/api/v1/incidents/").status_code == 401
    type(cad).objects.filter(pk=cad.pk).update(is_active=False)
    assert client.get("/api/v1/incidents/").status_code == 401
    type(cad).objects.filter(pk=cad.pk).update(is_active=True)
    assert client.get("/api/v1/incidents/").status_code == 200
    AuthToken.objects.filter(pk=instance.pk).delete()  # revoked (logout)
    assert client.get("/api/v1/incidents/").status_code == 401


def test_on_postgresql_the_token_its_permissions_and_groups_are_one_statement(cad):
    """Issue 17 item 2: the token check read the token (with its user), then the permissions with
    the group names: two round trips before every CAD call. On PostgreSQL they come in one
    statement now; SQLite (no round trip to save) keeps the two."""
    from backend.accounts.tokens import TokenAuthentication
    from backend.roles import role_of

    _instance, token = AuthToken.objects.create(user=cad, expiry=datetime.timedelta(days=1))
    with CaptureQueriesContext(connection) as queries:
        user, _auth_token = TokenAuthentication().authenticate_credentials(token.encode())
        assert user.has_perm("dispatch.add_incident")
        role_of(user)
    assert len(queries.captured_queries) == (1 if connection.vendor == "postgresql" else 2)


def test_the_permissions_read_with_the_token_are_those_django_grants(cad, carol, alice):
    """Whichever way they are read (with the token on PostgreSQL, after it elsewhere): the same
    permissions and group names as Django's own reads, for a user with permissions of its own, one
    whose groups include one without any, and one with neither; a superuser and an inactive user are
    left to ModelBackend."""
    from backend.accounts.tokens import TokenAuthentication

    Group.objects.create(name="No permissions at all").user_set.add(carol)
    alice.user.user_permissions.add(Permission.objects.get(codename="view_incident"))
    admin = type(cad).objects.create_superuser("root-user", "root@example.org", "x")
    for user in (cad, carol, alice.user, admin):
        _instance, token = AuthToken.objects.create(user=user, expiry=datetime.timedelta(days=1))
        checked, _auth_token = TokenAuthentication().authenticate_credentials(token.encode())
        fresh = type(user).objects.get(pk=user.pk)
        assert checked.get_all_permissions() == fresh.get_all_permissions(), user.username
        if user.is_superuser:
            assert not hasattr(checked, "_group_names")
        else:
            assert checked._group_names == set(fresh.groups.values_list("name", flat=True))
    assert (
        "dispatch.view_incident"
        in TokenAuthentication()
        .authenticate_credentials(
            AuthToken.objects.create(user=alice.user, expiry=datetime.timedelta(days=1))[1].encode()
        )[0]
        .get_all_permissions()
    )
