"""On scene without signal: the checklist's one-tap times are kept on the phone, survive a reload
with no network (the app shell comes from the service worker's cache), are sent once the signal is
back, and the server holds each exactly once."""

import re
from collections import Counter

from tests.e2e.conftest import ApiUser
from tests.e2e.helpers import log_in, watch_for_problems

FIREFIGHTER = "ff.thetford.1"
NEAR_THETFORD = (52.4170, 0.7500)  # under 1 km from Thetford; no other station within 20 km
TAPS = [("At patient", "arrived"), ("CPR started", "cpr_started"), ("Pads on", "pads_on")]


def test_times_tapped_offline_survive_a_reload_and_reach_the_server_once(phone, server, dispatcher):
    log_in(phone, FIREFIGHTER)
    page = phone.new_page()
    problems = watch_for_problems(page)
    page.goto("/")
    page.locator(".pill-live").wait_for()
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")

    dispatcher.dispatch("E2E-OFFLINE-1", *NEAR_THETFORD, "4 Offline Way, Thetford")
    page.wait_for_url(re.compile(r"#/alerts/\d+$"))
    alert_id = int(page.evaluate("location.hash").rsplit("/", 1)[1])
    page.get_by_role("button", name="ACCEPT: I'm going").click()
    page.get_by_text("You accepted. Go now.").wait_for()
    page.get_by_role("link", name="CPR checklist").click()
    page.wait_for_url(re.compile(rf"#/alerts/{alert_id}/checklist$"))
    page.get_by_role("heading", name="Tap when it happens").wait_for()
    page.get_by_text("Nothing recorded yet.").wait_for()

    phone.set_offline(True)
    page.locator(".pill-offline").wait_for()
    grid = page.locator(".event-grid")
    for label, _ in TAPS:
        grid.get_by_role("button", name=label).click()
    page.get_by_role("button", name="Shock delivered (no. 1)").click()
    log = page.locator("ul.log > li")
    log.nth(3).wait_for()
    assert log.locator(".sync-pending").count() == 4
    page.get_by_text("4 waiting to be sent").wait_for()

    page.reload()  # still offline: the shell comes from the service worker's cache
    page.get_by_role("heading", name="Tap when it happens").wait_for()
    log.nth(3).wait_for()
    assert log.count() == 4
    assert log.locator(".sync-pending").count() == 4
    assert page.locator(".shock-count strong").inner_text() == "1"

    phone.set_offline(False)
    page.locator("ul.log .sync-synced").nth(3).wait_for()
    assert log.locator(".sync-synced").count() == 4
    assert page.get_by_text("waiting to be sent").count() == 0

    events = ApiUser(server.url, FIREFIGHTER).get(f"/api/v1/alerts/{alert_id}/events/")["results"]
    assert Counter(event["type"] for event in events) == {"arrived": 1, "cpr_started": 1, "pads_on": 1, "shock": 1}
    assert len({event["idempotency_key"] for event in events}) == 4
    [shock] = [event for event in events if event["type"] == "shock"]
    assert shock["data"]["shock_number"] == 1
    assert problems == []
