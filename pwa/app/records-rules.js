// The after-call forms (attendance, outcome, welfare check-in) as data, and the server's rules
// that are cheap to check on the phone, so a firefighter sees a mistake as they make it rather
// than after the form has waited for signal. Pure: no DOM, no storage (tests/js/records-rules).
// The server stays the judge: its messages (400 "fields") are shown next to the same fields.
//
// Values in a form are plain data: booleans (true/false, null while unanswered: for a question
// the server takes as `nullable`, null is also the answer "not known"), choices (a
// string, "" while unanswered), times (ISO 8601 strings or null), counts (numbers or null),
// text (strings), crew (an array of responder ids).

import { CLOCK_SLACK_MS, FORM_FIELDS } from "./form-schema.js";

export const KINDS = ["attendance", "outcome", "welfare"];
// How long notes may be (the same for every form).
export const NOTES_MAX = FORM_FIELDS.attendance.notes.maxLength;

/**
 * The helpers that make one form's fields. What the server decides (required or not, the choices
 * and their labels, length and number limits) comes from its own field list, through the
 * generated form-schema.js; what is the app's own (the question asked, hints, when a field shows)
 * is given here. tests/records/test_app_modules.py checks the result against the server.
 */
function fieldsFor(kind) {
  const server = (name) => {
    const spec = FORM_FIELDS[kind][name];
    if (!spec) throw new Error(`${kind}.${name} is not a field the server accepts`);
    return spec;
  };
  const base = (name, label, type, extra) => ({ name, label, type, required: server(name).required, ...extra });
  return {
    /** Yes or no; `nullable` (from the server) also offers "Not known", sent and stored as null. */
    bool: (name, label, extra = {}) => base(name, label, "bool", { nullable: Boolean(server(name).nullable), ...extra }),
    choice: (name, label, extra = {}) => base(name, label, "choice", { choices: server(name).choices, ...extra }),
    time: (name, label, extra = {}) => base(name, label, "time", extra),
    count: (name, label, extra = {}) => base(name, label, "count", { maximum: server(name).maximum, ...extra }),
    text: (name, label, extra = {}) => base(name, label, "text", { maxLength: server(name).maxLength, ...extra }),
    crew: (name, label, extra = {}) => base(name, label, "crew", extra),
    notes: (hint) => base("notes", "Notes", "notes", { maxLength: server("notes").maxLength, hint }),
    /** A number on a scale (the server's minimum to maximum), offered as choices with words. */
    scale: (name, label, words, extra = {}) => {
      const { minimum, maximum } = server(name);
      const choices = [];
      for (let n = minimum; n <= maximum; n += 1) choices.push([String(n), `${n}: ${words[n - minimum]}`]);
      return base(name, label, "choice", { choices, ...extra });
    },
  };
}

const attendance = fieldsFor("attendance");
const outcome = fieldsFor("outcome");
const welfare = fieldsFor("welfare");

