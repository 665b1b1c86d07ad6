"""The coordinators' reports in the admin: the page (/admin/reports/) and its CSV export
(/admin/reports/export.csv), both filtered by date range and station.

Both are routed in backend/urls.py inside `admin.site.admin_view` (staff with a verified second
factor); on top of that the page needs records.view_reports and the export records.export_reports
(403 without). Each showing of the figures and each export writes an audit entry with the
filters used (dates and a station id: no figures, no health data). The page also lists the crews'
outcome forms owed and not filed (access.outcomes_owed_for_coordinator), audited apart with how many.

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
from backend.records import access, charts, drilldown, registry
from backend.records.reports import Report, ReportFilters, Row, build_report, default_date_range

REPORTS_PERMISSION = access.REPORTS_PERMISSION
EXPORT_PERMISSION = "records.export_reports"
REGISTRY_PERMISSION = "records.export_registry"
REGISTRY_DOWNLOADS = {
    "cases": "Registry cases (one row per case, no patient identifiers)",
    "utstein": "Utstein template figures",
    "alerting": "Alerting-system figures",
}
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
    # The drill-down (backend.records.drilldown) listing the incidents this count counts, if any.
    figure: str | None = None

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
    Column("Incidents", "count", lambda row: row.counts.incidents, "incidents"),
    Column("Medical emergencies attended", "count", lambda row: row.counts.emergencies_attended, "attended"),
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
    Column("Crews timed against the ambulance", "count", lambda row: row.ahead_of_ambulance.count, "timed"),
    Column("Crew first on scene", "count", lambda row: row.crew_first, "crew_first"),
    Column("Crew first on scene", "%", lambda row: row.crew_first_percent),
    Column("Crew ahead of the ambulance, median", "s", lambda row: row.ahead_of_ambulance.median),
    Column("Crew ahead of the ambulance, 90th percentile", "s", lambda row: row.ahead_of_ambulance.p90),
    Column("When first: ahead of the ambulance, median", "s", lambda row: row.ahead_when_first.median),
]
OUTCOMES = [
    Column("Resuscitation attempted", "count", lambda row: row.counts.resuscitation_attempted, "attempted"),
    Column("ROSC at handover", "count", lambda row: row.counts.rosc_at_handover, "rosc_at_handover"),
    Column("ROSC at handover", "%", lambda row: row.rosc_percent),
    # Left out of the percentage: neither ROSC nor no ROSC.
    Column("ROSC at handover not known", "count", lambda row: row.rosc_not_known, "rosc_not_known"),
    Column(
        "Utstein group: resuscitation attempted", "count", lambda row: row.counts.utstein_attempted, "utstein_attempted"
    ),
    Column(
        "Utstein group: ROSC at handover",
        "count",
        lambda row: row.counts.utstein_rosc_at_handover,
        "utstein_rosc_at_handover",
    ),
    Column("Utstein group: ROSC at handover", "%", lambda row: row.utstein_rosc_percent),
    Column(
        "Utstein group: ROSC at handover not known",
        "count",
        lambda row: row.utstein_rosc_not_known,
        "utstein_rosc_not_known",
    ),
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
    rows: list[tuple[str, list[tuple[str, str | None]]]]  # (row name, cells as (text, drill-down link))
    total: tuple[str, list[tuple[str, str | None]]]


def drilldown_url(filters: ReportFilters, figure: str, *, month=None, station=None) -> str:
    """The page listing the incidents behind a figure (of one month, of one station, or of the
    whole period), with the report's own filters."""
    query = {
        "date_from": filters.date_from.isoformat(),
        "date_to": filters.date_to.isoformat(),
        "station": (station or filters.station).pk if (station or filters.station) else "",
        "figure": figure,
    }
    if month is not None:
        query["month"] = f"{month:%Y-%m}"
    return f"{reverse('admin-reports-incidents')}?{urlencode(query)}"


def _cells(columns: list[Column], row: Row, filters: ReportFilters) -> list[tuple[str, str | None]]:
    cells = []
    for column in columns:
        text = column.shown(row)
        link = None
        if column.figure and column.value(row):
            link = drilldown_url(filters, column.figure, month=row.month, station=row.station)
        cells.append((text, link))
    return cells


def _table(
    caption: str, first_heading: str, columns: list[Column], named_rows, total: tuple[str, Row], filters
) -> Table:
    return Table(
        caption=caption,
        first_heading=first_heading,
        headings=columns,
        rows=[(name, _cells(columns, row, filters)) for name, row in named_rows],
        total=(total[0], _cells(columns, total[1], filters)),
    )


def _month_name(month: datetime.date) -> str:
    return dateformat.format(month, "M Y")


