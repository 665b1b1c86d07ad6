from django.conf import settings
from django.db import models
from webpush.models import SubscriptionInfo


class Platform(models.TextChoices):
    IOS = "ios", "iPhone or iPad"
    ANDROID = "android", "Android"
    DESKTOP = "desktop", "Computer"
    OTHER = "other", "Other"


class Permission(models.TextChoices):
    GRANTED = "granted", "Allowed"
    DENIED = "denied", "Blocked"
    DEFAULT = "default", "Not asked yet"


class PushDevice(models.Model):
    """A browser push subscription of one firefighter's device (django-webpush's SubscriptionInfo
    holds the endpoint and keys), with what we need besides: whose it is and what to call it."""

    subscription = models.OneToOneField(SubscriptionInfo, on_delete=models.CASCADE, related_name="device")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="push_devices")
    label = models.CharField(max_length=100, help_text="What the firefighter calls this device.")
    created_at = models.DateTimeField(auto_now_add=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    # What the app said of itself at start and with each test (docs/delivery.md "Readiness"): the
    # coordinator's readiness view and the advice the firefighter is given are read from these.
    platform = models.CharField(max_length=10, choices=Platform.choices, blank=True)
    installed = models.BooleanField(
        null=True, blank=True, help_text="Running as an installed app (standalone); iOS needs it for push."
    )
    permission = models.CharField(max_length=10, choices=Permission.choices, blank=True)
    state_reported_at = models.DateTimeField(null=True, blank=True)
    # Proof that this phone rings: the last time its service worker said it showed a push (a real
    # alert's receipt or a test's), and the last time a check of it failed, and why.
    last_proven_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    last_failure_reason = models.CharField(max_length=200, blank=True)
    failed_checks_in_a_row = models.PositiveSmallIntegerField(
        default=0, help_text="Checks failed since the device was last proven; two or more flag it."
    )

    FLAG_AFTER_FAILED_CHECKS = 2

    def __str__(self) -> str:
        return f"{self.label} ({self.user})"

    @property
    def flagged(self) -> bool:
        return self.failed_checks_in_a_row >= self.FLAG_AFTER_FAILED_CHECKS


class Channel(models.TextChoices):
    WEBPUSH = "webpush", "Web Push"
    SMS = "sms", "SMS"


class Kind(models.TextChoices):
    ALERT = "alert", "Alert"
    STAND_DOWN = "stand_down", "Stand-down (cancelled or not needed)"
    TEST = "test", "Test of the device"
    # "New message from control": generic words, never the text; no receipt (readiness unaffected).
    MESSAGE = "message", "New message from control"


class CheckReason(models.TextChoices):
    ASKED = "asked", "Asked for by the firefighter"
    SCHEDULED = "scheduled", "Scheduled readiness check"


class CheckResult(models.TextChoices):
    PENDING = "pending", "Waiting for the phone"
    PASSED = "passed", "Shown on the phone"
    FAILED = "failed", "Failed"


class CheckFailure(models.TextChoices):
    """Why a check failed, as the app chooses its advice by it (pwa/app/readiness.js)."""

    PERMISSION = "permission", "Notifications not allowed on the phone"
    REFUSED = "refused", "The push service refused the push"
    NO_RECEIPT = "no_receipt", "No receipt from the phone in time"


class DeviceCheck(models.Model):
    """A test push to one device, through the same path as an alert (outbox, worker, push service,
    service worker): it passes when the phone's receipt comes back, and fails when the push service
    refuses it or no receipt comes in time. Kept so a coordinator can see when each phone last rang."""

    device = models.ForeignKey(PushDevice, on_delete=models.CASCADE, related_name="checks")
    reason = models.CharField(max_length=10, choices=CheckReason.choices)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True, help_text="When the push service accepted the push.")
    shown_at = models.DateTimeField(null=True, blank=True, help_text="When the phone said it showed the test.")
    result = models.CharField(max_length=10, choices=CheckResult.choices, default=CheckResult.PENDING)
    failure_reason = models.CharField(max_length=200, blank=True)
    failure_code = models.CharField(max_length=12, choices=CheckFailure.choices, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["result", "created_at"])]

    def __str__(self) -> str:
        return f"Check of {self.device} ({self.get_reason_display()}): {self.result}"

    @property
    def duration_ms(self) -> int | None:
        if self.shown_at is None:
            return None
        return int((self.shown_at - self.created_at).total_seconds() * 1000)


