"""Positions, by consent and only while responding (issue 14 items 2-3), in Chromium with Playwright's
geolocation emulation: nothing is shared before accepting; after accepting the coordinator sees the
phone's position and its arrival estimate, and a move of the phone within 2 s; at cleared, and when
the firefighter presses Stop, the sharing stops (no more POSTs) and the app says so; the crew panel
shows each one's estimate and who is likely first, against the ambulance's ETA from the CAD."""

import datetime
import json
import re
import time

from playwright.sync_api import expect

from tests.e2e.conftest import ACTION_TIMEOUT_MS, PHONE, ApiUser
from tests.e2e.helpers import log_in, watch_for_problems, watch_the_console

FIREFIGHTER = "ff.sheringham.1"
NEAR_SHERINGHAM = (52.9420, 1.2150)  # the incident: a few hundred metres from Sheringham station
AT_THE_STATION = {"latitude": 52.9404, "longitude": 1.2108, "accuracy": 10}
ON_THE_WAY = {"latitude": 52.9460, "longitude": 1.2000, "accuracy": 10}  # about 800 m away, elsewhere
FARTHER_AWAY = {"latitude": 52.9300, "longitude": 1.1800, "accuracy_m": 15}  # about 2.5 km away
SEEN_WITHIN_S = 2.0


def positions_of(control, incident_id: int) -> list[dict]:
    return control.coordinator.get(f"/api/v1/incidents/{incident_id}/positions/")["positions"]


def wait_for_position(control, incident_id: int, latitude: float, timeout: float) -> tuple[dict, float]:
    """Poll as a coordinator until the incident's position is at `latitude`; (it, seconds taken)."""
    started = time.monotonic()
    seen = []
    while time.monotonic() - started < timeout:
        seen = positions_of(control, incident_id)
        if seen and abs(seen[0]["latitude"] - latitude) < 1e-6:
            return seen[0], time.monotonic() - started
        time.sleep(0.05)
    raise AssertionError(f"position at {latitude} not seen within {timeout} s; saw {seen}")


def test_the_position_is_shared_only_while_responding_and_stops_at_cleared(phone, server, dispatcher):
    phone.grant_permissions(["geolocation"], origin=server.url)
    phone.set_geolocation(AT_THE_STATION)
    log_in(phone, FIREFIGHTER)
    page = phone.new_page()
    problems = watch_for_problems(page)
    posts: list[float] = []
    page.on(
        "request",
        lambda request: (
            posts.append(time.monotonic())
            if request.method == "POST" and re.search(r"/api/v1/alerts/\d+/positions/$", request.url)
            else None
        ),
    )
    page.goto("/")
    page.locator(".pill-live").wait_for()

    incident = dispatcher.dispatch("E2E-POSITIONS-1", *NEAR_SHERINGHAM, "1 Position Road, Sheringham")
    page.wait_for_url(re.compile(r"#/alerts/\d+$"))
    page.locator(".alert-meta", has_text="from Sheringham station").wait_for()
    # Alerted, not accepted: nothing is shared.
    page.wait_for_timeout(1000)
    assert posts == [] and positions_of(dispatcher, incident["id"]) == []

    page.get_by_role("button", name="ACCEPT: I'm going").click()
    # Chromium's emulation, like a phone standing still, gives a watch a fix only when the position
    # is set: the app asks for one when the sharing starts (getCurrentPosition), and says "Sharing"
    # only once the server has taken it ("Waiting for a position…" until then).
    page.get_by_text("Sharing your position with the control room").wait_for()
    try:
        first, _ = wait_for_position(dispatcher, incident["id"], AT_THE_STATION["latitude"], timeout=10)
    except AssertionError as problem:  # say what the phone said (an error shown under "Sharing")
        raise AssertionError(f"{problem}; the phone showed: {page.locator('.alert-sharing').inner_text()!r}") from None
    assert first["estimate"]["method"] == "estimate" and first["estimate"]["eta_seconds"] > 0
    page.locator(".sharing-estimate", has_text="(estimate)").wait_for()

    # The phone moves: the coordinator sees where, and the new estimate, within 2 s.
    page.wait_for_timeout(2100)  # the app sends a move sooner than 10 s, but not within 2 s of the last
    phone.set_geolocation(ON_THE_WAY)
    moved, took = wait_for_position(dispatcher, incident["id"], ON_THE_WAY["latitude"], timeout=SEEN_WITHIN_S)
    print(f"the coordinator saw the move {took * 1000:.0f} ms after the phone moved")
    assert moved["estimate"]["distance_km"] != first["estimate"]["distance_km"]

    # On scene, then cleared: sharing stops; no more positions are sent or served.
    page.get_by_role("button", name="On scene").click()
    page.get_by_role("button", name="Cleared: leaving scene").click()
    page.get_by_text("Cleared. Thank you.").wait_for()
    sent_before = len(posts)
    page.wait_for_timeout(500)
    phone.set_geolocation(AT_THE_STATION)
    page.wait_for_timeout(3000)
    assert len(posts) == sent_before, "a position was sent after clearing"
    assert page.get_by_text("Sharing your position").count() == 0
    assert positions_of(dispatcher, incident["id"]) == []
    assert problems == []


