"""The after-call forms in the app: an outcome form filled in and submitted without signal survives
a reload, is sent once the signal is back, is stored by the server exactly once, and the app then
shows it as accepted; a message from the server's validation is shown next to its field; the crew's
outcome form is not offered to a crew member who does not fill it in; a submitted form is changed
with a reason; answers typed on a phone that lost the race to submit a form are kept and can be
sent as a change."""

import datetime
import re
import time
import uuid
from zoneinfo import ZoneInfo

from playwright.sync_api import expect

from tests.e2e.conftest import PHONE, ApiUser
from tests.e2e.helpers import accept_new_alert, log_in, watch_for_problems

CREW_LEAD = "ff.gorleston.1"  # a crew lead (demo data: each station's firefighter no. 1)
NEAR_GORLESTON = (52.5790, 1.7230)
FIREFIGHTER = "ff.north-walsham.2"
NEAR_NORTH_WALSHAM = (52.8210, 1.3880)
CHANGER = "ff.great-yarmouth.2"
NEAR_GREAT_YARMOUTH = (52.6100, 1.7280)

OUTCOMES_OF_INCIDENT = """
from backend.records.models import Outcome
print([(o.version, o.crew_shocks, o.rosc_at_handover) for o in Outcome.objects.filter(incident_id={incident_id})])
"""


def choose(page, question: str, answer: str) -> None:
    """Tick an answer in a group of choices, found as a firefighter with a screen reader would."""
    page.get_by_role("group", name=question, exact=True).get_by_role("radio", name=answer, exact=True).check()


def test_outcome_submitted_offline_survives_a_reload_and_reaches_the_server_once(phone, server, dispatcher):
    log_in(phone, CREW_LEAD)
    page = phone.new_page()
    problems = watch_for_problems(page)
    page.goto("/")
    page.locator(".pill-live").wait_for()
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    incident, alert_id = accept_new_alert(phone, dispatcher, "E2E-FORMS-1", NEAR_GORLESTON, "6 Form Street, Gorleston")
    # On scene, so the crew's outcome is owed, by this crew lead: with nobody of the crew on scene
    # the page turns to "Not needed" once the form is read, and the click raced that (CI).
    ApiUser(server.url, CREW_LEAD).post(f"/api/v1/alerts/{alert_id}/respond/", {"response": "on_scene"})

    page.goto(f"/#/alerts/{alert_id}/forms")
    outcome_card = page.locator(".form-list li[data-kind='outcome']")
    outcome_card.locator(".status-not_started").wait_for()
    outcome_card.get_by_role("link", name="Fill in: outcome form").click()
    page.wait_for_url(re.compile(rf"#/alerts/{alert_id}/forms/outcome$"))
    page.locator("form#record-form").wait_for()

    phone.set_offline(True)
    page.locator(".pill-offline").wait_for()
    choose(page, "Was resuscitation attempted?", "Yes")
    choose(page, "Where was the patient?", "Home or residence")
    choose(page, "Who witnessed the collapse?", "Bystander")
    choose(page, "Bystander CPR", "Yes")
    choose(page, "Dispatcher-assisted CPR", "No")
    choose(page, "Public-access defibrillator applied", "No")
    choose(page, "Chest compressions by the crew", "Yes")
    choose(page, "Ventilation", "Bag-valve-mask")
    choose(page, "Crew's defibrillator applied", "Yes")
    choose(page, "First rhythm (as the defibrillator classed it)", "Shock advised")
    page.get_by_label("Shocks given by the crew").fill("2")
    choose(page, "ROSC at any time", "Yes")
    choose(page, "ROSC at handover", "Yes")
    choose(page, "Age band", "55 to 74")
    choose(page, "Sex", "Female")
    page.get_by_role("button", name="Submit outcome form").click()
    page.get_by_text("Saved on this phone, not sent yet.").wait_for()

    page.reload()  # still offline: the shell from the service worker, the form from IndexedDB
    page.get_by_text("Saved on this phone, not sent yet.").wait_for()
    page.get_by_role("link", name="Back to the forms").click()
    outcome_card.locator(".status-pending").wait_for()

    phone.set_offline(False)
    outcome_card.locator(".status-accepted").wait_for()
    assert outcome_card.locator(".form-status").inner_text() == "Version 1"  # "Accepted" is the chip's

    stored = server.manage("shell", "-c", OUTCOMES_OF_INCIDENT.format(incident_id=int(incident["id"])))
    assert stored.strip().splitlines()[-1] == "[(1, 2, True)]", "exactly one outcome, as submitted"
    record = ApiUser(server.url, CREW_LEAD).get(f"/api/v1/alerts/{alert_id}/outcome/")["record"]
    assert (record["version"], record["crew_shocks"], record["first_rhythm"]) == (1, 2, "shock_advised")
    assert problems == []


