"""The call's forms page never shows the crew's outcome form as "Not started" (read by a
firefighter as a form they owe) before it knows who of the crew fills it in. Found by trying the
product: the page drew "Not started" at once and turned to "Not needed" or "Filled in by another
member of your crew" only when the server's form arrived. Now it says so from the first drawing
when the phone knows (the forms list's entry of the call, or the form kept on the phone), says
"Checking…" while it asks, and "Not known yet" when it cannot find out (no signal), still offering
the form."""

import re
import uuid

import requests

from tests.e2e.conftest import ApiUser
from tests.e2e.helpers import log_in, watch_for_problems

CREW_LEAD = "ff.wymondham.1"  # a crew lead (demo data: each station's firefighter no. 1)
FIREFIGHTER = "ff.wymondham.2"
NEAR_WYMONDHAM = (52.5730, 1.1190)
OUTCOME_CARD = ".form-list li[data-kind='outcome']"

# Every state the outcome card's status has shown on this page, in order (a MutationObserver from
# before the app's first line: a state drawn and replaced a moment later is seen too).
RECORD_OUTCOME_STATES = """
window.__outcomeStates = [];
new MutationObserver(() => {
  const chip = document.querySelector(".form-list li[data-kind='outcome'] .status");
  const state = chip ? chip.className.replace("status ", "") : null;
  if (state && window.__outcomeStates.at(-1) !== state) window.__outcomeStates.push(state);
}).observe(document, { childList: true, subtree: true, characterData: true, attributes: true });
"""


def closed_call(
    server, control, who: list[str], on_scene: list[str], en_route: tuple[str, ...] = ()
) -> tuple[int, dict[str, int]]:
    """An incident near Wymondham alerting `who` by name (no other station's crews are rung),
    accepted by each, `en_route` set off, `on_scene` on scene, then closed by the coordinator: its
    forms are owed now (one who never set off owes none: records/access.py never_set_off). (The
    incident's id, each one's alert id.)"""
    users = {username: ApiUser(server.url, username) for username in who}
    created = requests.post(
        f"{server.url}/api/v1/incidents/",
        json={
            "cad_reference": f"E2E-DUTY-{uuid.uuid4().hex[:8]}",
            "latitude": NEAR_WYMONDHAM[0],
            "longitude": NEAR_WYMONDHAM[1],
            "address": "3 Duty Lane, Wymondham",
        },
        headers={"Authorization": f"Token {control.cad_token}"},
        timeout=10,
    )
    assert created.status_code == 201, created.text
    incident_id = created.json()["id"]
    control._references.append(incident_id)  # cancelled at the end of the test if still open
    ids = {user.profile["responder"]["id"]: username for username, user in users.items()}
    incident = control.coordinator.post(f"/api/v1/incidents/{incident_id}/dispatch/", {"responder_ids": list(ids)})
    alerts = {ids[alert["responder_id"]]: alert["id"] for alert in incident["alerts"] if alert["responder_id"] in ids}
    for username, user in users.items():
        user.post(f"/api/v1/alerts/{alerts[username]}/respond/", {"response": "accept"})
    for username in en_route:
        users[username].post(f"/api/v1/alerts/{alerts[username]}/respond/", {"response": "en_route"})
    for username in on_scene:
        users[username].post(f"/api/v1/alerts/{alerts[username]}/respond/", {"response": "on_scene"})
    control.coordinator.post(f"/api/v1/incidents/{incident_id}/close/", {})
    return incident_id, alerts


def outcome_states(page) -> list[str]:
    return page.evaluate("window.__outcomeStates")


def test_the_outcome_says_checking_not_not_started_until_the_server_says_who_fills_it_in(phone, server, dispatcher):
    log_in(phone, FIREFIGHTER)
    _, alerts = closed_call(server, dispatcher, [FIREFIGHTER], on_scene=[])
    alert_id = alerts[FIREFIGHTER]
    page = phone.new_page()
    problems = watch_for_problems(page)
    page.add_init_script(RECORD_OUTCOME_STATES)
    # Nothing of this call kept on the phone and no forms list: only the server's form says who
    # fills in the outcome, and it is held until the page has drawn its cards.
    page.route("**/api/v1/records/", lambda route: route.abort())
    held = []
    page.route(f"**/api/v1/alerts/{alert_id}/outcome/", lambda route: held.append(route))

    page.goto(f"/#/alerts/{alert_id}/forms")
    card = page.locator(OUTCOME_CARD)
    card.locator(".status-checking").wait_for()
    assert card.locator(".status").inner_text() == "Checking…"
    assert card.get_by_role("link", name="Open: outcome form").count() == 1, "the form is still offered"
    for _ in range(200):  # Playwright hands the held request over while it runs: let it run
        if held:
            break
        page.wait_for_timeout(50)
    assert len(held) == 1, "the outcome form was asked for"
    held[0].continue_()

    # Not a crew lead, and nobody of the crew attended: not needed.
    card.locator(".status-not_needed").wait_for()
    assert card.locator(".form-status").inner_text() == "Nobody of your crew attended."
    assert outcome_states(page) == ["status-checking", "status-not_needed"]
    page.unroute(f"**/api/v1/alerts/{alert_id}/outcome/")
    page.unroute("**/api/v1/records/")
    assert problems == []


