// A time re-entered exactly as the form's time box shows another is not "before" it. The box
// (datetime-local, step 1: record-form.js) shows seconds, never milliseconds, while a tapped time
// ("On scene" from the checklist or the answer) carries them: "Left scene" typed as 17:49:17 beside
// an on-scene time of 17:49:17.412 was refused "Left scene cannot be before on scene". Times are
// compared as precisely as the box shows them (to the second; to the minute when either has no
// seconds), as the server does (backend/records/validation.py, tests/records/test_time_order.py).
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { fromLocalInput, toLocalInput, validate, valuesFrom } from "../../pwa/app/records-rules.js";

const NOW = new Date("2026-03-01T12:00:00Z");
const check = (kind, values) => validate(kind, { ...valuesFrom(kind, {}), ...values }, { now: NOW });
/** What the form keeps when the firefighter types into the box exactly what it shows for `iso`. */
const retyped = (iso) => fromLocalInput(toLocalInput(iso));

describe("a time typed as the time box shows another", () => {
  const onScene = "2026-03-01T11:49:17.412Z"; // tapped: seconds and milliseconds

  it("is the same time: 'Left scene' as shown for 'On scene' is not before it", () => {
    assert.equal(toLocalInput(retyped(onScene)), toLocalInput(onScene), "the box shows the two alike");
    assert.deepEqual(check("attendance", { attended: true, on_scene_at: onScene, left_scene_at: retyped(onScene) }), {});
    assert.deepEqual(check("attendance", { attended: true, mobile_at: onScene, on_scene_at: retyped(onScene) }), {});
  });

  it("is the same time in the outcome form too", () => {
    assert.deepEqual(check("outcome", { resuscitation_attempted: true, crew_arrived_at: onScene, cpr_started_at: retyped(onScene) }), {});
  });

  it("a second before, as shown, is still refused on the later field", () => {
    const secondBefore = retyped(new Date(Date.parse(onScene) - 1000).toISOString());
    assert.deepEqual(check("attendance", { attended: true, on_scene_at: onScene, left_scene_at: secondBefore }), {
      left_scene_at: ["Left scene cannot be before on scene."],
    });
  });
});
