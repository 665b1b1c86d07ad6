"""Handing the scheme's data on (issue 16, item 4): a per-case CSV for the Out-of-Hospital Cardiac
Arrest Outcomes registry (University of Warwick), the Utstein template's figures for a period, and
the smartphone-alerting system's figures (Müller et al., Resuscitation 2024). docs/registry.md
says what each column is, where it comes from and what is left empty.

A case is an incident with at least one crew's outcome form, keyed by its CAD reference (which
links it to the ambulance service's record, and through it to the registry's later outcomes:
survival, neurological outcome). No patient identifiers: no name, date of birth, NHS number,
address or position; the age is a band. Where two crews filed a form about one patient, the case
takes the patient's details from the crew that got there first and the outcome from both (ROSC if
either says so; shocks added up). An outcome-at-handover question no crew answered is written empty
(not known), never "no", and is left out of that measure's percentage in the Utstein figures; so is
whether the collapse time is an estimate when the crew did not say.

Who may: records.export_registry (coordinators); every export is audited with its period and
kind (backend.records.admin_reports, and the command `manage.py export_registry`).
"""

import csv
import datetime
import io
import statistics
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Prefetch

from backend.dispatch.models import Alert, Incident
from backend.records.models import (
    CadTimes,
    FirstRhythm,
    Outcome,
    Witnessed,
    YesNoUnknown,
)
from backend.records.reports import ReportFilters

# A spreadsheet treats a cell starting with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
KINDS = ("cases", "utstein", "alerting")


@dataclass(frozen=True)
class Period(ReportFilters):
    """The reports' period (incidents created from date_from to date_to inclusive, local dates);
    with a station, only the cases its crews filed a form about and the alerts of its firefighters."""

    def as_audit_detail(self) -> dict:
        return {
            "date_from": self.date_from.isoformat(),
            "date_to": self.date_to.isoformat(),
            "station_id": self.station.pk if self.station else None,
        }


# --- Cases ------------------------------------------------------------------------------------


@dataclass
class Case:
    """One incident's outcome forms as one case."""

    incident: Incident
    forms: list[Outcome]
    cad_times: CadTimes | None
    first_alerted_at: datetime.datetime | None
    stations: list[str] = field(default_factory=list)

    @property
    def first_form(self) -> Outcome:
        """The form of the crew that got there first (the patient's details are taken from it)."""
        return min(self.forms, key=lambda form: (form.crew_arrived_at is None, form.crew_arrived_at, form.pk))

    def any_form(self, name: str) -> bool:
        return any(getattr(form, name) for form in self.forms)

    def answer(self, name: str) -> bool | None:
        """A yes/no question the crews may have left not known (None): yes if any form says yes, else
        no if any says no, else not known."""
        answers = {getattr(form, name) for form in self.forms}
        if True in answers:
            return True
        return False if False in answers else None

    @property
    def attempted(self) -> bool:
        return self.any_form("resuscitation_attempted")

    @property
    def crew_arrived_at(self) -> datetime.datetime | None:
        times = [form.crew_arrived_at for form in self.forms if form.crew_arrived_at is not None]
        return min(times, default=None)

    @property
    def call_received_at(self) -> datetime.datetime | None:
        """The 999 call, as the CAD sent it (None until it does)."""
        return self.cad_times.call_received_at if self.cad_times is not None else None

    @property
    def ambulance_at_scene_at(self) -> datetime.datetime | None:
        """The CAD's time where it sent one (the ambulance service's own), else the crews'."""
        if self.cad_times is not None and self.cad_times.ambulance_at_scene_at is not None:
            return self.cad_times.ambulance_at_scene_at
        times = [form.ambulance_arrived_at for form in self.forms if form.ambulance_arrived_at is not None]
        return min(times, default=None)

    @property
    def witnessed(self) -> str:
        return self.first_form.witnessed

    @property
    def shockable(self) -> bool:
        return any(form.first_rhythm == FirstRhythm.SHOCK_ADVISED for form in self.forms)

    @property
    def bystander_cpr(self) -> bool:
        return any(form.bystander_cpr == YesNoUnknown.YES for form in self.forms)

    @property
    def fire_first_by_s(self) -> float | None:
        """Seconds the fire crew was on scene before the ambulance (negative: after); None without both."""
        crew, ambulance = self.crew_arrived_at, self.ambulance_at_scene_at
        return None if crew is None or ambulance is None else (ambulance - crew).total_seconds()


