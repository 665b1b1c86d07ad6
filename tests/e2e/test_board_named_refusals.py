"""The board's "Alert named" dialog and someone who declined (found by a browser trial): the dialog
offered a firefighter who had declined the incident, and choosing them showed, in the green of
success, "Nobody was alerted: the named responders are off call, untrained or already alerted".
Now the dialog shows them greyed with why, and a named dispatch that reaches nobody (they declined
while the dialog was open) is shown as an error with the true reason."""

import re

from playwright.sync_api import expect

from tests.e2e.conftest import ApiUser
from tests.e2e.test_wall_board import FIREFIGHTERS, NEAR_KINGS_LYNN, card_of, create, desk_context, open_board


def decline(server, username: str, incident: dict) -> None:
    firefighter = ApiUser(server.url, username)
    [alert] = [
        a for a in firefighter.get("/api/v1/alerts/?active=true")["results"] if a["incident_id"] == incident["id"]
    ]
    firefighter.post(f"/api/v1/alerts/{alert['id']}/respond/", {"response": "decline", "reason": "unavailable"})


def test_who_declined_is_shown_greyed_and_alerting_them_is_an_error(chromium, server, dispatcher):
    context = desk_context(chromium, server, "1080p")
    try:
        page, problems = open_board(context)
        incident = create(dispatcher, NEAR_KINGS_LYNN, "5 Saturday Market Place, King's Lynn", dispatch=True)
        card = card_of(page, incident)
        expect(card.locator(".wall-responder")).to_have_count(3)
        # The first stood down, so that the dialog has someone to offer, as it must to open.
        first = card.locator(".wall-responder").first
        first.get_by_role("button", name=re.compile(r"^Stand down ")).click()
        expect(card.locator(".wall-responder--stood_down")).to_have_count(1)
        decline(server, FIREFIGHTERS[1], incident)
        expect(card.locator(".wall-responder--declined")).to_have_count(1)
        declined_name = card.locator(".wall-responder--declined .wall-r-name").inner_text()

        card.get_by_role("button", name="Alert named").click()
        dialog = page.locator("#wall-named")
        option = dialog.locator("option", has_text=declined_name)
        expect(option).to_be_disabled()
        expect(option).to_contain_text(re.compile(r"declined this incident at \d\d:\d\d:\d\d, not alerted again"))
        dialog.get_by_role("button", name="Go back").click()

        # The one stood down is offered; named meanwhile by another coordinator, the board's choice
        # reaches nobody: an error, with the true reason, not the green of success.
        card.get_by_role("button", name="Alert named").click()
        detail = dispatcher.coordinator.get(f"/api/v1/incidents/{incident['id']}/")
        [stood_down] = [alert for alert in detail["alerts"] if alert["state"] == "stood_down"]
        chosen = dialog.locator("option", has_text=stood_down["responder_name"])
        expect(chosen).to_be_enabled()
        dialog.get_by_label("Responder (nearest first)").select_option(chosen.get_attribute("value"))
        dispatcher.coordinator.post(
            f"/api/v1/incidents/{incident['id']}/dispatch/", {"responder_ids": [stood_down["responder_id"]]}
        )
        dialog.get_by_role("button", name="Alert them").click()
        expect(page.locator(".wall-error")).to_contain_text(
            f"Alert {stood_down['responder_name']} to {incident['cad_reference']}: Nobody was alerted: "
            "every named responder is already alerted to this incident"
        )
        expect(page.locator(".wall-done")).to_have_count(0)
        assert problems == []
    finally:
        context.close()
