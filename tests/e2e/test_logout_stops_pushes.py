"""Logging out in the app stops pushes to that phone (docs/delivery.md, "Whose phone it is").

The phone's push subscription is one of the push-service stand-in's (tests/support/push_service.py): the
server really sends to it, and the stand-in decrypts what arrives. Headless Chromium cannot reach a
real push service to subscribe, so the page's PushManager hands the app that subscription (an init
script); everything else is the real app, its service worker and the real server with its worker.

The firefighter opens the app with notifications allowed (the app registers the phone on its own),
a dispatch pushes to the phone, they log out in the app: the logout request carries the phone's
endpoint, the server removes that subscription, the browser drops it too, and the next dispatch
sends the phone nothing.
"""

import json
import re
import time

import pytest

from tests.e2e.helpers import log_in, watch_for_problems
from tests.support.push_service import push_service  # noqa: F401 (a fixture)

FIREFIGHTER = "ff.kings-lynn.1"
NEAR_KINGS_LYNN = (52.7560, 0.4100)  # under 1 km from King's Lynn; no other station within 20 km

# The page's PushManager, holding the stand-in's subscription once the app subscribes.
FAKE_PUSH_MANAGER = """
(() => {
  const json = %s;
  const state = { current: null, unsubscribed: 0 };
  window.__fakePush = state;
  const make = () => ({
    endpoint: json.endpoint,
    expirationTime: null,
    options: { userVisibleOnly: true, applicationServerKey: null },
    toJSON: () => JSON.parse(JSON.stringify(json)),
    unsubscribe: async () => { state.current = null; state.unsubscribed += 1; return true; },
  });
  PushManager.prototype.subscribe = async function () { return (state.current = state.current || make()); };
  PushManager.prototype.getSubscription = async function () { return state.current; };
  PushManager.prototype.permissionState = async function () { return "granted"; };
})();
"""

DEVICES_AT = """
from backend.delivery.models import PushDevice
print(PushDevice.objects.filter(subscription__endpoint={endpoint!r}).count())
"""

ALERTS_AND_PUSHES = """
from backend.delivery.models import Delivery
from backend.dispatch.models import Alert
alerts = Alert.objects.filter(incident_id={incident_id}, responder__user__username={username!r})
pushes = Delivery.objects.filter(alert__in=alerts, channel="webpush")
print(alerts.count(), pushes.count())
"""


def server_devices_at(server, endpoint: str) -> int:
    return int(server.manage("shell", "-c", DEVICES_AT.format(endpoint=endpoint)).strip().splitlines()[-1])


def wait_until(condition, what: str, timeout: float = 10.0, page=None):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        if page is not None:
            page.wait_for_timeout(100)
        else:
            time.sleep(0.1)


@pytest.fixture
def app(phone, server, push_service):  # noqa: F811 (the fixture imported above)
    """The app open at home, logged in, notifications allowed, and the phone registered for push
    with a subscription of the stand-in."""
    subscription = push_service.subscribe()
    phone.grant_permissions(["notifications"], origin=server.url)
    phone.add_init_script(FAKE_PUSH_MANAGER % json.dumps(subscription))
    log_in(phone, FIREFIGHTER)
    page = phone.new_page()
    page.goto("/")
    page.locator(".pill-live").wait_for()

    def registered():
        devices = phone.request.get("/api/v1/push-subscriptions/").json()["results"]
        return [device for device in devices if device["endpoint"] == subscription["endpoint"]]

    wait_until(registered, "the app to register the phone for push", page=page)
    return page, subscription


def test_logging_out_in_the_app_stops_pushes_to_that_phone(app, server, dispatcher, push_service):  # noqa: F811
    page, subscription = app
    problems = watch_for_problems(page)

    # Logged in: a dispatch pushes to this phone.
    first = dispatcher.dispatch("E2E-LOGOUT-1", *NEAR_KINGS_LYNN, "1 Logout Lane, King's Lynn")
    [push] = push_service.wait_for(1, timeout=10, endpoint=subscription)
    assert push.json["type"] == "alert.created" and push.json["incident_id"] == first["id"]
    dispatcher.cancel(first["id"], "Not needed: the test goes on.")
    push_service.wait_for(2, timeout=10, endpoint=subscription)  # the stand-down push

    # Log out in the app.
    logout_bodies = []
    page.on(
        "request",
        lambda request: (
            logout_bodies.append(request.post_data_json) if request.url.endswith("/api/v1/auth/logout/") else None
        ),
    )
    page.evaluate("location.hash = '#/'")
    page.get_by_role("button", name="Log out").click()
    # The confirmation drawn first: its button is named "Log out" too (nothing unsent), and a
    # click before it drew would press the home screen's again (test_phone_trial11's CI lesson).
    page.get_by_role("heading", name="Log out?").wait_for()
    page.get_by_role("button", name="Log out", exact=True).click()
    page.wait_for_url(re.compile(r"#/login$"))

    assert logout_bodies == [{"endpoint": subscription["endpoint"]}], "the logout names this phone's subscription"
    assert server_devices_at(server, subscription["endpoint"]) == 0, "the server removed the subscription"
    assert page.evaluate("window.__fakePush.unsubscribed") == 1, "the browser dropped it too"
    assert page.context.request.get("/api/v1/me/").status == 401

    # Logged out: the next dispatch alerts the firefighter (still on call) but pushes nothing here.
    pushes_before = len(push_service.received_for(subscription))
    second = dispatcher.dispatch("E2E-LOGOUT-2", *NEAR_KINGS_LYNN, "2 Logout Lane, King's Lynn")
    counts = server.manage("shell", "-c", ALERTS_AND_PUSHES.format(incident_id=second["id"], username=FIREFIGHTER))
    assert counts.strip().splitlines()[-1] == "1 0", "alerted (the socket, SMS), with no push to a device"
    page.wait_for_timeout(2000)  # time enough for a push the worker would have sent
    assert len(push_service.received_for(subscription)) == pushes_before
    assert problems == []
