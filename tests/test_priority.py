"""Dispatch first (backend/priority.py): what can wait (positions) waits while a dispatch is served.

Asserted on the order in which things happen, never on how long they took."""

import asyncio
import threading

import pytest
from asgiref.sync import sync_to_async
from django.db import connection
from django.test.utils import CaptureQueriesContext

from backend import broadcast, priority
from backend.dispatch import positions
from tests.api.test_positions_api import NEAR, accepted, alerts, sent  # noqa: F401 (fixtures)

DISPATCH = {"type": "http", "method": "POST", "path": "/api/v1/incidents/"}
POSITION = {"type": "http", "method": "POST", "path": "/api/v1/alerts/7/positions/"}


@pytest.fixture(autouse=True)
def nothing_urgent_left():
    yield
    assert priority.urgent_in_flight() == 0


@pytest.mark.parametrize(
    ("method", "path", "urgency"),
    [
        ("POST", "/api/v1/incidents/", priority.URGENT),
        ("POST", "/api/v1/incidents/12/dispatch/", priority.URGENT),
        ("POST", "/admin/dispatch/incident/12/dispatch/", priority.URGENT),
        ("POST", "/admin/dispatch/incident/12/stand-down/", None),
        ("POST", "/api/v1/alerts/7/positions/", priority.CAN_WAIT),
        ("PUT", "/api/v1/me/position/", priority.CAN_WAIT),
        ("GET", "/api/v1/incidents/", None),
        ("GET", "/api/v1/incidents/12/positions/", None),
        ("POST", "/api/v1/alerts/7/respond/", None),
        ("POST", "/no/such/path/", None),
    ],
)
def test_views_say_what_is_urgent_and_what_can_wait(method, path, urgency):
    assert priority.urgency_of({"type": "http", "method": method, "path": path}) == urgency


class App:
    """A stand-in for Django behind the middleware: records when each request reaches it; the
    dispatch stays in it until told to finish."""

    def __init__(self):
        self.order = []
        self.finish_dispatch = asyncio.Event()
        self.dispatch_started = asyncio.Event()

    async def __call__(self, scope, receive, send):
        if scope is DISPATCH:
            self.order.append("dispatch starts")
            self.dispatch_started.set()
            await self.finish_dispatch.wait()
            self.order.append("dispatch answered")
        else:
            self.order.append("position handled")


async def test_a_position_arriving_during_a_dispatch_is_handled_after_it():
    app = App()
    middleware = priority.DispatchFirst(app)
    dispatch = asyncio.create_task(middleware(DISPATCH, None, None))
    await app.dispatch_started.wait()
    position = asyncio.create_task(middleware(POSITION, None, None))
    for _ in range(5):
        await asyncio.sleep(0)
    assert app.order == ["dispatch starts"]  # held
    app.finish_dispatch.set()
    await asyncio.gather(dispatch, position)
    assert app.order == ["dispatch starts", "dispatch answered", "position handled"]


async def test_the_dispatch_counts_until_its_sends_have_gone(monkeypatch):
    app = App()
    sends_gone = asyncio.Event()

    async def wait_for_sends():
        app.order.append("dispatch's sends awaited")
        await sends_gone.wait()

    monkeypatch.setattr(broadcast, "sent", wait_for_sends)
    middleware = priority.DispatchFirst(app)
    app.finish_dispatch.set()
    dispatch = asyncio.create_task(middleware(DISPATCH, None, None))
    while "dispatch's sends awaited" not in app.order:
        await asyncio.sleep(0)
    position = asyncio.create_task(middleware(POSITION, None, None))
    for _ in range(5):
        await asyncio.sleep(0)
    assert "position handled" not in app.order
    sends_gone.set()
    await asyncio.gather(dispatch, position)
    assert app.order[-1] == "position handled"


async def test_a_position_is_never_held_longer_than_the_limit(monkeypatch):
    monkeypatch.setattr(priority, "MAX_WAIT_S", 0.01)
    app = App()
    middleware = priority.DispatchFirst(app)
    dispatch = asyncio.create_task(middleware(DISPATCH, None, None))
    await app.dispatch_started.wait()
    await middleware(POSITION, None, None)  # the dispatch is still being served
    assert app.order == ["dispatch starts", "position handled"]
    app.finish_dispatch.set()
    await dispatch


async def test_other_requests_are_never_held():
    app = App()
    middleware = priority.DispatchFirst(app)
    dispatch = asyncio.create_task(middleware(DISPATCH, None, None))
    await app.dispatch_started.wait()
    await middleware({"type": "http", "method": "POST", "path": "/api/v1/alerts/7/respond/"}, None, None)
    await middleware({"type": "http", "method": "GET", "path": "/api/v1/alerts/7/positions/"}, None, None)
    assert app.order == ["dispatch starts", "position handled", "position handled"]
    app.finish_dispatch.set()
    await dispatch


def _in_a_thread(order: list, name: str, **kwargs) -> threading.Thread:
    def run():
        priority.wait_turn(**kwargs)
        order.append(name)

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_a_position_already_being_handled_waits_in_its_thread_until_the_dispatch_is_done():
    order = []
    with priority.urgent():
        thread = _in_a_thread(order, "position goes on", max_wait=60)
        thread.join(timeout=0.05)
        assert thread.is_alive()  # waiting, not done
        order.append("dispatch done")
    thread.join(timeout=60)
    assert order == ["dispatch done", "position goes on"]


def test_in_its_thread_too_a_position_waits_no_longer_than_the_limit():
    order = []
    with priority.urgent():
        _in_a_thread(order, "position goes on", max_wait=0.01).join(timeout=60)
        order.append("dispatch done")
    assert order == ["position goes on", "dispatch done"]


def test_a_position_held_once_is_not_held_again_in_its_thread():
    async def held_then_handled():
        with priority.urgent():
            await priority.wait_turn_async(max_wait=0.01)  # held (and let go at the limit)
            # Its Django handling: in a thread, with the request's context (asgiref copies it).
            await sync_to_async(priority.wait_turn, thread_sensitive=False)(60)
            return "handled"

    # Had it waited again, it would have waited the 60 s: the test's timeout would end it first.
    assert asyncio.run(held_then_handled()) == "handled"


@pytest.mark.django_db
def test_no_wait_inside_a_transaction():
    from django.db import transaction

    with priority.urgent(), transaction.atomic():
        priority.wait_turn(max_wait=60)  # returns at once: what it holds, a dispatch might need


def test_recording_a_position_takes_its_turn_before_its_first_query(accepted, alice, sent, monkeypatch):  # noqa: F811
    with CaptureQueriesContext(connection) as captured:
        queries_at_turn = []
        monkeypatch.setattr(priority, "wait_turn", lambda: queries_at_turn.append(len(captured)))
        positions.record_alert_position(actor=alice.user, alert_id=accepted.pk, **NEAR)
    assert queries_at_turn == [0] and len(captured) > 0
