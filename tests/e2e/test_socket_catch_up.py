"""An alert sent while the app's socket is down is not lost: when the network comes back the app
reconnects with ?last_event_id=N, the server replays the alert.created it missed on that socket,
and the alert screen opens."""

import json
import re
import time

from tests.e2e.helpers import log_in, watch_for_problems

FIREFIGHTER = "ff.sheringham.1"
NEAR_SHERINGHAM = (52.9420, 1.2100)  # Sheringham (and North Walsham, 14 km away) are alerted


def test_an_alert_sent_while_disconnected_is_replayed_on_reconnection(phone, server, dispatcher):
    log_in(phone, FIREFIGHTER)
    page = phone.new_page()
    problems = watch_for_problems(page)
    connections = []  # (url, frames received from the server, the route) per socket the app opened

    def relay(route):
        # The app's socket, relayed to the server unchanged, so the test can cut the line.
        received = []
        connections.append((route.url, received, route))
        upstream = route.connect_to_server()

        def from_server(message):
            received.append(json.loads(message))
            route.send(message)

        upstream.on_message(from_server)

    page.route_web_socket(re.compile(r"/ws/responder/"), relay)
    page.goto("/")
    page.get_by_text("No active alerts.").wait_for()
    page.locator(".pill-live").wait_for()
    assert len(connections) == 1
    last_event_id = page.evaluate(
        "(name) => Number(localStorage.getItem(`coresponder.lastEventId.${encodeURIComponent(name)}`))", FIREFIGHTER
    )

    # The signal goes, and with it the connection (emulated offline alone leaves an open socket up).
    phone.set_offline(True)
    page.locator(".pill-offline").wait_for()
    connections[0][2].close(code=1001, reason="network gone")
    page.wait_for_timeout(200)
    assert len(connections) == 1, "no reconnection while offline"

    incident = dispatcher.dispatch("E2E-CATCHUP-1", *NEAR_SHERINGHAM, "5 Catch-up Close, Sheringham")
    mine = [alert for alert in incident["alerts"] if alert["station"].startswith("Sheringham")]
    assert mine, incident["alerts"]
    page.wait_for_timeout(500)  # a live socket would have opened it by now
    assert "#/alerts/" not in page.url and page.get_by_text("No active alerts.").is_visible()

    phone.set_offline(False)
    page.locator(".pill-live").wait_for()
    assert len(connections) == 2
    url, replayed, _ = connections[1]
    assert url.endswith(f"/ws/responder/?last_event_id={last_event_id}")

    page.wait_for_url(re.compile(r"#/alerts/\d+$"))
    alert_id = int(page.evaluate("location.hash").rsplit("/", 1)[1])
    assert alert_id in {alert["id"] for alert in mine}
    page.locator(".alert-screen .alert-address", has_text="5 Catch-up Close, Sheringham").wait_for()
    page.get_by_role("button", name="ACCEPT: I'm going").wait_for()

    # The replay on the new socket, not only the REST reload that also runs when back online.
    deadline = time.monotonic() + 5
    while not any(frame.get("type") == "sync.ready" for frame in replayed):
        assert time.monotonic() < deadline, f"no sync.ready on the new socket: {replayed}"
        page.wait_for_timeout(50)
    created = [
        frame for frame in replayed if frame.get("type") == "alert.created" and frame["data"]["alert"]["id"] == alert_id
    ]
    assert len(created) == 1, replayed
    assert created[0]["id"] > last_event_id
    [ready] = [frame for frame in replayed if frame["type"] == "sync.ready"]
    assert replayed.index(created[0]) < replayed.index(ready), "replayed before sync.ready"
    assert ready["data"]["complete"] is True
    assert problems == []
