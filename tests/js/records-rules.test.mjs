import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  ACCEPTED,
  ATTENTION,
  FORMS,
  KINDS,
  NOT_NEEDED,
  NOT_STARTED,
  PENDING,
  fieldsOf,
  formStatus,
  formsToFill,
  formsToFillText,
  listedFormStatus,
  fromLocalInput,
  patchBody,
  postBody,
  serverErrors,
  toLocalInput,
  validate,
  valuesFrom,
} from "../../pwa/app/records-rules.js";

const NOW = new Date("2026-03-01T12:00:00Z");
const at = (minutes) => new Date(NOW.getTime() + minutes * 60000).toISOString();
const check = (kind, values) => validate(kind, { ...valuesFrom(kind, {}), ...values }, { now: NOW });

function outcome(values) {
  return check("outcome", { resuscitation_attempted: true, ...values });
}

describe("the forms as data", () => {
  it("has the contract's fields for each kind, with unique names", () => {
    const names = (kind) => fieldsOf(kind).map((field) => field.name);
    assert.deepEqual(names("attendance"), ["attended", "appliance", "role", "mobile_at", "on_scene_at", "at_patient_at", "left_scene_at", "notes"]);
    assert.deepEqual(names("welfare"), ["impact", "follow_up", "notes"]);
    for (const name of ["resuscitation_attempted", "not_attempted_reason", "crew_shocks", "first_rhythm", "rosc_at_handover", "age_band", "sex", "handover_at", "crew"]) {
      assert.ok(names("outcome").includes(name), name);
    }
    for (const kind of KINDS) assert.equal(new Set(names(kind)).size, names(kind).length, kind);
  });

  it("offers 'unknown' for age band and sex", () => {
    const choices = (name) => fieldsOf("outcome").find((field) => field.name === name).choices.map(([value]) => value);
    assert.ok(choices("age_band").includes("unknown"));
    assert.deepEqual(choices("sex"), ["female", "male", "unknown"]);
  });
});

