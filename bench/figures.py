"""What the benchmarks share: percentiles, formatting, a free port, stopping a server, and the
timeout they raise."""

import socket
import subprocess


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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def stop(popen: subprocess.Popen, timeout: float = 10) -> None:
    """Terminate a server process, killing it if it does not stop in time."""
    if popen.poll() is None:
        popen.terminate()
        try:
            popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            popen.kill()
            popen.wait(timeout=timeout)
