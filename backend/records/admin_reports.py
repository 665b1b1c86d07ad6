"""The coordinators' reports in the admin: the page (/admin/reports/) and its CSV export
(/admin/reports/export.csv), both filtered by date range and station.

Both are routed in backend/urls.py inside `admin.site.admin_view` (staff with a verified second
factor); on top of that the page needs records.view_reports and the export records.export_reports
(403 without). Each showing of the figures and each export writes an audit entry with the
filters used (dates and a station id: no figures, no health data).

The figures come from backend.records.reports; the columns below say how each is shown on the
page and written to the CSV, so the two always hold the same data.
"""

import csv
import datetime
import io
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import dateformat, timezone

from backend.accounts.models import Station
from backend.audit.log import record
from backend.audit.models import AuditAction
from backend.records import charts
from backend.records.reports import Report, ReportFilters, Row, build_report, default_date_range

REPORTS_PERMISSION = "records.view_reports"
EXPORT_PERMISSION = "records.export_reports"
MAX_PERIOD_DAYS = 20 * 366
LATEST_END_DAYS_AHEAD = 366
# A spreadsheet treats a cell starting with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


# --- The filters ------------------------------------------------------------------------------


def _long_date(day: datetime.date) -> str:
    return dateformat.format(day, "j F Y")


class ReportFilterForm(forms.Form):
    """From and to (local dates, inclusive) and a station. Empty dates mean the last twelve months."""

    date_from = forms.DateField(
        label="From",
        required=False,
        input_formats=["%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": "Enter the start date as a date, e.g. 2025-04-01."},
        help_text="The first day whose incidents count.",
    )
    date_to = forms.DateField(
        label="To",
        required=False,
        input_formats=["%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": "Enter the end date as a date, e.g. 2026-03-31."},
        help_text="The last day whose incidents count (included).",
    )
    station = forms.ModelChoiceField(
        queryset=Station.objects.order_by("name"),
        required=False,
        empty_label="All stations",
        error_messages={"invalid_choice": "Choose a station from the list, or All stations."},
    )

    def clean(self):
        cleaned = super().clean()
        if self.has_error("date_from") or self.has_error("date_to"):
            return cleaned
        today = timezone.localdate()
        # Without dates: the last twelve months up to today, or up to the end date given.
        date_to = cleaned.get("date_to") or today
        date_from = cleaned.get("date_from") or default_date_range(date_to)[0]
        if date_from > today:
            self.add_error(
                "date_from",
                f"The start date ({_long_date(date_from)}) is in the future: choose today or an earlier day.",
            )
        elif date_to < date_from:
            self.add_error(
                "date_to",
                f"The end date ({_long_date(date_to)}) is before the start date ({_long_date(date_from)}): "
                "choose an end date on or after the start date.",
            )
        elif date_to > today + datetime.timedelta(days=LATEST_END_DAYS_AHEAD):
            self.add_error("date_to", "The end date is more than a year ahead: choose today or an earlier day.")
        elif (date_to - date_from).days > MAX_PERIOD_DAYS:
            self.add_error("date_from", "Choose a period of at most 20 years.")
        cleaned["date_from"], cleaned["date_to"] = date_from, date_to
        return cleaned

    def filters(self) -> ReportFilters:
        data = self.cleaned_data
        return ReportFilters(data["date_from"], data["date_to"], data.get("station"))


def _query_string(filters: ReportFilters) -> str:
    return urlencode(
        {
            "date_from": filters.date_from.isoformat(),
            "date_to": filters.date_to.isoformat(),
            "station": filters.station.pk if filters.station else "",
        }
    )


# --- The columns: one definition for the page and the CSV --------------------------------------


@dataclass(frozen=True)
class Column:
    heading: str
    unit: str  # "count", "s" (seconds) or "%"
    value: Callable[[Row], float | int | None]

    @property
    def csv_heading(self) -> str:
        return f"{self.heading} ({self.unit})"

    def shown(self, row: Row) -> str:
        """As the page writes it: counts with thousands separators, times as m:ss."""
        value = self.value(row)
        if value is None:
            return "—"
        if self.unit == "s":
            return _minutes_seconds(value)
        if self.unit == "%":
            return f"{value:.1f} %"
        return f"{value:,}"

    def written(self, row: Row) -> float | int | str:
        """As the CSV writes it: plain numbers, one decimal for seconds and percentages."""
        value = self.value(row)
        if value is None:
            return ""
        return round(value, 1) if self.unit in ("s", "%") else value


