"""How long to wait before trying again, for everything the worker retries (pushes, texts, welfare
e-mails): one rule, so that an outage is retried the same way whatever failed."""

import random

from django.conf import settings


def backoff_seconds(attempts: int, *, max_seconds: float | None = None) -> float:
    """How long to wait after the `attempts`-th failed attempt: `DELIVERY_RETRY_BASE_SECONDS`
    doubling each attempt up to `max_seconds` (default `DELIVERY_RETRY_MAX_SECONDS`), with jitter so
    that many retries after one outage do not all land at once."""
    max_seconds = settings.DELIVERY_RETRY_MAX_SECONDS if max_seconds is None else max_seconds
    doublings = min(max(attempts - 1, 0), 40)  # something that retries for days must not overflow a float
    ceiling = min(max_seconds, settings.DELIVERY_RETRY_BASE_SECONDS * 2**doublings)
    return random.uniform(ceiling / 2, ceiling)  # noqa: S311 (jitter, not security)
