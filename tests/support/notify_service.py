"""A GOV.UK Notify stand-in for tests: a real HTTP server on 127.0.0.1 speaking Notify's REST API v2.

Only what the product uses: `POST /v2/notifications/sms`. Like the real service it

* checks the `Authorization: Bearer <JWT>` header: HS256, signed with the secret half of the API key
  (`{key name}-{service id}-{secret}`, both UUIDs), `iss` = the service id, `iat` within 30 seconds
  of now (Notify's clock rule); anything else is 401/403 with Notify's `AuthError`;
* validates the JSON body against Notify's schema (phone_number, template_id, personalisation,
  reference, sms_sender_id; nothing else), the phone number by Notify's UK mobile rules, the
  template id against its one template, and that the personalisation fills every ((placeholder));
* records each accepted text (`ReceivedText`, with the message body as the template renders it)
  and answers 201 with Notify's response JSON;
* answers errors in Notify's shape: `{"errors": [{"error": ..., "message": ...}], "status_code": N}`.

It can be told to answer otherwise (`respond_with(400 | 403 | 429 | 500 ...)`) and to be slow
(`delay`). The server is `http.server` on a background thread, one thread per connection.
Import `notify_service_fixture` (the `notify_service` fixture) into a test module or conftest.py:

    def test_something(notify_service, settings):
        settings.NOTIFY_API_KEY = notify_service.api_key
        settings.NOTIFY_SMS_TEMPLATE_ID = notify_service.template_id
        settings.NOTIFY_BASE_URL = notify_service.base_url
        ...  # the product sends a text
        [text] = notify_service.wait_for(1)
        assert text.phone_number == "07700900123"
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
import threading
import time
import uuid
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest

HOST = "127.0.0.1"
SMS_PATH = "/v2/notifications/sms"
CLOCK_SKEW_SECONDS = 30  # Notify refuses a token whose iat is further than this from its clock
DEFAULT_TEMPLATE = "Co-responder: you have an unanswered cardiac arrest alert. Open the app now: ((url))"
ALLOWED_FIELDS = ("phone_number", "template_id", "personalisation", "reference", "sms_sender_id")
PLACEHOLDER = re.compile(r"\(\(([^()]+)\)\)")
# What Notify says for each status when it is told to answer with one and no message is given.
CANNED = {
    400: ("BadRequestError", "Can't send to this recipient using a team-only API key"),
    401: ("AuthError", "Unauthorized: authentication token must be provided"),
    403: ("AuthError", "Invalid token: API key not found"),
    404: ("NotFoundError", "The requested URL was not found on the server."),
    429: ("RateLimitError", "Exceeded rate limit for key type LIVE of 3000 requests per 60 seconds"),
    500: ("Exception", "Internal server error"),
    502: ("Exception", "Bad gateway"),
    503: ("Exception", "Service unavailable"),
}


@dataclasses.dataclass(frozen=True)
class ReceivedText:
    """A text Notify accepted (answered 201)."""

    notification_id: str
    phone_number: str
    template_id: str
    personalisation: dict
    reference: str | None
    body: str  # the template rendered with the personalisation: what the phone would show
    request_json: dict  # the body exactly as sent
    jwt_claims: dict
    headers: dict[str, str]
    received_at: float  # time.time()


@dataclasses.dataclass(frozen=True)
class Rejection:
    """A request the service refused on its own account (not a canned answer)."""

    status: int
    error: str
    message: str
    at: float


@dataclasses.dataclass(frozen=True)
class Attempt:
    """Every request, whatever became of it. outcome: accepted, rejected or canned."""

    path: str
    outcome: str
    status: int
    at: float


@dataclasses.dataclass
class _Rule:
    status: int
    error: str
    message: str
    remaining: int | None  # None: until replaced or reset


class _Refused(Exception):
    def __init__(self, status: int, error: str, message: str):
        super().__init__(message)
        self.status, self.error, self.message = status, error, message


class NotifyServiceStandIn:
    """GOV.UK Notify on http://127.0.0.1:<free port>. Use as a context manager or start()/stop()."""

    def __init__(
        self,
        *,
        key_name: str = "coresponder_tests",
        template_body: str = DEFAULT_TEMPLATE,
        international: bool = False,
    ):
        self.service_id = str(uuid.uuid4())
        self.secret = str(uuid.uuid4())
        self.key_name = key_name
        self.template_id = str(uuid.uuid4())
        self.template_body = template_body
        self.international = international
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._received: list[ReceivedText] = []
        self._rejections: list[Rejection] = []
        self._attempts: list[Attempt] = []
        self._queue: list[_Rule] = []
        self._standing: _Rule | None = None
        self._delay = 0.0
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle -------------------------------------------------------------------------------

    def start(self) -> NotifyServiceStandIn:
        if self._server is not None:
            raise RuntimeError("The Notify stand-in is already running.")
        self._stopping.clear()
        server = ThreadingHTTPServer((HOST, 0), _handler_for(self))
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="notify-stand-in", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stops the server; delayed answers are let go. Safe to call twice."""
        server, thread = self._server, self._thread
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> NotifyServiceStandIn:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("The Notify stand-in is not started.")
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        """What NOTIFY_BASE_URL must be."""
        return f"http://{HOST}:{self.port}"

    @property
    def api_key(self) -> str:
        """A key this service accepts, in Notify's format: "{key name}-{service id}-{secret}"."""
        return f"{self.key_name}-{self.service_id}-{self.secret}"

    def other_api_key(self, *, service_id: str | None = None, secret: str | None = None) -> str:
        """A well-formed key this service does not accept (another secret and/or service)."""
        return f"{self.key_name}-{service_id or str(uuid.uuid4())}-{secret or str(uuid.uuid4())}"

    # --- telling it how to answer ----------------------------------------------------------------

    def respond_with(
        self, status: int, *, times: int | None = None, error: str | None = None, message: str | None = None
    ) -> None:
        """Answer valid, authenticated requests with `status` instead of accepting them (201 restores
        the normal answer), with Notify's error JSON: `error` and `message` default to what Notify
        says for that status. times=N: the next N valid requests, queued after earlier times=N
        answers. times=None: from now on, replacing every earlier answer. A refused request does not
        count as received; requests refused on the service's own account (bad token, bad body) get
        that refusal and do not use up an answer."""
        if not 100 <= status <= 599:
            raise ValueError(f"{status} is not an HTTP status")
        if times is not None and times < 1:
            raise ValueError("times must be at least 1, or None for 'until further notice'")
        default_error, default_message = CANNED.get(status, ("Exception", _phrase(status)))
        rule = _Rule(status, error or default_error, message or default_message, times)
        with self._lock:
            if times is None:
                self._queue.clear()
                self._standing = rule
            else:
                self._queue.append(rule)

    def delay(self, seconds: float) -> None:
        """Wait `seconds` before every answer (0 removes the delay). Delays run concurrently."""
        with self._lock:
            self._delay = float(seconds)

    def reset(self) -> None:
        """Back to normal: no canned answers or delay, records emptied."""
        with self._lock:
            self._queue.clear()
            self._standing = None
            self._delay = 0.0
            self._received.clear()
            self._rejections.clear()
            self._attempts.clear()

    # --- what happened ---------------------------------------------------------------------------

    @property
    def received(self) -> list[ReceivedText]:
        """The texts accepted so far, oldest first (a copy)."""
        with self._lock:
            return list(self._received)

    @property
    def rejections(self) -> list[Rejection]:
        with self._lock:
            return list(self._rejections)

    @property
    def attempts(self) -> list[Attempt]:
        with self._lock:
            return list(self._attempts)

    def wait_for(self, count: int, timeout: float = 5.0) -> list[ReceivedText]:
        """Blocks until at least `count` texts were accepted and returns them; raises TimeoutError
        otherwise. From an event loop that has to send meanwhile, use `await wait_for_async(...)`."""
        with self._arrived:
            if not self._arrived.wait_for(lambda: len(self._received) >= count, timeout=timeout):
                raise TimeoutError(f"{len(self._received)} text(s) arrived within {timeout} s, {count} expected")
            return list(self._received)

    async def wait_for_async(self, count: int, timeout: float = 5.0) -> list[ReceivedText]:
        return await asyncio.to_thread(self.wait_for, count, timeout)

    # --- internals -------------------------------------------------------------------------------

    def _answer(self, path: str, headers: dict[str, str], raw_body: bytes) -> tuple[int, dict]:
        """The status and JSON of the answer to one request (called on the connection's thread)."""
        with self._lock:
            delay = self._delay
        if delay:
            self._stopping.wait(delay)
        try:
            if path != SMS_PATH:
                raise _Refused(404, "NotFoundError", "The requested URL was not found on the server.")
            claims = self._authenticate(headers.get("authorization", ""))
            data = self._validate(headers.get("content-type", ""), raw_body)
        except _Refused as refused:
            with self._lock:
                now = time.time()
                self._attempts.append(Attempt(path, "rejected", refused.status, now))
                self._rejections.append(Rejection(refused.status, refused.error, refused.message, now))
            return refused.status, _error_json(refused.status, refused.error, refused.message)
        with self._lock:
            rule = self._next_rule()
            now = time.time()
            if rule is not None and rule.status != 201:
                self._attempts.append(Attempt(path, "canned", rule.status, now))
                return rule.status, _error_json(rule.status, rule.error, rule.message)
            text = ReceivedText(
                notification_id=str(uuid.uuid4()),
                phone_number=data["phone_number"],
                template_id=data["template_id"],
                personalisation=dict(data.get("personalisation") or {}),
                reference=data.get("reference"),
                body=self._render(data.get("personalisation") or {}),
                request_json=data,
                jwt_claims=claims,
                headers=headers,
                received_at=now,
            )
            self._received.append(text)
            self._attempts.append(Attempt(path, "accepted", 201, now))
            self._arrived.notify_all()
        return 201, {
            "id": text.notification_id,
            "reference": text.reference,
            "content": {"body": text.body, "from_number": "GOVUK"},
            "uri": f"{self.base_url}/v2/notifications/{text.notification_id}",
            "template": {
                "id": self.template_id,
                "version": 1,
                "uri": f"{self.base_url}/services/{self.service_id}/templates/{self.template_id}",
            },
            "scheduled_for": None,
        }

    def _next_rule(self) -> _Rule | None:
        """With the lock held: the canned answer for this request, used up if it was times=N."""
        if self._queue:
            rule = self._queue[0]
            assert rule.remaining is not None
            rule.remaining -= 1
            if rule.remaining <= 0:
                self._queue.pop(0)
            return rule
        return self._standing

    def _authenticate(self, authorization: str) -> dict:
        """Notify's rules for the bearer token (docs: "Authorisation header")."""
        scheme, _, token = authorization.partition(" ")
        if not authorization:
            raise _Refused(401, "AuthError", "Unauthorized: authentication token must be provided")
        if scheme != "Bearer" or not token:
            raise _Refused(401, "AuthError", "Unauthorized: authentication bearer scheme must be used")
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise _Refused(403, "AuthError", "Invalid token: signature, api token is not valid") from None
        if header.get("alg") != "HS256" or header.get("typ") != "JWT":
            raise _Refused(403, "AuthError", "Invalid token: algorithm used is not HS256")
        issuer = unverified.get("iss")
        if not issuer:
            raise _Refused(403, "AuthError", "Invalid token: iss field not provided")
        try:
            uuid.UUID(str(issuer))
        except ValueError:
            raise _Refused(403, "AuthError", "Invalid token: service id is not the right data type") from None
        if issuer != self.service_id:
            raise _Refused(403, "AuthError", "Invalid token: service not found")
        try:
            claims = jwt.decode(
                token,
                key=self.secret,
                algorithms=["HS256"],
                options={"require": ["iss", "iat"], "verify_iat": False},
            )
        except jwt.MissingRequiredClaimError:
            raise _Refused(403, "AuthError", "Invalid token: iat field not provided") from None
        except jwt.PyJWTError:
            raise _Refused(403, "AuthError", "Invalid token: API key not found") from None
        iat = claims["iat"]
        if not isinstance(iat, int | float) or abs(time.time() - iat) > CLOCK_SKEW_SECONDS:
            raise _Refused(403, "AuthError", "Error: Your system clock must be accurate to within 30 seconds")
        return claims

    def _validate(self, content_type: str, raw_body: bytes) -> dict:
        """Notify's JSON schema for a text, then its phone number, template and placeholder checks."""
        if content_type.split(";")[0].strip().lower() != "application/json":
            raise _Refused(400, "BadRequestError", "Invalid JSON supplied in POST data")
        try:
            data = json.loads(raw_body)
        except (ValueError, UnicodeDecodeError):
            raise _Refused(400, "BadRequestError", "Invalid JSON supplied in POST data") from None
        if not isinstance(data, dict):
            raise _Refused(400, "ValidationError", f"{data!r} is not of type object")
        unexpected = [field for field in data if field not in ALLOWED_FIELDS]
        if unexpected:
            listed = ", ".join(repr(field) for field in unexpected)
            raise _Refused(400, "ValidationError", f"Additional properties are not allowed ({listed} was unexpected)")
        for field in ("phone_number", "template_id"):
            if field not in data:
                raise _Refused(400, "ValidationError", f"{field} is a required property")
        for field in ("phone_number", "template_id", "reference", "sms_sender_id"):
            if field in data and not isinstance(data[field], str):
                raise _Refused(400, "ValidationError", f"{field} {data[field]!r} is not of type string")
        if "personalisation" in data and not isinstance(data["personalisation"], dict):
            raise _Refused(400, "ValidationError", f"personalisation {data['personalisation']!r} is not of type object")
        problem = phone_number_problem(data["phone_number"], international=self.international)
        if problem:
            raise _Refused(400, "ValidationError", f"phone_number {problem}")
        try:
            uuid.UUID(data["template_id"])
        except ValueError:
            raise _Refused(400, "ValidationError", "template_id is not a valid UUID") from None
        if data["template_id"] != self.template_id:
            raise _Refused(400, "BadRequestError", "Template not found")
        given = data.get("personalisation") or {}
        missing = [name for name in self._placeholders() if name not in given]
        if missing:
            raise _Refused(400, "BadRequestError", f"Missing personalisation: {', '.join(missing)}")
        return data

    def _placeholders(self) -> list[str]:
        return list(dict.fromkeys(name.strip() for name in PLACEHOLDER.findall(self.template_body)))

    def _render(self, personalisation: dict) -> str:
        return PLACEHOLDER.sub(lambda match: str(personalisation[match.group(1).strip()]), self.template_body)


