"""The coordinators' admin for incidents and alerts, and their live board.

The admin changes nothing itself: adding an incident, dispatching, standing down, closing and
cancelling each call one function of backend.dispatch.actions, which checks permission, owns the
transaction and tells everyone. Incidents and alerts are otherwise read-only here, and nobody can
delete them. An ActionError becomes a message for the coordinator, never a server error.

"Sign out everywhere", on the responders' and users' pages, is added here too (at the end).
"""

from collections.abc import Callable

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import flatten_fieldsets, unquote
from django.contrib.auth import admin as auth_admin
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join

from backend import priority
from backend.accounts import admin as accounts_admin
from backend.accounts.models import Responder
from backend.admin_base import ReadOnlyAdmin
from backend.audit.admin import INCIDENT_SEARCHES, STATE_LABELS
from backend.delivery import receipts
from backend.dispatch import access, actions, coverage, presence
from backend.dispatch.ladder import widest_ring
from backend.dispatch.models import COMMITTED_STATES, Alert, AlertState, Incident, IncidentStatus, UnreachedReason
from backend.dispatch.selection import commitments_of, eligible_responders, great_circle_km
from backend.errors import ActionError

BOARD_PERMISSION = "accounts.view_board"
BOARD_SOCKET_PATH = "/ws/coordinator/"


def _to_the_second(field: str, description: str, *, since: str | None = None):
    """A read-only column showing a time to the second (the admin's default stops at minutes,
    and here seconds count), with how long after `since` it was."""

    @admin.display(description=description, ordering=field)
    def show(self, obj):
        value = getattr(obj, field)
        if value is None:
            return "—"
        shown = formats.date_format(timezone.localtime(value), "j M Y, H:i:s")
        start = _since(obj, since, value)
        if start is not None and value >= start:
            seconds = round((value - start).total_seconds())
            shown += f" (+{seconds // 60}:{seconds % 60:02d})"
        return shown

    return show


def _since(obj, since: str | None, value):
    """What a time is measured from. An alert's answers: from the alert each answered, a re-alert
    or the first (Alert.answered_alert), never from a first alert a stand-down has superseded."""
    if since == "alerted_at" and isinstance(obj, Alert):
        return Alert.answered_alert(obj.alerted_at, obj.realerted_at, value)
    if since == "first_alert":
        return obj.alerted_at
    return getattr(obj, since) if since else None


class AlertTimes:
    """Every time of an alert, to the second, each with how long after the alert it came."""

    alerted = _to_the_second("alerted_at", "Alerted")
    # How long after the first alert it went out (the answers after it run from it).
    realerted = _to_the_second("realerted_at", "Alerted again", since="first_alert")
    received = _to_the_second("received_at", "Shown on device", since="alerted_at")
    accepted = _to_the_second("accepted_at", "Accepted", since="alerted_at")
    # Kept after a re-alert, which clears Accepted: the alert's page shows it (not the inline's row).
    first_accepted = _to_the_second("first_accepted_at", "First accepted", since="alerted_at")
    declined = _to_the_second("declined_at", "Declined", since="alerted_at")
    en_route = _to_the_second("en_route_at", "En route", since="alerted_at")
    on_scene = _to_the_second("on_scene_at", "On scene", since="alerted_at")
    cleared = _to_the_second("cleared_at", "Cleared", since="alerted_at")
    stood_down = _to_the_second("stood_down_at", "Stood down", since="alerted_at")
    cancelled = _to_the_second("cancelled_at", "Cancelled", since="alerted_at")

    TIME_FIELDS = [
        "alerted",
        "realerted",
        "received",
        "accepted",
        "declined",
        "en_route",
        "on_scene",
        "cleared",
        "stood_down",
        "cancelled",
    ]


def _clock(value, since=None) -> str:
    if value is None:
        return "—"
    shown = formats.time_format(timezone.localtime(value), "H:i:s")
    if since is not None and value >= since:
        seconds = round((value - since).total_seconds())
        shown += f" (+{seconds // 60}:{seconds % 60:02d})"
    return shown


# The time each state of an alert was reached (alerted: again, after a stand-down; the first
# alert's time is the Alerted column's).
_STATE_TIMES = {
    AlertState.ALERTED: "realerted_at",
    AlertState.RECEIVED: "received_at",
    AlertState.ACCEPTED: "accepted_at",
    AlertState.DECLINED: "declined_at",
    AlertState.EN_ROUTE: "en_route_at",
    AlertState.ON_SCENE: "on_scene_at",
    AlertState.CLEARED: "cleared_at",
    AlertState.STOOD_DOWN: "stood_down_at",
    AlertState.CANCELLED: "cancelled_at",
}


