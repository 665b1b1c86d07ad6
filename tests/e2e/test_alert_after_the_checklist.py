"""Found by the ninth browser trial of the firefighters' app:

- A firefighter who did CPR on a call that control then cancelled (or closed) stayed on its CPR
  checklist; a new alert made no sound there, only a banner: the checklist held every new alert
  silent, whether or not its own job was still live. Going home started the alarm.
- The metronome a close leaves running (a clinician is asked whether it should stop) was still
  ticking on the way to the next job.
- On a 360x740 phone with two alerts waiting over a checklist, "1 more alert below" lay over the
  first banner's Open and Dismiss, which could not be tapped.
- A new alert's screen gave nothing the focus, and Tab went to "Silence alarm" before Accept."""

import re
import uuid

from playwright.sync_api import expect

from tests.e2e.helpers import log_in, watch_for_problems
from tests.e2e.test_two_incidents import dispatch_by_name, respond, state_becomes

NEAR_GREAT_YARMOUTH = (52.6085, 1.7290)
NEAR_GORLESTON = (52.5785, 1.7225)


def alerted_by_name(phone, dispatcher, address: str, where=NEAR_GREAT_YARMOUTH) -> tuple[int, int]:
    """An incident whose coordinator alerts this one firefighter by name: (its id, the alert's id)."""
    responder_id = phone.request.get("/api/v1/me/").json()["responder"]["id"]
    incident = dispatch_by_name(dispatcher, f"E2E-T9-{uuid.uuid4().hex[:8]}", where, address, responder_id)
    [alert_id] = [alert["id"] for alert in incident["alerts"] if alert["responder_id"] == responder_id]
    return incident["id"], alert_id


def doing_cpr(page, phone, dispatcher, username: str, address: str) -> tuple[int, int]:
    """Logged in, on scene (answers through the API, as the app sends them) and on the checklist
    with the metronome going: audio is unlocked by that tap. (The incident's id, the alert's id.)"""
    log_in(phone, username)
    incident_id, alert_id = alerted_by_name(phone, dispatcher, address)
    respond(phone, alert_id, "accept")
    respond(phone, alert_id, "on_scene")
    page.goto(f"/#/alerts/{alert_id}/checklist")
    page.locator(".pill-live").wait_for()
    page.get_by_role("button", name="Start CPR: metronome and timer").click()
    page.get_by_role("button", name="Stop metronome", exact=True).wait_for()
    assert page.evaluate("async () => (await import('/app/audio.js')).audioUnlocked()"), "audio not unlocked"
    return incident_id, alert_id


def test_a_new_alert_sounds_on_the_checklist_once_its_call_is_cancelled(page, phone, dispatcher):
    problems = watch_for_problems(page)
    incident_id, alert_id = doing_cpr(page, phone, dispatcher, "ff.great-yarmouth.1", "4 Regent Road, Great Yarmouth")

    # While the job is live, the checklist keeps a new alert to its banner, without the alarm.
    alerted_by_name(phone, dispatcher, "21 Southtown Road, Great Yarmouth")
    banner = page.locator(".other-alerts .other-alert")
    banner.get_by_text("21 Southtown Road, Great Yarmouth").wait_for()
    page.wait_for_timeout(500)
    assert banner.get_by_role("button", name="Silence alarm").count() == 0, "the alarm sounded over CPR"

    # Control cancels the call: the alert waiting now sounds, though the checklist is still shown.
    dispatcher.cancel(incident_id, "Ambulance crew took over.")
    page.get_by_role("alert").filter(has_text="Incident cancelled: Ambulance crew took over.").wait_for()
    banner.get_by_role("button", name="Silence alarm").wait_for()
    assert re.search(rf"#/alerts/{alert_id}/checklist$", page.url)
    banner.get_by_role("button", name="Silence alarm").click()
    banner.get_by_role("button", name="Silence alarm").wait_for(state="detached")
    assert problems == []


