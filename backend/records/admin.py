"""The after-call records in the admin.

Coordinators read attendance and outcome records, and amend them with a reason through
backend.records.actions.amend_record (the records are otherwise read-only here, and nobody can
delete them). Welfare check-ins are for welfare leads only: to everyone else, coordinators included,
the admin pages do not exist. Every page that shows records writes audit entries for them.
"""

import uuid

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from backend.accounts.models import Responder
from backend.admin_base import ReadOnlyAdmin
from backend.audit import log
from backend.audit.models import AuditAction
from backend.errors import ActionError
from backend.records import access, actions, notices, notify, payloads
from backend.records.models import Amendment, Attendance, CadTimes, Outcome, RecordKind, WelfareCheckIn
from backend.records.validation import FIELDS


class AuditedRecordAdmin(ReadOnlyAdmin):
    """A read-only admin whose list and detail pages write an audit entry for each record shown."""

    kind: str

    def incident_id_of(self, record) -> int:
        return record.alert.incident_id

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", {}).get("cl") if hasattr(response, "context_data") else None
        if changelist is not None:
            actions.record_reads(request.user, self.kind, changelist.result_list, incident_of=self.incident_id_of)
        return response

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        record = getattr(response, "context_data", {}).get("original") if hasattr(response, "context_data") else None
        if record is not None:
            log.record(request.user, AuditAction.VIEW, self.kind, record.pk, incident_id=self.incident_id_of(record))
        return response

    @admin.display(description="Changes")
    def amendments(self, record):
        """Every change to the record: when, by whom, which fields, and why."""
        changes = Amendment.objects.filter(record_kind=self.kind, record_id=record.pk).select_related("amended_by")
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    formats.date_format(timezone.localtime(change.at), "j M Y, H:i"),
                    change.version,
                    f"{change.amended_by or 'deleted user'}{' (coordinator)' if change.by_coordinator else ''}",
                    ", ".join(change.changed_fields),
                    change.reason,
                )
                for change in changes
            ),
        )
        if not rows:
            return "None: as submitted."
        head = "<tr><th>When</th><th>Version</th><th>By</th><th>Fields</th><th>Reason</th></tr>"
        return format_html("<table>{}{}</table>", mark_safe(head), rows)  # noqa: S308  (constant markup)

    @admin.display(description="Locked")
    def locked(self, record) -> bool:
        return payloads.is_locked(record)

    locked.boolean = True


# --- Amending: coordinators ----------------------------------------------------------------------------


def amend_form_class(kind: str, record) -> type[forms.ModelForm]:
    """A form of the record's fields, a reason, and a key made when the page was shown (so pressing
    Save twice amends once)."""
    model = type(record)
    field_names = list(FIELDS[kind])

    class AmendForm(forms.ModelForm):
        reason = forms.CharField(
            max_length=payloads.REASON_MAX_LENGTH,
            widget=forms.Textarea(attrs={"rows": 2}),
            help_text="Why the record is amended. Kept with the amendment.",
        )
        idempotency_key = forms.UUIDField(widget=forms.HiddenInput)

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            if "crew" in self.fields:
                self.fields["crew"].queryset = Responder.objects.filter(
                    pk__in=access.crew_ids(record.incident_id, record.station_id)
                ).select_related("user")

    return forms.modelform_factory(model, form=AmendForm, fields=field_names)


def _changed_values(form: forms.ModelForm) -> dict:
    values = {}
    for name in form.changed_data:
        if name in ("reason", "idempotency_key"):
            continue
        value = form.cleaned_data[name]
        values[name] = [responder.pk for responder in value] if name == "crew" else value
    return values


class AmendableRecordAdmin(AuditedRecordAdmin):
    readonly_fields = ["amend_link", "amendments"]

    def get_urls(self):
        name = f"{self.opts.app_label}_{self.opts.model_name}"
        return [
            path("<path:object_id>/amend/", self.admin_site.admin_view(self.amend_view), name=f"{name}_amend"),
            *super().get_urls(),
        ]

    @admin.display(description="Amend")
    def amend_link(self, record):
        url = reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_amend", args=[record.pk])
        return format_html('<a class="button" href="{}">Amend this record, with a reason</a>', url)

    def amend_view(self, request, object_id):
        try:
            record = access.record_for_coordinator(request.user, self.kind, unquote(object_id))
        except ActionError as error:
            if error.status == 403:
                raise PermissionDenied(error.message) from None
            raise Http404(error.message) from None
        form_class = amend_form_class(self.kind, record)
        if request.method == "POST":
            form = form_class(request.POST, instance=type(record).objects.get(pk=record.pk))
            if form.is_valid() and self._amend(request, record, form):
                change_url = f"admin:{self.opts.app_label}_{self.opts.model_name}_change"
                return HttpResponseRedirect(reverse(change_url, args=[record.pk]))
        else:
            form = form_class(instance=record, initial={"idempotency_key": uuid.uuid4()})
            log.record(request.user, AuditAction.VIEW, self.kind, record.pk, incident_id=self.incident_id_of(record))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Amend {record}",
            "opts": self.opts,
            "original": record,
            "form": form,
            "locks_at": payloads.locks_at(record),
            "locked": payloads.is_locked(record),
        }
        return TemplateResponse(request, "admin/records/amend_form.html", context)

    def _amend(self, request, record, form) -> bool:
        try:
            actions.amend_record(
                actor=request.user,
                kind=self.kind,
                record_id=record.pk,
                idempotency_key=form.cleaned_data["idempotency_key"],
                reason=form.cleaned_data["reason"],
                fields=_changed_values(form),
            )
        except ActionError as error:
            for name, field_messages in error.fields.items():
                for message in field_messages:
                    form.add_error(name if name in form.fields else None, message)
            if not error.fields:
                form.add_error(None, error.message)
            return False
        self.message_user(request, f"{record} amended.", messages.SUCCESS)
        return True


