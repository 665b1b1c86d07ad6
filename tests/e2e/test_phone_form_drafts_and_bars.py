"""Found by a browser trial of the firefighters' app on a 390x844 phone:

- An attendance form half filled in (call sign 21P1, role Driver, "Left scene" corrected, a message
  showing) was blank again after a new alert was opened and accepted. What is typed is kept on the
  phone until sent or discarded (tests/js/form-typed-answers.test.mjs), through a reload too.
- "The metronome stopped when the app reloaded — Restart / Dismiss", fixed at the foot of the
  screen, lay over the form's "Your role", and stayed once the firefighter had left the scene
  (tests/js/metronome-offer-after-the-scene.test.mjs has the rule).
- With two alerts waiting, "1 more alert below ↓" covered the second banner's address."""

import re
import uuid

from tests.e2e.helpers import log_in, watch_for_problems
from tests.e2e.test_two_incidents import dispatch_by_name, respond

NEAR_NORTH_WALSHAM = (52.8200, 1.3900)
NEAR_KINGS_LYNN = (52.7560, 0.4100)
NEAR_GREAT_YARMOUTH = (52.6100, 1.7300)
RELOADED = "The metronome stopped when the app reloaded"


def alerted(phone, dispatcher, address: str, where) -> tuple[int, int]:
    """An incident whose coordinator alerts the logged-in firefighter by name: (its id, the alert's id)."""
    responder_id = phone.request.get("/api/v1/me/").json()["responder"]["id"]
    incident = dispatch_by_name(dispatcher, f"E2E-DRAFT-{uuid.uuid4().hex[:8]}", where, address, responder_id)
    [alert_id] = [alert["id"] for alert in incident["alerts"] if alert["responder_id"] == responder_id]
    return incident["id"], alert_id


def role(page, answer: str):
    return page.get_by_role("group", name="Your role", exact=True).get_by_role("radio", name=answer, exact=True)


def test_a_half_filled_form_is_kept_through_a_new_alert_and_a_reload_until_sent(page, phone, dispatcher):
    problems = watch_for_problems(page)
    log_in(phone, "ff.north-walsham.3")
    _, alert_id = alerted(phone, dispatcher, "3 Market Place, North Walsham", NEAR_NORTH_WALSHAM)
    for answer in ("accept", "on_scene", "cleared"):
        respond(phone, alert_id, answer)
    page.goto(f"/#/alerts/{alert_id}/forms/attendance")
    form = page.locator("form#record-form")
    form.wait_for()
    page.locator(".pill-live").wait_for()
    left_scene = page.get_by_label("Left scene", exact=True)
    assert left_scene.input_value(), "the estimate from when they left"
    page.get_by_label("Appliance call sign").fill("21P1")
    role(page, "Driver").check()
    # A message showing: "Left scene" corrected to before they were on scene, and the form sent.
    left_scene.fill("2026-01-01T12:41:07")
    page.get_by_role("button", name="Submit attendance form").click()
    error = page.locator("#err-left_scene_at")
    error.wait_for()
    message = error.inner_text()
    assert message

    # A new alert: opened from its banner, and accepted.
    _, new_alert = alerted(phone, dispatcher, "5 Market Place, North Walsham", NEAR_NORTH_WALSHAM)
    banner = page.locator(".other-alerts .other-alert")
    banner.get_by_role("link", name="Open").click()
    page.wait_for_url(re.compile(rf"#/alerts/{new_alert}$"))
    page.get_by_role("button", name="ACCEPT: I'm going").click()
    page.get_by_text("You accepted. Go now.").wait_for()

    def still_filled(where: str) -> None:
        form.wait_for()
        page.get_by_label("Appliance call sign").wait_for()
        assert page.get_by_label("Appliance call sign").input_value() == "21P1", where
        assert role(page, "Driver").is_checked(), where
        assert page.get_by_label("Left scene", exact=True).input_value() == "2026-01-01T12:41:07", where
        assert error.inner_text() == message, where

    page.evaluate(f"location.hash = '#/alerts/{alert_id}/forms/attendance'")
    still_filled("back from the new alert")
    page.reload()
    still_filled("after a reload")

    page.get_by_role("button", name="Clear time: Left scene").click()
    attended = page.get_by_role("group", name="Did you attend this incident?", exact=True)
    attended.get_by_role("radio", name="Yes", exact=True).check()
    page.get_by_role("button", name="Submit attendance form").click()
    page.get_by_text("Sent and accepted (version 1)").wait_for()
    record = phone.request.get(f"/api/v1/alerts/{alert_id}/attendance/").json()["record"]
    assert (record["appliance"], record["role"]) == ("21P1", "driver")
    # Sent: nothing typed is kept any more; a change starts from the record.
    page.reload()
    page.get_by_text("Sent and accepted (version 1)").wait_for()
    assert page.get_by_role("button", name="Change this record").is_visible()
    kept = page.evaluate(
        """() => new Promise((resolve) => {
            const open = indexedDB.open("coresponder");
            open.onsuccess = () => {
              const all = open.result.transaction("kv").objectStore("kv").getAllKeys();
              all.onsuccess = () => resolve(all.result.filter((key) => String(key).startsWith("form-draft:")));
            };
        })"""
    )
    assert kept == []
    assert problems == []