def posts_of_positions(page) -> list[float]:
    """When the page POSTed a position (its times, growing as it sends)."""
    posts: list[float] = []
    page.on(
        "request",
        lambda request: (
            posts.append(time.monotonic())
            if request.method == "POST" and re.search(r"/api/v1/alerts/\d+/positions/$", request.url)
            else None
        ),
    )
    return posts


def accept_and_share(phone, server, dispatcher, firefighter: str, reference: str, where: dict):
    """The firefighter's phone, at `where`, is alerted to a new incident near Sheringham and accepts;
    returns (page, incident, alert id, the position POSTs' times, problems) once the coordinator
    sees the shared position."""
    phone.grant_permissions(["geolocation"], origin=server.url)
    phone.set_geolocation(where)
    log_in(phone, firefighter)
    page = phone.new_page()
    problems = watch_for_problems(page)
    posts = posts_of_positions(page)
    page.goto("/")
    page.locator(".pill-live").wait_for()
    incident = dispatcher.dispatch(reference, *NEAR_SHERINGHAM, "1 Position Road, Sheringham")
    page.wait_for_url(re.compile(r"#/alerts/\d+$"))
    alert_id = int(page.url.rsplit("/", 1)[1])
    page.get_by_role("button", name="ACCEPT: I'm going").click()
    page.get_by_text("Sharing your position with the control room").wait_for()  # sent (see the test above)
    wait_for_position(dispatcher, incident["id"], where["latitude"], timeout=10)
    return page, incident, alert_id, posts, problems


def test_stop_ends_the_sharing_and_the_app_says_it_is_off(phone, server, dispatcher):
    page, incident, _, posts, problems = accept_and_share(
        phone, server, dispatcher, "ff.sheringham.2", "E2E-POSITIONS-STOP", AT_THE_STATION
    )

    page.get_by_role("button", name="Stop sharing your position").click()
    page.locator(".sharing-off", has_text="Not sharing your position.").wait_for()
    assert page.get_by_text("Sharing your position with the control room").count() == 0
    sent_before = len(posts)
    # The phone then moves 800 m: sharing, it would send that within 2 s of its last send.
    page.wait_for_timeout(2100)
    phone.set_geolocation(ON_THE_WAY)
    page.wait_for_timeout(3000)
    assert len(posts) == sent_before, "a position was sent after Stop"
    # The control room no longer sees it either (DELETE .../positions/: found by a browser trial, the
    # wall still read "Likely first: ..." minutes after Stop, from the last position sent).
    assert positions_of(dispatcher, incident["id"]) == []
    assert problems == []


