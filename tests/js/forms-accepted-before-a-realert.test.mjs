// Found by a browser trial: Chris accepted CAD-9, was stood down by control, alerted again by name,
// and then the incident was cancelled. The re-alert cleared his alert's accepted_at (the server asks
// the acceptance afresh), and the phone's forms list (outbox.js callsKnownHere) keyed on it, so the
// call left the list, while a call accepted, stood down and cancelled without a re-alert was listed
// as "Not needed". A call accepted at any point stays: the alert's first_accepted_at, which a
// re-alert keeps, as the server's list has it (backend/records/access.py EVER_ACCEPTED,
// tests/records/test_accepted_before_a_realert.py).
import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";

import { RecordOutbox, callsKnownHere } from "../../pwa/app/outbox.js";
import { createMemoryStorage } from "../../pwa/app/queue.js";
import { NOT_NEEDED } from "../../pwa/app/records-rules.js";
import { applyAlert, createState } from "../../pwa/app/store.js";

const NOW = Date.parse("2025-03-31T12:00:00Z");
const at = (ms) => new Date(ms).toISOString();
const HOUR = 60 * 60 * 1000;
const ALERTED = at(NOW - 2 * HOUR);
const ACCEPTED = at(NOW - 2 * HOUR + 30000);
const cancelled = (id) => ({ id: 100 + id, cad_reference: `CAD-${id}`, status: "cancelled", cancel_reason: "Ambulance on scene" });

let nextVersion = 1;
function alert(id, fields = {}) {
  return {
    id,
    incident_id: 100 + id,
    version: nextVersion++,
    state: "cancelled",
    alerted_at: ALERTED,
    realerted_at: null,
    accepted_at: ACCEPTED,
    first_accepted_at: ACCEPTED,
    en_route_at: null,
    on_scene_at: null,
    incident: cancelled(id),
    ...fields,
  };
}

function stateWith(...alerts) {
  const state = createState();
  for (const each of alerts) applyAlert(state, each);
  return state;
}

let outbox;
beforeEach(() => {
  const offline = async () => {
    throw Object.assign(new Error("No connection."), { status: 0, offline: true });
  };
  outbox = new RecordOutbox({ stores: { outbox: createMemoryStorage(), kv: { get: async () => undefined, put: async () => {}, clear: async () => {} } }, api: { raw: offline, request: offline } });
  outbox.setOwner("ff.norwich.1");
  outbox.sync = () => null;
});

describe("a call accepted, stood down, alerted again and then cancelled", () => {
  // CAD-9: the re-alert cleared accepted_at and kept first_accepted_at. CAD-8: never alerted again.
  const calls = () =>
    callsKnownHere(
      stateWith(
        alert(9, { accepted_at: null, realerted_at: at(NOW - 2 * HOUR + 300000) }),
        alert(8, { alerted_at: at(NOW - 3 * HOUR) }),
      ),
      NOW,
    );

  it("stays in the forms list, as the call never alerted again does", () => {
    assert.deepEqual(calls().map((entry) => entry.alert_id), [9, 8]);
  });

  it("says 'Not needed' for their own forms, as for the call never alerted again", async () => {
    const entries = calls();
    assert.equal(entries.length, 2);
    for (const entry of entries) {
      assert.equal(entry.own_forms_expected, false, entry.alert_id);
      for (const kind of ["attendance", "welfare"]) {
        assert.equal((await outbox.listedStatus(entry, kind)).state, NOT_NEEDED, `${entry.alert_id} ${kind}`);
      }
    }
  });

  it("a call never accepted, alerted again or not, is still left out", () => {
    const state = stateWith(alert(7, { accepted_at: null, first_accepted_at: null, realerted_at: at(NOW - HOUR) }));
    assert.deepEqual(callsKnownHere(state, NOW), []);
  });
});
