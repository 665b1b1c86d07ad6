"""Found by a browser trial: for the same incident at the same moment the admin's board read "Likely
first: Sam Barker (1 min)" and the wall "(2 min)". Both say the estimate counted down from when it
was worked out (/app/arrival.js), but each drew it only when a frame came: the one drawn earlier
kept the larger figure while no new position came. Both boards now draw again from their tick as
the minutes change (board-state.js, arrivalWordsAt). The pages' clocks are Playwright's, moved on
in steps shorter than the socket's pong wait, so that the socket stays up (a reconnect would draw
afresh and hide the fault)."""

import re

from playwright.sync_api import expect

from tests.e2e.conftest import ApiUser
from tests.e2e.test_admin_board_like_the_wall import answer, create, desk, dispatch_to, open_admin_board

T = 10_000  # ms: every wait of these tests
FIREFIGHTER = "ff.dereham.3"
TWO_KM_NORTH = {"latitude": 52.7000, "longitude": 0.9450, "accuracy_m": 10}  # of the incident near Dereham
MINUTES = re.compile(r"\((\d+) min\)")


def minutes_in(text: str) -> int:
    return int(MINUTES.search(text).group(1))


def test_both_boards_count_the_estimate_down_without_a_frame(chromium, server, dispatcher):
    firefighter = ApiUser(server.url, FIREFIGHTER)
    context = desk(chromium, server, 1920, 1080)
    try:
        context.clock.install()
        admin, problems = open_admin_board(context)
        wall = context.new_page()
        wall.goto("/board/")
        expect(wall.locator(".wall-connection--live")).to_be_visible(timeout=T)

        incident = dispatch_to(dispatcher, create(dispatcher), [firefighter])
        answer(firefighter, incident, {"response": "accept"}, {"response": "en_route"})
        [alert] = [a for a in incident["alerts"] if a["responder_id"] == firefighter.profile["responder"]["id"]]
        firefighter.post(f"/api/v1/alerts/{alert['id']}/positions/", TWO_KM_NORTH)

        admin_first = admin.locator(f'section[data-incident-id="{incident["id"]}"] .board-first')
        wall_first = wall.locator(f'article[data-incident-id="{incident["id"]}"] .wall-first')
        expect(admin_first).to_have_text(re.compile(r"^Likely first: .+ \(\d+ min\)$"), timeout=T)
        expect(wall_first).to_have_text(re.compile(r"^Likely first: .+ \(\d+ min\)$"), timeout=T)
        at_first = minutes_in(wall_first.inner_text())
        assert at_first >= 3, wall_first.inner_text()

        # A minute and a half on, no new position: the phone stands still.
        for _ in range(12):
            context.clock.fast_forward(8_000)
            wall.wait_for_timeout(250)

        expect(wall_first).to_have_text(re.compile(rf"\(({at_first - 2}|{at_first - 1}) min\)$"), timeout=T)
        expect(admin_first).to_have_text(wall_first.inner_text(), timeout=T)
        wall_eta = wall.locator(f'article[data-incident-id="{incident["id"]}"] .wall-r-eta').inner_text()
        assert f"about {minutes_in(wall_first.inner_text())} min" in wall_eta, wall_eta
        assert problems == []
    finally:
        context.close()
