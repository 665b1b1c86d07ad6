// Who is going after a coordinator's stand-down, as a browser trial found the boards and the phone
// wrong (the server's side: tests/dispatch/test_coverage_after_a_stand_down.py):
// - one alerted again by name and not answered yet was counted as "accepted, then dropped out"
//   beside the one still stood down ("1 stood down by control, 1 accepted, then dropped out");
// - the alarm was titled "Nobody has accepted" over "1 stood down by control";
// - the phone's crew line said "2 accepted, then dropped out" where the boards said "stood down by
//   control".
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import "./support/app-paths.mjs";

const board = await import("../../backend/dispatch/static/dispatch/board-state.js");
const format = await import("../../pwa/app/format.js");

const AT = "2026-01-01T09:15:00+00:00";

function incident(overrides = {}) {
  return {
    id: 1,
    cad_reference: "CAD-D4",
    status: "open",
    created_at: "2026-01-01T09:14:00+00:00",
    dispatched_at: AT,
    crew_target: 2,
    committed_count: 0,
    covering_count: 0,
    accepted_count: 0,
    attended_count: 0,
    escalation_step: 1,
    escalation_ladder_steps: 4,
    next_escalation_at: "2026-01-01T09:21:00+00:00",
    next_escalation_action: "ring",
    unreached_reason: "",
    ...overrides,
  };
}

function alert(id, state, overrides = {}) {
  return { id, incident_id: 1, responder_id: id, responder_name: `R${id}`, state, version: 3, rank: id, accepted_at: null, on_scene_at: null, stood_down_reason: "", ...overrides };
}

function boardWith(incidentData, alerts) {
  const state = board.createBoardState();
  board.applyFrame(state, { type: "board.snapshot", data: { incidents: [incidentData], alerts, devices: [], delivery_workers: { alive: true } } });
  return state;
}

const member = (alertId, state, overrides = {}) => ({ alert_id: alertId, responder_id: alertId, state, version: 3, attended: false, ever_accepted: false, no_longer_going: null, ...overrides });

describe("both crews stood down, then one of them alerted again by name", () => {
  // Sam was stood down; Kate, alerted again, has not answered (her acceptance time cleared); four
  // more alerted who never answered. The server counts each once by their state now.
  const alerts = [
    alert(1, "stood_down", { accepted_at: AT, stood_down_reason: "coordinator" }),
    alert(2, "alerted", { realerted_at: "2026-01-01T09:18:00+00:00" }),
    ...[3, 4, 5, 6].map((id) => alert(id, "alerted")),
  ];
  const counted = { stood_down_by_control_count: 1, alerted_again_count: 1, dropped_out_count: 0 };

  it("says the one alerted again is alerted again, not dropped out", () => {
    const { text, tone } = board.coverageText(incident(counted), alerts);
    assert.equal(text, "0 going (2 needed): no one going now: 1 stood down by control, 1 alerted again after accepting (6 alerted).");
    assert.equal(tone, "none");
  });

  it("says no drop-out whatever counts the server sent (its counts before this fix: dropped_out_count 2)", () => {
    const text = board.coverageText(incident({ dropped_out_count: 2 }), alerts).text;
    assert.doesNotMatch(text, /dropped out/);
    assert.match(text, /no one going now: 1 stood down by control/);
  });

  it("says so in the alarm past the first step, titled as nobody going, not as nobody accepted", () => {
    const state = boardWith(incident(counted), alerts);
    const [alarm] = board.alarmsOf(state);
    assert.equal(alarm.kind, "unanswered");
    assert.equal(alarm.title, "Nobody going");
    assert.equal(alarm.message, "No one is going to CAD-D4 after the first escalation step: 1 stood down by control, 1 alerted again after accepting (6 alerted).");
  });

  it("says it on the phone's crew line in the same words", () => {
    const crew = [
      member(1, "stood_down", { ever_accepted: true, no_longer_going: "stood_down_by_control" }),
      member(2, "alerted", { ever_accepted: true, no_longer_going: "alerted_again" }),
      member(3, "alerted"),
    ];
    assert.equal(format.crewSummary(crew, { status: "open", crew_target: 2 }), "No one going now: 1 stood down by control, 1 alerted again after accepting (2 needed)");
  });
});

