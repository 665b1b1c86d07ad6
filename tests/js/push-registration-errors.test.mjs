// Found by a browser trial of the firefighters' app: with push failing on the phone (its browser's
// push service would not subscribe it), home showed the raw "Registration failed - permission
// denied." and offered "Turn on notifications" although notifications were allowed. The known
// errors of registering are said in plain words (pwa/app/push.js registerDevice), and with
// notifications allowed the way offered is "Try again" (pwa/app/status.js deliveryWarnings).
import assert from "node:assert/strict";
import { describe, it } from "node:test";

let subscribe;
const registration = { active: {}, pushManager: { getSubscription: async () => null, subscribe: (...args) => subscribe(...args) } };
Object.defineProperty(globalThis, "navigator", {
  value: { userAgent: "Mozilla/5.0 (Linux; Android 14) Mobile", serviceWorker: { ready: Promise.resolve(registration) } },
  configurable: true,
});
globalThis.window = { PushManager: class {}, Notification: { permission: "granted" }, matchMedia: () => ({ matches: false }) };
globalThis.Notification = globalThis.window.Notification;

const { registerDevice } = await import("../../pwa/app/push.js");
const { ApiError } = await import("../../pwa/app/api.js");
const { deliveryWarnings } = await import("../../pwa/app/status.js");

const api = {
  vapidPublicKey: async () => "BEl62iUYgUivxIkv69yViEuiBIa-Ib9-SkvMeAtA3LFgDzkrxZJjSgSnfckjBJuBkr3qBUYIHBQFLXYp5Nksh8U",
  addPushSubscription: async () => assert.fail("nothing to register"),
};

async function failing(error) {
  subscribe = async () => {
    throw error;
  };
  return registerDevice(api);
}

describe("registering this phone for alerts fails", () => {
  it("says the browser's push errors in plain words, never the browser's own", async () => {
    const errors = [
      new DOMException("Registration failed - permission denied", "NotAllowedError"),
      new DOMException("Registration failed - push service not available", "AbortError"),
      new DOMException("Registration failed - push service error", "AbortError"),
      new DOMException("Push is not supported", "NotSupportedError"),
    ];
    for (const error of errors) {
      const result = await failing(error);
      assert.equal(result.ok, false);
      assert.doesNotMatch(result.message, /Registration failed|permission denied|push service|not supported/i, error.message);
      assert.match(result.message, /cannot receive alerts while the app is closed/, error.message);
      assert.match(result.message, /Keep the app open/);
      assert.match(result.message, /“Try again”/);
    }
  });

  it("keeps the server's own refusals and says no signal as such", async () => {
    assert.match((await failing(new ApiError(503, "push_not_configured", "Push is not configured."))).message, /not configured/);
    assert.match((await failing(new ApiError(0, "offline", "Failed to fetch"))).message, /^No signal/);
    const refused = await failing(new ApiError(400, "invalid", "Endpoint not allowed."));
    assert.match(refused.message, /Endpoint not allowed/);
  });

  it("offers “Try again”, not “Turn on notifications”, when notifications are allowed already", async () => {
    const { message } = await failing(new DOMException("Registration failed - permission denied", "NotAllowedError"));
    const push = { supported: true, needsInstall: false, permission: "granted", subscribed: false, registered: null, anyProven: false, serverConfigured: null, error: message };
    const warnings = deliveryWarnings({ connection: "live", push, onCall: true, trainingInDate: true, online: true });
    assert.ok(!warnings.some((warning) => warning.action === "enable"), JSON.stringify(warnings));
    assert.ok(warnings.some((warning) => warning.action === "retry"), JSON.stringify(warnings));
    assert.ok(!warnings.some((warning) => /Turn on notifications/.test(warning.text)), JSON.stringify(warnings));
    assert.ok(warnings.some((warning) => warning.text === message), "the plain words are shown");
  });

  it("still offers “Turn on notifications” before they are allowed", () => {
    const push = { supported: true, needsInstall: false, permission: "default", subscribed: false, registered: null, anyProven: true, serverConfigured: null, error: null };
    const warnings = deliveryWarnings({ connection: "live", push, onCall: true, trainingInDate: true, online: true });
    assert.ok(warnings.some((warning) => warning.action === "enable"));
  });
});
