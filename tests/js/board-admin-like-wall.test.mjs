// What a browser trial found on the admin's live board (backend/dispatch/static/dispatch/board.js)
// against the control room's (wall.js): a firefighter going to a job logged out of the app, and the
// wall's coverage line said "2 going, 1 of them logged out (2 needed): … check the one logged out is
// still going" while the admin's kept "2 going (2 needed): covered at …" until reloaded (it read
// only the alerts' own logout times, not the `board.responder` frames); and a message's receipts
// read "Seen by 2 of 5" on the wall, "Got it: … (1 of 5)" on the admin's board. Both boards now
// take both from board-state.js (cardCoverageText, seenText).
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import "./support/app-paths.mjs";

const board = await import("../../backend/dispatch/static/dispatch/board-state.js");
const admin = await import("../../backend/dispatch/static/dispatch/board.js");
const wall = await import("../../backend/dispatch/static/dispatch/wall.js");

const AT = "2026-01-01T09:23:20+00:00";
const LOGGED_OUT_AT = "2026-01-01T09:25:00+00:00";

const covered = {
  id: 1,
  cad_reference: "T13-A",
  status: "open",
  category: "cardiac_arrest",
  address: "1 High Street",
  created_at: AT,
  dispatched_at: AT,
  crew_target: 2,
  committed_count: 2,
  covering_count: 2,
  accepted_count: 2,
  covered_at: AT,
};

const going = (id, state) => ({ id, incident_id: 1, responder_id: id, responder_name: `R${id}`, state, version: 1, rank: id, accepted_at: AT });

const snapshot = (alerts) => ({ type: "board.snapshot", data: { incidents: [covered], alerts, devices: [], delivery_workers: { alive: true } } });
const presence = (loggedOutAt, changedAt = loggedOutAt) => ({
  type: "board.responder",
  data: { responder_id: 2, logged_out_at: loggedOutAt, on_call: true, on_call_changed_at: null, changed_at: changedAt },
});

function boardOf(alerts, ...frames) {
  const state = board.createBoardState();
  board.applyFrame(state, snapshot(alerts));
  for (const frame of frames) assert.equal(board.applyFrame(state, frame), true, "a frame the board draws");
  return state;
}

const LOGGED_OUT_LINE = new RegExp(
  "^2 going, 1 of them logged out \\(2 needed\\): covered at \\d\\d:\\d\\d:\\d\\d, counting 1 logged out: " +
  "check the one logged out is still going\\.$",
);

describe("the coverage line of a crew going who logs out (both boards)", () => {
  const alerts = [going(1, "on_scene"), going(2, "en_route")];

  it("says so as soon as the board.responder frame comes, with no new snapshot", () => {
    const state = boardOf(alerts);
    assert.match(board.cardCoverageText(state, covered).text, /^2 going \(2 needed\): covered at \d\d:\d\d:\d\d\.$/);
    board.applyFrame(state, presence(LOGGED_OUT_AT));
    const line = board.cardCoverageText(state, covered);
    assert.match(line.text, LOGGED_OUT_LINE);
    assert.equal(line.tone, "short", "covered only by counting them: not green");
  });

  it("is the wall's line too, with its Dispatch button", () => {
    const state = boardOf(alerts, presence(LOGGED_OUT_AT));
    const onTheWall = board.cardCoverageText(state, covered, board.alertsOf(state, 1), { dispatchButton: true });
    assert.deepEqual(onTheWall, board.cardCoverageText(state, covered));
  });

  it("reads the alert's own logout time after a reload (the snapshot), and goes when they log in again", () => {
    const state = boardOf([alerts[0], { ...alerts[1], responder_logged_out_at: LOGGED_OUT_AT }]);
    assert.match(board.cardCoverageText(state, covered).text, LOGGED_OUT_LINE);
    board.applyFrame(state, presence(null, "2026-01-01T09:26:00+00:00"));
    assert.match(board.cardCoverageText(state, covered).text, /^2 going \(2 needed\): covered at /);
  });

  it("counts as the escalation alarm does", () => {
    const short = { ...covered, crew_target: 3, covered_at: null, alarm_raised_at: AT, alarm_message: "Incident T13-A: nobody had accepted." };
    const state = board.createBoardState();
    board.applyFrame(state, { type: "board.snapshot", data: { incidents: [short], alerts, devices: [] } });
    board.applyFrame(state, presence(LOGGED_OUT_AT));
    const { lead } = board.cardCoverageText(state, short);
    assert.equal(lead, "2 going, 1 of them logged out (3 needed)");
    assert.match(board.incidentAlarm(state, short).message, /Now 2 going, 1 of them logged out \(3 needed\)\.$/);
  });
});

describe("a message's receipts (both boards)", () => {
  const message = { id: 7, incident_id: 1, text: "Rear door", sent_at: AT, recipient_count: 5 };
  const ack = (responderId, name) => ({
    type: "message.acknowledged",
    data: { message_id: 7, incident_id: 1, responder_id: responderId, responder_name: name, acknowledged_at: AT },
  });
  const messagesAfter = (...frames) => {
    const state = board.createBoardState();
    board.applyFrame(state, { type: "board.snapshot", data: { incidents: [covered], alerts: [], messages: [message] } });
    for (const frame of frames) board.applyFrame(state, frame);
    return board.messagesOf(state, 1);
  };
  const references = new Map([[1, "T13-A"]]);

  it("are worded as the wall words them, on the admin's board", () => {
    for (const [frames, words] of [
      [[], "Not yet seen (0 of 5)"],
      [[ack(3, "Alice")], "Seen by 1 of 5: Alice"],
      [[ack(3, "Alice"), ack(4, "Bob")], "Seen by 2 of 5: Alice, Bob"],
    ]) {
      const messages = messagesAfter(...frames);
      const [line] = admin.messageLines(messages, references);
      assert.equal(line.seen, words);
      assert.equal(wall.seenText(messages[0]), words);
      assert.doesNotMatch(line.seen, /Got it/);
    }
  });

  it("come from one function", () => {
    assert.equal(wall.seenText, board.seenText);
  });
});
