"""The forms of the job in progress are kept on the phone once the firefighter attended. Found by
trying the product: on scene, the phone lost signal, the coordinator closed the incident meanwhile,
and the attendance form would not open offline ("This form has not been opened on this phone
before"): the forms were kept only once the job had ended, which the phone learnt too late. What
was kept during the call is asked for again once the phone has signal and learns the call ended."""

import re
import time
import uuid

from playwright.sync_api import expect

from tests.e2e.conftest import ApiUser
from tests.e2e.helpers import accept_new_alert, log_in, watch_for_problems
from tests.e2e.test_forms_offline import wait_until_kept

FIREFIGHTER = "ff.great-yarmouth.2"
NEAR_GREAT_YARMOUTH = (52.6100, 1.7280)
KEPT_DURING_CALL = (
    "No signal: showing what this phone last knew of this form. "
    "It was kept during the call, so times from later on are not in it: check them."
)

# One form as this phone keeps it (pwa/app/outbox.js: kv store), or null.
KEPT_FORM = """async (key) => {
  const db = await new Promise((resolve, reject) => {
    const request = indexedDB.open("coresponder");
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  try {
    return await new Promise((resolve) => {
      const request = db.transaction("kv").objectStore("kv").get(key);
      request.onsuccess = () => resolve(request.result ?? null);
      request.onerror = () => resolve(null);
    });
  } finally {
    db.close();
  }
}"""


def test_an_attended_calls_attendance_form_opens_offline_after_control_closed_it_and_is_sent_back_online(
    phone, server, dispatcher
):
    log_in(phone, FIREFIGHTER)
    page = phone.new_page()
    problems = watch_for_problems(page)
    page.goto("/")
    page.locator(".pill-live").wait_for(timeout=10000)
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=10000)  # offline too

    reference = f"E2E-FORMS-AHEAD-{uuid.uuid4().hex[:6]}"
    incident, alert_id = accept_new_alert(
        phone, dispatcher, reference, NEAR_GREAT_YARMOUTH, "22 Form Street, Great Yarmouth"
    )
    firefighter = ApiUser(server.url, FIREFIGHTER)
    firefighter.post(f"/api/v1/alerts/{alert_id}/respond/", {"response": "on_scene"})
    page.wait_for_url(re.compile(rf"#/alerts/{alert_id}$"), timeout=10000)
    page.get_by_role("button", name="Cleared: leaving scene").wait_for(timeout=10000)  # on scene, as the phone knows
    keys = [f"record:{FIREFIGHTER}:{alert_id}:{kind}" for kind in ("attendance", "outcome", "welfare")]
    wait_until_kept(page, keys)  # the job is still in progress

    # The signal goes; control closes the incident meanwhile: the phone does not know it ended.
    phone.set_offline(True)
    page.locator(".pill-offline").wait_for(timeout=10000)
    dispatcher.coordinator.post(f"/api/v1/incidents/{incident['id']}/close/", {})

    page.goto("/#/forms")
    page.get_by_role("link", name=re.compile(f"Incident {reference}")).click(timeout=10000)
    page.wait_for_url(re.compile(rf"#/alerts/{alert_id}/forms$"), timeout=10000)
    page.get_by_role("link", name="Fill in: attendance form").click(timeout=10000)
    page.locator("form#record-form").wait_for(timeout=10000)
    page.get_by_text(KEPT_DURING_CALL).wait_for(timeout=10000)
    attended = page.get_by_role("group", name="Did you attend this incident?", exact=True)
    expect(attended.get_by_role("radio", name="Yes", exact=True)).to_be_checked(timeout=10000)  # the server's prefill
    expect(page.get_by_label("On scene", exact=True)).not_to_have_value("", timeout=10000)
    page.get_by_role("button", name="Submit attendance form").click(timeout=10000)
    page.get_by_text("Saved on this phone, not sent yet.").wait_for(timeout=10000)

    phone.set_offline(False)
    page.get_by_text("Sent and accepted (version 1)").wait_for(timeout=15000)
    record = firefighter.get(f"/api/v1/alerts/{alert_id}/attendance/")["record"]
    assert record["attended"] is True
    assert record["on_scene_at"] is not None

    # Back online, the phone learns the call ended: what it kept during the call is asked for again.
    deadline = time.monotonic() + 15
    while (page.evaluate(KEPT_FORM, keys[1]) or {}).get("kept_during_call") is not False:
        assert time.monotonic() < deadline, "the outcome form kept during the call was not asked for again"
        page.wait_for_timeout(200)
    assert problems == []
