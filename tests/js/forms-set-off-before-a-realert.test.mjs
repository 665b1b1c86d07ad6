// A firefighter who set off (en route) before control stood them down, and was then alerted again,
// was mobile: their attendance form (on-call pay) and welfare check-in are owed, however the call
// ended. The re-alert clears the alert's en_route_at (the server asks afresh) and keeps
// first_en_route_at; the phone's forms list without signal (outbox.js callsKnownHere, the mirror of
// the server's never_set_off) said "Not needed" as for one who never set off. As the server has it:
// backend/records/access.py never_set_off, tests/records/test_set_off_before_a_realert.py.
import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";

import { RecordOutbox, callsKnownHere } from "../../pwa/app/outbox.js";
import { createMemoryStorage } from "../../pwa/app/queue.js";
import { NOT_NEEDED, NOT_STARTED } from "../../pwa/app/records-rules.js";
import { applyAlert, createState } from "../../pwa/app/store.js";

const NOW = Date.parse("2025-03-31T12:00:00Z");
const at = (ms) => new Date(ms).toISOString();
const HOUR = 60 * 60 * 1000;
const ALERTED = at(NOW - 2 * HOUR);
const ACCEPTED = at(NOW - 2 * HOUR + 30000);
const SET_OFF = at(NOW - 2 * HOUR + 60000);
const cancelled = (id) => ({ id: 100 + id, cad_reference: `CAD-${id}`, status: "cancelled", cancel_reason: "Ambulance on scene" });

let nextVersion = 1;
// Accepted, set off, stood down by control, alerted again (accepted_at and en_route_at cleared, the
// firsts kept), then the call cancelled.
function alert(id, fields = {}) {
  return {
    id,
    incident_id: 100 + id,
    version: nextVersion++,
    state: "cancelled",
    alerted_at: ALERTED,
    realerted_at: at(NOW - 2 * HOUR + 300000),
    accepted_at: null,
    first_accepted_at: ACCEPTED,
    en_route_at: null,
    first_en_route_at: SET_OFF,
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

describe("a call set off for, stood down, alerted again and then ended", () => {
  for (const [how, fields] of [
    ["cancelled", {}],
    ["stood down again", { state: "stood_down", stood_down_reason: "coordinator", incident: { id: 109, cad_reference: "CAD-9", status: "open" } }],
  ]) {
    it(`owes their own forms (mobile), not 'Not needed': ${how}`, async () => {
      const [entry] = callsKnownHere(stateWith(alert(9, fields)), NOW);
      assert.equal(entry.own_forms_expected, true);
      for (const kind of ["attendance", "welfare"]) {
        assert.equal((await outbox.listedStatus(entry, kind)).state, NOT_STARTED, kind);
      }
    });
  }

  it("one who never set off before the re-alert still owes none", async () => {
    const [entry] = callsKnownHere(stateWith(alert(8, { first_en_route_at: null })), NOW);
    assert.equal(entry.own_forms_expected, false);
    assert.equal((await outbox.listedStatus(entry, "attendance")).state, NOT_NEEDED);
  });
});
