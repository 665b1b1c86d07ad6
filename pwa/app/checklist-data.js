// The CPR/AED checklist is versioned data from the server (GET /api/v1/checklist/, shaped by
// backend/schemas/checklist.schema.json), signed off by a clinician (its sign_off); the app never
// hard-codes its steps. A version that is not approved (development serves drafts) is shown under a
// "not clinically approved" banner. A copy is kept for use without signal (it holds no personal or health
// data). Everything read from it is checked, so an unexpected shape shows less rather than
// breaking the screen used during CPR.

import { BPM_DEFAULT, BPM_MAX, BPM_MIN, clampBpm } from "./metronome.js";
import { EVENT_TYPES } from "./format.js";

const CACHE_KEY = "coresponder.checklist";
export const DEFAULT_CYCLE_PROMPT = "2 minutes: analyse rhythm and swap the person doing compressions.";

// The variants the crew chooses between, in the order the screen offers them.
export const VARIANTS = ["adult", "child", "infant"];
const VARIANT_LABELS = { adult: "Adult", child: "Child", infant: "Infant" };

// How a call can end for a firefighter, as the content's notices name it (`applies_to`): the
// incident cancelled, the firefighter stood down, the incident closed by control.
export const ENDINGS = ["cancelled", "stood_down", "closed"];
// The content's notice for a call that ends while the crew is on scene. What it says about CPR is
// clinical guidance: signed content, never the app's own words (docs/clinical-content.md).
export const CALL_ENDED_ON_SCENE = "call_ended_on_scene";

// What each event may carry when the checklist (and so its events[].data) is not available:
// the same as checklist version 1.0.
const FALLBACK_EVENT_DATA = {
  analysis: ["advice", "patient"],
  shock: ["shock_number", "patient"],
};

function text(value) {
  if (typeof value === "string") return value.trim();
  if (typeof value === "number") return String(value);
  return "";
}

function textList(value) {
  if (typeof value === "string") return value.trim() ? [value.trim()] : [];
  if (Array.isArray(value)) return value.map(text).filter(Boolean);
  return [];
}

function sourceText(source) {
  if (typeof source === "string") return source.trim();
  if (source && typeof source === "object") {
    return text(source.guidelines) || [text(source.title) || text(source.name), text(source.year)].filter(Boolean).join(", ");
  }
  return "";
}

/** "Reviewed by Dr X on 2026-01-05", or the review status ("awaiting clinical review"). */
function reviewText(review) {
  if (typeof review === "string") return review.trim();
  if (!review || typeof review !== "object") return "";
  const clinician = text(review.clinician);
  if (clinician) return `Reviewed by ${clinician}${text(review.date) ? ` on ${text(review.date)}` : ""}`;
  return text(review.status);
}

/**
 * The server's sign-off: {approved, status, text}. Approved only when the server says so in so many
 * words (sign_off.approved === true and status "approved"); anything else, or none, is not approved.
 */
function signOff(raw) {
  const sign = raw.sign_off;
  if (sign && typeof sign === "object") {
    const approved = sign.approved === true && sign.status === "approved";
    const reviewer = sign.reviewer && typeof sign.reviewer === "object" ? sign.reviewer : null;
    const who = reviewer ? [text(reviewer.name), text(reviewer.role), text(reviewer.registration)].filter(Boolean).join(", ") : "";
    const when = text(sign.reviewed_on);
    const status = text(sign.status) || "draft";
    const textValue = approved
      ? `Clinically approved${who ? `: reviewed by ${who}` : ""}${when ? ` on ${when}` : ""}`
      : `Not clinically approved (${status})`;
    return { approved, status, text: textValue };
  }
  // A copy saved from an older server (version 1: reviewed_by, never filled in) has no sign-off.
  const legacy = reviewText(raw.reviewed_by);
  return { approved: false, status: "draft", text: `Not clinically approved${legacy ? ` (${legacy})` : ""}` };
}

