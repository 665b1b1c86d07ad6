"""The one ASGI application: HTTP (Django) and WebSockets (Channels), served by daphne."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")

import asyncio
import contextlib
from concurrent.futures import ThreadPoolExecutor

import django
from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.urls import set_script_prefix

from backend import broadcast

# Idle request threads kept for the next requests; a burst beyond them gets new ones, ended after.
IDLE_REQUEST_THREADS_KEPT = 32


class RequestThreads:
    """The threads HTTP requests run on, each request on one thread of its own for its whole life
    (its middleware, view and database connection), as Django's handler does; but the threads are
    kept and reused, as a WSGI server's are, instead of a new thread started for each request and
    another started to join it when it ends (asgiref's ThreadSensitiveContext without an executor).
    Starting a thread blocks the event loop until the thread has run (py-spy on a dispatching
    server: Thread.start was 17 % of the loop thread's samples), and the loop is what takes the
    request in and sends the alerts' frames out (issue 17). Used only on the event loop's thread."""

    def __init__(self, kept: int = IDLE_REQUEST_THREADS_KEPT):
        self.kept = kept
        self.idle: list[ThreadPoolExecutor] = []

    def take(self) -> ThreadPoolExecutor:
        if self.idle:
            return self.idle.pop()  # the most recently used: its thread is the likeliest to be warm
        return ThreadPoolExecutor(max_workers=1, thread_name_prefix="request")

    def give_back(self, executor: ThreadPoolExecutor) -> None:
        if len(self.idle) < self.kept:
            self.idle.append(executor)
        else:
            executor.shutdown(wait=False)  # its thread ends once idle; nothing waits for it

    def end(self, executor: ThreadPoolExecutor) -> None:
        """A request that did not finish (cancelled): its thread may still be busy; not reused."""
        executor.shutdown(wait=False)


class OneThreadHopHandler(ASGIHandler):
    """Django's ASGI handler, with the middleware and the view run in one go on the request's
    thread: one hop from the event loop and back.

    Django's own builds an async chain because the server is async: every middleware here is
    synchronous, so the chain went to the request's thread for the middleware, back to the loop
    (async_to_sync) for the view's turn, to the thread for CSRF's view check, back, to the thread
    for the view, back, to the thread to render the answer, back, and to the thread again for the
    middleware's way out. Each crossing waits for the loop to get round to it, and a dispatch's
    loop is busy with sockets: about 4 ms passed between a dispatch call's arrival and its view,
    and 7 ms between the view's end and the answer (bench/dispatch_latency.py --probe; issue 17).
    The same middleware and view run, in the same order, on the same thread (the request's,
    where its database connection lives)."""

    def __init__(self):
        super().__init__()
        self.request_threads = RequestThreads()

    def load_middleware(self, is_async=False):
        super().load_middleware(is_async=False)
        chain = self._middleware_chain

        def started_then_chain(request):
            # Django's handler sends request_started from the loop before it reads the request;
            # its receivers (close_old_connections, reset_queries) are synchronous, so that was a
            # hop of its own to the request's thread and back before the middleware's: about a
            # millisecond on a dispatching server, more when the loop is busy with sockets
            # (bench/dispatch_latency.py --probe, issue 17). Here it is sent on the same thread, at
            # the start of the same hop, before any middleware, as Django's WSGI handler sends it.
            signals.request_started.send(sender=self.__class__, scope=request.scope)
            return chain(request)

        self._middleware_chain = sync_to_async(started_then_chain, thread_sensitive=True)

    async def handle(self, scope, receive, send):
        """Django's (5.2's ASGIHandler.handle), but request_started is sent by the middleware's hop
        (load_middleware) instead of a hop of its own first; a request that cannot be made (bad
        encoding, too large) still sends it from here, as Django does."""
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        set_script_prefix(get_script_prefix(scope))
        request, error_response = self.create_request(scope, body_file)
        if request is None:
            await signals.request_started.asend(sender=self.__class__, scope=scope)
            body_file.close()
            await self.send_response(error_response, send)
            await sync_to_async(error_response.close)()
            return

        async def process_request(request, send):
            # The answer goes before the frames of what the request did (backend/broadcast.py).
            async with broadcast.answer_first(send) as send:
                response = await self.run_get_response(request)
                with contextlib.suppress(asyncio.CancelledError):  # the client went away during the send
                    await self.send_response(response, send)
            return response

        # As Django: the disconnect listener first, so that it cannot keep the request from ending.
        tasks = [
            asyncio.create_task(self.listen_for_disconnect(receive)),
            asyncio.create_task(process_request(request, send)),
        ]
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in tasks:
            if task.done():
                try:
                    task.result()
                except RequestAborted:
                    pass
                except AssertionError:
                    body_file.close()
                    raise
            else:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        try:
            response = tasks[1].result()
        except asyncio.CancelledError:
            await signals.request_finished.asend(sender=self.__class__)
        else:
            await sync_to_async(response.close)()
        body_file.close()

    async def __call__(self, scope, receive, send):
        """Django's, with the request's thread taken from `request_threads` (see there)."""
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        executor = self.request_threads.take()
        try:
            async with ThreadSensitiveContext(executor=executor):
                await self.handle(scope, receive, send)
        except BaseException:
            self.request_threads.end(executor)
            raise
        self.request_threads.give_back(executor)


# Set up Django (apps, settings) before importing anything that touches models.
django.setup(set_prefix=False)
django_asgi_app = OneThreadHopHandler()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402

from backend.accounts.sockets import SocketAuthMiddlewareStack  # noqa: E402
from backend.limits import BodySizeLimit  # noqa: E402
from backend.priority import DispatchFirst  # noqa: E402
from backend.sockets.routing import websocket_urlpatterns  # noqa: E402
from backend.sockets.security import SameOriginValidator  # noqa: E402
from backend.sqlite_wal import hold_the_log_open  # noqa: E402
from backend.worker.serving import tune_garbage_collector  # noqa: E402

# A server holding thousands of sockets holds millions of long-lived objects; the collector's walks
# over them paused alert delivery by hundreds of ms (bench/socket_capacity.py --probe). Freeze what
# start-up made, collect less often and, with GC_FREEZE_SURVIVORS, freeze what survives each full
# collection (see there).
tune_garbage_collector(freeze_survivors=settings.GC_FREEZE_SURVIVORS)
# SQLite only: no request's close checkpoints and deletes the log (see there; issue 17).
hold_the_log_open()

application = ProtocolTypeRouter(
    {
        # Requests that can wait (positions) wait while a dispatch is served (backend/priority.py).
        "http": DispatchFirst(BodySizeLimit(django_asgi_app)),
        "websocket": SameOriginValidator(SocketAuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