class DeliveryState(models.TextChoices):
    PENDING = "pending", "Waiting to be sent"
    SENDING = "sending", "Being sent"
    SENT = "sent", "Accepted by the push service"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "No longer needed"


class Delivery(models.Model):
    """One message to one device (or phone) about one alert: the durable outbox.

    Written in the same transaction as the alert. A worker claims due rows with a lease; a
    worker that dies leaves its lease to expire and another worker retries the row. Each row
    keeps what happened so a coordinator can see, per responder, what was sent and what failed.
    """

    # An alert's push, stand-down or text; or (kind "test") a device check's push, with no alert.
    alert = models.ForeignKey(
        # Indexed by one_delivery_per_device_round, which starts with it.
        "dispatch.Alert",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="deliveries",
        db_index=False,
    )
    device_check = models.ForeignKey(
        DeviceCheck, on_delete=models.CASCADE, null=True, blank=True, related_name="deliveries"
    )
    channel = models.CharField(max_length=10, choices=Channel.choices)
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.ALERT)
    device = models.ForeignKey(PushDevice, on_delete=models.SET_NULL, null=True, blank=True, related_name="deliveries")
    round = models.PositiveSmallIntegerField(default=1, help_text="1 = first send; later rounds are re-sends.")
    state = models.CharField(max_length=10, choices=DeliveryState.choices, default=DeliveryState.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    leased_by = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    first_attempt_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    last_status = models.PositiveSmallIntegerField(null=True, blank=True, help_text="HTTP status of the last attempt.")
    last_error = models.CharField(max_length=300, blank=True)
    target = models.CharField(max_length=200, blank=True, help_text="Push service host or masked phone number.")
    # The phone's own word (backend/delivery/receipts.py): a push carries a token derived from this
    # row and its attempt (nothing is stored for it), and the service worker sends it back when it
    # shows the notification (shown) and when it is tapped (opened). No session is needed for either.
    shown_at = models.DateTimeField(
        null=True, blank=True, help_text="When the phone's service worker reported the notification shown."
    )
    opened_at = models.DateTimeField(
        null=True, blank=True, help_text="When the firefighter tapped the notification on this device."
    )

    class Meta:
        verbose_name_plural = "deliveries"
        ordering = ["created_at", "pk"]
        indexes = [
            models.Index(fields=["state", "next_attempt_at"]),
            # The leases being held, only: an index on (state, lease_expires_at) offered the claim
            # a read of every pending row by state alone, which PostgreSQL took for the pending half
            # of its condition (hundreds of retries waiting, to find the few due; sending.claim_due).
            models.Index(
                fields=["lease_expires_at"], condition=models.Q(state="sending"), name="delivery_lease_held_idx"
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["alert", "kind", "channel", "device", "round"], name="one_delivery_per_device_round"
            ),
            models.UniqueConstraint(
                fields=["alert", "round"], condition=models.Q(channel="sms"), name="one_sms_per_alert_round"
            ),
            models.CheckConstraint(
                condition=models.Q(kind="test", alert__isnull=True, device_check__isnull=False)
                | (~models.Q(kind="test") & models.Q(alert__isnull=False, device_check__isnull=True)),
                name="delivery_for_an_alert_or_a_check",
            ),
        ]

    def __str__(self) -> str:
        if self.alert_id is None:
            return f"{self.get_channel_display()} test {self.device_check_id}: {self.state}"
        return f"{self.get_channel_display()} for alert {self.alert_id} (round {self.round}): {self.state}"

    @property
    def duration_ms(self) -> int | None:
        if self.finished_at is None:
            return None
        return int((self.finished_at - self.created_at).total_seconds() * 1000)


class WorkerHeartbeat(models.Model):
    """Each delivery worker says it is alive every few seconds, so /healthz (and a coordinator)
    can tell when no worker is sending alerts."""

    name = models.CharField(max_length=100, unique=True)
    started_at = models.DateTimeField()
    last_seen_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return self.name
