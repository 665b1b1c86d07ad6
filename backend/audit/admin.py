"""The audit trail in the admin: coordinators read it (audit.view_auditentry), with filters and
search. Nobody adds, changes or deletes entries here, superusers included. Entries about welfare
check-ins are shown to welfare leads only."""

from collections.abc import Callable, Iterable

from django.contrib import admin

from backend.admin_base import ReadOnlyAdmin
from backend.audit.log import WELFARE_CHECK_INS
from backend.audit.models import AuditEntry
from backend.roles import is_welfare_lead

# Searches that turn a term into the incidents it names (dispatch registers the CAD reference's:
# the audit trail sits below dispatch and keeps incidents by id only). A coordinator looking up
# what happened on a call has its CAD reference, not our id.
INCIDENT_SEARCHES: list[Callable[[str], Iterable[int]]] = []


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ["at", "actor_username", "role", "action", "object_type", "object_id", "incident_id", "channel"]
    list_filter = ["action", "object_type", "channel", "role", "at"]
    search_fields = ["actor_username", "object_id", "=incident_id", "ip_address"]
    date_hierarchy = "at"
    list_per_page = 100
    fields = [
        "at",
        "actor",
        "actor_username",
        "role",
        "action",
        "object_type",
        "object_id",
        "incident_id",
        "channel",
        "ip_address",
        "detail",
    ]
    readonly_fields = fields

    def get_search_results(self, request, queryset, search_term):
        found, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        incident_ids = {pk for search in INCIDENT_SEARCHES for pk in search(term)} if term else set()
        if incident_ids:
            found |= queryset.filter(incident_id__in=incident_ids)
        return found, may_have_duplicates

    def get_queryset(self, request):
        # Even who filed a welfare check-in, and when, is private to the welfare leads.
        entries = super().get_queryset(request)
        if not is_welfare_lead(request.user):
            entries = entries.exclude(object_type=WELFARE_CHECK_INS)
        return entries