/** Each form: title, what it is for, and its sections of fields (in the order shown). */
export const FORMS = {
  attendance: {
    title: "Attendance",
    intro: "Who attended, with which appliance, and the times. Times from your answers and the checklist are filled in for you: correct them if they are wrong.",
    sections: [
      { fields: [attendance.bool("attended", "Did you attend this incident?")] },
      {
        legend: "Appliance and role",
        fields: [attendance.text("appliance", "Appliance call sign", { hint: "For example 21P1." }), attendance.choice("role", "Your role")],
      },
      {
        legend: "Times",
        fields: [
          attendance.time("mobile_at", "Mobile"),
          attendance.time("on_scene_at", "On scene"),
          attendance.time("at_patient_at", "At patient"),
          attendance.time("left_scene_at", "Left scene"),
        ],
      },
      { fields: [attendance.notes("No patient names, addresses, dates of birth or NHS numbers.")] },
    ],
  },
  outcome: {
    title: "Outcome",
    intro: "What the crew did and the outcome at handover (Utstein-style). No patient names, dates of birth or addresses: the incident reference links to the ambulance record.",
    sections: [
      {
        legend: "Crew",
        fields: [outcome.text("appliance", "Appliance call sign"), outcome.crew("crew", "Crew members who attended")],
      },
      {
        legend: "Resuscitation",
        fields: [
          outcome.bool("resuscitation_attempted", "Was resuscitation attempted?"),
          outcome.choice("not_attempted_reason", "Why was it not attempted?", { showIf: (values) => values.resuscitation_attempted === false }),
          outcome.choice("location_type", "Where was the patient?"),
          outcome.choice("witnessed", "Who witnessed the collapse?"),
          outcome.choice("presumed_cause", "Presumed cause", { hint: "As the crew judged it on scene. Unknown is fine." }),
        ],
      },
      {
        legend: "The collapse",
        fields: [
          outcome.time("collapse_at", "Time of collapse", { hint: "Leave empty if nobody knows. An estimate is fine: say so below." }),
          outcome.bool("collapse_time_estimated", "Is the collapse time an estimate?", { showIf: (values) => Boolean(values.collapse_at) }),
        ],
      },
      {
        legend: "Before the crew arrived",
        fields: [
          outcome.choice("bystander_cpr", "Bystander CPR"),
          outcome.choice("dispatcher_assisted_cpr", "Dispatcher-assisted CPR"),
          outcome.choice("public_defibrillator_applied", "Public-access defibrillator applied"),
          outcome.count("public_defibrillator_shocks", "Shocks given by the public defibrillator", { hint: "Leave empty if not known." }),
          outcome.time("public_defibrillator_first_shock_at", "Time of the public defibrillator's first shock", {
            hint: "Where known (the defibrillator's own record, or a bystander).",
            showIf: (values) => values.public_defibrillator_applied === "yes",
          }),
        ],
      },
      {
        legend: "What the crew did",
        fields: [
          outcome.bool("compressions", "Chest compressions by the crew"),
          outcome.choice("ventilation", "Ventilation"),
          outcome.bool("defibrillator_applied", "Crew's defibrillator applied"),
          outcome.choice("first_rhythm", "First rhythm (as the defibrillator classed it)"),
          outcome.count("crew_shocks", "Shocks given by the crew"),
        ],
      },
      {
        legend: "Who was first",
        fields: [
          outcome.choice("first_cpr_by", "First to give CPR"),
          outcome.time("first_cpr_at", "Time of the first CPR by anyone", { hint: "Leave empty if not known.", showIf: (values) => values.first_cpr_by !== "nobody" }),
          outcome.choice("first_defibrillator_by", "First to apply a defibrillator"),
          outcome.choice("first_shock_by", "First to give a shock"),
          outcome.time("first_shock_any_at", "Time of the first shock by anyone", { hint: "A public defibrillator's shock too. Leave empty if not known.", showIf: (values) => values.first_shock_by !== "nobody" }),
        ],
      },
      {
        legend: "Times",
        fields: [
          outcome.time("crew_arrived_at", "Crew arrived"),
          outcome.time("cpr_started_at", "CPR started by the crew"),
          outcome.time("pads_on_at", "Pads on"),
          outcome.time("first_shock_at", "First shock"),
          outcome.time("rosc_at", "ROSC"),
          outcome.time("ambulance_arrived_at", "Ambulance arrived"),
          outcome.time("handover_at", "Handover"),
        ],
      },
      {
        legend: "Outcome at handover",
        fields: [
          outcome.bool("rosc_any_time", "ROSC at any time"),
          outcome.bool("rosc_at_handover", "ROSC at handover"),
          outcome.bool("ongoing_cpr_at_handover", "CPR ongoing at handover"),
          outcome.bool("resuscitation_stopped", "Resuscitation stopped"),
        ],
      },
      {
        legend: "Patient (as stated; unknown is fine)",
        fields: [outcome.choice("age_band", "Age band"), outcome.choice("sex", "Sex")],
      },
      { fields: [outcome.notes("No patient names, addresses, dates of birth or NHS numbers.")] },
    ],
  },
  welfare: {
    title: "Welfare check-in",
    intro: "Private: only you and the welfare leads see this, not your managers or the coordinators.",
    sections: [
      {
        fields: [
          welfare.scale("impact", "How affected do you feel by this call?", ["not at all", "a little", "somewhat", "quite a lot", "very much"]),
          welfare.choice("follow_up", "Would you like a follow-up?"),
        ],
      },
      { fields: [welfare.notes("Anything you want the welfare lead to know (optional).")] },
    ],
  },
};

/** Every field of a form, in order. */
export function fieldsOf(kind) {
  return FORMS[kind].sections.flatMap((section) => section.fields);
}

function fieldOf(kind, name) {
  return fieldsOf(kind).find((field) => field.name === name);
}

