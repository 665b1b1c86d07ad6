// Messages from control on the phone: the state rules (pwa/app/messages.js), following the socket
// and the API (pwa/app/sync.js), and "Got it" queued without signal and sent later
// (pwa/app/message-acks.js). No network, no DOM.
import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";

import { Backoff } from "../../pwa/app/backoff.js";
import { MessageAcks, acknowledgePath } from "../../pwa/app/message-acks.js";
import {
  acknowledgementKey,
  allMessages,
  applyAcknowledgement,
  applyMessage,
  isAcknowledged,
  markAcknowledging,
  messagesKey,
  messagesOf,
  waitingForAcknowledgement,
} from "../../pwa/app/messages.js";
import { createMemoryStorage } from "../../pwa/app/queue.js";
import { createState, createStore, mayTakeScreen } from "../../pwa/app/store.js";
import { AlertSync } from "../../pwa/app/sync.js";
import { FakeClock } from "./support/fake-clock.mjs";
import { FakeWebSocket, LOCATION } from "./support/fake-websocket.mjs";

const INCIDENT = { id: 1, status: "open", address: "1 Quay Road, Great Yarmouth", category: "cardiac_arrest" };

function message(id, text, sentAt, acknowledgements = []) {
  return { id, incident_id: 1, text, author_name: "Casey Morgan", sent_at: sentAt, recipient_count: 2, acknowledgements };
}
const ACK = (id, at = "2026-12-04T15:10:00+00:00") => ({ message_id: id, incident_id: 1, responder_id: 7, responder_name: "Sam Barker", acknowledged_at: at });

describe("the state rules", () => {
  it("keeps each message once, newest first, whichever way and however often it arrives", () => {
    const state = createState();
    assert.equal(applyMessage(state, message(1, "Ambulance on scene", "2026-12-04T15:01:00+00:00")), true);
    assert.equal(applyMessage(state, message(2, "Rear door", "2026-12-04T15:02:00+00:00")), true);
    assert.equal(applyMessage(state, message(1, "Ambulance on scene", "2026-12-04T15:01:00+00:00")), false, "a replay changes nothing");
    assert.deepEqual(messagesOf(state, 1).map((m) => m.text), ["Rear door", "Ambulance on scene"]);
    assert.deepEqual(messagesOf(state, 99), []);
    assert.equal(applyMessage(state, { id: "x", text: "no" }), false);
    assert.equal(applyMessage(state, null), false);
  });

  it("takes an acknowledgement from the server in any form, and never forgets one", () => {
    const state = createState();
    applyMessage(state, message(1, "Rear door", "2026-12-04T15:01:00+00:00"));
    assert.equal(isAcknowledged(messagesOf(state, 1)[0]), false);
    applyAcknowledgement(state, ACK(1));
    assert.equal(messagesOf(state, 1)[0].acknowledged_at, "2026-12-04T15:10:00+00:00");
    // A later copy from the socket (created before the acknowledgement) does not undo it.
    applyMessage(state, message(1, "Rear door", "2026-12-04T15:01:00+00:00"));
    assert.equal(isAcknowledged(messagesOf(state, 1)[0]), true);
    // The API's copy carries the firefighter's own acknowledgement.
    applyMessage(state, message(2, "Second", "2026-12-04T15:02:00+00:00", [ACK(2, "2026-12-04T15:11:00+00:00")]));
    assert.equal(messagesOf(state, 1)[0].acknowledged_at, "2026-12-04T15:11:00+00:00");
    assert.equal(applyAcknowledgement(state, ACK(99)), false, "an unknown message is ignored");
  });

  it("shows 'Got it' at once while it is queued, and lists what still waits for it", () => {
    const state = createState();
    applyMessage(state, message(1, "First", "2026-12-04T15:01:00+00:00"));
    applyMessage(state, message(2, "Second", "2026-12-04T15:02:00+00:00"));
    const before = JSON.stringify(messagesKey(state, 1));
    assert.deepEqual(waitingForAcknowledgement(state, 1).map((m) => m.id), [2, 1]);
    assert.equal(markAcknowledging(state, 1, 2), true);
    assert.equal(markAcknowledging(state, 1, 2), false, "a second tap changes nothing");
    assert.deepEqual(waitingForAcknowledgement(state, 1).map((m) => m.id), [1]);
    assert.notEqual(JSON.stringify(messagesKey(state, 1)), before, "the screens re-render");
    applyAcknowledgement(state, ACK(2));
    assert.equal(messagesOf(state, 1)[0].acknowledging, false);
    assert.equal(allMessages(state).length, 2);
    assert.equal(acknowledgementKey("ff.a", 2), acknowledgementKey("ff.a", "2"));
  });

  it("never lets a message take the screen from the checklist: messages are not alerts", () => {
    const state = createState();
    applyMessage(state, message(1, "Ambulance on scene", "2026-12-04T15:01:00+00:00"));
    assert.equal(state.alerts.size, 0);
    assert.equal(mayTakeScreen(state, { name: "checklist", params: { id: 5 } }, 5), false);
  });
});

// --- Following the socket and the API ----------------------------------------------------------------

function fakeApi(messages = []) {
  const calls = [];
  return {
    calls,
    messages: async (incidentId) => {
      calls.push(["messages", incidentId]);
      return messages;
    },
    activeAlerts: async () => {
      calls.push(["activeAlerts"]);
      return [{ id: 42, incident_id: 1, state: "accepted", version: 2, incident: INCIDENT }];
    },
    alert: async (id) => ({ id, incident_id: 1, state: "accepted", version: 2, incident: INCIDENT, crew: [] }),
    respond: async () => null,
  };
}

