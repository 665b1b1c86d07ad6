"""The serving process's garbage collector (backend/worker/serving.py), checked in a fresh process
that loads the ASGI application as daphne does: the settings take effect there, and what survives
a full collection stops being walked by the next one. Counts of objects, never timings."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.processes

LOAD_THE_APPLICATION = """
import gc, json, weakref
import backend.asgi
import backend.priority
from backend.worker import serving

class SocketState:  # a socket's long-lived state, in a reference cycle as Twisted's protocols are
    pass

def long_lived(count):
    made = []
    for _ in range(count):
        state = SocketState()
        state.me = state
        made.append(state)
    return made

def tracked(obj):  # the collector walks it (frozen objects are not in gc.get_objects())
    return any(o is obj for o in gc.get_objects())
"""


def run(tmp_path: Path, script: str, **env) -> dict:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_", "REDIS_", "GC_"))}
    result = subprocess.run(
        [sys.executable, "-c", LOAD_THE_APPLICATION + script],
        cwd=ROOT,
        env={**clean, "DJANGO_ENV": "development", "SQLITE_PATH": str(tmp_path / "db.sqlite3"), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_it_freezes_start_up_and_collects_the_young_less_often(tmp_path):
    found = run(
        tmp_path,
        "print(json.dumps({'threshold': gc.get_threshold(), 'frozen': gc.get_freeze_count(),"
        " 'hooked': serving.freeze_after_full_collections in gc.callbacks}))",
    )
    assert found["threshold"] == [10_000, 10, 10]
    assert found["frozen"] > 10_000  # Django and the apps
    assert not found["hooked"]  # freezing survivors is off by default (GC_FREEZE_SURVIVORS)


def test_it_freezes_what_survives_a_full_collection(tmp_path):
    found = run(
        tmp_path,
        """
sockets = long_lived(1000)
before = tracked(sockets[0])
gc.collect()
print(json.dumps({'tracked_before': before, 'tracked_after': tracked(sockets[0])}))
""",
        GC_FREEZE_SURVIVORS="true",
    )
    assert found == {"tracked_before": True, "tracked_after": False}


def test_it_lets_the_collector_see_everything_again_once_the_frozen_set_has_doubled(tmp_path):
    # Sockets that close leave reference cycles the collector cannot see while they are frozen.
    found = run(
        tmp_path,
        """
