"""Bringing each of the app's screens up in a browser context, with real data behind it: an incident
dispatched through the API as the ambulance dispatch system (CAD) does, and the firefighter's
answers sent through the API as the app sends them. Used by test_accessibility.py.

Each screen is reached the way the app reaches it (its hash route) and counts as shown once what it
is for is on the page (not a "Loading…" placeholder) and, for a logged-in screen, the socket is live.
"""

import datetime
import json
import re
import urllib.request
import uuid

from tests.e2e.helpers import log_in

# The demo stations (backend/accounts/management/commands/load_demo_data.py): an incident at a
# station alerts that station's three firefighters (and no other station: they are > 20 km apart).
STATIONS = {
    "thetford": (52.4138, 0.7461),
    "sheringham": (52.9404, 1.2108),
    "kings-lynn": (52.7517, 0.4034),
}
SCREENS = (
    "login",
    "home",
    "alert",
    "alert-sharing",
    "incident",
    "crew-estimates",
    "checklist",
    "forms",
    "outcome-form",
    "welfare-form",
)
# What the firefighter has answered before each alert screen is opened.
ANSWERS = {
    "alert": (),  # just dispatched: the red screen, waiting for an answer
    "alert-sharing": ("accept",),  # accepted, the phone's position shared with its estimate
    "incident": ("accept",),
    "crew-estimates": ("accept",),  # the crew panel with estimates and who is likely first
    "checklist": ("accept", "en_route", "on_scene"),
    "forms": ("accept", "en_route", "on_scene", "cleared"),
    "outcome-form": ("accept", "en_route", "on_scene", "cleared"),
    "welfare-form": ("accept", "en_route", "on_scene", "cleared"),
}
# The hash route of each alert screen after #/alerts/{id} ("" for the alert itself).
ROUTES = {
    "alert": "",
    "alert-sharing": "",
    "crew-estimates": "/incident",
    "outcome-form": "/forms/outcome",
    "welfare-form": "/forms/welfare",
}
# Where a sharing phone is: about 600 m from its station (the screens' incidents are at the station).
NEAR_THE_STATION = (0.004, -0.006)
LIVE = ".topbar .pill-live"

_cad_tokens: dict[str, str] = {}


def cad_token(server) -> str:
    """An API token of the demo machine client `cad` (one per server)."""
    if server.url not in _cad_tokens:
        _cad_tokens[server.url] = server.manage("create_api_token", "cad").strip().splitlines()[-1]
    return _cad_tokens[server.url]


def as_cad(server, path: str, body: dict | None) -> dict:
    """POST to the API as the ambulance dispatch system; the JSON answer."""
    request = urllib.request.Request(  # noqa: S310 (the test server's own http URL)
        f"{server.url}{path}",
        data=json.dumps(body or {}).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Token {cad_token(server)}"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return json.loads(response.read())


def dispatch_incident(server, station: str, incidents: list[int], at: tuple[float, float] | None = None) -> dict:
    """POST /api/v1/incidents/ {"dispatch": true} as CAD, at the station (or `at`, near it): the
    incident's detail. Its id is added to `incidents`, for close_incidents()."""
    latitude, longitude = at or STATIONS[station]
    incident = as_cad(
        server,
        "/api/v1/incidents/",
        {
            "cad_reference": f"A11Y-{uuid.uuid4().hex[:10].upper()}",
            "latitude": latitude,
            "longitude": longitude,
            "address": "14 Market Place, Norfolk",
            "dispatch": True,
        },
    )
    incidents.append(incident["id"])
    return incident


def close_incidents(server, incidents: list[int]) -> None:
    """Close them (an unanswered alert would otherwise open itself on the next screen, and the
    escalation ladder would alert the next ring of stations after a minute)."""
    for incident_id in incidents:
        as_cad(server, f"/api/v1/incidents/{incident_id}/close/", None)


def my_alert_for(context, incident_id: int) -> dict:
    """The logged-in firefighter's alert for the incident (GET /api/v1/alerts/?active=true)."""
    response = context.request.get("/api/v1/alerts/?active=true")
    assert response.ok, response.text()
    mine = [alert for alert in response.json()["results"] if alert["incident_id"] == incident_id]
    assert mine, f"the logged-in firefighter was not alerted to incident {incident_id}"
    return mine[0]


def respond(context, alert_id: int, *answers: str) -> None:
    """POST /api/v1/alerts/{id}/respond/ for each answer in turn, with the session's CSRF token."""
    for answer in answers:
        token = next(cookie["value"] for cookie in context.cookies() if cookie["name"] == "csrftoken")
        response = context.request.post(
            f"/api/v1/alerts/{alert_id}/respond/", data={"response": answer}, headers={"X-CSRFToken": token}
        )
        assert response.ok, f"answering {answer!r}: {response.status} {response.text()}"


def csrf_token(context) -> str:
    return next(cookie["value"] for cookie in context.cookies() if cookie["name"] == "csrftoken")


def share_position(context, alert_id: int, latitude: float, longitude: float) -> dict:
    """POST /api/v1/alerts/{id}/positions/ as the app does while responding; its answer."""
    response = context.request.post(
        f"/api/v1/alerts/{alert_id}/positions/",
        data={"latitude": latitude, "longitude": longitude, "accuracy_m": 15},
        headers={"X-CSRFToken": csrf_token(context)},
    )
    assert response.ok, f"sharing a position: {response.status} {response.text()}"
    return response.json()


def near(station: str) -> tuple[float, float]:
    latitude, longitude = STATIONS[station]
    return latitude + NEAR_THE_STATION[0], longitude + NEAR_THE_STATION[1]


def in_minutes(minutes: float) -> str:
    return (datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=minutes)).isoformat()


