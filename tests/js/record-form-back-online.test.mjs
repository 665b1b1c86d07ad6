// Found by a browser trial: the record form sent once the phone was back online said "Sent and
// accepted (version 1)" under "No signal: showing what this phone last knew of this form." while
// the app showed "Live: connected". The offline notice goes once the server has answered for the
// form (fetched again, or the queued submission accepted: outbox heard_at), not before.
import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";

import { RecordOutbox } from "../../pwa/app/outbox.js";
import { SENT, createMemoryStorage } from "../../pwa/app/queue.js";
import { withKeptCopy } from "../../pwa/app/views/record-form.js";

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

const FORM = { record: null, prefill: { appliance: "21P1" }, editable: true, lock_hours: 72 };
const RECORD = { version: 1, appliance: "21P1", submitted_at: "2025-01-01T10:00:00Z" };

let outbox;
let online;

beforeEach(async () => {
  online = true;
  const request = async () => (online ? structuredClone(FORM) : offline());
  outbox = new RecordOutbox({ stores: { outbox: createMemoryStorage(), kv: kvStore() }, api: { raw: request, request }, jobInProgress: () => null });
  outbox.setOwner("ff.norwich.1");
  outbox.sync = () => null;
  await outbox.load(7, "attendance"); // opened once with signal: kept on the phone
  online = false;
});

describe("the record form's offline notice", () => {
  it("is shown for the phone's copy, and goes once the queued submission is accepted", async () => {
    const shown = await outbox.load(7, "attendance");
    assert.equal(shown.fromCache, true);
    await outbox._result({ alert_id: 7, type: "attendance", data: { body: {} } }, SENT, { record: RECORD });
    const now = withKeptCopy(shown, await outbox.cached(7, "attendance"));
    assert.equal(now.record.version, 1);
    assert.equal(now.fromCache, false);
  });

  it("goes even when the server's answer comes within the same millisecond as the load (CI on 1f52ab0)", async () => {
    const toISOString = Date.prototype.toISOString;
    Date.prototype.toISOString = () => "2026-12-07T10:00:00.000Z"; // one instant for every mark
    try {
      online = true;
      await outbox.load(7, "attendance");
      online = false;
      const shown = await outbox.load(7, "attendance");
      await outbox._result({ alert_id: 7, type: "attendance", data: { body: {} } }, SENT, { record: RECORD });
      assert.equal(withKeptCopy(shown, await outbox.cached(7, "attendance")).fromCache, false);
    } finally {
      Date.prototype.toISOString = toISOString;
    }
  });

  it("goes once the form is fetched again from the server", async () => {
    const shown = await outbox.load(7, "attendance");
    await new Promise((resolve) => setTimeout(resolve, 2)); // a later clock
    online = true;
    await outbox.load(7, "attendance");
    assert.equal(withKeptCopy(shown, await outbox.cached(7, "attendance")).fromCache, false);
  });

  it("stays while the server has not answered (a draft discarded offline)", async () => {
    const shown = await outbox.load(7, "attendance");
    await outbox.discardDraft(7, "attendance");
    assert.equal(withKeptCopy(shown, await outbox.cached(7, "attendance")).fromCache, true);
  });
});
