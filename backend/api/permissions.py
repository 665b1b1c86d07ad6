from rest_framework.permissions import BasePermission


def requires(permission: str):
    """A DRF permission class for one model permission, so a view refuses (403) before it reads
    the body. The action checks again: the view is not the only way in."""

    class HasPermission(BasePermission):
        message = "You are not allowed to do this."

        def has_permission(self, request, view):
            user = request.user
            return bool(user and user.is_authenticated and user.has_perm(permission))

    HasPermission.__name__ = f"Requires_{permission.replace('.', '_')}"
    return HasPermission
