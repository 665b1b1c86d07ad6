// What the coordinators' live board knows, and how it words it: the board's model and the rules
// for applying the socket's frames to it (docs/events.md), without a DOM, so that it is tested in
// Node (tests/js/board.test.mjs). Drawing and the connection are board.js.
//
// The socket at /ws/coordinator/ sends a `board.snapshot` on every connection (every open incident
// and its alerts), then `board.alert`, `board.incident`, `board.alarm`, `board.workers`,
// `board.welfare` and `board.responder` frames as things change. The snapshot is the board's catch-up after a reconnect: it replaces what the
// board held. The board keeps the highest `version` of each alert, so a late frame never undoes a
// newer one, and an incident never goes back to open.

import { ALERT_STATES, DECLINE_REASONS, INCIDENT_CATEGORIES, STAND_DOWN_REASONS, UNREACHED_REASONS } from "/app/labels.js";
// Positions are kept as the app keeps them (position.updated: the newest per alert; position.cleared).
import { applyPosition, positionsOf } from "/app/store.js";
import { etaText, likelyFirstAmong, positionsOnTheWay } from "/app/arrival.js";

export { applyPosition, positionsOf };

export const COMMITTED_STATES = new Set(["accepted", "en_route", "on_scene"]);
// States in which a responder may still turn up or answer (backend/dispatch/actions.py).
const ACTIVE_STATES = new Set(["alerted", "received", ...COMMITTED_STATES]);
const UNANSWERED_STATES = new Set(["alerted", "received"]);

// The names of states and reasons are the server's, as the phones have them (/app/labels.js,
// generated from the choices in backend/dispatch/models.py).
const STATE_LABELS = ALERT_STATES;

/** "No station is within range" -> "no station is within range", inside a sentence. */
const inSentence = (label) => label.charAt(0).toLowerCase() + label.slice(1);

/** Why an alert was stood down, as the board's state cell says it. The server's label of the
 *  coordinator's reason is a sentence of its own ("Stood down by a coordinator"); the others follow
 *  "Stood down: ". committed_elsewhere names the other incident when the board knows it
 *  (standDownText). */
function standDownLabel(reason) {
  const label = STAND_DOWN_REASONS[reason];
  if (!label) return null;
  return label.startsWith(STATE_LABELS.stood_down) ? label : `${STATE_LABELS.stood_down}: ${inSentence(label)}`;
}

// A closed or cancelled incident stays on the board, greyed, for this long.
const FINISHED_KEPT_MS = 10 * 60 * 1000;

// --- What the board knows (no DOM here, so it can be tested on its own) -----------------------

export function createBoardState() {
  return {
    incidents: new Map(),
    alerts: new Map(),
    devices: new Map(),
    alarms: new Map(),
    workers: null,
    snapshotAt: null,
    positions: new Map(),
    // The control room's board (wall.js): acknowledged alarms and messages to the crews.
    acknowledgements: new Map(),
    messages: new Map(),
    messageAcks: new Map(),
    // Responders who logged out of the app or in again since the snapshot (`board.responder`).
    presence: new Map(),
    // Welfare follow-ups not reaching the welfare leads (`board.welfare`, the snapshot's
    // `welfare_notice`): undefined until the socket says, and then the page's own notice stays.
    welfare: undefined,
  };
}

/** Apply one frame from the socket. Returns true if anything the board shows changed. */
export function applyFrame(state, frame, now = Date.now()) {
  if (!frame || typeof frame !== "object") return false;
  switch (frame.type) {
    case "board.snapshot":
      return applySnapshot(state, frame.data, now);
    case "board.alert":
      return applyAlert(state, frame.data);
    case "board.incident":
      return applyIncident(state, frame.data, now);
    case "board.alarm":
      return applyAlarm(state, frame.data);
    case "board.workers":
      return applyWorkers(state, frame.data);
    case "board.devices":
      return (frame.data?.alerts ?? []).map((item) => applyDevices(state, item)).some(Boolean);
    case "alarm.acknowledged":
      return applyAcknowledgement(state, frame.data);
    case "board.responder":
      return applyResponder(state, frame.data);
    case "board.welfare":
      return applyWelfare(state, frame.data?.notice);
    case "message.created":
      // The board's frame carries the message under `message` (as the phones' event does).
      return applyMessage(state, frame.data?.message ?? frame.data);
    case "message.acknowledged":
      return applyMessageAcknowledgement(state, frame.data);
    case "message.recipients":
      return applyMessageRecipients(state, frame.data);
    case "position.updated":
    case "position.cleared":
      return applyPosition(state, frame.type, frame.data);
    default:
      return false;
  }
}

/** The snapshot replaces everything: it was read after the socket joined the board's group,
 *  so it is at least as new as anything this page heard before. */
export function applySnapshot(state, data, now = Date.now()) {
  state.incidents = new Map();
  state.alerts = new Map();
  state.devices = new Map();
  state.positions = new Map();
  // The alerts carry whether their responder is logged out (`responder_logged_out_at`).
  state.presence = new Map();
  for (const incident of data?.incidents ?? []) {
    const { positions, ...rest } = incident ?? {};
    applyIncident(state, rest, now);
    for (const position of positions ?? []) applyPosition(state, "position.updated", { ...position, incident_id: rest.id });
  }
  for (const alert of data?.alerts ?? []) applyAlert(state, alert);
  for (const item of data?.devices ?? []) applyDevices(state, item);
  applyWorkers(state, data?.delivery_workers);
  // A server of the version before sends none: the page's own notice stays.
  if (data && "welfare_notice" in data) applyWelfare(state, data.welfare_notice);
  // Acknowledgements and messages: the snapshot holds every one that still matters, so it
  // replaces what the board held, as for incidents and alerts.
  state.acknowledgements = new Map();
  for (const acknowledgement of data?.alarm_acknowledgements ?? []) applyAcknowledgement(state, acknowledgement);
  state.messages = new Map();
  state.messageAcks = new Map();
  for (const message of [...(data?.messages ?? []), ...(data?.incidents ?? []).flatMap((incident) => incident.messages ?? [])]) {
    applyMessage(state, message);
  }
  // The snapshot does not say which incidents have raised an alarm; keep those already heard of
  // for incidents still open, rather than silently dropping an alarm on reconnect.
  for (const incidentId of state.alarms.keys()) {
    if (!state.incidents.has(incidentId)) state.alarms.delete(incidentId);
  }
  state.snapshotAt = now;
  return true;
}

/** The notice of welfare follow-ups not reaching the welfare leads, as the server words it for
 *  this coordinator (backend/records/notices.py), or null when every request is getting through.
 *  Found by a trial: the page showed it only as it loaded, and an open board never said so. */
export function applyWelfare(state, notice) {
  const next = notice && typeof notice === "object" ? notice : null;
  if (state.welfare !== undefined && JSON.stringify(state.welfare) === JSON.stringify(next)) return false;
  state.welfare = next;
  return true;
}

/** The active alarm of an incident, or null: only an open incident still short of crews has one.
 *  The newest of a `board.alarm` frame and the incident's own `alarm_raised_at` and
 *  `alarm_message` (so that a board opened after the alarm, or one that missed its frame, shows
 *  it, and an alarm raised afresh replaces the one before), in the words it was raised with: they
 *  were true then (found by a trial: a board reloaded after an alarm raised with one crew going
 *  worded it from the incident as it was later, "Nobody has accepted"). */
