// AlertSync (pwa/app/sync.js) over a fake WebSocket and a fake clock: the store follows the
// socket's replayed and live events, a reconnect asks for what came after the last event seen,
// an incomplete replay or a first connection reloads over the REST API, an alert on screen is
// acknowledged on the socket or, when that gets no answer, over REST, and the close codes reach
// the app. (One POST per answer is tests/js/alert-sync.test.mjs.) No network.
import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";

import { Backoff } from "../../pwa/app/backoff.js";
import { CLOSE_BAD_LAST_EVENT_ID, CLOSE_NOT_ALLOWED, CLOSE_NOT_LOGGED_IN } from "../../pwa/app/socket.js";
import { createState, createStore } from "../../pwa/app/store.js";
import { AlertSync } from "../../pwa/app/sync.js";
import { FakeClock } from "./support/fake-clock.mjs";
import { FakeWebSocket, LOCATION } from "./support/fake-websocket.mjs";

function memoryStorage(initial = {}) {
  const items = new Map(Object.entries(initial));
  return {
    items,
    getItem: (key) => (items.has(key) ? items.get(key) : null),
    setItem: (key, value) => items.set(key, String(value)),
    removeItem: (key) => items.delete(key),
  };
}

const INCIDENT = { id: 1, status: "open", address: "1 Quay Road, Great Yarmouth", category: "cardiac_arrest" };

function alert(id, state, version) {
  return { id, incident_id: 1, state, version, incident: INCIDENT, station: "Great Yarmouth", distance_km: 1.2 };
}

const created = (eventId, a) => ({ id: eventId, type: "alert.created", data: { alert: a } });
const updated = (eventId, a) => ({ id: eventId, type: "alert.updated", data: { alert: a } });
const syncReady = (lastEventId, complete = true) => ({ type: "sync.ready", data: { replayed: 0, last_event_id: lastEventId, complete } });

/** The REST API: the active alerts it holds, and the calls made to it. */
function fakeApi(active = []) {
  const calls = [];
  return {
    calls,
    active,
    async activeAlerts() {
      calls.push(["activeAlerts"]);
      return this.active;
    },
    async alert(id) {
      calls.push(["alert", id]);
      return { ...alert(id, "cancelled", 99), crew: [] };
    },
    async respond(id, response) {
      calls.push(["respond", id, response]);
      return { ...alert(id, response === "received" ? "received" : response, 50), crew: [] };
    },
  };
}

