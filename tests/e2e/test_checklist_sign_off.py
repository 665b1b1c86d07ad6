"""The checklist in development: the server serves the draft version (no clinician has signed it
off), and the app says so in a banner above everything; the crew chooses the infant variant and
their taps carry that choice to the server."""

import re

from tests.e2e.conftest import ApiUser
from tests.e2e.helpers import log_in, watch_for_problems

FIREFIGHTER = "ff.sheringham.2"
AT_SHERINGHAM = (52.9410, 1.2100)


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

    page.get_by_role("group", name="Patient").get_by_role("button", name="Infant").click()
    page.get_by_role("heading", name="Infant checklist").wait_for()
    assert page.get_by_text("Infants: under 1 year old.").is_visible()
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
