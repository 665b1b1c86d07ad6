"""What crews recorded on scene, for coordinators to read, and the checklist's versions with their
clinical sign-off. Read-only pages: events are written only by the crew's app through
backend.checklists.actions (corrections belong in the forms, with a reason); a version is approved
or withdrawn only through backend.checklists.signoff, by a clinical safety officer, on the two
forms below."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join

from backend import roles
from backend.admin_base import ReadOnlyAdmin
from backend.checklists import content, signoff
from backend.checklists.models import ChecklistVersion, OnSceneEvent, SignOffStatus
from backend.errors import ActionError


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


# --- Checklist versions and their clinical sign-off -------------------------------------------------------


class ApproveForm(forms.Form):
    reviewer_name = forms.CharField(max_length=150, label="Reviewed by (name)")
    reviewer_role = forms.CharField(
        max_length=150, label="Their role", help_text="e.g. Consultant paramedic, East of England Ambulance Service."
    )
    reviewer_registration = forms.CharField(
        max_length=40, required=False, label="Registration", help_text="GMC, NMC or HCPC number, where there is one."
    )
    reviewed_on = forms.DateField(label="Date of the review", help_text="YYYY-MM-DD.")


class WithdrawForm(forms.Form):
    reason = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 3}), label="Why it is withdrawn")


def _review_items(version: ChecklistVersion) -> str:
    review = version.content.get("clinical_review", {})
    items = format_html_join(
        "",
        "<li><strong>{}</strong> ({}): {}</li>",
        ((i["id"], i["where"], i["question"]) for i in review.get("items", [])),
    )
    return format_html("<p>{}</p><ol>{}</ol>", review.get("note", ""), items)


def _content_table(version: ChecklistVersion) -> str:
    """Every step of every variant, and every notice (what the crew is told when the call ends),
    as the crew will read them: what the clinician reviews."""
    sections = []
    for name, variant in version.content.get("variants", {}).items():
        compressions = variant.get("compressions", {})
        ratio = compressions.get("ratio", {})
        facts = (
            f"Rate {compressions.get('rate_per_minute', {}).get('min')} to "
            f"{compressions.get('rate_per_minute', {}).get('max')} a minute; depth: "
            f"{compressions.get('depth', {}).get('text')}; {ratio.get('compressions')}:{ratio.get('breaths')}; "
            f"initial breaths: {compressions.get('initial_breaths')}; pads: {variant.get('pads', {}).get('text', '')}"
        )
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((s["title"], s["instruction"], s["event"] or "") for s in variant["steps"]),
        )
        sections.append(
            format_html(
                "<h3>{} ({})</h3><p>{}</p><table><thead><tr><th>Step</th><th>Instruction</th><th>Tap</th></tr></thead>"
                "<tbody>{}</tbody></table>",
                variant.get("label", name),
                variant.get("applies_to", ""),
                facts,
                rows,
            )
        )
    notices = version.content.get("notices", {})
    if notices:
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (n.get("when", name), ", ".join(n.get("applies_to", [])), n.get("text", ""), n.get("reference", ""))
                for name, n in notices.items()
            ),
        )
        sections.append(
            format_html(
                "<h3>Notices</h3><table><thead><tr><th>When</th><th>Endings</th><th>Text</th><th>Reference</th></tr>"
                "</thead><tbody>{}</tbody></table>",
                rows,
            )
        )
    return format_html_join("", "{}", ((section,) for section in sections))


@admin.register(ChecklistVersion)
class ChecklistVersionAdmin(ReadOnlyAdmin):
    list_display = [
        "version",
        "status",
        "reviewer",
        "reviewed_on",
        "status_changed_by",
        "status_changed_at",
        "loaded_at",
    ]
    list_filter = ["status"]
    fields = [
        "sign_off",
        "version",
        "status",
        "reviewer_name",
        "reviewer_role",
        "reviewer_registration",
        "reviewed_on",
        "status_changed_by",
        "status_changed_at",
        "status_reason",
        "source_file",
        "content_sha256",
        "loaded_at",
        "for_review",
        "steps",
    ]
    readonly_fields = fields

    @admin.display(description="Reviewer")
    def reviewer(self, version):
        return (
            ", ".join(p for p in (version.reviewer_name, version.reviewer_role, version.reviewer_registration) if p)
            or "-"
        )

    @admin.display(description="Sign-off")
    def sign_off(self, version):
        if version.status == SignOffStatus.WITHDRAWN:
            return "Withdrawn: never served again."
        links = []
        if version.status == SignOffStatus.DRAFT:
            links.append(("approve", "Record the clinical review and approve"))
        links.append(("withdraw", "Withdraw this version"))
        buttons = format_html_join(
            " ", '<a class="button" href="{}">{}</a>', ((self._url(name, version), label) for name, label in links)
        )
        return format_html('{} <span class="help">(clinical safety officers only)</span>', buttons)

    @admin.display(description="For the clinician's review")
    def for_review(self, version):
        return _review_items(version)

    @admin.display(description="Content as the crews will read it")
    def steps(self, version):
        return _content_table(version)

    def get_urls(self):
        name = f"{self.opts.app_label}_{self.opts.model_name}"
        return [
            path("<path:object_id>/approve/", self.admin_site.admin_view(self.approve_view), name=f"{name}_approve"),
            path("<path:object_id>/withdraw/", self.admin_site.admin_view(self.withdraw_view), name=f"{name}_withdraw"),
            *super().get_urls(),
        ]

    def _url(self, name: str, version) -> str:
        return reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_{name}", args=[version.pk])

    def approve_view(self, request, object_id):
        return self._sign_off_view(
            request,
            object_id,
            ApproveForm,
            "Approve",
            "Record who reviewed this version and when. Once approved it is what production serves to every "
            "phone. Check each item for review and every step below first.",
            lambda version, data: signoff.approve_version(actor=request.user, version_id=version.pk, **data),
        )

    def withdraw_view(self, request, object_id):
        return self._sign_off_view(
            request,
            object_id,
            WithdrawForm,
            "Withdraw",
            "A withdrawn version is never served again. If it is the only approved one, phones keep their saved copy "
            "and get no new one until another version is approved.",
            lambda version, data: signoff.withdraw_version(actor=request.user, version_id=version.pk, **data),
        )

    def _sign_off_view(self, request, object_id, form_class, action_label, explanation, act):
        if not roles.is_clinical_safety_officer(request.user):
            raise PermissionDenied("Only a clinical safety officer may sign off the checklist.")
        version = ChecklistVersion.objects.filter(pk=unquote(object_id)).first()
        if version is None:
            raise Http404("No such checklist version.")
        form = form_class(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                version = act(version, form.cleaned_data)
            except ActionError as error:
                for name, field_messages in error.fields.items():
                    for message in field_messages:
                        form.add_error(name if name in form.fields else None, message)
                if not error.fields:
                    form.add_error(None, error.message)
            else:
                self.message_user(
                    request, f"Checklist {version.version}: {version.get_status_display().lower()}.", messages.SUCCESS
                )
                return HttpResponseRedirect(self._url("change", version))
        context = {
            **self.admin_site.each_context(request),
            "title": f"{action_label} checklist {version.version}",
            "opts": self.opts,
            "original": version,
            "form": form,
            "action_label": action_label,
            "explanation": explanation,
            "review_items": _review_items(version),
            "content_table": _content_table(version),
        }
        return TemplateResponse(request, "admin/checklists/sign_off_form.html", context)
