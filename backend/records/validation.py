"""What each form accepts, and the rules between its fields, each broken rule with a message on the
field at fault (the app shows it next to that field).

`FIELDS` describes every field once: parsing here, the API's OpenAPI schema
(backend/records/payloads.py) and the admin's amend form all read it, so they cannot disagree.
Parsing takes JSON values (or the Python values the admin's form gives) and refuses anything else
with a message; `check_*` then applies the rules between fields to the whole record as it would be
stored, so a change is checked against the values it leaves in place.
"""

import datetime
from dataclasses import dataclass, field

from django.utils import dateparse, formats, timezone

from backend import patient_identifiers
from backend.errors import InvalidInput
from backend.records.models import (
    NOTES_MAX_LENGTH,
    AgeBand,
    CrewRole,
    FirstBy,
    FirstCprBy,
    FirstRhythm,
    FollowUp,
    LocationType,
    NotAttemptedReason,
    PresumedCause,
    RecordKind,
    Sex,
    Ventilation,
    Witnessed,
    YesNoUnknown,
)

# Phones' clocks run a little fast or slow; a time this far ahead of the server is still accepted.
CLOCK_SLACK = datetime.timedelta(minutes=2)
# The times that may come before the incident was made (the collapse, a bystander's CPR, a public
# defibrillator's shock: all before or while someone calls 999), at most this long before it.
BEFORE_THE_CALL = datetime.timedelta(hours=24)
APPLIANCE_MAX_LENGTH = 20
MAX_SHOCKS = 50


@dataclass(frozen=True)
class Field:
    """One form field. `type` is bool, choice, time, count, scale, text or ids. A `nullable` field
    takes null (JSON) or None as an answer: for a time or a count "none", for a bool "not known"."""

    type: str
    label: str
    required: bool = False
    choices: tuple[str, ...] = ()
    max_length: int | None = None
    minimum: int = 0
    maximum: int | None = None
    # What the record holds when the field is left out (None for times and optional counts).
    default: object = None
    nullable: bool = field(default=False)
    # A time that may come before the incident was created (up to BEFORE_THE_CALL before it).
    may_precede_incident: bool = False
    # Text: the field as the message refusing a patient identifier names it ("notes must not ...").
    noun: str = ""


def _choice(label: str, choices, default="") -> Field:
    return Field("choice", label, choices=tuple(choices.values), default=default)


def _time(label: str, *, may_precede_incident: bool = False) -> Field:
    return Field("time", label, nullable=True, may_precede_incident=may_precede_incident)


def _text(label: str, max_length: int, *, noun: str) -> Field:
    return Field("text", label, max_length=max_length, default="", noun=noun)


def _yes_no_not_known(label: str) -> Field:
    """A yes/no question the crew may not be able to answer: left out, or null, it is stored as
    not known (None), never as No."""
    return Field("bool", label, default=None, nullable=True)


ATTENDANCE_FIELDS = {
    "attended": Field("bool", "Attended", required=True),
    "appliance": _text("Appliance", APPLIANCE_MAX_LENGTH, noun="the appliance"),
    "role": _choice("Role", CrewRole),
    "mobile_at": _time("Mobile"),
    "on_scene_at": _time("On scene"),
    "at_patient_at": _time("At patient"),
    "left_scene_at": _time("Left scene"),
    "notes": _text("Notes", NOTES_MAX_LENGTH, noun="notes"),
}