function events(raw) {
  const defined = Array.isArray(raw) ? raw.filter((event) => event && typeof event === "object" && text(event.id)) : [];
  if (defined.length === 0) {
    return EVENT_TYPES.map(([id, label]) => ({
      id,
      label,
      repeatable: ["analysis", "shock", "rosc"].includes(id),
      data: FALLBACK_EVENT_DATA[id] || ["patient"],
    }));
  }
  return defined.map((event) => ({
    id: text(event.id),
    label: text(event.label) || text(event.id),
    repeatable: event.repeatable === true,
    data: textList(event.data),
  }));
}

function compressionsText(compressions) {
  if (!compressions || typeof compressions !== "object") return [];
  const lines = [];
  const rate = compressions.rate_per_minute;
  if (rate && Number.isFinite(rate.min) && Number.isFinite(rate.max)) lines.push(`Rate ${rate.min} to ${rate.max} a minute`);
  if (text(compressions.depth?.text)) lines.push(`Depth: ${text(compressions.depth.text)}`);
  const ratio = compressions.ratio;
  if (ratio && Number.isFinite(ratio.compressions) && Number.isFinite(ratio.breaths)) {
    lines.push(`${ratio.compressions} compressions to ${ratio.breaths} breaths`);
  }
  if (Number(compressions.initial_breaths) > 0) lines.push(`${compressions.initial_breaths} initial rescue breaths`);
  return lines;
}

function factsText(raw) {
  const lines = compressionsText(raw.compressions);
  if (text(raw.breaths?.text)) lines.push(`Breaths: ${text(raw.breaths.text)}`);
  if (text(raw.pads?.text)) lines.push(`Pads: ${text(raw.pads.text)}`);
  return lines;
}

function variant(raw, eventIds, fallbackLabel) {
  if (!raw || typeof raw !== "object") return null;
  const steps = Array.isArray(raw) ? raw : Array.isArray(raw.steps) ? raw.steps : [];
  return {
    label: text(raw.label) || fallbackLabel,
    appliesTo: text(raw.applies_to),
    intro: textList(raw.intro ?? raw.summary ?? raw.notes ?? raw.note),
    compressions: factsText(raw),
    steps: steps
      .filter((step) => step && typeof step === "object")
      .map((step, index) => ({
        id: text(step.id) || `step-${index + 1}`,
        title: text(step.title) || text(step.name) || `Step ${index + 1}`,
        instructions: textList(step.instruction ?? step.instructions ?? step.text ?? step.description),
        event: eventIds.has(step.event) ? step.event : null,
      })),
  };
}

/** The content's notices by id: {text, appliesTo}, each with a text and an ending it applies to. */
function notices(raw) {
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) return {};
  const found = {};
  for (const [id, notice] of Object.entries(raw)) {
    if (!notice || typeof notice !== "object") continue;
    const body = text(notice.text);
    const appliesTo = textList(notice.applies_to).filter((ending) => ENDINGS.includes(ending));
    if (body && appliesTo.length) found[id] = { text: body, appliesTo };
  }
  return found;
}

/** The checklist in the shape the screen uses, or null if it is not a checklist at all. */
export function normaliseChecklist(raw) {
  if (!raw || typeof raw !== "object") return null;
  const eventList = events(raw.events);
  const eventIds = new Set(eventList.map((event) => event.id));
  const variants = raw.variants && typeof raw.variants === "object" ? raw.variants : raw;
  const adult = variant(variants.adult, eventIds, "Adult");
  if (!adult || adult.steps.length === 0) return null;
  const others = Object.fromEntries(
    VARIANTS.filter((name) => name !== "adult").map((name) => {
      const found = variant(variants[name], eventIds, VARIANT_LABELS[name]);
      return [name, found && found.steps.length ? found : null];
    }),
  );
  const sign = signOff(raw);
  const metronome = raw.metronome && typeof raw.metronome === "object" ? raw.metronome : {};
  const min = clampBpm(metronome.min_per_minute ?? metronome.min ?? BPM_MIN);
  const max = Math.max(min, clampBpm(metronome.max_per_minute ?? metronome.max ?? BPM_MAX));
  const cycle = raw.cycle && typeof raw.cycle === "object" ? raw.cycle : {};
  const seconds = Number(cycle.seconds ?? raw.cycle_seconds);
  return {
    version: text(raw.version) || "unknown",
    title: text(raw.title),
    source: sourceText(raw.source),
    review: sign.text,
    reviewed: sign.approved,
    signOff: sign,
    adult,
    ...others,
    defaultVariant: VARIANTS.includes(raw.default_variant) && (raw.default_variant === "adult" || others[raw.default_variant]) ? raw.default_variant : "adult",
    events: eventList,
    metronome: {
      min,
      max,
      default: clampBpm(metronome.default_per_minute ?? metronome.default ?? BPM_DEFAULT, min, max),
    },
    cycleSeconds: Number.isFinite(seconds) && seconds >= 30 && seconds <= 600 ? Math.round(seconds) : 120,
    cyclePrompt: text(cycle.prompt) || DEFAULT_CYCLE_PROMPT,
    notices: notices(raw.notices),
  };
}

