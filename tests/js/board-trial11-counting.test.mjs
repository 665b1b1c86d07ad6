// How the boards count and word crews, as the eleventh browser trial found it wrong: an alarm that
// said "Now 2 going" of two crews who had cleared; "2 going (2 needed): covered" with one of them
// logged out; a coordinator's stand-down of the one crew on scene worded as a drop-out, sounding the
// alarm; a withdrawal after accepting shown as a plain decline; going off call while en route not
// shown. And the phone's words for a withdrawal and for going off call with a live job.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import "./support/app-paths.mjs";

import { declineQuestion } from "../../pwa/app/views/alert.js";
import { offCallJobText } from "../../pwa/app/views/home.js";

const board = await import("../../backend/dispatch/static/dispatch/board-state.js");

const AT = "2026-01-01T12:00:05+00:00";

function incident(overrides = {}) {
  return {
    id: 1,
    cad_reference: "T11-A",
    status: "open",
    created_at: "2026-01-01T12:00:00+00:00",
    dispatched_at: AT,
    crew_target: 3,
    committed_count: 0,
    covering_count: 0,
    accepted_count: 0,
    attended_count: 0,
    escalation_step: 4,
    escalation_ladder_steps: 4,
    next_escalation_at: null,
    unreached_reason: "",
    ...overrides,
  };
}

function alert(id, state, overrides = {}) {
  return { id, incident_id: 1, responder_id: id, responder_name: `R${id}`, state, version: 1, rank: id, accepted_at: null, on_scene_at: null, ...overrides };
}

function boardWith(incidentData, alerts, ...frames) {
  const state = board.createBoardState();
  board.applyFrame(state, { type: "board.snapshot", data: { incidents: [incidentData], alerts, devices: [], delivery_workers: { alive: true } } });
  for (const frame of frames) board.applyFrame(state, frame);
  return state;
}

describe("the escalation alarm counts as the coverage line does", () => {
  const cleared = [
    alert(1, "cleared", { accepted_at: AT, on_scene_at: AT }),
    alert(2, "cleared", { accepted_at: AT, on_scene_at: AT }),
    alert(3, "declined"),
  ];
  const twoCleared = { committed_count: 0, covering_count: 2, attended_count: 2, accepted_count: 2 };

  it("says two who cleared are cleared from the scene, not going (T11-A)", () => {
    const raised = incident({ ...twoCleared, alarm_raised_at: "2026-01-01T12:03:00+00:00", alarm_message: "Incident T11-A has 2 of the 3 crews it needs after every ring was alerted." });
    const state = boardWith(raised, cleared);
    const { message } = board.incidentAlarm(state, state.incidents.get(1));
    assert.equal(board.coverageText(raised, cleared).lead, "2 cleared from the scene (3 needed)");
    assert.doesNotMatch(message, /going/);
    assert.match(message, /Now 2 cleared from the scene \(3 needed\)\.$/);
  });

  it("does not say the counts twice when the server's words already end with them", () => {
    const words = "Incident T11-A is still short of crews after every ring was alerted: 2 cleared from the scene (3 needed).";
    const state = boardWith(incident({ ...twoCleared, alarm_raised_at: "2026-01-01T12:03:00+00:00", alarm_message: words }), cleared);
    assert.equal(board.incidentAlarm(state, state.incidents.get(1)).message, words);
  });
});

describe("a crew going who logged out of the app", () => {
  const covered = incident({ crew_target: 2, committed_count: 2, covering_count: 2, accepted_count: 2, covered_at: "2026-01-01T12:01:41+00:00" });
  const going = [alert(1, "on_scene", { accepted_at: AT, on_scene_at: AT }), alert(3, "en_route", { accepted_at: AT })];
  const loggedOut = { type: "board.responder", data: { responder_id: 3, logged_out_at: "2026-01-01T12:02:03+00:00", on_call: true, on_call_changed_at: null, changed_at: "2026-01-01T12:02:03+00:00" } };

  it("is said in the coverage line, which is not a plain green covered", () => {
    const state = boardWith(covered, going, loggedOut);
    const isLoggedOut = (item) => Boolean(board.loggedOutAt(state, item));
    const { text, tone, lead } = board.coverageText(covered, board.alertsOf(state, 1), { isLoggedOut });
    assert.equal(lead, "2 going, 1 of them logged out (2 needed)");
    assert.match(text, /: covered at \d\d:\d\d:\d\d, counting 1 logged out: check the one logged out is still going\.$/);
    assert.equal(tone, "short");
  });

  it("reads the alerts' own logout time when no predicate is given", () => {
    const stored = [going[0], { ...going[1], responder_logged_out_at: "2026-01-01T12:02:03+00:00" }];
    assert.equal(board.coverageText(covered, stored).lead, "2 going, 1 of them logged out (2 needed)");
  });

  it("leaves the line as it was with nobody logged out", () => {
    const { text, tone } = board.coverageText(covered, going);
    assert.match(text, /^2 going \(2 needed\): covered at \d\d:\d\d:\d\d\.$/);
    assert.equal(tone, "covered");
  });
});

