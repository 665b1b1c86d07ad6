"""An HTTP request crosses from the event loop to its thread once, and back once (backend/asgi.py,
OneThreadHopHandler; issue 17): the middleware, the view, its checks and the rendering of the
answer all run there in one go. Django's own handler went back and forth between the loop and the
thread for each (async_to_sync for the view's turn, sync_to_async for CSRF's view check, the view,
the rendering), and each crossing waited for a loop busy with sockets. Counted, not timed."""

import pytest
from asgiref import sync
from channels.db import database_sync_to_async
from channels.testing import HttpCommunicator

from tests.conftest import NORWICH_INCIDENT

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def crossings(monkeypatch):
    counted = {"to the thread": [], "to the loop": []}
    to_thread, to_loop = sync.SyncToAsync.__call__, sync.AsyncToSync.__call__

    async def counted_to_thread(self, *args, **kwargs):
        counted["to the thread"].append(getattr(self.func, "__qualname__", type(self.func).__name__))
        return await to_thread(self, *args, **kwargs)

    def counted_to_loop(self, *args, **kwargs):
        counted["to the loop"].append(getattr(self.awaitable, "__qualname__", type(self.awaitable).__name__))
        return to_loop(self, *args, **kwargs)

    monkeypatch.setattr(sync.SyncToAsync, "__call__", counted_to_thread)
    monkeypatch.setattr(sync.AsyncToSync, "__call__", counted_to_loop)
    return counted


def dispatch_request(app, token: str, reference: str) -> HttpCommunicator:
    """The CAD's create-and-dispatch call for Norwich, as an ASGI request to `app`."""
    latitude, longitude = NORWICH_INCIDENT
    body = (
        f'{{"cad_reference": "{reference}", "latitude": {latitude}, "longitude": {longitude}, '
        '"address": "3 Elm Hill", "dispatch": true}'
    ).encode()
    return HttpCommunicator(
        app,
        "POST",
        "/api/v1/incidents/",
        body=body,
        headers=[
            (b"host", b"testserver"),
            (b"content-length", str(len(body)).encode()),
            (b"content-type", b"application/json"),
            (b"authorization", f"Token {token}".encode()),
        ],
    )


async def test_a_dispatch_call_crosses_to_its_thread_once(cad, stations, crossings):
    from knox.models import AuthToken

    from backend.asgi import django_asgi_app

    _, token = await database_sync_to_async(AuthToken.objects.create)(user=cad, expiry=None)
    crossings["to the thread"].clear()
    communicator = dispatch_request(django_asgi_app, token, "HOPS-1")
    response = await communicator.get_response(timeout=10)
    assert response["status"] == 201, response["body"]
    assert crossings["to the loop"] == []  # was 1: the view's turn, from the middleware's thread
    middleware_and_view = [name for name in crossings["to the thread"] if "signal" not in name.lower()]
    # The middleware, the view and the rendering in one go: was 4 (the middleware, CSRF's view
    # check, the view, the rendering).
    assert len(middleware_and_view) == 1, crossings["to the thread"]


async def test_requests_reuse_their_threads(monkeypatch):
    """Each request runs on a thread of its own, as before, but the thread is kept for the next
    request instead of a new one started per request (and another started to join it at the end):
    starting a thread holds up the event loop until the thread runs."""
    import threading

    from backend.asgi import django_asgi_app

    started = []
    start = threading.Thread.start

    def counted(thread):
        started.append(thread.name)
        return start(thread)

    monkeypatch.setattr(threading.Thread, "start", counted)

    async def get_healthz():
        communicator = HttpCommunicator(django_asgi_app, "GET", "/healthz", headers=[(b"host", b"testserver")])
        response = await communicator.get_response(timeout=10)
        assert response["status"] in (200, 503), response["body"]
        await communicator.wait(timeout=10)  # the request ends (its connection given back), as in daphne

    await get_healthz()  # may start the first request thread
    started.clear()
    for _ in range(3):
        await get_healthz()
    # Was two per request: its thread, and one to join it when it ended. The event loop's own
    # default executor (threads named asyncio_N, a pool of at most a few threads kept for the
    # loop's life) may add a thread when the machine is busy and its thread is not yet idle
    # again: not a thread per request (CI under load: ['asyncio_1']).
    per_request = [name for name in started if not name.startswith("asyncio_")]
    assert per_request == [], started


