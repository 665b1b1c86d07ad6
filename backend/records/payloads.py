"""The JSON shapes of after-call records (docs: /work/records-api-contract.md), and their JSON
Schemas for the OpenAPI document, both built from the one field list in
backend/records/validation.py."""

import datetime

from django.conf import settings
from django.utils import timezone

from backend.records.models import CadTimes, Outcome, RecordKind, WelfareCheckIn
from backend.records.validation import FIELDS, Field

REASON_MAX_LENGTH = 500


def locks_at(record) -> datetime.datetime | None:
    """When the author can no longer change the record (RECORDS_LOCK_HOURS after it was submitted).
    None for a welfare check-in: nobody else may change it (coordinators may not even see it), and
    a firefighter may ask for a follow-up days after a call."""
    if isinstance(record, WelfareCheckIn):
        return None
    return record.submitted_at + datetime.timedelta(hours=settings.RECORDS_LOCK_HOURS)


def is_locked(record, now: datetime.datetime | None = None) -> bool:
    lock_time = locks_at(record)
    return lock_time is not None and (now or timezone.now()) >= lock_time


def record_payload(kind: str, record) -> dict:
    payload = {
        "id": record.pk,
        "kind": kind,
        "version": record.version,
        "submitted_at": _time(record.submitted_at),
        "updated_at": _time(record.updated_at),
        "locks_at": _time(locks_at(record)),
        "locked": is_locked(record),
    }
    if kind == RecordKind.OUTCOME:
        payload["incident_id"] = record.incident_id
        payload["station_id"] = record.station_id
    else:
        payload["alert_id"] = record.alert_id
    payload.update(field_values(kind, record, as_json=True))
    return payload


def field_values(kind: str, record, *, as_json: bool = False) -> dict:
    """The form's fields as the record holds them (the crew as responder ids)."""
    values = {}
    for name, spec in FIELDS[kind].items():
        if spec.type == "ids":
            value = tuple(sorted(record.crew.values_list("pk", flat=True))) if record.pk else ()
            values[name] = list(value) if as_json else value
        else:
            value = getattr(record, name)
            values[name] = _time(value) if as_json and spec.type == "time" else value
    return values


CAD_TIME_NAMES = ("call_received_at", "ambulance_at_scene_at")


def cad_times_payload(incident_id: int) -> dict:
    """The CAD's times of an incident (each null until the CAD sends it)."""
    stored = CadTimes.objects.filter(incident_id=incident_id).first()
    return {name: _time(getattr(stored, name, None)) for name in CAD_TIME_NAMES}


def cad_times_schema() -> dict:
    return {
        "type": "object",
        "properties": {name: {"type": ["string", "null"], "format": "date-time"} for name in CAD_TIME_NAMES},
        "required": list(CAD_TIME_NAMES),
        "additionalProperties": False,
        "description": "The ambulance service's own times, sent by its CAD; read-only on the form.",
    }


def record_summary(record) -> dict | None:
    if record is None:
        return None
    return {"id": record.pk, "version": record.version, "locked": is_locked(record)}