function newSync(api, kvRecord = null) {
  const saved = [];
  const sync = new AlertSync({
    store: createStore(createState()),
    api,
    kv: { get: async () => kvRecord, put: async (record) => void saved.push(record) },
    owner: "ff.test",
    onNewAlert: () => assert.fail("a message is not a new alert"),
    onAuthRequired: () => {},
    onForbidden: () => {},
    storage: { getItem: () => null, setItem: () => {}, removeItem: () => {} },
    clock: new FakeClock(),
    socketOptions: { WebSocketImpl: FakeWebSocket, location: LOCATION, isOffline: () => false, backoff: new Backoff({}, () => 1) },
  });
  return { sync, saved, state: () => sync.store.state };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

beforeEach(() => FakeWebSocket.reset());

describe("following the socket and the API", () => {
  it("applies message.created and message.acknowledged, replayed or live, and remembers their ids", async () => {
    const { sync, state } = newSync(fakeApi());
    await sync.start();
    const ws = FakeWebSocket.last;
    ws.open();
    ws.receive({ id: 5, type: "message.created", data: { message: message(3, "Rear door", "2026-12-04T15:03:00+00:00"), alert_id: 42 } });
    ws.receive({ id: 6, type: "message.acknowledged", data: ACK(3) });
    ws.receive({ type: "sync.ready", data: { replayed: 2, last_event_id: 6, complete: true } });
    assert.deepEqual(messagesOf(state(), 1).map((m) => [m.text, m.acknowledged_at]), [["Rear door", "2026-12-04T15:10:00+00:00"]]);
    assert.equal(sync.tracker.value, 6);
    sync.stop();
  });

  it("loads each open incident's messages over the API with the alerts", async () => {
    const api = fakeApi([message(1, "From the API", "2026-12-04T15:00:00+00:00")]);
    const { sync, state } = newSync(api);
    await sync.start();
    await settle();
    assert.deepEqual(api.calls.filter(([call]) => call === "messages"), [["messages", 1]]);
    assert.deepEqual(messagesOf(state(), 1).map((m) => m.text), ["From the API"]);
    sync.stop();
  });

  it("starts without signal from the messages kept on the phone, and keeps them with the alerts", async () => {
    const offline = fakeApi();
    offline.messages = async () => {
      throw new Error("offline");
    };
    offline.activeAlerts = async () => {
      throw new Error("offline");
    };
    const kept = { alerts: [], incidents: [], messages: [{ ...message(4, "Kept", "2026-12-04T15:04:00+00:00"), acknowledging: true }] };
    const { sync, state, saved } = newSync(offline, kept);
    await sync.start();
    assert.deepEqual(messagesOf(state(), 1).map((m) => [m.text, m.acknowledging]), [["Kept", true]]);
    sync.persist();
    await new Promise((resolve) => setTimeout(resolve, 0));
    sync.clock.advance(400);
    assert.equal(saved.at(-1).messages[0].text, "Kept");
    sync.stop();
  });
});

// --- "Got it" without signal -----------------------------------------------------------------------

function ackServer() {
  const calls = [];
  let offline = true;
  return {
    calls,
    goOnline: () => (offline = false),
    async raw(method, path, body) {
      calls.push([method, path, body]);
      if (offline) throw Object.assign(new Error("offline"), { status: 0, offline: true });
      const id = Number(path.split("/")[2]);
      if (id === 404) return { status: 404, body: { error: { code: "not_found", message: "You have no message 404.", fields: {} } } };
      return { status: 200, body: ACK(id) };
    },
  };
}

describe("'Got it' queued on the phone", () => {
  it("is kept without signal, sent once online, and its answer reaches the store", async () => {
    const server = ackServer();
    const acknowledged = [];
    const acks = new MessageAcks({ stores: { message_acks: createMemoryStorage() }, api: server, onAcknowledged: (ack) => acknowledged.push(ack) });
    acks.setOwner("ff.test");
    const item = await acks.acknowledge(message(3, "Rear door", "x"));
    await acks.acknowledge(message(3, "Rear door", "x")); // a second tap: still one item
    await settle();
    assert.equal(item.idempotency_key, acknowledgementKey("ff.test", 3));
    assert.deepEqual(await acks.pending(), [{ message_id: 3, incident_id: 1 }]);
    assert.deepEqual(server.calls[0], ["POST", acknowledgePath(3), {}]);
    assert.equal((await acks.counts()).pending, 1);

    server.goOnline();
    const result = await acks.sync();
    assert.equal(result.sent, 1);
    assert.deepEqual(await acks.pending(), []);
    assert.deepEqual(acknowledged.map((ack) => ack.message_id), [3]);
    clearTimeout(acks.retryTimer);
  });

  it("drops a 'Got it' the server will never take (404), and keeps a user's queue for their next login", async () => {
    const server = ackServer();
    server.goOnline();
    const storage = createMemoryStorage();
    const acks = new MessageAcks({ stores: { message_acks: storage }, api: server });
    acks.setOwner("ff.test");
    await acks.acknowledge({ id: 404, incident_id: 1 });
    await acks.sync();
    assert.deepEqual(await acks.pending(), []);
    acks.setOwner(null);
    assert.equal(await acks.acknowledge({ id: 5, incident_id: 1 }), null, "nobody logged in: nothing queued");
  });
});
