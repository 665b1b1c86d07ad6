"""A reconnect storm (issue 17, item 4): --sockets phones connected to one daphne process, that
process killed (SIGKILL), and every phone reconnecting at once to the process left, on PostgreSQL
(a scratch database, created here and dropped after) and a private Redis, with incidents
dispatched to them all through the storm.

Two daphne processes (tests/support/cluster.py `Cluster`, the connection pool on as in production:
--pool-size). Every phone is a lean socket client that behaves as the app (pwa/app/socket.js): it
keeps the highest event id it has seen and sends it as `last_event_id` when it reconnects, after a
jittered pause that doubles from 0.25 s up to 2 s (the cluster's shortened backoff), acknowledges
every alert it is shown, pings every --ping-every-s as the app does, and gives up on an open socket
whose pings go unanswered within --pong-deadline-s (whether or not it has sent `sync.ready`).

1. Floor, in the same run: all phones connect to the first process, --connect-concurrency at a
   time (no storm): the calm connect rate.
2. Storm: the first process is killed; every phone's socket drops and it reconnects to the second.
   A dispatch every --dispatch-every-s through the second process's API (the CAD), one station
   after another, from the kill until every phone is back (at least --min-dispatches).
3. Counted: per phone, the time from the kill to its next `sync.ready` (reconnected and replayed:
   p50, p99, max = all resynced); failed connection attempts by why (refused, dropped in handshake,
   timeout, ...), sockets given up before `sync.ready`; phones never back; alerts of the storm's
   dispatches that their phone was not shown within --settle-s (lost), and frames shown twice.
   The ratio: the storm's time to all resynced against the floor's time to connect as many.

    .venv/bin/python bench/reconnect_storm.py                    # 10,000 sockets
    .venv/bin/python bench/reconnect_storm.py --sockets 2000

The load average is printed with the figures; the last line is one JSON object.
"""

import argparse
import asyncio
import dataclasses
import json
import os
import random
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(REPO_ROOT / "bench"))

from faults import raise_open_files_limit  # noqa: E402
from figures import percentile  # noqa: E402

from tests.support.cluster import BACKOFF_FIRST_S, BACKOFF_MAX_S  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/coresponder",
        help="the PostgreSQL server (a scratch database is created beside it and dropped after)",
    )
    parser.add_argument("--sockets", type=int, default=10000, help="phones, one socket each (default 10000)")
    parser.add_argument("--per-station", type=int, default=10, help="firefighters per station, alerted per dispatch")
    parser.add_argument("--pool-size", type=int, default=10, help="DATABASE_POOL_MAX_SIZE of each daphne process")
    parser.add_argument("--connect-concurrency", type=int, default=200, help="phones opening at once in the floor")
    parser.add_argument("--dispatch-every-s", type=float, default=0.5)
    parser.add_argument("--min-dispatches", type=int, default=20)
    parser.add_argument("--ping-every-s", type=float, default=25.0, help="the app's PING_EVERY_MS")
    parser.add_argument("--pong-deadline-s", type=float, default=10.0, help="the app's PONG_DEADLINE_MS")
    parser.add_argument("--open-deadline-s", type=float, default=30.0, help="the app's OPEN_DEADLINE_MS")
    parser.add_argument("--storm-timeout-s", type=float, default=900.0, help="give up on the storm after this")
    parser.add_argument("--settle-s", type=float, default=60.0, help="after the storm, wait this long for alerts")
    parser.add_argument("--keep-logs", type=Path, help="keep the servers' logs in this directory")
    return parser.parse_args(argv)


def why_not_connected(error: BaseException) -> str:
    from tests.support.cluster import _why_not_connected

    return _why_not_connected(error)


@dataclasses.dataclass(frozen=True)
class Liveness:
    """The app's liveness rules for a socket (pwa/app/socket.js)."""

    ping_every_s: float
    pong_deadline_s: float
    open_deadline_s: float  # a socket not open by then is given up and tried again


