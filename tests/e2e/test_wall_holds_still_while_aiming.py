"""Found by measuring the control room's board (/board/) as a coordinator aims at a button: the list
moved under the pointer, so a click aimed at one incident's Cancel or Close could land on another
incident's control.

- A new incident's card, at the list's top, moved every card down by a whole card (266 px at 1280
  wide; at 1920, two cards to a row, every card by a place). While the pointer moves over the list
  (or a press on it is held), a card arriving, going or changing places now waits until the pointer
  rests 1.5 s or leaves the list, 4 s at the most (board.js, AimHold; its timing:
  tests/js/board-aim-hold.test.mjs); the notice above the list says at once that it came.
- The feedback line under the bar (an action's answer, gone 8 s later) moved the list 34-51 px as
  it came and went; it has a place of its own now, kept whether it says something or not.
- The connection's words ("Disconnected … Reconnecting in 2 s…") took the bar to another line,
  moving the list 33-64 px; they have two lines of the bar now, whatever they say."""

import time

import pytest
from playwright.sync_api import expect

from tests.e2e.test_boards_keep_still import SIZES, desk
from tests.e2e.test_wall_board import card_of, create, open_board

T = 10_000  # ms: every wait of these tests
# Not dispatched: nobody is alerted, so no firefighter of another browser test is disturbed.
NEAR_CROMER = (52.9310, 1.3010)
AIM_STILL_S = 1.5  # a pointer still this long no longer aims (board.js, AIM_STILL_MS)
AIM_HOLD_MAX_S = 4.0  # the longest a card waits (board.js, AIM_HOLD_MAX_MS)
MOVE_EVERY_S = 0.1

# Where a card is on the screen, and what the notice above the list says (nothing while hidden).
PLACE = """(card) => {
  const box = card.getBoundingClientRect();
  const notice = document.querySelector('[data-action=show-new]');
  return {x: Math.round(box.x), y: Math.round(box.y), notice: notice.hidden ? '' : notice.textContent};
}"""

# Every WebSocket the page opens, kept where the test can close it (as the network would).
KEEP_SOCKETS = """
window.openedSockets = [];
const PageWebSocket = window.WebSocket;
window.WebSocket = class extends PageWebSocket {
  constructor(...args) {
    super(...args);
    window.openedSockets.push(this);
  }
};
"""

# The board's socket closed, and where the first card is once the bar says so.
CLOSE_THE_SOCKET = """async () => {
  const card = document.querySelector('.wall-card');
  const line = document.querySelector('.wall-connection');
  const frame = () => new Promise((done) => requestAnimationFrame(done));
  window.openedSockets.at(-1).close();
  for (let i = 0; i < 600 && !line.classList.contains('wall-connection--waiting'); i++) await frame();
  await frame();
  return {y: card.getBoundingClientRect().y, text: line.textContent, whole: line.title};
}"""


def top_card_point(card) -> tuple[float, float]:
    """A point on the card's head (its reference and the time), where a coordinator's pointer is."""
    box = card.locator(".wall-card-head").bounding_box()
    assert box is not None, f"{card} is not shown"
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def aim(page, card, point, *, seconds: float = 0, until=None) -> list[dict]:
    """The pointer kept moving over `point` (1 px either way, every 0.1 s), for `seconds` or until
    `until(place)` is true (10 s at most); where `card` was after each move."""
    places = []
    end = time.monotonic() + (seconds or T / 1000)
    step = 1
    while time.monotonic() < end:
        page.mouse.move(point[0] + step, point[1])
        step = -step
        places.append(card.evaluate(PLACE))
        if until and until(places[-1]):
            return places
        time.sleep(MOVE_EVERY_S)
    assert until is None, f"never came: {places[-1:]}"
    return places


def heard(page, incident: dict) -> bool:
    """Whether the board has heard of `incident` (drawn or not)."""
    return page.evaluate("(id) => window.wallBoard.state.incidents.has(id)", incident["id"])


def moves(places: list[dict], first: dict) -> list[dict]:
    return [place for place in places if abs(place["x"] - first["x"]) > 1 or abs(place["y"] - first["y"]) > 1]


