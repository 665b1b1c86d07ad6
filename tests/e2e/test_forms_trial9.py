"""The after-call forms as the ninth trial of the product found them, in the browser:

- a firefighter who accepted and withdrew ("Can't attend after all") before setting off was asked
  for an attendance form and a welfare check-in, and the attendance form gave the time they
  accepted as "Mobile": now both are "Not needed" (and can still be filled in), and the form starts
  at "No" with no mobile time;
- the call's forms page said "Not started" twice per form;
- at 360 px wide the date-time fields cut off the seconds."""

import re

from tests.e2e.conftest import PHONE, ApiUser
from tests.e2e.helpers import accept_new_alert, log_in, watch_for_problems

WITHDRAWS = "ff.wymondham.3"
NEAR_WYMONDHAM = (52.5735, 1.1165)  # under 1 km from Wymondham
NARROW = "ff.dereham.3"
NEAR_DEREHAM = (52.6795, 0.9425)  # under 1 km from Dereham


def test_one_who_withdrew_before_setting_off_is_asked_for_no_forms_and_may_still_file(phone, server, dispatcher):
    log_in(phone, WITHDRAWS)
    page = phone.new_page()
    problems = watch_for_problems(page)
    page.goto("/")
    page.locator(".pill-live").wait_for()
    _, alert_id = accept_new_alert(phone, dispatcher, "E2E-FORMS-WITHDREW", NEAR_WYMONDHAM, "1 Withdrawn Way")
    ApiUser(server.url, WITHDRAWS).post(
        f"/api/v1/alerts/{alert_id}/respond/", {"response": "decline", "reason": "no_transport"}
    )  # "Can't attend after all"

    page.goto("/#/forms")
    call = page.locator(f"a.alert-item[href='#/alerts/{alert_id}/forms']")
    for kind in ("Attendance", "Welfare check-in"):
        call.locator(".record-status", has_text=f"{kind}:").locator(".status-not_needed").wait_for()
    call.click()

    card = page.locator(".form-list li[data-kind='attendance']")
    card.locator(".status-not_needed").wait_for()
    assert card.locator(".form-status").inner_text() == "You did not set off for this call; you can still fill it in."
    card.get_by_role("link", name="Open: attendance form").click()
    page.wait_for_url(re.compile(rf"#/alerts/{alert_id}/forms/attendance$"))
    page.locator("form#record-form").wait_for()
    assert page.locator("#f-mobile_at").input_value() == "", "never mobile: they did not set off"
    attended = page.get_by_role("group", name="Did you attend this incident?")
    assert attended.get_by_role("radio", name="No", exact=True).is_checked()
    page.get_by_role("button", name="Submit attendance form").click()
    page.get_by_role("link", name="Back to the forms").click()
    card.locator(".status-accepted").wait_for()
    assert problems == []


def test_the_forms_page_says_not_started_once_and_times_show_their_seconds_at_360_px(chromium, server, dispatcher):
    phone = chromium.new_context(base_url=server.url, **{**PHONE, "viewport": {"width": 360, "height": 780}})
    try:
        log_in(phone, NARROW)
        page = phone.new_page()
        problems = watch_for_problems(page)
        page.goto("/")
        page.locator(".pill-live").wait_for()
        _, alert_id = accept_new_alert(phone, dispatcher, "E2E-FORMS-360", NEAR_DEREHAM, "2 Narrow Lane, Dereham")
        ApiUser(server.url, NARROW).post(f"/api/v1/alerts/{alert_id}/respond/", {"response": "en_route"})

        page.goto(f"/#/alerts/{alert_id}/forms")
        card = page.locator(".form-list li[data-kind='attendance']")
        card.locator(".status-not_started").wait_for()
        assert card.locator(".form-status").count() == 0, "'Not started' once, in the chip"

        card.get_by_role("link", name="Fill in: attendance form").click()
        mobile = page.locator("#f-mobile_at")
        mobile.wait_for()
        shown = mobile.input_value()
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", shown), shown
        # The last digit of the seconds is on screen when changing it changes what is drawn (each
        # typed, so that the field is focused alike in both pictures).
        drawn = []
        for last in "05":
            mobile.fill(shown[:-1] + last)
            drawn.append(mobile.screenshot())
        cut_off = drawn[0] == drawn[1]
        assert not cut_off, "the seconds are cut off"
        assert problems == []
    finally:
        phone.close()
