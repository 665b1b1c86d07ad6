"""The coordinators' admin for incidents and alerts, and their live board.

The admin changes nothing itself: adding an incident, dispatching, standing down, closing and
cancelling each call one function of backend.dispatch.actions, which checks permission, owns the
transaction and tells everyone. Incidents and alerts are otherwise read-only here, and nobody can
delete them. An ActionError becomes a message for the coordinator, never a server error.
"""

from collections.abc import Callable

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from backend.dispatch import access, actions
from backend.dispatch.models import Alert, Incident
from backend.errors import ActionError

BOARD_PERMISSION = "accounts.view_board"
BOARD_SOCKET_PATH = "/ws/coordinator/"

ALERT_TIMESTAMP_FIELDS = [
    "alerted_at",
    "received_at",
    "accepted_at",
    "declined_at",
    "en_route_at",
    "on_scene_at",
    "cleared_at",
    "stood_down_at",
    "cancelled_at",
]


# --- Adding an incident ---------------------------------------------------------------------------


class AddIncidentForm(forms.ModelForm):
    """Parses the coordinator's input, then creates the incident through the action.

    The action runs as the last step of validation, so that whatever it refuses (a CAD reference
    already in use, even by an incident created a moment ago by the ambulance CAD) is shown on the
    form with the coordinator's input kept, rather than failing after validation. The admin runs
    this inside its own transaction, so the action's events still go out only after commit.
    """

    actor = None  # set per request by IncidentAdmin.get_form

    class Meta:
        model = Incident
        fields = ["cad_reference", "category", "latitude", "longitude", "address", "what3words", "notes"]
        help_texts = {
            "latitude": "Decimal degrees, for example 52.6300.",
            "longitude": "Decimal degrees, for example 1.2950 (west is negative).",
        }

    def validate_unique(self):
        # Uniqueness is the action's to decide (it also catches a race with the CAD); its message
        # names the incident that already has the reference.
        pass

    def _post_clean(self):
        super()._post_clean()
        if self.errors:
            return
        data = self.cleaned_data
        try:
            self.instance = actions.create_incident(
                actor=self.actor,
                cad_reference=data["cad_reference"],
                latitude=data["latitude"],
                longitude=data["longitude"],
                address=data["address"],
                category=data["category"],
                what3words=data["what3words"],
                notes=data["notes"],
            )
        except ActionError as error:
            _add_action_error(self, error)


def _add_action_error(form: forms.Form, error: ActionError) -> None:
    """Show an action's refusal on the form: its field messages by their fields, and its message."""
    for field, field_messages in error.fields.items():
        if field in form.fields:
            for message in field_messages:
                form.add_error(field, message)
    form.add_error(None, error.message)


# --- Cancelling needs a reason ------------------------------------------------------------------


class CancelReasonForm(forms.Form):
    reason = forms.CharField(
        max_length=200,
        strip=True,
        widget=forms.TextInput(attrs={"size": 60, "autofocus": True}),
        help_text="Told to every responder alerted, e.g. “Ambulance on scene” or “Not a cardiac arrest”.",
        error_messages={"required": "Say why the incident is cancelled."},
    )


# --- Alerts shown on an incident ------------------------------------------------------------------


