// readPushState (pwa/app/push.js): the home screen's "Checking this phone…" waits for the service
// worker to be ready, which on a first start is its whole install. The server's list of this
// firefighter's phones does not depend on it, so it is asked for at once, not after.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

let resolveReady;
const ready = new Promise((resolve) => (resolveReady = resolve));
const subscription = { endpoint: "https://push.example/1" };
let existing; // what navigator.serviceWorker.getRegistration() finds
Object.defineProperty(globalThis, "navigator", {
  value: { userAgent: "Chromium", serviceWorker: { ready, getRegistration: async () => existing } },
  configurable: true,
});
globalThis.window = { PushManager: class {}, Notification: { permission: "granted" }, matchMedia: () => ({ matches: false }) };
globalThis.Notification = globalThis.window.Notification;

const { readPushState } = await import("../../pwa/app/push.js");

describe("readPushState", () => {
  it("asks the server for this firefighter's phones while the service worker is still installing", async () => {
    const calls = [];
    const api = { pushDevices: async () => (calls.push("pushDevices"), [{ endpoint: subscription.endpoint, proven: true }]) };

    const reading = readPushState(api);
    await new Promise((resolve) => setTimeout(resolve, 0));
    assert.deepEqual(calls, ["pushDevices"], "asked before the worker is ready");

    resolveReady({ active: {}, pushManager: { getSubscription: async () => subscription } });
    const state = await reading;
    assert.equal(state.subscribed, true);
    assert.equal(state.registered, true);
    assert.equal(state.anyProven, true);
    assert.equal(calls.length, 1);
  });

  it("on the first start (the worker still installing) answers at once: no subscription can exist yet", async () => {
    existing = { active: null, installing: {}, pushManager: { getSubscription: async () => assert.fail("not asked") } };
    const never = new Promise(() => {});
    navigator.serviceWorker.ready = never; // the install never finishes in this test
    try {
      const state = await readPushState({ pushDevices: async () => [{ endpoint: "https://push.example/other", proven: false }] });
      assert.equal(state.subscribed, false);
      assert.equal(state.registered, null);
      assert.equal(state.anyProven, false);
      assert.equal(state.error, null);
    } finally {
      existing = undefined;
      navigator.serviceWorker.ready = ready;
    }
  });

  it("with an active worker reads the subscription of the ready registration", async () => {
    existing = { active: {}, pushManager: { getSubscription: async () => assert.fail("not the ready one") } };
    try {
      const state = await readPushState({ pushDevices: async () => [] });
      assert.equal(state.subscribed, true); // `ready` resolved above, with a subscription
      assert.equal(state.registered, false);
    } finally {
      existing = undefined;
    }
  });
});
