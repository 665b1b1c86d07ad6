"""The whole alert, end to end: a firefighter logs in through the app's login screen, the ambulance
dispatch system (CAD) dispatches a cardiac arrest near their station, the alert screen is on the
phone within a second, they tap Accept, and a coordinator's live board socket hears it."""

import json
import re
import time

from websockets.sync.client import connect

from tests.e2e.helpers import DEMO_PASSWORD, watch_for_problems

FIREFIGHTER = "ff.norwich.1"
NEAR_NORWICH = (52.6290, 1.2990)  # about 1 km from Norwich (Carrow); no other station within 20 km
ALERT_WITHIN_S = 1.0


def board_frames_until(socket, predicate, timeout: float = 5.0) -> dict:
    """Read the coordinator socket until a frame matches; fail with what came instead."""
    seen = []
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        try:
            frame = json.loads(socket.recv(timeout=left))
        except TimeoutError:
            break
        if predicate(frame):
            return frame
        seen.append((frame.get("type"), (frame.get("data") or {}).get("id"), (frame.get("data") or {}).get("state")))
    raise AssertionError(f"no matching frame within {timeout} s; got {seen}")


def test_a_firefighter_gets_the_alert_within_a_second_accepts_and_the_board_sees_it(page, server, dispatcher):
    problems = watch_for_problems(page)

    # Logging in through the real form.
    page.goto("/")
    page.wait_for_url(re.compile(r"#/login$"))
    page.fill("#username", FIREFIGHTER)
    page.fill("#password", DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"#/$"))
    page.locator("h1", has_text="Norwich (Carrow)").wait_for()
    page.get_by_text("No active alerts.").wait_for()
    page.locator(".pill-live").wait_for()  # the socket is connected and synced

    # The coordinator's board is watching before the dispatch.
    with connect(
        server.url.replace("http://", "ws://") + "/ws/coordinator/",
        origin=server.url,
        additional_headers={"Cookie": dispatcher.coordinator.session_cookie},
        open_timeout=5,
    ) as board:
        incident = dispatcher.dispatch("E2E-FLOW-1", *NEAR_NORWICH, "1 Alert Flow Road, Norwich")
        returned = time.monotonic()
        page.wait_for_url(re.compile(r"#/alerts/\d+$"), timeout=ALERT_WITHIN_S * 1000)
        page.locator(".alert-screen .alert-address", has_text="1 Alert Flow Road, Norwich").wait_for(
            timeout=ALERT_WITHIN_S * 1000
        )
        shown_after = time.monotonic() - returned
        print(f"alert screen shown {shown_after * 1000:.0f} ms after the dispatch call returned")
        assert shown_after <= ALERT_WITHIN_S

        alert_id = int(page.evaluate("location.hash").rsplit("/", 1)[1])
        mine = [alert for alert in incident["alerts"] if alert["id"] == alert_id]
        assert mine, f"alert {alert_id} on screen is not one of incident {incident['id']}'s"

        page.get_by_role("button", name="ACCEPT: I'm going").click()
        page.get_by_text("You accepted. Go now.").wait_for()

        frame = board_frames_until(
            board,
            lambda frame: (
                frame.get("type") == "board.alert"
                and frame["data"]["id"] == alert_id
                and frame["data"]["state"] == "accepted"
            ),
        )
    assert frame["data"]["incident_id"] == incident["id"]
    assert frame["data"]["accepted_at"]
    assert frame["data"]["station"].startswith("Norwich")

    # The record agrees with the screen and the board.
    detail = dispatcher.coordinator.get(f"/api/v1/incidents/{incident['id']}/")
    [record] = [alert for alert in detail["alerts"] if alert["id"] == alert_id]
    assert record["state"] == "accepted"
    assert problems == []