describe("rules checked as the firefighter types", () => {
  it("needs the required answers", () => {
    assert.deepEqual(check("attendance", {}), { attended: ["Say whether you attended."] });
    assert.deepEqual(check("welfare", {}), { impact: ["Choose how affected you feel, from 1 to 5."] });
    assert.deepEqual(check("outcome", {}), { resuscitation_attempted: ["Say whether resuscitation was attempted."] });
    assert.deepEqual(check("welfare", { impact: "3" }), {});
  });

  it("keeps times in order, with the message on the later time", () => {
    const errors = check("attendance", { attended: true, mobile_at: at(-30), on_scene_at: at(-40) });
    assert.deepEqual(errors, { on_scene_at: ["On scene cannot be before mobile."] });
    assert.deepEqual(check("attendance", { attended: true, mobile_at: at(-30), at_patient_at: at(-20), left_scene_at: at(-25) }), {
      left_scene_at: ["Left scene cannot be before at patient."],
    });
    // A gap in the chain still compares with the time before it.
    assert.deepEqual(outcome({ crew_arrived_at: at(-20), pads_on_at: at(-25) }), { pads_on_at: ["Pads on cannot be before crew arrived."] });
    assert.deepEqual(outcome({ crew_arrived_at: at(-20), cpr_started_at: at(-19), pads_on_at: at(-18), handover_at: at(-5) }), {});
  });

  it("refuses a handover before the crew, the ambulance or ROSC", () => {
    assert.deepEqual(outcome({ crew_arrived_at: at(-20), handover_at: at(-30) }), { handover_at: ["Handover cannot be before crew arrived."] });
    assert.deepEqual(outcome({ ambulance_arrived_at: at(-10), handover_at: at(-15) }), { handover_at: ["Handover cannot be before ambulance arrived."] });
    assert.deepEqual(outcome({ rosc_at: at(-10), handover_at: at(-15) }).handover_at, ["Handover cannot be before ROSC."]);
  });

  it("accepts pads on and a shock before the crew's CPR (a bystander is still doing compressions)", () => {
    // As the checklist taps them: arrived, pads on, shock, then the crew takes over CPR.
    const tapped = {
      crew_arrived_at: "2026-03-01T11:40:05.120Z",
      pads_on_at: "2026-03-01T11:41:10.450Z",
      first_shock_at: "2026-03-01T11:42:30.000+00:00",
      cpr_started_at: "2026-03-01T11:43:02.900Z",
      rosc_at: "2026-03-01T11:50:41.310Z",
      handover_at: "2026-03-01T11:55:12.007Z",
    };
    const values = { ...tapped, defibrillator_applied: true, compressions: true, first_rhythm: "shock_advised", crew_shocks: 1, rosc_any_time: true };
    assert.deepEqual(outcome(values), {});
  });

  it("compares to the minute when a time was typed without seconds", () => {
    const tapped = "2026-03-01T11:49:17.412Z"; // prefilled from a tap
    const typed = (local) => fromLocalInput(local); // what the form's datetime-local gives
    const minuteOf = (iso) => toLocalInput(iso).slice(0, 16); // "YYYY-MM-DDTHH:MM", as typed
    assert.deepEqual(outcome({ crew_arrived_at: tapped, cpr_started_at: typed(minuteOf(tapped)) }), {});
    assert.deepEqual(outcome({ crew_arrived_at: typed(minuteOf(tapped)), cpr_started_at: tapped }), {});
    const minuteBefore = typed(minuteOf(new Date(Date.parse(tapped) - 60000).toISOString()));
    assert.deepEqual(outcome({ crew_arrived_at: tapped, cpr_started_at: minuteBefore }), {
      cpr_started_at: ["CPR started by the crew cannot be before crew arrived."],
    });
    // Two times with seconds are still compared to the second.
    assert.deepEqual(outcome({ crew_arrived_at: tapped, cpr_started_at: "2026-03-01T11:49:16.412Z" }), {
      cpr_started_at: ["CPR started by the crew cannot be before crew arrived."],
    });
    assert.deepEqual(check("attendance", { attended: true, on_scene_at: tapped, at_patient_at: typed(minuteOf(tapped)) }), {});
  });

  it("refuses a shock before pads on and ROSC before the crew arrived, on that field", () => {
    assert.deepEqual(outcome({ pads_on_at: at(-15), first_shock_at: at(-16), crew_shocks: 1, first_rhythm: "shock_advised", defibrillator_applied: true }), {
      first_shock_at: ["First shock cannot be before pads on."],
    });
    assert.deepEqual(outcome({ crew_arrived_at: at(-20), rosc_at: at(-21), rosc_any_time: true }), { rosc_at: ["ROSC cannot be before crew arrived."] });
    // Typed to the minute, an earlier minute is still refused.
    assert.deepEqual(outcome({ crew_arrived_at: "2026-03-01T11:40:30.500Z", rosc_at: "2026-03-01T11:39:00.000Z", rosc_any_time: true }), {
      rosc_at: ["ROSC cannot be before crew arrived."],
    });
  });

  it("refuses times in the future beyond the clock slack", () => {
    assert.deepEqual(check("attendance", { attended: true, left_scene_at: at(1) }), {});
    assert.deepEqual(check("attendance", { attended: true, left_scene_at: at(3) }), { left_scene_at: ["Left scene cannot be in the future."] });
  });

  it("allows crew shocks only with the crew's defibrillator applied, whatever the first rhythm", () => {
    // A first rhythm classed "no shock advised" can become shockable later; it may not be known.
    for (const first_rhythm of ["no_shock_advised", "unknown", ""]) {
      assert.deepEqual(outcome({ crew_shocks: 2, first_rhythm, defibrillator_applied: true }), {}, first_rhythm);
    }
    assert.deepEqual(outcome({ crew_shocks: 2, first_rhythm: "shock_advised", defibrillator_applied: false }), {
      crew_shocks: ["Shocks need the crew's defibrillator applied: answer Yes there."],
    });
    assert.deepEqual(outcome({ crew_shocks: 2, first_rhythm: "shock_advised", defibrillator_applied: true }), {});
    assert.deepEqual(outcome({ crew_shocks: 0, first_shock_at: at(-5) }), { first_shock_at: ["A first shock time needs at least one crew shock."] });
  });

  it("says ROSC at handover implies ROSC at some time", () => {
    assert.deepEqual(outcome({ rosc_at_handover: true, rosc_any_time: false }), {
      rosc_any_time: ["ROSC at handover means there was ROSC at some time: answer Yes here too."],
    });
    assert.deepEqual(outcome({ rosc_at_handover: true, rosc_any_time: true }), {});
  });

  it("refuses ROSC at handover together with CPR ongoing at handover, on CPR ongoing", () => {
    assert.deepEqual(outcome({ rosc_any_time: true, rosc_at_handover: true, ongoing_cpr_at_handover: true }), {
      ongoing_cpr_at_handover: ["'CPR ongoing at handover' cannot be Yes when 'ROSC at handover' is Yes: answer No to one of them."],
    });
    assert.deepEqual(outcome({ rosc_any_time: true, rosc_at_handover: false, ongoing_cpr_at_handover: true }), {});
    assert.deepEqual(outcome({ rosc_any_time: true, rosc_at_handover: true, ongoing_cpr_at_handover: null }), {});
  });

  it("needs a reason when resuscitation was not attempted, and then no shocks or compressions", () => {
    assert.deepEqual(outcome({ resuscitation_attempted: false }), { not_attempted_reason: ["Say why resuscitation was not attempted."] });
    assert.deepEqual(outcome({ resuscitation_attempted: false, not_attempted_reason: "dnacpr", crew_shocks: 1, compressions: true }), {
      crew_shocks: ["Resuscitation was not attempted, so the crew gave no shocks: enter 0."],
      compressions: ["Resuscitation was not attempted, so the crew gave no compressions."],
    });
    // The reason is only asked (and only sent) when resuscitation was not attempted.
    const values = { ...valuesFrom("outcome", {}), resuscitation_attempted: true, not_attempted_reason: "dnacpr" };
    assert.deepEqual(validate("outcome", values, { now: NOW }), {});
    assert.equal(postBody("outcome", values).not_attempted_reason, undefined);
  });

  it("refuses counts below zero or not whole", () => {
    assert.deepEqual(outcome({ public_defibrillator_shocks: -1 }), { public_defibrillator_shocks: ["Enter a whole number, 0 or more."] });
    assert.deepEqual(outcome({ crew_shocks: 1.5, first_rhythm: "shock_advised" }).crew_shocks, ["Enter a whole number, 0 or more."]);
  });

  it("limits notes to 1000 characters, saying so", () => {
    assert.deepEqual(check("welfare", { impact: "2", notes: "x".repeat(1000) }), {});
    assert.deepEqual(check("welfare", { impact: "2", notes: "x".repeat(1001) }), { notes: ["Notes can be at most 1000 characters (these are 1001)."] });
  });
});

