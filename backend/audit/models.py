from django.conf import settings
from django.db import models


class AuditAction(models.TextChoices):
    CREATE = "create", "Created"
    VIEW = "view", "Viewed"
    CHANGE = "change", "Changed"
    # An incident ended: said as such, so a coordinator reading the trail does not see "Changed".
    CANCEL = "cancel", "Cancelled"
    CLOSE = "close", "Closed"
    AMEND = "amend", "Amended by a coordinator"
    EXPORT = "export", "Exported"
    ALERT_STATE = "alert_state", "Alert state changed"
    OVERRIDE = "override", "Alerted while committed to another incident"
    PSEUDONYMISE = "pseudonymise", "Pseudonymised by retention"
    # Someone logged out of the app (a firefighter mid-job: found by a trial, the trail said nothing).
    LOG_OUT = "log_out", "Logged out"
    # One of the board's alarms started sounding (the trail said only when it was acknowledged).
    ALARM = "alarm", "Alarm sounded on the boards"


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise ValueError("Audit entries are append-only.")

    def delete(self):
        raise ValueError("Audit entries are append-only.")


class AuditEntry(models.Model):
    """One access to, or change of, a record. Append-only: rows are written by
    backend.audit.log.record and never updated (a database trigger refuses it, migration 0002) or
    deleted (the model and its queryset refuse it), so the product cannot rewrite its own history.
    A user who has acted on records cannot be deleted either (PROTECT): deactivate them instead.

    `detail` holds names and ids only (which fields changed, which filters an export used), never
    the values of health data fields.
    """

    at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # As text as well, so an export or a read of the table says who without a join.
    actor_username = models.CharField(max_length=150, blank=True)
    role = models.CharField(max_length=40, help_text="The role the actor acted in, e.g. firefighter, coordinator.")
    action = models.CharField(max_length=20, choices=AuditAction.choices)
    object_type = models.CharField(max_length=40, help_text="e.g. attendance, outcome, welfare, alert, report.")
    object_id = models.CharField(max_length=40, blank=True)
    incident_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    channel = models.CharField(max_length=20, help_text="Where from: api, admin, socket, system.")
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = "audit entry"
        verbose_name_plural = "audit trail"
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        who = self.actor_username or "system"
        return f"{self.at:%Y-%m-%d %H:%M:%S} {who} {self.action} {self.object_type} {self.object_id}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("Audit entries are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Audit entries are append-only.")
