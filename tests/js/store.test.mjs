import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  activeAlerts,
  applyAlert,
  applyIncident,
  createState,
  incidentOf,
  isActionable,
  lastAlertedAt,
  mergeCrew,
} from "../../pwa/app/store.js";

function incident(overrides = {}) {
  return {
    id: 17,
    cad_reference: "EEAST-1",
    category: "cardiac_arrest",
    status: "open",
    latitude: 52.63,
    longitude: 1.29,
    address: "1 Market Place, Norwich",
    what3words: "",
    notes: "",
    created_at: "2026-01-01T12:00:00+00:00",
    cancelled_at: null,
    cancel_reason: "",
    ...overrides,
  };
}

function alert(overrides = {}) {
  return { id: 42, incident_id: 17, state: "alerted", version: 1, alerted_at: "2026-01-01T12:00:01+00:00", incident: incident(), ...overrides };
}

describe("store merge rules", () => {
  it("keeps the copy of an alert with the highest version", () => {
    const state = createState();
    assert.equal(applyAlert(state, alert({ version: 3, state: "accepted" })), true);
    assert.equal(applyAlert(state, alert({ version: 2, state: "received" })), false, "a late copy never undoes a newer one");
    assert.equal(applyAlert(state, alert({ version: 3, state: "accepted" })), false, "the same copy twice changes nothing");
    assert.equal(state.alerts.get(42).state, "accepted");
    assert.equal(applyAlert(state, alert({ version: 4, state: "en_route" })), true);
    assert.equal(state.alerts.get(42).state, "en_route");
  });

  it("ignores things that are not alerts", () => {
    const state = createState();
    assert.equal(applyAlert(state, null), false);
    assert.equal(applyAlert(state, { id: "42" }), false);
    assert.equal(state.alerts.size, 0);
  });

  it("keeps each crew member's highest version", () => {
    const crew = mergeCrew(null, [
      { alert_id: 1, state: "accepted", version: 3 },
      { alert_id: 2, state: "alerted", version: 1 },
    ]);
    const merged = mergeCrew(crew, [
      { alert_id: 1, state: "received", version: 2 },
      { alert_id: 2, state: "declined", version: 2 },
    ]);
    assert.equal(merged.get(1).state, "accepted");
    assert.equal(merged.get(2).state, "declined");
  });

  it("never reopens a cancelled incident from a late copy", () => {
    const state = createState();
    applyIncident(state, incident({ status: "cancelled", cancel_reason: "Duplicate call" }), []);
    applyAlert(state, alert({ version: 1 })); // an old alert copy still says open
    assert.equal(incidentOf(state, state.alerts.get(42)).status, "cancelled");
    assert.equal(isActionable(state, state.alerts.get(42)), false);
  });

  it("knows which alerts still wait for an answer", () => {
    const state = createState();
    applyAlert(state, alert());
    assert.equal(isActionable(state, state.alerts.get(42)), true);
    applyAlert(state, alert({ version: 2, state: "received" }));
    assert.equal(isActionable(state, state.alerts.get(42)), true);
    applyAlert(state, alert({ version: 3, state: "accepted" }));
    assert.equal(isActionable(state, state.alerts.get(42)), false);
    applyAlert(state, alert({ id: 43, version: 2, state: "stood_down" }));
    assert.equal(isActionable(state, state.alerts.get(43)), false);
  });

  it("lists alerts of open incidents, newest first", () => {
    const state = createState();
    applyAlert(state, alert({ id: 1, alerted_at: "2026-01-01T10:00:00+00:00" }));
    applyAlert(state, alert({ id: 2, alerted_at: "2026-01-01T11:00:00+00:00" }));
    applyAlert(state, alert({ id: 3, incident_id: 18, incident: incident({ id: 18, status: "closed" }) }));
    assert.deepEqual(
      activeAlerts(state).map((a) => a.id),
      [2, 1],
    );
  });

  it("lists an alert alerted again as new as its re-alert (stood down, then needed)", () => {
    const state = createState();
    applyAlert(state, alert({ id: 1, alerted_at: "2026-01-01T10:00:00+00:00", realerted_at: "2026-01-01T11:30:00+00:00" }));
    applyAlert(state, alert({ id: 2, alerted_at: "2026-01-01T11:00:00+00:00", realerted_at: null }));
    assert.deepEqual(
      activeAlerts(state).map((a) => a.id),
      [1, 2],
    );
    assert.equal(lastAlertedAt(state.alerts.get(1)), "2026-01-01T11:30:00+00:00");
    assert.equal(lastAlertedAt(state.alerts.get(2)), "2026-01-01T11:00:00+00:00");
  });
});
