// How the after-call form shows an answer (pwa/app/views/record-form.js): an outcome-at-handover
// question left unanswered is "Not known", never "No" (the tester's fault: a summary of No for
// questions the crew had not answered), and so are the crew's compressions and defibrillator and
// whether the collapse time is an estimate.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { fieldsOf } from "../../pwa/app/records-rules.js";
import { displayValue, withAttendanceAppliance } from "../../pwa/app/views/record-form.js";

const field = (kind, name) => fieldsOf(kind).find((item) => item.name === name);

describe("an answer as the form shows it", () => {
  it("shows the outcome at handover as Yes, No or Not known", () => {
    const rosc = field("outcome", "rosc_at_handover");
    assert.deepEqual([true, false, null].map((value) => displayValue(rosc, value)), ["Yes", "No", "Not known"]);
  });

  it("shows the crew's compressions and defibrillator, and an estimated collapse time, as Yes, No or Not known", () => {
    for (const name of ["compressions", "defibrillator_applied", "collapse_time_estimated"]) {
      assert.deepEqual([true, false, null].map((value) => displayValue(field("outcome", name), value)), ["Yes", "No", "Not known"], name);
    }
  });

  it("still shows an unanswered yes/no question that cannot be not known as Not answered", () => {
    assert.equal(displayValue(field("attendance", "attended"), null), "Not answered");
  });
});

// Found by a trial of the product: the outcome form did not carry over the appliance call sign
// given in the attendance form of the same call.
describe("the outcome form starts with the attendance form's appliance", () => {
  const blank = { record: null, prefill: { crew: [3] }, editable: true };

  it("when the server's outcome has none", () => {
    assert.deepEqual(withAttendanceAppliance("outcome", blank, "21P1").prefill, { crew: [3], appliance: "21P1" });
    assert.deepEqual(withAttendanceAppliance("outcome", { ...blank, prefill: { appliance: " " } }, "21P1").prefill, { appliance: "21P1" });
  });

  it("never over an appliance the server has, a record it holds, another form, or no appliance", () => {
    const given = { ...blank, prefill: { appliance: "40P1" } };
    assert.equal(withAttendanceAppliance("outcome", given, "21P1"), given);
    const held = { ...blank, record: { version: 1, appliance: "" } };
    assert.equal(withAttendanceAppliance("outcome", held, "21P1"), held);
    assert.equal(withAttendanceAppliance("attendance", blank, "21P1"), blank);
    assert.equal(withAttendanceAppliance("outcome", blank, ""), blank);
    assert.equal(withAttendanceAppliance("outcome", null, "21P1"), null);
  });
});
