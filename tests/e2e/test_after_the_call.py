"""The end of a call a firefighter attended, however it ends. Found trying the product: a firefighter
on scene (on the CPR checklist) whose incident the coordinator closed or cancelled found, on the
alert's screen, no way to the forms after the call nor back to the checklist (only Home's "Forms
after calls" list had them), and a cancel told him "You are not needed" while he was doing CPR."""

import re
import uuid

from tests.e2e.helpers import log_in, watch_for_problems
from tests.e2e.test_two_incidents import dispatch_by_name, respond

FIREFIGHTER = "ff.great-yarmouth.3"
NEAR_GREAT_YARMOUTH = (52.6085, 1.7290)
ADDRESS = "9 Regent Road, Great Yarmouth"


def on_scene(phone, dispatcher, *, arrived: bool = True) -> tuple[int, int]:
    """Alerted by name (no station's other crews are rung), accepted and on scene (or only accepted,
    not `arrived`) through the API, as the app sends them. (The incident's id, the alert's id.)"""
    profile = log_in(phone, FIREFIGHTER)
    responder_id = profile["responder"]["id"]
    incident = dispatch_by_name(
        dispatcher, f"E2E-AFTER-{uuid.uuid4().hex[:8]}", NEAR_GREAT_YARMOUTH, ADDRESS, responder_id
    )
    [alert_id] = [alert["id"] for alert in incident["alerts"] if alert["responder_id"] == responder_id]
    respond(phone, alert_id, "accept")
    if arrived:
        respond(phone, alert_id, "on_scene")
    return incident["id"], alert_id


def test_a_closed_call_still_leads_to_its_forms_and_checklist(page, phone, dispatcher):
    problems = watch_for_problems(page)
    incident_id, alert_id = on_scene(phone, dispatcher)
    page.goto(f"/#/alerts/{alert_id}")
    page.get_by_role("link", name="Open CPR checklist").wait_for()

    dispatcher.coordinator.post(f"/api/v1/incidents/{incident_id}/close/", {})
    page.get_by_text("This incident is closed.").wait_for()
    page.get_by_text("Your status: Cleared").wait_for()
    page.get_by_role("link", name="Forms after the call").click()
    page.wait_for_url(re.compile(rf"#/alerts/{alert_id}/forms$"))
    page.go_back()
    page.get_by_role("link", name="CPR checklist").click()
    page.wait_for_url(re.compile(rf"#/alerts/{alert_id}/checklist$"))
    assert problems == []


def test_opening_the_app_after_a_call_prompts_for_the_forms_still_to_fill(page, phone, dispatcher):
    """Found by trying the product: logged in afresh, home said nothing of the forms owed; they
    were seen only by opening the list."""
    problems = watch_for_problems(page)
    incident_id, _alert_id = on_scene(phone, dispatcher)
    dispatcher.coordinator.post(f"/api/v1/incidents/{incident_id}/close/", {})

    page.goto("/")
    # This call's attendance and welfare at least (and any earlier test's calls of this firefighter).
    page.get_by_text(re.compile(r"^\d+ forms to fill after calls$")).wait_for()
    page.get_by_role("link", name="Fill them in").click()
    page.wait_for_url(re.compile(r"#/forms$"))
    assert problems == []


def test_a_call_cancelled_while_on_scene_does_not_say_he_is_not_needed(page, phone, dispatcher):
    problems = watch_for_problems(page)
    incident_id, alert_id = on_scene(phone, dispatcher)
    page.goto(f"/#/alerts/{alert_id}")
    page.get_by_role("link", name="Open CPR checklist").wait_for()

    dispatcher.cancel(incident_id, "Ambulance crew took over.")
    page.get_by_text("ALERT CANCELLED").wait_for()
    sub = page.locator(".alert-sub")
    sub.get_by_text("The incident was cancelled: Ambulance crew took over.").wait_for()
    assert "not needed" not in sub.inner_text()
    assert "If you are still doing CPR, carry on" in sub.inner_text()
    page.get_by_role("link", name="Forms after the call").click()
    page.wait_for_url(re.compile(rf"#/alerts/{alert_id}/forms$"))
    page.go_back()
    page.get_by_role("link", name="CPR checklist").click()
    page.wait_for_url(re.compile(rf"#/alerts/{alert_id}/checklist$"))
    assert problems == []


def _cancel_while_scrolled_down(page, phone, dispatcher, *, metronome_on: bool, arrived: bool = True):
    """On scene (or not yet, not `arrived`), on the checklist scrolled to its log (the metronome
    started or not), the CAD cancels. The cancel's notice, once shown."""
    incident_id, alert_id = on_scene(phone, dispatcher, arrived=arrived)
    page.goto(f"/#/alerts/{alert_id}/checklist")
    if metronome_on:
        page.get_by_role("button", name="Start metronome", exact=True).click()
        page.get_by_role("button", name="Stop metronome", exact=True).wait_for()
    page.locator("#log-heading").scroll_into_view_if_needed()
    assert page.evaluate("window.scrollY") > 300  # the notices at the top are out of view

    dispatcher.cancel(incident_id, "Ambulance crew took over.")
    notice = page.get_by_role("alert").filter(has_text="Incident cancelled: Ambulance crew took over.")
    notice.wait_for()
    return notice


