from django.db import models

from backend.dispatch.models import Alert


class OnSceneEvent(models.Model):
    """One tap on the on-scene checklist (arrived, CPR started, pads on, a shock, ...): what
    happened and when, by the crew member's phone, synced whenever the phone has signal.

    The phone makes a key for each tap and sends it until it gets an answer; a retry with the same
    key returns the stored event and creates nothing (the unique constraint makes that hold even
    for two copies arriving at once). `body_hash` tells a retry from a different event that
    reuses a key by mistake. Written only by backend.checklists.actions.record_onscene_event.
    """

    alert = models.ForeignKey(Alert, on_delete=models.PROTECT, related_name="onscene_events")
    idempotency_key = models.UUIDField(help_text="Made by the phone: the same key is the same event.")
    type = models.CharField(max_length=30, help_text="One of the checklist's event ids.")
    occurred_at = models.DateTimeField(help_text="When it happened, by the phone's clock.")
    data = models.JSONField(default=dict, blank=True, help_text="Details the checklist allows, e.g. the shock number.")
    received_at = models.DateTimeField(help_text="When the server stored it.")
    body_hash = models.CharField(max_length=64, help_text="SHA-256 of the event as submitted (type, time, data).")

    class Meta:
        verbose_name = "on-scene event"
        ordering = ["alert", "occurred_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["alert", "idempotency_key"], name="one_onscene_event_per_key"),
        ]
        indexes = [models.Index(fields=["alert", "occurred_at"])]

    def __str__(self) -> str:
        return f"{self.type} at {self.occurred_at:%H:%M:%S} ({self.alert})"