OUTCOME_FIELDS = {
    "appliance": _text("Appliance", APPLIANCE_MAX_LENGTH, noun="the appliance"),
    "crew": Field("ids", "Crew", default=()),
    "resuscitation_attempted": Field("bool", "Resuscitation attempted", required=True),
    "not_attempted_reason": _choice("Why resuscitation was not attempted", NotAttemptedReason),
    "location_type": _choice("Location type", LocationType),
    "witnessed": _choice("Witnessed by", Witnessed),
    "presumed_cause": _choice("Presumed cause", PresumedCause),
    "collapse_at": _time("Collapse", may_precede_incident=True),
    "collapse_time_estimated": _yes_no_not_known("Collapse time estimated"),
    "bystander_cpr": _choice("Bystander CPR", YesNoUnknown, YesNoUnknown.UNKNOWN),
    "dispatcher_assisted_cpr": _choice("Dispatcher-assisted CPR", YesNoUnknown, YesNoUnknown.UNKNOWN),
    "public_defibrillator_applied": _choice("Public defibrillator applied", YesNoUnknown, YesNoUnknown.UNKNOWN),
    "public_defibrillator_shocks": Field(
        "count", "Shocks by a public defibrillator", maximum=MAX_SHOCKS, nullable=True
    ),
    "public_defibrillator_first_shock_at": _time("Public defibrillator's first shock", may_precede_incident=True),
    # What the crew did: yes, no or not known (left unanswered), as the outcome at handover below.
    # Records made before migration 0009 hold No where the crew gave no answer (docs/registry.md).
    "compressions": _yes_no_not_known("Compressions by the crew"),
    "ventilation": _choice("Ventilation", Ventilation, Ventilation.NONE),
    "defibrillator_applied": _yes_no_not_known("Defibrillator applied by the crew"),
    "first_rhythm": _choice("First rhythm", FirstRhythm),
    "crew_shocks": Field("count", "Shocks by the crew", maximum=MAX_SHOCKS, default=0),
    "first_cpr_by": _choice("First CPR by", FirstCprBy),
    "first_cpr_at": _time("First CPR by anyone", may_precede_incident=True),
    "first_defibrillator_by": _choice("First defibrillator applied by", FirstBy),
    "first_shock_by": _choice("First shock by", FirstBy),
    "first_shock_any_at": _time("First shock by anyone", may_precede_incident=True),
    "crew_arrived_at": _time("Crew arrived"),
    "cpr_started_at": _time("CPR started"),
    "pads_on_at": _time("Pads on"),
    "first_shock_at": _time("First shock"),
    "rosc_at": _time("ROSC"),
    "ambulance_arrived_at": _time("Ambulance arrived"),
    "handover_at": _time("Handover"),
    # Outcome at handover: yes, no or not known (left unanswered). Records made before migration
    # 0008 hold No where the crew gave no answer (docs/registry.md).
    "rosc_any_time": _yes_no_not_known("ROSC at any time"),
    "rosc_at_handover": _yes_no_not_known("ROSC at handover"),
    "ongoing_cpr_at_handover": _yes_no_not_known("CPR ongoing at handover"),
    "resuscitation_stopped": _yes_no_not_known("Resuscitation stopped"),
    "age_band": _choice("Age band", AgeBand, AgeBand.UNKNOWN),
    "sex": _choice("Sex", Sex, Sex.UNKNOWN),
    "notes": _text("Notes", NOTES_MAX_LENGTH, noun="notes"),
}

WELFARE_FIELDS = {
    "impact": Field("scale", "How affected you feel", required=True, minimum=1, maximum=5),
    "follow_up": _choice("Follow-up", FollowUp, FollowUp.NONE),
    "notes": _text("Notes", NOTES_MAX_LENGTH, noun="notes"),
}

FIELDS = {
    RecordKind.ATTENDANCE: ATTENDANCE_FIELDS,
    RecordKind.OUTCOME: OUTCOME_FIELDS,
    RecordKind.WELFARE: WELFARE_FIELDS,
}

REQUIRED_MESSAGES = {
    "attended": "Say whether you attended.",
    "resuscitation_attempted": "Say whether resuscitation was attempted.",
    "impact": "Say how affected you feel, from 1 (not at all) to 5 (very much).",
}