export function alarmOf(state, incident) {
  if (!isShort(incident)) return null;
  // Short because a coordinator stood crews down, the ladder held until they dispatch: their own
  // act, nothing to sound (escalationHeld; found by a trial), until the server's `held` alarm, if
  // nobody has dispatched, cancelled or closed it in time (heldAlarm; H17).
  if (escalationHeld(incident)) return heldAlarm(incident);
  // An alarm raised before the incident's dispatch was the alarm for not dispatching it (the
  // server's `undispatched`, escalation.py): the dispatch has dealt with it, and it must not sound
  // on as the escalation alarm. (A dispatch that reaches nobody raises its own, at the dispatch.)
  const current = (alarm) => (alarm && !raisedBeforeDispatch(incident, alarm.raised_at) ? alarm : null);
  const heard = current(state.alarms.get(incident.id) ?? null);
  const stored = current(incident.alarm_raised_at
    ? {
        incident_id: incident.id,
        cad_reference: incident.cad_reference,
        raised_at: incident.alarm_raised_at,
        message: incident.alarm_message || storedAlarmFallback(incident, alertsOf(state, incident.id)),
      }
    : null);
  if (!heard || !stored) return heard ?? stored;
  return Date.parse(stored.raised_at) > Date.parse(heard.raised_at) ? stored : heard;
}

/** The alarm raised since a held ladder's hold began (the server's `held_since`): the server's
 *  `held` alarm, raised once HELD_LADDER_REMINDER_SECONDS after it (backend/dispatch/escalation.py),
 *  in its words; null until then, and for an alarm raised before the stand-down. */
function heldAlarm(incident) {
  const raised = Date.parse(incident.alarm_raised_at ?? "");
  const since = Date.parse(incident.held_since ?? "");
  if (Number.isNaN(raised) || Number.isNaN(since) || raised < since) return null;
  const message = incident.alarm_message || `Nobody has dispatched ${incident.cad_reference} again since crews were stood down.`;
  return { incident_id: incident.id, cad_reference: incident.cad_reference, raised_at: incident.alarm_raised_at, message };
}

/** Whether an alarm raised at `raisedAt` came before the incident's first dispatch (ISO times). */
function raisedBeforeDispatch(incident, raisedAt) {
  if (!incident.dispatched_at) return false;
  const raised = Date.parse(raisedAt ?? "");
  return !Number.isNaN(raised) && raised < Date.parse(incident.dispatched_at);
}

/** An alarm stored without its words (raised before the server kept them): nothing about how the
 *  incident stood then but what raising it meant (the card's coverage line says how it is now). */
function storedAlarmFallback(incident, alerts) {
  const reference = incident.cad_reference;
  const unreached = unreachedReasonText(incident, alerts);
  if (unreached) return `Dispatch of incident ${reference} reached nobody: ${unreached}.`;
  return `Incident ${reference} was short of crews when its alarm was raised.`;
}

/** Whether any delivery worker has reported recently ({alive, last_heard_at, ...}). */
export function applyWorkers(state, workers) {
  if (!workers || typeof workers.alive !== "boolean") return false;
  state.workers = workers;
  return true;
}

/** The warning to show when no delivery worker is sending, or null. Unknown (no snapshot yet)
 *  is not a warning: the connection line already says the board is not live. */
export function workersWarning(workers) {
  if (!workers || workers.alive) return null;
  const since = workers.last_heard_at
    ? `No delivery worker has reported since ${dayAndTime(workers.last_heard_at)}.`
    : "No delivery worker has reported.";
  // SMS and escalation to further stations run in the same workers, so they have stopped too.
  return {
    headline: "Pushes are not being sent.",
    detail: `${since} Texts and escalation to further stations have stopped too: phone alerts reach only ` +
      "firefighters whose app is open. Tell the on-call engineer.",
  };
}


/** The incident's alarm was raised (a dispatch reached nobody, still short after every ring, or
 *  the last crew going dropped out): the newest replaces the one before. */
export function applyAlarm(state, alarm) {
  if (!alarm || typeof alarm.incident_id !== "number") return false;
  state.alarms.set(alarm.incident_id, alarm);
  return true;
}

/** A responder logged out of the app, or in again (`board.responder`): the newest (by `changed_at`)
 *  of each responder. */
export function applyResponder(state, data) {
  if (!data || typeof data.responder_id !== "number" || Number.isNaN(Date.parse(data.changed_at ?? ""))) return false;
  const known = state.presence.get(data.responder_id);
  if (known && Date.parse(known.changed_at) >= Date.parse(data.changed_at)) return false;
  state.presence.set(data.responder_id, {
    logged_out_at: data.logged_out_at ?? null,
    on_call: typeof data.on_call === "boolean" ? data.on_call : null,
    on_call_changed_at: data.on_call_changed_at ?? null,
    changed_at: data.changed_at,
  });
  return true;
}

/** Whether the alert's responder is off call, as far as the board knows: from the alert
 *  (`responder_on_call`, `responder_on_call_changed_at`) and the `board.responder` frames heard
 *  since the snapshot, the later booking of the two. */
export function isOffCall(state, alert) {
  const heard = state.presence?.get(alert.responder_id);
  const stored = typeof alert.responder_on_call === "boolean" ? alert.responder_on_call : null;
  if (!heard || heard.on_call === null) return stored === false;
  if (stored !== null && Date.parse(alert.responder_on_call_changed_at ?? "") > Date.parse(heard.on_call_changed_at ?? "")) {
    return stored === false;
  }
  return heard.on_call === false;
}

/** "off call" on an alert still active (not answered yet, or going) of a responder who has booked
 *  off call, or null. Going off call stops new alerts, not the job they are on: found by a trial,
 *  a firefighter went off call while en route and the board did not show it. */
export function offCallText(state, alert) {
  return ACTIVE_STATES.has(alert.state) && isOffCall(state, alert) ? "off call" : null;
}

/** When the alert's responder logged out of the app (ISO), or null: logged in, as far as the board
 *  knows. From the alert (`responder_logged_out_at`, as read with it) and the `board.responder`
 *  frames heard since the snapshot, the newer of the two: a logout the alert was read after stands
 *  over a frame that said they were in. Found by a trial: one who logged out mid-job still read
 *  "seen in the open app". */
export function loggedOutAt(state, alert) {
  const stored = alert.responder_logged_out_at ?? null;
  const heard = state.presence?.get(alert.responder_id);
  if (!heard) return stored;
  if (stored && Date.parse(stored) > Date.parse(heard.changed_at)) return stored;
  return heard.logged_out_at;
}

/** "logged out at 02:08:15", or null. */
export function loggedOutText(state, alert) {
  const at = loggedOutAt(state, alert);
  return at ? `logged out at ${clockTime(at)}` : null;
}

/** Keep the highest version of each alert. */
export function applyAlert(state, alert) {
  if (!alert || typeof alert.id !== "number") return false;
  const known = state.alerts.get(alert.id);
  if (known && known.version >= alert.version) return false;
  state.alerts.set(alert.id, alert);
  return true;
}

/** What an alert's pushes did on each of the responder's devices (`board.devices`): frames carry
 *  no version, but each time only ever moves from unknown to known, so they are merged per device,
 *  keeping the earliest known time of each: a late frame never undoes a newer one. */