describe("the outcome at handover: yes, no or not known", () => {
  const HANDOVER = ["rosc_any_time", "rosc_at_handover", "ongoing_cpr_at_handover", "resuscitation_stopped"];
  // Not known since migration 0009, as the outcome at handover.
  const CREW_ACTIONS = ["collapse_time_estimated", "compressions", "defibrillator_applied"];

  it("offers 'Not known' for the questions the server takes null for, and only those", () => {
    const nullable = fieldsOf("outcome").filter((field) => field.type === "bool" && field.nullable).map((field) => field.name);
    assert.deepEqual(nullable, [...CREW_ACTIONS, ...HANDOVER]);
    assert.equal(fieldsOf("attendance").find((field) => field.name === "attended").nullable, false);
  });

  it("sends nothing for an unanswered question (the server stores not known), and null to clear an answer", () => {
    const values = { ...valuesFrom("outcome", {}), resuscitation_attempted: true, rosc_any_time: true };
    const body = postBody("outcome", values);
    assert.equal(body.rosc_any_time, true);
    for (const name of HANDOVER.slice(1)) assert.equal(name in body, false, name);
    const record = { rosc_any_time: true, rosc_at_handover: false };
    assert.deepEqual(patchBody("outcome", { ...valuesFrom("outcome", record), rosc_at_handover: null }, record), { rosc_at_handover: null });
  });
});

describe("the crew's compressions and defibrillator, and an estimated collapse time: yes, no or not known", () => {
  it("sends nothing for an unanswered question (the server stores not known), never false, and null to clear an answer", () => {
    const values = { ...valuesFrom("outcome", { collapse_at: at(-40) }), resuscitation_attempted: true };
    const body = postBody("outcome", values);
    for (const name of ["compressions", "defibrillator_applied", "collapse_time_estimated"]) assert.equal(name in body, false, name);
    const record = { resuscitation_attempted: true, compressions: true, defibrillator_applied: false };
    assert.deepEqual(patchBody("outcome", { ...valuesFrom("outcome", record), compressions: null }, record), { compressions: null });
  });

  it("refuses crew shocks with the crew's defibrillator not known, as with No, on the shocks", () => {
    assert.deepEqual(outcome({ crew_shocks: 1, first_rhythm: "shock_advised", defibrillator_applied: null }), {
      crew_shocks: ["Shocks need the crew's defibrillator applied: answer Yes there."],
    });
    assert.deepEqual(outcome({ crew_shocks: 0, defibrillator_applied: null }), {});
  });

  it("accepts compressions not known when resuscitation was not attempted (only Yes is refused)", () => {
    assert.deepEqual(outcome({ resuscitation_attempted: false, not_attempted_reason: "dnacpr", compressions: null }), {});
  });

  it("no longer keeps 'estimated' once the collapse time is cleared: a change sends it as not known", () => {
    const record = { resuscitation_attempted: true, collapse_at: at(-40), collapse_time_estimated: true };
    assert.deepEqual(patchBody("outcome", { ...valuesFrom("outcome", record), collapse_at: null }, record), { collapse_at: null, collapse_time_estimated: null });
  });
});