def _page_tables(report: Report) -> list[tuple[str, list[Table]]]:
    """Per month (all stations, or the chosen one) and, over several stations, per station."""
    months = [(_month_name(row.month), row) for row in report.by_month]
    stations = [(row.station.name, row) for row in report.by_station]
    total = ("Total", report.total)
    filters = report.filters
    sections = [
        (
            "By month",
            [_table(f"{name} by month", "Month", cols, months, total, filters) for name, cols in COLUMN_GROUPS],
        )
    ]
    if report.filters.station is None:
        sections.append(
            (
                "By station",
                [
                    _table(f"{name} by station", "Station", cols, stations, total, filters)
                    for name, cols in COLUMN_GROUPS
                ],
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
    found.extend(_trend_charts(report, label_every))
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


def _minutes_point(month: datetime.date, seconds: float | None) -> charts.Bar | None:
    if seconds is None:
        return None
    return charts.Bar(_month_name(month), seconds / 60, _minutes_seconds(seconds))


def _trend_charts(report: Report, label_every: int) -> list[dict]:
    """The intervals month by month: is the scheme getting faster or slower?"""
    trends = [
        (
            "chart-trend-acceptance",
            "Alert to acceptance, median per month (minutes)",
            lambda row: row.to_acceptance.median,
        ),
        ("chart-trend-on-scene", "Alert to on scene, median per month (minutes)", lambda row: row.to_on_scene.median),
        (
            "chart-trend-ahead",
            "When the crew was first: ahead of the ambulance, median per month (minutes)",
            lambda row: row.ahead_when_first.median,
        ),
    ]
    found = []
    for chart_id, title, value in trends:
        points = [_minutes_point(row.month, value(row)) for row in report.by_month]
        shown = [point for point in points if point is not None]
        found.append(
            {
                "title": title,
                "svg": charts.line_chart(
                    chart_id, title, charts.describe(shown, title.lower()), points, label_every=label_every
                ),
                "table": "table-response-times-by-month",
            }
        )
    first = [
        charts.Bar(
            _month_name(row.month),
            row.crew_first_percent or 0,
            Column("", "%", lambda r: r.crew_first_percent).shown(row),
        )
        for row in report.by_month
    ]
    found.append(
        {
            "title": "Crew first on scene, per month (% of crews timed against the ambulance)",
            "svg": charts.column_chart(
                "chart-trend-first",
                "Crew first on scene, per month (%)",
                charts.describe(first, "the share of crews first on scene per month"),
                first,
                label_every=label_every,
            ),
            "table": "table-response-times-by-month",
        }
    )
    return found


@dataclass(frozen=True)
class FirstOnScene:
    """ "First on scene: fire versus ambulance", in words and figures, with its drill-downs."""

    timed: int
    crew_first: int
    percent: str
    ahead_median: str
    behind_median: str
    timed_url: str
    first_url: str


def _first_on_scene(report: Report) -> FirstOnScene:
    total = report.total
    return FirstOnScene(
        timed=total.ahead_of_ambulance.count,
        crew_first=total.crew_first,
        percent=Column("", "%", lambda row: row.crew_first_percent).shown(total),
        ahead_median=Column("", "s", lambda row: row.ahead_when_first.median).shown(total),
        behind_median=Column("", "s", lambda row: row.behind_when_second.median).shown(total),
        timed_url=drilldown_url(report.filters, "timed"),
        first_url=drilldown_url(report.filters, "crew_first"),
    )


def _registry_tables(filters: ReportFilters) -> dict:
    """The Utstein template's figures and the alerting system's for the same period and station,
    each count linked to the incidents behind it."""
    period = registry.Period(filters.date_from, filters.date_to, filters.station)
    found = registry.cases(period)
    utstein = registry.utstein_figures(found)
    rows = []
    for group_index, row in enumerate(utstein.rows):
        cells = []
        for measure_index, (measure, _counts) in enumerate(registry.UTSTEIN_MEASURES):
            count = row.counts[measure]
            percent = row.percent(measure)
            text = f"{count:,}" + (f" ({percent:.1f} %)" if percent is not None else "")
            link = drilldown_url(filters, f"utstein:{group_index}:{measure_index}") if count else None
            cells.append((text, link))
        rows.append((row.group, cells))
    alerting = registry.alerting_figures(period, found)
    alerting_rows = []
    for name, unit, value in registry.ALERTING_MEASURES:
        figure = value(alerting)
        if figure is None:
            text = "—"
        elif unit == "s":
            text = _minutes_seconds(figure)
        elif unit == "%":
            text = f"{figure:.1f} %"
        else:
            text = f"{figure:,.1f}".removesuffix(".0") if isinstance(figure, float) else f"{figure:,}"
        alerting_rows.append((name, text))
    return {
        "utstein_headings": [measure for measure, _counts in registry.UTSTEIN_MEASURES],
        "utstein_rows": rows,
        "utstein_considered": utstein.considered,
        "utstein_not_attempted": utstein.not_attempted,
        "alerting_rows": alerting_rows,
    }


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
            first_on_scene=_first_on_scene(report),
            can_export_registry=request.user.has_perm(REGISTRY_PERMISSION),
            registry_urls=[
                (f"{reverse('admin-reports-registry', args=[kind])}?{_query_string(filters)}", words)
                for kind, words in REGISTRY_DOWNLOADS.items()
            ],
            **_registry_tables(filters),
            outcomes_owed=_outcomes_owed(request, filters),
        )
    return TemplateResponse(request, "admin/records/reports.html", context)


def _outcomes_owed(request, filters: ReportFilters) -> list[access.OwedOutcome]:
    """The crews' outcome forms owed and not filed in the period: they name who attended which
    incident, so each showing is audited as the drill-down's lists are, with how many."""
    owed = access.outcomes_owed_for_coordinator(
        request.user, since=filters.start, until=filters.end, station=filters.station
    )
    record(
        request.user,
        AuditAction.VIEW,
        "outcomes_owed",
        channel="admin",
        request=request,
        detail={**filters.as_audit_detail(), "count": len(owed)},
    )
    return owed


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


# --- The registry's downloads -------------------------------------------------------------------


def registry_export_view(request, kind: str):
    """The per-case registry CSV, or the Utstein or alerting figures, for the report's period and
    station (backend.records.registry). Health data: audited, with the period and the kind."""
    if not request.user.has_perm(REGISTRY_PERMISSION):
        raise PermissionDenied("You are not allowed to export the registry data.")
    if kind not in registry.KINDS:
        return HttpResponse(f"Not an export: {kind}.", status=404, content_type="text/plain; charset=utf-8")
    form = ReportFilterForm(request.GET)
    if not form.is_valid():
        messages = [f"{field}: {' '.join(errors)}" for field, errors in form.errors.items()]
        return HttpResponse("\n".join(messages), status=400, content_type="text/plain; charset=utf-8")
    filters = form.filters()
    period = registry.Period(filters.date_from, filters.date_to, filters.station)
    text = registry.export_csv(kind, period)
    record(
        request.user,
        AuditAction.EXPORT,
        "registry",
        channel="admin",
        request=request,
        detail={**period.as_audit_detail(), "kind": kind},
    )
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{registry.file_name(kind, period)}"'
    return response


# --- The drill-down -------------------------------------------------------------------------------


def _month_param(text: str | None) -> datetime.date | None:
    if not text:
        return None
    try:
        return datetime.datetime.strptime(text, "%Y-%m").date()
    except ValueError:
        return None


def incidents_view(request):
    """The incidents behind one figure of the reports. Which incidents had an arrest, a ROSC...
    is health data: each showing is audited with the filters, the figure and how many."""
    if not request.user.has_perm(REPORTS_PERMISSION):
        raise PermissionDenied("You are not allowed to see the scheme's reports.")
    form = ReportFilterForm(request.GET)
    figure = request.GET.get("figure", "")
    month = _month_param(request.GET.get("month"))
    try:
        title = drilldown.figure_title(figure)
    except drilldown.UnknownFigure:
        return HttpResponse("Not a figure of the reports.", status=404, content_type="text/plain; charset=utf-8")
    if not form.is_valid() or (request.GET.get("month") and month is None):
        return HttpResponse("Check the dates and the month.", status=400, content_type="text/plain; charset=utf-8")
    filters = form.filters()
    listed = drilldown.incidents_behind(figure, filters, month)
    record(
        request.user,
        AuditAction.VIEW,
        "report_incidents",
        channel="admin",
        request=request,
        detail={
            **filters.as_audit_detail(),
            "figure": figure,
            "month": request.GET.get("month") or None,
            "count": len(listed),
        },
    )
    scope = _month_name(month) if month else f"{_long_date(filters.date_from)} to {_long_date(filters.date_to)}"
    context = {
        **admin.site.each_context(request),
        "title": title,
        "scope": scope,
        "station": filters.station,
        "listed": listed,
        "truncated": len(listed) >= drilldown.MAX_LISTED,
        "shows_ahead": figure in ("timed", "crew_first"),
        "back_url": f"{reverse('admin-reports')}?{_query_string(filters)}",
    }
    return TemplateResponse(request, "admin/records/report_incidents.html", context)
