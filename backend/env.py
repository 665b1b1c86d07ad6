"""Strict parsers for settings read from the environment.

A bad value stops start-up with a message naming the variable and what was wrong, so a
misconfigured deployment fails loudly instead of alerting nobody. Any variable can also be
given as NAME_FILE pointing at a file holding the value (for secrets mounted by the platform).
"""

import datetime
import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def raw(name: str, default: str | None = None) -> str | None:
    """The value of NAME, or of the file named by NAME_FILE, or the default."""
    file_name = os.environ.get(f"{name}_FILE")
    if file_name:
        try:
            return Path(file_name).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE={file_name!r} cannot be read: {exc}") from exc
    return os.environ.get(name, default)


def string(name: str, default: str | None = None, *, required: bool = False) -> str | None:
    value = raw(name, default)
    if required and not value:
        raise ImproperlyConfigured(f"{name} must be set (or {name}_FILE naming a file holding it).")
    return value


def boolean(name: str, default: bool) -> bool:
    value = raw(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean: use 1/0, true/false, yes/no.")


def number(name: str, default: float, *, minimum: float | None = None, maximum: float | None = None) -> float:
    value = raw(name)
    if value is None:
        return default
    try:
        parsed = float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not a number.") from None
    if minimum is not None and parsed < minimum:
        raise ImproperlyConfigured(f"{name}={value!r} is below the minimum of {minimum}.")
    if maximum is not None and parsed > maximum:
        raise ImproperlyConfigured(f"{name}={value!r} is above the maximum of {maximum}.")
    return parsed


def integer(name: str, default: int, *, minimum: int | None = None, maximum: int | None = None) -> int:
    value = raw(name)
    if value is None:
        return default
    try:
        parsed = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not a whole number.") from None
    return int(number(name, parsed, minimum=minimum, maximum=maximum))


def string_list(name: str, default: list[str]) -> list[str]:
    value = raw(name)
    if value is None:
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


def origins(name: str, default: list[str]) -> list[str]:
    """A comma-separated list of origins, each scheme://host[:port] with nothing after it."""
    from urllib.parse import urlsplit

    parsed = string_list(name, default)
    for origin in parsed:
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
            raise ImproperlyConfigured(
                f"{name} entry {origin!r} is not an origin: write it as https://host or https://host:port."
            )
    return [origin.rstrip("/") for origin in parsed]


def number_list(name: str, default: list[float]) -> list[float]:
    values = string_list(name, [str(item) for item in default])
    try:
        parsed = [float(value) for value in values]
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw(name)!r} must be comma-separated numbers.") from None
    if not parsed or any(value <= 0 for value in parsed) or parsed != sorted(parsed):
        raise ImproperlyConfigured(f"{name} must be positive numbers in increasing order.")
    return parsed


def ladder(name: str, default: str, *, actions: set[str]) -> list[tuple[int, str]]:
    """Steps written "SECONDS:ACTION,SECONDS:ACTION", in increasing time."""
    text = raw(name, default) or ""
    steps = []
    for item in text.split(","):
        seconds, _, action = item.strip().partition(":")
        if not seconds.strip().isdigit() or action.strip() not in actions:
            raise ImproperlyConfigured(
                f"{name} step {item.strip()!r} must be SECONDS:ACTION with ACTION one of {', '.join(sorted(actions))}."
            )
        steps.append((int(seconds), action.strip()))
    if [s for s, _ in steps] != sorted(s for s, _ in steps):
        raise ImproperlyConfigured(f"{name} steps must be in increasing time.")
    return steps


def time_window(name: str, default: str) -> tuple[datetime.time, datetime.time] | None:
    """A daily window written "HH:MM-HH:MM" (local time; it may wrap midnight, "22:00-08:00"), or
    None when the value is empty."""
    text = (raw(name, default) or "").strip()
    if not text:
        return None
    start, dash, end = text.partition("-")
    try:
        if not dash:
            raise ValueError
        window = (_clock_time(start), _clock_time(end))
    except ValueError:
        raise ImproperlyConfigured(
            f"{name}={text!r} must be a daily window HH:MM-HH:MM, e.g. 22:00-08:00 (or empty for none)."
        ) from None
    if window[0] == window[1]:
        raise ImproperlyConfigured(f"{name}={text!r} starts and ends at the same time: leave it empty for none.")
    return window


def _clock_time(text: str) -> datetime.time:
    hours, colon, minutes = text.strip().partition(":")
    if not colon or not (hours.isdigit() and minutes.isdigit() and len(minutes) == 2 and len(hours) <= 2):
        raise ValueError(text)
    return datetime.time(int(hours), int(minutes))


def tile_url(name: str) -> str:
    """A map tile URL template (Leaflet's: {z}/{x}/{y}, optionally {s} as the first label of the
    host and {r}), or "" for none. Only https (http for a local tile server on localhost), since
    its origin is allowed in the Content-Security-Policy."""
    value = (raw(name, "") or "").strip()
    if not value:
        return ""
    scheme, _, rest = value.partition("://")
    host = rest.split("/", 1)[0]
    local = host.split(":", 1)[0] in ("localhost", "127.0.0.1")
    if scheme != "https" and not (scheme == "http" and local):
        raise ImproperlyConfigured(f"{name}={value!r} must start with https:// (http:// only for localhost).")
    bare_host = host.removeprefix("{s}.")
    if not bare_host or any(ch in bare_host for ch in "{} ;,'\"*"):
        raise ImproperlyConfigured(
            f"{name}={value!r}: its host must be a plain name (a leading {{s}}. for subdomains is allowed)."
        )
    for placeholder in ("{z}", "{x}", "{y}"):
        if placeholder not in rest:
            raise ImproperlyConfigured(f"{name}={value!r} lacks {placeholder}: give a tile URL template.")
    return value
