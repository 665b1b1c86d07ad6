// The coordinators' live board: every open incident and the answer of everyone alerted to it.
//
// What the board knows and how it words it is board-state.js (no DOM). This file draws it and
// keeps it connected through the app's own socket client (/app/socket.js, served with the rest of
// the firefighters' app from pwa/; backend/pwa.py): the same backoff, the same ping with the same
// pong deadline, the same close codes as the phones. The socket is a hint, not the record: when it
// drops, the board says so, greys out what it shows, reconnects and starts again from the fresh
// snapshot that every connection begins with. The snapshot and `board.workers` frames also say
// whether any delivery worker has reported recently; when none has, the board warns that pushes
// are not being sent.
//
// Each incident shows its coverage against its crew target ("1 going (2 needed)", from the incident's
// own counts), why each stood-down responder was stood down, and, since the board holds every open
// incident's alerts, which responders are committed to another open incident, and on how many of
// each responder's phones the alert was shown ("Shown on 1 of 2 phones": the phones' receipts).
// When alerted responders have no phone proven to ring (none shown a push lately, or failing its
// checks: `proven` in board.devices), the incident says so ("2 of 5 alerted have no proven phone")
// and marks them, as frames arrive.
//
// Mounted on every element with `data-board`:
//   data-socket-path   the socket's path, e.g. /ws/coordinator/
//   data-incident-url  an incident's admin page, with __id__ standing for its id
//   data-incident-id   (optional) show only this incident, as on its own admin page

import { distanceText, etaText, likelyFirstAmong, positionsOnTheWay } from "/app/arrival.js";
import { coordinatorSocket } from "/app/socket.js";

import { mountBoardMap } from "./board-map.js";

import {
  alarmKey,
  alarmOf,
  alertsOf,
  answeredAlertAt,
  applyFrame,
  cardCoverageText,
  categoryText,
  clockTime,
  commitmentsOf,
  committedElsewhere,
  coverageOf,
  createBoardState,
  devicesText,
  elsewhereText,
  escalationText,
  finishedText,
  incidentAlarm,
  incidentsToShow,
  isAcknowledged,
  isShort,
  messagesOf,
  noAlertsText,
  positionsOf,
  RESPONDERS_ORDER_TEXT,
  seenText,
  stateText,
  unprovenWarning,
  unreachedReasonText,
  workersWarning,
  arrivalWordsAt,
} from "./board-state.js";

// --- The connection ------------------------------------------------------------------------------

/** The socket client's status in the board's words: {state, detail, retryAt}, state one of
 *  connecting, live, waiting (to reconnect) and stopped (retrying cannot help). */
export function boardStatus(status, retryAt, detail) {
  switch (status) {
    case "live":
      return { state: "live", detail: "" };
    case "connecting":
    case "syncing":
      return { state: "connecting", detail: "" };
    case "reconnecting":
      return { state: "waiting", detail, retryAt };
    case "offline":
      return { state: "waiting", detail: "no network", retryAt: null };
    case "login-required":
      return { state: "stopped", detail: "You are no longer logged in. Log in again, then reload this page." };
    case "forbidden":
      return { state: "stopped", detail: "Your account may not watch the live board." };
    default:
      return { state: "stopped", detail: "" };
  }
}

/** The board's socket: frames to `onFrame`, the board's status (boardStatus) to `onStatus`.
 *  `options` go to the socket client (the tests pass a fake WebSocket and clock). */
export function connectBoard({ path, onFrame, onStatus, ...options }) {
  return coordinatorSocket({
    path,
    onFrame: (frame) => {
      if (frame.type === "error") console.warn("Board: the server reported", frame.data);
      onFrame(frame);
    },
    onStatus: (status, retryAt, detail) => onStatus(boardStatus(status, retryAt, detail)),
    ...options,
  });
}

// --- Drawing -------------------------------------------------------------------------------------

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "className") node.className = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function elapsed(ms) {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  const minutes = Math.floor(seconds / 60);
  const hours = Math.floor(minutes / 60);
  const pad = (n) => String(n).padStart(2, "0");
  return hours ? `${hours}:${pad(minutes % 60)}:${pad(seconds % 60)}` : `${minutes}:${pad(seconds % 60)}`;
}

/** One of an alert's times: the clock time, and how long after the alert it answered it was (a
 *  re-alert's, if it came after one); `label` (in a column of two times) names it above. The alerted
 *  time says when a re-alert went out, under the first alert. */
function timeOf(alert, field, label = null) {
  const iso = alert[field];
  const after = field === "alerted_at" ? null : Date.parse(iso) - Date.parse(answeredAlertAt(alert, iso));
  const again = field === "alerted_at" ? alert.realerted_at : null;
  return el(
    "span",
    { className: "board-time-one", title: again ? `${iso}, alerted again ${again}` : iso },
    label ? el("span", { className: "board-time-label" }, label) : null,
    el("time", { datetime: iso }, clockTime(iso)),
    after === null ? null : el("span", { className: "board-after" }, ` +${elapsed(after)}`),
    again ? el("span", { className: "board-after" }, "again ", el("time", { datetime: again }, clockTime(again))) : null,
  );
}

/** A time column's cell: each of its times the alert has, named ("Accepted / declined": "accepted
 *  09:23:20 +0:06", then "declined …" under it), or only the first (`first`); "—" when none. */
function timeCell(alert, { fields, first = false }) {
  const known = fields.filter((field) => alert[field]);
  if (!known.length) return el("td", { className: "board-time board-time--empty" }, "—");
  return el(
    "td",
    { className: "board-time" },
    (first ? known.slice(0, 1) : known).map((field) => timeOf(alert, field, TIME_NAMES[field] ?? null)),
  );
}

