// What the ninth browser trial found on the coordinators' board, as board-state.js and wall.js rules:
// - an open incident nobody dispatched sounded nothing (its card was above a scrolled list, unseen):
//   the server raises its alarm after UNDISPATCHED_ALARM_SECONDS, and the board shows it as the
//   `undispatched` alarm, acknowledged as the others, over once the incident is dispatched (never
//   left sounding as the escalation alarm); the card says when it will sound;
// - a new incident whose card arrives out of sight brings up a notice ("New incident ... above");
// - a firefighter who logged out mid-job still read "seen in the open app": the board says
//   "logged out at 02:08:15" from the alert's `responder_logged_out_at` and `board.responder`.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import "./support/app-paths.mjs";

const board = await import("../../backend/dispatch/static/dispatch/board-state.js");
const { cardPlace, newIncidentsNotice } = await import("../../backend/dispatch/static/dispatch/wall.js");

const CREATED = "2026-01-01T12:00:00+00:00";
const RAISED = "2026-01-01T12:01:01+00:00";
const UNDISPATCHED_MESSAGE = "Incident EEAST-1 has not been dispatched 61 s after it was created: nobody is alerted to it.";

function incident(overrides = {}) {
  return {
    id: 1,
    cad_reference: "EEAST-1",
    category: "cardiac_arrest",
    status: "open",
    address: "1 High Street, Norwich",
    created_at: CREATED,
    dispatched_at: null,
    alarm_raised_at: null,
    alarm_message: "",
    crew_target: 2,
    committed_count: 0,
    covering_count: 0,
    unreached_reason: "",
    escalation_step: 0,
    next_escalation_at: "2026-01-01T12:01:00+00:00",
    next_escalation_action: null,
    ...overrides,
  };
}

function alert(overrides = {}) {
  return {
    id: 10,
    incident_id: 1,
    responder_id: 7,
    responder_name: "Sam Barker",
    station: "Great Yarmouth",
    state: "en_route",
    version: 3,
    rank: 1,
    alerted_at: "2026-01-01T12:02:00+00:00",
    received_at: "2026-01-01T12:02:05+00:00",
    accepted_at: "2026-01-01T12:02:10+00:00",
    responder_logged_out_at: null,
    ...overrides,
  };
}

function snapshot({ incidents = [incident()], alerts = [], devices = [], acknowledgements = [] } = {}) {
  return {
    type: "board.snapshot",
    data: { incidents, alerts, devices, delivery_workers: { alive: true }, alarm_acknowledgements: acknowledgements },
  };
}

function boardOf(...frames) {
  const state = board.createBoardState();
  for (const frame of frames) board.applyFrame(state, frame);
  return state;
}

const kinds = (state) => board.alarmsOf(state).map((alarm) => `${alarm.kind}:${alarm.sounding ? "sounding" : "acknowledged"}`);
const raisedUndispatched = { alarm_raised_at: RAISED, alarm_message: UNDISPATCHED_MESSAGE, next_escalation_at: null };

