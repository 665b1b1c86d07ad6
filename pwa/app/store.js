// What the app knows, and the rules for merging what it hears. Alerts arrive from the socket
// (live and replayed), from the REST API and from push clicks, possibly more than once and out
// of order: each alert keeps the copy with the highest `version` (docs/events.md).

export const UNANSWERED = new Set(["alerted", "received"]);
export const COMMITTED = new Set(["accepted", "en_route", "on_scene"]);
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
    connection: { status: "stopped", retryAt: null },
    online: true,
    push: null,
    queue: { pending: 0, problems: 0 },
    update: null, // a waiting service worker
    banner: null, // {text, alertId}
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

/** Still waiting for this firefighter's answer, and the incident still stands. */
export function isActionable(state, alert) {
  const incident = incidentOf(state, alert);
  return Boolean(alert && UNANSWERED.has(alert.state) && incident && incident.status === "open");
}

/** Alerts of open incidents, newest first. */
export function activeAlerts(state) {
  return [...state.alerts.values()]
    .filter((alert) => incidentOf(state, alert)?.status === "open")
    .sort((a, b) => String(b.alerted_at).localeCompare(String(a.alerted_at)) || b.id - a.id);
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
