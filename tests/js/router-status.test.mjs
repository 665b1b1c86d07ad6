import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { alertPath, parseHash } from "../../pwa/app/router.js";
import { deliveryWarnings, readyForAlerts } from "../../pwa/app/status.js";

describe("hash routes", () => {
  it("parses every screen", () => {
    assert.deepEqual(parseHash(""), { name: "home", params: {} });
    assert.deepEqual(parseHash("#/"), { name: "home", params: {} });
    assert.deepEqual(parseHash("#/login"), { name: "login", params: {} });
    assert.deepEqual(parseHash("#/alerts/42"), { name: "alert", params: { id: 42 } });
    assert.deepEqual(parseHash("#/alerts/42/"), { name: "alert", params: { id: 42 } });
    assert.deepEqual(parseHash("#/alerts/42/incident"), { name: "incident", params: { id: 42 } });
    assert.deepEqual(parseHash("#/alerts/42/checklist"), { name: "checklist", params: { id: 42 } });
    assert.deepEqual(parseHash("#/alerts/42/forms"), { name: "forms", params: { id: 42 } });
    assert.deepEqual(parseHash("#/alerts/42/forms/outcome"), { name: "form", params: { id: 42, kind: "outcome" } });
    assert.deepEqual(parseHash("#/alerts/42/forms/welfare"), { name: "form", params: { id: 42, kind: "welfare" } });
    assert.deepEqual(parseHash("#/forms"), { name: "records", params: {} });
  });

  it("sends anything else home", () => {
    for (const hash of ["#/alerts/abc", "#/alerts/42/nope", "#/alerts/-1", "#/../admin", "#javascript:alert(1)", "#/alerts/42/forms/nope", "#/alerts/42/checklist/outcome"]) {
      assert.equal(parseHash(hash).name, "home", hash);
    }
  });

  it("builds paths that parse back", () => {
    assert.deepEqual(parseHash(`#${alertPath(7, "checklist")}`), { name: "checklist", params: { id: 7 } });
  });
});

describe("can alerts reach this phone?", () => {
  const good = { supported: true, needsInstall: false, permission: "granted", subscribed: true, registered: true, serverConfigured: null, error: null };

  it("is ready when notifications work and the socket is live", () => {
    const warnings = deliveryWarnings({ connection: "live", push: good, onCall: true, trainingInDate: true, online: true });
    assert.deepEqual(warnings, []);
    assert.equal(readyForAlerts(warnings), true);
  });

  it("warns loudly when this phone failed its last two tests (flagged)", () => {
    const push = { ...good, device: { flagged: true }, anyProven: true };
    const warnings = deliveryWarnings({ connection: "live", push, onCall: true, trainingInDate: true, online: true });
    assert.equal(warnings[0].level, "danger");
    assert.equal(warnings[0].action, "test");
    assert.match(warnings[0].text, /failed its last two alert tests/);
  });

  it("warns a firefighter on call with no phone proven lately, and not one off call", () => {
    const push = { ...good, device: { flagged: false }, anyProven: false };
    const on = deliveryWarnings({ connection: "live", push, onCall: true, trainingInDate: true, online: true });
    assert.equal(on.length, 1);
    assert.match(on[0].text, /none of your phones has shown an alert or a test/);
    assert.equal(readyForAlerts(on), false);
    const off = deliveryWarnings({ connection: "live", push, onCall: false, trainingInDate: true, online: true });
    assert.ok(!off.some((warning) => warning.action === "test"));
  });

  it("asks for notifications first, not for a test, when this phone cannot be tested yet (found trying the app)", () => {
    for (const push of [{ ...good, subscribed: false }, { ...good, registered: false }, { ...good, permission: "default" }]) {
      const warnings = deliveryWarnings({ connection: "live", push: { ...push, anyProven: false }, onCall: true, online: true });
      const unproven = warnings.find((warning) => /none of your phones/.test(warning.text));
      assert.ok(unproven, JSON.stringify(push));
      assert.doesNotMatch(unproven.text, /Tap “Test my alerts”/);
      // Allowed already, registering failed: try again, not "Turn on notifications" (a browser trial).
      assert.match(unproven.text, push.permission === "granted" ? /“Try again”/ : /Turn on notifications on this phone/);
      assert.notEqual(unproven.action, "test");
    }
  });

  it("warns loudly when notifications are blocked", () => {
    const warnings = deliveryWarnings({ connection: "live", push: { ...good, permission: "denied" }, onCall: true, online: true });
    assert.equal(warnings[0].level, "danger");
    assert.match(warnings[0].text, /blocked/);
    assert.equal(readyForAlerts(warnings), false);
  });

  it("offers to turn notifications on when not asked yet, and to try again when allowed but this phone is not registered", () => {
    assert.equal(deliveryWarnings({ connection: "live", push: { ...good, permission: "default" }, onCall: true, online: true })[0].action, "enable");
    for (const push of [{ ...good, subscribed: false }, { ...good, registered: false }]) {
      const warnings = deliveryWarnings({ connection: "live", push, onCall: true, online: true });
      assert.equal(warnings[0].action, "retry");
      assert.ok(!warnings.some((warning) => warning.action === "enable"));
    }
  });

  it("tells iPhone users to add the app to the Home Screen first", () => {
    const warnings = deliveryWarnings({ connection: "live", push: { ...good, supported: false, needsInstall: true }, onCall: true, online: true });
    assert.equal(warnings[0].action, "install");
    assert.match(warnings[0].text, /Home Screen/);
  });

  it("warns when the socket is down or the phone is offline", () => {
    assert.match(deliveryWarnings({ connection: "reconnecting", push: good, onCall: true, online: true })[0].text, /reconnecting/);
    assert.match(deliveryWarnings({ connection: "offline", push: good, onCall: true, online: false })[0].text, /No network/);
  });

  it("says when off call or training is out of date", () => {
    const warnings = deliveryWarnings({ connection: "live", push: good, onCall: false, trainingInDate: false, online: true });
    assert.deepEqual(
      warnings.map((w) => w.level),
      ["warning", "info"],
    );
  });
});
