// The map's labels (pwa/app/map.js) said a responder's arrival estimate with a rule of their own,
// the minutes as the estimate was worked out: between new positions they stood still while the
// words beside them (the alert screen's, the crew panel's, the boards' rows: pwa/app/arrival.js)
// counted down. The map's words are now arrival.js's count at `now` (remainingSeconds, minutesText)
// in the map's short form, redrawn by the map's own one-second tick where they change.
// Driven in a browser by tests/e2e/test_map_labels_count_down.py.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { etaText } from "../../pwa/app/arrival.js";

const map = await import("../../pwa/app/map.js");

const AT = "2026-01-01T13:35:46Z";
const T0 = Date.parse(AT);
const going = { distance_km: 9.4, eta_seconds: 660, method: "estimate", computed_at: AT };
const routed = { distance_km: 2.5, eta_seconds: 840, method: "routing", computed_at: AT };
const minutesOf = (text) => Number(/(\d+) min/.exec(text)[1]);

describe("a map label's arrival estimate", () => {
  it("counts down from when the estimate was worked out", () => {
    assert.equal(map.estimateText(going, T0), "9.4 km, ETA 11 min (estimate)");
    assert.equal(map.estimateText(going, T0 + 120_000), "9.4 km, ETA 9 min (estimate)");
    assert.equal(map.estimateText(routed, T0 + 120_000), "2.5 km, ETA 12 min");
    // Never less than a minute while they are still on their way.
    assert.equal(map.estimateText(going, T0 + 3_600_000), "9.4 km, ETA 1 min (estimate)");
  });

  it("is what a responder's label says at that moment", () => {
    const position = { responder_name: "Sam Barker", estimate: going };
    assert.equal(map.responderDetail(position, T0), "9.4 km, ETA 11 min (estimate)");
    assert.equal(map.responderDetail(position, T0 + 180_000), "9.4 km, ETA 8 min (estimate)");
    // One on scene says so, whatever the time.
    assert.equal(map.responderDetail({ responder_name: "Mo Kemp", estimate: null, state_label: "on scene" }, T0 + 180_000), "· on scene");
  });

  it("says the minutes the words beside the map say at the same moment (arrival.js)", () => {
    for (const seconds of [0, 29, 31, 89, 91, 169, 400, 599, 601]) {
      const now = T0 + seconds * 1000;
      for (const estimate of [going, routed]) {
        assert.equal(minutesOf(map.estimateText(estimate, now)), minutesOf(etaText(estimate, now)), `${estimate.method} at +${seconds} s`);
      }
    }
  });

  it("with no moment given, says the minutes as worked out (the board's list, counted by board-map.js)", () => {
    assert.equal(map.estimateText(going), "9.4 km, ETA 11 min (estimate)");
    assert.equal(map.estimateText({ distance_km: 2.4, eta_seconds: 260, method: "estimate" }), "2.4 km, ETA 4 min (estimate)");
    assert.equal(map.estimateText(null), "");
  });
});
