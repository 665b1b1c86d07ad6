// The coordinators' live board: every open incident and the answer of everyone alerted to it.
//
// The socket at /ws/coordinator/ sends a `board.snapshot` first (every open incident and its
// alerts), then `board.alert`, `board.incident` and `board.alarm` frames as things change
// (docs/events.md). The snapshot and `board.workers` frames also say whether any delivery worker
// has reported recently; when none has, the board warns that pushes are not being sent. The board keeps the highest `version` of each alert, so a late frame never undoes a newer one. The
// socket is a hint, not the record: when it drops, the board says so, greys out what it shows,
// reconnects with exponential backoff and starts again from a fresh snapshot.
//
// Each incident shows its coverage against its crew target ("Going 1 of 2", from the incident's
// own counts), why each stood-down responder was stood down, and, since the board holds every open
// incident's alerts, which responders are committed to another open incident.
//
// Mounted on every element with `data-board`:
//   data-socket-path   the socket's path, e.g. /ws/coordinator/
//   data-incident-url  an incident's admin page, with __id__ standing for its id
//   data-incident-id   (optional) show only this incident, as on its own admin page

export const COMMITTED_STATES = new Set(["accepted", "en_route", "on_scene"]);
// States in which a responder may still turn up or answer (backend/dispatch/actions.py).
const ACTIVE_STATES = new Set(["alerted", "received", ...COMMITTED_STATES]);

const STATE_LABELS = {
  alerted: "Alerted",
  received: "Shown on device",
  accepted: "Accepted",
  declined: "Declined",
  en_route: "En route",
  on_scene: "On scene",
  cleared: "Cleared",
  stood_down: "Stood down",
  cancelled: "Incident cancelled",
};

// Why an alert was stood down (the alert's `stood_down_reason`); committed_elsewhere names the
// other incident when the board knows it (standDownText).
const STAND_DOWN_LABELS = {
  coordinator: "Stood down by coordinator",
  enough_crews: "Stood down: enough crews going",
  committed_elsewhere: "Stood down: accepted another incident",
  incident_closed: "Stood down: incident closed",
};

// Why the last dispatch alerted nobody (the incident's `unreached_reason`).
const UNREACHED_LABELS = {
  no_station_in_range: "no station is within range",
  nobody_on_call: "nobody in range is on call with training in date",
  everyone_committed: "everyone in range is committed to another incident",
  everyone_alerted: "everyone in range has already been alerted",
  named_not_available: "the named responders are off call, untrained or already alerted",
};

const CATEGORY_LABELS = {
  cardiac_arrest: "Suspected cardiac arrest",
  unconscious: "Unconscious, breathing uncertain",
  other_medical: "Other medical emergency",
};

const DECLINE_LABELS = {
  unavailable: "not available",
  too_far: "too far away",
  no_transport: "no transport",
  already_committed: "at another incident",
  other: "other",
};

// Close codes of backend/sockets/consumers.py after which retrying cannot help.
const CLOSE_NOT_LOGGED_IN = 4401;
const CLOSE_NOT_ALLOWED = 4403;

// A closed or cancelled incident stays on the board, greyed, for this long.
const FINISHED_KEPT_MS = 10 * 60 * 1000;

// --- What the board knows (no DOM here, so it can be tested on its own) -----------------------

export function createBoardState() {
  return { incidents: new Map(), alerts: new Map(), alarms: new Map(), workers: null, snapshotAt: null };
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
    default:
      return false;
  }
}

/** The snapshot replaces everything: it was read after the socket joined the board's group,
 *  so it is at least as new as anything this page heard before. */
export function applySnapshot(state, data, now = Date.now()) {
  state.incidents = new Map();
  state.alerts = new Map();
  for (const incident of data?.incidents ?? []) applyIncident(state, incident, now);
  for (const alert of data?.alerts ?? []) applyAlert(state, alert);
  applyWorkers(state, data?.delivery_workers);
  // The snapshot does not say which incidents have raised an alarm; keep those already heard of
  // for incidents still open, rather than silently dropping an alarm on reconnect.
  for (const incidentId of state.alarms.keys()) {
    if (!state.incidents.has(incidentId)) state.alarms.delete(incidentId);
  }
  state.snapshotAt = now;
  return true;
}

