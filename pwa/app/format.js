// Words and numbers as firefighters read them (en-GB, 24-hour clock). The names of states and
// reasons are the server's (labels.js, generated from its choices), so that the phone, the
// coordinators' board and the admin call each thing the same.

import { ALERT_STATES, DECLINE_REASONS as DECLINE_REASON_LABELS, INCIDENT_CATEGORIES } from "./labels.js";
import { COMMITTED, hasAttended } from "./store.js";

export const STATE_LABELS = ALERT_STATES;

/** [reason, label] in the server's order: the choices offered when declining. */
export const DECLINE_REASONS = Object.entries(DECLINE_REASON_LABELS);

/** Declined after accepting ("Can't attend after all"): a withdrawal, as the board words it
 *  (board-state.js stateText), not a decline of the alert. A re-alert clears accepted_at, so a
 *  decline of it is a decline. Found by a trial: the phone said "You declined" and home "Declined"
 *  where the board said "Withdrew after accepting". */
export function withdrew(alert) {
  return alert?.state === "declined" && Boolean(alert.accepted_at);
}

/** The firefighter's own alert's state in words ("Withdrew after accepting" for a withdrawal). */
export function ownStateLabel(alert) {
  if (withdrew(alert)) return "Withdrew after accepting";
  return STATE_LABELS[alert?.state] || alert?.state || "";
}

/** "You declined (Too far away)." or "You withdrew after accepting (No transport)." */
export function declinedText(alert) {
  const label = DECLINE_REASON_LABELS[alert?.decline_reason] || alert?.decline_reason || "";
  return `${withdrew(alert) ? "You withdrew after accepting" : "You declined"}${label ? ` (${label})` : ""}.`;
}

// The one-tap events when no checklist is on this phone, with the signed checklist's own labels
// (backend/checklists/data/*.json `events`; compared by tests/js/forms-trial11.test.mjs, part 5):
// the event log read "Arrived at patient" after a reload where it had read "At patient" (found by the
// eleventh trial of the product).
export const EVENT_TYPES = [
  ["arrived", "At patient"],
  ["cpr_started", "CPR started"],
  ["pads_on", "Pads on"],
  ["analysis", "Analysis"],
  ["shock", "Shock delivered"],
  ["rosc", "Signs of life (ROSC)"],
  ["ambulance_arrived", "Ambulance arrived"],
  ["handover", "Handed over"],
];
export const EVENT_LABELS = Object.fromEntries(EVENT_TYPES);

const CATEGORY_HEADINGS = {
  cardiac_arrest: "CARDIAC ARREST",
  unconscious: "UNCONSCIOUS",
  other_medical: "MEDICAL EMERGENCY",
};

/** The alert's headline: the category's own words (a category this version does not know yet is
 *  shown by its name, never as a cardiac arrest it may not be). */
export function categoryHeading(category) {
  if (CATEGORY_HEADINGS[category]) return CATEGORY_HEADINGS[category];
  const name = typeof category === "string" ? category.replace(/[_-]+/g, " ").trim() : "";
  return name ? name.toUpperCase() : "MEDICAL EMERGENCY";
}

export function categoryDetail(category) {
  return INCIDENT_CATEGORIES[category] || "";
}

// Why an alert was stood down (the alert's `stood_down_reason`), in full and in short.
const STOOD_DOWN_TEXT = {
  enough_crews: "Enough crews are going: you are not needed.",
  committed_elsewhere: "You accepted another incident, so this alert was withdrawn.",
  coordinator: "A coordinator stood you down: you are not needed for this incident.",
  control_room: "The ambulance control room stood you down: you are not needed for this incident.",
  incident_closed: "The incident was closed.",
};
const STOOD_DOWN_SHORT = {
  enough_crews: "Stood down: enough crews are going",
  committed_elsewhere: "Stood down: you accepted another incident",
  coordinator: "Stood down by a coordinator",
  control_room: "Stood down by the ambulance control room",
  incident_closed: "Stood down: the incident was closed",
};

export function stoodDownText(reason) {
  return STOOD_DOWN_TEXT[reason] || "You were stood down: you are not needed for this incident.";
}

export function stoodDownShort(reason) {
  return STOOD_DOWN_SHORT[reason] || "Stood down";
}

// A call that ends while the crew may still be with the patient: whoever was on scene is never
// told "you are not needed" in the middle of CPR. What they are told about CPR is clinical
// guidance, so it is the signed checklist's (checklist-data.js, onSceneGuidance), passed in as
// `guidance`, never words of this file; without it the line says only how the call ended.
function withGuidance(sentence, guidance) {
  const extra = typeof guidance === "string" ? guidance.trim() : "";
  return extra ? `${sentence} ${extra}` : sentence;
}

