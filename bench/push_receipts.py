"""Receipts from the phones: after a dispatch, how long until the server holds every alerted phone's
own word that it showed the alert (`Delivery.shown_at`, docs/delivery.md "Receipts from the
phone"), and is any receipt missing?

Set-up (all on 127.0.0.1, in a temporary directory that is removed afterwards):

* the push service stand-in (tests/support/push_service.py: real HTTP, checks VAPID against each
  subscription's applicationServerKey, decrypts every payload), answering after --push-delay-ms;
* a fresh SQLite file, migrated, holding --contexts firefighters (each with a password) at stations
  a few km from the incidents, a coordinator with a knox token, and the incidents;
* the product as `make run` serves it: `manage.py serve` (daphne with the embedded delivery worker),
  an escalation ladder too long to fire during the run, and PUSH_RECEIPT_RATE_PER_MINUTE raised
  (every phone here shares one client address, 127.0.0.1; the default is per address);
* Debian's Chromium (/usr/bin/chromium) through Playwright (never a downloaded browser), one
  process with one browser context per firefighter: each logs in as its own firefighter, opens the
  app with notifications allowed, and the app registers its service worker and subscribes. Headless
  Chromium cannot reach a real push service, so the page's PushManager hands the app one of the
  stand-in's subscriptions (an init script, as tests/e2e/test_logout_stops_pushes.py does); the app
  then registers it with the server itself. Then the app's page is closed (about:blank): a phone in
  a pocket, only the service worker left.
* The last leg of the push service: each push the stand-in accepts (`on_push`) is handed, decrypted,
  to the service worker of the context whose subscription it is, through the DevTools protocol
  (`ServiceWorker.deliverPushMessage`, as tests/e2e/test_push_receipt.py does). The real
  service worker (pwa/sw.js) asks the server whether the alert still stands, shows the
  notification and POSTs the receipt with the token the push carried.

Measured: for each of --dispatches incidents (after --warmup unmeasured ones: the service workers
start cold then), from just before POST /api/v1/incidents/{id}/dispatch/ is sent until the server
recorded each alerted phone's receipt (the delivery's `shown_at`: the server's clock when it took
the receipt, written in the same transaction), per receipt and per dispatch (the last receipt).
Between dispatches the script waits for every receipt (or --receipt-timeout-s), so dispatches do
not overlap.

Floors, in the same run:
* the same deliveries' pushes accepted by the stand-in (what bench/push_fanout.py measures): the
  receipt's cost is what it adds on top;
* a bare round trip: a push made in this process for one phone at a time (a delivery row and its
  token, as a worker's claim makes them, and the payload the server's transport builds), handed to
  that phone's service worker through the DevTools protocol; time to its receipt being stored.
  The same service worker and server path, with no dispatch, worker or push service and nothing
  else in flight.

Where the time goes: the harness's own leg (stand-in to browser), and the service worker's two
requests (the alert's status, the receipt) as the browser timed them, under dispatches and alone.

Missing receipts must be 0: a push whose delivery has no `shown_at` after --receipt-timeout-s is
listed (with what the harness saw of it) and the script exits with status 1.

The figures are wall-clock on a small, shared machine (the load average is printed). Chromium's
twenty contexts, the server and this script share its two cores.

    .venv/bin/python bench/push_receipts.py
    .venv/bin/python bench/push_receipts.py --contexts 40 --dispatches 30 --push-delay-ms 50

The last line printed is one JSON object with the figures.
"""

import argparse
import asyncio
import contextlib
import datetime
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from figures import BenchTimeout, fmt, free_port, percentile, rounded
from push_fanout import INCIDENT_LOCATION, STATIONS, manage, station_location

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from tests.support import live_server  # noqa: E402 (after the path is set)

os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",  # runs as root in a container
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 1,  # nothing is looked at; fewer pixels to paint on two cores
    "is_mobile": True,
    "has_touch": True,
    "locale": "en-GB",
    "timezone_id": "Europe/London",
}
PASSWORD = "bench-receipts-password-2026"
VAPID_SUBJECT = "mailto:bench@example.org"
START_TIMEOUT_S = 30
PHONE_READY_TIMEOUT_S = 30
HTTP_TIMEOUT_S = 30
PAUSE_BETWEEN_DISPATCHES_S = 0.3
POLL_S = 0.02
BARE_TIMEOUT_S = 30  # a floor push without its receipt by then stops the run

