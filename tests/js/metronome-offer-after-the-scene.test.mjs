// Found by a browser trial of the firefighters' app: "The metronome stopped when the app reloaded —
// Restart / Dismiss" stayed after the call, once the firefighter had left the scene, over the
// attendance form. The offer goes when their alert is cleared by themselves ("Cleared: leaving
// scene"), as it does for a call ended before the scene (store.endTakesBackRestart); not for a
// close while they are on scene (the close clears them at its own time, and the signed notice
// tells them to carry on CPR). The screens' part is in tests/e2e/test_phone_form_drafts_and_bars.py.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { applyAlert, createState, endTakesBackRestart } from "../../pwa/app/store.js";

const AT_SCENE = "2026-01-01T12:05:00+00:00";

function alert(state, { incident: incidentChanges, ...changes } = {}) {
  const incident = { id: 1, cad_reference: "EEAST-1", category: "cardiac_arrest", status: "open", address: "1 Regent Road, Great Yarmouth", ...incidentChanges };
  return { id: 1, incident_id: 1, version: 5, state, stood_down_reason: "", accepted_at: "2026-01-01T12:00:00+00:00", on_scene_at: AT_SCENE, attended: true, ...changes, incident };
}

function stateWith(each) {
  const state = createState();
  applyAlert(state, each);
  return state;
}

const RUN = { owner: "ff.thetford.2", alertId: 1, bpm: 110, afterEnd: false };

describe("the offer to restart an interrupted metronome after the scene", () => {
  it("goes once the firefighter has left the scene (cleared while the call is open)", () => {
    const state = stateWith(alert("cleared", { cleared_at: "2026-01-01T12:30:00+00:00" }));
    assert.equal(endTakesBackRestart(state, RUN), true);
    assert.equal(endTakesBackRestart(state, { ...RUN, afterEnd: true }), true, "a run started again on the scene goes too");
  });

  it("goes once they left the scene before the incident was closed", () => {
    const closed = { status: "closed", closed_at: "2026-01-01T12:40:00+00:00" };
    const state = stateWith(alert("cleared", { cleared_at: "2026-01-01T12:30:00+00:00", incident: closed }));
    assert.equal(endTakesBackRestart(state, RUN), true);
  });

  it("stays for a close while they are on scene (cleared by the close, at its time: carry on CPR)", () => {
    const closed = { status: "closed", closed_at: "2026-01-01T12:40:00+00:00" };
    const state = stateWith(alert("cleared", { cleared_at: "2026-01-01T12:40:00+00:00", incident: closed }));
    assert.equal(endTakesBackRestart(state, RUN), false);
    const older = stateWith(alert("cleared", { cleared_at: null, incident: { status: "closed", closed_at: null } }));
    assert.equal(endTakesBackRestart(older, RUN), false, "not known to be before the close: it stays");
  });

  it("stays while they are on scene, and for another alert's clearing", () => {
    assert.equal(endTakesBackRestart(stateWith(alert("on_scene")), RUN), false);
    const state = stateWith(alert("cleared", { cleared_at: "2026-01-01T12:30:00+00:00" }));
    assert.equal(endTakesBackRestart(state, { ...RUN, alertId: 2 }), false);
    assert.equal(endTakesBackRestart(state, null), false);
  });

  it("still goes for a call cancelled before the scene, and not for a run started after that end", () => {
    const state = stateWith(alert("accepted", { on_scene_at: null, attended: false, incident: { status: "cancelled", cancel_reason: "Ambulance crew took over" } }));
    assert.equal(endTakesBackRestart(state, RUN), true);
    assert.equal(endTakesBackRestart(state, { ...RUN, afterEnd: true }), false);
  });
});
