// The one socket client (pwa/app/socket.js), driven with a fake WebSocket and a fake clock: it
// reconnects from the last event id seen, notices a socket that has gone silent within a known
// deadline, backs off more after each failure and starts afresh after a success, and acts on
// the close codes of docs/events.md. No network.
import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";

import { Backoff } from "../../pwa/app/backoff.js";
import { LastEventTracker } from "../../pwa/app/lastevent.js";
import {
  CLOSE_BAD_LAST_EVENT_ID,
  CLOSE_NOT_ALLOWED,
  CLOSE_NOT_LOGGED_IN,
  DEAD_SOCKET_NOTICED_WITHIN_MS,
  OPEN_DEADLINE_MS,
  PING_EVERY_MS,
  PONG_DEADLINE_MS,
  coordinatorSocket,
  responderSocket,
} from "../../pwa/app/socket.js";
import { FakeClock } from "./support/fake-clock.mjs";
import { FakeWebSocket, LOCATION } from "./support/fake-websocket.mjs";

/** localStorage as a Map. */
function memoryStorage() {
  const items = new Map();
  return {
    getItem: (key) => (items.has(key) ? items.get(key) : null),
    setItem: (key, value) => items.set(key, String(value)),
    removeItem: (key) => items.delete(key),
  };
}

/** No jitter: each delay is its ceiling, 1 s, 2 s, 4 s, ... */
const steadyBackoff = () => new Backoff({}, () => 1);

/** A responder socket as the app makes one, with everything it reports recorded. */
function responder({ tracker = new LastEventTracker(memoryStorage(), "ff.test"), online = () => true } = {}) {
  const clock = new FakeClock();
  const seen = { frames: [], statuses: [], closedFor: [] };
  const socket = responderSocket({
    query: () => tracker.connectQuery(),
    onFrame: (frame) => {
      seen.frames.push(frame);
      tracker.observe(frame);
      if (frame.type === "sync.ready") tracker.syncReady(frame.data);
    },
    onStatus: (status, retryAt, detail) => seen.statuses.push({ status, retryAt, detail }),
    onClosedFor: (code) => {
      seen.closedFor.push(code);
      if (code === CLOSE_BAD_LAST_EVENT_ID) tracker.reset();
    },
    backoff: steadyBackoff(),
    WebSocketImpl: FakeWebSocket,
    clock,
    isOffline: () => !online(),
    location: LOCATION,
  });
  return { socket, clock, seen, tracker, status: () => socket.status };
}

/** The server's side of a connection that works: open, replay, sync.ready. */
function connectAndSync(ws, lastEventId = 0, replay = []) {
  ws.open();
  for (const frame of replay) ws.receive(frame);
  ws.receive({ type: "sync.ready", data: { replayed: replay.length, last_event_id: lastEventId, complete: true } });
}

const alertEvent = (id) => ({ id, type: "alert.updated", data: { alert: { id: 1, version: id } } });

beforeEach(() => FakeWebSocket.reset());

describe("connecting and catching up", () => {
  it("connects to the responder socket on the page's host, without an id the first time", () => {
    const { socket } = responder();
    socket.start();
    assert.equal(FakeWebSocket.last.url, "ws://coresponder.test/ws/responder/");
    socket.stop();
  });

  it("uses wss: on an https page", () => {
    const socket = responderSocket({ query: () => "", onFrame() {}, WebSocketImpl: FakeWebSocket, clock: new FakeClock(), isOffline: () => false, location: { protocol: "https:", host: "a.test" } });
    socket.start();
    assert.equal(FakeWebSocket.last.url, "wss://a.test/ws/responder/");
    socket.stop();
  });

  it("is live only once the replay is complete (sync.ready), not when the socket opens", () => {
    const { socket, status } = responder();
    socket.start();
    assert.equal(status(), "connecting");
    FakeWebSocket.last.open();
    assert.equal(status(), "syncing");
    FakeWebSocket.last.receive({ type: "sync.ready", data: { replayed: 0, last_event_id: 0, complete: true } });
    assert.equal(status(), "live");
    socket.stop();
  });

  it("reconnects after a drop asking for what came after the last event it saw", () => {
    const { socket, clock, seen } = responder();
    socket.start();
    connectAndSync(FakeWebSocket.last, 5, [alertEvent(4), alertEvent(5)]);
    FakeWebSocket.last.receive(alertEvent(9)); // live
    FakeWebSocket.last.serverClose(1006);
    assert.equal(seen.statuses.at(-1).status, "reconnecting");

    clock.advance(1000);
    assert.equal(FakeWebSocket.made.length, 2);
    assert.equal(FakeWebSocket.last.url, "ws://coresponder.test/ws/responder/?last_event_id=9");
    // The server replays what was missed: the client hands it on in order.
    connectAndSync(FakeWebSocket.last, 11, [alertEvent(10), alertEvent(11)]);
    assert.deepEqual(seen.frames.filter((frame) => frame.id).map((frame) => frame.id), [4, 5, 9, 10, 11]);
    assert.equal(socket.status, "live");
    socket.stop();
  });

  it("goes without the id after the server refused it (4400), at once", () => {
    const tracker = new LastEventTracker(memoryStorage(), "ff.test");
    tracker.set(12);
    const { socket, seen } = responder({ tracker });
    socket.start();
    assert.match(FakeWebSocket.last.url, /\?last_event_id=12$/);
    FakeWebSocket.last.serverClose(CLOSE_BAD_LAST_EVENT_ID);
    assert.deepEqual(seen.closedFor, [CLOSE_BAD_LAST_EVENT_ID]);
    assert.equal(FakeWebSocket.made.length, 2, "no backoff: the next try is a different request");
    assert.equal(FakeWebSocket.last.url, "ws://coresponder.test/ws/responder/");
    socket.stop();
  });
});