# The page's PushManager hands the app the stand-in's subscription when it subscribes (as in
# tests/e2e/test_logout_stops_pushes.py): headless Chromium has no push service to subscribe with.
FAKE_PUSH_MANAGER = """
(() => {
  const json = %s;
  let current = null;
  const make = () => ({
    endpoint: json.endpoint,
    expirationTime: null,
    options: { userVisibleOnly: true, applicationServerKey: null },
    toJSON: () => JSON.parse(JSON.stringify(json)),
    unsubscribe: async () => { current = null; return true; },
  });
  PushManager.prototype.subscribe = async function () { return (current = current || make()); };
  PushManager.prototype.getSubscription = async function () { return current; };
  PushManager.prototype.permissionState = async function () { return "granted"; };
})();
"""


# --- The product -------------------------------------------------------------------------------------


def bench_environment(workdir: Path, url: str, args, private_key: str) -> dict:
    """What both the server and this process run with (this process reads and writes the same
    SQLite file, with the same secret key, so the tokens it makes for the bare floor are good)."""
    env = live_server.embedded_env(workdir / "bench.sqlite3", url)
    env.update(
        DJANGO_SETTINGS_MODULE="backend.settings",
        DJANGO_DEBUG="false",
        VAPID_PRIVATE_KEY=private_key,
        VAPID_SUBJECT=VAPID_SUBJECT,
        PUSH_SERVICE_ALLOWLIST="http://127.0.0.1:*",
        DISPATCH_RADIUS_KM="20",
        DISPATCH_MAX_PER_STATION="100",
        DISPATCH_MAX_RESPONDERS=str(max(args.contexts, 50)),
        # Nobody answers the alerts here: keep the ladder from re-sending during the run.
        ESCALATION_LADDER="86400:alarm",
        DELIVERY_WORKER_EMBEDDED="true",
        # Every phone here shares one address (127.0.0.1), and the limit is per address.
        PUSH_RECEIPT_RATE_PER_MINUTE="100000",
        LOG_LEVEL="WARNING",
    )
    return env


@dataclass
class Plan:
    token: str
    incident_ids: list[int]
    usernames: list[str]


def set_up_data(firefighters: int, incidents: int) -> Plan:
    """Fill the migrated database. Runs in this process, before the server starts."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group
    from django.db import connections, transaction
    from django.utils import timezone
    from knox.models import AuthToken

    from backend.accounts.models import Responder, Skill, Station
    from backend.dispatch.actions import create_incident
    from backend.roles import COORDINATORS

    User = get_user_model()
    expires = timezone.localdate() + datetime.timedelta(days=365)
    password = make_password(PASSWORD)  # hashed once: the same for everyone
    with transaction.atomic():
        stations = Station.objects.bulk_create(
            [
                Station(name=f"Bench station {s}", code=f"bench-{s}", latitude=lat, longitude=lon)
                for s, (lat, lon) in enumerate(station_location(s) for s in range(STATIONS))
            ]
        )
        users = User.objects.bulk_create(
            [
                User(username=f"ff{i:04d}", first_name="Firefighter", last_name=str(i), password=password)
                for i in range(firefighters)
            ]
        )
        Responder.objects.bulk_create(
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
        coordinator = User.objects.create_user(username="bench-coordinator", is_staff=True, password=None)
        coordinator.groups.add(Group.objects.get(name=COORDINATORS))
        _, token = AuthToken.objects.create(user=coordinator, expiry=None)
    coordinator = User.objects.get(pk=coordinator.pk)  # fresh permission cache
    run = timezone.now().strftime("%H%M%S")
    incident_ids = [
        create_incident(
            actor=coordinator,
            cad_reference=f"RECEIPTS-{run}-{number:03d}",
            latitude=INCIDENT_LOCATION[0],
            longitude=INCIDENT_LOCATION[1],
            address=f"Bench street {number}",
        ).pk
        for number in range(incidents)
    ]
    connections.close_all()  # the server gets the database to itself
    return Plan(token=token, incident_ids=incident_ids, usernames=[user.username for user in users])


class Database:
    """This process's ORM, on one thread of its own (the event loop runs Playwright)."""

    def __init__(self):
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="orm")

    async def __call__(self, function, *args):
        return await asyncio.get_running_loop().run_in_executor(self._thread, function, *args)

    def close(self) -> None:
        from django.db import connections

        self._thread.submit(connections.close_all).result(timeout=10)
        self._thread.shutdown()


