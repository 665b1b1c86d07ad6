import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";

import {
  AUTH,
  CONFLICT,
  EventQueue,
  PENDING,
  REJECTED,
  RETRY,
  SENT,
  bodyOf,
  classifyStatus,
  createMemoryStorage,
  uuid4,
} from "../../pwa/app/queue.js";

/**
 * A stand-in for POST /api/v1/alerts/{id}/events/: stores each idempotency key once; the same key
 * with the same body answers 200, with a different body 409. `script` can make the next calls
 * fail: a number is answered as that status (and not stored), "network" rejects (not stored),
 * "lost" stores the event and then loses the answer.
 */
function fakeServer() {
  const stored = new Map();
  const script = [];
  const calls = [];
  return {
    stored,
    script,
    calls,
    async send(item) {
      const body = bodyOf(item);
      calls.push(body);
      const next = script.shift();
      if (next === "network") throw new TypeError("Failed to fetch");
      if (typeof next === "number") return { status: next, body: { error: { code: "x", message: `status ${next}` } } };
      const key = body.idempotency_key;
      if (stored.has(key)) {
        const same = JSON.stringify(stored.get(key)) === JSON.stringify(body);
        if (!same) return { status: 409, body: { error: { code: "conflict", message: "Key already used for a different event." } } };
        if (next === "lost") throw new TypeError("Connection reset");
        return { status: 200, body };
      }
      stored.set(key, body);
      if (next === "lost") throw new TypeError("Connection reset");
      return { status: 201, body };
    },
  };
}

let storage;
let server;
let results;
let queue;
let clock;

function event(type, extra = {}) {
  clock += 1000;
  return { owner: "ff.norwich.1", alert_id: 42, type, occurred_at: new Date(clock).toISOString(), data: {}, ...extra };
}

beforeEach(() => {
  storage = createMemoryStorage();
  server = fakeServer();
  results = [];
  clock = Date.UTC(2026, 0, 1, 12);
  queue = new EventQueue({
    storage,
    send: (item) => server.send(item),
    onResult: (item, outcome) => results.push([item.type, outcome]),
  });
});

