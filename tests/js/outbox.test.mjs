// The after-call forms' outbox: submissions kept on the phone, replayed in order with their keys,
// and what each answer of the records API (docs: records-api-contract) does to them.
import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";

import { KEEP_CALLS, KEEP_FRESH_MS, RecordOutbox, classifyRecordStatus, newestByKind, requestOf } from "../../pwa/app/outbox.js";
import { AUTH, CONFLICT, REJECTED, RETRY, SENT, createMemoryStorage } from "../../pwa/app/queue.js";

function kvStore() {
  const items = new Map();
  return {
    get: async (key) => (items.has(key) ? structuredClone(items.get(key)) : undefined),
    put: async (value) => void items.set(value.key, structuredClone(value)),
    clear: async () => items.clear(),
  };
}

/**
 * A stand-in for POST/PATCH alerts/{id}/{kind}/: one record per alert and kind; the same key with
 * the same body answers 200 with the stored record, a different body 409; a second POST with
 * another key 409 already_submitted. `script` makes the next calls fail: a number answers that
 * status (nothing stored), "network" rejects (nothing stored), "lost" stores and loses the answer.
 */
function fakeServer() {
  const records = new Map();
  const keys = new Map();
  const calls = [];
  const script = [];
  return {
    records,
    calls,
    script,
    async raw(method, path, body) {
      calls.push({ method, path, body });
      const next = script.shift();
      if (next === "network") throw Object.assign(new Error("offline"), { status: 0 });
      if (typeof next === "number") return { status: next, body: { error: { code: "x", message: `status ${next}`, fields: { notes: ["Too long."] } } } };
      const text = JSON.stringify(body);
      if (keys.has(body.idempotency_key)) {
        if (keys.get(body.idempotency_key).text !== text) return { status: 409, body: { error: { code: "idempotency_key_reused", message: "Key reused." } } };
        if (next === "lost") throw new Error("reset");
        return { status: 200, body: { record: keys.get(body.idempotency_key).record } };
      }
      const existing = records.get(path);
      if (method === "POST" && existing) {
        return { status: 409, body: { error: { code: "already_submitted", message: "Already submitted.", record: existing } } };
      }
      const { idempotency_key: _key, reason: _reason, ...fields } = body;
      const record = { ...(existing || { id: records.size + 1, version: 0 }), ...fields };
      record.version += 1;
      records.set(path, record);
      keys.set(body.idempotency_key, { text, record });
      if (next === "lost") throw new Error("reset");
      return { status: existing ? 200 : 201, body: { record } };
    },
  };
}

let server;
let outbox;
let stores;

beforeEach(() => {
  server = fakeServer();
  stores = { outbox: createMemoryStorage(), kv: kvStore() };
  const api = {
    raw: (...args) => server.raw(...args),
    request: async () => {
      throw Object.assign(new Error("No connection."), { status: 0, offline: true });
    },
  };
  outbox = new RecordOutbox({ stores, api });
  outbox.setOwner("ff.norwich.1");
  outbox.sync = () => null; // replayed by the tests themselves
});

const replay = () => outbox.queue.replay("ff.norwich.1");

describe("which answers need the firefighter", () => {
  it("classifies the records API's answers", () => {
    assert.equal(classifyRecordStatus(201, {}), SENT);
    assert.equal(classifyRecordStatus(200, {}), SENT);
    assert.equal(classifyRecordStatus(400, { error: { code: "invalid" } }), REJECTED);
    assert.equal(classifyRecordStatus(409, { error: { code: "locked" } }), CONFLICT);
    assert.equal(classifyRecordStatus(403, { error: { code: "permission_denied", message: "Only the crew lead submits the outcome form." } }), REJECTED);
    assert.equal(classifyRecordStatus(403, { error: { code: "not_authenticated" } }), AUTH);
    assert.equal(classifyRecordStatus(403, { error: { code: "permission_denied", message: "CSRF Failed: token missing." } }), AUTH);
    assert.equal(classifyRecordStatus(401, null), AUTH);
    assert.equal(classifyRecordStatus(503, null), RETRY);
    assert.equal(classifyRecordStatus(0, null), RETRY);
  });
});

