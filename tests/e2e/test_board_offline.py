"""The coordinators' live board, in a real browser, says it is disconnected soon after the network
goes (the browser's "offline" event pings at once, so a dead socket is noticed within the pong
deadline, not after the next ping as well), and is live again when the network is back."""

from playwright.sync_api import expect

from tests.e2e.test_board_coverage import BOARD_PAGE, desk  # noqa: F401 (a fixture)

# The app's and the board's socket client (pwa/app/socket.js): 10 s for a pong. The next ping would
# otherwise come up to 25 s later.
PONG_DEADLINE_MS = 10_000


def test_the_board_says_it_is_disconnected_within_the_pong_deadline_of_the_network_going(desk):  # noqa: F811
    page = desk.new_page()
    page.goto(BOARD_PAGE)
    status = page.locator(".board-connection")
    expect(status).to_contain_text("Live")
    desk.set_offline(True)
    expect(status).to_contain_text("Disconnected (no network)", timeout=PONG_DEADLINE_MS + 3_000)
    desk.set_offline(False)
    expect(status).to_contain_text("Live", timeout=10_000)
