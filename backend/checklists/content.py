"""The CPR and defibrillator checklist the app shows on scene, as versioned data.

The content lives in `data/` as JSON, one file per major version, so that changing it is a
reviewed change to a file, never an edit in a screen or the admin. Each version is signed off by a
clinician before production serves it (backend.checklists.signoff; the file's `clinical_review`
lists what the clinician must look at). The app shows the version, the source and the sign-off;
the API serves the version as approved (`GET /api/v1/checklist/`). Its shape is
`backend/schemas/checklist.schema.json`, and tests/checklists/test_checklist_content.py holds it
to the clinical figures of RCUK's guidelines.

`current()` is the newest file: it defines the one-tap events and their data, which every version
shares (a test holds them equal), so that events recorded with any served version are checked.
"""

import functools
import json
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"
CURRENT_FILE = DATA_DIR / "bls-aed-v2.json"

# Marks, in the content's text, what the guideline text could not settle and a clinician must
# confirm (e.g. the infant hand position). A version is never approved while any of its text still
# carries it (backend.checklists.signoff.approve_version). The one place the marker is defined.
PLACEHOLDER_MARKER = "AWAITING CLINICAL CONFIRMATION"
# The clinician's to-do list: its questions name the marker ("replace the 'AWAITING CLINICAL
# CONFIRMATION' sentence"), they are not guidance, so they are not searched for it.
REVIEW_SECTION = "clinical_review"


@functools.cache
def current() -> dict:
    """The checklist in force. Shared between callers: do not modify it."""
    return json.loads(CURRENT_FILE.read_text(encoding="utf-8"))


def placeholders(document: dict) -> list[str]:
    """Where the document's text still carries PLACEHOLDER_MARKER, each as a reader would find it:
    'Infant checklist, step "Start chest compressions" (variants.infant.steps.compressions)'. A
    list of steps is entered by a step's id, as `clinical_review.items[].where` names places."""
    found = []
    for path, text in _texts(document, ()):
        if PLACEHOLDER_MARKER in text.upper():
            found.append(_describe(document, path))
    return found


def _texts(node, path: tuple[str, ...]):
    if isinstance(node, str):
        yield path, node
    elif isinstance(node, dict):
        for key, value in node.items():
            if not (path == () and key == REVIEW_SECTION):
                yield from _texts(value, (*path, str(key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            key = value.get("id") if isinstance(value, dict) else None
            yield from _texts(value, (*path, str(key) if key else str(index)))


def _describe(document: dict, path: tuple[str, ...]) -> str:
    where = ".".join(path)
    if len(path) >= 2 and path[0] == "variants":
        variant = document["variants"].get(path[1], {})
        name = f"{variant.get('label', path[1])} checklist"
        if len(path) >= 4 and path[2] == "steps":
            step = next((s for s in variant.get("steps", []) if s.get("id") == path[3]), {})
            return f'{name}, step "{step.get("title", path[3])}" ({where})'
        return f"{name} ({where})"
    return where


def event_ids() -> list[str]:
    """The one-tap events the checklist records, in the order the checklist lists them."""
    return [event["id"] for event in current()["events"]]


def event_definition(event_type: str) -> dict | None:
    return next((event for event in current()["events"] if event["id"] == event_type), None)


def event_label(event_type: str) -> str:
    event = event_definition(event_type)
    return event["label"] if event else event_type


def data_errors(event_type: str, data: dict) -> dict[str, list[str]]:
    """What is wrong with an event's `data`, as messages per field ("data.shock_number"). An event
    may carry only the fields its definition lists, each valid as `data_fields` describes it. There
    is deliberately no free text: nothing that could hold a patient's name."""
    event = event_definition(event_type)
    if event is None:
        return {}
    fields = current()["data_fields"]
    errors: dict[str, list[str]] = {}
    for name, value in data.items():
        if name not in event["data"]:
            allowed = ", ".join(event["data"]) or "none"
            errors[f"data.{name}"] = [f"Not recorded with {event_type!r} (allowed: {allowed})."]
            continue
        problem = _field_problem(fields[name], value)
        if problem:
            errors[f"data.{name}"] = [problem]
    return errors


def _field_problem(field: dict, value) -> str | None:
    if field["type"] == "choice":
        values = [choice["value"] for choice in field["choices"]]
        return None if value in values else f"Use one of: {', '.join(values)}."
    if field["type"] == "integer":
        whole = isinstance(value, int) and not isinstance(value, bool)
        return (
            None
            if whole and field["min"] <= value <= field["max"]
            else (f"A whole number from {field['min']} to {field['max']}.")
        )
    return f"Cannot check a field of type {field['type']!r}."
