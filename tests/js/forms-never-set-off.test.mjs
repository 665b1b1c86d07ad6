// Which forms of a call the phone asks for, as the server has it (backend/records/access.py
// never_set_off, tests/records/test_never_set_off.py): one who accepted and never set off (withdrew,
// stood down, or the call cancelled or closed before an en-route time, nothing logged on scene)
// owes no form of the call; one who set off and never arrived owes their own (attendance, welfare),
// not the crew's outcome. Found by a browser trial: the phone's forms list, and home's count, grew
// with an attendance form and a welfare check-in for calls the firefighter was stood down from, or
// that were cancelled, before they set off.
import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";

import { RecordOutbox, callsKnownHere } from "../../pwa/app/outbox.js";
import { createMemoryStorage } from "../../pwa/app/queue.js";
import { KINDS, NOT_NEEDED, formStatus, formsToFill, listedFormStatus } from "../../pwa/app/records-rules.js";
import { applyAlert, createState } from "../../pwa/app/store.js";

const NOW = Date.parse("2025-03-31T12:00:00Z");
const at = (ms) => new Date(ms).toISOString();
const HOUR = 60 * 60 * 1000;

let nextVersion = 1;
function alert(id, fields = {}) {
  return {
    id,
    incident_id: 100 + id,
    version: nextVersion++,
    state: "accepted",
    alerted_at: at(NOW - 2 * HOUR),
    accepted_at: at(NOW - 2 * HOUR + 30000),
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

const closed = (id) => ({ id: 100 + id, cad_reference: `CAD-${id}`, status: "closed" });
const cancelled = (id) => ({ id: 100 + id, cad_reference: `CAD-${id}`, status: "cancelled", cancel_reason: "Ambulance on scene" });
const setOff = at(NOW - 2 * HOUR + 60000);

let outbox;
beforeEach(() => {
  const offline = async () => {
    throw Object.assign(new Error("No connection."), { status: 0, offline: true });
  };
  outbox = new RecordOutbox({ stores: { outbox: createMemoryStorage(), kv: { get: async () => undefined, put: async () => {}, clear: async () => {} } }, api: { raw: offline, request: offline } });
  outbox.setOwner("ff.norwich.1");
  outbox.sync = () => null;
});

describe("a call the firefighter never set off for", () => {
  const neverWent = () =>
    stateWith(
      alert(1, { state: "stood_down", stood_down_reason: "coordinator" }),
      alert(2, { state: "cancelled", incident: cancelled(2) }),
      alert(3, { state: "stood_down", stood_down_reason: "incident_closed", incident: closed(3) }),
      alert(4, { state: "declined" }), // "Can't attend after all"
    );

  it("owes none of their own forms, as the server says", () => {
    const owed = Object.fromEntries(callsKnownHere(neverWent(), NOW).map((entry) => [entry.alert_id, entry.own_forms_expected]));
    assert.deepEqual(owed, { 1: false, 2: false, 3: false, 4: false });
  });

  it("asks for no form: home's count is 0, and the list says 'Not needed' for each of their own", async () => {
    const calls = callsKnownHere(neverWent(), NOW);
    assert.equal(await outbox.countToFill(calls), 0);
    for (const entry of calls) {
      for (const kind of ["attendance", "welfare"]) {
        const status = await outbox.listedStatus(entry, kind);
        assert.equal(status.state, NOT_NEEDED, `${entry.alert_id} ${kind}`);
        // Not "You could not attend after all" to one stood down or whose call was cancelled.
        assert.equal(status.text, "You did not set off for this call; you can still fill it in.");
      }
    }
  });

  it("from the server's list too: nothing to fill when the outcome falls to another", () => {
    const entry = { own_forms_expected: false, outcome_expected: true, fills_outcome: false };
    const statuses = Object.fromEntries(KINDS.map((kind) => [kind, listedFormStatus(entry, kind, formStatus(null, null))]));
    assert.deepEqual(formsToFill(entry, statuses), []);
  });
});

describe("a call the firefighter set off for and never reached", () => {
  it("still owes their own forms (they were mobile), however it ended", async () => {
    const state = stateWith(
      alert(1, { state: "stood_down", stood_down_reason: "coordinator", en_route_at: setOff }),
      alert(2, { state: "cancelled", en_route_at: setOff, incident: cancelled(2) }),
      alert(3, { state: "declined", en_route_at: setOff }),
    );
    const calls = callsKnownHere(state, NOW);
    assert.deepEqual(calls.map((entry) => entry.own_forms_expected), [true, true, true]);
    // Their attendance and welfare each; the crew's outcome is the server's to assign (not counted).
    assert.equal(await outbox.countToFill(calls), 6);
  });

  it("and one who was on scene owes them whatever their alert says now", () => {
    const state = stateWith(alert(1, { state: "stood_down", on_scene_at: setOff }), alert(2, { state: "cancelled", incident: cancelled(2) }));
    state.loggedOnScene = new Set([2]); // tapped the checklist on scene, never pressed "On scene"
    assert.deepEqual(callsKnownHere(state, NOW).map((entry) => entry.own_forms_expected), [true, true]);
  });
});
