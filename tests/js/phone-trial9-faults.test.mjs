// Faults found by the ninth browser trial of the firefighters' app: a CPR checklist left open after
// its call had ended kept a new alert silent (only a banner), and the metronome a close left running
// was still ticking on the way to the next job.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { alarmWanted, applyAlert, createState, isLiveJob, movedOnFrom } from "../../pwa/app/store.js";

function incident(id, overrides = {}) {
  return {
    id,
    cad_reference: `EEAST-${id}`,
    category: "cardiac_arrest",
    status: "open",
    latitude: 52.6,
    longitude: 1.73,
    address: `${id} Regent Road, Great Yarmouth`,
    created_at: "2026-01-01T12:00:00+00:00",
    cancelled_at: null,
    cancel_reason: "",
    closed_at: null,
    ...overrides,
  };
}

/** Alert `id` of incident `id` (one alert each, for short tests). */
function alert(id, state, version, { incident: incidentChanges, ...changes } = {}) {
  return { id, incident_id: id, version, state, stood_down_reason: "", alerted_at: "2026-01-01T12:00:00+00:00", ...changes, incident: incident(id, incidentChanges) };
}

function stateWith(...alerts) {
  const state = createState();
  state.session = "authenticated";
  for (const item of alerts) applyAlert(state, item);
  return state;
}

const CHECKLIST_OF_1 = { name: "checklist", params: { id: 1 } };
const CANCELLED = { status: "cancelled", cancel_reason: "Ambulance on scene", cancelled_at: "2026-01-01T12:20:00+00:00" };
const CLOSED = { status: "closed", closed_at: "2026-01-01T12:30:00+00:00" };

describe("a new alert while the CPR checklist shows", () => {
  it("waits in its banner without the alarm while the checklist's own job is live", () => {
    for (const job of ["accepted", "en_route", "on_scene"]) {
      const state = stateWith(alert(1, job, 2), alert(2, "alerted", 1));
      assert.equal(alarmWanted(state, CHECKLIST_OF_1), false, job);
    }
  });

  it("sounds the alarm once the checklist's job was cancelled, stood down, closed or cleared", () => {
    const ended = {
      "cancelled (the incident)": alert(1, "on_scene", 3, { incident: CANCELLED }),
      "cancelled (the alert)": alert(1, "cancelled", 3, { incident: CANCELLED }),
      "stood down": alert(1, "stood_down", 3, { stood_down_reason: "control_room" }),
      "closed (cleared by the close)": alert(1, "cleared", 3, { incident: CLOSED }),
      "closed (still on scene, as an older server sent it)": alert(1, "on_scene", 3, { incident: CLOSED }),
      "cleared by the firefighter": alert(1, "cleared", 3),
    };
    for (const [how, held] of Object.entries(ended)) {
      const state = stateWith(held, alert(2, "alerted", 1));
      assert.equal(alarmWanted(state, CHECKLIST_OF_1), true, how);
    }
  });

  it("sounds it on the checklist of an alert the phone does not hold", () => {
    const state = stateWith(alert(2, "alerted", 1));
    assert.equal(alarmWanted(state, CHECKLIST_OF_1), true);
  });

  it("stays silent for an alert silenced, answered or over, and when not logged in", () => {
    const ended = stateWith(alert(1, "cleared", 3, { incident: CLOSED }), alert(2, "alerted", 1));
    assert.equal(alarmWanted(ended, CHECKLIST_OF_1, new Set([2])), false, "silenced");
    const answered = stateWith(alert(1, "cleared", 3, { incident: CLOSED }), alert(2, "accepted", 2));
    assert.equal(alarmWanted(answered, CHECKLIST_OF_1), false, "answered");
    const expired = stateWith(alert(2, "alerted", 1));
    expired.session = "expired";
    assert.equal(alarmWanted(expired, { name: "home", params: {} }), false, "logged out");
  });

  it("sounds anywhere else, whatever the job", () => {
    const state = stateWith(alert(1, "on_scene", 2), alert(2, "alerted", 1));
    assert.equal(alarmWanted(state, { name: "home", params: {} }), true);
    assert.equal(alarmWanted(state, { name: "alert", params: { id: 1 } }), true);
  });
});

describe("a live job", () => {
  it("is one committed to (accepted, en route, on scene) whose call goes on", () => {
    const state = stateWith(alert(1, "on_scene", 2), alert(2, "alerted", 1), alert(3, "declined", 2), alert(4, "cleared", 4));
    assert.deepEqual([1, 2, 3, 4].map((id) => isLiveJob(state, state.alerts.get(id))), [true, false, false, false]);
    assert.equal(isLiveJob(state, undefined), false);
  });
});

describe("the metronome of a call that is over, once the firefighter takes on another", () => {
  /** The store as each frame leaves it, and what movedOnFrom says of metronome alert 1 each time. */
  function replay(...frames) {
    const state = stateWith();
    const seen = { key: undefined };
    return frames.map((frame) => {
      applyAlert(state, frame);
      return movedOnFrom(state, 1, seen);
    });
  }

  it("stops when they accept, go en route to, or reach another incident after a close", () => {
    const moves = replay(
      alert(1, "on_scene", 2),
      alert(1, "cleared", 3, { incident: CLOSED }), // the close: left running (a clinician is asked)
      alert(2, "alerted", 1),
      alert(2, "accepted", 2),
    );
    assert.deepEqual(moves, [false, false, false, true]);
    assert.deepEqual(replay(alert(1, "cleared", 3, { incident: CLOSED }), alert(2, "accepted", 2), alert(2, "en_route", 3)), [false, true, true]);
  });

  it("stops after a cancel or a stand-down as well", () => {
    assert.deepEqual(replay(alert(1, "on_scene", 2, { incident: CANCELLED }), alert(2, "accepted", 2)), [false, true]);
    assert.deepEqual(replay(alert(1, "stood_down", 3), alert(2, "en_route", 3)), [false, true]);
  });

  it("is never stopped for a job still live (named to a second one by a coordinator)", () => {
    assert.deepEqual(replay(alert(1, "on_scene", 2), alert(2, "accepted", 2), alert(2, "en_route", 3)), [false, false, false]);
    assert.deepEqual(replay(alert(1, "accepted", 2), alert(2, "en_route", 3), alert(2, "on_scene", 4)), [false, false, false]);
  });

  it("is not stopped by another alert only waiting or declined", () => {
    assert.deepEqual(replay(alert(1, "cleared", 3, { incident: CLOSED }), alert(2, "alerted", 1), alert(2, "declined", 2)), [false, false, false]);
  });

  it("tells each step once: a metronome started again on the same job is not stopped again", () => {
    const state = stateWith(alert(1, "cleared", 3, { incident: CLOSED }), alert(2, "accepted", 2));
    const seen = { key: undefined };
    assert.equal(movedOnFrom(state, 1, seen), true);
    assert.equal(movedOnFrom(state, 1, seen), false);
  });
});