describe("a coordinator standing down the one crew on scene (T11-E)", () => {
  const held = incident({ cad_reference: "T11-E", crew_target: 1, escalation_step: 0, attended_count: 1, accepted_count: 1 });
  const alerts = [
    alert(1, "stood_down", { accepted_at: AT, on_scene_at: AT, stood_down_reason: "coordinator" }),
    alert(2, "stood_down", { stood_down_reason: "enough_crews" }),
  ];

  it("is worded as stood down by control, not as a drop-out", () => {
    const text = board.coverageText({ ...held, stood_down_by_control_count: 1, alerted_again_count: 0, dropped_out_count: 0 }, alerts).text;
    assert.equal(text, "0 going (1 needed): no one going now: 1 stood down by control (2 alerted).");
  });

  it("still says a drop-out beside it", () => {
    const more = [...alerts, alert(3, "declined", { accepted_at: AT, decline_reason: "no_transport" })];
    const text = board.coverageText({ ...held, stood_down_by_control_count: 1, alerted_again_count: 0, dropped_out_count: 1 }, more).text;
    assert.equal(text, "0 going (1 needed): no one going now: 1 stood down by control, 1 accepted, then dropped out (3 alerted).");
  });

  it("sounds no alarm while the ladder is held, and says it waits for a dispatch", () => {
    const withOldAlarm = { ...held, escalation_step: 2, alarm_raised_at: "2026-01-01T12:01:00+00:00", alarm_message: "Incident T11-E was short." };
    const state = boardWith(withOldAlarm, alerts);
    assert.equal(board.escalationHeld(withOldAlarm), true);
    assert.equal(board.incidentAlarm(state, state.incidents.get(1)), null);
    assert.equal(board.alarmOf(state, state.incidents.get(1)), null);
    assert.deepEqual(board.alarmsOf(state), []);
    assert.equal(board.escalationText(withOldAlarm, alerts), "Escalation held after a stand-down: a dispatch resumes it");
  });

  it("is not held once the ladder runs again, nor when it has finished", () => {
    assert.equal(board.escalationHeld({ ...held, next_escalation_at: "2026-01-01T12:09:00+00:00" }), false);
    assert.equal(board.escalationHeld({ ...held, escalation_step: 4 }), false);
    assert.equal(board.escalationHeld({ ...held, covering_count: 1, committed_count: 1 }), false);
  });
});

describe("a withdrawal after accepting", () => {
  it("is shown as withdrawn, with its reason, not as a plain decline", () => {
    assert.equal(board.stateText(alert(1, "declined", { accepted_at: AT, decline_reason: "no_transport" })), "Withdrew after accepting (no transport)");
    assert.equal(board.stateText(alert(1, "declined", { decline_reason: "no_transport" })), "Declined (no transport)");
  });

  it("is asked about on the phone as not being able to attend", () => {
    assert.equal(declineQuestion({ state: "en_route" }), "Why can't you attend?");
    assert.equal(declineQuestion({ state: "accepted" }), "Why can't you attend?");
    assert.equal(declineQuestion({ state: "alerted" }), "Why are you declining?");
  });
});

describe("going off call with a live job", () => {
  const going = incident({ crew_target: 1, committed_count: 1, covering_count: 1 });
  const enRoute = alert(3, "en_route", { accepted_at: AT, responder_on_call: true, responder_on_call_changed_at: "2026-01-01T08:00:00+00:00" });
  const offCall = { type: "board.responder", data: { responder_id: 3, logged_out_at: null, on_call: false, on_call_changed_at: "2026-01-01T12:11:09+00:00", changed_at: "2026-01-01T12:11:09+00:00" } };

  it("shows the firefighter as off call on their active alert, heard live", () => {
    const state = boardWith(going, [enRoute], offCall);
    const item = state.alerts.get(3);
    assert.equal(board.offCallText(state, item), "off call");
    assert.match(board.funnelText(state, item), /^off call/);
    assert.match(board.devicesText(state, item).text, /off call/i);
  });

  it("and after a reload (the alert's own field), until they book on call again", () => {
    const stored = { ...enRoute, responder_on_call: false, responder_on_call_changed_at: "2026-01-01T12:11:09+00:00" };
    let state = boardWith(going, [stored]);
    assert.equal(board.offCallText(state, state.alerts.get(3)), "off call");
    const backOn = { type: "board.responder", data: { ...offCall.data, on_call: true, on_call_changed_at: "2026-01-01T12:15:00+00:00", changed_at: "2026-01-01T12:15:00+00:00" } };
    state = boardWith(going, [stored], backOn);
    assert.equal(board.offCallText(state, state.alerts.get(3)), null);
  });

  it("says nothing of it on an alert that has ended, nor of one on call", () => {
    const state = boardWith(going, [{ ...enRoute, state: "cleared", responder_on_call: false }]);
    assert.equal(board.offCallText(state, state.alerts.get(3)), null);
    assert.equal(board.offCallText(boardWith(going, [enRoute]), enRoute), null);
  });

  it("is asked first on the phone, saying the job carries on", () => {
    const text = offCallJobText({ state: "en_route" }, { address: "3 Tombland, Norwich" });
    assert.equal(text, "You are going to 3 Tombland, Norwich. Going off call stops new alerts only: this job carries on, and the control room still counts you on it.");
    assert.equal(offCallJobText(null, null), "");
  });
});
