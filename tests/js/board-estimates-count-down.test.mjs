// Found by a browser trial: for the same incident at the same moment the admin's board read "Likely
// first: Sam Barker (1 min)" and "about 1 min", the wall "(2 min)" and "about 2 min". Both draw with
// the same words (/app/arrival.js), counted down from when the estimate was worked out, but each
// drew only when a frame came: the wall, drawn at the last frame, kept "2 min" while the admin's
// board, reloaded later, said "1 min". Each board now keeps what the estimates said when it drew
// (board-state.js, arrivalWordsAt) and draws again from its tick once they say otherwise.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";

import "./support/app-paths.mjs";

const board = await import("../../backend/dispatch/static/dispatch/board-state.js");

const AT = "2026-01-01T12:34:00Z";
const T0 = Date.parse(AT);
const incident = { id: 1, cad_reference: "T-1", status: "open", crew_target: 1, ambulance_eta: null, created_at: AT };
const alert = { id: 5, incident_id: 1, responder_id: 9, responder_name: "Sam Barker", state: "en_route", rank: 1, version: 3 };
const position = {
  alert_id: 5,
  incident_id: 1,
  responder_id: 9,
  responder_name: "Sam Barker",
  latitude: 52.63,
  longitude: 1.29,
  accuracy_m: 10,
  recorded_at: AT,
  estimate: { distance_km: 1.2, eta_seconds: 100, method: "estimate", computed_at: AT },
};

function boardWith(...more) {
  const state = board.createBoardState();
  board.applyFrame(state, { type: "board.snapshot", data: { incidents: [{ ...incident, positions: [position] }, ...more], alerts: [alert], devices: [] } }, T0);
  return state;
}

describe("the estimates on the boards count down between frames", () => {
  it("say what the cards say, as at `now`", () => {
    const state = boardWith();
    const words = board.arrivalWordsAt(state, T0);
    assert.match(words, /Likely first: Sam Barker \(2 min\)/);
    assert.match(words, /about 2 min \(estimate\)/);
    const later = board.arrivalWordsAt(state, T0 + 40_000);
    assert.match(later, /Likely first: Sam Barker \(1 min\)/);
    assert.match(later, /about 1 min \(estimate\)/);
  });

  it("change when the minutes do, and only then (a board draws again then, not every second)", () => {
    const state = boardWith();
    const drawn = board.arrivalWordsAt(state, T0);
    assert.equal(board.arrivalWordsAt(state, T0 + 5_000), drawn);
    assert.notEqual(board.arrivalWordsAt(state, T0 + 40_000), drawn);
    assert.equal(board.arrivalWordsAt(state, T0 + 40_000), board.arrivalWordsAt(state, T0 + 45_000));
  });

  it("say nothing for an incident with no estimate, nor for one closed", () => {
    const state = board.createBoardState();
    board.applyFrame(state, { type: "board.snapshot", data: { incidents: [{ ...incident, id: 2, positions: [] }, { ...incident, id: 3, status: "closed", positions: [{ ...position, incident_id: 3 }] }], alerts: [], devices: [] } }, T0);
    assert.equal(board.arrivalWordsAt(state, T0), "");
  });

  it("a position cleared (Stop) takes its words away", () => {
    const state = boardWith();
    board.applyFrame(state, { type: "position.cleared", data: { alert_id: 5, incident_id: 1, responder_id: 9 } }, T0);
    assert.doesNotMatch(board.arrivalWordsAt(state, T0), /Sam Barker|about/);
  });

  for (const file of ["wall.js", "board.js"]) {
    it(`${file}'s tick draws again when they change`, () => {
      const source = readFileSync(new URL(`../../backend/dispatch/static/dispatch/${file}`, import.meta.url), "utf8");
      const tick = source.slice(source.indexOf("\n  tick() {"));
      const body = tick.slice(0, tick.indexOf("\n  }\n"));
      assert.match(body, /arrivalWordsAt\(this\.state, now\) !== this\.arrivalDrawn\) this\.scheduleDraw\(\)/);
      const draw = source.slice(source.indexOf("\n  draw() {"));
      assert.match(draw.slice(0, draw.indexOf("\n  }\n")), /this\.arrivalDrawn = arrivalWordsAt\(this\.state\)/);
    });
  }
});
