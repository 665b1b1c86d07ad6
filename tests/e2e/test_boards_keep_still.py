"""Found by a browser trial of the control room's board (/board/), at 1920 wide: the cards moved up
52 px with nothing else changing, so a press meant for a card's Cancel landed on its "Message to the
crews". The notice of a new incident out of sight ("New incident … above: show it ↑") had no height
while hidden: it went as the coordinator scrolled the new card into view, and at the list's top
nothing could make up for it (wall.js only scrolled the list by as much, and only under the
pointer). Its place above the list is kept now, shown or not (wall.css, .wall-new-incidents), with
a set number of lines (one; two on a phone), covering no card.

And the admin's live board (/admin/dispatch/incident/board/) drew every incident anew on every
update: a press held on an incident's link as an update came (its own, or any other incident's)
lost the click, as the wall's buttons did before they were held while pressed. A section pressed is drawn as it
was until the release now, with the wall's code (board.js, PressHold)."""

import datetime

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import log_in, pass_the_second_factor, watch_for_problems
from tests.e2e.test_wall_board import card_of, create, open_board

T = 10_000  # ms: every wait of these tests
# Not dispatched: nobody is alerted, so no firefighter of another browser test is disturbed.
NEAR_CROMER = (52.9310, 1.3010)
SIZES = {
    "360x740": {"width": 360, "height": 740},
    "1280x720": {"width": 1280, "height": 720},
    "1920x1080": {"width": 1920, "height": 1080},
}
ADMIN_BOARD = "/admin/dispatch/incident/board/"

# The list scrolled to its top by the coordinator (the new card, at the top, now in view), and where
# `card` is: as that scroll is drawn, the notice still up, and once the board has heard the scroll
# (two frames later: the notice gone).
TO_THE_TOP = """async (card) => {
  const list = document.querySelector('.wall-incidents');
  const notice = document.querySelector('[data-action=show-new]');
  list.scrollTop = 0;
  const scrolled = {top: card.getBoundingClientRect().top, notice: !notice.hidden};
  await new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)));
  return {scrolled, heard: {top: card.getBoundingClientRect().top, notice: !notice.hidden}};
}"""

# The notice as drawn: its box against the list's and the screen's, and whether its words are cut
# short (one incident's notice fits whole: one line, two on a phone).
NOTICE_AS_DRAWN = """() => {
  const notice = document.querySelector('[data-action=show-new]');
  const box = notice.getBoundingClientRect();
  const list = document.querySelector('.wall-incidents').getBoundingClientRect();
  const words = notice.querySelector('.wall-new-text') ?? notice;
  return {
    bottom: box.bottom, right: box.right, listTop: list.top, width: innerWidth,
    cut: words.scrollHeight > words.clientHeight + 1 || words.scrollWidth > words.clientWidth + 1
      || notice.scrollHeight > notice.clientHeight + 1,
  };
}"""


def desk(chromium, server, viewport: dict):
    context = chromium.new_context(base_url=server.url, viewport=viewport, locale="en-GB", timezone_id="Europe/London")
    context.set_default_timeout(T)
    log_in(context, "coordinator")
    assert pass_the_second_factor(context, server) == []
    return context


def top_of(locator) -> float:
    box = locator.bounding_box()
    assert box is not None, f"{locator} is not shown"
    return box["y"]


