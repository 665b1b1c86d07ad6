// Two faults on the phone found by a browser trial (pwa/app/views/alert.js). The firefighter's own
// estimate stayed "about 11 min (estimate)" for three minutes with no new fix while the boards
// counted it down: the words are now worked out at `now` (ownEstimateText) and the screen draws
// them again from its tick once they change. And a phone that does not allow location read "Your
// position is not shared" with Stop under it: Stop is offered only while positions can be shared.
// Driven in a browser by tests/e2e/test_phone_own_estimate_and_stop.py.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { offersStop, ownEstimateText } from "../../pwa/app/views/alert.js";

const AT = "2026-01-01T13:35:46Z";
const T0 = Date.parse(AT);
const estimate = { distance_km: 9.4, eta_seconds: 660, method: "estimate", computed_at: AT };
const status = { sharing: true, sent: true, blocked: false, stopped: false, estimate, error: null };

describe("the phone's own estimate", () => {
  it("counts down from when it was worked out", () => {
    assert.equal(ownEstimateText(status, { state: "en_route" }, T0), "To the incident: 9.4 km · about 11 min (estimate)");
    assert.equal(ownEstimateText(status, { state: "en_route" }, T0 + 169_000), "To the incident: 9.4 km · about 8 min (estimate)");
    assert.equal(ownEstimateText(status, { state: "en_route" }, T0 + 3_600_000), "To the incident: 9.4 km · about 1 min (estimate)");
  });

  it("changes only when the minutes do (the screen draws again then, not every second)", () => {
    const words = [0, 1_000, 10_000, 20_000, 29_000].map((ms) => ownEstimateText(status, { state: "accepted" }, T0 + ms));
    assert.equal(new Set(words).size, 1);
    assert.notEqual(ownEstimateText(status, { state: "accepted" }, T0 + 31_000), words[0]);
  });

  it("is not shown once on scene, or with no estimate", () => {
    assert.equal(ownEstimateText(status, { state: "on_scene" }, T0), "");
    assert.equal(ownEstimateText({ ...status, estimate: null }, { state: "en_route" }, T0), "");
    assert.equal(ownEstimateText(null, { state: "en_route" }, T0), "");
  });
});

describe("Stop", () => {
  it("is offered while sharing or waiting for a fix", () => {
    assert.equal(offersStop(status), true);
    assert.equal(offersStop({ ...status, sent: false }), true);
  });

  it("is not offered on a phone that does not allow (or has no) location, nor when not sharing", () => {
    assert.equal(offersStop({ ...status, sent: false, blocked: true }), false);
    assert.equal(offersStop({ ...status, sharing: false }), false);
    assert.equal(offersStop(null), false);
  });
});