describe("a socket that never opens", () => {
  it("is given up after the opening deadline and tried again", () => {
    const { socket, clock, seen } = responder();
    socket.start();
    const first = FakeWebSocket.last; // the server took the connection and never answers
    clock.advance(OPEN_DEADLINE_MS - 1);
    assert.equal(socket.status, "connecting", "not given up before the deadline");
    clock.advance(1);
    assert.equal(socket.status, "reconnecting");
    assert.equal(seen.statuses.at(-1).detail, "the server did not open the connection");
    assert.equal(first.closedWith, 4000);
    clock.advance(1000);
    assert.equal(FakeWebSocket.made.length, 2, "a new connection replaces it");
    socket.stop();
  });

  it("keeps a socket that opens before the deadline, however long its replay", () => {
    const { socket, clock } = responder();
    socket.start();
    const ws = FakeWebSocket.last;
    clock.advance(OPEN_DEADLINE_MS - 1000);
    ws.open();
    clock.advance(OPEN_DEADLINE_MS); // syncing: the pings watch it from now on, and it answers them
    ws.receive({ type: "pong", data: {} });
    assert.equal(socket.status, "syncing");
    assert.equal(FakeWebSocket.made.length, 1);
    assert.equal(ws.closedWith, null);
    socket.stop();
  });
});

describe("a socket that has gone silent", () => {
  it("is noticed within the ping interval plus the pong deadline, and replaced", () => {
    const { socket, clock, seen } = responder();
    socket.start();
    const first = FakeWebSocket.last;
    connectAndSync(first);

    // The server stops answering (a dead connection the browser has not noticed).
    clock.advance(PING_EVERY_MS);
    assert.deepEqual(first.frames, [{ type: "ping" }]);
    clock.advance(PONG_DEADLINE_MS - 1);
    assert.equal(socket.status, "live", "not given up before the deadline");
    clock.advance(1);
    assert.equal(socket.status, "reconnecting");
    assert.equal(seen.statuses.at(-1).detail, "the server stopped answering");
    assert.equal(first.closedWith, 4000);
    assert.equal(DEAD_SOCKET_NOTICED_WITHIN_MS, PING_EVERY_MS + PONG_DEADLINE_MS);

    clock.advance(1000);
    assert.equal(FakeWebSocket.made.length, 2, "a new connection replaces it");
    socket.stop();
  });

  it("stays live for as long as the server answers its pings", () => {
    const { socket, clock } = responder();
    socket.start();
    const ws = FakeWebSocket.last;
    connectAndSync(ws);
    for (let minute = 0; minute < 10; minute += 1) {
      clock.advance(PING_EVERY_MS);
      ws.receive({ type: "pong", data: {} });
    }
    assert.equal(socket.status, "live");
    assert.equal(FakeWebSocket.made.length, 1);
    assert.equal(ws.frames.length, 10);
    socket.stop();
  });

  it("counts any frame as an answer", () => {
    const { socket, clock } = responder();
    socket.start();
    const ws = FakeWebSocket.last;
    connectAndSync(ws);
    clock.advance(PING_EVERY_MS);
    ws.receive(alertEvent(3));
    clock.advance(PONG_DEADLINE_MS);
    assert.equal(socket.status, "live");
    socket.stop();
  });

  it("is checked at once when the app comes back to the foreground", () => {
    const { socket, clock } = responder();
    socket.start();
    const ws = FakeWebSocket.last;
    connectAndSync(ws);
    clock.advance(1000);
    socket.poke();
    assert.deepEqual(ws.frames, [{ type: "ping" }]);
    clock.advance(PONG_DEADLINE_MS);
    assert.equal(socket.status, "reconnecting");
    socket.stop();
  });
});

