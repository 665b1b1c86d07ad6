"""daphne's server, with its two walks over every connection cut into slices.

daphne (4.2.3, pinned) walks every connection from the event loop, in one go, twice:

- every 2 s `timeout_checker` calls `check_timeouts()` on each (it also sends each socket's
  keep-alive ping when due);
- every 1 s `application_checker` reaps the application instances that have finished (logging what
  they raised), cancels those that outlived their connection by `application_close_timeout`, and
  forgets connections whose socket and application are both gone.

With 10,000 sockets each walk stopped the loop, and every alert waiting in it, for 10-40 ms at a
time, and more under load (bench/socket_capacity.py --probe, "daphne timeout_checker" and "daphne
application_checker"). Here each walk, with daphne's period, runs as slices spread over that
period: the same work, in pauses a tenth or a twentieth as long. A connection closed since a walk
began is skipped by its later slices, as daphne's one-go walk never met one.

Import only from the serving process (manage.py serve): importing daphne.server installs
Twisted's asyncio reactor.
"""

import asyncio
import concurrent.futures
import logging
import time

from daphne.server import Server
from daphne.ws_protocol import WebSocketProtocol
from twisted.internet import reactor

from backend.worker.serving import collect_on_the_timer_only, collect_the_young

logger = logging.getLogger("daphne.server")  # where daphne's own walk logs

TIMEOUT_WALK_S = 2.0  # daphne's period for timeout_checker
TIMEOUT_SLICES = 20
APPLICATION_WALK_S = 1.0  # daphne's period for application_checker
APPLICATION_SLICES = 10


def _no_second_access_line(request) -> None:
    """Twisted's HTTPFactory.log, not kept (SlicedTimeoutServer.http_factory)."""