const EMPTY = { bool: null, choice: "", time: null, count: null, text: "", notes: "", crew: [] };

/** Form values from the server's record (or prefill): every field present, in the form's types. */
export function valuesFrom(kind, source = {}) {
  const values = {};
  for (const field of fieldsOf(kind)) {
    const raw = source?.[field.name];
    if (raw === undefined || raw === null) values[field.name] = Array.isArray(EMPTY[field.type]) ? [] : EMPTY[field.type];
    else if (field.type === "choice") values[field.name] = String(raw);
    else if (field.type === "crew") values[field.name] = Array.isArray(raw) ? raw.map(Number) : [];
    else values[field.name] = raw;
  }
  return values;
}

/** Is the field shown (and sent) for these values? Hidden fields count as empty. */
export function isShown(field, values) {
  return !field.showIf || field.showIf(values);
}

function isEmpty(field, value) {
  if (field.type === "crew") return !value || value.length === 0;
  return value === null || value === undefined || value === "";
}

/** A value as the API takes it (impact is a number there; a choice left empty is ""). */
function apiValue(field, value) {
  if (field.type === "choice" && field.name === "impact") return value === "" ? null : Number(value);
  return value;
}

/** The POST body (without the idempotency key): every answered field that is shown. */
export function postBody(kind, values) {
  const body = {};
  for (const field of fieldsOf(kind)) {
    if (!isShown(field, values) || isEmpty(field, values[field.name])) continue;
    body[field.name] = apiValue(field, values[field.name]);
  }
  return body;
}

/** The PATCH body (without key and reason): only what differs from the record held. */
export function patchBody(kind, values, record) {
  const before = valuesFrom(kind, record);
  const body = {};
  for (const field of fieldsOf(kind)) {
    const value = isShown(field, values) ? values[field.name] : EMPTY[field.type];
    if (JSON.stringify(value) === JSON.stringify(before[field.name])) continue;
    if (field.type === "time" && value && before[field.name] && Date.parse(value) === Date.parse(before[field.name])) continue;
    body[field.name] = apiValue(field, value);
  }
  return body;
}

// --- Rules ---------------------------------------------------------------------------------------

/**
 * Times that must come in this order, each pair [earlier, later] checked when both are given: the
 * orders that cannot happen. The server's TIME_ORDER (backend/records/validation.py), pair for
 * pair (tests/records/test_time_order.py compares the two). Pads on and a shock may come before
 * the crew's CPR: a bystander is still doing compressions.
 */
export const TIME_ORDER = {
  attendance: [
    ["mobile_at", "on_scene_at"],
    ["on_scene_at", "at_patient_at"],
    ["at_patient_at", "left_scene_at"],
    ["mobile_at", "at_patient_at"],
    ["mobile_at", "left_scene_at"],
    ["on_scene_at", "left_scene_at"],
  ],
  outcome: [
    ["crew_arrived_at", "cpr_started_at"],
    ["crew_arrived_at", "pads_on_at"],
    ["pads_on_at", "first_shock_at"],
    ["crew_arrived_at", "first_shock_at"],
    ["crew_arrived_at", "rosc_at"],
    ["crew_arrived_at", "handover_at"],
    ["ambulance_arrived_at", "handover_at"],
    ["rosc_at", "handover_at"],
    ["collapse_at", "first_cpr_at"],
    ["collapse_at", "first_shock_any_at"],
    ["collapse_at", "public_defibrillator_first_shock_at"],
    ["collapse_at", "rosc_at"],
    ["first_cpr_at", "cpr_started_at"],
    ["first_shock_any_at", "first_shock_at"],
    ["first_shock_any_at", "public_defibrillator_first_shock_at"],
  ],
  welfare: [],
};

const SECOND_MS = 1000;
const MINUTE_MS = 60 * SECOND_MS;

/**
 * Was this time (milliseconds since 1970) given to the minute? A person types minutes (the
 * phone's picker leaves the seconds at 0) while the checklist's taps carry seconds, so a pair in
 * which either time has no seconds is compared to the minute: 17:49 typed beside a tapped 17:49:17
 * is in order. The server decides the same from the same value (is_to_the_minute in
 * backend/records/validation.py), which is all a stored record keeps.
 */
export const isToTheMinute = (at) => at % MINUTE_MS === 0;