@pytest.mark.parametrize("size", SIZES)
def test_a_new_incident_waits_while_the_coordinator_aims_at_the_list(chromium, server, dispatcher, size):
    context = desk(chromium, server, SIZES[size])
    try:
        create(dispatcher, NEAR_CROMER, "2 Church Street, Cromer")
        aimed_at = create(dispatcher, NEAR_CROMER, "1 Church Street, Cromer")  # the newest: the top card
        page, problems = open_board(context)
        card = card_of(page, aimed_at)
        expect(card).to_be_visible(timeout=T)
        assert page.locator(".wall-incidents").evaluate("(list) => list.scrollTop") == 0

        # A new incident as the pointer moves over the top card: announced at once above the list,
        # its card waiting, the card under the pointer where it was.
        point = top_card_point(card)
        page.mouse.move(*point)
        first = card.evaluate(PLACE)
        arrived = create(dispatcher, NEAR_CROMER, "1 Tuesday Market Place, King's Lynn")
        places = aim(page, card, point, until=lambda place: heard(page, arrived))
        places += aim(page, card, point, seconds=2)
        assert moves(places, first) == []
        expect(card_of(page, arrived)).to_have_count(0)
        assert [place["notice"] for place in places if arrived["cad_reference"] in place["notice"]] != []

        # The pointer at rest: the card comes.
        rested = time.monotonic()
        expect(card_of(page, arrived)).to_be_visible(timeout=T)
        assert time.monotonic() - rested < AIM_STILL_S + 1.5

        # Another, the pointer never resting: its card comes within 4 s, the cards still till then.
        page.mouse.move(*point)
        first = card.evaluate(PLACE)
        later = create(dispatcher, NEAR_CROMER, "2 Tuesday Market Place, King's Lynn")
        places = aim(page, card, point, until=lambda place: heard(page, later))
        announced = time.monotonic()
        is_drawn = f"document.querySelector('article[data-incident-id=\"{later['id']}\"]') !== null"
        places += aim(page, card, point, until=lambda place: page.evaluate(f"() => {is_drawn}"))
        waited = time.monotonic() - announced
        assert moves(places[:-1], first) == []
        assert AIM_HOLD_MAX_S - 1.5 < waited < AIM_HOLD_MAX_S + 1.5, waited
        assert problems == []
    finally:
        context.close()


@pytest.mark.parametrize("size", SIZES)
def test_the_feedback_line_coming_and_going_does_not_move_the_list(chromium, server, dispatcher, size):
    context = desk(chromium, server, SIZES[size])
    try:
        incident = create(dispatcher, NEAR_CROMER, "1 Church Street, Cromer")
        page, problems = open_board(context)
        card = card_of(page, incident)
        expect(card).to_be_visible(timeout=T)
        send = card.get_by_role("button", name="Send", exact=True)
        send.scroll_into_view_if_needed()  # (on a phone's screen, below the list's visible part)
        first = card.evaluate(PLACE)
        places = {}

        # An error (Send with no message), dismissed.
        send.click()
        expect(page.locator(".wall-error")).to_contain_text("Write the message first")
        places["error shown"] = card.evaluate(PLACE)
        page.locator(".wall-error").get_by_role("button", name="Dismiss").click()
        expect(page.locator(".wall-error")).to_have_count(0)
        places["error dismissed"] = card.evaluate(PLACE)

        # An action's answer, gone 8 s later: the `a` key's (nothing sounding: a note; else what it
        # acknowledged). (A message to the crews is refused before a dispatch; none is made here.)
        answer = page.locator(".wall-errors").locator(".wall-done, .wall-note")
        page.keyboard.press("a")
        expect(answer).to_be_visible(timeout=T)
        places["answer shown"] = card.evaluate(PLACE)
        expect(answer).to_have_count(0, timeout=T)
        places["answer gone"] = card.evaluate(PLACE)

        assert {what: place for what, place in places.items() if moves([place], first)} == {}
        assert problems == []
    finally:
        context.close()


@pytest.mark.parametrize("size", SIZES)
def test_the_connection_dropping_does_not_move_the_list(chromium, server, dispatcher, size):
    context = desk(chromium, server, SIZES[size])
    context.add_init_script(KEEP_SOCKETS)
    try:
        incident = create(dispatcher, NEAR_CROMER, "1 Church Street, Cromer")
        page, problems = open_board(context)
        card = card_of(page, incident)
        expect(card).to_be_visible(timeout=T)
        first = card.evaluate(PLACE)

        dropped = page.evaluate(CLOSE_THE_SOCKET)
        assert abs(dropped["y"] - first["y"]) <= 1, (first, dropped)
        expect(page.locator(".wall-connection--live")).to_be_visible(timeout=T)
        assert moves([card.evaluate(PLACE)], first) == []
        # Its words, cut to two lines of the bar on a narrow screen, are whole in its tooltip.
        assert "Disconnected" in dropped["text"] and "Reconnecting in" in dropped["whole"], dropped
        assert problems == []
    finally:
        context.close()


CONFIRM_TEXT = "#wall-confirm[open] .wall-confirm-text"
REFUSED = "The list moved as you pressed: nothing was done. Press again."


def cancel_point(page, incident: dict) -> tuple[float, float]:
    """The middle of `incident`'s Cancel button, where the coordinator's pointer rests."""
    box = card_of(page, incident).get_by_role("button", name="Cancel", exact=True).bounding_box()
    assert box is not None
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def pressed_what(page, aimed: dict) -> str:
    """What a press did: "aimed" (the aimed incident's Cancel asked), "refused" (the board said
    nothing was done), or what else (another incident's question)."""
    page.wait_for_function(
        f"() => document.querySelector('{CONFIRM_TEXT}') || document.querySelector('.wall-note')", timeout=T
    )
    question = page.locator(CONFIRM_TEXT)
    if question.count():
        text = question.text_content()
        page.locator("#wall-confirm").get_by_role("button", name="Go back").click()
        return "aimed" if text.startswith(f"Cancel {aimed['cad_reference']}?") else text
    assert page.locator(".wall-note").text_content() == REFUSED
    return "refused"


