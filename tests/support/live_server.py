"""Live server processes for the tests and the benchmarks: a free port, the product started
(`manage.py serve` or plain daphne) with an environment and its output in a log file, waiting until
it answers, and stopping it.

Standard library only, so the benchmarks can import it before Django is set up (bench/figures.py
puts the repository's root on sys.path)."""

import contextlib
import fcntl
import os
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DAPHNE = Path(sys.executable).with_name("daphne")
# manage.py serve's (backend/worker/management/commands/serve.py; a test keeps them equal), so that
# plain daphne here drops a waiting handshake when production would.
WEBSOCKET_CONNECT_TIMEOUT_S = 30
# What `manage.py serve` answers 200 to once Django is ready (no login needed).
READY_PATH = "/api/v1/auth/csrf/"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def is_listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def serve_command(port: int) -> list[str]:
    """The product as `make run` starts it: daphne with the delivery worker inside."""
    return [sys.executable, "manage.py", "serve", "--host", "127.0.0.1", "--port", str(port)]


def daphne_command(port: int) -> list[str]:
    """One web process as deployed with separate workers: plain daphne, HTTP and sockets."""
    return [
        str(DAPHNE),
        "-b",
        "127.0.0.1",
        "-p",
        str(port),
        "--websocket_connect_timeout",
        str(WEBSOCKET_CONNECT_TIMEOUT_S),  # as manage.py serve
        "backend.asgi:application",
    ]


def embedded_env(sqlite_path: Path, url: str) -> dict:
    """The calling process's environment set for the embedded setup at `url`: its own SQLite file and
    the in-memory channel layer, even when the caller runs on PostgreSQL and Redis."""
    return {
        **{name: value for name, value in os.environ.items() if name not in ("DATABASE_URL", "REDIS_URL")},
        "DJANGO_ENV": "development",
        "SQLITE_PATH": str(sqlite_path),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_ALLOWED_ORIGINS": url,
        "PUBLIC_BASE_URL": url,
    }


def manage(env: dict, *args: str, timeout: float | None = None) -> str:
    """Run a management command with `env` (the server's database); its output."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=True,
    ).stdout


def start(argv: list[str], env: dict, log_path: Path, *, append: bool = False) -> subprocess.Popen:
    """Start a server process in the repository's root, its output (stdout and stderr) in `log_path`:
    appended to, for a process started again, or else a new log."""
    with log_path.open("ab" if append else "wb") as log:
        return subprocess.Popen(argv, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)


def tail(log_path: Path, chars: int = 4000) -> str:
    try:
        return log_path.read_text(errors="replace")[-chars:]
    except OSError:
        return ""


def _answers(port: int, http_path: str | None) -> bool:
    if http_path is None:
        return is_listening(port)
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{http_path}", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def wait_until_answering(
    popen: subprocess.Popen, port: int, *, timeout: float, log_path: Path, name: str, http_path: str | None = None
) -> None:
    """Until the process listens on `port` (or, given `http_path`, answers 200 there). RuntimeError
    if it exits first, TimeoutError after `timeout` seconds; either with the end of its log."""
    deadline = time.monotonic() + timeout
    while not _answers(port, http_path):
        if popen.poll() is not None:
            raise RuntimeError(f"{name} exited with {popen.returncode}:\n{tail(log_path)}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{name} did not answer on port {port} within {timeout} s:\n{tail(log_path)}")
        time.sleep(0.1)


def stop(popen: subprocess.Popen, timeout: float = 10) -> None:
    """Terminate a server process, killing it if it does not stop in time."""
    if popen.poll() is None:
        popen.terminate()
        try:
            popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            popen.kill()
            popen.wait(timeout=timeout)


@contextlib.contextmanager
def running(
    argv: list[str],
    env: dict,
    log_path: Path,
    *,
    port: int,
    timeout: float,
    name: str,
    http_path: str | None = None,
    stop_timeout: float = 10,
) -> Iterator[subprocess.Popen]:
    """A server process started, waited for until it answers, and stopped when the block ends."""
    popen = start(argv, env, log_path)
    try:
        wait_until_answering(popen, port, timeout=timeout, log_path=log_path, name=name, http_path=http_path)
        yield popen
    finally:
        stop(popen, timeout=stop_timeout)


def demo_database(sqlite_path: Path, env: dict) -> None:
    """`sqlite_path` migrated and loaded with the demo data, as `make run` does, with `env`."""
    env = {**env, "SQLITE_PATH": str(sqlite_path)}
    manage(env, "migrate", "--verbosity", "0", timeout=120)
    manage(env, "load_demo_data", timeout=120)  # 9 s of CPU (hashing 25 passwords); minutes on a busy machine


def shared_demo_database(directory: Path) -> Path:
    """A demo database (`demo_database`) in `directory`, made by the first process to ask and reused
    by the others (the xdist workers share `directory`): a server starts from a copy of it
    (`copy_database`) instead of migrating and hashing the demo users' passwords again, 13 s of CPU."""
    template = directory / "demo-template.sqlite3"
    with (directory / "demo-template.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not template.exists():
            building = directory / f"demo-template-{os.getpid()}.sqlite3"
            demo_database(building, embedded_env(building, "http://127.0.0.1"))
            copy_database(building, template)
    return template


def copy_database(source: Path, target: Path) -> None:
    """A consistent copy of a SQLite database (its WAL included), through SQLite's backup API."""
    with contextlib.closing(sqlite3.connect(source)) as origin, contextlib.closing(sqlite3.connect(target)) as copy:
        origin.backup(copy)


@contextlib.contextmanager
def demo_server(
    env: dict, port: int, log_path: Path, *, timeout: float, template: Path | None = None
) -> Iterator[subprocess.Popen]:
    """`manage.py serve` on `port` with `env`, its database (SQLITE_PATH) migrated and loaded with the
    demo data first (a copy of `template`, a `shared_demo_database`, if given); waited for until it
    answers, stopped when the block ends."""
    if template is None:
        demo_database(Path(env["SQLITE_PATH"]), env)
    else:
        copy_database(template, Path(env["SQLITE_PATH"]))
    command = serve_command(port)
    with running(
        command, env, log_path, port=port, timeout=timeout, name="manage.py serve", http_path=READY_PATH
    ) as popen:
        yield popen
