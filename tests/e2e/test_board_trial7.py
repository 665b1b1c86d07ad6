"""Faults found by a browser trial of the control room's board: the Alert named dialog opened with a
responder on another incident chosen (one press of "Alert them" would have pulled that crew off a
cardiac arrest); after the one who had accepted and dropped out was alerted again, the card said
"nobody has accepted"; a cancelled card said only "Cancelled", not why; and a coordinator logged out
was told "Authentication credentials were not provided."."""

import re

from playwright.sync_api import expect

from tests.e2e.conftest import ApiUser
from tests.e2e.test_wall_board import FIREFIGHTERS, NEAR_KINGS_LYNN, card_of, create, desk_context, open_board


def answer(server, username: str, incident: dict, response: str) -> None:
    firefighter = ApiUser(server.url, username)
    [alert] = [
        a for a in firefighter.get("/api/v1/alerts/?active=true")["results"] if a["incident_id"] == incident["id"]
    ]
    firefighter.post(f"/api/v1/alerts/{alert['id']}/respond/", {"response": response})


def test_the_alert_named_dialog_never_chooses_someone_on_another_incident(chromium, server, dispatcher):
    context = desk_context(chromium, server, "1080p")
    try:
        # King's Lynn's three, the nearest to the second incident, all accept the first.
        first = create(dispatcher, NEAR_KINGS_LYNN, "1 King Street, King's Lynn", dispatch=True)
        for username in FIREFIGHTERS:
            answer(server, username, first, "accept")
        second = create(dispatcher, NEAR_KINGS_LYNN, "2 King Street, King's Lynn")
        page, problems = open_board(context)

        card_of(page, second).get_by_role("button", name="Alert named").click()
        dialog = page.locator("#wall-named")
        expect(dialog.locator("option", has_text=f"on {first['cad_reference']}")).to_have_count(3)
        chosen = dialog.get_by_label("Responder (nearest first)")
        chosen_text = chosen.evaluate("(select) => select.selectedOptions[0]?.textContent ?? ''")
        assert f"on {first['cad_reference']}" not in chosen_text, chosen_text
        assert "not alerted again" not in chosen_text, chosen_text
        dialog.get_by_role("button", name="Go back").click()
        assert problems == []
    finally:
        context.close()


def test_after_a_realert_the_card_still_says_who_accepted_and_dropped_out(chromium, server, dispatcher):
    context = desk_context(chromium, server, "1080p")
    try:
        page, problems = open_board(context)
        incident = create(dispatcher, NEAR_KINGS_LYNN, "3 King Street, King's Lynn", dispatch=True)
        card = card_of(page, incident)
        expect(card.locator(".wall-responder")).to_have_count(3)
        answer(server, FIREFIGHTERS[0], incident, "accept")
        going = card.locator(".wall-responder--accepted")
        expect(going).to_have_count(1)
        name = going.locator(".wall-r-name").inner_text()
        going.get_by_role("button", name=f"Stand down {name}").click()
        page.locator("#wall-confirm").get_by_role("button", name="Stand down").click()
        # The coordinator's own act is not a drop-out (trial 11).
        stood_down = re.compile(
            r"^0 going \(\d+ needed\): no one going now: 1 stood down by control \(\d+ alerted\)\.$"
        )
        expect(card.locator(".wall-coverage")).to_have_text(stood_down)
        # Alerted again by name: his acceptance time is cleared; that he accepted is not forgotten,
        # and he is waiting for his answer, not dropped out (a later trial).
        waiting = re.compile(
            r"^0 going \(\d+ needed\): no one going now: 1 alerted again after accepting \(\d+ alerted\)\.$"
        )
        card.get_by_role("button", name="Alert named").click()
        dialog = page.locator("#wall-named")
        value = dialog.locator("option", has_text=name).get_attribute("value")
        dialog.get_by_label("Responder (nearest first)").select_option(value)
        dialog.get_by_role("button", name="Alert them").click()
        expect(card.locator(".wall-responder--alerted", has_text=name)).to_have_count(1)
        expect(card.locator(".wall-coverage")).to_have_text(waiting)
        # So does a board opened now, from the snapshot.
        again, again_problems = open_board(context)
        expect(card_of(again, incident).locator(".wall-coverage")).to_have_text(waiting)
        assert problems == [] and again_problems == []
    finally:
        context.close()


def test_a_cancelled_card_says_why(chromium, server, dispatcher):
    context = desk_context(chromium, server, "1080p")
    try:
        page, problems = open_board(context)
        incident = create(dispatcher, NEAR_KINGS_LYNN, "4 King Street, King's Lynn")
        card = card_of(page, incident)
        card.get_by_role("button", name="Cancel", exact=True).click()
        confirm = page.locator("#wall-confirm")
        confirm.get_by_label("Reason for cancelling").fill("Duplicate call, ambulance dealing")
        confirm.get_by_role("button", name="Cancel the incident").click()
        expect(card.locator(".wall-finished")).to_have_text("Cancelled")
        expect(card.locator(".wall-cancel-reason")).to_have_text(
            re.compile(r"^Cancelled at \d\d:\d\d:\d\d: Duplicate call, ambulance dealing\.$")
        )
        assert problems == []
    finally:
        context.close()


def test_a_coordinator_logged_out_is_told_so_in_plain_words(chromium, server, dispatcher):
    context = desk_context(chromium, server, "1080p")
    try:
        page, problems = open_board(context)
        # Logged out meanwhile (another tab, or the session ended): the board's page is still open.
        csrf = next(cookie["value"] for cookie in context.cookies() if cookie["name"] == "csrftoken")
        assert context.request.post("/api/v1/auth/logout/", headers={"X-CSRFToken": csrf}).ok

        page.get_by_role("button", name="New incident").click()
        form = page.locator("#wall-create")
        form.get_by_label("CAD reference").fill("E2E-WALL-LOGGED-OUT")
        form.get_by_label("Address").fill("5 King Street, King's Lynn")
        form.get_by_label("Latitude").fill(str(NEAR_KINGS_LYNN[0]))
        form.get_by_label("Longitude").fill(str(NEAR_KINGS_LYNN[1]))
        form.get_by_role("button", name="Create incident").click()
        expect(form.locator(".wall-form-error")).to_have_text("Not created: you are logged out. Log in again.")
        assert problems == []
    finally:
        context.close()
