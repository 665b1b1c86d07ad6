import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { LastEventTracker, afterSyncReady, lastEventKey, parseEventId } from "../../pwa/app/lastevent.js";

function fakeStorage(initial = {}) {
  const items = new Map(Object.entries(initial));
  return {
    items,
    getItem: (key) => (items.has(key) ? items.get(key) : null),
    setItem: (key, value) => void items.set(key, String(value)),
    removeItem: (key) => void items.delete(key),
  };
}

const frame = (type, id) => ({ type, id, sent_at: "2026-01-01T12:00:00+00:00", data: {} });

describe("last event id bookkeeping", () => {
  it("keeps one id per user", () => {
    const storage = fakeStorage();
    const alice = new LastEventTracker(storage, "ff.norwich.1");
    const bob = new LastEventTracker(storage, "ff.norwich.2");
    alice.observe(frame("alert.created", 7));
    bob.observe(frame("alert.created", 3));
    assert.equal(alice.value, 7);
    assert.equal(bob.value, 3);
    assert.equal(storage.getItem(lastEventKey("ff.norwich.1")), "7");
    assert.notEqual(lastEventKey("a.b"), lastEventKey("a_b"));
  });

  it("connects without an id the first time, then with the highest seen", () => {
    const tracker = new LastEventTracker(fakeStorage(), "ff.norwich.1");
    assert.equal(tracker.connectQuery(), "");
    assert.equal(tracker.connectedWith, null);
    tracker.observe(frame("alert.created", 41));
    tracker.observe(frame("incident.updated", 42));
    assert.equal(tracker.connectQuery(), "?last_event_id=42");
    assert.equal(tracker.connectedWith, 42);
  });

  it("never goes backwards for a replayed or duplicated event", () => {
    const tracker = new LastEventTracker(fakeStorage(), "ff.norwich.1");
    assert.equal(tracker.observe(frame("alert.created", 10)), "new");
    assert.equal(tracker.observe(frame("alert.updated", 9)), "seen");
    assert.equal(tracker.observe(frame("alert.updated", 10)), "seen");
    assert.equal(tracker.value, 10);
    assert.equal(tracker.observe(frame("alert.updated", 11)), "new");
    assert.equal(tracker.value, 11);
  });

  it("ignores frames without a stored id", () => {
    const tracker = new LastEventTracker(fakeStorage(), "ff.norwich.1");
    for (const f of [frame("pong", null), frame("alert.ack.ok", null), frame("x", "12"), frame("x", 1.5), frame("x", -3), null, {}]) {
      assert.equal(tracker.observe(f), "none");
    }
    assert.equal(tracker.value, null);
  });

  it("survives a restart (reads what was stored)", () => {
    const storage = fakeStorage();
    new LastEventTracker(storage, "ff.norwich.1").observe(frame("alert.created", 99));
    const after = new LastEventTracker(storage, "ff.norwich.1");
    assert.equal(after.connectQuery(), "?last_event_id=99");
  });

  it("ignores a corrupted stored value", () => {
    const storage = fakeStorage({ [lastEventKey("ff.norwich.1")]: "abc" });
    const tracker = new LastEventTracker(storage, "ff.norwich.1");
    assert.equal(tracker.value, null);
    assert.equal(tracker.connectQuery(), "", "never sends an id the server would refuse with 4400");
  });

  it("keeps working in memory when storage refuses", () => {
    const broken = {
      getItem() {
        throw new Error("SecurityError");
      },
      setItem() {
        throw new Error("QuotaExceededError");
      },
      removeItem() {
        throw new Error("SecurityError");
      },
    };
    const tracker = new LastEventTracker(broken, "ff.norwich.1");
    tracker.observe(frame("alert.created", 5));
    assert.equal(tracker.value, 5);
    tracker.reset();
    assert.equal(tracker.value, null);
  });

  it("takes the server's id at sync.ready and reloads when nothing was replayed", () => {
    const tracker = new LastEventTracker(fakeStorage(), "ff.norwich.1");
    tracker.connectQuery();
    assert.deepEqual(tracker.syncReady({ replayed: 0, last_event_id: 120, complete: true }), { reload: true });
    assert.equal(tracker.value, 120);
  });

  it("does not reload after a complete replay", () => {
    const tracker = new LastEventTracker(fakeStorage(), "ff.norwich.1");
    tracker.set(100);
    tracker.connectQuery();
    tracker.observe(frame("alert.created", 101));
    assert.deepEqual(tracker.syncReady({ replayed: 1, last_event_id: 101, complete: true }), { reload: false });
    assert.equal(tracker.value, 101);
  });

  it("reloads after an incomplete replay and remembers the server's highest id", () => {
    const tracker = new LastEventTracker(fakeStorage(), "ff.norwich.1");
    tracker.set(1);
    tracker.connectQuery();
    for (let id = 2; id <= 501; id += 1) tracker.observe(frame("alert.updated", id));
    assert.deepEqual(tracker.syncReady({ replayed: 500, last_event_id: 900, complete: false }), { reload: true });
    assert.equal(tracker.value, 900);
  });

  it("moves down to the server's id when ours is ahead (database restored, another account's id)", () => {
    const tracker = new LastEventTracker(fakeStorage(), "ff.norwich.1");
    tracker.set(5000);
    tracker.connectQuery();
    assert.deepEqual(tracker.syncReady({ replayed: 0, last_event_id: 40, complete: false }), { reload: true });
    assert.equal(tracker.value, 40);
    assert.equal(tracker.observe(frame("alert.created", 41)), "new", "new events are not mistaken for old ones");
  });

  it("forgets the id after a 4400 close or at logout", () => {
    const storage = fakeStorage();
    const tracker = new LastEventTracker(storage, "ff.norwich.1");
    tracker.set(8);
    tracker.reset();
    assert.equal(tracker.value, null);
    assert.equal(storage.items.size, 0);
  });

  it("parses ids strictly", () => {
    assert.equal(parseEventId("12"), 12);
    assert.equal(parseEventId(0), 0);
    for (const bad of ["", " 1", "1.5", "-1", "1e3", "abc", 1.5, -1, Number.NaN, null, undefined, {}]) {
      assert.equal(parseEventId(bad), null, String(bad));
    }
  });

  it("treats a sync.ready without a usable id as a reason to reload, changing nothing", () => {
    assert.deepEqual(afterSyncReady(4, { complete: true }), { lastEventId: null, reload: false });
    assert.deepEqual(afterSyncReady(4, null), { lastEventId: null, reload: true });
  });
});
