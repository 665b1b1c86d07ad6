"""The event schemas are valid and every event type is documented in docs/events.md."""

import re
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from backend import schemas
from backend.sockets.consumers import CloseCode

DOCS = Path(__file__).resolve().parents[2] / "docs" / "events.md"
SCHEMA_NAMES = sorted(path.name.removesuffix(".schema.json") for path in schemas.SCHEMA_DIR.glob("*.schema.json"))


def _section(markdown: str, heading: str) -> str:
    """The text under the level-2 `heading`, up to the next level-2 heading."""
    match = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", markdown, flags=re.M | re.S)
    assert match, f"docs/events.md has no section '## {heading}'"
    return match.group(1)


def _documented_events() -> dict[str, str]:
    """Each event type documented under '## Events the server sends', with its text."""
    section = _section(DOCS.read_text(), "Events the server sends")
    parts = re.split(r"^### `([^`]+)`\n", section, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def test_it_finds_the_event_schemas():
    assert len(schemas.event_types()) >= 10
    assert {"alert.created", "sync.ready", "board.snapshot", "error"} <= set(schemas.event_types())


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_it_has_only_valid_draft_2020_12_schemas(name):
    raw = schemas._raw(name)
    assert raw.get("$schema") == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(raw)
    loaded = schemas.load(name)
    Draft202012Validator.check_schema(loaded)
    assert ".schema.json" not in str(loaded), "a file reference was left in the loaded schema"


@pytest.mark.parametrize("event_type", schemas.event_types())
def test_it_gives_every_event_the_envelope(event_type):
    schema = schemas.load(f"event.{event_type}")
    assert schema["type"] == "object"
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == {"type", "id", "sent_at", "data"}
    assert schema["properties"]["type"] == {"const": event_type}


def test_it_documents_every_event_type_and_nothing_else():
    assert sorted(_documented_events()) == schemas.event_types()


@pytest.mark.parametrize("event_type", schemas.event_types())
def test_it_links_each_documented_event_to_its_schema(event_type):
    text = _documented_events().get(event_type, "")
    link = f"(../backend/schemas/event.{event_type}.schema.json)"
    assert link in text, f"the section on {event_type} does not link to its schema"
    assert (DOCS.parent / link.strip("()")).resolve().is_file()


def test_it_documents_every_close_code():
    section = _section(DOCS.read_text(), "Close codes")
    documented = {int(code) for code in re.findall(r"^\| (\d{4}) \|", section, flags=re.M)}
    codes = {value for name, value in vars(CloseCode).items() if name.isupper()}
    assert documented == codes
