// Found by product trials: the coordinators' boards did not mark an arrival estimate worked out from
// an old position fix. The phone shares a fix at most every 10 s while it moves; once it lost signal,
// the app was closed or it stood still, no fix came, and the wall's rows, the admin board's distance
// cell, the maps' labels and "Likely first" kept counting the estimate down as if current ("about 1
// min" for ever once it ran out). One rule now (pwa/app/arrival.js, fixAgeText from the position's
// `recorded_at`): an estimate from a fix at least OLD_FIX_SECONDS (2 min) old says so beside it, in
// the same words everywhere ("about 3 min (estimate) · position 4 min old"), still counted down, and
// the responder keeps their place in "Likely first", which says it too.
// In a browser: tests/e2e/test_boards_mark_an_old_fix.py.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import "./support/app-paths.mjs";

const arrival = await import("../../pwa/app/arrival.js");
const map = await import("../../pwa/app/map.js");
const board = await import("../../backend/dispatch/static/dispatch/board-state.js");
const admin = await import("../../backend/dispatch/static/dispatch/board.js");
const boardMap = await import("../../backend/dispatch/static/dispatch/board-map.js");
const { crewArrivalWords } = await import("../../pwa/app/views/incident.js");

const AT = "2026-01-01T12:00:00Z"; // the fix, and the estimate worked out from it
const T0 = Date.parse(AT);
const S = 1000;
const estimate = { distance_km: 1.2, eta_seconds: 300, method: "estimate", computed_at: AT };
const sam = { alert_id: 5, incident_id: 1, responder_name: "Sam Barker", latitude: 52.63, longitude: 1.29, recorded_at: AT, estimate };
const ali = {
  alert_id: 6,
  incident_id: 1,
  responder_name: "Ali Khan",
  latitude: 52.64,
  longitude: 1.3,
  recorded_at: new Date(T0 + 100 * S).toISOString(), // a fix 100 s younger
  estimate: { distance_km: 2.5, eta_seconds: 600, method: "routing", computed_at: new Date(T0 + 100 * S).toISOString() },
};

describe("a fix's age (arrival.js)", () => {
  it("is old from two minutes, a named constant", () => {
    assert.equal(arrival.OLD_FIX_SECONDS, 120);
    assert.equal(arrival.fixAgeSeconds(AT, T0 + 119_400), 119);
    assert.equal(arrival.fixAgeText(AT, T0 + 119_999), "");
    assert.equal(arrival.fixAgeText(AT, T0 + 120 * S), "position 2 min old");
  });

  it("is said in whole minutes, rounded down", () => {
    assert.equal(arrival.fixAgeText(AT, T0 + 179 * S), "position 2 min old");
    assert.equal(arrival.fixAgeText(AT, T0 + 180 * S), "position 3 min old");
    assert.equal(arrival.fixAgeText(AT, T0 + 250 * S), "position 4 min old");
    assert.equal(arrival.fixAgeText(AT, T0 + 3_600 * S), "position 60 min old");
  });

  it("says nothing when the fix's time is not known, or ahead of this clock", () => {
    for (const recordedAt of [null, undefined, "", "not a time"]) {
      assert.equal(arrival.fixAgeSeconds(recordedAt, T0), null);
      assert.equal(arrival.fixAgeText(recordedAt, T0 + 600 * S), "");
    }
    assert.equal(arrival.fixAgeSeconds(AT, T0 - 5 * S), 0);
    assert.equal(arrival.fixAgeText(AT, T0 - 600 * S), "");
  });

  it("is said after the estimate's words, still counted down", () => {
    assert.equal(arrival.etaText(estimate, T0 + 60 * S, AT), "about 4 min (estimate)");
    assert.equal(arrival.etaText(estimate, T0 + 120 * S, AT), "about 3 min (estimate) · position 2 min old");
    assert.equal(arrival.estimateText(estimate, T0 + 240 * S, AT), "1.2 km · about 1 min (estimate) · position 4 min old");
    assert.equal(arrival.etaText(ali.estimate, Date.parse(ali.recorded_at) + 130 * S, ali.recorded_at), "about 8 min (by road) · position 2 min old");
    // As before without the fix's time, and nothing for no estimate.
    assert.equal(arrival.etaText(estimate, T0 + 240 * S), "about 1 min (estimate)");
    assert.equal(arrival.estimateText(null, T0 + 240 * S, AT), "");
    assert.equal(arrival.withFixAge("", AT, T0 + 600 * S), "");
  });
});