def cases(period: Period, *, incident_ids=None) -> list[Case]:
    """The period's cases, oldest first: three queries whatever their number."""
    forms = Outcome.objects.select_related("station").order_by("pk")
    incidents = (
        Incident.objects.filter(created_at__gte=period.start, created_at__lt=period.end, outcomes__isnull=False)
        .distinct()
        .order_by("created_at", "pk")
        .prefetch_related(Prefetch("outcomes", queryset=forms, to_attr="forms"))
    )
    if incident_ids is not None:
        incidents = incidents.filter(pk__in=incident_ids)
    if period.station is not None:
        incidents = incidents.filter(outcomes__station=period.station)
    incidents = list(incidents)
    ids = [incident.pk for incident in incidents]
    cad = {times.incident_id: times for times in CadTimes.objects.filter(incident_id__in=ids)}
    first_alerts = {}
    for incident_id, alerted_at in Alert.objects.filter(incident_id__in=ids).values_list("incident_id", "alerted_at"):
        if incident_id not in first_alerts or alerted_at < first_alerts[incident_id]:
            first_alerts[incident_id] = alerted_at
    return [
        Case(
            incident=incident,
            forms=incident.forms,
            cad_times=cad.get(incident.pk),
            first_alerted_at=first_alerts.get(incident.pk),
            stations=sorted({form.station.name for form in incident.forms}),
        )
        for incident in incidents
    ]


def _time(value: datetime.datetime | None) -> str:
    return value.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value is not None else ""


def _yes_no(value: bool) -> str:
    return "yes" if value else "no"


def _yes_no_not_known(value: bool | None) -> str:
    """yes, no, or empty for not known (as the choices' unanswered items are written)."""
    return "" if value is None else _yes_no(value)


def _rhythm(case: Case) -> str:
    """The registry's initial rhythm is shockable / non-shockable; an AED's advice is no more."""
    rhythm = case.first_form.first_rhythm
    if case.shockable:
        return "shockable"
    return {FirstRhythm.NO_SHOCK_ADVISED: "non_shockable"}.get(rhythm, "unknown")


def _first_shock_at(case: Case) -> datetime.datetime | None:
    given = [form.first_shock_any_at for form in case.forms if form.first_shock_any_at is not None]
    given += [form.first_shock_at for form in case.forms if form.first_shock_at is not None]
    return min(given, default=None)