describe("backoff", () => {
  it("waits longer after each failed try, up to 30 s", () => {
    const { socket, clock, seen } = responder();
    socket.start();
    const delays = [];
    for (let i = 0; i < 7; i += 1) {
      FakeWebSocket.last.serverClose(1006);
      const { retryAt } = seen.statuses.at(-1);
      delays.push(retryAt - clock.now());
      clock.advance(retryAt - clock.now());
    }
    assert.deepEqual(delays, [1000, 2000, 4000, 8000, 16000, 30000, 30000]);
    socket.stop();
  });

  it("does not count a connection that opened but never got to sync.ready as a success", () => {
    const { socket, clock, seen } = responder();
    socket.start();
    FakeWebSocket.last.serverClose(1006);
    clock.advance(1000);
    FakeWebSocket.last.open();
    FakeWebSocket.last.serverClose(1011);
    assert.equal(seen.statuses.at(-1).retryAt - clock.now(), 2000);
    socket.stop();
  });

  it("starts again from the shortest delay after a connection that worked", () => {
    const { socket, clock, seen } = responder();
    socket.start();
    FakeWebSocket.last.serverClose(1006);
    clock.advance(1000);
    FakeWebSocket.last.serverClose(1006);
    clock.advance(2000);
    connectAndSync(FakeWebSocket.last);
    FakeWebSocket.last.serverClose(1006);
    assert.equal(seen.statuses.at(-1).retryAt - clock.now(), 1000);
    socket.stop();
  });
});

describe("close codes and the network", () => {
  for (const [code, status] of [
    [CLOSE_NOT_LOGGED_IN, "login-required"],
    [CLOSE_NOT_ALLOWED, "forbidden"],
  ]) {
    it(`stops for good after ${code} (${status}): retrying cannot help`, () => {
      const { socket, clock, seen } = responder();
      socket.start();
      FakeWebSocket.last.serverClose(code);
      assert.equal(socket.status, status);
      assert.deepEqual(seen.closedFor, [code]);
      clock.advance(10 * 60 * 1000);
      assert.equal(FakeWebSocket.made.length, 1);
      assert.equal(clock.pending, 0);
    });
  }

  it("waits for the network instead of retrying while the browser is offline", () => {
    let online = true;
    const { socket, clock } = responder({ online: () => online });
    socket.start();
    online = false;
    FakeWebSocket.last.serverClose(1006);
    assert.equal(socket.status, "offline");
    clock.advance(60_000);
    assert.equal(FakeWebSocket.made.length, 1);
    online = true;
    socket.poke(); // the "online" event
    assert.equal(FakeWebSocket.made.length, 2);
    socket.stop();
  });

  it("lets the socket go and says offline at once when the browser loses the network (the board's offline event)", () => {
    let online = true;
    const { socket, clock } = responder({ online: () => online });
    socket.start();
    const ws = FakeWebSocket.last;
    connectAndSync(ws);
    socket.wentOffline(); // the browser still online: nothing
    assert.equal(socket.status, "live");
    online = false;
    socket.wentOffline();
    assert.equal(socket.status, "offline");
    assert.equal(clock.pending, 0);
    clock.advance(60_000);
    assert.equal(FakeWebSocket.made.length, 1);
    online = true;
    socket.poke(); // the "online" event
    assert.equal(FakeWebSocket.made.length, 2);
    socket.stop();
  });

  it("leaves no timer and no socket behind when stopped", () => {
    const { socket, clock } = responder();
    socket.start();
    connectAndSync(FakeWebSocket.last);
    socket.stop();
    assert.equal(socket.status, "stopped");
    assert.equal(FakeWebSocket.last.closedWith, 1000);
    assert.equal(clock.pending, 0);
    assert.equal(socket.send({ type: "ping" }), false);
  });
});

describe("the board's socket", () => {
  it("connects to the coordinators' path and is live on its snapshot", () => {
    const clock = new FakeClock();
    const socket = coordinatorSocket({ onFrame() {}, WebSocketImpl: FakeWebSocket, clock, isOffline: () => false, location: LOCATION });
    socket.start();
    assert.equal(FakeWebSocket.last.url, "ws://coresponder.test/ws/coordinator/");
    FakeWebSocket.last.open();
    assert.equal(socket.status, "syncing");
    FakeWebSocket.last.receive({ type: "board.snapshot", data: { incidents: [], alerts: [] } });
    assert.equal(socket.status, "live");
    socket.stop();
  });
});
