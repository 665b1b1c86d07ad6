"""Found by the twelfth browser trial of the firefighters' app:

- En route with no signal, "On scene" was refused ("tap again") while the checklist's "At patient"
  and "CPR started" queued and were accepted later; the coordinator then cancelled, and the phone
  told someone doing CPR "You are not needed", the board "attended 0". A checklist tap of a crew
  going is now their arrival on the server, and the phone counts its own taps, sent or not.
- Tapping ON CALL with a live job showed no question until something else redrew home.
- "No signal: logging out needs a connection" stayed after the signal came back.
- A withdrawal ("Can't attend after all") was worded as a decline on the phone.
- The waiting-alert banner hid its buttons on a 360x740 phone.
- The checklist of someone else's alert worked, its taps refused."""

import re

from tests.e2e.helpers import log_in, watch_for_problems
from tests.e2e.test_phone_trial11 import alerted_by_name
from tests.e2e.test_two_incidents import respond, state_becomes

NEAR_GREAT_YARMOUTH = (52.6085, 1.7290)
NEAR_GORLESTON = (52.5780, 1.7230)
NEAR_WYMONDHAM = (52.5740, 1.1150)
NEAR_THETFORD = (52.4170, 0.7500)
NEAR_SHERINGHAM = (52.9430, 1.2100)
T = 10_000  # ms: every wait and tap below


def going(page, phone, dispatcher, username: str, address: str, where) -> tuple[int, int]:
    """Logged in, alerted by name, accepted and en route, the alert's screen open and live."""
    log_in(phone, username)
    incident_id, alert_id = alerted_by_name(phone, dispatcher, address, where)
    respond(phone, alert_id, "accept")
    respond(phone, alert_id, "en_route")
    page.goto(f"/#/alerts/{alert_id}", timeout=T)
    page.locator(".pill-live").wait_for(timeout=T)
    page.locator(".alert-state", has_text="En route.").wait_for(timeout=T)
    return incident_id, alert_id


def tap_the_checklist_offline(page, phone) -> None:
    """No signal: "On scene" is refused, saying the checklist records the arrival; the checklist's
    first two taps wait on the phone."""
    phone.set_offline(True)
    page.locator(".pill-offline").wait_for(timeout=T)
    page.get_by_role("button", name="On scene").click(timeout=T)
    page.locator(".alert-actions .notice").get_by_text("what you tap there records your arrival").wait_for(timeout=T)
    page.get_by_role("link", name="CPR checklist").click(timeout=T)
    grid = page.locator(".event-grid")
    for label in ("At patient", "CPR started"):
        grid.get_by_role("button", name=label).click(timeout=T)
    page.get_by_text("2 waiting to be sent").wait_for(timeout=T)


def test_checklist_taps_without_signal_make_the_crew_member_on_scene(page, phone, dispatcher):
    problems = watch_for_problems(page)
    where = ("3 Quay Road, Great Yarmouth", NEAR_GREAT_YARMOUTH)
    incident_id, alert_id = going(page, phone, dispatcher, "ff.great-yarmouth.3", *where)
    tap_the_checklist_offline(page, phone)

    phone.set_offline(False)
    page.locator("ul.log .sync-synced").nth(1).wait_for(timeout=T)
    assert state_becomes(phone, alert_id, "on_scene"), "the taps made them on scene"

    dispatcher.cancel(incident_id, "Ambulance crew took over")
    page.evaluate(f"location.hash = '#/alerts/{alert_id}'")
    head = page.locator(".alert-head")
    head.get_by_text("If you are still doing CPR, carry on").wait_for(timeout=T)
    assert "not needed" not in head.inner_text(timeout=T)
    incident = dispatcher.coordinator.get(f"/api/v1/incidents/{incident_id}/")
    assert incident["attended_count"] == 1, incident
    assert problems == []


def test_taps_not_yet_sent_still_spare_them_not_needed_and_keep_the_metronome(page, phone, dispatcher):
    problems = watch_for_problems(page)
    incident_id, alert_id = going(page, phone, dispatcher, "ff.gorleston.3", "7 High Road, Gorleston", NEAR_GORLESTON)
    page.route("**/api/v1/alerts/*/events/", lambda route: route.abort())  # the taps are never sent
    tap_the_checklist_offline(page, phone)
    page.get_by_role("button", name="Start CPR: metronome and timer").click(timeout=T)
    page.get_by_role("button", name="Stop metronome", exact=True).wait_for(timeout=T)
    phone.set_offline(False)
    page.locator(".pill-live").wait_for(timeout=T)

    dispatcher.cancel(incident_id, "Ambulance crew took over")
    page.locator(".notice").filter(has_text="Incident cancelled").first.wait_for(timeout=T)
    page.wait_for_timeout(500)
    assert page.get_by_role("button", name="Stop metronome", exact=True).is_visible(timeout=T), "the metronome runs on"
    page.evaluate(f"location.hash = '#/alerts/{alert_id}'")
    head = page.locator(".alert-head")
    head.get_by_text("If you are still doing CPR, carry on").wait_for(timeout=T)
    assert "not needed" not in head.inner_text(timeout=T)
    assert problems == []


