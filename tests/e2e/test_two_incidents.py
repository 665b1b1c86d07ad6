"""Two incidents at once (issue 11): a firefighter en route to incident A is alerted to incident B
3.5 km away. The phone stays on A's screen and a banner says that B is another incident; Open
shows B with a notice that he is on A; accepting B asks before leaving A, and leaving A declines it
("already at another incident") and accepts B.

B reaches him whatever the server's policy on alerting committed responders: a coordinator names
him in the dispatch (an override)."""

import re
import time
import uuid

import requests

from tests.e2e.helpers import accept_new_alert, log_in, watch_for_problems

FIREFIGHTER = "ff.gorleston.1"
NEAR_GORLESTON = (52.5785, 1.7225)
NEAR_GREAT_YARMOUTH = (52.6095, 1.7270)  # about 3.5 km north of A
ADDRESS_A = "7 Lowestoft Road, Gorleston"
ADDRESS_B = "12 Marine Parade, Great Yarmouth"


def respond(context, alert_id: int, response: str) -> dict:
    """An answer through the API, as the app sends it."""
    token = next(cookie["value"] for cookie in context.cookies() if cookie["name"] == "csrftoken")
    answer = context.request.post(
        f"/api/v1/alerts/{alert_id}/respond/", data={"response": response}, headers={"X-CSRFToken": token}
    )
    assert answer.ok, f"{response}: {answer.status} {answer.text()}"
    return answer.json()


def state_becomes(context, alert_id: int, state: str, timeout_s: float = 10) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if context.request.get(f"/api/v1/alerts/{alert_id}/").json()["state"] == state:
            return True
        time.sleep(0.2)
    return False


def dispatch_by_name(control, reference: str, where: tuple[float, float], address: str, responder_id: int) -> dict:
    """The CAD creates the incident without dispatching it; a coordinator then alerts this one
    responder by name. The incident's detail, with its alerts."""
    created = requests.post(
        f"{control.server.url}/api/v1/incidents/",
        json={"cad_reference": reference, "latitude": where[0], "longitude": where[1], "address": address},
        headers={"Authorization": f"Token {control.cad_token}"},
        timeout=10,
    )
    assert created.status_code == 201, f"creating: {created.status_code} {created.text}"
    incident = created.json()
    control._references.append(incident["id"])  # cancelled at the end of the test
    return control.coordinator.post(f"/api/v1/incidents/{incident['id']}/dispatch/", {"responder_ids": [responder_id]})


def test_a_second_incident_waits_in_a_banner_while_the_firefighter_is_on_his_way_to_the_first(page, phone, dispatcher):
    problems = watch_for_problems(page)
    profile = log_in(phone, FIREFIGHTER)
    _, alert_a = accept_new_alert(phone, dispatcher, f"E2E-TWO-A-{uuid.uuid4().hex[:8]}", NEAR_GORLESTON, ADDRESS_A)
    respond(phone, alert_a, "en_route")

    # Opening the app during the job shows the job, not home.
    page.goto("/")
    page.wait_for_url(re.compile(rf"#/alerts/{alert_a}$"))
    page.get_by_text("En route.", exact=True).wait_for()
    page.locator(".pill-live").wait_for()

    incident_b = dispatch_by_name(
        dispatcher, f"E2E-TWO-B-{uuid.uuid4().hex[:8]}", NEAR_GREAT_YARMOUTH, ADDRESS_B, profile["responder"]["id"]
    )
    [alert_b] = [alert["id"] for alert in incident_b["alerts"] if alert["responder_id"] == profile["responder"]["id"]]

    # B does not take the screen: a banner says it is another incident.
    banner = page.locator(".other-alerts .other-alert")
    banner.get_by_text(f"You are on {ADDRESS_A}: this is another incident").wait_for()
    banner.get_by_text(ADDRESS_B).wait_for()
    page.wait_for_timeout(500)
    assert re.search(rf"#/alerts/{alert_a}$", page.url), f"the phone left A's screen: {page.url}"
    page.get_by_text("En route.", exact=True).wait_for()
    # The banner shows B on the phone: the server hears so, as from B's own screen (found by trying
    # the product: the board went on counting him as not reached while the banner rang).
    assert state_becomes(phone, alert_b, "received"), "B shown in the banner, not told to the server"

    # Open shows B, with a notice that he is on A and a way back.
    banner.get_by_role("link", name="Open").click()
    page.wait_for_url(re.compile(rf"#/alerts/{alert_b}$"))
    page.locator(".alert-screen .alert-address", has_text=ADDRESS_B).wait_for()
    notice = page.locator(".alert-screen .other-job")
    notice.get_by_text(f"You are on {ADDRESS_A} (en route): this is another incident").wait_for()
    assert page.locator(".other-alerts").is_hidden(), "no banner for the alert on screen"

    # Accepting B asks before leaving A; "No" keeps A.
    page.get_by_role("button", name="ACCEPT: I'm going").click()
    page.get_by_role("heading", name=f"Leave {ADDRESS_A} for this one?").wait_for()
    page.get_by_role("button", name=f"No: stay on {ADDRESS_A}").click()
    page.get_by_role("button", name="ACCEPT: I'm going").wait_for()
    assert phone.request.get(f"/api/v1/alerts/{alert_a}/").json()["state"] == "en_route"
    assert phone.request.get(f"/api/v1/alerts/{alert_b}/").json()["state"] in ("alerted", "received")

    # "Yes" declines A (already at another incident) and accepts B.
    page.get_by_role("button", name="ACCEPT: I'm going").click()
    page.get_by_role("button", name="Yes: go to this one instead").click()
    page.get_by_text("You accepted. Go now.").wait_for()
    left = phone.request.get(f"/api/v1/alerts/{alert_a}/").json()
    assert (left["state"], left["decline_reason"]) == ("declined", "already_committed")
    assert phone.request.get(f"/api/v1/alerts/{alert_b}/").json()["state"] == "accepted"
    assert notice.count() == 0 or notice.is_hidden(), "B is the job now: no 'You are on A' notice"
    assert problems == []