@pytest.mark.parametrize("size", SIZES)
def test_the_cards_stay_put_as_the_new_incident_notice_comes_and_goes(chromium, server, dispatcher, size):
    context = desk(chromium, server, SIZES[size])
    try:
        created = [create(dispatcher, NEAR_CROMER, f"{number + 1} Church Street, Cromer") for number in range(10)]
        page, problems = open_board(context)
        listing = page.locator(".wall-incidents")
        notice = page.locator("[data-action=show-new]")
        watched = card_of(page, created[0])  # the oldest: low in the list
        expect(watched).to_be_visible(timeout=T)
        watched.evaluate("(card) => card.scrollIntoView({block: 'end'})")
        assert listing.evaluate("(list) => list.scrollTop") > 150, "the list does not scroll: too few cards"
        expect(notice).to_be_hidden()
        moved = []

        # A new incident, its card above those in sight, the pointer off the list (a touch screen).
        # Where the list starts on the screen: its cards move with it. (Not a card: at 1920 wide, two
        # to a row, a card arriving first moves every other card by a place.)
        page.mouse.move(1, 1)
        before = top_of(listing)
        arrived = create(dispatcher, NEAR_CROMER, "1 Tuesday Market Place, King's Lynn")
        expect(notice).to_contain_text(f"New incident {arrived['cad_reference']} above", timeout=T)
        if abs(top_of(listing) - before) > 1:
            moved.append(f"the notice coming moved the list {top_of(listing) - before:+.0f} px")
        drawn = page.evaluate(NOTICE_AS_DRAWN)

        # The coordinator scrolls up to the new card, the pointer over the list, about to press.
        box = listing.bounding_box()
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        places = card_of(page, arrived).evaluate(TO_THE_TOP)
        assert places["scrolled"]["notice"] and not places["heard"]["notice"], places
        if abs(places["heard"]["top"] - places["scrolled"]["top"]) > 1:
            moved.append(
                f"the notice going moved the cards {places['heard']['top'] - places['scrolled']['top']:+.0f} px"
            )

        assert moved == []
        # Shown, it was above the list (over no card), within the screen, its words whole.
        assert drawn["bottom"] <= drawn["listTop"] + 1, drawn
        assert drawn["right"] <= drawn["width"] and not drawn["cut"], drawn
        assert problems == []
    finally:
        context.close()


def eight_minutes_from_now() -> str:
    return (datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=8)).isoformat()


def press_and_hold(page, target):
    target.scroll_into_view_if_needed()
    box = target.bounding_box()
    assert box is not None, f"{target} is not shown"
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()


def test_a_press_on_the_admin_board_lands_though_an_update_redraws_it(chromium, server, dispatcher):
    context = desk(chromium, server, SIZES["1280x720"])
    try:
        other = create(dispatcher, NEAR_CROMER, "2 Church Street, Cromer")
        pressed = create(dispatcher, NEAR_CROMER, "1 Church Street, Cromer")
        page = context.new_page()
        problems = watch_for_problems(page)
        page.goto(ADMIN_BOARD)
        expect(page.locator(".board-connection--live")).to_be_visible(timeout=T)
        section = page.locator(f'section[data-incident-id="{pressed["id"]}"]')
        other_section = page.locator(f'section[data-incident-id="{other["id"]}"]')
        link = section.get_by_role("link", name=pressed["cad_reference"], exact=True)
        expect(link).to_be_visible(timeout=T)
        expect(other_section).to_be_visible(timeout=T)

        # Another incident's update, while the link is held down: every section is drawn anew.
        press_and_hold(page, link)
        dispatcher.set_ambulance_eta(other["id"], eight_minutes_from_now())
        expect(other_section.locator(".board-first")).to_contain_text("ambulance", timeout=T)
        page.mouse.up()
        expect(page).to_have_url(f"{server.url}/admin/dispatch/incident/{pressed['id']}/change/", timeout=T)

        # The pressed incident's own update, while its section is held down (on its address): drawn
        # after the release, not before.
        page.goto(ADMIN_BOARD)
        expect(page.locator(".board-connection--live")).to_be_visible(timeout=T)
        address = section.locator(".board-meta strong")
        expect(address).to_be_visible(timeout=T)
        press_and_hold(page, address)
        dispatcher.set_ambulance_eta(pressed["id"], eight_minutes_from_now())
        dispatcher.set_ambulance_eta(other["id"], None)  # heard after the pressed incident's update
        expect(other_section.locator(".board-first")).to_have_count(0, timeout=T)
        expect(section.locator(".board-first")).to_have_count(0)
        page.mouse.up()
        expect(section.locator(".board-first")).to_contain_text("ambulance", timeout=T)
        assert problems == []
    finally:
        context.close()
