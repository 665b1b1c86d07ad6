"""Closing an incident in the admin asks first, in a real browser (found by a browser trial: the
incident list's Close action closed a ticked incident at once, clearing a crew doing CPR). The
list's action shows what closing will do, with a way back; the incident page's Close button asks
before it posts."""

import uuid

import pytest
import requests
from playwright.sync_api import expect

from tests.e2e.helpers import log_in, pass_the_second_factor, watch_for_problems

LIST_PAGE = "/admin/dispatch/incident/"
# Not dispatched: nobody is alerted, so no other browser test's firefighters are disturbed.
NEAR_SHERINGHAM = (52.9430, 1.2100)


@pytest.fixture
def desk(chromium, server):
    context = chromium.new_context(base_url=server.url, viewport={"width": 1280, "height": 900}, locale="en-GB")
    context.set_default_timeout(10_000)
    log_in(context, "coordinator")
    assert pass_the_second_factor(context, server) == []
    yield context
    context.close()


def create(control) -> dict:
    """The CAD creates an incident, not dispatched; cancelled at the end of the test if still open."""
    response = requests.post(
        f"{control.server.url}/api/v1/incidents/",
        json={
            "cad_reference": f"CLOSE-{uuid.uuid4().hex[:6].upper()}",
            "latitude": NEAR_SHERINGHAM[0],
            "longitude": NEAR_SHERINGHAM[1],
            "address": "1 High Street, Sheringham",
        },
        headers={"Authorization": f"Token {control.cad_token}"},
        timeout=10,
    )
    assert response.status_code == 201, f"creating: {response.status_code} {response.text}"
    incident = response.json()
    control._references.append(incident["id"])
    return incident


def status_of(control, incident: dict) -> str:
    return control.coordinator.get(f"/api/v1/incidents/{incident['id']}/")["status"]


def test_the_incident_pages_close_button_asks_and_closes_nothing_when_told_no(desk, dispatcher):
    incident = create(dispatcher)
    page = desk.new_page()
    problems = watch_for_problems(page)
    asked = []

    def say_no(dialog):
        asked.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", say_no)
    page.goto(f"{LIST_PAGE}{incident['id']}/change/")
    page.wait_for_load_state("networkidle")
    page.get_by_role("button", name="Close", exact=True).click()

    expect(page).to_have_url(f"{dispatcher.server.url}{LIST_PAGE}{incident['id']}/change/")
    assert asked and asked[0].startswith(f"Close {incident['cad_reference']}?")
    assert status_of(dispatcher, incident) == "open"
    assert problems == []


def test_the_lists_close_action_shows_what_it_will_do_and_goes_back_or_closes(desk, dispatcher):
    incident = create(dispatcher)
    page = desk.new_page()
    problems = watch_for_problems(page)
    page.goto(f"{LIST_PAGE}?q={incident['cad_reference']}")
    page.locator(f"input.action-select[value='{incident['id']}']").check()
    page.locator("select[name=action]").select_option("close_incidents")
    page.get_by_role("button", name="Go").click()

    expect(page.get_by_role("heading", name="Close incident")).to_be_visible()
    expect(page.get_by_text("Nobody is alerted or going")).to_be_visible()
    assert status_of(dispatcher, incident) == "open", "nothing closed before the confirmation"

    page.get_by_role("link", name="No, take me back").click()
    expect(page).to_have_url(f"{dispatcher.server.url}{LIST_PAGE}?q={incident['cad_reference']}")
    assert status_of(dispatcher, incident) == "open"

    page.locator("select[name=action]").select_option("close_incidents")
    page.locator(f"input.action-select[value='{incident['id']}']").check()
    page.get_by_role("button", name="Go").click()
    page.get_by_role("button", name="Close the incident").click()

    expect(page.locator(".messagelist")).to_contain_text(f"{incident['cad_reference']}: closed")
    assert status_of(dispatcher, incident) == "closed"
    assert problems == []
