"""A generated first year for the demo (`make run`): what the Norfolk pilot looked like, so that a new
user sees reports of a working scheme rather than of an empty one.

The pilot (Norfolk Fire and Rescue Service with the East of England Ambulance Service) began on
18 July 2016; in its first year firefighters of nine stations attended 405 medical emergencies,
and the ambulance trust reports the fire crew on scene first in about 40 % of calls, about
3 minutes ahead. This history has those totals; everything else (which station, the intervals,
the outcomes) is drawn from a seeded random generator with plausible spreads, so it is the same on
every machine and every run. It is marked as generated everywhere it shows: CAD references start
PILOT-, addresses say "generated", and its firefighters are inactive users (pilot.<station>.<n>)
who can neither log in nor be alerted, so the live demo's people keep their own alert lists.

Written with bulk inserts in one transaction (a few hundred incidents; measured in
tests/records/test_demo_history.py's figures and in the command's own output), then the reports'
summaries are made for its alerts and the settled months' figures kept (backend.records.summaries).
Loading it again changes nothing.
"""

import datetime
import hashlib
import math
import random
import uuid
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db import transaction

from backend.accounts.models import Responder, Skill, Station
from backend.dispatch.models import Alert, AlertState, DeclineReason, Incident, IncidentCategory, IncidentStatus
from backend.records import reports, summaries
from backend.records.models import (
    AgeBand,
    Attendance,
    CadTimes,
    CrewRole,
    FirstBy,
    FirstCprBy,
    FirstRhythm,
    LocationType,
    NotAttemptedReason,
    Outcome,
    PresumedCause,
    Sex,
    Ventilation,
    Witnessed,
    YesNoUnknown,
)

SEED = 20160718
PILOT_STARTED = datetime.date(2016, 7, 18)
DAYS = 365
EMERGENCIES = 405
CAD_PREFIX = "PILOT-"
FIRE_FIRST_SHARE = 0.40
FIREFIGHTERS_PER_STATION = 4

# The nine stations (codes as load_demo_data makes them) and how many of the year's calls each
# took, as weights: the towns' stations busier than the coastal and market-town ones.
STATION_WEIGHTS = {
    "norwich": 18,
    "great-yarmouth": 14,
    "kings-lynn": 13,
    "gorleston": 11,
    "thetford": 10,
    "dereham": 10,
    "wymondham": 9,
    "north-walsham": 8,
    "sheringham": 7,
}

LOCATIONS = [
    (LocationType.HOME, 70),
    (LocationType.CARE_HOME, 8),
    (LocationType.STREET, 8),
    (LocationType.PUBLIC_BUILDING, 5),
    (LocationType.WORKPLACE, 3),
    (LocationType.SPORT, 3),
    (LocationType.HEALTHCARE, 1),
    (LocationType.OTHER, 2),
]
CAUSES = [
    (PresumedCause.MEDICAL, 88),
    (PresumedCause.TRAUMA, 3),
    (PresumedCause.OVERDOSE, 3),
    (PresumedCause.DROWNING, 1),
    (PresumedCause.ASPHYXIA, 2),
    (PresumedCause.UNKNOWN, 3),
]
AGE_BANDS = [
    (AgeBand.AGE_18_34, 4),
    (AgeBand.AGE_35_54, 14),
    (AgeBand.AGE_55_74, 38),
    (AgeBand.AGE_75_PLUS, 40),
    (AgeBand.UNKNOWN, 4),
]


class MissingStations(Exception):
    pass


@dataclass
class AlertPlan:
    responder_index: int  # 0 is the station's crew lead
    alerted_at: datetime.datetime
    accepted_at: datetime.datetime | None = None
    declined_at: datetime.datetime | None = None
    en_route_at: datetime.datetime | None = None
    on_scene_at: datetime.datetime | None = None
    cleared_at: datetime.datetime | None = None


@dataclass
class IncidentPlan:
    number: int
    station_code: str
    category: str
    created_at: datetime.datetime
    latitude_offset: float
    longitude_offset: float
    call_received_at: datetime.datetime
    ambulance_at_scene_at: datetime.datetime
    alerts: list[AlertPlan] = field(default_factory=list)
    outcome: dict = field(default_factory=dict)

    @property
    def cad_reference(self) -> str:
        return f"{CAD_PREFIX}{self.created_at:%Y}-{self.number:04d}"


def _weighted(rng: random.Random, pairs):
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights=weights)[0]


def _seconds(rng: random.Random, median: float, spread: float, low: float, high: float) -> float:
    """A log-normal interval (response times are skewed to the right), kept within bounds."""
    return min(max(rng.lognormvariate(math.log(median), spread), low), high)