export function applyDevices(state, item) {
  if (!item || typeof item.alert_id !== "number" || !Array.isArray(item.devices)) return false;
  const known = new Map((state.devices.get(item.alert_id) ?? []).map((device) => [deviceKey(device), device]));
  for (const device of item.devices) {
    const key = deviceKey(device);
    const before = known.get(key);
    if (!before) {
      known.set(key, { ...device });
      continue;
    }
    const merged = { ...before, label: device.label || before.label };
    for (const field of ["sent_at", "shown_at", "opened_at"]) {
      const times = [before[field], device[field]].filter(Boolean).sort();
      merged[field] = times[0] ?? null;
    }
    merged.failed = merged.sent_at ? "" : device.failed || before.failed || "";
    // Worked out by the server when it sent the frame: the latest frame knows best (a receipt of
    // this alert, kept in shown_at, proves the phone whatever the order of frames: isProven).
    merged.proven = typeof device.proven === "boolean" ? device.proven : Boolean(before.proven);
    known.set(key, merged);
  }
  state.devices.set(item.alert_id, [...known.values()]);
  return true;
}

/** A device proven to ring: the server says so (recently shown a push and not failing its
 *  checks, backend/delivery/reachability.py), or it has shown this very alert. */
export const isProven = (device) => Boolean(device.proven || device.shown_at);

/** Whether the responder alerted by `alert` has a phone proven to ring: true, false (no device, or
 *  none proven), or null while the board has had no frame of their devices. */
export function hasProvenPhone(state, alert) {
  const devices = state.devices.get(alert.id);
  if (!devices) return null;
  return devices.some(isProven);
}

/** The incident's alerted responders with no proven phone who have not seen the alert yet, while
 *  it is open: {text, alertIds, count, total}, or null when there are none (or the incident is
 *  finished). "2 of 5 alerted have no proven phone: Sam Barker, Alex Cole." Someone whose open app
 *  has shown the alert, or who has answered it, has been reached whatever their phones: counting
 *  them would send a coordinator after people already on their way. */
export function unprovenWarning(state, incident, alerts) {
  if (incident.status !== "open" || !alerts.length) return null;
  const unproven = alerts.filter((alert) => notReachedYet(alert) && hasProvenPhone(state, alert) === false);
  if (!unproven.length) return null;
  const names = unproven.map((alert) => alert.responder_name).join(", ");
  const verb = unproven.length === 1 ? "has" : "have";
  return {
    text: `${unproven.length} of ${alerts.length} alerted ${verb} no proven phone: ${names}.`,
    alertIds: new Set(unproven.map((alert) => alert.id)),
    count: unproven.length,
    total: alerts.length,
  };
}

/** Not shown on any device yet and not answered: the only state in which whether a phone will
 *  ring still decides whether they hear of this incident. */
const notReachedYet = (alert) => alert.state === "alerted" && !alert.received_at;

const deviceKey = (device) => (device.device_id === null || device.device_id === undefined ? `label:${device.label}` : device.device_id);

/** Per responder, on how many of their phones the alert's notification was shown (the phones'
 *  receipts): {text, title, tone, unproven, phones}, or null while the board does not know (no frame yet).
 *  `title` says it per device: sent, shown, opened, or why it failed, and which are not proven to
 *  ring. tone: shown, sent, failed, none; ended (what would be failed or none, on an alert stood
 *  down or cancelled). `unproven`: none of their devices is proven (or none). */
export function devicesText(state, alert) {
  const cell = deviceCellOf(state, alert);
  const offCall = offCallText(state, alert);
  if (!offCall) return cell;
  const title = "Off call: no new alerts reach them. The job they are on carries on.";
  if (!cell) return { text: capitalised(offCall), title, tone: "none", unproven: false, phones: 0 };
  return { ...cell, text: `${cell.text} · ${offCall}`, title: `${title}\n${cell.title}` };
}

function deviceCellOf(state, alert) {
  const devices = state.devices.get(alert.id);
  const loggedOut = loggedOutText(state, alert);
  if (!devices) {
    return loggedOut ? { text: capitalised(loggedOut), title: LOGGED_OUT_TITLE, tone: "none", unproven: true, phones: 0 } : null;
  }
  const cell = withLoggedOut(deviceCell(devices, alert, loggedOut), loggedOut);
  if (!ENDED_UNNEEDED.has(alert.state) || (cell.tone !== "none" && cell.tone !== "failed")) return cell;
  // Stood down or cancelled before anyone needed this phone to ring: no longer a warning to act
  // on (red on a finished row drew the eye from the live ones), still said for next time.
  return { ...cell, tone: "ended", title: `${cell.title}\nThis alert has ended: nothing to do for it now.` };
}

const LOGGED_OUT_TITLE = "Logged out of the app: this phone no longer gets their alerts or messages until they log in again.";
const capitalised = (text) => text.charAt(0).toUpperCase() + text.slice(1);

/** A device cell of a responder who logged out of the app: said in place of "Seen in the open app"
 *  (no push phone), or after the phones' count. */
function withLoggedOut(cell, loggedOut) {
  if (!loggedOut) return cell;
  const title = `${capitalised(loggedOut)}. ${LOGGED_OUT_TITLE}\n${cell.title}`;
  if (!cell.phones) return { ...cell, text: capitalised(loggedOut), title, tone: "none" };
  return { ...cell, text: `${cell.text} · ${loggedOut}`, title };
}

/** Alert states in which the alert ended without the responder having to be reached. */
const ENDED_UNNEEDED = new Set(["stood_down", "cancelled"]);

function deviceCell(devices, alert, loggedOut = "") {
  if (!devices.length) {
    if (alert.received_at) {
      // Answering in the open app with no push subscription: reached this time, but a new alert
      // reaches them only while the app is open.
      return {
        text: "Seen in the open app",
        title: `Shown in the open app at ${clockTime(alert.received_at)}. No device is registered for push alerts: with the app closed, a new alert would not reach them.`,
        tone: "shown",
        unproven: true,
        phones: 0,
      };
    }
    return { text: "No phone for alerts", title: "No device is registered for push alerts.", tone: "none", unproven: true, phones: 0 };
  }
  const shown = devices.filter((device) => device.shown_at).length;
  const failed = devices.filter((device) => !device.sent_at && device.failed).length;
  const phones = `${devices.length} phone${devices.length === 1 ? "" : "s"}`;
  const title = devices
    .map((device) => `${device.label || "Device"}: ${deviceStage(device)}${isProven(device) ? "" : " (not proven to ring)"}`)
    .join("\n");
  if (!shown && alert.received_at && !loggedOut) {
    // Shown by the open app (over the socket), not by a push: "Shown on 0 of 1 phone" beside
    // "Shown on device" read as a contradiction (found by trying it: a second phone, with no push
    // subscription, had the app open). Reached this time, as with no push phone at all; once
    // logged out, not said (as there).
    const push = `${devices.length} push phone${devices.length === 1 ? "" : "s"}`;
    return {
      text: `Seen in the open app · shown on 0 of ${push}` + (failed ? ` (${failed} failed)` : ""),
      title: `Shown in the open app at ${clockTime(alert.received_at)}; no push has been shown yet.\n${title}`,
      tone: "shown",
      unproven: !devices.some(isProven),
      phones: devices.length,
    };
  }
  const text = `Shown on ${shown} of ${phones}` + (failed ? ` (${failed} failed)` : "");
  const tone = shown ? "shown" : failed === devices.length ? "failed" : devices.some((d) => d.sent_at) ? "sent" : "none";
  return { text, title, tone, unproven: !devices.some(isProven), phones: devices.length };
}

function deviceStage(device) {
  if (device.opened_at) return `opened ${clockTime(device.opened_at)}`;
  if (device.shown_at) return `shown ${clockTime(device.shown_at)}`;
  if (device.sent_at) return `sent ${clockTime(device.sent_at)}, not shown yet`;
  if (device.failed) return `failed: ${device.failed}`;
  return "waiting to be sent";
}