// The alert's times, two to a column where they are two steps of one thing (the answer, the way
// there), each named in its cell: seven columns of times hid "On scene" and "Cleared" behind a
// sideways scroll at 1280 px wide (found by a browser trial). The last is when the alert ended, the
// first of cleared, stood down and cancelled: the state cell says which.
const TIME_COLUMNS = [
  { heading: "Alerted", fields: ["alerted_at"] },
  { heading: "Shown in app", fields: ["received_at"] },
  { heading: "Accepted / declined", fields: ["accepted_at", "declined_at"] },
  { heading: "En route / on scene", fields: ["en_route_at", "on_scene_at"] },
  { heading: "Cleared / stood down", fields: ["cleared_at", "stood_down_at", "cancelled_at"], first: true },
];
const TIME_NAMES = { accepted_at: "accepted", declined_at: "declined", en_route_at: "en route", on_scene_at: "on scene" };

function stateCell(alert, commitment) {
  return el(
    "td",
    { className: "board-state" },
    el("span", { className: `board-badge board-badge--${alert.state}`, title: alert.decline_note || null }, stateText(alert, commitment)),
  );
}

/** On how many of the responder's phones the alert was shown (their receipts), per device in the
 *  title; and, when they have phones but none proven to ring, says so ("No phone for alerts"
 *  already does for a responder with none). */
function devicesCell(devices, unproven) {
  if (!devices) return el("td", { className: "board-devices" });
  return el(
    "td",
    { className: `board-devices board-devices--${devices.tone}`, title: devices.title },
    devices.text,
    unproven && devices.phones ? el("span", { className: "board-unproven-mark" }, "none proven to ring") : null,
  );
}

/** What a row's distance cell says: {distance, eta, title}. One distance: while the responder shares
 *  where they are on their way, the arrival estimate's (how far they are now, by road or as
 *  estimated: /app/arrival.js), with "about 3 min (estimate)" under it and the distance when alerted
 *  in the title; otherwise the distance when alerted (a straight line from their station, or from
 *  where they were). Found by a browser trial: "1.0 km" (the straight line from the station when
 *  alerted) beside "1.1 km · about 1 min" (the estimate's road distance from where they are) in
 *  one row. Each said as the wall board says distances (distanceText: "450 m" under a kilometre):
 *  a product trial found "140 m" in one row beside "0.2 km" in the next. An estimate from an old
 *  fix says so, as on the wall: "about 3 min (estimate) · position 4 min old" (etaText). */
export function distanceCellText(alert, position = null, now = Date.now()) {
  const alerted = distanceText(alert.distance_km);
  const eta = etaText(position?.estimate, now, position?.recorded_at);
  if (!eta) return { distance: alerted, eta: "", title: null };
  const from = alert.distance_from === "position" ? "where they were" : "their station";
  return { distance: distanceText(position.estimate.distance_km), eta, title: `${alerted} from ${from} when alerted` };
}

/** `commitment`: the other open incident this responder is committed to, if any; `unproven`: they
 *  are counted in the incident's "no proven phone" line. */
function alertRow(alert, commitment, devices, unproven, position = null, now = Date.now()) {
  // A stand-down for going elsewhere already names the incident in the state cell.
  const saysWhere = alert.state === "stood_down" && alert.stood_down_reason === "committed_elsewhere";
  const distance = distanceCellText(alert, position, now);
  return el(
    "tr",
    {
      className: `board-alert board-alert--${alert.state}${unproven ? " board-alert--unproven" : ""}`,
      "data-alert-id": alert.id,
    },
    el("td", { className: "board-rank" }, alert.rank),
    el(
      "th",
      { scope: "row" },
      alert.responder_name,
      commitment && !saysWhere ? el("span", { className: "board-elsewhere" }, elsewhereText(commitment)) : null,
    ),
    el("td", {}, alert.station),
    el(
      "td",
      { className: "board-number", title: distance.title },
      distance.distance,
      // When they are likely there, from where they are now (shared while going): under the distance.
      distance.eta ? el("span", { className: "board-estimate" }, distance.eta) : null,
    ),
    stateCell(alert, commitment),
    devicesCell(devices, unproven),
    TIME_COLUMNS.map((column) => timeCell(alert, column)),
  );
}

const HEADINGS = ["#", "Responder", "Station", "Distance", "State", "Phones", ...TIME_COLUMNS.map((column) => column.heading)];

function alertTable(incident, alerts, commitmentOf, devicesOf, unprovenIds, positionOf = () => null, now = Date.now()) {
  if (!alerts.length) {
    const text = noAlertsText(incident);
    return text ? el("p", { className: "board-none" }, text) : null;
  }
  const label = `Responders alerted to ${incident.cad_reference}`;
  const orderId = `board-order-${incident.id}`;
  // What the rows' order (the "#" column) means, said above them (it was left to be guessed).
  const order = el("p", { className: "board-order", id: orderId }, RESPONDERS_ORDER_TEXT);
  // Eleven columns fit a card at 1280 px wide; on a narrower screen the table scrolls inside its card
  // (by keyboard too: the region takes the focus), never the whole board sideways.
  const region = el(
    "div",
    { className: "board-alerts-scroll", role: "region", tabIndex: 0, "aria-label": label },
    el(
      "table",
      { className: "board-alerts", "aria-describedby": orderId },
      el("caption", { className: "visually-hidden" }, label),
      el("thead", {}, el("tr", {}, HEADINGS.map((heading) => el("th", { scope: "col" }, heading)))),
      el(
        "tbody",
        {},
        alerts.map((alert) => alertRow(alert, commitmentOf(alert), devicesOf(alert), unprovenIds.has(alert.id), positionOf(alert), now)),
      ),
    ),
  );
  return [order, region];
}

