"""Opening the product's real ASGI application's sockets in tests, as a browser would: with the
session cookie of a logged-in user and the page's Origin."""

from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from backend.asgi import application

HOST = "testserver"
SAME_ORIGIN = f"http://{HOST}"


def session_cookie_for(user) -> str:
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def communicator(path: str, *, cookie: str | None = None, origin: str | None = SAME_ORIGIN, host: str = HOST):
    headers = [(b"host", host.encode())]
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    if cookie:
        headers.append((b"cookie", cookie.encode()))
    return WebsocketCommunicator(application, path, headers=headers)
