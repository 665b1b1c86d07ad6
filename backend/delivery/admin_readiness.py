"""The coordinators' readiness view in the admin (/admin/readiness/): per responder, whether they
are on call, each of their phones (platform, installed, notifications allowed, when it last proved
it rings, its last failure and why), whether a number for texts is on file (never the number) and
what a dispatch now would reach them by: a proven phone, a text only, or nothing. Counts per station
above, and filters: station, on call only, and "not proven in N days".

Routed in backend/urls.py inside `admin.site.admin_view` (staff with a verified second factor); on
top of that it needs delivery.view_pushdevice and accounts.view_responder (coordinators have both;
403 without). Each showing writes an audit entry with the filters used: the page lists named
people's availability and their phones, which is personal data, so who looked at it is kept, as
for the reports. No health data or position is on it.

The queries are backend/delivery/reachability.py; this module only words them.
"""

import datetime
from dataclasses import dataclass

from django import forms
from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.template.response import TemplateResponse
from django.utils import dateformat, timezone

from backend.accounts.models import Station
from backend.audit.log import record
from backend.audit.models import AuditAction
from backend.delivery.models import Permission, Platform
from backend.delivery.reachability import (
    DeviceReadiness,
    Reach,
    ReadinessFilters,
    ResponderReadiness,
    build_readiness,
)

PERMISSIONS = ("delivery.view_pushdevice", "accounts.view_responder")
RESPONDERS_PER_PAGE = 100
REACH_WORDS = {
    Reach.PUSH: "Push (a proven phone)",
    Reach.SMS: "Text only",
    Reach.NOTHING: "Nothing",
}
TIMES_IN_A_ROW = {1: "once", 2: "twice"}


class ReadinessFilterForm(forms.Form):
    station = forms.ModelChoiceField(
        queryset=Station.objects.order_by("name"),
        required=False,
        empty_label="All stations",
        error_messages={"invalid_choice": "Choose a station from the list, or All stations."},
    )
    # Labels after their boxes, with no colon.
    on_call = forms.BooleanField(label="On call now only", required=False, label_suffix="")
    not_proven = forms.BooleanField(required=False, label_suffix="")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        days = days_words(settings.READINESS_PROVEN_WITHIN_DAYS)
        self.fields["not_proven"].label = f"No phone proven in {days} only"
        self.fields["not_proven"].help_text = (
            f"Responders none of whose phones has shown an alert or a test in the last {days} "
            "(or whose phone failed two checks since)."
        )

    def filters(self) -> ReadinessFilters:
        data = self.cleaned_data
        return ReadinessFilters(
            station=data.get("station"), on_call_only=data["on_call"], not_proven_only=data["not_proven"]
        )


# --- Words --------------------------------------------------------------------------------------


def days_words(days: int) -> str:
    return f"{days} day{'' if days == 1 else 's'}"


def ago(moment: datetime.datetime, now: datetime.datetime) -> str:
    """'today', 'yesterday', '2 days ago' (by local calendar days)."""
    days = (timezone.localdate(now) - timezone.localdate(moment)).days
    if days <= 0:
        return "today"
    if days == 1:
        return "yesterday"
    return f"{days} days ago"


def _when(moment: datetime.datetime) -> str:
    return dateformat.format(timezone.localtime(moment), "j M Y, H:i")


def proof_words(device: DeviceReadiness, now: datetime.datetime) -> str:
    """'Proven 2 days ago', 'Never proven', 'Not proven since 3 Nov 2026, 14:02'."""
    if device.proof_at is None:
        return "Never proven"
    if device.proven:
        return f"Proven {ago(device.proof_at, now)}"
    return f"Not proven since {_when(device.proof_at)}"


def failure_words(device: DeviceReadiness) -> str:
    """'Failed twice: no receipt within 2 minutes', 'Last check failed 3 Dec 2026, 09:10: ...', or ''
    (no failure since the device was last proven)."""
    phone = device.device
    if phone.last_failure_at is None:
        return ""
    if device.proof_at is not None and phone.last_failure_at < device.proof_at:
        return ""  # failed before, proven since
    reason = phone.last_failure_reason or "no reason recorded"
    in_a_row = phone.failed_checks_in_a_row
    if in_a_row >= 2:
        return f"Failed {TIMES_IN_A_ROW.get(in_a_row, f'{in_a_row} times')} in a row: {reason}"
    return f"Last check failed {_when(phone.last_failure_at)}: {reason}"


def installed_words(installed: bool | None) -> str:
    if installed is None:
        return "Not reported"
    return "Installed app" if installed else "In the browser, not installed"


def choice_words(choices, value: str) -> str:
    return dict(choices.choices).get(value, "Not reported") if value else "Not reported"


@dataclass(frozen=True)
class DeviceRow:
    label: str
    platform: str
    installed: str
    permission: str
    permission_blocked: bool
    proof: str
    proven: bool
    failure: str
    flagged: bool


@dataclass(frozen=True)
class ResponderRow:
    name: str
    station: str
    on_call: bool
    devices: list[DeviceRow]
    has_sms_number: bool
    reach: str
    reach_words: str


def _device_row(device: DeviceReadiness, now) -> DeviceRow:
    phone = device.device
    return DeviceRow(
        label=phone.label or "Unnamed device",
        platform=choice_words(Platform, phone.platform),
        installed=installed_words(phone.installed),
        permission=choice_words(Permission, phone.permission),
        permission_blocked=phone.permission == Permission.DENIED,
        proof=proof_words(device, now),
        proven=device.proven,
        failure=failure_words(device),
        flagged=phone.flagged,
    )


def responder_row(readiness: ResponderReadiness, now) -> ResponderRow:
    responder = readiness.responder
    return ResponderRow(
        name=responder.display_name,
        station=responder.station.name,
        on_call=responder.on_call,
        devices=[_device_row(device, now) for device in readiness.devices],
        has_sms_number=readiness.has_sms_number,
        reach=readiness.reachable_by,
        reach_words=REACH_WORDS[readiness.reachable_by],
    )


# --- The page -----------------------------------------------------------------------------------


def readiness_view(request):
    if not all(request.user.has_perm(permission) for permission in PERMISSIONS):
        raise PermissionDenied("You are not allowed to see the readiness of the crews' phones.")
    form = ReadinessFilterForm(request.GET)
    context = {
        **admin.site.each_context(request),
        "title": "Readiness of phones",
        "form": form,
        "days": days_words(settings.READINESS_PROVEN_WITHIN_DAYS),
    }
    if form.is_valid():
        filters = form.filters()
        now = timezone.now()
        readiness = build_readiness(filters, now=now)
        # Counts cover everyone; the rows are shown a page at a time (a trust has thousands).
        page = Paginator(readiness.responders, RESPONDERS_PER_PAGE).get_page(request.GET.get("page"))
        record(
            request.user,
            AuditAction.VIEW,
            "readiness",
            channel="admin",
            request=request,
            detail={**filters.as_audit_detail(), "page": page.number},
        )
        context.update(
            readiness=readiness,
            page=page,
            rows=[responder_row(responder, now) for responder in page.object_list],
            filters=filters,
        )
    return TemplateResponse(request, "admin/delivery/readiness.html", context)
