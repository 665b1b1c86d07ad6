// The after-call forms as the eleventh trial of the product found them:
// 1. a firefighter who withdrew before setting off saw "Not started" on their attendance and
//    welfare cards for a moment, then "Not needed": the page waited for the forms list;
// 2. a crew member who does not fill in the outcome read "Filled in by Mo Kemp: you can read it"
//    and "Read the outcome form" when nothing had been submitted;
// 3. each card said its status twice ("Not needed" then "Not needed: ...", "Accepted" then
//    "Sent and accepted (version 1)");
// 4. the call's forms page kept "No signal: showing what this phone last knew" after the
//    connection came back;
// 5. the event log's labels changed after a reload ("At patient" became "Arrived at patient"):
//    the labels without a checklist were not the signed checklist's;
// 6. "Left scene" was never filled in for one on scene whose call was cancelled or who was
//    stood down: the server now gives it as an estimate, and the form says so.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { describe, it } from "node:test";

import "./support/app-paths.mjs";

// Read as modules, not named imports, so that each test fails on its own before its fix.
const rules = await import("../../pwa/app/records-rules.js");
const forms = await import("../../pwa/app/views/forms.js");
const format = await import("../../pwa/app/format.js");
const { createStore } = await import("../../pwa/app/store.js");

const { ACCEPTED, CHECKING, KINDS, NOT_NEEDED, NOT_STARTED, STATUS_LABELS, formStatus, listedFormStatus, pageFormStatus } = rules;
const notStarted = formStatus(null, null);
const accepted = formStatus({ version: 1, locked: false }, null);

describe("1. the own forms of one who withdrew, on the call's forms page opened cold", () => {
  it("say 'Checking…', not 'Not started', while nothing says whether they are owed", () => {
    for (const kind of ["attendance", "welfare"]) {
      const status = pageFormStatus(undefined, kind, notStarted, { listed: null, checking: true });
      assert.equal(status.state, CHECKING, kind);
    }
  });

  it("say 'Not needed' from the form the server gave, before the forms list arrives", () => {
    const form = { record: null, prefill: { attended: false }, editable: true, own_forms_expected: false };
    for (const kind of ["attendance", "welfare"]) {
      assert.equal(pageFormStatus(form, kind, notStarted, { listed: null, checking: false }).state, NOT_NEEDED, kind);
      assert.equal(pageFormStatus({ ...form, own_forms_expected: true }, kind, notStarted, { checking: true }).state, NOT_STARTED, kind);
    }
  });

  it("go by the list's entry when it is the first to say, and show what was filed as it is", () => {
    assert.equal(pageFormStatus(undefined, "attendance", notStarted, { listed: { own_forms_expected: false }, checking: true }).state, NOT_NEEDED);
    assert.equal(pageFormStatus(undefined, "attendance", accepted, { checking: true }).state, ACCEPTED);
  });
});

describe("2. the crew's outcome filled in by another, before they submit it", () => {
  const form = { record: null, editable: false, outcome_duty: { expected: true, fills_it: false, filled_in_by: ["Mo Kemp"] } };

  it("names who fills it in and says nothing is submitted, with nothing to read", () => {
    const status = pageFormStatus(form, "outcome", notStarted);
    assert.equal(status.text, "Mo Kemp fills this in; not submitted yet.");
    assert.equal(rules.outcomeDutyHint(form, notStarted), null, "not 'you can read it' of nothing");
    assert.equal(rules.outcomeSubmitted(form, notStarted), false, "no link to read it");
  });

  it("offers to read it once submitted", () => {
    const filed = { ...form, record: { version: 1 } };
    assert.equal(rules.outcomeSubmitted(filed, accepted), true);
    assert.equal(rules.outcomeDutyHint(filed, accepted), "Filled in by Mo Kemp: you can read it.");
    assert.equal(pageFormStatus(filed, "outcome", accepted).state, ACCEPTED);
  });
});

