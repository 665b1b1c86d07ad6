"""Web Push: the payload encrypted as RFC 8291 says (aes128gcm, by http_ece, the library pywebpush
encrypts with) and posted through one shared aiohttp session.

Headers per RFC 8030: TTL long enough to reach a phone in deep sleep, Urgency high, a Topic per
incident (so a later message about the same incident replaces an undelivered earlier one). The VAPID
(RFC 8292) header is signed once per push service and reused until shortly before it expires
(backend/delivery/vapid.py: SignedHeaders), not signed again for every message.
Redirects are never followed: an endpoint was checked against the allowlist, its redirect was not.

pywebpush's `webpush_async` is not used to send: per message it deep-copied the subscription,
parsed the phone's public key and built two case-insensitive header dicts before encrypting, work
the worker repeats for every push of every fan-out. Here a phone's key is parsed once per process
(`receiver_key`), the push service's URL once (`_url`), and the encryption (a fresh ephemeral key
and salt per message, as RFC 8291 requires) is the same http_ece call pywebpush makes.
"""

import base64
import email.utils
import functools
import json
import socket
import time

import aiohttp
import http_ece
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from yarl import URL

from backend.delivery.transports import Job, Transport, TransportError
from backend.delivery.vapid import load_private_key, signed_headers

RETRYABLE_STATUSES = {429, 500, 502, 503, 504}
GONE_STATUSES = {404, 410}


def topic_for(incident_id: int) -> str:
    """RFC 8030 Topic: at most 32 characters of the URL-safe base64 alphabet."""
    return f"incident-{incident_id}"[:32]


# A test push has a topic and a tag of its own: a newer test replaces an older one still waiting at
# the push service or on the lock screen, and never an alert's.
TEST_TOPIC = TEST_TAG = "device-test"
TEST_TITLE = "Test alert — no action needed"
TEST_BODY = "Checking that alerts reach this phone. Nothing to do."


def _topic_of(job: Job) -> str:
    if job.kind == "message":
        # Its own topic: a message's push must never replace an alert's still waiting at the push
        # service (a newer message's push replaces an older one's, which says the same words).
        return f"message-{job.incident_id}"[:32]
    return TEST_TOPIC if job.kind == "test" else topic_for(job.incident_id)


# A message from control: generic words only. The text is read in the app after logging in, never
# put in a push or on a lock screen, as a coordinator may type patient details.
MESSAGE_TITLE = "Message from control"
MESSAGE_BODY = "New message from control about your incident. Open the app to read it."


def message_payload(job: Job) -> dict:
    """The push that says a message is waiting (kind "message"): opens the alert, where the app
    shows the message. Its own tag, so it does not replace the alert's notification; no receipt
    token, so a phone's readiness and the alert's funnel are not touched by it."""
    url = f"{settings.PUBLIC_BASE_URL}/#/alerts/{job.alert_id}"
    return {
        "web_push": 8030,
        "mutable": True,
        "notification": {
            "title": MESSAGE_TITLE,
            "body": MESSAGE_BODY,
            "navigate": url,
            "tag": f"message-{job.incident_id}",
            "lang": "en-GB",
            "silent": False,
        },
        "type": "message.created",
        "alert_id": job.alert_id,
        "incident_id": job.incident_id,
        "url": url,
    }


def device_test_payload(job: Job) -> dict:
    """A test of the device (backend/delivery/readiness.py): the same two forms as an alert's, with
    its own title, body and tag, no incident at all, and the receipt token that completes the test.
    `check_id` names the test for the receipt, as `alert_id` does an alert's."""
    url = f"{settings.PUBLIC_BASE_URL}/#/"
    return {
        "web_push": 8030,
        "mutable": True,
        "notification": {
            "title": TEST_TITLE,
            "body": TEST_BODY,
            "navigate": url,
            "tag": TEST_TAG,
            "lang": "en-GB",
            "silent": False,
        },
        "type": "device.test",
        "check_id": job.check_id,
        "url": url,
        "receipt": job.receipt_token,
    }


