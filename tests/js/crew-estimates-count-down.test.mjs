// Found by a trial: the phone's crew panel (pwa/app/views/incident.js) drew each crew member's
// estimate and "Likely first" only when data came, so between positions it kept "about 3 min"
// while the boards and the firefighter's own estimate on the alert screen counted down. The panel
// now works its words out at `now` (crewArrivalWords, with arrival.js's words, as the others do)
// and redraws from a one-second tick only the lines whose words changed.
// Driven in a browser by tests/e2e/test_phone_crew_estimates_count_down.py.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { estimateText, likelyFirstAmong } from "../../pwa/app/arrival.js";
import { crewArrivalWords } from "../../pwa/app/views/incident.js";

const AT = "2026-01-01T13:35:46Z";
const T0 = Date.parse(AT);
const crew = [
  { alert_id: 5, responder_name: "Sam Barker", state: "en_route", attended: false },
  { alert_id: 6, responder_name: "Ali Khan", state: "accepted", attended: false },
];
const shared = [
  { alert_id: 5, responder_name: "Sam Barker", estimate: { distance_km: 9.4, eta_seconds: 660, method: "estimate", computed_at: AT } },
  { alert_id: 6, responder_name: "Ali Khan", estimate: { distance_km: 2.5, eta_seconds: 840, method: "routing", computed_at: AT } },
];

describe("the crew panel's estimates", () => {
  it("count down from when each was worked out", () => {
    const then = crewArrivalWords(shared, crew, null, T0);
    assert.equal(then.estimates.get(5), "9.4 km · about 11 min (estimate)");
    assert.equal(then.estimates.get(6), "2.5 km · about 14 min (by road)");
    assert.equal(then.first, "Likely first: Sam Barker (11 min)");

    const minuteOn = crewArrivalWords(shared, crew, null, T0 + 60_000);
    assert.equal(minuteOn.estimates.get(5), "9.4 km · about 10 min (estimate)");
    assert.equal(minuteOn.estimates.get(6), "2.5 km · about 13 min (by road)");
    assert.equal(minuteOn.first, "Likely first: Sam Barker (10 min)");
  });

  it("say what the alert screen and the boards say at the same moment (arrival.js)", () => {
    const now = T0 + 169_000;
    const words = crewArrivalWords(shared, crew, null, now);
    assert.equal(words.estimates.get(5), estimateText(shared[0].estimate, now));
    assert.equal(words.first, likelyFirstAmong(shared, crew, null, now));
  });

  it("count the ambulance's arrival down with them", () => {
    const ambulance = new Date(T0 + 13 * 60_000).toISOString();
    assert.equal(crewArrivalWords(shared, crew, ambulance, T0).first, "Likely first: Sam Barker (11 min) · ambulance 13 min");
    assert.equal(crewArrivalWords(shared, crew, ambulance, T0 + 5 * 60_000).first, "Likely first: Sam Barker (6 min) · ambulance 8 min");
  });

  it("change only when the minutes do (the panel redraws a line then, not every second)", () => {
    const at = (ms) => crewArrivalWords(shared, crew, null, T0 + ms);
    const words = [0, 1_000, 10_000, 20_000, 29_000].map((ms) => JSON.stringify([at(ms).first, ...at(ms).estimates]));
    assert.equal(new Set(words).size, 1);
    assert.notEqual(JSON.stringify([at(31_000).first, ...at(31_000).estimates]), words[0]);
  });

  it("say nothing of anyone not on their way, and no 'Likely first' once anyone has been on scene", () => {
    assert.deepEqual(crewArrivalWords([], crew, null, T0), { first: "", estimates: new Map() });
    const arrived = [{ ...crew[0], state: "on_scene", attended: true }, crew[1]];
    assert.equal(crewArrivalWords(shared.slice(1), arrived, null, T0).first, "");
  });
});