class AlertInline(admin.TabularInline):
    model = Alert
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True
    fields = [
        "rank",
        "responder",
        "station",
        "state",
        "distance",
        *ALERT_TIMESTAMP_FIELDS,
        "decline_reason",
        "decline_note",
    ]
    readonly_fields = fields
    ordering = ["rank"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("responder__user", "responder__station")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Station")
    def station(self, alert):
        return alert.responder.station.name

    @admin.display(description="Distance")
    def distance(self, alert):
        return f"{alert.distance_km:.1f} km"


# --- Incidents -----------------------------------------------------------------------------------


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    list_display = [
        "cad_reference",
        "category",
        "status",
        "address",
        "created_at",
        "dispatched_at",
        "alerted_count",
        "accepted_count",
    ]
    list_filter = ["status", "category", "created_at"]
    search_fields = ["cad_reference", "address"]
    inlines = [AlertInline]
    actions = ["dispatch_incidents", "stand_down_unanswered", "close_incidents", "cancel_incidents"]

    add_fieldsets = [
        (None, {"fields": ["cad_reference", "category", "address", ("latitude", "longitude"), "what3words", "notes"]}),
    ]
    fieldsets = [
        (None, {"fields": ["cad_reference", "category", "status", "address", ("latitude", "longitude"), "what3words"]}),
        ("For the crew", {"fields": ["notes"]}),
        (
            "Timeline",
            {"fields": ["created_by", "created_at", "dispatched_at", "closed_at", "cancelled_at", "cancel_reason"]},
        ),
        ("Escalation", {"fields": ["ring", "escalation_step", "next_escalation_at", "alarm_raised_at"]}),
    ]

    # --- What the admin lets anyone do ---

    def has_change_permission(self, request, obj=None):
        # The change page is a view: every change is an action (the buttons and admin actions).
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_dispatch_permission(self, request):
        return request.user.has_perm("dispatch.dispatch_incident")

    def has_stand_down_permission(self, request):
        return request.user.has_perm("dispatch.stand_down_incident")

    def has_cancel_permission(self, request):
        return request.user.has_perm("dispatch.cancel_incident")

    # --- List ---

    def get_queryset(self, request):
        committed = Q(alerts__state__in=[state.value for state in actions.COMMITTED_STATES])
        return (
            super()
            .get_queryset(request)
            .annotate(alerted_total=Count("alerts"), accepted_total=Count("alerts", filter=committed))
        )

    @admin.display(description="Alerted", ordering="alerted_total")
    def alerted_count(self, incident):
        return incident.alerted_total

    @admin.display(description="Accepted", ordering="accepted_total")
    def accepted_count(self, incident):
        return incident.accepted_total

    # --- Add and view pages ---

    def get_fieldsets(self, request, obj=None):
        return self.add_fieldsets if obj is None else self.fieldsets

    def get_inlines(self, request, obj):
        return [] if obj is None else self.inlines

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = AddIncidentForm
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is None:
            form.actor = request.user  # modelform_factory made this class for this request
        return form

    def save_model(self, request, obj, form, change):
        # The add form's action has created and saved the incident; the admin writes nothing.
        if change or obj.pk is None:
            raise PermissionDenied("Incidents change only through actions.")

    def save_related(self, request, form, formsets, change):
        pass

    def response_post_save_add(self, request, obj):
        # Straight to the new incident, where the coordinator dispatches it.
        return HttpResponseRedirect(reverse("admin:dispatch_incident_change", args=[obj.pk]))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        context = {
            **(extra_context or {}),
            "can_dispatch": self.has_dispatch_permission(request),
            "can_stand_down": self.has_stand_down_permission(request),
            "can_cancel": self.has_cancel_permission(request),
            "can_view_board": request.user.has_perm(BOARD_PERMISSION),
            "board_socket_path": BOARD_SOCKET_PATH,
        }
        return super().change_view(request, object_id, form_url, extra_context=context)

    def changelist_view(self, request, extra_context=None):
        context = {**(extra_context or {}), "can_view_board": request.user.has_perm(BOARD_PERMISSION)}
        return super().changelist_view(request, extra_context=context)

    # --- Admin actions on the list ---

    @admin.action(description="Dispatch nearest responders", permissions=["dispatch"])
    def dispatch_incidents(self, request, queryset):
        for incident in queryset:
            self._run(request, incident, _dispatch)

    @admin.action(description="Stand down responders who have not answered", permissions=["stand_down"])
    def stand_down_unanswered(self, request, queryset):
        for incident in queryset:
            self._run(request, incident, _stand_down)

    @admin.action(description="Close", permissions=["stand_down"])
    def close_incidents(self, request, queryset):
        for incident in queryset:
            self._run(request, incident, _close)

    @admin.action(description="Cancel (asks for a reason)", permissions=["cancel"])
    def cancel_incidents(self, request, queryset):
        form = CancelReasonForm(request.POST if "confirm" in request.POST else None)
        if not form.is_valid():
            return self._cancel_page(request, list(queryset), form, from_changelist=True)
        reason = form.cleaned_data["reason"]
        for incident in queryset:
            self._run(request, incident, lambda user, incident_id: _cancel(user, incident_id, reason))
        return None

    def _run(self, request, incident: Incident, operation: Callable[..., tuple[int, str]]) -> bool:
        """Call one action for one incident and tell the coordinator how it went."""
        try:
            level, text = operation(request.user, incident.pk)
        except ActionError as error:
            self.message_user(request, f"{incident.cad_reference}: {error.message}", messages.ERROR)
            return False
        self.message_user(request, f"{incident.cad_reference}: {text}", level)
        return True

    # --- Buttons on one incident's page, and the board ---

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        custom = [
            path("board/", self.admin_site.admin_view(self.board_view), name="%s_%s_board" % info),
            path(
                "<path:object_id>/dispatch/",
                self.admin_site.admin_view(self._button(_dispatch)),
                name="%s_%s_dispatch" % info,
            ),
            path(
                "<path:object_id>/stand-down/",
                self.admin_site.admin_view(self._button(_stand_down)),
                name="%s_%s_stand_down" % info,
            ),
            path(
                "<path:object_id>/close/",
                self.admin_site.admin_view(self._button(_close)),
                name="%s_%s_close" % info,
            ),
            path(
                "<path:object_id>/cancel/",
                self.admin_site.admin_view(self.cancel_view),
                name="%s_%s_cancel" % info,
            ),
        ]
        return custom + super().get_urls()

    def _button(self, operation):
        def button_view(request, object_id):
            if request.method != "POST":
                return HttpResponseNotAllowed(["POST"])
            incident = self._incident_or_none(object_id)
            if incident is None:
                self.message_user(request, f"There is no incident {object_id}.", messages.ERROR)
                return HttpResponseRedirect(reverse("admin:dispatch_incident_changelist"))
            self._run(request, incident, operation)
            return HttpResponseRedirect(reverse("admin:dispatch_incident_change", args=[incident.pk]))

        return button_view

    def cancel_view(self, request, object_id):
        """The change page's Cancel button: ask for the reason, then cancel."""
        try:
            incident = access.access_incident_for_coordinator(
                request.user, unquote(object_id), permission="dispatch.cancel_incident", doing="cancel incidents"
            )
        except ActionError as error:
            self.message_user(request, error.message, messages.ERROR)
            return HttpResponseRedirect(reverse("admin:dispatch_incident_changelist"))
        form = CancelReasonForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            reason = form.cleaned_data["reason"]
            self._run(request, incident, lambda user, incident_id: _cancel(user, incident_id, reason))
            return HttpResponseRedirect(reverse("admin:dispatch_incident_change", args=[incident.pk]))
        return self._cancel_page(request, [incident], form, from_changelist=False)

    def _cancel_page(self, request, incidents: list[Incident], form: CancelReasonForm, *, from_changelist: bool):
        context = {
            **self.admin_site.each_context(request),
            "title": "Cancel incidents" if len(incidents) > 1 else "Cancel incident",
            "opts": self.opts,
            "incidents": incidents,
            "form": form,
            "from_changelist": from_changelist,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "media": self.media + form.media,
        }
        return TemplateResponse(request, "admin/dispatch/incident/cancel_confirmation.html", context)

    def board_view(self, request):
        if not request.user.has_perm(BOARD_PERMISSION):
            raise PermissionDenied("You are not allowed to watch the live board.")
        context = {
            **self.admin_site.each_context(request),
            "title": "Live board",
            "opts": self.opts,
            "board_socket_path": BOARD_SOCKET_PATH,
        }
        return TemplateResponse(request, "admin/dispatch/incident/board.html", context)

    @staticmethod
    def _incident_or_none(object_id) -> Incident | None:
        # Only for the message's CAD reference; the action checks permission and loads it again.
        try:
            return Incident.objects.filter(pk=unquote(object_id)).first()
        except (ValueError, TypeError):
            return None


# --- The operations, each one action call and what to tell the coordinator ---


def _dispatch(user, incident_id: int) -> tuple[int, str]:
    alerts = actions.dispatch_incident(actor=user, incident_id=incident_id)
    if not alerts:
        return messages.WARNING, "nobody eligible is left to alert (on call, training in date, in range)."
    names = ", ".join(
        f"{alert.responder.display_name} ({alert.responder.station.name}, {alert.distance_km:.1f} km)"
        for alert in alerts
    )
    return messages.SUCCESS, f"{_count(len(alerts), 'responder')} alerted: {names}."


def _stand_down(user, incident_id: int) -> tuple[int, str]:
    stood_down = actions.stand_down(actor=user, incident_id=incident_id)
    if not stood_down:
        return messages.INFO, "nobody was waiting to answer; nobody stood down."
    names = ", ".join(alert.responder.display_name for alert in stood_down)
    return messages.SUCCESS, f"{_count(len(stood_down), 'responder')} stood down: {names}."


def _close(user, incident_id: int) -> tuple[int, str]:
    actions.close_incident(actor=user, incident_id=incident_id)
    return messages.SUCCESS, "closed; anyone still active was stood down or cleared."


def _cancel(user, incident_id: int, reason: str) -> tuple[int, str]:
    incident = actions.cancel_incident(actor=user, incident_id=incident_id, reason=reason)
    return messages.SUCCESS, f"cancelled ({incident.cancel_reason}); everyone alerted has been told."


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


# --- Alerts --------------------------------------------------------------------------------------


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    """Every alert sent, for looking things up. Alerts change only through actions."""

    list_display = ["incident", "responder", "station", "state", "distance", "rank", "alerted_at", "answered_at"]
    list_filter = ["state", ("responder__station", admin.RelatedOnlyFieldListFilter), "alerted_at"]
    search_fields = [
        "incident__cad_reference",
        "responder__user__username",
        "responder__user__first_name",
        "responder__user__last_name",
    ]
    list_select_related = ["incident", "responder__user", "responder__station"]
    fields = [
        "incident",
        "responder",
        "station",
        "state",
        "version",
        "distance",
        "rank",
        *ALERT_TIMESTAMP_FIELDS,
        "decline_reason",
        "decline_note",
    ]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Station", ordering="responder__station__name")
    def station(self, alert):
        return alert.responder.station.name

    @admin.display(description="Distance", ordering="distance_km")
    def distance(self, alert):
        return f"{alert.distance_km:.1f} km"

    @admin.display(description="Answered")
    def answered_at(self, alert):
        answers = [time for time in (alert.accepted_at, alert.declined_at) if time is not None]
        if not answers:
            return "—"
        return f"{(min(answers) - alert.alerted_at).total_seconds():.0f} s after alert"