# What a locked phone says when its alert stands down, by reason (no incident details).
_STOOD_DOWN_BODIES = {
    "enough_crews": "Enough crews are going: you are not needed.",
    "committed_elsewhere": "You accepted another incident: this one is withdrawn.",
}
# The same for a responder who was on scene (Job.attended): how the call ended and no more. Never
# "you are not needed" (they may be in the middle of CPR), and no clinical guidance either: what
# they are told about CPR is the signed checklist's, shown in the app (docs/hazard-log.md, H04
# control 7).
_ON_SCENE_CANCELLED_BODY = "The incident was cancelled."
_ON_SCENE_STOOD_DOWN_BODIES = {
    "coordinator": "A coordinator stood you down.",
    "control_room": "The ambulance control room stood you down.",
    "incident_closed": "The incident was closed.",
    "committed_elsewhere": _STOOD_DOWN_BODIES["committed_elsewhere"],
}


def _stand_down_body(job: Job, *, cancelled: bool) -> str:
    if job.attended:
        return (
            _ON_SCENE_CANCELLED_BODY
            if cancelled
            else _ON_SCENE_STOOD_DOWN_BODIES.get(job.stood_down_reason, "Stood down.")
        )
    if cancelled:
        return "The incident was cancelled: you are not needed."
    return _STOOD_DOWN_BODIES.get(job.stood_down_reason, "You are no longer needed.")


def push_payload(job: Job) -> dict:
    """What a lock screen may show: no address, no patient details. The app fetches the details
    after the firefighter has authenticated.

    Two forms in one: the declarative notification (`web_push: 8030`, `notification`; Safari 18.4
    and later shows it even when no service worker runs) and the fields our service worker reads
    (`type`, ids, `url`). `mutable: true` asks a declarative browser to run the service worker all
    the same where it can, so that it checks the alert still stands and sends the receipt; if it
    cannot, the declarative notification is shown as it is. An alert push carries the receipt token
    (backend/delivery/receipts.py): opaque, single-use, good for nothing but that alert's receipt."""
    if job.kind == "test":
        return device_test_payload(job)
    if job.kind == "message":
        return message_payload(job)
    url = f"{settings.PUBLIC_BASE_URL}/#/alerts/{job.alert_id}"
    if job.kind == "stand_down":
        cancelled = job.incident_status == "cancelled"
        event_type = "alert.cancelled" if cancelled else "alert.stood_down"
        title = "Alert cancelled" if cancelled else "Stood down"
        body = _stand_down_body(job, cancelled=cancelled)
    else:
        event_type, title = "alert.created", "Cardiac arrest alert"
        body = "Open the app to accept or decline." if job.round == 1 else "Still unanswered: open the app."
    payload = {
        "web_push": 8030,
        "mutable": True,
        "notification": {
            "title": title,
            "body": body,
            "navigate": url,
            "tag": f"incident-{job.incident_id}",
            "lang": "en-GB",
            "silent": False,
        },
        "type": event_type,
        "alert_id": job.alert_id,
        "incident_id": job.incident_id,
        "round": job.round,
        "url": url,
    }
    if job.kind == "stand_down":
        # For the service worker, should it have to word the notification itself (pwa/sw.js).
        payload["attended"] = job.attended
    if job.receipt_token:
        payload["receipt"] = job.receipt_token
    return payload


# How many phones' parsed keys and push-service URLs a process keeps: more than the devices one
# worker sends to in a fan-out (a national deployment alerts tens to hundreds at once), so that a
# fan-out parses each once; an entry is a few hundred bytes.
PARSED_PER_PROCESS = 10_000


@functools.lru_cache(maxsize=PARSED_PER_PROCESS)
def receiver_key(p256dh: str) -> ec.EllipticCurvePublicKey:
    """The phone's P-256 public key (the subscription's p256dh, base64url), parsed once."""
    raw = base64.urlsafe_b64decode(p256dh + "=" * (-len(p256dh) % 4))
    return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)


@functools.lru_cache(maxsize=PARSED_PER_PROCESS)
def _auth_secret(auth: str) -> bytes:
    return base64.urlsafe_b64decode(auth + "=" * (-len(auth) % 4))


@functools.lru_cache(maxsize=PARSED_PER_PROCESS)
def _url(endpoint: str) -> URL:
    """The endpoint parsed once: aiohttp would parse (and quote) the string again for every push."""
    return URL(endpoint)


