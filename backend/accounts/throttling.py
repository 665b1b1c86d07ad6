"""What someone locked out of logging in is told (django-axes counts the failures: settings.py).

Lockouts are per username and address: the same person from another address, and another person
from the same address (a station's shared connection), can still log in. The answer says when to
try again, as JSON for the app and as a page for the admin.
"""

from axes.helpers import get_client_ip_address, get_cool_off
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib import admin
from django.http import JsonResponse
from django.shortcuts import render
from django.utils import timezone

from backend.errors import ActionError, error_body


class LockedOut(ActionError):
    status = 429
    code = "locked_out"


def lockout_message(request, username: str | None) -> str:
    unlock_at = _unlock_time(request, username)
    when = timezone.localtime(unlock_at).strftime("%H:%M") if unlock_at else "a few minutes"
    return (
        f"Too many failed logins for this account from this device's network. Try again after {when}, "
        "or ask a coordinator to check your username."
    )


def retry_after_seconds(request, username: str | None) -> int:
    unlock_at = _unlock_time(request, username)
    if unlock_at is None:
        return int(get_cool_off(request).total_seconds())
    return max(1, int((unlock_at - timezone.now()).total_seconds()))


def lockout_response(request, original_response=None, credentials=None):
    """AXES_LOCKOUT_CALLABLE. Builds the answer from the request alone: axes passes its arguments
    differently when the middleware runs async."""
    username = _username(request, credentials)
    message = lockout_message(request, username)
    if request.path.startswith("/api/"):
        response = JsonResponse(error_body(LockedOut.code, message), status=LockedOut.status)
    else:
        context = {**admin.site.each_context(request), "message": message, "title": "Too many failed logins"}
        response = render(request, "accounts/locked_out.html", context, status=LockedOut.status)
    response["Retry-After"] = str(retry_after_seconds(request, username))
    return response


def _username(request, credentials) -> str | None:
    for given in (getattr(request, "axes_credentials", None), credentials):
        if isinstance(given, dict) and given.get("username"):
            return given["username"]
    return getattr(request, "POST", {}).get("username")


def _unlock_time(request, username: str | None):
    """When the newest failure for this username and address stops counting."""
    if not username:
        return None
    attempt = (
        AccessAttempt.objects.filter(username=username, ip_address=get_client_ip_address(request))
        .order_by("-attempt_time")
        .first()
    )
    if attempt is None:
        return None
    return attempt.attempt_time + settings.AXES_COOLOFF_TIME
