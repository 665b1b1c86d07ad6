"""The serving process's garbage collector, tuned for many long-lived sockets.

A daphne process holding 10,000 sockets holds millions of objects that live as long as their
socket (the consumer, its scope, Twisted's protocol and transport, asyncio tasks: about 40 KB a
socket). CPython's collector walks every object of a generation when it collects it, and its
oldest generation holds all of them: each full collection then stops the event loop, and every
alert waiting in it, for a time that grows with the sockets (bench/socket_capacity.py --probe).

What this does instead:

- In `manage.py serve`, collections only on a timer (collect_on_the_timer_only, collect_the_young):
  none set off by a dispatch's burst of work.
- What start-up made (Django, the apps, the URL patterns) is frozen: never walked again.
- The youngest generation is collected every 10,000 net allocations instead of 700, so short
  requests rarely trigger a collection at all.
- After each full collection, what survived it is frozen too (`freeze_survivors`): objects that
  survive a full collection are, in this process, almost all sockets' state, so the next full
  collection walks only what came since. A frozen object is still freed by reference counting
  when its socket closes; only reference cycles among frozen objects are never found. So once the
  frozen set has doubled since the collector last saw all of it, the next full collection is
  given everything again (`gc.unfreeze`): the cycles left by closed sockets are reclaimed, at the
  cost of one long pause per doubling, instead of one per 25 % growth (CPython's own rule).

The freezing after full collections is off unless GC_FREEZE_SURVIVORS=true: measured with
bench/gc_pauses.py (collector CPU per dispatch, 1,000 to 10,000 sockets' worth of objects) it made
fewer and shorter full collections in steady state but not a shorter longest pause, since the
collection that sees everything again after a doubling is as long as an ordinary full one. Since
5 December a closed socket leaves no cyclic garbage (backend/worker/daphne_server.py,
tests/worker/test_closed_connections_garbage.py): frozen sockets are freed whole by reference
counting when they close, so the frozen set tracks the open sockets; whether that makes the
freezing worth turning on is not yet measured. Start-up is frozen and the thresholds raised either
way.
"""

import gc
import time

from backend import priority

YOUNG_THRESHOLD = 10_000  # CPython's default is 700
MIDDLE_THRESHOLD = 10
OLD_THRESHOLD = 10
# The longest the timed collections let cyclic garbage wait in the oldest generation (see
# collect_the_young): one full collection every five minutes at most, about 1 s of CPU at 10,000
# sockets (docs/scaling.md), i.e. 0.3 % of a core, at a tick rather than inside a burst of work.
FULL_COLLECTION_AT_LEAST_EVERY_S = 300.0
FROZEN_GROWTH_BEFORE_FULL_SCAN = 2.0  # the frozen set may double before the collector sees it again
# The most ticks in a row a timed collection waits for the urgent requests in flight (a dispatch, an
# escalation; backend/priority.py) to be served: half a second, longer than any dispatch takes, so
# that a storm of dispatches delays the collections, never stops them.
MAX_TICKS_WAITING_FOR_URGENT = 5