function add(errors, name, message) {
  (errors[name] ||= []).push(message);
}

/** "Crew arrived" -> "crew arrived" in the middle of a sentence; "ROSC" stays "ROSC". */
const lower = (label) => (/^[A-Z]{2}/.test(label) ? label : label.charAt(0).toLowerCase() + label.slice(1));

function checkTimes(kind, values, now, errors) {
  for (const field of fieldsOf(kind).filter((item) => item.type === "time")) {
    const value = values[field.name];
    if (!value) continue;
    const at = Date.parse(value);
    if (Number.isNaN(at)) add(errors, field.name, "Enter a date and time.");
    else if (at > now.getTime() + CLOCK_SLACK_MS) add(errors, field.name, `${field.label} cannot be in the future.`);
  }
  const when = (name) => (values[name] ? Date.parse(values[name]) : NaN);
  for (const [earlier, later] of TIME_ORDER[kind]) {
    let first = when(earlier);
    let second = when(later);
    if (Number.isNaN(first) || Number.isNaN(second) || errors[later]) continue;
    // To the minute (isToTheMinute), else to the second: the time box shows seconds, never
    // milliseconds, so "Left scene" typed as the box shows a tapped "On scene" (17:49:17 beside
    // 17:49:17.412) is the same time, not before it. The server compares the same (time_order_key).
    const unit = isToTheMinute(first) || isToTheMinute(second) ? MINUTE_MS : SECOND_MS;
    first = Math.floor(first / unit);
    second = Math.floor(second / unit);
    if (second < first) add(errors, later, `${fieldOf(kind, later).label} cannot be before ${lower(fieldOf(kind, earlier).label)}.`);
  }
}

function checkCount(field, values, errors) {
  const value = values[field.name];
  if (value === null || value === undefined || value === "") return;
  if (!Number.isInteger(Number(value)) || Number(value) < 0) add(errors, field.name, "Enter a whole number, 0 or more.");
  else if (field.maximum !== null && field.maximum !== undefined && Number(value) > field.maximum) {
    add(errors, field.name, `Enter a whole number, at most ${field.maximum}.`);
  }
}

function checkOutcome(values, errors) {
  checkCount(fieldOf("outcome", "public_defibrillator_shocks"), values, errors);
  checkCount(fieldOf("outcome", "crew_shocks"), values, errors);
  const shocks = Number(values.crew_shocks) || 0;
  const attempted = values.resuscitation_attempted;
  if (attempted === false) {
    if (!values.not_attempted_reason) add(errors, "not_attempted_reason", "Say why resuscitation was not attempted.");
    if (shocks > 0) add(errors, "crew_shocks", "Resuscitation was not attempted, so the crew gave no shocks: enter 0.");
    if (values.compressions === true) add(errors, "compressions", "Resuscitation was not attempted, so the crew gave no compressions.");
  }
  // Not known (null) is refused too, as the server does: a shock by the crew means its defibrillator
  // was applied. The first rhythm is not checked against the shocks, as the server does not: one
  // classed "no shock advised" can become shockable later and be shocked, and it may not be known
  // (the checklist's shock tapped without its analysis: found by the ninth trial of the product).
  if (shocks > 0 && !errors.crew_shocks && values.defibrillator_applied !== true) {
    add(errors, "crew_shocks", "Shocks need the crew's defibrillator applied: answer Yes there.");
  }
  if (values.first_shock_at && shocks === 0) add(errors, "first_shock_at", "A first shock time needs at least one crew shock.");
  if (values.public_defibrillator_first_shock_at && values.public_defibrillator_applied === "yes" && !(Number(values.public_defibrillator_shocks) > 0)) {
    add(errors, "public_defibrillator_first_shock_at", "A public defibrillator's shock time needs at least one shock by it: give the number of shocks.");
  }
  if (values.rosc_at_handover === true && values.rosc_any_time !== true) {
    add(errors, "rosc_any_time", "ROSC at handover means there was ROSC at some time: answer Yes here too.");
  }
  // Each may be not known (null); only two answers that cannot both be true are refused.
  if (values.rosc_at_handover === true && values.ongoing_cpr_at_handover === true) {
    add(errors, "ongoing_cpr_at_handover", "'CPR ongoing at handover' cannot be Yes when 'ROSC at handover' is Yes: answer No to one of them.");
  }
}