/** Incident frames carry no version, but an incident never reopens: a late "open" frame must
 *  not undo a close or a cancellation the board already knows of. */
export function applyIncident(state, incident, now = Date.now()) {
  if (!incident || typeof incident.id !== "number") return false;
  const known = state.incidents.get(incident.id);
  if (known && known.status !== "open" && incident.status === "open") return false;
  const finishedSeenAt = incident.status === "open" ? null : (known?.finishedSeenAt ?? finishedAt(incident, now));
  state.incidents.set(incident.id, { ...incident, finishedSeenAt });
  // A held ladder resumed by a dispatch (held_since gone): the `held` alarm heard during the hold is
  // over (the server clears the one it keeps: ladder.resume_held). Found by a trial: after "Alert
  // named" it sounded on as the escalation alarm.
  const heard = state.alarms.get(incident.id);
  if (known?.held_since && !incident.held_since && heard && Date.parse(heard.raised_at) >= Date.parse(known.held_since)) {
    state.alarms.delete(incident.id);
  }
  // Enough crews are going: the alarm has been dealt with. Forget its message, which no longer
  // says how things stand; should coverage drop again, alarmOf words it afresh from the incident.
  if (coverageOf(incident).covered) state.alarms.delete(incident.id);
  return true;
}

/** When the incident was closed or cancelled (from the server, so every board counts its card's
 *  ten minutes from the same moment, whenever it was opened), or `now` if that is not known. */
function finishedAt(incident, now) {
  const at = Date.parse(incident.closed_at || incident.cancelled_at || "");
  return Number.isNaN(at) ? now : Math.min(at, now);
}

/** What the order of an incident's responders means, said above the list (alertsOf's order, by
 *  rank: someone named with "Alert named" comes after those alerted before, however near). Found by
 *  trying the board: a coordinator took the list for nearest first. */
export const RESPONDERS_ORDER_TEXT = "In the order alerted (nearest first within each dispatch)";

/** What the arrival estimates on the open incidents' cards say at `now`: each "Likely first" line
 *  and each one's "about 3 min" (/app/arrival.js, as both boards draw them). They count down from
 *  when each estimate was worked out, and no frame comes to say so: a board keeps what this said
 *  when it drew, and draws again when it says something else (each board's tick). Found by a
 *  browser trial: the wall, drawn at the last frame, read "Likely first: Sam Barker (2 min)" and
 *  "about 2 min" while the admin's board, drawn later, read "(1 min)" for the same estimate. An
 *  old fix's age ("position 4 min old") is in the words: its minute changing is drawn as well. */
export function arrivalWordsAt(state, now = Date.now()) {
  const words = [];
  for (const incident of state.incidents.values()) {
    if (incident.status !== "open") continue;
    const shared = positionsOf(state, incident.id);
    if (!shared.length && !incident.ambulance_eta) continue;
    const alerts = alertsOf(state, incident.id);
    const positions = positionsOnTheWay(shared, alerts);
    words.push(`${incident.id}: ${likelyFirstAmong(positions, alerts, incident.ambulance_eta, now)}`);
    // With the fix's age ("· position 4 min old", /app/arrival.js): its minute changing is drawn too.
    for (const position of positions) words.push(`${incident.id}/${position.alert_id}: ${etaText(position.estimate, now, position.recorded_at)}`);
  }
  return words.join("\n");
}

export function alertsOf(state, incidentId) {
  return [...state.alerts.values()]
    .filter((alert) => alert.incident_id === incidentId)
    .sort((a, b) => a.rank - b.rank || a.id - b.id);
}

/** The incident's coverage, from its own counts (backend/dispatch/coverage.py): `committed` are
 *  accepted, en route or on scene now; `covering` adds those who attended and cleared; covered
 *  when covering reaches the crew target. `accepted` and `attended` remember who went after the
 *  incident is closed or cancelled, when committed and covering read 0. */
export function coverageOf(incident) {
  const count = (value) => (Number.isInteger(value) && value > 0 ? value : 0);
  const target = Math.max(1, count(incident.crew_target));
  const covering = count(incident.covering_count);
  return {
    target,
    committed: count(incident.committed_count),
    covering,
    accepted: count(incident.accepted_count),
    attended: count(incident.attended_count),
    covered: covering >= target,
  };
}

/** An open incident with fewer crews going than it needs: the coordinator's attention. */
export function isShort(incident) {
  return incident.status === "open" && !coverageOf(incident).covered;
}

/** Alerts stood down by a coordinator or the control room: their deliberate act, not a drop-out. */
const BY_CONTROL = new Set(["coordinator", "control_room"]);

/** Those who accepted the incident at some time and are not going now, each counted once by their
 *  state now: {byControl, again, dropped}: stood down by a coordinator or the control room,
 *  alerted again and not answered yet, dropped out by their own doing (declined after all, cleared
 *  before arriving). From the server's counts (backend/dispatch/coverage.py, no_longer_going; set
 *  while nobody is going), which know who accepted before a re-alert cleared the acceptance time;
 *  from the alerts' own times without them. Found by browser trials: "nobody has accepted" once
 *  the one who had dropped out was alerted again; then "1 accepted, then dropped out" of one
 *  alerted again by name and not answered yet. */
function noLongerGoing(incident, alerts) {
  const counts = [incident.stood_down_by_control_count, incident.alerted_again_count, incident.dropped_out_count];
  if (counts.every(Number.isInteger)) {
    const [byControl, again, dropped] = counts;
    return { byControl, again, dropped };
  }
  const gone = { byControl: 0, again: 0, dropped: 0 };
  for (const alert of alerts) {
    if (!(alert.accepted_at || alert.on_scene_at) || COMMITTED_STATES.has(alert.state) || alert.state === "cancelled") continue;
    if (alert.state === "cleared" && alert.on_scene_at) continue;
    if (UNANSWERED_STATES.has(alert.state)) gone.again += 1;
    else if (alert.state === "stood_down" && BY_CONTROL.has(alert.stood_down_reason)) gone.byControl += 1;
    else gone.dropped += 1;
  }
  return gone;
}

/** noLongerGoing's counts in words, as the coverage line and the alarm list them: "1 stood down by
 *  control, 1 accepted, then dropped out"; "" when nobody had accepted. */
function noLongerGoingText({ byControl, again, dropped }) {
  return [
    byControl ? `${byControl} stood down by control` : null,
    dropped ? `${dropped} accepted, then dropped out` : null,
    again ? `${again} alerted again after accepting` : null,
  ].filter(Boolean).join(", ");
}

/** The counts a coverage line starts with, and the alarm says them in: those committed now are
 *  "going" ("2 going, 1 of them logged out" when `loggedOut` of them have logged out of the app);
 *  those who attended and cleared are said apart. The server words its alarm with the same counts
 *  (backend/dispatch/coverage.py, Coverage.lead): found by a trial, an alarm said "Now 2 going" of
 *  two crews who had cleared, beside "2 cleared from the scene (3 needed)". */
export function coverageLead({ target, committed, covering }, loggedOut = 0) {
  const cleared = Math.max(0, covering - committed);
  const going = committed || !cleared ? `${committed} going${loggedOut ? `, ${loggedOut} of them logged out` : ""}` : null;
  const who = [going, cleared ? `${cleared} cleared from the scene` : null];
  return `${who.filter(Boolean).join(", ")} (${target} needed)`;
}

/** The escalation ladder is held: a coordinator (or the control room) stood crews down and the
 *  incident is short of crews again; nothing runs by itself until they dispatch (backend/dispatch/
 *  ladder.py, is_held: dispatched, short, no due time, a step still to run). */