describe("an open incident nobody has dispatched", () => {
  it("sounds the board's alarm once the server raises it, in its words, and not before", () => {
    const state = boardOf(snapshot());
    assert.deepEqual(kinds(state), [], "no alarm before the server raises it");

    board.applyFrame(state, { type: "board.incident", data: incident(raisedUndispatched) });

    const [alarm] = board.alarmsOf(state);
    assert.equal(alarm.kind, "undispatched");
    assert.equal(alarm.title, "Not dispatched");
    assert.equal(alarm.message, UNDISPATCHED_MESSAGE);
    assert.equal(alarm.sounding, true);
    assert.equal(board.anySounding(board.alarmsOf(state)), true);
    assert.equal(board.alarmToAcknowledge(state, board.alarmsOf(state)).incident_id, 1);
  });

  it("sounds from the board.alarm frame too, before the incident's frame", () => {
    const state = boardOf(snapshot());
    board.applyFrame(state, { type: "board.alarm", data: { incident_id: 1, cad_reference: "EEAST-1", raised_at: RAISED, message: UNDISPATCHED_MESSAGE } });
    assert.deepEqual(kinds(state), ["undispatched:sounding"]);
  });

  it("is acknowledged as the other alarms, on every board", () => {
    const state = boardOf(snapshot({ incidents: [incident(raisedUndispatched)] }));
    board.applyFrame(state, {
      type: "alarm.acknowledged",
      data: { id: 1, kind: "undispatched", incident_id: 1, acknowledged_by: "Pat Coordinator", acknowledged_at: "2026-01-01T12:01:30+00:00" },
    });
    assert.deepEqual(kinds(state), ["undispatched:acknowledged"]);
    assert.ok(board.ALARM_KINDS.includes("undispatched"));
  });

  it("stops once the incident is dispatched, and never sounds on as the escalation alarm", () => {
    const state = boardOf(snapshot({ incidents: [incident(raisedUndispatched)] }));
    board.applyFrame(state, { type: "board.alarm", data: { incident_id: 1, cad_reference: "EEAST-1", raised_at: RAISED, message: UNDISPATCHED_MESSAGE } });

    const dispatched = incident({ ...raisedUndispatched, dispatched_at: "2026-01-01T12:01:40+00:00", next_escalation_at: "2026-01-01T12:02:40+00:00", next_escalation_action: "ring" });
    board.applyFrame(state, { type: "board.incident", data: dispatched });

    assert.deepEqual(kinds(state), []);
    assert.equal(board.alarmOf(state, state.incidents.get(1)), null, "the admin's board shows no alarm either");
    // An alarm raised after the dispatch (the ladder's, or the last crew dropping out) still sounds.
    board.applyFrame(state, { type: "board.alarm", data: { incident_id: 1, cad_reference: "EEAST-1", raised_at: "2026-01-01T12:04:40+00:00", message: "Nobody has accepted incident EEAST-1 after every ring was alerted." } });
    assert.deepEqual(kinds(state), ["escalation:sounding"]);
  });

  it("says on its card when the alarm sounds if nobody dispatches it, until it has", () => {
    const waiting = incident();
    assert.equal(board.escalationText(waiting), `Not dispatched: alarm at ${board.clockTime(waiting.next_escalation_at)}`);
    assert.equal(board.escalationText(incident(raisedUndispatched)), null);
    assert.equal(board.escalationText(incident({ next_escalation_at: null })), null, "a server that gives no time");
    assert.equal(board.escalationText(incident({ status: "cancelled" })), null);
  });
});

describe("a new incident whose card is out of sight", () => {
  const box = { top: 100, bottom: 700, height: 600 };

  it("is in view once the head of its card is within the list's visible part", () => {
    assert.equal(cardPlace({ top: 120, bottom: 520, height: 400 }, box), "in view");
    assert.equal(cardPlace({ top: 650, bottom: 1050, height: 400 }, box), "in view", "its head shows at the bottom");
    assert.equal(cardPlace({ top: -375, bottom: 25, height: 400 }, box), "above", "scrolled 475 px: above");
    assert.equal(cardPlace({ top: 60, bottom: 460, height: 400 }, box), "above", "its head cut off at the top");
    assert.equal(cardPlace({ top: 690, bottom: 1090, height: 400 }, box), "below");
  });

  // Of more than one, how many and where (naming them all, the notice was cut: a product trial,
  // tests/e2e/test_wall_board_words_whole.py).
  it("brings up a notice naming it and where it is", () => {
    assert.equal(newIncidentsNotice([]), null);
    assert.equal(newIncidentsNotice([{ cad_reference: "T9-NOR-9", where: "above" }]), "New incident T9-NOR-9 above: show it ↑");
    assert.equal(newIncidentsNotice([{ cad_reference: "T9-NOR-9", where: "below" }]), "New incident T9-NOR-9 below: show it ↓");
    assert.equal(
      newIncidentsNotice([{ cad_reference: "T9-NOR-10", where: "above" }, { cad_reference: "T9-NOR-9", where: "above" }]),
      "2 new incidents above: show the newest ↑",
    );
    assert.equal(
      newIncidentsNotice([{ cad_reference: "A", where: "above" }, { cad_reference: "B", where: "below" }]),
      "2 new incidents out of sight: show the newest",
    );
  });
});