const REQUIRED_MESSAGES = {
  attended: "Say whether you attended.",
  resuscitation_attempted: "Say whether resuscitation was attempted.",
  impact: "Choose how affected you feel, from 1 to 5.",
};

/**
 * What is wrong with these values: {field: [message, ...]}, empty when nothing is. Only fields
 * that are shown are checked. `now` is the phone's clock (for "not in the future").
 */
export function validate(kind, values, { now = new Date() } = {}) {
  const errors = {};
  for (const field of fieldsOf(kind)) {
    if (field.required && isEmpty(field, values[field.name])) add(errors, field.name, REQUIRED_MESSAGES[field.name]);
    // Notes have their own message below, which says how long they are.
    if (field.type !== "notes" && field.maxLength && String(values[field.name] || "").length > field.maxLength) {
      add(errors, field.name, `${field.label} can be at most ${field.maxLength} characters.`);
    }
  }
  const length = String(values.notes || "").length;
  if (length > NOTES_MAX) add(errors, "notes", `Notes can be at most ${NOTES_MAX} characters (these are ${length}).`);
  checkTimes(kind, values, now, errors);
  if (kind === "outcome") checkOutcome(values, errors);
  for (const field of fieldsOf(kind)) if (!isShown(field, values)) delete errors[field.name];
  return errors;
}

/** The server's 400 `fields` as {field: [message]}; a message for no known field goes to "form". */
export function serverErrors(kind, fields) {
  const known = new Set(fieldsOf(kind).map((field) => field.name));
  const errors = {};
  for (const [name, messages] of Object.entries(fields || {})) {
    const list = (Array.isArray(messages) ? messages : [messages]).map(String);
    if (name === "reason") (errors.reason ||= []).push(...list);
    else (errors[known.has(name) ? name : "form"] ||= []).push(...list);
  }
  return errors;
}

// --- Where a form stands -------------------------------------------------------------------------

export const NOT_STARTED = "not_started";
export const PENDING = "pending";
export const ACCEPTED = "accepted";
export const ATTENTION = "attention";

/**
 * One form's state for the list screen, from the record the server holds (or null) and the
 * newest item of this phone's outbox for it (or null):
 *   not_started  nothing sent, nothing queued
 *   pending      saved on this phone, not yet accepted by the server
 *   accepted     the server holds it (with its version)
 *   attention    the server refused what was sent (409/400): its message
 */
export function formStatus(record, item) {
  if (item && item.state === "pending") {
    return { state: PENDING, text: record ? "Change saved on this phone, waiting to be sent" : "Saved on this phone, waiting to be sent" };
  }
  if (item && (item.state === "rejected" || item.state === "conflict")) {
    if (item.last_code === "invalid") return { state: ATTENTION, text: "Some answers need correcting: open the form to see which." };
    return { state: ATTENTION, text: item.last_error || "The server refused it: open the form to see why." };
  }
  if (record) {
    const locked = record.locked ? " · locked" : "";
    // "Accepted" is the chip's: the line under it adds only the version (found by the eleventh
    // trial: "Accepted" then "Sent and accepted (version 1)").
    return { state: ACCEPTED, text: `Version ${record.version}${locked}` };
  }
  return { state: NOT_STARTED, text: "Not started" };
}

export const NOT_NEEDED = "not_needed";
// The crew's outcome on the call's forms page while nothing says who of the crew fills it in:
// being asked (CHECKING), or not known once asked (DUTY_NOT_KNOWN: no signal and never kept, or
// the server's error). Neither claims the form is owed, nor that it is not (pageFormStatus).
export const CHECKING = "checking";
export const DUTY_NOT_KNOWN = "duty_not_known";
const DUTY_NOT_KNOWN_TEXT = "Who of your crew fills it in could not be checked. If it is you, you can fill it in now.";

export const STATUS_LABELS = {
  [NOT_STARTED]: "Not started",
  [PENDING]: "Pending",
  [ACCEPTED]: "Accepted",
  [ATTENTION]: "Needs attention",
  [NOT_NEEDED]: "Not needed",
  [CHECKING]: "Checking…",
  [DUTY_NOT_KNOWN]: "Not known yet",
};

// One who never set off (the server's never_set_off): not "You could not attend after all" to one
// who was stood down, or whose call was cancelled, before setting off.
export const NEVER_SET_OFF_TEXT = "You did not set off for this call; you can still fill it in.";

