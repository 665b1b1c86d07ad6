"""A push subscription follows the person holding the phone (docs/delivery.md, "Whose phone it is").

- Logging out on a device removes that device's subscription (the app sends its endpoint with
  POST /api/v1/auth/logout/), and nobody else's.
- A login that simply ends (expired) leaves the subscription: alerts still arrive.
- "Sign out everywhere" (a lost phone) removes every subscription of that person.
- A subscription moves to another user only from the browser that holds it: re-subscribing
  someone else's endpoint must present the same keys; the move is audited.
"""

import datetime

import pytest
from django.test import Client
from django.utils import timezone
from webpush.models import PushInformation, SubscriptionInfo

from backend.accounts import actions
from backend.accounts.models import UserSession
from backend.audit.models import AuditEntry
from backend.delivery.models import Channel, Delivery, PushDevice
from backend.dispatch.actions import dispatch_incident
from tests.api.helpers import assert_error, assert_matches
from tests.conftest import browser_subscription, client_for

SUBSCRIPTIONS = "/api/v1/push-subscriptions/"
LOGOUT = "/api/v1/auth/logout/"
PHONE = "https://fcm.googleapis.com/fcm/send/alices-phone"
TABLET = "https://updates.push.services.mozilla.com/wpush/v2/alices-tablet"
BOBS_PHONE = "https://fcm.googleapis.com/fcm/send/bobs-phone"


def subscribe(user, subscription: dict, label: str = "A phone"):
    response = client_for(user).post(SUBSCRIPTIONS, {**subscription, "label": label}, format="json")
    assert response.status_code in (200, 201), response.content
    return subscription


def browser_of(user) -> Client:
    """A browser logged in as `user`, as the app is: session cookie, CSRF enforced."""
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    return browser


def log_out(browser: Client, body=None):
    token = browser.get("/api/v1/auth/csrf/").json()["csrf_token"]
    if body is None:
        return browser.post(LOGOUT, headers={"X-CSRFToken": token})
    return browser.post(LOGOUT, body, content_type="application/json", headers={"X-CSRFToken": token})


def endpoints_of(user) -> set[str]:
    return set(PushDevice.objects.filter(user=user).values_list("subscription__endpoint", flat=True))


def webpush_deliveries_to(alerts, user) -> int:
    return Delivery.objects.filter(alert__in=alerts, channel=Channel.WEBPUSH, device__user=user).count()


# --- Logging out --------------------------------------------------------------------------------------


def test_logging_out_removes_this_devices_subscription_only(alice, bob):
    subscribe(alice.user, browser_subscription(PHONE))
    subscribe(alice.user, browser_subscription(TABLET))
    subscribe(bob.user, browser_subscription(BOBS_PHONE))
    phone = browser_of(alice.user)

    response = log_out(phone, {"endpoint": PHONE})

    assert response.status_code == 204
    assert phone.get("/api/v1/me/").status_code == 401  # logged out as before
    assert endpoints_of(alice.user) == {TABLET}  # her other device still gets alerts
    assert endpoints_of(bob.user) == {BOBS_PHONE}
    assert not SubscriptionInfo.objects.filter(endpoint=PHONE).exists()
    assert not PushInformation.objects.filter(subscription__endpoint=PHONE).exists()


def test_after_logging_out_a_dispatch_sends_no_push_to_that_phone(alice, carol, incident):
    subscribe(alice.user, browser_subscription(PHONE))
    subscribe(alice.user, browser_subscription(TABLET))

    log_out(browser_of(alice.user), {"endpoint": PHONE})
    [alert] = dispatch_incident(actor=carol, incident_id=incident.pk)

    targets = Delivery.objects.filter(alert=alert, channel=Channel.WEBPUSH)
    assert [d.device.subscription.endpoint for d in targets] == [TABLET]


def test_logging_out_never_removes_someone_elses_subscription(alice, bob):
    subscribe(bob.user, browser_subscription(BOBS_PHONE))

    response = log_out(browser_of(alice.user), {"endpoint": BOBS_PHONE})

    assert response.status_code == 204
    assert endpoints_of(bob.user) == {BOBS_PHONE}


def test_logging_out_with_no_session_removes_nothing(alice):
    subscribe(alice.user, browser_subscription(PHONE))

    response = log_out(Client(enforce_csrf_checks=True), {"endpoint": PHONE})

    assert response.status_code == 204
    assert endpoints_of(alice.user) == {PHONE}


def test_logging_out_without_an_endpoint_keeps_the_subscriptions(alice):
    """An old app, or a browser with no subscription, logs out as before."""
    subscribe(alice.user, browser_subscription(PHONE))

    assert log_out(browser_of(alice.user)).status_code == 204
    assert log_out(browser_of(alice.user), {}).status_code == 204

    assert endpoints_of(alice.user) == {PHONE}


