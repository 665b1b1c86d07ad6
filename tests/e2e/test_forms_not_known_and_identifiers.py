"""The after-call forms in the app, for two faults a tester found: the outcome at handover left
unanswered is "Not known" on the phone and null on the server (it was stored and shown as No), as
are since migration 0009 the crew's compressions and defibrillator and an estimated collapse time;
and notes holding an NHS number are refused with the server's message next to the notes (they were
saved)."""

import re

from playwright.sync_api import expect

from tests.e2e.helpers import accept_new_alert, log_in, watch_for_problems

CREW_LEAD = "ff.dereham.1"
FIREFIGHTER = "ff.dereham.2"
NEAR_DEREHAM = (52.6790, 0.9440)

OUTCOME_AT_HANDOVER = """
from backend.records.models import Outcome
o = Outcome.objects.get(incident_id={incident_id})
print([o.rosc_any_time, o.rosc_at_handover, o.ongoing_cpr_at_handover, o.resuscitation_stopped])
"""


def group(page, question: str):
    return page.get_by_role("group", name=question, exact=True)


def test_an_unanswered_question_at_handover_is_not_known_on_the_phone_and_the_server(phone, server, dispatcher):
    log_in(phone, CREW_LEAD)
    incident, alert_id = accept_new_alert(phone, dispatcher, "E2E-NOT-KNOWN-1", NEAR_DEREHAM, "1 Form Lane, Dereham")
    page = phone.new_page()
    problems = watch_for_problems(page)
    page.goto(f"/#/alerts/{alert_id}/forms/outcome")
    page.locator("form#record-form").wait_for()

    # Each question at handover offers Yes, No and Not known, and starts at Not known.
    for question in ("ROSC at any time", "ROSC at handover", "CPR ongoing at handover", "Resuscitation stopped"):
        expect(group(page, question).get_by_role("radio", name="Not known", exact=True)).to_be_checked()
    group(page, "Was resuscitation attempted?").get_by_role("radio", name="Yes", exact=True).check()
    group(page, "ROSC at any time").get_by_role("radio", name="Yes", exact=True).check()
    # An answer given by mistake can be taken back.
    group(page, "Resuscitation stopped").get_by_role("radio", name="No", exact=True).check()
    group(page, "Resuscitation stopped").get_by_role("radio", name="Not known", exact=True).check()
    page.get_by_role("button", name="Submit outcome form").click()
    page.get_by_text(re.compile(r"Sent and accepted \(version 1\)")).wait_for()

    shown = {
        question: page.locator(f"dt:text-is('{question}') + dd").inner_text()
        for question in ("ROSC at any time", "ROSC at handover", "CPR ongoing at handover", "Resuscitation stopped")
    }
    assert shown == {
        "ROSC at any time": "Yes",
        "ROSC at handover": "Not known",
        "CPR ongoing at handover": "Not known",
        "Resuscitation stopped": "Not known",
    }
    stored = server.manage("shell", "-c", OUTCOME_AT_HANDOVER.format(incident_id=int(incident["id"])))
    assert stored.strip().splitlines()[-1] == "[True, None, None, None]"
    assert problems == []


CREW_ACTIONS = """
from backend.records.models import Outcome
o = Outcome.objects.get(incident_id={incident_id})
print([o.compressions, o.defibrillator_applied, o.collapse_at is not None, o.collapse_time_estimated])
"""
# A local time (as the phone's datetime-local input takes it) five minutes ago.
FIVE_MINUTES_AGO = """() => {
  const at = new Date(Date.now() - 5 * 60000);
  const two = (n) => String(n).padStart(2, "0");
  const day = `${at.getFullYear()}-${two(at.getMonth() + 1)}-${two(at.getDate())}`;
  return `${day}T${two(at.getHours())}:${two(at.getMinutes())}`;
}"""
CREW_ACTION_QUESTIONS = (
    "Is the collapse time an estimate?",
    "Chest compressions by the crew",
    "Crew's defibrillator applied",
)


def test_the_crews_compressions_defibrillator_and_estimate_left_unanswered_are_not_known(phone, server, dispatcher):
    """They were stored and shown as No (migration 0009); shocks with the defibrillator not known
    are refused on the phone, as with No."""
    log_in(phone, CREW_LEAD)
    incident, alert_id = accept_new_alert(phone, dispatcher, "E2E-NOT-KNOWN-3", NEAR_DEREHAM, "3 Form Lane, Dereham")
    page = phone.new_page()
    problems = watch_for_problems(page)
    page.goto(f"/#/alerts/{alert_id}/forms/outcome")
    page.locator("form#record-form").wait_for()

    group(page, "Was resuscitation attempted?").get_by_role("radio", name="Yes", exact=True).check()
    page.locator("#f-collapse_at").fill(page.evaluate(FIVE_MINUTES_AGO))
    for question in CREW_ACTION_QUESTIONS:
        expect(group(page, question).get_by_role("radio", name="Not known", exact=True)).to_be_checked()
    group(page, "Chest compressions by the crew").get_by_role("radio", name="Yes", exact=True).check()

    rhythm = group(page, "First rhythm (as the defibrillator classed it)")
    rhythm.get_by_role("radio", name="Shock advised", exact=True).check()
    page.get_by_label("Shocks given by the crew").fill("1")
    page.get_by_role("button", name="Submit outcome form").click()
    refused = "Shocks need the crew's defibrillator applied: answer Yes there."
    expect(page.locator("#err-crew_shocks")).to_have_text(refused)
    page.get_by_label("Shocks given by the crew").fill("0")
    page.get_by_role("button", name="Submit outcome form").click()
    page.get_by_text(re.compile(r"Sent and accepted \(version 1\)")).wait_for()

    shown = {q: page.locator(f'dt:text-is("{q}") + dd').inner_text() for q in CREW_ACTION_QUESTIONS}
    assert shown == {
        "Is the collapse time an estimate?": "Not known",
        "Chest compressions by the crew": "Yes",
        "Crew's defibrillator applied": "Not known",
    }
    stored = server.manage("shell", "-c", CREW_ACTIONS.format(incident_id=int(incident["id"])))
    assert stored.strip().splitlines()[-1] == "[True, None, True, None]"
    assert problems == []


def test_notes_with_an_nhs_number_are_refused_with_the_servers_message_next_to_them(phone, server, dispatcher):
    log_in(phone, FIREFIGHTER)
    _, alert_id = accept_new_alert(phone, dispatcher, "E2E-NOT-KNOWN-2", NEAR_DEREHAM, "2 Form Lane, Dereham")
    page = phone.new_page()
    problems = watch_for_problems(page)
    page.goto(f"/#/alerts/{alert_id}/forms/attendance")
    page.locator("form#record-form").wait_for()

    group(page, "Did you attend this incident?").get_by_role("radio", name="Yes", exact=True).check()
    page.get_by_label("Notes").fill("Mrs Jane Smith, 12 Regent Road NR30 1AA, NHS no 943 476 5919")
    page.get_by_role("button", name="Submit attendance form").click()

    message = page.locator("#err-notes")
    message.wait_for()
    assert message.inner_text() == "This looks like a patient's NHS number: notes must not identify the patient."
    assert page.locator("#f-notes").get_attribute("aria-invalid") == "true"
    page.get_by_text("The server did not accept this form").wait_for()
    assert problems == []
