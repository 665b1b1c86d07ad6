// What a browser trial found on both boards (backend/dispatch/static/dispatch/): a message sent to
// one responder, a second alerted to the incident later read it on their phone and said "Got it",
// and the admin's board said "(2 of 1)", the wall "Seen by 2 of 1". The server counts whom a
// message reaches (its `recipient_count`: told when sent, alerted since, or acknowledged) and
// raises it with `message.recipients` before the acknowledgement that needs it; both boards read
// the count from the one board state (board-state.js) and count nothing themselves.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import "./support/app-paths.mjs";

const board = await import("../../backend/dispatch/static/dispatch/board-state.js");

const SENT = "2026-01-01T12:02:00+00:00";

function incident(id = 1) {
  return { id, cad_reference: `T13-${id}`, category: "cardiac_arrest", status: "open", address: "1 High Street", created_at: SENT, crew_target: 1 };
}

const message = (overrides = {}) => ({
  id: 7,
  incident_id: 1,
  text: "Access by the rear door",
  author_name: "Casey Morgan",
  sent_at: SENT,
  recipient_count: 1,
  acknowledgements: [],
  ...overrides,
});

const ack = (responderId, name, at) => ({
  type: "message.acknowledged",
  data: { message_id: 7, incident_id: 1, responder_id: responderId, responder_name: name, acknowledged_at: at },
});

const grown = (count) => ({ type: "message.recipients", data: { incident_id: 1, messages: [{ message_id: 7, recipient_count: count }] } });

function boardOf(...frames) {
  const state = board.createBoardState();
  board.applyFrame(state, { type: "board.snapshot", data: { incidents: [incident()], alerts: [], messages: [message()] } });
  for (const frame of frames) board.applyFrame(state, frame);
  return state;
}

// The frames the server sends: Alice (told) says "Got it"; Bob is alerted later (the count grows),
// then says "Got it" too.
const TRIAL = [ack(5, "Alice", "2026-01-01T12:03:00+00:00"), grown(2), ack(6, "Bob", "2026-01-01T12:04:00+00:00")];

describe("whom a message reaches, on the boards", () => {
  it("takes the server's count from message.recipients: never more seen than reached", () => {
    const state = boardOf();
    const counts = [];
    for (const frame of TRIAL) {
      board.applyFrame(state, frame);
      const [shown] = board.messagesOf(state, 1);
      counts.push([shown.acknowledgements.length, shown.recipient_count]);
    }
    assert.deepEqual(counts, [[1, 1], [1, 2], [2, 2]]);
  });

  it("says the count grew (a frame to draw) only when it did, and ignores a message it does not know", () => {
    const state = boardOf();
    assert.equal(board.applyFrame(state, grown(2)), true);
    assert.equal(board.applyFrame(state, grown(2)), false);
    const unknown = { type: "message.recipients", data: { incident_id: 1, messages: [{ message_id: 99, recipient_count: 3 }] } };
    assert.equal(board.applyFrame(state, unknown), false);
    assert.equal(state.messages.has(99), false);
  });

  it("keeps the count a reconnect's snapshot brings", () => {
    const state = boardOf(...TRIAL);
    board.applyFrame(state, { type: "board.snapshot", data: { incidents: [incident()], alerts: [], messages: [message({ recipient_count: 3 })] } });
    assert.equal(board.messagesOf(state, 1)[0].recipient_count, 3);
  });

  it("is what the admin's board says", async () => {
    const admin = await import("../../backend/dispatch/static/dispatch/board.js");
    const state = boardOf(...TRIAL);
    const [line] = admin.messageLines(board.messagesOf(state, 1), new Map([[1, "T13-1"]]));
    assert.equal(line.seen, "Seen by 2 of 2: Alice, Bob"); // the wall's words (board-state.js, seenText)
    assert.equal(line.text, `T13-1 ${board.clockTime(SENT)}: “Access by the rear door” · `);
    assert.deepEqual(admin.messageLines(board.messagesOf(state, 1), new Map()), [], "not an open incident's");
  });

  it("is what the wall says", async () => {
    const wall = await import("../../backend/dispatch/static/dispatch/wall.js");
    assert.equal(wall.seenText(board.messagesOf(boardOf(...TRIAL), 1)[0]), "Seen by 2 of 2: Alice, Bob");
    assert.equal(wall.seenText(board.messagesOf(boardOf(), 1)[0]), "Not yet seen (0 of 1)");
  });
});
