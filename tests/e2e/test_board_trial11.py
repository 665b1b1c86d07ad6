"""Found by the eleventh browser trial of the boards:
- the control room's board's alarm bar named the incidents sounding ("2 alarms sounding: T11-C,
  T11-A") but T11-A's card was below the fold and its name was only words: each name is now a button
  that brings the card into view and chooses it (focused: its keys act on it), by mouse or keyboard;
- the admin's live board kept an alarm acknowledged on the control room's board red ("raised
  04:57:34") with no "acknowledged by": it now says who acknowledged it, live and after a reload."""

import re

from playwright.sync_api import expect

from tests.e2e.helpers import watch_for_problems
from tests.e2e.test_board_trial9 import place_of
from tests.e2e.test_wall_board import (
    NEAR_KINGS_LYNN,
    OUT_OF_RANGE,
    card_of,
    create,
    desk_context,
    has_class,
    open_board,
)

ADMIN_BOARD = "/admin/dispatch/incident/board/"
FOCUSED_CARD = "() => document.activeElement?.closest('.wall-card')?.dataset.incidentId ?? null"


def test_each_incident_named_in_the_alarm_bar_brings_its_card_into_view(chromium, server, dispatcher):
    context = desk_context(chromium, server, "720p")
    try:
        page, problems = open_board(context)
        # Alarms sounding on two incidents (each dispatch reaches nobody), and quiet ones between.
        first = create(dispatcher, OUT_OF_RANGE, "1 Whitehall, London", dispatch=True)
        for number in range(4):
            create(dispatcher, NEAR_KINGS_LYNN, f"{number + 20} King Street, King's Lynn")
        last = create(dispatcher, OUT_OF_RANGE, "2 Whitehall, London", dispatch=True)
        bar = page.locator(".wall-alarms")
        expect(bar.locator(".wall-alarm-summary")).to_contain_text("2 alarms sounding")
        listing = page.locator(".wall-incidents")

        for incident, scrolled in ((first, "list.scrollHeight"), (last, "0"), (first, "list.scrollHeight")):
            listing.evaluate(f"(list) => {{ list.scrollTop = {scrolled}; }}")
            jump = bar.get_by_role("button", name=re.compile(re.escape(incident["cad_reference"])))
            expect(jump).to_have_text(incident["cad_reference"])
            jump.click()
            assert place_of(page, incident) == "in view"
            expect(card_of(page, incident)).to_have_attribute("aria-current", "true")
            assert page.evaluate(FOCUSED_CARD) == str(incident["id"])
        assert listing.evaluate("(list) => list.scrollHeight > list.clientHeight"), "too few cards to scroll"

        # From the keyboard: the name takes the focus, Enter brings the card.
        listing.evaluate("(list) => { list.scrollTop = 0; }")
        jump = bar.get_by_role("button", name=re.compile(re.escape(last["cad_reference"])))
        jump.focus()
        page.keyboard.press("Enter")
        assert place_of(page, last) == "in view"
        assert page.evaluate(FOCUSED_CARD) == str(last["id"])
        # The chosen card's own keys act on it: `a` acknowledges its alarm, and its name leaves the bar.
        page.keyboard.press("a")
        expect(page.locator(".wall-done")).to_contain_text(last["cad_reference"])
        expect(card_of(page, last)).not_to_have_class(has_class("wall-card--alarm"))
        expect(jump).to_have_count(0)
        expect(bar.locator(".wall-alarm-summary")).to_contain_text("1 alarm sounding")
        assert problems == []
    finally:
        context.close()


def test_the_admin_s_board_shows_an_alarm_acknowledged_on_the_control_room_s_board(chromium, server, dispatcher):
    context = desk_context(chromium, server, "1080p")
    try:
        admin = context.new_page()
        admin_problems = watch_for_problems(admin)
        admin.goto(ADMIN_BOARD)
        expect(admin.locator(".board-connection--live")).to_be_visible()
        far = create(dispatcher, OUT_OF_RANGE, "3 Whitehall, London", dispatch=True)
        section = admin.locator(f'section[data-incident-id="{far["id"]}"]')
        alarm = section.locator(".board-alarm")
        expect(alarm).to_contain_text("raised")
        expect(alarm).to_have_attribute("role", "alert")
        expect(section).to_have_class(has_class("board-incident--alarm"))

        board, problems = open_board(context)
        card_of(board, far).get_by_role("button", name="Acknowledge").click()
        expect(card_of(board, far).locator(".wall-card-alarm--acknowledged")).to_contain_text("acknowledged by")

        # Live: the frame reaches the admin's board.
        said = re.compile(r"acknowledged by Casey Morgan at \d\d:\d\d:\d\d\.")
        expect(alarm).to_contain_text(said)
        expect(alarm).not_to_have_attribute("role", "alert")
        expect(section).not_to_have_class(has_class("board-incident--alarm"))
        # After a reload: the snapshot's acknowledgements.
        admin.reload()
        expect(admin.locator(".board-connection--live")).to_be_visible()
        expect(admin.locator(f'section[data-incident-id="{far["id"]}"] .board-alarm')).to_contain_text(said)
        assert admin_problems == [] and problems == []
    finally:
        context.close()
