"""Messages to the crews, end to end (issue 15): a coordinator's message reaches a firefighter's app
on the alert screen and, as a banner that leaves the screen where it is, on the checklist; the
firefighter says "Got it" (once with signal, once without: queued and sent when it is back), and
the coordinator's board hears each acknowledgement."""

import re

from playwright.sync_api import expect
from websockets.sync.client import connect

from tests.e2e.helpers import accept_new_alert, log_in, watch_for_problems
from tests.e2e.test_accessibility import AXE, AXE_OPTIONS, BLOCKING, describe, small_targets
from tests.e2e.test_alert_flow import board_frames_until

FIREFIGHTER = "ff.dereham.1"
NEAR_DEREHAM = (52.6800, 0.9400)  # under 1 km from Dereham


def assert_accessible(page, screen: str) -> None:
    """axe-core's WCAG 2.2 AA rules and the app's 44 px targets, as tests/e2e/test_accessibility.py
    (axe is evaluated over the DevTools protocol: the page's policy forbids an inline script)."""
    if AXE.exists():
        page.evaluate(AXE.read_text() + "\n;true")
        results = page.evaluate("(options) => axe.run(document, options)", AXE_OPTIONS)
        violations = [violation for violation in results["violations"] if violation["impact"] in BLOCKING]
        assert not violations, f"axe-core on the {screen}:\n{describe(violations)}"
    assert small_targets(page) == [], screen


def test_a_coordinators_message_reaches_the_alert_and_the_checklist_and_is_acknowledged(phone, server, dispatcher):
    log_in(phone, FIREFIGHTER)
    page = phone.new_page()
    problems = watch_for_problems(page)
    page.goto("/")
    page.locator(".pill-live").wait_for()
    incident, alert_id = accept_new_alert(phone, dispatcher, "E2E-MESSAGE-1", NEAR_DEREHAM, "2 Message Lane, Dereham")
    page.goto(f"/#/alerts/{alert_id}")
    page.get_by_text("You accepted. Go now.").wait_for()
    coordinator = dispatcher.coordinator
    messages_url = f"/api/v1/incidents/{incident['id']}/messages/"

    with connect(
        server.url.replace("http://", "ws://") + "/ws/coordinator/",
        origin=server.url,
        additional_headers={"Cookie": coordinator.session_cookie},
        open_timeout=5,
    ) as board:
        # On the alert screen.
        first = coordinator.post(messages_url, {"text": "Ambulance on scene"})
        shown = page.locator(f".alert-messages [data-message-id='{first['id']}']")
        shown.locator(".message-text", has_text="Ambulance on scene").wait_for()
        assert_accessible(page, "alert screen with a message")
        shown.get_by_role("button", name="Got it: Ambulance on scene").click()
        shown.get_by_text("✓ Got it").wait_for()
        acked = board_frames_until(
            board,
            lambda frame: frame.get("type") == "message.acknowledged" and frame["data"]["message_id"] == first["id"],
        )
        assert acked["data"]["responder_name"] and acked["data"]["incident_id"] == incident["id"]

        # On the checklist: a banner, and the checklist stays on screen.
        page.get_by_role("link", name="CPR checklist").click()
        page.wait_for_url(re.compile(rf"#/alerts/{alert_id}/checklist$"))
        page.get_by_role("heading", name="Tap when it happens").wait_for()
        second = coordinator.post(messages_url, {"text": "Access by the rear door"})
        banner = page.locator(".message-banner")
        banner.get_by_text("Access by the rear door").wait_for()
        assert re.search(rf"#/alerts/{alert_id}/checklist$", page.url), "a message took the checklist's screen"
        assert page.get_by_role("heading", name="Tap when it happens").is_visible()
        assert_accessible(page, "checklist with a message's banner")

        # "Got it" without signal: queued on the phone, sent when the signal is back.
        phone.set_offline(True)
        page.locator(".pill-offline").wait_for()
        banner.get_by_role("button", name="Got it: Access by the rear door").click()
        banner.wait_for(state="detached")
        [held] = [m for m in coordinator.get(messages_url)["messages"] if m["id"] == second["id"]]
        assert held["acknowledgements"] == [], "sent although the phone was offline"
        phone.set_offline(False)
        board_frames_until(
            board,
            lambda frame: frame.get("type") == "message.acknowledged" and frame["data"]["message_id"] == second["id"],
            timeout=15,
        )

    assert re.search(rf"#/alerts/{alert_id}/checklist$", page.url)
    record = {m["id"]: m for m in coordinator.get(messages_url)["messages"]}
    assert [m["text"] for m in coordinator.get(messages_url)["messages"]] == [
        "Access by the rear door",
        "Ambulance on scene",
    ]
    assert all(len(record[m["id"]]["acknowledgements"]) == 1 for m in (first, second))
    # Back on the alert screen, both are shown as acknowledged, newest first.
    page.goto(f"/#/alerts/{alert_id}")
    page.locator(".alert-messages .message-text").first.wait_for()
    assert page.locator(".alert-messages .message-text").all_inner_texts() == [
        "Access by the rear door",
        "Ambulance on scene",
    ]
    assert page.locator(".alert-messages .message-ack").count() == 0
    assert problems == []


BOARD_PAGE = "/admin/dispatch/incident/board/"
NEAR_WYMONDHAM = (52.5740, 1.1150)  # under 1 km from Wymondham


def test_a_message_sent_from_the_admin_board_reaches_the_app_and_its_got_it_shows_on_the_board(
    chromium, phone, server, dispatcher
):
    from tests.e2e.helpers import pass_the_second_factor

    desk = chromium.new_context(base_url=server.url, viewport={"width": 1280, "height": 900}, locale="en-GB")
    desk.set_default_timeout(10_000)
    log_in(desk, "coordinator")
    assert pass_the_second_factor(desk, server) == []
    log_in(phone, "ff.wymondham.1")
    app = phone.new_page()
    app.goto("/")
    app.locator(".pill-live").wait_for()
    incident, alert_id = accept_new_alert(phone, dispatcher, "E2E-MESSAGE-2", NEAR_WYMONDHAM, "5 Board Road, Wymondham")
    app.goto(f"/#/alerts/{alert_id}")
    app.get_by_text("You accepted. Go now.").wait_for()

    board = desk.new_page()
    problems = watch_for_problems(board)
    board.goto(BOARD_PAGE)
    board.locator(f"#board-message-incident option[value='{incident['id']}']").wait_for(state="attached")
    board.select_option("#board-message-incident", str(incident["id"]))
    board.fill("#board-message-text", "   ")
    board.get_by_role("button", name="Send a message").click()
    board.get_by_text("This field may not be blank.").wait_for()  # the API's word on `text`
    board.fill("#board-message-text", "Use the side gate")
    board.get_by_role("button", name="Send a message").click()
    board.get_by_text("Sent to the crews.").wait_for()

    app.locator(".alert-messages .message-text", has_text="Use the side gate").wait_for()
    app.get_by_role("button", name="Got it: Use the side gate").click()
    # In the wall's words (board-state.js, seenText).
    expect(board.locator(".board-messages li", has_text="Use the side gate")).to_contain_text(
        re.compile(r"Seen by 1 of \d+: "), timeout=10_000
    )
    assert problems == []
    desk.close()