/** The coverage line, in the wall's words and from the same state (board-state.js, cardCoverageText):
 *  "2 going, 1 of them logged out (2 needed): …" as soon as a `board.responder` frame says so. */
function coverLine(state, incident, alerts) {
  const { text, tone } = cardCoverageText(state, incident, alerts);
  if (incident.status !== "open") {
    return el(
      "p",
      { className: "board-cover board-cover--finished" },
      `${finishedText(incident)} `,
      el("span", { className: "board-coverage" }, text),
    );
  }
  return el(
    "p",
    { className: `board-cover board-cover--${tone}`, role: tone === "none" ? "alert" : null },
    el("span", { className: "board-coverage" }, text),
  );
}

/** "Next: wider ring at 14:03:00 · 1 of 4 steps done": the escalation ladder's next step while the
 *  incident is short of crews (board-state.js, escalationText); nothing once covered or finished. */
function escalationLine(incident, alerts) {
  const text = escalationText(incident, alerts);
  return text ? el("p", { className: "board-escalation" }, text) : null;
}

function unreachedLine(reason) {
  return el("p", { className: "board-unreached" }, `The last dispatch reached nobody: ${reason}.`);
}

/** "2 of 5 alerted have no proven phone: ...": not an alarm (their phones may still ring), so no
 *  live-region role; it is in the incident's card, read with it. */
function unprovenLine(warning) {
  return el("p", { className: "board-unproven" }, warning.text);
}

/** "Likely first: A. Smith (3 min) · ambulance 8 min", from the estimates of those on their way and
 *  the CAD's ambulance_eta (/app/arrival.js); nothing while neither is known, nor once anyone has
 *  been on scene. */
function firstLine(incident, alerts, positions, now) {
  if (incident.status !== "open") return null;
  const text = likelyFirstAmong(positions, alerts, incident.ambulance_eta, now);
  return text ? el("p", { className: "board-first" }, text) : null;
}

/** The incident's alarm as this board shows it (board-state.js, alarmOf), with who acknowledged it
 *  on the control room's board, if anyone has since it was raised (`acknowledgement`, else null):
 *  the same acknowledgements as that board's (the snapshot's `alarm_acknowledgements` and
 *  `alarm.acknowledged` frames), for the same alarm (incidentAlarm). Found by a trial: an alarm
 *  acknowledged on the board stayed red here, "raised 04:57:34", with no word of it. */
export function boardAlarmOf(state, incident) {
  const alarm = alarmOf(state, incident);
  if (!alarm) return null;
  const sounding = incidentAlarm(state, incident);
  const acknowledgement = sounding ? state.acknowledgements.get(alarmKey(sounding.kind, incident.id)) ?? null : null;
  return { ...alarm, acknowledgement: sounding && isAcknowledged(acknowledgement, sounding) ? acknowledgement : null };
}

/** "Alarm: ... (raised 14:03:00)", red and announced while nobody has acknowledged it; then, no
 *  longer an alert, "... acknowledged by Casey Morgan at 14:04:10." */
function alarmLine(alarm) {
  const by = alarm.acknowledgement;
  if (by) {
    return el(
      "p",
      { className: "board-alarm board-alarm--acknowledged" },
      el("strong", {}, "Alarm: "),
      alarm.message,
      ` (raised ${clockTime(alarm.raised_at)}): acknowledged by ${by.acknowledged_by} at ${clockTime(by.acknowledged_at)}.`,
    );
  }
  return el(
    "p",
    { className: "board-alarm", role: "alert" },
    el("strong", {}, "Alarm: "),
    alarm.message,
    ` (raised ${clockTime(alarm.raised_at)})`,
  );
}

function incidentSection(state, incident, alerts, alarm, incidentUrl, commitmentOf, devicesOf, unproven, shared = []) {
  // Estimates only for those still on their way (accepted, en route), all counted at one `now`.
  const positions = positionsOnTheWay(shared, alerts);
  const now = Date.now();
  const short = isShort(incident);
  const nobodyGoing = short && coverageOf(incident).covering === 0;
  const unreached = unreachedReasonText(incident, alerts);
  const classes = ["board-incident"];
  if (incident.status === "open") classes.push(short ? "board-incident--short" : "board-incident--covered");
  if (nobodyGoing) classes.push("board-incident--uncovered");
  if (alarm) classes.push(alarm.acknowledgement ? "board-incident--acknowledged" : "board-incident--alarm");
  if (incident.status !== "open") classes.push("board-incident--finished");
  const headingId = `board-incident-${incident.id}`;
  const reference = incidentUrl
    ? el("a", { href: incidentUrl.replace("__id__", encodeURIComponent(incident.id)) }, incident.cad_reference)
    : incident.cad_reference;
  const since = incident.dispatched_at || incident.created_at;
  return el(
    "section",
    { className: classes.join(" "), "aria-labelledby": headingId, "data-incident-id": incident.id },
    el(
      "h2",
      { id: headingId },
      reference,
      " ",
      el("span", { className: `board-status board-status--${incident.status}` }, incident.status),
    ),
    el(
      "p",
      { className: "board-meta" },
      el("strong", {}, incident.address),
      ` · ${categoryText(incident.category)}`,
      ` · created ${clockTime(incident.created_at)}`,
      incident.dispatched_at ? ` · dispatched ${clockTime(incident.dispatched_at)}` : " · not dispatched",
      incident.status === "open" && since
        ? el("span", {
          className: "board-elapsed",
          "data-elapsed-since": since,
          "data-elapsed-label": incident.dispatched_at ? "since dispatch" : "since created",
        })
        : null,
    ),
    alarm ? alarmLine(alarm) : null,
    coverLine(state, incident, alerts),
    escalationLine(incident, alerts),
    unreached ? unreachedLine(unreached) : null,
    unproven ? unprovenLine(unproven) : null,
    firstLine(incident, alerts, positions, now),
    alertTable(incident, alerts, commitmentOf, devicesOf, unproven?.alertIds ?? new Set(), (alert) => positions.find((p) => p.alert_id === alert.id) ?? null, now),
  );
}

