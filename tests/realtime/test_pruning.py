"""The worker deletes stored events older than STORED_EVENTS_RETENTION_DAYS, oldest first, and
raises the replay horizon with each batch (backend/realtime/pruning.py)."""

import datetime

import pytest
from django.utils import timezone

from backend.dispatch.actions import cancel_incident, dispatch_incident
from backend.realtime import pruning
from backend.realtime.models import ReplayHorizon, ResponderEvent

pytestmark = pytest.mark.django_db


def days_later(days: float):
    return timezone.now() + datetime.timedelta(days=days)


def test_events_older_than_the_retention_are_deleted_and_younger_ones_kept(incident, carol, alice, bob, settings):
    settings.STORED_EVENTS_RETENTION_DAYS = 7
    dispatch_incident(actor=carol, incident_id=incident.pk)
    old_ids = list(ResponderEvent.objects.values_list("id", flat=True))
    ResponderEvent.objects.update(created_at=days_later(-8))
    cancel_incident(actor=carol, incident_id=incident.pk, reason="Hoax")
    young_ids = list(ResponderEvent.objects.exclude(id__in=old_ids).values_list("id", flat=True))
    assert old_ids and young_ids

    assert pruning.prune_stored_events() == len(old_ids)

    assert sorted(ResponderEvent.objects.values_list("id", flat=True)) == sorted(young_ids)
    assert pruning.replay_horizon() == max(old_ids)


def test_nothing_to_prune_changes_nothing(incident, carol, alice):
    dispatch_incident(actor=carol, incident_id=incident.pk)
    count = ResponderEvent.objects.count()

    assert pruning.prune_stored_events() == 0

    assert ResponderEvent.objects.count() == count
    assert pruning.replay_horizon() == 0
    assert not ReplayHorizon.objects.exists()


def test_a_backlog_goes_in_batches_and_the_horizon_never_moves_back(incident, carol, alice, bob, monkeypatch):
    monkeypatch.setattr(pruning, "BATCH_SIZE", 1)
    monkeypatch.setattr(pruning, "BATCHES_PER_RUN", 1)
    dispatch_incident(actor=carol, incident_id=incident.pk)
    first, second = ResponderEvent.objects.order_by("id").values_list("id", flat=True)

    assert pruning.prune_stored_events(now=days_later(30)) == 1  # one batch of one per run
    assert pruning.replay_horizon() == first
    ReplayHorizon.objects.update(pruned_through_id=second + 100)  # as if another worker went further
    assert pruning.prune_stored_events(now=days_later(30)) == 1
    assert pruning.replay_horizon() == second + 100
    assert not ResponderEvent.objects.exists()
