"""/healthz: what a load balancer or monitor needs to know, and nothing else."""

import datetime

import pytest
from django.db import OperationalError
from django.utils import timezone

from backend import health
from backend.delivery.models import WorkerHeartbeat
from backend.worker.loop import Worker


def beat(seconds_ago: float, name: str = "host:1:abc") -> None:
    when = timezone.now() - datetime.timedelta(seconds=seconds_ago)
    WorkerHeartbeat.objects.update_or_create(name=name, defaults={"started_at": when, "last_seen_at": when})


@pytest.mark.django_db
def test_it_is_healthy_with_a_worker_heard_from_recently(client):
    beat(2)
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["database"] == "ok" and body["channel_layer"] == "ok"
    assert body["delivery_workers"][0]["alive"] is True


@pytest.mark.django_db
def test_no_worker_heard_from_is_a_503_that_says_so(client):
    beat(120)
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "degraded"
    assert body["delivery_workers"] == [
        {"name": "host:1:abc", "seconds_since_heard": pytest.approx(120, abs=2), "alive": False}
    ]


@pytest.mark.django_db
def test_a_database_that_does_not_answer_is_reported_not_raised(client, monkeypatch):
    beat(1)

    def refuse():
        raise OperationalError("connection refused")

    monkeypatch.setattr(health, "_database_answers", refuse)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "error: OperationalError"


@pytest.mark.django_db(transaction=True)
async def test_a_running_worker_reports_itself():
    async with Worker(name="test-worker") as worker:
        await worker.run_once()
    from asgiref.sync import sync_to_async

    heartbeat = await sync_to_async(WorkerHeartbeat.objects.get)(name="test-worker")
    assert timezone.now() - heartbeat.last_seen_at < datetime.timedelta(seconds=5)