# The times that must come in this order, each pair (earlier, later) checked when both are given:
# the orders that cannot happen. Only these: the crew can put pads on, and shock, before it starts
# CPR (a bystander is still doing compressions, as the guidelines ask), so the crew's CPR is only
# after its arrival. The app checks the same pairs as the firefighter types (TIME_ORDER in
# pwa/app/records-rules.js; tests/records/test_time_order.py keeps the two the same).
TIME_ORDER = {
    RecordKind.ATTENDANCE: [
        ("mobile_at", "on_scene_at"),
        ("on_scene_at", "at_patient_at"),
        ("at_patient_at", "left_scene_at"),
        ("mobile_at", "at_patient_at"),
        ("mobile_at", "left_scene_at"),
        ("on_scene_at", "left_scene_at"),
    ],
    RecordKind.OUTCOME: [
        ("crew_arrived_at", "cpr_started_at"),
        ("crew_arrived_at", "pads_on_at"),
        ("pads_on_at", "first_shock_at"),
        ("crew_arrived_at", "first_shock_at"),
        ("crew_arrived_at", "rosc_at"),
        ("crew_arrived_at", "handover_at"),
        ("ambulance_arrived_at", "handover_at"),
        ("rosc_at", "handover_at"),
        # The Utstein times: nothing before the collapse; nobody's CPR or shock before the first.
        ("collapse_at", "first_cpr_at"),
        ("collapse_at", "first_shock_any_at"),
        ("collapse_at", "public_defibrillator_first_shock_at"),
        ("collapse_at", "rosc_at"),
        ("first_cpr_at", "cpr_started_at"),
        ("first_shock_any_at", "first_shock_at"),
        ("first_shock_any_at", "public_defibrillator_first_shock_at"),
    ],
    RecordKind.WELFARE: [],
}


# --- Parsing -------------------------------------------------------------------------------------


def parse(kind: str, raw: dict, *, partial: bool) -> dict:
    """The submitted fields as Python values. Unknown fields, wrong types, unknown choices, counts
    out of range and oversized text are refused, all at once, with a message per field. Without
    `partial` the required fields must be there."""
    specs = FIELDS[kind]
    values, errors = {}, {}
    for name, value in raw.items():
        spec = specs.get(name)
        if spec is None:
            errors[name] = [f"Not a field of this form. The fields are: {', '.join(specs)}."]
            continue
        try:
            values[name] = _parse_value(name, spec, value)
        except ValueError as problem:
            errors[name] = [str(problem)]
    if not partial:
        for name, spec in specs.items():
            if spec.required and name not in raw:
                errors[name] = [REQUIRED_MESSAGES[name]]
    if errors:
        raise InvalidInput("The form has errors: see fields.", fields=errors)
    return values


def with_defaults(kind: str, values: dict) -> dict:
    """Every field of the form: the given values, and the defaults for the others."""
    return {name: values.get(name, spec.default) for name, spec in FIELDS[kind].items()}


def _parse_value(name: str, spec: Field, value):
    if value is None:
        if spec.required:
            raise ValueError(REQUIRED_MESSAGES[name])
        if spec.type == "choice":
            return spec.default if spec.default else ""
        if spec.nullable:
            return None
        raise ValueError(_type_message(spec))
    parser = _PARSERS[spec.type]
    return parser(spec, value)


def _type_message(spec: Field) -> str:
    return {
        "bool": "Answer true or false" + (", or null for not known." if spec.nullable else "."),
        "choice": f"Use one of: {', '.join(spec.choices)}.",
        "time": "Give a time with its offset, e.g. 2025-03-01T14:07:12Z.",
        "count": f"Give a whole number from {spec.minimum} to {spec.maximum}.",
        "scale": f"Give a whole number from {spec.minimum} to {spec.maximum}.",
        "text": "Give text.",
        "ids": "Give a list of responder ids.",
    }[spec.type]


def _parse_bool(spec: Field, value) -> bool:
    if not isinstance(value, bool):
        raise ValueError(_type_message(spec))
    return value


def _parse_choice(spec: Field, value) -> str:
    if value == "" and spec.default == "":
        return ""
    if not isinstance(value, str) or value not in spec.choices:
        raise ValueError(_type_message(spec))
    return value