def test_a_message_from_the_server_is_shown_next_to_its_field_and_the_outcome_is_the_crew_leads(
    phone, server, dispatcher
):
    log_in(phone, FIREFIGHTER)
    _, alert_id = accept_new_alert(phone, dispatcher, "E2E-FORMS-2", NEAR_NORTH_WALSHAM, "7 Form Street, North Walsham")
    page = phone.new_page()
    problems = watch_for_problems(page)
    page.goto(f"/#/alerts/{alert_id}/forms/attendance")
    page.locator("form#record-form").wait_for()

    # The day before the incident: the phone cannot know when the incident began, the server can.
    yesterday = datetime.datetime.now(ZoneInfo(PHONE["timezone_id"])) - datetime.timedelta(days=1)
    choose(page, "Did you attend this incident?", "Yes")
    page.get_by_label("Mobile", exact=True).fill(yesterday.strftime("%Y-%m-%dT%H:%M:%S"))
    page.get_by_role("button", name="Submit attendance form").click()

    mobile = page.locator("#f-mobile_at")
    message = page.locator("#err-mobile_at")
    message.wait_for()
    expected = server_message(
        server, alert_id, {"attended": True, "mobile_at": yesterday.isoformat(timespec="seconds")}
    )
    assert message.inner_text() == " ".join(expected)
    assert mobile.get_attribute("aria-invalid") == "true"
    assert "err-mobile_at" in mobile.get_attribute("aria-describedby").split()
    assert page.evaluate("document.activeElement.id") == "f-mobile_at", "focus goes to the field at fault"
    page.get_by_text("The server did not accept this form").wait_for()

    page.get_by_role("link", name="Back to the forms").click()
    page.locator(".form-list li[data-kind='attendance'] .status-attention").wait_for()

    # Not a crew lead, and nobody of the crew attended: the page says the crew's outcome form is
    # not needed, as the forms list does; nothing submitted, so nothing offered to read (the
    # eleventh trial), and its page, opened, says so and offers no form to submit.
    page.locator(".form-list li[data-kind='outcome'] .status-not_needed").wait_for()
    expect(page.locator(".form-list li[data-kind='outcome'] a")).to_have_count(0, timeout=10_000)
    page.goto(f"/#/alerts/{alert_id}/forms/outcome")
    page.get_by_text("Not needed: nobody of your crew attended.").wait_for()
    page.get_by_text("Nothing has been submitted.").wait_for()
    assert page.locator("form#record-form").count() == 0
    assert problems == []


def server_message(server, alert_id: int, body: dict) -> list[str]:
    """What the server says about the mobile time of this (refused) attendance form."""
    user = ApiUser(server.url, FIREFIGHTER)
    response = user.http.post(
        f"{server.url}/api/v1/alerts/{alert_id}/attendance/",
        json={"idempotency_key": str(uuid.uuid4()), **body},
        headers={"X-CSRFToken": user.http.cookies["csrftoken"]},
        timeout=10,
    )
    assert response.status_code == 400, response.text
    return response.json()["error"]["fields"]["mobile_at"]


