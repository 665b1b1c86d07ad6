"""The fault scenarios, shared by tests/faults/ (small, in CI) and bench/faults.py (at scale).

Each takes a started `Cluster`, the `Plan` of who is where, and a size; runs a burst of dispatches
while injecting its fault; waits (bounded) until every alert in the database has reached its
firefighter, then returns the `Figures` that compare the two. The ORM runs on a worker thread
(`in_thread`) so the event loop keeps serving the simulated phones meanwhile.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid

from tests.support.cluster import Cluster, Crowd, Dispatcher, Figures, Plan, tally

# After everything expected has arrived, keep listening this long to catch late duplicates.
LINGER_S = 1.0


async def in_thread(function, *args, **kwargs):
    """Run ORM code on a worker thread, closing that thread's connection afterwards."""

    def run():
        from django.db import connections

        try:
            return function(*args, **kwargs)
        finally:
            connections.close_all()

    return await asyncio.to_thread(run)


def run_id(name: str) -> str:
    return f"{name.upper()}-{uuid.uuid4().hex[:6]}"


async def burst(
    dispatcher: Dispatcher, plan: Plan, count: int | range, *, concurrency: int = 4, spacing_s: float = 0.0
) -> None:
    """Dispatches numbered `count` (a number, or a range of them), `concurrency` at a time, each at
    the next station."""
    stations = len(plan.station_locations)
    numbers = iter(range(count) if isinstance(count, int) else count)

    async def lane():
        for number in numbers:
            await dispatcher.dispatch(number, number % stations)
            if spacing_s:
                await asyncio.sleep(spacing_s)

    await asyncio.gather(*(lane() for _ in range(concurrency)))


def _expected(references: set[str]) -> list[tuple[int, int, str]]:
    from backend.dispatch.models import Alert

    return list(Alert.objects.filter(incident__cad_reference__in=references).values_list("pk", "responder_id", "state"))


async def settle(dispatcher: Dispatcher, crowd: Crowd, timeout: float) -> None:
    """Until every alert in the database has been shown to its firefighter, cancelled ones shown
    as cancelled and standing ones acknowledged, or `timeout`; then linger for late duplicates."""
    expected = await in_thread(_expected, set(dispatcher.dispatched))
    by_responder = {firefighter.responder_id: firefighter for firefighter in crowd.firefighters}

    def done():
        for pk, responder_id, state in expected:
            firefighter = by_responder[responder_id]
            if pk not in firefighter.shown_at:
                return False
            if state == "cancelled" and firefighter.alerts[pk]["state"] != "cancelled":
                return False
            if state != "cancelled" and pk not in firefighter.acked:
                return False
        return True

    await crowd.wait_until(done, timeout)
    await asyncio.sleep(LINGER_S)