async def test_request_started_is_sent_on_the_requests_thread_in_the_same_hop(cad, stations, crossings, monkeypatch):
    """Django's handler sent request_started from the loop, and its receivers (close_old_connections,
    reset_queries) being synchronous, that was a hop to the request's thread and back of its own
    before the middleware's. It is now sent at the start of the middleware's hop, on the thread the
    middleware and the view run on, once per request."""
    import threading

    from django.core import signals
    from knox.models import AuthToken

    from backend.api import views
    from backend.asgi import django_asgi_app

    _, token = await database_sync_to_async(AuthToken.objects.create)(user=cad, expiry=None)
    seen = []

    def receiver(**kwargs):
        seen.append(("request_started", threading.get_ident(), kwargs.get("scope", {}).get("path")))

    signals.request_started.connect(receiver, weak=False)
    post = views.IncidentListView.post

    def watched_post(self, request):
        seen.append(("view", threading.get_ident(), request.path))
        return post(self, request)

    monkeypatch.setattr(views.IncidentListView, "post", watched_post)
    crossings["to the thread"].clear()
    try:
        communicator = dispatch_request(django_asgi_app, token, "HOPS-2")
        response = await communicator.get_response(timeout=10)
    finally:
        signals.request_started.disconnect(receiver)
    assert response["status"] == 201, response["body"]
    # No hop of the signal's own (was Signal.asend's sync_send, before the middleware's).
    assert [name for name in crossings["to the thread"] if "signal" in name.lower()] == []
    assert [name for name, _, _ in seen] == ["request_started", "view"]
    assert seen[0][1] == seen[1][1] != threading.get_ident()  # the request's thread, not the loop's
    assert seen[0][2] == "/api/v1/incidents/"


async def test_a_request_that_cannot_be_made_still_sends_request_started():
    """A request Django refuses before any middleware (here: a query string that is not UTF-8) still
    tells the request_started receivers, as Django's handler does."""
    from django.core import signals

    from backend.asgi import django_asgi_app

    seen = []

    def receiver(**kwargs):
        seen.append(kwargs.get("scope", {}).get("type"))

    signals.request_started.connect(receiver, weak=False)
    try:
        communicator = HttpCommunicator(django_asgi_app, "GET", "/healthz", headers=[(b"host", b"testserver")])
        communicator.scope["query_string"] = b"q=\xff"
        response = await communicator.get_response(timeout=10)
    finally:
        signals.request_started.disconnect(receiver)
    assert response["status"] == 400
    assert seen == ["http"]


async def test_requests_on_sqlite_keep_their_threads_database_connection(cad, monkeypatch):
    """The request threads are reused, and on SQLite each now keeps its connection between
    requests: opening one (its set-up, the first read of the schema) came before every request's
    first query, the CAD's token check among them. Counted: the connections closed (and so opened
    again by the next request) over three calls. (The tests' in-memory database ignores a close,
    so the closes are counted, not the connections opened.)"""
    from django.db import connection, connections
    from knox.models import AuthToken

    from backend.asgi import django_asgi_app

    if connection.vendor != "sqlite":
        pytest.skip("SQLite's connections (PostgreSQL's come from the pool or are kept for CONN_MAX_AGE)")
    _, token = await database_sync_to_async(AuthToken.objects.create)(user=cad, expiry=None)
    closed = []
    close = type(connections["default"]).close

    def counted(wrapper):
        closed.append(wrapper.alias)
        return close(wrapper)

    async def list_incidents():
        communicator = HttpCommunicator(
            django_asgi_app,
            "GET",
            "/api/v1/incidents/",
            headers=[(b"host", b"testserver"), (b"authorization", f"Token {token}".encode())],
        )
        response = await communicator.get_response(timeout=10)
        assert response["status"] == 200, response["body"]
        await communicator.wait(timeout=10)

    await list_incidents()
    monkeypatch.setattr(type(connections["default"]), "close", counted)
    for _ in range(3):
        await list_incidents()
    assert closed == []  # was one per request: closed at each request's end (CONN_MAX_AGE 0)


async def test_a_connection_left_in_a_transaction_is_closed_at_the_requests_end(monkeypatch):
    """Kept connections are still closed when a request leaves them unusable, as Django closes
    them: here one left inside a transaction (autocommit off)."""
    import threading

    from django.db import connection, connections

    from backend.asgi import django_asgi_app

    if connection.vendor != "sqlite":
        pytest.skip("SQLite's kept connections")
    from backend import health

    left = []
    database_answers = health._database_answers

    def leaves_a_transaction_open():
        database_answers()
        connection.set_autocommit(False)
        left.append((threading.get_ident(), connection))

    monkeypatch.setattr(health, "_database_answers", leaves_a_transaction_open)
    closes = []
    close = type(connections["default"]).close

    def counted(wrapper):
        closes.append(wrapper)
        return close(wrapper)

    monkeypatch.setattr(type(connections["default"]), "close", counted)
    communicator = HttpCommunicator(django_asgi_app, "GET", "/healthz", headers=[(b"host", b"testserver")])
    await communicator.get_response(timeout=10)
    await communicator.wait(timeout=10)
    assert len(left) == 1
    assert [wrapper.alias for wrapper in closes] == [
        "default"
    ]  # by request_finished, as Django closes an unusable connection


def test_the_request_handling_copied_from_django_is_of_the_django_it_was_copied_from():
    # OneThreadHopHandler.handle is Django 5.2's ASGIHandler.handle with request_started moved onto
    # the request's thread: a Django upgrade that changes Django's must be read and copied again.
    import hashlib
    import inspect

    from django.core.handlers.asgi import ASGIHandler

    source = inspect.getsource(ASGIHandler.handle).encode()
    assert hashlib.sha256(source).hexdigest() == "98faeb5bef800331e6a8002fbc96b30e4122a23438ae45a047190a531ea11323"
