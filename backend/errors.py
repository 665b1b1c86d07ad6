"""Errors raised by actions and access checks, and the one JSON shape every error is given in.

Actions know nothing of HTTP or sockets; they raise these, and the API's exception handler (and the
consumers) turn them into a JSON error with the right status or close code. Each carries a message
a person can act on and, where input was at fault, a message per field.
"""


class ActionError(Exception):
    status = 400
    code = "invalid"

    def __init__(self, message: str, *, fields: dict[str, list[str]] | None = None, extra: dict | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}
        self.extra = extra or {}


class InvalidInput(ActionError):
    status = 400
    code = "invalid"


class NotAllowed(ActionError):
    status = 403
    code = "permission_denied"


class NotFound(ActionError):
    status = 404
    code = "not_found"


class Conflict(ActionError):
    """The request is well formed but the state of things forbids it (an illegal transition, a
    duplicate). Retrying the same request will not help until the state changes."""

    status = 409
    code = "conflict"


class CommittedElsewhere(Conflict):
    """A firefighter committed to one open incident answered "accept" to another: they must leave
    the first (decline it) before they can go to the second, so that nobody is counted on two."""

    code = "committed_elsewhere"


def error_body(code: str, message: str, fields: dict | None = None, **extra) -> dict:
    """Every error the API, the throttles and the size limits answer with has this shape:
    {"error": {"code": "invalid", "message": "...", "fields": {"latitude": ["..."]}}}, plus, for
    some conflicts, extra keys that help the client (e.g. existing_incident_id)."""
    return {"error": {"code": code, "message": message, "fields": fields or {}, **extra}}