@admin.register(Attendance)
class AttendanceAdmin(AmendableRecordAdmin):
    kind = RecordKind.ATTENDANCE
    list_display = ["__str__", "incident", "responder", "attended", "version", "submitted_at", "locked"]
    list_filter = ["attended", ("alert__station", admin.RelatedOnlyFieldListFilter), "submitted_at"]
    search_fields = ["alert__incident__cad_reference", "alert__responder__user__username"]
    list_select_related = ["alert__incident", "alert__responder__user"]
    readonly_fields = ["amend_link", "incident", "responder", "amendments"]
    exclude = ["idempotency_key", "body_hash"]

    @admin.display(description="Incident", ordering="alert__incident__cad_reference")
    def incident(self, record):
        return record.alert.incident

    @admin.display(description="Firefighter")
    def responder(self, record):
        return record.alert.responder


@admin.register(Outcome)
class OutcomeAdmin(AmendableRecordAdmin):
    kind = RecordKind.OUTCOME
    list_display = ["__str__", "incident", "station", "resuscitation_attempted", "version", "submitted_at", "locked"]
    list_filter = [("station", admin.RelatedOnlyFieldListFilter), "submitted_at"]
    search_fields = ["incident__cad_reference"]
    list_select_related = ["incident", "station"]
    exclude = ["idempotency_key", "body_hash"]
    readonly_fields = [*AmendableRecordAdmin.readonly_fields, "cad_times"]

    def incident_id_of(self, record) -> int:
        return record.incident_id

    @admin.display(description="CAD times (from the ambulance service)")
    def cad_times(self, record):
        """The CAD's own times beside the crew's: the registry compares them, and a coordinator
        amending an outcome should see both."""
        times = CadTimes.objects.filter(incident_id=record.incident_id).first()
        return _cad_times_text(times)


def _cad_times_text(times: CadTimes | None) -> str:
    if times is None:
        return "Not sent by the CAD yet"

    def shown(value):
        return formats.date_format(timezone.localtime(value), "DATETIME_FORMAT") if value else "not sent"

    return (
        f"999 call received: {shown(times.call_received_at)}; "
        f"first ambulance at scene: {shown(times.ambulance_at_scene_at)}"
    )


@admin.register(CadTimes)
class CadTimesAdmin(ReadOnlyAdmin):
    """What each incident's CAD sent (POST /api/v1/incidents/{id}/cad-times/), read-only: only the
    CAD changes them."""

    list_display = ["incident", "call_received_at", "ambulance_at_scene_at", "updated_at", "updated_by"]
    list_select_related = ["incident", "updated_by"]
    search_fields = ["incident__cad_reference"]
    date_hierarchy = "updated_at"


# --- Welfare check-ins: welfare leads only ---------------------------------------------------------------


class WelfareEmailsFilter(admin.SimpleListFilter):
    """The follow-up requests not reaching the welfare leads: where the notice of them links
    (backend/records/notices.py)."""

    title = "email to the welfare leads"
    parameter_name = notices.UNDELIVERED_PARAMETER

    def lookups(self, request, model_admin):
        return [(notices.UNDELIVERED_VALUE, "Not getting through"), ("waiting", "Not sent yet")]

    def queryset(self, request, queryset):
        if self.value() == notices.UNDELIVERED_VALUE:
            return queryset.filter(pk__in=notify.undelivered_welfare_requests().values("pk"))
        if self.value() == "waiting":
            return queryset.filter(pk__in=notify.waiting_welfare_requests().values("pk"))
        return queryset


@admin.register(WelfareCheckIn)
class WelfareCheckInAdmin(AuditedRecordAdmin):
    kind = RecordKind.WELFARE
    list_display = ["__str__", "responder", "incident", "impact", "follow_up", "submitted_at"]
    list_filter = ["follow_up", WelfareEmailsFilter, "impact", "submitted_at"]
    search_fields = ["alert__responder__user__username", "alert__incident__cad_reference"]
    list_select_related = ["alert__incident", "alert__responder__user"]
    exclude = ["idempotency_key", "body_hash"]
    readonly_fields = ["amendments"]

    def has_module_permission(self, request):
        return access.may_read_welfare(request.user)

    def has_view_permission(self, request, obj=None):
        return access.may_read_welfare(request.user)

    def changelist_view(self, request, extra_context=None):
        self._exists_for(request)
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        self._exists_for(request)
        return super().change_view(request, object_id, form_url, extra_context)

    def history_view(self, request, object_id, extra_context=None):
        self._exists_for(request)
        return super().history_view(request, object_id, extra_context)

    def _exists_for(self, request) -> None:
        """To anyone but a welfare lead these pages do not exist (not "forbidden": that would say
        there is something here)."""
        if not access.may_read_welfare(request.user):
            raise Http404

    @admin.display(description="Firefighter")
    def responder(self, record):
        return record.alert.responder

    @admin.display(description="Incident")
    def incident(self, record):
        return record.alert.incident
