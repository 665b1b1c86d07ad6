"""The coordinators' reports (issue 5, item 6): the scheme's figures per station per month.

The number of queries is fixed (eight at most) whatever the number of incidents. Each month's
figures (MonthFigures: per station, counts and sorted interval values; and the counts over all
stations) come from one of two places:
- a whole month that has settled (backend.records.months: a week after its end, when nothing about
  its incidents changes but by an amendment) is read from its kept figures (ReportMonth), while no
  change to its incidents has been counted since they were worked out;
- any other month, or part of one, is worked out in two passes, one over the alerts' summaries
  (AlertSummary: one narrow row per alert, kept up by the actions) and one over the outcome forms,
  each query returning a few numbers per row; the counts, distinct counts and groups of interval
  values are made here in one loop. A whole settled month worked out for all stations is kept.
Measured with 50,000 incidents over 5 years and 40 stations (bench/reports.py): working every
month out takes about a second; reading the kept months, about a quarter of that. Medians and 90th
percentiles are interpolated here like PostgreSQL's PERCENTILE_CONT, so SQLite and PostgreSQL
give the same answer, and kept figures give the same as worked-out ones (the values are kept
exactly, in JSON).

What is counted (the reports page says the same in words):
- An incident belongs to the month it was created in (local time, settings.TIME_ZONE) and to every
  station whose firefighters were alerted to it: the station each firefighter belonged to when
  alerted (a firefighter who moves later is still counted where they were).
- Incidents: incidents with at least one alert. Medical emergencies attended: incidents at which
  at least one firefighter's attendance says attended. Attendances: firefighters who attended.
  Across stations an incident counts once, so a total is not always the sum of the stations' rows.
- Alert to acceptance: each accepted alert, accepted_at - the alert it answered. Alert to on scene:
  each firefighter who got there (not those whose attendance says they did not), the attendance's
  on-scene time (the crew's correction) or else the alert's, minus the alert it answered. The alert
  answered is the latest re-alert before the answer, else the first alert (Alert.answered_alert):
  a responder stood down and alerted again is timed from the re-alert, their stood-down answer
  cleared by it (dispatch/actions.py: _ask_afresh).
- Crew first on scene: each outcome form giving the ambulance's arrival and the crew's (the form's
  crew_arrived_at, or else the earliest on-scene time of the station's attendances); the crew was
  first when it arrived strictly before the ambulance. "Ahead" is by how long (negative: after).
- ROSC at handover among resuscitations attempted, overall and for the Utstein comparison group
  (bystander-witnessed, first rhythm shock advised), counted per incident: two crews' forms about
  one patient count once, and the patient counts as ROSC at handover if either form says so.
- Shocks by crews: the sum of every crew's shocks.
- Running total: medical emergencies attended from the scheme's start (RECORDS_SCHEME_STARTED, else
  the day of the first incident) to the end of each month. The station filter applies to it; the
  start date does not.
"""

import bisect
import datetime
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from functools import cached_property

from django.conf import settings
from django.db import connection, transaction
from django.db.models import (
    Case,
    Count,
    F,
    FloatField,
    Func,
    IntegerField,
    Min,
    Q,
    Value,
    When,
)
from django.utils import timezone

from backend.accounts.models import Station
from backend.dispatch.models import Incident
from backend.records import summaries
from backend.records.models import AlertSummary, FirstRhythm, Outcome, ReportMonth, Witnessed
from backend.records.months import (
    KEPT_AFTER,
    end_of_month,
    is_settled,
    month_number,
    month_of_number,
    months_between,
    start_of,
)

ATTEMPTED = Q(resuscitation_attempted=True)
UTSTEIN_GROUP = Q(witnessed=Witnessed.BYSTANDER, first_rhythm=FirstRhythm.SHOCK_ADVISED)


