// What the app knows, and the rules for merging what it hears. Alerts arrive from the socket
// (live and replayed), from the REST API and from push clicks, possibly more than once and out
// of order: each alert keeps the copy with the highest `version` (docs/events.md).

import { DECLINE_FROM } from "./labels.js";

export const UNANSWERED = new Set(["alerted", "received"]);
export const COMMITTED = new Set(["accepted", "en_route", "on_scene"]);
// The states the server takes a decline in, from its own answers (labels.js is generated from
// them). Found by a trial of the product: "Can't attend after all" was offered on scene, where the
// server refuses a decline.
export const DECLINABLE = new Set(DECLINE_FROM);
const FINISHED_INCIDENT = new Set(["closed", "cancelled"]);

/** True if `next` should replace `current` (an alert or a crew member, both versioned). */
export function isNewer(current, next) {
  if (!next) return false;
  if (!current) return true;
  return Number(next.version) > Number(current.version);
}

/**
 * The incident summary to keep. Incidents carry no version; their status only ever moves from
 * open to closed or cancelled, so a finished status is never replaced by an open one.
 */
export function mergeIncident(current, next) {
  if (!next) return current;
  if (!current) return next;
  if (FINISHED_INCIDENT.has(current.status) && !FINISHED_INCIDENT.has(next.status)) return current;
  return next;
}

/** Crew by alert id, each member's highest version kept. Returns a new Map. */
export function mergeCrew(current, crew) {
  const merged = new Map(current || []);
  for (const member of crew || []) {
    if (isNewer(merged.get(member.alert_id), member)) merged.set(member.alert_id, member);
  }
  return merged;
}

export function createState() {
  return {
    me: null,
    session: "unknown", // unknown | anonymous | authenticated | expired | offline
    alerts: new Map(), // alert id -> alert
    incidents: new Map(), // incident id -> {incident, crew: Map}
    messages: new Map(), // incident id -> Map message id -> message from control (app/messages.js)
    connection: { status: "stopped", retryAt: null },
    online: true,
    push: null,
    queue: { pending: 0, problems: 0 },
    update: null, // a waiting service worker
    positions: new Map(), // alert id -> the latest position shared by the crew going (position.updated)
    sharing: 0, // bumped when this phone's own position sharing changes (pwa/app/position.js)
    recentCalls: null, // GET records/: my accepted calls of the last 30 days and their forms
    formsToFill: 0, // how many of their forms I still have to fill (home's prompt; main.js counts)
    loggedOnScene: new Set(), // alert ids with checklist events logged on this phone, sent or not (attendedHere)
  };
}

/** Merge one alert; returns true if the stored copy changed. */
export function applyAlert(state, alert) {
  if (!alert || typeof alert.id !== "number") return false;
  const current = state.alerts.get(alert.id);
  if (!isNewer(current, alert)) return false;
  state.alerts.set(alert.id, alert);
  if (alert.incident) applyIncident(state, alert.incident, null);
  return true;
}

/** A `position.updated` (keep the newest per alert) or `position.cleared` (forget it) frame's data. */
export function applyPosition(state, type, data) {
  if (!data || typeof data.alert_id !== "number") return false;
  if (type === "position.cleared") return state.positions.delete(data.alert_id);
  const known = state.positions.get(data.alert_id);
  if (known && String(known.recorded_at) > String(data.recorded_at)) return false;
  state.positions.set(data.alert_id, data);
  return true;
}

/** The latest shared positions of an incident's crew going. */
export function positionsOf(state, incidentId) {
  return [...state.positions.values()].filter((position) => position.incident_id === incidentId);
}

/** Merge an incident summary and (optionally) its crew. */
export function applyIncident(state, incident, crew) {
  if (!incident || typeof incident.id !== "number") return false;
  const current = state.incidents.get(incident.id);
  const merged = {
    incident: mergeIncident(current?.incident, incident),
    crew: crew ? mergeCrew(current?.crew, crew) : current?.crew || new Map(),
  };
  state.incidents.set(incident.id, merged);
  return true;
}

/** The newest thing known about an alert's incident. */
export function incidentOf(state, alert) {
  if (!alert) return null;
  return mergeIncident(alert.incident, state.incidents.get(alert.incident_id)?.incident) || alert.incident;
}

/** "Can't attend after all" is offered: accepted (or en route), where the server still takes a
 *  decline; not on scene (they are there: "Cleared" is their way out). */
export function mayWithdraw(alert) {
  return Boolean(alert && COMMITTED.has(alert.state) && DECLINABLE.has(alert.state));
}

/** Still waiting for this firefighter's answer, and the incident still stands. */
export function isActionable(state, alert) {
  const incident = incidentOf(state, alert);
  return Boolean(alert && UNANSWERED.has(alert.state) && incident && incident.status === "open");
}

