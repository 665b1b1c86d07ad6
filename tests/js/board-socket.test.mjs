// The board's connection (backend/dispatch/static/dispatch/board.js) is the app's socket client:
// it notices a silent socket within the same deadline as the firefighters' app, says in its own
// words why it is not live, and a reconnect starts again from a fresh snapshot. Fake WebSocket
// and clock; no network, no DOM.
import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";

import { DEAD_SOCKET_NOTICED_WITHIN_MS } from "../../pwa/app/socket.js";
import { createState, createStore } from "../../pwa/app/store.js";
import { AlertSync } from "../../pwa/app/sync.js";
import "./support/app-paths.mjs";
import { FakeClock } from "./support/fake-clock.mjs";
import { FakeWebSocket, LOCATION } from "./support/fake-websocket.mjs";

// Dynamic, after the hook that finds the app's modules at /app/ (support/app-paths.mjs).
const { boardStatus, connectBoard } = await import("../../backend/dispatch/static/dispatch/board.js");
const { applyFrame, createBoardState } = await import("../../backend/dispatch/static/dispatch/board-state.js");

const fakes = (clock) => ({ WebSocketImpl: FakeWebSocket, clock, location: LOCATION, isOffline: () => false });

function board() {
  const clock = new FakeClock();
  const state = createBoardState();
  const statuses = [];
  const connection = connectBoard({
    path: "/ws/coordinator/",
    onFrame: (frame) => applyFrame(state, frame, clock.now()),
    onStatus: (status) => statuses.push(status),
    ...fakes(clock),
  });
  return { clock, state, statuses, connection, isLive: () => statuses.at(-1)?.state === "live" };
}

function app() {
  const clock = new FakeClock();
  const sync = new AlertSync({
    store: createStore(createState()),
    api: { activeAlerts: async () => [] },
    kv: { get: async () => null, put: async () => {} },
    owner: "ff.test",
    onNewAlert() {},
    onAuthRequired() {},
    onForbidden() {},
    storage: null,
    clock,
    socketOptions: fakes(clock),
  });
  return { clock, sync, isLive: () => sync.store.state.connection.status === "live" };
}

const snapshot = (incidents = [], alerts = []) => ({ type: "board.snapshot", data: { incidents, alerts, delivery_workers: { alive: true } } });

/** Milliseconds from the last frame heard until the client gives up on a silent socket. */
function timeToNotice({ clock, isLive }) {
  const start = clock.now();
  while (isLive()) {
    clock.advance(100);
    assert.ok(clock.now() - start < 10 * 60 * 1000, "never noticed");
  }
  return clock.now() - start;
}

beforeEach(() => FakeWebSocket.reset());

describe("a silent socket", () => {
  it("is noticed within the same deadline by the board and by the app", async () => {
    const onBoard = board();
    onBoard.connection.start();
    FakeWebSocket.last.open();
    FakeWebSocket.last.receive(snapshot());
    assert.ok(onBoard.isLive());
    const boardTook = timeToNotice(onBoard);

    const onPhone = app();
    await onPhone.sync.start();
    FakeWebSocket.last.open();
    FakeWebSocket.last.receive({ type: "sync.ready", data: { replayed: 0, last_event_id: 0, complete: true } });
    assert.ok(onPhone.isLive());
    const appTook = timeToNotice(onPhone);

    assert.equal(boardTook, appTook);
    assert.ok(boardTook <= DEAD_SOCKET_NOTICED_WITHIN_MS, `${boardTook} ms`);
    const { state, detail } = onBoard.statuses.at(-1);
    assert.deepEqual({ state, detail }, { state: "waiting", detail: "the server stopped answering" });
    onBoard.connection.stop();
    onPhone.sync.stop();
  });
});

describe("the board's connection", () => {
  it("connects to the coordinators' socket and is live once its snapshot arrives", () => {
    const { connection, statuses } = board();
    connection.start();
    assert.equal(FakeWebSocket.last.url, "ws://coresponder.test/ws/coordinator/");
    FakeWebSocket.last.open();
    assert.equal(statuses.at(-1).state, "connecting");
    FakeWebSocket.last.receive(snapshot());
    assert.equal(statuses.at(-1).state, "live");
    connection.stop();
  });

  it("reconnects after a drop and starts again from the new snapshot", () => {
    const { connection, clock, state } = board();
    connection.start();
    FakeWebSocket.last.open();
    FakeWebSocket.last.receive(snapshot([{ id: 1, status: "open", crew_target: 1 }], [{ id: 9, incident_id: 1, state: "alerted", version: 1 }]));
    FakeWebSocket.last.serverClose(1006);
    // Until the next try (its backoff is jittered), and no further: a socket not opened within its
    // deadline would be replaced by a third.
    for (let waited = 0; FakeWebSocket.made.length < 2 && waited < DEAD_SOCKET_NOTICED_WITHIN_MS; waited += 100) clock.advance(100);
    assert.equal(FakeWebSocket.made.length, 2);
    FakeWebSocket.last.open();
    FakeWebSocket.last.receive(snapshot([{ id: 2, status: "open", crew_target: 1 }]));
    assert.deepEqual([...state.incidents.keys()], [2]);
    assert.equal(state.alerts.size, 0);
    connection.stop();
  });

  it("stops and says why when the coordinator is logged out or not allowed", () => {
    for (const [code, words] of [
      [4401, /no longer logged in/],
      [4403, /may not watch the live board/],
    ]) {
      const { connection, statuses, clock } = board();
      connection.start();
      FakeWebSocket.last.serverClose(code);
      assert.equal(statuses.at(-1).state, "stopped");
      assert.match(statuses.at(-1).detail, words);
      assert.equal(clock.pending, 0, "no retry");
    }
  });

  it("waits for the network rather than counting down while offline", () => {
    assert.deepEqual(boardStatus("offline", null, ""), { state: "waiting", detail: "no network", retryAt: null });
    assert.deepEqual(boardStatus("reconnecting", 5000, "connection lost, code 1006"), { state: "waiting", detail: "connection lost, code 1006", retryAt: 5000 });
  });
});