def test_after_a_close_a_new_alert_sounds_and_accepting_it_stops_the_old_metronome(page, phone, dispatcher):
    problems = watch_for_problems(page)
    incident_id, alert_id = doing_cpr(page, phone, dispatcher, "ff.gorleston.2", "8 Lowestoft Road, Gorleston")
    dispatcher.coordinator.post(f"/api/v1/incidents/{incident_id}/close/", {})
    page.get_by_role("alert").filter(has_text=re.compile(r"Incident closed by control at \d\d:\d\d\.")).wait_for()
    page.wait_for_timeout(500)
    assert page.get_by_role("button", name="Stop metronome", exact=True).is_visible(), "a close leaves it running"

    # A new alert on the checklist of the closed call sounds the alarm.
    _, next_alert = alerted_by_name(phone, dispatcher, "30 High Street, Gorleston", NEAR_GORLESTON)
    banner = page.locator(".other-alerts .other-alert")
    banner.get_by_role("button", name="Silence alarm").wait_for()

    # Accepting it, the firefighter leaves the closed call's scene: its metronome stops.
    banner.get_by_role("link", name="Open").click()
    page.wait_for_url(re.compile(rf"#/alerts/{next_alert}$"))
    page.locator("#metronome-chip").get_by_text("Metronome running").wait_for()  # still, until the answer
    page.get_by_role("button", name="ACCEPT: I'm going").click()
    page.get_by_text("You accepted. Go now.").wait_for()
    page.locator("#metronome-chip").wait_for(state="hidden")
    page.goto(f"/#/alerts/{alert_id}/checklist")
    page.get_by_role("button", name="Start metronome", exact=True).wait_for()
    assert problems == []


def test_more_alerts_below_never_covers_a_banner_s_buttons_on_a_small_phone(page, phone, dispatcher):
    problems = watch_for_problems(page)
    page.set_viewport_size({"width": 360, "height": 740})
    doing_cpr(page, phone, dispatcher, "ff.great-yarmouth.2", "2 Regent Road, Great Yarmouth NR30 2AF")
    for address in ("Southtown Road, Great Yarmouth NR31 0JJ", "Northgate Street, Great Yarmouth NR30 1BP"):
        alerted_by_name(phone, dispatcher, address)
    banners = page.locator(".other-alerts .other-alert")
    banners.nth(1).wait_for()
    more = page.get_by_role("button", name="1 more alert below")
    more.wait_for()

    # Scrolled through, as a finger would, no button of a banner in view is under anything else.
    covered = page.evaluate(
        """async () => {
          const frame = () => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)));
          const banner = document.querySelector(".other-alert");
          let scroller = banner.parentElement;
          while (scroller && !(scroller.scrollHeight > scroller.clientHeight + 1)) scroller = scroller.parentElement;
          const covered = [];
          for (let top = 0; top <= scroller.scrollHeight - scroller.clientHeight + 10; top += 10) {
            scroller.scrollTop = top;
            await frame();
            const view = scroller.getBoundingClientRect();
            for (const button of document.querySelectorAll(".other-alert .btn")) {
              const box = button.getBoundingClientRect();
              const [x, y] = [box.x + box.width / 2, box.y + box.height / 2];
              if (y < view.top || y > view.bottom) continue; // scrolled out of the stack's view
              if (!button.contains(document.elementFromPoint(x, y))) covered.push(`${button.textContent} at ${top}`);
            }
          }
          scroller.scrollTop = 0;
          return covered;
        }"""
    )
    assert covered == [], f"covered: {covered}"
    first = banners.first
    first.get_by_role("button", name="Dismiss").click()
    banners.nth(1).wait_for(state="detached")
    assert problems == []


def test_a_new_alert_s_screen_gives_accept_the_focus(page, phone, dispatcher):
    problems = watch_for_problems(page)
    log_in(phone, "ff.gorleston.3")
    page.goto("/")
    page.locator(".pill-live").wait_for()
    _, alert_id = alerted_by_name(phone, dispatcher, "5 Church Road, Gorleston", NEAR_GORLESTON)
    page.wait_for_url(re.compile(rf"#/alerts/{alert_id}$"))
    accept = page.get_by_role("button", name="ACCEPT: I'm going")
    expect(accept).to_be_focused()
    # Still there once the alert is acknowledged (the screen's heading is redrawn then).
    assert state_becomes(phone, alert_id, "received")
    page.wait_for_timeout(300)
    expect(accept).to_be_focused(timeout=500)
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Decline", exact=True)).to_be_focused()
    assert problems == []
