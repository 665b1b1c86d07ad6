"""Found by a trial: the phone's crew panel drew each crew member's arrival estimate and "Likely
first" only when data came, so between positions it kept "about 11 min" while the boards (and the
firefighter's own estimate on the alert screen) counted down. The panel now redraws those lines from
a one-second tick once their words change (pwa/app/views/incident.js, crewArrivalWords), and only
those lines: the rest of the panel stays as drawn. The phone shares no position of its own (location
not allowed) and the crewmate sends one only, so no new estimate comes. The page's clock is
Playwright's, moved on in steps shorter than the socket's pong wait so that the socket stays up (a
reconnect would draw afresh and hide the fault)."""

import re

from playwright.sync_api import expect

from tests.e2e.conftest import ApiUser
from tests.e2e.helpers import log_in, watch_for_problems
from tests.e2e.test_position_sharing import NEAR_SHERINGHAM, positions_of

T = 10_000  # ms: every wait of these tests
TEN_KM_SOUTH = {"latitude": 52.8520, "longitude": 1.2150, "accuracy_m": 10}  # of the incident near Sheringham
MINUTES = re.compile(r"about (\d+) min \(estimate\)")

# Which one-second intervals the page starts and clears from now on (to see that the panel's tick
# stops when the panel is left).
WATCH_INTERVALS = """() => {
  window.__intervals = { started: [], cleared: [], recording: true };
  const set = window.setInterval, clear = window.clearInterval;
  window.setInterval = (fn, ms, ...rest) => {
    const timer = set(fn, ms, ...rest);
    if (ms === 1000 && window.__intervals.recording) window.__intervals.started.push(timer);
    return timer;
  };
  window.clearInterval = (timer) => {
    window.__intervals.cleared.push(timer);
    return clear(timer);
  };
}"""


def test_the_crew_panel_counts_the_estimates_down_without_new_data(phone, server, dispatcher):
    phone.clock.install()
    phone.clear_permissions()  # no position of the phone's own: nothing new comes from it
    log_in(phone, "ff.sheringham.1")
    page = phone.new_page()
    problems = watch_for_problems(page)
    page.goto("/")
    expect(page.locator(".pill-live")).to_be_visible(timeout=T)
    incident = dispatcher.dispatch("E2E-CREW-COUNTDOWN", *NEAR_SHERINGHAM, "1 Position Road, Sheringham")
    page.wait_for_url(re.compile(r"#/alerts/\d+$"), timeout=T)
    alert_id = int(page.url.rsplit("/", 1)[1])
    page.get_by_role("button", name="ACCEPT: I'm going").click(timeout=T)

    crewmate = ApiUser(server.url, "ff.sheringham.3")
    active = crewmate.get("/api/v1/alerts/?active=true")["results"]
    theirs = next(alert for alert in active if alert["incident_id"] == incident["id"])
    crewmate.post(f"/api/v1/alerts/{theirs['id']}/respond/", {"response": "accept"})
    crewmate.post(f"/api/v1/alerts/{theirs['id']}/positions/", TEN_KM_SOUTH)
    [their_name] = [p["responder_name"] for p in positions_of(dispatcher, incident["id"])]

    page.evaluate(WATCH_INTERVALS)
    page.goto(f"/#/alerts/{alert_id}/incident")
    estimate = page.locator(".crew-member", has_text=their_name).locator(".crew-estimate")
    first = page.locator(".crew-first")
    expect(estimate).to_have_text(MINUTES, timeout=T)
    at_first = int(MINUTES.search(estimate.inner_text()).group(1))
    assert at_first >= 4, estimate.inner_text()
    expect(first).to_have_text(f"Likely first: {their_name} ({at_first} min)", timeout=T)
    # Marks on the panel as drawn: a full redraw would lose them.
    page.evaluate("() => { document.querySelector('.crew-list').dataset.kept = 'yes'; }")
    page.evaluate("() => { window.__first = document.querySelector('.crew-first'); }")

    # Two minutes on, nobody moving: no new position, no new estimate from the server.
    for _ in range(15):
        phone.clock.fast_forward(8_000)
        page.wait_for_timeout(250)

    # The fix is two minutes old now, and said so (pwa/app/arrival.js, fixAgeText), still counted down.
    later = re.compile(rf"about ({at_first - 2}|{at_first - 3}) min \(estimate\) · position 2 min old$")
    expect(estimate).to_have_text(later, timeout=T)
    minutes = MINUTES.search(estimate.inner_text()).group(1)
    expect(first).to_have_text(f"Likely first: {their_name} ({minutes} min, position 2 min old)", timeout=T)
    assert page.evaluate("() => document.querySelector('.crew-list')?.dataset.kept") == "yes", (
        "the panel was drawn afresh"
    )
    assert page.evaluate("() => window.__first === document.querySelector('.crew-first')"), (
        "'Likely first' was drawn afresh"
    )

    # Leaving the panel stops its tick.
    page.evaluate("() => { window.__intervals.recording = false; }")
    assert page.evaluate("() => window.__intervals.started.length") >= 1, "the panel started no tick"
    page.locator(".topbar a.back").click(timeout=T)
    page.wait_for_url(re.compile(r"#/alerts/\d+$"), timeout=T)
    left_running = page.evaluate(
        "() => window.__intervals.started.filter((t) => !window.__intervals.cleared.includes(t))"
    )
    assert left_running == [], f"the crew panel's tick still runs after leaving it: {left_running}"
    assert problems == []