const NOT_NEEDED = "You are not needed.";

/** The line under "ALERT CANCELLED": "You are not needed" only to those who never got there. */
export function cancelledSubText(incident, { onScene = false, guidance = "" } = {}) {
  const reason = String(incident?.cancel_reason || "").trim().replace(/\.$/, "");
  const ended = `The incident was cancelled${reason ? `: ${reason}` : ""}.`;
  return onScene ? withGuidance(ended, guidance) : `${ended} ${NOT_NEEDED}`;
}

/** What one who never reached the scene is told of a cancel or stand-down (`end`: store.endOf's),
 *  in the alert screen's words (cancelledSubText, stoodDownText), for the checklist's notice: the
 *  two screens tell the same person the same thing (found by a browser trial: the checklist told
 *  one who had only accepted "If you are still doing CPR, carry on", his alert "You are not
 *  needed"). "" for anything else (a close tells them nothing more: closedSubText). */
export function notNeededText(end) {
  if (end?.kind === "cancelled") return NOT_NEEDED;
  if (end?.kind === "stood_down") return stoodDownText(end.reason);
  return "";
}

/** The line under "STOOD DOWN", with the same care for those on scene. */
export function stoodDownSubText(reason, { onScene = false, guidance = "" } = {}) {
  return onScene ? withGuidance(`${stoodDownShort(reason)}.`, guidance) : stoodDownText(reason);
}

/** The line under a closed incident's heading (guidance only for those on scene). */
export function closedSubText({ onScene = false, guidance = "" } = {}) {
  const ended = "This incident is closed.";
  return onScene ? withGuidance(ended, guidance) : ended;
}

/** Under the checklist's notice of a call that ended: the signed guidance, if any (to one who
 *  never reached the scene, notNeededText's line instead), then that nothing recorded is lost. */
export function checklistEndDetail(guidance) {
  const kept = "What you record here is still kept and sent.";
  const extra = typeof guidance === "string" ? guidance.trim() : "";
  return extra ? `${extra} ${kept}` : kept;
}

export function cancelledText(incident) {
  const reason = String(incident?.cancel_reason || "").trim().replace(/\.$/, "");
  return reason ? `Incident cancelled: ${reason}` : "Incident cancelled";
}

/** store.endOf()'s answer in words: "Incident cancelled: <reason>", "Stood down: ...". */
export function endText(end, incident) {
  if (!end) return "";
  if (end.kind === "cancelled") return cancelledText({ cancel_reason: end.reason || incident?.cancel_reason });
  return stoodDownShort(end.reason);
}

/**
 * store.closedOf()'s answer in words, for the checklist: "Incident closed by control at 14:05".
 * Neutral on purpose: it gives no clinical guidance. Any guidance under it is the signed checklist's
 * notice, shown only if the notice applies to a close (its `applies_to`: for a clinician to decide).
 * "Control": a coordinator or the ambulance dispatch system may close it; the phone cannot tell.
 */
export function closedText(closed) {
  if (!closed) return "";
  const at = closed.at ? toDate(closed.at) : null;
  const time = at ? at.toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit" }) : "";
  return time ? `Incident closed by control at ${time}` : "Incident closed by control";
}

/** "en route", "on scene": a state inside a sentence. */
export function stateWords(state) {
  return (STATE_LABELS[state] || state || "").toLowerCase();
}

/** The top line of the banner announcing an alert that is waiting while another screen shows. */
export function waitingBannerText({ job, jobIncident, incident, onHome = false }) {
  if (job) return `You are on ${jobIncident?.address || "another incident"}: this is another incident`;
  const address = incident?.address || "address not given";
  return onHome ? `An alert is waiting for your answer: ${address}` : `Another alert is waiting: ${address}`;
}

/** On another alert's screen while committed: "You are on <A> (en route): this is another incident". */
export function otherJobText(job, jobIncident) {
  return `You are on ${jobIncident?.address || "another incident"} (${stateWords(job?.state)}): this is another incident`;
}

// How one who accepted is not going now (the server's `no_longer_going`, counted as the boards
// count it: backend/dispatch/coverage.py), in the boards' words, in their order.
const NO_LONGER_GOING_WORDS = [
  ["stood_down_by_control", "stood down by control"],
  ["dropped_out", "accepted, then dropped out"],
  ["alerted_again", "alerted again after accepting"],
];

/** A crew member's `no_longer_going`; for one told by an older server, from `ever_accepted` (kept
 *  after a re-alert) and their state. */