class Phone:
    """One phone with the app open, on one socket at a time."""

    def __init__(self, index: int, responder_id: int, cookie: str):
        self.index, self.responder_id, self.cookie = index, responder_id, cookie
        self.port: int | None = None
        self.last_event_id: int | None = None
        self.event_ids: Counter = Counter()
        self.alerts_shown: set[int] = set()
        self.shown_twice = 0
        self.live = asyncio.Event()
        self.killed_at: float | None = None  # set by the storm for every phone at once
        self.resync_s: float | None = None
        self.failures: Counter = Counter()  # connection attempts that failed, by why
        self.given_up = 0  # sockets open, without sync.ready, given up when a ping had no answer
        self.attempts = 0

    async def run(self, stop: asyncio.Event, liveness: "Liveness") -> None:
        from websockets.asyncio.client import connect
        from websockets.exceptions import WebSocketException

        attempt = 0
        while not stop.is_set():
            query = "" if self.last_event_id is None else f"?last_event_id={self.last_event_id}"
            self.attempts += 1
            opened = False
            try:
                async with connect(
                    f"ws://127.0.0.1:{self.port}/ws/responder/{query}",
                    origin=f"http://127.0.0.1:{self.port}",
                    additional_headers={"Cookie": self.cookie},
                    open_timeout=liveness.open_deadline_s,
                    close_timeout=1,
                    ping_interval=None,  # the server pings every 20 s; the app's own ping is left out
                    compression=None,
                    max_size=2**20,
                ) as socket:
                    opened = True
                    if await self._read(socket, stop, liveness):
                        attempt = 0
            except (OSError, TimeoutError, WebSocketException) as error:
                if not opened:
                    self.failures[why_not_connected(error)] += 1
            self.live.clear()
            if stop.is_set():
                return
            attempt += 1
            await asyncio.sleep(random.uniform(0, min(BACKOFF_MAX_S, BACKOFF_FIRST_S * 2 ** min(attempt, 6))))

    async def _read(self, socket, stop: asyncio.Event, liveness: "Liveness") -> bool:
        """Frames until the socket closes or the run stops; whether it reached sync.ready. As the
        app (pwa/app/socket.js): a `ping` every liveness.ping_every_s from the open, and the socket
        given up when nothing at all is heard within liveness.pong_deadline_s of a ping."""
        stopping = asyncio.ensure_future(stop.wait())
        ready = False
        next_ping = time.monotonic() + liveness.ping_every_s
        pong_due: float | None = None
        try:
            while True:
                receiving = asyncio.ensure_future(socket.recv())
                receiving.add_done_callback(_retrieve)  # a read cut off by the stop raises: no matter
                while True:
                    wake = min(next_ping, pong_due or next_ping)
                    done, _ = await asyncio.wait(
                        {receiving, stopping},
                        timeout=max(0.0, wake - time.monotonic()),
                        return_when=asyncio.FIRST_COMPLETED,
                    )
                    if done:
                        break
                    now = time.monotonic()
                    if pong_due is not None and now >= pong_due:
                        receiving.cancel()
                        if not ready:
                            self.given_up += 1  # open, no sync.ready, and no pong: the app drops it
                        await socket.close()
                        return ready
                    if now >= next_ping:
                        await socket.send('{"type":"ping"}')
                        next_ping = now + liveness.ping_every_s
                        pong_due = pong_due or now + liveness.pong_deadline_s
                if receiving not in done:
                    receiving.cancel()
                    await socket.close()
                    return ready
                pong_due = None  # anything heard proves the socket lives
                frame = json.loads(receiving.result())
                ready |= await self._on_frame(socket, frame)
        finally:
            stopping.cancel()

    async def _on_frame(self, socket, frame: dict) -> bool:
        kind, event_id = frame.get("type"), frame.get("id")
        if event_id is not None:
            self.event_ids[event_id] += 1
            self.last_event_id = max(self.last_event_id or 0, event_id)
        if kind == "sync.ready":
            self.last_event_id = max(self.last_event_id or 0, frame["data"]["last_event_id"])
            if self.killed_at is not None and self.resync_s is None:
                self.resync_s = time.monotonic() - self.killed_at
            self.live.set()
            return True
        if kind == "alert.created":
            alert_id = frame["data"]["alert"]["id"]
            if alert_id in self.alerts_shown:
                self.shown_twice += 1
            else:
                self.alerts_shown.add(alert_id)
                await socket.send(json.dumps({"type": "alert.ack", "alert_id": alert_id}))
        return False

    @property
    def duplicated(self) -> int:
        return self.shown_twice + sum(count - 1 for count in self.event_ids.values())


def _retrieve(task: asyncio.Task) -> None:
    if not task.cancelled():
        task.exception()


async def wait_all_live(phones: list[Phone], timeout: float) -> bool:
    try:
        await asyncio.wait_for(asyncio.gather(*(phone.live.wait() for phone in phones)), timeout)
        return True
    except TimeoutError:
        return False


