// AlertSync.respond (pwa/app/sync.js): one POST per answer however fast the taps.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { createState, createStore } from "../../pwa/app/store.js";
import { AlertSync } from "../../pwa/app/sync.js";

function deferred() {
  let resolve;
  let reject;
  const promise = new Promise((yes, no) => {
    resolve = yes;
    reject = no;
  });
  return { promise, resolve, reject };
}

/** An API whose answers the test gives, one by one. */
function fakeApi() {
  const calls = [];
  return {
    calls,
    respond(id, response, options) {
      const answer = deferred();
      calls.push({ id, response, options, answer });
      return answer.promise;
    },
  };
}

function detail(id, state, version) {
  const incident = { id: 1, status: "open", address: "1 Quay Road", category: "cardiac_arrest" };
  return { id, incident_id: 1, state, version, incident, crew: [] };
}

function newSync(api) {
  const kv = { get: async () => null, put: async () => {} };
  const sync = new AlertSync({ store: createStore(createState()), api, kv, owner: "ff.test", onNewAlert() {}, onAuthRequired() {}, onForbidden() {} });
  sync.stop(); // no socket, no timers: only respond() is under test
  return sync;
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe("answering an alert", () => {
  it("sends one POST for a double tap, and both taps get its answer", async () => {
    const api = fakeApi();
    const sync = newSync(api);
    const first = sync.respond(42, "accept");
    const second = sync.respond(42, "accept");
    sync.respond(7, "decline", { reason: "already_committed" }); // another alert: its own answer
    await tick();
    assert.deepEqual(
      api.calls.map((call) => [call.id, call.response]),
      [
        [42, "accept"],
        [7, "decline"],
      ],
      "the second tap reuses the answer in flight",
    );
    api.calls[0].answer.resolve(detail(42, "accepted", 3));
    assert.equal((await first).state, "accepted");
    assert.equal((await second).state, "accepted");
    assert.equal(sync.store.state.alerts.get(42).state, "accepted");
  });

  it("sends a different answer after the one in flight, in order", async () => {
    const api = fakeApi();
    const sync = newSync(api);
    const accept = sync.respond(42, "accept");
    const decline = sync.respond(42, "decline", { reason: "too_far" });
    await tick();
    assert.deepEqual(api.calls.map((call) => call.response), ["accept"]);
    api.calls[0].answer.resolve(detail(42, "accepted", 3));
    await accept;
    await tick();
    assert.deepEqual(api.calls.map((call) => call.response), ["accept", "decline"]);
    api.calls[1].answer.resolve(detail(42, "declined", 4));
    assert.equal((await decline).state, "declined");
  });

  it("sends again after a failed answer (a tap after the error is a new try)", async () => {
    const api = fakeApi();
    const sync = newSync(api);
    const first = sync.respond(42, "accept");
    await tick();
    api.calls[0].answer.reject(new Error("offline"));
    await assert.rejects(first, /offline/);
    assert.equal(sync.isAnswering(42), false);
    sync.respond(42, "accept");
    await tick();
    assert.equal(api.calls.length, 2);
  });
});

describe("acknowledging an alert", () => {
  it("acknowledges an alert again when it is alerted again (stood down, then needed)", async () => {
    const api = fakeApi();
    const sync = newSync(api);
    const sent = [];
    sync.socket.send = (frame) => (sent.push(frame), true);
    const alert = (version) => ({ ...detail(42, "alerted", version), crew: undefined });
    const created = (version) => ({ type: "alert.created", id: version, data: { alert: alert(version) } });

    sync.handleFrame(created(1));
    sync.acknowledge(42);
    sync.handleFrame({ type: "alert.ack.ok", data: { alert_id: 42 } });
    sync.acknowledge(42); // shown again on the same screen: nothing more to say
    sync.handleFrame(created(4)); // stood down at 2 and 3, alerted again at 4
    sync.acknowledge(42);

    assert.deepEqual(
      sent.map((frame) => [frame.type, frame.alert_id]),
      [
        ["alert.ack", 42],
        ["alert.ack", 42],
      ],
    );
    for (const timer of sync.ackTimers.values()) clearTimeout(timer);
  });
});
