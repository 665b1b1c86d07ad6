// Found by trying the product: a responder with two phones, one with a push subscription and one
// without, had the app open on the second; the alert arrived over the socket and the open app
// acknowledged it (state "received", "Shown on device"), while the push to the first phone was not
// shown. The admin's board read "Shown on 0 of 1 phone" beside "Shown on device", and the wall
// "sent 1/1 · shown 0/1 · opened 0/1": contradictory. A responder with no push phone at all read
// "Seen in the open app". Both boards now say it the same way (board-state.js: devicesText for the
// admin's board, funnelText for the wall).
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import "./support/app-paths.mjs";

const board = await import("../../backend/dispatch/static/dispatch/board-state.js");

const incident = { id: 1, cad_reference: "EEAST-1", status: "open", crew_target: 2, covering_count: 0, created_at: "2026-01-01T12:00:00+00:00" };
const alert = (overrides = {}) => ({
  id: 1,
  incident_id: 1,
  responder_id: 1,
  responder_name: "Sam Barker",
  state: "alerted",
  version: 1,
  rank: 1,
  alerted_at: "2026-01-01T12:00:05+00:00",
  ...overrides,
});
const pushPhone = (overrides = {}) => ({
  device_id: 10,
  label: "Pixel",
  sent_at: "2026-01-01T12:00:06+00:00",
  shown_at: null,
  opened_at: null,
  failed: "",
  proven: true,
  ...overrides,
});
const seenInApp = { state: "received", received_at: "2026-01-01T12:00:07+00:00", version: 2 };

function boardWith(theAlert, devices) {
  const state = board.createBoardState();
  board.applyFrame(state, {
    type: "board.snapshot",
    data: {
      incidents: [incident],
      alerts: [theAlert],
      devices: [{ alert_id: 1, incident_id: 1, responder_id: 1, devices }],
      delivery_workers: { alive: true },
    },
  });
  return state;
}

describe("an alert seen in the open app while no push has been shown", () => {
  it("says so on the admin's board, with the push phones' count", () => {
    const seen = alert(seenInApp);
    const cell = board.devicesText(boardWith(seen, [pushPhone()]), seen);
    assert.equal(board.stateText(seen), "Shown on device");
    assert.equal(cell.text, "Seen in the open app · shown on 0 of 1 push phone");
    assert.equal(cell.tone, "shown");
    assert.match(cell.title, /^Shown in the open app at \d\d:\d\d(:\d\d)?; no push has been shown yet\.\nPixel: sent /);
  });

  it("says so on the wall, before the push funnel", () => {
    const seen = alert(seenInApp);
    assert.equal(board.funnelText(boardWith(seen, [pushPhone()]), seen), "seen in the open app · sent 1/1 · shown 0/1 · opened 0/1");
  });

  it("keeps a failed push in the count, and no red on a responder reached", () => {
    const seen = alert(seenInApp);
    const state = boardWith(seen, [pushPhone({ sent_at: null, failed: "Gone (410)", proven: false })]);
    const cell = board.devicesText(state, seen);
    assert.equal(cell.text, "Seen in the open app · shown on 0 of 1 push phone (1 failed)");
    assert.equal(cell.tone, "shown");
    assert.equal(board.funnelText(state, seen), "seen in the open app · sent 0/1 · shown 0/1 · opened 0/1 · 1 failed");
  });

  it("says logged out in place of the open app once they have logged out, as with no push phone", () => {
    const seen = alert({ ...seenInApp, responder_logged_out_at: "2026-01-01T12:05:00+00:00" });
    const state = boardWith(seen, [pushPhone()]);
    assert.match(board.devicesText(state, seen).text, /^Shown on 0 of 1 phone · logged out at \d\d:\d\d(:\d\d)?$/);
    assert.match(board.funnelText(state, seen), /^sent 1\/1 · shown 0\/1 · opened 0\/1 · logged out at /);
  });

  it("counts the pushes as before once one has been shown, or while nothing has been seen", () => {
    const seen = alert(seenInApp);
    const shown = boardWith(seen, [pushPhone({ shown_at: "2026-01-01T12:00:08+00:00" })]);
    assert.equal(board.devicesText(shown, seen).text, "Shown on 1 of 1 phone");
    assert.equal(board.funnelText(shown, seen), "sent 1/1 · shown 1/1 · opened 0/1");
    const waiting = alert();
    const notYet = boardWith(waiting, [pushPhone()]);
    assert.equal(board.devicesText(notYet, waiting).text, "Shown on 0 of 1 phone");
    assert.equal(board.funnelText(notYet, waiting), "sent 1/1 · shown 0/1 · opened 0/1");
  });
});