def test_a_press_after_resting_on_a_button_acts_on_the_card_aimed_at_or_not_at_all(chromium, server, dispatcher):
    """Trial 16b (F1): the pointer rested 2 s on a button, then a new incident moved every card a
    place (at 1920, two cards to a row) and the click 0.4 s later acted on another incident. Resting
    on a control holds the list now; and once the cards held back are placed (4 s at most), a press
    on a card that moved within 0.6 s does nothing and says so (board.js, AimHold, SettleGuard)."""
    context = desk(chromium, server, SIZES["1920x1080"])
    try:
        for number in range(3):
            create(dispatcher, NEAR_CROMER, f"{number + 3} Church Street, Cromer")
        aimed = create(dispatcher, NEAR_CROMER, "1 Church Street, Cromer")  # the newest: the top card
        page, problems = open_board(context)
        expect(card_of(page, aimed)).to_be_visible(timeout=T)

        # At rest on the top card's Cancel, a new incident; the click 0.4 s after the board hears it.
        point = cancel_point(page, aimed)
        page.mouse.move(*point)
        time.sleep(2)
        arrived = create(dispatcher, NEAR_CROMER, "1 Tuesday Market Place, King's Lynn")
        page.wait_for_function(f"() => window.wallBoard.state.incidents.has({arrived['id']})", timeout=T)
        time.sleep(0.4)
        page.mouse.click(*point)
        assert pressed_what(page, aimed) in ("aimed", "refused")

        # Still on it until the cards held back are placed (4 s at most): a click just after is refused.
        page.mouse.move(*cancel_point(page, aimed))
        expect(card_of(page, arrived)).to_be_visible(timeout=T)  # (the dialog took the pointer off)
        point = cancel_point(page, aimed)
        page.mouse.move(*point)
        time.sleep(0.5)
        later = create(dispatcher, NEAR_CROMER, "2 Tuesday Market Place, King's Lynn")
        drawn = f"() => document.querySelector('article[data-incident-id=\"{later['id']}\"]') !== null"
        page.wait_for_function(drawn, timeout=T, polling=20)
        time.sleep(0.15)
        page.mouse.click(*point)
        assert pressed_what(page, aimed) in ("aimed", "refused")
        assert problems == []
    finally:
        context.close()


@pytest.mark.parametrize("nudge_px", [0, 4])
def test_a_press_long_after_the_cards_moved_under_a_resting_pointer_acts_on_the_card_aimed_at_or_not_at_all(
    chromium, server, dispatcher, nudge_px
):
    """Trial 17: the pointer rested on a button, a new incident came, the cards held back were placed
    4 s later (a place on, at 1920), and a click a second after that, past SettleGuard's 0.6 s, acted
    on another incident. A press on another control than the one the pointer was over when it last
    moved is refused however long ago the cards moved; pressed again, it acts on what is there.
    Trial 18: a nudge of 3-5 px before the press (a hand on the mouse) counted as aiming again, and
    the press acted on another incident: after the cards moved, only a move of 24 px aims again."""
    context = desk(chromium, server, SIZES["1920x1080"])
    try:
        for number in range(3):
            create(dispatcher, NEAR_CROMER, f"{number + 3} Church Street, Cromer")
        aimed = create(dispatcher, NEAR_CROMER, "1 Church Street, Cromer")  # the newest: the top card
        page, problems = open_board(context)
        expect(card_of(page, aimed)).to_be_visible(timeout=T)

        point = cancel_point(page, aimed)
        page.mouse.move(*point)
        time.sleep(2)
        arrived = create(dispatcher, NEAR_CROMER, "3 Tuesday Market Place, King's Lynn")
        drawn = f"() => document.querySelector('article[data-incident-id=\"{arrived['id']}\"]') !== null"
        page.wait_for_function(drawn, timeout=T, polling=20)  # placed: at 4 s, the pointer still resting
        time.sleep(1.2)  # past the 0.6 s after the cards moved
        point = (point[0] + nudge_px, point[1] - nudge_px / 2)
        page.mouse.move(*point)
        page.mouse.click(*point)
        first = pressed_what(page, aimed)
        assert first in ("aimed", "refused")
        if first == "refused":
            # Told, the coordinator presses again where the pointer is: it acts on what is there now.
            page.mouse.click(*point)
            page.locator(CONFIRM_TEXT).wait_for(timeout=T)
            page.locator("#wall-confirm").get_by_role("button", name="Go back").click()
        assert problems == []
    finally:
        context.close()