// --- Messages to the crews (issue 15): a minimal form until the control-room board replaces it ---

function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

/** POST /api/v1/incidents/{id}/messages/; resolves to the answer's error message, or "" when sent. */
async function sendCrewMessage(incidentId, text) {
  try {
    const response = await fetch(`/api/v1/incidents/${encodeURIComponent(incidentId)}/messages/`, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify({ text }),
    });
    if (response.ok) return "";
    const body = await response.json().catch(() => null);
    const error = body?.error || {};
    return error.fields?.text?.[0] || error.message || `The server answered ${response.status}.`;
  } catch {
    return "Not sent: no connection.";
  }
}

/** The admin board's list of messages, newest first: "EEAST-1 10:02: “Rear door” · Seen by 1 of 2:
 *  Alice". `messages`: board-state.js's messagesOf, as the wall shows them, and in the wall's words
 *  (seenText), so both boards say the same: the acknowledgements heard (in any order) and the
 *  server's count of whom each message reaches (`recipient_count`, kept current by
 *  `message.recipients`), never one of their own (found by a browser trial: "2 of 1" once a
 *  responder alerted later said "Got it"; and "Got it: Alice (1 of 2)" here beside the wall's
 *  "Seen by 1 of 2"). */
export function messageLines(messages, references) {
  return messages
    .filter((message) => references.has(message.incident_id))
    .sort((a, b) => String(b.sent_at).localeCompare(String(a.sent_at)) || b.id - a.id)
    .map((message) => ({
      id: message.id,
      text: `${references.get(message.incident_id)} ${clockTime(message.sent_at)}: “${message.text}” · `,
      seen: seenText(message),
    }));
}

/** One form above the incidents (redrawing them never loses what is being typed): choose the
 *  incident, type, send. The crews' phones show it; their "Got it"s are listed under the form,
 *  from the board's state (board-state.js), which the wall shares. */
class MessageForm {
  constructor() {
    this.select = el("select", { id: "board-message-incident", name: "incident" });
    this.text = el("input", { id: "board-message-text", name: "text", type: "text", maxlength: 280, autocomplete: "off" });
    this.result = el("p", { className: "board-message-result", role: "status", "aria-live": "polite" });
    this.list = el("ul", { className: "board-messages" });
    this.form = el(
      "form",
      { className: "board-message-form", "aria-label": "Send a message to the crews" },
      el("label", { for: "board-message-incident" }, "Incident "),
      this.select,
      " ",
      el("label", { for: "board-message-text" }, "Message to the crews "),
      this.text,
      " ",
      el("button", { type: "submit" }, "Send a message"),
      this.result,
      this.list,
    );
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.send();
    });
  }

  async send() {
    const incidentId = this.select.value;
    if (!incidentId) return;
    this.result.textContent = "Sending…";
    const problem = await sendCrewMessage(incidentId, this.text.value);
    this.result.textContent = problem || "Sent to the crews.";
    if (!problem) this.text.value = "";
  }

  draw(incidents, state) {
    const open = incidents.filter((incident) => incident.status === "open");
    const wanted = open.map((incident) => `${incident.id}:${incident.cad_reference}`).join(",");
    if (this.select.dataset.incidents !== wanted) {
      const chosen = this.select.value;
      this.select.replaceChildren(...open.map((incident) => el("option", { value: String(incident.id) }, `${incident.cad_reference} · ${incident.address}`)));
      if (open.some((incident) => String(incident.id) === chosen)) this.select.value = chosen;
      this.select.dataset.incidents = wanted;
    }
    this.form.hidden = open.length === 0;
    const references = new Map(open.map((incident) => [incident.id, incident.cad_reference]));
    const lines = messageLines(open.flatMap((incident) => messagesOf(state, incident.id)), references);
    this.list.replaceChildren(...lines.map((line) => el("li", { "data-message-id": line.id }, line.text, line.seen)));
  }
}

/** The page's notice of welfare follow-ups not reaching the welfare leads (its template renders it
 *  as the page loads: records/templates/admin/records/welfare_notice.html), shown, changed or
 *  cleared as the socket says (`board.welfare`). `notice`: undefined while the socket has not said
 *  (the page's own stays), null (hidden), or the server's words for this coordinator. Shared with
 *  the full-screen board. */
export function drawWelfareNotice(node, notice) {
  if (!node || notice === undefined) return;
  const parts = notice
    ? [el("strong", {}, notice.headline), " ", notice.detail, ...(notice.url ? [" ", el("a", { href: notice.url }, "Read them")] : [])]
    : [];
  const text = notice ? `${notice.headline} ${notice.detail}${notice.url ? " Read them" : ""}` : "";
  if (node.hidden === !notice && node.textContent === text) return; // unchanged: not announced again
  node.replaceChildren(...parts);
  node.hidden = !notice;
}

