// The after-call forms as the ninth trial of the product found them:
// - a firefighter who accepted and then withdrew ("Can't attend after all") before setting off was
//   asked by home for "2 forms to fill after calls" (attendance and welfare); the server now says
//   they owe no forms of their own (`own_forms_expected` false), and the list, home's count and the
//   call's forms page say "Not needed" while still letting them fill either in;
// - the outcome form refused its own prefill: one shock tapped, no first rhythm (records-rules);
// - the call's forms page said "Not started" twice per form.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import "./support/app-paths.mjs";

const { KINDS, NOT_NEEDED, NOT_STARTED, ACCEPTED, STATUS_LABELS, formStatus, formsToFill, listedFormStatus, pageFormStatus, validate, valuesFrom } = await import(
  "../../pwa/app/records-rules.js"
);
const { statusDetail } = await import("../../pwa/app/views/forms.js");

const notStarted = formStatus(null, null);
const accepted = formStatus({ version: 1, locked: false }, null);
const listed = (entry, statuses) => Object.fromEntries(KINDS.map((kind) => [kind, listedFormStatus(entry, kind, statuses[kind])]));

// B of the trial: withdrew before setting off; A of the crew filed the outcome.
const withdrew = { own_forms_expected: false, outcome_expected: true, fills_outcome: false, is_crew_lead: false };

describe("a firefighter who withdrew before setting off", () => {
  it("is asked for none of their own forms, by home or the list", () => {
    const statuses = listed(withdrew, { attendance: notStarted, outcome: accepted, welfare: notStarted });
    assert.deepEqual(formsToFill(withdrew, statuses), []);
    for (const kind of ["attendance", "welfare"]) {
      assert.equal(statuses[kind].state, NOT_NEEDED, kind);
      assert.match(statuses[kind].text, /you can still fill it in\.$/);
    }
  });

  it("still sees a form they filled in or queued as it stands", () => {
    const queued = formStatus(null, { state: "pending" });
    assert.equal(listedFormStatus(withdrew, "attendance", accepted).state, ACCEPTED);
    assert.equal(listedFormStatus(withdrew, "welfare", queued).state, queued.state);
  });

  it("is asked as before when still going, or by a list saved before the field", () => {
    for (const entry of [{ ...withdrew, own_forms_expected: true }, { outcome_expected: true, fills_outcome: false }]) {
      assert.deepEqual(formsToFill(entry, listed(entry, { attendance: notStarted, outcome: notStarted, welfare: notStarted })), ["attendance", "welfare"]);
    }
  });

  it("sees the same on the call's forms page, which still opens them", () => {
    for (const kind of ["attendance", "welfare"]) {
      assert.equal(pageFormStatus(undefined, kind, notStarted, { listed: withdrew }).state, NOT_NEEDED, kind);
      assert.equal(pageFormStatus({ record: null, outcome_duty: null }, kind, notStarted, { listed: withdrew }).state, NOT_NEEDED, kind);
      assert.equal(pageFormStatus(undefined, kind, notStarted).state, NOT_STARTED, "without the list's entry: as before");
    }
  });
});

describe("the outcome form's prefill of the trial", () => {
  it("is accepted: one shock tapped, the crew's defibrillator on, no first rhythm", () => {
    const prefill = { crew: [4], defibrillator_applied: true, resuscitation_attempted: true, crew_shocks: 1 };
    assert.deepEqual(validate("outcome", valuesFrom("outcome", prefill)), {});
  });
});

describe("the call's forms page", () => {
  it("says where a form stands once: no line that repeats its chip", () => {
    assert.equal(STATUS_LABELS[notStarted.state], "Not started");
    assert.equal(statusDetail(notStarted), null);
    // The line adds only what the chip does not say (the eleventh trial: "Accepted" then "Sent and accepted").
    assert.equal(statusDetail(accepted), "Version 1");
    assert.equal(statusDetail(listedFormStatus(withdrew, "attendance", notStarted)), "You did not set off for this call; you can still fill it in.");
  });
});
