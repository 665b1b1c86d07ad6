// Faults found by the twelfth browser trial of the firefighters' app (the screens' part is in
// tests/e2e/test_phone_trial12.py):
// - "On scene" refused without signal while "At patient" and "CPR started" queued; at the cancel
//   the phone told someone doing CPR "You are not needed". Whoever logged checklist events for the
//   job on this phone, sent or not, counts as on scene for what the phone tells them then.
// - A withdrawal ("Can't attend after all") worded as a decline: "You declined", "Declined".
// - The checklist of an alert the phone does not have worked, its taps refused.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { EventLog } from "../../pwa/app/eventlog.js";
import { declinedText, ownStateLabel, withdrew } from "../../pwa/app/format.js";
import { createMemoryStorage } from "../../pwa/app/queue.js";
import { applyAlert, attendedHere, createState, endStopsMetronome, newlyEnded } from "../../pwa/app/store.js";
import { endedSubText, offlineAnswerText } from "../../pwa/app/views/alert.js";
import { alertNotOnThisPhone } from "../../pwa/app/views/checklist.js";
import { crewEndNotice } from "../../pwa/app/views/incident.js";

const OWNER = "ff.great-yarmouth.3";
const CANCELLED = { status: "cancelled", cancel_reason: "Ambulance crew took over", cancelled_at: "2026-01-01T12:20:00+00:00" };

function incident(id, overrides = {}) {
  return { id, cad_reference: `EEAST-${id}`, category: "cardiac_arrest", status: "open", address: `${id} Regent Road, Great Yarmouth`, ...overrides };
}

function alert(id, state, version, { incident: incidentChanges, ...changes } = {}) {
  return { id, incident_id: id, version, state, stood_down_reason: "", on_scene_at: null, attended: false, ...changes, incident: incident(id, incidentChanges) };
}

function memoryStore(keyPath) {
  const items = new Map();
  return {
    getAll: async () => [...items.values()].map((item) => structuredClone(item)),
    get: async (key) => (items.has(key) ? structuredClone(items.get(key)) : undefined),
    put: async (value) => void items.set(value[keyPath], structuredClone(value)),
    delete: async (key) => void items.delete(key),
    clear: async () => items.clear(),
  };
}

/** A signed checklist's notice, as checklist-data.js normalises it. */
const CHECKLIST = { notices: { call_ended_on_scene: { text: "Signed words for those on scene.", appliesTo: ["cancelled", "stood_down"] } } };

describe("checklist events logged on this phone count as on scene", () => {
  it("the event log lists the alerts logged for, sent or not, and only its owner's", async () => {
    const stores = { queue: createMemoryStorage(), log: memoryStore("idempotency_key") };
    const log = new EventLog({ stores, api: { postEvent: async () => ({ status: 201, body: {} }) } });
    log.sync = () => null; // no signal: nothing is sent
    log.setOwner(OWNER);
    await log.record(7, "arrived");
    await log.record("7", "cpr_started");
    await stores.log.clear(); // a queue kept (another login's log cleared): still counted
    log.setOwner("someone.else");
    await log.record(9, "arrived");
    log.setOwner(OWNER);
    assert.deepEqual([...(await log.alertsLogged())], [7]);
  });

  it("a cancel never tells them they are not needed, and leaves their metronome running", () => {
    const state = createState();
    applyAlert(state, alert(1, "en_route", 2));
    const seen = new Map();
    newlyEnded(state, seen);
    applyAlert(state, alert(1, "cancelled", 3, { incident: CANCELLED }));
    const ended = newlyEnded(state, seen);
    const cancelled = state.alerts.get(1);

    assert.equal(attendedHere(state, cancelled), false);
    assert.equal(endStopsMetronome(state, ended, 1), true, "before: one who never got there");
    assert.match(endedSubText(cancelled, cancelled.incident, CHECKLIST), /You are not needed/);

    state.loggedOnScene = new Set([1]);
    assert.equal(attendedHere(state, cancelled), true);
    assert.equal(endStopsMetronome(state, ended, 1), false);
    const told = endedSubText(cancelled, cancelled.incident, CHECKLIST, { loggedOnScene: attendedHere(state, cancelled) });
    assert.doesNotMatch(told, /not needed/);
    assert.match(told, /Signed words for those on scene\./);
  });

  it("a stand-down neither, on the alert's screen or the crew's", () => {
    const state = createState();
    applyAlert(state, alert(2, "stood_down", 3, { stood_down_reason: "coordinator" }));
    state.loggedOnScene = new Set([2]);
    const stood = state.alerts.get(2);
    const loggedOnScene = attendedHere(state, stood);
    assert.doesNotMatch(endedSubText(stood, stood.incident, CHECKLIST, { loggedOnScene }), /not needed/);
    assert.doesNotMatch(crewEndNotice(stood, stood.incident, CHECKLIST, { loggedOnScene }).text, /not needed/);
    assert.match(crewEndNotice(stood, stood.incident, CHECKLIST).text, /not needed/, "without the events: as before");
  });

  it("another alert's events count for nothing here", () => {
    const state = createState();
    applyAlert(state, alert(3, "cancelled", 3, { incident: CANCELLED }));
    state.loggedOnScene = new Set([4]);
    assert.equal(attendedHere(state, state.alerts.get(3)), false);
  });

  it("'On scene' refused without signal says the checklist records the arrival", () => {
    assert.match(offlineAnswerText("on_scene"), /^Not sent: no connection\./);
    assert.match(offlineAnswerText("on_scene"), /checklist works without signal: what you tap there records your arrival/);
    assert.equal(offlineAnswerText("en_route"), "Not sent: no connection. Check your signal and tap again.");
  });
});

describe("a withdrawal after accepting is worded as one", () => {
  const withdrawn = { id: 1, state: "declined", decline_reason: "no_transport", accepted_at: "2026-01-01T12:01:00+00:00" };
  const declined = { id: 2, state: "declined", decline_reason: "too_far", accepted_at: null };

  it("on the alert's screen", () => {
    assert.equal(declinedText(withdrawn), "You withdrew after accepting (No transport).");
    assert.equal(declinedText(declined), "You declined (Too far away).");
    assert.equal(declinedText({ ...declined, decline_reason: "" }), "You declined.");
  });

  it("on home, as the board says it", () => {
    assert.equal(ownStateLabel(withdrawn), "Withdrew after accepting");
    assert.equal(ownStateLabel(declined), "Declined");
    assert.equal(ownStateLabel({ state: "en_route", accepted_at: "2026-01-01T12:01:00+00:00" }), "En route");
    assert.equal(withdrew({ state: "accepted", accepted_at: "x" }), false);
  });
});

describe("the checklist of an alert this phone does not have", () => {
  const state = createState();
  applyAlert(state, alert(5, "en_route", 2));

  it("is refused once the server says so, or once the alerts on this phone are read without it", () => {
    assert.equal(alertNotOnThisPhone(state, 99, { notFound: true }), true);
    assert.equal(alertNotOnThisPhone(state, 99, { alertsKnown: true }), true);
  });

  it("shows while that is not known, for the phone's own alert, and where events were logged", () => {
    assert.equal(alertNotOnThisPhone(state, 99), false, "still loading: CPR never waits");
    assert.equal(alertNotOnThisPhone(state, 5, { notFound: true, alertsKnown: true }), false);
    state.loggedOnScene = new Set([98]);
    assert.equal(alertNotOnThisPhone(state, 98, { alertsKnown: true }), false);
  });
});
