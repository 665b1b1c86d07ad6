"""Found by a browser trial of the control room's board (/board/):
- the notice of a new incident out of sight ("New incident … above: show it ↑") was drawn over the
  incidents' list and covered the text of an alarm sounding on the card at the list's top. It now
  takes its own place above the list, pushing nothing under the coordinator's pointer (wall.js,
  followNewIncidents);
- at 360 px wide, a card's reference ("CAD-E5") was split across two lines at its hyphen, the time
  since dispatch beside it taking the room. A reference is never broken now (wall.css, .wall-ref).
(The Close dialog naming whom it clears: tests/js/board-trial15-faults.test.mjs.)"""

import uuid

from playwright.sync_api import expect

from tests.e2e.helpers import log_in, pass_the_second_factor
from tests.e2e.test_wall_board import NEAR_KINGS_LYNN, OUT_OF_RANGE, card_of, create, desk_context, open_board

T = 10_000  # ms: every wait of these tests

# The boxes of the notice and of each alarm's text drawn in the list's visible part, and whether
# they meet.
NOTICE_OVER_ALARMS = """([notice, list]) => {
  const n = notice.getBoundingClientRect();
  const l = list.getBoundingClientRect();
  const meet = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
  return [...list.querySelectorAll('.wall-card-alarm p')]
    .map((text) => text.getBoundingClientRect())
    .filter((box) => meet(box, l))
    .filter((box) => meet(box, n))
    .map((box) => `alarm text at ${Math.round(box.top)}-${Math.round(box.bottom)}, `
      + `notice at ${Math.round(n.top)}-${Math.round(n.bottom)}`);
}"""


# The list scrolled so that `alarm` is 4 px under its top.
ALARM_AT_THE_TOP = (
    "(list, alarm) => { list.scrollTop += alarm.getBoundingClientRect().top - list.getBoundingClientRect().top - 4; }"
)


def test_the_new_incident_notice_covers_no_alarm_s_text(chromium, server, dispatcher):
    context = desk_context(chromium, server, "720p")
    try:
        # Dispatches that reach nobody: each card has an alarm sounding.
        sounding = [
            create(dispatcher, OUT_OF_RANGE, f"{number + 1} Whitehall, London", dispatch=True) for number in range(4)
        ]
        page, problems = open_board(context)
        listing = page.locator(".wall-incidents")
        notice = page.locator("[data-action=show-new]")
        for incident in sounding:
            expect(card_of(page, incident).locator(".wall-card-alarm p")).to_be_visible(timeout=T)
        # The list scrolled down so that a card's alarm is at its top, as the trial had it.
        alarm = card_of(page, sounding[-1]).locator(".wall-card-alarm p")  # the newest: first in the list
        listing.evaluate(ALARM_AT_THE_TOP, alarm.element_handle())
        assert listing.evaluate("(list) => list.scrollTop") > 100, "the list does not scroll: too few cards"
        page.mouse.move(2, 2)  # the pointer on the page's bar, not over the list
        expect(notice).to_be_hidden()

        arrived = create(dispatcher, OUT_OF_RANGE, "10 Whitehall, London", dispatch=True)

        expect(card_of(page, arrived)).to_have_count(1, timeout=T)
        expect(notice).to_be_visible(timeout=T)
        expect(notice).to_contain_text(f"New incident {arrived['cad_reference']} above")
        # (The alarms' bar grew a line with the fifth alarm: the alarm back at the list's top.)
        listing.evaluate(ALARM_AT_THE_TOP, alarm.element_handle())
        expect(notice).to_contain_text(f"New incident {arrived['cad_reference']} above")
        met = page.evaluate(NOTICE_OVER_ALARMS, [notice.element_handle(), listing.element_handle()])
        assert met == []
        # The alarm at the top is still in sight, whole, under the notice rather than behind it.
        box, shown = alarm.bounding_box(), listing.bounding_box()
        notice_box = notice.bounding_box()
        assert box["y"] >= notice_box["y"] + notice_box["height"], (box, notice_box)
        assert shown["y"] <= box["y"] and box["y"] + box["height"] <= shown["y"] + shown["height"], (box, shown)

        notice.click()
        expect(notice).to_be_hidden(timeout=T)
        assert problems == []
    finally:
        context.close()


def phone_sized(chromium, server):
    context = chromium.new_context(
        base_url=server.url, viewport={"width": 360, "height": 740}, locale="en-GB", timezone_id="Europe/London"
    )
    context.set_default_timeout(T)
    log_in(context, "coordinator")
    assert pass_the_second_factor(context, server) == []
    return context


def test_a_reference_is_never_split_across_lines_at_360_wide(chromium, server, dispatcher):
    context = phone_sized(chromium, server)
    try:
        reference = f"CAD-E{uuid.uuid4().hex[:2].upper()}"
        incident = create(
            dispatcher, NEAR_KINGS_LYNN, "1 Tuesday Market Place, King's Lynn", cad_reference=reference, dispatch=True
        )
        page, problems = open_board(context)
        heading = card_of(page, incident).locator(".wall-ref")
        expect(heading).to_have_text(reference, timeout=T)
        # The time since dispatch is there beside it (or under it), ticking.
        expect(card_of(page, incident).locator(".wall-elapsed")).to_contain_text("since dispatch", timeout=T)
        lines = heading.evaluate(
            """(heading) => {
              const range = document.createRange();
              range.selectNodeContents(heading);
              const lines = [...range.getClientRects()].filter((box) => box.width > 0);
              return new Set(lines.map((box) => Math.round(box.top))).size;
            }"""
        )
        assert lines == 1, f"{reference} drawn on {lines} lines"
        # Whole and in sight: not cut off by its card either.
        assert heading.evaluate("(heading) => heading.scrollWidth <= heading.clientWidth + 1")
        assert page.evaluate("document.documentElement.scrollWidth - innerWidth") <= 1
        assert problems == []
    finally:
        context.close()
