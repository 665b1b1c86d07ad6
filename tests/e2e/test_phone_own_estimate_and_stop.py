"""Two faults on the phone found by a browser trial. (1) The firefighter's own arrival estimate
("To the incident: ... about 11 min (estimate)") stayed the same for three minutes with no new
position fix while the boards counted it down: the alert screen now draws it again from a
one-second tick once its words change (pwa/app/views/alert.js, ownEstimateText). The page's clock
is Playwright's, moved on in steps shorter than the socket's pong wait so that the socket stays up.
(2) A phone that does not allow location read "Your position is not shared" with a Stop button
under it: Stop is offered only while positions can be shared (offersStop)."""

import re

from playwright.sync_api import expect

from tests.e2e.helpers import log_in, watch_for_problems
from tests.e2e.test_position_sharing import NEAR_SHERINGHAM, wait_for_position

T = 10_000  # ms: every wait of these tests
TEN_KM_SOUTH = {"latitude": 52.8520, "longitude": 1.2150, "accuracy": 10}  # of the incident near Sheringham
MINUTES = re.compile(r"about (\d+) min \(estimate\)")


def test_the_phones_own_estimate_counts_down_without_a_new_fix(phone, server, dispatcher):
    phone.clock.install()
    phone.grant_permissions(["geolocation"], origin=server.url)
    phone.set_geolocation(TEN_KM_SOUTH)
    log_in(phone, "ff.sheringham.3")
    page = phone.new_page()
    problems = watch_for_problems(page)
    page.goto("/")
    expect(page.locator(".pill-live")).to_be_visible(timeout=T)
    incident = dispatcher.dispatch("E2E-OWN-ESTIMATE", *NEAR_SHERINGHAM, "1 Position Road, Sheringham")
    page.wait_for_url(re.compile(r"#/alerts/\d+$"), timeout=T)
    page.get_by_role("button", name="ACCEPT: I'm going").click(timeout=T)
    wait_for_position(dispatcher, incident["id"], TEN_KM_SOUTH["latitude"], timeout=10)
    estimate = page.locator(".sharing-estimate")
    expect(estimate).to_have_text(MINUTES, timeout=T)
    at_first = int(MINUTES.search(estimate.inner_text()).group(1))
    assert at_first >= 4, estimate.inner_text()

    # Two minutes on, the phone standing still: no new fix, no new estimate from the server.
    for _ in range(15):
        phone.clock.fast_forward(8_000)
        page.wait_for_timeout(250)

    expect(estimate).to_have_text(re.compile(rf"about ({at_first - 2}|{at_first - 3}) min \(estimate\)$"), timeout=T)
    assert problems == []


def test_a_phone_that_does_not_allow_location_is_offered_no_stop(phone, server, dispatcher):
    phone.clear_permissions()  # location not allowed: Chromium refuses it (PERMISSION_DENIED)
    log_in(phone, "ff.sheringham.1")
    page = phone.new_page()
    page.goto("/")
    expect(page.locator(".pill-live")).to_be_visible(timeout=T)
    dispatcher.dispatch("E2E-NO-LOCATION", *NEAR_SHERINGHAM, "1 Position Road, Sheringham")
    page.wait_for_url(re.compile(r"#/alerts/\d+$"), timeout=T)
    page.get_by_role("button", name="ACCEPT: I'm going").click(timeout=T)
    sharing = page.locator(".alert-sharing")
    expect(sharing).to_contain_text("Your position is not shared", timeout=T)
    expect(sharing).to_contain_text("does not allow the app to use it", timeout=T)
    page.wait_for_timeout(500)  # a redraw that brought Stop back would come within this
    expect(page.get_by_role("button", name="Stop sharing your position")).to_have_count(0, timeout=T)
    expect(sharing.get_by_role("button")).to_have_count(0, timeout=T)
