// Several incidents open at once (issue 11, "Screens that follow the incident"): which alert is the
// firefighter's job, which new alert may take the screen and which waits in a banner, what home
// lists first, what the crew line counts, how a cancel or a stand-down is worded.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { ApiError } from "../../pwa/app/api.js";
import {
  cancelledSubText,
  cancelledText,
  categoryHeading,
  crewSummary,
  endText,
  otherJobText,
  stoodDownShort,
  stoodDownSubText,
  stoodDownText,
  waitingBannerText,
} from "../../pwa/app/format.js";
import { parseHash } from "../../pwa/app/router.js";
import {
  activeJob,
  applyAlert,
  applyIncident,
  callInHand,
  createState,
  crewOfAlert,
  endOf,
  hasAttended,
  homeAlerts,
  homeItemTime,
  mayTakeScreen,
  newlyEnded,
  startScreen,
  waitingElsewhere,
} from "../../pwa/app/store.js";
import { committedElsewhere } from "../../pwa/app/views/alert.js";
import { unsentWarningText } from "../../pwa/app/views/home.js";
import { sortCrew } from "../../pwa/app/views/incident.js";

const NOW = Date.parse("2026-01-01T12:30:00+00:00");

function incident(id, overrides = {}) {
  return {
    id,
    cad_reference: `EEAST-${id}`,
    category: "cardiac_arrest",
    status: "open",
    latitude: 52.58,
    longitude: 1.72,
    address: `${id} High Street, Gorleston`,
    what3words: "",
    notes: "",
    created_at: "2026-01-01T12:00:00+00:00",
    cancelled_at: null,
    cancel_reason: "",
    ...overrides,
  };
}

function alert(id, incidentId, overrides = {}, incidentOverrides = {}) {
  return {
    id,
    incident_id: incidentId,
    responder_id: 5,
    state: "alerted",
    version: 1,
    station: "Gorleston",
    distance_km: 1.2,
    alerted_at: `2026-01-01T12:${String(id).padStart(2, "0")}:00+00:00`,
    stood_down_reason: "",
    incident: incident(incidentId, incidentOverrides),
    ...overrides,
  };
}

/** Incident A (alert 10) accepted and en route; incident B (alert 20) just alerted. */
function twoIncidents({ a = { state: "en_route" }, b = {} } = {}) {
  const state = createState();
  applyAlert(state, alert(10, 1, { accepted_at: "2026-01-01T12:10:30+00:00", ...a }));
  applyAlert(state, alert(20, 2, b));
  return state;
}

const at = (hash) => parseHash(hash);

describe("the alert's headline", () => {
  it("is the category's own", () => {
    assert.equal(categoryHeading("cardiac_arrest"), "CARDIAC ARREST");
    assert.equal(categoryHeading("unconscious"), "UNCONSCIOUS");
    assert.equal(categoryHeading("other_medical"), "MEDICAL EMERGENCY");
  });

  it("never calls a category it does not know a cardiac arrest", () => {
    assert.equal(categoryHeading("breathing_problem"), "BREATHING PROBLEM");
    assert.equal(categoryHeading(undefined), "MEDICAL EMERGENCY");
  });
});

describe("the active job", () => {
  it("is the committed alert of an open incident", () => {
    const state = twoIncidents();
    assert.equal(activeJob(state).id, 10);
  });

  it("is none while nothing is accepted, or when the job's incident ended", () => {
    assert.equal(activeJob(twoIncidents({ a: { state: "received" } })), null);
    const state = twoIncidents();
    applyIncident(state, incident(1, { status: "cancelled", cancel_reason: "Duplicate call" }), []);
    assert.equal(activeJob(state), null);
  });

  it("is the one furthest along if a coordinator named them for two", () => {
    const state = twoIncidents({ b: { state: "on_scene" } });
    assert.equal(activeJob(state).id, 20);
  });
});

describe("which new alert may take the screen", () => {
  it("opens full screen from home when there is no job", () => {
    const state = twoIncidents({ a: { state: "declined" } });
    assert.equal(mayTakeScreen(state, at("#/"), 20), true);
    assert.equal(mayTakeScreen(state, at("#/forms"), 20), true);
  });

  it("never replaces the active job, whatever screen shows", () => {
    const state = twoIncidents();
    for (const hash of ["#/", "#/alerts/10", "#/alerts/10/checklist", "#/alerts/10/incident", "#/forms"]) {
      assert.equal(mayTakeScreen(state, at(hash), 20), false, hash);
    }
  });

  it("waits in a banner over another alert still waiting for an answer, the checklist or a form", () => {
    const state = twoIncidents({ a: { state: "received" } });
    for (const hash of ["#/alerts/10", "#/alerts/10/checklist", "#/alerts/10/forms", "#/alerts/10/forms/outcome", "#/alerts/10/incident"]) {
      assert.equal(mayTakeScreen(state, at(hash), 20), false, hash);
    }
  });

  it("replaces an alert screen that is over (cancelled, declined)", () => {
    const state = twoIncidents({ a: { state: "declined" } });
    assert.equal(mayTakeScreen(state, at("#/alerts/10"), 20), true);
  });

  it("does nothing when the alert is already on screen", () => {
    assert.equal(mayTakeScreen(twoIncidents({ a: { state: "declined" } }), at("#/alerts/20"), 20), false);
  });
});