/** When the alert last went out: the re-alert (the same alert, stood down and then alerted again:
 *  `realerted_at`, docs/events.md) if there was one, else the first alert. */
export function lastAlertedAt(alert) {
  return alert.realerted_at || alert.alerted_at;
}

/** Alerts of open incidents, newest first (an alert alerted again is as new as its re-alert). */
export function activeAlerts(state) {
  return [...state.alerts.values()]
    .filter((alert) => incidentOf(state, alert)?.status === "open")
    .sort((a, b) => String(lastAlertedAt(b)).localeCompare(String(lastAlertedAt(a))) || b.id - a.id);
}

// --- Several incidents at once: which one is the firefighter's job, what may take the screen ---

const JOB_ORDER = { on_scene: 0, en_route: 1, accepted: 2 };

/**
 * The firefighter's active job: their committed alert (accepted, en route, on scene) on an open
 * incident, or null. Normally there is at most one (the server alerts a committed responder only
 * when a coordinator names them); if there are more, the furthest along, then the latest accepted.
 */
export function activeJob(state) {
  let best = null;
  for (const alert of state.alerts.values()) {
    if (!COMMITTED.has(alert.state) || incidentOf(state, alert)?.status !== "open") continue;
    if (
      !best ||
      JOB_ORDER[alert.state] < JOB_ORDER[best.state] ||
      (JOB_ORDER[alert.state] === JOB_ORDER[best.state] &&
        (String(alert.accepted_at || "").localeCompare(String(best.accepted_at || "")) > 0 ||
          (alert.accepted_at === best.accepted_at && alert.id > best.id)))
    ) {
      best = alert;
    }
  }
  return best;
}

// Screens where the firefighter is working on something: a new alert waits in a banner.
const WORKING_SCREENS = new Set(["checklist", "form", "forms", "incident"]);

/**
 * May a newly arrived alert open full screen? Never over the active job (whatever screen is
 * showing), never over another alert that still needs an answer, the checklist, the crew screen
 * or a form. Only from home, the list of forms, or an alert that is over (cancelled, declined...).
 * `route` is parseHash()'s {name, params}.
 */
export function mayTakeScreen(state, route, alertId) {
  const name = route?.name;
  if (name === "alert" && route.params?.id === alertId) return false; // already on it
  const job = activeJob(state);
  if (job && job.id !== alertId) return false;
  if (WORKING_SCREENS.has(name)) return false;
  if (name === "alert") {
    const shown = state.alerts.get(route.params?.id);
    return Boolean(shown) && !isActionable(state, shown);
  }
  return true;
}

/**
 * The alerts waiting for an answer that are not on screen, newest first: each is announced in a
 * banner on every screen until answered, over, or dismissed (`dismissed`: a Set of alert ids).
 */
export function waitingElsewhere(state, route, dismissed = new Set()) {
  const onScreen = route?.name === "alert" ? route.params?.id : null;
  return activeAlerts(state).filter((alert) => alert.id !== onScreen && !dismissed.has(alert.id) && isActionable(state, alert));
}

/** At start (a cold start, a reload, after logging in): the screen to open instead of home. */
export function startScreen(state, route) {
  if (route?.name !== "home") return null;
  const job = activeJob(state);
  return job ? `/alerts/${job.id}` : null;
}

const RECENT_END_MS = 60 * 60 * 1000;

/** How this alert ended for the firefighter, or null: {kind: "cancelled" | "stood_down", reason}. */
export function endOf(state, alert) {
  if (!alert) return null;
  const incident = incidentOf(state, alert);
  if (alert.state === "cancelled" || (incident?.status === "cancelled" && alert.state !== "declined")) {
    return { kind: "cancelled", reason: incident?.cancel_reason || "" };
  }
  if (alert.state === "stood_down") return { kind: "stood_down", reason: alert.stood_down_reason || "" };
  return null;
}

/**
 * Was this alert's incident closed while the firefighter was still on it: {at} (the incident's
 * closed_at, null from an older server), or null? Closing clears those on scene rather than
 * ending their alert as endOf() counts it, so the checklist said nothing of it (found by a trial of
 * the product: closed mid-CPR, the checklist showed nothing). Those stood down by the close are
 * endOf()'s; those who declined were never on it.
 */
export function closedOf(state, alert) {
  if (!alert || alert.state === "declined" || endOf(state, alert)) return null;
  const incident = incidentOf(state, alert);
  return incident?.status === "closed" ? { at: incident.closed_at || null } : null;
}

