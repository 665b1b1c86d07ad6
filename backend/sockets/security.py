"""Origin check for WebSocket handshakes.

Browsers send cookies with a cross-site WebSocket handshake, so without this check any page on the
internet could open a firefighter's socket with their session (cross-site WebSocket hijacking). A
handshake is let through only if its Origin is the page's own origin (the same host and port as
the request's Host header, which must itself be an allowed host) or is listed in
DJANGO_ALLOWED_ORIGINS. A missing or `null` Origin is refused: browsers always send one.
"""

from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host


def _header(scope, name: bytes) -> str | None:
    for header_name, value in scope.get("headers", []):
        if header_name == name:
            try:
                return value.decode("latin1")
            except UnicodeDecodeError:
                return None
    return None


def origin_allowed(origin: str | None, host: str | None) -> bool:
    if not origin or origin == "null":
        return False
    if origin.rstrip("/") in settings.ALLOWED_ORIGINS:
        return True
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https", "ws", "wss") or not parts.netloc or not host:
        return False
    host_name, _port = split_domain_port(host)
    if not host_name or not validate_host(host_name, settings.ALLOWED_HOSTS):
        return False
    return parts.netloc.lower() == host.lower()


class SameOriginValidator:
    """ASGI middleware refusing WebSocket handshakes from other origins (HTTP 403)."""

    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket" and not origin_allowed(_header(scope, b"origin"), _header(scope, b"host")):
            return await WebsocketDenier()(scope, receive, send)
        return await self.application(scope, receive, send)
