"""The control room's board (/board/) says what the escalation ladder does next and when, on each
card short of crews, and follows the ladder as its steps run (found by a tester: the board showed no
escalation progress, only the alerted count going 3 → 9 → 15). Nothing once the incident is
cancelled. The ladder's steps are made due now and run by the server's own worker, as in
test_wall_board.py."""

import datetime
from zoneinfo import ZoneInfo

from playwright.sync_api import expect

from tests.e2e.conftest import ApiUser
from tests.e2e.test_wall_board import (
    ALARM_STEP,
    FIREFIGHTERS,
    LADDER_AT,
    NEAR_KINGS_LYNN,
    OUT_OF_RANGE,
    card_of,
    create,
    desk_context,
    has_class,
    open_board,
)

LONDON = ZoneInfo("Europe/London")  # the board's browser: desk_context


def clock(iso: str) -> str:
    return datetime.datetime.fromisoformat(iso).astimezone(LONDON).strftime("%H:%M:%S")


def test_the_wall_board_shows_the_ladder_s_next_step_until_the_incident_ends(chromium, server, dispatcher):
    context = desk_context(chromium, server, "720p")
    try:
        page, problems = open_board(context)
        incident = create(dispatcher, NEAR_KINGS_LYNN, "10 King Street, King's Lynn", dispatch=True)
        assert incident["next_escalation_action"] == "ring" and incident["escalation_ladder_steps"] == 4
        line = card_of(page, incident).locator(".wall-escalation")
        expect(line).to_have_text(f"Next: wider ring at {clock(incident['next_escalation_at'])} · 0 of 4 steps done")

        # The texts step (the second) made due now: the worker runs it and the board says what is next.
        server.manage("shell", "-c", LADDER_AT.format(steps={incident["id"]: 1}))
        third_step = datetime.datetime.fromisoformat(incident["dispatched_at"]) + datetime.timedelta(seconds=120)
        expect(line).to_have_text(f"Next: wider ring at {clock(third_step.isoformat())} · 2 of 4 steps done")

        dispatcher.coordinator.post(f"/api/v1/incidents/{incident['id']}/cancel/", {"reason": "Stood down by CAD"})
        expect(card_of(page, incident)).to_contain_text("Cancelled")
        expect(line).to_have_count(0)
        assert problems == []
    finally:
        context.close()


def test_at_the_widest_ring_the_board_says_it_looks_again_and_its_button_too(chromium, server, dispatcher):
    """Found by a tester: for an incident nobody is in range of, "Next: re-send (widest ring reached)
    at 18:18:22 · 0 of 4 steps done" (a re-send to nobody), and a "Dispatch next ring" button
    answered "Nobody was alerted: everyone in range has already been alerted". A dispatch that
    reaches nobody widens to the widest ring at once: there the ladder's ring step and the button only
    look again within it for anyone newly in range or on call."""
    context = desk_context(chromium, server, "720p")
    try:
        page, problems = open_board(context)
        near = create(dispatcher, NEAR_KINGS_LYNN, "11 King Street, King's Lynn", dispatch=True)
        far = create(dispatcher, OUT_OF_RANGE, "2 Whitehall, London", dispatch=True)
        assert far["alerts"] == [] and far["ring"] == far["widest_ring"]
        assert far["next_escalation_action"] == "resend"

        card = card_of(page, far)
        expect(card.locator(".wall-escalation")).to_have_text(
            f"Next: look again (widest ring) at {clock(far['next_escalation_at'])} · 0 of 4 steps done"
        )
        button = card.locator("[data-act=dispatch]")
        expect(button).to_have_text("Look again (widest ring)")
        # Not at the widest ring: the next ring, as before.
        expect(card_of(page, near).locator("[data-act=dispatch]")).to_have_text("Dispatch next ring")
        button.click()
        # Reaching nobody is not success: shown as an error (found by a browser trial: in green).
        expect(page.locator(".wall-error")).to_contain_text("Nobody was alerted")
        assert problems == []
    finally:
        context.close()


def test_the_alarm_sounds_again_when_the_last_crew_drops_out_after_it_was_acknowledged(chromium, server, dispatcher):
    """Found by a browser trial: the ladder finished with one crew going of the two needed, its alarm
    was acknowledged, then the firefighter tapped "Can't attend after all": the card read "0 going
    (2 needed)" beside "Escalation alarm: acknowledged by ...", and nothing sounded. Now the alarm is
    raised afresh and sounds until acknowledged again, on this board and on one opened later, in the
    words true when it was raised."""
    context = desk_context(chromium, server, "720p")
    try:
        page, problems = open_board(context)
        page.get_by_role("button", name="Turn on alarm sound").click()
        incident = create(dispatcher, NEAR_KINGS_LYNN, "12 King Street, King's Lynn", dispatch=True)
        assert incident["crew_target"] == 2
        reference = incident["cad_reference"]
        firefighter = ApiUser(server.url, FIREFIGHTERS[1])
        [alert] = [a for a in incident["alerts"] if a["responder_id"] == firefighter.profile["responder"]["id"]]
        firefighter.post(f"/api/v1/alerts/{alert['id']}/respond/", {"response": "accept"})
        card = card_of(page, incident)
        expect(card.locator(".wall-coverage")).to_contain_text("1 going (2 needed)")

        # The ladder's last step, the escalation alarm, run by the server's worker: one crew going.
        server.manage("shell", "-c", LADDER_AT.format(steps={incident["id"]: ALARM_STEP}))
        expect(card).to_have_class(has_class("wall-card--alarm"))
        expect(card.locator(".wall-card-alarm")).to_contain_text(
            f"Incident {reference} is still short of crews after every ring was alerted: 1 going (2 needed)."
        )
        card.get_by_role("button", name="Acknowledge").click()
        expect(card.locator(".wall-card-alarm--acknowledged")).to_contain_text("Escalation alarm: acknowledged by")
        expect(page.locator("body")).to_have_attribute("data-audio", "on")

        # The only crew drops out.
        firefighter.post(f"/api/v1/alerts/{alert['id']}/respond/", {"response": "decline", "reason": "no_transport"})
        dropped = (
            f"Nobody is going to incident {reference} any more (0 going, 2 needed): "
            f"{alert['responder_name']} can't attend after all (no transport)."
        )
        expect(card).to_have_class(has_class("wall-card--alarm"))
        expect(card.locator(".wall-card-alarm")).to_contain_text(dropped)
        expect(page.locator("body")).to_have_attribute("data-audio", "playing")
        # A board opened now sounds it too, in the same words.
        later, later_problems = open_board(context)
        expect(card_of(later, incident)).to_have_class(has_class("wall-card--alarm"))
        expect(card_of(later, incident).locator(".wall-card-alarm")).to_contain_text(dropped)
        later.close()

        card.get_by_role("button", name="Acknowledge").click()
        expect(card).not_to_have_class(has_class("wall-card--alarm"))
        expect(page.locator("body")).to_have_attribute("data-audio", "on")
        assert problems == [] and later_problems == []
    finally:
        context.close()