describe("the outbox", () => {
  it("replays submissions in the order they were made, each with its own key", async () => {
    await outbox.submit(7, "attendance", "POST", { attended: true });
    await outbox.submit(7, "outcome", "POST", { resuscitation_attempted: true });
    await outbox.submit(8, "welfare", "POST", { impact: 2 });
    await outbox.submit(7, "attendance", "PATCH", { appliance: "21P1", reason: "Wrong appliance." });
    const result = await replay();
    assert.deepEqual(result, { sent: 4, stopped: null, remaining: 0 });
    assert.deepEqual(
      server.calls.map((call) => `${call.method} ${call.path}`),
      ["POST /alerts/7/attendance/", "POST /alerts/7/outcome/", "POST /alerts/8/welfare/", "PATCH /alerts/7/attendance/"],
    );
    assert.equal(new Set(server.calls.map((call) => call.body.idempotency_key)).size, 4);
    assert.deepEqual(server.records.get("/alerts/7/attendance/"), { id: 1, version: 2, attended: true, appliance: "21P1" });
  });

  it("keeps everything queued while offline, and the order, then sends it once", async () => {
    await outbox.submit(7, "outcome", "POST", { resuscitation_attempted: true, crew_shocks: 1 });
    await outbox.submit(7, "welfare", "POST", { impact: 3 });
    server.script.push("network");
    assert.deepEqual(await replay(), { sent: 0, stopped: RETRY, remaining: 2 });
    assert.equal((await outbox.statusOf(7, "outcome")).status.state, "pending");
    // The answer to the first is lost: it is sent again with the same key and body, and stored once.
    server.script.push("lost");
    await replay();
    await replay();
    const posts = server.calls.filter((call) => call.path === "/alerts/7/outcome/");
    assert.equal(posts.length, 3);
    assert.equal(new Set(posts.map((call) => JSON.stringify(call.body))).size, 1, "the same bytes every time");
    assert.equal(server.records.get("/alerts/7/outcome/").version, 1);
    const { status, record } = await outbox.statusOf(7, "outcome");
    assert.deepEqual(status, { state: "accepted", text: "Version 1" });
    assert.equal(record.crew_shocks, 1);
    assert.deepEqual(await outbox.counts(), { pending: 0, problems: 0 });
  });

  it("shows a refusal with the server's message and field messages, and replaces it when sent again", async () => {
    server.script.push(400);
    await outbox.submit(7, "welfare", "POST", { impact: 3, notes: "x" });
    await replay();
    const refused = await outbox.statusOf(7, "welfare");
    assert.deepEqual(refused.status, { state: "attention", text: "status 400" });
    assert.deepEqual(refused.item.last_fields, { notes: ["Too long."] });
    assert.deepEqual(await outbox.counts(), { pending: 0, problems: 1 });
    await outbox.submit(7, "welfare", "POST", { impact: 3 });
    assert.equal((await outbox.itemsFor(7, "welfare")).length, 1, "the refused one is replaced");
    await replay();
    assert.equal((await outbox.statusOf(7, "welfare")).status.state, "accepted");
  });

  it("shows the server's record when the form had already been submitted", async () => {
    server.records.set("/alerts/7/outcome/", { id: 3, version: 4, resuscitation_attempted: false });
    await outbox.submit(7, "outcome", "POST", { resuscitation_attempted: true });
    await replay();
    const { status, record, item, cached } = await outbox.statusOf(7, "outcome");
    assert.equal(item, null, "the copy from this phone is not left to fail again");
    assert.equal(status.state, "accepted");
    assert.deepEqual(record, { id: 3, version: 4, resuscitation_attempted: false });
    assert.match(cached.note, /already been submitted/);
    assert.deepEqual(cached.draft, { resuscitation_attempted: true }, "the answers typed on this phone are kept");
  });

  it("keeps the answers of an already submitted form until they are sent as a change", async () => {
    server.records.set("/alerts/7/welfare/", { id: 3, version: 1, impact: 1, notes: "" });
    await outbox.submit(7, "welfare", "POST", { impact: 4, notes: "Typed on the second phone." });
    await replay();
    const kept = await outbox.cached(7, "welfare");
    assert.deepEqual(kept.record, { id: 3, version: 1, impact: 1, notes: "" });
    assert.deepEqual(kept.draft, { impact: 4, notes: "Typed on the second phone." });
    // Loading the form again from the server keeps the draft: it is not on the server.
    outbox.api.request = async () => ({ record: kept.record, prefill: {}, editable: true });
    assert.deepEqual((await outbox.load(7, "welfare")).draft, { impact: 4, notes: "Typed on the second phone." });
    await outbox.submit(7, "welfare", "PATCH", { impact: 4, notes: "Typed on the second phone.", reason: "Answers from my other phone." });
    await replay();
    const changed = await outbox.cached(7, "welfare");
    assert.equal(changed.draft, null, "the change was accepted: nothing is left unsent");
    assert.equal(changed.record.version, 2);
    assert.equal(server.calls.at(-1).method, "PATCH");
  });

  it("keeps no draft when the answers match the server's record, and forgets one on request", async () => {
    server.records.set("/alerts/7/attendance/", { id: 3, version: 1, attended: true });
    await outbox.submit(7, "attendance", "POST", { attended: true });
    await replay();
    assert.equal((await outbox.cached(7, "attendance")).draft, null);
    server.records.set("/alerts/8/attendance/", { id: 4, version: 1, attended: true });
    await outbox.submit(8, "attendance", "POST", { attended: false });
    await replay();
    assert.deepEqual((await outbox.cached(8, "attendance")).draft, { attended: false });
    await outbox.discardDraft(8, "attendance");
    assert.equal((await outbox.cached(8, "attendance")).draft, null);
  });

  it("keeps one user's queue apart from another's", async () => {
    await outbox.submit(7, "welfare", "POST", { impact: 1 });
    outbox.setOwner("ff.norwich.2");
    assert.deepEqual(await outbox.counts(), { pending: 0, problems: 0 });
    assert.equal((await outbox.queue.replay("ff.norwich.2")).sent, 0);
    assert.equal(server.calls.length, 0);
  });

  it("opens a form without signal from what it last knew", async () => {
    assert.equal(await outbox.load(7, "attendance"), null);
    await stores.kv.put({ key: "record:ff.norwich.1:7:attendance", record: null, prefill: { attended: true }, editable: true });
    assert.deepEqual((await outbox.load(7, "attendance")).prefill, { attended: true });
    assert.equal((await outbox.load(7, "attendance")).fromCache, true);
  });

  it("counts the forms of the listed calls still to fill, from the list and this phone", async () => {
    // Home's prompt after logging in afresh (found by trying the product: it said nothing).
    const calls = [
      { alert_id: 7, outcome_expected: true, is_crew_lead: true, attendance: { version: 1, locked: false }, outcome: null, welfare: null },
      { alert_id: 8, outcome_expected: false, is_crew_lead: true, attendance: null, outcome: null, welfare: null },
      { alert_id: 9, outcome_expected: true, is_crew_lead: false, attendance: null, outcome: null, welfare: null },
    ];
    // 7: outcome and welfare; 8: attendance and welfare (no outcome: nobody attended); 9: attendance and welfare.
    assert.equal(await outbox.countToFill(calls), 6);
    await outbox.submit(7, "welfare", "POST", { impact: 1 }); // saved on the phone, not sent yet
    await stores.kv.put({ key: "record:ff.norwich.1:8:attendance", record: { version: 1, locked: false } }); // sent since the list
    assert.equal(await outbox.countToFill(calls), 4);
    assert.equal(await outbox.countToFill(null), 0);
  });

  it("lists the recent calls from the server, and without signal the list it kept", async () => {
    const results = [{ alert_id: 7 }];
    outbox.api.request = async (method, path) => (assert.deepEqual([method, path], ["GET", "/records/"]), { results });
    assert.deepEqual(await outbox.recentCalls(), { results, fromCache: false });
    outbox.api.request = async () => {
      throw Object.assign(new Error("No connection."), { status: 0, offline: true });
    };
    assert.deepEqual(await outbox.recentCalls(), { results, fromCache: true });
    outbox.setOwner("ff.norwich.2");
    await assert.rejects(outbox.recentCalls(), /No connection/);
  });

  it("opens a welfare check-in without signal even if this phone never loaded it", async () => {
    // Found by trying the product: "This form has not been opened on this phone before" for a
    // form that needs nothing from the server to start.
    const welfare = await outbox.load(7, "welfare");
    assert.deepEqual(
      { record: welfare.record, prefill: welfare.prefill, editable: welfare.editable, fromCache: welfare.fromCache, blank: welfare.blank },
      { record: null, prefill: {}, editable: true, fromCache: true, blank: true },
    );
    assert.equal(await outbox.cached(7, "welfare"), null, "a blank form is not kept as if the server had sent it");
    assert.equal(await outbox.load(7, "attendance"), null, "the other forms need the server's prefill");
  });

  it("keeps the forms owed after recent calls, and their crew, for opening without signal", async () => {
    // Found by trying the product: the call ended, the phone lost signal, and no form of the call
    // opened, since its page had not been opened with signal.
    const now = Date.now();
    const asked = [];
    const crew = [{ responder_id: 4, responder_name: "Sam Barker", station: "Gorleston", state: "cleared", attended: true }];
    outbox.api.request = async (method, path) => {
      asked.push(path);
      if (path === "/alerts/7/") return { id: 7, crew };
      return { record: null, prefill: { attended: true }, editable: true, lock_hours: 72, cad_times: null };
    };
    const call = (alertId, hoursAgo, fields = {}) => ({
      alert_id: alertId,
      alerted_at: new Date(now - hoursAgo * 3600 * 1000).toISOString(),
      outcome_expected: true,
      is_crew_lead: true,
      attendance: null,
      outcome: null,
      welfare: null,
      ...fields,
    });
    const done = { version: 1, locked: false };
    const calls = [
      call(7, 1),
      call(8, 2, { attendance: done, outcome: done, welfare: done }), // nothing owed
      call(9, 3, { outcome_expected: false }), // nobody attended: no crew asked for
      call(10, 24 * 20), // too old to keep
      call(11, 0.5), // the job in progress
    ];
    await outbox.keepOwedForms(calls, { skip: 11, now, knownCrew: (alertId) => (alertId === 9 ? crew : []) });
    assert.deepEqual(asked.sort(), ["/alerts/7/", "/alerts/7/attendance/", "/alerts/7/outcome/", "/alerts/7/welfare/", "/alerts/9/attendance/", "/alerts/9/outcome/", "/alerts/9/welfare/"]);

    asked.length = 0;
    await outbox.keepOwedForms(calls, { skip: 11, now: now + 60 * 1000, knownCrew: () => crew });
    assert.deepEqual(asked, [], "forms kept a minute ago are not asked for again");

    outbox.api.request = async () => {
      throw Object.assign(new Error("No connection."), { status: 0, offline: true });
    };
    assert.deepEqual((await outbox.load(7, "attendance")).prefill, { attended: true });
    assert.equal((await outbox.load(7, "outcome")).fromCache, true);
    assert.deepEqual(await outbox.crewOf(7), crew, "the names the outcome form shows");
    assert.deepEqual(await outbox.crewOf(12), []);
  });

  it("keeps the forms of a few calls only, stops without signal, and asks again when they are old", async () => {
    const now = Date.now();
    const asked = [];
    outbox.api.request = async (method, path) => (asked.push(path), { record: null, prefill: {}, editable: true, crew: [] });
    const calls = Array.from({ length: KEEP_CALLS + 3 }, (_, index) => ({ alert_id: 100 + index, alerted_at: new Date(now - index * 60000).toISOString(), outcome_expected: false }));
    await outbox.keepOwedForms(calls, { now });
    assert.equal(new Set(asked.map((path) => path.split("/")[2])).size, KEEP_CALLS, "the newest calls only");

    asked.length = 0;
    await outbox.keepOwedForms(calls.slice(0, 1), { now: now + KEEP_FRESH_MS + 1000 });
    assert.deepEqual(asked.sort(), ["/alerts/100/attendance/", "/alerts/100/outcome/", "/alerts/100/welfare/"], "kept a while ago: asked again");

    let tries = 0;
    outbox.api.request = async () => {
      tries += 1;
      throw Object.assign(new Error("No connection."), { status: 0, offline: true });
    };
    outbox.setOwner("ff.norwich.2");
    await outbox.keepOwedForms(calls, { now });
    assert.equal(tries, 3, "the first call's forms, then no more without signal");
  });

  it("keeps one list at a time: the same list fetched twice at start asks for each form once", async () => {
    const asked = [];
    outbox.api.request = async (method, path) => (asked.push(path), { record: null, prefill: {}, editable: true });
    const calls = [{ alert_id: 7, alerted_at: new Date().toISOString(), outcome_expected: false }];
    await Promise.all([outbox.keepOwedForms(calls), outbox.keepOwedForms(calls)]);
    assert.deepEqual(asked.sort(), ["/alerts/7/attendance/", "/alerts/7/outcome/", "/alerts/7/welfare/"]);
  });

  it("builds the request from the queued item, and finds the newest per form", () => {
    const item = { idempotency_key: "k1", alert_id: 7, type: "outcome", data: { method: "PATCH", body: { reason: "r", crew_shocks: 0 } } };
    assert.deepEqual(requestOf(item), { method: "PATCH", path: "/alerts/7/outcome/", body: { idempotency_key: "k1", reason: "r", crew_shocks: 0 } });
    const newest = newestByKind([item, { ...item, idempotency_key: "k2" }, { ...item, alert_id: 8 }], 7);
    assert.equal(newest.outcome.idempotency_key, "k2");
  });
});

