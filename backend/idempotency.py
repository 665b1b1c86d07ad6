"""What the idempotent writes share (on-scene events, after-call records): a digest of a
submission that tells a retry (the same body again) from a different body under the same key."""

import datetime
import hashlib
import json


def body_hash(body: dict) -> str:
    """A digest of a submission in a canonical form: the same instant written with another offset,
    or the same fields in another order, is the same submission."""
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_canonical)
    return hashlib.sha256(text.encode()).hexdigest()


def _canonical(value):
    if isinstance(value, datetime.datetime):
        return value.astimezone(datetime.UTC).isoformat()
    if isinstance(value, (tuple, set, frozenset)):
        return sorted(value)
    raise TypeError(f"Cannot hash {type(value).__name__}")
