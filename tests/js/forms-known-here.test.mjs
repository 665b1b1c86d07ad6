// The forms list without signal: the list last kept (GET records/), with the calls this phone knows
// from its own alerts that the list lacks. Found by a browser trial: a firefighter who attended and
// lost signal before the list was refreshed could not find the call in the forms list, so could not
// start its forms, though the phone held the alert. The server's rule for which calls it lists
// (backend/records/access.py my_accepted_alerts): my alerts I accepted, alerted in the last 30 days.

import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";

import * as outboxModule from "../../pwa/app/outbox.js";
import { createMemoryStorage } from "../../pwa/app/queue.js";
import { DUTY_NOT_KNOWN, NOT_NEEDED, NOT_STARTED, PENDING, formStatus, pageFormStatus } from "../../pwa/app/records-rules.js";
import { applyAlert, createState } from "../../pwa/app/store.js";

const { RecordOutbox } = outboxModule;
const callsKnownHere = (...args) => outboxModule.callsKnownHere(...args);

const NOW = Date.parse("2025-03-31T12:00:00Z");
const DAY = 24 * 60 * 60 * 1000;
const at = (ms) => new Date(ms).toISOString();

let nextVersion = 1;
function alert(id, fields = {}) {
  return {
    id,
    incident_id: 100 + id,
    version: nextVersion++,
    state: "on_scene",
    alerted_at: at(NOW - 2 * 60 * 60 * 1000),
    accepted_at: at(NOW - 2 * 60 * 60 * 1000 + 30000),
    en_route_at: null,
    on_scene_at: null,
    incident: { id: 100 + id, cad_reference: `CAD-${id}`, status: "open" },
    ...fields,
  };
}

function stateWith(...alerts) {
  const state = createState();
  for (const each of alerts) applyAlert(state, each);
  return state;
}

function kvStore() {
  const items = new Map();
  return {
    get: async (key) => (items.has(key) ? structuredClone(items.get(key)) : undefined),
    put: async (value) => void items.set(value.key, structuredClone(value)),
    clear: async () => items.clear(),
  };
}

const offline = async () => {
  throw Object.assign(new Error("No connection."), { status: 0, offline: true });
};

let stores;
let outbox;

beforeEach(() => {
  stores = { outbox: createMemoryStorage(), kv: kvStore() };
  outbox = new RecordOutbox({ stores, api: { raw: offline, request: offline } });
  outbox.setOwner("ff.norwich.1");
  outbox.sync = () => null;
});

describe("the forms list without signal", () => {
  it("lists an attended call the kept list lacks, from this phone's alerts, said to be from this phone", async () => {
    const kept = { alert_id: 3, incident_id: 103, cad_reference: "CAD-3", alerted_at: at(NOW - 5 * DAY), attendance: null, outcome: null, welfare: null, outcome_expected: true, fills_outcome: true, own_forms_expected: true };
    await stores.kv.put({ key: "records-list:ff.norwich.1", results: [kept] });
    const state = stateWith(alert(7, { on_scene_at: at(NOW - 90 * 60 * 1000) }), alert(3, { alerted_at: kept.alerted_at }));

    const { results, fromCache } = await outbox.recentCalls(() => callsKnownHere(state, NOW));

    assert.equal(fromCache, true);
    assert.deepEqual(results.map((entry) => entry.alert_id), [7, 3], "newest first, as the server lists them");
    assert.deepEqual(results[1], kept, "a call the kept list has stays as the server said");
    assert.deepEqual(results[0], {
      alert_id: 7,
      incident_id: 107,
      cad_reference: "CAD-7",
      alerted_at: at(NOW - 2 * 60 * 60 * 1000),
      attendance: null,
      outcome: null,
      welfare: null,
      own_forms_expected: true,
      known_here: true,
    });
  });

  it("lists the calls this phone knows when no list was ever kept, and still fails with neither", async () => {
    const state = stateWith(alert(7));
    const { results, fromCache } = await outbox.recentCalls(() => callsKnownHere(state, NOW));
    assert.deepEqual([results.map((entry) => entry.alert_id), fromCache], [[7], true]);
    await assert.rejects(outbox.recentCalls(() => callsKnownHere(createState(), NOW)), /No connection/);
  });

  it("adds nothing to the server's fresh list, nor when the server refuses", async () => {
    const state = stateWith(alert(7));
    outbox.api.request = async () => ({ results: [] });
    assert.deepEqual(await outbox.recentCalls(() => callsKnownHere(state, NOW)), { results: [], fromCache: false });
    outbox.api.request = async () => {
      throw Object.assign(new Error("Not logged in."), { status: 401 });
    };
    await assert.rejects(outbox.recentCalls(() => callsKnownHere(state, NOW)), /Not logged in/);
  });
});

