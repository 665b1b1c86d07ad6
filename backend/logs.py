"""Logging that is safe to send to a log service: one JSON object per line in production, readable
lines in development (LOG_FORMAT chooses), and never a patient's or a responder's details.

Code logs ids, states and counts as `extra` fields, never content: the incident's id, not its
address. `RefuseSensitiveFields` is defence in depth for the day somebody forgets: a record's
fields named in SENSITIVE_FIELDS or named like a field of the after-call records (a patient's
age band, a rhythm, a firefighter's welfare follow-up) are removed (their names are kept in
`removed_fields`, so the mistake can be found and fixed), and what looks like a phone number, a map position, a push
service URL's path or a database row in the message or traceback is blanked.
"""

import logging
import re

# Fields that hold what a patient, a caller or a responder could be identified or located by, or
# what opens a device or an account. Compared case-insensitively with a record's `extra` fields
# (and with the keys of dicts inside them).
SENSITIVE_FIELDS = frozenset(
    {
        # Where the patient is, and what the crew is told about them
        "address",
        "notes",
        "what3words",
        "latitude",
        "longitude",
        "location",
        "cancel_reason",
        "decline_note",
        # Responders' phones and push subscriptions
        "phone",
        "phone_number",
        "endpoint",
        "p256dh",
        "auth",
        "keys",
        "subscription_info",
        # Credentials
        "password",
        "token",
        "otp",
        # Why an after-call record was changed (free text about the call)
        "reason",
    }
)

# Attributes every LogRecord has: never removed, never treated as extra fields.
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}

# What personal data looks like inside free text (messages and tracebacks).
_TEXT_PATTERNS = [
    # UK and international phone numbers: +44 7700 900123, 07700900123, +1-202-555-0100
    (re.compile(r"(?<![\w.-])(?:\+\d{1,3}[\s-]?|0)\d{2,4}[\s-]?\d{3,4}[\s-]?\d{3,4}(?![\w.-])"), "[phone removed]"),
    # A map position: two decimals with at least four places each (52.6309, 1.2974)
    (re.compile(r"-?\d{1,3}\.\d{4,}\s*,\s*-?\d{1,3}\.\d{4,}"), "[position removed]"),
    # A URL's path and query (a push endpoint's path is the device's subscription): keep the host
    (re.compile(r"(https?://[^/\s\"']+)/[^\s\"']*"), r"\1/[path removed]"),
    # PostgreSQL's "Failing row contains (...)" quotes every column of the row, address included
    (re.compile(r"Failing row contains \(.*\)"), "Failing row contains [row removed]"),
    # "Key (address)=(...)" in unique-violation details
    (re.compile(r"Key \(([^)]*)\)=\(.*?\)"), r"Key (\1)=[value removed]"),
]


def scrub_text(text: str) -> str:
    for pattern, replacement in _TEXT_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


# Added by the apps whose models hold health or welfare data (backend.records registers its forms'
# fields when it is ready), so that a new field of theirs is covered without this module knowing them.
_registered_fields: set[str] = set()


def register_sensitive_fields(names) -> None:
    """Treat these field names (any case) as sensitive, like SENSITIVE_FIELDS."""
    _registered_fields.update(name.lower() for name in names)


def sensitive_fields() -> frozenset[str]:
    """SENSITIVE_FIELDS and the fields the apps registered (once Django's apps are loaded: this
    module is imported by the settings, before any app can register)."""
    return SENSITIVE_FIELDS | _registered_fields


def _is_sensitive(name) -> bool:
    return isinstance(name, str) and name.lower() in sensitive_fields()


def _without_sensitive(value, removed: list[str], path: str):
    """`value` with sensitive keys of any dict inside it left out (their paths go in `removed`), and
    its text scrubbed."""
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, dict):
        kept = {}
        for key, item in value.items():
            if _is_sensitive(key):
                removed.append(f"{path}.{key}")
            else:
                kept[key] = _without_sensitive(item, removed, f"{path}.{key}")
        return kept
    if isinstance(value, (list, tuple)):
        return [_without_sensitive(item, removed, path) for item in value]
    return value


class RefuseSensitiveFields(logging.Filter):
    """Removes sensitive fields from every record and blanks personal data in its text. Attached to
    the handlers, so that it applies to every logger, ours and our dependencies'."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            self._scrub(record)
        except Exception:  # never let logging break the caller, and never emit what was not checked
            _withhold(record)
        return True

    def _scrub(self, record: logging.LogRecord) -> None:
        removed: list[str] = []
        for name in [name for name in vars(record) if name not in _RECORD_ATTRIBUTES]:
            if _is_sensitive(name):
                delattr(record, name)
                removed.append(name)
            else:
                setattr(record, name, _without_sensitive(getattr(record, name), removed, name))
        if isinstance(record.msg, dict):  # a dict logged as the message (python-json-logger)
            record.msg = _without_sensitive(record.msg, removed, "msg")
        else:
            # Render the message now, so that what the arguments put into it is scrubbed too.
            record.msg = scrub_text(_message_of(record))
            record.args = None
        if record.exc_info:
            # Rendered here and scrubbed: exception messages quote rows and values.
            record.exc_text = scrub_text(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = scrub_text(record.exc_text)
        if removed:
            record.removed_fields = sorted(removed)


def _withhold(record: logging.LogRecord) -> None:
    """Keep only what cannot hold personal data: where the record came from and its level."""
    for name in [name for name in vars(record) if name not in _RECORD_ATTRIBUTES]:
        delattr(record, name)
    record.msg = "A log record was withheld: it could not be checked for personal data."
    record.args = None
    record.exc_info = None
    record.exc_text = None
    record.stack_info = None


def _message_of(record: logging.LogRecord) -> str:
    try:
        return record.getMessage()
    except Exception:  # a bad format string must not lose the record
        return f"{record.msg} {record.args!r}"


class ReadableFormatter(logging.Formatter):
    """Development: one line per record, its extra fields as key=value after the message."""

    def __init__(self):
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extras = {name: value for name, value in vars(record).items() if name not in _RECORD_ATTRIBUTES}
        if not extras:
            return line
        head, newline, rest = line.partition("\n")  # keep a traceback below the first line
        fields = " ".join(f"{name}={value}" for name, value in extras.items())
        return f"{head} [{fields}]{newline}{rest}"


LOG_FORMATS = ("json", "plain")


def logging_config(*, log_format: str, level: str) -> dict:
    """The LOGGING setting: `log_format` is "json" (production) or "plain" (development)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"no_personal_data": {"()": "backend.logs.RefuseSensitiveFields"}},
        "formatters": {
            "plain": {"()": "backend.logs.ReadableFormatter"},
            "json": {
                "()": "pythonjsonlogger.json.JsonFormatter",
                "fmt": "%(levelname)s %(name)s %(message)s",
                "rename_fields": {"levelname": "level", "name": "logger"},
                "timestamp": "time",  # ISO 8601, UTC
            },
        },
        "handlers": {
            "console": {"class": "logging.StreamHandler", "formatter": log_format, "filters": ["no_personal_data"]}
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {"django.channels.server": {"level": "WARNING"}},
    }
