// Faults found by a browser trial of the firefighters' app (the screens' part is in
// tests/e2e/test_after_the_call.py):
// - Home dated each alert by its alert time whatever its line said: accepted 70 s after the alert,
//   "Accepted · 1 min ago" at once. Each line is dated by the time of the state it shows.
// - Accepted, on the checklist with nothing tapped, a coordinator's cancel: the checklist told him
//   "If you are still doing CPR, carry on" (the signed notice for those on scene), his alert's
//   screen "You are not needed". Both screens follow one rule (store.attendedHere).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";

import { normaliseChecklist } from "../../pwa/app/checklist-data.js";
import { timeAgo } from "../../pwa/app/format.js";
import { applyAlert, attendedHere, createState, endOf, homeAlerts, homeItemTime, incidentOf } from "../../pwa/app/store.js";
import { endedSubText } from "../../pwa/app/views/alert.js";
import { checklistOnScene, endNotice } from "../../pwa/app/views/checklist.js";

const SERVED = JSON.parse(readFileSync(new URL("../../backend/checklists/data/bls-aed-v2.json", import.meta.url), "utf8"));
const CHECKLIST = normaliseChecklist({ ...SERVED, sign_off: { status: "approved", approved: true, reviewer: null, reviewed_on: "2026-01-05" } });
const ON_SCENE_TEXT = SERVED.notices.call_ended_on_scene.text;
const KEPT = "What you record here is still kept and sent.";

const ALERTED = "2026-01-01T12:00:00+00:00";
const at = (seconds) => new Date(Date.parse(ALERTED) + seconds * 1000).toISOString();

function incident(changes = {}) {
  return { id: 1, cad_reference: "EEAST-1", category: "cardiac_arrest", status: "open", address: "9 Regent Road, Great Yarmouth", cancel_reason: "", cancelled_at: null, ...changes };
}

function alert(state, version, { incident: incidentChanges, ...changes } = {}) {
  return {
    id: 10,
    incident_id: 1,
    version,
    state,
    alerted_at: ALERTED,
    stood_down_reason: "",
    on_scene_at: null,
    attended: false,
    ...changes,
    incident: incident(incidentChanges),
  };
}

/** Home's line time for alert 10, as home.js dates it. */
function homeTime(state) {
  const { list, ended } = homeAlerts(state, Date.parse(at(300)));
  const item = [...list, ...ended].find(({ alert }) => alert.id === 10);
  return homeItemTime(state, item);
}

describe("home dates each line by the time of the state it shows", () => {
  it("accepted 70 s after the alert: accepted just now, not a minute ago", () => {
    const state = createState();
    applyAlert(state, alert("accepted", 2, { accepted_at: at(70) }));
    assert.equal(homeTime(state), at(70));
    assert.equal(timeAgo(homeTime(state), Date.parse(at(71))), "just now");
  });

  it("en route, on scene, cleared, declined: each by its own time", () => {
    const state = createState();
    applyAlert(state, alert("en_route", 2, { accepted_at: at(70), en_route_at: at(90) }));
    assert.equal(homeTime(state), at(90));
    applyAlert(state, alert("on_scene", 3, { accepted_at: at(70), en_route_at: at(90), on_scene_at: at(400), attended: true }));
    assert.equal(homeTime(state), at(400));
    applyAlert(state, alert("cleared", 4, { accepted_at: at(70), on_scene_at: at(400), cleared_at: at(1500), attended: true }));
    assert.equal(homeTime(state), at(1500));
    applyAlert(state, alert("declined", 5, { declined_at: at(20), accepted_at: null }));
    assert.equal(homeTime(state), at(20));
  });

  it("an ended one by its end, one waiting by its alert (or re-alert), and the alert's time only if the state's is unknown", () => {
    const state = createState();
    applyAlert(state, alert("alerted", 1, { realerted_at: at(200) }));
    assert.equal(homeTime(state), at(200), "waiting for an answer: when it was (re-)alerted");
    applyAlert(state, alert("accepted", 2, { accepted_at: null })); // an older server's payload
    assert.equal(homeTime(state), ALERTED);
    applyAlert(state, alert("cancelled", 3, { accepted_at: at(70), cancelled_at: at(250), incident: { status: "cancelled", cancelled_at: at(250) } }));
    assert.equal(homeTime(state), at(250));
  });
});

describe("the checklist and the alert's screen tell one person the same at the end of the call", () => {
  const cancel = { cancel_reason: "Ambulance crew took over", status: "cancelled", cancelled_at: at(300) };

  /** What each screen says of the end: the alert's sub-line, the checklist's notice. */
  function told(state, entries = []) {
    const shown = state.alerts.get(10);
    const alertSays = endedSubText(shown, incidentOf(state, shown), CHECKLIST, { loggedOnScene: attendedHere(state, shown) });
    const notice = endNotice({ end: endOf(state, shown), closed: null, incident: incidentOf(state, shown), checklist: CHECKLIST, onScene: checklistOnScene(state, shown, entries) });
    return { alertSays, checklistSays: `${notice.headline} ${notice.detail}` };
  }

  it("accepted, on the checklist with nothing tapped, cancelled: not needed on both, no CPR guidance", () => {
    const state = createState();
    applyAlert(state, alert("cancelled", 3, { accepted_at: at(70), incident: cancel }));
    const { alertSays, checklistSays } = told(state);
    assert.match(alertSays, /You are not needed\./);
    assert.equal(checklistSays, `Incident cancelled: Ambulance crew took over. You are not needed. ${KEPT}`);
    assert.ok(!checklistSays.includes(ON_SCENE_TEXT), "the notice for those on scene, to one who never got there");
  });

  it("stood down by a coordinator before the scene: the alert's words on the checklist too", () => {
    const state = createState();
    applyAlert(state, alert("stood_down", 3, { accepted_at: at(70), stood_down_reason: "coordinator" }));
    const { alertSays, checklistSays } = told(state);
    assert.equal(alertSays, "A coordinator stood you down: you are not needed for this incident.");
    assert.equal(checklistSays, `Stood down by a coordinator. ${alertSays} ${KEPT}`);
  });

  it("on scene as the server has it, or by taps logged on this phone: the signed notice on both", () => {
    for (const [how, changes, logged, entries] of [
      ["the server", { on_scene_at: at(250), attended: true }, [], []],
      ["the phone's log", {}, [10], []],
      ["the checklist's own entries", {}, [], [{ type: "cpr_started" }]],
    ]) {
      const state = createState();
      state.loggedOnScene = new Set(logged);
      applyAlert(state, alert("cancelled", 3, { accepted_at: at(70), ...changes, incident: cancel }));
      const { alertSays, checklistSays } = told(state, entries);
      assert.equal(checklistSays, `Incident cancelled: Ambulance crew took over. ${ON_SCENE_TEXT} ${KEPT}`, how);
      assert.doesNotMatch(checklistSays, /not needed/, how);
      if (entries.length === 0) assert.equal(alertSays, `The incident was cancelled: Ambulance crew took over. ${ON_SCENE_TEXT}`, how);
    }
  });

  it("a close: neutral on both for one who never got there", () => {
    const notice = endNotice({ end: null, closed: { at: null }, incident: incident(), checklist: normaliseChecklist({ ...SERVED, notices: { call_ended_on_scene: { text: ON_SCENE_TEXT, applies_to: ["closed"] } } }), onScene: false });
    assert.deepEqual(notice, { headline: "Incident closed by control.", detail: KEPT });
  });
});