def pushes_of(incident_id: int) -> list[dict]:
    """The incident's alert pushes as the server recorded them, receipts included."""
    from backend.delivery.models import Channel, Delivery, Kind

    return list(
        Delivery.objects.filter(alert__incident_id=incident_id, channel=Channel.WEBPUSH, kind=Kind.ALERT)
        .order_by("pk")
        .values(
            "pk",
            "alert_id",
            "alert__responder__user__username",
            "state",
            "attempts",
            "finished_at",
            "shown_at",
            "last_error",
        )
    )


def shown_at(delivery_id: int):
    from backend.delivery.models import Delivery

    return Delivery.objects.values_list("shown_at", flat=True).get(pk=delivery_id)


def bare_push(username: str, round_: int) -> tuple[int, str]:
    """A push to this firefighter's phone as a worker would have claimed and sent it, for their
    latest alert: a delivery row (sent, attempt 1) and the payload with its receipt token, as the
    server's Web Push transport builds it. (delivery id, payload JSON)."""
    from django.utils import timezone

    from backend.delivery import receipts
    from backend.delivery.models import Channel, Delivery, DeliveryState, PushDevice
    from backend.delivery.transports import Job
    from backend.delivery.transports.webpush import push_payload
    from backend.dispatch.models import Alert

    alert = Alert.objects.filter(responder__user__username=username).latest("pk")
    device = PushDevice.objects.get(user__username=username)
    now = timezone.now()
    delivery = Delivery.objects.create(
        alert=alert,
        channel=Channel.WEBPUSH,
        device=device,
        round=round_,
        state=DeliveryState.SENT,
        attempts=1,
        next_attempt_at=now,
        first_attempt_at=now,
        finished_at=now,
        target="bench",
    )
    job = Job(
        delivery_id=delivery.pk,
        channel="webpush",
        attempts=1,
        round=round_,
        alert_id=alert.pk,
        incident_id=alert.incident_id,
        alerted_at=alert.alerted_at,
        receipt_token=receipts.token_for(delivery.pk, 1),
    )
    return delivery.pk, json.dumps(push_payload(job))


# --- The phones ---------------------------------------------------------------------------------------


@dataclass
class WorkerRequests:
    """How long the service workers' two requests take, as the browser saw them: the check that
    the alert still stands (GET /api/v1/alerts/{id}/) and the receipt (POST /api/v1/push-receipts/),
    by phase of the run ("dispatches" or "bare"), in milliseconds from sending to the last byte."""

    phase: str = "setup"
    durations: dict = field(default_factory=dict)  # (phase, "status" or "receipt") -> [ms]

    def on_finished(self, request) -> None:
        if request.service_worker is None:
            return
        if "/api/v1/alerts/" in request.url and request.method == "GET":
            kind = "status"
        elif request.url.endswith("/api/v1/push-receipts/"):
            kind = "receipt"
        else:
            return
        end = request.timing.get("responseEnd", -1)
        if end >= 0:
            self.durations.setdefault((self.phase, kind), []).append(end)

    def of(self, phase: str, kind: str) -> list[float]:
        return self.durations.get((phase, kind), [])


@dataclass
class Phone:
    username: str
    subscription: dict
    context: object
    cdp: object  # a DevTools session of the context's (now blank) page
    registration_id: str


async def log_in(context, username: str) -> None:
    """As the app does: the CSRF token, then the credentials with it; the session cookie lands in
    the context's cookie jar."""
    token = (await (await context.request.get("/api/v1/auth/csrf/")).json())["csrf_token"]
    response = await context.request.post(
        "/api/v1/auth/login/", data={"username": username, "password": PASSWORD}, headers={"X-CSRFToken": token}
    )
    if not response.ok:
        raise RuntimeError(f"logging in as {username}: {response.status} {await response.text()}")


