"""The worker (backend/worker/) runs the passes the apps register (backend/scheduling.py), each at
most as often as it asks, sleeps when none started anything, and wakes at once when told."""

import asyncio
import datetime
import logging

import pytest
from asgiref.sync import sync_to_async
from django.core.management import load_command_class
from django.db import OperationalError, transaction
from django.utils import timezone

from backend import scheduling
from backend.dispatch.actions import dispatch_incident
from backend.records.models import AlertSummary
from backend.worker import loop
from backend.worker.loop import Worker
from backend.worker.management.commands import run_worker


class Counting(scheduling.Pass):
    def __init__(self, name, every_seconds=0.0, started=0):
        self.name = name
        self.every_seconds = every_seconds
        self.started = started
        self.runs = 0
        self.events = []

    async def start(self):
        self.events.append("start")

    async def run_once(self):
        self.runs += 1
        return self.started

    async def stop(self):
        self.events.append("stop")


def test_every_app_registers_its_passes_in_the_order_of_the_installed_apps():
    identity = scheduling.WorkerIdentity("w", timezone.now())
    names = [each.name for each in scheduling.registered_passes(identity)]
    assert names == [
        "escalations",
        "positions retention",
        "stored events retention",
        "heartbeat",
        "deliveries",
        "readiness",
        "welfare e-mails",
        "report summaries",
    ]


async def test_each_pass_runs_at_most_as_often_as_it_asks():
    often, seldom = Counting("often"), Counting("seldom", every_seconds=3600)
    async with Worker([often, seldom], name="w") as worker:
        for _ in range(3):
            await worker.run_once()
    assert (often.runs, seldom.runs) == (3, 1)
    assert often.events == seldom.events == ["start", "stop"]


class Busy(Counting):
    """A pass whose work goes on after its run (as a fan-out's sends do), while `busy` is set."""

    def __init__(self, name, order, **kwargs):
        super().__init__(name, **kwargs)
        self.order, self.busy = order, False

    async def run_once(self):
        self.order.append(self.name)
        return await super().run_once()

    def in_progress(self):
        return self.busy


async def test_the_passes_of_every_turn_run_before_the_scheduled_ones():
    """A dispatch's first claim waited for the escalations' query and the heartbeat's write, which
    come before the deliveries in INSTALLED_APPS."""
    order = []
    scheduled, every_turn = Busy("escalations", order, every_seconds=3600), Busy("deliveries", order)
    async with Worker([scheduled, every_turn], name="w") as worker:
        await worker.run_once()
    assert order == ["deliveries", "escalations"]
    identity = scheduling.WorkerIdentity("w", timezone.now())
    turn = Worker(scheduling.registered_passes(identity), name="w")._in_turn_order
    assert [each.name for each in turn][:2] == ["deliveries", "escalations"]


async def test_a_scheduled_pass_waits_while_a_fan_out_is_in_progress_but_not_for_long(monkeypatch):
    # Half a second of hold-back: with 0.05 s, a loaded machine (make test-fast beside browser tests)
    # took longer than the hold-back between the sleep and the run, and summaries ran early.
    monkeypatch.setattr(loop, "HOLD_BACK_SECONDS", 0.5)
    order = []
    deliveries, summaries = Busy("deliveries", order), Busy("summaries", order, every_seconds=0.01)
    async with Worker([deliveries, summaries], name="w") as worker:
        await worker.run_once()  # both run once at the start
        deliveries.busy = True
        await asyncio.sleep(0.02)  # summaries due again, while the fan-out goes on
        await worker.run_once()
        assert order == ["deliveries", "summaries", "deliveries"]
        deliveries.busy = False  # the fan-out is over
        await worker.run_once()
        assert order[-2:] == ["deliveries", "summaries"]
        deliveries.busy = True  # and one that goes on past the hold-back
        await asyncio.sleep(0.6)
        await worker.run_once()
        assert order[-2:] == ["deliveries", "summaries"]
    assert summaries.runs == 3


async def test_the_work_started_is_what_the_passes_say():
    async with Worker([Counting("a", started=2), Counting("b", started=0)], name="w") as worker:
        assert await worker.run_once() == 2


async def test_a_failing_background_pass_is_logged_and_the_loop_goes_on(caplog):
    calls = []

    async def fails():
        calls.append(1)
        raise ConnectionError("mail relay away")

    background = scheduling.InBackground("mail", 0, fails)
    other = Counting("other")
    with caplog.at_level(logging.ERROR, logger="backend.scheduling"):
        async with Worker([background, other], name="w") as worker:
            await worker.run_once()
            await asyncio.sleep(0)  # let the background run fail
            await worker.run_once()
    assert len(calls) == 2 and other.runs == 2
    assert "Scheduled work 'mail' failed" in caplog.text