describe("3. each card says where its form stands once", () => {
  const withdrew = { own_forms_expected: false, outcome_expected: true, fills_outcome: false };
  const duty = (fills_it, expected, names) => ({ record: null, editable: fills_it, outcome_duty: { expected, fills_it, filled_in_by: names } });
  const cases = [
    ...KINDS.map((kind) => [kind, listedFormStatus(withdrew, kind, notStarted)]),
    ["outcome", listedFormStatus({ outcome_expected: false }, "outcome", notStarted)],
    ["outcome", pageFormStatus(duty(false, true, ["Mo Kemp"]), "outcome", notStarted)],
    ["outcome", pageFormStatus(undefined, "outcome", notStarted, { checking: true })],
    ["outcome", pageFormStatus(undefined, "outcome", notStarted)],
    ["attendance", pageFormStatus(undefined, "attendance", notStarted, { checking: true })],
    ["attendance", accepted],
    ["attendance", formStatus({ version: 2, locked: true }, null)],
    ["attendance", formStatus(null, { state: "pending" })],
    ["attendance", formStatus(null, { state: "rejected", last_code: "invalid" })],
  ];
  for (const [kind, status] of cases) {
    it(`${kind}: ${STATUS_LABELS[status.state]}`, () => {
      const detail = forms.statusDetail(status);
      if (!detail) return;
      const chip = STATUS_LABELS[status.state].replace("…", "").toLowerCase();
      assert.ok(!detail.toLowerCase().includes(chip), `"${detail}" repeats its chip "${STATUS_LABELS[status.state]}"`);
    });
  }

  it("says who fills in the crew's outcome in one line, not two", () => {
    for (const [form, status] of [
      [duty(false, true, ["Mo Kemp"]), notStarted],
      [{ ...duty(false, true, ["Mo Kemp"]), record: { version: 1 } }, accepted],
    ]) {
      const lines = [forms.statusDetail(pageFormStatus(form, "outcome", status)), rules.outcomeDutyHint(form, status)].filter(Boolean);
      assert.equal(lines.filter((line) => line.includes("Mo Kemp")).length, 1, lines.join(" | "));
    }
  });
});

describe("4. the call's forms page back online", () => {
  it("loads again as soon as the network or the socket comes back", async () => {
    const store = createStore();
    store.update((s) => void ((s.online = false), (s.connection = { status: "offline", retryAt: null })));
    let loads = 0;
    const stop = forms.onBackOnline(store, () => (loads += 1));
    store.update((s) => void (s.online = true));
    await new Promise((resolve) => setTimeout(resolve, 0));
    assert.ok(loads >= 1, "the network back");
    const before = loads;
    store.update((s) => void (s.connection = { status: "live", retryAt: null }));
    await new Promise((resolve) => setTimeout(resolve, 0));
    assert.ok(loads > before, "the socket live");
    stop();
  });
});

describe("5. the event log's labels without a checklist", () => {
  it("are the signed checklist's own", () => {
    const dir = new URL("../../backend/checklists/data/", import.meta.url);
    for (const name of readdirSync(dir).filter((file) => file.endsWith(".json"))) {
      const signed = JSON.parse(readFileSync(new URL(name, dir), "utf8")).events;
      assert.deepEqual(
        format.EVENT_TYPES.map(([id, label]) => [id, label]),
        signed.map((event) => [event.id, event.label]),
        name,
      );
    }
  });
});

describe("6. 'Left scene' filled in from when the call ended", () => {
  const data = { record: null, prefill: { left_scene_at: "2026-01-05T10:20:00+00:00" }, prefill_estimated: ["left_scene_at"] };

  it("is said to be an estimate that can be changed", () => {
    assert.match(rules.estimateHint(data, "left_scene_at", "2026-01-05T10:20:00.000Z"), /estimate\. Change it/);
  });

  it("says nothing once changed, once submitted, or for times recorded", () => {
    assert.equal(rules.estimateHint(data, "left_scene_at", "2026-01-05T10:25:00.000Z"), null);
    assert.equal(rules.estimateHint({ ...data, record: { version: 1 } }, "left_scene_at", "2026-01-05T10:20:00.000Z"), null);
    assert.equal(rules.estimateHint({ ...data, prefill_estimated: [] }, "left_scene_at", "2026-01-05T10:20:00.000Z"), null);
  });
});