describe("the banner of alerts waiting elsewhere", () => {
  it("lists alerts waiting for an answer that are not on screen, until dismissed", () => {
    const state = twoIncidents();
    assert.deepEqual(waitingElsewhere(state, at("#/alerts/10")).map((a) => a.id), [20]);
    assert.deepEqual(waitingElsewhere(state, at("#/alerts/20")).map((a) => a.id), []);
    assert.deepEqual(waitingElsewhere(state, at("#/alerts/10"), new Set([20])).map((a) => a.id), []);
  });

  it("goes once the alert is answered or stood down", () => {
    const state = twoIncidents();
    applyAlert(state, alert(20, 2, { version: 2, state: "stood_down", stood_down_reason: "committed_elsewhere" }));
    assert.deepEqual(waitingElsewhere(state, at("#/alerts/10")), []);
  });

  it("says which job the firefighter is on", () => {
    const state = twoIncidents();
    const job = activeJob(state);
    assert.equal(
      waitingBannerText({ job, jobIncident: job.incident, incident: incident(2) }),
      "You are on 1 High Street, Gorleston: this is another incident",
    );
    assert.equal(waitingBannerText({ job: null, incident: incident(2) }), "Another alert is waiting: 2 High Street, Gorleston");
    assert.equal(otherJobText(job, job.incident), "You are on 1 High Street, Gorleston (en route): this is another incident");
  });
});

describe("opening the app during an incident", () => {
  it("opens the active job instead of home", () => {
    assert.equal(startScreen(twoIncidents(), at("")), "/alerts/10");
    assert.equal(startScreen(twoIncidents(), at("#/alerts/20")), null, "a screen asked for is kept");
    assert.equal(startScreen(twoIncidents({ a: { state: "declined" } }), at("#/")), null);
  });
});

describe("the home screen's list", () => {
  it("puts the job first, then alerts waiting for an answer, then the rest", () => {
    const state = twoIncidents();
    applyAlert(state, alert(30, 3, { state: "declined" }));
    applyAlert(state, alert(5, 4)); // older, waiting
    const { job, list } = homeAlerts(state, NOW);
    assert.equal(job.id, 10);
    assert.deepEqual(
      list.map(({ alert: a, role }) => [a.id, role]),
      [
        [10, "job"],
        [20, "waiting"],
        [5, "waiting"],
        [30, "other"],
      ],
    );
  });

  it("shows a cancel of the last hour", () => {
    const state = twoIncidents();
    applyAlert(state, alert(10, 1, { version: 2, state: "cancelled", cancelled_at: "2026-01-01T12:20:00+00:00" }));
    applyIncident(state, incident(1, { status: "cancelled", cancel_reason: "Ambulance on scene.", cancelled_at: "2026-01-01T12:20:00+00:00" }), []);
    const { job, list, ended } = homeAlerts(state, NOW);
    assert.equal(job, null);
    assert.deepEqual(list.map(({ alert: a }) => a.id), [20]);
    assert.deepEqual(ended.map(({ alert: a }) => a.id), [10]);
    assert.deepEqual(homeAlerts(state, NOW + 2 * 60 * 60 * 1000).ended, [], "not after an hour");
    assert.equal(endText(endOf(state, state.alerts.get(10))), "Incident cancelled: Ambulance on scene");
  });

  it("holds back the forms prompt for the job and alerts waiting for an answer, not for the others", () => {
    // Found by trying the product: a declined alert of a still-open incident hid "N forms to fill
    // after calls" until the incident closed.
    const state = twoIncidents();
    assert.equal(callInHand(homeAlerts(state, NOW).list), true, "a job and an alert waiting");
    applyAlert(state, alert(10, 1, { version: 2, state: "cleared" }));
    assert.equal(callInHand(homeAlerts(state, NOW).list), true, "an alert waiting for an answer");
    applyAlert(state, alert(20, 2, { version: 2, state: "declined" }));
    applyAlert(state, alert(30, 3, { state: "stood_down", stood_down_reason: "enough_crews" }));
    const { list } = homeAlerts(state, NOW);
    assert.ok(list.length > 0, "still listed under Active alerts");
    assert.equal(callInHand(list), false, "declined and stood down: the forms can be filled");
  });

  it("dates an ended alert by when it ended, the others by when they were alerted", () => {
    // Found by trying the product: "Incident cancelled: ... · 2 min ago" just after the cancel.
    const state = twoIncidents();
    applyAlert(state, alert(10, 1, { version: 2, state: "cancelled", cancelled_at: "2026-01-01T12:20:00+00:00" }));
    applyIncident(state, incident(1, { status: "cancelled", cancelled_at: "2026-01-01T12:20:00+00:00" }), []);
    const [ended] = homeAlerts(state, NOW).ended;
    assert.equal(homeItemTime(state, ended), "2026-01-01T12:20:00+00:00");
    const [waiting] = homeAlerts(state, NOW).list;
    assert.equal(homeItemTime(state, waiting), waiting.alert.alerted_at);
  });
});

