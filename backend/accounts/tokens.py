"""API tokens (django-rest-knox) for machine clients such as the ambulance CAD, checked with the
least reading: the CAD's create-and-dispatch is the call whose speed matters most (issue 17).

knox's own check read every token of the caller on every call, to delete the caller's OTHER
expired tokens as it went (a query per call for housekeeping: the expired ones are refused anyway
when presented, and `manage.py create_api_token` deletes them when it makes a new one). And the
caller's permissions were read in two queries (its own and its groups') at the first permission
check; here they are read in one, once the token is known, and kept on the user for the request as
Django's ModelBackend keeps them (`_perm_cache`), so every check of the request is answered from
memory by ModelBackend itself: the same permissions, the same refusals.
"""

import binascii
from functools import cache
from hmac import compare_digest

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.contrib.knox_auth_token import KnoxTokenScheme
from knox.auth import TokenAuthentication as KnoxTokenAuthentication
from knox.crypto import hash_token
from knox.models import AuthToken, get_token_model
from knox.settings import CONSTANTS, knox_settings
from knox.signals import token_expired
from rest_framework import exceptions

from backend.compiled_reads import JoinedLoad

# The tokens whose key (the token's first characters) is the one presented, with their users: what
# knox reads with `AuthToken.objects.filter(token_key=...).select_related("user")`, by SQL written
# once per process (backend/compiled_reads.py; issue 17 item 2).
_TOKENS_WITH_USER = JoinedLoad(get_token_model(), ("user",), "token_key")


class TokenAuthentication(KnoxTokenAuthentication):
    def authenticate_credentials(self, token):
        """knox's (knox/auth.py, 5.1), with the tokens read by _TOKENS_WITH_USER: each token of
        that key is checked against the digest of the one presented; an expired one is deleted and
        skipped; an inactive user refused."""
        msg = _("Invalid token.")
        token = token.decode("utf-8")
        for auth_token, granted in _tokens_with_permissions(token[: CONSTANTS.TOKEN_KEY_LENGTH]):
            if self._cleanup_token(auth_token):
                continue
            try:
                digest = hash_token(token)
            except (TypeError, binascii.Error) as error:
                raise exceptions.AuthenticationFailed(msg) from error
            if compare_digest(digest, auth_token.digest):
                if granted is not None:
                    _keep_permissions(auth_token.user, *granted)
                if knox_settings.AUTO_REFRESH and auth_token.expiry:
                    self.renew_token(auth_token)
                return self.validate_user(auth_token)
        raise exceptions.AuthenticationFailed(msg)

    def _cleanup_token(self, auth_token) -> bool:
        """Only the presented token: deleted and refused if it has expired (as knox does)."""
        if auth_token.expiry is not None and auth_token.expiry < timezone.now():
            username = auth_token.user.get_username()
            auth_token.delete()
            token_expired.send(sender=self.__class__, username=username, source="auth_token")
            return True
        return False

    def validate_user(self, auth_token):
        user, token = super().validate_user(auth_token)
        load_permissions(user)
        return user, token


def _tokens_with_permissions(token_key: str) -> list[tuple]:
    """(token with its user, (the user's permissions, its group names) or None) for each token of
    that key. On PostgreSQL the permissions and the group names come in the token's own statement,
    as two arrays (_permission_arrays_sql): the check is one round trip instead of two (issue 17
    item 2, the CAD's call). Elsewhere None: load_permissions reads them after (SQLite has no round
    trip to save)."""
    if connection.vendor != "postgresql":
        return [(auth_token, None) for auth_token in _TOKENS_WITH_USER.rows([token_key])]
    return _TOKENS_WITH_USER.rows_with([token_key], _permission_arrays_sql())


def _keep_permissions(user, permissions, group_names) -> None:
    """What load_permissions keeps on the user, from values read already. Only for those
    load_permissions reads for (not a superuser, whose permissions are all there are, nor an
    inactive user, who has none)."""
    if user.is_superuser or not user.is_active:
        return
    user._perm_cache = set(permissions)
    user._group_names = set(group_names)


def load_permissions(user) -> None:
    """The user's permissions (its own and its groups') and the names of its groups, in one query:
    the permissions where ModelBackend looks for them first, the names where the audit trail looks
    for the role the caller acts in (roles.role_of: a query of its own in every dispatch before,
    issue 17). Superusers and inactive users are left to ModelBackend (all, or none). The query's
    SQL is written once per process (_permissions_sql): built and compiled as a union of two
    querysets on every call it took longer than the database took to run it (py-spy, issue 17).
    Nothing is read if the token check read them already (PostgreSQL)."""
    if user.is_superuser or not user.is_active or hasattr(user, "_perm_cache"):
        return
    with connection.cursor() as cursor:
        cursor.execute(_permissions_sql(connection.vendor), [user.pk, user.pk])
        rows = cursor.fetchall()  # a group without permissions: (None, None, its name)
    user._perm_cache = {f"{app_label}.{codename}" for app_label, codename, _group in rows if codename is not None}
    user._group_names = {group for _app_label, _codename, group in rows if group is not None}