// --- A press held on a board ---------------------------------------------------------------------

const HOLD_MAX_MS = 5000; // the longest a press holds its part's drawing (PressHold)

/** A part of a board (a card, an incident's section, the alarms' bar) under a pointer held down, or
 *  a Space held on one of its buttons, is not drawn anew until the press ends, and then at once: a
 *  click is the press and the release on the same element, and drawing the part anew in between
 *  replaced it, so the click never came. Found by a browser trial of the full-screen board: every
 *  update drew every card's buttons anew (three times in 12 s while escalation ladders ran), and
 *  Cancel pressed as another incident's update arrived did nothing; this board, which draws every
 *  incident anew on every update, lost a click on an incident's link so. `parts`: a selector of the
 *  parts held; `redraw`: asks for a drawing, after the release (in the next frame: after the click
 *  it makes). Held at most HOLD_MAX_MS, should the release never be heard. Shared with the
 *  full-screen board. */
export class PressHold {
  constructor(root, parts, redraw) {
    this.held = null; // the part pressed
    this.heldBack = false; // a drawing of it was held back: drawn after the release
    this.redraw = redraw;
    const press = (event) => {
      const part = event.target.closest?.(parts);
      if (!part || !root.contains(part)) return;
      this.held = part;
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.release(), HOLD_MAX_MS);
    };
    root.addEventListener("pointerdown", (event) => {
      if (event.button === 0) press(event);
    }, true);
    root.addEventListener("keydown", (event) => {
      if (event.key === " " && event.target.closest?.("button")) press(event);
    }, true);
    const release = () => this.release();
    for (const type of ["pointerup", "pointercancel"]) window.addEventListener(type, release, true);
    window.addEventListener("keyup", (event) => {
      if (event.key === " ") release();
    }, true);
    window.addEventListener("blur", release); // the window's own, not its elements' (no capture)
  }

  /** Whether `node` is the part pressed: then its drawer keeps it as drawn, and it is drawn after
   *  the release. */
  holds(node) {
    if (!node || node !== this.held) return false;
    this.heldBack = true;
    return true;
  }

  release() {
    if (!this.held) return;
    this.held = null;
    clearTimeout(this.timer);
    if (this.heldBack) {
      this.heldBack = false;
      this.redraw();
    }
  }
}

/** Put `nodes` in `box` in this order: the rest removed first, then only those out of place moved
 *  (a node moved, even back where it was, under a pointer held down loses the click: PressHold).
 *  Shared with the full-screen board. */
export function placeChildren(box, nodes) {
  const kept = new Set(nodes);
  for (const child of [...box.childNodes]) if (!kept.has(child)) child.remove();
  let at = box.firstChild;
  for (const node of nodes) {
    if (node === at) at = at.nextSibling;
    else box.insertBefore(node, at);
  }
}

// --- A list held still while the coordinator aims at it ------------------------------------------

export const AIM_STILL_MS = 1500; // a pointer still this long over the list no longer aims (AimHold)
export const AIM_HOLD_MAX_MS = 4000; // the longest a change to the list's order waits (AimHold)
const CONTROLS = "button, a, input, select, textarea"; // what a press in the list acts with
// The page's clock (AimHold's; its tests give a fake one).
const BROWSER_CLOCK = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (id) => clearTimeout(id),
};

/** A list of cards whose order and membership (a card arriving, a card going, the cards reordered)
 *  do not change while the coordinator aims at it: the pointer over it and moved (or the list
 *  scrolled under it) within the last AIM_STILL_MS, or pressed on it. Found by measuring the
 *  full-screen board: a new incident's card at the list's top moved every card down by a whole
 *  card (266 px at 1280 wide; at 1920, two cards to a row, every card by a place), and a finished
 *  one going on its timer moved them back, so a click aimed at one incident's Cancel or Close could
 *  land on another incident's. What is inside the cards is still drawn in place (a card pressed is
 *  PressHold's). The change is drawn once the pointer rests or leaves the list, and AIM_HOLD_MAX_MS
 *  after it was first held back at the latest, so that a new incident's card is never kept back
 *  long (its alarm, its sound and the notice above the list are not held at all).
 *  `redraw`: asks for a drawing, when a change held back may be drawn. `clock`: now(),
 *  setTimeout() and clearTimeout() (the tests give their own). */
export class AimHold {
  constructor(redraw, { clock = BROWSER_CLOCK, stillMs = AIM_STILL_MS, maxMs = AIM_HOLD_MAX_MS } = {}) {
    Object.assign(this, { redraw, clock, stillMs, maxMs });
    this.over = false; // the pointer is over the list
    this.movedAt = -Infinity; // when it last moved there
    this.down = false; // a press on the list
    this.onControl = false; // the pointer is over a button, link or field in the list, still or not
    this.waitingSince = null; // when a change was first held back; null: none waits
    this.timer = null; // to look again, when a change held back may be drawn
    this.givingWay = false; // the next drawing draws the change (letThrough)
  }

