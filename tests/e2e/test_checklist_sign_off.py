"""The checklist in development: the server serves the draft version (no clinician has signed it
off), and the app says so in a banner above everything; the crew chooses the infant variant and
their taps carry that choice to the server. In the admin, the clinical safety officer cannot
approve that version while its text still carries the placeholder a clinician must replace, and
can approve a version whose text no longer does."""

import re

import pytest

from backend.checklists import content
from tests.e2e.conftest import ApiUser
from tests.e2e.helpers import log_in, pass_the_second_factor, watch_for_problems

FIREFIGHTER = "ff.sheringham.2"
AT_SHERINGHAM = (52.9410, 1.2100)
# Counts the infant hints put into the page from now on (each drawing of the checklist's head).
COUNT_HINTS_DRAWN = """() => {
  window.__hintsDrawn = 0;
  new MutationObserver((changes) => {
    for (const change of changes) for (const node of change.addedNodes) {
      const drawn = node.nodeType === 1 ? [node, ...node.querySelectorAll('*')] : [];
      if (drawn.some((el) => el.textContent === 'Infants: under 1 year old.')) window.__hintsDrawn += 1;
    }
  }).observe(document.body, {childList: true, subtree: true});
}"""


def test_a_draft_checklist_shows_not_clinically_approved_and_the_infant_choice_is_recorded(phone, server, dispatcher):
    log_in(phone, FIREFIGHTER)
    page = phone.new_page()
    problems = watch_for_problems(page)
    page.goto("/")
    page.locator(".pill-live").wait_for()

    dispatcher.dispatch("E2E-SIGNOFF-1", *AT_SHERINGHAM, "1 Draft Lane, Sheringham")
    page.wait_for_url(re.compile(r"#/alerts/\d+$"))
    alert_id = int(page.evaluate("location.hash").rsplit("/", 1)[1])
    page.get_by_role("button", name="ACCEPT: I'm going").click()
    page.get_by_text("You accepted. Go now.").wait_for()
    page.get_by_role("link", name="CPR checklist").click()
    page.wait_for_url(re.compile(rf"#/alerts/{alert_id}/checklist$"))

    banner = page.locator(".not-approved")
    banner.wait_for()
    assert banner.get_by_text("Not clinically approved", exact=True).is_visible()
    assert "Checklist version 2.1 is a draft" in banner.inner_text()
    box = banner.bounding_box()
    assert box is not None and box["y"] < 844, "the banner is on the first screen"
    page.get_by_text("Not clinically approved (draft)").wait_for()  # and in the footer, by the version

    page.evaluate(COUNT_HINTS_DRAWN)
    page.get_by_role("group", name="Patient").get_by_role("button", name="Infant").click()
    page.get_by_role("heading", name="Infant checklist").wait_for()
    page.get_by_text("Infants: under 1 year old.").wait_for()
    # The patient buttons and their hint are drawn once for the choice, and stay as drawn while the
    # alert's updates come in (its receipt, the accept's echo): redrawn, a tap on them in between
    # would be lost.
    page.wait_for_timeout(2000)
    assert page.evaluate("window.__hintsDrawn") == 1, "the checklist's head was drawn again"
    steps = page.locator("ol.steps")
    assert "mouth to mouth-and-nose" in steps.inner_text()
    assert "head in the neutral position, not tilted back" in steps.inner_text()
    assert content.PLACEHOLDER_MARKER in steps.inner_text()

    page.locator(".event-grid").get_by_role("button", name="At patient").click()
    page.locator("ul.log .sync-synced").first.wait_for()
    assert "At patient (infant)" in page.locator("ul.log").inner_text()

    [event] = ApiUser(server.url, FIREFIGHTER).get(f"/api/v1/alerts/{alert_id}/events/")["results"]
    assert (event["type"], event["data"]) == ("arrived", {"patient": "infant"})
    assert problems == []


# A version without the placeholder, loaded into the live server's database as migrate loads a file.
# It is numbered below 2.1 so that development keeps serving the 2.1 draft to the other tests.
LOAD_CONFIRMED_VERSION = """
import copy
from django.utils import timezone
from backend.checklists import content, signoff
from backend.checklists.models import ChecklistVersion
document = copy.deepcopy(content.current())
document["version"] = "1.9"
step = next(s for s in document["variants"]["infant"]["steps"] if s["id"] == "compressions")
step["instruction"] = step["instruction"].split("Hand position:")[0] + "Hand position: (test stand-in)."
assert content.placeholders(document) == []
row, _ = ChecklistVersion.objects.get_or_create(version="1.9", defaults=dict(
    source_file="e2e-stand-in.json", content=document, content_sha256=signoff.content_hash(document),
    loaded_at=timezone.now()))
print(row.pk)
"""


@pytest.fixture
def safety_desk(chromium, server):
    """The clinical safety officer at the admin, past the second factor."""
    context = chromium.new_context(base_url=server.url, viewport={"width": 1280, "height": 900}, locale="en-GB")
    context.set_default_timeout(10_000)
    log_in(context, "safety")
    assert pass_the_second_factor(context, server, "safety") == []
    yield context
    context.close()


def fill_the_review(page):
    page.get_by_label("Reviewed by (name)").fill("Dr Priya Shah")
    page.get_by_label("Their role").fill("Consultant paramedic, East of England Ambulance Service")
    page.get_by_label("Registration").fill("HCPC PA012345")
    page.get_by_label("Date of the review").fill(page.evaluate("new Date().toLocaleDateString('en-CA')"))
    page.get_by_role("button", name="Approve").click()


def test_the_safety_officer_cannot_approve_the_placeholder_and_can_approve_it_replaced(safety_desk, server):
    page = safety_desk.new_page()
    problems = watch_for_problems(page)

    # The shipped 2.1: refused, saying where the placeholder is; it stays a draft, the form keeps what was typed.
    page.goto("/admin/checklists/checklistversion/")
    page.get_by_role("link", name="2.1", exact=True).click()
    page.get_by_role("link", name="Record the clinical review and approve").click()
    fill_the_review(page)
    error = page.locator(".errornote")
    error.wait_for()
    assert "Checklist 2.1 cannot be approved" in error.inner_text()
    assert content.PLACEHOLDER_MARKER in error.inner_text()
    assert 'Infant checklist, step "Start chest compressions"' in error.inner_text()
    assert page.get_by_label("Reviewed by (name)").input_value() == "Dr Priya Shah"
    firefighter = ApiUser(server.url, FIREFIGHTER)
    assert firefighter.get("/api/v1/checklist/")["sign_off"]["approved"] is False

    # A version whose text no longer carries it: approved through the same form.
    version_id = int(server.manage("shell", "-c", LOAD_CONFIRMED_VERSION).strip().splitlines()[-1])
    page.goto(f"/admin/checklists/checklistversion/{version_id}/change/")
    page.get_by_role("link", name="Record the clinical review and approve").click()
    fill_the_review(page)
    page.get_by_text("Checklist 1.9: approved.").wait_for()
    assert page.locator(".errornote").count() == 0
    assert problems == []