# Each column: (registry-style name, Utstein group, how it is made from a case). Left empty by
# design: the later outcomes and exact age (see EMPTY_COLUMNS and docs/registry.md).
CASE_COLUMNS = [
    ("incident_reference", "system", lambda c: c.incident.cad_reference),
    ("responding_fire_stations", "system", lambda c: "; ".join(c.stations)),
    (
        "call_date",
        "dispatch",
        lambda c: (c.call_received_at or c.incident.created_at).astimezone(datetime.UTC).date().isoformat(),
    ),
    ("call_received_time", "dispatch", lambda c: _time(c.call_received_at)),
    ("fire_alerted_time", "dispatch", lambda c: _time(c.first_alerted_at)),
    ("fire_on_scene_time", "dispatch", lambda c: _time(c.crew_arrived_at)),
    ("ems_on_scene_time", "dispatch", lambda c: _time(c.ambulance_at_scene_at)),
    (
        "ems_on_scene_source",
        "dispatch",
        lambda c: (
            "cad" if c.cad_times and c.cad_times.ambulance_at_scene_at else ("crew" if c.ambulance_at_scene_at else "")
        ),
    ),
    ("age_band", "patient", lambda c: c.first_form.age_band),
    ("sex", "patient", lambda c: c.first_form.sex),
    ("location", "patient", lambda c: c.first_form.location_type),
    ("presumed_aetiology", "patient", lambda c: c.first_form.presumed_cause),
    ("witnessed", "patient", lambda c: c.first_form.witnessed),
    ("collapse_time", "patient", lambda c: _time(c.first_form.collapse_at)),
    (
        "collapse_time_estimated",
        "patient",
        lambda c: _yes_no_not_known(c.first_form.collapse_time_estimated) if c.first_form.collapse_at else "",
    ),
    ("resuscitation_attempted", "process", lambda c: _yes_no(c.attempted)),
    (
        "resuscitation_not_attempted_reason",
        "process",
        lambda c: "" if c.attempted else c.first_form.not_attempted_reason,
    ),
    ("bystander_cpr", "process", lambda c: c.first_form.bystander_cpr),
    ("dispatcher_assisted_cpr", "process", lambda c: c.first_form.dispatcher_assisted_cpr),
    ("first_cpr_by", "process", lambda c: c.first_form.first_cpr_by),
    (
        "first_cpr_time",
        "process",
        lambda c: _time(min((f.first_cpr_at for f in c.forms if f.first_cpr_at), default=None)),
    ),
    ("pad_applied", "process", lambda c: c.first_form.public_defibrillator_applied),
    (
        "pad_shocks",
        "process",
        lambda c: "" if c.first_form.public_defibrillator_shocks is None else c.first_form.public_defibrillator_shocks,
    ),
    ("pad_first_shock_time", "process", lambda c: _time(c.first_form.public_defibrillator_first_shock_at)),
    ("first_defibrillator_by", "process", lambda c: c.first_form.first_defibrillator_by),
    ("first_shock_by", "process", lambda c: c.first_form.first_shock_by),
    ("first_shock_time", "process", lambda c: _time(_first_shock_at(c))),
    ("initial_rhythm", "process", _rhythm),
    (
        "fire_cpr_start_time",
        "process",
        lambda c: _time(min((f.cpr_started_at for f in c.forms if f.cpr_started_at), default=None)),
    ),
    (
        "fire_pads_on_time",
        "process",
        lambda c: _time(min((f.pads_on_at for f in c.forms if f.pads_on_at), default=None)),
    ),
    ("fire_shocks", "process", lambda c: sum(form.crew_shocks for form in c.forms)),
    ("fire_ventilation", "process", lambda c: c.first_form.ventilation),
    ("rosc_any_time", "outcome", lambda c: _yes_no_not_known(c.answer("rosc_any_time"))),
    ("rosc_time", "outcome", lambda c: _time(min((f.rosc_at for f in c.forms if f.rosc_at), default=None))),
    ("rosc_at_handover", "outcome", lambda c: _yes_no_not_known(c.answer("rosc_at_handover"))),
    ("ongoing_cpr_at_handover", "outcome", lambda c: _yes_no_not_known(c.answer("ongoing_cpr_at_handover"))),
    ("resuscitation_stopped", "outcome", lambda c: _yes_no_not_known(c.answer("resuscitation_stopped"))),
    ("handover_time", "outcome", lambda c: _time(min((f.handover_at for f in c.forms if f.handover_at), default=None))),
]
# In the registry's data set but not ours to know: the ambulance trust and the registry link them
# by the incident reference. Written as empty columns so the file has the registry's shape.
EMPTY_COLUMNS = [
    ("age_years", "patient"),
    ("survival_to_hospital_discharge", "outcome"),
    ("survival_30_days", "outcome"),
    ("neurological_outcome", "outcome"),
]


def case_row(case: Case) -> list:
    return [make(case) for _name, _group, make in CASE_COLUMNS] + ["" for _ in EMPTY_COLUMNS]


def case_headings() -> list[str]:
    return [name for name, _group, _make in CASE_COLUMNS] + [name for name, _group in EMPTY_COLUMNS]


# --- The Utstein template's figures -------------------------------------------------------------


UTSTEIN_GROUP_NAMES = [
    "All cases with resuscitation attempted",
    "Bystander-witnessed",
    "Comparator group: bystander-witnessed, shockable first rhythm",
    "Witnessed by the fire crew",
    "Witnessed by the ambulance crew",
    "Not witnessed",
    "Witness not recorded",
]


def _utstein_groups(found: list[Case]) -> dict[str, list[Case]]:
    """The Utstein template's groups, each among the cases with resuscitation attempted."""
    attempted = [case for case in found if case.attempted]
    bystander = [case for case in attempted if case.witnessed == Witnessed.BYSTANDER]
    groups = [
        attempted,
        bystander,
        [c for c in bystander if c.shockable],
        [c for c in attempted if c.witnessed == Witnessed.CREW],
        [c for c in attempted if c.witnessed == Witnessed.AMBULANCE_CREW],
        [c for c in attempted if c.witnessed == Witnessed.NOT_WITNESSED],
        [c for c in attempted if not c.witnessed],
    ]
    return dict(zip(UTSTEIN_GROUP_NAMES, groups, strict=True))


def _witnessed_by_anyone(case: Case) -> bool:
    return bool(case.witnessed) and case.witnessed != Witnessed.NOT_WITNESSED