/**
 * What the checklist tells a crew on scene about CPR when the call ends for them (`ending`: one of
 * ENDINGS): its notice's text where the notice applies to that ending, else "". A version without
 * the notice (approved before it had one, a copy saved from an older server) or no checklist at all
 * gives "": the screen then says only how the call ended, with no guidance of its own.
 */
export function onSceneGuidance(checklist, ending) {
  const notice = checklist?.notices?.[CALL_ENDED_ON_SCENE];
  return notice && notice.appliesTo.includes(ending) ? notice.text : "";
}

/** The variant for the crew's choice ("adult", "child", "infant"), the adult one if it has none. */
export function variantFor(checklist, patient) {
  if (!checklist) return null;
  return (VARIANTS.includes(patient) && checklist[patient]) || checklist.adult;
}

/** The event definitions to use: the checklist's, or the built-in list when there is none. */
export function eventDefinitions(checklist) {
  return checklist?.events?.length ? checklist.events : events(null);
}

/**
 * The `data` to send with an event: only the fields its definition allows (the server refuses
 * others), taken from what the screen knows.
 */
export function eventData(definition, { patient, shockNumber, advice } = {}) {
  const allowed = new Set(definition?.data || []);
  const data = {};
  if (allowed.has("patient") && VARIANTS.includes(patient)) data.patient = patient;
  if (allowed.has("shock_number") && Number.isInteger(shockNumber) && shockNumber >= 1 && shockNumber <= 99) {
    data.shock_number = shockNumber;
  }
  if (allowed.has("advice") && (advice === "shock_advised" || advice === "no_shock_advised")) data.advice = advice;
  return data;
}

/**
 * {checklist, fromCache, savedAt, error, noApproved}: the server's copy, else the saved one.
 * noApproved: the server answered that it has no clinically approved version (it was withdrawn),
 * so a saved copy may be one that was withdrawn; the screen says so.
 */
export async function loadChecklist(api, storage = globalThis.localStorage) {
  let error = null;
  let noApproved = false;
  try {
    const raw = await api.checklist();
    const checklist = normaliseChecklist(raw);
    if (checklist) {
      try {
        storage.setItem(CACHE_KEY, JSON.stringify({ raw, savedAt: new Date().toISOString() }));
      } catch {
        // no room: it still works online
      }
      return { checklist, fromCache: false, savedAt: null, error: null, noApproved: false };
    }
    error = "The server sent a checklist this app cannot read.";
  } catch (failure) {
    error = failure?.message || "Could not load the checklist.";
    noApproved = failure?.code === "no_approved_checklist";
  }
  const saved = readSaved(storage);
  if (saved) return { ...saved, fromCache: true, error, noApproved };
  return { checklist: null, fromCache: false, savedAt: null, error, noApproved };
}

function readSaved(storage) {
  try {
    const saved = JSON.parse(storage?.getItem(CACHE_KEY) || "null");
    const checklist = normaliseChecklist(saved?.raw);
    return checklist ? { checklist, savedAt: saved.savedAt || null } : null;
  } catch {
    return null; // unreadable copy
  }
}

/** The copy of the checklist this phone saved (loadChecklist), normalised, or null: for a screen
 *  that needs it before, or without, the server's (the phone offline since the app started). */
export function savedChecklist(storage = globalThis.localStorage) {
  return readSaved(storage)?.checklist || null;
}