describe("what is sent", () => {
  it("posts the answered fields in the API's types", () => {
    const values = valuesFrom("welfare", { impact: 4 });
    assert.equal(values.impact, "4", "a radio group holds strings");
    assert.deepEqual(postBody("welfare", { ...values, follow_up: "trim" }), { impact: 4, follow_up: "trim" });
  });

  it("patches only what changed (a time given again in another form is no change)", () => {
    const record = { id: 1, version: 1, attended: true, appliance: "21P1", mobile_at: "2026-03-01T11:00:00+00:00", notes: "" };
    const values = { ...valuesFrom("attendance", record), mobile_at: "2026-03-01T11:00:00.000Z", appliance: "21P2" };
    assert.deepEqual(patchBody("attendance", values, record), { appliance: "21P2" });
    assert.deepEqual(patchBody("attendance", { ...values, mobile_at: null }, record), { appliance: "21P2", mobile_at: null });
  });

  it("puts the server's messages on their fields, and unknown ones on the form", () => {
    assert.deepEqual(serverErrors("outcome", { handover_at: ["Handover is before arrival."], non_field_errors: ["Odd."], reason: "Say why." }), {
      handover_at: ["Handover is before arrival."],
      form: ["Odd."],
      reason: ["Say why."],
    });
  });

  it("shows times in the phone's local time and sends them back as the same instant", () => {
    const iso = "2026-03-01T11:05:09+00:00";
    const shown = toLocalInput(iso);
    assert.match(shown, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/);
    assert.equal(Date.parse(fromLocalInput(shown)), Date.parse(iso));
    assert.equal(toLocalInput(null), "");
    assert.equal(fromLocalInput(""), null);
  });
});

describe("where a form stands", () => {
  const record = { id: 9, version: 2, locked: false };
  it("maps the record and the outbox to not started, pending, accepted or needs attention", () => {
    assert.equal(formStatus(null, null).state, NOT_STARTED);
    assert.equal(formStatus(null, { state: "pending" }).state, PENDING);
    assert.equal(formStatus(record, { state: "pending" }).state, PENDING, "a change waiting to be sent");
    assert.deepEqual(formStatus(record, null), { state: ACCEPTED, text: "Version 2" });
    assert.equal(formStatus({ ...record, locked: true }, null).text, "Version 2 · locked");
    assert.deepEqual(formStatus(null, { state: "rejected", last_code: "invalid", last_error: "The request has errors: see fields." }), {
      state: ATTENTION,
      text: "Some answers need correcting: open the form to see which.",
    });
    assert.deepEqual(formStatus(null, { state: "rejected", last_code: "permission_denied", last_error: "Only the crew lead submits the outcome form." }), {
      state: ATTENTION,
      text: "Only the crew lead submits the outcome form.",
    });
    assert.equal(formStatus(record, { state: "conflict", last_error: "Locked." }).state, ATTENTION);
  });

  it("has a title and an introduction for every form", () => {
    for (const kind of KINDS) assert.ok(FORMS[kind].title && FORMS[kind].intro, kind);
  });
});

