"""The incident's admin page fits a 1280 px screen with its alerts shown. Found by a browser trial:
the Alerts table had a column for each of the alert's ten times and each reason, 1764 px wide, and
the page scrolled 484 px sideways at 1280. Its times are one column now, each time on its line,
and its reasons another (backend/dispatch/admin.py, AlertInline); the alert's own page has each."""

from tests.e2e.conftest import ApiUser
from tests.e2e.helpers import log_in, pass_the_second_factor, watch_for_problems
from tests.e2e.test_wall_board import FIREFIGHTERS, NEAR_KINGS_LYNN, create

T = 10_000  # ms: every wait of this test

# How far the page, and any element of it, reaches past the screen's right edge (px).
SIDEWAYS = """() => {
  const width = document.documentElement.clientWidth;
  const over = [...document.querySelectorAll('#content *')]
    .filter((node) => !node.closest('.leaflet-container'))  // the map's panes are clipped by its box
    .map((node) => [node, node.getBoundingClientRect().right - width])
    .filter(([, by]) => by > 1)
    .map(([node, by]) => `${node.tagName.toLowerCase()}.${node.className} by ${Math.round(by)} px`);
  return {page: document.documentElement.scrollWidth - width, over: over.slice(0, 5)};
}"""


def test_the_incident_page_with_alerts_does_not_scroll_sideways_at_1280(chromium, server, dispatcher):
    incident = create(dispatcher, NEAR_KINGS_LYNN, "2 Tuesday Market Place, King's Lynn", dispatch=True)
    # The times and reasons the trial's table had filled: one declined with a note, one stood down.
    firefighter = ApiUser(server.url, FIREFIGHTERS[0])
    [declined] = [
        alert
        for alert in firefighter.get("/api/v1/alerts/?active=true")["results"]
        if alert["incident_id"] == incident["id"]
    ]
    firefighter.post(
        f"/api/v1/alerts/{declined['id']}/respond/",
        {"response": "decline", "reason": "other", "note": "At the hospital with my daughter until six"},
    )
    others = [alert["id"] for alert in incident["alerts"] if alert["id"] != declined["id"]]
    assert others, "the test needs two alerted responders near King's Lynn"
    dispatcher.coordinator.post(f"/api/v1/incidents/{incident['id']}/stand-down/", {"alert_ids": others[:1]})

    context = chromium.new_context(
        base_url=server.url, viewport={"width": 1280, "height": 900}, locale="en-GB", timezone_id="Europe/London"
    )
    context.set_default_timeout(T)
    try:
        log_in(context, "coordinator")
        assert pass_the_second_factor(context, server) == []
        page = context.new_page()
        problems = watch_for_problems(page)
        page.goto(f"/admin/dispatch/incident/{incident['id']}/change/")
        table = page.locator(".inline-group table").first
        table.wait_for(timeout=T)
        # Every alert is a row, with its times and reasons.
        text = table.inner_text()
        assert "Declined" in text and "At the hospital with my daughter until six" in text
        assert "Stood down" in text
        sideways = page.evaluate(SIDEWAYS)
        assert sideways == {"page": 0, "over": []}, f"at 1280 px: {sideways}"
        assert problems == []
    finally:
        context.close()