async def _when_dispatched(dispatcher: Dispatcher, count: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while sum(1 for d in dispatcher.dispatched.values() if d.incident_id) < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{count} dispatches did not go through within {timeout} s")
        await asyncio.sleep(0.02)


# --- 1. A daphne process killed (SIGKILL) during a burst, several times ----------------------------------


async def daphne_killed(cluster: Cluster, plan: Plan, *, dispatches: int, kills: int, settle_s: float = 30) -> Figures:
    """Kills the web processes in turn (SIGKILL) while dispatches go on, each brought back at once
    on the same port. Phones on a killed process reconnect to another and replay; dispatches that
    were in flight on it are retried by the CAD on another (409 = it had gone through)."""
    dispatcher = Dispatcher(cluster, plan, run_id("kill"))
    crowd = Crowd(plan, cluster)
    try:
        await crowd.connect()
        sending = asyncio.create_task(burst(dispatcher, plan, dispatches))
        for kill in range(kills):
            await _when_dispatched(dispatcher, (kill + 1) * dispatches // (kills + 1))
            victim = cluster.web[kill % len(cluster.web)]
            victim.kill()
            await asyncio.to_thread(cluster.restart, victim)
        await sending
        await settle(dispatcher, crowd, settle_s)
    finally:
        await crowd.close()
    figures = await in_thread(tally, "daphne_killed", dispatcher, crowd)
    figures.extra["kills"] = kills
    return figures


# --- 2. Redis stopped and restarted during a burst ----------------------------------------------------------


async def redis_restarted(
    cluster: Cluster, plan: Plan, *, dispatches: int, down_s: float = 2.0, settle_s: float = 30
) -> Figures:
    """A third of the dispatches before Redis stops, a third while it is down, a third after it is
    back (empty: no persistence, so every group membership is gone). Dispatches while it is down are
    stored and their live sends fail; sockets that stayed open through the outage must not be left
    deaf; every phone must still be shown every alert."""
    dispatcher = Dispatcher(cluster, plan, run_id("redis"))
    crowd = Crowd(plan, cluster)
    try:
        await crowd.connect()
        await burst(dispatcher, plan, range(0, dispatches // 3))
        cluster.redis.stop()
        stopped_at = time.monotonic()
        await burst(dispatcher, plan, range(dispatches // 3, 2 * dispatches // 3))
        await asyncio.sleep(max(0.0, down_s - (time.monotonic() - stopped_at)))
        await asyncio.to_thread(cluster.restart, cluster.redis)
        await burst(dispatcher, plan, range(2 * dispatches // 3, dispatches))
        await settle(dispatcher, crowd, settle_s)
    finally:
        await crowd.close()
    figures = await in_thread(tally, "redis_restarted", dispatcher, crowd)
    figures.extra["redis_down_s"] = down_s
    return figures


# --- 3. A delivery worker killed while it holds deliveries ----------------------------------------------------


def _leases(references: set[str]) -> dict[str, list[int]]:
    """The deliveries each worker holds (state sending), by worker name."""
    from backend.delivery.models import Delivery, DeliveryState

    held: dict[str, list[int]] = {}
    for pk, worker in Delivery.objects.filter(
        alert__incident__cad_reference__in=references, state=DeliveryState.SENDING
    ).values_list("pk", "leased_by"):
        held.setdefault(worker, []).append(pk)
    return held


def _push_deliveries(references: set[str]) -> list[tuple[int, int, str, str]]:
    from backend.delivery.models import Channel, Delivery, Kind

    return list(
        Delivery.objects.filter(
            alert__incident__cad_reference__in=references, channel=Channel.WEBPUSH, kind=Kind.ALERT
        ).values_list("pk", "alert_id", "device__subscription__endpoint", "state")
    )


def _delivery_outcomes(references: set[str]) -> dict[str, int]:
    from collections import Counter

    from backend.delivery.models import Delivery

    rows = Delivery.objects.filter(alert__incident__cad_reference__in=references)
    return dict(Counter(f"{state}: {error[:80]}" for state, error in rows.values_list("state", "last_error")))


async def worker_killed(
    cluster: Cluster, plan: Plan, push_service, *, dispatches: int, push_delay_s: float = 1.5, settle_s: float = 30
) -> Figures:
    """Two delivery workers; the push service is slow, so sends are in flight and their deliveries
    leased. The worker holding the most is killed (SIGKILL); the other must claim them once the
    lease (DELIVERY_LEASE_SECONDS) expires and send them.

    What holds: every (subscription, alert) is pushed at least once (no loss), and every delivery
    ends `sent`. A push the killed worker had already handed to the push service is sent again by
    the other worker: the dead worker cannot have recorded it, and the push service may or may not
    have accepted it (this stand-in, like a real service, accepts a request whose sender went
    away). So a (subscription, alert) can get a second push, at most one per delivery the killed
    worker held; it has the same Topic and notification tag, so the push service replaces an
    undelivered one and the phone shows one notification. The socket path is counted as in the
    other scenarios (exactly once)."""
    dispatcher = Dispatcher(cluster, plan, run_id("worker"))
    crowd = Crowd(plan, cluster)
    pushes_before = len(push_service.received)  # bench/faults.py shares one push service between scenarios
    push_service.delay(push_delay_s)
    held: list[int] = []
    try:
        await crowd.connect()
        sending = asyncio.create_task(burst(dispatcher, plan, dispatches))
        deadline = time.monotonic() + 60
        while not held:
            if time.monotonic() > deadline:
                raise TimeoutError("no delivery worker ever held a delivery")
            leases = await in_thread(_leases, set(dispatcher.dispatched))
            # The worker holding the most deliveries is killed (both are claiming).
            victim = max(cluster.workers, key=lambda worker: len(leases.get(worker.name, [])))
            held = leases.get(victim.name, [])
            if not held:
                await asyncio.sleep(0.1)
        victim.kill()
        push_service.delay(0)
        await sending
        references = set(dispatcher.dispatched)
        # Until every delivery is finished: those the dead worker held once their lease has expired.
        deadline = time.monotonic() + settle_s
        while time.monotonic() < deadline:
            deliveries = await in_thread(_push_deliveries, references)
            if all(state in ("sent", "failed", "cancelled") for *_, state in deliveries):
                break
            await asyncio.sleep(0.2)
        await settle(dispatcher, crowd, settle_s)
    finally:
        await crowd.close()
    figures = await in_thread(tally, "worker_killed", dispatcher, crowd)
    run_alerts = {alert_id for _pk, alert_id, _endpoint, _state in deliveries}
    received = [
        push
        for push in push_service.received[pushes_before:]
        if push.json.get("type") == "alert.created" and push.json["alert_id"] in run_alerts
    ]
    pushes = [(push.endpoint, push.json["alert_id"]) for push in received]
    counts = {key: pushes.count(key) for key in set(pushes)}
    # What makes a second push harmless: the same Topic (the push service replaces an undelivered
    # one) and the same notification tag (the phone replaces the shown one).
    collapse_keys: dict = {}
    for push in received:
        key = (push.endpoint, push.json["alert_id"])
        collapse_keys.setdefault(key, set()).add((push.topic, push.json["notification"]["tag"]))
    expected = {(endpoint, alert_id) for _pk, alert_id, endpoint, _state in deliveries}
    figures.extra.update(
        push_deliveries=len(deliveries),
        push_delivered=len(expected & set(counts)),
        push_lost=len(expected - set(counts)),
        push_resent=sum(count - 1 for count in counts.values()),
        push_resent_not_collapsible=sum(1 for keys in collapse_keys.values() if len(keys) > 1),
        push_unexpected=len(set(counts) - expected),
        deliveries_not_sent=sum(1 for *_, state in deliveries if state != "sent"),
        held_by_killed_worker=len(held),
    )
    if figures.extra["deliveries_not_sent"]:
        figures.extra["delivery_outcomes"] = await in_thread(_delivery_outcomes, set(dispatcher.dispatched))
    return figures


# --- 4. PostgreSQL unavailable --------------------------------------------------------------------------------


async def _probe_dispatch(cluster: Cluster, plan: Plan, reference: str, port: int) -> tuple[float, int, dict | None]:
    from tests.support.cluster import http_json

    lat, lon = plan.location_of(0)
    body = {"cad_reference": reference, "latitude": lat, "longitude": lon, "address": "1 Outage Road"}
    body["dispatch"] = True
    started = time.monotonic()
    try:
        status, answer = await http_json(port, "POST", "/api/v1/incidents/", body, plan.token, timeout=30)
    except (OSError, TimeoutError, ConnectionError) as error:
        return time.monotonic() - started, 0, {"transport_error": type(error).__name__}
    return time.monotonic() - started, status, answer


async def database_down(
    cluster: Cluster, plan: Plan, *, dispatches: int, probes: int, down_s: float = 2.0, settle_s: float = 30
) -> Figures:
    """PostgreSQL becomes unreachable (through the proxy), three ways: refusing connections,
    swallowing them (only the connect timeout ends the wait), and mid-burst with transactions in
    flight. Every dispatch sent while it is down must answer 503 with a JSON error within 5 s;
    dispatches retried once it is back must all go through, and nothing half-done may remain."""
    dispatcher = Dispatcher(cluster, plan, run_id("db"))
    crowd = Crowd(plan, cluster)
    answers: list[tuple[str, float, int, dict | None]] = []
    try:
        await crowd.connect()
        for mode in ("refuse", "blackhole"):
            cluster.proxy.cut(mode)
            for probe in range(probes):
                reference = f"{dispatcher.run_id}-{mode}-{probe}"
                port = cluster.ports[probe % len(cluster.ports)]
                answers.append((reference, mode, *await _probe_dispatch(cluster, plan, reference, port)))
            cluster.proxy.restore()
        sending = asyncio.create_task(burst(dispatcher, plan, dispatches))
        await _when_dispatched(dispatcher, dispatches // 3)
        cluster.proxy.cut("refuse")
        await asyncio.sleep(down_s)
        cluster.proxy.restore()
        await sending
        # The CAD sends again, with the same reference, what was refused while the database was down.
        for number, (reference, _mode, _elapsed, _status, _answer) in enumerate(answers):
            await dispatcher.dispatch(number, number % len(plan.station_locations), reference=reference)
        await settle(dispatcher, crowd, settle_s)
    finally:
        await crowd.close()
    figures = await in_thread(tally, "database_down", dispatcher, crowd)
    outage = [(mode, elapsed, status, answer) for _reference, mode, elapsed, status, answer in answers]
    figures.extra.update(
        outage_requests=len(outage),
        # Answered 503 database_unavailable, whenever.
        outage_database_unavailable=sum(1 for _m, _e, status, answer in outage if _is_clear_503(status, answer)),
        # ... and within the CAD's 5 s budget.
        outage_clear_503=sum(
            1 for _m, elapsed, status, answer in outage if _is_clear_503(status, answer) and elapsed < 5
        ),
        outage_2xx=sum(1 for _m, _e, status, _a in outage if 200 <= status < 300),
        outage_max_answer_s=round(max(elapsed for _m, elapsed, _s, _a in outage), 2),
    )
    figures.extra["outage_answers"] = [
        (mode, round(elapsed, 2), status, _error_code(answer)) for mode, elapsed, status, answer in outage
    ]
    return figures


def _error_code(answer: dict | None) -> str | None:
    if not isinstance(answer, dict):
        return None
    return answer.get("error", {}).get("code") or answer.get("transport_error")


def _is_clear_503(status: int, answer: dict | None) -> bool:
    return status == 503 and isinstance(answer, dict) and answer.get("error", {}).get("code") == "database_unavailable"


# --- 5. Firefighters offline while alerts are dispatched and some cancelled -------------------------------------


async def offline_then_back(
    cluster: Cluster, plan: Plan, *, dispatches: int, offline_s: float, cancel_every: int = 3, settle_s: float = 30
) -> Figures:
    """Every phone goes offline (its socket closed); while they are away, incidents are dispatched
    one after another over `offline_s` and every `cancel_every`-th is cancelled. When they come back
    each phone must be replayed every event it missed, in order: every alert shown once, in the
    order dispatched, the cancelled ones shown as cancelled."""
    dispatcher = Dispatcher(cluster, plan, run_id("offline"))
    crowd = Crowd(plan, cluster)
    try:
        await crowd.connect()
        for firefighter in crowd.firefighters:
            firefighter.online.clear()
        await crowd.wait_until(lambda: not any(f.live.is_set() for f in crowd.firefighters), 10)
        went_offline = time.monotonic()
        spacing = offline_s / max(dispatches, 1)
        records = []
        for number in range(dispatches):
            records.append(await dispatcher.dispatch(number, number % len(plan.station_locations)))
            if number % cancel_every == cancel_every - 1:
                await dispatcher.cancel(records[-1])
            await asyncio.sleep(max(0.0, went_offline + (number + 1) * spacing - time.monotonic()))
        offline_for = time.monotonic() - went_offline
        for firefighter in crowd.firefighters:
            firefighter.online.set()
        await settle(dispatcher, crowd, settle_s)
    finally:
        await crowd.close()
    figures = await in_thread(tally, "offline_then_back", dispatcher, crowd)
    figures.extra["offline_s"] = round(offline_for, 1)
    figures.extra["replayed_out_of_dispatch_order"] = sum(_shown_out_of_order(f) for f in crowd.firefighters)
    return figures


def _shown_out_of_order(firefighter) -> int:
    """Alerts shown before an alert dispatched earlier (alert ids grow with dispatch order here)."""
    order = sorted(firefighter.shown_at, key=firefighter.shown_at.get)
    return sum(1 for earlier, later in itertools.pairwise(order) if later < earlier)