describe("the Utstein core (issue 16)", () => {
  it("offers the new items, each optional", () => {
    const names = fieldsOf("outcome").map((field) => field.name);
    for (const name of ["presumed_cause", "collapse_at", "collapse_time_estimated", "public_defibrillator_first_shock_at", "first_cpr_at", "first_shock_any_at"]) {
      assert.ok(names.includes(name), name);
      assert.equal(fieldsOf("outcome").find((field) => field.name === name).required, false, name);
    }
    assert.deepEqual(outcome({}), {});
  });

  it("asks for a public defibrillator's shock time only once it was applied, and needs its shocks", () => {
    const field = fieldsOf("outcome").find((item) => item.name === "public_defibrillator_first_shock_at");
    assert.equal(field.showIf({ public_defibrillator_applied: "no" }), false);
    assert.equal(field.showIf({ public_defibrillator_applied: "yes" }), true);
    const errors = outcome({ public_defibrillator_applied: "yes", public_defibrillator_first_shock_at: at(-30) });
    assert.match(errors.public_defibrillator_first_shock_at[0], /at least one shock/);
    assert.deepEqual(outcome({ public_defibrillator_applied: "yes", public_defibrillator_shocks: 1, public_defibrillator_first_shock_at: at(-30) }), {});
  });

  it("refuses a first CPR before the collapse, on the first CPR", () => {
    const errors = outcome({ collapse_at: at(-30), first_cpr_at: at(-40) });
    assert.match(errors.first_cpr_at[0], /cannot be before/);
  });

  it("hides the first CPR time when nobody gave CPR, and does not send it", () => {
    const values = { ...valuesFrom("outcome", {}), resuscitation_attempted: true, first_cpr_by: "nobody", first_cpr_at: at(-10) };
    assert.equal("first_cpr_at" in postBody("outcome", values), false);
  });
});

describe("the forms of a call in the list", () => {
  const notStarted = formStatus(null, null);

  it("does not ask for the crew's outcome when nobody of the crew attended", () => {
    // Found by trying the product: a crew stood down on the way read "Outcome: Not started" for good.
    const entry = { outcome_expected: false };
    assert.equal(listedFormStatus(entry, "outcome", notStarted).state, NOT_NEEDED);
    assert.equal(listedFormStatus(entry, "attendance", notStarted).state, NOT_STARTED, "their own attendance is still asked");
  });

  it("shows what was written or queued anyway, and asks as before when the crew attended", () => {
    const queued = formStatus(null, { state: "pending" });
    assert.equal(listedFormStatus({ outcome_expected: false }, "outcome", queued).state, PENDING);
    assert.equal(listedFormStatus({ outcome_expected: true }, "outcome", notStarted).state, NOT_STARTED);
    assert.equal(listedFormStatus({}, "outcome", notStarted).state, NOT_STARTED, "a saved list from before the field");
  });
});

describe("the forms still to fill after calls (home's prompt)", () => {
  // Found by trying the product: after logging in afresh, home said nothing of the forms owed.
  const notStarted = formStatus(null, null);
  const accepted = formStatus({ version: 1, locked: false }, null);
  const pending = formStatus(null, { state: "pending" });
  const refused = formStatus(null, { state: "rejected", last_code: "invalid" });
  const listed = (entry, statuses) => Object.fromEntries(KINDS.map((kind) => [kind, listedFormStatus(entry, kind, statuses[kind])]));

  it("counts the forms not started, and those refused that wait to be corrected", () => {
    const entry = { outcome_expected: true, is_crew_lead: true };
    assert.deepEqual(formsToFill(entry, listed(entry, { attendance: notStarted, outcome: refused, welfare: notStarted })), ["attendance", "outcome", "welfare"]);
  });

  it("does not count a form submitted, or saved on the phone waiting for signal", () => {
    const entry = { outcome_expected: true, is_crew_lead: true };
    assert.deepEqual(formsToFill(entry, listed(entry, { attendance: accepted, outcome: pending, welfare: notStarted })), ["welfare"]);
  });

  it("does not count the outcome when it is not needed, nor when the crew lead files it", () => {
    const stoodDownOnTheWay = { outcome_expected: false, is_crew_lead: true };
    assert.deepEqual(formsToFill(stoodDownOnTheWay, listed(stoodDownOnTheWay, { attendance: notStarted, outcome: notStarted, welfare: accepted })), ["attendance"]);
    const notTheLead = { outcome_expected: true, is_crew_lead: false };
    assert.deepEqual(formsToFill(notTheLead, listed(notTheLead, { attendance: accepted, outcome: notStarted, welfare: accepted })), []);
    assert.deepEqual(formsToFill({}, listed({}, { attendance: accepted, outcome: notStarted, welfare: accepted })), ["outcome"], "a saved list from before the fields");
  });

  it("says how many, and nothing for none", () => {
    assert.equal(formsToFillText(0), "");
    assert.equal(formsToFillText(1), "1 form to fill after a call");
    assert.equal(formsToFillText(2), "2 forms to fill after calls");
  });
});