def _slice(protocols: list, number: int, slices: int) -> list:
    return protocols[len(protocols) * number // slices : len(protocols) * (number + 1) // slices]


class SendsAnySize(WebSocketProtocol):
    """daphne's WebSocket protocol, with its limit on a message's size (websocket_max_message_size,
    1 MiB) kept for what a client sends but not for what this server sends. Autobahn holds the one
    limit both ways, and a board's snapshot over it could never be sent: found by trial 18, 68 open
    incidents with their 1,467 alerts made a snapshot of 1.2 MB, the coordinators' socket failed to
    start on every try ("A socket could not be started": PayloadExceededError) and the board stayed
    "Connecting…". What a client may send is still limited here (and to 4 KB by the consumers,
    WEBSOCKET_MAX_MESSAGE_BYTES). The event loop runs one send at a time, so the limit lifted for
    this send is back before anything is received."""

    def sendMessage(self, payload, *args, **kwargs):
        limit = self.maxMessagePayloadSize
        self.maxMessagePayloadSize = 0  # none
        try:
            return super().sendMessage(payload, *args, **kwargs)
        finally:
            self.maxMessagePayloadSize = limit


class SlicedTimeoutServer(Server):
    @property
    def ws_factory(self):
        return self._ws_factory

    @ws_factory.setter
    def ws_factory(self, factory) -> None:
        """daphne's WebSocket factory (set by Server.run), whose sockets send messages of any size
        (SendsAnySize)."""
        factory.protocol = SendsAnySize
        self._ws_factory = factory

    @property
    def http_factory(self):
        return self._http_factory

    @http_factory.setter
    def http_factory(self, factory) -> None:
        """daphne's HTTP factory (set by Server.run), without Twisted's own access line: for each
        HTTP request its factory formats a second, combined-format line into Twisted's global log,
        which daphne sends nowhere (or, at verbosity 2, beside daphne's own access line). About a
        fifth of the event loop's time in sending an answer, spent after the answer is written and
        before the loop can send it (py-spy in bench/dispatch_latency.py, issue 17 item 2).
        daphne's own access log (AccessLogGenerator, `action_logger`) is untouched."""
        factory.log = _no_second_access_line
        self._http_factory = factory

    def run(self):
        # Its walk collects the young ten times a second: CPython's automatic collections, set off by
        # the dispatches' bursts of work, are not needed (backend/worker/serving.py).
        collect_on_the_timer_only()
        super().run()

    def timeout_checker(self):
        """Start a walk over the connections open now; its slices follow each other (as daphne's
        walks did, the next one is scheduled when this one ends)."""
        self._check_timeouts_slice(list(self.connections), 0)

    def _check_timeouts_slice(self, protocols: list, number: int) -> None:
        for protocol in _slice(protocols, number, TIMEOUT_SLICES):
            if protocol in self.connections:  # not closed since the walk began
                protocol.check_timeouts()
        step = TIMEOUT_WALK_S / TIMEOUT_SLICES
        if number + 1 < TIMEOUT_SLICES:
            reactor.callLater(step, self._check_timeouts_slice, protocols, number + 1)
        else:
            reactor.callLater(step, self.timeout_checker)

    def application_checker(self):
        """Start a walk over the connections known now, reaping their applications in slices."""
        self._check_applications_slice(list(self.connections), 0)

    def _check_applications_slice(self, protocols: list, number: int) -> None:
        collect_the_young()  # ten times a second: never a swollen young generation (serving.py)
        for protocol in _slice(protocols, number, APPLICATION_SLICES):
            if protocol in self.connections:  # not forgotten since the walk began
                self._reap(protocol, self.connections[protocol])
        step = APPLICATION_WALK_S / APPLICATION_SLICES
        if number + 1 < APPLICATION_SLICES:
            reactor.callLater(step, self._check_applications_slice, protocols, number + 1)
        else:
            reactor.callLater(step, self.application_checker)

    def _reap(self, protocol, details: dict) -> None:
        """What daphne 4.2.3's application_checker does for one connection."""
        disconnected = details.get("disconnected")
        application = details.get("application_instance")
        outlived = disconnected and time.time() - disconnected > self.application_close_timeout
        if outlived and application and not application.done():
            logger.warning(
                "Application instance %r for connection %s took too long to shut down and was killed.",
                application,
                repr(protocol),
            )
            application.cancel()
        if application and application.done():
            self._report_end(protocol, application, disconnected)
            del details["application_instance"]
            application = None
        if not application and disconnected:
            del self.connections[protocol]
            _let_reference_counting_free(protocol)

    def _report_end(self, protocol, application, disconnected) -> None:
        """Log what a finished application raised and tell its protocol (unless cancelled); a
        KeyboardInterrupt from it stops the server, as in daphne (its tests ask it to exit so)."""
        try:
            exception = application.exception()
        except (asyncio.CancelledError, concurrent.futures.CancelledError):
            return
        if exception is None:
            return
        if isinstance(exception, KeyboardInterrupt):
            self.stop()
            return
        logger.error("Exception inside application: %s", exception, exc_info=exception)
        if not disconnected:
            protocol.handle_exception(exception)


def _let_reference_counting_free(protocol) -> None:
    """Break the two reference cycles daphne, autobahn and Twisted leave behind each closed socket,
    once daphne has forgotten it, so that what the connection held is freed at once by reference
    counting rather than left to a full collection (which walks every open socket's objects: 1.2 s
    of CPU at 10,000 sockets, docs/scaling.md).

    - autobahn resolves a WebSocket protocol's `is_closed` Deferred with the protocol itself;
    - the HTTP request that was upgraded to the WebSocket stays in its channel's `requests`, and
      the request's `channel` is that channel (both are forgotten by daphne as a connection too)."""
    closed = getattr(protocol, "is_closed", None)
    if closed is not None and getattr(closed, "result", None) is protocol:
        closed.result = None
    channel = getattr(protocol, "channel", None)
    requests = getattr(channel, "requests", None)
    if isinstance(requests, list) and protocol in requests:
        requests.remove(protocol)
