// A dispatch that resumes a held ladder (ladder.resume_held: a coordinator had stood down the one
// crew going) is a fresh attempt: those it alerts get the step's interval to answer. The boards'
// own `unanswered` alarm ("Nobody going", past the first escalation step with nobody going) waited
// for a new incident's first step to run, but sounded at once after a dispatch resumed a ladder
// past its first step: it counted the steps run before the hold. It now waits until the ladder has
// run a step since it resumed (`ladder_resumed_step`, `ladder_resumed_at`: backend/dispatch/
// payloads.py), and an acknowledgement of the earlier attempt's alarm does not silence it.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import "./support/app-paths.mjs";

const board = await import("../../backend/dispatch/static/dispatch/board-state.js");

const DISPATCHED = "2026-01-01T12:00:05+00:00";
const RESUMED = "2026-01-01T12:06:00+00:00";

function resumed(overrides = {}) {
  return {
    id: 1,
    cad_reference: "R-1",
    status: "open",
    created_at: "2026-01-01T12:00:00+00:00",
    dispatched_at: DISPATCHED,
    crew_target: 1,
    committed_count: 0,
    covering_count: 0,
    accepted_count: 0,
    attended_count: 0,
    stood_down_by_control_count: 1,
    alerted_again_count: 0,
    dropped_out_count: 0,
    // Two steps had run before the hold; the dispatch resumed the ladder at the third.
    escalation_step: 2,
    escalation_ladder_steps: 4,
    next_escalation_at: "2026-01-01T12:06:30+00:00",
    next_escalation_action: "ring",
    held_since: null,
    ladder_resumed_at: RESUMED,
    ladder_resumed_step: 2,
    alarm_raised_at: null,
    alarm_message: "",
    unreached_reason: "",
    ...overrides,
  };
}

const ALERTS = [
  { id: 1, incident_id: 1, responder_id: 1, responder_name: "R1", state: "stood_down", version: 4, rank: 1, accepted_at: "2026-01-01T12:01:00+00:00", stood_down_reason: "coordinator" },
  { id: 2, incident_id: 1, responder_id: 2, responder_name: "R2", state: "alerted", version: 3, rank: 2, realerted_at: RESUMED, stood_down_reason: "" },
];

function boardWith(incident, acknowledgements = []) {
  const state = board.createBoardState();
  board.applyFrame(state, {
    type: "board.snapshot",
    data: { incidents: [incident], alerts: ALERTS, devices: [], delivery_workers: { alive: true }, alarm_acknowledgements: acknowledgements },
  });
  return state;
}

describe("a ladder resumed by a dispatch after a hold", () => {
  it("sounds nothing of its own until the ladder has run a step since it resumed, as for a new incident", () => {
    const state = boardWith(resumed());
    assert.equal(board.incidentAlarm(state, state.incidents.get(1)), null);
    assert.deepEqual(board.alarmsOf(state), []);
  });

  it("says nobody is going once the resumed step has run with nobody going", () => {
    const state = boardWith(resumed());
    board.applyFrame(state, { type: "board.incident", data: resumed({ escalation_step: 3, next_escalation_at: "2026-01-01T12:07:00+00:00" }) });
    const [alarm] = board.alarmsOf(state);
    assert.equal(alarm.kind, "unanswered");
    assert.equal(alarm.title, "Nobody going");
    assert.equal(alarm.sounding, true);
  });

  it("sounds afresh though the earlier attempt's alarm was acknowledged before the hold", () => {
    const before = { id: 7, kind: "unanswered", incident_id: 1, acknowledged_by: "Casey", acknowledged_at: "2026-01-01T12:01:30+00:00" };
    const state = boardWith(resumed({ escalation_step: 3 }), [before]);
    const [alarm] = board.alarmsOf(state);
    assert.equal(alarm.kind, "unanswered");
    assert.equal(alarm.sounding, true);
    // Acknowledged since the resume: it is covered.
    board.applyAcknowledgement(state, { ...before, id: 8, acknowledged_at: "2026-01-01T12:07:10+00:00" });
    assert.equal(board.alarmsOf(state)[0].sounding, false);
  });

  it("leaves a ladder never held as it was: its alarm from the first step on", () => {
    const state = boardWith(resumed({ escalation_step: 1, ladder_resumed_at: null, ladder_resumed_step: null }));
    assert.equal(board.alarmsOf(state)[0]?.kind, "unanswered");
  });
});