// Found by a trial of the product: the outcome form did not carry over the appliance call sign the
// crew lead had given in the attendance form of the same call (pwa/app/views/record-form.js).
describe("the attendance form's appliance, for the outcome form", () => {
  it("is the one queued without signal, the newest that says one", async () => {
    await outbox.submit(7, "attendance", "POST", { attended: true, appliance: " 21P1 " });
    assert.equal(await outbox.attendanceAppliance(7), "21P1");
    assert.equal(await outbox.attendanceAppliance(8), "", "another call's is not this call's");
  });

  it("is the one sent, and a later change to it wins; a change of something else keeps it", async () => {
    await outbox.submit(7, "attendance", "POST", { attended: true, appliance: "21P1" });
    await replay();
    assert.deepEqual(await outbox.itemsFor(7, "attendance"), []);
    assert.equal(await outbox.attendanceAppliance(7), "21P1");
    await outbox.submit(7, "attendance", "PATCH", { notes: "Late.", reason: "Forgot." });
    assert.equal(await outbox.attendanceAppliance(7), "21P1");
    await outbox.submit(7, "attendance", "PATCH", { appliance: "22P1", reason: "Wrong appliance." });
    assert.equal(await outbox.attendanceAppliance(7), "22P1");
  });

  it("is the server's when this phone never kept the form, and nothing without one", async () => {
    outbox.api.request = async (method, path) => (path === "/alerts/9/attendance/" ? { record: { version: 1, appliance: "31P2" }, prefill: {}, editable: true } : { record: null, prefill: {}, editable: true });
    assert.equal(await outbox.attendanceAppliance(9), "31P2");
    assert.equal(await outbox.attendanceAppliance(10), "");
    outbox.api.request = async () => {
      throw Object.assign(new Error("No form."), { status: 404 });
    };
    assert.equal(await outbox.attendanceAppliance(11), "");
  });
});