def test_the_crew_panel_shows_each_estimate_and_who_is_likely_first(chromium, phone, server, dispatcher):
    """Two of the crew share their positions; the CAD gives the ambulance's arrival. The crew panel
    shows each one's estimate and who is likely first on scene, also when opened afresh, and
    follows a new ambulance ETA."""
    page, incident, alert_id, _, problems = accept_and_share(
        phone, server, dispatcher, "ff.sheringham.1", "E2E-POSITIONS-FIRST", ON_THE_WAY
    )
    crewmate = ApiUser(server.url, "ff.sheringham.3")
    active = crewmate.get("/api/v1/alerts/?active=true")["results"]
    theirs = next(alert for alert in active if alert["incident_id"] == incident["id"])
    crewmate.post(f"/api/v1/alerts/{theirs['id']}/respond/", {"response": "accept"})
    crewmate.post(f"/api/v1/alerts/{theirs['id']}/positions/", FARTHER_AWAY)
    names = {p["alert_id"]: p["responder_name"] for p in positions_of(dispatcher, incident["id"])}
    mine, their_name = names[alert_id], names[theirs["id"]]
    in_ten_minutes = (datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=10)).isoformat()
    dispatcher.set_ambulance_eta(incident["id"], in_ten_minutes)

    page.goto(f"/#/alerts/{alert_id}/incident")
    first = page.locator(".crew-first")
    # The panel may be drawn before the socket has brought the new ETA and the crewmate's position:
    # it follows them as they arrive (a CI run under load read it in between).
    expect(first).to_have_text(re.compile(rf"Likely first: {re.escape(mine)} \(\d+ min\) · ambulance (9|10) min"))
    for name in (mine, their_name):
        estimate = page.locator(".crew-member", has_text=name).locator(".crew-estimate")
        expect(estimate).to_have_text(re.compile(r"[\d.]+ k?m · about \d+ min \(estimate\)"))

    # Opened afresh (nothing kept on that phone: the panel is drawn before its alert has loaded),
    # it shows the positions already shared, not only the ones that move after.
    fresh = chromium.new_context(base_url=server.url, **PHONE)
    try:
        fresh.set_default_timeout(ACTION_TIMEOUT_MS)
        log_in(fresh, "ff.sheringham.1")
        panel = fresh.new_page()
        panel.goto(f"/#/alerts/{alert_id}/incident")
        panel.locator(".crew-member", has_text=their_name).locator(".crew-estimate").wait_for()
        assert panel.locator(".crew-estimate").count() == 2
        assert panel.locator(".crew-first").inner_text().startswith(f"Likely first: {mine} (")
    finally:
        fresh.close()

    # The CAD says the ambulance is nearly there: the panel says so at once.
    in_half_a_minute = (datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=30)).isoformat()
    dispatcher.set_ambulance_eta(incident["id"], in_half_a_minute)
    page.locator(".crew-first", has_text="Likely first: the ambulance (1 min)").wait_for()
    assert re.fullmatch(rf"Likely first: the ambulance \(1 min\) · {re.escape(mine)} \d+ min", first.inner_text())
    assert problems == []


TOO_OLD = {
    "error": {
        "code": "invalid",
        "message": "The position is not valid.",
        "fields": {"recorded_at": ["The fix is older than 120 seconds: send a fresh one."]},
    }
}