function newSync({ api = fakeApi(), storage = memoryStorage() } = {}) {
  const clock = new FakeClock();
  const told = { newAlerts: [], authRequired: 0, forbidden: 0 };
  const sync = new AlertSync({
    store: createStore(createState()),
    api,
    kv: { get: async () => null, put: async () => {} },
    owner: "ff.test",
    onNewAlert: (id, live) => told.newAlerts.push([id, live]),
    onAuthRequired: () => (told.authRequired += 1),
    onForbidden: () => (told.forbidden += 1),
    storage,
    clock,
    socketOptions: { WebSocketImpl: FakeWebSocket, location: LOCATION, isOffline: () => false, backoff: new Backoff({}, () => 1) },
  });
  return { sync, api, clock, told, storage, state: () => sync.store.state };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

beforeEach(() => FakeWebSocket.reset());

describe("following the socket", () => {
  it("connects with the last event id this phone kept, and applies the replay to the store", async () => {
    const storage = memoryStorage({ "coresponder.lastEventId.ff.test": "7" });
    const { sync, api, state, told } = newSync({ storage });
    await sync.start();
    const ws = FakeWebSocket.last;
    assert.equal(ws.url, "ws://coresponder.test/ws/responder/?last_event_id=7");

    ws.open();
    ws.receive(created(8, alert(42, "alerted", 1)));
    ws.receive(syncReady(8));
    assert.equal(state().alerts.get(42).state, "alerted");
    assert.deepEqual(told.newAlerts, [[42, true]], "a new alert takes the screen");
    assert.equal(storage.items.get("coresponder.lastEventId.ff.test"), "8");
    assert.equal(state().connection.status, "live");
    const reloads = api.calls.filter(([call]) => call === "activeAlerts").length;
    assert.equal(reloads, 1, "only the start's own read: the replay was complete");
    sync.stop();
  });

  it("reconnects after a drop from the newest event seen, and applies what it missed in order", async () => {
    const { sync, clock, state, storage } = newSync();
    await sync.start();
    FakeWebSocket.last.open();
    FakeWebSocket.last.receive(syncReady(3));
    FakeWebSocket.last.receive(created(4, alert(42, "alerted", 1)));
    FakeWebSocket.last.serverClose(1006);
    assert.equal(state().connection.status, "reconnecting");

    clock.advance(1000);
    const again = FakeWebSocket.last;
    assert.equal(again.url, "ws://coresponder.test/ws/responder/?last_event_id=4");
    again.open();
    again.receive(updated(5, alert(42, "received", 2)));
    again.receive(updated(6, alert(42, "stood_down", 3)));
    again.receive(syncReady(6));
    assert.equal(state().alerts.get(42).state, "stood_down");
    assert.equal(state().alerts.get(42).version, 3);
    assert.equal(storage.items.get("coresponder.lastEventId.ff.test"), "6");
    sync.stop();
  });

  it("never lets an older copy of an alert replace a newer one (a live event, then its replay)", async () => {
    const { sync, state } = newSync();
    await sync.start();
    const ws = FakeWebSocket.last;
    ws.open();
    ws.receive(updated(9, alert(42, "accepted", 4)));
    ws.receive(updated(8, alert(42, "received", 3)));
    assert.equal(state().alerts.get(42).state, "accepted");
    sync.stop();
  });

  it("reloads over the REST API when the server says its replay was incomplete", async () => {
    const api = fakeApi([alert(42, "accepted", 9)]);
    const { sync, state } = newSync({ api, storage: memoryStorage({ "coresponder.lastEventId.ff.test": "2" }) });
    await sync.start();
    const before = api.calls.length;
    FakeWebSocket.last.open();
    FakeWebSocket.last.receive(syncReady(300, false));
    await settle();
    assert.deepEqual(api.calls.slice(before), [["activeAlerts"]]);
    assert.equal(state().alerts.get(42).state, "accepted");
    sync.stop();
  });

  it("reloads over the REST API after a first connection, which replays nothing", async () => {
    const api = fakeApi([]);
    const { sync } = newSync({ api });
    await sync.start();
    const before = api.calls.length;
    FakeWebSocket.last.open();
    FakeWebSocket.last.receive(syncReady(0));
    await settle();
    assert.deepEqual(api.calls.slice(before), [["activeAlerts"]]);
    sync.stop();
  });

  it("forgets an id the server refused (4400) and connects without it", async () => {
    const storage = memoryStorage({ "coresponder.lastEventId.ff.test": "99" });
    const { sync } = newSync({ storage });
    await sync.start();
    FakeWebSocket.last.serverClose(CLOSE_BAD_LAST_EVENT_ID);
    assert.equal(storage.items.has("coresponder.lastEventId.ff.test"), false);
    assert.equal(FakeWebSocket.last.url, "ws://coresponder.test/ws/responder/");
    sync.stop();
  });

  it("tells the app when the session ended (4401) or the account may not listen (4403)", async () => {
    for (const [code, key] of [
      [CLOSE_NOT_LOGGED_IN, "authRequired"],
      [CLOSE_NOT_ALLOWED, "forbidden"],
    ]) {
      const { sync, told } = newSync();
      await sync.start();
      FakeWebSocket.last.serverClose(code);
      assert.equal(told[key], 1, key);
      sync.stop();
    }
  });

  it("checks the socket and re-reads the active alerts when the app comes to the foreground", async () => {
    const { sync, api } = newSync();
    await sync.start();
    const ws = FakeWebSocket.last;
    ws.open();
    ws.receive(syncReady(0));
    await settle();
    const before = api.calls.length;
    sync.foreground();
    await settle();
    assert.deepEqual(ws.frames.at(-1), { type: "ping" });
    assert.deepEqual(api.calls.slice(before), [["activeAlerts"]]);
    sync.stop();
  });
});

describe("acknowledging an alert on screen", () => {
  async function withAlertOnScreen() {
    // The REST API holds the alert too: the first connection's reload keeps it as it is.
    const context = newSync({ api: fakeApi([alert(42, "alerted", 1)]) });
    await context.sync.start();
    const ws = FakeWebSocket.last;
    ws.open();
    ws.receive(syncReady(0));
    ws.receive(created(1, alert(42, "alerted", 1)));
    await settle();
    context.api.calls.length = 0;
    return { ...context, ws };
  }

  it("says so on the socket, and nothing more once the server confirms", async () => {
    const { sync, ws, clock, api } = await withAlertOnScreen();
    sync.acknowledge(42);
    assert.deepEqual(ws.frames.at(-1), { type: "alert.ack", alert_id: 42 });
    ws.receive({ type: "alert.ack.ok", data: { alert_id: 42 } });
    clock.advance(10_000);
    await settle();
    assert.deepEqual(api.calls, []);
    sync.stop();
  });

  it("falls back to the REST API when the socket does not confirm within 5 seconds", async () => {
    const { sync, clock, api, state } = await withAlertOnScreen();
    sync.acknowledge(42);
    clock.advance(4999);
    await settle();
    assert.deepEqual(api.calls, []);
    clock.advance(1);
    await settle();
    assert.deepEqual(api.calls, [["respond", 42, "received"]]);
    assert.equal(state().alerts.get(42).state, "received");
    sync.stop();
  });

  it("goes straight to the REST API when the socket is down", async () => {
    const { sync, ws, api } = await withAlertOnScreen();
    ws.serverClose(1006);
    sync.acknowledge(42);
    await settle();
    assert.deepEqual(api.calls, [["respond", 42, "received"]]);
    sync.stop();
  });
});

describe("stopping", () => {
  it("leaves no timer running (logout)", async () => {
    const { sync, clock } = newSync();
    await sync.start();
    FakeWebSocket.last.open();
    FakeWebSocket.last.receive(created(1, alert(42, "alerted", 1)));
    sync.acknowledge(42);
    sync.stop();
    assert.equal(clock.pending, 0);
    assert.equal(FakeWebSocket.last.closedWith, 1000);
  });
});
