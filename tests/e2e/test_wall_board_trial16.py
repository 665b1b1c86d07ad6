"""Found by a browser trial of the control room's board (/board/):
- a click was lost when an update arrived while the mouse button was held down: every update drew
  every card's buttons anew, so the button pressed was gone by the release (Cancel pressed on one
  card as another incident's update came, released 0.5 s later: no dialog). A card pressed is drawn
  as it was until the release now (board.js, PressHold), and cards are no longer moved when
  their order has not changed (placeChildren);
- a card's CAD reference took the board's tab to the incident's admin page: the board was gone and
  its alarm sound had to be turned on again. It opens in a new tab now, and so does "Admin".
(What a dispatch resuming a held ladder says, and the Cancel dialog with nobody alerted:
tests/js/wall-resumed-and-cancel.test.mjs.)"""

import datetime

from playwright.sync_api import expect

from tests.e2e.test_wall_board import card_of, create, desk_context, open_board

T = 10_000  # ms: every wait of these tests
# Not dispatched: nobody is alerted, so no firefighter of another browser test is disturbed.
NEAR_CROMER = (52.9310, 1.3010)

# Two animation frames: a drawing the board had scheduled (requestAnimationFrame) has run.
TWO_FRAMES = "() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(() => done(true))))"


def eight_minutes_from_now() -> str:
    return (datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=8)).isoformat()


def press_and_hold(page, button):
    box = button.bounding_box()
    assert box is not None, f"{button} is not shown"
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()


def test_a_click_lands_though_an_update_arrives_while_the_button_is_held(chromium, server, dispatcher):
    context = desk_context(chromium, server, "720p")
    try:
        other = create(dispatcher, NEAR_CROMER, "2 Church Street, Cromer")
        pressed = create(dispatcher, NEAR_CROMER, "1 Church Street, Cromer")  # the newest: the top card
        page, problems = open_board(context)
        dialog = page.locator("#wall-confirm")
        cancel = card_of(page, pressed).get_by_role("button", name="Cancel", exact=True)
        expect(cancel).to_be_visible(timeout=T)
        expect(card_of(page, other)).to_be_visible(timeout=T)

        # Another incident's update, while Cancel is held down: drawn on the board meanwhile.
        press_and_hold(page, cancel)
        dispatcher.set_ambulance_eta(other["id"], eight_minutes_from_now())
        expect(card_of(page, other).locator(".wall-first")).to_contain_text("the ambulance", timeout=T)
        page.mouse.up()
        expect(dialog).to_have_attribute("open", "", timeout=T)
        expect(dialog).to_contain_text(f"Cancel {pressed['cad_reference']}?")
        dialog.get_by_role("button", name="Go back").click()
        expect(dialog).not_to_have_attribute("open", "", timeout=T)

        # The pressed incident's own update, while Cancel is held down: the board has heard it.
        press_and_hold(page, cancel)
        dispatcher.set_ambulance_eta(pressed["id"], eight_minutes_from_now())
        page.wait_for_function(
            "(id) => Boolean(window.wallBoard.state.incidents.get(id)?.ambulance_eta)", arg=pressed["id"], timeout=T
        )
        assert page.evaluate(TWO_FRAMES)
        page.mouse.up()
        expect(dialog).to_have_attribute("open", "", timeout=T)
        dialog.get_by_role("button", name="Go back").click()
        # The update held back while pressed is drawn after the release.
        expect(card_of(page, pressed).locator(".wall-first")).to_contain_text("the ambulance", timeout=T)
        assert problems == []
    finally:
        context.close()


def test_the_board_s_links_to_the_admin_open_in_a_new_tab(chromium, server, dispatcher):
    context = desk_context(chromium, server, "720p")
    try:
        incident = create(dispatcher, NEAR_CROMER, "3 Church Street, Cromer")
        page, problems = open_board(context)
        reference = card_of(page, incident).locator(".wall-ref a")
        expect(reference).to_have_text(incident["cad_reference"], timeout=T)
        for link in (reference, page.locator(".wall-bar a", has_text="Admin")):
            expect(link).to_have_attribute("target", "_blank")
            expect(link).to_have_attribute("rel", "noopener")
        # Followed: the incident's page opens in a tab of its own; the board stays where it was.
        with context.expect_page(timeout=T) as opened:
            reference.click()
        admin = opened.value
        admin.wait_for_url(f"**/admin/dispatch/incident/{incident['id']}/change/", timeout=T)
        assert page.url.endswith("/board/")
        expect(page.locator(".wall-connection--live")).to_be_visible(timeout=T)
        admin.close()
        assert problems == []
    finally:
        context.close()