def open_screen(context, server, screen: str, *, firefighter: str, station: str, incidents: list[int]):
    """A page of the context showing the screen, with its data loaded and (logged in) the socket
    live. The context is logged in as `firefighter` unless the screen is the login screen. Every
    other screen gets a new incident dispatched at `station` (the firefighter's own), added to
    `incidents`: close them afterwards (close_incidents)."""
    page = context.new_page()
    if screen == "login":
        page.goto("/#/login")
        page.locator("form input#password").wait_for()
        return page
    log_in(context, firefighter)
    if screen == "home":
        # An alert already accepted: the app opens the job at start, and the firefighter goes back
        # home, where the job is listed first as theirs.
        incident = dispatch_incident(server, station, incidents)
        respond(context, my_alert_for(context, incident["id"])["id"], "accept")
        page.goto("/")
        page.wait_for_url(re.compile(r"#/alerts/\d+$"))
        page.get_by_role("link", name="Home").click()
        page.locator(LIVE).wait_for()
        page.locator("#alerts-heading + ul.alert-list .job-tag").wait_for()
        page.wait_for_function("!document.querySelector('#ready-heading')?.textContent.startsWith('Checking')")
        assert page.evaluate("location.hash") in ("", "#/"), "the home screen stayed the home screen"
        return page
    if screen == "alert-sharing":  # the phone allows its position, as most do once asked
        latitude, longitude = near(station)
        context.grant_permissions(["geolocation"], origin=server.url)
        context.set_geolocation({"latitude": latitude, "longitude": longitude, "accuracy": 15})
    incident = dispatch_incident(server, station, incidents)
    alert = my_alert_for(context, incident["id"])
    respond(context, alert["id"], *ANSWERS[screen])
    if screen == "crew-estimates":  # their position shared, and the ambulance's ETA from the CAD
        share_position(context, alert["id"], *near(station))
        as_cad(server, f"/api/v1/incidents/{incident['id']}/ambulance-eta/", {"ambulance_eta": in_minutes(12)})
    route = f"/alerts/{alert['id']}" + ROUTES.get(screen, f"/{screen}")
    page.goto(f"/#{route}")
    if "form" not in screen:  # the forms screens draw their top bar once, as it is when they open
        page.locator(LIVE).wait_for()
    ready = {
        "alert": ".alert-head h1.alert-heading",
        "alert-sharing": ".alert-head h1.alert-heading",
        "incident": "ul.crew-list",
        "crew-estimates": "ul.crew-list",
        "checklist": "#steps-heading",
        "forms": "ul.form-list",
        "outcome-form": "form#record-form",
        "welfare-form": "form#record-form",
    }[screen]
    page.locator(ready).first.wait_for()
    if screen == "checklist":
        page.wait_for_function("document.querySelector('#steps-heading')?.textContent.endsWith(' checklist')")
    if screen == "alert-sharing":
        page.locator(".alert-sharing .sharing-line").wait_for()
        # Chromium's emulation gives a watch a fix when the position is set: set it now it watches.
        context.set_geolocation({"latitude": near(station)[0], "longitude": near(station)[1], "accuracy": 15})
        page.locator(".alert-sharing .sharing-estimate").wait_for()
        page.locator(".alert-map .map-pin--me").wait_for()
        page.locator(".alert-defibs h2 + *").wait_for()
    if screen == "crew-estimates":
        page.locator(".crew-first").wait_for()
        page.locator(".crew-list .crew-estimate").wait_for()
    if screen == "alert":
        page.locator(".alert-actions button").first.wait_for()
        # With its map drawn (app/map.js, Leaflet) and the defibrillators' list loaded (or why not).
        page.locator(".alert-map .map-pin--incident").wait_for()
        page.locator(".alert-defibs h2 + *").wait_for()
    assert page.evaluate("location.hash") == f"#{route}"
    return page
