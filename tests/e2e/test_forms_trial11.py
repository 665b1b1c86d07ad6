"""The call's forms page as the eleventh trial of the product found it:

1. one who withdrew before setting off ("Can't attend after all"), opening the page cold, saw
   "Not started" on their attendance and welfare cards, then "Not needed";
2. a crew member who does not fill in the outcome, before the one who does had submitted it, read
   "Filled in by ...: you can read it" with a link to read nothing;
4. the page kept "No signal: showing what this phone last knew." after the connection came back."""

import uuid

import requests

from tests.e2e.conftest import ApiUser
from tests.e2e.helpers import log_in, watch_for_problems
from tests.e2e.test_forms_outcome_duty_first import CREW_LEAD, FIREFIGHTER, NEAR_WYMONDHAM, OUTCOME_CARD

# Every state each card's status has shown, in order, from before the app's first line.
RECORD_STATES = """
window.__states = {};
new MutationObserver(() => {
  for (const card of document.querySelectorAll(".form-list li[data-kind]")) {
    const chip = card.querySelector(".status");
    const seen = (window.__states[card.dataset.kind] ||= []);
    const state = chip ? chip.className.replace("status ", "") : null;
    if (state && seen.at(-1) !== state) seen.push(state);
  }
}).observe(document, { childList: true, subtree: true, characterData: true, attributes: true });
"""


def call(server, control, who: list[str]) -> tuple[dict[str, ApiUser], dict[str, int]]:
    """An incident near Wymondham alerting `who` by name, accepted by each: (users, alert ids)."""
    users = {username: ApiUser(server.url, username) for username in who}
    created = requests.post(
        f"{server.url}/api/v1/incidents/",
        json={
            "cad_reference": f"E2E-T11-{uuid.uuid4().hex[:8]}",
            "latitude": NEAR_WYMONDHAM[0],
            "longitude": NEAR_WYMONDHAM[1],
            "address": "11 Trial Lane, Wymondham",
        },
        headers={"Authorization": f"Token {control.cad_token}"},
        timeout=10,
    )
    assert created.status_code == 201, created.text
    incident_id = created.json()["id"]
    control._references.append(incident_id)
    ids = {user.profile["responder"]["id"]: username for username, user in users.items()}
    incident = control.coordinator.post(f"/api/v1/incidents/{incident_id}/dispatch/", {"responder_ids": list(ids)})
    alerts = {ids[alert["responder_id"]]: alert["id"] for alert in incident["alerts"] if alert["responder_id"] in ids}
    for username, user in users.items():
        user.post(f"/api/v1/alerts/{alerts[username]}/respond/", {"response": "accept"})
    return users, alerts


def test_own_forms_of_one_who_withdrew_are_never_shown_not_started(phone, server, dispatcher):
    log_in(phone, FIREFIGHTER)
    users, alerts = call(server, dispatcher, [FIREFIGHTER])
    alert_id = alerts[FIREFIGHTER]
    users[FIREFIGHTER].post(f"/api/v1/alerts/{alert_id}/respond/", {"response": "decline", "reason": "no_transport"})
    page = phone.new_page()
    problems = watch_for_problems(page)
    page.add_init_script(RECORD_STATES)
    page.route("**/api/v1/records/", lambda route: route.abort())  # no forms list: only the forms say

    page.goto(f"/#/alerts/{alert_id}/forms")
    for kind in ("attendance", "welfare"):
        page.locator(f".form-list li[data-kind='{kind}'] .status-not_needed").wait_for(timeout=10_000)
    states = page.evaluate("window.__states")
    for kind in ("attendance", "welfare"):
        assert "status-not_started" not in states[kind], states
    page.unroute("**/api/v1/records/")
    assert problems == []


def test_the_outcome_another_fills_in_is_not_offered_to_read_before_it_is_submitted(phone, server, dispatcher):
    log_in(phone, FIREFIGHTER)
    users, alerts = call(server, dispatcher, [CREW_LEAD, FIREFIGHTER])
    for username in (CREW_LEAD, FIREFIGHTER):
        users[username].post(f"/api/v1/alerts/{alerts[username]}/respond/", {"response": "on_scene"})
    lead = users[CREW_LEAD].profile["name"]
    page = phone.new_page()
    problems = watch_for_problems(page)

    page.goto(f"/#/alerts/{alerts[FIREFIGHTER]}/forms")
    card = page.locator(OUTCOME_CARD)
    card.get_by_text(f"{lead} fills this in; not submitted yet.").wait_for(timeout=10_000)
    assert card.get_by_role("link").count() == 0, "nothing to read yet"
    assert "you can read it" not in card.inner_text()
    assert problems == []


def test_no_signal_notice_goes_when_the_connection_is_back(phone, server, dispatcher):
    log_in(phone, FIREFIGHTER)
    _, alerts = call(server, dispatcher, [FIREFIGHTER])
    alert_id = alerts[FIREFIGHTER]
    page = phone.new_page()
    problems = watch_for_problems(page)
    page.goto(f"/#/alerts/{alert_id}/forms")
    page.locator(".pill-live").wait_for(timeout=10_000)
    page.locator(".form-list li[data-kind='attendance'] .status").wait_for(timeout=10_000)
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=10_000)

    phone.set_offline(True)
    page.goto(f"/#/alerts/{alert_id}/forms/attendance")
    page.locator("form#record-form").wait_for(timeout=10_000)
    page.locator(".topbar a.back").click(timeout=10_000)  # back to the forms
    notice = page.get_by_text("No signal: showing what this phone last knew.")
    notice.wait_for(timeout=10_000)

    phone.set_offline(False)
    page.locator(".pill-live").wait_for(timeout=15_000)
    notice.wait_for(state="detached", timeout=3_000)
    assert problems == []
