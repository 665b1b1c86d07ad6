"""Subscribing a firefighter's device to Web Push, and forgetting it.

django-webpush's models hold the subscription; its own save view is not used because it is not
bound to our checks: the endpoint must be https on an allowed push service (so the server can
never be aimed at an internal address) and the keys must be real P-256 / 16-byte values.

A subscription follows the person holding the phone (docs/delivery.md): it moves to another user
only when that user's request carries the keys the subscription already has, which only the
browser holding it knows (the endpoint alone may have been seen elsewhere: a log, a screen). Logging
out and "Sign out everywhere" remove subscriptions in backend/accounts/actions.py.
"""

import base64
import fnmatch
import hmac
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from webpush.models import PushInformation, SubscriptionInfo

from backend.accounts.access import responder_of
from backend.audit import log as audit_log
from backend.audit.models import AuditAction
from backend.delivery.models import PushDevice
from backend.errors import Conflict, InvalidInput, NotFound


class SubscriptionOfAnotherUser(Conflict):
    """Another user's subscription was posted without its keys: not proof of holding the browser."""

    code = "subscription_of_another_user"


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
    endpoint again updates keys and label. An endpoint another user has (a shared phone, a new
    login) moves to this user only with the same keys, which proves this browser holds it
    (SubscriptionOfAnotherUser, 409, otherwise); the move is audited."""
    responder_of(actor)
    check_subscription(endpoint, p256dh, auth)
    with transaction.atomic():
        subscription = SubscriptionInfo.objects.select_for_update().filter(endpoint=endpoint).first()
        created = subscription is None
        if created:
            subscription = SubscriptionInfo(endpoint=endpoint)
        else:
            previous = _other_holders(subscription, actor)
            if previous:
                if not _same_keys(subscription, p256dh, auth):
                    raise SubscriptionOfAnotherUser(
                        "This push subscription belongs to another user. It moves only from the browser that "
                        "holds it: send the subscription's own keys, as that browser's PushSubscription gives them.",
                        fields={"keys": ["These are not the keys of the subscription at this endpoint."]},
                    )
                for previous_user_id in previous:
                    audit_log.record(
                        actor,
                        AuditAction.CHANGE,
                        "push_subscription",
                        subscription.pk,
                        detail={"moved_from_user": previous_user_id, "moved_to_user": actor.pk},
                    )
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


def _other_holders(subscription, actor) -> list[int]:
    """The ids of the users other than `actor` this subscription is bound to (our device row, and
    django-webpush's own binding), oldest binding first."""
    holders = list(
        PushInformation.objects.filter(subscription=subscription, user__isnull=False)
        .order_by("pk")
        .values_list("user_id", flat=True)
    )
    device_user = PushDevice.objects.filter(subscription=subscription).values_list("user_id", flat=True).first()
    if device_user is not None:
        holders.append(device_user)
    return [user_id for user_id in dict.fromkeys(holders) if user_id != actor.pk]


def _same_keys(subscription, p256dh: str, auth: str) -> bool:
    """Both keys equal (as bytes: base64url with or without padding), compared in constant time and
    both always compared, so that neither the time taken nor the answer says which one was wrong."""
    same_key = hmac.compare_digest(_key_bytes(subscription.p256dh), _key_bytes(p256dh))
    same_secret = hmac.compare_digest(_key_bytes(subscription.auth), _key_bytes(auth))
    return same_key & same_secret


def _key_bytes(value: str) -> bytes:
    decoded = _b64url_bytes(value)
    return decoded if decoded is not None else (value or "").encode()


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
