// Who fills in the crew's outcome form, as the forms list, home's prompt and the call's forms page
// show it: the server decides (the crew lead who attended, else the first of the crew to arrive;
// backend/records/access.py outcome_duty) and every screen says the same. Found by a browser
// trial: the only crew lead who accepted never got there; the firefighter who did was told "filled
// in by your crew lead", the lead's list said "Not needed" while his forms page offered "Fill in",
// and nobody was asked for the outcome.

import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  ACCEPTED,
  CHECKING,
  DUTY_NOT_KNOWN,
  KINDS,
  NOT_NEEDED,
  NOT_STARTED,
  PENDING,
  STATUS_LABELS,
  formStatus,
  formsToFill,
  listedFormStatus,
  outcomeDutyHint,
  outcomeReadOnlyText,
  pageFormStatus,
} from "../../pwa/app/records-rules.js";

const notStarted = formStatus(null, null);
const accepted = formStatus({ version: 1, locked: false }, null);
const listed = (entry, statuses) => Object.fromEntries(KINDS.map((kind) => [kind, listedFormStatus(entry, kind, statuses[kind])]));
const done = (outcome) => ({ attendance: accepted, outcome, welfare: accepted });

// The trial's call, as the server now answers for each of the two.
const alex = {
  list: { outcome_expected: true, fills_outcome: true, is_crew_lead: false },
  form: { editable: true, outcome_duty: { expected: true, fills_it: true, filled_in_by: ["Alex Cole"] } },
};
const chrisSameCrew = {
  list: { outcome_expected: true, fills_outcome: false, is_crew_lead: true },
  form: { editable: false, outcome_duty: { expected: true, fills_it: false, filled_in_by: ["Alex Cole"] } },
};
const chrisOwnCrewNeverThere = {
  list: { outcome_expected: false, fills_outcome: true, is_crew_lead: true },
  form: { editable: true, outcome_duty: { expected: false, fills_it: true, filled_in_by: ["Chris Ellis"] } },
};

describe("who is asked for the crew's outcome form", () => {
  it("asks the firefighter who attended when the crew lead did not, though not a crew lead", () => {
    assert.deepEqual(formsToFill(alex.list, listed(alex.list, done(notStarted))), ["outcome"]);
    assert.equal(outcomeDutyHint(alex.form), "You fill in your crew's outcome form.");
  });

  it("does not ask a crew lead who did not attend, and names who fills it in", () => {
    assert.deepEqual(formsToFill(chrisSameCrew.list, listed(chrisSameCrew.list, done(notStarted))), []);
    // "You can read it" once there is something to read (the eleventh trial); before, the status names them.
    assert.equal(outcomeDutyHint({ ...chrisSameCrew.form, record: { version: 1 } }), "Filled in by Alex Cole: you can read it.");
    assert.equal(outcomeDutyHint(chrisSameCrew.form, notStarted), null);
    assert.equal(pageFormStatus(chrisSameCrew.form, "outcome", notStarted).text, "Alex Cole fills this in; not submitted yet.");
    assert.equal(
      outcomeReadOnlyText(chrisSameCrew.form),
      "Alex Cole submits your crew's outcome form. You can read what they submitted; ask them to correct anything that is wrong.",
    );
  });

  it("goes by is_crew_lead for a list saved before fills_outcome, and asks when it has neither", () => {
    const before = { outcome_expected: true, is_crew_lead: false };
    assert.deepEqual(formsToFill(before, listed(before, done(notStarted))), []);
    assert.deepEqual(formsToFill({}, listed({}, done(notStarted))), ["outcome"]);
  });
});