/**
 * The list screen's state of a form of one call (GET records/'s `entry`), from formStatus's: the
 * crew's outcome is not owed when nobody of the crew attended (`outcome_expected` false: stood down
 * on the way), unless something was written or queued for it anyway. An entry from before that
 * field (a phone's saved copy) is taken as owing it.
 */
export function listedFormStatus(entry, kind, status) {
  // Their own forms are not owed by one whose alert ended before they set off (withdrew, stood
  // down, the call cancelled or closed: `own_forms_expected` false): home asked them for an
  // attendance form and a welfare check-in (found by the ninth trial of the product, and by a later
  // browser trial for a stand-down or a cancel). They can still fill either in.
  if (kind !== "outcome" && status.state === NOT_STARTED && entry?.own_forms_expected === false) {
    return { state: NOT_NEEDED, text: NEVER_SET_OFF_TEXT };
  }
  if (kind === "outcome" && status.state === NOT_STARTED && entry?.outcome_expected === false) {
    return { state: NOT_NEEDED, text: "Nobody of your crew attended." };
  }
  // Owed, but by another of the crew (`fills_outcome` false): not "Not started" on this one's list,
  // which read as a form they still owed (found by the eighth trial of the product).
  if (kind === "outcome" && status.state === NOT_STARTED && entry?.fills_outcome === false) {
    return { state: NOT_NEEDED, text: "Another member of your crew fills it in." };
  }
  // A call listed from this phone's alerts (`known_here`, outbox.js callsKnownHere): who of the
  // crew fills in its outcome is the server's to say, so not known, as on the call's forms page.
  if (kind === "outcome" && status.state === NOT_STARTED && entry?.known_here && typeof entry.fills_outcome !== "boolean") {
    return { state: DUTY_NOT_KNOWN, text: DUTY_NOT_KNOWN_TEXT };
  }
  return status;
}

// What still asks for the firefighter: never started, or refused by the server and waiting to be
// corrected. Sent, saved on this phone (pending) and not needed are done with, as far as they go.
const TO_FILL = new Set([NOT_STARTED, ATTENTION]);

/**
 * Does this firefighter fill in the crew's outcome form of this call (GET records/'s `entry`)?
 * The server says (`fills_outcome`: the crew lead who attended, else the first of the crew to
 * arrive); a saved list from before that field goes by `is_crew_lead`, as it did then, and one from
 * before both is asked.
 */
export function fillsOutcome(entry) {
  if (typeof entry?.fills_outcome === "boolean") return entry.fills_outcome;
  return entry?.is_crew_lead !== false;
}

/**
 * The kinds of form of one call (GET records/'s `entry`) the firefighter still has to fill in,
 * from each form's state as the list shows it (`statuses`: kind -> listedFormStatus's). The crew's
 * outcome only for the one who fills it in (fillsOutcome). Home prompts with the count, since a
 * firefighter who logs in afresh saw the forms owed only by opening the list (found by trying the
 * product).
 */
export function formsToFill(entry, statuses) {
  return KINDS.filter((kind) => (kind !== "outcome" || fillsOutcome(entry)) && TO_FILL.has(statuses[kind]?.state));
}

/**
 * A form's state on the call's forms page, from formStatus's and the form as the server gave it
 * (GET alerts/{id}/{kind}/, or as this phone kept it): the same as the forms list shows
 * (listedFormStatus), from the same answer of the server (`outcome_duty.expected` there,
 * `outcome_expected` in the list). Found by a trial of the product: the list said "Not needed"
 * while the page offered to fill it in.
 *
 * Until a form says who of the crew fills in the outcome, the call's entry of the forms list
 * (`listed`: GET records/'s, which has `outcome_expected` and `fills_outcome`) does. With neither,
 * the crew's outcome not started is not shown as "Not started", which a firefighter reads as owed
 * (the page said so for a moment, then "Not needed" or "Filled in by another member of your
 * crew"): CHECKING while the form is being asked for (`checking`), else DUTY_NOT_KNOWN. Both
 * still open the form, which can be filled in without signal.
 */
