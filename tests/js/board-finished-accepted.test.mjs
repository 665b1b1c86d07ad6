// What a browser trial found on both boards (backend/dispatch/static/dispatch/board-state.js,
// coverageText, which the wall and the admin's board both draw a card's coverage line with): a
// closed incident two had accepted, one of whom withdrew (declined after accepting), read
// "Accepted 1 · attended 1" on the boards (the server's accepted_count: those who had not
// withdrawn) and "2 (1 withdrew)" in the admin's incident list (backend/dispatch/admin.py, its
// Accepted column: everyone who ever accepted, Alert.first_accepted_at). The boards now count a
// finished incident's accepted as the list does, from the alerts' first_accepted_at
// (payloads.board_alert). Open incidents keep their "N going (M needed)" line.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import "./support/app-paths.mjs";

const board = await import("../../backend/dispatch/static/dispatch/board-state.js");

const AT = "2026-01-01T09:00:00+00:00";
const ACCEPTED = "2026-01-01T09:01:00+00:00";
const LATER = "2026-01-01T09:05:00+00:00";

const incident = (overrides = {}) => ({
  id: 1,
  cad_reference: "T16-A",
  status: "closed",
  category: "cardiac_arrest",
  address: "1 High Street",
  created_at: AT,
  dispatched_at: AT,
  closed_at: LATER,
  cancelled_at: null,
  cancel_reason: "",
  crew_target: 2,
  committed_count: 0,
  covering_count: 1,
  // As the server counts them (coverage.tally): accepted and not declined since.
  accepted_count: 1,
  attended_count: 1,
  ...overrides,
});

const alertOf = (id, state, overrides = {}) => ({
  id,
  incident_id: 1,
  responder_id: id,
  responder_name: `R${id}`,
  station: "Gorleston",
  state,
  version: 1,
  rank: id,
  stood_down_reason: "",
  alerted_at: AT,
  realerted_at: null,
  accepted_at: null,
  first_accepted_at: null,
  declined_at: null,
  on_scene_at: null,
  ...overrides,
});

// The trial's incident: Sam went and was cleared by the close; Jo accepted and withdrew; Mo never answered.
const went = alertOf(1, "cleared", { accepted_at: ACCEPTED, first_accepted_at: ACCEPTED, on_scene_at: LATER, cleared_at: LATER });
const withdrew = alertOf(2, "declined", { accepted_at: ACCEPTED, first_accepted_at: ACCEPTED, declined_at: LATER });
const neverAnswered = alertOf(3, "stood_down", { stood_down_reason: "incident_closed" });

function cardLine(theIncident, alerts) {
  const state = board.createBoardState();
  const frame = { type: "board.snapshot", data: { incidents: [theIncident], alerts, devices: [], delivery_workers: { alive: true } } };
  assert.equal(board.applyFrame(state, frame), true);
  return board.cardCoverageText(state, state.incidents.get(theIncident.id));
}

describe("a finished incident's Accepted count on the boards", () => {
  it("counts everyone who ever accepted, with those who withdrew, as the admin's incident list does", () => {
    const { text, tone } = cardLine(incident(), [went, withdrew, neverAnswered]);
    assert.equal(text, "Accepted 2 (1 withdrew) · attended 1");
    assert.equal(tone, "finished");
  });

  it("counts one who accepted before a re-alert cleared their acceptance time (a cancelled incident too)", () => {
    // Accepted, stood down by a coordinator, alerted again, then the incident was cancelled:
    // accepted_at cleared by the re-alert, first_accepted_at kept (the list counts them).
    const realerted = alertOf(4, "cancelled", { first_accepted_at: ACCEPTED, realerted_at: LATER, cancelled_at: LATER });
    const cancelled = incident({ status: "cancelled", closed_at: null, cancelled_at: LATER, covering_count: 0, accepted_count: 0, attended_count: 0 });
    assert.equal(cardLine(cancelled, [realerted, neverAnswered]).text, "Accepted 1 · attended 0");
  });

  it("says no withdrawal when nobody withdrew", () => {
    const stayed = alertOf(2, "cleared", { accepted_at: ACCEPTED, first_accepted_at: ACCEPTED, cleared_at: LATER });
    assert.equal(cardLine(incident({ accepted_count: 2 }), [went, stayed]).text, "Accepted 2 · attended 1");
  });

  it("keeps the server's count where the alerts do not say who first accepted", () => {
    const { first_accepted_at: _went, ...wentBefore } = went;
    const { first_accepted_at: _withdrew, ...withdrewBefore } = withdrew;
    assert.equal(cardLine(incident(), [wentBefore, withdrewBefore]).text, "Accepted 1 · attended 1");
    assert.equal(board.coverageText(incident(), []).text, "Accepted 1 · attended 1");
  });

  it("leaves an open incident's line as it was", () => {
    const open = incident({ status: "open", closed_at: null, covering_count: 0, accepted_count: 0, attended_count: 0, crew_target: 1 });
    const { text } = cardLine(open, [withdrew]);
    assert.equal(text, "0 going (1 needed): no one going now: 1 accepted, then dropped out (1 alerted).");
  });
});