describe("the alarm of an incident someone accepted, stood down by control, the ladder resumed", () => {
  const alerts = [alert(1, "stood_down", { accepted_at: AT, stood_down_reason: "coordinator" }), alert(2, "alerted")];

  it("is never titled \"Nobody has accepted\" (the trial's CAD-D4)", () => {
    const state = boardWith(incident({ stood_down_by_control_count: 1, alerted_again_count: 0, dropped_out_count: 0 }), alerts);
    const [alarm] = board.alarmsOf(state);
    assert.equal(alarm.title, "Nobody going");
    assert.doesNotMatch(`${alarm.title} ${alarm.message}`, /Nobody has accepted/);
  });

  it("keeps the title when nobody had accepted", () => {
    const state = boardWith(incident({ stood_down_by_control_count: 0, alerted_again_count: 0, dropped_out_count: 0 }), [alert(1, "alerted"), alert(2, "alerted")]);
    const [alarm] = board.alarmsOf(state);
    assert.equal(alarm.title, "Nobody has accepted");
    assert.equal(alarm.message, "Nobody has accepted CAD-D4 after the first escalation step (2 alerted).");
  });

  it("sounds nothing while the ladder is held, covered before or not", () => {
    const held = incident({ escalation_step: 0, next_escalation_at: null, next_escalation_action: null, covered_at: null, stood_down_by_control_count: 1, alerted_again_count: 0, dropped_out_count: 0 });
    const state = boardWith(held, alerts);
    assert.deepEqual(board.alarmsOf(state), []);
    assert.equal(board.escalationText(held, alerts), "Escalation held after a stand-down: a dispatch resumes it");
  });
});

describe("the phone's crew line after a coordinator's stand-down", () => {
  const target = { status: "open", crew_target: 2 };

  it("says stood down by control, as the boards do, not dropped out", () => {
    const crew = [
      member(1, "stood_down", { ever_accepted: true, no_longer_going: "stood_down_by_control" }),
      member(2, "stood_down", { ever_accepted: true, no_longer_going: "stood_down_by_control" }),
    ];
    assert.equal(format.crewSummary(crew, target), "No one going now: 2 stood down by control (2 needed)");
  });

  it("has the boards' categories, in their order", () => {
    const crew = [
      member(1, "alerted", { ever_accepted: true, no_longer_going: "alerted_again" }),
      member(2, "declined", { ever_accepted: true, no_longer_going: "dropped_out" }),
      member(3, "stood_down", { ever_accepted: true, no_longer_going: "stood_down_by_control" }),
    ];
    const counted = { stood_down_by_control_count: 1, alerted_again_count: 1, dropped_out_count: 1 };
    const boardWords = board.coverageText(incident(counted), []).text.match(/no one going now: (.*) \(0 alerted\)\.$/)[1];
    assert.equal(format.crewSummary(crew, target), `No one going now: ${boardWords} (2 needed)`);
    assert.equal(boardWords, "1 stood down by control, 1 accepted, then dropped out, 1 alerted again after accepting");
  });

  it("does not count one alerted again as dropped out, from an older server's crew too", () => {
    const crew = [member(1, "alerted", { ever_accepted: true, no_longer_going: undefined }), member(2, "declined", { ever_accepted: true, no_longer_going: undefined })];
    assert.equal(format.crewSummary(crew, target), "No one going now: 1 accepted, then dropped out, 1 alerted again after accepting (2 needed)");
  });

  it("still says nobody has accepted when nobody has", () => {
    assert.equal(format.crewSummary([member(1, "alerted"), member(2, "stood_down", { no_longer_going: null })], target), "Nobody has accepted yet (2 needed)");
  });
});
