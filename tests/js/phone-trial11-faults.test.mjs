// Faults found by the eleventh browser trial of the firefighters' app: a logout without signal that
// pretended (records deleted, the server session still valid); a message from control seen only on
// its alert's screen; a cancel or stand-down mid-CPR that stopped the metronome of a crew told by the
// signed checklist to carry on; a metronome silently off after a reload.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { Api, endSession } from "../../pwa/app/api.js";
import { Backoff } from "../../pwa/app/backoff.js";
import { applyMessage, isNewsForAJob, markAcknowledging, unreadForJobs } from "../../pwa/app/messages.js";
import { RUN_KEY, clearRun, interruptedRun, saveRun } from "../../pwa/app/metronome.js";
import { applyAlert, createState, createStore, endStopsMetronome, newlyEnded } from "../../pwa/app/store.js";
import { AlertSync } from "../../pwa/app/sync.js";
import { logoutRefusedText } from "../../pwa/app/views/home.js";
import { FakeClock } from "./support/fake-clock.mjs";
import { FakeWebSocket, LOCATION } from "./support/fake-websocket.mjs";

function incident(id, overrides = {}) {
  return { id, cad_reference: `EEAST-${id}`, category: "cardiac_arrest", status: "open", address: `${id} Regent Road, Great Yarmouth`, ...overrides };
}

/** Alert `id` of incident `id`. */
function alert(id, state, version, { incident: incidentChanges, ...changes } = {}) {
  return { id, incident_id: id, version, state, stood_down_reason: "", alerted_at: "2026-01-01T12:00:00+00:00", ...changes, incident: incident(id, incidentChanges) };
}

function stateWith(...alerts) {
  const state = createState();
  state.session = "authenticated";
  for (const item of alerts) applyAlert(state, item);
  return state;
}

function message(id, incidentId, text, sentAt = `2026-01-01T12:0${id}:00+00:00`) {
  return { id, incident_id: incidentId, text, author_name: "Casey Morgan", sent_at: sentAt, acknowledgements: [] };
}

const HOME = { name: "home", params: {} };
const CANCELLED = { status: "cancelled", cancel_reason: "Ambulance crew took over", cancelled_at: "2026-01-01T12:20:00+00:00" };

describe("logging out", () => {
  /** An Api whose fetch answers `status`, or fails like a phone without signal ("network"). */
  function apiAnswering(answer) {
    const calls = [];
    const api = new Api({
      fetchImpl: async (url, init) => {
        calls.push([init.method, url]);
        if (answer === "network") throw new TypeError("Failed to fetch");
        return new Response(answer === 204 ? null : JSON.stringify({ error: { code: "oops", message: "Server error" } }), {
          status: answer,
          headers: { "Content-Type": "application/json" },
        });
      },
    });
    globalThis.document ??= { cookie: "" }; // api.js reads the CSRF cookie
    api.csrfFromServer = "token"; // none in the cookie: no GET csrf/ first
    return { api, calls };
  }

  it("needs the server: without signal it asks nothing and says it did not log out", async () => {
    const { api, calls } = apiAnswering(204);
    assert.deepEqual(await endSession(api, { online: false }), { ok: false, offline: true, status: 0 });
    assert.deepEqual(calls, []);
  });

  it("is done only when the server answers 2xx", async () => {
    assert.equal((await endSession(apiAnswering(204).api)).ok, true);
    const lost = await endSession(apiAnswering("network").api);
    assert.equal(lost.ok, false);
    assert.equal(lost.offline, true);
    const refused = await endSession(apiAnswering(500).api);
    assert.deepEqual(refused, { ok: false, offline: false, status: 500 });
    assert.equal((await endSession(apiAnswering(403).api)).ok, false);
  });

  it("says why, and that nothing was deleted", () => {
    assert.equal(
      logoutRefusedText({ offline: true }, 2),
      "No signal: logging out needs a connection, so your 2 unsent records can be sent and your login ended. Try again when you have signal.",
    );
    assert.match(logoutRefusedText({ offline: true }, 1), /your 1 unsent record can be sent/);
    assert.match(logoutRefusedText({ offline: true }, 0), /^No signal: logging out needs a connection/);
    assert.match(logoutRefusedText({ offline: false, status: 500 }, 2), /Not logged out.*500.*Nothing was deleted/);
  });
});

