// The board's picture of where responders are (issue 14): the snapshot's positions per incident,
// position.updated keeping the newest per alert, position.cleared taking it off, and the estimates
// read by "likely first" (backend/dispatch/static/dispatch/board-state.js, pwa/app/arrival.js).
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import "./support/app-paths.mjs";

const board = await import("../../backend/dispatch/static/dispatch/board-state.js");
const { likelyFirstText } = await import("../../pwa/app/arrival.js");

const AT = "2026-01-01T12:00:00Z";
const estimate = (seconds) => ({ distance_km: 1.2, eta_seconds: seconds, method: "estimate", computed_at: AT });
const position = (alertId, recordedAt, seconds, name = "A. Smith") => ({
  alert_id: alertId,
  incident_id: 1,
  responder_id: alertId,
  responder_name: name,
  latitude: 52.63,
  longitude: 1.29,
  accuracy_m: 10,
  recorded_at: recordedAt,
  estimate: estimate(seconds),
});

describe("the board's positions", () => {
  it("takes them from the snapshot, per incident, without keeping them on the incident", () => {
    const state = board.createBoardState();
    const snapshot = { incidents: [{ id: 1, status: "open", crew_target: 2, positions: [position(5, AT, 180)] }], alerts: [], devices: [] };
    assert.equal(board.applyFrame(state, { type: "board.snapshot", data: snapshot }), true);
    assert.deepEqual(board.positionsOf(state, 1).map((p) => p.alert_id), [5]);
    assert.equal("positions" in state.incidents.get(1), false);
  });

  it("keeps the newest of each alert and forgets it when cleared", () => {
    const state = board.createBoardState();
    const newer = position(5, "2026-01-01T12:00:20Z", 120);
    assert.equal(board.applyFrame(state, { type: "position.updated", data: newer }), true);
    assert.equal(board.applyFrame(state, { type: "position.updated", data: position(5, "2026-01-01T12:00:10Z", 300) }), false);
    assert.equal(board.positionsOf(state, 1)[0].estimate.eta_seconds, 120);
    assert.equal(board.applyFrame(state, { type: "position.cleared", data: { alert_id: 5, incident_id: 1, responder_id: 5 } }), true);
    assert.deepEqual(board.positionsOf(state, 1), []);
  });

  it("names the likely first on scene from them and the ambulance's arrival", () => {
    const state = board.createBoardState();
    board.applyFrame(state, { type: "position.updated", data: position(5, AT, 180, "A. Smith") });
    board.applyFrame(state, { type: "position.updated", data: position(6, AT, 420, "B. Jones") });
    const ambulance = new Date(Date.parse(AT) + 8 * 60000).toISOString();
    assert.equal(likelyFirstText(board.positionsOf(state, 1), ambulance, Date.parse(AT)), "Likely first: A. Smith (3 min) · ambulance 8 min");
  });
});
