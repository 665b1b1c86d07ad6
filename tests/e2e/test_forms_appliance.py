"""The outcome form starts with the appliance call sign the crew lead gave in the attendance form of
the same call, queued without signal or sent. Found by a trial of the product: it was typed twice."""

import re

from tests.e2e.helpers import accept_new_alert, log_in, watch_for_problems

CREW_LEAD = "ff.wymondham.1"  # a crew lead (demo data: each station's firefighter no. 1)
NEAR_WYMONDHAM = (52.5745, 1.1155)  # under 1 km from Wymondham


def test_the_outcome_form_starts_with_the_appliance_of_the_attendance_form(phone, dispatcher):
    log_in(phone, CREW_LEAD)
    page = phone.new_page()
    problems = watch_for_problems(page)
    page.goto("/")
    page.locator(".pill-live").wait_for()
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    _, alert_id = accept_new_alert(phone, dispatcher, "E2E-FORMS-APPLIANCE", NEAR_WYMONDHAM, "9 Call Sign Lane")

    # Both forms opened once with signal (kept on the phone), then the attendance form without it.
    page.goto(f"/#/alerts/{alert_id}/forms/outcome")
    outcome_appliance = page.locator("form#record-form").get_by_label("Appliance call sign")
    outcome_appliance.wait_for()
    assert outcome_appliance.input_value() == ""
    page.goto(f"/#/alerts/{alert_id}/forms/attendance")
    page.locator("form#record-form").wait_for()
    phone.set_offline(True)
    page.locator(".pill-offline").wait_for()
    page.get_by_role("group", name="Did you attend this incident?").get_by_role("radio", name="Yes").check()
    page.get_by_label("Appliance call sign").fill("51P1")
    page.get_by_role("button", name="Submit attendance form").click()
    page.get_by_text("Saved on this phone, not sent yet.").wait_for()

    page.goto(f"/#/alerts/{alert_id}/forms/outcome")
    page.wait_for_url(re.compile(rf"#/alerts/{alert_id}/forms/outcome$"))
    outcome_appliance.wait_for()
    assert outcome_appliance.input_value() == "51P1", "from the attendance form queued on this phone"

    # Sent: the record this phone kept of it.
    phone.set_offline(False)
    page.goto(f"/#/alerts/{alert_id}/forms")
    page.locator(".form-list li[data-kind='attendance'] .status-accepted").wait_for()
    page.goto(f"/#/alerts/{alert_id}/forms/outcome")
    outcome_appliance.wait_for()
    assert outcome_appliance.input_value() == "51P1", "from the attendance form sent"
    assert problems == []
