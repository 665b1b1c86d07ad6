"""Subscribing a firefighter's device to Web Push, and forgetting it.

django-webpush's models hold the subscription; its own save view is not used because it is not
bound to our checks: the endpoint must be https on an allowed push service (so the server can
never be aimed at an internal address) and the keys must be real P-256 / 16-byte values.
"""

import base64
import fnmatch
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from webpush.models import PushInformation, SubscriptionInfo

from backend.accounts.access import responder_of
from backend.delivery.models import PushDevice
from backend.errors import InvalidInput, NotFound


def endpoint_allowed(endpoint: str) -> bool:
    parts = urlsplit(endpoint)
    if not parts.scheme or not parts.hostname or parts.username or parts.password:
        return False
    origin = f"{parts.scheme}://{parts.netloc.lower()}"
    return any(fnmatch.fnmatchcase(origin, pattern.lower()) for pattern in settings.PUSH_SERVICE_ALLOWLIST)


def _b64url_bytes(value: str) -> bytes | None:
    if not isinstance(value, str) or not value or len(value) > 200:
        return None
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except ValueError:
        return None


def check_subscription(endpoint: str, p256dh: str, auth: str) -> None:
    errors = {}
    if not endpoint_allowed(endpoint):
        errors["endpoint"] = ["This push service is not allowed: the endpoint must be https on a known push service."]
    key = _b64url_bytes(p256dh)
    if key is None or len(key) != 65 or key[0] != 4:
        errors["keys.p256dh"] = ["p256dh must be a base64url uncompressed P-256 public key (65 bytes)."]
    secret = _b64url_bytes(auth)
    if secret is None or len(secret) != 16:
        errors["keys.auth"] = ["auth must be a base64url 16-byte secret."]
    if errors:
        raise InvalidInput("The push subscription is not valid.", fields=errors)


def subscribe_device(
    *, actor, endpoint: str, p256dh: str, auth: str, label: str, user_agent: str = ""
) -> tuple[PushDevice, bool]:
    """Store (or refresh) this device's subscription for the firefighter. Idempotent: the same
    endpoint again updates keys and label. An endpoint another user had (a shared phone, a new
    login) moves to this user, because the browser now belongs to them."""
    responder_of(actor)
    check_subscription(endpoint, p256dh, auth)
    with transaction.atomic():
        subscription = SubscriptionInfo.objects.select_for_update().filter(endpoint=endpoint).first()
        created = subscription is None
        if created:
            subscription = SubscriptionInfo(endpoint=endpoint)
        subscription.p256dh, subscription.auth = p256dh, auth
        subscription.browser = (user_agent or "unknown")[:100]
        subscription.user_agent = (user_agent or "")[:500]
        subscription.save()
        PushInformation.objects.filter(subscription=subscription).exclude(user=actor).delete()
        PushInformation.objects.get_or_create(subscription=subscription, user=actor)
        device, _ = PushDevice.objects.update_or_create(
            subscription=subscription, defaults={"user": actor, "label": label[:100]}
        )
    return device, created


def unsubscribe_device(*, actor, endpoint: str) -> None:
    with transaction.atomic():
        deleted, _ = SubscriptionInfo.objects.filter(endpoint=endpoint, device__user=actor).delete()
    if not deleted:
        raise NotFound("This device has no push subscription.")


def devices_of(user):
    return PushDevice.objects.filter(user=user).select_related("subscription").order_by("-created_at")


def forget_subscription(subscription_id: int, reason: str) -> None:
    """The push service says the subscription is gone (404/410): sending again can never work."""
    SubscriptionInfo.objects.filter(pk=subscription_id).delete()
