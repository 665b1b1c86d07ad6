// Faults found by a browser trial of the firefighters' app: an incident closed while the crew was
// on the CPR checklist said nothing there (a cancel does), and "Log out?" did not mention the job
// the firefighter was on.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { closedText } from "../../pwa/app/format.js";
import { activeJob, applyAlert, closedOf, createState } from "../../pwa/app/store.js";
import { logoutJobText } from "../../pwa/app/views/home.js";

function incident(overrides = {}) {
  return {
    id: 1,
    cad_reference: "EEAST-1",
    category: "cardiac_arrest",
    status: "open",
    latitude: 52.6,
    longitude: 1.73,
    address: "3 Marine Parade, Great Yarmouth",
    what3words: "",
    notes: "",
    created_at: "2026-01-01T12:00:00+00:00",
    cancelled_at: null,
    cancel_reason: "",
    closed_at: null,
    ...overrides,
  };
}

function alert(state, version, { incident: incidentChanges, ...changes } = {}) {
  return { id: 10, incident_id: 1, version, state, stood_down_reason: "", ...changes, incident: incident(incidentChanges) };
}

function stateWith(...alerts) {
  const state = createState();
  for (const item of alerts) applyAlert(state, item);
  return state;
}

describe("an incident closed while the crew is on the checklist", () => {
  const CLOSED = { status: "closed", closed_at: "2026-01-01T14:05:30+00:00" };

  it("is told to the crew that was on scene and was cleared by the close", () => {
    const state = stateWith(alert("cleared", 3, { incident: CLOSED }));
    assert.deepEqual(closedOf(state, state.alerts.get(10)), { at: "2026-01-01T14:05:30+00:00" });
  });

  it("says nothing while the incident is open, even to someone who cleared", () => {
    const state = stateWith(alert("cleared", 3));
    assert.equal(closedOf(state, state.alerts.get(10)), null);
    const onScene = stateWith(alert("on_scene", 2));
    assert.equal(closedOf(onScene, onScene.alerts.get(10)), null);
  });

  it("leaves a stand-down by the close and a cancel to their own notice, and says nothing to who declined", () => {
    const stoodDown = stateWith(alert("stood_down", 3, { stood_down_reason: "incident_closed", incident: CLOSED }));
    assert.equal(closedOf(stoodDown, stoodDown.alerts.get(10)), null);
    const cancelled = stateWith(alert("cancelled", 3, { incident: { status: "cancelled", cancel_reason: "Ambulance on scene" } }));
    assert.equal(closedOf(cancelled, cancelled.alerts.get(10)), null);
    const declined = stateWith(alert("declined", 3, { incident: CLOSED }));
    assert.equal(closedOf(declined, declined.alerts.get(10)), null);
  });

  it("is worded with the time of the close, and gives no clinical guidance", () => {
    // en-GB, 24-hour clock, in the phone's own time zone.
    const expected = new Date(CLOSED.closed_at).toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit" });
    assert.equal(closedText({ at: CLOSED.closed_at }), `Incident closed by control at ${expected}`);
    assert.doesNotMatch(closedText({ at: CLOSED.closed_at }), /CPR|carry on/);
  });

  it("is worded without a time when an older server sent none", () => {
    assert.equal(closedText({ at: null }), "Incident closed by control");
    assert.equal(closedText(null), "");
  });
});

describe("logging out during a job", () => {
  it("says where the firefighter is going", () => {
    const state = stateWith(alert("en_route", 2));
    const job = activeJob(state);
    assert.equal(
      logoutJobText(job, job.incident),
      "You are going to 3 Marine Parade, Great Yarmouth: logging out stops your alerts and position sharing on this phone.",
    );
    assert.match(logoutJobText(alert("accepted", 1), incident()), /^You are going to 3 Marine Parade/);
  });

  it("says where the firefighter is on scene", () => {
    assert.equal(
      logoutJobText(alert("on_scene", 3), incident()),
      "You are on scene at 3 Marine Parade, Great Yarmouth: logging out stops your alerts and position sharing on this phone.",
    );
  });

  it("says nothing more without a job", () => {
    assert.equal(logoutJobText(null, null), "");
  });
});