# Each measure: its name and which cases of a group it counts. (Added measures go at the end: the
# drill-down's links name a measure by its place.)
UTSTEIN_MEASURES = [
    ("Cases", lambda case: True),
    ("Witnessed (by anyone)", _witnessed_by_anyone),
    ("Bystander CPR", lambda case: case.bystander_cpr),
    ("Shockable first rhythm", lambda case: case.shockable),
    ("ROSC at any time", lambda case: case.answer("rosc_any_time") is True),
    ("ROSC at handover", lambda case: case.answer("rosc_at_handover") is True),
    ("ROSC at any time not known", lambda case: case.answer("rosc_any_time") is None),
    ("ROSC at handover not known", lambda case: case.answer("rosc_at_handover") is None),
]
# A measure whose question may be not known: its percentage is of the cases where it is known
# (a case not known counts neither as yes nor as no).
KNOWN_ONLY = {
    "ROSC at any time": "ROSC at any time not known",
    "ROSC at handover": "ROSC at handover not known",
}


@dataclass(frozen=True)
class UtsteinRow:
    group: str
    counts: dict  # measure -> count
    incident_ids: dict  # measure -> the incidents counted, for the drill-down

    def percent(self, measure: str) -> float | None:
        cases_in_group = self.counts["Cases"]
        if measure in KNOWN_ONLY:
            cases_in_group -= self.counts[KNOWN_ONLY[measure]]
        return None if not cases_in_group or measure == "Cases" else 100.0 * self.counts[measure] / cases_in_group


@dataclass(frozen=True)
class UtsteinFigures:
    considered: int  # cases (incidents with an outcome form)
    not_attempted: int
    rows: list[UtsteinRow]


def utstein_figures(found: list[Case]) -> UtsteinFigures:
    rows = []
    for name, group in _utstein_groups(found).items():
        ids = {measure: [case.incident.pk for case in group if counts(case)] for measure, counts in UTSTEIN_MEASURES}
        rows.append(UtsteinRow(name, {measure: len(listed) for measure, listed in ids.items()}, ids))
    return UtsteinFigures(len(found), sum(1 for case in found if not case.attempted), rows)


# --- The alerting system's figures (Müller et al., Resuscitation 2024) ---------------------------


@dataclass(frozen=True)
class AlertingFigures:
    incidents_alerted: int
    alerts_sent: int
    alerts_accepted: int
    to_acceptance_median_s: float | None
    to_arrival_median_s: float | None
    responders_on_scene: int
    incidents_with_responder_on_scene: int
    responders_per_incident_median: float | None
    incidents_timed_against_ambulance: int
    incidents_responder_first: int
    responders_before_ambulance: int
    fire_ahead_when_first_median_s: float | None

    @property
    def acceptance_percent(self) -> float | None:
        return None if not self.alerts_sent else 100.0 * self.alerts_accepted / self.alerts_sent

    @property
    def responder_first_percent(self) -> float | None:
        timed = self.incidents_timed_against_ambulance
        return None if not timed else 100.0 * self.incidents_responder_first / timed


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def alerting_figures(period: Period, found: list[Case]) -> AlertingFigures:
    """Every alert of the period's incidents (not only the cases): sent, accepted, how fast; and,
    for the cases with both arrival times, whose responders got there before the ambulance."""
    alerts = Alert.objects.filter(incident__created_at__gte=period.start, incident__created_at__lt=period.end)
    if period.station is not None:
        alerts = alerts.filter(station=period.station)
    alerts = list(
        alerts.values_list(
            "incident_id", "alerted_at", "realerted_at", "accepted_at", "on_scene_at", "attendance__on_scene_at"
        )
    )
    # Each interval from the alert it answered (Alert.answered_alert): a re-alert's answers from the
    # re-alert, an arrival kept from before it from the first alert.
    answered = Alert.answered_alert
    accepted = [(i, first, again, at, own or scene) for i, first, again, at, scene, own in alerts if at is not None]
    arrived = [
        (i, answered(first, again, on_scene), on_scene)
        for i, first, again, _at, on_scene in accepted
        if on_scene is not None
    ]
    per_incident = defaultdict(int)
    for incident_id, *_ in accepted:
        per_incident[incident_id] += 1
    ambulance = {case.incident.pk: case.ambulance_at_scene_at for case in found if case.ambulance_at_scene_at}
    ahead = [case.fire_first_by_s for case in found if case.fire_first_by_s is not None]
    return AlertingFigures(
        incidents_alerted=len({incident_id for incident_id, *_ in alerts}),
        alerts_sent=len(alerts),
        alerts_accepted=len(accepted),
        to_acceptance_median_s=_median(
            [(at - answered(first, again, at)).total_seconds() for _i, first, again, at, _s in accepted]
        ),
        to_arrival_median_s=_median([(on_scene - alerted).total_seconds() for _i, alerted, on_scene in arrived]),
        responders_on_scene=len(arrived),
        incidents_with_responder_on_scene=len({incident_id for incident_id, *_ in arrived}),
        responders_per_incident_median=_median(list(per_incident.values())),
        incidents_timed_against_ambulance=len(ahead),
        incidents_responder_first=sum(1 for seconds in ahead if seconds > 0),
        responders_before_ambulance=sum(
            1 for i, _alerted, on_scene in arrived if i in ambulance and on_scene < ambulance[i]
        ),
        fire_ahead_when_first_median_s=_median([seconds for seconds in ahead if seconds > 0]),
    )


