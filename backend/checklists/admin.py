"""What crews recorded on scene, for coordinators to read. Read-only: events are written only by
the crew's app through backend.checklists.actions; corrections belong in the forms, with a reason."""

from django.contrib import admin
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join

from backend.admin_base import ReadOnlyAdmin
from backend.checklists import content
from backend.checklists.models import OnSceneEvent


def _time(value) -> str:
    return formats.date_format(timezone.localtime(value), "j M Y, H:i:s")


def _details(event: OnSceneEvent) -> str:
    return ", ".join(f"{name.replace('_', ' ')}: {value}" for name, value in sorted(event.data.items())) or "-"


@admin.register(OnSceneEvent)
class OnSceneEventAdmin(ReadOnlyAdmin):
    list_display = ["occurred", "event", "incident", "responder", "details", "received"]
    list_filter = ["type", ("alert__responder__station", admin.RelatedOnlyFieldListFilter), "occurred_at"]
    search_fields = ["alert__incident__cad_reference", "alert__responder__user__username"]
    list_select_related = ["alert__incident", "alert__responder__user"]
    ordering = ["-occurred_at"]
    fields = ["incident", "responder", "event", "occurred", "details", "received", "idempotency_key"]
    readonly_fields = fields

    @admin.display(description="Event", ordering="type")
    def event(self, event):
        return content.event_label(event.type)

    @admin.display(description="Happened (phone's clock)", ordering="occurred_at")
    def occurred(self, event):
        return _time(event.occurred_at)

    @admin.display(description="Received", ordering="received_at")
    def received(self, event):
        return _time(event.received_at)

    @admin.display(description="Incident", ordering="alert__incident__cad_reference")
    def incident(self, event):
        return event.alert.incident

    @admin.display(description="Responder")
    def responder(self, event):
        return event.alert.responder

    @admin.display(description="Details")
    def details(self, event):
        return _details(event)


def onscene_events_table(incident):
    """Every crew member's on-scene events of one incident, in the order they happened, as a table
    for the incident's page."""
    events = (
        OnSceneEvent.objects.filter(alert__incident=incident)
        .select_related("alert__responder__user")
        .order_by("occurred_at", "id")
    )
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (
                _time(event.occurred_at),
                content.event_label(event.type),
                event.alert.responder,
                _details(event),
                _time(event.received_at),
            )
            for event in events
        ),
    )
    if not rows:
        return "Nothing recorded on scene yet."
    return format_html(
        "<table><thead><tr><th>Happened (phone's clock)</th><th>Event</th><th>Responder</th><th>Details</th>"
        "<th>Received</th></tr></thead><tbody>{}</tbody></table>",
        rows,
    )
