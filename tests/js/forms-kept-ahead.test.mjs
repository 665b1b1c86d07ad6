// The forms of the job in progress, kept on the phone ahead of its end. Found by trying the
// product: a firefighter on scene lost signal before the call ended (closed by control while they
// had none), and the attendance and outcome forms would not open offline ("This form has not been
// opened on this phone before"): the forms were kept only once the job had ended, too late. The
// server serves the forms of a live job to anyone who accepted it (GET alerts/{id}/{kind}/,
// backend/records/access.py accepted_alert); its prefill changes when the call ends (the
// left-scene estimate, backend/records/prefill.py), so what was kept during the call is asked for
// again once it has ended, and a form opened offline from it says its times may be missing.

import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";

import * as outboxModule from "../../pwa/app/outbox.js";
import { KEEP_FRESH_MS, RecordOutbox } from "../../pwa/app/outbox.js";
import { createMemoryStorage } from "../../pwa/app/queue.js";
import { applyAlert, createState } from "../../pwa/app/store.js";
import * as recordForm from "../../pwa/app/views/record-form.js";

const jobFormsAhead = (...args) => outboxModule.jobFormsAhead(...args);
const keptCopyText = (...args) => recordForm.keptCopyText(...args);

const NOW = Date.now(); // the outbox stamps what it keeps with the clock
const at = (ms) => new Date(ms).toISOString();
const NO_SIGNAL = "No signal: showing what this phone last knew of this form.";

