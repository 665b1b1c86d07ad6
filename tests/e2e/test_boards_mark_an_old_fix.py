"""Found by product trials: the coordinators' boards did not mark an arrival estimate worked out from
an old position fix. A phone that lost signal, was closed or stood still sent nothing new, and the
wall's row, the admin board's distance cell, the map's label and "Likely first" kept counting the
estimate down as if it were current. An estimate from a fix at least 2 minutes old now says so beside
it in the same words everywhere (pwa/app/arrival.js, fixAgeText): "about 3 min (estimate) · position
2 min old"; a fresh one says nothing more. One firefighter shares a fix taken 90 s ago (the server
takes fixes up to 120 s old), the other a fresh one; the pages' clocks (Playwright's) are moved on
40 s, in steps shorter than the socket's pong wait so that the socket stays up."""

import datetime
import re

from playwright.sync_api import expect

from tests.e2e.conftest import ApiUser
from tests.e2e.test_admin_board_like_the_wall import answer, create, desk, dispatch_to, open_admin_board

T = 10_000  # ms: every wait of this test
FIREFIGHTERS = ("ff.dereham.1", "ff.dereham.2")
ONE_KM_NORTH = {"latitude": 52.6890, "longitude": 0.9450, "accuracy_m": 10}  # of the incident near Dereham
TWO_KM_NORTH = {"latitude": 52.7000, "longitude": 0.9450, "accuracy_m": 10}
OLD = re.compile(r"position \d+ min old")


def alert_of(incident: dict, firefighter: ApiUser) -> dict:
    [alert] = [a for a in incident["alerts"] if a["responder_id"] == firefighter.profile["responder"]["id"]]
    return alert


def log_out(firefighter: ApiUser) -> None:
    """Leaves no session of theirs behind: a later test's logout of the same firefighter would not
    show them logged out on the boards while this one lasts (presence.py, logged in elsewhere)."""
    firefighter.http.post(
        f"{firefighter.base_url}/api/v1/auth/logout/",
        headers={"X-CSRFToken": firefighter.http.cookies["csrftoken"]},
        timeout=10,
    )


def test_the_boards_mark_an_estimate_from_an_old_fix_and_not_a_fresh_one(chromium, server, dispatcher):
    stale, fresh = (ApiUser(server.url, username) for username in FIREFIGHTERS)
    context = desk(chromium, server, 1920, 1080)
    try:
        context.clock.install()
        admin, problems = open_admin_board(context)
        wall = context.new_page()
        wall.goto("/board/")
        expect(wall.locator(".wall-connection--live")).to_be_visible(timeout=T)

        incident = dispatch_to(dispatcher, create(dispatcher, crew_target=2), [stale, fresh])
        for firefighter in (stale, fresh):
            answer(firefighter, incident, {"response": "accept"}, {"response": "en_route"})
        stale_alert, fresh_alert = alert_of(incident, stale), alert_of(incident, fresh)
        taken = datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=90)
        stale.post(f"/api/v1/alerts/{stale_alert['id']}/positions/", {**ONE_KM_NORTH, "recorded_at": taken.isoformat()})
        fresh.post(f"/api/v1/alerts/{fresh_alert['id']}/positions/", TWO_KM_NORTH)

        card = wall.locator(f'article[data-incident-id="{incident["id"]}"]')
        section = admin.locator(f'section[data-incident-id="{incident["id"]}"]')
        wall_stale = card.locator(f'li[data-alert-id="{stale_alert["id"]}"] .wall-r-eta')
        wall_fresh = card.locator(f'li[data-alert-id="{fresh_alert["id"]}"] .wall-r-eta')
        admin_stale = section.locator(f'tr[data-alert-id="{stale_alert["id"]}"] .board-estimate')
        admin_fresh = section.locator(f'tr[data-alert-id="{fresh_alert["id"]}"] .board-estimate')
        wall_first, admin_first = card.locator(".wall-first"), section.locator(".board-first")
        stale_name = card.locator(f'li[data-alert-id="{stale_alert["id"]}"] .wall-r-name').inner_text()
        stale_label = wall.locator(".map-pin--responder .map-pin-label", has_text=stale_name)

        # Both shown as estimates; the fix taken 90 s ago is not yet 2 minutes old.
        for eta in (wall_stale, wall_fresh, admin_stale, admin_fresh):
            expect(eta).to_have_text(re.compile(r"about \d+ min \((estimate|by road)\)$"), timeout=T)
        expect(wall_first).to_have_text(re.compile(rf"^Likely first: {re.escape(stale_name)} \(\d+ min\)$"), timeout=T)
        expect(stale_label).to_have_text(re.compile(r"ETA \d+ min( \(estimate\))?$"), timeout=T)

        # 40 s on, nothing new from either phone: that fix is now over 2 minutes old.
        for _ in range(5):
            context.clock.fast_forward(8_000)
            wall.wait_for_timeout(250)

        said = re.compile(r"^.*about \d+ min \((estimate|by road)\) · position 2 min old$")
        expect(wall_stale).to_have_text(said, timeout=T)
        expect(admin_stale).to_have_text(said, timeout=T)
        expect(stale_label).to_have_text(re.compile(r"ETA \d+ min( \(estimate\))? · position 2 min old$"), timeout=T)
        # Still first (the coordinator decides), and said so there too, on both boards.
        first = re.compile(rf"^Likely first: {re.escape(stale_name)} \(\d+ min, position 2 min old\)$")
        expect(wall_first).to_have_text(first, timeout=T)
        expect(admin_first).to_have_text(first, timeout=T)
        # The same words on both boards.
        on_wall, on_admin = wall_stale.inner_text(), admin_stale.inner_text()
        assert on_wall.endswith(f" · {on_admin}"), (on_wall, on_admin)
        # The fresh fix says nothing of its age.
        for eta in (wall_fresh, admin_fresh):
            expect(eta).not_to_have_text(OLD, timeout=T)
            expect(eta).to_have_text(re.compile(r"about \d+ min \((estimate|by road)\)$"), timeout=T)
        assert problems == []
    finally:
        context.close()
        for firefighter in (stale, fresh):
            log_out(firefighter)
