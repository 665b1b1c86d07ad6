// What a firefighter who was on scene is told about CPR when the call ends (cancelled, stood down,
// closed): clinical guidance, so it comes from the signed checklist content (its notice
// `call_ended_on_scene`), never from words written in the screens. A version without the notice
// (approved before it had one, a copy saved from an older server) gets a neutral line: how the call
// ended, nothing telling the crew to stop or to carry on, and never "You are not needed".
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";

import { CALL_ENDED_ON_SCENE, loadChecklist, normaliseChecklist, onSceneGuidance, savedChecklist } from "../../pwa/app/checklist-data.js";
import { cancelledSubText, closedSubText, stoodDownSubText } from "../../pwa/app/format.js";
import { endedSubText } from "../../pwa/app/views/alert.js";
import { endNotice } from "../../pwa/app/views/checklist.js";

const SERVER_FILE = new URL("../../backend/checklists/data/bls-aed-v2.json", import.meta.url);
const APP_DIR = new URL("../../pwa/app/", import.meta.url).pathname;
const SERVED = JSON.parse(readFileSync(SERVER_FILE, "utf8"));
const CONTENT_TEXT = SERVED.notices[CALL_ENDED_ON_SCENE].text;
// Wording no screen could hold: seen on screen only if it is read from the content.
const TEST_WORDING = "Test wording from the signed content.";
const GUIDANCE = /CPR|carry on|continue|stop|keep going/i;

function served({ notice, withoutNotices = false } = {}) {
  const raw = structuredClone(SERVED);
  if (withoutNotices) delete raw.notices;
  else if (notice) raw.notices[CALL_ENDED_ON_SCENE] = { ...raw.notices[CALL_ENDED_ON_SCENE], ...notice };
  return normaliseChecklist({ ...raw, sign_off: { status: "approved", approved: true, reviewer: null, reviewed_on: "2026-01-05" } });
}

const incident = (changes = {}) => ({ id: 1, status: "open", category: "cardiac_arrest", cancel_reason: "", ...changes });
const alert = (state, changes = {}) => ({ id: 10, incident_id: 1, state, stood_down_reason: "", on_scene_at: null, ...changes });
const ON_SCENE_AT = "2026-01-01T12:10:00+00:00";

describe("the notice for a call that ended on scene, as content", () => {
  it("is read from the checklist, for the endings it applies to", () => {
    const checklist = served();
    assert.deepEqual(checklist.notices[CALL_ENDED_ON_SCENE], { text: CONTENT_TEXT, appliesTo: ["cancelled", "stood_down"] });
    assert.equal(onSceneGuidance(checklist, "cancelled"), CONTENT_TEXT);
    assert.equal(onSceneGuidance(checklist, "stood_down"), CONTENT_TEXT);
    assert.equal(onSceneGuidance(checklist, "closed"), "", "a close is for the clinician to decide: not today");
  });

  it("follows the content's applies_to, a close included if the content says so", () => {
    const checklist = served({ notice: { text: TEST_WORDING, applies_to: ["cancelled", "closed"] } });
    assert.equal(onSceneGuidance(checklist, "cancelled"), TEST_WORDING);
    assert.equal(onSceneGuidance(checklist, "closed"), TEST_WORDING);
    assert.equal(onSceneGuidance(checklist, "stood_down"), "");
  });

  it("gives nothing for a version without it, or a notice with no text or no known ending", () => {
    for (const checklist of [
      served({ withoutNotices: true }),
      served({ notice: { text: "  " } }),
      served({ notice: { applies_to: ["teleported"] } }),
      null,
      undefined,
    ]) {
      for (const ending of ["cancelled", "stood_down", "closed"]) assert.equal(onSceneGuidance(checklist, ending), "");
    }
  });

  it("is read from the copy this phone saved, for a screen opened before the server's arrives", async () => {
    const items = new Map();
    const storage = { getItem: (k) => items.get(k) ?? null, setItem: (k, v) => items.set(k, v) };
    assert.equal(savedChecklist(storage), null);
    const raw = structuredClone(SERVED);
    raw.notices[CALL_ENDED_ON_SCENE].text = TEST_WORDING;
    await loadChecklist({ checklist: async () => raw }, storage);
    assert.equal(onSceneGuidance(savedChecklist(storage), "cancelled"), TEST_WORDING);
    assert.equal(savedChecklist({ getItem: () => "{not json" }), null);
  });

  it("is no screen's own words", () => {
    const files = readdirSync(APP_DIR, { recursive: true }).filter((name) => name.endsWith(".js"));
    assert.ok(files.length > 10);
    for (const name of files) {
      const source = readFileSync(join(APP_DIR, name), "utf8");
      assert.ok(!source.includes(CONTENT_TEXT), `${name} writes the checklist's notice itself`);
      assert.doesNotMatch(source, /carry on: the crew on scene decides/, name);
    }
  });
});

