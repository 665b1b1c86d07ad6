// How the after-call form shows an answer (pwa/app/views/record-form.js): an outcome-at-handover
// question left unanswered is "Not known", never "No" (the tester's fault: a summary of No for
// questions the crew had not answered).
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { fieldsOf } from "../../pwa/app/records-rules.js";
import { displayValue } from "../../pwa/app/views/record-form.js";

const field = (kind, name) => fieldsOf(kind).find((item) => item.name === name);

describe("an answer as the form shows it", () => {
  it("shows the outcome at handover as Yes, No or Not known", () => {
    const rosc = field("outcome", "rosc_at_handover");
    assert.deepEqual([true, false, null].map((value) => displayValue(rosc, value)), ["Yes", "No", "Not known"]);
  });

  it("still shows an unanswered yes/no question that cannot be not known as Not answered", () => {
    assert.equal(displayValue(field("outcome", "compressions"), null), "Not answered");
  });
});
