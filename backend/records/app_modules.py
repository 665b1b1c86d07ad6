"""The firefighters' app's modules that are written from the server's own definitions, so that the
phone, the board and the server cannot drift apart:

- pwa/app/labels.js: the words for each incident and alert choice (state, category, why declined,
  why stood down, why a dispatch reached nobody), from the TextChoices in backend/dispatch/models.py.
  The app (pwa/app/format.js) and the coordinators' board (board-state.js, which loads it from
  /app/labels.js) both use it. With them, the states the server takes a decline in (the answer's
  transition in backend/dispatch/actions.py), so the app offers "Decline" and "Can't attend after
  all" only where the server would take it (pwa/app/store.js: DECLINABLE).
- pwa/app/form-schema.js: the after-call forms' fields as the server accepts them (type, required,
  which yes/no questions may be not known, choices with their labels, length and number limits,
  clock slack), from `FIELDS` in backend/records/validation.py and the records' TextChoices.
  pwa/app/records-rules.js builds its forms and its checks on it.

`python manage.py write_app_modules` writes both; tests/records/test_app_modules.py fails while a
committed file differs from what the command would write. They live in records, which already
depends on dispatch, so that dispatch keeps not importing records.

The files are part of the app shell: after writing them, give the service worker its new
version (`node pwa/tools/shell-version.mjs --write`).
"""

import json
from pathlib import Path

from django.conf import settings
from django.db import models

from backend.dispatch.actions import RESPONSES
from backend.dispatch.models import (
    AlertState,
    DeclineReason,
    IncidentCategory,
    IncidentStatus,
    StandDownReason,
    UnreachedReason,
)
from backend.records import validation
from backend.records.models import Attendance, Outcome, RecordKind, WelfareCheckIn

HEADER = """\
// Generated from {source} by `manage.py write_app_modules`
// (backend/records/app_modules.py). Do not edit: change the server's definitions, then run the
// command; tests/records/test_app_modules.py fails while this file is out of date.
"""

# Each exported constant of labels.js: value -> label, in the server's order.
LABELS = {
    "ALERT_STATES": AlertState,
    "INCIDENT_CATEGORIES": IncidentCategory,
    "INCIDENT_STATUSES": IncidentStatus,
    "DECLINE_REASONS": DeclineReason,
    "STAND_DOWN_REASONS": StandDownReason,
    "UNREACHED_REASONS": UnreachedReason,
}

# Where each form's choices get their labels: the model the form is stored in.
RECORD_MODELS = {
    RecordKind.ATTENDANCE: Attendance,
    RecordKind.OUTCOME: Outcome,
    RecordKind.WELFARE: WelfareCheckIn,
}


def _export(name: str, value, *, open_levels: int = 0) -> str:
    return f"export const {name} = {_js(value, open_levels)};\n"


def _js(value, open_levels: int, depth: int = 0) -> str:
    """`value` as a JavaScript literal (JSON is one): the first `open_levels` levels of objects one
    entry a line, what is inside them on one line, so that a change shows as a one-line diff."""
    if not isinstance(value, dict) or depth >= open_levels:
        return json.dumps(value, ensure_ascii=False)
    inner = "  " * (depth + 1)
    entries = [f"{inner}{json.dumps(key)}: {_js(item, open_levels, depth + 1)}," for key, item in value.items()]
    return "{\n" + "\n".join(entries) + "\n" + "  " * depth + "}"


def labels_module() -> str:
    parts = [HEADER.format(source="the choices in backend/dispatch/models.py")]
    for name, choices in LABELS.items():
        parts.append("\n" + _export(name, _labels(choices), open_levels=1))
    # Found by a trial of the product: the app offered "Can't attend after all" on scene, where the
    # server refuses a decline, and the refusal left the reason picker open over the alert.
    parts.append("\n// The alert states the server takes a decline in, in the states' order.\n")
    parts.append(_export("DECLINE_FROM", _states_of(RESPONSES["decline"].allowed_from)))
    return "".join(parts)


def _states_of(states) -> list[str]:
    """A set of alert states as a list in AlertState's order: the same file every time."""
    return [state for state in AlertState.values if state in states]


def _labels(choices: type[models.TextChoices]) -> dict[str, str]:
    return {value: str(label) for value, label in choices.choices}


def form_schema_module() -> str:
    parts = [HEADER.format(source="the form fields in backend/records/validation.py")]
    parts.append("\n// Each form's fields, in the server's order, as the server accepts them.\n")
    fields = {str(kind): _form_fields(kind) for kind in validation.FIELDS}
    parts.append(_export("FORM_FIELDS", fields, open_levels=2))
    parts.append("\n// How far ahead of the server's clock a phone's time may be and still be accepted.\n")
    parts.append(_export("CLOCK_SLACK_MS", int(validation.CLOCK_SLACK.total_seconds() * 1000)))
    return "".join(parts)


def _form_fields(kind: str) -> dict:
    model = RECORD_MODELS[kind]
    return {name: _field(spec, model, name) for name, spec in validation.FIELDS[kind].items()}


def _field(spec: validation.Field, model, name: str) -> dict:
    """One field as the app needs it: only what a phone can check, in JSON terms."""
    described = {"type": spec.type, "required": spec.required}
    if spec.type == "bool" and spec.nullable:
        # A yes/no question that may be answered "not known" (null). (Times and counts are always
        # null while empty: the app needs no word for that.)
        described["nullable"] = True
    if spec.type == "choice":
        described["choices"] = _choice_labels(spec, model, name)
    if spec.max_length is not None:
        described["maxLength"] = spec.max_length
    if spec.type in ("count", "scale"):
        described["minimum"] = spec.minimum
        described["maximum"] = spec.maximum
    return described


def _choice_labels(spec: validation.Field, model, name: str) -> list[list[str]]:
    labels = dict(model._meta.get_field(name).choices)
    # The parser's choices and the model's are the same TextChoices; say so loudly if they part.
    assert list(labels) == list(spec.choices), f"{model.__name__}.{name}: choices differ from validation.FIELDS"
    return [[value, str(labels[value])] for value in spec.choices]


def modules() -> dict[Path, str]:
    """Each generated file (under the repository) and the text it must have."""
    app = Path(settings.BASE_DIR) / "pwa" / "app"
    return {app / "labels.js": labels_module(), app / "form-schema.js": form_schema_module()}