def _time(value: datetime.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


# --- JSON Schemas for the OpenAPI document ------------------------------------------------------------

NO_NULL_CHARACTER = "^[^\\u0000]*$"


def _request_field_schema(spec: Field) -> dict:
    if spec.type == "bool":
        if spec.nullable:
            return {"type": ["boolean", "null"], "description": "null: not known (left unanswered)."}
        return {"type": "boolean"}
    if spec.type == "choice":
        choices = [*spec.choices, *([""] if spec.default == "" else [])]
        return {"type": ["string", "null"], "enum": [*choices, None], "description": "null: the default."}
    if spec.type == "time":
        return {"type": ["string", "null"], "format": "date-time"}
    if spec.type in ("count", "scale"):
        schema = {"type": ["integer", "null"] if spec.nullable else "integer", "minimum": spec.minimum}
        return {**schema, "maximum": spec.maximum}
    if spec.type == "text":
        return {"type": "string", "maxLength": spec.max_length, "pattern": NO_NULL_CHARACTER}
    return {"type": "array", "items": {"type": "integer"}, "description": "Responder ids."}


def _response_field_schema(spec: Field) -> dict:
    if spec.type == "choice":
        return {"type": "string", "enum": [*spec.choices, *([""] if spec.default == "" else [])]}
    if spec.type in ("count", "scale"):
        return {"type": ["integer", "null"] if spec.nullable else "integer"}
    if spec.type == "text":
        return {"type": "string"}
    return _request_field_schema(spec)


def _fields_with_labels(kind: str, to_schema) -> dict:
    return {name: {**to_schema(spec), "title": spec.label} for name, spec in FIELDS[kind].items()}


def record_schema(kind: str) -> dict:
    link = (
        {"incident_id": {"type": "integer"}, "station_id": {"type": "integer"}}
        if kind == RecordKind.OUTCOME
        else {"alert_id": {"type": "integer"}}
    )
    properties = {
        "id": {"type": "integer"},
        "kind": {"type": "string", "enum": [kind]},
        "version": {"type": "integer", "minimum": 1},
        "submitted_at": {"type": "string", "format": "date-time"},
        "updated_at": {"type": "string", "format": "date-time"},
        **_lock_schema(kind),
        **link,
        **_fields_with_labels(kind, _response_field_schema),
    }
    return {
        "type": "object",
        "title": f"{RecordKind(kind).label} record",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def _lock_schema(kind: str) -> dict:
    if kind == RecordKind.WELFARE:
        never = "A welfare check-in never locks: its author may change it at any time."
        return {
            "locks_at": {"type": "null", "description": never},
            "locked": {"type": "boolean", "enum": [False], "description": never},
        }
    return {"locks_at": {"type": "string", "format": "date-time"}, "locked": {"type": "boolean"}}


def _idempotency_key_schema() -> dict:
    return {
        "type": "string",
        "format": "uuid",
        "description": "Made by the app for each submission (crypto.randomUUID()); resend the same key to retry.",
    }


def submit_schema(kind: str) -> dict:
    required = [name for name, spec in FIELDS[kind].items() if spec.required]
    return {
        "type": "object",
        "properties": {
            "idempotency_key": _idempotency_key_schema(),
            **_fields_with_labels(kind, _request_field_schema),
        },
        "required": ["idempotency_key", *required],
        "additionalProperties": False,
    }


def change_schema(kind: str) -> dict:
    return {
        "type": "object",
        "properties": {
            "idempotency_key": _idempotency_key_schema(),
            "reason": {
                "type": "string",
                "minLength": 1,
                "maxLength": REASON_MAX_LENGTH,
                "pattern": NO_NULL_CHARACTER,
                "description": "Why the record is changed. Kept with the change; never in the audit trail.",
            },
            **_fields_with_labels(kind, _request_field_schema),
        },
        "required": ["idempotency_key", "reason"],
        "additionalProperties": False,
    }


def record_response_schema(kind: str) -> dict:
    return {
        "type": "object",
        "properties": {"record": record_schema(kind)},
        "required": ["record"],
        "additionalProperties": False,
    }


def form_schema(kind: str) -> dict:
    prefill = {
        "type": "object",
        "properties": _fields_with_labels(kind, _response_field_schema),
        "additionalProperties": False,
        "description": "Values the server knows from the alert and the on-scene log; only those it knows.",
    }
    return {
        "type": "object",
        "properties": {
            "record": {"oneOf": [record_schema(kind), {"type": "null"}]},
            "prefill": prefill,
            "editable": {"type": "boolean"},
            "lock_hours": {"type": "integer"},
            "cad_times": {"oneOf": [cad_times_schema(), {"type": "null"}], "description": "Outcome form only."},
            "outcome_duty": {"oneOf": [_outcome_duty_schema(), {"type": "null"}], "description": "Outcome form only."},
            "own_forms_expected": {
                "type": "boolean",
                "description": "I owe my own forms (attendance, welfare): false when my alert ended before I set off "
                "(withdrew, stood down, cancelled; as own_forms_expected in GET records/). I may still file them.",
            },
            "prefill_estimated": {
                "type": "array",
                "items": {"type": "string"},
                "description": "Fields of the prefill that are estimates, not recorded times (left_scene_at from "
                "when the call ended for me, when I never cleared).",
            },
        },
        "required": [
            "record",
            "prefill",
            "editable",
            "lock_hours",
            "cad_times",
            "outcome_duty",
            "own_forms_expected",
            "prefill_estimated",
        ],
        "additionalProperties": False,
    }


def _outcome_duty_schema() -> dict:
    return {
        "type": "object",
        "description": "Who fills in the crew's outcome form: the crew lead who attended, else the first of the crew "
        "to arrive. Nobody of the crew known to have attended: not expected (the crew lead may still file it).",
        "properties": {
            "expected": {"type": "boolean", "description": "Someone of the crew attended: the crew owes the form."},
            "fills_it": {"type": "boolean", "description": "I fill it in (and may submit it)."},
            "filled_in_by": {"type": "array", "items": {"type": "string"}, "description": "Who may submit it."},
        },
        "required": ["expected", "fills_it", "filled_in_by"],
        "additionalProperties": False,
    }


def outcome_duty_payload(duty, alert) -> dict:
    """A crew's access.OutcomeDuty as one of its members' forms has it."""
    return {"expected": duty.expected, "fills_it": duty.falls_to(alert), "filled_in_by": duty.names}


def _summary_schema() -> dict:
    return {
        "oneOf": [
            {
                "type": "object",
                "properties": {
                    "id": {"type": "integer"},
                    "version": {"type": "integer"},
                    "locked": {"type": "boolean"},
                },
                "required": ["id", "version", "locked"],
                "additionalProperties": False,
            },
            {"type": "null"},
        ]
    }


def my_records_schema() -> dict:
    item = {
        "type": "object",
        "properties": {
            "alert_id": {"type": "integer"},
            "incident_id": {"type": "integer"},
            "cad_reference": {"type": "string"},
            "alerted_at": {"type": "string", "format": "date-time"},
            "attendance": _summary_schema(),
            "outcome": _summary_schema(),
            "welfare": _summary_schema(),
            # This firefighter owes their attendance form and welfare check-in: false when they
            # never set off (access.never_set_off); they may still file.
            "own_forms_expected": {"type": "boolean"},
            "is_crew_lead": {"type": "boolean"},
            # Someone of this crew attended: only then is an outcome form owed.
            "outcome_expected": {"type": "boolean"},
            # This firefighter fills in the crew's outcome form (access.OutcomeDuty).
            "fills_outcome": {"type": "boolean"},
        },
        "additionalProperties": False,
    }
    item["required"] = list(item["properties"])
    return {
        "type": "object",
        "properties": {"results": {"type": "array", "items": item}},
        "required": ["results"],
        "additionalProperties": False,
    }


def welfare_list_schema() -> dict:
    check_in = record_schema(RecordKind.WELFARE)
    extra = {
        "responder": {
            "type": "object",
            "properties": {"id": {"type": "integer"}, "name": {"type": "string"}, "station": {"type": "string"}},
            "required": ["id", "name", "station"],
            "additionalProperties": False,
        },
        "cad_reference": {"type": "string"},
        "alerted_at": {"type": "string", "format": "date-time"},
        "welfare_leads_notified_at": {"type": ["string", "null"], "format": "date-time"},
    }
    item = {**check_in, "properties": {**check_in["properties"], **extra}}
    item["required"] = list(item["properties"])
    return {
        "type": "object",
        "properties": {
            "count": {"type": "integer"},
            "next": {"type": ["string", "null"]},
            "previous": {"type": ["string", "null"]},
            "results": {"type": "array", "items": item},
        },
        "required": ["count", "next", "previous", "results"],
        "additionalProperties": False,
    }


def welfare_list_item(check_in) -> dict:
    alert = check_in.alert
    return {
        **record_payload(RecordKind.WELFARE, check_in),
        "responder": {
            "id": alert.responder_id,
            "name": alert.responder.display_name,
            "station": alert.responder.station.name,
        },
        "cad_reference": alert.incident.cad_reference,
        "alerted_at": _time(alert.alerted_at),
        "welfare_leads_notified_at": _time(check_in.welfare_leads_notified_at),
    }


def outcome_crew_queryset():
    """Outcomes with their crew loaded, for payloads of many at once."""
    return Outcome.objects.prefetch_related("crew")