def test_the_first_drawing_says_another_fills_it_in_when_the_forms_list_said_so(phone, server, dispatcher):
    """From the forms list, where the call's outcome reads "Not needed" (the crew lead attended),
    the call's page says so from its first drawing, without waiting for the server's form."""
    log_in(phone, FIREFIGHTER)
    # The firefighter set off (so owes the attendance and welfare forms: only the outcome is not
    # theirs; one who never set off owes none, and the row would say "Not needed" three times).
    _, alerts = closed_call(server, dispatcher, [CREW_LEAD, FIREFIGHTER], on_scene=[CREW_LEAD], en_route=(FIREFIGHTER,))
    alert_id = alerts[FIREFIGHTER]
    page = phone.new_page()
    problems = watch_for_problems(page)
    page.add_init_script(RECORD_OUTCOME_STATES)
    # This phone never gets the server's outcome form of the call: only the list says who fills it in.
    asked = []
    page.route(f"**/api/v1/alerts/{alert_id}/outcome/", lambda route: (asked.append(page.url), route.abort()))
    page.goto("/#/forms")
    row = page.locator(f"a.alert-item[href='#/alerts/{alert_id}/forms']")
    row.get_by_text("Not needed").wait_for()
    page.wait_for_load_state("networkidle")  # the forms owed kept meanwhile (the outcome refused)

    before = len(asked)
    row.click()
    page.wait_for_url(re.compile(rf"#/alerts/{alert_id}/forms$"))
    card = page.locator(OUTCOME_CARD)
    card.locator(".status-not_needed").wait_for()
    assert card.locator(".form-status").inner_text() == "Another member of your crew fills it in."
    for _ in range(200):  # the page asks for the form (refused), then draws what it knows
        if len(asked) > before:
            break
        page.wait_for_timeout(50)
    assert len(asked) > before, "the page asked the server for the outcome form"
    page.wait_for_timeout(300)
    assert card.locator(".form-status").inner_text() == "Another member of your crew fills it in."
    assert outcome_states(page) == ["status-not_needed"], "never 'Not started', nor 'Checking…'"
    page.unroute(f"**/api/v1/alerts/{alert_id}/outcome/")
    assert problems == []


def test_without_signal_and_never_loaded_it_is_not_known_and_still_offered(phone, server, dispatcher):
    log_in(phone, FIREFIGHTER)
    _, alerts = closed_call(server, dispatcher, [FIREFIGHTER], on_scene=[FIREFIGHTER])
    alert_id = alerts[FIREFIGHTER]
    page = phone.new_page()
    problems = watch_for_problems(page)
    page.add_init_script(RECORD_OUTCOME_STATES)
    # Neither the forms list nor the outcome form ever reaches this phone.
    page.route("**/api/v1/records/", lambda route: route.abort())
    page.route(
        f"**/api/v1/alerts/{alert_id}/outcome/",
        lambda route: route.abort() if route.request.method == "GET" else route.continue_(),
    )
    page.goto("/")
    page.locator(".pill-live").wait_for()
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")  # the screens, offline too
    phone.set_offline(True)
    page.locator(".pill-offline").wait_for()

    page.goto(f"/#/alerts/{alert_id}/forms")
    card = page.locator(OUTCOME_CARD)
    card.locator(".status-duty_not_known").wait_for()
    assert card.locator(".status").inner_text() == "Not known yet"
    assert "If it is you, you can fill it in now." in card.locator(".form-status").inner_text()
    assert "not_started" not in " ".join(outcome_states(page))
    card.get_by_role("link", name="Open: outcome form").click()
    page.wait_for_url(re.compile(rf"#/alerts/{alert_id}/forms/outcome$"))
    phone.set_offline(False)
    page.unroute(f"**/api/v1/alerts/{alert_id}/outcome/")
    page.unroute("**/api/v1/records/")
    assert problems == []


def test_the_first_drawing_goes_by_the_form_kept_on_the_phone(phone, server, dispatcher):
    """The form kept on the phone (its call's page opened before) says who fills in the outcome
    from the first drawing, without the forms list, while the server is asked again."""
    log_in(phone, FIREFIGHTER)
    _, alerts = closed_call(server, dispatcher, [CREW_LEAD, FIREFIGHTER], on_scene=[CREW_LEAD])
    alert_id = alerts[FIREFIGHTER]
    page = phone.new_page()
    problems = watch_for_problems(page)
    page.route("**/api/v1/records/", lambda route: route.abort())
    page.goto(f"/#/alerts/{alert_id}/forms")
    page.locator(f"{OUTCOME_CARD} .status-not_needed").wait_for()  # the server's form, now kept
    page.wait_for_load_state("networkidle")

    page.add_init_script(RECORD_OUTCOME_STATES)
    held = []
    page.route(f"**/api/v1/alerts/{alert_id}/outcome/", lambda route: held.append(route))
    page.reload()
    card = page.locator(OUTCOME_CARD)
    card.locator(".status-not_needed").wait_for()
    for _ in range(200):
        if held:
            break
        page.wait_for_timeout(50)
    assert len(held) == 1, "the server is asked again"
    # The kept form names who fills it in, and nothing is submitted yet (the eleventh trial).
    assert card.locator(".form-status").inner_text().endswith(" fills this in; not submitted yet.")
    assert outcome_states(page) == ["status-not_needed"]
    held[0].continue_()
    page.unroute(f"**/api/v1/alerts/{alert_id}/outcome/")
    page.unroute("**/api/v1/records/")
    assert problems == []
