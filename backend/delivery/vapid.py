"""VAPID (RFC 8292) keys and subject, checked when the process starts.

A misconfigured key must stop the server with a message, not surface as the first failed alert
at 3 a.m. The private key may be PEM, or the base64url raw 32-byte scalar that most tools print.
"""

import base64

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
