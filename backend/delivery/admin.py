"""What was sent to whom, when, and what failed: read-only, for coordinators."""

from django.contrib import admin

from backend.admin_base import ReadOnlyAdmin
from backend.delivery.models import Delivery, PushDevice

DELIVERY_FIELDS = [
    "channel",
    "kind",
    "round",
    "state",
    "attempts",
    "target",
    "last_status",
    "last_error",
    "created_at",
    "first_attempt_at",
    "finished_at",
    "duration",
    "shown_at",
    "opened_at",
]


@admin.display(description="Time to send")
def duration(delivery: Delivery) -> str:
    return f"{delivery.duration_ms} ms" if delivery.duration_ms is not None else "-"


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = ["alert", "device_check", "responder", *DELIVERY_FIELDS]
    list_filter = ["channel", "kind", "state", "round"]
    search_fields = ["alert__incident__cad_reference", "alert__responder__user__username"]
    list_select_related = ["alert__incident", "alert__responder__user", "device_check", "device__user"]
    readonly_fields = ["alert", "device_check", *DELIVERY_FIELDS]
    fields = readonly_fields

    @admin.display(description="Responder")
    def responder(self, delivery):
        if delivery.alert is not None:
            return delivery.alert.responder
        # A test of a device (readiness) has no alert: whose phone it is.
        return delivery.device.user if delivery.device is not None else "-"

    duration = staticmethod(duration)


@admin.register(PushDevice)
class PushDeviceAdmin(ReadOnlyAdmin):
    list_display = ["label", "user", "push_service", "created_at", "last_success_at"]
    search_fields = ["user__username", "label"]
    list_select_related = ["user", "subscription"]

    @admin.display(description="Push service")
    def push_service(self, device):
        from urllib.parse import urlsplit

        return urlsplit(device.subscription.endpoint).hostname
