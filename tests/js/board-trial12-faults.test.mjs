// What the twelfth browser trial found on the boards (backend/dispatch/static/dispatch/):
// - the notice of welfare follow-ups not reaching the welfare leads was only the page's, as it
//   loaded: an open board never showed it. The board now keeps what the socket says (the
//   snapshot's `welfare_notice`, `board.welfare` frames) and draws it (board.js: drawWelfareNotice);
// - the Alert named dialog said "Alex Cole … on T12-C", nothing of his having logged out.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import "./support/app-paths.mjs";

const board = await import("../../backend/dispatch/static/dispatch/board-state.js");
const wall = await import("../../backend/dispatch/static/dispatch/wall.js");

const NOTICE = {
  count: 1,
  headline: "1 welfare follow-up request not reaching the welfare leads.",
  detail: "Emailing the welfare leads keeps failing (the mail relay). Only a welfare lead may read them: tell one.",
  url: "",
};

describe("the welfare notice on an open board", () => {
  it("is unknown until the socket says, so the page's own stays", () => {
    const state = board.createBoardState();
    assert.equal(state.welfare, undefined);
    board.applyFrame(state, { type: "board.snapshot", data: { incidents: [], alerts: [] } });
    assert.equal(state.welfare, undefined, "a snapshot of the version before says nothing of it");
  });

  it("is the snapshot's, then each board.welfare frame's: shown, changed, cleared", () => {
    const state = board.createBoardState();
    board.applyFrame(state, { type: "board.snapshot", data: { incidents: [], alerts: [], welfare_notice: null } });
    assert.equal(state.welfare, null);
    assert.equal(board.applyFrame(state, { type: "board.welfare", data: { notice: NOTICE } }), true);
    assert.deepEqual(state.welfare, NOTICE);
    assert.equal(board.applyFrame(state, { type: "board.welfare", data: { notice: { ...NOTICE } } }), false, "the same: nothing to draw");
    const two = { ...NOTICE, count: 2, headline: "2 welfare follow-up requests not reaching the welfare leads." };
    assert.equal(board.applyFrame(state, { type: "board.welfare", data: { notice: two } }), true);
    assert.equal(state.welfare.count, 2);
    assert.equal(board.applyFrame(state, { type: "board.welfare", data: { notice: null } }), true);
    assert.equal(state.welfare, null);
  });

  it("comes back with a reconnect's snapshot", () => {
    const state = board.createBoardState();
    board.applyFrame(state, { type: "board.welfare", data: { notice: null } });
    board.applyFrame(state, { type: "board.snapshot", data: { incidents: [], alerts: [], welfare_notice: NOTICE } });
    assert.deepEqual(state.welfare, NOTICE);
  });
});

describe("the Alert named dialog's words for a candidate logged out of the app", () => {
  const at = "2026-01-01T02:08:15+00:00";

  it("says when they logged out, as their rows do", () => {
    assert.equal(
      wall.namedCandidateText({ name: "Alex Cole", cannot_alert: null, committed_to: "T12-C", logged_out_at: at }),
      `on T12-C, logged out at ${board.clockTime(at)}`,
    );
    assert.equal(wall.namedCandidateText({ cannot_alert: null, committed_to: null, logged_out_at: at }), `logged out at ${board.clockTime(at)}`);
  });

  it("with why they cannot be alerted, and nothing more for someone logged in", () => {
    const since = "2026-01-01T01:30:00+00:00";
    assert.equal(
      wall.namedCandidateText({ cannot_alert: "declined", cannot_alert_since: since, committed_to: null, logged_out_at: at }),
      `declined this incident at ${board.clockTime(since)}, not alerted again, logged out at ${board.clockTime(at)}`,
    );
    assert.equal(wall.namedCandidateText({ cannot_alert: null, committed_to: "T12-C", logged_out_at: null }), "on T12-C");
  });
});