/**
 * Is this alert a job the firefighter is still committed to: accepted, en route or on scene, and
 * not cancelled, stood down or closed? Cleared is over too: they have left the scene.
 */
export function isLiveJob(state, alert) {
  return Boolean(alert && COMMITTED.has(alert.state) && !endOf(state, alert) && !closedOf(state, alert));
}

/**
 * Should the alarm sound now? While an alert waits for an answer and is not silenced (`silenced`:
 * a Set of alert ids). The CPR checklist holds a new alert to its banner only while its own job is
 * live: found by a trial of the product, a checklist left open after the call was cancelled or
 * closed kept every new alert silent, with only a banner to show for it. `route`: parseHash()'s.
 */
export function alarmWanted(state, route, silenced = new Set()) {
  if (state.session !== "authenticated") return false;
  if (route?.name === "checklist" && isLiveJob(state, state.alerts.get(route.params?.id))) return false;
  return [...state.alerts.values()].some((alert) => isActionable(state, alert) && !silenced.has(alert.id));
}

/**
 * Has the firefighter just moved on from the scene of `alertId` (the alert whose checklist started
 * the metronome): taken on another incident (accepted, en route, on scene) while that one's call
 * is over? Found by a trial of the product: a close leaves the metronome running (a clinician is
 * asked whether it should stop), and it was still ticking on the way to the next job. `seen` is the
 * caller's record of the job last seen, updated here: each step is reported once, so a metronome
 * the crew start again afterwards is not stopped again. Never for a job still live.
 */
export function movedOnFrom(state, alertId, seen) {
  const job = activeJob(state);
  const key = job ? `${job.id}:${job.state}` : null;
  const moved = key !== seen.key;
  seen.key = key;
  const held = state.alerts.get(alertId);
  return Boolean(moved && job && held && held.incident_id !== job.incident_id && !isLiveJob(state, held));
}

/**
 * The alerts that have just ended (cancelled, stood down) since the caller last asked: `seen` is
 * the caller's Map of alert id -> how it ended, updated here. Each end is reported once, so a
 * metronome stopped for it and started again by the crew is not stopped again.
 */
export function newlyEnded(state, seen) {
  const ended = [];
  for (const alert of state.alerts.values()) {
    const kind = endOf(state, alert)?.kind || null;
    if (seen.has(alert.id) && seen.get(alert.id) === kind) continue;
    seen.set(alert.id, kind);
    if (kind) ended.push(alert.id);
  }
  return ended;
}

/** Does a cancel or stand-down (`ended`: newlyEnded's) stop the metronome of `alertId`? Only for
 *  one who never reached the scene: the signed notices.call_ended_on_scene tells those on scene "If
 *  you are still doing CPR, carry on" (trial 11); they stop it themselves. */
export function endStopsMetronome(state, ended, alertId) {
  if (alertId === null || alertId === undefined || !ended.includes(alertId)) return false;
  return endedOffScene(state, alertId);
}

/** Has the call of `alertId` ended (cancelled, stood down) for one who never reached the scene:
 *  the end that stops its metronome (endStopsMetronome)? */
export function endedOffScene(state, alertId) {
  const alert = state.alerts.get(alertId);
  return Boolean(endOf(state, alert)) && !attendedHere(state, alert);
}

/**
 * Does the end of its call take back the offer to restart a metronome interrupted by a reload
 * (`run`: metronome.interruptedRun's)? Found by a browser trial: "Restart metronome" stayed after a
 * cancel that would have stopped it running. Yes where the end stops a running one (endedOffScene),
 * seen live or found on reload; not for those on scene (the signed notice: carry on), nor for a
 * run the crew started again after that end (`afterEnd`: the end stops a metronome once).
 */
export function endTakesBackRestart(state, run) {
  if (!run) return false;
  return (!run.afterEnd && endedOffScene(state, run.alertId)) || leftSceneOf(state, state.alerts.get(run.alertId));
}

/**
 * Did the firefighter leave the scene of this alert themselves ("Cleared: leaving scene"): cleared
 * while its incident was open, not by its close (a close clears those on scene at its closed_at;
 * the signed notice then tells them to carry on CPR)? Found by a browser trial: the offer to
 * restart a metronome interrupted by a reload stayed after the call, over the forms.
 */
export function leftSceneOf(state, alert) {
  if (alert?.state !== "cleared") return false;
  const incident = incidentOf(state, alert);
  if (incident?.status !== "closed") return true;
  const cleared = Date.parse(alert.cleared_at);
  const closed = Date.parse(incident.closed_at);
  return Number.isFinite(cleared) && Number.isFinite(closed) && cleared < closed;
}

/** When the alert ended for the firefighter (ISO 8601: cancelled or stood down), or null. */
export function endedAtOf(state, alert) {
  return alert.cancelled_at || alert.stood_down_at || incidentOf(state, alert)?.cancelled_at || null;
}