class SecondsBetween(Func):
    """`later - earlier` in seconds, computed by the database (a float on both engines)."""

    arity = 2
    output_field = FloatField()

    @property
    def convert_value(self):
        # The database returns a float already: no Python call per row to convert it.
        return self._convert_value_noop

    def as_sql(self, compiler, connection, **extra):
        template = "CAST(EXTRACT(EPOCH FROM (%(expressions)s)) AS double precision)"
        return super().as_sql(compiler, connection, template=template, arg_joiner=" - ", **extra)

    def as_sqlite(self, compiler, connection, **extra):
        # julianday() is SQLite's own date parser: no Python function is called per row.
        template = "((julianday(%(expressions)s)) * 86400.0)"
        return super().as_sql(compiler, connection, template=template, arg_joiner=") - julianday(", **extra)


# --- Months -----------------------------------------------------------------------------------


class NumberCase(Case):
    """A CASE giving an integer (a month_number, a yes/no as 1/0): used as the database gives it,
    with no Python call per row to convert it."""

    @property
    def convert_value(self):
        return self._convert_value_noop


class PostgresMonthBucket(Func):
    """month_number by PostgreSQL's width_bucket: a binary search of the months' first moments in
    a native array (twice as fast as converting each time to local time and taking it apart)."""

    arity = 1
    output_field = IntegerField()

    def __init__(self, expression, months: list[datetime.date]):
        super().__init__(expression)
        self.first = month_number(months[0])
        self.boundaries = [start_of(month) for month in months[1:]]

    @property
    def convert_value(self):
        return self._convert_value_noop

    def as_postgresql(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.get_source_expressions()[0])
        return f"(width_bucket({sql}, %s::timestamptz[]) + %s)", (*params, self.boundaries, self.first)


def local_month(path: str, months: list[datetime.date]):
    """The month_number of the local month the time at `path` falls in, for times inside `months`.

    Both ways are a binary search of the months' first moments, computed here in local time (so
    right across the clock changes) and compared natively by the database: PostgreSQL's
    width_bucket, and elsewhere (SQLite, whose date functions Django runs in Python, once a row)
    nested CASE expressions."""
    if len(months) > 1 and connection.vendor == "postgresql":
        return PostgresMonthBucket(F(path), months)

    def within(low: int, high: int):
        if high - low == 1:
            return Value(month_number(months[low]), output_field=IntegerField())
        middle = (low + high) // 2
        return NumberCase(
            When(**{f"{path}__lt": start_of(months[middle])}, then=within(low, middle)),
            default=within(middle, high),
            output_field=IntegerField(),
        )

    return within(0, len(months))


# --- Filters ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportFilters:
    """Incidents created from date_from to date_to inclusive (local dates), for one station or all."""

    date_from: datetime.date
    date_to: datetime.date
    station: Station | None = None

    @property
    def start(self) -> datetime.datetime:
        return start_of(self.date_from)

    @property
    def end(self) -> datetime.datetime:
        """The first moment after the range."""
        return start_of(self.date_to + datetime.timedelta(days=1))

    def months(self) -> list[datetime.date]:
        return months_between(self.date_from, self.date_to)

    def as_audit_detail(self) -> dict:
        """The filters as dates and ids, for the audit trail."""
        return {
            "date_from": self.date_from.isoformat(),
            "date_to": self.date_to.isoformat(),
            "station_id": self.station.pk if self.station else None,
        }


def default_date_range(today: datetime.date | None = None) -> tuple[datetime.date, datetime.date]:
    """The last twelve months: the twelve whole months before this one, and this month so far (on
    3 December 2026: 1 December 2025 to 3 December 2026). Starting eleven months back began on
    1 January in December, leaving out most of the last twelve months; starting on a month's first
    day (not a year ago to the day) keeps every month but the current one whole, so none is shown
    part-counted and the kept figures of settled months serve it."""
    today = today or timezone.localdate()
    return month_of_number(month_number(today) - 12), today


# --- Figures ----------------------------------------------------------------------------------