describe("'Likely first' from an old fix", () => {
  it("says the likely-first responder's fix is old, and keeps them first", () => {
    assert.equal(arrival.likelyFirstText([sam, ali], null, T0 + 100 * S), "Likely first: Sam Barker (3 min)");
    assert.equal(arrival.likelyFirstText([sam, ali], null, T0 + 130 * S), "Likely first: Sam Barker (3 min, position 2 min old)");
    const eightMinutes = new Date(T0 + 130 * S + 480 * S).toISOString();
    assert.equal(
      arrival.likelyFirstText([sam, ali], eightMinutes, T0 + 130 * S),
      "Likely first: Sam Barker (3 min, position 2 min old) · ambulance 8 min",
    );
    // Ali's fix is 30 s old: nothing said of it.
    assert.equal(arrival.likelyFirstText([ali], null, T0 + 130 * S), "Likely first: Ali Khan (10 min)");
  });

  it("says it of the responder after the ambulance too", () => {
    const far = { ...sam, estimate: { ...estimate, eta_seconds: 900 } };
    const twoMinutes = new Date(T0 + 360 * S).toISOString();
    assert.equal(arrival.likelyFirstText([far], twoMinutes, T0 + 240 * S), "Likely first: the ambulance (2 min) · Sam Barker 11 min (position 4 min old)");
  });

  it("among those on their way", () => {
    const alerts = [{ id: 5, state: "en_route" }, { id: 6, state: "accepted" }];
    assert.equal(arrival.likelyFirstAmong([sam, ali], alerts, null, T0 + 240 * S), "Likely first: Sam Barker (1 min, position 4 min old)");
  });
});

describe("every screen says it in the same words", () => {
  const at = T0 + 250 * S;

  it("the admin board's distance cell", () => {
    const alert = { id: 5, state: "en_route", distance_km: 0.98, distance_from: "station" };
    assert.deepEqual(admin.distanceCellText(alert, sam, at), {
      distance: "1.2 km",
      eta: "about 1 min (estimate) · position 4 min old",
      title: "980 m from their station when alerted",
    });
    assert.equal(admin.distanceCellText(alert, sam, T0 + 60 * S).eta, "about 4 min (estimate)");
  });

  it("the maps' labels and the board map's text", () => {
    assert.equal(map.estimateText(estimate, at, AT), "1.2 km, ETA 1 min (estimate) · position 4 min old");
    assert.equal(map.responderDetail(sam, at), "1.2 km, ETA 1 min (estimate) · position 4 min old");
    assert.equal(map.responderDetail(sam, T0 + 60 * S), "1.2 km, ETA 4 min (estimate)");
    // The board's map: estimates counted to when it draws, the fix's age then.
    const alerts = new Map([[5, { id: 5, incident_id: 1, state: "en_route" }]]);
    const [drawn] = boardMap.positionsToDraw([sam], alerts, at);
    assert.equal(boardMap.responderText(drawn), "Sam Barker: 1.2 km, ETA 1 min (estimate) · position 4 min old");
    assert.equal(map.responderDetail(drawn, at + 60 * S), "1.2 km, ETA 1 min (estimate) · position 5 min old");
  });

  it("the phone's crew panel", () => {
    const crew = [
      { alert_id: 5, responder_name: "Sam Barker", state: "en_route", attended: false },
      { alert_id: 6, responder_name: "Ali Khan", state: "accepted", attended: false },
    ];
    // Sam's fix 200 s old, Ali's 100 s.
    const words = crewArrivalWords([sam, ali], crew, null, T0 + 200 * S);
    assert.equal(words.estimates.get(5), "1.2 km · about 2 min (estimate) · position 3 min old");
    assert.equal(words.estimates.get(6), "2.5 km · about 8 min (by road)");
    assert.equal(words.first, "Likely first: Sam Barker (2 min, position 3 min old)");
  });

  it("the boards draw again as the fix's age passes a minute, the estimate's minutes unchanged", () => {
    const state = board.createBoardState();
    const incident = { id: 1, cad_reference: "T-1", status: "open", crew_target: 1, ambulance_eta: null, created_at: AT };
    const alert = { id: 5, incident_id: 1, responder_id: 9, responder_name: "Sam Barker", state: "en_route", rank: 1, version: 3 };
    // Worked out later than the fix was taken: a long way still to go.
    const late = { ...sam, estimate: { ...estimate, eta_seconds: 3_600 } };
    board.applyFrame(state, { type: "board.snapshot", data: { incidents: [{ ...incident, positions: [late] }], alerts: [alert], devices: [] } }, T0);
    const young = board.arrivalWordsAt(state, T0 + 100 * S);
    assert.doesNotMatch(young, /old/);
    const two = board.arrivalWordsAt(state, T0 + 125 * S);
    assert.match(two, /about 58 min \(estimate\) · position 2 min old/);
    assert.match(two, /Likely first: Sam Barker \(58 min, position 2 min old\)/);
    const three = board.arrivalWordsAt(state, T0 + 181 * S);
    assert.match(three, /about 57 min \(estimate\) · position 3 min old/);
    // "about 57 min" at both, but the age's minute changed: drawn again.
    const before = board.arrivalWordsAt(state, T0 + 179 * S);
    const after = board.arrivalWordsAt(state, T0 + 180 * S);
    assert.match(before, /about 57 min \(estimate\) · position 2 min old/);
    assert.match(after, /about 57 min \(estimate\) · position 3 min old/);
    assert.notEqual(before, after);
  });
});
