"""Every API error is the same JSON shape, whatever raised it:

    {"error": {"code": "invalid", "message": "...", "fields": {"latitude": ["..."]}}}

plus, for some conflicts, extra keys that help the client (e.g. existing_incident_id).
"""

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from backend.errors import ActionError, error_body

_MESSAGES = {
    status.HTTP_400_BAD_REQUEST: "The request has errors: see fields.",
    status.HTTP_401_UNAUTHORIZED: "Log in, or send a valid API token.",
    status.HTTP_403_FORBIDDEN: "You are not allowed to do this.",
    status.HTTP_404_NOT_FOUND: "Not found.",
}


logger = logging.getLogger(__name__)

# Seconds a client should wait before repeating a request the database could not serve.
DATABASE_RETRY_AFTER_S = 5


def exception_handler(exc, context):
    if isinstance(exc, ActionError):
        return Response(error_body(exc.code, exc.message, exc.fields, **exc.extra), status=exc.status)
    if isinstance(exc, (OperationalError, InterfaceError)):
        return _database_unavailable(exc, context)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a bug: let Django log it and answer 500
    if isinstance(exc, exceptions.ValidationError):
        fields = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        response.data = error_body("invalid", _MESSAGES[400], _flatten(_plain(fields)))
    else:
        detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        code = getattr(detail, "code", None) or getattr(exc, "default_code", "error")
        message = str(detail) if detail else _MESSAGES.get(response.status_code, "Error.")
        response.data = error_body(code, message)
    return response


def _database_unavailable(exc, context) -> Response:
    """The database is down, unreachable or dropped the connection: a clear 503 the caller can act
    on (retry), never a 500 and never a success. The outcome of a request cut off while committing
    is unknown, so the message says to repeat it; repeating a dispatch with the same CAD reference
    is safe (409 with existing_incident_id if the first one went through)."""
    request = context.get("request")
    # The exception's class only: connection errors need no more, and nothing from the request.
    logger.error(
        "Database unavailable during %s %s: %s",
        getattr(request, "method", "?"),
        getattr(request, "path", "?"),
        type(exc).__name__,
    )
    if _every_pooled_connection_busy(exc):
        body = error_body(
            "database_busy",
            "Every database connection of this server is in use just now (a burst of requests), so this "
            "request was not carried out. Try again in a few seconds.",
        )
    else:
        body = error_body(
            "database_unavailable",
            "The database cannot be reached just now, so this request may not have been carried out. "
            "Try again in a few seconds.",
        )
    return Response(
        body, status=status.HTTP_503_SERVICE_UNAVAILABLE, headers={"Retry-After": str(DATABASE_RETRY_AFTER_S)}
    )


def _every_pooled_connection_busy(exc) -> bool:
    """Django raised this because the connection pool (DATABASE_POOL) had no free connection within
    DATABASE_POOL_TIMEOUT: the database is up, this process is busy."""
    try:
        from psycopg_pool import PoolTimeout
    except ImportError:  # no pool installed: no pool to be busy
        return False
    return isinstance(exc.__cause__, PoolTimeout)


def _plain(value):
    """ErrorDetail trees to plain str/list/dict."""
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return str(value)


def _flatten(fields: dict, prefix: str = "") -> dict[str, list[str]]:
    """Nested errors as dotted field names ("keys.p256dh", "station_ids.0"), each a list of
    messages, so a client can put every message next to its field."""
    flat: dict[str, list[str]] = {}
    for key, value in fields.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{name}."))
        elif isinstance(value, list) and value and all(isinstance(item, str) for item in value):
            flat[name] = value
        elif isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, dict):
                    flat.update(_flatten(item, f"{name}.{index}."))
                elif item:
                    flat.setdefault(name, []).append(str(item))
        else:
            flat[name] = [str(value)]
    return flat


def json_404(request, exception=None):
    """Unknown URLs under /api/ answer JSON like the rest of the API."""
    if request.path.startswith("/api/"):
        return JsonResponse(error_body("not_found", f"No API endpoint at {request.path}."), status=404)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)
