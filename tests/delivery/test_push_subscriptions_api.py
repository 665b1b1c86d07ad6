"""/api/v1/push-subscriptions/: a firefighter's devices, checked and bound to them."""

import pytest
from django.test import Client
from webpush.models import PushInformation, SubscriptionInfo

from backend.delivery.models import PushDevice
from tests.api.helpers import assert_error, assert_matches
from tests.conftest import browser_subscription, client_for

URL = "/api/v1/push-subscriptions/"
FCM = "https://fcm.googleapis.com/fcm/send/device-1"


def subscribe(client, subscription, **extra):
    return client.post(URL, {**subscription, **extra}, format="json")


def test_a_firefighter_subscribes_a_device(alice):
    subscription = browser_subscription(FCM)
    response = subscribe(client_for(alice.user), subscription, label="Alice's Pixel")
    assert response.status_code == 201, response.content
    assert_matches("push_device", response.json())
    stored = SubscriptionInfo.objects.get(endpoint=FCM)
    assert (stored.p256dh, stored.auth) == (subscription["keys"]["p256dh"], subscription["keys"]["auth"])
    assert PushDevice.objects.get(subscription=stored).user == alice.user
    assert PushInformation.objects.get(subscription=stored).user == alice.user  # django-webpush's own binding


def test_subscribing_again_is_idempotent_and_refreshes_the_keys(alice):
    api = client_for(alice.user)
    subscribe(api, browser_subscription(FCM))
    fresh = browser_subscription(FCM)
    response = subscribe(api, fresh, label="renamed")
    assert response.status_code == 200
    assert SubscriptionInfo.objects.count() == 1 and PushDevice.objects.count() == 1
    assert SubscriptionInfo.objects.get().p256dh == fresh["keys"]["p256dh"]
    assert PushDevice.objects.get().label == "renamed"


def test_an_endpoint_moves_to_the_firefighter_now_using_the_browser(alice, bob):
    """The browser re-posts its own subscription, keys and all, for whoever logged in; without the
    keys it does not move (tests/delivery/test_subscriptions_follow_the_person.py)."""
    held = browser_subscription(FCM)
    subscribe(client_for(alice.user), held)
    assert subscribe(client_for(bob.user), held).status_code == 200
    assert [d.user for d in PushDevice.objects.all()] == [bob.user]
    assert [p.user for p in PushInformation.objects.all()] == [bob.user]


def test_list_and_delete_my_devices(alice, bob):
    subscribe(client_for(alice.user), browser_subscription(FCM))
    body = client_for(alice.user).get(URL).json()
    assert_matches("push_device_list", body)
    assert [d["endpoint"] for d in body["results"]] == [FCM]
    assert client_for(bob.user).get(URL).json()["results"] == []
    assert_error(client_for(bob.user).delete(URL, {"endpoint": FCM}, format="json"), 404)
    assert client_for(alice.user).delete(URL, {"endpoint": FCM}, format="json").status_code == 204
    assert not SubscriptionInfo.objects.exists() and not PushDevice.objects.exists()


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://fcm.googleapis.com/fcm/send/x",  # plain http
        "https://push.evil.example/x",  # not a push service
        "https://127.0.0.1/x",  # an internal address
        "https://fcm.googleapis.com.evil.example/x",  # lookalike host
        "https://user:pass@fcm.googleapis.com/x",  # credentials in the URL
    ],
)
def test_an_endpoint_not_on_an_allowed_push_service_is_refused(alice, endpoint):
    response = subscribe(client_for(alice.user), browser_subscription(endpoint))
    assert_error(response, 400, field="endpoint")
    assert not SubscriptionInfo.objects.exists()


def test_wildcard_hosts_of_the_allowlist_match_subdomains_only(alice):
    ok = subscribe(client_for(alice.user), browser_subscription("https://wns2-db5p.notify.windows.com/w/?token=x"))
    assert ok.status_code == 201
    bad = subscribe(client_for(alice.user), browser_subscription("https://notify.windows.com.evil.example/w"))
    assert_error(bad, 400, field="endpoint")


@pytest.mark.parametrize(
    ("keys", "field"),
    [
        ({"p256dh": "AAAA", "auth": "AAAAAAAAAAAAAAAAAAAAAA"}, "keys.p256dh"),  # too short
        ({"p256dh": None, "auth": "AAAAAAAAAAAAAAAAAAAAAA"}, "keys.p256dh"),
        ({"auth": "AAAAAAAAAAAAAAAAAAAAAA"}, "keys"),  # missing
        ({"p256dh": "VALID", "auth": "c2hvcnQ"}, "keys.auth"),  # 5 bytes
        ({"p256dh": "VALID", "auth": "!!!not base64!!!"}, "keys.auth"),
    ],
)
def test_keys_of_the_wrong_shape_are_refused(alice, keys, field):
    valid = browser_subscription(FCM)["keys"]["p256dh"]
    keys = {name: (valid if value == "VALID" else value) for name, value in keys.items()}
    response = subscribe(client_for(alice.user), {"endpoint": FCM, "keys": keys})
    assert_error(response, 400, field=field)
    assert not SubscriptionInfo.objects.exists()


def test_malformed_json_is_refused(alice):
    response = client_for(alice.user).post(URL, "{", content_type="application/json")
    assert_error(response, 400)


def test_anonymous_cross_site_and_non_firefighters_are_refused(alice, carol):
    subscription = browser_subscription(FCM)
    assert_error(Client().post(URL, subscription, content_type="application/json"), 401)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice.user)
    # A page on another site can make the browser send the session cookie, but not the CSRF token.
    assert_error(browser.post(URL, subscription, content_type="application/json"), 403)
    assert_error(subscribe(client_for(carol), subscription), 403)
    assert not SubscriptionInfo.objects.exists()


def test_the_app_gets_the_vapid_public_key(alice, settings):
    body = client_for(alice.user).get("/api/v1/push/vapid-public-key/").json()
    assert_matches("vapid_public_key", body)
    assert body["public_key"] == settings.VAPID_PUBLIC_KEY


def test_without_vapid_configured_the_key_endpoint_says_so(alice, settings):
    settings.VAPID_PUBLIC_KEY = ""
    assert_error(client_for(alice.user).get("/api/v1/push/vapid-public-key/"), 503, "unavailable")
