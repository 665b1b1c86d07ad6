"""What the benchmarks share: percentiles, formatting, a free port, stopping a server, and the
timeout they raise."""

import sys
from pathlib import Path

# The benchmarks run as scripts, with bench/ on sys.path: the repository's root too, for the tests'
# live server processes (a free port, starting, waiting for and stopping a server).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.live_server import free_port as free_port
from tests.support.live_server import stop as stop


class BenchTimeout(Exception):
    pass


def percentile(values: list[float], fraction: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def rounded(value, digits: int):
    return None if value is None else round(value, digits)


def fmt(value) -> str:
    return "    n/a" if value is None else f"{value:7.1f}"
