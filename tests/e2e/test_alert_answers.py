"""The answers the alert screen offers once accepted, and a refused answer. Found by a trial of the
product: on scene, the phone offered "Can't attend after all"; tapped ("No transport"), the server
refused it ("You cannot decline this alert: it is on scene."), the reason picker stayed open over
"Open CPR checklist" and "Cleared" until Cancel, and after the incident closed the refusal was
still shown under "Your status: Cleared". The server takes a decline after accepting while
accepted or en route (backend/dispatch/actions.py: RESPONSES), and the app offers it there only."""

import re

import requests

from tests.e2e.helpers import log_in, watch_for_problems

FIREFIGHTER = "ff.thetford.3"
NEAR_THETFORD = (52.4170, 0.7500)  # under 1 km from Thetford; no other station within 20 km
WITHDRAW = "Can't attend after all"
REFUSED = "You cannot decline this alert: it is on scene."


def alert_screen(page, phone, dispatcher, reference: str, address: str) -> int:
    """Logged in, the dispatch on screen and accepted through the app; the alert's id."""
    log_in(phone, FIREFIGHTER)
    page.goto("/")
    page.locator(".pill-live").wait_for()
    dispatcher.dispatch(reference, *NEAR_THETFORD, address)
    page.wait_for_url(re.compile(r"#/alerts/\d+$"))
    page.get_by_role("button", name="ACCEPT: I'm going").click()
    page.get_by_text("You accepted. Go now.").wait_for()
    return int(page.evaluate("location.hash").rsplit("/", 1)[1])


def test_cant_attend_after_all_is_offered_accepted_and_en_route_not_on_scene(page, phone, dispatcher):
    problems = watch_for_problems(page)
    alert_screen(page, phone, dispatcher, "E2E-ANSWERS-1", "1 Answer Row, Thetford")
    actions = page.locator(".alert-actions")
    actions.get_by_role("button", name=WITHDRAW).wait_for()

    actions.get_by_role("button", name="En route").click()
    actions.locator(".alert-state", has_text="En route.").wait_for()
    actions.get_by_role("button", name=WITHDRAW).wait_for()

    actions.get_by_role("button", name="On scene").click()
    actions.get_by_role("link", name="Open CPR checklist").wait_for()
    assert actions.get_by_role("button", name="Cleared: leaving scene").is_visible()
    assert actions.get_by_role("button", name=WITHDRAW).count() == 0, "the server refuses a decline on scene"
    assert problems == []


def test_a_refused_decline_closes_the_picker_and_its_words_go_when_the_incident_closes(page, phone, server, dispatcher):
    problems = watch_for_problems(page)
    alert_id = alert_screen(page, phone, dispatcher, "E2E-ANSWERS-2", "2 Answer Row, Thetford")
    actions = page.locator(".alert-actions")
    actions.get_by_role("button", name="En route").click()
    actions.locator(".alert-state", has_text="En route.").wait_for()

    # The firefighter arrives on scene from elsewhere (another tab, a slow frame) just as this
    # phone's "Can't attend after all" goes: the server then refuses the decline, as in the trial.
    cookies = {cookie["name"]: cookie["value"] for cookie in phone.cookies()}

    def on_scene_first(route):
        if (route.request.post_data_json or {}).get("response") == "decline":
            arrived = requests.post(
                f"{server.url}/api/v1/alerts/{alert_id}/respond/",
                json={"response": "on_scene"},
                cookies=cookies,
                headers={"X-CSRFToken": cookies["csrftoken"]},
                timeout=10,
            )
            assert arrived.ok, f"on scene: {arrived.status_code} {arrived.text}"
        route.continue_()

    page.route(re.compile(r"/api/v1/alerts/\d+/respond/$"), on_scene_first)
    actions.get_by_role("button", name=WITHDRAW).click()
    actions.get_by_role("heading", name="Why can't you attend?").wait_for()
    actions.get_by_role("button", name="No transport").click()

    # The picker closes; the server's words show above what can be done on scene.
    actions.locator(".notice", has_text=REFUSED).wait_for()
    assert actions.get_by_role("heading", name="Why can't you attend?").count() == 0
    actions.get_by_role("link", name="Open CPR checklist").wait_for()
    assert actions.get_by_role("button", name="Cleared: leaving scene").is_visible()
    assert actions.get_by_role("button", name=WITHDRAW).count() == 0
    page.unroute(re.compile(r"/api/v1/alerts/\d+/respond/$"))

    # The incident closes (on scene: cleared): the refusal belonged to being on scene, and goes.
    incident_id = phone.request.get(f"/api/v1/alerts/{alert_id}/").json()["incident_id"]
    dispatcher.coordinator.post(f"/api/v1/incidents/{incident_id}/close/", {})
    actions.locator(".alert-state", has_text="Your status: Cleared").wait_for()
    assert actions.locator(".notice").count() == 0, actions.inner_text()
    assert page.get_by_text(REFUSED).count() == 0
    assert problems == []