def test_a_submitted_form_is_changed_with_a_reason(phone, server, dispatcher):
    log_in(phone, CHANGER)
    _, alert_id = accept_new_alert(
        phone, dispatcher, "E2E-FORMS-3", NEAR_GREAT_YARMOUTH, "8 Form Street, Great Yarmouth"
    )
    page = phone.new_page()
    problems = watch_for_problems(page)
    page.goto(f"/#/alerts/{alert_id}/forms/attendance")
    page.locator("form#record-form").wait_for()
    choose(page, "Did you attend this incident?", "Yes")
    page.get_by_role("button", name="Submit attendance form").click()
    page.get_by_text("Sent and accepted (version 1)").wait_for()

    page.get_by_role("button", name="Change this record").click()
    page.get_by_label("Appliance call sign").fill("21P1")
    page.get_by_role("button", name="Save changes").click()
    reason = page.get_by_label("Why are you changing this record?")
    assert page.locator("#err-reason").inner_text() == "Say why you are changing this record."
    assert page.evaluate("document.activeElement.id") == "f-reason"
    reason.fill("Wrong appliance at first.")
    page.get_by_role("button", name="Save changes").click()
    page.get_by_text("Sent and accepted (version 2)").wait_for()

    record = ApiUser(server.url, CHANGER).get(f"/api/v1/alerts/{alert_id}/attendance/")["record"]
    assert (record["version"], record["appliance"], record["attended"]) == (2, "21P1", True)
    assert problems == []


def test_answers_from_a_phone_that_was_beaten_to_it_are_kept_and_sent_as_a_change(phone, server, dispatcher):
    log_in(phone, CHANGER)
    _, alert_id = accept_new_alert(
        phone, dispatcher, "E2E-FORMS-4", NEAR_GREAT_YARMOUTH, "10 Form Street, Great Yarmouth"
    )
    page = phone.new_page()
    problems = watch_for_problems(page)
    page.goto(f"/#/alerts/{alert_id}/forms/welfare")
    page.locator("form#record-form").wait_for()

    phone.set_offline(True)
    page.locator(".pill-offline").wait_for()
    choose(page, "How affected do you feel by this call?", "4: quite a lot")
    page.get_by_label("Notes", exact=True).fill("Typed on this phone.")
    page.get_by_role("button", name="Submit welfare check-in form").click()
    page.get_by_text("Saved on this phone, not sent yet.").wait_for()
    # Meanwhile the same firefighter's other phone submits the check-in first.
    ApiUser(server.url, CHANGER).post(
        f"/api/v1/alerts/{alert_id}/welfare/", {"idempotency_key": str(uuid.uuid4()), "impact": 1}
    )

    phone.set_offline(False)
    draft = page.get_by_role("status").filter(has_text="Your phone had different answers that were not sent")
    draft.wait_for()
    status = page.locator(".notice.ok").inner_text()
    assert "version 1" in status and "You can change it at any time." in status
    assert "ask a coordinator" not in page.locator("main").inner_text().lower(), "a welfare check-in is never locked"

    draft.get_by_role("button", name="Use my answers as a change").click()
    group = page.get_by_role("group", name="How affected do you feel by this call?", exact=True)
    assert group.get_by_role("radio", name="4: quite a lot", exact=True).is_checked()
    assert page.get_by_label("Notes", exact=True).input_value() == "Typed on this phone."
    page.get_by_label("Why are you changing this record?").fill("Answers from my other phone.")
    page.get_by_role("button", name="Save changes").click()
    page.get_by_text("Sent and accepted (version 2)").wait_for()
    assert page.get_by_text("Your phone had different answers").count() == 0

    record = ApiUser(server.url, CHANGER).get(f"/api/v1/alerts/{alert_id}/welfare/")["record"]
    assert (record["version"], record["impact"], record["notes"]) == (2, 4, "Typed on this phone.")
    assert problems == []


CAD_TIMES_OF = """
from backend.records.models import Outcome
o = Outcome.objects.get(incident_id={incident_id})
print((o.presumed_cause, o.first_shock_by))
"""


