"""The app's "Test my alerts", on an Android phone (docs/delivery.md, "Readiness").

The whole path is real but for the two ends a headless browser cannot reach: the phone's push
subscription is one of the push-service stand-in's (tests/support/push_service.py), handed to the
app by the page's PushManager (an init script, as in test_logout_stops_pushes.py), so the server's
worker really sends the test push to the stand-in, which decrypts it; and what the stand-in received
is delivered to the app's real service worker through the DevTools protocol
(ServiceWorker.deliverPushMessage, as in test_push_receipt.py). The service worker shows the test
and posts its receipt; the app, polling, shows how long it took.

With notifications revoked, the test fails and the app says what to check on Android.
"""

import json
import re
import time

import pytest

from tests.e2e.conftest import ACTION_TIMEOUT_MS, PHONE
from tests.e2e.helpers import log_in, watch_for_problems
from tests.e2e.test_logout_stops_pushes import FAKE_PUSH_MANAGER, wait_until
from tests.support.push_service import push_service  # noqa: F401 (a fixture)

FIREFIGHTER = "ff.kings-lynn.2"
ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36"
)

DEVICE = """
import json
from backend.delivery.models import PushDevice
d = PushDevice.objects.get(subscription__endpoint={endpoint!r})
print(json.dumps({{"platform": d.platform, "installed": d.installed, "permission": d.permission,
                  "proven": d.last_proven_at is not None, "failed": d.failed_checks_in_a_row,
                  "checks": list(d.checks.values_list("result", "failure_code"))}}))
"""


def device_on_server(server, endpoint: str) -> dict:
    return json.loads(server.manage("shell", "-c", DEVICE.format(endpoint=endpoint)).strip().splitlines()[-1])


@pytest.fixture
def android(chromium, server):
    context = chromium.new_context(base_url=server.url, **{**PHONE, "user_agent": ANDROID})
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    yield context
    context.close()


@pytest.fixture
def app(android, server, push_service):  # noqa: F811 (the fixture imported above)
    """The app at home on an Android phone, logged in, notifications allowed, the phone registered
    with a subscription of the stand-in; and the service worker's registration id."""
    subscription = push_service.subscribe()
    android.grant_permissions(["notifications"], origin=server.url)
    android.add_init_script(FAKE_PUSH_MANAGER % json.dumps(subscription))
    log_in(android, FIREFIGHTER)
    page = android.new_page()
    cdp = android.new_cdp_session(page)
    registrations = []
    cdp.on("ServiceWorker.workerRegistrationUpdated", lambda event: registrations.extend(event["registrations"]))
    cdp.send("ServiceWorker.enable")
    page.goto("/")
    page.locator(".pill-live").wait_for()
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")

    def registered():
        devices = android.request.get("/api/v1/push-subscriptions/").json()["results"]
        return [device for device in devices if device["endpoint"] == subscription["endpoint"]]

    wait_until(registered, "the app to register the phone for push", page=page)
    wait_until(lambda: [r for r in registrations if r["scopeURL"] == f"{server.url}/"], "the worker", page=page)
    [registration_id] = {r["registrationId"] for r in registrations if r["scopeURL"] == f"{server.url}/"}
    return page, cdp, registration_id, subscription


def test_a_test_alert_is_shown_by_the_service_worker_and_the_app_says_how_long_it_took(
    app,
    server,
    push_service,  # noqa: F811
):
    page, cdp, registration_id, subscription = app
    problems = watch_for_problems(page)
    # At start the app told the server what this phone is.
    state = wait_until(lambda: device_on_server(server, subscription["endpoint"])["platform"], "the state report")
    assert state == "android"
    assert device_on_server(server, subscription["endpoint"])["permission"] == "granted"

    page.get_by_role("button", name="Test my alerts").click()
    page.get_by_text("Test sent: waiting for this phone to show it…").wait_for()

    # The server's worker sent the test push to the push service (the stand-in decrypted it).
    [push] = push_service.wait_for(1, timeout=15, endpoint=subscription)
    assert push.json["type"] == "device.test" and push.topic == "device-test"
    assert "alert_id" not in push.json and "incident_id" not in push.json
    # The push service hands it to the phone: the real service worker.
    cdp.send(
        "ServiceWorker.deliverPushMessage",
        {"origin": server.url, "registrationId": registration_id, "data": push.text},
    )

    result = page.locator("[data-test-result=passed]")
    result.wait_for()
    assert re.fullmatch(r"Shown in \d+(\.\d)? s\.", result.inner_text()), result.inner_text()
    [worker] = page.context.service_workers
    titles = worker.evaluate("async () => (await self.registration.getNotifications()).map((n) => [n.title, n.tag])")
    assert titles == [["Test alert — no action needed", "device-test"]]
    after = device_on_server(server, subscription["endpoint"])
    assert after["proven"] is True and after["checks"] == [["passed", ""]]
    assert problems == []


def test_with_notifications_revoked_the_test_fails_and_the_app_says_what_to_check(
    app,
    server,
    push_service,  # noqa: F811
):
    page, _, _, subscription = app
    problems = watch_for_problems(page)
    # The firefighter turns notifications off for the site in the phone's settings.
    page.context.clear_permissions()
    assert page.evaluate("Notification.permission") != "granted"

    page.get_by_role("button", name="Test my alerts").click()

    page.locator("[data-test-result=failed]", has_text="notifications are not allowed").wait_for()
    advice = page.get_by_role("list", name="What to check")
    advice.wait_for()
    text = advice.inner_text()
    assert "Allow notifications for your browser and for this site" in text, text
    assert "Home Screen" not in text  # that is iPhone advice
    after = device_on_server(server, subscription["endpoint"])
    assert after["checks"] == [["failed", "permission"]] and after["failed"] == 1
    assert after["permission"] in ("default", "denied")
    time.sleep(1)
    assert [p for p in push_service.received_for(subscription) if p.json.get("type") == "device.test"] == []
    assert problems == []


def test_going_on_call_with_no_phone_registered_warns_the_firefighter(phone):
    """The on-call answer says when none of the firefighter's phones can be counted on; the app
    shows it under the switch."""
    log_in(phone, "ff.sheringham.3")  # no phone registered for alerts
    page = phone.new_page()
    problems = watch_for_problems(page)
    page.goto("/")
    page.get_by_role("button", name=re.compile("ON CALL")).click()  # off call
    page.get_by_role("button", name=re.compile("OFF CALL")).click()  # on call again

    page.get_by_text("No phone of yours is registered for alerts").wait_for()
    page.get_by_role("button", name=re.compile("ON CALL")).wait_for()
    assert problems == []
