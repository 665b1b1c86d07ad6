"""The checklist in development: the server serves the draft version (no clinician has signed it
off), and the app says so in a banner above everything; the crew chooses the infant variant and
their taps carry that choice to the server."""

import re

from tests.e2e.conftest import ApiUser
from tests.e2e.helpers import log_in, watch_for_problems

FIREFIGHTER = "ff.sheringham.2"
AT_SHERINGHAM = (52.9410, 1.2100)
# Counts the infant hints put into the page from now on (each drawing of the checklist's head).
COUNT_HINTS_DRAWN = """() => {
  window.__hintsDrawn = 0;
  new MutationObserver((changes) => {
    for (const change of changes) for (const node of change.addedNodes) {
      const drawn = node.nodeType === 1 ? [node, ...node.querySelectorAll('*')] : [];
      if (drawn.some((el) => el.textContent === 'Infants: under 1 year old.')) window.__hintsDrawn += 1;
    }
  }).observe(document.body, {childList: true, subtree: true});
}"""


def test_a_draft_checklist_shows_not_clinically_approved_and_the_infant_choice_is_recorded(phone, server, dispatcher):
    log_in(phone, FIREFIGHTER)
    page = phone.new_page()
    problems = watch_for_problems(page)
    page.goto("/")
    page.locator(".pill-live").wait_for()

    dispatcher.dispatch("E2E-SIGNOFF-1", *AT_SHERINGHAM, "1 Draft Lane, Sheringham")
    page.wait_for_url(re.compile(r"#/alerts/\d+$"))
    alert_id = int(page.evaluate("location.hash").rsplit("/", 1)[1])
    page.get_by_role("button", name="ACCEPT: I'm going").click()
    page.get_by_text("You accepted. Go now.").wait_for()
    page.get_by_role("link", name="CPR checklist").click()
    page.wait_for_url(re.compile(rf"#/alerts/{alert_id}/checklist$"))

    banner = page.locator(".not-approved")
    banner.wait_for()
    assert banner.get_by_text("Not clinically approved", exact=True).is_visible()
    assert "Checklist version 2.0 is a draft" in banner.inner_text()
    box = banner.bounding_box()
    assert box is not None and box["y"] < 844, "the banner is on the first screen"
    page.get_by_text("Not clinically approved (draft)").wait_for()  # and in the footer, by the version

    page.evaluate(COUNT_HINTS_DRAWN)
    page.get_by_role("group", name="Patient").get_by_role("button", name="Infant").click()
    page.get_by_role("heading", name="Infant checklist").wait_for()
    page.get_by_text("Infants: under 1 year old.").wait_for()
    # The patient buttons and their hint are drawn once for the choice, and stay as drawn while the
    # alert's updates come in (its receipt, the accept's echo): redrawn, a tap on them in between
    # would be lost.
    page.wait_for_timeout(2000)
    assert page.evaluate("window.__hintsDrawn") == 1, "the checklist's head was drawn again"
    steps = page.locator("ol.steps")
    assert "mouth to mouth-and-nose" in steps.inner_text()
    assert "head in the neutral position, not tilted back" in steps.inner_text()
    assert "AWAITING CLINICAL CONFIRMATION" in steps.inner_text()

    page.locator(".event-grid").get_by_role("button", name="At patient").click()
    page.locator("ul.log .sync-synced").first.wait_for()
    assert "At patient (infant)" in page.locator("ul.log").inner_text()

    [event] = ApiUser(server.url, FIREFIGHTER).get(f"/api/v1/alerts/{alert_id}/events/")["results"]
    assert (event["type"], event["data"]) == ("arrived", {"patient": "infant"})
    assert problems == []
