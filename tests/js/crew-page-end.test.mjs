// The crew page's notice once the call has ended for this firefighter: a stand-down reads as the
// alert's screen does (views/alert.js endedSubText), so that one who was on scene, who may be in the
// middle of CPR, is never told "you are not needed" there either (docs/hazard-log.md, H04 control 7).
// Any guidance is the signed checklist's notice, never the page's own words.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";

import { CALL_ENDED_ON_SCENE, normaliseChecklist } from "../../pwa/app/checklist-data.js";
import { crewEndNotice } from "../../pwa/app/views/incident.js";

const SERVED = JSON.parse(readFileSync(new URL("../../backend/checklists/data/bls-aed-v2.json", import.meta.url), "utf8"));
const TEST_WORDING = "Test wording from the signed content.";
const GUIDANCE = /CPR|carry on|continue|stop|keep going/i;

function served({ text, withoutNotices = false } = {}) {
  const raw = structuredClone(SERVED);
  if (withoutNotices) delete raw.notices;
  else if (text) raw.notices[CALL_ENDED_ON_SCENE].text = text;
  return normaliseChecklist({ ...raw, sign_off: { status: "approved", approved: true, reviewer: null, reviewed_on: "2026-01-05" } });
}

const open = { id: 1, status: "open", category: "cardiac_arrest", cancel_reason: "" };
const stoodDown = (changes = {}) => ({ id: 10, incident_id: 1, state: "stood_down", stood_down_reason: "coordinator", on_scene_at: null, ...changes });
const ON_SCENE_AT = "2026-01-01T12:10:00+00:00";

describe("the crew page when the call ends", () => {
  it("tells one stood down while on scene how it ended and what the content says, never 'not needed'", () => {
    const told = crewEndNotice(stoodDown({ on_scene_at: ON_SCENE_AT }), open, served({ text: TEST_WORDING }));
    assert.deepEqual(told, { kind: "warning", text: `Stood down by a coordinator. ${TEST_WORDING}` });
    const attended = crewEndNotice(stoodDown({ stood_down_reason: "control_room", attended: true }), open, served({ text: TEST_WORDING }));
    assert.equal(attended.text, `Stood down by the ambulance control room. ${TEST_WORDING}`);
  });

  it("says only how it ended to one on scene, without the content's notice", () => {
    for (const checklist of [served({ withoutNotices: true }), null]) {
      const told = crewEndNotice(stoodDown({ on_scene_at: ON_SCENE_AT }), open, checklist);
      assert.equal(told.text, "Stood down by a coordinator.");
      assert.doesNotMatch(told.text, /not needed/i);
      assert.doesNotMatch(told.text, GUIDANCE);
    }
  });

  it("tells one who never got there that they are not needed, with no guidance", () => {
    const told = crewEndNotice(stoodDown(), open, served({ text: TEST_WORDING }));
    assert.deepEqual(told, { kind: "warning", text: "A coordinator stood you down: you are not needed for this incident." });
  });

  it("says a cancel and a close as before, and nothing while the call goes on", () => {
    const cancelled = { ...open, status: "cancelled", cancel_reason: "Ambulance crew took over." };
    assert.deepEqual(crewEndNotice(stoodDown({ state: "cancelled" }), cancelled, served()), { kind: "danger", text: "Incident cancelled: Ambulance crew took over." });
    assert.deepEqual(crewEndNotice(stoodDown({ state: "cleared", on_scene_at: ON_SCENE_AT }), { ...open, status: "closed" }, served()), {
      kind: "warning",
      text: "This incident is closed.",
    });
    assert.equal(crewEndNotice(stoodDown({ state: "on_scene", on_scene_at: ON_SCENE_AT }), open, served()), null);
  });
});