describe("cancel and stand-down in words", () => {
  it("says why the firefighter was stood down", () => {
    assert.equal(stoodDownText("enough_crews"), "Enough crews are going: you are not needed.");
    assert.equal(stoodDownText("committed_elsewhere"), "You accepted another incident, so this alert was withdrawn.");
    assert.match(stoodDownText("coordinator"), /^A coordinator stood you down/);
    assert.equal(stoodDownText("incident_closed"), "The incident was closed.");
    assert.equal(stoodDownShort("enough_crews"), "Stood down: enough crews are going");
    assert.equal(cancelledText(incident(1, { cancel_reason: "Hoax call." })), "Incident cancelled: Hoax call");
  });

  it("knows how an alert ended", () => {
    const state = twoIncidents();
    assert.equal(endOf(state, state.alerts.get(10)), null);
    applyAlert(state, alert(10, 1, { version: 3, state: "stood_down", stood_down_reason: "enough_crews" }));
    assert.deepEqual(endOf(state, state.alerts.get(10)), { kind: "stood_down", reason: "enough_crews" });
    applyIncident(state, incident(2, { status: "cancelled", cancel_reason: "Not a cardiac arrest" }), []);
    assert.deepEqual(endOf(state, state.alerts.get(20)), { kind: "cancelled", reason: "Not a cardiac arrest" });
  });
});

describe("the metronome of a job that ends", () => {
  it("hears of each cancel or stand-down once, so it stops once and can be started again", () => {
    const state = twoIncidents({ a: { state: "on_scene" } });
    const seen = new Map();
    assert.deepEqual(newlyEnded(state, seen), [], "nothing has ended");
    applyIncident(state, incident(1, { status: "cancelled", cancel_reason: "Not a cardiac arrest" }), []);
    assert.deepEqual(newlyEnded(state, seen), [10], "the job was cancelled: stop its metronome");
    assert.deepEqual(newlyEnded(state, seen), [], "already told: a restarted metronome keeps going");
    applyAlert(state, alert(20, 2, { version: 2, state: "stood_down", stood_down_reason: "committed_elsewhere" }));
    assert.deepEqual(newlyEnded(state, seen), [20]);
  });
});

describe("the crew, counted", () => {
  const member = (alertId, state, extra = {}) => ({ alert_id: alertId, responder_id: alertId, responder_name: `R${alertId}`, station: "Gorleston", state, version: 1, ...extra });

  it("counts who attended after clearing, rather than nobody", () => {
    const crew = [member(1, "cleared", { attended: true }), member(2, "cleared", { attended: true }), member(3, "declined", { attended: false })];
    assert.equal(crewSummary(crew, incident(1, { status: "closed" })), "2 attended");
    assert.equal(crewSummary(crew, incident(1)), "2 attended");
    assert.equal(crewSummary([member(3, "declined")], incident(1, { status: "cancelled" })), "Nobody attended");
  });

  it("counts a responder stood down after arriving as attended", () => {
    const crew = [member(1, "stood_down", { attended: true }), member(2, "on_scene", { attended: true })];
    assert.equal(crewSummary(crew, incident(1)), "1 on scene · 2 attended");
  });

  it("shows the crew target", () => {
    const crew = [member(1, "en_route"), member(2, "on_scene", { attended: true }), member(3, "alerted")];
    assert.equal(crewSummary(crew, incident(1, { crew_target: 2 })), "Covered (2 needed) · 1 en route · 1 on scene");
    assert.equal(crewSummary([member(1, "en_route"), member(3, "alerted")], incident(1, { crew_target: 2 })), "1 more needed of 2 · 1 en route");
    assert.equal(crewSummary([member(3, "alerted")], incident(1, { crew_target: 2 })), "Nobody has accepted yet (2 needed)");
    assert.equal(crewSummary(new Map([[3, member(3, "alerted")]]), incident(1)), "Nobody has accepted yet");
  });

  it("never says more are going than needed as '3 of 2 needed' (found by a tester)", () => {
    const crew = [member(1, "en_route"), member(2, "en_route"), member(3, "on_scene", { attended: true })];
    assert.equal(crewSummary(crew, incident(1, { crew_target: 2 })), "Covered (2 needed) · 2 en route · 1 on scene");
  });

  it("reads `attended`, and guesses it from the state for an older server", () => {
    assert.equal(hasAttended(member(1, "stood_down", { attended: true })), true);
    assert.equal(hasAttended(member(1, "cleared", { attended: false })), false);
    assert.equal(hasAttended(member(1, "cleared")), true);
    assert.equal(hasAttended(member(1, "en_route")), false);
  });

  it("lists those who attended right after those on scene", () => {
    const crew = [member(1, "en_route"), member(2, "cleared", { attended: true }), member(3, "on_scene", { attended: true })];
    assert.deepEqual(sortCrew(crew).map((m) => m.alert_id), [3, 2, 1]);
  });
});