describe("the alert's screen when the call ends", () => {
  const cancelled = incident({ status: "cancelled", cancel_reason: "Ambulance crew took over." });

  it("tells those who were on scene what the content says", () => {
    const checklist = served({ notice: { text: TEST_WORDING } });
    assert.equal(
      endedSubText(alert("cancelled", { on_scene_at: ON_SCENE_AT }), cancelled, checklist),
      `The incident was cancelled: Ambulance crew took over. ${TEST_WORDING}`,
    );
    assert.equal(
      endedSubText(alert("stood_down", { stood_down_reason: "coordinator", on_scene_at: ON_SCENE_AT }), incident(), checklist),
      `Stood down by a coordinator. ${TEST_WORDING}`,
    );
    assert.equal(endedSubText(alert("on_scene", { on_scene_at: ON_SCENE_AT }), cancelled, served()), `The incident was cancelled: Ambulance crew took over. ${CONTENT_TEXT}`);
  });

  it("falls back to how the call ended, with no guidance and never 'not needed', without the notice", () => {
    for (const checklist of [served({ withoutNotices: true }), null]) {
      const sub = endedSubText(alert("cancelled", { on_scene_at: ON_SCENE_AT }), cancelled, checklist);
      assert.equal(sub, "The incident was cancelled: Ambulance crew took over.");
      const stood = endedSubText(alert("stood_down", { stood_down_reason: "control_room", attended: true }), incident(), checklist);
      assert.equal(stood, "Stood down by the ambulance control room.");
      assert.equal(endedSubText(alert("cleared"), incident({ status: "closed" }), checklist), "This incident is closed.");
      for (const line of [sub, stood]) {
        assert.doesNotMatch(line, /not needed/i);
        assert.doesNotMatch(line, GUIDANCE);
      }
    }
  });

  it("tells those who never got there that they are not needed, and gives them no guidance", () => {
    const checklist = served({ notice: { text: TEST_WORDING, applies_to: ["cancelled", "stood_down", "closed"] } });
    assert.equal(endedSubText(alert("en_route"), cancelled, checklist), "The incident was cancelled: Ambulance crew took over. You are not needed.");
    assert.equal(
      endedSubText(alert("stood_down", { stood_down_reason: "coordinator" }), incident(), checklist),
      "A coordinator stood you down: you are not needed for this incident.",
    );
    assert.equal(endedSubText(alert("stood_down", { stood_down_reason: "incident_closed" }), incident({ status: "closed" }), checklist), "The incident was closed.");
  });

  it("says a close neutrally unless the content's notice applies to a close", () => {
    const closed = incident({ status: "closed" });
    assert.equal(endedSubText(alert("cleared", { on_scene_at: ON_SCENE_AT }), closed, served()), "This incident is closed.");
    const toClose = served({ notice: { text: TEST_WORDING, applies_to: ["closed"] } });
    assert.equal(endedSubText(alert("cleared", { on_scene_at: ON_SCENE_AT }), closed, toClose), `This incident is closed. ${TEST_WORDING}`);
    assert.equal(endedSubText(alert("declined"), closed, toClose), "This incident is closed.", "not to who was never there");
  });

  it("says nothing of an end while the call goes on", () => {
    assert.equal(endedSubText(alert("on_scene", { on_scene_at: ON_SCENE_AT }), incident(), served()), null);
  });
});

describe("the checklist's notice when the call ends", () => {
  const KEPT = "What you record here is still kept and sent.";
  const cancelledEnd = { kind: "cancelled", reason: "Ambulance crew took over." };

  it("carries the content's guidance under the ending", () => {
    const told = endNotice({ end: cancelledEnd, closed: null, incident: incident(), checklist: served({ notice: { text: TEST_WORDING } }) });
    assert.deepEqual(told, { headline: "Incident cancelled: Ambulance crew took over.", detail: `${TEST_WORDING} ${KEPT}` });
    const stood = endNotice({ end: { kind: "stood_down", reason: "coordinator" }, closed: null, incident: incident(), checklist: served() });
    assert.deepEqual(stood, { headline: "Stood down by a coordinator.", detail: `${CONTENT_TEXT} ${KEPT}` });
  });

  it("says only that records are kept without the notice", () => {
    for (const checklist of [served({ withoutNotices: true }), null]) {
      const told = endNotice({ end: cancelledEnd, closed: null, incident: incident(), checklist });
      assert.deepEqual(told, { headline: "Incident cancelled: Ambulance crew took over.", detail: KEPT });
      assert.doesNotMatch(`${told.headline} ${told.detail}`, GUIDANCE);
      assert.doesNotMatch(`${told.headline} ${told.detail}`, /not needed/i);
    }
  });

  it("gives a close the content's guidance only if the notice applies to a close", () => {
    const closed = { at: null };
    assert.deepEqual(endNotice({ end: null, closed, incident: incident(), checklist: served() }), { headline: "Incident closed by control.", detail: KEPT });
    const toClose = served({ notice: { text: TEST_WORDING, applies_to: ["closed"] } });
    assert.equal(endNotice({ end: null, closed, incident: incident(), checklist: toClose }).detail, `${TEST_WORDING} ${KEPT}`);
    assert.equal(endNotice({ end: null, closed: null, incident: incident(), checklist: served() }), null);
  });
});

describe("the sub-lines, given the content's guidance or none", () => {
  it("add the guidance only for those on scene", () => {
    const cancelled = { cancel_reason: "Ambulance on scene." };
    assert.equal(cancelledSubText(cancelled, { onScene: true, guidance: TEST_WORDING }), `The incident was cancelled: Ambulance on scene. ${TEST_WORDING}`);
    assert.equal(cancelledSubText(cancelled, { onScene: true }), "The incident was cancelled: Ambulance on scene.");
    assert.equal(cancelledSubText({ cancel_reason: "" }, { onScene: true }), "The incident was cancelled.");
    assert.equal(stoodDownSubText("enough_crews", { onScene: true }), "Stood down: enough crews are going.");
    assert.equal(stoodDownSubText("", { onScene: true, guidance: TEST_WORDING }), `Stood down. ${TEST_WORDING}`);
    assert.equal(closedSubText({ onScene: true, guidance: TEST_WORDING }), `This incident is closed. ${TEST_WORDING}`);
    assert.equal(closedSubText({ guidance: TEST_WORDING }), "This incident is closed.");
  });
});
