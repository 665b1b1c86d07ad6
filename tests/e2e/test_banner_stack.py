"""Several alerts waiting at once. Found trying the product: the banners of alerts waiting while
another screen shows are sticky at the top of the screen, one under the other; with three waiting,
they covered two thirds of a phone's screen on every screen (the alert, the CPR checklist, the
forms), and the buttons under them could not be pressed. The stack now takes at most a third of
the screen and scrolls within itself."""

import re
import uuid

from tests.e2e.helpers import log_in, watch_for_problems
from tests.e2e.test_two_incidents import dispatch_by_name

FIREFIGHTER = "ff.dereham.2"
NEAR_DEREHAM = (52.6810, 0.9400)


def test_three_waiting_alerts_leave_most_of_the_screen_to_the_one_shown(page, phone, dispatcher):
    problems = watch_for_problems(page)
    profile = log_in(phone, FIREFIGHTER)
    responder_id = profile["responder"]["id"]
    page.goto("/")
    page.locator(".pill-live").wait_for()
    alert_ids = []
    for number in range(4):
        incident = dispatch_by_name(
            dispatcher,
            f"E2E-STACK-{uuid.uuid4().hex[:8]}",
            NEAR_DEREHAM,
            f"{number + 1} Market Place, Dereham",
            responder_id,
        )
        alert_ids += [alert["id"] for alert in incident["alerts"] if alert["responder_id"] == responder_id]

    page.goto(f"/#/alerts/{alert_ids[0]}")
    page.wait_for_url(re.compile(rf"#/alerts/{alert_ids[0]}$"))
    banners = page.locator(".other-alerts .other-alert")
    banners.nth(2).wait_for()
    assert banners.count() == 3
    stack = page.locator(".other-alerts").bounding_box()
    screen = page.viewport_size["height"]
    assert stack["height"] <= screen / 3 + 1, f"the waiting alerts cover {stack['height']} of {screen} px"
    # The last banner is reached by scrolling the stack; the shown alert's answer can be pressed.
    assert page.locator(".other-alerts-list").evaluate("(box) => box.scrollHeight > box.clientHeight")
    banners.last.get_by_role("link", name="Open").scroll_into_view_if_needed()
    assert banners.last.get_by_role("link", name="Open").is_visible()
    # What the page scrolls to stops below the stack, not under it (a form's list of problems was
    # hidden so): the answer buttons, scrolled to as a focus or an error summary would be.
    answer = page.get_by_role("button", name="ACCEPT: I'm going")
    answer.evaluate("(button) => button.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(200)
    under = page.locator(".other-alerts").bounding_box()
    assert answer.bounding_box()["y"] >= under["y"] + under["height"] - 1, "scrolled to under the banner"
    page.get_by_role("button", name="ACCEPT: I'm going").click()
    page.get_by_text("You accepted. Go now.").wait_for()
    assert problems == []


def test_a_waiting_alert_cut_off_by_the_stack_is_announced_and_reached_with_a_tap(page, phone, dispatcher):
    """Found by a tester: with two alerts waiting, the second banner was cut off mid-line in the
    stack, with nothing to say that it scrolled. A button at the foot of the stack says how many
    more are below and brings the next into view."""
    problems = watch_for_problems(page)
    profile = log_in(phone, "ff.dereham.1")
    responder_id = profile["responder"]["id"]
    page.goto("/")
    page.locator(".pill-live").wait_for()
    alert_ids = []
    for number in range(3):
        incident = dispatch_by_name(
            dispatcher,
            f"E2E-MORE-{uuid.uuid4().hex[:8]}",
            NEAR_DEREHAM,
            f"{number + 1} Church Lane, Dereham",
            responder_id,
        )
        alert_ids += [alert["id"] for alert in incident["alerts"] if alert["responder_id"] == responder_id]

    page.goto(f"/#/alerts/{alert_ids[0]}")
    page.wait_for_url(re.compile(rf"#/alerts/{alert_ids[0]}$"))
    banners = page.locator(".other-alerts .other-alert")
    banners.nth(1).wait_for()
    assert banners.count() == 2
    stack = page.locator(".other-alerts")

    def wholly_in_view(banner) -> bool:
        box, inner = stack.bounding_box(), banner.bounding_box()
        return inner["y"] >= box["y"] - 1 and inner["y"] + inner["height"] <= box["y"] + box["height"] + 1

    assert not wholly_in_view(banners.nth(1)), "the stack shows both: nothing to announce (the test needs a cut-off)"
    more = stack.get_by_role("button", name="1 more alert below")
    more.wait_for()
    more_box, stack_box = more.bounding_box(), stack.bounding_box()
    assert more_box["y"] + more_box["height"] <= stack_box["y"] + stack_box["height"] + 1, "seen within the stack"

    more.click()
    page.wait_for_function("() => document.querySelector('.other-alerts-more').hidden")
    assert wholly_in_view(banners.nth(1)), "the tap brought the second banner into view"
    banners.nth(1).get_by_role("link", name="Open").click()
    page.wait_for_url(re.compile(rf"#/alerts/({alert_ids[1]}|{alert_ids[2]})$"))
    assert problems == []