  /** Follow the pointer on `list` (and the window's, for a press released or the window left). */
  watch(list) {
    for (const type of ["pointermove", "wheel"]) list.addEventListener(type, () => this.moved(), { passive: true });
    // Resting on a control is aiming too (trial 16b: the pointer still 2 s on "Stand down", the
    // cards moved a place, and the click stood down a firefighter on another incident).
    for (const type of ["pointerover", "pointermove"]) {
      list.addEventListener(type, (event) => this.pointingAt(Boolean(event.target.closest?.(CONTROLS))), { passive: true });
    }
    list.addEventListener("pointerleave", () => this.left());
    list.addEventListener("pointerdown", (event) => {
      if (event.button === 0) this.pressed(true);
    }, true);
    for (const type of ["pointerup", "pointercancel"]) window.addEventListener(type, () => this.pressed(false), true);
    window.addEventListener("blur", () => {
      this.pressed(false);
      this.left();
    });
  }

  /** The pointer moved over the list, or scrolled it. */
  moved() {
    this.over = true;
    this.movedAt = this.clock.now();
  }

  /** The pointer left the list: a change held back is drawn now. */
  left() {
    this.over = false;
    this.onControl = false;
    this.drawWaiting();
  }

  /** The pointer is over a control in the list (true), or over the list elsewhere (false): while
   *  over one, still or not, a change waits (4 s at most); off it, a change waiting is drawn. */
  pointingAt(control) {
    const leftControl = this.onControl && !control;
    this.onControl = control;
    if (control) this.over = true;
    if (leftControl) this.drawWaiting();
  }

  /** A press on the list began (true) or ended (false): a change held back is drawn after it. */
  pressed(down) {
    const released = this.down && !down;
    this.down = down;
    if (released) this.drawWaiting();
  }

  /** Whether the coordinator aims at the list now: a press on it, the pointer over one of its
   *  controls (moving or still), or the pointer over it and moved within the last `stillMs`. */
  aiming(now = this.clock.now()) {
    return this.down || (this.over && (this.onControl || now - this.movedAt < this.stillMs));
  }

  /** The next drawing draws the change held back, aiming or not: the coordinator asked for a card
   *  not drawn yet (the notice above the list, an incident named in the alarms' bar). */
  letThrough() {
    this.givingWay = true;
  }

  /** Asked at each drawing of the list: `changing`, whether its order or membership would change.
   *  True: draw the list's cards where they are (what is inside them may be drawn anew); a drawing
   *  is asked for (`redraw`) when the change may be drawn. False: draw the change. */
  holds(changing) {
    const now = this.clock.now();
    if (changing && this.waitingSince === null) this.waitingSince = now;
    const deadline = (this.waitingSince ?? now) + this.maxMs;
    if (!changing || this.givingWay || !this.aiming(now) || now >= deadline) {
      this.givingWay = false;
      this.waitingSince = null;
      this.lookAgainAt(null);
      return false;
    }
    const rested = this.down || this.onControl ? Infinity : this.movedAt + this.stillMs;
    this.lookAgainAt(Math.min(rested, deadline));
    return true;
  }

  /** A drawing asked for at `at` (the clock's time), or none (null). */
  lookAgainAt(at) {
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
    if (at === null) return;
    this.timer = this.clock.setTimeout(() => {
      this.timer = null;
      this.redraw();
    }, Math.max(0, at - this.clock.now()));
  }

  drawWaiting() {
    if (this.waitingSince === null) return;
    this.lookAgainAt(null);
    this.redraw();
  }
}

// --- A press refused while the list moves under it ------------------------------------------------

export const SETTLE_MS = 600; // a card that moved within this long is not pressed (SettleGuard)
export const REAIM_PX = 24; // a pointer moved this far since the cards moved aimed again (SettleGuard)

/** Whether each card of a list has kept its place long enough to be pressed. Whatever moves it (the
 *  cards held back placed at AimHold's 4 s, the alarms' bar coming or growing above the list, a
 *  card above growing), a press on a control of a card that moved within the last `settleMs` went
 *  where the coordinator did not aim (trial 16b: a click 0.4 s after the cards moved a place stood
 *  down a firefighter on another incident): it is refused, and said so. `note` is given where every
 *  card is after each drawing (cheap: one rectangle a card). A pointer that has moved REAIM_PX or
 *  more since the cards moved was aimed again, at what is there now: its press is let through.
 *  `clock`: now() (the tests give their own). */
export class SettleGuard {
  constructor({ clock = BROWSER_CLOCK, settleMs = SETTLE_MS } = {}) {
    Object.assign(this, { clock, settleMs });
    this.places = new Map(); // card key -> "x,y" where it was last noted
    this.movedAt = new Map(); // card key -> when it last moved (or came)
    this.pointer = null; // where the pointer is: [x, y]; null: not known
    this.pointerWhenMoved = null; // where it was when cards last moved
    this.aimedAt = undefined; // the control the pointer was over when it last aimed (aimKey); undefined: not known
    this.toAimAgain = false; // cards moved since: only a move of REAIM_PX or more aims again
  }

  /** Where the pointer is now (the page's pointermove), and the control it is over there (aimKey:
   *  null if none): what it aims at, unless cards moved since it last aimed and it has not moved
   *  REAIM_PX since (trial 18: a hand's 3-5 px nudge after the cards moved a place, and the press
   *  stood down a firefighter on another incident). A move to where the pointer already was is not
   *  the coordinator aiming (the browser's own, after a change of layout). */
  pointerAt(x, y, over = null) {
    const still = this.pointer !== null && this.pointer[0] === x && this.pointer[1] === y;
    this.pointer = [x, y];
    if (still || (this.toAimAgain && !this.aimedAgain())) return;
    this.aim(over);
  }