def plan_history(seed: int = SEED) -> list[IncidentPlan]:
    """The whole year, from the seed alone: the same list on every call."""
    rng = random.Random(seed)  # noqa: S311 (seeded on purpose: the same demo every time)
    start = datetime.datetime.combine(PILOT_STARTED, datetime.time(), tzinfo=datetime.UTC)
    moments = sorted(start + datetime.timedelta(seconds=rng.uniform(0, DAYS * 86400)) for _ in range(EMERGENCIES))
    codes = list(STATION_WEIGHTS)
    # Every station has at least a few calls; the rest go by weight.
    stations = [codes[i % len(codes)] for i in range(len(codes) * 3)]
    stations += rng.choices(codes, weights=list(STATION_WEIGHTS.values()), k=EMERGENCIES - len(stations))
    rng.shuffle(stations)
    return [_plan_incident(rng, number, moments[number - 1], stations[number - 1]) for number in range(1, 406)]


def _plan_incident(rng: random.Random, number: int, created_at: datetime.datetime, station_code: str) -> IncidentPlan:
    category = _weighted(
        rng,
        [
            (IncidentCategory.CARDIAC_ARREST, 45),
            (IncidentCategory.UNCONSCIOUS, 30),
            (IncidentCategory.OTHER_MEDICAL, 25),
        ],
    )
    call = created_at - datetime.timedelta(seconds=_seconds(rng, 75, 0.4, 20, 300))
    alerted = created_at + datetime.timedelta(seconds=rng.uniform(3, 15))
    alerts = [_plan_alert(rng, index, alerted) for index in range(FIREFIGHTERS_PER_STATION)]
    # The crew lead always goes (the crew's outcome form is theirs), and at least one other.
    if alerts[0].accepted_at is None:
        alerts[0] = _plan_alert(rng, 0, alerted, accepts=True)
    if all(alert.accepted_at is None for alert in alerts[1:]):
        alerts[1] = _plan_alert(rng, 1, alerted, accepts=True)
    crew_arrived = min(alert.on_scene_at for alert in alerts if alert.on_scene_at is not None)
    if rng.random() < FIRE_FIRST_SHARE:
        ambulance = crew_arrived + datetime.timedelta(seconds=_seconds(rng, 180, 0.6, 20, 900))
    else:
        ambulance = crew_arrived - datetime.timedelta(seconds=_seconds(rng, 200, 0.7, 15, 900))
        ambulance = max(ambulance, call + datetime.timedelta(minutes=3))
        if ambulance >= crew_arrived:  # an ambulance round the corner: still the first
            ambulance = crew_arrived - datetime.timedelta(seconds=10)
    plan = IncidentPlan(
        number=number,
        station_code=station_code,
        category=category,
        created_at=created_at,
        latitude_offset=rng.uniform(-0.06, 0.06),
        longitude_offset=rng.uniform(-0.09, 0.09),
        call_received_at=call,
        ambulance_at_scene_at=ambulance,
        alerts=alerts,
    )
    plan.outcome = _plan_outcome(rng, plan, crew_arrived, ambulance)
    return plan


def _plan_alert(rng: random.Random, index: int, alerted: datetime.datetime, *, accepts: bool | None = None):
    plan = AlertPlan(index, alerted)
    accepts = rng.random() < 0.7 if accepts is None else accepts
    answered = alerted + datetime.timedelta(seconds=_seconds(rng, 45, 0.5, 8, 240))
    if not accepts:
        plan.declined_at = answered
        return plan
    plan.accepted_at = answered
    plan.en_route_at = answered + datetime.timedelta(seconds=_seconds(rng, 150, 0.4, 40, 600))
    plan.on_scene_at = alerted + datetime.timedelta(seconds=_seconds(rng, 600, 0.3, 240, 1800))
    plan.en_route_at = min(plan.en_route_at, plan.on_scene_at - datetime.timedelta(seconds=60))
    plan.en_route_at = max(plan.en_route_at, answered)
    plan.cleared_at = plan.on_scene_at + datetime.timedelta(seconds=_seconds(rng, 2400, 0.3, 600, 5400))
    return plan


