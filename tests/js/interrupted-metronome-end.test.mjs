// Found by a browser trial of the firefighters' app (the screens' part is in
// tests/e2e/test_phone_trial11.py): after a reload mid-CPR, "The metronome stopped when the app
// reloaded. Restart metronome" stayed after the call was cancelled for someone who never reached
// the scene, the one case where a running metronome is stopped (store.endStopsMetronome). The
// offer goes at the same end (store.endedOffScene, main.js), and is not made for a call found
// ended that way on reload; those on scene carry on (the signed notice), and it stays for them, as
// it does for a metronome the crew started again after that end (the end stops it once).
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { interruptedRun, saveRun } from "../../pwa/app/metronome.js";
import { applyAlert, createState, endStopsMetronome, endTakesBackRestart, endedOffScene, newlyEnded } from "../../pwa/app/store.js";

const CANCELLED = { status: "cancelled", cancel_reason: "Ambulance crew took over", cancelled_at: "2026-01-01T12:20:00+00:00" };

function alert(id, state, version, { incident: incidentChanges, ...changes } = {}) {
  const incident = { id, cad_reference: `EEAST-${id}`, category: "cardiac_arrest", status: "open", address: `${id} Regent Road, Great Yarmouth`, ...incidentChanges };
  return { id, incident_id: id, version, state, stood_down_reason: "", on_scene_at: null, attended: false, ...changes, incident };
}

function stateWith(...alerts) {
  const state = createState();
  for (const each of alerts) applyAlert(state, each);
  return state;
}

describe("the call of an interrupted metronome ends", () => {
  it("before the scene, cancelled or stood down: the end that stops a running metronome", () => {
    const ends = [alert(1, "accepted", 3, { incident: CANCELLED }), alert(1, "en_route", 3, { incident: CANCELLED }), alert(1, "stood_down", 3, { stood_down_reason: "coordinator" })];
    for (const ended of ends) {
      const state = stateWith(alert(1, "accepted", 2));
      const seen = new Map();
      newlyEnded(state, seen);
      applyAlert(state, ended);
      assert.equal(endedOffScene(state, 1), true, JSON.stringify(ended));
      assert.equal(endStopsMetronome(state, newlyEnded(state, seen), 1), true, "the same rule");
    }
  });

  it("found ended that way on reload (no end seen by this page): still ended before the scene", () => {
    const state = stateWith(alert(1, "accepted", 3, { incident: CANCELLED }));
    assert.equal(endedOffScene(state, 1), true);
  });

  it("not for someone on scene (they carry on), by the server's word or events logged here", () => {
    assert.equal(endedOffScene(stateWith(alert(1, "on_scene", 3, { attended: true, incident: CANCELLED })), 1), false);
    assert.equal(endedOffScene(stateWith(alert(1, "stood_down", 3, { attended: true })), 1), false);
    const logged = stateWith(alert(1, "en_route", 3, { incident: CANCELLED }));
    logged.loggedOnScene = new Set([1]);
    assert.equal(endedOffScene(logged, 1), false);
  });

  it("not for a call still live, closed, declined, or an alert this phone does not hold", () => {
    assert.equal(endedOffScene(stateWith(alert(1, "accepted", 2)), 1), false);
    assert.equal(endedOffScene(stateWith(alert(1, "accepted", 2, { incident: { status: "closed" } })), 1), false);
    assert.equal(endedOffScene(stateWith(alert(1, "declined", 2, { incident: CANCELLED })), 1), false);
    assert.equal(endedOffScene(createState(), 1), false);
  });
});

describe("the offer to restart a metronome interrupted by a reload", () => {
  function memoryStorage() {
    const items = new Map();
    return { getItem: (key) => items.get(key) ?? null, setItem: (key, value) => items.set(key, String(value)), removeItem: (key) => items.delete(key) };
  }

  it("is taken back by an end before the scene, seen live or found on reload", () => {
    const state = stateWith(alert(1, "accepted", 2));
    const run = { alertId: 1, bpm: 110 };
    assert.equal(endTakesBackRestart(state, run), false, "the call still live");
    applyAlert(state, alert(1, "accepted", 3, { incident: CANCELLED }));
    assert.equal(endTakesBackRestart(state, run), true);
    assert.equal(endTakesBackRestart(stateWith(alert(1, "stood_down", 3, { stood_down_reason: "coordinator" })), run), true);
    assert.equal(endTakesBackRestart(state, null), false, "nothing interrupted");
    assert.equal(endTakesBackRestart(state, { alertId: 2, bpm: 110 }), false, "another alert's");
  });

  it("stays for someone on scene", () => {
    const run = { alertId: 1, bpm: 110 };
    assert.equal(endTakesBackRestart(stateWith(alert(1, "on_scene", 3, { attended: true, incident: CANCELLED })), run), false);
    const logged = stateWith(alert(1, "accepted", 3, { incident: CANCELLED }));
    logged.loggedOnScene = new Set([1]);
    assert.equal(endTakesBackRestart(logged, run), false);
  });

  it("stays for a metronome started again after the end (saved so: afterEnd)", () => {
    const state = stateWith(alert(1, "accepted", 3, { incident: CANCELLED }));
    const storage = memoryStorage();
    saveRun(storage, { owner: "ff.a", alertId: 1, bpm: 115, afterEnd: endedOffScene(state, 1) });
    const run = interruptedRun(storage, "ff.a");
    assert.deepEqual(run, { alertId: 1, bpm: 115, afterEnd: true });
    assert.equal(endTakesBackRestart(state, run), false);
    saveRun(storage, { owner: "ff.a", alertId: 1, bpm: 115 });
    assert.deepEqual(interruptedRun(storage, "ff.a"), { alertId: 1, bpm: 115 }, "running when the end came: as before");
    assert.equal(endTakesBackRestart(state, interruptedRun(storage, "ff.a")), true);
  });
});
