"""The forms list without signal lists the calls this phone knows from its own alerts that the list
it last kept lacks. Found by a browser trial: a firefighter who attended and lost signal before the
list was refreshed could not find the call in the forms list, so could not start its forms, though
the phone held the alert."""

import re
import uuid

from playwright.sync_api import expect

from tests.e2e.conftest import ApiUser
from tests.e2e.helpers import accept_new_alert, log_in, watch_for_problems
from tests.e2e.test_forms_offline import choose, wait_until_kept

FIREFIGHTER = "ff.great-yarmouth.2"
NEAR_GREAT_YARMOUTH = (52.6100, 1.7280)
KNOWN_HERE = "From this phone: not yet confirmed by the server."
KEPT_COPY = "No signal: showing what this phone last knew of this form."


def test_an_attended_call_the_kept_list_lacks_is_listed_offline_and_its_form_opens_and_is_queued(
    phone, server, dispatcher
):
    log_in(phone, FIREFIGHTER)
    page = phone.new_page()
    problems = watch_for_problems(page)
    page.goto("/")
    page.locator(".pill-live").wait_for()
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")  # the screens, offline too
    wait_until_kept(page, [f"records-list:{FIREFIGHTER}"])  # the list as it was before the call

    # From here the list is never refreshed: the signal goes before the call ends.
    page.route("**/api/v1/records/", lambda route: route.abort())
    reference = f"E2E-FORMS-KNOWN-{uuid.uuid4().hex[:6]}"
    incident, alert_id = accept_new_alert(
        phone, dispatcher, reference, NEAR_GREAT_YARMOUTH, "20 Form Street, Great Yarmouth"
    )
    ApiUser(server.url, FIREFIGHTER).post(f"/api/v1/alerts/{alert_id}/respond/", {"response": "on_scene"})
    page.wait_for_url(re.compile(rf"#/alerts/{alert_id}$"), timeout=10000)
    page.get_by_role("button", name="Cleared: leaving scene").wait_for(timeout=10000)  # the phone knows it is on scene
    # On scene: the job's forms are kept on the phone (test_forms_kept_ahead.py), before the end.
    wait_until_kept(page, [f"record:{FIREFIGHTER}:{alert_id}:{kind}" for kind in ("attendance", "outcome", "welfare")])
    # The call ends: the phone asks for the list again and gets no answer.
    with page.expect_event("requestfailed", lambda request: "/api/v1/records/" in request.url, timeout=10000):
        dispatcher.coordinator.post(f"/api/v1/incidents/{incident['id']}/close/", {})

    phone.set_offline(True)
    page.goto("/#/forms")
    page.locator(".pill-offline").wait_for(timeout=10000)
    page.get_by_text("No signal: showing what this phone last knew.").wait_for(timeout=10000)
    call = page.get_by_role("link", name=re.compile(f"Incident {reference}"))
    expect(call).to_contain_text(KNOWN_HERE, timeout=10000)
    expect(call.locator(".record-status")).to_have_text(
        ["Attendance: Not started", "Outcome: Not known yet", "Welfare check-in: Not started"], timeout=10000
    )
    call.click()
    page.wait_for_url(re.compile(rf"#/alerts/{alert_id}/forms$"), timeout=10000)
    expect(page.locator(".form-list li[data-kind='attendance'] .status-not_started")).to_be_visible(timeout=10000)

    page.get_by_role("link", name="Fill in: welfare check-in form").click()
    page.locator("form#record-form").wait_for(timeout=10000)
    # Kept on the phone once the firefighter was on scene (test_forms_kept_ahead.py), not blank.
    page.get_by_text(KEPT_COPY).wait_for(timeout=10000)
    choose(page, "How affected do you feel by this call?", "2: a little")
    page.get_by_role("button", name="Submit welfare check-in form").click()
    page.get_by_text("Saved on this phone, not sent yet.").wait_for(timeout=10000)

    page.unroute("**/api/v1/records/")
    phone.set_offline(False)
    page.get_by_text("Sent and accepted (version 1)").wait_for(timeout=15000)
    record = ApiUser(server.url, FIREFIGHTER).get(f"/api/v1/alerts/{alert_id}/welfare/")["record"]
    assert record["impact"] == 2
    assert problems == []