async def storm(args, cluster, plan) -> dict:
    from tests.support.cluster import Dispatcher

    first, second = cluster.web
    phones = [
        Phone(index, responder_id, cookie)
        for index, (responder_id, cookie) in enumerate(zip(plan.responder_ids, plan.cookies, strict=True))
    ]
    stop = asyncio.Event()
    tasks = []

    # 1. The floor: every phone onto the first process, --connect-concurrency at a time.
    print(f"floor: {len(phones)} phones connecting to one process, {args.connect_concurrency} at a time", flush=True)
    started = time.monotonic()
    for start in range(0, len(phones), args.connect_concurrency):
        batch = phones[start : start + args.connect_concurrency]
        for phone in batch:
            phone.port = first.port
            tasks.append(
                asyncio.create_task(
                    phone.run(stop, Liveness(args.ping_every_s, args.pong_deadline_s, args.open_deadline_s))
                )
            )
        if not await wait_all_live(batch, args.storm_timeout_s):
            raise RuntimeError(f"the floor's phones {start}.. did not all connect in {args.storm_timeout_s} s")
    floor_s = time.monotonic() - started
    floor_failures = sum(sum(phone.failures.values()) for phone in phones)
    print(
        f"  {len(phones)} connected in {floor_s:.1f} s ({len(phones) / floor_s:.1f}/s), "
        f"{floor_failures} failed attempts (load {os.getloadavg()[0]:.2f})",
        flush=True,
    )
    for phone in phones:
        phone.failures.clear()
        phone.port = second.port  # where the app's next connection goes
    await asyncio.sleep(2)

    # 2. The storm: kill the first process; everyone reconnects to the second; dispatch meanwhile.
    dispatcher = Dispatcher(cluster, plan, run_id=f"STORM-{uuid.uuid4().hex[:6]}")
    stations = len(plan.responder_ids) // plan.per_station
    load_before = os.getloadavg()[0]
    killed_at = time.monotonic()
    for phone in phones:
        phone.killed_at = killed_at
    first.kill()
    print(f"storm: process {first.name} killed (load {load_before:.2f})", flush=True)
    dispatched = []

    async def dispatch_through_the_storm():
        number = 0
        while number < args.min_dispatches or not all(phone.resync_s is not None for phone in phones):
            if time.monotonic() - killed_at > args.storm_timeout_s:
                return
            station = (number * 7) % stations
            dispatched.append(await dispatcher.dispatch(number, station))
            number += 1
            await asyncio.sleep(args.dispatch_every_s)

    dispatching = asyncio.create_task(dispatch_through_the_storm())
    deadline = killed_at + args.storm_timeout_s
    last_report = killed_at
    while time.monotonic() < deadline and not all(phone.resync_s is not None for phone in phones):
        await asyncio.sleep(0.2)
        if time.monotonic() - last_report >= 10:
            last_report = time.monotonic()
            back = sum(phone.resync_s is not None for phone in phones)
            print(f"  {last_report - killed_at:5.0f} s: {back} of {len(phones)} back (load {os.getloadavg()[0]:.2f})")
    all_back_s = time.monotonic() - killed_at
    await dispatching
    load_storm = os.getloadavg()[0]

    # 3. Every alert of the storm shown to its phone? Wait up to --settle-s for stragglers.
    expected = await expected_alerts([record.incident_id for record in dispatched])
    by_responder = {phone.responder_id: phone for phone in phones}

    def missing():
        return [(rid, aid) for rid, aid in expected if aid not in by_responder[rid].alerts_shown]

    settle_deadline = time.monotonic() + args.settle_s
    while missing() and time.monotonic() < settle_deadline:
        await asyncio.sleep(0.5)
    lost = missing()
    stop.set()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)

    resyncs = [phone.resync_s * 1000 for phone in phones if phone.resync_s is not None]
    failures = Counter()
    for phone in phones:
        failures.update(phone.failures)
    floor_per_s = len(phones) / floor_s
    storm_per_s = len(resyncs) / all_back_s if resyncs else 0.0
    return {
        "sockets": len(phones),
        "floor_connect_s": round(floor_s, 1),
        "floor_connect_per_s": round(floor_per_s, 1),
        "floor_failed_attempts": floor_failures,
        "storm_all_resynced_s": round(all_back_s, 1),
        "storm_reconnect_per_s": round(storm_per_s, 1),
        "storm_over_floor_time_x": round(all_back_s / floor_s, 2),
        "resync_p50_ms": round(percentile(resyncs, 0.5), 0) if resyncs else None,
        "resync_p99_ms": round(percentile(resyncs, 0.99), 0) if resyncs else None,
        "resync_max_ms": round(max(resyncs), 0) if resyncs else None,
        "phones_not_resynced": len(phones) - len(resyncs),
        "failed_attempts_by_why": dict(failures),
        "failed_attempts": sum(failures.values()),
        "given_up_before_sync_ready": sum(phone.given_up for phone in phones),
        "phones_that_retried": sum(1 for phone in phones if phone.failures or phone.given_up),
        "dispatches_during_storm": len(dispatched),
        "alerts_during_storm": len(expected),
        "alerts_lost": len(lost),
        "duplicated_frames": sum(phone.duplicated for phone in phones),
        "loadavg_1m_before_kill": round(load_before, 2),
        "loadavg_1m_after_storm": round(load_storm, 2),
    }