def in_view(page, locator) -> bool:
    box = locator.bounding_box()
    return box is not None and 0 <= box["y"] < page.viewport_size["height"]


def test_a_cancel_during_cpr_is_brought_into_view_and_leaves_the_metronome_running(page, phone, dispatcher):
    """Found trying the product: the cancel's notice was at the top of the checklist, 570 px above
    the screen of a firefighter at the metronome. Found by the eleventh browser trial: the cancel
    stopped the metronome of a crew on scene, under the signed notice "If you are still doing CPR,
    carry on" (notices.call_ended_on_scene): it runs on, and they stop it themselves."""
    problems = watch_for_problems(page)
    notice = _cancel_while_scrolled_down(page, phone, dispatcher, metronome_on=True)
    page.wait_for_function("document.activeElement && document.activeElement.matches('.notice.danger')")
    assert in_view(page, notice)
    assert "If you are still doing CPR, carry on" in notice.inner_text()
    page.wait_for_timeout(500)
    assert page.get_by_role("button", name="Stop metronome", exact=True).is_visible(), "the cancel stopped it"
    assert notice.get_by_role("button", name="Restart metronome").count() == 0

    page.get_by_role("button", name="Stop metronome", exact=True).click()
    page.get_by_role("button", name="Start metronome", exact=True).wait_for()
    assert problems == []


def test_a_cancel_before_the_scene_stops_the_metronome_and_offers_to_restart_it(page, phone, dispatcher):
    """Someone who never reached the scene: the cancel stops a metronome started on the way. Found by
    a browser trial: accepted, on the checklist with nothing tapped, the checklist told him "If you
    are still doing CPR, carry on" (the signed notice for those on scene), his alert "You are not
    needed": both say he is not needed."""
    problems = watch_for_problems(page)
    notice = _cancel_while_scrolled_down(page, phone, dispatcher, metronome_on=True, arrived=False)
    page.get_by_role("button", name="Start metronome", exact=True).wait_for(timeout=10_000)  # the cancel stopped it
    focused = "() => document.activeElement && document.activeElement.matches('.notice.danger')"
    page.wait_for_function(focused, timeout=10_000)
    assert in_view(page, notice)
    assert "You are not needed." in notice.inner_text(timeout=10_000)
    assert "carry on" not in notice.inner_text(timeout=10_000)

    notice.get_by_role("button", name="Restart metronome").click()
    page.get_by_role("button", name="Stop metronome", exact=True).wait_for()
    assert notice.get_by_role("button", name="Restart metronome").count() == 0
    assert problems == []


def test_a_cancel_offers_no_restart_of_a_metronome_never_started(page, phone, dispatcher):
    problems = watch_for_problems(page)
    notice = _cancel_while_scrolled_down(page, phone, dispatcher, metronome_on=False)
    page.wait_for_function("document.activeElement && document.activeElement.matches('.notice.danger')")
    assert in_view(page, notice)
    assert notice.get_by_role("button").count() == 0
    assert page.get_by_role("button", name="Start metronome", exact=True).count() == 1
    assert problems == []


def test_a_declined_alert_of_an_open_incident_does_not_hide_the_forms_still_to_fill(page, phone, dispatcher):
    """Found by trying the product: home's "N forms to fill after calls" went whenever any alert was
    listed under Active alerts, a declined one of a still-open incident too. Only the job in
    progress and alerts waiting for an answer hold it back."""
    problems = watch_for_problems(page)
    incident_id, _alert_id = on_scene(phone, dispatcher)
    dispatcher.coordinator.post(f"/api/v1/incidents/{incident_id}/close/", {})
    responder_id = phone.request.get("/api/v1/me/").json()["responder"]["id"]
    another = dispatch_by_name(
        dispatcher,
        f"E2E-AFTER-{uuid.uuid4().hex[:8]}",
        NEAR_GREAT_YARMOUTH,
        "11 Regent Road, Great Yarmouth",
        responder_id,
    )
    [declined] = [alert["id"] for alert in another["alerts"] if alert["responder_id"] == responder_id]
    token = next(cookie["value"] for cookie in phone.cookies() if cookie["name"] == "csrftoken")
    answer = phone.request.post(
        f"/api/v1/alerts/{declined}/respond/",
        data={"response": "decline", "reason": "unavailable"},
        headers={"X-CSRFToken": token},
    )
    assert answer.ok, f"declining: {answer.status} {answer.text()}"

    page.goto("/")
    page.locator(".alert-list .alert-item-state").filter(has_text="Declined").wait_for()
    page.get_by_text(re.compile(r"^\d+ forms to fill after calls$")).wait_for(timeout=10000)
    assert problems == []