def percentile(ordered: list[float], fraction: float) -> float | None:
    """Linear interpolation between closest ranks of sorted values, as PostgreSQL's PERCENTILE_CONT."""
    if not ordered:
        return None
    position = (len(ordered) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass(frozen=True)
class Spread:
    """How many values, their median and their 90th percentile (seconds)."""

    count: int = 0
    median: float | None = None
    p90: float | None = None

    @classmethod
    def of_sorted(cls, ordered: list[float]) -> "Spread":
        return cls(len(ordered), percentile(ordered, 0.5), percentile(ordered, 0.9))


@dataclass
class Counts:
    """The figures that are counts."""

    incidents: int = 0
    emergencies_attended: int = 0
    attendances: int = 0
    resuscitation_attempted: int = 0
    rosc_at_handover: int = 0
    # Attempted, with ROSC at handover answered (yes or no): the ROSC percentages are of these, so
    # that a form leaving it not known counts neither as ROSC nor as no ROSC.
    rosc_at_handover_known: int = 0
    utstein_attempted: int = 0
    utstein_rosc_at_handover: int = 0
    utstein_rosc_at_handover_known: int = 0
    crew_shocks: int = 0

    def add(self, other: "Counts") -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


class IntervalValues:
    """The interval values of a report, in sorted groups by (station id, month_number)."""

    def __init__(self, to_acceptance: dict, to_on_scene: dict, ahead_of_ambulance: dict):
        self.groups = {
            "to_acceptance": to_acceptance,
            "to_on_scene": to_on_scene,
            "ahead_of_ambulance": ahead_of_ambulance,
        }

    @classmethod
    def of(cls, figures: dict) -> "IntervalValues":
        """From MonthFigures by month_number."""
        grouped = {name: {} for name in INTERVALS}
        for month, month_figures in figures.items():
            for station_id, part in month_figures.stations.items():
                for name in INTERVALS:
                    grouped[name][(station_id, month)] = getattr(part, name)
        return cls(**grouped)

    def merged(self, name: str, keys: list) -> list[float]:
        """The sorted values of several groups together (sorting sorted runs is fast)."""
        grouped = self.groups[name]
        if len(keys) == 1:
            return grouped.get(keys[0], [])
        merged = []
        for key in keys:
            merged.extend(grouped.get(key, ()))
        merged.sort()
        return merged


@dataclass(eq=False)
class Row:
    """All the figures of one station in one month, or of a total over stations or months. The
    medians and percentiles are worked out when first asked for: the page and the CSV need
    different rows."""

    station: Station | None
    month: datetime.date | None
    counts: Counts = field(default_factory=Counts)
    # Medical emergencies attended from the scheme's start to the end of this row's period.
    running_total: int = 0
    values: IntervalValues | None = field(default=None, repr=False)
    keys: list = field(default_factory=list, repr=False)

    def _spread(self, name: str) -> Spread:
        return Spread.of_sorted(self.values.merged(name, self.keys)) if self.values else Spread()

    @cached_property
    def to_acceptance(self) -> Spread:
        return self._spread("to_acceptance")

    @cached_property
    def to_on_scene(self) -> Spread:
        return self._spread("to_on_scene")

    @cached_property
    def _ahead(self) -> list[float]:
        return self.values.merged("ahead_of_ambulance", self.keys) if self.values else []

    @cached_property
    def ahead_of_ambulance(self) -> Spread:
        """Seconds the crew arrived before the ambulance (negative: after), one per outcome form."""
        return Spread.of_sorted(self._ahead)

    @cached_property
    def crew_first(self) -> int:
        # The values are sorted: those above zero are at the end.
        return len(self._ahead) - bisect.bisect_right(self._ahead, 0.0)

    @cached_property
    def ahead_when_first(self) -> Spread:
        """Seconds ahead of the ambulance, of the crews that got there first (the figure the
        ambulance trust publishes: "about 3 minutes ahead")."""
        return Spread.of_sorted(self._ahead[bisect.bisect_right(self._ahead, 0.0) :])

    @cached_property
    def behind_when_second(self) -> Spread:
        """Seconds after the ambulance, of the crews that got there after it (as positive values)."""
        return Spread.of_sorted(sorted(-value for value in self._ahead[: bisect.bisect_right(self._ahead, 0.0)]))

    @property
    def crew_first_percent(self) -> float | None:
        return _percent(self.crew_first, self.ahead_of_ambulance.count)

    @property
    def rosc_percent(self) -> float | None:
        """Of the attempts whose ROSC at handover is known (records made before it could be left
        not known all are)."""
        return _percent(self.counts.rosc_at_handover, self.counts.rosc_at_handover_known)

    @property
    def utstein_rosc_percent(self) -> float | None:
        return _percent(self.counts.utstein_rosc_at_handover, self.counts.utstein_rosc_at_handover_known)

    @property
    def rosc_not_known(self) -> int:
        return self.counts.resuscitation_attempted - self.counts.rosc_at_handover_known

    @property
    def utstein_rosc_not_known(self) -> int:
        return self.counts.utstein_attempted - self.counts.utstein_rosc_at_handover_known


def _percent(part: int, whole: int) -> float | None:
    return None if not whole else 100.0 * part / whole


@dataclass
class Report:
    filters: ReportFilters
    stations: list[Station]
    months: list[datetime.date]
    by_station: list[Row]
    by_month: list[Row]
    total: Row
    scheme_started: datetime.date | None
    # Keyed by (station id, month_number).
    cells: dict[tuple[int, int], Row]

    def cell(self, station: Station, month: datetime.date) -> Row:
        return self.cells[(station.pk, month_number(month))]

    def station_month_rows(self) -> list[Row]:
        """One row per station per month: stations in name order, each with its months in order."""
        return [self.cell(station, month) for station in self.stations for month in self.months]


# --- Building a report ------------------------------------------------------------------------


def build_report(filters: ReportFilters) -> Report:
    """Every figure of the report, in at most eight queries once the alerts' summaries are caught up
    (one query when none is behind: backend.records.summaries)."""
    summaries.catch_up()
    if connection.vendor != "postgresql":
        # No transaction: the product's SQLite transactions are IMMEDIATE, and holding the write
        # lock for as long as a report takes would hold up a dispatch.
        return _build_report(filters)
    with transaction.atomic():
        _tune_postgresql()
        return _build_report(filters)


def _tune_postgresql() -> None:
    """For this transaction only: no JIT compilation (these queries' estimated costs pass
    jit_above_cost, and compiling them took longer than running them: about 1.4 s against 1 s
    with 50,000 incidents), and room to sort in memory rather than on disk."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('jit', 'off', true), set_config('work_mem', '64MB', true)")


def _build_report(filters: ReportFilters) -> Report:
    stations = [filters.station] if filters.station else list(Station.objects.order_by("name"))
    months = filters.months()
    numbers = [month_number(month) for month in months]
    figures = month_figures(filters, months)
    values = IntervalValues.of(figures)

    cells = {}
    for station in stations:
        for n in numbers:
            cell = cells[(station.pk, n)] = Row(station, month_of_number(n), values=values, keys=[(station.pk, n)])
            part = figures[n].stations.get(station.pk)
            if part is not None:
                cell.counts.add(part.counts)
    by_month = {
        n: Row(None, month_of_number(n), values=values, keys=[(station.pk, n) for station in stations]) for n in numbers
    }
    for n, row in by_month.items():
        for key in row.keys:
            row.counts.add(cells[key].counts)
        if filters.station is None:
            # Over several stations an incident alerted to two of them counts once.
            for name in DISTINCT_OVER_STATIONS:
                setattr(row.counts, name, getattr(figures[n].overall, name))
    scheme_started = scheme_start_date()
    _set_running_totals(cells, by_month, filters, scheme_started)

    by_station = []
    for station in stations:
        row = Row(station, None, values=values, keys=[(station.pk, n) for n in numbers])
        for key in row.keys:
            row.counts.add(cells[key].counts)
        row.running_total = cells[row.keys[-1]].running_total
        by_station.append(row)
    total = Row(None, None, values=values, keys=list(cells))
    for row in by_month.values():
        total.counts.add(row.counts)
    total.running_total = by_month[numbers[-1]].running_total

    return Report(
        filters=filters,
        stations=stations,
        months=months,
        by_station=by_station,
        by_month=list(by_month.values()),
        total=total,
        scheme_started=scheme_started,
        cells=cells,
    )


# --- The figures of each month --------------------------------------------------------------------

# The counts in which, over several stations, an incident counts once (the others are sums).
DISTINCT_OVER_STATIONS = (
    "incidents",
    "emergencies_attended",
    "resuscitation_attempted",
    "rosc_at_handover",
    "rosc_at_handover_known",
    "utstein_attempted",
    "utstein_rosc_at_handover",
    "utstein_rosc_at_handover_known",
)
INTERVALS = ("to_acceptance", "to_on_scene", "ahead_of_ambulance")
# Goes up whenever MonthFigures.to_json changes shape: kept figures of another shape are not read.
FIGURES_FORMAT = 2


@dataclass
class StationMonth:
    """One station's figures in one month: its counts and its interval values, sorted."""

    counts: Counts = field(default_factory=Counts)
    to_acceptance: list[float] = field(default_factory=list)
    to_on_scene: list[float] = field(default_factory=list)
    ahead_of_ambulance: list[float] = field(default_factory=list)


@dataclass
class MonthFigures:
    """All the figures of one month: each station's, and the counts over all the stations
    together (DISTINCT_OVER_STATIONS; the others are not used from here)."""

    stations: dict[int, StationMonth] = field(default_factory=dict)
    overall: Counts = field(default_factory=Counts)

    def station(self, station_id: int) -> StationMonth:
        part = self.stations.get(station_id)
        if part is None:
            part = self.stations[station_id] = StationMonth()
        return part

    def to_json(self) -> dict:
        return {
            "format": FIGURES_FORMAT,
            "overall": asdict(self.overall),
            "stations": {
                str(station_id): {"counts": asdict(part.counts), **{name: getattr(part, name) for name in INTERVALS}}
                for station_id, part in self.stations.items()
            },
        }

    @classmethod
    def from_json(cls, data: dict) -> "MonthFigures":
        stations = {
            int(station_id): StationMonth(Counts(**part["counts"]), *(part[name] for name in INTERVALS))
            for station_id, part in data["stations"].items()
        }
        return cls(stations=stations, overall=Counts(**data["overall"]))


def month_figures(filters: ReportFilters, months: list[datetime.date]) -> dict[int, MonthFigures]:
    """The figures of each month in the range, by month_number. A whole month that has settled
    (backend.records.months) is read from its kept figures (ReportMonth) while they are current;
    every other month, or part of one, is worked out from the alerts' summaries and the outcome
    forms, and a whole settled month worked out for all stations is kept for the next report."""
    numbers = [month_number(month) for month in months]
    now = timezone.now()
    keepable = [n for n in numbers if _whole_month_within(n, filters) and is_settled(n, now, KEPT_AFTER)]
    # Read before the alerts and forms: a change committed after this read counts the month's
    # changes up, so figures kept from an older view of the month are never taken as current.
    kept = {row.month: row for row in ReportMonth.objects.filter(month__in=keepable)} if keepable else {}
    figures = {n: MonthFigures.from_json(row.figures) for n, row in kept.items() if _is_current(row)}
    to_work_out = [n for n in numbers if n not in figures]
    if to_work_out:
        worked_out = _work_out(filters, months, to_work_out)
        figures.update({n: worked_out.get(n) or MonthFigures() for n in to_work_out})
        if filters.station is None:
            _keep([n for n in to_work_out if n in keepable], figures, kept, now)
    return figures


def keep_settled_months() -> None:
    """Work out and keep the figures of every settled month since the first incident, so that
    after the summaries are rebuilt the first report is not the one to wait for them."""
    first = Incident.objects.aggregate(first=Min("created_at"))["first"]
    if first is not None:
        filters = ReportFilters(timezone.localtime(first).date().replace(day=1), timezone.localdate())
        month_figures(filters, filters.months())


def _whole_month_within(number: int, filters: ReportFilters) -> bool:
    return filters.start <= start_of(month_of_number(number)) and end_of_month(number) <= filters.end


def _is_current(row: ReportMonth) -> bool:
    return (
        row.figures is not None
        and row.figures.get("format") == FIGURES_FORMAT
        and row.built_from == row.changes
        and row.time_zone == settings.TIME_ZONE
    )


def _keep(numbers: list[int], figures: dict, kept: dict, now: datetime.datetime) -> None:
    """Store these months' figures, as of the changes count read before working them out."""
    if not numbers:
        return
    rows = []
    for n in numbers:
        changes = kept[n].changes if n in kept else 0
        rows.append(
            ReportMonth(
                month=n,
                changes=changes,
                built_from=changes,
                time_zone=settings.TIME_ZONE,
                figures=figures[n].to_json(),
                built_at=now,
            )
        )
    # A month counted up since the read keeps its higher count (and so is worked out again).
    ReportMonth.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["month"],
        update_fields=["built_from", "time_zone", "figures", "built_at"],
    )