export function escalationHeld(incident) {
  if (!isShort(incident) || !incident.dispatched_at || incident.next_escalation_at) return false;
  const steps = incident.escalation_ladder_steps;
  return Number.isInteger(steps) && (incident.escalation_step ?? 0) < steps;
}

/** How many accepted a finished incident, as the admin's incident list counts them (backend/
 *  dispatch/admin.py, its Accepted column): everyone who accepted at some time (the alerts'
 *  first_accepted_at, kept by a re-alert and by withdrawing), "2 (1 withdrew)" when some declined
 *  after accepting. Found by a browser trial: the boards said "Accepted 1" (the server's
 *  accepted_count, those who had not withdrawn) and the list "2 (1 withdrew)" of one incident.
 *  The server's count where the alerts are not known or do not say when they were first accepted. */
function everAcceptedText(incident, alerts) {
  const known = alerts.length > 0 && alerts.every((alert) => "first_accepted_at" in alert);
  if (!known) return String(coverageOf(incident).accepted);
  const ever = alerts.filter((alert) => alert.first_accepted_at);
  const withdrew = ever.filter((alert) => alert.state === "declined").length;
  return withdrew ? `${ever.length} (${withdrew} withdrew)` : String(ever.length);
}

/** The coverage line of a card: {text, tone, lead}, tone one of covered, short, none (nobody going)
 *  and finished; `lead` is how the text starts, the counts ("3 going (2 needed)"), for a board
 *  that sets them apart. One set of counts: those committed now are "going"; those who attended
 *  and cleared are said apart ("1 going, 1 cleared from the scene (2 needed): covered"), as they
 *  count towards the target without going any more. `dispatchButton`: the card has a Dispatch
 *  button (the control room's board); otherwise dispatching is on the incident's page. Times in
 *  24 hours. */
export function coverageText(incident, alerts = [], { dispatchButton = false, isLoggedOut = (alert) => Boolean(alert.responder_logged_out_at) } = {}) {
  const { target, committed, covering, attended, covered } = coverageOf(incident);
  if (incident.status !== "open") {
    return { text: `Accepted ${everAcceptedText(incident, alerts)} · attended ${attended}`, tone: "finished", lead: "" };
  }
  // Those going who have logged out of the app (found by a trial: "2 going (2 needed): covered"
  // with one of them logged out): their phone hears nothing more of the job, and they may or may
  // not still be on their way. They still count towards the cover (the ladder counts them too).
  const loggedOut = Math.min(committed, alerts.filter((alert) => COMMITTED_STATES.has(alert.state) && isLoggedOut(alert)).length);
  const lead = coverageLead({ target, committed, covering }, loggedOut);
  const line = (text, tone) => ({ text: `${lead}: ${text}`, tone, lead });
  if (covered) {
    const since = incident.covered_at ? ` at ${clockTime(incident.covered_at)}` : "";
    if (!loggedOut) return line(`covered${since}.`, "covered");
    // Covered only by counting them: said, and not green.
    const check = loggedOut === 1 ? "check the one logged out is still going" : `check the ${loggedOut} logged out are still going`;
    return line(`covered${since}, counting ${loggedOut} logged out: ${check}.`, covering - loggedOut >= target ? "covered" : "short");
  }
  if (covering) return line(`${target - covering} more needed.`, "short");
  let why;
  // Those who accepted and are not going now, each once by their state now: "nobody has accepted"
  // was untrue once two had dropped out (found by trying the board). Those a coordinator or the
  // control room stood down did not drop out, nor did one alerted again and not answered yet: said
  // apart (found by trials: "1 accepted, then dropped out" of the one crew on scene a coordinator
  // stood down, and of one alerted again by name).
  const gone = noLongerGoingText(noLongerGoing(incident, alerts));
  if (gone) why = `no one going now: ${gone} (${alerts.length} alerted).`;
  else if (alerts.some((alert) => ACTIVE_STATES.has(alert.state))) why = `nobody has accepted (${alerts.length} alerted).`;
  else if (alerts.length) why = `nobody is still alerted or going (${alerts.length} alerted).`;
  else if (incident.dispatched_at) why = "nobody alerted.";
  else if (dispatchButton) why = "not dispatched yet: press Dispatch.";
  else why = "not dispatched yet: dispatch from the incident's page.";
  return line(why, "none");
}

/** The coverage line of an incident's card as both boards say it (coverageText), with those going
 *  who logged out of the app as far as this board knows (loggedOutAt: the alerts' own logout times
 *  and the `board.responder` frames since the snapshot), so that it follows those frames live. Found
 *  by a browser trial: the admin's board read only the alerts' own times, and kept "2 going (2
 *  needed): covered" until reloaded while the wall said "2 going, 1 of them logged out".
 *  `options`: coverageText's (dispatchButton). */
export function cardCoverageText(state, incident, alerts = alertsOf(state, incident.id), options = {}) {
  return coverageText(incident, alerts, { ...options, isLoggedOut: (alert) => Boolean(loggedOutAt(state, alert)) });
}

/** The escalation ladder's actions (ESCALATION_LADDER, docs/delivery.md) in a coordinator's words.
 *  The server says "resend" for a ring step at the widest ring: there is no wider ring to alert.
 *  That step re-sends to those alerted who have not answered and looks again within the widest
 *  ring for anyone newly in range or on call (escalation.py, _resend_and_widen): with nobody
 *  alerted and unanswered it only looks again (found by a tester: "Next: re-send (widest ring
 *  reached)" on an incident nobody was in range of: a re-send to nobody). */
const ESCALATION_ACTIONS = { ring: "wider ring", resend: "re-send and look again (widest ring)", sms: "texts", alarm: "alarm" };
const LOOK_AGAIN = "look again (widest ring)";

/** What the escalation ladder does next and when, in one line, for an open, dispatched incident
 *  still short of crews: "Next: texts at 14:04:30 · 1 of 4 steps done". From the server's
 *  `next_escalation_action` and `next_escalation_at` (backend/dispatch/payloads.py),
 *  `escalation_step` and `escalation_ladder_steps`, and the incident's `alerts` (whether a re-send
 *  has anyone to go to). Null when the ladder has nothing to come: covered (it waits), closed,
 *  cancelled, or past its last step. Not dispatched: when its alarm sounds ("Not dispatched: alarm
 *  at 14:01:00"), until it has. Times in 24 hours. */
export function escalationText(incident, alerts = []) {
  if (!isShort(incident)) return null;
  if (!incident.dispatched_at) return undispatchedText(incident);
  if (escalationHeld(incident)) return "Escalation held after a stand-down: a dispatch resumes it";
  const action = incident.next_escalation_action;
  if (!action || !incident.next_escalation_at) return null;
  const nobodyToResend = action === "resend" && !alerts.some((alert) => UNANSWERED_STATES.has(alert.state));
  const words = nobodyToResend ? LOOK_AGAIN : ESCALATION_ACTIONS[action] ?? action.replaceAll("_", " ");
  const next = `Next: ${words} at ${clockTime(incident.next_escalation_at)}`;
  const steps = stepsDoneText(incident.escalation_step, incident.escalation_ladder_steps);
  return steps ? `${next} · ${steps}` : next;
}

/** The words on an open incident's dispatch button (the control room's board): "Dispatch" before
 *  the first dispatch, "Dispatch next ring" after it, and at the widest ring (the server's `ring`
 *  and `widest_ring`, backend/dispatch/payloads.py), where a dispatch only looks again within that
 *  ring for anyone newly in range or on call, "Look again (widest ring)". Found by a tester:
 *  "Dispatch next ring" at the widest ring, answered "Nobody was alerted: everyone in range has
 *  already been alerted". */