  /** A touch or a pen's press is its own aim (they have no pointer moving before it); and so is
   *  the coordinator scrolling the list under the pointer (the wheel, the keys, the scroll bar):
   *  what is under it then is what they brought there. */
  touchedAt(x, y, over = null) {
    this.pointer = [x, y];
    this.aim(over);
  }

  aim(over) {
    this.aimedAt = over;
    this.toAimAgain = false;
  }

  /** Whether a pointer's press on the control `over` (aimKey) is on another than the one the
   *  pointer was over when it last moved: what was under it moved, however long ago (trial 17: the
   *  pointer rested on "Stand down", the cards held back were placed 4 s later, and a press a second
   *  after that, past the 0.6 s, stood down a firefighter on another incident). Once refused, the
   *  press again acts on what is there: the coordinator was told. */
  changedUnder(over) {
    if (this.aimedAt === undefined || this.aimedAt === over) return false;
    this.aim(over);
    return true;
  }

  /** Where each card is now (`places`: key -> [x, y], the list's scroll added back, so that the
   *  coordinator scrolling moves nothing); those gone are forgotten. A card new to it counts as
   *  moved when cards already there moved with it (it came in among them, where another was); not
   *  when none did (the board's first drawing, a card added at the end or to an empty list). */
  note(places) {
    const now = this.clock.now();
    const added = [];
    let anyMoved = false;
    for (const [key, [x, y]] of places) {
      const place = `${Math.round(x)},${Math.round(y)}`;
      const before = this.places.get(key);
      if (before === undefined) added.push(key);
      else if (before !== place) {
        this.movedAt.set(key, now);
        anyMoved = true;
      }
      this.places.set(key, place);
    }
    if (anyMoved) {
      for (const key of added) this.movedAt.set(key, now);
      this.pointerWhenMoved = this.pointer;
      this.toAimAgain = true;
    }
    for (const key of [...this.places.keys()]) {
      if (!places.has(key)) {
        this.places.delete(key);
        this.movedAt.delete(key);
      }
    }
  }

  /** Whether the card `key` moved (or came) within the last `settleMs`, the pointer not aimed again
   *  since: a press on it is refused. */
  moving(key, now = this.clock.now()) {
    return now - (this.movedAt.get(key) ?? -Infinity) < this.settleMs && !this.aimedAgain();
  }

  /** Whether the pointer moved REAIM_PX or more since the cards last moved (from unknown: it came). */
  aimedAgain() {
    const [from, to] = [this.pointerWhenMoved, this.pointer];
    if (!to) return false;
    return !from || Math.hypot(to[0] - from[0], to[1] - from[1]) >= REAIM_PX;
  }

  /** Refuse, on `list`, a pointer's press on a control of a card that is moving (capture phase,
   *  before the control's own handler); `refused()` says so. A key's press (no pointer) is let
   *  through: the focus, not the pointer, chose what it acts on. */
  guard(list, keyOf, refused) {
    const over = (target) => (list.contains(target) ? aimKey(target) : null);
    window.addEventListener("pointermove", (event) => this.pointerAt(event.clientX, event.clientY, over(event.target)), { passive: true, capture: true });
    window.addEventListener("pointerdown", (event) => {
      if (event.pointerType !== "mouse") this.touchedAt(event.clientX, event.clientY, over(event.target));
    }, { passive: true, capture: true });
    list.addEventListener("scroll", () => {
      if (!this.pointer) return;
      const [x, y] = this.pointer;
      this.touchedAt(x, y, over(document.elementFromPoint(x, y)));
    }, { passive: true });
    list.addEventListener("click", (event) => {
      if (event.detail === 0 || !event.target.closest?.(CONTROLS)) return;
      const key = keyOf(event.target);
      if (key === null || key === undefined) return;
      const changed = this.changedUnder(aimKey(event.target)); // asked first: it takes the new aim
      if (!changed && !this.moving(key)) return;
      event.preventDefault();
      event.stopImmediatePropagation();
      refused();
    }, true);
  }
}

/** Which control `target` is in, for SettleGuard: its data-focus-key (the wall's controls have one
 *  each, kept when drawn anew, e.g. "sd-<alert id>" for a Stand down), or its words; null outside a
 *  control. */
export function aimKey(target) {
  const control = target?.closest?.(CONTROLS);
  if (!control) return null;
  return control.dataset?.focusKey || `${control.closest("[data-focus-key]")?.dataset.focusKey ?? ""}:${control.textContent}`;
}

/** When the board will try again: a countdown, or (offline) when the network is back. */
function reconnectingWhen(retryAt) {
  if (!retryAt) return "Reconnecting when the network is back.";
  return `Reconnecting in ${Math.max(0, Math.ceil((retryAt - Date.now()) / 1000))} s…`;
}

class BoardView {
  constructor(root) {
    this.root = root;
    this.incidentUrl = root.dataset.incidentUrl || "";
    this.onlyIncident = root.dataset.incidentId ? Number(root.dataset.incidentId) : null;
    this.state = createBoardState();
    this.status = { state: "connecting", detail: "" };
    this.baseTitle = document.title;
    this.drawPending = false;

    root.replaceChildren();
    // Always in the page, filled only when there is something to say, so that screen readers
    // announce the warning when it appears.
    this.workersBox = el("div", { className: "board-workers", role: "alert", hidden: true });
    this.statusLine = el("p", { className: "board-connection", role: "status", "aria-live": "polite" });
    this.incidentsBox = el("div", { className: "board-incidents" });
    // Only on the whole board, not on one incident's admin page.
    this.messageForm = this.onlyIncident === null ? new MessageForm() : null;
    // The map of the open incidents, positions and defibrillators (board-map.js), with its text.
    this.mapBox = el("section", { className: "board-map", "aria-label": "Map: positions and defibrillators" });
    root.append(this.workersBox, this.statusLine, ...(this.messageForm ? [this.messageForm.form] : []), this.mapBox, this.incidentsBox);
    this.map = mountBoardMap(this.mapBox);
    // An incident's section pressed is drawn as it was until the press ends (PressHold).
    this.press = new PressHold(root, ".board-incident", () => this.scheduleDraw());
    setInterval(() => this.tick(), 1000);
  }

