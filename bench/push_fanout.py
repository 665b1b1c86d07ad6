"""Web Push fan-out: how long after the dispatch API call has every alerted firefighter's push been
accepted by the push service, and how does that compare with django-webpush's own sender?

Set-up (all on 127.0.0.1, in a temporary directory that is removed afterwards):

* a push service stand-in (tests/support/push_service.py: real HTTP, decrypts every payload, verifies
  VAPID against the subscription's applicationServerKey) answering every push after --push-delay-ms;
* a fresh SQLite file (SQLITE_PATH), migrated with `manage.py migrate`, holding --devices
  firefighters (one subscribed device each, subscribed through backend.delivery.subscriptions, which
  also writes django-webpush's SubscriptionInfo / PushInformation rows) at stations a few km from
  the incidents, a coordinator with a knox token, and the incidents;
* the product as `make run` serves it: `manage.py serve` (daphne with the embedded delivery worker),
  with DISPATCH_MAX_PER_STATION / DISPATCH_MAX_RESPONDERS high enough that one dispatch alerts
  every firefighter, and an escalation ladder too long to fire during the run.

Measured: for each of --dispatches incidents (after --warmup unmeasured ones), from just before
POST /api/v1/incidents/{id}/dispatch/ is sent until the stand-in has accepted the last of the
dispatch's pushes (the stand-in's own receive timestamps). p50 / p99 over dispatches of that
"last push" time, and over every push. Between dispatches the script waits until the server has
recorded every delivery as sent, so dispatches do not overlap. The deliveries' own timestamps
(claimed, recorded) give a breakdown of where the time goes.

Then the floor: the same pushes sent by a bare pywebpush + aiohttp fan-out in its own process (no
Django, no database), to the same subscriptions at the same stand-in, so the figures can be read
against what this machine and this stand-in allow at all: gathered at once as pywebpush's docs
show, with as many connections as devices (the product's PUSH_MAX_CONCURRENCY, 500, allows one per
device) and with 100; and paced as the product's worker starts its sends since 5 December, each
request written before the next push is encrypted (`--floor-paced`), which lets the push service
work on the first pushes while the last are encrypted. Every floor signs a VAPID JWT per message,
as pywebpush does given claims; the product signs one per push service. Since 6 December each floor
sends one round after each of the product's dispatches (a child process per floor, told when), so
that the product and its floors meet the same load on this shared machine; `--floors-after` runs
them after the product, each in one go, as before. The server's CPU per push is counted from each
measured dispatch's call until its results were written (the idle pauses between left out).

The stand-in runs on a thread of this process. While the product's pushes arrive this process only
waits for them (a count, not a pass over every push so far at each arrival, which held the
stand-in back), as it does while the floor's child sends.

Then the baseline: the server is stopped and django-webpush's `send_notification_to_user(user,
payload, ttl=600)` is called for each of the same firefighters in a loop, against the same
stand-in with the same delay. speedup_x is that loop's time divided by the p99 above.

--probe runs the server with timers around the dispatch action's steps, the worker's database
steps (claim, record, escalation checks) and the transport, and prints where the time goes.
The figures are wall-clock on a small machine: other work on it shows up in them (the load
average is printed).

    .venv/bin/python bench/push_fanout.py
    .venv/bin/python bench/push_fanout.py --devices 200 --dispatches 50 --push-delay-ms 50

The last line printed is one JSON object with the figures.
"""

import argparse
import contextlib
import datetime
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from figures import BenchTimeout, fmt, free_port, percentile, stop
from figures import rounded as _rounded

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

TARGET_P99_MS = 300.0
TARGET_SPEEDUP_X = 20.0
# Norwich; stations on a small ring around it, all well within DISPATCH_RADIUS_KM (20 km default).
INCIDENT_LOCATION = (52.6300, 1.2950)
STATIONS = 8
START_TIMEOUT_S = 30
HTTP_TIMEOUT_S = 30
PUSHES_TIMEOUT_S = 30
RECORDED_TIMEOUT_S = 30
PAUSE_BETWEEN_DISPATCHES_S = 0.3
VAPID_SUBJECT = "mailto:bench@example.org"
# The floor child's CPU per push (its process_time over the measured rounds), by connection limit.
FLOOR_CPU_MS_PER_PUSH: dict[int, float] = {}


# --- Figures ---------------------------------------------------------------------------------------


def rounded(value, digits=1):
    return _rounded(value, digits)


# --- Processes ---------------------------------------------------------------------------------------


def bench_environment(workdir: Path, args, private_key: str) -> dict:
    """What both the server and this process run with."""
    env = {name: value for name, value in os.environ.items() if name not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        DJANGO_SETTINGS_MODULE="backend.settings",
        DJANGO_ENV="development",
        DJANGO_DEBUG="false",
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        SQLITE_PATH=str(workdir / "bench.sqlite3"),
        VAPID_PRIVATE_KEY=private_key,
        VAPID_SUBJECT=VAPID_SUBJECT,
        PUSH_SERVICE_ALLOWLIST="http://127.0.0.1:*",
        DISPATCH_RADIUS_KM="20",
        DISPATCH_MAX_PER_STATION="100",
        DISPATCH_MAX_RESPONDERS=str(max(args.devices, 50)),
        # Nobody answers the alerts here: keep the ladder from re-sending during the run.
        ESCALATION_LADDER="86400:alarm",
        DELIVERY_WORKER_EMBEDDED="true",
        LOG_LEVEL="WARNING",
    )
    if args.push_max_concurrency:
        env["PUSH_MAX_CONCURRENCY"] = str(args.push_max_concurrency)
    return env


def manage(env: dict, *argv: str, timeout: float = 120) -> None:
    done = subprocess.run(
        [sys.executable, "manage.py", *argv],
        cwd=REPO_ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if done.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(argv)} exited with {done.returncode}:\n{done.stderr[-3000:]}")


@dataclass
class Server:
    port: int
    popen: subprocess.Popen
    log_path: Path

    def tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-3000:]
        except OSError:
            return ""