class FailingOnce(Counting):
    """A pass whose first run meets the database gone (found by bench/faults.py: the escalation
    pass's OperationalError ended the worker process, and no push was sent after the outage)."""

    async def run_once(self):
        self.runs += 1
        if self.runs == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return self.started


@pytest.mark.django_db(transaction=True)
async def test_a_pass_that_fails_is_logged_and_the_worker_runs_it_again_with_the_others(caplog):
    failing, other = FailingOnce("escalations", started=1), Counting("deliveries", started=1)
    with caplog.at_level(logging.ERROR, logger="backend.worker.loop"):
        async with Worker([failing, other], name="w") as worker:
            assert await worker.run_once() == 1  # the other pass still ran
            assert await worker.run_once() == 2
    assert (failing.runs, other.runs) == (2, 2)
    assert "Pass 'escalations' failed (OperationalError)" in caplog.text


@pytest.mark.django_db(transaction=True)
async def test_a_worker_outlives_a_failing_pass_until_it_is_stopped(settings):
    settings.DELIVERY_POLL_SECONDS = 0.01
    failing = FailingOnce("escalations")
    stop = asyncio.Event()
    running = asyncio.create_task(Worker([failing], name="w").run(stop))
    for _ in range(500):
        if failing.runs >= 3:
            break
        await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(running, timeout=10)
    assert failing.runs >= 3 and running.exception() is None


async def test_stopping_waits_for_background_work_to_finish():
    finished = []

    async def slow():
        await asyncio.sleep(0.05)
        finished.append(True)

    async with Worker([scheduling.InBackground("slow", 0, slow)], name="w") as worker:
        await worker.run_once()
    assert finished == [True]


@pytest.mark.django_db(transaction=True)
async def test_a_sleeping_worker_is_woken_after_commit_not_on_its_next_poll(settings):
    settings.DELIVERY_POLL_SECONDS = 30
    woken = Counting("woken")
    stop = asyncio.Event()
    running = asyncio.create_task(Worker([woken], name="w").run(stop))
    while woken.runs == 0:
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.1)  # idle now: asleep until the poll, 30 s away

    def something_due():
        with transaction.atomic():
            scheduling.wake_workers_on_commit()

    await sync_to_async(something_due)()
    for _ in range(200):
        if woken.runs >= 2:
            break
        await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(running, timeout=5)
    assert woken.runs >= 2


@pytest.mark.django_db(transaction=True)
async def test_a_worker_in_the_committing_process_is_woken_by_the_commit_not_through_the_channel_layer(
    settings, monkeypatch
):
    """The embedded setup (`manage.py serve`): through the channel layer, the wake-up waited behind
    the transaction's other after-commit sends (a dispatch's alert events) and a turn of the layer."""
    settings.DELIVERY_POLL_SECONDS = 30
    through_the_layer = []
    monkeypatch.setattr(scheduling, "send_on_commit", through_the_layer.append)  # other processes' workers
    woken = Counting("woken")
    stop = asyncio.Event()
    running = asyncio.create_task(Worker([woken], name="w").run(stop))
    while woken.runs == 0:
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.1)  # idle now: asleep until the poll, 30 s away

    def something_due():
        with transaction.atomic():
            scheduling.wake_workers_on_commit()

    await sync_to_async(something_due)()
    for _ in range(200):
        if woken.runs >= 2:
            break
        await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(running, timeout=5)
    assert woken.runs == 2
    assert through_the_layer == [[(scheduling.WAKE_GROUP, {"type": "worker.wake"})]]  # still told


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_transaction_wakes_no_worker_of_this_process():
    wakes = []
    scheduling.add_local_wake_up(lambda: wakes.append(1))
    try:
        with pytest.raises(RuntimeError), transaction.atomic():
            scheduling.wake_workers_on_commit()
            raise RuntimeError("rolled back")
        with transaction.atomic():
            scheduling.wake_workers_on_commit()
    finally:
        scheduling._local_wake_ups.clear()
    assert wakes == [1]


@pytest.mark.django_db(transaction=True)
async def test_the_worker_keeps_the_reports_summaries_up(incident, carol, alice):
    await sync_to_async(dispatch_incident)(actor=carol, incident_id=incident.pk)
    assert await AlertSummary.objects.acount() == 0  # the dispatch did not pay for the reports
    async with Worker(name="w") as worker:
        await worker.run_once()
    assert await AlertSummary.objects.acount() == 1


def test_the_old_command_name_runs_the_same_worker_for_one_release(capsys):
    old = load_command_class("backend.worker", "run_delivery_worker")
    assert isinstance(old, run_worker.Command)


def test_a_worker_identity_names_it_and_says_when_it_started():
    worker = Worker([], name="host:1:abc")
    assert worker.identity.name == "host:1:abc"
    assert timezone.now() - worker.identity.started_at < datetime.timedelta(seconds=5)