def _plan_outcome(rng: random.Random, plan: IncidentPlan, crew_arrived, ambulance) -> dict:
    """The crew lead's outcome form. An arrest (about a third of the calls) has the Utstein items;
    any other call is a patient with signs of life on arrival."""
    crew = [alert.responder_index for alert in plan.alerts if alert.accepted_at is not None]
    handover = max(crew_arrived, ambulance) + datetime.timedelta(seconds=_seconds(rng, 900, 0.4, 240, 3600))
    outcome = {
        "crew": crew,
        "crew_arrived_at": crew_arrived,
        "ambulance_arrived_at": ambulance,
        "handover_at": handover,
        "age_band": _weighted(rng, AGE_BANDS),
        "sex": rng.choice([Sex.FEMALE, Sex.MALE, Sex.MALE]),
        "location_type": _weighted(rng, LOCATIONS),
    }
    arrest = plan.category == IncidentCategory.CARDIAC_ARREST and rng.random() < 0.8
    if not arrest:
        return {**outcome, "resuscitation_attempted": False, "not_attempted_reason": NotAttemptedReason.SIGNS_OF_LIFE}
    if rng.random() < 0.12:
        reason = rng.choice([NotAttemptedReason.DNACPR, NotAttemptedReason.OBVIOUSLY_DEAD])
        return {**outcome, "resuscitation_attempted": False, "not_attempted_reason": reason}
    witnessed = _weighted(
        rng,
        [(Witnessed.BYSTANDER, 48), (Witnessed.CREW, 4), (Witnessed.AMBULANCE_CREW, 8), (Witnessed.NOT_WITNESSED, 40)],
    )
    collapse = plan.call_received_at - datetime.timedelta(seconds=_seconds(rng, 120, 0.6, 20, 900))
    if witnessed in (Witnessed.CREW, Witnessed.AMBULANCE_CREW):
        collapse = (crew_arrived if witnessed == Witnessed.CREW else ambulance) + datetime.timedelta(seconds=90)
    bystander_cpr = witnessed not in (Witnessed.CREW, Witnessed.AMBULANCE_CREW) and rng.random() < 0.65
    shockable = rng.random() < (0.32 if witnessed == Witnessed.BYSTANDER else 0.15)
    pad_used = bystander_cpr and rng.random() < 0.12
    pad_shocks = 1 if pad_used and shockable else 0
    crew_first_cpr = not bystander_cpr and crew_arrived <= ambulance
    rosc = rng.random() < (0.55 if shockable and witnessed == Witnessed.BYSTANDER else 0.22)
    rosc_at_handover = rosc and rng.random() < 0.85
    # Care starts when the crew is there and the patient has collapsed (a crew-witnessed arrest).
    care_from = max(crew_arrived, collapse.replace(second=0, microsecond=0) + datetime.timedelta(minutes=1))
    crew_cpr = care_from + datetime.timedelta(seconds=_seconds(rng, 40, 0.4, 10, 180))
    pads_on = care_from + datetime.timedelta(seconds=_seconds(rng, 110, 0.4, 30, 400))
    crew_shocks = rng.randint(1, 4) if shockable and crew_arrived <= ambulance else 0
    first_shock = pads_on + datetime.timedelta(seconds=30) if crew_shocks else None
    first_cpr_at = collapse + datetime.timedelta(seconds=_seconds(rng, 150, 0.5, 30, 600)) if bystander_cpr else None
    first_cpr_at = min(first_cpr_at, crew_cpr) if first_cpr_at else (crew_cpr if crew_first_cpr else None)
    pad_shock_at = (first_cpr_at or collapse) + datetime.timedelta(seconds=240) if pad_shocks else None
    if pad_shock_at is not None and pad_shock_at >= crew_arrived:
        pad_shock_at = crew_arrived - datetime.timedelta(seconds=30)
    first_any_shock = pad_shock_at or first_shock
    rosc_at = (
        (max(care_from, ambulance) + datetime.timedelta(seconds=_seconds(rng, 420, 0.4, 60, 1500))) if rosc else None
    )
    if rosc_at is not None and rosc_at >= handover:
        handover = rosc_at + datetime.timedelta(minutes=5)
    return {
        **outcome,
        "handover_at": handover,
        "resuscitation_attempted": True,
        "witnessed": witnessed,
        "presumed_cause": _weighted(rng, CAUSES),
        "collapse_at": collapse.replace(second=0, microsecond=0),
        "collapse_time_estimated": witnessed == Witnessed.BYSTANDER,
        "bystander_cpr": YesNoUnknown.YES if bystander_cpr else YesNoUnknown.NO,
        "dispatcher_assisted_cpr": YesNoUnknown.YES if bystander_cpr and rng.random() < 0.6 else YesNoUnknown.NO,
        "public_defibrillator_applied": YesNoUnknown.YES if pad_used else YesNoUnknown.NO,
        "public_defibrillator_shocks": pad_shocks if pad_used else None,
        "public_defibrillator_first_shock_at": pad_shock_at,
        "compressions": True,
        "ventilation": rng.choice([Ventilation.BAG_VALVE_MASK, Ventilation.MOUTH_TO_MASK]),
        "defibrillator_applied": True,
        "first_rhythm": FirstRhythm.SHOCK_ADVISED if shockable else FirstRhythm.NO_SHOCK_ADVISED,
        "crew_shocks": crew_shocks,
        "first_cpr_by": FirstCprBy.BYSTANDER
        if bystander_cpr
        else (FirstCprBy.FIRE_CREW if crew_first_cpr else FirstCprBy.AMBULANCE),
        "first_cpr_at": first_cpr_at,
        "first_defibrillator_by": FirstBy.BYSTANDER
        if pad_used
        else (FirstBy.FIRE_CREW if crew_arrived <= ambulance else FirstBy.AMBULANCE),
        "first_shock_by": (
            FirstBy.BYSTANDER
            if pad_shocks
            else FirstBy.FIRE_CREW
            if crew_shocks
            else (FirstBy.AMBULANCE if shockable else FirstBy.NOBODY)
        ),
        "first_shock_any_at": first_any_shock,
        "cpr_started_at": crew_cpr,
        "pads_on_at": pads_on,
        "first_shock_at": first_shock,
        "rosc_at": rosc_at,
        "rosc_any_time": rosc,
        "rosc_at_handover": rosc_at_handover,
        "ongoing_cpr_at_handover": not rosc_at_handover and rng.random() < 0.8,
    }