describe("the forms list and the call's forms page say the same", () => {
  for (const [who, person] of Object.entries({ alex, chrisSameCrew, chrisOwnCrewNeverThere })) {
    it(`for ${who}`, () => {
      // The same state; the page also names who fills it in, which the list does not know.
      assert.equal(pageFormStatus(person.form, "outcome", notStarted).state, listedFormStatus(person.list, "outcome", notStarted).state);
    });
  }

  it("does not show a crew lead who did not attend the crew's outcome as not started, as if owed", () => {
    // Found by the eighth trial: his list read "Outcome: Not started", as the attendee's did.
    const status = listedFormStatus(chrisSameCrew.list, "outcome", notStarted);
    assert.equal(status.state, NOT_NEEDED);
    assert.equal(status.text, "Another member of your crew fills it in.");
    assert.equal(pageFormStatus(chrisSameCrew.form, "outcome", notStarted).state, status.state);
    assert.equal(listedFormStatus(alex.list, "outcome", notStarted).state, NOT_STARTED);
    assert.equal(listedFormStatus(chrisSameCrew.list, "outcome", accepted).state, accepted.state, "what was filed shows as it is");
  });

  it("shows the crew's outcome as not needed on the page when nobody of the crew attended", () => {
    assert.equal(pageFormStatus(chrisOwnCrewNeverThere.form, "outcome", notStarted).state, NOT_NEEDED);
    assert.equal(outcomeDutyHint(chrisOwnCrewNeverThere.form), null, "the status says it; nobody is told it is owed");
    const nobodyToAsk = { editable: false, outcome_duty: { expected: false, fills_it: false, filled_in_by: [] } };
    assert.equal(outcomeReadOnlyText(nobodyToAsk), "Not needed: nobody of your crew attended.");
    assert.equal(pageFormStatus(nobodyToAsk, "attendance", notStarted).state, NOT_STARTED, "their own attendance is still asked");
  });

  it("says nothing of the crew lead on a form kept from before the server said who fills it in", () => {
    assert.equal(outcomeDutyHint({ editable: false, record: { version: 1 } }), "Filled in by another member of your crew: you can read it.");
    assert.equal(outcomeDutyHint({ editable: false, record: null }), null, "nothing to read yet");
    assert.equal(outcomeDutyHint({ editable: true }), null);
    assert.equal(pageFormStatus({ editable: true }, "outcome", notStarted).state, NOT_STARTED);
  });
});

describe("the call's forms page before it knows who fills in the crew's outcome", () => {
  // Found by trying the product: the page said "Not started" (read as owed) until the server's
  // form arrived, then "Not needed" or "Filled in by another member of your crew".
  const queued = formStatus(null, { state: "pending" });

  it("does not say 'Not started' while the form is being asked for and nothing says who fills it in", () => {
    const status = pageFormStatus(undefined, "outcome", notStarted, { checking: true });
    assert.equal(status.state, CHECKING);
    assert.equal(STATUS_LABELS[status.state], "Checking…");
    assert.doesNotMatch(status.text, /not started/i);
  });

  it("says it is not known, not 'Not started', when asking gave nothing (no signal, never kept)", () => {
    const status = pageFormStatus(undefined, "outcome", notStarted);
    assert.equal(status.state, DUTY_NOT_KNOWN);
    assert.equal(STATUS_LABELS[status.state], "Not known yet");
    assert.match(status.text, /you can fill it in now/, "the form is still offered: it can be filled in without signal");
    assert.equal(pageFormStatus(null, "outcome", notStarted, { listed: null }).state, DUTY_NOT_KNOWN);
  });

  it("says who fills it in from the forms list's entry of the call before the form arrives", () => {
    assert.deepEqual(pageFormStatus(undefined, "outcome", notStarted, { listed: chrisSameCrew.list, checking: true }), listedFormStatus(chrisSameCrew.list, "outcome", notStarted));
    assert.equal(pageFormStatus(undefined, "outcome", notStarted, { listed: chrisSameCrew.list, checking: true }).state, NOT_NEEDED);
    assert.equal(pageFormStatus(undefined, "outcome", notStarted, { listed: alex.list, checking: true }).state, NOT_STARTED);
    assert.equal(pageFormStatus(undefined, "outcome", notStarted, { listed: { outcome_expected: false }, checking: true }).state, NOT_NEEDED);
    // A list kept from before fills_outcome does not say who of an attending crew fills it in.
    assert.equal(pageFormStatus(undefined, "outcome", notStarted, { listed: { outcome_expected: true, is_crew_lead: true }, checking: true }).state, CHECKING);
  });

  it("goes by the form (the server's, or the one kept on this phone) before the list's entry", () => {
    const listSaysNotMine = chrisSameCrew.list;
    assert.equal(pageFormStatus(alex.form, "outcome", notStarted, { listed: listSaysNotMine, checking: true }).state, NOT_STARTED);
    assert.equal(pageFormStatus(chrisSameCrew.form, "outcome", notStarted, { listed: alex.list }).state, NOT_NEEDED);
  });

  it("shows what this phone knows of the form itself, and the other forms, as they are", () => {
    assert.equal(pageFormStatus(undefined, "outcome", queued, { checking: true }).state, PENDING);
    assert.equal(pageFormStatus(undefined, "outcome", accepted, { checking: true }).state, ACCEPTED);
    // Their own forms too wait with "Checking…" until something says whether they are owed (the
    // eleventh trial: "Not started", then "Not needed", for one who withdrew).
    assert.equal(pageFormStatus(undefined, "attendance", notStarted, { checking: true }).state, CHECKING);
    assert.equal(pageFormStatus(undefined, "attendance", notStarted).state, NOT_STARTED);
    assert.equal(pageFormStatus(undefined, "welfare", notStarted).state, NOT_STARTED);
  });
});