def phone_number_problem(number: str, *, international: bool = False) -> str:
    """Notify's UK mobile number rules: "" if fine, else what it says is wrong."""
    digits = re.sub(r"[\s()\-.+]", "", number)
    if not digits.isdigit():
        return "Must not contain letters or symbols"
    uk = number.strip().startswith(("+44", "0044", "07", "7")) or digits.startswith("447")
    if not uk:
        return "" if international and 8 <= len(digits) <= 15 else "Not a UK mobile number"
    for prefix in ("0044", "44", "0"):
        if digits.startswith(prefix):
            digits = digits[len(prefix) :]
            break
    if not digits.startswith("7"):
        return "Not a UK mobile number"
    if len(digits) > 10:
        return "Too many digits"
    if len(digits) < 10:
        return "Not enough digits"
    return ""


def _error_json(status: int, error: str, message: str) -> dict:
    return {"errors": [{"error": error, "message": message}], "status_code": status}


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def _handler_for(service: NotifyServiceStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the client's requests.Session expects
        timeout = 10  # an idle kept-alive connection's thread ends after this

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw_body = self.rfile.read(length) if length else b""
            headers = {name.lower(): value for name, value in self.headers.items()}
            status, body = service._answer(self.path.split("?")[0], headers, raw_body)
            self._send(status, body)

        def do_GET(self) -> None:
            self._send(404, _error_json(404, "NotFoundError", "The requested URL was not found on the server."))

        def _send(self, status: int, body: dict) -> None:
            payload = json.dumps(body).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except OSError:
                self.close_connection = True  # the client gave up (timed out) meanwhile

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture(name="notify_service")
def notify_service_fixture():
    """The `notify_service` fixture: a started NotifyServiceStandIn, stopped after the test. Import
    `notify_service_fixture` into a test module or conftest.py to use it."""
    with NotifyServiceStandIn() as service:
        yield service