def _work_out(filters: ReportFilters, months: list[datetime.date], numbers: list[int]) -> dict[int, MonthFigures]:
    """The figures of these months (their parts within the range) from the alerts' summaries and
    the outcome forms: one query each."""
    spans = _spans_of(filters, numbers)
    alerts = _alerts_in(spans, filters.station).annotate(report_month=local_month("incident_created_at", months))
    outcomes = _outcomes_in(spans, filters.station).annotate(report_month=local_month("incident__created_at", months))
    figures = defaultdict(MonthFigures)
    alert_figures = AlertFigures(alerts)
    alert_figures.add_to(figures)
    OutcomeFigures(outcomes, alert_figures.crew_on_scene).add_to(figures)
    return figures


def _spans_of(filters: ReportFilters, numbers: list[int]) -> list[tuple[datetime.datetime, datetime.datetime]]:
    """The times these months cover within the range, consecutive months as one span."""
    spans = []
    for n in sorted(numbers):
        since = max(filters.start, start_of(month_of_number(n)))
        until = min(filters.end, end_of_month(n))
        if spans and spans[-1][1] == since:
            spans[-1] = (spans[-1][0], until)
        else:
            spans.append((since, until))
    return spans


def _created_within(path: str, spans) -> Q:
    within = Q()
    for since, until in spans:
        within |= Q(**{f"{path}__gte": since, f"{path}__lt": until})
    return within