describe("a message from control about a live job", () => {
  it("is shown on every screen but its own alert's and checklist, until 'Got it'", () => {
    const state = stateWith(alert(1, "accepted", 2), alert(2, "alerted", 1));
    applyMessage(state, message(1, 1, "SCENE NOT SAFE: wait at the bus station entrance for police"));
    const [shown] = unreadForJobs(state, HOME);
    assert.equal(shown.alert.id, 1);
    assert.equal(shown.incident.address, "1 Regent Road, Great Yarmouth");
    assert.deepEqual(shown.messages.map((m) => m.text), ["SCENE NOT SAFE: wait at the bus station entrance for police"]);
    assert.equal(unreadForJobs(state, { name: "records", params: {} }).length, 1, "the forms list");
    assert.equal(unreadForJobs(state, { name: "form", params: { id: 1, kind: "welfare" } }).length, 1, "a form");
    assert.equal(unreadForJobs(state, { name: "incident", params: { id: 1 } }).length, 1, "the crew page");
    assert.equal(unreadForJobs(state, { name: "alert", params: { id: 2 } }).length, 1, "another alert");
    assert.deepEqual(unreadForJobs(state, { name: "alert", params: { id: 1 } }), [], "its alert lists it");
    assert.deepEqual(unreadForJobs(state, { name: "checklist", params: { id: 1 } }), [], "its checklist has its banner");
    markAcknowledging(state, 1, 1);
    assert.deepEqual(unreadForJobs(state, HOME), []);
  });

  it("is not shown for a job over, nor for an alert not accepted (its own banner and screen show it)", () => {
    const state = stateWith(alert(1, "on_scene", 3, { incident: CANCELLED }), alert(2, "alerted", 1), alert(3, "cleared", 4));
    for (const id of [1, 2, 3]) applyMessage(state, message(id, id, `To ${id}`));
    assert.deepEqual(unreadForJobs(state, HOME), []);
    assert.equal(isNewsForAJob(state, state.messages.get(1).get(1)), false);
  });

  it("is news once, when it arrives on the socket: vibrate and sound then, not for a replay", async () => {
    const heard = [];
    const store = createStore(stateWith(alert(1, "en_route", 2)));
    const sync = new AlertSync({
      store,
      api: { activeAlerts: async () => [], messages: async () => [] },
      kv: { get: async () => null, put: async () => {} },
      owner: "ff.test",
      onNewAlert: () => {},
      onAuthRequired: () => {},
      onForbidden: () => {},
      onNewMessage: (m) => heard.push([m.id, isNewsForAJob(store.state, m)]),
      storage: { getItem: () => null, setItem: () => {}, removeItem: () => {} },
      clock: new FakeClock(),
      socketOptions: { WebSocketImpl: FakeWebSocket, location: LOCATION, isOffline: () => false, backoff: new Backoff({}, () => 1) },
    });
    const frame = (id, incidentId) => ({ type: "message.created", id: 100 + id, data: { message: message(id, incidentId, "Access by the rear door") } });
    sync.handleFrame(frame(1, 1));
    sync.handleFrame(frame(1, 1)); // replayed
    sync.handleFrame(frame(2, 9)); // another incident's, not a job of this phone
    assert.deepEqual(heard, [
      [1, true],
      [2, false],
    ]);
    sync.stop();
  });
});

