"""VAPID (RFC 8292) keys and subject, checked when the process starts.

A misconfigured key must stop the server with a message, not surface as the first failed alert
at 3 a.m. The private key may be PEM, or the base64url raw 32-byte scalar that most tools print.
"""

import base64
import functools
import os
import threading
import time
import weakref
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import serialization
from django.core.exceptions import ImproperlyConfigured
from py_vapid import Vapid02


def load_private_key(text: str, *, source: str) -> Vapid02:
    text = text.strip()
    try:
        if "BEGIN" in text:
            return Vapid02.from_pem(text.encode())
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        if len(raw) != 32:
            raise ValueError(f"a raw key is 32 bytes, this is {len(raw)}")
        return Vapid02.from_raw(text.encode())
    except Exception as exc:
        raise ImproperlyConfigured(
            f"{source} is not a VAPID private key: give a P-256 key as PEM or as the base64url raw key ({exc})."
        ) from None


def public_key_b64(vapid: Vapid02) -> str:
    """The application server key the browser's pushManager.subscribe() needs."""
    raw = vapid.public_key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def private_key_b64(vapid: Vapid02) -> str:
    number = vapid.private_key.private_numbers().private_value
    return base64.urlsafe_b64encode(number.to_bytes(32, "big")).rstrip(b"=").decode()


def check_subject(subject: str, *, source: str) -> str:
    """Push services contact this address about problems, so it must be real: mailto: or https:."""
    subject = (subject or "").strip()
    if subject.startswith("mailto:") and "@" in subject[7:]:
        return subject
    if subject.startswith("https://") and len(subject) > len("https://"):
        return subject
    raise ImproperlyConfigured(f"{source}={subject!r} must be a mailto: address or an https: URL.")


def generate() -> Vapid02:
    vapid = Vapid02()
    vapid.generate_keys()
    return vapid


# --- Signed headers, reused per push service ------------------------------------------------------------

# pywebpush's own lifetime for the JWT; RFC 8292 allows at most 24 hours.
JWT_LIFETIME_SECONDS = 12 * 60 * 60
# A JWT is signed afresh once less than this is left: a push queued or retried with an old header
# must still be inside its exp when the push service reads it, whatever the clocks' skew.
JWT_RENEW_MARGIN_SECONDS = 60 * 60


@functools.lru_cache(maxsize=10_000)
def origin_of(endpoint: str) -> str:
    """The JWT's aud: the push service's origin (scheme://host[:port]), as RFC 8292 section 2 asks.
    Worked out once per endpoint: parsing the URL for every push of every fan-out was about a tenth
    of the sending's own CPU (py-spy of bench/push_fanout.py)."""
    parts = urlsplit(endpoint)
    return f"{parts.scheme}://{parts.netloc}"


class SignedHeaders:
    """The VAPID Authorization header for each push-service origin, signed once and reused until
    shortly before it expires, instead of an ECDSA signature per message (every message to FCM, or
    to Mozilla's or Apple's service, carries the same claims: aud, exp, sub).

    One instance per key and subject; `for_endpoint` is safe from any thread (the worker's event loop
    and the threads sync_to_async runs on). Each process keeps its own: nothing is shared through
    the database, and a forked child starts with a fresh lock."""

    def __init__(
        self,
        key: Vapid02,
        subject: str,
        *,
        lifetime: int = JWT_LIFETIME_SECONDS,
        margin: int = JWT_RENEW_MARGIN_SECONDS,
        clock=time.time,
    ):
        if margin >= lifetime:
            raise ValueError("the renewal margin must be shorter than the JWT's lifetime")
        self.key = key
        self.subject = subject
        self.lifetime = lifetime
        self.margin = margin
        self.clock = clock
        self._by_origin: dict[str, tuple[int, dict]] = {}  # origin: (exp, headers)
        self._lock = threading.Lock()
        _live.add(self)

    def for_endpoint(self, endpoint: str) -> dict:
        """{"Authorization": "vapid t=..., k=..."} for the endpoint's push service (a new dict)."""
        origin = origin_of(endpoint)
        now = self.clock()
        with self._lock:
            cached = self._by_origin.get(origin)
            if cached is None or cached[0] - self.margin <= now:
                exp = int(now) + self.lifetime
                cached = (exp, self.key.sign({"sub": self.subject, "aud": origin, "exp": exp}))
                self._by_origin[origin] = cached
        return dict(cached[1])

    def _after_fork(self) -> None:
        # A thread of the parent may have held the lock at the fork; the child has no such thread.
        self._lock = threading.Lock()


_live: "weakref.WeakSet[SignedHeaders]" = weakref.WeakSet()
os.register_at_fork(after_in_child=lambda: [headers._after_fork() for headers in list(_live)])


_shared: dict[tuple[str, str], SignedHeaders] = {}
_shared_lock = threading.Lock()


def signed_headers(key: Vapid02, subject: str) -> SignedHeaders:
    """The process's one SignedHeaders for this key and subject: every transport sending with them
    reuses the same signatures (the cache is keyed by key, subject and origin)."""
    name = (public_key_b64(key), subject)
    with _shared_lock:
        if name not in _shared:
            _shared[name] = SignedHeaders(key, subject)
        return _shared[name]
