// The server's `held` alarm (backend/dispatch/escalation.py, sound_held_alarm): a ladder held after
// a coordinator's stand-down sounds nothing until, HELD_LADDER_REMINDER_SECONDS after the hold
// began (`held_since`) with nobody dispatching, cancelling or closing it, the server raises it once
// (H17 control 6). The boards show it as the incident's `held` alarm; an alarm raised before the
// stand-down still sounds nothing while held.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import "./support/app-paths.mjs";

const board = await import("../../backend/dispatch/static/dispatch/board-state.js");

const HELD_SINCE = "2026-01-01T12:05:00+00:00";
const MESSAGE = "Nobody is going to incident H-1, 2 min after crews were stood down: dispatch again, or cancel or close it.";

function held(overrides = {}) {
  return {
    id: 1,
    cad_reference: "H-1",
    status: "open",
    created_at: "2026-01-01T12:00:00+00:00",
    dispatched_at: "2026-01-01T12:00:05+00:00",
    crew_target: 1,
    committed_count: 0,
    covering_count: 0,
    accepted_count: 0,
    attended_count: 0,
    escalation_step: 1,
    escalation_ladder_steps: 4,
    next_escalation_at: null,
    held_since: HELD_SINCE,
    unreached_reason: "",
    ...overrides,
  };
}

function boardWith(incident) {
  const state = board.createBoardState();
  const alerts = [{ id: 1, incident_id: 1, responder_id: 1, responder_name: "R1", state: "stood_down", version: 1, rank: 1, accepted_at: "2026-01-01T12:01:00+00:00", stood_down_reason: "coordinator" }];
  board.applyFrame(state, { type: "board.snapshot", data: { incidents: [incident], alerts, devices: [], delivery_workers: { alive: true } } });
  return state;
}

describe("a ladder held after a stand-down", () => {
  it("sounds nothing before the server's held alarm", () => {
    const state = boardWith(held());
    assert.equal(board.incidentAlarm(state, state.incidents.get(1)), null);
    assert.deepEqual(board.alarmsOf(state), []);
  });

  it("sounds nothing for an alarm raised before the stand-down", () => {
    const state = boardWith(held({ alarm_raised_at: "2026-01-01T12:03:00+00:00", alarm_message: "Old." }));
    assert.equal(board.incidentAlarm(state, state.incidents.get(1)), null);
  });

  it("shows the held alarm once raised, in the server's words, and keeps showing the hold", () => {
    const incident = held({ alarm_raised_at: "2026-01-01T12:07:01+00:00", alarm_message: MESSAGE });
    const state = boardWith(incident);
    const [alarm] = board.alarmsOf(state);
    assert.equal(alarm.kind, "held");
    assert.equal(alarm.title, "Held after a stand-down");
    assert.equal(alarm.message, MESSAGE);
    assert.equal(alarm.sounding, true);
    assert.equal(board.alarmOf(state, state.incidents.get(1)).message, MESSAGE);
    assert.equal(board.escalationText(incident, []), "Escalation held after a stand-down: a dispatch resumes it");
  });

  it("is over once a dispatch resumes the ladder, heard live or kept by the server (a trial: it sounded on as the escalation alarm)", () => {
    const raised = "2026-01-01T12:07:01+00:00";
    const state = boardWith(held({ alarm_raised_at: raised, alarm_message: MESSAGE }));
    board.applyFrame(state, { type: "board.alarm", data: { incident_id: 1, cad_reference: "H-1", raised_at: raised, message: MESSAGE } });
    assert.equal(board.alarmsOf(state).length, 1);
    // "Alert named": the server ends the hold and clears the alarm it kept (ladder.resume_held).
    board.applyFrame(state, { type: "board.incident", data: held({ held_since: null, next_escalation_at: "2026-01-01T12:08:00+00:00", alarm_raised_at: null, alarm_message: "" }) });
    // Neither it nor its words sound on (as the escalation alarm); what the board works out for a
    // short incident past its first step, as after any resumed ladder, is its own kind.
    const after = board.alarmsOf(state);
    assert.deepEqual(after.filter((alarm) => ["held", "escalation"].includes(alarm.kind)), []);
    assert.ok(after.every((alarm) => alarm.message !== MESSAGE && alarm.raised_at === null), JSON.stringify(after));
  });

  it("is acknowledged as the other alarms", () => {
    const state = boardWith(held({ alarm_raised_at: "2026-01-01T12:07:01+00:00", alarm_message: MESSAGE }));
    assert.ok(board.ALARM_KINDS.includes("held"));
    board.applyAcknowledgement(state, { id: 1, kind: "held", incident_id: 1, acknowledged_by: "Casey", acknowledged_at: "2026-01-01T12:07:30+00:00" });
    assert.equal(board.alarmsOf(state)[0].sounding, false);
  });
});