let nextVersion = 1;
function alert(id, fields = {}) {
  return {
    id,
    incident_id: 100 + id,
    version: nextVersion++,
    state: "accepted",
    alerted_at: at(NOW - 20 * 60 * 1000),
    accepted_at: at(NOW - 19 * 60 * 1000),
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

let outbox;
let job; // the job in progress, as main.js tells the outbox (activeJob)

beforeEach(() => {
  job = null;
  outbox = new RecordOutbox({ stores: { outbox: createMemoryStorage(), kv: kvStore() }, api: { raw: offline, request: offline }, jobInProgress: () => job });
  outbox.setOwner("ff.norwich.1");
  outbox.sync = () => null;
});

describe("when the job in progress's forms are kept", () => {
  it("not for an alert only, nor once accepted or on the way: once the firefighter attended", () => {
    assert.deepEqual(jobFormsAhead(stateWith(alert(7, { state: "alerted", accepted_at: null }))), { id: null, entry: null }, "alerted: no job");
    assert.deepEqual(jobFormsAhead(stateWith(alert(7))), { id: 7, entry: null }, "accepted");
    assert.deepEqual(jobFormsAhead(stateWith(alert(7, { state: "en_route", en_route_at: at(NOW - 10 * 60 * 1000) }))), { id: 7, entry: null }, "on the way");

    const onScene = jobFormsAhead(stateWith(alert(7, { state: "on_scene", en_route_at: at(NOW - 600000), on_scene_at: at(NOW - 300000) })));
    assert.equal(onScene.id, 7);
    assert.deepEqual(
      { alert_id: onScene.entry.alert_id, own: onScene.entry.own_forms_expected, known_here: onScene.entry.known_here },
      { alert_id: 7, own: true, known_here: true },
    );

    // Checklist events logged on scene from this phone, "On scene" never pressed: attended too.
    const logged = stateWith(alert(7, { state: "en_route", en_route_at: at(NOW - 600000) }));
    logged.loggedOnScene = new Set([7]);
    assert.equal(jobFormsAhead(logged).entry?.alert_id, 7);

    // The call over (closed, as this phone knows): no job in progress, its forms are owed as any.
    const closed = stateWith(alert(7, { state: "on_scene", on_scene_at: at(NOW - 300000), incident: { id: 107, cad_reference: "CAD-7", status: "closed" } }));
    assert.deepEqual(jobFormsAhead(closed), { id: null, entry: null });
  });
});

describe("the job in progress's forms kept on the phone", () => {
  it("are kept during the call, opened offline from that copy, and asked for again once it has ended", async () => {
    const asked = [];
    let prefill = { attended: true, on_scene_at: at(NOW - 300000) };
    outbox.api.request = async (method, path) => (asked.push(path), { record: null, prefill: { ...prefill }, editable: true, lock_hours: 72, cad_times: null });
    const entry = { alert_id: 7, alerted_at: at(NOW - 20 * 60 * 1000), attendance: null, outcome: null, welfare: null, own_forms_expected: true, known_here: true };
    const crew = [{ responder_id: 4, responder_name: "Sam Barker", station: "Gorleston", state: "on_scene", attended: true }];

    job = 7;
    await outbox.keepOwedForms([entry], { now: NOW, knownCrew: () => crew });
    assert.deepEqual(asked.sort(), ["/alerts/7/attendance/", "/alerts/7/outcome/", "/alerts/7/welfare/"]);
    assert.equal((await outbox.cached(7, "attendance")).kept_during_call, true);

    asked.length = 0;
    await outbox.keepOwedForms([entry], { now: NOW + 60000, knownCrew: () => crew });
    assert.deepEqual(asked, [], "during the call, a copy kept lately is not asked for again");

    // The signal goes; the form opens from the copy kept during the call, and says so.
    const api = outbox.api.request;
    outbox.api.request = offline;
    const opened = await outbox.load(7, "attendance");
    assert.deepEqual([opened.fromCache, opened.kept_during_call, opened.prefill], [true, true, { attended: true, on_scene_at: at(NOW - 300000) }]);
    assert.deepEqual(await outbox.crewOf(7), crew, "the names the outcome form shows");
    outbox.api.request = api;

    // The call ends (closed by control), a few minutes later: the server's form now has its end.
    job = null;
    prefill = { ...prefill, left_scene_at: at(NOW + 120000) };
    await outbox.keepOwedForms([entry], { now: NOW + 180000, knownCrew: () => crew });
    assert.deepEqual(asked.sort(), ["/alerts/7/attendance/", "/alerts/7/outcome/", "/alerts/7/welfare/"], "kept during the call: asked for again");
    const kept = await outbox.cached(7, "attendance");
    assert.deepEqual([kept.kept_during_call, kept.prefill.left_scene_at], [false, at(NOW + 120000)]);

    asked.length = 0;
    await outbox.keepOwedForms([entry], { now: NOW + 240000, knownCrew: () => crew });
    assert.deepEqual(asked, [], "kept after the call: not asked for again soon");
    await outbox.keepOwedForms([entry], { now: NOW + 240000 + KEEP_FRESH_MS, knownCrew: () => crew });
    assert.equal(asked.length, 3, "and again once it is old, as any kept form");
  });

  it("keeps every list given while one is kept: the job in progress's with the server's list", async () => {
    const asked = [];
    let release;
    const first = new Promise((resolve) => (release = resolve));
    outbox.api.request = async (method, path) => {
      asked.push(path);
      if (path === "/alerts/5/attendance/") await first; // the start's list, still being kept
      return { record: null, prefill: {}, editable: true };
    };
    const call = (alertId, fields = {}) => ({ alert_id: alertId, alerted_at: at(NOW - alertId * 60000), outcome_expected: false, ...fields });
    const running = outbox.keepOwedForms([call(5)], { now: NOW });
    await new Promise((resolve) => setTimeout(resolve, 0));
    outbox.keepOwedForms([call(6)], { now: NOW }); // GET records/ again (the forms list opened)
    outbox.keepOwedForms([call(7, { known_here: true, own_forms_expected: true })], { now: NOW }); // the firefighter attended
    release();
    await running;
    const calls = new Set(asked.map((path) => path.split("/")[2]));
    assert.deepEqual([...calls].sort(), ["5", "6", "7"]);
  });

  it("a form opened from a form fetched online or after the call is not marked as kept during it", async () => {
    outbox.api.request = async () => ({ record: null, prefill: { attended: true }, editable: true });
    job = 8; // another call in progress
    assert.equal((await outbox.load(7, "attendance")).kept_during_call, false);
  });
});

describe("the no-signal notice of a form kept during its call", () => {
  it("says its times may be missing, only for a form with times not yet submitted", () => {
    const during = { record: null, prefill: { attended: true }, kept_during_call: true, fromCache: true };
    assert.equal(keptCopyText("attendance", during), `${NO_SIGNAL} It was kept during the call, so times from later on are not in it: check them.`);
    assert.match(keptCopyText("outcome", during), /kept during the call/);
    assert.equal(keptCopyText("welfare", during), NO_SIGNAL, "no times in a welfare check-in");
    assert.equal(keptCopyText("attendance", { ...during, record: { version: 1 } }), NO_SIGNAL, "submitted: its record is shown");
    assert.equal(keptCopyText("attendance", { ...during, kept_during_call: false }), NO_SIGNAL);
  });
});