def _alerts_in(spans, station: Station | None):
    """The alerts' summaries (backend.records.summaries): one narrow row per alert, no joins."""
    alerts = AlertSummary.objects.filter(_created_within("incident_created_at", spans))
    if station:
        alerts = alerts.filter(station=station)
    return alerts.order_by()


def _outcomes_in(spans, station: Station | None):
    outcomes = Outcome.objects.filter(_created_within("incident__created_at", spans))
    if station:
        outcomes = outcomes.filter(station=station)
    return outcomes.order_by()


def _rows_of(query) -> Iterator[tuple]:
    """The rows of a values_list query, straight from a database cursor, a chunk at a time (these
    are the report's largest results: one row per alert). Every column of these queries comes
    from the database in its final form (no converters), and skipping Django's handling of each
    chunk saves about 15% of the time of fetching 195,000 alerts."""
    sql, params = query.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        while chunk := cursor.fetchmany(10_000):
            yield from chunk


class AlertFigures:
    """Everything the report takes from the alerts, from one query over their summaries returning
    a few numbers per alert: (station, month, incident, attended, seconds to acceptance, seconds
    to on scene, and the attendance form's on-scene time as seconds after the incident was
    created). The counts are made here, while grouping the values: one pass cost the database
    about as much as one grouped count. The last number lets OutcomeFigures work out a crew's
    arrival without joining the forms again."""

    def __init__(self, alerts):
        rows = alerts.values_list(
            "station_id",
            "report_month",
            "incident_id",
            "attended",
            "to_acceptance_s",
            "to_on_scene_s",
            "form_on_scene_s",
        )
        # Per (station id, month_number): the incidents alerted, those attended, attendances,
        # the seconds to acceptance and to on scene (one dictionary look-up per alert).
        self.groups: dict[tuple[int, int], AlertGroup] = {}
        # Per (incident id, station id): the earliest on-scene time on the attendance forms of the
        # station's firefighters who attended, as seconds after the incident was created.
        self.crew_on_scene = {}
        for station_id, month, incident_id, attended, accepted, arrived_after, form_on_scene in _rows_of(rows):
            group = self.groups.get((station_id, month))
            if group is None:
                group = self.groups[(station_id, month)] = AlertGroup()
            group.incidents.add(incident_id)
            if attended:
                group.attended.append(incident_id)
                if form_on_scene is not None:
                    crew = (incident_id, station_id)
                    earliest = self.crew_on_scene.get(crew)
                    if earliest is None or form_on_scene < earliest:
                        self.crew_on_scene[crew] = form_on_scene
            if accepted is not None:
                group.to_acceptance.append(accepted)
            # Only for accepted alerts (summary_values): nobody gets there without accepting.
            if arrived_after is not None:
                group.to_on_scene.append(arrived_after)
        for group in self.groups.values():
            group.to_acceptance.sort()
            group.to_on_scene.sort()

    def add_to(self, figures: dict) -> None:
        """Incidents, emergencies attended, attendances and intervals: per station per month, and
        per month over all stations, each incident once. (Attendances belong to one station each:
        their sums are already right.)"""
        incidents, attended = defaultdict(set), defaultdict(set)
        for (station_id, month), group in self.groups.items():
            part = figures[month].station(station_id)
            part.counts.incidents = len(group.incidents)
            part.counts.emergencies_attended = len(set(group.attended))
            part.counts.attendances = len(group.attended)
            part.to_acceptance, part.to_on_scene = group.to_acceptance, group.to_on_scene
            incidents[month] |= group.incidents
            attended[month].update(group.attended)
        for month, alerted in incidents.items():
            figures[month].overall.incidents = len(alerted)
            figures[month].overall.emergencies_attended = len(attended[month])


