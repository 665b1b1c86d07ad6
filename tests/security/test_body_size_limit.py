"""Request bodies over the limit are refused with 413 before they are read (backend/limits.py).

The in-process tests drive the ASGI middleware message by message; the live ones send a 10 MB
body to a real daphne process and watch its memory."""

import asyncio
import http.client
import json
import time
from pathlib import Path

import pytest
import websockets.sync.client
from websockets.exceptions import ConnectionClosed, InvalidStatus

from backend.limits import BodySizeLimit
from tests.api.helpers import assert_matches
from tests.support import live_server

LIMIT = 1024
TEN_MB = 10 * 1024 * 1024


# --- In process ---------------------------------------------------------------------------------------


class Recorder:
    """An inner application that records what it was given, and the log of what happened in order:
    ("receive", n) for each body message taken, ("send", status) for the answer."""

    def __init__(self):
        self.called = False
        self.body = None
        self.sent = []
        self.log = []

    async def app(self, scope, receive, send):
        self.called = True
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        self.body = b"".join(chunks)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    async def send(self, message):
        self.sent.append(message)
        if message["type"] == "http.response.start":
            self.log.append(("send", message["status"]))

    def receiver(self, chunks: list[bytes]):
        """A receive() giving `chunks` as the body (all already buffered, as daphne does)."""
        messages = [
            {"type": "http.request", "body": chunk, "more_body": index < len(chunks) - 1}
            for index, chunk in enumerate(chunks)
        ]

        async def receive():
            if not messages:
                await asyncio.Event().wait()  # a real server waits for the client
            self.log.append(("receive", len(messages)))
            return messages.pop(0)

        return receive

    def receives_before_the_answer(self) -> int:
        return self.log.index(("send", 413))


def _scope(headers=()):
    return {"type": "http", "method": "POST", "path": "/api/v1/incidents/", "headers": list(headers)}


def _answer(recorder) -> tuple[int, dict]:
    start, body = recorder.sent[0], recorder.sent[1]
    return start["status"], json.loads(body["body"])


