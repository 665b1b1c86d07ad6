"""A Web Push service stand-in for tests: a real HTTP server on 127.0.0.1 speaking the real protocols.

What a browser and its push service do, in one object:

* `subscribe()` plays the browser: a fresh P-256 key pair and 16-byte auth secret per subscription,
  returned in the shape of `PushSubscription.toJSON()`.
* `POST /push/<id>` plays the push service (RFC 8030): it checks the VAPID header (RFC 8292), the TTL,
  Urgency and Topic headers, decrypts the `aes128gcm` body (RFC 8291 / RFC 8188) with the
  subscription's private key, records a `ReceivedPush` and answers 201 with a Location header.
* It can be told to misbehave: canned statuses (`respond_with`), slowness (`delay`), silence (`hang`)
  and broken HTTP (`garbage`), for everyone or for one subscription.
* It can hand each accepted push on, as a push service hands it to the browser (`on_push`): the
  benchmarks' phones (bench/push_receipts.py, tests/support/cluster.py) show it and send receipts.

The server is aiohttp in its own event loop on a background thread, so slow answers do not hold each
other up. All public methods are safe to call from any thread.

    def test_something(push_service):
        subscription = push_service.subscribe()
        ...  # the product sends to subscription["endpoint"]
        [push] = push_service.wait_for(1)
        assert push.json["type"] == "alert.created"

The `push_service` fixture below can be imported into a conftest.py.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import dataclasses
import json
import os
import re
import secrets
import socket
import threading
import time
from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import Any

import http_ece
import pytest
from aiohttp import web
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, utils

HOST = "127.0.0.1"
MAX_VAPID_LIFETIME = 24 * 60 * 60  # RFC 8292 section 2: exp at most 24 hours after the request
MAX_PAYLOAD = 4096  # RFC 8030 section 7.2: a push service must accept at least 4096 octets
URGENCIES = ("very-low", "low", "normal", "high")  # RFC 8030 section 5.3
TOPIC = re.compile(r"[A-Za-z0-9_-]{1,32}")  # RFC 8030 section 5.4
GARBAGE_KINDS = ("not-http", "truncated", "close")


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str | bytes) -> bytes:
    """Strict base64url: characters outside the alphabet are an error, padding is optional."""
    if isinstance(text, bytes):
        text = text.decode("ascii")
    text = text.rstrip("=")
    standard = text.replace("-", "+").replace("_", "/")
    return base64.b64decode(standard + "=" * (-len(standard) % 4), validate=True)


@dataclasses.dataclass(frozen=True)
class ReceivedPush:
    """A push message the service accepted (answered 201) and decrypted."""

    subscription_id: str
    endpoint: str
    message_id: str
    payload: bytes  # the decrypted plaintext
    json: Any  # the payload parsed as JSON, None if it is not JSON (see is_json)
    is_json: bool
    ttl: int
    urgency: str  # "normal" when the request had no Urgency header
    topic: str | None
    vapid_claims: dict
    vapid_public_key: str  # the k= of the Authorization header, base64url
    headers: dict[str, str]
    received_at: float  # time.time()

    @property
    def text(self) -> str:
        return self.payload.decode("utf-8")


@dataclasses.dataclass(frozen=True)
class Rejection:
    """A request the service refused on its own account (not a canned answer): bad VAPID, bad headers..."""

    subscription_id: str
    endpoint: str
    status: int
    reason: str
    at: float


@dataclasses.dataclass(frozen=True)
class Attempt:
    """Every request, whatever became of it. outcome: accepted, rejected, canned, hang, garbage."""

    subscription_id: str
    endpoint: str
    outcome: str
    status: int | None  # None for hang and garbage
    at: float


@dataclasses.dataclass
class _Subscription:
    id: str
    endpoint: str
    private_key: ec.EllipticCurvePrivateKey
    public_key: bytes  # uncompressed point, 65 bytes
    auth_secret: bytes
    application_server_key: bytes | None
    unsubscribed: bool = False


@dataclasses.dataclass
class _Rule:
    action: str  # "status", "hang" or "garbage"
    remaining: int | None  # None: until replaced or reset
    status: int = 201
    retry_after: int | str | None = None
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    garbage_kind: str = "not-http"


@dataclasses.dataclass
class _Scope:
    queue: list[_Rule] = dataclasses.field(default_factory=list)  # rules with times=N, first first
    standing: _Rule | None = None  # the rule with times=None, after the queue is used up


class _Rejected(Exception):
    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


class PushServiceStandIn:
    """A Web Push service on http://127.0.0.1:<free port>. Use as a context manager or start()/stop()."""

    def __init__(self, *, max_payload: int = MAX_PAYLOAD):
        self.max_payload = max_payload
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._subscriptions: dict[str, _Subscription] = {}
        self._received: list[ReceivedPush] = []
        self._rejections: list[Rejection] = []
        self._attempts: list[Attempt] = []
        self._rules: dict[str | None, _Scope] = {}
        self._delays: dict[str | None, float] = {}
        self._delayed_now = 0
        self.most_delayed_at_once = 0  # how many answers a delay held at the same moment, at most
        self._port: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._release_hanging: asyncio.Event | None = None
        self._listeners: list[Callable[[ReceivedPush], None]] = []

    # --- lifecycle -------------------------------------------------------------------------------

    def start(self) -> PushServiceStandIn:
        if self._thread is not None:
            raise RuntimeError("The push service stand-in is already running.")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind((HOST, 0))
        self._port = sock.getsockname()[1]
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run_loop, name=f"push-service-{self._port}", daemon=True)
        self._thread.start()
        try:
            asyncio.run_coroutine_threadsafe(self._serve(sock), self._loop).result(timeout=10)
        except BaseException:
            sock.close()
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stops the server: hanging requests are let go, connections closed. Safe to call twice."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        try:
            if self._runner is not None:
                asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(timeout=10)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=10)
            self._loop = self._thread = self._runner = None

    def __enter__(self) -> PushServiceStandIn:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("The push service stand-in is not started.")
        return self._port

    @property
    def origin(self) -> str:
        """What a VAPID `aud` claim must be: "http://127.0.0.1:<port>"."""
        return f"http://{HOST}:{self.port}"

    # --- subscriptions ---------------------------------------------------------------------------

    def subscribe(self, *, application_server_key: str | bytes | None = None) -> dict:
        """A new subscription, as `PushSubscription.toJSON()` gives it to the page.

        application_server_key: like `pushManager.subscribe({applicationServerKey})`, the VAPID public
        key (base64url or the raw 65 bytes); pushes signed with another key are then refused with 403.
        """
        private_key = ec.generate_private_key(ec.SECP256R1())
        public_key = private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        if isinstance(application_server_key, str):
            application_server_key = b64url_decode(application_server_key)
        if application_server_key is not None:
            ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), application_server_key)  # or ValueError
        subscription_id = secrets.token_urlsafe(24)
        subscription = _Subscription(
            id=subscription_id,
            endpoint=f"{self.origin}/push/{subscription_id}",
            private_key=private_key,
            public_key=public_key,
            auth_secret=os.urandom(16),
            application_server_key=application_server_key,
        )
        with self._lock:
            self._subscriptions[subscription_id] = subscription
        return {
            "endpoint": subscription.endpoint,
            "expirationTime": None,
            "keys": {"p256dh": b64url_encode(public_key), "auth": b64url_encode(subscription.auth_secret)},
        }

    def unsubscribe(self, endpoint: str | Mapping) -> None:
        """The browser dropped the subscription: from now on its pushes are answered 410 Gone."""
        subscription_id = self._subscription_id(endpoint)
        with self._lock:
            self._subscriptions[subscription_id].unsubscribed = True

    # --- telling it how to answer ----------------------------------------------------------------

    def respond_with(
        self,
        status: int,
        *,
        times: int | None = None,
        retry_after: int | str | None = None,
        endpoint: str | Mapping | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Answer valid pushes with `status` (201 is the normal answer) instead of accepting them.

        Applies to one subscription (`endpoint`: its URL or subscription dict) or, if None, to all;
        a subscription's own answers come before the global ones. times=N: the next N valid pushes,
        queued after earlier times=N answers. times=None: from now on, replacing every earlier answer
        for that scope. retry_after (seconds or an HTTP date) becomes a Retry-After header. A non-201
        answer does not count as received. Requests the service rejects on its own account (unknown
        subscription, bad VAPID, bad headers) get that rejection and do not use up an answer.
        """
        if not 100 <= status <= 599:
            raise ValueError(f"{status} is not an HTTP status")
        rule = _Rule("status", times, status=status, retry_after=retry_after, headers=dict(headers or {}))
        self._add_rule(endpoint, rule)

    def delay(self, seconds: float, endpoint: str | Mapping | None = None) -> None:
        """Wait `seconds` before every answer (to one subscription, or to all). 0 removes the delay.
        A subscription's own delay replaces the global one. Delays run concurrently."""
        key = self._scope_key(endpoint)
        with self._lock:
            if seconds:
                self._delays[key] = float(seconds)
            else:
                self._delays.pop(key, None)

    def hang(self, endpoint: str | Mapping | None = None, *, times: int | None = None) -> None:
        """Read the request and never answer (until reset() or stop()), to test client timeouts."""
        self._add_rule(endpoint, _Rule("hang", times))

    def garbage(
        self, kind: str = "not-http", *, endpoint: str | Mapping | None = None, times: int | None = None
    ) -> None:
        """Answer with broken HTTP, which a client must treat as an error (a transport error, not a status):

        - "not-http": bytes that are not an HTTP response at all, then the connection is closed;
        - "truncated": "201 Created" with Content-Length 1000 but 10 bytes of body, then closed;
        - "close": the connection is closed without a byte of answer.
        """
        if kind not in GARBAGE_KINDS:
            raise ValueError(f"kind must be one of {GARBAGE_KINDS}")
        self._add_rule(endpoint, _Rule("garbage", times, garbage_kind=kind))

    def on_push(self, listener: Callable[[ReceivedPush], None]) -> Callable[[], None]:
        """Call `listener(push)` with every push accepted from now on, as a push service hands it
        to the browser: once it is recorded and before the sender has its 201. It runs on the
        stand-in's own thread, so it must be quick and hand the work elsewhere (a queue, another
        event loop); what it raises is ignored. Returns a function that removes it. Kept by reset()."""
        with self._lock:
            self._listeners.append(listener)

        def remove() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return remove

    def reset(self) -> None:
        """Back to normal: no canned answers or delays, hanging requests let go, records emptied.
        Subscriptions stay (unsubscribed ones stay unsubscribed)."""
        with self._lock:
            self._rules.clear()
            self._delays.clear()
            self.most_delayed_at_once = 0
            self._received.clear()
            self._rejections.clear()
            self._attempts.clear()
        self._let_hanging_go()

    # --- what happened ---------------------------------------------------------------------------

    @property
    def received(self) -> list[ReceivedPush]:
        """The pushes accepted so far, oldest first (a copy)."""
        with self._lock:
            return list(self._received)

    def received_for(self, endpoint: str | Mapping) -> list[ReceivedPush]:
        subscription_id = self._subscription_id(endpoint)
        with self._lock:
            return [push for push in self._received if push.subscription_id == subscription_id]

    @property
    def rejections(self) -> list[Rejection]:
        with self._lock:
            return list(self._rejections)

    @property
    def attempts(self) -> list[Attempt]:
        with self._lock:
            return list(self._attempts)

    def wait_for(
        self, count: int, timeout: float = 5.0, *, endpoint: str | Mapping | None = None
    ) -> list[ReceivedPush]:
        """Blocks until at least `count` pushes were accepted (for `endpoint`, or in all), and returns
        them; raises TimeoutError otherwise. Do not call it from an event loop that has to send the
        pushes meanwhile: use `await wait_for_async(...)` there."""
        subscription_id = None if endpoint is None else self._subscription_id(endpoint)

        def matching() -> list[ReceivedPush]:
            return [p for p in self._received if subscription_id is None or p.subscription_id == subscription_id]

        def arrived() -> int:
            # Woken at every push, with the lock that accepting the next one needs: for all pushes
            # a count, not a pass over every push so far (a benchmark's thousands, 200 times a
            # fan-out, held the service back while it worked).
            return len(self._received) if subscription_id is None else len(matching())

        with self._arrived:
            if not self._arrived.wait_for(lambda: arrived() >= count, timeout=timeout):
                raise TimeoutError(f"{arrived()} push(es) arrived within {timeout} s, {count} expected")
            return matching()

    async def wait_for_async(
        self, count: int, timeout: float = 5.0, *, endpoint: str | Mapping | None = None
    ) -> list[ReceivedPush]:
        return await asyncio.to_thread(self.wait_for, count, timeout, endpoint=endpoint)

    # --- internals: configuration ----------------------------------------------------------------

    def _subscription_id(self, endpoint: str | Mapping) -> str:
        """A subscription's id from its endpoint URL, its subscription dict, or the id itself."""
        if isinstance(endpoint, Mapping):
            endpoint = endpoint["endpoint"]
        prefix = f"{self.origin}/push/"
        if endpoint.startswith(prefix):
            return endpoint[len(prefix) :]
        if "/" not in endpoint and endpoint in self._subscriptions:
            return endpoint
        raise ValueError(f"{endpoint!r} is not an endpoint of this push service ({self.origin})")

    def _scope_key(self, endpoint: str | Mapping | None) -> str | None:
        return None if endpoint is None else self._subscription_id(endpoint)

    def _add_rule(self, endpoint: str | Mapping | None, rule: _Rule) -> None:
        if rule.remaining is not None and rule.remaining < 1:
            raise ValueError("times must be at least 1, or None for 'until further notice'")
        key = self._scope_key(endpoint)
        with self._lock:
            scope = self._rules.setdefault(key, _Scope())
            if rule.remaining is None:
                scope.queue.clear()
                scope.standing = rule
            else:
                scope.queue.append(rule)

    def _current_rule(self, subscription_id: str) -> tuple[_Scope, _Rule] | None:
        """With the lock held: the rule for the next answer to this subscription, if any."""
        for key in (subscription_id, None):
            scope = self._rules.get(key)
            if scope is None:
                continue
            if scope.queue:
                return scope, scope.queue[0]
            if scope.standing is not None:
                return scope, scope.standing
        return None

    @staticmethod
    def _use(scope: _Scope, rule: _Rule) -> None:
        if rule.remaining is None:
            return
        rule.remaining -= 1
        if rule.remaining <= 0 and rule in scope.queue:
            scope.queue.remove(rule)

    # --- internals: the server -------------------------------------------------------------------

    def _run_loop(self) -> None:
        loop = self._loop
        assert loop is not None
        asyncio.set_event_loop(loop)
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _serve(self, sock: socket.socket) -> None:
        self._release_hanging = asyncio.Event()
        app = web.Application()
        app.router.add_post("/push/{subscription_id}", self._handle_push)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=2.0)
        await runner.setup()
        await web.SockSite(runner, sock, backlog=1024).start()
        self._runner = runner

    async def _shutdown(self) -> None:
        if self._release_hanging is not None:
            self._release_hanging.set()
        if self._runner is not None:
            await self._runner.cleanup()

    def _let_hanging_go(self) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return

        def release() -> None:
            if self._release_hanging is not None:
                self._release_hanging.set()
            self._release_hanging = asyncio.Event()

        loop.call_soon_threadsafe(release)

    def _record(self, subscription_id: str, endpoint: str, outcome: str, status: int | None, reason: str = "") -> None:
        """With the lock held."""
        now = time.time()
        self._attempts.append(Attempt(subscription_id, endpoint, outcome, status, now))
        if outcome == "rejected":
            assert status is not None
            self._rejections.append(Rejection(subscription_id, endpoint, status, reason, now))

    async def _wait(self, delay: float) -> None:
        """A delay, counted: how many were held at once shows the delays overlap (not serialised)
        without timing anything."""
        with self._lock:
            self._delayed_now += 1
            self.most_delayed_at_once = max(self.most_delayed_at_once, self._delayed_now)
        try:
            await asyncio.sleep(delay)
        finally:
            with self._lock:
                self._delayed_now -= 1

    async def _handle_push(self, request: web.Request) -> web.StreamResponse:
        subscription_id = request.match_info["subscription_id"]
        endpoint = f"{self.origin}/push/{subscription_id}"
        body = await request.read()
        with self._lock:
            delay = self._delays.get(subscription_id, self._delays.get(None, 0.0))
        if delay:
            await self._wait(delay)

        release: asyncio.Event | None = None
        with self._lock:
            current = self._current_rule(subscription_id)
            if current is not None and current[1].action in ("hang", "garbage"):
                scope, rule = current
                self._use(scope, rule)
                self._record(subscription_id, endpoint, rule.action, None)
                if rule.action == "garbage":
                    return self._garbage(request, rule.garbage_kind)
                release = self._release_hanging
        if release is not None:
            await release.wait()  # set by reset() and stop()
            return web.Response(status=503, text="The push service stand-in stopped hanging.")

        try:
            push = self._accept(request, subscription_id, endpoint, body)
        except _Rejected as rejected:
            with self._lock:
                self._record(subscription_id, endpoint, "rejected", rejected.status, rejected.reason)
            return _error_response(rejected.status, rejected.reason)

        with self._lock:
            current = self._current_rule(subscription_id)
            if current is not None and current[1].action == "status" and current[1].status != 201:
                scope, rule = current
                self._use(scope, rule)
                self._record(subscription_id, endpoint, "canned", rule.status)
                headers = dict(rule.headers)
                if rule.retry_after is not None:
                    headers["Retry-After"] = str(rule.retry_after)
                return _error_response(rule.status, "canned answer", headers)
            if current is not None and current[1].action == "status":
                self._use(*current)
            self._record(subscription_id, endpoint, "accepted", 201)
            self._received.append(push)
            self._arrived.notify_all()
            listeners = list(self._listeners)
        for listener in listeners:
            with contextlib.suppress(Exception):  # a listener's bug is not the sender's problem
                listener(push)
        return web.Response(
            status=201, headers={"Location": f"{self.origin}/m/{push.message_id}", "TTL": str(push.ttl)}
        )

    def _garbage(self, request: web.Request, kind: str) -> web.StreamResponse:
        transport = request.transport
        if transport is not None:
            if kind == "not-http":
                transport.write(b"\x16\x03\x01\x00 this is not an HTTP response \xff\xfe\r\n\r\n")
            elif kind == "truncated":
                transport.write(b'HTTP/1.1 201 Created\r\nContent-Length: 1000\r\n\r\n{"partial')
            transport.close()
        # aiohttp cannot write this to the closed connection, and says nothing about it.
        return web.Response(status=500)

    def _accept(self, request: web.Request, subscription_id: str, endpoint: str, body: bytes) -> ReceivedPush:
        """Checks a push request as a push service would; returns it decrypted or raises _Rejected."""
        with self._lock:
            subscription = self._subscriptions.get(subscription_id)
        if subscription is None:
            raise _Rejected(404, "no such subscription")
        if subscription.unsubscribed:
            raise _Rejected(410, "the subscription has been unsubscribed")

        claims, vapid_key = _check_vapid(request.headers.get("Authorization"), self.origin)
        if subscription.application_server_key is not None and b64url_decode(vapid_key) != (
            subscription.application_server_key
        ):
            raise _Rejected(403, "VAPID key k is not the applicationServerKey the subscription was made with")

        if len(body) > self.max_payload:
            raise _Rejected(413, f"payload of {len(body)} bytes is over {self.max_payload}")

        ttl_header = request.headers.get("TTL")
        if ttl_header is None:
            raise _Rejected(400, "missing TTL header")
        if not ttl_header.strip().isdigit():
            raise _Rejected(400, f"TTL {ttl_header!r} is not a non-negative integer")
        ttl = int(ttl_header)

        urgency = request.headers.get("Urgency", "normal")
        if urgency not in URGENCIES:
            raise _Rejected(400, f"Urgency {urgency!r} is not one of {URGENCIES}")
        topic = request.headers.get("Topic")
        if topic is not None and not TOPIC.fullmatch(topic):
            raise _Rejected(400, f"Topic {topic!r} is not 1 to 32 characters of the URL-safe base64 alphabet")

        payload = b""
        if body:
            encoding = request.headers.get("Content-Encoding")
            if encoding != "aes128gcm":
                raise _Rejected(400, f"Content-Encoding {encoding!r}: only aes128gcm (RFC 8291) is accepted")
            try:
                payload = http_ece.decrypt(
                    body,
                    private_key=subscription.private_key,
                    auth_secret=subscription.auth_secret,
                    version="aes128gcm",
                )
            except Exception as exc:  # http_ece raises ECEException, ValueError, struct.error...
                raise _Rejected(400, f"cannot decrypt the payload: {exc}") from None

        try:
            parsed, is_json = json.loads(payload), True
        except ValueError:
            parsed, is_json = None, False
        return ReceivedPush(
            subscription_id=subscription_id,
            endpoint=endpoint,
            message_id=secrets.token_urlsafe(12),
            payload=payload,
            json=parsed,
            is_json=is_json,
            ttl=ttl,
            urgency=urgency,
            topic=topic,
            vapid_claims=claims,
            vapid_public_key=vapid_key,
            headers=dict(request.headers),
            received_at=time.time(),
        )