describe("accepting while on another job", () => {
  it("reads the server's 409 committed_elsewhere", () => {
    const body = {
      error: {
        code: "committed_elsewhere",
        message: "You are en route to another incident.",
        fields: {},
        other_alert_id: 12,
        other_incident: { id: 3, cad_reference: "EEAST-3", address: "3 Quay Road", state: "en_route" },
      },
    };
    const error = new ApiError(409, "committed_elsewhere", body.error.message, {}, body);
    assert.deepEqual(committedElsewhere(error), { alertId: 12, address: "3 Quay Road", state: "en_route" });
    assert.equal(committedElsewhere(new ApiError(409, "conflict", "No.", {}, { error: { code: "conflict" } })), null);
  });
});

// Found trying the product: the coordinator cancelled a call while a firefighter was on the CPR
// checklist, and his alert's screen told him "You are not needed".
describe("the end of a call, to someone on scene", () => {
  it("tells those who never got there that they are not needed", () => {
    assert.equal(cancelledSubText({ cancel_reason: "Ambulance on scene." }), "The incident was cancelled: Ambulance on scene. You are not needed.");
    assert.equal(cancelledSubText({ cancel_reason: "" }), "The incident was cancelled. You are not needed.");
    assert.equal(stoodDownSubText("coordinator"), stoodDownText("coordinator"));
  });

  // What they are told about CPR is the signed checklist's notice (tests/js/on-scene-notice.test.mjs).
  it("tells those on scene what the checklist's notice says, never that they are not needed", () => {
    const guidance = "The checklist's notice.";
    const text = cancelledSubText({ cancel_reason: "Ambulance on scene." }, { onScene: true, guidance });
    assert.equal(text, `The incident was cancelled: Ambulance on scene. ${guidance}`);
    assert.doesNotMatch(text, /not needed/);
    const stoodDown = stoodDownSubText("coordinator", { onScene: true, guidance });
    assert.equal(stoodDown, `${stoodDownShort("coordinator")}. ${guidance}`);
    assert.doesNotMatch(stoodDown, /not needed/);
  });

  it("counts an alert cancelled or closed after arriving as attended (its forms and checklist stay)", () => {
    assert.equal(hasAttended(alert(1, 1, { state: "cancelled", on_scene_at: "2026-01-01T12:10:00+00:00" })), true);
    assert.equal(hasAttended(alert(1, 1, { state: "cleared" })), true);
    assert.equal(hasAttended(alert(1, 1, { state: "cancelled", on_scene_at: null })), false);
    assert.equal(hasAttended(alert(1, 1, { state: "stood_down", on_scene_at: null })), false);
  });
});

describe("what the phone keeps for after the call", () => {
  it("finds the crew the store holds for an alert's incident", () => {
    const state = twoIncidents();
    applyIncident(state, incident(1), [{ responder_id: 4, responder_name: "Sam Barker", station: "Gorleston", state: "on_scene", version: 1 }]);
    assert.deepEqual(crewOfAlert(state, 10).map((member) => member.responder_name), ["Sam Barker"]);
    assert.deepEqual(crewOfAlert(state, 20), []);
    assert.deepEqual(crewOfAlert(state, 99), [], "an alert the store does not hold");
  });

  it("warns of records not sent at log-out in good English, for one and for many", () => {
    // Found by trying the product: "1 record has (checklist times or forms) not been sent".
    assert.equal(
      unsentWarningText(1),
      "1 record (checklist times or a form) has not been sent to the server yet. Logging out deletes it from this phone. Get signal and wait for it to be sent first if you can.",
    );
    assert.equal(
      unsentWarningText(3),
      "3 records (checklist times or forms) have not been sent to the server yet. Logging out deletes them from this phone. Get signal and wait for them to be sent first if you can.",
    );
  });
});