def test_the_metronome_s_offer_covers_nothing_and_goes_once_the_firefighter_has_left_the_scene(page, phone, dispatcher):
    problems = watch_for_problems(page)
    log_in(phone, "ff.kings-lynn.3")
    _, alert_id = alerted(phone, dispatcher, "7 Tuesday Market Place, King's Lynn", NEAR_KINGS_LYNN)
    respond(phone, alert_id, "accept")
    respond(phone, alert_id, "on_scene")
    page.goto(f"/#/alerts/{alert_id}/checklist")
    page.locator(".pill-live").wait_for()
    page.get_by_role("button", name="Start metronome", exact=True).click()
    page.get_by_role("button", name="Stop metronome", exact=True).wait_for()
    page.reload()
    page.get_by_role("heading", name="Tap when it happens").wait_for()

    page.evaluate(f"location.hash = '#/alerts/{alert_id}/forms/attendance'")
    page.locator("form#record-form").wait_for()
    chip = page.locator("#metronome-chip")
    chip.get_by_text(RELOADED).wait_for()
    page.wait_for_timeout(300)  # the room under the page follows the bar's size (a ResizeObserver)

    def uncovered(locator, where: str) -> None:
        box, bar = locator.bounding_box(), chip.bounding_box()
        assert box["y"] + box["height"] <= bar["y"] + 0.5, (
            f"{where}: ends at {box['y'] + box['height']}, the bar at {bar['y']}"
        )

    # "Your role" brought into view as a focus would: above the bar, not under it.
    group = page.get_by_role("group", name="Your role", exact=True)
    group.evaluate("(group) => group.scrollIntoView({block: 'end'})")
    uncovered(group, "Your role")
    # The foot of the page can be scrolled above the bar.
    page.evaluate("() => window.scrollTo(0, document.documentElement.scrollHeight)")
    uncovered(page.get_by_role("link", name="Back to the forms"), "the page's last link")

    # Left the scene: the offer goes (the page's room with it).
    respond(phone, alert_id, "cleared")
    chip.wait_for(state="hidden", timeout=10_000)
    page.wait_for_function("() => document.getElementById('app').style.paddingBottom === ''", timeout=5000)
    page.reload()
    page.locator("form#record-form").wait_for()
    page.wait_for_timeout(500)
    assert chip.is_hidden(), "not offered again after a reload"
    assert problems == []


def test_more_alerts_below_covers_no_banner_s_text(page, phone, dispatcher):
    problems = watch_for_problems(page)
    log_in(phone, "ff.great-yarmouth.3")
    alert_ids = [
        alerted(phone, dispatcher, f"{number} Regent Road, Great Yarmouth", NEAR_GREAT_YARMOUTH)[1]
        for number in (11, 13, 15)
    ]
    page.goto(f"/#/alerts/{alert_ids[0]}")
    page.wait_for_url(re.compile(rf"#/alerts/{alert_ids[0]}$"))
    banners = page.locator(".other-alerts .other-alert")
    banners.nth(1).wait_for()
    assert banners.count() == 2
    more = page.locator(".other-alerts-more")
    more.wait_for()
    page.wait_for_timeout(300)
    # Every line of the banners' text as it shows (cut where the list scrolls) against the button.
    overlaps = page.evaluate(
        """() => {
            const button = document.querySelector(".other-alerts-more").getBoundingClientRect();
            const list = document.querySelector(".other-alerts-list").getBoundingClientRect();
            const found = [];
            for (const line of document.querySelectorAll(".other-alert p")) {
              const range = document.createRange();
              range.selectNodeContents(line);
              for (const box of range.getClientRects()) {
                const top = Math.max(box.top, list.top), bottom = Math.min(box.bottom, list.bottom);
                if (bottom <= top) continue; // scrolled out of the list's view
                const across = box.right > button.left && box.left < button.right;
                if (across && bottom > button.top + 0.5 && top < button.bottom - 0.5) {
                  found.push(`${line.textContent} [${top}-${bottom}] under [${button.top}-${button.bottom}]`);
                }
              }
            }
            return found;
        }"""
    )
    assert overlaps == []
    # The text of a banner shown in part is not cut mid-line above the button either.
    cut = page.evaluate(
        """() => {
            const list = document.querySelector(".other-alerts-list").getBoundingClientRect();
            const found = [];
            for (const line of document.querySelectorAll(".other-alert p")) {
              for (const box of line.getClientRects()) {
                if (box.top < list.bottom - 0.5 && box.bottom > list.bottom + 0.5) found.push(line.textContent);
              }
            }
            return found;
        }"""
    )
    assert cut == [], "a line of text cut by the foot of the list"
    more.click()
    page.wait_for_function("() => document.querySelector('.other-alerts-more').hidden", timeout=5000)
    assert problems == []
