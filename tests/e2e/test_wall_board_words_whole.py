"""Found by product trials of the control room's board (/board/): words cut short or broken badly.

- The notice of new incidents out of sight named every one ("3 new incidents above: E2E-…, E2E-…,
  E2E-…. Show the newest ↑"): in its place of one line (two on a phone), kept whether shown or not so
  that the cards never move, it was cut with an ellipsis at 1280, 1920 and 360 wide. Of more than
  one it now says how many, where, and what its button does ("3 new incidents above: show the
  newest ↑"), whole at every width (wall.js, newIncidentsNotice); and it shows the newest (trial
  18: it scrolled to the oldest of them, the newer ones still above, out of sight).
- The alarms bar's list of incidents sounding ("5 alarms sounding: A, B, C") began its second line
  with a comma at some widths (1280 wide in the trial): Chromium breaks a line between a button and
  the text after it. Each incident and the comma after it are one unbreakable item now, the lines
  breaking at the spaces between them (wall.js, drawAlarms; wall.css, .wall-alarm-item).
- At 360 wide, the connection's words as it dropped ("Disconnected (connection lost, code 1006).
  Reconnecting in 2 s… What is shown may be out of date.") were cut to two lines beside the clock,
  the whole only in a tooltip, which a touch screen cannot show. On a narrow screen the clock goes
  beside the title and the words have the bar's width and three lines (wall.css, .wall-connection),
  in a place as big whatever they say."""

import pytest
from playwright.sync_api import expect

from tests.e2e.test_boards_keep_still import NOTICE_AS_DRAWN, SIZES, desk, top_of
from tests.e2e.test_wall_board import OUT_OF_RANGE, card_of, create, open_board
from tests.e2e.test_wall_holds_still_while_aiming import KEEP_SOCKETS, PLACE, moves

T = 10_000  # ms: every wait of these tests
# Not dispatched: nobody is alerted, so no firefighter of another browser test is disturbed.
NEAR_CROMER = (52.9310, 1.3010)


@pytest.mark.parametrize("size", SIZES)
def test_the_notice_of_several_new_incidents_is_whole(chromium, server, dispatcher, size):
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
        page.mouse.move(1, 1)  # off the list: nothing waits for the pointer
        before = top_of(listing)

        arrived = [
            create(dispatcher, NEAR_CROMER, f"{number + 1} Tuesday Market Place, King's Lynn") for number in range(3)
        ]
        expect(notice).to_contain_text("3 new incidents above", timeout=T)

        drawn = page.evaluate(NOTICE_AS_DRAWN)
        assert not drawn["cut"] and drawn["right"] <= drawn["width"], (notice.text_content(), drawn)
        assert drawn["bottom"] <= drawn["listTop"] + 1, drawn
        assert abs(top_of(listing) - before) <= 1, "the notice moved the list"
        # How many, where, and what the button does: the cards say which they are.
        expect(notice).to_have_text("3 new incidents above: show the newest ↑")
        # Trial 18: it scrolled to the oldest of the three, the two newer still above, out of sight.
        notice.click()
        expect(card_of(page, arrived[-1])).to_be_in_viewport(timeout=T)
        assert problems == []
    finally:
        context.close()


# The lines of the alarms bar's list of incidents sounding, as drawn at each width of the bar from
# a phone's to a laptop's: those that begin with a separator (a comma), by the width.
SEPARATOR_FIRST = """(from) => {
  const bar = document.querySelector('.wall-alarms');
  const summary = bar.querySelector('.wall-alarm-summary');
  const found = {};
  for (let width = from; width <= innerWidth; width += 1) {
    bar.style.width = `${width}px`;
    let lineTop = null;
    const walker = document.createTreeWalker(summary, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
      const node = walker.currentNode;
      for (let at = 0; at < node.data.length; at += 1) {
        if (!node.data[at].trim()) continue;
        const range = document.createRange();
        range.setStart(node, at);
        range.setEnd(node, at + 1);
        const box = range.getClientRects()[0];
        if (!box) continue;
        if (lineTop !== null && box.top > lineTop + 3 && /[,;·]/.test(node.data[at])) {
          found[width] = summary.innerText.split('\\n');
        }
        if (lineTop === null || box.top > lineTop + 3) lineTop = box.top;
      }
    }
  }
  bar.style.width = '';
  return found;
}"""