describe("what a response means for a queued event", () => {
  it("classifies statuses", () => {
    assert.equal(classifyStatus(200), SENT);
    assert.equal(classifyStatus(201), SENT);
    assert.equal(classifyStatus(409), CONFLICT);
    assert.equal(classifyStatus(400), REJECTED);
    assert.equal(classifyStatus(404), REJECTED);
    assert.equal(classifyStatus(401), AUTH);
    assert.equal(classifyStatus(403), AUTH);
    for (const status of [0, 408, 425, 429, 500, 502, 503, 504]) assert.equal(classifyStatus(status), RETRY, status);
  });

  it("makes version 4 UUIDs", () => {
    const key = uuid4();
    assert.match(key, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.notEqual(uuid4(), key);
  });
});

describe("offline queue", () => {
  it("sends events in the order they were recorded", async () => {
    await queue.enqueue(event("arrived"));
    await queue.enqueue(event("cpr_started"));
    await queue.enqueue(event("pads_on"));
    const result = await queue.replay("ff.norwich.1");
    assert.deepEqual(
      server.calls.map((call) => call.type),
      ["arrived", "cpr_started", "pads_on"],
    );
    assert.deepEqual(result, { sent: 3, stopped: null, remaining: 0 });
    assert.equal((await queue.list()).length, 0);
  });

  it("keeps order even when the clock was changed between taps", async () => {
    await queue.enqueue(event("shock", { occurred_at: "2026-01-01T12:05:00Z" }));
    await queue.enqueue(event("rosc", { occurred_at: "2026-01-01T12:01:00Z" }));
    await queue.replay("ff.norwich.1");
    assert.deepEqual(
      server.calls.map((call) => call.type),
      ["shock", "rosc"],
    );
  });

  it("sends the body the server expects", async () => {
    const item = await queue.enqueue(event("shock", { data: { shock_number: 1, patient: "adult" } }));
    await queue.replay("ff.norwich.1");
    assert.deepEqual(server.calls[0], {
      idempotency_key: item.idempotency_key,
      type: "shock",
      occurred_at: item.occurred_at,
      data: { shock_number: 1, patient: "adult" },
    });
  });

  it("removes an event once the server answers 201 or 200", async () => {
    await queue.enqueue(event("arrived"));
    server.script.push(undefined);
    await queue.replay("ff.norwich.1");
    assert.equal(await queue.pendingCount("ff.norwich.1"), 0);
    assert.deepEqual(results, [["arrived", SENT]]);
  });

  it("keeps the event and stops the replay on a 5xx, so nothing is sent out of order", async () => {
    await queue.enqueue(event("arrived"));
    await queue.enqueue(event("cpr_started"));
    server.script.push(503);
    const result = await queue.replay("ff.norwich.1");
    assert.deepEqual(result, { sent: 0, stopped: RETRY, remaining: 2 });
    assert.equal(server.calls.length, 1, "the second event must wait behind the first");
    const [first, second] = await queue.list();
    assert.equal(first.state, PENDING);
    assert.equal(first.attempts, 1);
    assert.equal(first.last_status, 503);
    assert.equal(first.last_error, "status 503");
    assert.equal(second.state, PENDING);
    assert.equal(second.attempts, 0);

    const retried = await queue.replay("ff.norwich.1");
    assert.deepEqual(retried, { sent: 2, stopped: null, remaining: 0 });
    assert.deepEqual(
      [...server.stored.values()].map((body) => body.type),
      ["arrived", "cpr_started"],
    );
  });

  it("keeps the event and stops when there is no network", async () => {
    await queue.enqueue(event("arrived"));
    server.script.push("network");
    const result = await queue.replay("ff.norwich.1");
    assert.equal(result.stopped, RETRY);
    assert.equal((await queue.list())[0].last_error, "No connection.");
    assert.equal(server.stored.size, 0);
  });

  it("marks a 409 as a conflict, keeps it visible, and carries on with the next", async () => {
    const first = await queue.enqueue(event("arrived"));
    // The same key was already used on the server for something else.
    server.stored.set(first.idempotency_key, { ...bodyOf(first), type: "handover" });
    await queue.enqueue(event("cpr_started"));
    const result = await queue.replay("ff.norwich.1");
    assert.deepEqual(result, { sent: 1, stopped: null, remaining: 0 });
    const [kept] = await queue.list();
    assert.equal(kept.idempotency_key, first.idempotency_key);
    assert.equal(kept.state, CONFLICT);
    assert.equal(kept.last_error, "Key already used for a different event.");
    assert.deepEqual(results, [
      ["arrived", CONFLICT],
      ["cpr_started", SENT],
    ]);
  });

  it("does not resend a conflicted or rejected event until asked to", async () => {
    await queue.enqueue(event("arrived"));
    server.script.push(400);
    await queue.replay("ff.norwich.1");
    assert.equal((await queue.list())[0].state, REJECTED);
    await queue.replay("ff.norwich.1");
    assert.equal(server.calls.length, 1);
    await queue.retry((await queue.list())[0].idempotency_key);
    await queue.replay("ff.norwich.1");
    assert.equal(server.calls.length, 2);
    assert.equal((await queue.list()).length, 0);
  });

  it("keeps the queue when the session has expired (401/403), for sending after login", async () => {
    await queue.enqueue(event("arrived"));
    await queue.enqueue(event("pads_on"));
    server.script.push(401);
    let result = await queue.replay("ff.norwich.1");
    assert.equal(result.stopped, AUTH);
    assert.equal(await queue.pendingCount("ff.norwich.1"), 2);
    server.script.push(403);
    result = await queue.replay("ff.norwich.1");
    assert.equal(result.stopped, AUTH);
    assert.equal(await queue.pendingCount("ff.norwich.1"), 2);
    result = await queue.replay("ff.norwich.1"); // logged in again
    assert.deepEqual(result, { sent: 2, stopped: null, remaining: 0 });
  });

  it("stores an event once when the answer to the first try was lost", async () => {
    const item = await queue.enqueue(event("shock", { data: { shock_number: 1 } }));
    server.script.push("lost");
    await queue.replay("ff.norwich.1");
    assert.equal(server.stored.size, 1, "the server got it");
    assert.equal(await queue.pendingCount("ff.norwich.1"), 1, "but the phone does not know");
    await queue.replay("ff.norwich.1");
    assert.equal(server.stored.size, 1, "the retry created nothing");
    assert.deepEqual(
      server.calls.map((call) => call.idempotency_key),
      [item.idempotency_key, item.idempotency_key],
      "every try used the same key",
    );
    assert.deepEqual(server.calls[0], server.calls[1], "and the same body");
    assert.equal(await queue.pendingCount("ff.norwich.1"), 0);
  });

  it("sends each event once when replays overlap (online event, foreground and a tap at once)", async () => {
    for (const type of ["arrived", "cpr_started", "pads_on", "shock"]) await queue.enqueue(event(type));
    const runs = await Promise.all([queue.replay("ff.norwich.1"), queue.replay("ff.norwich.1"), queue.replay("ff.norwich.1")]);
    assert.equal(server.calls.length, 4);
    assert.equal(new Set(server.calls.map((call) => call.idempotency_key)).size, 4);
    for (const run of runs) assert.equal(run.remaining, 0);
  });

  it("picks up events recorded while a replay was running", async () => {
    await queue.enqueue(event("arrived"));
    let release;
    const gate = new Promise((resolve) => (release = resolve));
    const slowSend = server.send;
    queue.send = async (item) => {
      await gate;
      return slowSend(item);
    };
    const running = queue.replay("ff.norwich.1");
    await queue.enqueue(event("cpr_started"));
    const second = queue.replay("ff.norwich.1");
    release();
    await Promise.all([running, second]);
    assert.deepEqual(
      server.calls.map((call) => call.type),
      ["arrived", "cpr_started"],
    );
    assert.equal(await queue.pendingCount("ff.norwich.1"), 0);
  });

  it("queues the same idempotency key once", async () => {
    const first = await queue.enqueue(event("arrived", { idempotency_key: "0b7f1c1e-0000-4000-8000-000000000001" }));
    const again = await queue.enqueue(event("arrived", { idempotency_key: "0b7f1c1e-0000-4000-8000-000000000001" }));
    assert.equal(again.seq, first.seq);
    assert.equal((await queue.list()).length, 1);
  });

  it("replays only the logged-in person's events", async () => {
    await queue.enqueue(event("arrived", { owner: "ff.norwich.2" }));
    await queue.enqueue(event("pads_on"));
    await queue.replay("ff.norwich.1");
    assert.deepEqual(
      server.calls.map((call) => call.type),
      ["pads_on"],
    );
    assert.equal(await queue.pendingCount("ff.norwich.2"), 1);
  });

  it("forgets one person's events on explicit logout", async () => {
    await queue.enqueue(event("arrived", { owner: "ff.norwich.2" }));
    await queue.enqueue(event("pads_on"));
    await queue.clear("ff.norwich.1");
    assert.deepEqual(
      (await queue.list()).map((item) => item.owner),
      ["ff.norwich.2"],
    );
  });

  it("survives a restart: a new queue on the same storage continues in order", async () => {
    await queue.enqueue(event("arrived"));
    server.script.push(502);
    await queue.replay("ff.norwich.1");
    const restarted = new EventQueue({ storage, send: (item) => server.send(item) });
    await restarted.enqueue(event("cpr_started"));
    await restarted.replay("ff.norwich.1");
    assert.deepEqual(
      [...server.stored.values()].map((body) => body.type),
      ["arrived", "cpr_started"],
    );
  });
});
