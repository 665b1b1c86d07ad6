"""Whether a defibrillator is open now, from OpenStreetMap's `opening_hours` syntax, read by
opening-hours-py (the Rust opening-hours parser's bindings; MIT OR Apache-2.0).

A crew is sent running for a defibrillator on the strength of this answer, so it is True or False
only when the parser is sure; anything else (empty, unparseable, "unknown", an open rule that
rests on a comment such as "on request") is None, shown as "hours unknown", never a guess.
"""

import datetime
import functools
import zoneinfo

from opening_hours import OpeningHours, State

# The points are in Great Britain: its clock and its bank holidays ("PH off").
LONDON = zoneinfo.ZoneInfo("Europe/London")
COUNTRY = "GB"


@functools.lru_cache(maxsize=4096)
def _parsed(opening_hours: str) -> OpeningHours | None:
    try:
        return OpeningHours(opening_hours, timezone=LONDON, country=COUNTRY)
    except Exception:  # the parser raises its own ParserError and SyntaxError kinds
        return None


def is_valid(opening_hours: str) -> bool:
    return _parsed(opening_hours.strip()) is not None


def open_now(opening_hours: str, at: datetime.datetime) -> bool | None:
    """True or False at `at` (an aware datetime), or None when that is not known for sure."""
    text = (opening_hours or "").strip()
    if not text:
        return None
    parsed = _parsed(text)
    if parsed is None:
        return None
    try:
        state, comment = parsed.state(at.astimezone(LONDON))
    except Exception:  # an expression the parser accepts but cannot evaluate
        return None
    if state == State.UNKNOWN or comment:
        return None
    return state == State.OPEN