class AlertGroup:
    """What AlertFigures gathers for one station in one month."""

    __slots__ = ("attended", "incidents", "to_acceptance", "to_on_scene")

    def __init__(self):
        self.incidents = set()
        self.attended = []  # the incident of each attendance
        self.to_acceptance, self.to_on_scene = [], []


class OutcomeFigures:
    """Everything the report takes from the outcome forms, from one query returning a few numbers
    per form: (station, month, incident, which counts it is in, crew shocks, and the ambulance's
    arrival after the crew's and after the incident was created)."""

    # The counts an outcome form can be in, each a bit of the number the query gives per form.
    # Each is among those attempted: a form in any of them is in the first. Over several stations
    # an incident's bits are or-ed: ROSC if either form says so, known if either answered.
    FLAGS = {
        "resuscitation_attempted": 1,
        "rosc_at_handover": 2,
        "utstein_attempted": 4,
        "utstein_rosc_at_handover": 8,
        "rosc_at_handover_known": 16,
        "utstein_rosc_at_handover_known": 32,
    }
    # Where the shocks are kept in a station's list of how many forms have each combination of bits.
    SHOCKS = 64

    def __init__(self, outcomes, crew_on_scene: dict):
        """`crew_on_scene`: AlertFigures.crew_on_scene, for the forms that do not give the crew's
        arrival."""
        with_rosc = Q(rosc_at_handover=True)
        known = Q(rosc_at_handover__isnull=False)
        in_counts = NumberCase(
            When(ATTEMPTED & UTSTEIN_GROUP & with_rosc, then=Value(1 | 2 | 4 | 8 | 16 | 32)),
            When(ATTEMPTED & UTSTEIN_GROUP & known, then=Value(1 | 4 | 16 | 32)),
            When(ATTEMPTED & UTSTEIN_GROUP, then=Value(1 | 4)),
            When(ATTEMPTED & with_rosc, then=Value(1 | 2 | 16)),
            When(ATTEMPTED & known, then=Value(1 | 16)),
            When(ATTEMPTED, then=Value(1)),
            default=Value(0),
            output_field=IntegerField(),
        )
        rows = outcomes.values_list(
            "station_id",
            "report_month",
            "incident_id",
            in_counts,
            "crew_shocks",
            # None without the ambulance's time, or without the crew's on the form.
            SecondsBetween(F("ambulance_arrived_at"), F("crew_arrived_at")),
            SecondsBetween(F("ambulance_arrived_at"), F("incident__created_at")),
        )
        # Per (station id, month_number): how many forms give each combination of bits, and the
        # shocks. Within one station there is one form per incident, so forms are counted.
        self.per_station = defaultdict(lambda: [0] * (self.SHOCKS + 1))
        # Per month_number: the bits of each incident's forms together (across stations an
        # incident counts once, with ROSC if either crew's form says so).
        self.per_month = defaultdict(dict)
        ahead_values = defaultdict(list)
        for station_id, month, incident_id, bits, shocks, ahead, ambulance_after in _rows_of(rows):
            found = self.per_station[(station_id, month)]
            found[bits] += 1
            found[self.SHOCKS] += shocks
            if bits:
                incidents = self.per_month[month]
                incidents[incident_id] = incidents.get(incident_id, 0) | bits
            if ahead is None and ambulance_after is not None:
                # The ambulance's time but not the crew's: the crew's from the attendance forms
                # (none when nobody's form gives an on-scene time). Both are seconds after the
                # incident was created, so their difference is the interval between them.
                crew_after = crew_on_scene.get((incident_id, station_id))
                ahead = None if crew_after is None else ambulance_after - crew_after
            if ahead is not None:
                ahead_values[(station_id, month)].append(ahead)
        self.ahead = ahead_values

    def add_to(self, figures: dict) -> None:
        """ROSC, the Utstein group, shocks and the crews' arrival against the ambulance's, per
        station per month (each form counts), and the counts per month over all stations, each
        incident once. (Shocks belong to one station each: their sums are already right.)"""
        for (station_id, month), found in self.per_station.items():
            counts = figures[month].station(station_id).counts
            for name, bit in self.FLAGS.items():
                setattr(counts, name, sum(n for bits, n in enumerate(found[: self.SHOCKS]) if bits & bit))
            counts.crew_shocks = found[self.SHOCKS]
        for (station_id, month), values in self.ahead.items():
            values.sort()
            figures[month].station(station_id).ahead_of_ambulance = values
        for month, incidents in self.per_month.items():
            for name, bit in self.FLAGS.items():
                setattr(figures[month].overall, name, sum(1 for bits in incidents.values() if bits & bit))


