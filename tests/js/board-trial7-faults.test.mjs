// Faults found by a browser trial of the coordinators' boards (the control room's wall board and
// the admin's live board): the Alert named dialog chose a responder on another cardiac arrest; "nobody
// has accepted" once the one who had accepted and dropped out was alerted again (on the board and on
// his phone's crew line); a cancelled card without its reason; two arrival times for one responder;
// and DRF's words for a coordinator who had been logged out.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import "./support/app-paths.mjs";

const wall = await import("../../backend/dispatch/static/dispatch/wall.js");
const board = await import("../../backend/dispatch/static/dispatch/board-state.js");
const boardMap = await import("../../backend/dispatch/static/dispatch/board-map.js");
const arrival = await import("../../pwa/app/arrival.js");
const format = await import("../../pwa/app/format.js");

describe("the responder the Alert named dialog chooses first", () => {
  // Nearest first, as the server lists them.
  const sam = { id: 1, name: "Sam Barker", station: "Great Yarmouth", distance_km: 3.3, committed_to: "T7-1", cannot_alert: null };
  const kate = { id: 2, name: "Kate Lowe", station: "Gorleston", distance_km: 4.1, committed_to: null, cannot_alert: "declined" };
  const alex = { id: 3, name: "Alex Cole", station: "Gorleston", distance_km: 5.5, committed_to: null, cannot_alert: null };

  it("is never someone committed to another incident, nor someone who declined: the first free one", () => {
    assert.equal(wall.namedDefault([sam, kate, alex]), alex);
  });

  it("is nobody when nobody is free", () => {
    assert.equal(wall.namedDefault([sam, kate]), null);
    assert.equal(wall.namedDefault([]), null);
  });
});

describe("the coverage line after the one who dropped out is alerted again", () => {
  // Stood down after accepting, then alerted again by name: his alert's acceptance time is
  // cleared; the server counts him from his first acceptance, by his state now: alerted again and
  // not answered yet (alerted_again_count), not dropped out (a later trial: board-stand-down-
  // counting.test.mjs).
  const incident = {
    id: 1, cad_reference: "T7-2", status: "open", dispatched_at: "2026-01-01T12:00:05+00:00", crew_target: 2,
    committed_count: 0, covering_count: 0, accepted_count: 0, attended_count: 0, escalation_step: 1,
    alarm_raised_at: "2026-01-01T12:04:00+00:00", stood_down_by_control_count: 0, alerted_again_count: 1, dropped_out_count: 0,
  };
  const alerts = Array.from({ length: 15 }, (_, index) => ({
    id: index + 1, incident_id: 1, state: "alerted", accepted_at: null, on_scene_at: null,
    realerted_at: index === 0 ? "2026-01-01T12:05:00+00:00" : null,
  }));

  it("still says that someone had accepted, alerted again", () => {
    const { text, tone } = board.coverageText(incident, alerts);
    assert.equal(text, "0 going (2 needed): no one going now: 1 alerted again after accepting (15 alerted).");
    assert.equal(tone, "none");
  });

  it("still says nobody has accepted when nobody has", () => {
    assert.equal(board.coverageText({ ...incident, alerted_again_count: 0 }, alerts).text, "0 going (2 needed): nobody has accepted (15 alerted).");
  });

  it("says it on the stood-down phone's crew line too", () => {
    const member = (alertId, state, everAccepted) => ({ alert_id: alertId, state, version: 3, attended: false, ever_accepted: everAccepted });
    const crew = [member(1, "stood_down", true), member(2, "alerted", false)];
    assert.equal(format.crewSummary(crew, { status: "open", crew_target: 2 }), "No one going now: 1 accepted, then dropped out (2 needed)");
    assert.equal(format.crewSummary([member(2, "alerted", false)], { status: "open", crew_target: 2 }), "Nobody has accepted yet (2 needed)");
  });
});

describe("a cancelled incident's card", () => {
  it("says why it was cancelled, in the admin board's words", () => {
    const cancelled = { status: "cancelled", cancelled_at: "2026-01-01T12:10:00+00:00", cancel_reason: "Duplicate call, ambulance dealing" };
    assert.equal(board.finishedText(cancelled), `Cancelled at ${board.clockTime(cancelled.cancelled_at)}: Duplicate call, ambulance dealing.`);
    assert.equal(board.finishedText({ status: "closed", closed_at: "2026-01-01T12:40:00+00:00" }), `Closed at ${board.clockTime("2026-01-01T12:40:00+00:00")}.`);
  });
});

describe("one responder's arrival time, wherever the board shows it", () => {
  // Worked out 30 s ago as 7.5 min: 7 min still to go now. The card's row and "Likely first" said
  // 7 min, the map's label and its list of positions "ETA 8 min" (the estimate as worked out).
  const now = Date.parse("2026-01-01T12:10:30Z");
  const estimate = { distance_km: 5.5, eta_seconds: 450, method: "estimate", computed_at: "2026-01-01T12:10:00Z" };
  const position = { alert_id: 5, incident_id: 3, responder_name: "Alex Cole", latitude: 52.6, longitude: 1.7, estimate };
  const alerts = new Map([[5, { id: 5, incident_id: 3, state: "en_route", version: 4 }]]);

  it("is the same number of minutes on the card and on the map", () => {
    assert.equal(arrival.estimateText(estimate, now), "5.5 km · about 7 min (estimate)");
    assert.equal(arrival.likelyFirstText([position], null, now), "Likely first: Alex Cole (7 min)");
    const [drawn] = boardMap.positionsToDraw([position], alerts, now);
    assert.equal(boardMap.responderText(drawn), "Alex Cole: 5.5 km, ETA 7 min (estimate)");
  });
});

describe("a coordinator who has been logged out", () => {
  const body = (code, message) => ({ error: { code, message } });

  it("is told so in plain words, not DRF's", () => {
    assert.equal(wall.errorText(401, body("not_authenticated", "Authentication credentials were not provided.")), "you are logged out. Log in again.");
    assert.equal(wall.errorText(403, body("not_authenticated", "Authentication credentials were not provided.")), "you are logged out. Log in again.");
  });

  it("but a coordinator who may not do something keeps the server's words", () => {
    assert.equal(wall.errorText(403, body("permission_denied", "You are not allowed to do this.")), "You are not allowed to do this.");
  });
});