export function pageFormStatus(form, kind, status, { listed = null, checking = false } = {}) {
  // Their own forms: owed unless they withdrew before setting off, as the form (the server's, or
  // the one kept) says, else the list's entry; with neither, "Checking…" while the form is asked
  // for, never "Not started" first (found by the eleventh trial: "Not started", then "Not needed").
  if (kind !== "outcome") {
    if (typeof form?.own_forms_expected === "boolean") return listedFormStatus({ own_forms_expected: form.own_forms_expected }, kind, status);
    if (typeof listed?.own_forms_expected === "boolean") return listedFormStatus(listed, kind, status);
    if (checking && status.state === NOT_STARTED) return { state: CHECKING, text: "Asking the server whether you owe it." };
    return status;
  }
  const duty = form?.outcome_duty;
  if (duty && !duty.fills_it && duty.expected && status.state === NOT_STARTED && duty.filled_in_by.length && !form.record) {
    // Named, and nothing submitted: not "filled in by them, you can read it" (eleventh trial).
    return { state: NOT_NEEDED, text: `${duty.filled_in_by.join(" or ")} fills this in; not submitted yet.` };
  }
  if (duty) return listedFormStatus({ outcome_expected: duty.expected, fills_outcome: duty.fills_it }, kind, status);
  if (kind !== "outcome" || status.state !== NOT_STARTED || form) return status; // a form kept from before outcome_duty: as it was
  if (listed && (listed.outcome_expected === false || typeof listed.fills_outcome === "boolean")) return listedFormStatus(listed, kind, status);
  if (checking) return { state: CHECKING, text: "Asking the server who of your crew fills it in." };
  return { state: DUTY_NOT_KNOWN, text: DUTY_NOT_KNOWN_TEXT };
}

/** Is there a crew's outcome to read: the form holds a record, or this phone knows one accepted. */
export function outcomeSubmitted(form, status) {
  return Boolean(form?.record) || status?.state === ACCEPTED;
}

/**
 * What the call's forms page says under the crew's outcome form of who fills it in, or null.
 * `form`: as the server gave it (its `outcome_duty`); a form kept from before that field says
 * only that someone else fills it in when it cannot be changed. "You can read it" only once there
 * is something to read (`status`: the form's, formStatus's): before, the status names who fills it
 * in (found by the eleventh trial: "Filled in by Mo Kemp: you can read it" of nothing submitted).
 */
export function outcomeDutyHint(form, status = null) {
  const duty = form?.outcome_duty;
  const submitted = outcomeSubmitted(form, status);
  if (!duty) return form?.editable === false && submitted ? "Filled in by another member of your crew: you can read it." : null;
  if (duty.fills_it) return duty.expected ? "You fill in your crew's outcome form." : null;
  if (!duty.filled_in_by.length || !submitted) return null; // the status says so
  return `Filled in by ${duty.filled_in_by.join(" or ")}: you can read it.`;
}

/** The hint beside a prefilled field that is an estimate (the server's `prefill_estimated`: "Left
 *  scene" from when the call ended for one who never pressed "Leaving"), or null. Only on a form
 *  not yet submitted, whose value is still the prefill. */
export function estimateHint(data, name, value) {
  if (!data || data.record || !(data.prefill_estimated || []).includes(name)) return null;
  const prefilled = data.prefill?.[name];
  if (!prefilled || !value || Date.parse(prefilled) !== Date.parse(value)) return null;
  return "Filled in for you from when the call ended for you: an estimate. Change it if you left at another time.";
}

/** Why the outcome form's page shows it read-only to someone who does not fill it in. */
export function outcomeReadOnlyText(form) {
  const duty = form?.outcome_duty;
  const ask = "You can read what they submitted; ask them to correct anything that is wrong.";
  if (!duty) return `Another member of your crew submits the outcome form. ${ask}`;
  if (!duty.filled_in_by.length) return "Not needed: nobody of your crew attended.";
  return `${duty.filled_in_by.join(" or ")} submits your crew's outcome form. ${ask}`;
}

/** Home's prompt for `count` forms still to fill ("" for none). */
export function formsToFillText(count) {
  if (!count) return "";
  return count === 1 ? "1 form to fill after a call" : `${count} forms to fill after calls`;
}

// --- Times in <input type="datetime-local"> ------------------------------------------------------

const pad = (n) => String(n).padStart(2, "0");

/** An ISO time as the phone's local "YYYY-MM-DDTHH:MM:SS" (what datetime-local shows); "" if none. */
export function toLocalInput(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

/** A datetime-local value (the phone's local time) as ISO 8601 in UTC; null if empty or invalid. */
export function fromLocalInput(text) {
  if (!text) return null;
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}
