// What the checklist's event log and the after-call forms' outbox share (app/queue-sync.js):
// when a replay is tried again, with which delays, what a lost session does, and what logging
// out keeps. Run against both, so neither can drift from the other's timings.
import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";

import { EventLog } from "../../pwa/app/eventlog.js";
import { RecordOutbox } from "../../pwa/app/outbox.js";
import { QueueSync, REPLAY_BACKOFF } from "../../pwa/app/queue-sync.js";
import { CONFLICT, PENDING, createMemoryStorage } from "../../pwa/app/queue.js";

const OWNER = "ff.norwich.1";

function memoryStore(keyPath) {
  const items = new Map();
  return {
    getAll: async () => [...items.values()].map((item) => structuredClone(item)),
    get: async (key) => (items.has(key) ? structuredClone(items.get(key)) : undefined),
    put: async (value) => void items.set(value[keyPath], structuredClone(value)),
    delete: async (key) => void items.delete(key),
    clear: async () => items.clear(),
  };
}

/** Both the events' and the forms' endpoints; `script` holds the statuses of the next answers
 *  ("network" for none at all), and an empty script answers 201. */
function fakeApi() {
  const script = [];
  const calls = [];
  const answer = async (what) => {
    calls.push(what);
    const next = script.shift() ?? 201;
    if (next === "network") throw new TypeError("Failed to fetch");
    return { status: next, body: next < 300 ? {} : { error: { code: "x", message: `status ${next}` } } };
  };
  return {
    script,
    calls,
    postEvent: (alertId, body) => answer({ alertId, body }),
    raw: (method, path, body) => answer({ method, path, body }),
  };
}

/** setTimeout and clearTimeout replaced by a list of what is waiting, so delays can be read and
 *  a retry run when the test chooses. */
function fakeTimers() {
  const real = { setTimeout: globalThis.setTimeout, clearTimeout: globalThis.clearTimeout };
  const waiting = new Map();
  let nextId = 1;
  globalThis.setTimeout = (fn, ms) => {
    const id = nextId++;
    waiting.set(id, { fn, ms });
    return id;
  };
  globalThis.clearTimeout = (id) => void waiting.delete(id);
  return {
    waiting,
    delays: () => [...waiting.values()].map((timer) => timer.ms),
    /** Run the one waiting retry (there is never more than one) and wait for it to finish. */
    async fire() {
      assert.equal(waiting.size, 1, "exactly one retry is waiting");
      const [[id, { fn }]] = waiting;
      waiting.delete(id);
      await fn();
    },
    restore: () => Object.assign(globalThis, real),
  };
}

const KINDS = {
  EventLog: { make: (options) => new EventLog(options), queueStore: "queue" },
  RecordOutbox: { make: (options) => new RecordOutbox(options), queueStore: "outbox" },
};