export function dispatchButtonText(incident) {
  if (!incident.dispatched_at) return "Dispatch";
  const widest = Number(incident.widest_ring);
  if (Number.isInteger(widest) && widest >= 1 && Number(incident.ring) >= widest) return "Look again (widest ring)";
  return "Dispatch next ring";
}

/** An open incident nobody has dispatched: when its alarm sounds if nobody does (the server's
 *  `next_escalation_at` before the first dispatch: UNDISPATCHED_ALARM_SECONDS after it was created,
 *  escalation.py), until it has sounded; null when the server gives no time. */
function undispatchedText(incident) {
  if (!incident.next_escalation_at || incident.alarm_raised_at) return null;
  return `Not dispatched: alarm at ${clockTime(incident.next_escalation_at)}`;
}

/** "1 of 4 steps done"; "0 of 4 steps done" before the first step, so a coordinator sees how long
 *  the ladder is from the start (a missing step count is none yet). From a server that does not
 *  say how long its ladder is: "2 steps done", and nothing before the first. */
function stepsDoneText(step, total) {
  const done = Number.isInteger(step) && step > 0 ? step : 0;
  if (Number.isInteger(total) && total >= 1 && total >= done) return `${done} of ${total} steps done`;
  if (done < 1) return null;
  return `${done} step${done === 1 ? "" : "s"} done`;
}

/** Why the incident's last dispatch reached nobody, in words (lower case), while nobody is
 *  alerted to it or going; else null. */
export function unreachedReasonText(incident, alerts) {
  if (incident.status !== "open" || !incident.unreached_reason) return null;
  if (alerts.some((alert) => ACTIVE_STATES.has(alert.state))) return null;
  const label = UNREACHED_REASONS[incident.unreached_reason];
  return label ? inSentence(label) : incident.unreached_reason.replaceAll("_", " ");
}

/** Who is committed (accepted, en route, on scene) to which open incident: responder id ->
 *  {incident, alert}. Worked out once per drawing from every open incident's alerts. */
export function commitmentsOf(state) {
  const commitments = new Map();
  for (const alert of state.alerts.values()) {
    if (!COMMITTED_STATES.has(alert.state)) continue;
    const incident = state.incidents.get(alert.incident_id);
    if (!incident || incident.status !== "open") continue;
    // Nobody should be committed twice; if they are, the latest acceptance is where they are going.
    const known = commitments.get(alert.responder_id);
    if (known && (known.alert.accepted_at ?? "") >= (alert.accepted_at ?? "")) continue;
    commitments.set(alert.responder_id, { incident, alert });
  }
  return commitments;
}

/** The open incident other than this alert's that its responder is committed to, or null. */
export function committedElsewhere(state, alert, commitments = commitmentsOf(state)) {
  const commitment = commitments.get(alert.responder_id);
  if (!commitment || commitment.incident.id === alert.incident_id) return null;
  return commitment;
}

/** "On CAD-2 (en route)": where a responder alerted to this incident is committed instead. */
export function elsewhereText(commitment) {
  if (!commitment) return null;
  const state = (STATE_LABELS[commitment.alert.state] ?? commitment.alert.state).toLowerCase();
  return `On ${commitment.incident.cad_reference} (${state})`;
}

/** The state label of a stood-down alert, with its reason; `commitment` is where the responder is
 *  committed now (committedElsewhere), if the board knows. It is named only if it is the
 *  acceptance that stood this alert down (no later than the stand-down): a finished card stays on
 *  the board for ten minutes, and by then its responder may have gone on to a third incident. */
export function standDownText(alert, commitment = null) {
  if (alert.stood_down_reason === "committed_elsewhere" && commitment && acceptedBy(commitment.alert, alert.stood_down_at)) {
    return `Stood down: went to ${commitment.incident.cad_reference}`;
  }
  return standDownLabel(alert.stood_down_reason) ?? STATE_LABELS.stood_down;
}

/** Whether `alert` was accepted by the time `at` (ISO times; unknown times count as yes, as before). */
function acceptedBy(alert, at) {
  const accepted = Date.parse(alert.accepted_at ?? "");
  const then = Date.parse(at ?? "");
  return Number.isNaN(accepted) || Number.isNaN(then) || accepted <= then;
}

/** Open incidents, newest first, then recently finished ones; long-finished ones are dropped. */
export function incidentsToShow(state, now = Date.now()) {
  for (const [id, incident] of state.incidents) {
    if (incident.finishedSeenAt !== null && now - incident.finishedSeenAt > FINISHED_KEPT_MS) {
      state.incidents.delete(id);
      state.alarms.delete(id);
      for (const [alertId, alert] of state.alerts) {
        if (alert.incident_id === id) state.alerts.delete(alertId);
      }
    }
  }
  const byNewest = (a, b) => (b.created_at ?? "").localeCompare(a.created_at ?? "") || b.id - a.id;
  const all = [...state.incidents.values()];
  return [
    ...all.filter((incident) => incident.status === "open").sort(byNewest),
    ...all.filter((incident) => incident.status !== "open").sort(byNewest),
  ];
}

// --- Times, in 24 hours ---

export function clockTime(iso) {
  if (!iso) return "";
  return new Date(iso).toLocaleTimeString("en-GB", { hour12: false });
}

/** The alert an answer at `iso` answered (backend: Alert.answered_alert): the re-alert if the
 *  answer came after it, else the first alert. A re-alert clears the earlier answer, so the times
 *  after it run from it ("+0:06" after the re-alert, not "+6:58" after the first alert: found by
 *  trying the board); an arrival kept from before it runs from the first. */
export function answeredAlertAt(alert, iso) {
  const again = alert.realerted_at;
  if (again && iso && Date.parse(iso) >= Date.parse(again)) return again;
  return alert.alerted_at;
}