@cache
def _permission_arrays_sql() -> tuple[str, str]:
    """PostgreSQL: two columns for the token's statement (the user's table by its name): the
    user's permissions as "app_label.codename" (its own and its groups', as ModelBackend names
    them), and the names of its groups (one without any permission included)."""
    q = connection.ops.quote_name
    user_model = get_user_model()
    own = user_model._meta.get_field("user_permissions").remote_field.through
    membership = user_model._meta.get_field("groups").remote_field.through
    granted = Group._meta.get_field("permissions").remote_field.through
    user_id = f"{q(user_model._meta.db_table)}.{q(user_model._meta.pk.column)}"

    def column(model, name):
        return q(model._meta.get_field(name).column)

    p, ct, g = q(Permission._meta.db_table), q(ContentType._meta.db_table), q(Group._meta.db_table)
    o, m, gp = q(own._meta.db_table), q(membership._meta.db_table), q(granted._meta.db_table)
    name = f"ct.{column(ContentType, 'app_label')} || '.' || p.{column(Permission, 'codename')}"
    named = (
        f" INNER JOIN {p} p ON (p.{column(Permission, 'id')} = {{link}})"
        f" INNER JOIN {ct} ct ON (p.{column(Permission, 'content_type')} = ct.{column(ContentType, 'id')})"
    )
    permissions = (
        f"ARRAY(SELECT {name} FROM {o} o{named.format(link='o.' + column(own, 'permission'))}"  # noqa: S608
        f" WHERE o.{column(own, 'user')} = {user_id}"
        f" UNION SELECT {name} FROM {m} m"
        f" INNER JOIN {gp} gp ON (gp.{column(granted, 'group')} = m.{column(membership, 'group')})"
        f"{named.format(link='gp.' + column(granted, 'permission'))}"
        f" WHERE m.{column(membership, 'user')} = {user_id})"
    )
    groups = (
        f"ARRAY(SELECT g.{column(Group, 'name')} FROM {g} g"  # noqa: S608
        f" INNER JOIN {m} m ON (g.{column(Group, 'id')} = m.{column(membership, 'group')})"
        f" WHERE m.{column(membership, 'user')} = {user_id})"
    )
    return (permissions, groups)


@cache
def _permissions_sql(vendor: str) -> str:
    """What the union of the user's own permissions (app label, codename, NULL) and its groups'
    (app label, codename, group name; NULLs for a group without any) compiled to, names from
    `_meta`; parameters: the user's id twice."""
    q = connection.ops.quote_name
    user_model = get_user_model()

    def table(model):
        return q(model._meta.db_table)

    def column(model, name):
        return q(model._meta.get_field(name).column)

    own = user_model._meta.get_field("user_permissions").remote_field.through
    membership = user_model._meta.get_field("groups").remote_field.through
    granted = Group._meta.get_field("permissions").remote_field.through
    p, ct, g = table(Permission), table(ContentType), table(Group)
    o, m, gp = table(own), table(membership), table(granted)
    return (
        f"SELECT {ct}.{column(ContentType, 'app_label')}, {p}.{column(Permission, 'codename')}, NULL"  # noqa: S608
        f" FROM {p} INNER JOIN {o} ON ({p}.{column(Permission, 'id')} = {o}.{column(own, 'permission')})"
        f" INNER JOIN {ct} ON ({p}.{column(Permission, 'content_type')} = {ct}.{column(ContentType, 'id')})"
        f" WHERE {o}.{column(own, 'user')} = %s"
        f" UNION SELECT {ct}.{column(ContentType, 'app_label')}, {p}.{column(Permission, 'codename')},"
        f" {g}.{column(Group, 'name')} FROM {g}"
        f" INNER JOIN {m} ON ({g}.{column(Group, 'id')} = {m}.{column(membership, 'group')})"
        f" LEFT OUTER JOIN {gp} ON ({g}.{column(Group, 'id')} = {gp}.{column(granted, 'group')})"
        f" LEFT OUTER JOIN {p} ON ({gp}.{column(granted, 'permission')} = {p}.{column(Permission, 'id')})"
        f" LEFT OUTER JOIN {ct} ON ({p}.{column(Permission, 'content_type')} = {ct}.{column(ContentType, 'id')})"
        f" WHERE {m}.{column(membership, 'user')} = %s"
    )


def delete_expired_tokens(user) -> int:
    """The user's tokens that have expired (no call can use them any more)."""
    deleted, _ = AuthToken.objects.filter(user=user, expiry__lt=timezone.now()).delete()
    return deleted


class TokenScheme(KnoxTokenScheme):
    """Describes the token header in the OpenAPI schema, as for knox's own class."""

    target_class = TokenAuthentication