for (const [name, { make, queueStore }] of Object.entries(KINDS)) {
  describe(`${name} replays through QueueSync`, () => {
    let api;
    let stores;
    let timers;
    let authRequired;
    let changes;
    let sender;

    beforeEach(() => {
      api = fakeApi();
      stores = { queue: createMemoryStorage(), outbox: createMemoryStorage(), log: memoryStore("idempotency_key"), kv: memoryStore("key") };
      timers = fakeTimers();
      authRequired = 0;
      changes = 0;
      sender = make({ stores, api, onAuthRequired: () => (authRequired += 1), onChange: () => (changes += 1) });
      sender.backoff.random = () => 1; // no jitter: each delay is its ceiling
      sender.setOwner(OWNER);
    });

    afterEach(() => timers.restore());

    const enqueue = (owner = OWNER) =>
      sender.queue.enqueue({ owner, alert_id: 7, type: "attendance", data: { method: "POST", body: { attended: true } } });

    it("is a QueueSync with the shared delays", () => {
      assert.ok(sender instanceof QueueSync);
      assert.deepEqual(sender.backoff.options, REPLAY_BACKOFF);
      assert.deepEqual(REPLAY_BACKOFF, { baseMs: 2000, maxMs: 60000 });
    });

    it(`keeps its items in the "${queueStore}" store, where existing installs have them`, async () => {
      const item = await enqueue();
      assert.equal((await stores[queueStore].get(item.idempotency_key)).idempotency_key, item.idempotency_key);
      const other = queueStore === "queue" ? "outbox" : "queue";
      assert.deepEqual(await stores[other].getAll(), []);
    });

    it("sends nothing while nobody is logged in", async () => {
      sender.setOwner(null);
      await enqueue();
      assert.equal(await sender.sync(), null);
      assert.equal(api.calls.length, 0);
    });

    it("tries again after a temporary failure with doubling delays, capped at a minute", async () => {
      await enqueue();
      api.script.push("network", 503, 503, 503, 429, 500, 502);
      const result = await sender.sync();
      assert.equal(result.stopped, "retry");
      const delays = [timers.delays()];
      for (let i = 0; i < 6; i += 1) {
        await timers.fire();
        delays.push(timers.delays());
      }
      assert.deepEqual(delays, [[2000], [4000], [8000], [16000], [32000], [60000], [60000]]);
      assert.equal(api.calls.length, 7, "the same item, sent once a try");
    });

    it("starts the delays again from the beginning once a replay gets through", async () => {
      await enqueue();
      api.script.push(503, 503);
      await sender.sync();
      await timers.fire();
      assert.deepEqual(timers.delays(), [4000]);
      await timers.fire(); // the script is empty now: accepted
      assert.equal(timers.waiting.size, 0, "nothing left to retry");
      assert.deepEqual(await sender.queue.list(OWNER), []);
      await enqueue();
      api.script.push(503);
      await sender.sync();
      assert.deepEqual(timers.delays(), [2000]);
    });

    it("keeps the queue and asks for a login when the session has gone, without retrying", async () => {
      const item = await enqueue();
      api.script.push(401);
      const result = await sender.sync();
      assert.equal(result.stopped, "auth");
      assert.equal(authRequired, 1);
      assert.equal(timers.waiting.size, 0);
      assert.equal((await sender.queue.list(OWNER))[0].idempotency_key, item.idempotency_key);
    });

    it("replaces a waiting retry rather than adding another when synced meanwhile", async () => {
      await enqueue();
      api.script.push(503, 503);
      await sender.sync();
      await sender.sync();
      assert.equal(timers.waiting.size, 1);
    });

    it("counts this user's pending items and the refused ones apart", async () => {
      await enqueue();
      const refused = await enqueue();
      await stores[queueStore].put({ ...refused, state: CONFLICT });
      await enqueue("ff.norwich.2");
      assert.deepEqual(await sender.counts(), { pending: 1, problems: 1 });
    });

    it("once halted (the session ended) sends nothing more: no retry falls due, none is set by a replay in flight", async () => {
      await enqueue();
      api.script.push(503);
      await sender.sync();
      assert.equal(timers.waiting.size, 1);
      sender.halt();
      assert.equal(timers.waiting.size, 0, "the waiting retry is cancelled at once");
      const calls = api.calls.length;
      assert.equal(await sender.sync(), null);
      assert.equal(api.calls.length, calls, "nothing was sent after the halt");

      // A replay already under way when the session ends: its failure sets no retry.
      sender.setOwner(OWNER);
      let answer;
      api.postEvent = api.raw = () => new Promise((resolve) => (answer = resolve));
      const inFlight = sender.sync();
      await new Promise((resolve) => setImmediate(resolve));
      sender.halt();
      answer({ status: 503, body: { error: { code: "x", message: "down" } } });
      await inFlight;
      assert.equal(timers.waiting.size, 0, "a retry was set after the halt");
    });

    it("at logout drops this user's queue unless told to keep it, and stops retrying", async () => {
      await enqueue();
      await enqueue("ff.norwich.2");
      api.script.push(503);
      await sender.sync();
      await sender.forget(OWNER, { keepQueue: true });
      assert.equal(timers.waiting.size, 0, "the retry is cancelled");
      assert.equal((await sender.queue.list()).length, 2);
      const before = changes;
      await sender.forget(OWNER, { keepQueue: false });
      assert.deepEqual(
        (await sender.queue.list()).map((item) => item.owner),
        ["ff.norwich.2"],
      );
      assert.ok(changes > before, "the screens are told");
    });
  });
}

describe("what only the event log forgets at logout", () => {
  it("clears the event log screen's entries whether or not the queue is kept", async () => {
    const stores = { queue: createMemoryStorage(), log: memoryStore("idempotency_key") };
    const log = new EventLog({ stores, api: fakeApi() });
    log.setOwner(OWNER);
    log.sync = () => null;
    await log.record(7, "cpr_started");
    await log.forget(OWNER, { keepQueue: true });
    assert.deepEqual(await stores.log.getAll(), []);
    assert.equal((await log.queue.list(OWNER)).length, 1);
    assert.equal((await log.entries(7))[0].state, PENDING, "still shown from the queue");
  });
});
