"""Found by a browser trial of the product. A coordinator closing the incident while the crew was on
the CPR checklist (the metronome and the 2-minute timer running) changed nothing on the checklist:
only the alert's screen said "This incident is closed." (a cancel shows its notice there,
tests/e2e/test_after_the_call.py). And "Log out?" did not mention the job the firefighter was on."""

import re

from tests.e2e.conftest import ApiUser
from tests.e2e.helpers import watch_for_problems
from tests.e2e.test_after_the_call import ADDRESS, FIREFIGHTER, in_view, on_scene


def test_a_close_during_cpr_is_told_on_the_checklist_which_still_records(page, phone, server, dispatcher):
    problems = watch_for_problems(page)
    incident_id, alert_id = on_scene(phone, dispatcher)
    page.goto(f"/#/alerts/{alert_id}/checklist")
    page.get_by_role("button", name="Start CPR: metronome and timer").click()
    page.get_by_role("timer").wait_for()
    page.get_by_role("button", name="Stop metronome", exact=True).wait_for()
    log = page.locator("ul.log > li")
    log.filter(has_text="CPR started").locator(".sync-synced").wait_for()  # the log is redrawn until then
    page.locator("#log-heading").scroll_into_view_if_needed()
    assert page.evaluate("window.scrollY") > 300  # the notices at the top are out of view

    dispatcher.coordinator.post(f"/api/v1/incidents/{incident_id}/close/", {})
    notice = page.get_by_role("alert").filter(has_text=re.compile(r"Incident closed by control at \d\d:\d\d\."))
    notice.wait_for()
    page.wait_for_function("document.activeElement && document.activeElement.matches('.notice.danger')")
    assert in_view(page, notice)
    assert "What you record here is still kept and sent." in notice.inner_text()

    # Still usable: a tap after the close is recorded and reaches the server.
    page.locator(".event-grid").get_by_role("button", name="Handed over").click()
    log.filter(has_text="Handed over").locator(".sync-synced").wait_for()
    events = ApiUser(server.url, FIREFIGHTER).get(f"/api/v1/alerts/{alert_id}/events/")["results"]
    assert [event["type"] for event in events if event["type"] == "handover"] == ["handover"]
    assert problems == []


def test_logging_out_during_a_job_says_which_job(page, phone, dispatcher):
    problems = watch_for_problems(page)
    _incident_id, alert_id = on_scene(phone, dispatcher)
    page.goto(f"/#/alerts/{alert_id}")  # a start on home would open the job
    page.get_by_role("link", name="Open CPR checklist").wait_for()
    page.evaluate("location.hash = '#/'")
    page.get_by_role("button", name="Log out").click()
    page.get_by_role("heading", name="Log out?").wait_for()
    page.get_by_text(
        f"You are on scene at {ADDRESS}: logging out stops your alerts and position sharing on this phone."
    ).wait_for()
    assert problems == []