def _minutes_seconds(seconds: float) -> str:
    sign = "-" if seconds < 0 else ""
    whole = round(abs(seconds))
    return f"{sign}{whole // 60}:{whole % 60:02d}"


ACTIVITY = [
    Column("Incidents", "count", lambda row: row.counts.incidents),
    Column("Medical emergencies attended", "count", lambda row: row.counts.emergencies_attended),
    Column("Attendances", "count", lambda row: row.counts.attendances),
    Column("Attended since the scheme started", "count", lambda row: row.running_total),
]
TIMES = [
    Column("Alert to acceptance, median", "s", lambda row: row.to_acceptance.median),
    Column("Alert to acceptance, 90th percentile", "s", lambda row: row.to_acceptance.p90),
    Column("Alerts accepted", "count", lambda row: row.to_acceptance.count),
    Column("Alert to on scene, median", "s", lambda row: row.to_on_scene.median),
    Column("Alert to on scene, 90th percentile", "s", lambda row: row.to_on_scene.p90),
    Column("Firefighters on scene", "count", lambda row: row.to_on_scene.count),
    Column("Crews timed against the ambulance", "count", lambda row: row.ahead_of_ambulance.count),
    Column("Crew first on scene", "count", lambda row: row.crew_first),
    Column("Crew first on scene", "%", lambda row: row.crew_first_percent),
    Column("Crew ahead of the ambulance, median", "s", lambda row: row.ahead_of_ambulance.median),
    Column("Crew ahead of the ambulance, 90th percentile", "s", lambda row: row.ahead_of_ambulance.p90),
]
OUTCOMES = [
    Column("Resuscitation attempted", "count", lambda row: row.counts.resuscitation_attempted),
    Column("ROSC at handover", "count", lambda row: row.counts.rosc_at_handover),
    Column("ROSC at handover", "%", lambda row: row.rosc_percent),
    Column("Utstein group: resuscitation attempted", "count", lambda row: row.counts.utstein_attempted),
    Column("Utstein group: ROSC at handover", "count", lambda row: row.counts.utstein_rosc_at_handover),
    Column("Utstein group: ROSC at handover", "%", lambda row: row.utstein_rosc_percent),
    Column("Shocks by crews", "count", lambda row: row.counts.crew_shocks),
]
COLUMN_GROUPS = [("Activity", ACTIVITY), ("Response times", TIMES), ("Outcomes", OUTCOMES)]
ALL_COLUMNS = [*ACTIVITY, *TIMES, *OUTCOMES]


# --- The page ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Table:
    caption: str
    first_heading: str
    headings: list[Column]
    rows: list[tuple[str, list[str]]]  # (row name, cells)
    total: tuple[str, list[str]]


def _table(caption: str, first_heading: str, columns: list[Column], named_rows, total: tuple[str, Row]) -> Table:
    return Table(
        caption=caption,
        first_heading=first_heading,
        headings=columns,
        rows=[(name, [column.shown(row) for column in columns]) for name, row in named_rows],
        total=(total[0], [column.shown(total[1]) for column in columns]),
    )


def _month_name(month: datetime.date) -> str:
    return dateformat.format(month, "M Y")


def _page_tables(report: Report) -> list[tuple[str, list[Table]]]:
    """Per month (all stations, or the chosen one) and, over several stations, per station."""
    months = [(_month_name(row.month), row) for row in report.by_month]
    stations = [(row.station.name, row) for row in report.by_station]
    total = ("Total", report.total)
    sections = [
        ("By month", [_table(f"{name} by month", "Month", cols, months, total) for name, cols in COLUMN_GROUPS])
    ]
    if report.filters.station is None:
        sections.append(
            (
                "By station",
                [_table(f"{name} by station", "Station", cols, stations, total) for name, cols in COLUMN_GROUPS],
            )
        )
    return sections