async def expected_alerts(incident_ids: list[int]) -> list[tuple[int, int]]:
    from asgiref.sync import sync_to_async

    from backend.dispatch.models import Alert

    @sync_to_async
    def read():
        return list(Alert.objects.filter(incident_id__in=incident_ids).values_list("responder_id", "id"))

    return await read()


def run(args) -> dict:
    import dj_database_url
    from dispatch_latency import create_scratch_database, drop_scratch_database

    from tests.support.cluster import postgres_url

    server = dj_database_url.parse(args.database_url)
    if server["ENGINE"] != "django.db.backends.postgresql":
        raise SystemExit(f"--database-url must be PostgreSQL, not {args.database_url!r}")
    scratch = f"coresponder_storm_bench_{uuid.uuid4().hex[:8]}"
    os.environ.update(DJANGO_SETTINGS_MODULE="backend.settings", DATABASE_URL=postgres_url(server, name=scratch))
    os.environ.pop("REDIS_URL", None)  # this process sends nothing live
    create_scratch_database(server, scratch)
    try:
        return run_in(args)
    finally:
        from django.db import connections

        connections.close_all()
        drop_scratch_database(server, scratch)


def run_in(args) -> dict:
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from tests.support.cluster import Cluster, populate

    started = time.monotonic()
    call_command("migrate", verbosity=0, interactive=False)
    plan = populate(stations=args.sockets // args.per_station, per_station=args.per_station, prefix="storm")
    print(f"{len(plan.responder_ids)} firefighters with sessions; set up in {time.monotonic() - started:.1f} s")
    log_dir = Path(tempfile.mkdtemp(prefix="reconnect-storm-", dir=args.keep_logs)) if args.keep_logs else None
    with tempfile.TemporaryDirectory(prefix="reconnect-storm-") as temporary:
        cluster = Cluster(
            database=settings.DATABASES["default"],
            log_dir=log_dir or Path(temporary),
            web=2,
            workers=0,  # the sockets are what is measured; pushes stay queued
            env={
                "DISPATCH_MAX_PER_STATION": str(args.per_station),
                "DATABASE_POOL": "1",
                "DATABASE_POOL_MAX_SIZE": str(args.pool_size),
            },
        )
        try:
            cluster.start()
            return asyncio.run(storm(args, cluster, plan))
        except Exception:
            print(cluster.logs(), flush=True)
            raise
        finally:
            cluster.stop()


def main(argv=None) -> int:
    args = parse_args(argv)
    raise_open_files_limit(2 * args.sockets + 512)
    load_at_start = os.getloadavg()[0]
    print(f"load average at the start: {load_at_start:.2f} on {os.cpu_count()} CPUs (shared)", flush=True)
    figures = run(args)
    load = os.getloadavg()
    figures["loadavg_1m_start_end"] = [round(load_at_start, 2), round(load[0], 2)]
    f = figures
    print(
        f"\nfloor: {figures['sockets']} connects in {figures['floor_connect_s']} s ({figures['floor_connect_per_s']}/s)"
        f"\nstorm: all resynced in {f['storm_all_resynced_s']} s ({f['storm_over_floor_time_x']}x the floor);"
        f" resync p50 {figures['resync_p50_ms']} / p99 {figures['resync_p99_ms']} / max {figures['resync_max_ms']} ms;"
        f" {figures['phones_not_resynced']} never back; failed attempts {figures['failed_attempts_by_why']};"
        f" given up before sync.ready {figures['given_up_before_sync_ready']}"
        f"\nalerts during the storm: {f['alerts_during_storm']} ({f['dispatches_during_storm']} dispatches),"
        f" lost {figures['alerts_lost']}, frames twice {figures['duplicated_frames']}"
        f"\nload average (1 min): {load_at_start:.2f} at the start, {load[0]:.2f} at the end",
        flush=True,
    )
    print(json.dumps(figures), flush=True)
    clean = figures["alerts_lost"] == 0 and figures["phones_not_resynced"] == 0 and figures["duplicated_frames"] == 0
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
