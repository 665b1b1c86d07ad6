"""JSON Schemas (draft 2020-12) of every event frame and every API payload: the single source for
docs/events.md, the OpenAPI document, and the tests that validate what is really sent.

Files refer to each other by file name ("$ref": "alert.schema.json") and to their own `$defs`
("$ref": "#/$defs/step"); `load` inlines both so that each loaded schema stands alone (OpenAPI
cannot follow file references, and would read "#/..." as a reference into the OpenAPI document).
"""

import functools
import json
from pathlib import Path

SCHEMA_DIR = Path(__file__).resolve().parent


@functools.cache
def _raw(name: str) -> dict:
    return json.loads((SCHEMA_DIR / f"{name}.schema.json").read_text())


def load(name: str) -> dict:
    """The schema called `name` with all references inlined."""
    raw = _raw(name)
    return _inline(raw, raw)


def _inline(node, root: dict):
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.endswith(".schema.json"):
            return load(ref.removesuffix(".schema.json"))
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return _inline(root["$defs"][ref.removeprefix("#/$defs/")], root)
        return {key: _inline(value, root) for key, value in node.items() if key not in ("$schema", "$id", "$defs")}
    if isinstance(node, list):
        return [_inline(item, root) for item in node]
    return node


def event_types() -> list[str]:
    """Every frame type a server can send, from the files named event.<type>.schema.json."""
    return sorted(
        path.name.removeprefix("event.").removesuffix(".schema.json") for path in SCHEMA_DIR.glob("event.*.schema.json")
    )


def openapi_schema(name: str):
    """A response for drf-spectacular's extend_schema, described by the schema file `name`."""
    from drf_spectacular.utils import OpenApiResponse

    schema = load(name)
    return OpenApiResponse(response=schema, description=schema.get("title", ""))


def api_responses(name: str, *, status: int = 200, errors=(400, 401, 403, 404, 409)) -> dict:
    """The success response and the error responses an endpoint can give, all documented."""
    from drf_spectacular.utils import OpenApiResponse

    error = load("api_error")
    return {status: openapi_schema(name), **{code: OpenApiResponse(response=error) for code in errors}}
