"""The second factor outside the admin pages.

Staff (coordinators, welfare leads: backend.roles.is_privileged) pass a code from their
authenticator app when they sign in to the admin (backend/accounts/admin_site.py). A staff
password alone must not open the same data by another door: the API refuses a staff session that
has not passed the second factor, and so does the coordinators' socket. Firefighters and machine
clients (API tokens) are not affected.
"""

from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.models import Device
from drf_spectacular.authentication import SessionScheme
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import AuthenticationFailed

from backend import roles

STAFF_NEED_SECOND_FACTOR = (
    "Staff accounts need the code from their authenticator app: sign in at /admin/ first, then use this session."
)


def session_passed_second_factor(session, user) -> bool:
    """Whether this session was verified with one of this user's confirmed devices (what
    django_otp's middleware decides for HTTP requests, for a socket's session)."""
    persistent_id = session.get(DEVICE_ID_SESSION_KEY) if session is not None else None
    if not persistent_id:
        return False
    device = Device.from_persistent_id(persistent_id)
    return device is not None and device.user_id == user.pk and device.confirmed


def needs_second_factor(user) -> bool:
    return roles.is_privileged(user)


class SecondFactorSessionAuthentication(SessionAuthentication):
    """Session authentication that refuses a staff session without the second factor."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is None:
            return None
        user, _ = result
        if needs_second_factor(user) and not session_passed_second_factor(request._request.session, user):
            raise AuthenticationFailed(STAFF_NEED_SECOND_FACTOR)
        return result


class SecondFactorSessionScheme(SessionScheme):
    """Describes the session cookie in the OpenAPI schema, as for DRF's own session class."""

    target_class = SecondFactorSessionAuthentication