@pytest.fixture(autouse=True)
def small_limit(settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = LIMIT


async def test_a_declared_length_over_the_limit_is_refused_before_reading_the_body():
    recorder = Recorder()
    receive = recorder.receiver([b"x" * 512] * 4)
    scope = _scope([(b"content-length", str(LIMIT * 2).encode())])

    await BodySizeLimit(recorder.app)(scope, receive, recorder.send)

    assert not recorder.called
    assert recorder.receives_before_the_answer() == 0
    status, body = _answer(recorder)
    assert status == 413
    assert_matches("api_error", body)
    assert body["error"]["code"] == "too_large"
    assert str(LIMIT) in body["error"]["message"]
    assert (b"content-type", b"application/json") in recorder.sent[0]["headers"]


async def test_after_refusing_it_does_not_wait_for_a_body_the_server_has_not_read():
    """What the server already holds is dropped at once; nothing more is read from the client."""
    recorder = Recorder()
    receive = recorder.receiver([])  # blocks: nothing buffered
    scope = _scope([(b"content-length", str(TEN_MB).encode())])

    await asyncio.wait_for(BodySizeLimit(recorder.app)(scope, receive, recorder.send), timeout=1)

    assert _answer(recorder)[0] == 413
    assert recorder.log == [("send", 413)]


async def test_a_body_of_exactly_the_limit_is_passed_on_whole():
    recorder = Recorder()
    receive = recorder.receiver([b"a" * (LIMIT - 10), b"b" * 10])

    await BodySizeLimit(recorder.app)(_scope([(b"content-length", str(LIMIT).encode())]), receive, recorder.send)

    assert recorder.body == b"a" * (LIMIT - 10) + b"b" * 10
    assert recorder.sent[0]["status"] == 200


async def test_a_body_without_a_length_is_read_only_up_to_the_limit():
    recorder = Recorder()
    chunk = b"x" * 100
    receive = recorder.receiver([chunk] * 1000)  # 100 kB, sent chunked

    await BodySizeLimit(recorder.app)(_scope(), receive, recorder.send)

    assert not recorder.called
    assert recorder.receives_before_the_answer() == LIMIT // len(chunk) + 1  # up to the chunk that went over
    assert _answer(recorder)[0] == 413


async def test_a_body_without_a_length_under_the_limit_is_passed_on_whole():
    recorder = Recorder()
    receive = recorder.receiver([b"12345", b"67890", b""])

    await BodySizeLimit(recorder.app)(_scope(), receive, recorder.send)

    assert recorder.body == b"1234567890"
    assert recorder.sent[0]["status"] == 200


async def test_a_client_gone_before_the_end_of_the_body_is_passed_on():
    """The inner application sees the disconnect, as it would without the guard."""
    seen = []

    async def app(scope, receive, send):
        seen.append(await receive())

    messages = [{"type": "http.request", "body": b"abc", "more_body": True}, {"type": "http.disconnect"}]

    async def receive():
        return messages.pop(0)

    await BodySizeLimit(app)(_scope(), receive, None)

    assert seen == [{"type": "http.disconnect"}]


async def test_websockets_are_not_touched():
    called = []

    async def app(scope, receive, send):
        called.append(scope["type"])

    await BodySizeLimit(app)({"type": "websocket", "path": "/ws/responder/", "headers": []}, None, None)

    assert called == ["websocket"]


def test_the_limit_is_the_one_django_keeps_to(settings):
    """The guard's limit is DATA_UPLOAD_MAX_MEMORY_SIZE itself: nothing bigger gets to a view."""
    from django.conf import settings as live

    assert live.DATA_UPLOAD_MAX_MEMORY_SIZE == LIMIT


# --- A live daphne ---------------------------------------------------------------------------------------

START_TIMEOUT_S = 60  # a start-up, not a measure: slow on a busy two-core machine
# What "quickly" means for a 10 MB body over loopback, on a loaded two-core machine.
ANSWER_WITHIN_S = 3
# What "memory flat" means: daphne's one buffered body (see the test) and a few MB of noise,
# against 10 MB a body, 200 MB in all.
RSS_NOISE_KB = 4 * 1024
BODIES = 20


@pytest.fixture(scope="module")
def daphne(tmp_path_factory):
    """daphne serving the product's ASGI application on an empty SQLite file: the guard answers
    before anything touches the database."""
    directory = tmp_path_factory.mktemp("daphne")
    port = live_server.free_port()
    env = live_server.embedded_env(directory / "db.sqlite3", f"http://127.0.0.1:{port}")
    command = live_server.daphne_command(port)
    with live_server.running(
        command, env, directory / "daphne.log", port=port, timeout=START_TIMEOUT_S, name="daphne"
    ) as process:
        yield {"port": port, "pid": process.pid}


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def _post(port: int, body, headers: dict, *, encode_chunked: bool = False) -> tuple[int, bytes, float]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    started = time.monotonic()
    try:
        connection.request("POST", "/api/v1/incidents/", body=body, headers=headers, encode_chunked=encode_chunked)
        response = connection.getresponse()
        return response.status, response.read(), time.monotonic() - started
    finally:
        connection.close()


def _ten_mb_of_json() -> bytes:
    body = json.dumps({"cad_reference": "BIG-1", "address": "x", "notes": ["y" * 1000] * (TEN_MB // 1004 + 1)}).encode()
    assert len(body) >= TEN_MB
    return body


def _settled_rss(pid: int, baseline: int) -> int:
    """The growth over `baseline` once daphne has reaped the finished request (it checks every
    second); polled, bounded."""
    deadline = time.monotonic() + 5
    growth = _rss_kb(pid) - baseline
    while growth > RSS_NOISE_KB and time.monotonic() < deadline:
        time.sleep(0.2)
        growth = _rss_kb(pid) - baseline
    return growth


def _send_ten_mb(port: int, body: bytes, *, chunked: bool) -> tuple[int, bytes, float]:
    headers = {"Content-Type": "application/json"}
    if chunked:
        parts = iter([body[index : index + 65536] for index in range(0, len(body), 65536)])
        return _post(port, parts, headers, encode_chunked=True)
    return _post(port, body, headers)


@pytest.mark.processes
@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_10_mb_json_bodies_get_a_quick_413_and_memory_stays_flat(daphne, chunked):
    """daphne itself reads a whole body into memory before calling any application (its design),
    so the process may keep one body's worth of heap once; beyond that, body after body, it must
    not grow: none is parsed, none is kept. (Left in daphne's queue instead of dropped, five
    bodies grew it by 50 MB.)"""
    body = _ten_mb_of_json()
    for _ in range(2):
        assert _send_ten_mb(daphne["port"], body, chunked=chunked)[0] == 413
    baseline = _rss_kb(daphne["pid"])

    for attempt in range(BODIES):
        status, answer, seconds = _send_ten_mb(daphne["port"], body, chunked=chunked)

        assert status == 413, answer[:300]
        error = json.loads(answer)
        assert_matches("api_error", error)
        assert error["error"]["code"] == "too_large"
        assert seconds < ANSWER_WITHIN_S, f"attempt {attempt}: {seconds:.2f} s"
    growth = _settled_rss(daphne["pid"], baseline)
    allowed = len(body) // 1024 + RSS_NOISE_KB
    assert growth <= allowed, f"daphne grew by {growth} kB over {BODIES} more 10 MB bodies (allowed {allowed})"


@pytest.mark.processes
def test_a_small_body_still_gets_through(daphne):
    status, answer, _ = _post(daphne["port"], b"{}", {"Content-Type": "application/json"})

    assert status == 401, answer  # reached DRF: no credentials
    assert json.loads(answer)["error"]["code"] == "not_authenticated"


@pytest.mark.processes
@pytest.mark.parametrize("origin", ["https://evil.example", "null", None], ids=["other-site", "null", "missing"])
@pytest.mark.parametrize("path", ["/ws/responder/", "/ws/coordinator/"])
def test_a_live_server_refuses_cross_origin_socket_handshakes(daphne, path, origin):
    """The same check as tests/realtime/test_socket_security.py, through a real server."""
    url = f"ws://127.0.0.1:{daphne['port']}{path}"
    with pytest.raises(InvalidStatus) as refused:
        websockets.sync.client.connect(url, origin=origin, open_timeout=5).close()

    assert refused.value.response.status_code == 403


@pytest.mark.processes
def test_a_live_server_accepts_a_same_origin_handshake(daphne):
    url = f"ws://127.0.0.1:{daphne['port']}/ws/responder/"
    # Accepted, then closed with 4401: nobody is logged in.
    origin = f"http://127.0.0.1:{daphne['port']}"
    with (
        websockets.sync.client.connect(url, origin=origin, open_timeout=5) as ws,
        pytest.raises(ConnectionClosed) as closed,
    ):
        ws.recv(timeout=5)
    assert closed.value.rcvd.code == 4401
