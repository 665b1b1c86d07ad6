// Messages from control ("Ambulance on scene", "Access by the rear door"): what the app knows of
// them, and the rules for merging what it hears. A message arrives from the socket
// (`message.created`, live or replayed), from GET /api/v1/incidents/{id}/messages/ and from this
// phone's cache, possibly more than once: each is kept once, by id. A firefighter's view holds only
// their own acknowledgement, so any acknowledgement on a message is theirs (docs/events.md).
//
// state.messages: Map incident id -> Map message id -> message, where a message is the server's
// shape plus `acknowledged_at` (the server's, once known) and `acknowledging` (the "Got it" is
// queued on this phone, not yet confirmed).

import { incidentOf, isLiveJob } from "./store.js";

/** The messages of every incident, kept in the store's state (created with it: store.js). */
function byIncident(state, incidentId) {
  if (!state.messages) state.messages = new Map();
  let messages = state.messages.get(incidentId);
  if (!messages) {
    messages = new Map();
    state.messages.set(incidentId, messages);
  }
  return messages;
}

function isMessage(message) {
  return Boolean(message) && Number.isSafeInteger(message.id) && Number.isSafeInteger(message.incident_id) && typeof message.text === "string";
}

/** The earliest acknowledgement time known: acknowledgements never go away. */
function earliest(...times) {
  const known = times.filter((time) => typeof time === "string" && time);
  return known.length ? known.sort()[0] : null;
}

/** Merge one message; returns true if what is kept changed. */
export function applyMessage(state, message) {
  if (!isMessage(message)) return false;
  const messages = byIncident(state, message.incident_id);
  const current = messages.get(message.id);
  const acknowledgedAt = earliest(
    current?.acknowledged_at,
    message.acknowledged_at,
    ...(Array.isArray(message.acknowledgements) ? message.acknowledgements.map((ack) => ack?.acknowledged_at) : []),
  );
  const next = {
    id: message.id,
    incident_id: message.incident_id,
    text: message.text,
    author_name: typeof message.author_name === "string" ? message.author_name : "",
    sent_at: message.sent_at,
    acknowledged_at: acknowledgedAt,
    acknowledging: Boolean(current?.acknowledging || message.acknowledging) && !acknowledgedAt,
  };
  if (current && JSON.stringify(current) === JSON.stringify(next)) return false;
  messages.set(message.id, next);
  return true;
}

/** The server confirmed an acknowledgement (`message.acknowledged`, or the POST's answer). */
export function applyAcknowledgement(state, ack) {
  if (!ack || !Number.isSafeInteger(ack.message_id) || !Number.isSafeInteger(ack.incident_id)) return false;
  const current = byIncident(state, ack.incident_id).get(ack.message_id);
  if (!current) return false;
  return applyMessage(state, { ...current, acknowledged_at: ack.acknowledged_at, acknowledging: false });
}

/** "Got it" tapped: shown as acknowledged at once, while the request is queued or on its way. */
export function markAcknowledging(state, incidentId, messageId) {
  const current = byIncident(state, incidentId).get(messageId);
  if (!current || current.acknowledged_at || current.acknowledging) return false;
  current.acknowledging = true;
  return true;
}

/** An incident's messages, newest first. */
export function messagesOf(state, incidentId) {
  const messages = state.messages?.get(incidentId);
  if (!messages) return [];
  return [...messages.values()].sort((a, b) => String(b.sent_at).localeCompare(String(a.sent_at)) || b.id - a.id);
}

/** Has the firefighter said "Got it" (confirmed or still queued)? */
export function isAcknowledged(message) {
  return Boolean(message && (message.acknowledged_at || message.acknowledging));
}

/** The messages still waiting for "Got it", newest first: the checklist's banner shows these. */
export function waitingForAcknowledgement(state, incidentId) {
  return messagesOf(state, incidentId).filter((message) => !isAcknowledged(message));
}

/** Messages waiting for "Got it" about live jobs, for the banner on every screen (trial 11: unseen
 *  on home): [{alert, incident, messages}] newest first, but not the incident whose alert or
 *  checklist is on screen (`route`), which shows them. */
export function unreadForJobs(state, route) {
  const shownAlert = route && (route.name === "alert" || route.name === "checklist") ? state.alerts.get(route.params?.id) : null;
  const byIncidentId = new Map();
  for (const alert of state.alerts.values()) {
    if (!isLiveJob(state, alert) || byIncidentId.has(alert.incident_id)) continue;
    if (shownAlert && shownAlert.incident_id === alert.incident_id) continue;
    const messages = waitingForAcknowledgement(state, alert.incident_id);
    if (messages.length) byIncidentId.set(alert.incident_id, { alert, incident: incidentOf(state, alert), messages });
  }
  return [...byIncidentId.values()].sort(
    (a, b) => String(b.messages[0].sent_at).localeCompare(String(a.messages[0].sent_at)) || b.messages[0].id - a.messages[0].id,
  );
}

/** Should a message just heard of buzz: not acknowledged, about a live job? */
export function isNewsForAJob(state, message) {
  if (!message || isAcknowledged(message)) return false;
  return [...state.alerts.values()].some((alert) => alert.incident_id === message.incident_id && isLiveJob(state, alert));
}

/** What a screen showing an incident's messages depends on (a region's key). */
export function messagesKey(state, incidentId) {
  return messagesOf(state, incidentId).map((message) => [message.id, isAcknowledged(message), Boolean(message.acknowledged_at)]);
}

/** Every message, for this phone's cache (cleared at logout with the alerts). */
export function allMessages(state) {
  return state.messages ? [...state.messages.values()].flatMap((messages) => [...messages.values()]) : [];
}

/** The queue item of one "Got it": one per user and message, whatever the number of taps. */
export function acknowledgementKey(owner, messageId) {
  return `message-ack:${owner}:${Number(messageId)}`;
}