def collect_the_young(now=time.monotonic, urgent_in_flight=priority.urgent_in_flight) -> None:
    """Collect the youngest generation now. The serving process calls this ten times a second
    (`SlicedTimeoutServer`, backend/worker/daphne_server.py, at each slice of its applications'
    walk), so that the youngest generation never holds more than a tenth of a second's new objects.

    CPython (3.11) collects it after YOUNG_THRESHOLD *net* new objects: allocations less
    deallocations of any object, old ones included. A process holding 10,000 sockets replaces
    their long-lived objects all the time (each keep-alive ping, each app ping and its session
    check) while freeing the ones they replace, so the net count hardly moves while the youngest
    generation grows to hundreds of thousands of objects; the collection that finally comes walks
    them all in one go: 172 ms of CPU in the event loop's thread, in a dispatch, at 10,000 sockets
    (bench/socket_capacity.py --probe, docs/scaling.md).

    Every MIDDLE_THRESHOLD-th time the middle generation is collected with it, as CPython would:
    its automatic collections, which decide that, rarely come any more (the count seldom reaches
    YOUNG_THRESHOLD in a tenth of a second), and without this the middle generation gathered every
    survivor for minutes (83 ms of CPU per collection at 10,000 sockets).

    And a full collection once FULL_COLLECTION_AT_LEAST_EVERY_S has passed since the last one, if
    anything has reached the oldest generation since (its count is the middle collections since
    the last full one). CPython decides a full collection only in an automatic collection, which
    the timed ones make rare and which then comes in a burst of work (a dispatch): left to it, the
    oldest generation's cyclic garbage could wait for hours in a quiet process, and its walk land
    in a dispatch.

    None of these while a dispatch is being served (an urgent request, from its arrival until its
    frames have left; backend/priority.py), for up to MAX_TICKS_WAITING_FOR_URGENT ticks: a
    collection stops the event loop and, holding the interpreter, the dispatch's thread, and the
    first middle collection after 1,000 sockets connected walked their objects for 20 ms inside a
    dispatch (bench/dispatch_latency.py --probe, 6 December). Waiting costs nothing but a young
    generation a few ticks older, collected as soon as the dispatch is out.

    `now`: the clock, `urgent_in_flight`: the urgent requests' count (tests pass their own)."""
    if urgent_in_flight() and _TicksWaited.count < MAX_TICKS_WAITING_FOR_URGENT:
        _TicksWaited.count += 1
        return
    _TicksWaited.count = 0
    if gc.get_count()[2] >= OLD_THRESHOLD and now() - _LastFull.at >= FULL_COLLECTION_AT_LEAST_EVERY_S:
        gc.collect(2)
        _LastFull.at = now()  # on the caller's clock (the hook notes it on the real one)
        return
    middle_due = gc.get_count()[1] >= MIDDLE_THRESHOLD
    gc.collect(1 if middle_due else 0)


def collect_on_the_timer_only() -> None:
    """CPython's automatic collections off, in a process whose collections are timed (called as
    `manage.py serve`'s server starts, whose walk calls collect_the_young ten times a second; plain
    daphne keeps CPython's).

    CPython collects when allocations outrun deallocations by YOUNG_THRESHOLD, which in a serving
    process happens in a burst of work: a dispatch. And when the oldest generation has grown by a
    quarter since it was last walked (at first, as soon as sockets have connected), that automatic
    collection is a full one, which walks every socket's objects while the dispatch that set it off
    waits: 144 ms of the event loop at 1,000 sockets (bench/dispatch_latency.py --probe, issue 17),
    about 1 s at 10,000 (docs/scaling.md). The timed collections collect the same generations at
    ticks that have nothing to do with the dispatches; between two ticks the youngest generation
    holds a tenth of a second's new objects, and reference counting frees all but the cycles."""
    gc.disable()


class _TicksWaited:
    """Timed collections waited in a row for urgent requests to be served (collect_the_young)."""

    count = 0


class _LastFull:
    """When the last full collection ended (any: CPython's own, or collect_the_young's)."""

    at = time.monotonic()


def _note_full_collections(phase: str, info: dict) -> None:
    """gc.callbacks hook: the time of each full collection, whoever asked for it."""
    if phase == "stop" and info["generation"] == 2:
        _LastFull.at = time.monotonic()


class _Frozen:
    """The frozen set's size when the collector last walked all of it."""

    baseline = 0
    unfrozen = False  # the next full collection sees everything (then freezes again)


def tune_garbage_collector(*, freeze_survivors: bool) -> None:
    """Call once, after start-up (Django and the application loaded), in the serving process."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, MIDDLE_THRESHOLD, OLD_THRESHOLD)
    if _note_full_collections not in gc.callbacks:
        gc.callbacks.append(_note_full_collections)
    _Frozen.baseline, _Frozen.unfrozen = gc.get_freeze_count(), False
    if freeze_survivors and freeze_after_full_collections not in gc.callbacks:
        gc.callbacks.append(freeze_after_full_collections)


def freeze_after_full_collections(phase: str, info: dict) -> None:
    """gc.callbacks hook: after a full collection, freeze its survivors, or, when the frozen set has
    outgrown its baseline, unfreeze it so that the next full collection sees every object."""
    if phase != "stop" or info["generation"] != 2:
        return
    if _Frozen.unfrozen:
        # This collection walked everything: what is frozen now is live, the new baseline.
        gc.freeze()
        _Frozen.baseline, _Frozen.unfrozen = gc.get_freeze_count(), False
        return
    gc.freeze()
    if gc.get_freeze_count() > FROZEN_GROWTH_BEFORE_FULL_SCAN * max(_Frozen.baseline, 1):
        gc.unfreeze()  # into the oldest generation: the next full collection walks it all
        _Frozen.unfrozen = True