/** The active alarm of an incident, or null: only an open incident still short of crews has one.
 *  From a `board.alarm` frame, or from the incident's own `alarm_raised_at` (so that a board
 *  opened after the alarm still shows it), then worded from how the incident stands now. */
export function alarmOf(state, incident) {
  if (!isShort(incident)) return null;
  const heard = state.alarms.get(incident.id);
  if (heard) return heard;
  if (!incident.alarm_raised_at) return null;
  return {
    incident_id: incident.id,
    cad_reference: incident.cad_reference,
    raised_at: incident.alarm_raised_at,
    message: fallbackAlarmMessage(incident, alertsOf(state, incident.id)),
  };
}

/** The words of backend/dispatch/actions.py and escalation.py, for an alarm the board did not hear. */
function fallbackAlarmMessage(incident, alerts) {
  const reference = incident.cad_reference;
  const unreached = unreachedReasonText(incident, alerts);
  if (unreached) return `Dispatch of incident ${reference} reached nobody: ${unreached}.`;
  const { covering, target } = coverageOf(incident);
  if (covering) return `Incident ${reference} has ${covering} of the ${target} crews it needs after every ring was alerted.`;
  return `Nobody has accepted incident ${reference} after every ring was alerted.`;
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

/** Nobody accepted after every ring was alerted. */
export function applyAlarm(state, alarm) {
  if (!alarm || typeof alarm.incident_id !== "number") return false;
  state.alarms.set(alarm.incident_id, alarm);
  return true;
}

/** Keep the highest version of each alert. */
export function applyAlert(state, alert) {
  if (!alert || typeof alert.id !== "number") return false;
  const known = state.alerts.get(alert.id);
  if (known && known.version >= alert.version) return false;
  state.alerts.set(alert.id, alert);
  return true;
}

/** Incident frames carry no version, but an incident never reopens: a late "open" frame must
 *  not undo a close or a cancellation the board already knows of. */
export function applyIncident(state, incident, now = Date.now()) {
  if (!incident || typeof incident.id !== "number") return false;
  const known = state.incidents.get(incident.id);
  if (known && known.status !== "open" && incident.status === "open") return false;
  const finishedSeenAt = incident.status === "open" ? null : (known?.finishedSeenAt ?? now);
  state.incidents.set(incident.id, { ...incident, finishedSeenAt });
  // Enough crews are going: the alarm has been dealt with. Forget its message, which no longer
  // says how things stand; should coverage drop again, alarmOf words it afresh from the incident.
  if (coverageOf(incident).covered) state.alarms.delete(incident.id);
  return true;
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

/** The coverage line of a card: {text, tone}, tone one of covered, short, none (nobody going) and
 *  finished. Times in 24 hours. */
export function coverageText(incident, alerts = []) {
  const { target, covering, accepted, attended, covered } = coverageOf(incident);
  if (incident.status !== "open") {
    return { text: `Accepted ${accepted} · attended ${attended}`, tone: "finished" };
  }
  const going = `Going ${covering} of ${target}`;
  if (covered) {
    const since = incident.covered_at ? ` at ${clockTime(incident.covered_at)}` : "";
    return { text: `${going}: covered${since}.`, tone: "covered" };
  }
  if (covering) {
    return { text: `${going}: ${target - covering} more needed.`, tone: "short" };
  }
  let why;
  if (alerts.some((alert) => ACTIVE_STATES.has(alert.state))) why = `nobody has accepted (${alerts.length} alerted).`;
  else if (alerts.length) why = `nobody is still alerted or going (${alerts.length} alerted).`;
  else if (incident.dispatched_at) why = "nobody alerted.";
  else why = "not dispatched yet: dispatch from the incident's page.";
  return { text: `${going}: ${why}`, tone: "none" };
}

/** Why the incident's last dispatch reached nobody, in words (lower case), while nobody is
 *  alerted to it or going; else null. */
export function unreachedReasonText(incident, alerts) {
  if (incident.status !== "open" || !incident.unreached_reason) return null;
  if (alerts.some((alert) => ACTIVE_STATES.has(alert.state))) return null;
  return UNREACHED_LABELS[incident.unreached_reason] ?? incident.unreached_reason.replaceAll("_", " ");
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
 *  committed now (committedElsewhere), if the board knows. */
export function standDownText(alert, commitment = null) {
  if (alert.stood_down_reason === "committed_elsewhere" && commitment) {
    return `Stood down: went to ${commitment.incident.cad_reference}`;
  }
  return STAND_DOWN_LABELS[alert.stood_down_reason] ?? STATE_LABELS.stood_down;
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

/** Delay before reconnect attempt `attempt` (0-based): doubling from 1 s up to 30 s, with jitter
 *  so that a room full of boards does not reconnect all at once after a server restart. */
export function backoffDelay(attempt, random = Math.random) {
  const ceiling = Math.min(30_000, 1_000 * 2 ** Math.min(attempt, 10));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

export function socketUrl(location, path) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}${path}`;
}

// --- The connection ------------------------------------------------------------------------------

const PING_EVERY_MS = 20_000;
// Nothing at all heard for this long (not even a pong) means the connection is dead even if the
// browser has not noticed (a laptop lid closed, a proxy that dropped it without a word).
const SILENCE_LIMIT_MS = 50_000;

export class BoardConnection {
  /** onFrame(frame) for every frame; onStatus({state, detail, retryAt}) when the state changes.
   *  state is one of: connecting, live, waiting (to retry), stopped (retrying cannot help). */
  constructor({ url, onFrame, onStatus, WebSocketImpl = globalThis.WebSocket }) {
    this.url = url;
    this.onFrame = onFrame;
    this.onStatus = onStatus;
    this.WebSocketImpl = WebSocketImpl;
    this.socket = null;
    this.attempt = 0;
    this.retryTimer = null;
    this.heartbeatTimer = null;
    this.lastHeardAt = 0;
    this.lastPingAt = 0;
    this.stopped = false;
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  /** Try again now, e.g. when the network comes back or the page is shown again. */
  retryNow() {
    if (this.stopped || this.socket) return;
    clearTimeout(this.retryTimer);
    this.connect();
  }

  connect() {
    this.retryTimer = null;
    this.onStatus({ state: "connecting", detail: this.attempt ? `attempt ${this.attempt + 1}` : "" });
    let socket;
    try {
      socket = new this.WebSocketImpl(this.url);
    } catch (error) {
      this.scheduleRetry(`could not open the socket (${error.message})`);
      return;
    }
    this.socket = socket;
    this.lastHeardAt = Date.now();
    socket.onmessage = (event) => this.received(socket, event);
    socket.onclose = (event) => this.closed(socket, event.code, event.reason);
    socket.onerror = () => {}; // a close always follows; that is where it is handled
    this.heartbeatTimer = setInterval(() => this.heartbeat(socket), 5_000);
  }

  received(socket, event) {
    if (socket !== this.socket) return;
    this.lastHeardAt = Date.now();
    let frame;
    try {
      frame = JSON.parse(event.data);
    } catch {
      console.warn("Board: a frame that is not JSON was ignored");
      return;
    }
    if (frame.type === "board.snapshot") {
      this.attempt = 0; // the connection works: the next outage starts the backoff afresh
      this.onStatus({ state: "live", detail: "" });
    } else if (frame.type === "error") {
      console.warn("Board: the server reported", frame.data);
    }
    this.onFrame(frame);
  }

  heartbeat(socket) {
    if (socket !== this.socket || socket.readyState !== 1) return;
    const now = Date.now();
    if (now - this.lastHeardAt > SILENCE_LIMIT_MS) {
      this.drop(socket, "the server stopped answering");
      return;
    }
    if (now - this.lastPingAt >= PING_EVERY_MS) {
      this.lastPingAt = now;
      socket.send(JSON.stringify({ type: "ping" }));
    }
  }

  /** Give up on a socket without waiting for the browser's closing handshake. */
  drop(socket, why) {
    this.forget(socket);
    try {
      socket.close();
    } catch {
      // already closing
    }
    this.scheduleRetry(why);
  }

  closed(socket, code, reason) {
    if (socket !== this.socket) return;
    this.forget(socket);
    if (code === CLOSE_NOT_LOGGED_IN) {
      this.stop("You are no longer logged in. Log in again, then reload this page.");
    } else if (code === CLOSE_NOT_ALLOWED) {
      this.stop("Your account may not watch the live board.");
    } else {
      this.scheduleRetry(reason || `connection lost, code ${code}`);
    }
  }

  forget(socket) {
    clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = null;
    socket.onmessage = socket.onclose = socket.onerror = null;
    if (socket === this.socket) this.socket = null;
  }

  scheduleRetry(why) {
    if (this.stopped) return;
    const delay = backoffDelay(this.attempt);
    this.attempt += 1;
    this.onStatus({ state: "waiting", detail: why, retryAt: Date.now() + delay });
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  stop(why) {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    if (this.socket) this.forget(this.socket);
    this.onStatus({ state: "stopped", detail: why });
  }
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

function clockTime(iso) {
  if (!iso) return "";
  return new Date(iso).toLocaleTimeString("en-GB", { hour12: false });
}

/** The clock time, with the date if it was not today. */
function dayAndTime(iso, now = new Date()) {
  const when = new Date(iso);
  if (when.toDateString() === now.toDateString()) return clockTime(iso);
  return when.toLocaleString("en-GB", { hour12: false, day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
}

function elapsed(ms) {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  const minutes = Math.floor(seconds / 60);
  const hours = Math.floor(minutes / 60);
  const pad = (n) => String(n).padStart(2, "0");
  return hours ? `${hours}:${pad(minutes % 60)}:${pad(seconds % 60)}` : `${minutes}:${pad(seconds % 60)}`;
}

/** A time cell: the clock time, and how long after the alert it was. */
function timeCell(alert, field) {
  const iso = alert[field];
  if (!iso) return el("td", { className: "board-time board-time--empty" }, "—");
  const after = field === "alerted_at" ? null : Date.parse(iso) - Date.parse(alert.alerted_at);
  return el(
    "td",
    { className: "board-time", title: iso },
    el("time", { datetime: iso }, clockTime(iso)),
    after === null ? null : el("span", { className: "board-after" }, ` +${elapsed(after)}`),
  );
}

function finishedField(alert) {
  return ["cleared_at", "stood_down_at", "cancelled_at"].find((field) => alert[field]) ?? "cleared_at";
}

function stateCell(alert, commitment) {
  let label = STATE_LABELS[alert.state] ?? alert.state;
  if (alert.state === "declined" && alert.decline_reason) {
    label += ` (${DECLINE_LABELS[alert.decline_reason] ?? alert.decline_reason})`;
  } else if (alert.state === "stood_down") {
    label = standDownText(alert, commitment);
  }
  return el(
    "td",
    { className: "board-state" },
    el("span", { className: `board-badge board-badge--${alert.state}`, title: alert.decline_note || null }, label),
  );
}

/** `commitment`: the other open incident this responder is committed to, if any. */
function alertRow(alert, commitment) {
  // A stand-down for going elsewhere already names the incident in the state cell.
  const saysWhere = alert.state === "stood_down" && alert.stood_down_reason === "committed_elsewhere";
  return el(
    "tr",
    { className: `board-alert board-alert--${alert.state}`, "data-alert-id": alert.id },
    el("td", { className: "board-rank" }, alert.rank),
    el(
      "th",
      { scope: "row" },
      alert.responder_name,
      commitment && !saysWhere ? el("span", { className: "board-elsewhere" }, elsewhereText(commitment)) : null,
    ),
    el("td", {}, alert.station),
    el("td", { className: "board-number" }, `${Number(alert.distance_km).toFixed(1)} km`),
    stateCell(alert, commitment),
    timeCell(alert, "alerted_at"),
    timeCell(alert, "received_at"),
    timeCell(alert, "accepted_at"),
    timeCell(alert, "declined_at"),
    timeCell(alert, "en_route_at"),
    timeCell(alert, "on_scene_at"),
    timeCell(alert, finishedField(alert)),
  );
}

const HEADINGS = ["#", "Responder", "Station", "Distance", "State", "Alerted", "Shown", "Accepted",
  "Declined", "En route", "On scene", "Cleared / stood down"];

function alertTable(incident, alerts, commitmentOf) {
  if (!alerts.length) {
    // An open incident's coverage line already says that nobody is alerted, or that it is not dispatched.
    if (incident.status === "open") return null;
    return el("p", { className: "board-none" }, incident.dispatched_at ? "Nobody alerted." : "Not dispatched yet.");
  }
  return el(
    "table",
    { className: "board-alerts" },
    el("caption", { className: "visually-hidden" }, `Responders alerted to ${incident.cad_reference}`),
    el("thead", {}, el("tr", {}, HEADINGS.map((heading) => el("th", { scope: "col" }, heading)))),
    el("tbody", {}, alerts.map((alert) => alertRow(alert, commitmentOf(alert)))),
  );
}

function coverLine(incident, alerts) {
  const { text, tone } = coverageText(incident, alerts);
  if (incident.status !== "open") {
    const when = clockTime(incident.closed_at || incident.cancelled_at);
    const why = incident.status === "cancelled" && incident.cancel_reason ? `: ${incident.cancel_reason}` : "";
    return el(
      "p",
      { className: "board-cover board-cover--finished" },
      `${incident.status === "cancelled" ? "Cancelled" : "Closed"} at ${when}${why}. `,
      el("span", { className: "board-coverage" }, text),
    );
  }
  return el(
    "p",
    { className: `board-cover board-cover--${tone}`, role: tone === "none" ? "alert" : null },
    el("span", { className: "board-coverage" }, text),
  );
}

function unreachedLine(reason) {
  return el("p", { className: "board-unreached" }, `The last dispatch reached nobody: ${reason}.`);
}

function alarmLine(alarm) {
  return el(
    "p",
    { className: "board-alarm", role: "alert" },
    el("strong", {}, "Alarm: "),
    alarm.message,
    ` (raised ${clockTime(alarm.raised_at)})`,
  );
}

function incidentSection(incident, alerts, alarm, incidentUrl, commitmentOf) {
  const short = isShort(incident);
  const nobodyGoing = short && coverageOf(incident).covering === 0;
  const unreached = unreachedReasonText(incident, alerts);
  const classes = ["board-incident"];
  if (incident.status === "open") classes.push(short ? "board-incident--short" : "board-incident--covered");
  if (nobodyGoing) classes.push("board-incident--uncovered");
  if (alarm) classes.push("board-incident--alarm");
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
      ` · ${CATEGORY_LABELS[incident.category] ?? incident.category}`,
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
    coverLine(incident, alerts),
    unreached ? unreachedLine(unreached) : null,
    alertTable(incident, alerts, commitmentOf),
  );
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
    root.append(this.workersBox, this.statusLine, this.incidentsBox);
    setInterval(() => this.tick(), 1000);
  }

  frame(frame) {
    if (applyFrame(this.state, frame)) this.scheduleDraw();
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
    let incidents = incidentsToShow(this.state);
    if (this.onlyIncident !== null) incidents = incidents.filter((incident) => incident.id === this.onlyIncident);
    const commitments = commitmentsOf(this.state);
    const commitmentOf = (alert) => committedElsewhere(this.state, alert, commitments);
    const sections = incidents.map((incident) =>
      incidentSection(
        incident,
        alertsOf(this.state, incident.id),
        alarmOf(this.state, incident),
        this.onlyIncident === null ? this.incidentUrl : "",
        commitmentOf,
      ),
    );
    if (!sections.length) {
      const text = this.onlyIncident === null
        ? "No open incidents."
        : "This incident is not on the live board (it is no longer open). Reload the page for its record.";
      sections.push(el("p", { className: "board-empty" }, this.state.snapshotAt ? text : "Waiting for the board…"));
    }
    this.incidentsBox.replaceChildren(...sections);
    this.drawWorkers();
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
      waiting: `Disconnected${detail ? ` (${detail})` : ""}. What is shown may be out of date. Reconnecting in ${Math.max(0, Math.ceil(((retryAt ?? Date.now()) - Date.now()) / 1000))} s…`,
      stopped: `Not connected. ${detail}`,
    };
    this.statusLine.className = `board-connection board-connection--${state}`;
    this.statusLine.textContent = parts[state] ?? state;
  }

  tick() {
    const now = Date.now();
    for (const node of this.incidentsBox.querySelectorAll("[data-elapsed-since]")) {
      node.textContent = ` · ${elapsed(now - Date.parse(node.dataset.elapsedSince))} ${node.dataset.elapsedLabel}`;
    }
    if (this.status.state === "waiting") this.drawStatus();
  }
}

export function mountBoard(root, { location = window.location } = {}) {
  const view = new BoardView(root);
  const connection = new BoardConnection({
    url: socketUrl(location, root.dataset.socketPath || "/ws/coordinator/"),
    onFrame: (frame) => view.frame(frame),
    onStatus: (status) => view.setStatus(status),
  });
  window.addEventListener("online", () => connection.retryNow());
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") connection.retryNow();
  });
  connection.start();
  return { view, connection };
}

if (typeof document !== "undefined") {
  for (const root of document.querySelectorAll("[data-board]")) mountBoard(root);
}