describe("a firefighter who logged out of the app", () => {
  const LOGGED_OUT = "2026-01-01T12:08:15+00:00";
  const noPhone = { alert_id: 10, incident_id: 1, responder_id: 7, devices: [] };
  const onePhone = { alert_id: 10, incident_id: 1, responder_id: 7, devices: [{ device_id: 3, label: "Pixel", sent_at: "2026-01-01T12:02:01+00:00", shown_at: "2026-01-01T12:02:02+00:00", opened_at: null, failed: "", proven: true }] };
  const at = board.clockTime(LOGGED_OUT);

  it("reads logged out, not seen in the open app, after a reload", () => {
    const state = boardOf(snapshot({ alerts: [alert({ responder_logged_out_at: LOGGED_OUT })], devices: [noPhone] }));
    const shown = state.alerts.get(10);
    assert.equal(board.funnelText(state, shown), `logged out at ${at}, no push phone`);
    assert.equal(board.devicesText(state, shown).text, `Logged out at ${at}`);
    assert.equal(board.devicesText(state, shown).tone, "none");
    assert.equal(board.loggedOutAt(state, shown), LOGGED_OUT);
  });

  it("reads so at once from the board.responder frame, on every alert of theirs, and not after logging in again", () => {
    const state = boardOf(snapshot({ alerts: [alert(), alert({ id: 11, incident_id: 2, state: "stood_down" })], devices: [noPhone, { ...onePhone, alert_id: 11, incident_id: 2 }] }));
    assert.equal(board.funnelText(state, state.alerts.get(10)), "seen in the open app, no push phone");

    const changed = board.applyFrame(state, { type: "board.responder", data: { responder_id: 7, logged_out_at: LOGGED_OUT, changed_at: LOGGED_OUT } });

    assert.equal(changed, true);
    assert.equal(board.funnelText(state, state.alerts.get(10)), `logged out at ${at}, no push phone`);
    assert.equal(board.funnelText(state, state.alerts.get(11)), `sent 1/1 · shown 1/1 · opened 0/1 · logged out at ${at}`);
    assert.match(board.devicesText(state, state.alerts.get(11)).text, new RegExp(`^Shown on 1 of 1 phone · logged out at ${at}$`));

    board.applyFrame(state, { type: "board.responder", data: { responder_id: 7, logged_out_at: null, changed_at: "2026-01-01T12:10:00+00:00" } });
    assert.equal(board.funnelText(state, state.alerts.get(10)), "seen in the open app, no push phone");
  });

  it("keeps the newest of the frames, whatever their order", () => {
    const state = boardOf(snapshot({ alerts: [alert()], devices: [noPhone] }));
    board.applyFrame(state, { type: "board.responder", data: { responder_id: 7, logged_out_at: null, changed_at: "2026-01-01T12:10:00+00:00" } });
    assert.equal(board.applyFrame(state, { type: "board.responder", data: { responder_id: 7, logged_out_at: LOGGED_OUT, changed_at: LOGGED_OUT } }), false);
    assert.equal(board.loggedOutAt(state, state.alerts.get(10)), null);
  });

  it("takes an alert read after the frame over it, and a snapshot starts afresh", () => {
    const state = boardOf(snapshot({ alerts: [alert()], devices: [noPhone] }));
    board.applyFrame(state, { type: "board.responder", data: { responder_id: 7, logged_out_at: null, changed_at: "2026-01-01T12:05:00+00:00" } });
    board.applyFrame(state, { type: "board.alert", data: alert({ version: 4, responder_logged_out_at: LOGGED_OUT }) });
    assert.equal(board.loggedOutAt(state, state.alerts.get(10)), LOGGED_OUT, "logged out after the frame that said they were in");

    board.applyFrame(state, snapshot({ alerts: [alert({ version: 5 })], devices: [noPhone] }));
    assert.equal(board.loggedOutAt(state, state.alerts.get(10)), null);
  });
});