# --- Loading ---------------------------------------------------------------------------------------


def is_loaded() -> bool:
    return Incident.objects.filter(cad_reference__startswith=CAD_PREFIX).exists()


def load_history(seed: int = SEED) -> int:
    """Write the year (nothing if it is there already); how many incidents were written."""
    if is_loaded():
        return 0
    stations = {station.code: station for station in Station.objects.filter(code__in=STATION_WEIGHTS)}
    missing = sorted(set(STATION_WEIGHTS) - set(stations))
    if missing:
        raise MissingStations(f"Run load_demo_data first: no station {', '.join(missing)}.")
    plans = plan_history(seed)
    rng = random.Random(seed + 1)  # the keys of the records: seeded too, apart from the plan  # noqa: S311
    with transaction.atomic():
        crews = {code: _pilot_firefighters(station) for code, station in stations.items()}
        cad_user = get_user_model().objects.filter(username="cad").first() or crews["norwich"][0].user
        incidents = _write_incidents(plans, stations, cad_user)
        alerts = _write_alerts(plans, incidents, stations, crews)
        _write_attendances(plans, alerts, rng)
        _write_outcomes(plans, incidents, stations, crews, rng)
        CadTimes.objects.bulk_create(
            CadTimes(
                incident=incidents[plan.number],
                call_received_at=plan.call_received_at,
                ambulance_at_scene_at=plan.ambulance_at_scene_at,
                updated_at=plan.created_at + datetime.timedelta(hours=2),
                updated_by=cad_user,
            )
            for plan in plans
        )
        alert_ids = [alert.pk for by_index in alerts.values() for alert in by_index.values()]
        for start in range(0, len(alert_ids), summaries.REBUILD_CHUNK):
            summaries.summarise_alerts(alert_ids[start : start + summaries.REBUILD_CHUNK], locked=True)
        Alert.objects.filter(pk__in=alert_ids).update(summary_due=False)
    reports.keep_settled_months()
    return len(plans)


def _pilot_firefighters(station: Station) -> list[Responder]:
    """The history's firefighters of one station: inactive users (no login, never alerted)."""
    responders = []
    for number in range(1, FIREFIGHTERS_PER_STATION + 1):
        user, created = get_user_model().objects.get_or_create(
            username=f"pilot.{station.code}.{number}",
            defaults={"first_name": "Pilot", "last_name": f"{station.name} {number}", "is_active": False},
        )
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        responder, _ = Responder.objects.get_or_create(
            user=user,
            defaults={
                "station": station,
                "on_call": False,
                "skills": [Skill.BLS, Skill.AED] + ([Skill.CREW_LEAD] if number == 1 else []),
            },
        )
        responders.append(responder)
    return responders


