"""The imported defibrillators, read-only: they change only by `manage.py import_defibrillators`,
so that the next import does not silently undo a hand edit."""

from django.contrib import admin

from backend.admin_base import ReadOnlyAdmin
from backend.places.models import Defibrillator


class StillInSourceFilter(admin.SimpleListFilter):
    title = "in its source"
    parameter_name = "in_source"

    def lookups(self, request, model_admin):
        return [("yes", "Yes (shown to crews)"), ("no", "No: missing from the last import")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(removed_from_source_at__isnull=True)
        if self.value() == "no":
            return queryset.filter(removed_from_source_at__isnull=False)
        return queryset


@admin.register(Defibrillator)
class DefibrillatorAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "access", "location", "opening_hours", "source", "source_id", "imported_at")
    list_filter = ("source", "access", "indoor", StillInSourceFilter)
    search_fields = ("name", "location", "operator", "source_id")
    list_per_page = 100
    show_full_result_count = False  # a national import: no COUNT(*) per page
