"""The incidents behind a figure of the reports (issue 16, item 5): a coordinator clicks a count
and sees which incidents it counts, each linked to the incident in the admin.

Each figure is counted here again, plainly, from the same rows and by the same definitions as
backend.records.reports (whose fast path counts without keeping the incidents): a figure and its
list cannot disagree, and tests/records/test_drilldown.py checks that they do not. The Utstein
template's figures (backend.records.registry) drill down by group and measure.
"""

import datetime
from dataclasses import dataclass

from django.db.models import Min, Q

from backend.dispatch.models import Incident
from backend.records import registry
from backend.records.models import AlertSummary, Outcome
from backend.records.months import end_of_month, month_number, start_of
from backend.records.reports import ATTEMPTED, UTSTEIN_GROUP, ReportFilters

# The figures of the reports' tables that drill down, and what each page is called.
FIGURES = {
    "incidents": "Incidents",
    "attended": "Medical emergencies attended",
    "accepted": "Incidents with an accepted alert",
    "timed": "Crews timed against the ambulance",
    "crew_first": "Crew first on scene",
    "attempted": "Resuscitation attempted",
    "rosc_at_handover": "ROSC at handover",
    "utstein_attempted": "Utstein group: resuscitation attempted",
    "utstein_rosc_at_handover": "Utstein group: ROSC at handover",
    "rosc_not_known": "ROSC at handover not known",
    "utstein_rosc_not_known": "Utstein group: ROSC at handover not known",
    "shocks": "Incidents with shocks by a crew",
}
MAX_LISTED = 1000


class UnknownFigure(ValueError):
    pass


@dataclass(frozen=True)
class Listed:
    incident: Incident
    stations: list[str]
    # Seconds the crew was ahead of the ambulance (negative: after), for the arrival figures.
    ahead_s: float | None = None

    @property
    def ahead_shown(self) -> str:
        if self.ahead_s is None:
            return "—"
        sign, whole = ("-" if self.ahead_s < 0 else ""), round(abs(self.ahead_s))
        return f"{sign}{whole // 60}:{whole % 60:02d}"


def _span(filters: ReportFilters, month: datetime.date | None) -> tuple[datetime.datetime, datetime.datetime]:
    if month is None:
        return filters.start, filters.end
    return max(filters.start, start_of(month)), min(filters.end, end_of_month(month_number(month)))


def incidents_behind(figure: str, filters: ReportFilters, month: datetime.date | None = None) -> list[Listed]:
    """The incidents the figure counts, oldest first (at most MAX_LISTED)."""
    since, until = _span(filters, month)
    summaries = AlertSummary.objects.filter(incident_created_at__gte=since, incident_created_at__lt=until)
    outcomes = Outcome.objects.filter(incident__created_at__gte=since, incident__created_at__lt=until)
    if filters.station is not None:
        summaries = summaries.filter(station=filters.station)
        outcomes = outcomes.filter(station=filters.station)
    ahead = {}
    if figure == "incidents":
        ids = summaries.values_list("incident_id", flat=True)
    elif figure == "attended":
        ids = summaries.filter(attended=True).values_list("incident_id", flat=True)
    elif figure == "accepted":
        ids = summaries.filter(to_acceptance_s__isnull=False).values_list("incident_id", flat=True)
    elif figure in ("timed", "crew_first"):
        ahead = _ahead_of_ambulance(outcomes, summaries)
        ids = [i for i, seconds in ahead.items() if figure == "timed" or seconds > 0]
    elif figure.startswith("utstein:"):
        return _utstein_listed(figure, filters, since, until)
    elif figure in ("rosc_not_known", "utstein_rosc_not_known"):
        # Attempted (in the group), and no form of the incident in it answers ROSC at handover.
        group = ATTEMPTED & UTSTEIN_GROUP if figure == "utstein_rosc_not_known" else ATTEMPTED
        in_group = set(outcomes.filter(group).values_list("incident_id", flat=True))
        known = outcomes.filter(group, rosc_at_handover__isnull=False).values_list("incident_id", flat=True)
        ids = in_group - set(known)
    else:
        wanted = {
            "attempted": ATTEMPTED,
            "rosc_at_handover": ATTEMPTED & Q(rosc_at_handover=True),
            "utstein_attempted": ATTEMPTED & UTSTEIN_GROUP,
            "utstein_rosc_at_handover": ATTEMPTED & UTSTEIN_GROUP & Q(rosc_at_handover=True),
            "shocks": Q(crew_shocks__gt=0),
        }.get(figure)
        if wanted is None:
            raise UnknownFigure(figure)
        ids = outcomes.filter(wanted).values_list("incident_id", flat=True)
    return _listed(set(ids), ahead)


def _ahead_of_ambulance(outcomes, summaries) -> dict[int, float]:
    """Per incident, seconds the crew was ahead of the ambulance, as the reports count it: each
    outcome form giving the ambulance's arrival, with the crew's from the form or else the
    earliest on-scene time on the station's attendance forms. With two crews' forms, the first."""
    earliest = {
        (row["incident_id"], row["station_id"]): row["first"]
        for row in summaries.filter(attended=True, form_on_scene_s__isnull=False)
        .values("incident_id", "station_id")
        .annotate(first=Min("form_on_scene_s"))
    }
    found: dict[int, float] = {}
    rows = outcomes.filter(ambulance_arrived_at__isnull=False).values_list(
        "incident_id", "station_id", "incident__created_at", "crew_arrived_at", "ambulance_arrived_at"
    )
    for incident_id, station_id, created_at, crew_at, ambulance_at in rows:
        if crew_at is None:
            after = earliest.get((incident_id, station_id))
            if after is None:
                continue
            crew_at = created_at + datetime.timedelta(seconds=after)
        seconds = (ambulance_at - crew_at).total_seconds()
        found[incident_id] = max(seconds, found.get(incident_id, seconds))
    return found


def _utstein_listed(figure: str, filters: ReportFilters, since, until) -> list[Listed]:
    """ "utstein:<group number>:<measure number>", in the order of registry's tables."""
    try:
        _, group_index, measure_index = figure.split(":")
        group_index, measure_index = int(group_index), int(measure_index)
        measure = registry.UTSTEIN_MEASURES[measure_index][0]
    except (ValueError, IndexError):
        raise UnknownFigure(figure) from None
    period = registry.Period(filters.date_from, filters.date_to, filters.station)
    found = [case for case in registry.cases(period) if since <= case.incident.created_at < until]
    rows = registry.utstein_figures(found).rows
    if not 0 <= group_index < len(rows):
        raise UnknownFigure(figure)
    return _listed(set(rows[group_index].incident_ids[measure]), {})


def _listed(ids: set[int], ahead: dict[int, float]) -> list[Listed]:
    incidents = (
        Incident.objects.filter(pk__in=ids)
        .order_by("created_at", "pk")
        .prefetch_related("alerts__station")[:MAX_LISTED]
    )
    return [
        Listed(incident, sorted({alert.station.name for alert in incident.alerts.all()}), ahead.get(incident.pk))
        for incident in incidents
    ]


def figure_title(figure: str) -> str:
    if figure.startswith("utstein:"):
        try:
            _, group_index, measure_index = figure.split(":")
            group = registry.UTSTEIN_GROUP_NAMES[int(group_index)]
            return f"Utstein template: {group}: {registry.UTSTEIN_MEASURES[int(measure_index)][0]}"
        except (ValueError, IndexError):
            raise UnknownFigure(figure) from None
    if figure not in FIGURES:
        raise UnknownFigure(figure)
    return FIGURES[figure]
