"""Tells the audit trail where each HTTP request came from (see backend/audit/log.py)."""

from backend.audit.log import Origin, acting_from, client_address


def _channel(path: str) -> str:
    if path.startswith("/api/"):
        return "api"
    if path.startswith("/admin/"):
        return "admin"
    return "web"


class AuditOriginMiddleware:
    """Sets the audit origin (channel and client address) for the duration of each request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with acting_from(Origin(_channel(request.path), client_address(request))):
            return self.get_response(request)