describe("which calls this phone lists from its alerts (the server's rule)", () => {
  it("takes my alerts I accepted, alerted in the last 30 days, whatever the call's state now", () => {
    const state = stateWith(
      alert(1), // accepted, on scene
      alert(2, { state: "cleared", incident: { id: 102, cad_reference: "CAD-2", status: "closed" } }),
      alert(3, { state: "cancelled", alerted_at: at(NOW - 29 * DAY) }),
      alert(4, { state: "alerted", accepted_at: null }), // never answered
      alert(5, { state: "declined", accepted_at: null }), // declined, never accepted
      alert(6, { state: "alerted", accepted_at: null, realerted_at: at(NOW - 60000) }), // stood down, alerted again
      alert(8, { state: "cleared", alerted_at: at(NOW - 31 * DAY) }), // older than the list
    );
    assert.deepEqual(
      callsKnownHere(state, NOW).map((entry) => entry.alert_id),
      [2, 1, 3],
      "newest first, then the highest alert id",
    );
  });

  it("says their own forms are not owed by one who withdrew before setting off, as the server does", () => {
    const state = stateWith(
      alert(1, { state: "declined" }), // accepted, then "Can't attend after all"
      alert(2, { state: "declined", en_route_at: at(NOW - 60 * 60 * 1000) }), // turned back after setting off
      alert(3, { state: "declined", on_scene_at: at(NOW - 60 * 60 * 1000) }),
      alert(4, { state: "declined" }), // withdrew, but logged checklist events on scene from this phone
    );
    state.loggedOnScene = new Set([4]);
    const owed = Object.fromEntries(callsKnownHere(state, NOW).map((entry) => [entry.alert_id, entry.own_forms_expected]));
    assert.deepEqual(owed, { 1: false, 2: true, 3: true, 4: true });
  });

  it("names the incident as the store has it last", () => {
    const state = stateWith(alert(1, { incident: { id: 101, cad_reference: null, status: "open" } }));
    state.incidents.get(101).incident = { id: 101, cad_reference: "CAD-LATE", status: "closed" };
    assert.equal(callsKnownHere(state, NOW)[0].cad_reference, "CAD-LATE");
  });
});

describe("a call listed from this phone, on the existing screens", () => {
  it("owes its own forms; who fills in the crew's outcome is not known, as on the call's page", async () => {
    const [entry] = callsKnownHere(stateWith(alert(7)), NOW);
    const listed = await Promise.all(["attendance", "outcome", "welfare"].map((kind) => outbox.listedStatus(entry, kind)));
    assert.deepEqual(
      listed.map((status) => status.state),
      [NOT_STARTED, DUTY_NOT_KNOWN, NOT_STARTED],
    );
    assert.equal(pageFormStatus(undefined, "outcome", formStatus(null, null), { listed: entry }).state, DUTY_NOT_KNOWN);
    assert.equal(pageFormStatus(undefined, "attendance", formStatus(null, null), { listed: entry }).state, NOT_STARTED);
    // Home's prompt counts the two forms the firefighter owes, not the outcome nobody can say is theirs.
    assert.equal(await outbox.countToFill([entry]), 2);

    // Filled in without signal: queued in the outbox, and the list says so.
    await outbox.submit(7, "attendance", "POST", { attended: true });
    assert.equal((await outbox.listedStatus(entry, "attendance")).state, PENDING);
    assert.equal(await outbox.countToFill([entry]), 1);
  });

  it("says their own forms are not needed after a withdrawal before setting off, and can still be filled in", async () => {
    const [entry] = callsKnownHere(stateWith(alert(7, { state: "declined" })), NOW);
    assert.equal((await outbox.listedStatus(entry, "attendance")).state, NOT_NEEDED);
    assert.equal(await outbox.countToFill([entry]), 0);
  });
});
