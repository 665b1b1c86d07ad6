"""daphne's server, with its walk over every connection cut into slices.

Every 2 s daphne calls `check_timeouts()` on every connection, from the event loop, in one go: it
also sends each socket's keep-alive ping when due. With 10,000 sockets that one call stopped the
loop, and every alert waiting in it, for tens to hundreds of ms (bench/socket_capacity.py --probe,
"daphne timeout_checker"). Here the same walk, with the same period, runs as TIMEOUT_SLICES slices
spread over the period: the same work, in pauses a twentieth as long.

Import only from the serving process (manage.py serve): importing daphne.server installs
Twisted's asyncio reactor.
"""

from daphne.server import Server
from twisted.internet import reactor

TIMEOUT_WALK_S = 2.0  # daphne's period
TIMEOUT_SLICES = 20


class SlicedTimeoutServer(Server):
    def timeout_checker(self):
        """Start a walk over the connections open now; its slices follow each other (as daphne's
        walks did, the next one is scheduled when this one ends)."""
        self._check_timeouts_slice(list(self.connections), 0)

    def _check_timeouts_slice(self, protocols: list, number: int) -> None:
        start = len(protocols) * number // TIMEOUT_SLICES
        end = len(protocols) * (number + 1) // TIMEOUT_SLICES
        for protocol in protocols[start:end]:
            if protocol in self.connections:  # not closed since the walk began
                protocol.check_timeouts()
        step = TIMEOUT_WALK_S / TIMEOUT_SLICES
        if number + 1 < TIMEOUT_SLICES:
            reactor.callLater(step, self._check_timeouts_slice, protocols, number + 1)
        else:
            reactor.callLater(step, self.timeout_checker)