def start_server(env: dict, workdir: Path, probe_log: Path | None = None) -> Server:
    port = free_port()
    log_path = workdir / "serve.log"
    argv = [sys.executable, "manage.py", "serve", "--host", "127.0.0.1", "--port", str(port)]
    if probe_log is not None:
        argv = [sys.executable, __file__, "--probed-serve", str(port)]
        env = {**env, "BENCH_PROBE_LOG": str(probe_log)}
    with log_path.open("wb") as log:
        popen = subprocess.Popen(
            argv,
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = Server(port=port, popen=popen, log_path=log_path)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if popen.poll() is not None:
            raise RuntimeError(f"manage.py serve exited with {popen.returncode}:\n{server.tail()}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return server
        time.sleep(0.1)
    stop_server(server)
    raise RuntimeError(f"manage.py serve did not listen on {port} within {START_TIMEOUT_S} s:\n{server.tail()}")


def stop_server(server: Server) -> None:
    stop(server.popen)


# --- Data -----------------------------------------------------------------------------------------------


@dataclass
class Plan:
    token: str
    incident_ids: list[int]
    user_ids: list[int]
    subscriptions: list[dict]


def station_location(index: int) -> tuple[float, float]:
    """Stations 2 to 5 km from the incident, in a ring."""
    import math

    angle = 2 * math.pi * index / STATIONS
    distance_deg = 0.02 + 0.025 * (index % 2)
    latitude, longitude = INCIDENT_LOCATION
    return (latitude + distance_deg * math.cos(angle), longitude + distance_deg * math.sin(angle))


def set_up_data(stand_in, devices: int, incidents: int, vapid_public_key: str) -> Plan:
    """Fill the migrated database. Runs in this process, before the server starts."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group
    from django.db import connections, transaction
    from django.utils import timezone
    from knox.models import AuthToken

    from backend.accounts.models import Responder, Skill, Station
    from backend.delivery.subscriptions import subscribe_device
    from backend.dispatch.actions import create_incident
    from backend.roles import COORDINATORS

    User = get_user_model()
    expires = timezone.localdate() + datetime.timedelta(days=365)
    unusable = make_password(None)
    with transaction.atomic():
        stations = Station.objects.bulk_create(
            [
                Station(name=f"Bench station {s}", code=f"bench-{s}", latitude=lat, longitude=lon)
                for s, (lat, lon) in enumerate(station_location(s) for s in range(STATIONS))
            ]
        )
        users = User.objects.bulk_create(
            [
                User(username=f"ff{i:04d}", first_name="Firefighter", last_name=str(i), password=unusable)
                for i in range(devices)
            ]
        )
        responders = Responder.objects.bulk_create(
            [
                Responder(
                    user=user,
                    station=stations[i % STATIONS],
                    on_call=True,
                    skills=[Skill.BLS, Skill.AED],
                    life_support_training_expires=expires,
                    defibrillator_training_expires=expires,
                )
                for i, user in enumerate(users)
            ]
        )
        subscriptions = []
        for user, responder in zip(users, responders, strict=True):
            user.responder = responder
            # The browser's pushManager.subscribe({applicationServerKey}): the stand-in then
            # refuses pushes signed with any other VAPID key.
            subscription = stand_in.subscribe(application_server_key=vapid_public_key)
            subscriptions.append(subscription)
            subscribe_device(
                actor=user,
                endpoint=subscription["endpoint"],
                p256dh=subscription["keys"]["p256dh"],
                auth=subscription["keys"]["auth"],
                label="phone",
                user_agent="bench",
            )
        coordinator = User.objects.create_user(username="bench-coordinator", is_staff=True, password=None)
        coordinator.groups.add(Group.objects.get(name=COORDINATORS))
        _, token = AuthToken.objects.create(user=coordinator, expiry=None)
    coordinator = User.objects.get(pk=coordinator.pk)  # fresh permission cache
    run = timezone.now().strftime("%H%M%S")
    incident_ids = [
        create_incident(
            actor=coordinator,
            cad_reference=f"BENCH-{run}-{number:03d}",
            latitude=INCIDENT_LOCATION[0],
            longitude=INCIDENT_LOCATION[1],
            address=f"Bench street {number}",
        ).pk
        for number in range(incidents)
    ]
    connections.close_all()  # the server gets the database to itself
    return Plan(
        token=token, incident_ids=incident_ids, user_ids=[user.pk for user in users], subscriptions=subscriptions
    )


# --- The product: dispatch through the API, pushes counted at the stand-in --------------------------------


def post_dispatch(port: int, incident_id: int, token: str) -> tuple[float, int, bytes, float]:
    """(wall-clock time just before connecting, status, body, wall-clock time the response ended)."""
    sent = time.time()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=HTTP_TIMEOUT_S)
    try:
        connection.request(
            "POST",
            f"/api/v1/incidents/{incident_id}/dispatch/",
            body=b"{}",
            headers={"Content-Type": "application/json", "Authorization": f"Token {token}"},
        )
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    return sent, response.status, body, time.time()


@dataclass
class DispatchResult:
    incident_id: int
    t_sent: float
    response_ms: float
    push_ms: list[float]  # each push's acceptance at the stand-in, after t_sent
    claimed_ms: list[float]  # each delivery's claim by the worker (first_attempt_at)
    recorded_ms: list[float]  # each delivery's result written (finished_at)
    enqueued_ms: float  # deliveries written (created_at), inside the dispatch transaction
    claim_batches: int

    @property
    def last_push_ms(self) -> float:
        return max(self.push_ms)


def wait_until_recorded(incident_id: int, expected: int) -> list:
    """The server's own record of the dispatch's deliveries, once every one is finished."""
    from django.db import connections

    from backend.delivery.models import Delivery, DeliveryState

    deadline = time.monotonic() + RECORDED_TIMEOUT_S
    try:
        while True:
            rows = list(
                Delivery.objects.filter(alert__incident_id=incident_id).values(
                    "state", "created_at", "first_attempt_at", "finished_at", "last_status"
                )
            )
            if len(rows) >= expected and all(row["state"] == DeliveryState.SENT for row in rows):
                return rows
            if any(row["state"] in (DeliveryState.FAILED, DeliveryState.CANCELLED) for row in rows):
                raise RuntimeError(f"incident {incident_id}: deliveries failed: {rows[:3]}")
            if time.monotonic() > deadline:
                states = sorted({row["state"] for row in rows})
                raise BenchTimeout(f"incident {incident_id}: {len(rows)} deliveries, states {states}, after wait")
            time.sleep(0.02)
    finally:
        connections.close_all()  # no read transaction held open against the server's writes


def run_dispatch(server: Server, stand_in, plan: Plan, incident_id: int, devices: int) -> DispatchResult:
    already = len(stand_in.received)
    t_sent, status, body, t_response = post_dispatch(server.port, incident_id, plan.token)
    if status != 200:
        raise RuntimeError(f"dispatch of incident {incident_id}: HTTP {status}: {body[:500]!r}")
    alerted = len(json.loads(body).get("alerts", []))
    if alerted != devices:
        raise RuntimeError(f"dispatch of incident {incident_id} alerted {alerted} firefighters, not {devices}")
    stand_in.wait_for(already + devices, timeout=PUSHES_TIMEOUT_S)
    pushes = [push for push in stand_in.received[already:] if push.json and push.json.get("incident_id") == incident_id]
    if len(pushes) != devices:
        raise RuntimeError(f"incident {incident_id}: the stand-in accepted {len(pushes)} of its pushes, not {devices}")
    rows = wait_until_recorded(incident_id, devices)

    def after(moment: datetime.datetime) -> float:
        return (moment.timestamp() - t_sent) * 1000

    return DispatchResult(
        incident_id=incident_id,
        t_sent=t_sent,
        response_ms=(t_response - t_sent) * 1000,
        push_ms=[(push.received_at - t_sent) * 1000 for push in pushes],
        claimed_ms=[after(row["first_attempt_at"]) for row in rows],
        recorded_ms=[after(row["finished_at"]) for row in rows],
        enqueued_ms=after(min(row["created_at"] for row in rows)),
        claim_batches=len({row["first_attempt_at"] for row in rows}),
    )


# --- The baseline: django-webpush's own sender -------------------------------------------------------------


def run_baseline(stand_in, plan: Plan) -> tuple[float, int]:
    """send_notification_to_user for each firefighter, one after another, as django-webpush does."""
    from django.contrib.auth import get_user_model
    from django.db import connections
    from webpush.utils import send_notification_to_user

    users = list(get_user_model().objects.filter(pk__in=plan.user_ids).order_by("pk"))
    payload = json.dumps({"bench": "baseline", "head": "Cardiac arrest alert", "body": "Open the app."})
    already = len(stand_in.received)
    started = time.perf_counter()
    for user in users:
        send_notification_to_user(user, payload, ttl=600)
    elapsed_ms = (time.perf_counter() - started) * 1000
    connections.close_all()
    accepted = [push for push in stand_in.received[already:] if push.json and push.json.get("bench") == "baseline"]
    return elapsed_ms, len(accepted)


# --- The floor: the same pushes from a bare pywebpush + aiohttp fan-out, no Django, no database ------------


def run_floor_child(spec_path: str) -> None:
    """Runs in its own process (as the server does): each round sends one push to every subscription
    at once through one shared aiohttp session, and prints the wall-clock start of each round."""
    import asyncio

    import aiohttp
    from py_vapid import Vapid02
    from pywebpush import webpush_async

    spec = json.loads(Path(spec_path).read_text())
    key = Vapid02.from_raw(spec["private_key"].encode())

    async def one(session, subscription, payload):
        await webpush_async(
            subscription_info=subscription,
            data=payload,
            vapid_private_key=key,
            vapid_claims={"sub": spec["subject"]},
            ttl=600,
            headers={"Urgency": "high", "Topic": f"floor-{spec['label']}"},
            timeout=aiohttp.ClientTimeout(total=HTTP_TIMEOUT_S),
            aiohttp_session=session,
        )

    async def paced(session, payload):
        """Each push's request written before the next push is encrypted, as the product's worker
        starts them (a turn of the loop between two), rather than all encrypted first."""
        tasks = []
        for subscription in spec["subscriptions"]:
            tasks.append(asyncio.create_task(one(session, subscription, payload)))
            await asyncio.sleep(0)
        await asyncio.gather(*tasks)

    async def main():
        starts = []
        limit = spec["concurrency"]
        connector = aiohttp.TCPConnector(limit=limit, limit_per_host=limit)
        cpu = 0.0
        async with aiohttp.ClientSession(connector=connector) as session:
            for number in range(spec["rounds"]):
                if spec["interleaved"]:  # the bench says when: between the product's dispatches
                    await asyncio.to_thread(sys.stdin.readline)
                payload = json.dumps({"floor": spec["label"], "round": number, "pad": "x" * 300})
                starts.append(time.time())
                cpu_before = time.process_time()
                if spec["paced"]:
                    await paced(session, payload)
                else:
                    await asyncio.gather(
                        *(one(session, subscription, payload) for subscription in spec["subscriptions"])
                    )
                if number >= spec["warmup"]:
                    cpu += time.process_time() - cpu_before
                if spec["interleaved"]:
                    print(json.dumps({"round": number}), flush=True)
                else:
                    await asyncio.sleep(PAUSE_BETWEEN_DISPATCHES_S)
        measured = (spec["rounds"] - spec["warmup"]) * len(spec["subscriptions"])
        print(json.dumps({"starts": starts, "cpu_ms_per_push": cpu * 1000 / measured}), flush=True)

    asyncio.run(main())


def write_floor_spec(
    subscriptions: list[dict],
    private_key: str,
    args,
    workdir: Path,
    concurrency: int,
    *,
    paced: bool,
    interleaved: bool,
) -> Path:
    label = floor_label(concurrency, paced=paced)
    spec_path = workdir / f"floor-{label}.json"
    spec_path.write_text(
        json.dumps(
            {
                "subscriptions": subscriptions,
                "private_key": private_key,
                "subject": VAPID_SUBJECT,
                "concurrency": concurrency,
                "rounds": args.warmup + args.dispatches,
                "warmup": args.warmup,
                "label": label,
                "paced": paced,
                "interleaved": interleaved,
            }
        )
    )
    return spec_path


def floor_last_push_times(stand_in, label: str, told: dict, args, subscriptions: list[dict]) -> list:
    """Last-push times (ms) of the measured floor rounds, from the stand-in's timestamps."""
    starts = told["starts"]
    FLOOR_CPU_MS_PER_PUSH[label] = told["cpu_ms_per_push"]
    by_round: dict[int, list[float]] = {}
    for push in stand_in.received:
        if push.json and push.json.get("floor") == label:
            by_round.setdefault(push.json["round"], []).append(push.received_at)
    last = []
    for number in range(args.warmup, args.warmup + args.dispatches):
        times = by_round.get(number, [])
        if len(times) != len(subscriptions):
            raise RuntimeError(f"floor {label} round {number}: {len(times)} pushes accepted, not {len(subscriptions)}")
        last.append((max(times) - starts[number]) * 1000)
    return last


def run_floor(
    stand_in, subscriptions: list[dict], private_key: str, args, workdir: Path, concurrency: int, *, paced: bool
) -> list:
    """--floors-after: every round of one floor, after the product's dispatches."""
    spec_path = write_floor_spec(subscriptions, private_key, args, workdir, concurrency, paced=paced, interleaved=False)
    rounds = args.warmup + args.dispatches
    child = subprocess.run(
        [sys.executable, __file__, "--floor-child", str(spec_path)],
        cwd=REPO_ROOT,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=rounds * (HTTP_TIMEOUT_S + 1),
        check=True,
    )
    told = json.loads(child.stdout.strip().splitlines()[-1])
    return floor_last_push_times(stand_in, floor_label(concurrency, paced=paced), told, args, subscriptions)


class InterleavedFloor:
    """A floor child that sends one round each time it is told to, between the product's dispatches
    (the default): the product and its floors then share the machine's load round by round, rather
    than the floors running a minute later on a machine that may have become busier or quieter."""

    def __init__(self, subscriptions, private_key, args, workdir, concurrency, *, paced):
        self.label = floor_label(concurrency, paced=paced)
        spec_path = write_floor_spec(
            subscriptions, private_key, args, workdir, concurrency, paced=paced, interleaved=True
        )
        self.popen = subprocess.Popen(
            [sys.executable, __file__, "--floor-child", str(spec_path)],
            cwd=REPO_ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def one_round(self) -> None:
        """Send one round and wait until every push of it was answered."""
        self.popen.stdin.write("go\n")
        self.popen.stdin.flush()
        if not self.popen.stdout.readline():
            raise RuntimeError(f"floor {self.label}: the child exited with {self.popen.wait()}")

    def finish(self) -> dict:
        self.popen.stdin.close()
        out = self.popen.stdout.read()  # not communicate(): readline() may have buffered the last line
        self.popen.wait(timeout=HTTP_TIMEOUT_S)
        if self.popen.returncode != 0:
            raise RuntimeError(f"floor {self.label}: the child exited with {self.popen.returncode}")
        return json.loads(out.strip().splitlines()[-1])

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait()


def floor_way(concurrency: int, *, paced: bool) -> str:
    way = "each request written before the next push is encrypted" if paced else "gathered at once"
    return f"bare pywebpush fan-out, {concurrency} connections at most, {way}"


def floor_label(concurrency: int, *, paced: bool) -> str:
    """c200: pywebpush's pushes gathered at once, as its docs show; c200_paced: each request written
    before the next push is encrypted, as the product's worker starts them since 5 December."""
    return f"c{concurrency}_paced" if paced else f"c{concurrency}"


# --- CPU per push: the sending path alone, in this process, against bare pywebpush ------------------------


def sending_cpu_per_push(stand_in, subscriptions: list[dict], private_key: str, rounds: int = 5) -> dict:
    """CPU (this thread's time.thread_time, so not the stand-in's decryption on its own thread) per
    push: the product's WebPushTransport.send against bare pywebpush webpush_async, each sending one
    push to every subscription at once, `rounds` times, through one aiohttp session. The JWT signing,
    encryption and HTTP are in both; what differs is the product's own per-message work."""
    import asyncio

    import aiohttp
    from py_vapid import Vapid02
    from pywebpush import webpush_async

    from backend.delivery.transports import Job
    from backend.delivery.transports.webpush import WebPushTransport

    key = Vapid02.from_raw(private_key.encode())
    timeout = aiohttp.ClientTimeout(total=HTTP_TIMEOUT_S)
    now = datetime.datetime.now(datetime.UTC)
    jobs = [
        Job(
            delivery_id=i,
            channel="webpush",
            attempts=1,
            round=1,
            alert_id=i,
            incident_id=999999,
            alerted_at=now,
            endpoint=s["endpoint"],
            p256dh=s["keys"]["p256dh"],
            auth=s["keys"]["auth"],
            receipt_token="x" * 43,
        )
        for i, s in enumerate(subscriptions)
    ]

    async def bare(session, subscription):
        await webpush_async(
            subscription_info=subscription,
            data=json.dumps({"floor": "cpu", "pad": "x" * 300}),
            vapid_private_key=key,
            vapid_claims={"sub": VAPID_SUBJECT},
            ttl=600,
            headers={"Urgency": "high", "Topic": "floor-cpu"},
            timeout=timeout,
            aiohttp_session=session,
        )

    async def measure():
        figures = {}
        async with WebPushTransport(private_key=private_key, subject=VAPID_SUBJECT) as transport:
            await asyncio.gather(*(transport.send(job) for job in jobs))  # warm-up: connections, caches
            started = time.thread_time()
            for _ in range(rounds):
                await asyncio.gather(*(transport.send(job) for job in jobs))
            figures["product"] = (time.thread_time() - started) / (rounds * len(jobs))
        limit = len(subscriptions)
        connector = aiohttp.TCPConnector(limit=limit, limit_per_host=limit)
        async with aiohttp.ClientSession(connector=connector) as session:
            await asyncio.gather(*(bare(session, s) for s in subscriptions))
            started = time.thread_time()
            for _ in range(rounds):
                await asyncio.gather(*(bare(session, s) for s in subscriptions))
            figures["floor"] = (time.thread_time() - started) / (rounds * len(subscriptions))
        return figures

    seconds = asyncio.run(measure())
    return {name: value * 1000 for name, value in seconds.items()}


def cpu_figures(server_cpu_s: float, pushes: int, sending: dict) -> dict:
    """The server's whole CPU per push (dispatch, database, worker, sending) against the floor
    child's, and the sending path's alone against bare pywebpush."""
    server_ms = server_cpu_s * 1000 / pushes
    print("\nCPU per push (ms):")
    print(f"  server process over the measured dispatches (all of it): {server_ms:.3f}")
    for label, floor_ms in FLOOR_CPU_MS_PER_PUSH.items():
        print(f"  bare pywebpush floor child, {label}:       {floor_ms:.3f}")
    ratio = sending["product"] / sending["floor"]
    print(f"  sending path only, WebPushTransport.send: {sending['product']:.3f}")
    print(f"  sending path only, bare webpush_async:    {sending['floor']:.3f}   ({ratio:.2f}x)")
    return {
        "cpu_server_ms_per_push": round(server_ms, 3),
        **{f"cpu_floor_{label}_ms_per_push": round(ms, 3) for label, ms in FLOOR_CPU_MS_PER_PUSH.items()},
        "cpu_send_ms_per_push": round(sending["product"], 3),
        "cpu_send_floor_ms_per_push": round(sending["floor"], 3),
        "cpu_send_vs_floor_x": round(ratio, 2),
    }


def run_cpu_only(args) -> dict:
    """--cpu-only: the sending path's CPU per push against bare pywebpush, without the server."""
    import django

    from backend.delivery import vapid
    from tests.support.push_service import PushServiceStandIn

    key = vapid.generate()
    private_key = vapid.private_key_b64(key)
    os.environ.update(bench_environment(Path(tempfile.gettempdir()), args, private_key))
    django.setup()
    print(f"machine load average (1 min) at the start: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    with PushServiceStandIn() as stand_in:
        subscriptions = [
            stand_in.subscribe(application_server_key=vapid.public_key_b64(key)) for _ in range(args.devices)
        ]
        sending = sending_cpu_per_push(stand_in, subscriptions, private_key, rounds=args.dispatches)
        rejections = len(stand_in.rejections)
    ratio = sending["product"] / sending["floor"]
    print(f"CPU per push, {args.devices} devices x {args.dispatches} rounds (ms):")
    print(f"  WebPushTransport.send: {sending['product']:.3f}")
    print(f"  bare webpush_async:    {sending['floor']:.3f}   ({ratio:.2f}x the floor)")
    print(f"stand-in rejections: {rejections}")
    print(f"machine load average (1 min) at the end: {os.getloadavg()[0]:.2f}")
    if rejections:
        raise RuntimeError(f"the stand-in refused {rejections} pushes")
    return {
        "devices": args.devices,
        "rounds": args.dispatches,
        "cpu_send_ms_per_push": round(sending["product"], 3),
        "cpu_send_floor_ms_per_push": round(sending["floor"], 3),
        "cpu_send_vs_floor_x": round(ratio, 2),
        "loadavg_1m_at_end": round(os.getloadavg()[0], 2),
    }


def process_cpu_seconds(pid: int) -> float:
    """user + system CPU of a process so far (/proc/PID/stat, fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- Probe: where the time goes inside the server (only with --probe) --------------------------------------


def run_probed_server(port: str) -> None:
    """`manage.py serve` with timers around the dispatch action, the worker's database steps and the
    Web Push transport, written to $BENCH_PROBE_LOG as JSON lines (wall clock, so comparable with the
    client's). The product's functions are wrapped, never changed."""
    import functools
    import threading

    import django

    django.setup()
    import py_vapid
    import pywebpush
    from django.core.management import call_command
    from django.db.backends.base.base import BaseDatabaseWrapper

    from backend import broadcast
    from backend.delivery import sending as worker
    from backend.delivery.transports import webpush as webpush_transport
    from backend.dispatch import actions, escalation
    from backend.realtime import events
    from backend.worker import loop

    log = open(os.environ["BENCH_PROBE_LOG"], "a", buffering=1)  # noqa: SIM115 (open for the process's life)
    lock = threading.Lock()

    def record(name: str, start: float, end: float, **extra) -> None:
        line = json.dumps({"span": name, "start": start, "end": end, "thread": threading.get_ident(), **extra})
        with lock:
            log.write(line + "\n")

    def timed(name, original, count=None):
        @functools.wraps(original)
        def wrapper(*args, **kwargs):
            start = time.time()
            result = original(*args, **kwargs)
            extra = {"n": count(result)} if count else {}
            record(name, start, time.time(), **extra)
            return result

        return wrapper

    worker.claim_due = timed("claim_due", worker.claim_due, count=len)
    worker.record_sent_batch = timed("record_sent", worker.record_sent_batch)
    escalation.run_due_escalations = timed("run_due_escalations", escalation.run_due_escalations)
    actions.dispatch_incident = timed("dispatch_incident", actions.dispatch_incident, count=len)
    actions.select_responders = timed("select_responders", actions.select_responders)
    events.record_for_responders = timed("record_events", events.record_for_responders, count=len)
    actions.enqueue_pushes = timed("enqueue_pushes", actions.enqueue_pushes, count=len)
    actions._tell_everyone_about = timed("tell_board", actions._tell_everyone_about)
    broadcast._send_now = timed("after_commit_send", broadcast._send_now)
    BaseDatabaseWrapper._commit = timed("commit", BaseDatabaseWrapper._commit)
    pywebpush.WebPusher.encode = timed("encrypt", pywebpush.WebPusher.encode)
    if hasattr(webpush_transport, "encrypt"):  # since 6 December the transport encrypts without WebPusher
        webpush_transport.encrypt = timed("encrypt", webpush_transport.encrypt)
    py_vapid.Vapid02.sign = timed("vapid_sign", py_vapid.Vapid02.sign)

    original_wait = loop.Worker._wait

    async def worker_wait(self, *args, **kwargs):
        start = time.time()
        try:
            return await original_wait(self, *args, **kwargs)
        finally:
            record("worker_wait", start, time.time())

    loop.Worker._wait = worker_wait
    original_send = webpush_transport.WebPushTransport.send

    async def send(self, job):
        start = time.time()
        try:
            return await original_send(self, job)
        finally:
            record("transport_send", start, time.time())

    webpush_transport.WebPushTransport.send = send
    if os.environ.get("BENCH_PROFILE"):
        _profile_event_loop_thread(os.environ["BENCH_PROFILE"])
    call_command("serve", host="127.0.0.1", port=port)


def _profile_event_loop_thread(path: str) -> None:
    """cProfile of the server's main thread (the event loop: the worker's sends, the sockets), written
    to `path` when the bench sends SIGUSR1 (before it stops the server)."""
    import cProfile

    profiler = cProfile.Profile()

    def dump(signum, frame):
        profiler.disable()
        profiler.dump_stats(path)

    signal.signal(signal.SIGUSR1, dump)
    profiler.enable()


def print_profile(server: Server, path: Path) -> None:
    import pstats

    server.popen.send_signal(signal.SIGUSR1)
    deadline = time.monotonic() + 30
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1)  # written in full
    print("\nProfile of the server's event-loop thread (whole run, by own time):")
    pstats.Stats(str(path)).sort_stats("tottime").print_stats(25)
    pstats.Stats(str(path)).sort_stats("cumulative").print_stats(40)


def probe_report(log_path: Path, results: list) -> dict:
    """Per measured dispatch, each span's first start / last end after the client's send, and
    totals; p50 over dispatches."""
    spans = [json.loads(line) for line in log_path.read_text().splitlines()] if log_path.exists() else []
    windows = [(r.t_sent, r.t_sent + max(r.recorded_ms) / 1000 + 0.05) for r in results]
    per_dispatch = []
    for result, (start, end) in zip(results, windows, strict=True):
        mine = [s for s in spans if start <= s["start"] <= end]

        def of(name, spans=mine):
            return [s for s in spans if s["span"] == name]

        def rel(moment, start=start):
            return (moment - start) * 1000

        claims = [s for s in of("claim_due") if s.get("n")]
        sends = of("transport_send")
        records = of("record_sent")
        escalations = of("run_due_escalations")
        worker_db = claims + records + escalations + [s for s in of("claim_due") if not s.get("n")]
        dispatch = of("dispatch_incident")[0]
        in_dispatch = [s for s in mine if dispatch["start"] <= s["start"] <= dispatch["end"]]

        def took(name, spans=in_dispatch):
            return sum((s["end"] - s["start"]) * 1000 for s in spans if s["span"] == name)

        row = {
            "dispatch_action_start": rel(dispatch["start"]),
            "  select_responders_ms": took("select_responders"),
            "  record_events_ms": took("record_events"),
            "  enqueue_pushes_ms": took("enqueue_pushes"),
            "  tell_board_ms": took("tell_board"),
            "  commit_ms": took("commit"),
            "dispatch_action_end": rel(dispatch["end"]),
            "commit_end": rel(max(s["end"] for s in in_dispatch if s["span"] == "commit")),
            # The worker's sleep that the dispatch's wake-up (or a poll) ended.
            "worker_woken": rel(
                min((s["end"] for s in of("worker_wait", spans) if dispatch["end"] <= s["end"] <= end), default=end)
            ),
            "after_commit_send_end": rel(max(s["end"] for s in of("after_commit_send"))),
            "dispatch_after_commit_sends_ms": took("after_commit_send"),
            "claims": len(claims),
            "claim_rows": [s["n"] for s in claims],
            "claim_ms_each": [round((s["end"] - s["start"]) * 1000, 1) for s in claims],
            "first_claim_start": rel(min(s["start"] for s in claims)),
            "last_claim_end": rel(max(s["end"] for s in claims)),
            "empty_claims": len(of("claim_due")) - len(claims),
            "escalation_checks": len(escalations),
            "escalation_checks_ms": sum((s["end"] - s["start"]) * 1000 for s in escalations),
            "record_sent_ms_total": sum((s["end"] - s["start"]) * 1000 for s in records),
            "record_sent_ms_p50": percentile([(s["end"] - s["start"]) * 1000 for s in records], 0.5),
            "worker_db_thread_busy_ms": sum((s["end"] - s["start"]) * 1000 for s in worker_db),
            "first_send_start": rel(min(s["start"] for s in sends)),
            "last_send_start": rel(max(s["start"] for s in sends)),
            "first_push_accepted": min(result.push_ms),
            "last_encrypt_end": rel(max(s["end"] for s in of("encrypt"))),
            "response_end": result.response_ms,
            "last_send_end": rel(max(s["end"] for s in sends)),
            # Results written while this fan-out's sends were still in flight: they take the CPU
            # (and the GIL) from the sends.
            "records_during_sends": sum(1 for s in records if s["start"] < max(x["end"] for x in sends)),
            "transport_send_ms_p50": percentile([(s["end"] - s["start"]) * 1000 for s in sends], 0.5),
            "transport_send_ms_max": max((s["end"] - s["start"]) * 1000 for s in sends),
            "encrypt_ms_total": sum((s["end"] - s["start"]) * 1000 for s in of("encrypt")),
            "vapid_sign_ms_total": sum((s["end"] - s["start"]) * 1000 for s in of("vapid_sign")),
        }
        per_dispatch.append(row)
    print("\nProbe (server-side spans, ms after the client sent the dispatch call; p50 over dispatches):")
    figures = {}
    for name in per_dispatch[0] if per_dispatch else []:
        values = [row[name] for row in per_dispatch]
        if isinstance(values[0], list):
            print(f"  {name:<30} e.g. {values[len(values) // 2]}")
            continue
        figures[name] = rounded(percentile(values, 0.5))
        print(f"  {name:<30} {figures[name]:8.1f}   (max {max(values):.1f})")
    return figures


# --- Report ------------------------------------------------------------------------------------------------


def summary_line(name: str, values: list[float]) -> str:
    return (
        f"  {name:<44} p50 {fmt(percentile(values, 0.5))}  p99 {fmt(percentile(values, 0.99))}"
        f"  max {fmt(max(values) if values else None)} ms"
    )


def report(
    args, results: list[DispatchResult], baseline_ms: float, baseline_accepted: int, stand_in, floors: dict
) -> dict:
    last_push = [result.last_push_ms for result in results]
    every_push = [ms for result in results for ms in result.push_ms]
    p50, p99 = percentile(last_push, 0.5), percentile(last_push, 0.99)
    print(f"\nProduct, {len(results)} dispatches of {args.devices} devices, stand-in delay {args.push_delay_ms} ms:")
    print(summary_line("HTTP response of the dispatch call", [r.response_ms for r in results]))
    print(summary_line("deliveries written (in the dispatch txn)", [r.enqueued_ms for r in results]))
    print(summary_line("first delivery claimed by the worker", [min(r.claimed_ms) for r in results]))
    print(summary_line("first push accepted", [min(r.push_ms) for r in results]))
    print(summary_line("last delivery claimed", [max(r.claimed_ms) for r in results]))
    print(summary_line("LAST PUSH ACCEPTED (the figure)", last_push))
    print(summary_line("last delivery recorded as sent", [max(r.recorded_ms) for r in results]))
    print(summary_line("each push accepted", every_push))
    sending = [result.last_push_ms - min(result.claimed_ms) for result in results]
    print(summary_line("sending only (first claim to last push accepted)", sending))
    batches = [r.claim_batches for r in results]
    print(f"  claim batches per dispatch: min {min(batches)}, max {max(batches)}")
    print("  per dispatch (last push ms):", " ".join(f"{ms:.0f}" for ms in last_push))
    for label, last in floors.items():
        print(f"\nFloor: bare pywebpush + aiohttp fan-out in its own process, {label}:")
        print(summary_line("last push accepted", last))
        if percentile(last, 0.99):
            print(
                f"  product p99 / floor p99: {p99 / percentile(last, 0.99):.2f}x from the dispatch call, "
                f"{percentile(sending, 0.99) / percentile(last, 0.99):.2f}x sending only"
            )
    print(f"\ndjango-webpush send_notification_to_user loop, {args.devices} users:")
    print(f"  {baseline_ms:.0f} ms in all ({baseline_ms / args.devices:.1f} ms per push), {baseline_accepted} accepted")
    speedup = baseline_ms / p99 if p99 else None
    rejections = stand_in.rejections
    print(f"machine load average (1 min) at the end: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    print(f"\nstand-in rejections: {len(rejections)}" + (f" (first: {rejections[0].reason})" if rejections else ""))
    met_p99 = p99 is not None and p99 <= TARGET_P99_MS
    met_speedup = speedup is not None and speedup >= TARGET_SPEEDUP_X
    print(
        f"targets: p99 <= {TARGET_P99_MS:.0f} ms: {'met' if met_p99 else 'MISSED'} ({p99:.1f} ms); "
        f"speedup >= {TARGET_SPEEDUP_X:.0f}x: {'met' if met_speedup else 'MISSED'} ({speedup:.1f}x)"
    )
    return {
        "devices": args.devices,
        "dispatches": len(results),
        "warmup_dispatches": args.warmup,
        "push_delay_ms": args.push_delay_ms,
        "push_max_concurrency": args.push_max_concurrency or "default",
        "p50_ms": rounded(p50),
        "p99_ms": rounded(p99),
        "max_ms": rounded(max(last_push)),
        "each_push_p50_ms": rounded(percentile(every_push, 0.5)),
        "each_push_p99_ms": rounded(percentile(every_push, 0.99)),
        "response_p50_ms": rounded(percentile([r.response_ms for r in results], 0.5)),
        "first_claim_p50_ms": rounded(percentile([min(r.claimed_ms) for r in results], 0.5)),
        "first_claim_p99_ms": rounded(percentile([min(r.claimed_ms) for r in results], 0.99)),
        "first_push_p50_ms": rounded(percentile([min(r.push_ms) for r in results], 0.5)),
        "first_push_p99_ms": rounded(percentile([min(r.push_ms) for r in results], 0.99)),
        "last_claim_p50_ms": rounded(percentile([max(r.claimed_ms) for r in results], 0.5)),
        "last_recorded_p50_ms": rounded(percentile([max(r.recorded_ms) for r in results], 0.5)),
        "baseline_loop_ms": rounded(baseline_ms),
        "baseline_per_push_ms": rounded(baseline_ms / args.devices, 2),
        "speedup_x": rounded(speedup, 2),
        "speedup_vs_p50_x": rounded(baseline_ms / p50 if p50 else None, 2),
        **{
            f"floor_{label}_{name}_ms": rounded(percentile(last, fraction))
            for label, last in floors.items()
            for name, fraction in (("p50", 0.5), ("p99", 0.99))
        },
        # The sending alone, from the worker's first claim to the last push accepted: what the floor
        # measures (it has no dispatch, no database), so the ratio of the two says what sending costs
        # beyond the floor; p99_ms adds the dispatch's own durable work before the first claim.
        "sending_p50_ms": rounded(percentile(sending, 0.5)),
        "sending_p99_ms": rounded(percentile(sending, 0.99)),
        **{
            f"sending_p99_over_floor_{label}_x": rounded(percentile(sending, 0.99) / percentile(last, 0.99), 2)
            for label, last in floors.items()
            if percentile(last, 0.99)
        },
        **{
            f"p99_over_floor_{label}_x": rounded(p99 / percentile(last, 0.99), 2)
            for label, last in floors.items()
            if percentile(last, 0.99)
        },
        "stand_in_rejections": len(rejections),
        # Other work on the machine skews every figure here: this says how busy it was.
        "loadavg_1m_at_end": round(os.getloadavg()[0], 2),
        "target_p99_met": met_p99,
        "target_speedup_met": met_speedup,
    }


# --- Main --------------------------------------------------------------------------------------------------


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=200, help="firefighters, one subscribed device each")
    parser.add_argument(
        "--dispatches", type=int, default=50, help="measured dispatches (at least 10; the p99 of 20 is the slowest one)"
    )
    parser.add_argument("--warmup", type=int, default=2, help="unmeasured dispatches first")
    parser.add_argument("--push-delay-ms", type=int, default=50, help="the stand-in's delay before each answer")
    parser.add_argument(
        "--push-max-concurrency", type=int, default=0, help="PUSH_MAX_CONCURRENCY for the server (0: its default)"
    )
    parser.add_argument(
        "--floor",
        type=int,
        nargs="*",
        default=None,
        help="connection limits for the bare pywebpush floor (default: DEVICES and 100; none to skip)",
    )
    parser.add_argument(
        "--floor-paced",
        type=int,
        nargs="*",
        default=None,
        help="connection limits for the floor that writes each request before encrypting the next push,"
        " as the product's worker does (default: DEVICES; none to skip)",
    )
    parser.add_argument(
        "--floors-after",
        action="store_true",
        help="run the floors after the product's dispatches, each in one go (before 6 December), rather"
        " than a round of each floor after each dispatch",
    )
    parser.add_argument("--probe", action="store_true", help="time the server's steps (adds overhead)")
    parser.add_argument(
        "--profile", action="store_true", help="with --probe: cProfile the server's event-loop thread and print it"
    )
    parser.add_argument(
        "--cpu-only", action="store_true", help="only the sending path's CPU per push against bare pywebpush"
    )
    parser.add_argument("--time-limit", type=int, default=600, help="give up after this many seconds")
    args = parser.parse_args()
    if args.profile and not args.probe:
        parser.error("--profile needs --probe")
    if args.dispatches < 10:
        parser.error("--dispatches must be at least 10")
    if not 1 <= args.devices <= 1000:
        parser.error("--devices must be from 1 to 1000")
    if args.floor is None:
        args.floor = sorted({args.devices, 100}, reverse=True)
    if args.floor_paced is None:
        args.floor_paced = [args.devices]
    return args


def on_alarm(signum, frame):
    raise BenchTimeout("the bench ran over its --time-limit")


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--floor-child":
        return run_floor_child(sys.argv[2])
    if len(sys.argv) == 3 and sys.argv[1] == "--probed-serve":
        return run_probed_server(sys.argv[2])
    args = parse_args()
    if args.cpu_only:
        print(json.dumps(run_cpu_only(args)))
        return None
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(args.time_limit)
    workdir = Path(tempfile.mkdtemp(prefix="push-fanout-"))
    stand_in = server = None
    interleaved: list[InterleavedFloor] = []
    try:
        from backend.delivery import vapid
        from tests.support.push_service import PushServiceStandIn

        key = vapid.generate()
        env = bench_environment(workdir, args, vapid.private_key_b64(key))
        os.environ.update(env)  # this process's Django settings: the same as the server's

        stand_in = PushServiceStandIn().start()
        stand_in.delay(args.push_delay_ms / 1000)
        print(f"push service stand-in on {stand_in.origin}, answering after {args.push_delay_ms} ms", flush=True)

        load = os.getloadavg()[0]
        print(f"machine load average (1 min) at the start: {load:.2f} on {os.cpu_count()} CPUs", flush=True)
        started = time.perf_counter()
        manage(env, "migrate", "--verbosity", "0")
        import django

        django.setup()
        plan = set_up_data(stand_in, args.devices, args.warmup + args.dispatches, vapid.public_key_b64(key))
        print(f"data: {args.devices} subscribed firefighters ({time.perf_counter() - started:.1f} s)", flush=True)

        probe_log = workdir / "probe.jsonl" if args.probe else None
        if args.profile:
            env["BENCH_PROFILE"] = str(workdir / "serve.prof")
        floor_ways = [(c, False) for c in args.floor] + [(c, True) for c in args.floor_paced]
        if not args.floors_after:
            for concurrency, paced in floor_ways:
                print(f"floor: {floor_way(concurrency, paced=paced)}, a round after each dispatch", flush=True)
                interleaved.append(
                    InterleavedFloor(
                        plan.subscriptions, env["VAPID_PRIVATE_KEY"], args, workdir, concurrency, paced=paced
                    )
                )
        server = start_server(env, workdir, probe_log)
        print(f"manage.py serve (embedded worker) on 127.0.0.1:{server.port}", flush=True)
        results = []
        server_cpu_s = 0.0  # over the measured dispatches, each from its call until its results were written
        for number, incident_id in enumerate(plan.incident_ids):
            cpu_before = process_cpu_seconds(server.popen.pid)
            result = run_dispatch(server, stand_in, plan, incident_id, args.devices)
            measured = number >= args.warmup
            if measured:
                results.append(result)
                server_cpu_s += process_cpu_seconds(server.popen.pid) - cpu_before
            print(
                f"  dispatch {number + 1:2d}{'' if measured else ' (warm-up)'}: last push {result.last_push_ms:6.1f} ms"
                f", response {result.response_ms:6.1f} ms, last recorded {max(result.recorded_ms):6.1f} ms",
                flush=True,
            )
            time.sleep(PAUSE_BETWEEN_DISPATCHES_S)  # the worker goes idle, as between real calls
            for floor in interleaved:
                floor.one_round()
                time.sleep(PAUSE_BETWEEN_DISPATCHES_S)
        if args.profile:
            print_profile(server, workdir / "serve.prof")
        stop_server(server)
        if server.popen.returncode not in (0, -signal.SIGTERM):
            print(f"warning: manage.py serve exited with {server.popen.returncode}:\n{server.tail()}", flush=True)

        probe_figures = probe_report(probe_log, results) if probe_log is not None else {}

        floors = {}
        for floor in interleaved:
            floors[floor.label] = floor_last_push_times(stand_in, floor.label, floor.finish(), args, plan.subscriptions)
        if args.floors_after:
            for concurrency, paced in floor_ways:
                print(f"floor: {floor_way(concurrency, paced=paced)} ...", flush=True)
                floors[floor_label(concurrency, paced=paced)] = run_floor(
                    stand_in, plan.subscriptions, env["VAPID_PRIVATE_KEY"], args, workdir, concurrency, paced=paced
                )

        print("django-webpush baseline loop ...", flush=True)
        baseline_ms, baseline_accepted = run_baseline(stand_in, plan)
        if baseline_accepted != args.devices:
            raise RuntimeError(f"the baseline loop got {baseline_accepted} pushes accepted, not {args.devices}")
        figures = report(args, results, baseline_ms, baseline_accepted, stand_in, floors)
        figures["loadavg_1m_at_start"] = round(load, 2)
        figures.update(
            cpu_figures(
                server_cpu_s,
                len(results) * args.devices,
                sending_cpu_per_push(stand_in, plan.subscriptions, env["VAPID_PRIVATE_KEY"]),
            )
        )
        figures.update({f"probe_{name}": value for name, value in probe_figures.items()})
    except BaseException:
        if server is not None:
            print(f"--- server log (tail) ---\n{server.tail()}", file=sys.stderr)
        raise
    finally:
        signal.alarm(0)
        if server is not None:
            stop_server(server)
        for floor in interleaved:
            floor.stop()
        if stand_in is not None:
            stand_in.stop()
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        shutil.rmtree(workdir, ignore_errors=True)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