/** The clock time, with the date if it was not today. */
export function dayAndTime(iso, now = new Date()) {
  const when = new Date(iso);
  if (when.toDateString() === now.toDateString()) return clockTime(iso);
  return when.toLocaleString("en-GB", { hour12: false, day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
}

const WITHDREW = "Withdrew after accepting";

/** The state cell's words: the state, with why they declined or were stood down. */
export function stateText(alert, commitment = null) {
  if (alert.state === "stood_down") return standDownText(alert, commitment);
  // Declined after accepting ("Can't attend after all"): not a plain decline (found by a trial).
  // A re-alert clears the acceptance, so a decline of it reads as a decline.
  const label = alert.state === "declined" && alert.accepted_at ? WITHDREW : STATE_LABELS[alert.state] ?? alert.state;
  if (alert.state === "declined" && alert.decline_reason) {
    const reason = DECLINE_REASONS[alert.decline_reason];
    return `${label} (${reason ? inSentence(reason) : alert.decline_reason})`;
  }
  return label;
}

/** The incident's category in words; a category this page does not know by its name. */
export function categoryText(category) {
  return INCIDENT_CATEGORIES[category] ?? category;
}


// --- The control room's board: alarms that sound until acknowledged (issue 15) --------------------
//
// Which alarms are sounding is worked out here from what the board already knows, so that every
// board (and one opened later) agrees: the snapshot and the frames. The server keeps only who
// acknowledged which alarm (`alarm.acknowledged`, and the snapshot's `alarm_acknowledgements`).

export const ALARM_KINDS = ["unreached", "undispatched", "held", "escalation", "unanswered", "worker_silent"];

const ALARM_TITLES = {
  unreached: "Dispatch reached nobody",
  undispatched: "Not dispatched",
  held: "Held after a stand-down",
  escalation: "Escalation alarm",
  unanswered: "Nobody has accepted",
  worker_silent: "Pushes are not being sent",
};

/** The `unanswered` alarm's title once someone had accepted (and is not going now). */
const NOBODY_GOING_TITLE = "Nobody going";

export const alarmKey = (kind, incidentId = null) => `${kind}:${incidentId ?? ""}`;

/** Keep the newest acknowledgement of each alarm (by id: ids increase as they are stored). */
export function applyAcknowledgement(state, acknowledgement) {
  if (!acknowledgement || !ALARM_KINDS.includes(acknowledgement.kind) || typeof acknowledgement.id !== "number") return false;
  const key = alarmKey(acknowledgement.kind, acknowledgement.incident_id);
  const known = state.acknowledgements.get(key);
  if (known && known.id >= acknowledgement.id) return false;
  state.acknowledgements.set(key, acknowledgement);
  return true;
}

/** Whether `acknowledgement` covers the alarm as it is now: an alarm raised (again) after it was
 *  acknowledged sounds afresh; an alarm with no raising time is covered by any acknowledgement
 *  since its `since` (the `unanswered` alarm of a resumed ladder: the resume), if it has one. */
export function isAcknowledged(acknowledgement, alarm) {
  if (!acknowledgement) return false;
  const from = alarm.raised_at || alarm.since;
  if (!from) return true;
  return Date.parse(acknowledgement.acknowledged_at) >= Date.parse(from);
}

/** Every alarm the board shows, most urgent first: {key, kind, title, message, incident_id,
 *  cad_reference, raised_at, acknowledgement (or null), sounding}. One alarm per incident at most
 *  (a dispatch that reached nobody, else not dispatched in time, else the escalation alarm, else
 *  unanswered past the first step), and the delivery workers' alarm. */
export function alarmsOf(state) {
  const alarms = [];
  const workers = state.workers;
  if (workers && workers.alive === false) {
    const warning = workersWarning(workers);
    alarms.push(withAcknowledgement(state, {
      kind: "worker_silent",
      incident_id: null,
      cad_reference: null,
      raised_at: workers.last_heard_at ?? null,
      message: `${warning.headline} ${warning.detail}`,
    }));
  }
  for (const incident of state.incidents.values()) {
    const alarm = incidentAlarm(state, incident);
    if (alarm) alarms.push(withAcknowledgement(state, alarm));
  }
  const order = (alarm) => ALARM_KINDS.indexOf(alarm.kind);
  return alarms.sort((a, b) => Number(b.sounding) - Number(a.sounding) || order(a) - order(b) || (a.raised_at ?? "").localeCompare(b.raised_at ?? ""));
}

function withAcknowledgement(state, alarm) {
  const key = alarmKey(alarm.kind, alarm.incident_id);
  const acknowledgement = state.acknowledgements.get(key) ?? null;
  const acknowledged = isAcknowledged(acknowledgement, alarm);
  return { ...alarm, key, title: alarm.title ?? ALARM_TITLES[alarm.kind], acknowledgement: acknowledged ? acknowledgement : null, sounding: !acknowledged };
}

/** The incident's alarm, or null. */
export function incidentAlarm(state, incident) {
  if (incident.status !== "open") return null;
  const alerts = alertsOf(state, incident.id);
  const base = { incident_id: incident.id, cad_reference: incident.cad_reference };
  const unreached = unreachedReasonText(incident, alerts);
  if (unreached) {
    return { ...base, kind: "unreached", raised_at: incident.alarm_raised_at ?? null, message: `Dispatch of ${incident.cad_reference} reached nobody: ${unreached}.` };
  }
  const escalation = alarmOf(state, incident);
  const { covering } = coverageOf(incident);
  if (escalation && !incident.dispatched_at) {
    // Raised by the server when nobody had dispatched the incident in time (UNDISPATCHED_ALARM_SECONDS):
    // nobody is alerted to it. Found by a trial: its card sat above a scrolled board, unseen.
    return { ...base, kind: "undispatched", raised_at: escalation.raised_at, message: escalation.message };
  }
  // Short because a coordinator stood crews down (the ladder held till they dispatch): their own
  // act sounds nothing (found by a trial: standing down the one crew on scene sounded the alarm),
  // until the server's `held` alarm if nobody has dispatched, cancelled or closed it (alarmOf; H17).
  if (escalationHeld(incident)) {
    return escalation ? { ...base, kind: "held", raised_at: escalation.raised_at, message: escalation.message } : null;
  }
  if (escalation) {
    // Raised while nobody had accepted; it stays until the incident is covered. Once someone is
    // going, it says so (found by trying the board: "Nobody has accepted" beside "1 going"), in the
    // coverage line's counts and words (found by a trial: "Now 2 going" of two who had cleared).
    const { lead } = cardCoverageText(state, incident, alerts);
    const since = covering && !escalation.message.endsWith(`${lead}.`) ? ` Now ${lead}.` : "";
    return { ...base, kind: "escalation", raised_at: escalation.raised_at, message: `${escalation.message}${since}` };
  }
  // A ladder a dispatch resumed after a hold is a fresh attempt (ladder_resumed_step, the step it
  // resumed at): as for a new incident, nothing until a step has run since (found by a review: it
  // sounded at once after a resume past the first step), and an acknowledgement from before the
  // resume does not cover it (`since`, isAcknowledged).
  if ((incident.escalation_step ?? 0) >= (incident.ladder_resumed_step ?? 0) + 1 && covering === 0) {
    const since = incident.ladder_resumed_at ?? null;
    // As many steps as have run: "the first" stayed after three (found by trying the board).
    const steps = incident.escalation_step === 1 ? "the first escalation step" : `${incident.escalation_step} escalation steps`;
    const gone = noLongerGoingText(noLongerGoing(incident, alerts));
    if (gone) {
      // Someone had accepted: neither the title nor the words say "Nobody has accepted" (found by a
      // browser trial, of a crew who accepted and was stood down by control).
      const message = `No one is going to ${incident.cad_reference} after ${steps}: ${gone} (${alerts.length} alerted).`;
      return { ...base, kind: "unanswered", title: NOBODY_GOING_TITLE, raised_at: null, since, message };
    }
    const message = `Nobody has accepted ${incident.cad_reference} after ${steps} (${alerts.length} alerted).`;
    return { ...base, kind: "unanswered", raised_at: null, since, message };
  }
  return null;
}

/** Whether any alarm is sounding: the board plays its tone and flashes while so. */
export const anySounding = (alarms) => alarms.some((alarm) => alarm.sounding);

/** The sounding alarm the board's `a` key acknowledges, or null when none sounds: the chosen
 *  incident's, if it has one sounding; otherwise the delivery workers' (it stops every incident's
 *  pushes, and belongs to no card that could be chosen); otherwise the one sounding longest. One
 *  at a time, so that each is read before it is silenced. */
export function alarmToAcknowledge(state, alarms, selectedId = null) {
  const sounding = alarms.filter((alarm) => alarm.sounding);
  const chosen = selectedId === null ? null : sounding.find((alarm) => alarm.incident_id === selectedId);
  const workers = sounding.find((alarm) => alarm.kind === "worker_silent");
  if (chosen || workers) return chosen ?? workers;
  const since = (alarm) => {
    const incident = state.incidents.get(alarm.incident_id);
    return Date.parse(alarm.raised_at ?? incident?.dispatched_at ?? incident?.created_at ?? "") || Infinity;
  };
  return sounding.reduce((oldest, alarm) => (oldest === null || since(alarm) < since(oldest) ? alarm : oldest), null);
}

// --- Messages to the crews (the contract of issue 15: message.created, message.acknowledged) ---
// Each message's `recipient_count` is the server's count of whom it reaches (told when sent,
// alerted since, or acknowledged: docs/events.md), raised by `message.recipients` before the
// acknowledgement that needed it: the boards show it as it is, and count nothing themselves.

export function applyMessage(state, message) {
  if (!message || typeof message.id !== "number" || typeof message.incident_id !== "number") return false;
  const acks = state.messageAcks.get(message.id) ?? new Map();
  for (const ack of message.acknowledgements ?? []) mergeMessageAck(acks, ack);
  state.messageAcks.set(message.id, acks);
  const known = state.messages.get(message.id);
  state.messages.set(message.id, { ...known, ...message });
  return true;
}

/** `message.recipients`: the incident's messages reach more responders (someone alerted after
 *  them, or one not told who acknowledged): each known message takes its new count. */
export function applyMessageRecipients(state, data) {
  let changed = false;
  for (const item of data?.messages ?? []) {
    const known = state.messages.get(item?.message_id);
    if (!known || !Number.isInteger(item.recipient_count) || known.recipient_count === item.recipient_count) continue;
    state.messages.set(item.message_id, { ...known, recipient_count: item.recipient_count });
    changed = true;
  }
  return changed;
}

/** An acknowledgement may arrive before its message (frames are hints): it is kept all the same. */
export function applyMessageAcknowledgement(state, ack) {
  if (!ack || typeof ack.message_id !== "number" || typeof ack.responder_id !== "number") return false;
  const acks = state.messageAcks.get(ack.message_id) ?? new Map();
  const before = acks.get(ack.responder_id);
  mergeMessageAck(acks, ack);
  state.messageAcks.set(ack.message_id, acks);
  return acks.get(ack.responder_id) !== before;
}

function mergeMessageAck(acks, ack) {
  const known = acks.get(ack.responder_id);
  // The first acknowledgement is the one that counts; a repeat (idempotent) changes nothing.
  if (known && (known.acknowledged_at ?? "") <= (ack.acknowledged_at ?? "")) return;
  acks.set(ack.responder_id, { responder_id: ack.responder_id, responder_name: ack.responder_name, acknowledged_at: ack.acknowledged_at });
}

/** The incident's messages, oldest first, each with who has acknowledged it. */
export function messagesOf(state, incidentId) {
  return [...state.messages.values()]
    .filter((message) => message.incident_id === incidentId)
    .sort((a, b) => (a.sent_at ?? "").localeCompare(b.sent_at ?? "") || a.id - b.id)
    .map((message) => ({
      ...message,
      acknowledgements: [...(state.messageAcks.get(message.id)?.values() ?? [])].sort((a, b) => (a.acknowledged_at ?? "").localeCompare(b.acknowledged_at ?? "")),
    }));
}

/** Who has seen a message, as both boards say it: "Seen by 1 of 3: Alice", "Not yet seen (0 of 3)".
 *  `message`: messagesOf's. The "of 3" is the server's count of whom it reaches (`recipient_count`:
 *  told when sent, alerted since, or acknowledged; `message.recipients` keeps it current), shown as
 *  it is. Found by a browser trial: the admin's board said "Got it: Alice (1 of 5)" and "no “Got it”
 *  yet" where the wall said "Seen by 1 of 5". */
export function seenText(message) {
  const acks = message.acknowledgements;
  const of = Number.isInteger(message.recipient_count) ? ` of ${message.recipient_count}` : "";
  return acks.length ? `Seen by ${acks.length}${of}: ${acks.map((ack) => ack.responder_name).join(", ")}` : `Not yet seen${of ? ` (0${of})` : ""}`;
}

// --- One responder in one line --------------------------------------------------------------------

/** The delivery funnel in a few characters: "sent 2/2 · shown 1/2 · opened 0/2", or null when the
 *  board has had no frame of the devices yet; with "logged out at 02:08:15" once the responder has
 *  logged out of the app. */
export function funnelText(state, alert) {
  const devices = state.devices.get(alert.id);
  // Logged out of the app: said in place of "seen in the open app" (found by a trial: one who had
  // logged out mid-job still read "En route · seen in the open app").
  const loggedOut = loggedOutText(state, alert);
  const offCall = offCallText(state, alert);
  const funnel = devicesFunnel(devices, alert, loggedOut);
  return offCall ? [offCall, funnel].filter(Boolean).join(" · ") : funnel;
}

function devicesFunnel(devices, alert, loggedOut) {
  if (!devices) return loggedOut;
  if (!devices.length && loggedOut) return `${loggedOut}, no push phone`;
  // Shown in the open app with no push phone: reached this time, as the admin board's cell says
  // (devicesText); "no phone" beside "Shown on device" read as a contradiction (found by trying it).
  if (!devices.length) return alert.received_at ? "seen in the open app, no push phone" : "no phone";
  const count = (field) => devices.filter((device) => device[field]).length;
  const failed = devices.filter((device) => !device.sent_at && device.failed).length;
  const total = devices.length;
  // Shown by the open app but by no push yet: said first, as with no push phone (devicesText).
  const inApp = alert.received_at && !count("shown_at") && !loggedOut ? "seen in the open app · " : "";
  return `${inApp}sent ${count("sent_at")}/${total} · shown ${count("shown_at")}/${total} · opened ${count("opened_at")}/${total}` +
    (failed ? ` · ${failed} failed` : "") + (loggedOut ? ` · ${loggedOut}` : "");
}

/** What a card with nobody alerted says in place of its responders, or null for an open incident,
 *  whose coverage line says it already (found by trying the board: "not dispatched yet: press
 *  Dispatch." then "Not dispatched yet." again, and "yet" on a card cancelled before dispatch). */
export function noAlertsText(incident) {
  if (incident.status === "open") return null;
  return incident.dispatched_at ? "Nobody was alerted." : "It was never dispatched.";
}

/** A finished incident in one line, as both boards say it: "Cancelled at 12:10:00: Duplicate call,
 *  ambulance dealing." or "Closed at 12:40:00.". The control room's board once said only
 *  "Cancelled" where the admin's said why (found by a browser trial). */
export function finishedText(incident) {
  const cancelled = incident.status === "cancelled";
  const when = clockTime(incident.closed_at || incident.cancelled_at);
  const reason = cancelled ? String(incident.cancel_reason ?? "").trim().replace(/\.$/, "") : "";
  return `${cancelled ? "Cancelled" : "Closed"}${when ? ` at ${when}` : ""}${reason ? `: ${reason}` : ""}.`;
}

/** Whether the coordinator may stand this one responder down: they have not answered, or are going. */
export const canStandDown = (alert) => ACTIVE_STATES.has(alert.state);

/** What the board asks before standing down one responder, or null to do it at once. Someone who
 *  has not answered is stood down with one click; someone going or on scene (perhaps doing CPR)
 *  is asked about first: found trying the board, one stray click on a wall screen stood down a
 *  firefighter on scene, whose phone then said she was not needed. */
export function standDownQuestion(incident, alert) {
  if (!COMMITTED_STATES.has(alert.state)) return null;
  const where = alert.state === "on_scene" ? "on scene at" : alert.state === "en_route" ? "on the way to" : "going to";
  return `Stand down ${alert.responder_name}, who is ${where} ${incident.cad_reference}? Their phone tells them they are stood down.`;
}