ALERTING_MEASURES = [
    ("Incidents alerted", "count", lambda f: f.incidents_alerted),
    ("Alerts sent", "count", lambda f: f.alerts_sent),
    ("Alerts accepted", "count", lambda f: f.alerts_accepted),
    ("Acceptance rate", "%", lambda f: f.acceptance_percent),
    ("Alert to acceptance, median", "s", lambda f: f.to_acceptance_median_s),
    ("Alert to arrival, median", "s", lambda f: f.to_arrival_median_s),
    ("Responders on scene", "count", lambda f: f.responders_on_scene),
    ("Incidents with a responder on scene", "count", lambda f: f.incidents_with_responder_on_scene),
    ("Responders accepting per incident, median", "count", lambda f: f.responders_per_incident_median),
    ("Cases timed against the ambulance", "count", lambda f: f.incidents_timed_against_ambulance),
    ("Responders first on scene (cases)", "count", lambda f: f.incidents_responder_first),
    ("Responders first on scene", "%", lambda f: f.responder_first_percent),
    ("Ahead of the ambulance when first, median", "s", lambda f: f.fire_ahead_when_first_median_s),
    ("Responder arrivals before the ambulance", "count", lambda f: f.responders_before_ambulance),
]


# --- CSV ------------------------------------------------------------------------------------------


def _safe(value):
    return f"'{value}" if isinstance(value, str) and value.startswith(FORMULA_STARTS) else value


def _round(value, unit: str):
    if value is None:
        return ""
    return round(value, 1) if unit in ("s", "%") or isinstance(value, float) else value


def export_csv(kind: str, period: Period) -> str:
    """The CSV of one kind (cases, utstein or alerting) for the period, with a byte order mark so
    that spreadsheet programs read it as UTF-8."""
    found = cases(period)
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    if kind == "cases":
        writer.writerow(case_headings())
        for case in found:
            writer.writerow([_safe(value) for value in case_row(case)])
    elif kind == "utstein":
        figures = utstein_figures(found)
        writer.writerow(
            ["Group", *(f"{m} (count)" for m, _ in UTSTEIN_MEASURES), *(f"{m} (%)" for m, _ in UTSTEIN_MEASURES[1:])]
        )
        for row in figures.rows:
            writer.writerow(
                [
                    row.group,
                    *(row.counts[m] for m, _ in UTSTEIN_MEASURES),
                    *(_round(row.percent(m), "%") for m, _ in UTSTEIN_MEASURES[1:]),
                ]
            )
        writer.writerow(["Cases considered (an outcome form filed)", figures.considered])
        writer.writerow(["Resuscitation not attempted", figures.not_attempted])
    elif kind == "alerting":
        figures = alerting_figures(period, found)
        writer.writerow(["Measure", "Unit", "Value"])
        for name, unit, value in ALERTING_MEASURES:
            writer.writerow([name, "seconds" if unit == "s" else unit, _round(value(figures), unit)])
    else:
        raise ValueError(f"Not an export: {kind}. One of: {', '.join(KINDS)}.")
    return out.getvalue()


def file_name(kind: str, period: Period) -> str:
    return f"coresponder-{kind}-{period.date_from:%Y-%m-%d}-to-{period.date_to:%Y-%m-%d}.csv"