# One encoder for every payload: json.dumps with separators builds a JSONEncoder per call.
_compact_json = json.JSONEncoder(separators=(",", ":"))


def encrypt(payload: bytes, *, p256dh: str, auth: str) -> bytes:
    """The body of one push (RFC 8291, aes128gcm, one record): as pywebpush's WebPusher.encode does it,
    with a new ephemeral ECDH key (and http_ece a new salt) for every message."""
    return http_ece.encrypt(
        payload,
        private_key=ec.generate_private_key(ec.SECP256R1()),
        dh=receiver_key(p256dh),
        auth_secret=_auth_secret(auth),
        version="aes128gcm",
    )


class WebPushTransport(Transport):
    channel = "webpush"

    def __init__(self, *, private_key: str | None = None, subject: str | None = None, timeout: float | None = None):
        self.vapid = load_private_key(private_key or settings.VAPID_PRIVATE_KEY, source="VAPID_PRIVATE_KEY")
        self.subject = subject or settings.VAPID_SUBJECT
        self.vapid_headers = signed_headers(self.vapid, self.subject)
        self.timeout = aiohttp.ClientTimeout(total=timeout or settings.PUSH_TIMEOUT_SECONDS)
        self.session: aiohttp.ClientSession | None = None
        # The same for every message (pywebpush sent the content encoding and TTL in lower case).
        self._fixed_headers = {
            "Content-Encoding": "aes128gcm",
            "TTL": str(settings.PUSH_TTL_SECONDS),
            "Urgency": "high",
        }
        # Connections opened to the push services so far. Kept alive and reused by the next fan-out
        # to the same origin, as the bare pywebpush floor's shared session does (tests count them).
        self.connections_opened = 0

    async def __aenter__(self):
        connector = aiohttp.TCPConnector(
            limit=settings.PUSH_MAX_CONCURRENCY,
            limit_per_host=settings.PUSH_MAX_CONCURRENCY,
            socket_factory=self._new_socket,
        )
        # No trace_configs: with one, aiohttp builds and sends about ten trace signals for every
        # request, work per push the bare pywebpush floor does not do, to count what happens once
        # per connection; the connector's socket factory counts that.
        self.session = aiohttp.ClientSession(connector=connector, timeout=self.timeout)
        return self

    def _new_socket(self, addr_info) -> socket.socket:
        """A new connection's socket, as aiohttp (aiohappyeyeballs) makes it, counted."""
        family, type_, proto, _, _ = addr_info
        self.connections_opened += 1
        return socket.socket(family=family, type=type_, proto=proto)

    async def __aexit__(self, *exc):
        if self.session is not None:
            await self.session.close()
            self.session = None

    async def send(self, job: Job) -> int:
        body = encrypt(_compact_json.encode(push_payload(job)).encode(), p256dh=job.p256dh, auth=job.auth)
        headers = {
            **self._fixed_headers,
            "Topic": _topic_of(job),
            **self.vapid_headers.for_endpoint(job.endpoint),
        }
        try:
            async with self.session.post(
                _url(job.endpoint), data=body, headers=headers, allow_redirects=False
            ) as response:
                # Read to the end, so that the connection is kept for the next push (as pywebpush did).
                await response.read()
        except TimeoutError:
            raise TransportError("The push service did not answer in time.", permanent=False) from None
        except aiohttp.ClientError as exc:
            raise TransportError(f"Could not reach the push service: {type(exc).__name__}.", permanent=False) from None
        if response.status > 202:  # what pywebpush counted as a failure
            raise _classify(response)
        return response.status


def _classify(response) -> TransportError:
    status = getattr(response, "status", None)
    if status in GONE_STATUSES:
        return TransportError(f"The subscription is gone ({status}).", permanent=True, status=status, gone=True)
    if status in RETRYABLE_STATUSES:
        return TransportError(
            f"The push service is busy or failing ({status}).",
            permanent=False,
            status=status,
            retry_after=retry_after_seconds(response.headers.get("Retry-After")),
        )
    if status is not None and 300 <= status < 400:
        return TransportError(
            f"The push service redirected ({status}); redirects are not followed.", permanent=True, status=status
        )
    return TransportError(f"The push service refused the message ({status}).", permanent=True, status=status)


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After is either seconds or an HTTP date (RFC 9110)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
