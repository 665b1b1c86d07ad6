// Found by a browser trial of the firefighters' app: an attendance form half filled in (call sign
// 21P1, role Driver, "Left scene" corrected, a message showing) was blank again after a new alert
// was opened and accepted. The answers typed on the phone are kept with the forms (the kv store,
// IndexedDB: pwa/app/outbox.js typedAnswers), per alert and form, until sent or discarded, and go
// at logout with the rest of the kv store. The screens' part is in
// tests/e2e/test_phone_form_drafts_and_bars.py.
import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";

import { openStores } from "../../pwa/app/idb.js";
import { RecordOutbox } from "../../pwa/app/outbox.js";

const OWNER = "ff.norwich.1";
const TYPED = {
  base: null,
  changes: { appliance: "21P1", role: "driver", left_scene_at: "2026-01-01T12:41:00.000Z" },
  reason: "",
  touched: ["appliance", "role", "left_scene_at", "on_scene_at"],
  submitted: true,
};

let stores;
let outbox;

function outboxOn(kept) {
  const api = {
    raw: async () => ({ status: 201, body: { record: { id: 1, version: 1 } } }),
    request: async () => {
      throw Object.assign(new Error("No connection."), { status: 0, offline: true });
    },
  };
  const made = new RecordOutbox({ stores: kept, api });
  made.setOwner(OWNER);
  made.sync = () => null;
  return made;
}

beforeEach(async () => {
  stores = await openStores(); // memory stand-ins where there is no IndexedDB, as in some private modes
  outbox = outboxOn(stores);
});

describe("answers typed into a form and not sent", () => {
  it("are kept per alert and form, and found again by the next page (a reload: a new outbox on the same stores)", async () => {
    await outbox.keepTypedAnswers(7, "attendance", TYPED);
    const again = outboxOn(stores);
    const kept = await again.typedAnswers(7, "attendance", null);
    assert.deepEqual(kept.changes, TYPED.changes);
    assert.deepEqual(kept.touched, TYPED.touched);
    assert.equal(kept.submitted, true);
    assert.equal(await again.typedAnswers(7, "outcome", null), null, "another form of the call");
    assert.equal(await again.typedAnswers(8, "attendance", null), null, "the same form of another call");
  });

  it("hold the form's fields and nothing more", async () => {
    await outbox.keepTypedAnswers(7, "attendance", { ...TYPED, extra: "not kept" });
    const kept = await outbox.typedAnswers(7, "attendance", null);
    assert.deepEqual(Object.keys(kept).sort(), ["alert_id", "base", "changes", "key", "kind", "reason", "saved_at", "submitted", "touched"]);
  });

  it("go when the form is sent", async () => {
    await outbox.keepTypedAnswers(7, "attendance", TYPED);
    await outbox.submit(7, "attendance", "POST", { attended: true, ...TYPED.changes });
    assert.equal(await outbox.typedAnswers(7, "attendance", null), null);
  });

  it("go when discarded", async () => {
    await outbox.keepTypedAnswers(7, "attendance", TYPED);
    await outbox.forgetTypedAnswers(7, "attendance");
    assert.equal(await outbox.typedAnswers(7, "attendance", null), null);
  });

  it("go at logout, with the rest of the kv store (main.js clears it)", async () => {
    await outbox.keepTypedAnswers(7, "attendance", TYPED);
    await stores.kv.clear();
    assert.equal(await outbox.typedAnswers(7, "attendance", null), null);
  });

  it("are not another person's", async () => {
    await outbox.keepTypedAnswers(7, "attendance", TYPED);
    outbox.setOwner("ff.norwich.2");
    assert.equal(await outbox.typedAnswers(7, "attendance", null), null);
  });

  it("a change of a record is found over that version only; over a newer one it is offered as a change of it", async () => {
    const record = { id: 1, version: 2, attended: true, appliance: "21P2", role: "crew_member" };
    await outbox.keepTypedAnswers(7, "attendance", { ...TYPED, base: 2, reason: "Wrong appliance." });
    assert.equal((await outbox.typedAnswers(7, "attendance", record)).reason, "Wrong appliance.");

    const newer = { ...record, version: 3 };
    assert.equal(await outbox.typedAnswers(7, "attendance", newer), null, "not put over a record changed since");
    const cached = await outbox.cached(7, "attendance");
    assert.equal(cached.draft.appliance, "21P1", "offered as a change (record-form.js draftNotice)");
    assert.equal(cached.draft.role, "driver");
    assert.equal(await outbox.typedAnswers(7, "attendance", newer), null, "and no longer kept as typed");
  });

  it("typed into a new form that another phone has sent meanwhile: offered as a change of its record", async () => {
    await outbox.keepTypedAnswers(7, "attendance", TYPED);
    const record = { id: 1, version: 1, attended: true, appliance: "21P2", role: "crew_member" };
    assert.equal(await outbox.typedAnswers(7, "attendance", record), null);
    assert.equal((await outbox.cached(7, "attendance")).draft.appliance, "21P1");
  });
});