baseline = gc.get_freeze_count()
sockets = long_lived(baseline // 2 + 1000)
gc.collect()  # frozen set x1.5: frozen
half_grown = gc.get_freeze_count()
closed = weakref.ref(sockets[0])
sockets.extend(long_lived(baseline))
gc.collect()  # x2.5: unfrozen for the next full collection
unfrozen = gc.get_freeze_count()
del sockets[: baseline // 2 + 1000]  # these sockets close: their cycles are garbage now
gc.collect()  # walks everything, reclaims them, freezes what lives
print(json.dumps({'half_grown_over_baseline': half_grown / baseline, 'unfrozen': unfrozen,
                  'closed_reclaimed': closed() is None, 'refrozen_over_baseline': gc.get_freeze_count() / baseline}))
""",
        GC_FREEZE_SURVIVORS="true",
    )
    assert 1.4 < found["half_grown_over_baseline"] < 2.0
    assert found["unfrozen"] == 0
    assert found["closed_reclaimed"]
    assert 1.9 < found["refrozen_over_baseline"] < 2.5  # start-up and the open sockets


def test_freezing_survivors_is_off_unless_asked_for(tmp_path):
    found = run(
        tmp_path,
        """
sockets = long_lived(1000)
gc.collect()
print(json.dumps({'hooked': serving.freeze_after_full_collections in gc.callbacks,
                  'threshold': gc.get_threshold(), 'tracked_after': tracked(sockets[0])}))
""",
    )
    assert found == {"hooked": False, "threshold": [10_000, 10, 10], "tracked_after": True}


def test_replacing_long_lived_objects_swells_the_young_generation_until_the_serving_process_collects_it(tmp_path):
    # A socket's long-lived objects replaced (a keep-alive ping, a session check) while the old ones
    # are freed: CPython counts net new objects, so no collection comes while the youngest generation
    # grows; the serving process collects it ten times a second instead (backend/worker/daphne_server.py).
    found = run(
        tmp_path,
        """
def state():  # five tracked objects, no cycle: freed by reference counting when replaced
    return [[part] for part in range(4)]

sockets = [state() for _ in range(20_000)]
gc.collect()
for number in range(len(sockets)):
    sockets[number] = state()  # 100,000 new objects, 100,000 old ones freed
swollen, count = len(gc.get_objects(generation=0)), gc.get_count()[0]
serving.collect_the_young()
print(json.dumps({'swollen': swollen, 'count': count, 'after': len(gc.get_objects(generation=0))}))
""",
    )
    assert found["count"] < 10_000  # no collection was due
    assert found["swollen"] >= 100_000  # yet the youngest generation held all the new objects
    assert found["after"] < 100


def test_the_timed_young_collections_collect_the_middle_generation_every_eleventh_time(tmp_path):
    # As CPython does: after MIDDLE_THRESHOLD young collections, the middle generation with them.
    found = run(
        tmp_path,
        """
gc.collect(1)  # none of the young collections since the middle generation's last one is left
before = gc.get_stats()[1]["collections"]
for _ in range(3 * (serving.MIDDLE_THRESHOLD + 1)):  # ten young collections, then the middle one
    serving.collect_the_young()
print(json.dumps({'middle': gc.get_stats()[1]["collections"] - before}))
""",
    )
    assert found == {"middle": 3}


def test_the_timed_collections_make_a_full_one_when_none_has_run_for_five_minutes(tmp_path):
    # CPython decides a full collection only in an automatic collection, which the timed ones make
    # rare: without this the oldest generation's cyclic garbage could wait for hours.
    found = run(
        tmp_path,
        """
gc.collect()
start = serving._LastFull.at
for _ in range(3 * (serving.MIDDLE_THRESHOLD + 1) * serving.OLD_THRESHOLD):
    serving.collect_the_young(now=lambda: start + 1)  # middle collections: the oldest's count grows
fulls = lambda: gc.get_stats()[2]["collections"]
before = fulls()
serving.collect_the_young(now=lambda: start + 10)
too_soon = fulls() - before
serving.collect_the_young(now=lambda: start + serving.FULL_COLLECTION_AT_LEAST_EVERY_S + 1)
due = fulls() - before
serving.collect_the_young(now=lambda: start + serving.FULL_COLLECTION_AT_LEAST_EVERY_S + 2)
print(json.dumps({'count_reset': gc.get_count()[2] < serving.OLD_THRESHOLD, 'too_soon': too_soon, 'due': due,
                  'not_again_at_once': fulls() - before}))
""",
    )
    assert found == {"count_reset": True, "too_soon": 0, "due": 1, "not_again_at_once": 1}


def test_in_manage_py_serve_a_burst_of_work_sets_off_no_collection_the_timer_does(tmp_path):
    # A dispatch is a burst of allocations: CPython collected in it, fully once the sockets had
    # grown the oldest generation (144 ms of the loop at 1,000 sockets). The ticks collect instead.
    found = run(
        tmp_path,
        """
serving.collect_on_the_timer_only()
collections = []
gc.callbacks.append(lambda phase, info: phase == 'start' and collections.append(info['generation']))
burst = [[n] for n in range(5 * serving.YOUNG_THRESHOLD)]  # tracked, alive: the count passes the threshold
in_the_burst = len(collections)
serving.collect_the_young()
print(json.dumps({'in_the_burst': in_the_burst, 'at_the_tick': len(collections) - in_the_burst}))
""",
    )
    assert found == {"in_the_burst": 0, "at_the_tick": 1}  # was at least 5 in the burst


def test_the_timed_collections_wait_while_a_dispatch_is_served_then_collect(tmp_path):
    # A collection stops the event loop and, holding the interpreter, the dispatch's thread: a tick
    # that comes while an urgent request is in flight waits, for a bounded number of ticks.
    found = run(
        tmp_path,
        """
young = lambda: gc.get_stats()[0]["collections"]
waits = serving.MAX_TICKS_WAITING_FOR_URGENT
before = young()
for _ in range(waits):
    serving.collect_the_young(urgent_in_flight=lambda: 1)
while_urgent = young() - before
serving.collect_the_young(urgent_in_flight=lambda: 1)  # waited long enough: collects all the same
after_the_bound = young() - before
serving.collect_the_young(urgent_in_flight=lambda: 1)  # the count starts again after a collection
waiting_again = young() - before
serving.collect_the_young(urgent_in_flight=lambda: 0)
idle = young() - before
with backend.priority.urgent():  # the real count, as the ASGI middleware keeps it for a dispatch
    serving.collect_the_young()
in_a_real_urgent_request = young() - before
print(json.dumps({'while_urgent': while_urgent, 'after_the_bound': after_the_bound,
                  'waiting_again': waiting_again, 'idle': idle, 'real': in_a_real_urgent_request}))
""",
    )
    assert found == {"while_urgent": 0, "after_the_bound": 1, "waiting_again": 1, "idle": 2, "real": 2}