def test_the_cads_times_show_read_only_and_stay_offline_with_the_utstein_items(phone, server, dispatcher):
    """The CAD sends its times (its token); the crew lead's outcome form shows them, read-only,
    also after a reload without signal; the new Utstein items are answered and stored."""
    import requests

    log_in(phone, CREW_LEAD)
    page = phone.new_page()
    problems = watch_for_problems(page)
    page.goto("/")
    page.locator(".pill-live").wait_for()
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    incident, alert_id = accept_new_alert(
        phone, dispatcher, "E2E-FORMS-CAD", NEAR_GORLESTON, "8 Form Street, Gorleston"
    )
    call = datetime.datetime.now(datetime.UTC).replace(microsecond=0) - datetime.timedelta(minutes=3)
    response = requests.post(
        f"{server.url}/api/v1/incidents/{incident['id']}/cad-times/",
        json={"call_received_at": call.isoformat()},
        headers={"Authorization": f"Token {dispatcher.cad_token}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text

    page.goto(f"/#/alerts/{alert_id}/forms/outcome")
    page.locator("form#record-form").wait_for()
    shown = page.locator("section.cad-times")
    expected = call.astimezone(ZoneInfo("Europe/London")).strftime("%H:%M:%S")
    assert expected in shown.inner_text() and "Not sent yet" in shown.inner_text()
    assert shown.locator("input").count() == 0, "the CAD's times are not typed by the crew"

    phone.set_offline(True)
    page.locator(".pill-offline").wait_for()
    page.reload()
    page.locator("form#record-form").wait_for()
    assert expected in page.locator("section.cad-times").inner_text()
    choose(page, "Was resuscitation attempted?", "Yes")
    choose(page, "Presumed cause", "Drowning")
    choose(page, "First to give a shock", "Nobody")
    page.get_by_role("button", name="Submit outcome form").click()
    page.get_by_text("Saved on this phone, not sent yet.").wait_for()
    phone.set_offline(False)
    page.get_by_role("link", name="Back to the forms").click()
    page.locator(".form-list li[data-kind='outcome'] .status-accepted").wait_for()
    stored = server.manage("shell", "-c", CAD_TIMES_OF.format(incident_id=int(incident["id"])))
    assert stored.strip().splitlines()[-1] == "('drowning', 'nobody')"
    assert problems == []


def test_a_card_whose_status_did_not_change_keeps_its_link_while_the_others_update(phone, server, dispatcher):
    """The forms list is drawn from the phone, then again as the server's answers arrive. A card that
    did not change must keep its element: a tap on its link while another card is redrawn was lost
    when the whole list was replaced between the press and the release (a CI run under load)."""
    log_in(phone, CHANGER)
    _, alert_id = accept_new_alert(
        phone, dispatcher, "E2E-FORMS-5", NEAR_GREAT_YARMOUTH, "12 Form Street, Great Yarmouth"
    )
    firefighter = ApiUser(server.url, CHANGER)
    response = firefighter.http.post(
        f"{server.url}/api/v1/alerts/{alert_id}/attendance/",
        json={"idempotency_key": str(uuid.uuid4()), "attended": True},
        headers={"X-CSRFToken": firefighter.http.cookies["csrftoken"]},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    page = phone.new_page()
    problems = watch_for_problems(page)
    held = []  # the server's answer about the attendance form, held until the list is drawn
    page.route(f"**/api/v1/alerts/{alert_id}/attendance/", lambda route: held.append(route))

    page.goto(f"/#/alerts/{alert_id}/forms")
    page.locator(".form-list li[data-kind='attendance'] .status-not_started").wait_for()
    # Taken once the phone knows the forms are owed (before, each says "Checking…": the eleventh trial).
    page.locator(".form-list li[data-kind='welfare'] .status-not_started").wait_for()
    welfare_link = page.locator(".form-list li[data-kind='welfare'] a").element_handle()
    for _ in range(200):  # Playwright hands the held request over while it runs: let it run
        if held:
            break
        page.wait_for_timeout(50)
    assert len(held) == 1, "the attendance form was asked for once"
    held[0].continue_()
    page.locator(".form-list li[data-kind='attendance'] .status-accepted").wait_for()

    assert welfare_link.evaluate("link => link.isConnected"), "the unchanged welfare card was redrawn"
    page.unroute(f"**/api/v1/alerts/{alert_id}/attendance/")
    assert problems == []


def test_the_outcome_form_of_a_cancelled_incident_names_the_crew_who_were_on_scene(phone, server, dispatcher):
    """Found by trying the product: the CAD cancels while the crew is on scene, which ends every
    alert as "cancelled"; the crew lead's outcome form then offered nobody as crew, and showed its
    prefilled crew lead as "Firefighter 10". Those who were on scene are offered, by name."""
    log_in(phone, CREW_LEAD)
    incident, alert_id = accept_new_alert(
        phone, dispatcher, f"E2E-FORMS-CANCEL-{uuid.uuid4().hex[:6]}", NEAR_GORLESTON, "8 Form Street, Gorleston"
    )
    lead = ApiUser(server.url, CREW_LEAD)
    for response in ("en_route", "on_scene"):
        lead.post(f"/api/v1/alerts/{alert_id}/respond/", {"response": response})
    name = lead.get(f"/api/v1/alerts/{alert_id}/")["responder_name"]
    dispatcher.cancel(incident["id"], "Ambulance crew took over.")
    assert lead.get(f"/api/v1/alerts/{alert_id}/")["state"] == "cancelled"

    page = phone.new_page()
    problems = watch_for_problems(page)
    page.goto(f"/#/alerts/{alert_id}/forms/outcome")
    page.locator("form#record-form").wait_for()
    crew = page.get_by_role("group", name="Crew", exact=True)
    expect(crew.get_by_role("checkbox", name=name, exact=True)).to_be_checked()
    expect(crew.get_by_text(re.compile(r"^Firefighter \d+$"))).to_have_count(0)
    assert problems == []


# Whether this phone keeps each of `keys` in its kv store (pwa/app/idb.js): the forms and crew kept
# for use without signal (pwa/app/outbox.js keepOwedForms). The app has opened the database by then.
KEPT_ON_THE_PHONE = """async (keys) => {
  const db = await new Promise((resolve, reject) => {
    const request = indexedDB.open("coresponder");
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  try {
    const kv = db.transaction("kv").objectStore("kv");
    const found = await Promise.all(keys.map((key) => new Promise((resolve) => {
      const request = kv.get(key);
      request.onsuccess = () => resolve(request.result !== undefined);
      request.onerror = () => resolve(false);
    })));
    return found.every(Boolean);
  } finally {
    db.close();
  }
}"""


def wait_until_kept(page, keys: list[str], timeout_s: float = 15) -> None:
    """Until the phone keeps all of `keys` (wait_for_function does not wait for a promise)."""
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(KEPT_ON_THE_PHONE, keys):
        assert time.monotonic() < deadline, f"not kept on the phone: {keys}"
        page.wait_for_timeout(200)


def test_the_forms_of_a_call_that_ended_open_without_signal_with_the_crew_by_name(phone, server, dispatcher):
    """Found by trying the product: on scene, the coordinator closed the incident, the phone lost
    signal, and no form of the call opened ("This form has not been opened on this phone before")
    unless the call's forms page had been opened with signal; an outcome form first opened
    without signal named the crew "Firefighter 1". The app keeps the forms owed when the job ends."""
    log_in(phone, CREW_LEAD)
    page = phone.new_page()
    problems = watch_for_problems(page)
    reference = f"E2E-FORMS-ENDED-{uuid.uuid4().hex[:6]}"
    incident, alert_id = accept_new_alert(phone, dispatcher, reference, NEAR_GORLESTON, "14 Form Street, Gorleston")
    lead = ApiUser(server.url, CREW_LEAD)
    lead.post(f"/api/v1/alerts/{alert_id}/respond/", {"response": "on_scene"})
    name = lead.get(f"/api/v1/alerts/{alert_id}/")["responder_name"]
    page.goto("/")
    page.locator(".pill-live").wait_for()
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")  # the screens, offline too
    page.wait_for_url(re.compile(rf"#/alerts/{alert_id}$"))  # the job in progress: its forms are not owed yet

    dispatcher.coordinator.post(f"/api/v1/incidents/{incident['id']}/close/", {})
    keys = [f"record:{CREW_LEAD}:{alert_id}:{kind}" for kind in ("attendance", "outcome", "welfare")]
    wait_until_kept(page, [*keys, f"crew:{CREW_LEAD}:{alert_id}"])
    phone.set_offline(True)
    page.locator(".pill-offline").wait_for()
    page.goto("/#/")
    page.get_by_role("link", name="Forms after calls").click()
    page.get_by_role("link", name=re.compile(f"Incident {reference}")).click()
    page.wait_for_url(re.compile(rf"#/alerts/{alert_id}/forms$"))
    page.get_by_role("link", name="Fill in: outcome form").click()
    page.locator("form#record-form").wait_for()
    crew = page.get_by_role("group", name="Crew", exact=True)
    expect(crew.get_by_role("checkbox", name=name, exact=True)).to_be_checked()
    expect(crew.get_by_text(re.compile(r"^Firefighter \d+$"))).to_have_count(0)
    for kind in ("attendance", "welfare"):
        page.goto(f"/#/alerts/{alert_id}/forms/{kind}")
        page.locator("form#record-form").wait_for()
    assert problems == []


BLANK_OFFLINE = "No signal: fill it in now, and it is kept on this phone and sent when there is signal."


def test_a_welfare_check_in_never_loaded_opens_and_is_sent_without_signal(phone, server, dispatcher):
    """Found by trying the product: the welfare check-in, which needs nothing from the server to
    start, refused to open without signal on a phone that had never loaded it."""
    log_in(phone, CHANGER)
    _, alert_id = accept_new_alert(
        phone,
        dispatcher,
        f"E2E-FORMS-WELFARE-{uuid.uuid4().hex[:6]}",
        NEAR_GREAT_YARMOUTH,
        "16 Form Street, Great Yarmouth",
    )
    page = phone.new_page()
    problems = watch_for_problems(page)
    # This phone never gets the server's welfare form: as if it had never had signal for it.
    page.route(
        f"**/api/v1/alerts/{alert_id}/welfare/",
        lambda route: route.abort() if route.request.method == "GET" else route.continue_(),
    )
    page.goto("/")
    page.locator(".pill-live").wait_for()
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")  # the screens, offline too
    phone.set_offline(True)
    page.locator(".pill-offline").wait_for()

    page.goto(f"/#/alerts/{alert_id}/forms/welfare")
    page.locator("form#record-form").wait_for()
    page.get_by_text(BLANK_OFFLINE).wait_for()
    choose(page, "How affected do you feel by this call?", "2: a little")
    page.get_by_role("button", name="Submit welfare check-in form").click()
    page.get_by_text("Saved on this phone, not sent yet.").wait_for()

    phone.set_offline(False)
    page.get_by_text("Sent and accepted (version 1)").wait_for()
    record = ApiUser(server.url, CHANGER).get(f"/api/v1/alerts/{alert_id}/welfare/")["record"]
    assert record["impact"] == 2
    page.unroute(f"**/api/v1/alerts/{alert_id}/welfare/")
    assert problems == []


def test_the_outcome_form_opened_without_signal_after_its_calls_page_names_the_crew(phone, server, dispatcher):
    """Found by trying the product: logged in after the call (the phone held no alert of it), the
    call's forms opened with signal, then the outcome form without: the crew was "Firefighter 1"."""
    log_in(phone, CREW_LEAD)
    incident, alert_id = accept_new_alert(
        phone, dispatcher, f"E2E-FORMS-NAMES-{uuid.uuid4().hex[:6]}", NEAR_GORLESTON, "18 Form Street, Gorleston"
    )
    lead = ApiUser(server.url, CREW_LEAD)
    lead.post(f"/api/v1/alerts/{alert_id}/respond/", {"response": "on_scene"})
    name = lead.get(f"/api/v1/alerts/{alert_id}/")["responder_name"]
    dispatcher.coordinator.post(f"/api/v1/incidents/{incident['id']}/close/", {})
    page = phone.new_page()
    problems = watch_for_problems(page)
    page.route("**/api/v1/records/", lambda route: route.abort())  # only the call's page keeps its forms
    page.goto(f"/#/alerts/{alert_id}/forms")
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")  # the screens, offline too
    page.locator(".form-list li[data-kind='outcome'] .status-not_started").wait_for()
    wait_until_kept(page, [f"record:{CREW_LEAD}:{alert_id}:outcome"])
    page.wait_for_load_state("networkidle")

    # Found by trying the product: this page's pill was drawn once and said "connected" offline;
    # and the call being over, its back link is to the forms list, where the forms are filled from.
    expect(page.locator(".topbar .back")).to_have_text("\u2039 Forms")
    phone.set_offline(True)
    page.locator(".form-list").wait_for()
    page.locator(".pill-offline").wait_for(timeout=5000)
    page.get_by_role("link", name="Fill in: outcome form").click()
    page.locator(".pill-offline").wait_for()
    page.get_by_text("No signal: showing what this phone last knew of this form.").wait_for()
    crew = page.get_by_role("group", name="Crew", exact=True)
    expect(crew.get_by_role("checkbox", name=name, exact=True)).to_be_checked()
    expect(crew.get_by_text(re.compile(r"^Firefighter \d+$"))).to_have_count(0)
    page.unroute("**/api/v1/records/")
    assert problems == []
