"""/healthz for load balancers and monitoring: can this process reach the database and the channel
layer, and has any delivery worker reported recently? 200 when everything is fine, 503 otherwise.
No patient data, no secrets: only what is up and how long ago each worker was heard from."""

import asyncio
import datetime

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection
from django.db.models import Max
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from backend.delivery.models import WorkerHeartbeat
from backend.delivery.sending import HEARTBEAT_SECONDS

WORKER_STALE_AFTER = datetime.timedelta(seconds=HEARTBEAT_SECONDS * 4)


@never_cache
@require_GET
def healthz(request):
    database = _check(_database_answers)
    channel_layer = _check(_channel_layer_answers)
    workers = _recent_workers() if database == "ok" else []
    healthy = database == "ok" and channel_layer == "ok" and any(w["alive"] for w in workers)
    body = {
        "status": "ok" if healthy else "degraded",
        "database": database,
        "channel_layer": channel_layer,
        "delivery_workers": workers,
    }
    return JsonResponse(body, status=200 if healthy else 503)


def _check(probe) -> str:
    try:
        probe()
    except Exception as exc:  # any failure is what we report, never a 500
        return f"error: {type(exc).__name__}"
    return "ok"


def _database_answers() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _channel_layer_answers() -> None:
    async def round_trip():
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.send(channel, {"type": "health.ping"})
        await asyncio.wait_for(layer.receive(channel), timeout=2)

    async_to_sync(round_trip)()


def _recent_workers() -> list[dict]:
    now = timezone.now()
    since = now - datetime.timedelta(hours=1)
    return [
        {
            "name": beat.name,
            "seconds_since_heard": round((now - beat.last_seen_at).total_seconds(), 1),
            "alive": heard_recently(beat.last_seen_at, now),
        }
        for beat in WorkerHeartbeat.objects.filter(last_seen_at__gte=since).order_by("-last_seen_at")[:20]
    ]


def heard_recently(last_seen_at: datetime.datetime | None, now: datetime.datetime) -> bool:
    """Whether a worker last heard from at `last_seen_at` still counts as sending alerts."""
    return last_seen_at is not None and now - last_seen_at <= WORKER_STALE_AFTER


def delivery_workers_status() -> dict:
    """For the coordinators' board: is any delivery worker sending alerts, by the same rule as
    /healthz, and when was one last heard from (null: never)."""
    last_seen_at = WorkerHeartbeat.objects.aggregate(last=Max("last_seen_at"))["last"]
    return {
        "alive": heard_recently(last_seen_at, timezone.now()),
        "last_heard_at": last_seen_at.isoformat() if last_seen_at else None,
        "stale_after_seconds": int(WORKER_STALE_AFTER.total_seconds()),
    }
