import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";

import { eventData, eventDefinitions, loadChecklist, normaliseChecklist, variantFor } from "../../pwa/app/checklist-data.js";

const SERVER_FILE = new URL("../../backend/checklists/data/bls-aed-v2.json", import.meta.url);

function serverChecklist() {
  try {
    return JSON.parse(readFileSync(SERVER_FILE, "utf8"));
  } catch {
    return null;
  }
}

// The shape first sketched for GET /api/v1/checklist/, kept working in case the server's differs.
const SKETCH = {
  version: "0.9",
  source: "RCUK 2021",
  reviewed_by: "Dr A Clinician",
  adult: { steps: [{ id: "a", title: "Approach", instructions: ["Safe?"], event: "arrived" }, { id: "b", title: "Check breathing" }] },
  child: { steps: [{ id: "c", title: "5 breaths", instructions: "Give 5 breaths" }] },
  metronome: { default: 110, min: 100, max: 120 },
  cycle_seconds: 120,
};

function memoryStorage() {
  const items = new Map();
  return { getItem: (k) => items.get(k) ?? null, setItem: (k, v) => items.set(k, v), removeItem: (k) => items.delete(k) };
}

describe("checklist data", () => {
  it("reads the server's checklist file", (t) => {
    const raw = serverChecklist();
    if (!raw) return t.skip("backend/checklists/data/bls-aed-v2.json not present");
    const checklist = normaliseChecklist(raw);
    assert.ok(checklist);
    assert.equal(checklist.version, raw.version);
    assert.match(checklist.source, /Resuscitation Council UK/);
    assert.equal(checklist.adult.steps.length, raw.variants.adult.steps.length);
    assert.equal(checklist.child.steps.length, raw.variants.child.steps.length);
    assert.ok(checklist.adult.steps.every((step) => step.instructions.length > 0));
    assert.deepEqual(
      checklist.adult.steps.filter((step) => step.event).map((step) => step.event),
      raw.variants.adult.steps.filter((step) => step.event).map((step) => step.event),
    );
    assert.deepEqual(checklist.metronome, { min: 100, max: 120, default: 110 });
    assert.equal(checklist.cycleSeconds, 120);
    assert.equal(checklist.events.length, raw.events.length);
    assert.equal(checklist.infant.steps.length, raw.variants.infant.steps.length);
    assert.equal(variantFor(checklist, "infant").label, "Infant");
    assert.ok(checklist.infant.compressions.some((line) => line.startsWith("Breaths: Mouth to mouth-and-nose")));
    assert.ok(checklist.adult.compressions.some((line) => line.startsWith("Pads: Follow the defibrillator's own prompts")));
    assert.equal(checklist.reviewed, false, "the file alone carries no sign-off: not approved");
  });

  it("is approved only when the server's sign-off says approved", () => {
    const raw = serverChecklist() ?? SKETCH;
    const draft = normaliseChecklist({ ...raw, sign_off: { status: "draft", approved: false, reviewer: null, reviewed_on: null } });
    assert.equal(draft.reviewed, false);
    assert.equal(draft.review, "Not clinically approved (draft)");
    const approved = normaliseChecklist({
      ...raw,
      sign_off: { status: "approved", approved: true, reviewer: { name: "Dr P Shah", role: "Consultant paramedic", registration: "" }, reviewed_on: "2026-11-30" },
    });
    assert.equal(approved.reviewed, true);
    assert.equal(approved.review, "Clinically approved: reviewed by Dr P Shah, Consultant paramedic on 2026-11-30");
    for (const sign of [{ status: "approved" }, { approved: true, status: "withdrawn" }, "approved", null]) {
      assert.equal(normaliseChecklist({ ...raw, sign_off: sign }).reviewed, false, JSON.stringify(sign));
    }
  });

  it("falls back to the adult variant for a variant the checklist lacks", () => {
    const checklist = normaliseChecklist(SKETCH);
    assert.equal(checklist.infant, null);
    assert.equal(variantFor(checklist, "infant"), checklist.adult);
    assert.equal(variantFor(checklist, "child"), checklist.child);
    assert.equal(variantFor(checklist, "nonsense"), checklist.adult);
  });

  it("reads the sketched shape too", () => {
    const checklist = normaliseChecklist(SKETCH);
    assert.equal(checklist.version, "0.9");
    assert.equal(checklist.review, "Not clinically approved (Dr A Clinician)");
    assert.equal(checklist.reviewed, false, "a copy without the server's sign-off is never taken as approved");
    assert.deepEqual(checklist.adult.steps[0], { id: "a", title: "Approach", instructions: ["Safe?"], event: "arrived" });
    assert.deepEqual(checklist.child.steps[0].instructions, ["Give 5 breaths"]);
    assert.ok(checklist.events.some((event) => event.id === "shock"), "built-in event list when the server has none");
  });

  it("refuses things that are not checklists", () => {
    for (const raw of [null, "x", 3, {}, { adult: { steps: [] } }, { variants: {} }]) assert.equal(normaliseChecklist(raw), null);
  });

  it("keeps the metronome inside 100 to 120 a minute whatever the data says", () => {
    const checklist = normaliseChecklist({ ...SKETCH, metronome: { default: 150, min: 60, max: 200 } });
    assert.deepEqual(checklist.metronome, { min: 100, max: 120, default: 120 });
  });

  it("drops a step's event the checklist does not define", () => {
    const checklist = normaliseChecklist({ ...SKETCH, adult: { steps: [{ id: "x", title: "X", event: "teleport" }] } });
    assert.equal(checklist.adult.steps[0].event, null);
  });

  it("sends only the data fields an event allows", () => {
    const checklist = normaliseChecklist(serverChecklist() ?? SKETCH);
    const defs = eventDefinitions(checklist);
    const shock = defs.find((def) => def.id === "shock");
    const arrived = defs.find((def) => def.id === "arrived");
    const analysis = defs.find((def) => def.id === "analysis");
    assert.deepEqual(eventData(shock, { patient: "child", shockNumber: 3, advice: "shock_advised" }), { patient: "child", shock_number: 3 });
    assert.deepEqual(eventData(arrived, { patient: "adult", shockNumber: 3 }), { patient: "adult" });
    assert.deepEqual(eventData(arrived, { patient: "infant" }), { patient: "infant" });
    assert.deepEqual(eventData(arrived, { patient: "toddler" }), {});
    assert.deepEqual(eventData(analysis, { patient: "adult", advice: "no_shock_advised" }), { patient: "adult", advice: "no_shock_advised" });
    assert.deepEqual(eventData(shock, { shockNumber: 0 }), {});
    assert.deepEqual(eventData(undefined, { patient: "adult" }), {});
  });

  it("uses the saved copy without signal, and says so", async () => {
    const storage = memoryStorage();
    const online = { checklist: async () => SKETCH };
    const first = await loadChecklist(online, storage);
    assert.equal(first.fromCache, false);
    const offline = {
      checklist: async () => {
        throw new Error("No connection");
      },
    };
    const second = await loadChecklist(offline, storage);
    assert.equal(second.fromCache, true);
    assert.equal(second.checklist.version, "0.9");
    assert.ok(second.savedAt);
  });

  it("keeps the saved copy but says so when the server has no approved version", async () => {
    const storage = memoryStorage();
    await loadChecklist({ checklist: async () => SKETCH }, storage);
    const refused = Object.assign(new Error("No clinically approved version"), { status: 503, code: "no_approved_checklist" });
    const result = await loadChecklist({ checklist: async () => Promise.reject(refused) }, storage);
    assert.equal(result.fromCache, true);
    assert.equal(result.noApproved, true);
    const offline = await loadChecklist({ checklist: async () => Promise.reject(new Error("No connection")) }, storage);
    assert.equal(offline.noApproved, false);
  });

  it("says why when there is neither signal nor a saved copy", async () => {
    const result = await loadChecklist({ checklist: async () => Promise.reject(new Error("No connection")) }, memoryStorage());
    assert.equal(result.checklist, null);
    assert.equal(result.error, "No connection");
  });
});