def _check_vapid(authorization: str | None, origin: str) -> tuple[dict, str]:
    """RFC 8292: `Authorization: vapid t=<JWT>, k=<public key>`. Returns (claims, k) or raises _Rejected:
    401 if the header is missing or unusable, 403 if the signature or the claims are wrong."""
    if not authorization:
        raise _Rejected(401, "missing Authorization header (VAPID required)")
    scheme, _, parameters = authorization.strip().partition(" ")
    if scheme.lower() != "vapid":
        raise _Rejected(401, f"Authorization scheme {scheme!r} is not 'vapid' (RFC 8292)")
    params = {}
    for item in parameters.split(","):
        name, _, value = item.strip().partition("=")
        params[name.strip().lower()] = value.strip()
    token, key = params.get("t"), params.get("k")
    if not token or not key:
        raise _Rejected(401, "vapid Authorization needs both t= and k=")
    try:
        public_key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b64url_decode(key))
    except (ValueError, binascii.Error):
        raise _Rejected(401, "k is not a base64url uncompressed P-256 public key") from None

    parts = token.split(".")
    if len(parts) != 3:
        raise _Rejected(403, "t is not a JWS compact serialisation (header.claims.signature)")
    try:
        header = json.loads(b64url_decode(parts[0]))
        claims = json.loads(b64url_decode(parts[1]))
        signature = b64url_decode(parts[2])
    except (ValueError, binascii.Error):
        raise _Rejected(403, "t is not base64url JSON") from None
    if not isinstance(header, dict) or header.get("alg") != "ES256":
        raise _Rejected(403, f"JWT alg must be ES256, got {header!r}")
    if len(signature) != 64:
        raise _Rejected(403, "JWT signature is not 64 bytes (r || s)")
    der = utils.encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
    try:
        public_key.verify(der, f"{parts[0]}.{parts[1]}".encode("ascii"), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise _Rejected(403, "JWT signature does not verify with k") from None

    if not isinstance(claims, dict):
        raise _Rejected(403, "JWT claims are not a JSON object")
    if claims.get("aud") != origin:
        raise _Rejected(403, f"aud {claims.get('aud')!r} is not this push service's origin {origin!r}")
    exp = claims.get("exp")
    now = time.time()
    if not isinstance(exp, int) or isinstance(exp, bool):
        raise _Rejected(403, f"exp {exp!r} is not an integer")
    if exp <= now:
        raise _Rejected(403, "exp is in the past: the JWT has expired")
    if exp > now + MAX_VAPID_LIFETIME:
        raise _Rejected(403, f"exp is {exp - now:.0f} s ahead, more than 24 hours")
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub.startswith(("mailto:", "https:")):
        raise _Rejected(403, f"sub {sub!r} is not a mailto: or https: URI")
    return claims, key


def _error_response(status: int, reason: str, headers: Mapping[str, str] | None = None) -> web.Response:
    """An error body in the style of Mozilla's autopush."""
    body = {"code": status, "error": _reason_phrase(status), "message": reason}
    return web.json_response(body, status=status, headers=headers)


def _reason_phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


@pytest.fixture
def push_service():
    """A started PushServiceStandIn, stopped after the test."""
    with PushServiceStandIn() as service:
        yield service