async def open_phone(browser, url: str, username: str, subscription: dict, requests: WorkerRequests) -> Phone:
    """A context logged in as `username`, the app opened with notifications allowed until the app
    has registered its push subscription with the server, then closed."""
    context = await browser.new_context(base_url=url, **PHONE)
    context.on("requestfinished", requests.on_finished)
    context.set_default_timeout(PHONE_READY_TIMEOUT_S * 1000)
    await context.grant_permissions(["notifications"], origin=url)
    await context.add_init_script(FAKE_PUSH_MANAGER % json.dumps(subscription))
    await log_in(context, username)
    page = await context.new_page()
    cdp = await context.new_cdp_session(page)
    registrations: list[dict] = []
    cdp.on("ServiceWorker.workerRegistrationUpdated", lambda event: registrations.extend(event["registrations"]))
    await cdp.send("ServiceWorker.enable")
    await page.goto("/")
    await page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    deadline = time.monotonic() + PHONE_READY_TIMEOUT_S
    while not await _registered(context, subscription):
        if time.monotonic() > deadline:
            raise BenchTimeout(f"{username}'s app did not register its push subscription")
        await asyncio.sleep(0.1)
    ours = {r["registrationId"] for r in registrations if r["scopeURL"] == f"{url}/" and not r["isDeleted"]}
    if len(ours) != 1:
        raise RuntimeError(f"{username}: service worker registrations {registrations}")
    await page.goto("about:blank")  # the app closed: only the service worker is left
    return Phone(username=username, subscription=subscription, context=context, cdp=cdp, registration_id=ours.pop())


async def _registered(context, subscription: dict) -> bool:
    devices = (await (await context.request.get("/api/v1/push-subscriptions/")).json())["results"]
    return any(device["endpoint"] == subscription["endpoint"] for device in devices)


@dataclass
class HandOver:
    """One push on its last leg: accepted by the stand-in, handed to a phone's service worker."""

    alert_id: int | None
    username: str
    accepted_at: float  # the stand-in's time.time()
    sent_at: float | None = None  # just before the DevTools call
    taken_at: float | None = None  # the browser answered the call
    error: str = ""


class Courier:
    """The push service's connection to the phones: each push the stand-in accepts goes to the
    service worker of the phone whose subscription it is, at once and concurrently."""

    def __init__(self, url: str, phones: list[Phone]):
        self.url = url
        self.loop = asyncio.get_running_loop()
        self.by_endpoint = {phone.subscription["endpoint"]: phone for phone in phones}
        self.handed: list[HandOver] = []
        self._tasks: set[asyncio.Task] = set()

    def listener(self, push) -> None:
        """The stand-in's on_push: runs on its thread, so only passes the push to this loop."""
        self.loop.call_soon_threadsafe(self._hand_over, push)

    def _hand_over(self, push) -> None:
        task = self.loop.create_task(self._deliver(push))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, push) -> None:
        phone = self.by_endpoint.get(push.endpoint)
        alert_id = push.json.get("alert_id") if isinstance(push.json, dict) else None
        record = HandOver(alert_id=alert_id, username=phone.username if phone else "?", accepted_at=push.received_at)
        self.handed.append(record)
        if phone is None:
            record.error = f"no phone has the subscription {push.endpoint}"
            return
        record.sent_at = time.time()
        try:
            await deliver(phone, self.url, push.text)
        except Exception as error:  # the phone did not get it: it shows as a missing receipt
            record.error = f"{type(error).__name__}: {error}"[:200]
        record.taken_at = time.time()

    def of_alert(self, alert_id: int) -> list[HandOver]:
        return [record for record in self.handed if record.alert_id == alert_id]


async def deliver(phone: Phone, url: str, data: str) -> None:
    await phone.cdp.send(
        "ServiceWorker.deliverPushMessage", {"origin": url, "registrationId": phone.registration_id, "data": data}
    )


# --- Dispatches -----------------------------------------------------------------------------------------


