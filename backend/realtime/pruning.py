"""Stored events are kept STORED_EVENTS_RETENTION_DAYS, then deleted by the worker (docs/scaling.md).

The store exists so a phone that reconnects is replayed what it missed; an event older than the
retention is of no use to a phone (one offline that long reloads its state over the API) and holds
incident addresses that should not be kept longer than needed. Without pruning the table grows by
about one row per alert and change, for ever.

The rows go oldest first, in batches, as a prefix of ids: the horizon (`ReplayHorizon`) is raised to
the batch's last id in the same transaction as the delete, so a replay that reads its events and
then the horizon (backend/sockets/consumers.py `_backlog`) either sees the events or sees that they
are gone, never a hole it cannot notice.
"""

import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import BigIntegerField, Subquery
from django.db.models.functions import Greatest
from django.utils import timezone

from backend.realtime.models import ReplayHorizon, ResponderEvent

# Rows per DELETE, and batches per run of the pass: short transactions that never hold the worker's
# database thread for long; a backlog is worked off over successive runs.
BATCH_SIZE = 5_000
BATCHES_PER_RUN = 20


def prune_stored_events(now=None) -> int:
    """The worker's pass: delete the events older than the retention. Returns how many were deleted."""
    cutoff = (now or timezone.now()) - datetime.timedelta(days=settings.STORED_EVENTS_RETENTION_DAYS)
    deleted = 0
    for _ in range(BATCHES_PER_RUN):
        batch = _prune_one_batch(cutoff)
        deleted += batch
        if batch < BATCH_SIZE:
            break
    return deleted


def _prune_one_batch(cutoff) -> int:
    ids = list(
        ResponderEvent.objects.filter(created_at__lt=cutoff).order_by("id").values_list("id", flat=True)[:BATCH_SIZE]
    )
    if not ids:
        return 0
    through = ids[-1]
    with transaction.atomic():
        horizon, _ = ReplayHorizon.objects.get_or_create(pk=1)
        ReplayHorizon.objects.filter(pk=horizon.pk).update(
            pruned_through_id=Greatest("pruned_through_id", through), pruned_at=timezone.now()
        )
        # A clean prefix: also the odd later-committed row with a lower id, which the horizon covers.
        deleted, _ = ResponderEvent.objects.filter(id__lte=through).delete()
    return deleted


def replay_horizon() -> int:
    """The id through which events have been pruned (0: none yet)."""
    return ReplayHorizon.objects.filter(pk=1).values_list("pruned_through_id", flat=True).first() or 0


def replay_horizon_in_query() -> Subquery:
    """replay_horizon() as a subquery (NULL: none yet), to be read in the same statement, so from
    the same snapshot, as the events it is compared with."""
    return Subquery(ReplayHorizon.objects.filter(pk=1).values("pruned_through_id")[:1], output_field=BigIntegerField())