function noLongerGoing(member) {
  if (member.no_longer_going !== undefined) return member.no_longer_going;
  if (member.ever_accepted !== true || COMMITTED.has(member.state) || member.state === "cancelled") return null;
  if (member.state === "cleared" && hasAttended(member)) return null;
  return ["alerted", "received"].includes(member.state) ? "alerted_again" : "dropped_out";
}

/** "1 stood down by control, 1 accepted, then dropped out", as the boards say it; "" if nobody who
 *  had accepted is among `members`. */
function noLongerGoingText(members) {
  const how = members.map(noLongerGoing);
  return NO_LONGER_GOING_WORDS.map(([kind, words]) => [how.filter((each) => each === kind).length, words])
    .filter(([count]) => count)
    .map(([count, words]) => `${count} ${words}`)
    .join(", ");
}

/**
 * The crew in one line (the alert screen's crew button): who is going and who has been there.
 * `crew`: the crew members (a Map or an iterable); `incident`: its summary (status, crew_target).
 * Counts who attended (on scene at some point), so a cleared job reads "2 attended", and, while the
 * incident is open, what the crew target still asks: "1 more needed of 2", or "Covered (2 needed)"
 * once enough are going (never "3 of 2 needed").
 */
export function crewSummary(crew, incident) {
  const members = [...(crew instanceof Map ? crew.values() : crew || [])];
  const count = (state) => members.filter((member) => member.state === state).length;
  const attended = members.filter(hasAttended).length;
  if (incident && incident.status !== "open") return attended ? `${attended} attended` : "Nobody attended";
  const target = Number(incident?.crew_target) > 0 ? Math.floor(Number(incident.crew_target)) : null;
  const parts = ["accepted", "en_route", "on_scene"].filter((state) => count(state)).map((state) => `${count(state)} ${stateWords(state)}`);
  if (members.some((member) => hasAttended(member) && member.state !== "on_scene")) parts.push(`${attended} attended`);
  if (!parts.length) {
    // Those who accepted and are not going now, in the boards' words and counts: "nobody has
    // accepted" was untrue of them (found by a browser trial), and a coordinator's stand-down is
    // no drop-out (found by another: "2 accepted, then dropped out" where the boards said "stood
    // down by control").
    const gone = noLongerGoingText(members);
    const needed = target ? ` (${target} needed)` : "";
    return gone ? `No one going now: ${gone}${needed}` : `Nobody has accepted yet${needed}`;
  }
  // Covered, as the server counts it: those committed now plus those who attended and cleared.
  const covering = members.filter((member) => COMMITTED.has(member.state) || (member.state === "cleared" && hasAttended(member))).length;
  if (target) parts.unshift(covering >= target ? `Covered (${target} needed)` : `${target - covering} more needed of ${target}`);
  return parts.join(" · ");
}

function toDate(value) {
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

export function formatTime(value) {
  const date = toDate(value);
  if (!date) return "";
  return date.toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

/** "7 Dec, 10:11:31": the day and short month, then the time, as the forms and their list say
 *  when something happened (a browser trial found the list saying "07/12/2026 10:11:31"). */
export function formatDateTime(value) {
  const date = value === null || value === undefined || value === "" ? null : toDate(value);
  if (!date) return "";
  return date.toLocaleString("en-GB", { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

export function timeAgo(value, now = Date.now()) {
  const date = toDate(value);
  if (!date) return "";
  const seconds = Math.max(0, Math.round((now - date.getTime()) / 1000));
  if (seconds < 45) return "just now";
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.floor(minutes / 60);
  return `${hours} h ${minutes % 60} min ago`;
}

export function formatDistance(km) {
  const value = Number(km);
  if (!Number.isFinite(value)) return "";
  if (value < 1) return `${Math.round(value * 1000)} m`;
  return `${value.toFixed(value < 10 ? 1 : 0)} km`;
}

/** "1.9 km from you" (measured from the phone's fresh on-call position) or "1.9 km from Norwich
 *  station" (from the station: the alert's distance_from, backend/dispatch/selection.py). */
export function distanceFromText(alert) {
  const distance = formatDistance(alert?.distance_km);
  if (!distance) return "";
  if (alert.distance_from === "position") return `${distance} from you`;
  return alert.station ? `${distance} from ${alert.station} station` : distance;
}

/** m:ss; negative values count up as "+m:ss" (time over). */
export function formatClock(seconds) {
  const over = seconds < 0;
  const total = Math.floor(Math.abs(seconds));
  const text = `${Math.floor(total / 60)}:${String(total % 60).padStart(2, "0")}`;
  return over ? `+${text}` : text;
}