describe("a message first heard of through the API", () => {
  it("is news too, once, whichever of the API and the socket brings it first", async () => {
    const heard = [];
    const store = createStore(stateWith(alert(1, "en_route", 2)));
    let onServer = [];
    const sync = new AlertSync({
      store,
      api: { activeAlerts: async () => [], messages: async () => onServer },
      kv: { get: async () => null, put: async () => {} },
      owner: "ff.test",
      onNewAlert: () => {},
      onAuthRequired: () => {},
      onForbidden: () => {},
      onNewMessage: (m) => heard.push([m.id, isNewsForAJob(store.state, m)]),
      storage: { getItem: () => null, setItem: () => {}, removeItem: () => {} },
      clock: new FakeClock(),
      socketOptions: { WebSocketImpl: FakeWebSocket, location: LOCATION, isOffline: () => false, backoff: new Backoff({}, () => 1) },
    });
    const frame = (id) => ({ type: "message.created", id: 100 + id, data: { message: message(id, 1, "Access by the rear door") } });
    // The reload won the race (CI on 76ab229: shown on screen, never buzzed).
    onServer = [message(1, 1, "Access by the rear door")];
    await sync.reloadMessages(1);
    sync.handleFrame(frame(1));
    // The socket's frame first, then the reload: still once.
    sync.handleFrame(frame(2));
    onServer = [message(1, 1, "Access by the rear door"), message(2, 1, "Access by the rear door")];
    await sync.reloadMessages(1);
    // Acknowledged since (the reload brings the acknowledgement): a change, not news.
    onServer = [{ ...message(2, 1, "Access by the rear door"), acknowledged_at: "2026-12-04T15:10:00+00:00" }];
    await sync.reloadMessages(1);
    assert.deepEqual(heard, [
      [1, true],
      [2, true],
    ]);
    sync.stop();
  });
});

describe("the metronome when a call ends mid-CPR", () => {
  it("keeps running for someone who was on scene (the signed notice: carry on)", () => {
    for (const held of [
      alert(1, "on_scene", 3, { attended: true, incident: CANCELLED }),
      alert(1, "stood_down", 3, { attended: true, stood_down_reason: "control_room" }),
      alert(1, "on_scene", 3, { incident: CANCELLED }), // an older server: no `attended`
    ]) {
      const state = stateWith(alert(1, "on_scene", 2, { attended: true }));
      const seen = new Map();
      newlyEnded(state, seen);
      applyAlert(state, held);
      const ended = newlyEnded(state, seen);
      assert.deepEqual(ended, [1]);
      assert.equal(endStopsMetronome(state, ended, 1), false, JSON.stringify(held));
    }
  });

  it("stops for someone who never reached the scene", () => {
    const state = stateWith(alert(1, "en_route", 2, { attended: false }));
    const seen = new Map();
    newlyEnded(state, seen);
    applyAlert(state, alert(1, "en_route", 3, { attended: false, incident: CANCELLED }));
    const ended = newlyEnded(state, seen);
    assert.equal(endStopsMetronome(state, ended, 1), true);
    assert.equal(endStopsMetronome(state, [], 1), false, "nothing ended");
    assert.equal(endStopsMetronome(state, ended, null), false, "no metronome started from a checklist");
  });
});

describe("a metronome running when the page went", () => {
  function memoryStorage() {
    const items = new Map();
    return { getItem: (key) => items.get(key) ?? null, setItem: (key, value) => items.set(key, String(value)), removeItem: (key) => items.delete(key), items };
  }

  it("is remembered for whoever ran it, to offer to restart it after a reload", () => {
    const storage = memoryStorage();
    assert.equal(interruptedRun(storage, "ff.a"), null);
    saveRun(storage, { owner: "ff.a", alertId: 42, bpm: 115 });
    assert.deepEqual(interruptedRun(storage, "ff.a"), { alertId: 42, bpm: 115 });
    assert.equal(interruptedRun(storage, "ff.b"), null, "not another person's");
    assert.equal(interruptedRun(storage, null), null);
    clearRun(storage);
    assert.equal(interruptedRun(storage, "ff.a"), null);
  });

  it("reads nothing it cannot trust", () => {
    const storage = memoryStorage();
    storage.setItem(RUN_KEY, "{not json");
    assert.equal(interruptedRun(storage, "ff.a"), null);
    storage.setItem(RUN_KEY, JSON.stringify({ owner: "ff.a", alertId: "42", bpm: 300 }));
    assert.equal(interruptedRun(storage, "ff.a"), null);
    storage.setItem(RUN_KEY, JSON.stringify({ owner: "ff.a", alertId: 42, bpm: 300 }));
    assert.deepEqual(interruptedRun(storage, "ff.a"), { alertId: 42, bpm: 120 }, "kept inside the guideline's range");
  });
});