def _parse_time(spec: Field, value) -> datetime.datetime:
    parsed = value
    if isinstance(value, str):
        try:
            parsed = dateparse.parse_datetime(value)
        except ValueError:
            parsed = None
    if not isinstance(parsed, datetime.datetime) or parsed.tzinfo is None:
        raise ValueError(_type_message(spec))
    try:
        return parsed.astimezone(datetime.UTC)
    except OverflowError:  # year 1 or 9999 with an offset that pushes it out of range
        raise ValueError("This time is out of range. Check the date.") from None


def _parse_whole_number(spec: Field, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(_type_message(spec))
    if value < spec.minimum:
        if spec.minimum == 0:
            raise ValueError(f"A count cannot be below zero. {_type_message(spec)}")
        raise ValueError(_type_message(spec))
    if spec.maximum is not None and value > spec.maximum:
        raise ValueError(_type_message(spec))
    return value


def _parse_text(spec: Field, value) -> str:
    if not isinstance(value, str):
        raise ValueError(_type_message(spec))
    if "\x00" in value:
        raise ValueError("Text cannot contain a null character.")
    if len(value) > spec.max_length:
        raise ValueError(f"Keep this to {spec.max_length} characters (it has {len(value)}).")
    identifier = patient_identifiers.refusal(value, what=spec.noun)
    if identifier is not None:
        raise ValueError(identifier)
    return value.strip()


def _parse_ids(spec: Field, value) -> tuple[int, ...]:
    if not isinstance(value, (list, tuple)) or any(isinstance(i, bool) or not isinstance(i, int) for i in value):
        raise ValueError(_type_message(spec))
    return tuple(sorted(set(value)))


_PARSERS = {
    "bool": _parse_bool,
    "choice": _parse_choice,
    "time": _parse_time,
    "count": _parse_whole_number,
    "scale": _parse_whole_number,
    "text": _parse_text,
    "ids": _parse_ids,
}


# --- Rules between fields ---------------------------------------------------------------------------


def check(kind: str, record: dict, *, incident, now: datetime.datetime, crew_ids: set[int] = frozenset()) -> None:
    """Apply the form's rules to the whole record as it would be stored (every field present).
    `crew_ids` are the responders who may be named as the crew (outcome only)."""
    errors: dict[str, list[str]] = {}
    _check_times(kind, record, incident=incident, now=now, errors=errors)
    if kind == RecordKind.OUTCOME:
        _check_outcome(record, errors)
        unknown = [str(responder_id) for responder_id in record["crew"] if responder_id not in crew_ids]
        if unknown:
            errors.setdefault("crew", []).append(
                f"Not alerted to this incident from your station: responder {', '.join(unknown)}."
            )
    if errors:
        raise InvalidInput("The form has errors: see fields.", fields=errors)


def _check_times(kind: str, record: dict, *, incident, now, errors: dict) -> None:
    specs = FIELDS[kind]
    for name, spec in specs.items():
        value = record.get(name)
        if spec.type != "time" or value is None:
            continue
        if value > now + CLOCK_SLACK:
            _add(errors, name, "This time is in the future. Check the time, and the phone's clock.")
        elif spec.may_precede_incident:
            if value < incident.created_at - BEFORE_THE_CALL:
                _add(
                    errors,
                    name,
                    f"{spec.label} cannot be more than {BEFORE_THE_CALL.total_seconds() / 3600:.0f} hours before "
                    f"the incident was created ({_shown(incident.created_at)}). Check the date.",
                )
        elif value < incident.created_at - CLOCK_SLACK:
            _add(errors, name, f"This time is before the incident was created ({_shown(incident.created_at)}).")
    for earlier, later in TIME_ORDER[kind]:
        first, second = record.get(earlier), record.get(later)
        if first is None or second is None or later in errors:
            continue
        # To the minute (is_to_the_minute), else to the second: the phone's time box shows seconds,
        # never milliseconds, so a time typed as it shows a tapped one (17:49:17 beside
        # 17:49:17.412) is the same time, not before it. The app compares the same (checkTimes in
        # pwa/app/records-rules.js).
        to_minute = is_to_the_minute(first) or is_to_the_minute(second)
        at_the_precision = _minute_of if to_minute else _second_of
        first, second = at_the_precision(first), at_the_precision(second)
        if second >= first:
            continue
        shown = "j M H:i" if to_minute else "j M H:i:s"
        _add(
            errors,
            later,
            f"{specs[later].label} ({_shown(second, shown)}) cannot be before "
            f"{specs[earlier].label.lower()} ({_shown(first, shown)}).",
        )


def is_to_the_minute(value: datetime.datetime) -> bool:
    """Was this time given to the minute? A person types minutes (the phones' pickers and the
    admin's time box leave the seconds at 0), while the checklist's taps and the alert's answers
    carry seconds and milliseconds. So a pair in which either time has no seconds is compared to
    the minute: 17:49 typed beside a tapped 17:49:17 is in order, 17:48 is not.

    Why from the value rather than from what the form sent: the rules run over the whole record as
    it would be stored (a later change re-checks the times it leaves in place, and the admin's
    amend form gives Python values), and only the value itself is stored. A tap that falls on
    exactly hh:mm:00.000 (1 in 60,000) is compared to the minute too, which only lets through an
    order within that one minute. Milliseconds, not microseconds, so that the app (a JavaScript
    Date holds milliseconds) decides the same: isToTheMinute in pwa/app/records-rules.js."""
    return value.second == 0 and value.microsecond < 1000


def _minute_of(value: datetime.datetime) -> datetime.datetime:
    return value.replace(second=0, microsecond=0)


def _second_of(value: datetime.datetime) -> datetime.datetime:
    return value.replace(microsecond=0)


def _check_outcome(record: dict, errors: dict) -> None:
    attempted = record["resuscitation_attempted"]
    shocks = record["crew_shocks"] or 0
    if not attempted:
        if not record["not_attempted_reason"]:
            _add(
                errors,
                "not_attempted_reason",
                f"Say why resuscitation was not attempted: one of {', '.join(NotAttemptedReason.values)}.",
            )
        if shocks:
            _add(errors, "crew_shocks", "Resuscitation was not attempted, so the crew cannot have given shocks.")
        # Only a Yes contradicts it: compressions not known (None) are accepted.
        if record["compressions"] is True:
            _add(errors, "compressions", "Resuscitation was not attempted, so the crew cannot have given compressions.")
    elif record["not_attempted_reason"]:
        _add(errors, "not_attempted_reason", "Leave this empty: resuscitation was attempted.")
    # A shock by the crew means its defibrillator was applied: No and not known (None) are both
    # refused, as ROSC at handover needs "ROSC at any time" answered yes, not left not known. The
    # first rhythm is not checked against the shocks: a first rhythm classed "no shock advised" can
    # become shockable at a later analysis and be shocked, and the first rhythm may not be known
    # (the checklist's taps may not say it); the Utstein template keeps the two apart
    # (docs/hazard-log.md, H23 control 9). The same rule is in the app (checkOutcome).
    if shocks and "crew_shocks" not in errors and record["defibrillator_applied"] is not True:
        _add(errors, "crew_shocks", "Shocks need the crew's defibrillator applied: answer Yes, or set shocks to 0.")
    if record["first_shock_at"] is not None and not shocks:
        _add(errors, "first_shock_at", "A first shock time needs at least one shock by the crew.")
    if record["rosc_at_handover"] and not record["rosc_any_time"]:
        _add(errors, "rosc_any_time", "ROSC at handover means there was ROSC: tick 'ROSC at any time'.")
    if record["rosc_at"] is not None and not record["rosc_any_time"]:
        _add(errors, "rosc_any_time", "A ROSC time means there was ROSC: tick 'ROSC at any time'.")
    # Each answer may be not known (None); only two Yes answers that cannot both be true are refused
    # here. The same rule is in the app (checkOutcome in pwa/app/records-rules.js).
    if record["rosc_at_handover"] is True and record["ongoing_cpr_at_handover"] is True:
        _add(
            errors,
            "ongoing_cpr_at_handover",
            "'CPR ongoing at handover' cannot be yes when 'ROSC at handover' is yes: answer no to one of them.",
        )
    _check_utstein_core(record, errors)


def _check_utstein_core(record: dict, errors: dict) -> None:
    """The rules of the Utstein items added in issue 16. Each fires only when one of those items
    is given, so a record made before them (every new item at its default) stays valid when it
    is amended later."""
    if record["collapse_time_estimated"] is True and record["collapse_at"] is None:
        _add(errors, "collapse_time_estimated", "Give the estimated collapse time, or answer No to 'estimated'.")
    if record["public_defibrillator_first_shock_at"] is not None:
        if record["public_defibrillator_applied"] != YesNoUnknown.YES:
            _add(
                errors,
                "public_defibrillator_first_shock_at",
                "A public defibrillator's shock time needs 'Public defibrillator applied' answered yes.",
            )
        elif not record["public_defibrillator_shocks"]:
            _add(
                errors,
                "public_defibrillator_first_shock_at",
                "A public defibrillator's shock time needs at least one shock by it: give the number of shocks.",
            )
    if record["first_cpr_at"] is not None and record["first_cpr_by"] == FirstCprBy.NOBODY:
        _add(errors, "first_cpr_at", "Nobody gave CPR, so there is no first CPR time: leave it empty.")
    if record["first_shock_any_at"] is not None and record["first_shock_by"] == FirstBy.NOBODY:
        _add(errors, "first_shock_any_at", "Nobody gave a shock, so there is no first shock time: leave it empty.")


def _add(errors: dict, name: str, message: str) -> None:
    errors.setdefault(name, []).append(message)


def _shown(value: datetime.datetime, pattern: str = "j M H:i:s") -> str:
    return formats.date_format(timezone.localtime(value), pattern)


# --- The CAD's times --------------------------------------------------------------------------------

# What the ambulance service's CAD may send of an incident, each a time or null (to clear it).
CAD_TIME_FIELDS = {
    "call_received_at": _time("999 call received", may_precede_incident=True),
    "ambulance_at_scene_at": _time("Ambulance at scene", may_precede_incident=True),
}


def parse_cad_times(raw) -> dict:
    """The CAD's times as Python values; unknown fields and bad times refused, each named."""
    if not isinstance(raw, dict) or not raw:
        message = f"Send a JSON object with one or more of: {', '.join(CAD_TIME_FIELDS)}."
        raise InvalidInput(message, fields={"non_field_errors": [message]})
    values, errors = {}, {}
    for name, value in raw.items():
        spec = CAD_TIME_FIELDS.get(name)
        if spec is None:
            errors[name] = [f"Not a CAD time. The CAD times are: {', '.join(CAD_TIME_FIELDS)}."]
            continue
        try:
            values[name] = None if value is None else _parse_time(spec, value)
        except ValueError as problem:
            errors[name] = [str(problem)]
    if errors:
        raise InvalidInput("The CAD times have errors: see fields.", fields=errors)
    return values


def check_cad_times(times: dict, *, incident, now: datetime.datetime) -> None:
    """The CAD's times as they would be stored (both present): none in the future, none long
    before the incident was made, the call before the ambulance got there."""
    errors: dict[str, list[str]] = {}
    for name in CAD_TIME_FIELDS:
        value = times.get(name)
        if value is None:
            continue
        if value > now + CLOCK_SLACK:
            _add(errors, name, "This time is in the future. Check the CAD's clock.")
        elif value < incident.created_at - BEFORE_THE_CALL:
            _add(
                errors,
                name,
                f"This time is more than a day before the incident was created ({_shown(incident.created_at)}).",
            )
    call, ambulance = times.get("call_received_at"), times.get("ambulance_at_scene_at")
    if not errors and call is not None and ambulance is not None and ambulance < call:
        _add(
            errors,
            "ambulance_at_scene_at",
            f"The ambulance ({_shown(ambulance)}) cannot be at scene before the 999 call ({_shown(call)}).",
        )
    if errors:
        raise InvalidInput("The CAD times have errors: see fields.", fields=errors)