@pytest.mark.parametrize(
    "body",
    [{"endpoint": "not a url"}, {"endpoint": 42}, {"endpoint": None}, ["not", "an", "object"]],
)
def test_a_malformed_logout_body_is_refused_and_the_session_kept(alice, body):
    subscribe(alice.user, browser_subscription(PHONE))
    phone = browser_of(alice.user)

    assert_error(log_out(phone, body), 400)

    assert phone.get("/api/v1/me/").status_code == 200
    assert endpoints_of(alice.user) == {PHONE}


# --- A login that ends by itself -----------------------------------------------------------------------


def test_an_expired_login_keeps_the_subscription_and_alerts_still_go_to_it(alice, carol, incident):
    subscribe(alice.user, browser_subscription(PHONE))
    phone = browser_of(alice.user)
    UserSession.objects.update(expire_date=timezone.now() - datetime.timedelta(seconds=1))
    assert phone.get("/api/v1/me/").status_code in (401, 403)

    alerts = dispatch_incident(actor=carol, incident_id=incident.pk)

    assert endpoints_of(alice.user) == {PHONE}
    assert webpush_deliveries_to(alerts, alice.user) == 1


# --- Sign out everywhere ---------------------------------------------------------------------------------


def test_signing_out_everywhere_removes_all_of_that_persons_subscriptions(alice, bob, carol, incident):
    subscribe(alice.user, browser_subscription(PHONE))
    subscribe(alice.user, browser_subscription(TABLET))
    subscribe(bob.user, browser_subscription(BOBS_PHONE))

    actions.sign_out_everywhere(actor=carol, user_ids=[alice.user.pk])

    assert endpoints_of(alice.user) == set()
    assert not PushInformation.objects.filter(user=alice.user).exists()
    assert endpoints_of(bob.user) == {BOBS_PHONE}
    entry = AuditEntry.objects.get(object_type="user", object_id=str(alice.user.pk))
    assert entry.detail == {"signed_out_everywhere": True, "push_subscriptions_removed": 2}
    alerts = dispatch_incident(actor=carol, incident_id=incident.pk)
    assert webpush_deliveries_to(alerts, alice.user) == 0
    assert webpush_deliveries_to(alerts, bob.user) == 1


# --- Moving a subscription to another user -----------------------------------------------------------------


def test_another_user_cannot_take_a_subscription_by_its_endpoint(alice, bob):
    alices = subscribe(alice.user, browser_subscription(PHONE))
    forged = browser_subscription(PHONE)  # the endpoint, with keys of the attacker's choosing

    response = client_for(bob.user).post(SUBSCRIPTIONS, forged, format="json")

    error = assert_error(response, 409, "subscription_of_another_user", field="keys")
    assert "keys" in error["message"]
    assert endpoints_of(alice.user) == {PHONE} and endpoints_of(bob.user) == set()
    assert [p.user for p in PushInformation.objects.all()] == [alice.user]
    stored = SubscriptionInfo.objects.get(endpoint=PHONE)
    assert (stored.p256dh, stored.auth) == (alices["keys"]["p256dh"], alices["keys"]["auth"])
    assert not AuditEntry.objects.filter(object_type="push_subscription").exists()


@pytest.mark.parametrize("which", ["p256dh", "auth"])
def test_one_right_key_is_not_enough(alice, bob, which):
    alices = subscribe(alice.user, browser_subscription(PHONE))
    half = browser_subscription(PHONE)
    half["keys"][which] = alices["keys"][which]

    assert_error(client_for(bob.user).post(SUBSCRIPTIONS, half, format="json"), 409, field="keys")

    assert endpoints_of(alice.user) == {PHONE}


def test_the_browser_holding_the_subscription_moves_it_and_the_move_is_audited(alice, bob):
    """A shared phone: Bob logs in on the browser Alice used; the app re-posts the browser's own
    subscription (the same keys), which proves it holds it."""
    held = subscribe(alice.user, browser_subscription(PHONE))

    response = client_for(bob.user).post(SUBSCRIPTIONS, {**held, "label": "Station phone"}, format="json")

    assert response.status_code == 200, response.content
    assert_matches("push_device", response.json())
    assert endpoints_of(alice.user) == set() and endpoints_of(bob.user) == {PHONE}
    assert [p.user for p in PushInformation.objects.all()] == [bob.user]
    entry = AuditEntry.objects.get(object_type="push_subscription")
    assert entry.actor == bob.user
    assert entry.object_id == str(SubscriptionInfo.objects.get(endpoint=PHONE).pk)
    assert entry.detail == {"moved_from_user": alice.user.pk, "moved_to_user": bob.user.pk}


def test_the_owner_refreshing_their_own_subscription_needs_no_proof_and_is_not_audited(alice):
    subscribe(alice.user, browser_subscription(PHONE))
    fresh = subscribe(alice.user, browser_subscription(PHONE))

    assert SubscriptionInfo.objects.get(endpoint=PHONE).auth == fresh["keys"]["auth"]
    assert not AuditEntry.objects.filter(object_type="push_subscription").exists()