  frame(frame) {
    const changed = applyFrame(this.state, frame);
    this.map.frame(frame);
    if (changed) this.scheduleDraw();
  }

  setStatus(status) {
    this.status = status;
    this.drawStatus();
    this.root.classList.toggle("board--stale", status.state !== "live");
  }

  scheduleDraw() {
    if (this.drawPending) return;
    this.drawPending = true;
    requestAnimationFrame(() => {
      this.drawPending = false;
      this.draw();
    });
  }

  draw() {
    // What the estimates say now, before drawing them: tick draws again once they say otherwise.
    this.arrivalDrawn = arrivalWordsAt(this.state);
    let incidents = incidentsToShow(this.state);
    if (this.onlyIncident !== null) incidents = incidents.filter((incident) => incident.id === this.onlyIncident);
    const commitments = commitmentsOf(this.state);
    const commitmentOf = (alert) => committedElsewhere(this.state, alert, commitments);
    const shown = new Map([...this.incidentsBox.children].map((node) => [node.dataset.incidentId, node]));
    const sections = incidents.map((incident) => {
      const pressed = shown.get(String(incident.id));
      if (this.press.holds(pressed)) return pressed; // drawn after the release
      const alerts = alertsOf(this.state, incident.id);
      return incidentSection(
        this.state,
        incident,
        alerts,
        boardAlarmOf(this.state, incident),
        this.onlyIncident === null ? this.incidentUrl : "",
        commitmentOf,
        (alert) => devicesText(this.state, alert),
        unprovenWarning(this.state, incident, alerts),
        positionsOf(this.state, incident.id),
      );
    });
    if (!sections.length) {
      const text = this.onlyIncident === null
        ? "No open incidents."
        : "This incident is not on the live board (it is no longer open). Reload the page for its record.";
      sections.push(el("p", { className: "board-empty" }, this.state.snapshotAt ? text : "Waiting for the board…"));
    }
    placeChildren(this.incidentsBox, sections); // the section pressed, if any, left in its place
    this.messageForm?.draw(incidents, this.state);
    this.map.update(incidents);
    this.drawWorkers();
    drawWelfareNotice(document.getElementById("welfare-notice"), this.state.welfare);
    this.tick();
    if (this.onlyIncident === null) {
      const short = incidents.filter(isShort);
      document.title = short.length ? `(${short.length}) ${this.baseTitle}` : this.baseTitle;
    }
  }

  drawWorkers() {
    const warning = workersWarning(this.state.workers);
    const text = warning ? `${warning.headline} ${warning.detail}` : "";
    if (this.workersBox.textContent === text) return; // unchanged: do not announce it again
    this.workersBox.hidden = !warning;
    this.workersBox.replaceChildren(
      ...(warning ? [el("strong", {}, warning.headline), " ", warning.detail] : []),
    );
  }

  drawStatus() {
    const { state, detail, retryAt } = this.status;
    const parts = {
      connecting: `Connecting…${detail ? ` (${detail})` : ""}`,
      live: "Live: changes appear as they happen.",
      waiting: `Disconnected${detail ? ` (${detail})` : ""}. What is shown may be out of date. ${reconnectingWhen(retryAt)}`,
      stopped: `Not connected. ${detail}`,
    };
    this.statusLine.className = `board-connection board-connection--${state}`;
    this.statusLine.textContent = parts[state] ?? state;
  }

  tick() {
    const now = Date.now();
    // The estimates count down with no frame to say so: drawn again as the minutes change, so that
    // this board and the other say the same (board-state.js, arrivalWordsAt).
    if (this.arrivalDrawn !== undefined && arrivalWordsAt(this.state, now) !== this.arrivalDrawn) this.scheduleDraw();
    for (const node of this.incidentsBox.querySelectorAll("[data-elapsed-since]")) {
      node.textContent = ` · ${elapsed(now - Date.parse(node.dataset.elapsedSince))} ${node.dataset.elapsedLabel}`;
    }
    if (this.status.state === "waiting") this.drawStatus();
  }
}

export function mountBoard(root, { location = window.location } = {}) {
  const view = new BoardView(root);
  const connection = connectBoard({
    path: root.dataset.socketPath || "/ws/coordinator/",
    location,
    onFrame: (frame) => view.frame(frame),
    onStatus: (status) => view.setStatus(status),
  });
  keepConnected(connection);
  return { view, connection };
}

/** Starts a board's connection, says at once that it is down when the browser loses the network,
 *  and checks it at once when the network comes back or the page is shown again: a dead socket
 *  then shows as disconnected within the pong deadline (10 s) rather than after the next ping as
 *  well (up to 25 s more). Shared with the full-screen board. */
export function keepConnected(connection) {
  window.addEventListener("online", () => connection.poke());
  window.addEventListener("offline", () => connection.wentOffline()); // said at once (SocketClient.wentOffline)
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") connection.poke();
  });
  connection.start();
}

if (typeof document !== "undefined") {
  for (const root of document.querySelectorAll("[data-board]")) mountBoard(root);
}