def test_the_app_says_waiting_until_a_position_is_sent_and_never_resends_one_refused(phone, server, dispatcher):
    """Found by a tester: the alert screen said "Sharing your position with the control room" while
    nothing had been sent, and a fix the server refused as too old was posted every 5 s (24 times),
    the screen saying only "The position is not valid." The server's refusal is played here (a
    phone's fix is fresh when Chromium emulates it); the next fix, from a move, goes through."""
    phone.grant_permissions(["geolocation"], origin=server.url)
    phone.set_geolocation(AT_THE_STATION)
    log_in(phone, "ff.sheringham.2")
    page = phone.new_page()
    problems = watch_for_problems(page)
    posts = posts_of_positions(page)
    positions_url = re.compile(r"/api/v1/alerts/\d+/positions/$")
    page.route(
        positions_url,
        lambda route: route.fulfill(status=400, content_type="application/json", body=json.dumps(TOO_OLD)),
    )
    page.goto("/")
    page.locator(".pill-live").wait_for()
    incident = dispatcher.dispatch("E2E-POSITIONS-REFUSED", *NEAR_SHERINGHAM, "1 Position Road, Sheringham")
    page.wait_for_url(re.compile(r"#/alerts/\d+$"))
    page.get_by_role("button", name="ACCEPT: I'm going").click()

    line = page.locator(".sharing-line")
    expect(line).to_contain_text("Waiting for a position")
    expect(page.locator(".sharing-error")).to_have_text(
        "Position not sent: The fix is older than 120 seconds: send a fresh one."
    )
    page.wait_for_timeout(7000)  # the app used to send the refused fix again after 5 s
    assert len(posts) == 1, f"the refused fix was sent {len(posts)} times"
    assert page.get_by_text("Sharing your position with the control room").count() == 0
    assert positions_of(dispatcher, incident["id"]) == []

    page.unroute(positions_url)  # the server takes what comes next
    phone.set_geolocation(ON_THE_WAY)  # the phone moves: a new fix
    wait_for_position(dispatcher, incident["id"], ON_THE_WAY["latitude"], timeout=10)
    expect(line).to_contain_text("Sharing your position with the control room")
    expect(page.locator(".sharing-error")).to_have_count(0)
    # The Stop button sits beside or under the words, with no separator left dangling ("room ·").
    assert "·" not in line.inner_text()
    assert problems == []


def test_a_logout_while_sharing_sends_no_position_after_it_and_the_server_raises_nothing(phone, server, dispatcher):
    """Found by a browser trial (twice): going to a job with the position shared, the firefighter
    tapped Home, Log out, Log out. A position was POSTed after the logout (answered 401): stopping
    the sharing as the logout tidied up told the screens, whose redraw, the session still shown
    signed in, started it again. And the server logged "Exception inside application: Attempt to
    send on a closed protocol": the logout's `position.cleared` reached the phone's socket just
    after the logout's `session.ended` had closed it (backend/sockets/consumers.py)."""
    page, _, _, _, problems = accept_and_share(
        phone, server, dispatcher, "ff.sheringham.3", "E2E-POSITIONS-LOGOUT", AT_THE_STATION
    )
    server_log_from = server.log_path.stat().st_size
    page.get_by_role("link", name="Home").click()
    page.wait_for_url(re.compile(r"#/$"))
    # In the order the browser made them: every request, and the moment the logout was answered.
    timeline: list[str] = []
    page.on("request", lambda request: timeline.append(f"{request.method} {request.url}"))
    page.on(
        "response",
        lambda response: timeline.append("LOGGED OUT") if "/api/v1/auth/logout/" in response.url else None,
    )
    page.get_by_role("button", name="Log out").click()
    # The confirmation drawn first: its button is named "Log out" too (test_logout_stops_pushes).
    page.get_by_role("heading", name="Log out?").wait_for()
    page.get_by_role("button", name="Log out", exact=True).click()
    page.wait_for_url(re.compile(r"#/login$"))
    seen = watch_the_console(page)
    page.wait_for_timeout(2500)  # longer than a move's soonest send (position.js RESPONDING.soonestMs)
    logout = next(index for index, entry in enumerate(timeline) if entry.endswith("/api/v1/auth/logout/"))
    assert "LOGGED OUT" in timeline[logout:], f"the logout was not answered: {timeline}"
    # Nothing of the API but the session's own once the logout's request has gone.
    asked = [entry for entry in timeline[logout + 1 :] if "/api/v1/" in entry and "/api/v1/auth/" not in entry]
    assert asked == [], f"asked after the logout's request: {asked}"
    assert seen == [], f"after the logout: {seen}"
    with server.log_path.open(encoding="utf-8", errors="replace") as log:
        log.seek(server_log_from)
        logged = log.read()
    assert "Exception inside application" not in logged and "Traceback" not in logged, logged[-3000:]
    assert problems == []
