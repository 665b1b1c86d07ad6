from django.conf import settings
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

    # Indexed by (alert, occurred_at) and one_onscene_event_per_key (alert, key) below.
    alert = models.ForeignKey(Alert, on_delete=models.PROTECT, related_name="onscene_events", db_index=False)
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


class SignOffStatus(models.TextChoices):
    DRAFT = "draft", "Draft: not clinically approved"
    APPROVED = "approved", "Approved"
    WITHDRAWN = "withdrawn", "Withdrawn"


class ChecklistVersion(models.Model):
    """One version of the checklist's content (a file in backend/checklists/data/) and its clinical
    sign-off: who reviewed it (name, role, registration where there is one), when, and its status.

    The content is copied from the file when it is first loaded (backend.checklists.signoff,
    at every migrate) and is what phones are served: once a version is approved its content here
    is frozen, so an edit to the file after approval never reaches a phone unreviewed (the
    deployment check says so, coresponder.E053). Written only by backend.checklists.signoff.
    """

    version = models.CharField(max_length=20, unique=True, help_text="The content's own version, e.g. 2.0.")
    source_file = models.CharField(max_length=100, help_text="The file in backend/checklists/data/ it came from.")
    content = models.JSONField(help_text="The checklist as reviewed and served.")
    content_sha256 = models.CharField(max_length=64, help_text="SHA-256 of the content, as loaded.")
    loaded_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=SignOffStatus.choices, default=SignOffStatus.DRAFT)
    reviewer_name = models.CharField(max_length=150, blank=True, help_text="The clinician who reviewed it.")
    reviewer_role = models.CharField(max_length=150, blank=True, help_text="e.g. Consultant paramedic, EEAST.")
    reviewer_registration = models.CharField(
        max_length=40, blank=True, help_text="Professional registration (GMC, NMC, HCPC) where there is one."
    )
    reviewed_on = models.DateField(null=True, blank=True, help_text="When the clinician reviewed it.")
    status_changed_at = models.DateTimeField(null=True, blank=True)
    status_changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    status_reason = models.CharField(max_length=500, blank=True, help_text="Why it was withdrawn.")

    class Meta:
        verbose_name = "checklist version"
        ordering = ["-loaded_at", "-id"]
        permissions = [("approve_checklistversion", "Can approve or withdraw a checklist version (clinical sign-off)")]

    def __str__(self) -> str:
        return f"Checklist {self.version} ({self.get_status_display()})"
