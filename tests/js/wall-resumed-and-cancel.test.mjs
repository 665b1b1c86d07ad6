// Found by a browser trial of the control room's board (/board/), the pure parts:
// - "Look again" on an incident whose ladder was held resumed the ladder and said, in red, "Nobody
//   was alerted: everyone in range has already been alerted.": the board now says the ladder
//   resumed, in a neutral tone (wall.js, answerText, resumedDispatchText);
// - the Cancel dialog of an incident never dispatched said "Everyone alerted is told": with nobody
//   alerted it says nobody is told (wall.js, cancelQuestion).
// In a browser: tests/e2e/test_wall_board_trial16.py (clicks through updates, CAD reference links).
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import "./support/app-paths.mjs";

const wall = await import("../../backend/dispatch/static/dispatch/wall.js");

const HELD = "2026-12-07T10:00:00Z";
const NOBODY = {
  alerted_count: 0,
  resumed_count: 0,
  nobody_because: "everyone_alerted",
  message: "Nobody was alerted: everyone in range has already been alerted.",
};

describe("what a dispatch that resumed a held ladder says", () => {
  it("says the ladder resumed, not a failure, when nobody was alerted again", () => {
    const answer = { id: 4, status: "open", held_since: null, dispatch: NOBODY };
    assert.deepEqual(wall.answerText("Dispatch T16-1", answer, { wasHeld: HELD }), {
      tone: "note",
      text: "Dispatch T16-1: Escalation resumed; everyone in range has already been alerted.",
    });
  });

  it("says how many were alerted again", () => {
    const dispatch = { alerted_count: 3, resumed_count: 3, nobody_because: "", message: "3 stood down earlier were alerted again as the ladder resumed." };
    const answer = { id: 4, status: "open", held_since: null, dispatch };
    assert.deepEqual(wall.answerText("Dispatch T16-1", answer, { wasHeld: HELD }), {
      tone: "done",
      text: "Dispatch T16-1: Escalation resumed: 3 alerted again.",
    });
    const more = { ...dispatch, alerted_count: 5, resumed_count: 2 };
    assert.equal(wall.resumedDispatchText(more, true), "Escalation resumed: 2 alerted again, 3 more alerted.");
    // Resumed (no longer held) with only new ones alerted.
    assert.equal(wall.resumedDispatchText({ ...dispatch, resumed_count: 0, alerted_count: 2 }, true), "Escalation resumed: 2 alerted.");
  });

  it("still reports a dispatch of a ladder not held that reached nobody as a refusal", () => {
    const answer = { id: 4, status: "open", held_since: null, dispatch: NOBODY };
    assert.deepEqual(wall.answerText("Dispatch T16-1", answer, { wasHeld: null }), {
      tone: "error",
      text: "Dispatch T16-1: Nobody was alerted: everyone in range has already been alerted.",
    });
    // Held before and still held: nothing resumed.
    assert.equal(wall.ladderResumed({ ...answer, held_since: HELD }, HELD), false);
  });

  it("leaves Alert named its own words", () => {
    const dispatch = { alerted_count: 2, resumed_count: 1, nobody_because: "", message: "" };
    const answer = { id: 4, status: "open", held_since: null, dispatch };
    const said = (outcome) => wall.namedAlertText("Kate Lowe", outcome);
    assert.equal(
      wall.answerText("Alert Kate Lowe to T16-1", answer, { said, wasHeld: HELD }).text,
      "Alert Kate Lowe to T16-1: Kate Lowe alerted; 1 other stood down earlier was alerted again as the ladder resumed.",
    );
  });
});

describe("the Cancel dialog's question", () => {
  const incident = { id: 4, cad_reference: "T16-2", status: "open", dispatched_at: null };

  it("says nobody is told when nobody has been alerted", () => {
    const question = wall.cancelQuestion(incident, []);
    assert.doesNotMatch(question, /Everyone alerted is told/);
    assert.match(question, /^Cancel T16-2\? Nobody has been alerted to it: no one is told\./);
  });

  it("says everyone alerted is told when someone was", () => {
    assert.equal(
      wall.cancelQuestion(incident, [{ id: 1, state: "alerted", responder_name: "Sam Barker" }]),
      "Cancel T16-2? Everyone alerted is told, with your reason.",
    );
  });
});