def _write_incidents(plans, stations, cad_user) -> dict[int, Incident]:
    incidents = [
        Incident(
            cad_reference=plan.cad_reference,
            category=plan.category,
            latitude=stations[plan.station_code].latitude + plan.latitude_offset,
            longitude=stations[plan.station_code].longitude + plan.longitude_offset,
            address=f"Generated demo address near {stations[plan.station_code].name}",
            status=IncidentStatus.CLOSED,
            created_by=cad_user,
            dispatched_at=plan.alerts[0].alerted_at,
            closed_at=max(alert.cleared_at or alert.alerted_at for alert in plan.alerts),
            crew_target=2,
        )
        for plan in plans
    ]
    Incident.objects.bulk_create(incidents)
    # created_at is set to "now" on insert (auto_now_add): the history's own times go in after.
    for incident, plan in zip(incidents, plans, strict=True):
        incident.created_at = plan.created_at
    Incident.objects.bulk_update(incidents, ["created_at"], batch_size=500)
    return {plan.number: incident for plan, incident in zip(plans, incidents, strict=True)}


def _write_alerts(plans, incidents, stations, crews) -> dict[int, dict[int, Alert]]:
    rows, keys = [], []
    for plan in plans:
        incident = incidents[plan.number]
        for rank, alert in enumerate(plan.alerts, start=1):
            responder = crews[plan.station_code][alert.responder_index]
            declined = alert.declined_at is not None
            rows.append(
                Alert(
                    incident=incident,
                    responder=responder,
                    station=stations[plan.station_code],
                    state=AlertState.DECLINED if declined else AlertState.CLEARED,
                    distance_km=round(math.hypot(plan.latitude_offset * 111, plan.longitude_offset * 68), 1),
                    rank=rank,
                    decline_reason=DeclineReason.UNAVAILABLE if declined else "",
                    alerted_at=alert.alerted_at,
                    received_at=alert.alerted_at + datetime.timedelta(seconds=2),
                    accepted_at=alert.accepted_at,
                    first_accepted_at=alert.accepted_at,
                    declined_at=alert.declined_at,
                    en_route_at=alert.en_route_at,
                    first_en_route_at=alert.en_route_at,
                    on_scene_at=alert.on_scene_at,
                    cleared_at=alert.cleared_at,
                    summary_due=False,
                )
            )
            keys.append((plan.number, alert.responder_index))
    Alert.objects.bulk_create(rows, batch_size=500)
    written: dict[int, dict[int, Alert]] = {}
    for (number, index), alert in zip(keys, rows, strict=True):
        written.setdefault(number, {})[index] = alert
    return written


def _key(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _write_attendances(plans, alerts, rng) -> None:
    rows = []
    for plan in plans:
        for alert_plan in plan.alerts:
            if alert_plan.accepted_at is None:
                continue
            alert = alerts[plan.number][alert_plan.responder_index]
            submitted = alert_plan.cleared_at + datetime.timedelta(minutes=20)
            rows.append(
                Attendance(
                    alert=alert,
                    idempotency_key=_key(rng),
                    body_hash=_hash(f"attendance {plan.cad_reference} {alert_plan.responder_index}"),
                    submitted_by=alert.responder.user,
                    submitted_at=submitted,
                    updated_at=submitted,
                    attended=True,
                    appliance=f"{list(STATION_WEIGHTS).index(plan.station_code) + 1}0P1",
                    role=CrewRole.CREW_LEAD if alert_plan.responder_index == 0 else CrewRole.CREW_MEMBER,
                    mobile_at=alert_plan.en_route_at,
                    on_scene_at=alert_plan.on_scene_at,
                    left_scene_at=alert_plan.cleared_at,
                )
            )
    Attendance.objects.bulk_create(rows, batch_size=500)


def _write_outcomes(plans, incidents, stations, crews, rng) -> None:
    rows, crew_lists = [], []
    for plan in plans:
        values = dict(plan.outcome)
        crew_lists.append([crews[plan.station_code][index] for index in values.pop("crew")])
        lead = crews[plan.station_code][0]
        submitted = values["handover_at"] + datetime.timedelta(hours=1)
        rows.append(
            Outcome(
                incident=incidents[plan.number],
                station=stations[plan.station_code],
                idempotency_key=_key(rng),
                body_hash=_hash(f"outcome {plan.cad_reference}"),
                submitted_by=lead.user,
                submitted_at=submitted,
                updated_at=submitted,
                appliance=f"{list(STATION_WEIGHTS).index(plan.station_code) + 1}0P1",
                **values,
            )
        )
    Outcome.objects.bulk_create(rows, batch_size=500)
    Crew = Outcome.crew.through
    Crew.objects.bulk_create(
        [
            Crew(outcome=outcome, responder=member)
            for outcome, crew in zip(rows, crew_lists, strict=True)
            for member in crew
        ],
        batch_size=1000,
    )