def _page_charts(report: Report) -> list[dict]:
    attended = [
        charts.Bar(_month_name(row.month), row.counts.emergencies_attended, f"{row.counts.emergencies_attended:,}")
        for row in report.by_month
    ]
    running = [
        charts.Bar(_month_name(row.month), row.running_total, f"{row.running_total:,}") for row in report.by_month
    ]
    label_every = max(1, len(attended) // 12)
    found = [
        {
            "title": "Medical emergencies attended per month",
            "svg": charts.column_chart(
                "chart-attended",
                "Medical emergencies attended per month",
                charts.describe(attended, "medical emergencies attended per month"),
                attended,
                label_every=label_every,
            ),
            "table": "table-activity-by-month",
        },
        {
            "title": "Medical emergencies attended since the scheme started",
            "svg": charts.column_chart(
                "chart-running-total",
                "Medical emergencies attended since the scheme started, at the end of each month",
                charts.describe(running, "the running total at the end of each month"),
                running,
                label_every=label_every,
            ),
            "table": "table-activity-by-month",
        },
    ]
    if report.filters.station is None:
        per_station = [
            charts.Bar(row.station.name, row.counts.emergencies_attended, f"{row.counts.emergencies_attended:,}")
            for row in report.by_station
        ]
        found.append(
            {
                "title": "Medical emergencies attended per station",
                "svg": charts.bar_chart(
                    "chart-stations",
                    "Medical emergencies attended per station",
                    charts.describe(per_station, "medical emergencies attended per station"),
                    per_station,
                ),
                "table": "table-activity-by-station",
            }
        )
    return found


def reports_view(request):
    if not request.user.has_perm(REPORTS_PERMISSION):
        raise PermissionDenied("You are not allowed to see the scheme's reports.")
    form = ReportFilterForm(request.GET)
    context = {
        **admin.site.each_context(request),
        "title": "Reports",
        "form": form,
        "can_export": request.user.has_perm(EXPORT_PERMISSION),
    }
    if form.is_valid():
        filters = form.filters()
        report = build_report(filters)
        record(
            request.user,
            AuditAction.VIEW,
            "report",
            channel="admin",
            request=request,
            detail=filters.as_audit_detail(),
        )
        context.update(
            form=ReportFilterForm(
                {
                    "date_from": filters.date_from.isoformat(),
                    "date_to": filters.date_to.isoformat(),
                    "station": filters.station.pk if filters.station else "",
                }
            ),
            report=report,
            period=f"{_long_date(filters.date_from)} to {_long_date(filters.date_to)}",
            sections=_page_tables(report),
            charts=_page_charts(report),
            export_url=f"{reverse('admin-reports-export')}?{_query_string(filters)}",
        )
    return TemplateResponse(request, "admin/records/reports.html", context)


# --- The CSV ----------------------------------------------------------------------------------


def export_view(request):
    if not request.user.has_perm(EXPORT_PERMISSION):
        raise PermissionDenied("You are not allowed to export the scheme's reports.")
    form = ReportFilterForm(request.GET)
    if not form.is_valid():
        messages = [f"{field}: {' '.join(errors)}" for field, errors in form.errors.items()]
        return HttpResponse("\n".join(messages), status=400, content_type="text/plain; charset=utf-8")
    filters = form.filters()
    report = build_report(filters)
    record(
        request.user, AuditAction.EXPORT, "report", channel="admin", request=request, detail=filters.as_audit_detail()
    )
    response = HttpResponse(report_csv(report), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{_file_name(filters)}"'
    return response


def report_csv(report: Report) -> str:
    """One row per station per month with every figure, then the totals row. Starts with a byte
    order mark so that spreadsheet programs read it as UTF-8."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["Station", "Month (YYYY-MM)", *(column.csv_heading for column in ALL_COLUMNS)])
    for row in report.station_month_rows():
        writer.writerow([_safe_text(row.station.name), f"{row.month:%Y-%m}", *_written(row)])
    total_name = report.filters.station.name if report.filters.station else "All stations"
    writer.writerow([_safe_text(total_name), "All months", *_written(report.total)])
    return out.getvalue()


def _written(row: Row) -> list:
    return [column.written(row) for column in ALL_COLUMNS]


def _safe_text(text: str) -> str:
    """Text a spreadsheet would run as a formula is written with a leading apostrophe."""
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def _file_name(filters: ReportFilters) -> str:
    station = f"-{filters.station.code}" if filters.station else ""
    return f"coresponder-report-{filters.date_from:%Y-%m-%d}-to-{filters.date_to:%Y-%m-%d}{station}.csv"
