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

from django.contrib.auth.models import Group, Permission
from django.db.models import CharField, Value
from django.utils import timezone
from drf_spectacular.contrib.knox_auth_token import KnoxTokenScheme
from knox.auth import TokenAuthentication as KnoxTokenAuthentication
from knox.models import AuthToken
from knox.signals import token_expired


class TokenAuthentication(KnoxTokenAuthentication):
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


def load_permissions(user) -> None:
    """The user's permissions (its own and its groups') and the names of its groups, in one query:
    the permissions where ModelBackend looks for them first, the names where the audit trail looks
    for the role the caller acts in (roles.role_of: a query of its own in every dispatch before,
    issue 17). Superusers and inactive users are left to ModelBackend (all, or none)."""
    if user.is_superuser or not user.is_active or hasattr(user, "_perm_cache"):
        return
    own = (
        Permission.objects.filter(user=user)
        .annotate(group_name=Value(None, output_field=CharField()))
        .values_list("content_type__app_label", "codename", "group_name")
        .order_by()
    )
    by_group = (
        Group.objects.filter(user=user)
        .values_list("permissions__content_type__app_label", "permissions__codename", "name")
        .order_by()
    )
    rows = list(own.union(by_group))  # a group without permissions: (None, None, its name)
    user._perm_cache = {f"{app_label}.{codename}" for app_label, codename, _group in rows if codename is not None}
    user._group_names = {group for _app_label, _codename, group in rows if group is not None}


def delete_expired_tokens(user) -> int:
    """The user's tokens that have expired (no call can use them any more)."""
    deleted, _ = AuthToken.objects.filter(user=user, expiry__lt=timezone.now()).delete()
    return deleted


class TokenScheme(KnoxTokenScheme):
    """Describes the token header in the OpenAPI schema, as for knox's own class."""

    target_class = TokenAuthentication