// When the alert came into each state it can be shown in (the server's alert payload).
const STATE_TIMES = {
  received: "received_at",
  accepted: "accepted_at",
  declined: "declined_at",
  en_route: "en_route_at",
  on_scene: "on_scene_at",
  cleared: "cleared_at",
  stood_down: "stood_down_at",
  cancelled: "cancelled_at",
};

/** The time a home list item is dated by (ISO 8601): that of what its line says. When it ended
 *  for one that ended (found by trying the product: "Incident cancelled: ... · 2 min ago" just
 *  after the cancel, the alert's time); when it was alerted for one waiting for an answer; else
 *  when it came into its state (found by a browser trial: accepted 70 s after the alert, home said
 *  "Accepted · 1 min ago" at once). The alert's time only where that one is unknown. */
export function homeItemTime(state, { alert, role }) {
  if (role === "ended" || endOf(state, alert)) return endedAtOf(state, alert) || lastAlertedAt(alert);
  if (role === "waiting") return lastAlertedAt(alert);
  return alert[STATE_TIMES[alert.state]] || lastAlertedAt(alert);
}

/**
 * The home screen's list. `list`: the alerts of open incidents, the active job first (role
 * "job"), then those waiting for an answer ("waiting"), then the rest ("other"), each group
 * newest first. `ended`: alerts of incidents that ended while the firefighter was still on them
 * (cancelled, or stood down when the incident closed) within the last hour, newest first.
 */
export function homeAlerts(state, now = Date.now()) {
  const job = activeJob(state);
  const open = activeAlerts(state).filter((alert) => alert !== job);
  const list = [
    ...(job ? [{ alert: job, role: "job" }] : []),
    ...open.filter((alert) => isActionable(state, alert)).map((alert) => ({ alert, role: "waiting" })),
    ...open.filter((alert) => !isActionable(state, alert)).map((alert) => ({ alert, role: "other" })),
  ];
  const endedAt = (alert) => Date.parse(endedAtOf(state, alert) || "");
  const ended = [...state.alerts.values()]
    .filter((alert) => incidentOf(state, alert)?.status !== "open" && endOf(state, alert) && now - endedAt(alert) < RECENT_END_MS)
    .sort((a, b) => endedAt(b) - endedAt(a) || b.id - a.id)
    .map((alert) => ({ alert, role: "ended" }));
  return { job, list, ended };
}

/**
 * Is a call in the firefighter's hands: the job in progress, or an alert waiting for an answer
 * (homeAlerts' `list`)? Home's prompt of forms after calls waits until none is. An alert declined
 * or stood down on a still-open incident is not one (found by trying the product: such an alert
 * hid the prompt until its incident closed).
 */
export function callInHand(list) {
  return list.some(({ role }) => role === "job" || role === "waiting");
}

/** The crew the store holds for an alert's incident (from the socket, the alert's detail or this
 *  phone's cache), [] if none. */
export function crewOfAlert(state, alertId) {
  const alert = state.alerts.get(Number(alertId));
  return [...(state.incidents.get(alert?.incident_id)?.crew?.values() || [])];
}

/**
 * Was this crew member on scene at some point (whatever their state now)? The server says so in
 * `attended`; a server from before that field: on scene now, or cleared (normally from the scene).
 */
export function hasAttended(member) {
  if (!member) return false;
  if (typeof member.attended === "boolean") return member.attended;
  return member.state === "on_scene" || member.state === "cleared" || Boolean(member.on_scene_at);
}

/**
 * Was the firefighter on this phone on scene for their alert? The server says so (hasAttended), or
 * this phone holds checklist events they logged for it, sent or not (state.loggedOnScene): found
 * by a trial, "On scene" refused without signal while "At patient" and "CPR started" queued, then
 * a cancel told someone doing CPR "You are not needed". What the phone tells them at the end of
 * the call goes by this, never by the server's word alone.
 */
export function attendedHere(state, alert) {
  return hasAttended(alert) || Boolean(alert && state?.loggedOnScene?.has(Number(alert.id)));
}

/** A tiny observable store: views subscribe and re-render what changed. */
export function createStore(initial = createState()) {
  const state = initial;
  const listeners = new Set();
  let scheduled = false;
  const notify = () => {
    if (scheduled) return;
    scheduled = true;
    queueMicrotask(() => {
      scheduled = false;
      for (const listener of [...listeners]) listener(state);
    });
  };
  return {
    state,
    /** Change the state with `fn(state)`; listeners run once per microtask. */
    update(fn) {
      const result = fn(state);
      notify();
      return result;
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
