"""JSON, strictly: how the API (backend/api/parsers.py) and the sockets (backend/sockets/) read
what clients send.

Python's JSON parser is lenient where a request body must not be: of two equal keys the last wins
without a word (`{"latitude": 52.6, ..., "latitude": -10}` was stored at -10). `NaN` and
`Infinity` (not JSON), numbers too long for Python (over 4,300 digits) and bodies nested deeper
than the parser can recurse were refused, but as a `parse_error` naming no field.
Here each of these is a 400 `invalid` naming the field at fault by its dotted path (`keys.p256dh`,
`station_ids.0`), as every other field error does (backend/api/errors.py); for nesting, the
top-level field it starts in. Nothing is created. Text that is not JSON at all stays a
`parse_error`.

The common case stays fast: the hooks only leave a marker where something is wrong, the result is
walked only when a marker was left, and the nesting pre-scan runs only on bodies with more
brackets than the depth allowed.
"""

import json
import math
import re
from collections import Counter

# Deeper than any body the API takes (three or four levels), far shallower than the parser's limit.
MAX_DEPTH = 32
# Characters of one JSON number, sign and exponent included: a latitude to a nanometre needs 15.
MAX_NUMBER_LENGTH = 100

NOT_FINITE = "Give a finite number: NaN, Infinity and -Infinity are not JSON."
NUMBER_TOO_LONG = f"This number is too long: at most {MAX_NUMBER_LENGTH} characters."
NUMBER_TOO_LARGE = "This number is too large."
DUPLICATE_KEY = "This key is given more than once: send each field once."
TOO_DEEP = f"Nested too deeply: at most {MAX_DEPTH} levels of arrays and objects."
# Where a problem that is not inside any field (the body itself) is reported, as DRF does.
BODY = "non_field_errors"


class RefusedJSON(ValueError):
    """JSON the product does not accept; `fields` holds the messages by dotted path (BODY for the
    body as a whole)."""

    def __init__(self, fields: dict[str, list[str]]):
        super().__init__("; ".join(f"{path}: {' '.join(messages)}" for path, messages in fields.items()))
        self.fields = fields


def loads(text: str):
    """`text` parsed as JSON, strictly. RefusedJSON for duplicate keys, numbers that are not finite
    or are too long, and nesting too deep; another ValueError (JSONDecodeError) if it is not JSON.
    """
    too_deep, key = nesting_too_deep(text)
    if too_deep:
        raise RefusedJSON({key if key is not None else BODY: [TOO_DEEP]})
    hooks = _Hooks()
    try:
        value = json.loads(
            text,
            object_pairs_hook=hooks.object_from_pairs,
            parse_constant=hooks.constant,
            parse_int=hooks.integer,
            parse_float=hooks.fraction,
        )
    except RecursionError:  # not reached after the pre-scan; kept so that it can never be a 500
        raise RefusedJSON({BODY: [TOO_DEEP]}) from None
    if hooks.marked:
        errors: dict[str, list[str]] = {}
        _collect(value, "", errors)
        raise RefusedJSON(errors)
    return value


# A JSON string (with its escapes), or one of the characters that open, close or key a container.
_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}:]')


def nesting_too_deep(text: str) -> tuple[bool, str | None]:
    """Whether arrays and objects in `text` nest deeper than MAX_DEPTH and, if so, the top-level key
    whose value does (None if the body is not an object). Brackets inside strings do not count."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return False, None
    depth, top_is_object, key, last_string = 0, False, None, None
    for match in _TOKENS.finditer(text):
        token = match.group()
        char = token[0]
        if char == '"':
            last_string = token
        elif char in "[{":
            depth += 1
            if depth == 1:
                top_is_object = char == "{"
            elif depth > MAX_DEPTH:
                return True, _key_name(key) if top_is_object else None
        elif char in "]}":
            depth -= 1
        elif depth == 1 and top_is_object:  # ":" after a top-level key
            key = last_string
    return False, None


def _key_name(token: str | None) -> str | None:
    if token is None:
        return None
    try:
        return json.loads(token)
    except ValueError:
        return token[1:-1]


class _Refused:
    """Stands where a value was that JSON or the API does not allow."""

    __slots__ = ("message",)

    def __init__(self, message: str):
        self.message = message


class _ObjectWithDuplicates(dict):
    """An object some of whose keys were given more than once."""

    duplicates: list[str]


class _Hooks:
    """The parser's hooks for one body; `marked` once any of them left a marker."""

    def __init__(self):
        self.marked = False

    def _refuse(self, message: str) -> _Refused:
        self.marked = True
        return _Refused(message)

    def object_from_pairs(self, pairs: list[tuple[str, object]]) -> dict:
        value = dict(pairs)
        if len(value) == len(pairs):
            return value
        self.marked = True
        value = _ObjectWithDuplicates(value)
        value.duplicates = [key for key, count in Counter(key for key, _ in pairs).items() if count > 1]
        return value

    def constant(self, name: str) -> _Refused:
        return self._refuse(NOT_FINITE)

    def integer(self, digits: str):
        if len(digits) > MAX_NUMBER_LENGTH:
            return self._refuse(NUMBER_TOO_LONG)
        return int(digits)

    def fraction(self, digits: str):
        if len(digits) > MAX_NUMBER_LENGTH:
            return self._refuse(NUMBER_TOO_LONG)
        value = float(digits)
        if math.isinf(value):  # 1e999: a JSON number, but too large for a float
            return self._refuse(NUMBER_TOO_LARGE)
        return value


def _collect(value, path: str, errors: dict[str, list[str]]) -> None:
    """Each marker's message under its dotted path (depth is bounded by MAX_DEPTH)."""
    if isinstance(value, _Refused):
        errors.setdefault(path or BODY, []).append(value.message)
    elif isinstance(value, dict):
        for key in getattr(value, "duplicates", ()):
            errors.setdefault(_join(path, key), []).append(DUPLICATE_KEY)
        for key, item in value.items():
            _collect(item, _join(path, key), errors)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _collect(item, _join(path, str(index)), errors)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key