def test_no_line_of_the_alarms_bar_begins_with_a_comma(chromium, server, dispatcher):
    context = desk(chromium, server, SIZES["1280x720"])
    try:
        page, problems = open_board(context)
        # Dispatches that reach nobody: an alarm sounds for each, named in the bar.
        sounding = [create(dispatcher, OUT_OF_RANGE, f"{n + 1} Whitehall, London", dispatch=True) for n in range(5)]
        summary = page.locator(".wall-alarm-summary")
        expect(summary).to_contain_text("5 alarms sounding", timeout=T)
        for incident in sounding:
            expect(summary.get_by_role("button", name=f"Show {incident['cad_reference']}")).to_be_visible(timeout=T)
        page.mouse.move(1, 1)

        # From a phone's width (360, less the bar's padding) to the laptop's: the list wraps at each.
        assert page.evaluate(SEPARATOR_FIRST, 330) == {}
        assert problems == []
    finally:
        context.close()


# The board's socket closed (as the network would), and, as soon as the bar says so, its words:
# whether they are cut, and where the list is.
DROP_AND_READ = """async () => {
  const line = document.querySelector('.wall-connection');
  const frame = () => new Promise((done) => requestAnimationFrame(done));
  window.openedSockets.at(-1).close();
  for (let i = 0; i < 600 && !line.classList.contains('wall-connection--waiting'); i++) await frame();
  await frame();
  const words = line.querySelector('.wall-connection-text');
  const box = words.getBoundingClientRect();
  const bar = line.getBoundingClientRect();
  return {
    text: words.textContent,
    cut: words.scrollHeight > words.clientHeight + 1 || words.scrollWidth > words.clientWidth + 1
      || box.bottom > bar.bottom + 1 || box.right > innerWidth,
  };
}"""

# The longest words the bar says (a reconnection's with the longest reason the socket gives, and a
# stop's), put in its place: whether they fit it.
LONGEST_FIT = """(texts) => {
  const line = document.querySelector('.wall-connection');
  const words = line.querySelector('.wall-connection-text');
  const was = words.textContent;
  const cut = texts.filter((text) => {
    words.textContent = text;
    const below = words.getBoundingClientRect().bottom > line.getBoundingClientRect().bottom + 1;
    return words.scrollHeight > words.clientHeight + 1 || below;
  });
  words.textContent = was;
  return cut;
}"""
LONGEST = [
    "Disconnected (the server did not open the connection). Reconnecting in 10 s… What is shown may be out of date.",
    "Not connected. You are no longer logged in. Log in again, then reload this page.",
]


def test_the_connection_s_words_are_whole_at_360_wide_with_no_tooltip(chromium, server, dispatcher):
    context = desk(chromium, server, SIZES["360x740"])
    context.add_init_script(KEEP_SOCKETS)
    try:
        incident = create(dispatcher, NEAR_CROMER, "1 Church Street, Cromer")
        page, problems = open_board(context)
        card = card_of(page, incident)
        expect(card).to_be_visible(timeout=T)
        first = card.evaluate(PLACE)

        dropped = page.evaluate(DROP_AND_READ)
        assert "Reconnecting in" in dropped["text"] and "out of date" in dropped["text"], dropped
        assert not dropped["cut"], dropped
        assert moves([card.evaluate(PLACE)], first) == []
        expect(page.locator(".wall-connection--live")).to_be_visible(timeout=T)
        assert page.evaluate(LONGEST_FIT, LONGEST) == []
        assert moves([card.evaluate(PLACE)], first) == []
        assert problems == []
    finally:
        context.close()
