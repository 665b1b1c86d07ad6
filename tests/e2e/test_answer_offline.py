"""An answer tapped without signal. Found by a tester: after tapping En route offline, "Not sent: no
connection. Check your signal and tap again." stayed on the alert screen once the phone was back
online, as if it still had no signal. An answer is not queued (a late "en route" or "on scene"
would mislead the control room about when): once online, the notice says which answer to tap
again; tapped and sent, the notice goes."""

import re

from tests.e2e.helpers import log_in, watch_for_problems

FIREFIGHTER = "ff.wymondham.3"
NEAR_WYMONDHAM = (52.5740, 1.1150)  # under 1 km from Wymondham


def test_a_no_connection_notice_does_not_outlive_the_lost_connection(page, phone, dispatcher):
    problems = watch_for_problems(page)
    log_in(phone, FIREFIGHTER)
    page.goto("/")
    page.locator(".pill-live").wait_for()
    dispatcher.dispatch("E2E-ANSWER-OFFLINE", *NEAR_WYMONDHAM, "3 Signal Lane, Wymondham")
    page.wait_for_url(re.compile(r"#/alerts/\d+$"))
    page.get_by_role("button", name="ACCEPT: I'm going").click()
    page.get_by_text("You accepted. Go now.").wait_for()

    phone.set_offline(True)
    page.get_by_text("No network").wait_for()
    page.get_by_role("button", name="En route").click()
    notice = page.locator(".alert-actions .notice")
    notice.get_by_text("Not sent: no connection. Check your signal and tap again.").wait_for()

    phone.set_offline(False)
    notice.get_by_text("En route was not sent: there was no connection. Tap it again.").wait_for()
    assert page.get_by_text("Check your signal").count() == 0
    assert page.get_by_text("You accepted. Go now.").is_visible(), "the answer was not sent: the screen says so"

    page.get_by_role("button", name="En route").click()
    page.locator(".alert-state", has_text="En route.").wait_for()
    assert notice.count() == 0
    assert problems == []