def _answer(alert: Alert) -> str:
    """The alert's answers, each with its own time (and how long after the alert it answered), then
    the state it is in now with that state's time, if the last answer is not it: "Accepted 00:04:25
    (+0:57); incident cancelled 00:05:58". Found by trying the product: the column read "Incident
    cancelled 00:04:25 (+0:57)", the acceptance's time beside the state it came to later, and
    "Declined" beside the time he had accepted (the Declined column said 00:05:39)."""
    answers = sorted(
        (when, state)
        for state, when in ((AlertState.ACCEPTED, alert.accepted_at), (AlertState.DECLINED, alert.declined_at))
        if when is not None
    )
    said = [(AlertState(state).label, _clock(when, _answered(alert, when))) for when, state in answers]
    if not answers or answers[-1][1] != alert.state:
        now_at = getattr(alert, _STATE_TIMES[alert.state])
        said.append((alert.get_state_display(), _clock(now_at) if now_at else ""))
    words = [f"{label if number == 0 else label.lower()} {time}".strip() for number, (label, time) in enumerate(said)]
    return "; ".join(words)


def _answered(alert: Alert, when):
    return Alert.answered_alert(alert.alerted_at, alert.realerted_at, when)


def phones_table(alerts: list[Alert]):
    """Per responder and device, the funnel of the alert's pushes (backend/delivery/receipts.py):
    sent (the push service accepted it), shown (the phone's receipt), opened (tapped), and the
    alert's answer; each time with how long after the alert."""
    funnels = receipts.funnels_of([alert.pk for alert in alerts])
    rows = []
    for alert in alerts:
        devices = funnels.get(alert.pk, [])
        if not devices:
            rows.append((alert.responder, "No device registered for pushes", "—", "—", "—", _answer(alert)))
        for funnel in devices:
            sent = (
                _clock(funnel.sent_at, _answered(alert, funnel.sent_at))
                if funnel.sent_at
                else (f"failed: {funnel.failed}" if funnel.failed else "not yet")
            )
            rows.append(
                (
                    alert.responder,
                    funnel.label,
                    sent,
                    _clock(funnel.shown_at, _answered(alert, funnel.shown_at)),
                    _clock(funnel.opened_at, _answered(alert, funnel.opened_at)),
                    _answer(alert),
                )
            )
    if not rows:
        return "Nobody alerted yet."
    return format_html(
        "<table><thead><tr><th>Responder</th><th>Device</th><th>Sent</th><th>Shown</th><th>Opened</th>"
        "<th>Answered</th></tr></thead><tbody>{}</tbody></table>",
        format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", rows),
    )


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
        fields = ["cad_reference", "category", "latitude", "longitude", "address", "what3words", "notes", "crew_target"]
        help_texts = {
            "latitude": "Decimal degrees, for example 52.6300.",
            "longitude": "Decimal degrees, for example 1.2950 (west is negative).",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Prefilled with the scheme's default; left empty, the default applies.
        self.fields["crew_target"].required = False

    def validate_unique(self):
        # Uniqueness is the action's to decide (it also catches a race with the CAD); its message
        # names the incident that already has the reference.
        pass

    def _get_validation_exclusions(self):
        # So is the reference's uniqueness in any case (the model's constraint on its upper case,
        # which full_clean would otherwise check first, with a message that names no incident).
        # The form's own field still checks that it is given and not too long.
        return super()._get_validation_exclusions() | {"cad_reference"}

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
                crew_target=data["crew_target"],
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


class AlertNamedForm(forms.Form):
    """A coordinator names one responder to alert: anyone on call with training in date, wherever
    they are. Someone committed to another incident needs an explicit tick (the override, which
    the audit trail records)."""

    responder = forms.ModelChoiceField(
        queryset=Responder.objects.none(),
        empty_label=None,
        help_text="Not listed: those already alerted, and those who declined this incident or cleared from it "
        "(they are not alerted again; someone who declined can still accept on their phone).",
    )
    override = forms.BooleanField(
        required=False,
        label="Alert them although they are on another incident",
        help_text="They keep that job until they choose to leave it.",
    )

    def __init__(self, *args, incident: Incident, **kwargs):
        super().__init__(*args, **kwargs)
        # As a named dispatch would alert them: never alerted here, or stood down (alerted again).
        alerted_here = Alert.objects.filter(incident=incident).exclude(state=AlertState.STOOD_DOWN)
        candidates = eligible_responders(today=timezone.localdate()).exclude(pk__in=alerted_here.values("responder_id"))
        listed = list(candidates)
        self.committed = commitments_of([responder.pk for responder in listed])

        def distance(responder) -> float:
            station = responder.station
            return great_circle_km(incident.latitude, incident.longitude, station.latitude, station.longitude)

        def label(responder) -> str:
            text = f"{responder.display_name} ({responder.station.name}, {distance(responder):.1f} km)"
            other = self.committed.get(responder.pk)
            if other is not None:
                text += f": on {other.incident.cad_reference} ({other.get_state_display().lower()})"
            if responder.logged_out_at is not None:  # as the board's rows and its dialog say
                text += f", logged out at {timezone.localtime(responder.logged_out_at):%H:%M:%S}"
            return text

        field = self.fields["responder"]
        field.queryset = candidates
        field.label_from_instance = label
        # Nearest first, as a dispatch would choose.
        field.choices = [(responder.pk, label(responder)) for responder in sorted(listed, key=distance)]

    def clean(self):
        data = super().clean()
        responder = data.get("responder")
        if responder is not None and responder.pk in self.committed and not data.get("override"):
            other = self.committed[responder.pk]
            self.add_error(
                "override",
                f"{responder.display_name} is on incident {other.incident.cad_reference} "
                f"({other.get_state_display().lower()}). Tick the box to alert them anyway.",
            )
        return data


# --- Alerts shown on an incident ------------------------------------------------------------------


class AlertInline(AlertTimes, admin.TabularInline):
    model = Alert
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True
    # The alert's times in one column, each on its line, and its reasons in another: a column each
    # made the table 1764 px wide, and the page scrolled sideways at 1280 (found by a browser trial).
    # The alert's own page (its change link) has each in its field.
    fields = ["rank", "responder", "station", "state", "distance", "alerted", "times", "reasons"]
    readonly_fields = fields
    ordering = ["rank"]

    @admin.display(description="Since alerted")
    def times(self, alert):
        """Each time the alert reached after it went out, with how long after the alert it came:
        "Shown on device 10:11:40 (+0:09)", as the Alerted column's time is on its day."""
        lines = []
        for name in AlertTimes.TIME_FIELDS[1:]:
            field = "realerted_at" if name == "realerted" else f"{name}_at"
            value = getattr(alert, field)
            if value is not None:
                since = _since(alert, "first_alert" if name == "realerted" else "alerted_at", value)
                lines.append((getattr(AlertTimes, name).short_description, _clock(value, since)))
        if not lines:
            return "—"
        return format_html_join(format_html("<br>"), "{} {}", lines)

    @admin.display(description="Why")
    def reasons(self, alert):
        """Why they declined (and their note), and why they were stood down."""
        lines = [
            (label, value)
            for label, value in (
                ("Declined:", alert.get_decline_reason_display()),
                ("Note:", alert.decline_note),
                ("Stood down:", alert.get_stood_down_reason_display()),
            )
            if value
        ]
        if not lines:
            return "—"
        return format_html_join(format_html("<br>"), "{} {}", lines)

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


# The audit trail's search by part of a CAD reference: from 3 characters (fewer would match most
# references), and the newest incidents first up to a cap (the trail's query takes their ids).
CAD_SEARCH_MIN_CHARACTERS = 3
CAD_SEARCH_MAX_INCIDENTS = 50


def incidents_by_cad_reference(term: str) -> list[int]:
    """The audit trail's search by CAD reference, in any case: the whole reference, or (from
    CAD_SEARCH_MIN_CHARACTERS) part of it, as the incident list's search does. Found by trying the
    product: "T5-BOARD" found nothing in the trail while the incident list found T5-BOARD-1."""
    exact = list(Incident.objects.filter(cad_reference__iexact=term).values_list("pk", flat=True))
    if len(term) < CAD_SEARCH_MIN_CHARACTERS:
        return exact
    partial = (
        Incident.objects.filter(cad_reference__icontains=term)
        .exclude(pk__in=exact)
        .order_by("-created_at", "-pk")
        .values_list("pk", flat=True)
    )
    return exact + list(partial[: CAD_SEARCH_MAX_INCIDENTS - len(exact)])


INCIDENT_SEARCHES.append(incidents_by_cad_reference)
# The audit trail's Change column and its search say the states in these words.
STATE_LABELS.update({"alert": dict(AlertState.choices), "incident": dict(IncidentStatus.choices)})


# The incident list's Accepted column: who accepted at some time (Alert.first_accepted_at, kept by a
# re-alert, as coverage.Coverage.ever_accepted), and which of them declined since (withdrew).
_EVER_ACCEPTED = Q(alerts__first_accepted_at__isnull=False)
_EVER_ACCEPTED_ANNOTATIONS = {
    "ever_accepted_total": Count("alerts", filter=_EVER_ACCEPTED),
    "withdrew_total": Count("alerts", filter=_EVER_ACCEPTED & Q(alerts__state=AlertState.DECLINED)),
}


def _ever_accepted_text(incident: Incident) -> str:
    """Everyone who accepted at some time and how many of them withdrew: "2 (1 withdrew)", or "2".
    Said by the list's Accepted column and, once an incident has ended, by the Dispatch and Close
    pages (_going_text), as the boards say it (board-state.js everAcceptedText), so that they agree.
    An incident read without the list's annotations is counted with them here (one query)."""
    if hasattr(incident, "ever_accepted_total"):
        ever, withdrew = incident.ever_accepted_total, incident.withdrew_total
    else:
        counted = Incident.objects.filter(pk=incident.pk).aggregate(**_EVER_ACCEPTED_ANNOTATIONS)
        ever, withdrew = counted["ever_accepted_total"], counted["withdrew_total"]
    return f"{ever} ({withdrew} withdrew)" if withdrew else str(ever)


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
        "crews_going",
        "accepted_count",
        "attended_count",
    ]
    list_filter = ["status", "category", "created_at"]
    search_fields = ["cad_reference", "address"]
    inlines = [AlertInline]
    actions = ["dispatch_incidents", "stand_down_unanswered", "close_incidents", "cancel_incidents"]

    add_fieldsets = [
        (
            None,
            {
                "fields": [
                    "cad_reference",
                    "category",
                    "address",
                    ("latitude", "longitude"),
                    "what3words",
                    "notes",
                    "crew_target",
                ]
            },
        ),
    ]
    fieldsets = [
        (None, {"fields": ["cad_reference", "category", "status", "address", ("latitude", "longitude"), "what3words"]}),
        ("For the crew", {"fields": ["notes"]}),
        (
            "Timeline",
            {"fields": ["created_by", "created", "dispatched", "closed", "cancelled", "cancel_reason"]},
        ),
        ("Coverage", {"fields": ["crew_target", "crews_going", "covered", "unreached"]}),
        ("Escalation", {"fields": ["ring", "escalation_step", "next_escalation", "alarm_raised"]}),
        ("Phones: was the alert sent, shown, opened, answered on each device", {"fields": ["phones"]}),
        ("Deliveries: what was sent to each responder's devices", {"fields": ["deliveries"]}),
        ("On scene: what the crews tapped on their checklists", {"fields": ["onscene_events"]}),
    ]
    created = _to_the_second("created_at", "Created")
    dispatched = _to_the_second("dispatched_at", "Dispatched", since="created_at")
    closed = _to_the_second("closed_at", "Closed", since="created_at")
    cancelled = _to_the_second("cancelled_at", "Cancelled", since="created_at")
    next_escalation = _to_the_second("next_escalation_at", "Next escalation due")
    alarm_raised = _to_the_second("alarm_raised_at", "Alarm raised", since="dispatched_at")
    covered = _to_the_second("covered_at", "Covered since", since="dispatched_at")

    @admin.display(description="Why the last dispatch reached nobody")
    def unreached(self, incident):
        return UnreachedReason(incident.unreached_reason).label if incident.unreached_reason else "—"

    @admin.display(description="Each device")
    def phones(self, incident):
        return phones_table(list(incident.alerts.select_related("responder__user").order_by("rank")))

    @admin.display(description="Push and SMS")
    def deliveries(self, incident):
        from backend.delivery.models import Delivery

        rows = (
            Delivery.objects.filter(alert__incident=incident)
            .select_related("alert__responder__user", "device")
            .order_by("alert__rank", "created_at")
        )
        body = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    delivery.alert.responder,
                    f"{delivery.get_channel_display()}: {delivery.get_kind_display().lower()}",
                    delivery.device.label if delivery.device else delivery.target,
                    delivery.round,
                    delivery.get_state_display(),
                    delivery.attempts,
                    f"{delivery.duration_ms} ms" if delivery.duration_ms is not None else "-",
                    " ".join(filter(None, [str(delivery.last_status or ""), delivery.last_error])) or "-",
                )
                for delivery in rows
            ),
        )
        if not body:
            return "Nothing sent by push or SMS (no subscribed devices, or not dispatched yet)."
        return format_html(
            "<table><thead><tr><th>Responder</th><th>Channel</th><th>Device</th><th>Round</th><th>State</th>"
            "<th>Attempts</th><th>Time to send</th><th>Last answer</th></tr></thead><tbody>{}</tbody></table>",
            body,
        )

    @admin.display(description="On-scene events")
    def onscene_events(self, incident):
        from backend.checklists.admin import onscene_events_table

        return onscene_events_table(incident)

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
        return (
            super()
            .get_queryset(request)
            .annotate(alerted_total=Count("alerts"), **coverage.COUNT_ANNOTATIONS, **_EVER_ACCEPTED_ANNOTATIONS)
        )

    @admin.display(description="Alerted", ordering="alerted_total")
    def alerted_count(self, incident):
        return incident.alerted_total

    @admin.display(description="Going / needed", ordering="covering_total")
    def crews_going(self, incident):
        """Committed now, plus those who attended and cleared, against the crew target. Nobody goes
        to a finished incident: "—" (a trial found a closed one saying "1 / 2", the one who attended
        against the target, and a cancelled one "0 / 2" though a crew had been on scene). Who
        accepted and who attended are its Accepted and Attended columns, in the words the finished
        boards use ("Accepted 2 (1 withdrew) · attended 1")."""
        if not incident.is_open:
            return "—"
        return f"{incident.covering_total} / {incident.crew_target}"

    @admin.display(description="Accepted", ordering="ever_accepted_total")
    def accepted_count(self, incident):
        """Everyone who accepted at some time (as the boards count "1 accepted, then dropped out"),
        and how many of them withdrew (declined after accepting): "2 (1 withdrew)". Those going now
        are the "Going / needed" column's. Found by a browser trial: two accepted and one withdrew,
        and the column said 1 (it counted those who had not withdrawn)."""
        return _ever_accepted_text(incident)

    @admin.display(description="Attended", ordering="attended_total")
    def attended_count(self, incident):
        return incident.attended_total

    # --- Add and view pages ---

    def get_fieldsets(self, request, obj=None):
        return self.add_fieldsets if obj is None else self.fieldsets

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else flatten_fieldsets(self.fieldsets)

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
        incident = self.get_object(request, unquote(object_id))
        context = {
            **(extra_context or {}),
            **(_dispatch_button(incident) if incident is not None else {}),
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
        """First a page with each incident's alerts as they are now, then the dispatch of each as
        that page showed it: one alerted more since (another coordinator, the ladder) is refused,
        as on the incident's own page. Found by trying the product: two coordinators' lists
        widened the same incident twice."""
        if "confirm" not in request.POST:
            return self._dispatch_page(request, list(queryset))
        for incident in queryset:
            try:
                operation = _dispatch_as_seen(request.POST.get(f"seen_alerts_{incident.pk}"), required=True)
            except ValueError:
                self.message_user(
                    request,
                    f"{incident.cad_reference}: not dispatched: the page did not show its alerts; dispatch it again.",
                    messages.ERROR,
                )
                continue
            self._run(request, incident, operation)
        return None

    @admin.action(description="Stand down responders who have not answered", permissions=["stand_down"])
    def stand_down_unanswered(self, request, queryset):
        for incident in queryset:
            self._run(request, incident, _stand_down)

    @admin.action(description="Close (asks first)", permissions=["stand_down"])
    def close_incidents(self, request, queryset):
        """First a page with what closing will do to each incident's people, then the close. Found
        by trying the product: ticking an incident with a crew on scene doing CPR and pressing Go
        closed it at once and cleared the crew; the board and the incident's page ask first."""
        if "confirm" not in request.POST:
            return self._close_page(request, list(queryset))
        for incident in queryset:
            self._run(request, incident, _close)
        return None

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
            # A refusal that names the incident itself ("T9-NOR-1 was cancelled at …") is not
            # prefixed with its reference again.
            named = error.message.startswith(f"{incident.cad_reference} ")
            self.message_user(
                request, error.message if named else f"{incident.cad_reference}: {error.message}", messages.ERROR
            )
            return False
        self.message_user(request, f"{incident.cad_reference}: {text}", level)
        return True

    # --- Buttons on one incident's page, and the board ---

    def get_urls(self):
        # Before the admin's own: its "<object_id>/" pattern would otherwise catch "board/".
        name = f"{self.opts.app_label}_{self.opts.model_name}"
        wrap = self.admin_site.admin_view
        return [
            path("board/", wrap(self.board_view), name=f"{name}_board"),
            path("<path:object_id>/dispatch/", wrap(self._button(_dispatch)), name=f"{name}_dispatch"),
            path("<path:object_id>/stand-down/", wrap(self._button(_stand_down)), name=f"{name}_stand_down"),
            path("<path:object_id>/close/", wrap(self._button(_close)), name=f"{name}_close"),
            path("<path:object_id>/cancel/", wrap(self.cancel_view), name=f"{name}_cancel"),
            path("<path:object_id>/alert-named/", wrap(self.alert_named_view), name=f"{name}_alert_named"),
            *super().get_urls(),
        ]

    def _button(self, operation):
        def button_view(request, object_id):
            if request.method != "POST":
                return HttpResponseNotAllowed(["POST"])
            if not self.has_view_permission(request):
                raise PermissionDenied
            # The admin's own lookup, only for the message's CAD reference: the action checks its
            # permission and loads the incident again, locked.
            incident = self.get_object(request, unquote(object_id))
            if incident is None:
                self.message_user(request, f"There is no incident {object_id}.", messages.ERROR)
                return HttpResponseRedirect(reverse("admin:dispatch_incident_changelist"))
            back = HttpResponseRedirect(reverse("admin:dispatch_incident_change", args=[incident.pk]))
            chosen = operation
            if operation is _dispatch:
                try:
                    chosen = _dispatch_as_seen(request.POST.get("seen_alerts"))
                except ValueError:
                    self.message_user(
                        request, "The page's count of alerts was not understood: reload it.", messages.ERROR
                    )
                    return back
            self._run(request, incident, chosen)
            return back

        if operation is _dispatch:
            button_view.urgency = {"POST": priority.URGENT}  # positions wait for it (backend/priority.py)
        return button_view

    def _incident_for_page(self, request, object_id, *, permission: str, doing: str) -> Incident | None:
        """The incident of a page that asks before acting, if the coordinator may act on it; else a
        message (the caller goes back to the list)."""
        try:
            return access.access_incident_for_coordinator(
                request.user, unquote(object_id), permission=permission, doing=doing
            )
        except ActionError as error:
            self.message_user(request, error.message, messages.ERROR)
            return None

    def cancel_view(self, request, object_id):
        """The change page's Cancel button: ask for the reason, then cancel."""
        incident = self._incident_for_page(
            request, object_id, permission="dispatch.cancel_incident", doing="cancel incidents"
        )
        if incident is None:
            return HttpResponseRedirect(reverse("admin:dispatch_incident_changelist"))
        form = CancelReasonForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            reason = form.cleaned_data["reason"]
            self._run(request, incident, lambda user, incident_id: _cancel(user, incident_id, reason))
            return HttpResponseRedirect(reverse("admin:dispatch_incident_change", args=[incident.pk]))
        return self._cancel_page(request, [incident], form, from_changelist=False)

    def alert_named_view(self, request, object_id):
        """The change page's "Alert a named responder": choose one, confirm an override, dispatch."""
        incident = self._incident_for_page(
            request, object_id, permission="dispatch.dispatch_incident", doing="dispatch incidents"
        )
        if incident is None:
            return HttpResponseRedirect(reverse("admin:dispatch_incident_changelist"))
        form = AlertNamedForm(request.POST if request.method == "POST" else None, incident=incident)
        if request.method == "POST" and form.is_valid():
            responder = form.cleaned_data["responder"]
            self._run(request, incident, lambda user, incident_id: _alert_named(user, incident_id, responder))
            return HttpResponseRedirect(reverse("admin:dispatch_incident_change", args=[incident.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Alert a named responder to {incident.cad_reference}",
            "opts": self.opts,
            "incident": incident,
            "form": form,
        }
        return TemplateResponse(request, "admin/dispatch/incident/alert_named.html", context)

    def _dispatch_page(self, request, incidents: list[Incident]):
        context = {
            **self.admin_site.each_context(request),
            "title": "Dispatch incidents" if len(incidents) > 1 else "Dispatch incident",
            "opts": self.opts,
            "rows": [
                {"incident": incident, "going": _going_text(incident), **_dispatch_button(incident)}
                for incident in incidents
            ],
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/dispatch/incident/dispatch_confirmation.html", context)

    def _close_page(self, request, incidents: list[Incident]):
        context = {
            **self.admin_site.each_context(request),
            "title": "Close incidents" if len(incidents) > 1 else "Close incident",
            "opts": self.opts,
            "rows": [
                {"incident": incident, "going": _going_text(incident), "closing_does": _closing_does(incident)}
                for incident in incidents
            ],
            # Only the open ones are posted and counted on the button: a trial met "Close the
            # incident" offered for one already cancelled, which it could not close.
            "closable": [incident for incident in incidents if incident.is_open],
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/dispatch/incident/close_confirmation.html", context)

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


# --- The operations, each one action call and what to tell the coordinator ---


def _dispatch_button(incident: Incident) -> dict:
    """The incident page's dispatch button: what it will do, in the board's words (board-state.js
    dispatchButtonText), and how many alerts the page shows, sent back with it. Found by trying the
    product: a page opened before another coordinator widened the incident widened it again on a
    click, to the ring after; like the board, it now sends what it showed and is refused (409) if
    more were alerted since."""
    if incident.dispatched_at is None:
        label = "Dispatch nearest responders"
    elif incident.ring < widest_ring():
        label = "Dispatch next ring"
    else:
        label = "Look again (widest ring)"
    return {"dispatch_label": label, "seen_alerts": incident.alerts.count()}


def _going_text(incident: Incident) -> str:
    """Who is going, against the crew target, in the board's words (board-state.js coverageText):
    "2 going (2 needed): covered", "1 going, 1 cleared from the scene (3 needed): 1 more needed".
    An incident that has ended: who accepted and who attended, "Accepted 2 (1 withdrew) · attended
    1", with the list's Accepted count (it said "Accepted 1" beside the list's "2 (1 withdrew)":
    coverage's accepted leaves out those who withdrew)."""
    counts = coverage.coverage_of(incident)
    if not incident.is_open:
        return f"Accepted {_ever_accepted_text(incident)} · attended {counts.attended}"
    cleared = counts.covering - counts.committed
    who = ", ".join(
        part
        for part in (
            f"{counts.committed} going" if counts.committed or not cleared else "",
            f"{cleared} cleared from the scene" if cleared else "",
        )
        if part
    )
    short = "covered" if counts.covered else f"{counts.target - counts.covering} more needed"
    return f"{who} ({counts.target} needed): {short}"


def _closing_does(incident: Incident) -> list[tuple[str, str]]:
    """What closing will do to the incident's people, as actions.close_incident does it: those on
    scene are cleared, anyone else still active (going, or not answered yet) is stood down; the
    others keep their state. Each: (what happens, who: each with what they are doing now)."""
    groups: dict[str, list[str]] = {}
    alerts = incident.alerts.filter(state__in=actions.ACTIVE_STATES).select_related("responder__user")
    for alert in alerts.order_by("rank", "pk"):
        if alert.state == AlertState.ON_SCENE:
            what = "Cleared from the scene"
        elif alert.state in COMMITTED_STATES:
            what = "Stood down while going"
        else:
            what = "Stood down before answering"
        groups.setdefault(what, []).append(f"{alert.responder.display_name} ({alert.get_state_display().lower()})")
    order = ["Cleared from the scene", "Stood down while going", "Stood down before answering"]
    return [(what, ", ".join(groups[what])) for what in order if what in groups]


def _dispatch_as_seen(seen_alerts: str | None, *, required: bool = False) -> Callable[..., tuple[int, str]]:
    """_dispatch refused if more alerts exist than the page showed (its hidden `seen_alerts`; a
    form without it dispatches as before, unless `required`: the list's confirmation page sends
    one per incident). ValueError: not a count, or none where required."""
    if seen_alerts is None:
        if required:
            raise ValueError("no count of alerts")
        return _dispatch
    seen = int(seen_alerts)
    if seen < 0:
        raise ValueError(seen_alerts)
    return lambda user, incident_id: _dispatch(user, incident_id, seen_alerts=seen)


def _dispatch(user, incident_id: int, *, seen_alerts: int | None = None) -> tuple[int, str]:
    pressed_at = timezone.now()
    alerts = actions.dispatch_incident(actor=user, incident_id=incident_id, seen_alerts=seen_alerts)
    incident = Incident.objects.get(pk=incident_id)
    # ladder.resume_held stamps ladder_resumed_at with the dispatch's own time, so a stamp from
    # this press on means it resumed a held ladder (found by a browser trial: the page said, as a
    # failure, "nobody was alerted: everyone in range has already been alerted." of a resume).
    if incident.ladder_resumed_at is not None and incident.ladder_resumed_at >= pressed_at:
        return _resumed(incident, alerts)
    if not alerts:
        nobody_going = not incident.alerts.filter(state__in=actions.ACTIVE_STATES).exists()
        level = messages.ERROR if nobody_going else messages.WARNING
        return level, f"nobody was alerted: {UnreachedReason(incident.unreached_reason).label.lower()}."
    return messages.SUCCESS, f"{_count(len(alerts), 'responder')} alerted: {_alerted_names(alerts)}."


def _resumed(incident: Incident, alerts: list[Alert]) -> tuple[int, str]:
    """A dispatch that resumed a held ladder, in the boards' words (wall.js resumedDispatchText):
    a note, not a failure, when it alerted nobody, as the ladder now runs again."""
    if not alerts:
        reason = incident.unreached_reason
        why = UnreachedReason(reason).label.lower() if reason else "nobody new was alerted"
        return messages.INFO, f"escalation resumed; {why}."
    # Those stood down as enough crews were going, alerted again (payloads.dispatch_outcome).
    again = sum(1 for alert in alerts if getattr(alert, "resumed_with_ladder", False))
    more = len(alerts) - again
    parts = [f"{again} alerted again" if again else "", f"{more} {'more ' if again else ''}alerted" if more else ""]
    did = ", ".join(part for part in parts if part)
    return messages.SUCCESS, f"escalation resumed: {did}: {_alerted_names(alerts)}."


def _alerted_names(alerts: list[Alert]) -> str:
    return ", ".join(
        f"{alert.responder.display_name} ({alert.responder.station.name}, {alert.distance_km:.1f} km)"
        for alert in alerts
    )


def _alert_named(user, incident_id: int, responder: Responder) -> tuple[int, str]:
    alerts = actions.dispatch_incident(actor=user, incident_id=incident_id, responder_ids=[responder.pk])
    if not alerts:
        reason = UnreachedReason(Incident.objects.get(pk=incident_id).unreached_reason).label.lower()
        return messages.WARNING, f"{responder.display_name} was not alerted: {reason}."
    return messages.SUCCESS, f"{responder.display_name} alerted."


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
class AlertAdmin(AlertTimes, ReadOnlyAdmin):
    """Every alert sent, for looking things up. Alerts change only through actions."""

    list_display = ["incident", "responder", "station", "state", "distance", "rank", "alerted", "answered"]
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
        *AlertTimes.TIME_FIELDS,
        "first_accepted",
        "decline_reason",
        "decline_note",
        "stood_down_reason",
        "phones",
    ]
    readonly_fields = fields

    @admin.display(description="Each device: sent, shown, opened, answered")
    def phones(self, alert):
        return phones_table([alert])

    @admin.display(description="Station", ordering="responder__station__name")
    def station(self, alert):
        return alert.responder.station.name

    @admin.display(description="Distance", ordering="distance_km")
    def distance(self, alert):
        return f"{alert.distance_km:.1f} km"

    @admin.display(description="First answer")
    def answered(self, alert):
        answers = [time for time in (alert.accepted_at, alert.declined_at) if time is not None]
        if not answers:
            return "—"
        first = min(answers)
        return f"{round((first - _answered(alert, first)).total_seconds())} s after the alert"


# --- Sign out everywhere ---------------------------------------------------------------------------
# The action on responders and users, added here to the accounts' admin pages: it tells the boards
# that the responders logged out (presence.sign_out_everywhere), which the accounts app, below
# dispatch, cannot (found in review: their rows still read "seen in the open app").

SIGN_OUT_DESCRIPTION = "Sign out everywhere (end their logins, close their connections, stop pushes to their phones)"


class ResponderAdmin(accounts_admin.ResponderAdmin):
    actions = ["sign_out_everywhere"]

    @admin.action(permissions=["change"], description=SIGN_OUT_DESCRIPTION)
    def sign_out_everywhere(self, request, queryset):
        _sign_out(self, request, list(queryset.values_list("user_id", flat=True)))


class UserAdmin(auth_admin.UserAdmin):
    actions = ["sign_out_everywhere"]

    @admin.action(permissions=["change"], description=SIGN_OUT_DESCRIPTION)
    def sign_out_everywhere(self, request, queryset):
        _sign_out(self, request, list(queryset.values_list("pk", flat=True)))


admin.site.unregister(Responder)
admin.site.register(Responder, ResponderAdmin)
admin.site.unregister(get_user_model())
admin.site.register(get_user_model(), UserAdmin)


def _sign_out(modeladmin, request, user_ids: list[int]) -> None:
    """For a lost phone or someone leaving. Their push subscriptions go too, so a lost phone gets no
    more alerts; a phone still in their hands subscribes again when they log in to the app. The
    boards show the responders among them as logged out. Deactivating a user (unticking Active) also
    closes their sockets."""
    try:
        ended = presence.sign_out_everywhere(actor=request.user, user_ids=user_ids)
    except ActionError as error:
        modeladmin.message_user(request, error.message, level=messages.ERROR)
        return
    modeladmin.message_user(
        request,
        f"Signed out {len(user_ids)} user(s) everywhere: {ended} login(s) ended. Their phones get no push alerts "
        "until they log in to the app again.",
        level=messages.SUCCESS,
    )
