// What the eleventh browser trial found on the admin's live board (backend/dispatch/static/dispatch/
// board.js): an alarm acknowledged on the control room's board (/board/) stayed red there, "raised
// 04:57:34", with no "acknowledged by". The admin's board now reads the same acknowledgements (the
// snapshot's `alarm_acknowledgements`, `alarm.acknowledged` frames) for the same alarm.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import "./support/app-paths.mjs";

const board = await import("../../backend/dispatch/static/dispatch/board-state.js");
const admin = await import("../../backend/dispatch/static/dispatch/board.js");

const RAISED = "2026-01-01T12:03:00+00:00";
const MESSAGE = "Incident T11-A has 2 of the 3 crews it needs after every ring was alerted.";

function incident(overrides = {}) {
  return {
    id: 1,
    cad_reference: "T11-A",
    category: "cardiac_arrest",
    status: "open",
    address: "12 Castle Meadow, Norwich",
    created_at: "2026-01-01T12:00:00+00:00",
    dispatched_at: "2026-01-01T12:00:05+00:00",
    alarm_raised_at: RAISED,
    alarm_message: MESSAGE,
    crew_target: 3,
    committed_count: 2,
    covering_count: 2,
    unreached_reason: "",
    escalation_step: 4,
    next_escalation_at: null,
    ...overrides,
  };
}

function snapshot(acknowledgements = [], incidents = [incident()]) {
  return {
    type: "board.snapshot",
    data: { incidents, alerts: [], devices: [], delivery_workers: { alive: true }, alarm_acknowledgements: acknowledgements },
  };
}

const acknowledgement = (overrides = {}) => ({
  id: 5,
  kind: "escalation",
  incident_id: 1,
  acknowledged_by: "Casey Morgan",
  acknowledged_at: "2026-01-01T12:04:10+00:00",
  ...overrides,
});

function boardOf(...frames) {
  const state = board.createBoardState();
  for (const frame of frames) board.applyFrame(state, frame);
  return state;
}

describe("the admin's live board: an alarm acknowledged on the control room's board", () => {
  it("is shown sounding, in its words, until acknowledged", () => {
    const alarm = admin.boardAlarmOf(boardOf(snapshot()), incident());
    assert.equal(alarm.message, MESSAGE);
    assert.equal(alarm.raised_at, RAISED);
    assert.equal(alarm.acknowledgement, null);
  });

  it("says who acknowledged it, heard live (alarm.acknowledged)", () => {
    const state = boardOf(snapshot(), { type: "alarm.acknowledged", data: acknowledgement() });
    const alarm = admin.boardAlarmOf(state, state.incidents.get(1));
    assert.equal(alarm.acknowledgement?.acknowledged_by, "Casey Morgan");
    assert.equal(alarm.acknowledgement?.acknowledged_at, "2026-01-01T12:04:10+00:00");
  });

  it("says so after a reload (the snapshot's acknowledgements)", () => {
    const state = boardOf(snapshot([acknowledgement()]));
    assert.equal(admin.boardAlarmOf(state, state.incidents.get(1)).acknowledgement?.acknowledged_by, "Casey Morgan");
  });

  it("sounds again when raised afresh after the acknowledgement, and an acknowledgement of another alarm is not its", () => {
    const later = incident({ alarm_raised_at: "2026-01-01T12:09:00+00:00" });
    let state = boardOf(snapshot([acknowledgement()], [later]));
    assert.equal(admin.boardAlarmOf(state, later).acknowledgement, null);
    state = boardOf(snapshot([acknowledgement({ kind: "unanswered" }), acknowledgement({ id: 6, incident_id: 2 })]));
    assert.equal(admin.boardAlarmOf(state, state.incidents.get(1)).acknowledgement, null);
  });

  it("is the control room's own verdict: sounding there exactly when sounding here", () => {
    const state = boardOf(snapshot(), { type: "alarm.acknowledged", data: acknowledgement() });
    const [wall] = board.alarmsOf(state);
    assert.equal(wall.sounding, admin.boardAlarmOf(state, state.incidents.get(1)).acknowledgement === null);
  });
});
