"""The audit trail in the admin: coordinators read it (audit.view_auditentry), with filters and
search. Nobody adds, changes or deletes entries here, superusers included. Entries about welfare
check-ins are shown to welfare leads only."""

from collections import defaultdict
from collections.abc import Callable, Iterable

from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.db.models import Q

from backend.admin_base import ReadOnlyAdmin
from backend.audit.log import WELFARE_CHECK_INS
from backend.audit.models import AuditAction, AuditEntry
from backend.roles import is_welfare_lead

# Searches that turn a term into the incidents it names (dispatch registers the CAD reference's:
# the audit trail sits below dispatch and keeps incidents by id only). A coordinator looking up
# what happened on a call has its CAD reference, not our id.
INCIDENT_SEARCHES: list[Callable[[str], Iterable[int]]] = []

# The words of each object type's states, by state (dispatch registers its alerts' and incidents'):
# the trail keeps the state's name ("en_route"), the list says it as the rest of the admin does.
STATE_LABELS: dict[str, dict[str, str]] = {}

# The entries that record a state change, and where: an alert's entry holds the state it reached;
# an incident's ending its status, reached from open (only an open incident can end).
_ALERT_STATE_CHANGE = (AuditAction.ALERT_STATE, "alert")
_INCIDENT_ENDINGS = {AuditAction.CANCEL, AuditAction.CLOSE}


class AuditChangeList(ChangeList):
    """The list's page of entries, each alert state change given the state its alert was in before
    (`previous_state`), read for the whole page in one query (_note_previous_states)."""

    def get_results(self, request):
        super().get_results(request)
        _note_previous_states(self.result_list)


def _note_previous_states(entries) -> None:
    """Set `previous_state` on each alert state change of `entries`: the state of the alert's entry
    before it (None for its first, the alert's creation). One query on the (object_type, object_id)
    index, for the page's alerts only, up to the page's latest entry."""
    changes = [entry for entry in entries if (entry.action, entry.object_type) == _ALERT_STATE_CHANGE]
    if not changes:
        return
    history = defaultdict(list)
    rows = (
        AuditEntry.objects.filter(
            object_type="alert",
            object_id__in={entry.object_id for entry in changes},
            action=AuditAction.ALERT_STATE,
            at__lte=max(entry.at for entry in changes),
        )
        .order_by("at", "pk")
        .values_list("object_id", "at", "pk", "detail")
    )
    for object_id, at, pk, detail in rows:
        history[object_id].append(((at, pk), _state_in(detail, "state")))
    for entry in changes:
        before = [state for key, state in history[entry.object_id] if key < (entry.at, entry.pk)]
        entry.previous_state = before[-1] if before else None


def _state_in(detail, key: str) -> str | None:
    value = detail.get(key) if isinstance(detail, dict) else None
    return value if isinstance(value, str) and value else None


def _label(object_type: str, state: str) -> str:
    return STATE_LABELS.get(object_type, {}).get(state) or state.replace("_", " ").capitalize()


def _words(value: str) -> str:
    """A name or label as typed in a search: case and underscores left out ("On scene", "on_scene")."""
    return " ".join(value.replace("_", " ").casefold().split())


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = [
        "at",
        "actor_username",
        "role",
        "action",
        "state_change",
        "object_type",
        "object_id",
        "incident_id",
        "channel",
    ]
    list_filter = ["action", "object_type", "channel", "role", "at"]
    # The object type is searched ("alarm" finds the alarm acknowledgements); the action by its words
    # and an alert's state by its name in get_search_results, which says why `detail` is not here.
    search_fields = ["actor_username", "object_type", "object_id", "=incident_id", "ip_address"]
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

    def get_changelist(self, request, **kwargs):
        return AuditChangeList

    @admin.display(description="Change")
    def state_change(self, entry) -> str:
        """The state change the entry records: "Accepted → En route" (an alert's first entry,
        its creation: "→ Alerted"); an incident's ending "Open → Cancelled"; else nothing."""
        if (entry.action, entry.object_type) == _ALERT_STATE_CHANGE:
            to, before = _state_in(entry.detail, "state"), getattr(entry, "previous_state", None)
        elif entry.action in _INCIDENT_ENDINGS and entry.object_type == "incident":
            to, before = _state_in(entry.detail, "status"), "open"
        else:
            return self.get_empty_value_display()
        if to is None:
            return self.get_empty_value_display()
        came_from = _label(entry.object_type, before) if before else ""
        return f"{came_from} → {_label(entry.object_type, to)}".strip()

    def get_search_results(self, request, queryset, search_term):
        """Django's search of search_fields, and, for the whole term: the incidents it names (CAD
        reference), the actions whose name or words hold it ("cancelled", "alert state"), and an alert
        state it names in full ("on scene", "accepted").

        The table is the largest in the product, indexed on `at`, `incident_id` and (object_type,
        object_id): no "contains" search can use them, so a search reads the rows and what counts
        is the work on each. The term is matched in Python against the short lists of actions and
        states, so the database gets equalities (`action IN (…)`); the object type is a column of
        at most 40 characters. `detail` (JSON) is never searched with "contains": that would turn
        every row's document into text. It is read only when the term names an alert state
        exactly, by its one key ("state"), and with the action and object type of a state change."""
        found, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        if not term:
            return found, may_have_duplicates
        wanted = _words(term)
        also = Q()
        incident_ids = {pk for search in INCIDENT_SEARCHES for pk in search(term)}
        if incident_ids:
            also |= Q(incident_id__in=incident_ids)
        actions = [code for code, label in AuditAction.choices if wanted in _words(code) or wanted in _words(label)]
        if actions:
            also |= Q(action__in=actions)
        states = [
            state for state, label in STATE_LABELS.get("alert", {}).items() if wanted in (_words(state), _words(label))
        ]
        if states:
            also |= Q(action=AuditAction.ALERT_STATE, object_type="alert", detail__state__in=states)
        if also:
            found |= queryset.filter(also)
        return found, may_have_duplicates

    def get_queryset(self, request):
        # Even who filed a welfare check-in, and when, is private to the welfare leads.
        entries = super().get_queryset(request)
        if not is_welfare_lead(request.user):
            entries = entries.exclude(object_type=WELFARE_CHECK_INS)
        return entries