def test_going_off_call_with_a_live_job_asks_at_once(page, phone, dispatcher):
    problems = watch_for_problems(page)
    going(page, phone, dispatcher, "ff.wymondham.1", "4 Market Street, Wymondham", NEAR_WYMONDHAM)
    page.get_by_role("link", name="Home").click(timeout=T)
    page.wait_for_url(re.compile(r"#/$"), timeout=T)
    page.get_by_role("button", name=re.compile(r"^ON CALL")).click(timeout=T)
    question = page.locator(".notice").filter(has_text="Going off call stops new alerts only")
    question.wait_for(timeout=T)
    assert "4 Market Street, Wymondham" in question.inner_text(timeout=T)
    question.get_by_role("button", name="Stay on call").click(timeout=T)
    question.wait_for(state="detached", timeout=T)
    assert page.get_by_role("button", name=re.compile(r"^ON CALL")).is_visible(timeout=T)
    assert problems == []


def test_the_no_signal_logout_refusal_goes_with_the_signal_back(page, phone, dispatcher):
    problems = watch_for_problems(page)
    going(page, phone, dispatcher, "ff.thetford.3", "6 Bridge Street, Thetford", NEAR_THETFORD)
    phone.set_offline(True)
    page.locator(".pill-offline").wait_for(timeout=T)
    page.evaluate("location.hash = '#/'")
    page.get_by_role("button", name="Log out").click(timeout=T)
    refusal = page.get_by_role("alert").filter(has_text="No signal: logging out needs a connection")
    refusal.wait_for(timeout=T)

    phone.set_offline(False)
    page.locator(".pill-live").wait_for(timeout=T)
    refusal.wait_for(state="detached", timeout=T)
    page.get_by_role("button", name="Log out").wait_for(timeout=T)
    assert problems == []


def test_a_withdrawal_is_worded_as_one(page, phone, dispatcher):
    problems = watch_for_problems(page)
    log_in(phone, "ff.sheringham.3")
    _, alert_id = alerted_by_name(phone, dispatcher, "2 Church Street, Sheringham", NEAR_SHERINGHAM)
    respond(phone, alert_id, "accept")
    page.goto(f"/#/alerts/{alert_id}", timeout=T)
    page.get_by_text("You accepted. Go now.").wait_for(timeout=T)
    page.get_by_role("button", name="Can't attend after all").click(timeout=T)
    page.get_by_role("heading", name="Why can't you attend?").wait_for(timeout=T)
    page.get_by_role("button", name="Other", exact=True).click(timeout=T)
    page.get_by_role("heading", name="Can't attend: other reason").wait_for(timeout=T)
    page.get_by_role("button", name="Back").click(timeout=T)
    page.get_by_role("button", name="No transport").click(timeout=T)
    page.locator(".alert-state", has_text="You withdrew after accepting (No transport).").wait_for(timeout=T)

    page.evaluate("location.hash = '#/'")
    item = page.locator(".alert-item", has_text="2 Church Street, Sheringham")
    item.get_by_text("Withdrew after accepting").wait_for(timeout=T)
    assert "Declined" not in item.inner_text(timeout=T)
    assert problems == []


def test_the_waiting_banner_shows_every_button_on_a_360_by_740_phone(page, phone, dispatcher):
    problems = watch_for_problems(page)
    page.set_viewport_size({"width": 360, "height": 740})
    log_in(phone, "ff.gorleston.2")
    _, job = alerted_by_name(phone, dispatcher, "20 Market Place, Great Yarmouth", NEAR_GREAT_YARMOUTH)
    respond(phone, job, "accept")
    respond(phone, job, "en_route")
    page.goto("/", timeout=T)  # no tap since: audio is locked, "Tap to sound alarm" shows
    page.wait_for_url(re.compile(rf"#/alerts/{job}$"), timeout=T)
    page.locator(".pill-live").wait_for(timeout=T)

    alerted_by_name(phone, dispatcher, "9 High Street, Gorleston", NEAR_GORLESTON)
    banner = page.locator(".other-alerts .other-alert")
    banner.get_by_text("9 High Street, Gorleston").wait_for(timeout=T)
    banner.get_by_role("button", name="Tap to sound alarm").wait_for(timeout=T)
    page.wait_for_timeout(300)
    shown = page.locator(".other-alerts-list").bounding_box(timeout=T)
    controls = banner.locator("a.btn, button")
    names = [controls.nth(index).inner_text(timeout=T) for index in range(controls.count())]
    assert names == ["Open", "Tap to sound alarm", "Dismiss"], names
    for index, name in enumerate(names):
        box = controls.nth(index).bounding_box(timeout=T)
        assert box["x"] >= 0 and box["x"] + box["width"] <= 360, (name, box)
        top, bottom = box["y"], box["y"] + box["height"]
        assert shown["y"] - 0.5 <= top and bottom <= shown["y"] + shown["height"] + 0.5, (name, box, shown)
        assert box["height"] >= 44, (name, box)
    assert problems == []


def test_the_checklist_of_an_alert_not_on_this_phone_is_not_shown(page, phone, dispatcher):
    problems = watch_for_problems(page)
    log_in(phone, "ff.sheringham.2")
    _, someone_elses = alerted_by_name(phone, dispatcher, "5 Beach Road, Sheringham", NEAR_SHERINGHAM)
    log_in(phone, "ff.sheringham.1")
    page.goto(f"/#/alerts/{someone_elses}/checklist", timeout=T)
    page.locator(".pill-live").wait_for(timeout=T)
    page.get_by_text("This alert is not on this phone.").wait_for(timeout=T)
    assert page.get_by_role("heading", name="Tap when it happens").is_visible(timeout=T) is False
    assert page.get_by_role("button", name=re.compile("metronome", re.I)).count() == 0
    assert page.locator(".event-grid button:visible").count() == 0
    page.evaluate("location.hash = '#/'")
    page.get_by_role("button", name="Log out").wait_for(timeout=T)
    assert page.get_by_text("refused by the server").count() == 0
    assert problems == []