@dataclass
class DispatchResult:
    incident_id: int
    t_sent: float
    response_ms: float
    receipt_ms: list[float]  # each receipt stored (shown_at), after t_sent
    push_ms: list[float]  # each of the same deliveries' push accepted by the stand-in
    after_push_ms: list[float]  # each receipt after its push was accepted
    handover_ms: list[float]  # accepted -> the browser took the push (the harness's own leg)
    deliver_to_receipt_ms: list[float]  # handed to the service worker -> receipt stored
    missing: list[str] = field(default_factory=list)

    @property
    def last_receipt_ms(self) -> float | None:
        return max(self.receipt_ms) if self.receipt_ms else None


async def post_dispatch(session, url: str, incident_id: int, token: str) -> tuple[float, int, dict, float]:
    """(wall-clock time just before sending, status, body, time the answer was read)."""
    sent = time.time()
    async with session.post(
        f"{url}/api/v1/incidents/{incident_id}/dispatch/",
        data=b"{}",
        headers={"Content-Type": "application/json", "Authorization": f"Token {token}"},
    ) as response:
        body = await response.json(content_type=None)
        return sent, response.status, body, time.time()


async def wait_for_receipts(db: Database, incident_id: int, expected: int, timeout: float) -> list[dict]:
    """The incident's pushes once each has its receipt, or as they stand after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        rows = await db(pushes_of, incident_id)
        if len(rows) >= expected and all(row["shown_at"] for row in rows):
            return rows
        if time.monotonic() > deadline:
            return rows
        await asyncio.sleep(POLL_S)


async def run_dispatch(session, db, courier, args, url, plan, incident_id) -> DispatchResult:
    t_sent, status, body, t_answer = await post_dispatch(session, url, incident_id, plan.token)
    if status != 200:
        raise RuntimeError(f"dispatch of incident {incident_id}: HTTP {status}: {str(body)[:500]}")
    alerted = len(body.get("alerts", []))
    if alerted != args.contexts:
        raise RuntimeError(f"dispatch of incident {incident_id} alerted {alerted} firefighters, not {args.contexts}")
    rows = await wait_for_receipts(db, incident_id, args.contexts, args.receipt_timeout_s)
    result = DispatchResult(
        incident_id=incident_id,
        t_sent=t_sent,
        response_ms=(t_answer - t_sent) * 1000,
        receipt_ms=[],
        push_ms=[],
        after_push_ms=[],
        handover_ms=[],
        deliver_to_receipt_ms=[],
    )
    if len(rows) < args.contexts:
        result.missing.append(f"incident {incident_id}: {len(rows)} pushes recorded for {args.contexts} alerts")
    for row in rows:
        handed = courier.of_alert(row["alert_id"])
        taken = [h for h in handed if h.taken_at and not h.error]
        if row["shown_at"] is None:
            result.missing.append(missing_line(incident_id, row, handed))
            continue
        shown = row["shown_at"].timestamp()
        result.receipt_ms.append((shown - t_sent) * 1000)
        if taken:
            first = min(taken, key=lambda h: h.accepted_at)
            result.push_ms.append((first.accepted_at - t_sent) * 1000)
            result.after_push_ms.append((shown - first.accepted_at) * 1000)
            result.handover_ms.append((first.taken_at - first.accepted_at) * 1000)
            result.deliver_to_receipt_ms.append((shown - first.sent_at) * 1000)
    return result


def missing_line(incident_id: int, row: dict, handed: list[HandOver]) -> str:
    """What is known of a push without a receipt: the server's record and the harness's."""
    seen = "; ".join(
        f"accepted by the stand-in, handed to the browser {'and taken' if h.taken_at else 'not taken'}"
        + (f" ({h.error})" if h.error else "")
        for h in handed
    )
    return (
        f"incident {incident_id}, alert {row['alert_id']} ({row['alert__responder__user__username']}): delivery "
        f"{row['pk']} {row['state']} after {row['attempts']} attempt(s)"
        + (f", last error {row['last_error']!r}" if row["last_error"] else "")
        + f"; {seen or 'never accepted by the stand-in'}; no receipt"
    )


# --- The bare floor: one push at a time, straight to one phone's service worker ---------------------------


async def bare_round_trips(db: Database, phones: list[Phone], url: str, rounds: int, timeout: float) -> list[float]:
    """Milliseconds from handing each push to the service worker to its receipt being stored."""
    times = []
    for number in range(rounds):
        for phone in phones:
            delivery_id, payload = await db(bare_push, phone.username, 100 + number)
            sent = time.time()
            await deliver(phone, url, payload)
            deadline = time.monotonic() + timeout
            while (shown := await db(shown_at, delivery_id)) is None:
                if time.monotonic() > deadline:
                    raise BenchTimeout(f"bare floor: no receipt for {phone.username}'s delivery {delivery_id}")
                await asyncio.sleep(POLL_S / 4)
            times.append((shown.timestamp() - sent) * 1000)
    return times


# --- Report ---------------------------------------------------------------------------------------------------


def summary_line(name: str, values: list[float]) -> str:
    return (
        f"  {name:<52} p50 {fmt(percentile(values, 0.5))}  p99 {fmt(percentile(values, 0.99))}"
        f"  max {fmt(max(values) if values else None)} ms"
    )


def ratio(numerator, denominator):
    return rounded(numerator / denominator, 2) if numerator is not None and denominator else None


def report(
    args, results: list[DispatchResult], bare: list[float], requests: WorkerRequests, load_start, stand_in, wall_s
):
    def every(name):
        return [ms for result in results for ms in getattr(result, name)]

    last_receipt = [r.last_receipt_ms for r in results if r.last_receipt_ms is not None]
    last_push = [max(r.push_ms) for r in results if r.push_ms]
    receipts, pushes, after_push = every("receipt_ms"), every("push_ms"), every("after_push_ms")
    handover, deliver_to_receipt = every("handover_ms"), every("deliver_to_receipt_ms")
    missing = [line for result in results for line in result.missing]
    load_end = os.getloadavg()[0]
    print(f"\n{len(results)} dispatches to {args.contexts} phones (contexts), push delay {args.push_delay_ms} ms:")
    print(summary_line("HTTP answer of the dispatch call", [r.response_ms for r in results]))
    print(summary_line("last push accepted by the stand-in (floor)", last_push))
    print(summary_line("LAST RECEIPT STORED (the figure)", last_receipt))
    print(summary_line("each push accepted by the stand-in (floor)", pushes))
    print(summary_line("each receipt stored", receipts))
    print(summary_line("each receipt after its push was accepted", after_push))
    print(summary_line("  of which: accepted -> browser took the push", handover))
    print(summary_line("  handed to the service worker -> receipt stored", deliver_to_receipt))
    print(summary_line("bare floor: one push at a time -> receipt stored", bare))
    print("  the service worker's requests, as the browser timed them (dispatches / bare floor):")
    for kind, label in (("status", "GET the alert (does it still stand?)"), ("receipt", "POST the receipt")):
        for phase in ("dispatches", "bare"):
            print(summary_line(f"    {label}, {phase}", requests.of(phase, kind)))
    print("  per dispatch (last receipt ms):", " ".join(f"{ms:.0f}" for ms in last_receipt))
    figures = {
        "contexts": args.contexts,
        "dispatches": len(results),
        "warmup_dispatches": args.warmup,
        "push_delay_ms": args.push_delay_ms,
        "receipts_expected": len(results) * args.contexts,
        "receipts_stored": len(receipts),
        "missing_receipts": len(missing),
        "last_receipt_p50_ms": rounded(percentile(last_receipt, 0.5), 1),
        "last_receipt_p99_ms": rounded(percentile(last_receipt, 0.99), 1),
        "last_receipt_max_ms": rounded(max(last_receipt) if last_receipt else None, 1),
        "each_receipt_p50_ms": rounded(percentile(receipts, 0.5), 1),
        "each_receipt_p99_ms": rounded(percentile(receipts, 0.99), 1),
        "last_push_accepted_p50_ms": rounded(percentile(last_push, 0.5), 1),
        "last_push_accepted_p99_ms": rounded(percentile(last_push, 0.99), 1),
        "each_push_accepted_p50_ms": rounded(percentile(pushes, 0.5), 1),
        "each_push_accepted_p99_ms": rounded(percentile(pushes, 0.99), 1),
        "receipt_after_push_p50_ms": rounded(percentile(after_push, 0.5), 1),
        "receipt_after_push_p99_ms": rounded(percentile(after_push, 0.99), 1),
        "handover_to_browser_p50_ms": rounded(percentile(handover, 0.5), 1),
        "handover_to_browser_p99_ms": rounded(percentile(handover, 0.99), 1),
        "bare_deliver_to_receipt_p50_ms": rounded(percentile(bare, 0.5), 1),
        "bare_deliver_to_receipt_p99_ms": rounded(percentile(bare, 0.99), 1),
        "bare_round_trips": len(bare),
        **{
            f"sw_{kind}_request_{phase}_{name}_ms": rounded(percentile(requests.of(phase, kind), fraction), 1)
            for kind in ("status", "receipt")
            for phase in ("dispatches", "bare")
            for name, fraction in (("p50", 0.5), ("p99", 0.99))
        },
        # How much later than "the push service has it" the proof arrives, per dispatch.
        "last_receipt_to_last_push_p50_x": ratio(percentile(last_receipt, 0.5), percentile(last_push, 0.5)),
        # What a receipt adds under a dispatch's load, against the same path one push at a time.
        "receipt_after_push_to_bare_p50_x": ratio(percentile(after_push, 0.5), percentile(bare, 0.5)),
        "stand_in_rejections": len(stand_in.rejections),
        "wall_s": round(wall_s, 1),
        "cpus": os.cpu_count(),
        # Other work on the machine skews every figure here: this says how busy it was.
        "loadavg_1m_at_start": round(load_start, 2),
        "loadavg_1m_at_end": round(load_end, 2),
        "target_missing_receipts_0_met": not missing,
    }
    print(
        f"ratios: last receipt / last push accepted (p50) {figures['last_receipt_to_last_push_p50_x']}x; "
        f"receipt after push / bare round trip (p50) {figures['receipt_after_push_to_bare_p50_x']}x"
    )
    print(
        f"machine load average (1 min): {load_start:.2f} at the start, {load_end:.2f} at the end, {os.cpu_count()} CPUs"
    )
    print(f"stand-in rejections: {len(stand_in.rejections)}")
    print(f"missing receipts: {len(missing)} (target 0: {'met' if not missing else 'MISSED'})")
    for line in missing[:50]:
        print(f"  MISSING {line}")
    return figures


# --- Main ------------------------------------------------------------------------------------------------------


async def measure(
    args, url: str, plan: Plan, stand_in, vapid_public_key: str
) -> tuple[list[DispatchResult], list[float]]:
    import aiohttp
    from playwright.async_api import async_playwright

    db = Database()
    try:
        async with async_playwright() as driver:
            browser = await driver.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            try:
                started = time.perf_counter()
                phones, requests = [], WorkerRequests()
                for username in plan.usernames:  # one at a time: two cores
                    # As pushManager.subscribe({applicationServerKey}): the stand-in then refuses
                    # pushes signed with any other VAPID key.
                    subscription = stand_in.subscribe(application_server_key=vapid_public_key)
                    phones.append(await open_phone(browser, url, username, subscription, requests))
                print(
                    f"{len(phones)} phones subscribed, apps closed ({time.perf_counter() - started:.1f} s)", flush=True
                )
                courier = Courier(url, phones)
                requests.phase = "dispatches"
                stop_listening = stand_in.on_push(courier.listener)
                results = []
                timeout = aiohttp.ClientTimeout(total=HTTP_TIMEOUT_S)
                async with aiohttp.ClientSession(timeout=timeout) as session:
                    for number, incident_id in enumerate(plan.incident_ids):
                        result = await run_dispatch(session, db, courier, args, url, plan, incident_id)
                        measured = number >= args.warmup
                        if measured:
                            results.append(result)
                        print_dispatch(number, measured, result)
                        await asyncio.sleep(PAUSE_BETWEEN_DISPATCHES_S)  # the worker goes idle, as between calls
                stop_listening()
                print(f"bare floor: {args.floor_rounds} push(es) to each phone, one at a time ...", flush=True)
                requests.phase = "bare"
                bare = await bare_round_trips(db, phones, url, args.floor_rounds, BARE_TIMEOUT_S)
                await asyncio.sleep(0.5)  # the last requests' events
                return results, bare, requests
            finally:
                await browser.close()
    finally:
        db.close()


def print_dispatch(number: int, measured: bool, result: DispatchResult) -> None:
    last_push = max(result.push_ms) if result.push_ms else None
    print(
        f"  dispatch {number + 1:2d}{'' if measured else ' (warm-up)'}: last receipt {fmt(result.last_receipt_ms)} ms,"
        f" last push accepted {fmt(last_push)} ms, answer {result.response_ms:6.1f} ms"
        + (f", MISSING {len(result.missing)}" if result.missing else ""),
        flush=True,
    )


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contexts", type=int, default=20, help="phones: browser contexts, one firefighter each")
    parser.add_argument("--dispatches", type=int, default=20, help="measured dispatches")
    parser.add_argument("--warmup", type=int, default=2, help="unmeasured dispatches first")
    parser.add_argument("--push-delay-ms", type=int, default=0, help="the stand-in's delay before accepting a push")
    parser.add_argument("--floor-rounds", type=int, default=2, help="bare round trips per phone")
    parser.add_argument("--receipt-timeout-s", type=float, default=30, help="a receipt later than this is missing")
    parser.add_argument("--time-limit", type=int, default=900, help="give up after this many seconds")
    args = parser.parse_args()
    if not 1 <= args.contexts <= 200:
        parser.error("--contexts must be from 1 to 200")
    if args.dispatches < 1 or args.warmup < 0 or args.floor_rounds < 1:
        parser.error("--dispatches and --floor-rounds must be at least 1, --warmup at least 0")
    return args


def on_alarm(signum, frame):
    raise BenchTimeout("the bench ran over its --time-limit")


def main() -> int:
    args = parse_args()
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(args.time_limit)
    began = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="push-receipts-"))
    stand_in = server = None
    log_path = workdir / "serve.log"
    try:
        from backend.delivery import vapid
        from tests.support.push_service import PushServiceStandIn

        port = free_port()
        url = f"http://127.0.0.1:{port}"
        key = vapid.generate()
        env = bench_environment(workdir, url, args, vapid.private_key_b64(key))
        os.environ.update(env)  # this process's Django settings: the same as the server's

        stand_in = PushServiceStandIn().start()
        stand_in.delay(args.push_delay_ms / 1000)
        load_start = os.getloadavg()[0]
        print(f"machine load average (1 min) at the start: {load_start:.2f} on {os.cpu_count()} CPUs", flush=True)
        manage(env, "migrate", "--verbosity", "0")
        import django

        django.setup()
        plan = set_up_data(args.contexts, args.warmup + args.dispatches)
        server = live_server.start(live_server.serve_command(port), env, log_path)
        live_server.wait_until_answering(
            server,
            port,
            timeout=START_TIMEOUT_S,
            log_path=log_path,
            name="manage.py serve",
            http_path=live_server.READY_PATH,
        )
        print(f"manage.py serve (embedded worker) on {url}; push service stand-in on {stand_in.origin}", flush=True)
        results, bare, requests = asyncio.run(measure(args, url, plan, stand_in, vapid.public_key_b64(key)))
        figures = report(args, results, bare, requests, load_start, stand_in, time.monotonic() - began)
        if figures["missing_receipts"]:
            print(f"--- server log (tail) ---\n{live_server.tail(log_path)}", file=sys.stderr)
    except BaseException:
        if server is not None:
            print(f"--- server log (tail) ---\n{live_server.tail(log_path)}", file=sys.stderr)
        raise
    finally:
        signal.alarm(0)
        if server is not None:
            live_server.stop(server)
        if stand_in is not None:
            stand_in.stop()
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        shutil.rmtree(workdir, ignore_errors=True)
    print(json.dumps(figures))
    return 1 if figures["missing_receipts"] else 0


if __name__ == "__main__":
    sys.exit(main())