# --- The running total ------------------------------------------------------------------------


def scheme_start_date() -> datetime.date | None:
    """RECORDS_SCHEME_STARTED, or else the day of the first incident (None before there is one)."""
    configured = getattr(settings, "RECORDS_SCHEME_STARTED", None)
    if configured:
        return configured
    first = Incident.objects.aggregate(first=Min("created_at"))["first"]
    return timezone.localtime(first).date() if first else None


def _set_running_totals(cells: dict, by_month: dict, filters: ReportFilters, started: datetime.date | None) -> None:
    """Each row's running total: the emergencies attended in its months so far (already counted),
    plus those from the scheme's start to the start of the range; or, when the scheme started
    inside the range, minus those before its start. Two queries."""
    if started is None:
        return
    scheme_start = start_of(started)
    if scheme_start <= filters.start:
        sign, since, until = 1, scheme_start, filters.start
    else:
        sign, since, until = -1, filters.start, min(scheme_start, filters.end)
    per_station, overall = _attended_between(since, until, filters.station)
    rows_by_station = defaultdict(list)
    for (station_id, _month), row in sorted(cells.items(), key=lambda item: item[0]):
        rows_by_station[station_id].append(row)
    for station_id, rows in rows_by_station.items():
        _accumulate(rows, sign * per_station.get(station_id, 0))
    _accumulate([by_month[n] for n in sorted(by_month)], sign * overall)


def _attended_between(since: datetime.datetime, until: datetime.datetime, station: Station | None):
    """Emergencies attended by incidents created in [since, until): per station, and overall."""
    alerts = AlertSummary.objects.filter(attended=True, incident_created_at__gte=since, incident_created_at__lt=until)
    if station:
        alerts = alerts.filter(station=station)
    per_station = dict(
        alerts.order_by()
        .values("station_id")
        .annotate(n=Count("incident", distinct=True))
        .values_list("station_id", "n")
    )
    overall = alerts.aggregate(n=Count("incident", distinct=True))["n"]
    return per_station, overall


def _accumulate(rows_in_order: list[Row], base: int) -> None:
    running = base
    for row in rows_in_order:
        running += row.counts.emergencies_attended
        row.running_total = max(running, 0)
