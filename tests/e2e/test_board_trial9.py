"""Found by the ninth browser trial of the control room's board: with the incidents' list scrolled
down (closing an incident through its dialog left it 475 px down), a new incident created without
dispatching it had its card above the visible ones, and only the map showed it. A new incident whose
card arrives out of sight now brings up a notice over the list, which brings the card into view; the
list itself is never scrolled for the coordinator. (Its alarm after UNDISPATCHED_ALARM_SECONDS:
tests/dispatch/test_undispatched_alarm.py and tests/js/board-trial9-faults.test.mjs.)"""

from playwright.sync_api import expect

from tests.e2e.test_wall_board import NEAR_KINGS_LYNN, card_of, create, desk_context, open_board

# Where the card's top is against the list's visible part: "in view", "above" or "below".
PLACE = """([card, list]) => {
  const c = card.getBoundingClientRect();
  const l = list.getBoundingClientRect();
  if (c.top >= l.top - 2 && c.top + Math.min(c.height, 48) <= l.bottom + 2) return 'in view';
  return c.top < l.top ? 'above' : 'below';
}"""


def place_of(page, incident) -> str:
    card = card_of(page, incident).element_handle()
    return page.evaluate(PLACE, [card, page.locator(".wall-incidents").element_handle()])


def test_a_new_incident_out_of_sight_brings_up_a_notice_that_shows_it(chromium, server, dispatcher):
    context = desk_context(chromium, server, "720p")
    try:
        for number in range(5):
            create(dispatcher, NEAR_KINGS_LYNN, f"{number + 10} King Street, King's Lynn")
        page, problems = open_board(context)
        listing = page.locator(".wall-incidents")
        notice = page.locator("[data-action=show-new]")
        expect(page.locator(".wall-card")).not_to_have_count(0)
        listing.evaluate("(list) => { list.scrollTop = list.scrollHeight; }")
        assert listing.evaluate("(list) => list.scrollTop") > 200, "the list does not scroll: too few cards"
        expect(notice).to_be_hidden()

        arrived = create(dispatcher, NEAR_KINGS_LYNN, "1 Tuesday Market Place, King's Lynn")

        expect(card_of(page, arrived)).to_have_count(1)
        expect(notice).to_be_visible()
        expect(notice).to_have_text(f"New incident {arrived['cad_reference']} above: show it ↑")
        assert place_of(page, arrived) == "above"
        assert listing.evaluate("(list) => list.scrollTop") > 200, "the list was scrolled for the coordinator"

        notice.click()

        assert place_of(page, arrived) == "in view"
        expect(card_of(page, arrived)).to_have_attribute("aria-current", "true")  # chosen: keys act on it
        expect(notice).to_be_hidden()

        # At the top of the list, a new card is in view as it arrives: no notice.
        listing.evaluate("(list) => { list.scrollTop = 0; }")
        seen = create(dispatcher, NEAR_KINGS_LYNN, "2 Tuesday Market Place, King's Lynn")
        expect(card_of(page, seen)).to_have_count(1)
        assert place_of(page, seen) == "in view"
        expect(notice).to_be_hidden()

        # Scrolled back up by hand, the notice goes as the card comes into view.
        listing.evaluate("(list) => { list.scrollTop = list.scrollHeight; }")
        third = create(dispatcher, NEAR_KINGS_LYNN, "3 Tuesday Market Place, King's Lynn")
        expect(notice).to_have_text(f"New incident {third['cad_reference']} above: show it ↑")
        listing.evaluate("(list) => { list.scrollTop = 0; }")
        expect(notice).to_be_hidden()
        assert problems == []
    finally:
        context.close()
