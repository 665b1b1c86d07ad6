"""The stored events each responder was sent, for tracing what a crew member's app was told and
when. Read-only: events are written only by actions (backend/realtime/events.py)."""

from django.contrib import admin

from backend.admin_base import ReadOnlyAdmin
from backend.realtime.models import ResponderEvent


@admin.register(ResponderEvent)
class ResponderEventAdmin(ReadOnlyAdmin):
    list_display = ["id", "responder", "type", "created_at"]
    list_filter = ["type", "responder__station"]
    search_fields = ["responder__user__username", "responder__user__first_name", "responder__user__last_name"]
    list_select_related = ["responder__user"]
    fields = ["responder", "type", "created_at", "data"]
    readonly_fields = fields
