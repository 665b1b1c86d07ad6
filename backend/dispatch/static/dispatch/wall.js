// The control room's board (/board/, issue 15): every open incident as a card readable from a few
// metres, the alarms that sound until a coordinator acknowledges them, and the coordinator's actions.
//
// What the board knows and how it words it is board-state.js, shared with the admin's live board
// (and tested in Node: tests/js/board.test.mjs, wall-state.test.mjs). The connection is board.js's:
// the app's socket client (/app/socket.js), which starts every connection with a fresh snapshot, so
// a reconnect catches up without a reload. Every action goes through the API (backend/api/urls.py),
// whose endpoints call the same action functions as the admin, with the same permission checks; an
// error is shown at the top of the page, in words.
//
// The page's alarm sound: browsers let a page play sound only after the user has done something
// on it, so the board asks for one click ("Turn on alarm sound"); the tone is made with the Web
// Audio API (no sound file). The page says how its sound stands in <body data-audio>: off (not
// allowed yet, or turned off), on (allowed, silent), playing (an alarm is sounding).

import {
  alarmToAcknowledge,
  alarmsOf,
  alertsOf,
  anySounding,
  applyFrame,
  applyMessage,
  canStandDown,
  cardCoverageText,
  categoryText,
  clockTime,
  commitmentsOf,
  committedElsewhere,
  createBoardState,
  dispatchButtonText,
  elsewhereText,
  escalationText,
  finishedText,
  funnelText,
  incidentsToShow,
  isShort,
  loggedOutAt,
  messagesOf,
  noAlertsText,
  positionsOf,
  RESPONDERS_ORDER_TEXT,
  seenText,
  standDownQuestion,
  stateText,
  arrivalWordsAt,
} from "./board-state.js";
import { AimHold, connectBoard, drawWelfareNotice, keepConnected, placeChildren, PressHold, SettleGuard } from "./board.js";
import { estimateText, likelyFirstAmong, positionsOnTheWay } from "/app/arrival.js";
import { ALERT_STATES, UNREACHED_REASONS } from "/app/labels.js";

// --- Small helpers -------------------------------------------------------------------------------

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "className") node.className = value;
    else if (name.startsWith("on") && typeof value === "function") node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function elapsed(ms) {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  const minutes = Math.floor(seconds / 60);
  const hours = Math.floor(minutes / 60);
  const pad = (n) => String(n).padStart(2, "0");
  return hours ? `${hours}:${pad(minutes % 60)}:${pad(seconds % 60)}` : `${minutes}:${pad(seconds % 60)}`;
}

/** The API's fields as the board's forms name them (found by trying the board: a refused crew
 *  message read "text: This looks like…"). A field not listed is named by its words. */
const FIELD_NAMES = {
  text: "Message",
  cad_reference: "CAD reference",
  what3words: "what3words",
  crew_target: "Crews needed",
  ambulance_eta: "Ambulance arrival",
  alert_ids: "Responders",
};

export function fieldName(name) {
  if (FIELD_NAMES[name]) return FIELD_NAMES[name];
  const words = String(name).replaceAll("_", " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** The API's error in words: its message, and, for an input error (400), what it says of each
 *  field. A refusal of another kind (409) says it all in its message; its fields are details for
 *  a program (found by trying the board: a dispatch refused because another coordinator had
 *  widened it ended "Seen alerts: 21 are alerted now, not 6."). */
export function errorText(status, body) {
  const error = body?.error;
  if (isLoggedOut(status, error)) return LOGGED_OUT;
  if (!error) return status === 404 ? "Not found (is this server up to date?)." : `The server answered ${status}.`;
  if (status !== 400 && error.message) return error.message;
  const fields = Object.entries(error.fields ?? {}).map(
    ([name, messages]) => `${fieldName(name)}: ${[].concat(messages).join(" ")}`,
  );
  return [error.message, ...fields].filter(Boolean).join(" ");
}

/** What the board says when the server no longer knows who is using it (logged out elsewhere, or
 *  the session expired): DRF's "Authentication credentials were not provided." told a coordinator
 *  nothing to do (found by a browser trial). */
export const LOGGED_OUT = "you are logged out. Log in again.";

/** A refusal because nobody is logged in: 401, or a 403 saying so (a session that has ended). A
 *  403 for a coordinator who may not do this is not one: it keeps its message. */
function isLoggedOut(status, error) {
  return status === 401 || (status === 403 && ["not_authenticated", "authentication_failed"].includes(error?.code));
}

class ApiError extends Error {
  constructor(status, body) {
    super(errorText(status, body));
    this.status = status;
    this.body = body;
  }
}

/** What the Alert named dialog says of a candidate beyond name, station and distance: why they
 *  cannot be alerted (declined this incident or cleared from it, with when: the server does not
 *  alert them again, backend/dispatch/named.py), or the incident they are on (the override); and
 *  that they are logged out of the app, as their rows say (found by a trial: "Alex Cole … on
 *  T12-C", nothing of his having logged out). */
export function namedCandidateText(responder) {
  const loggedOut = responder.logged_out_at ? `logged out at ${clockTime(responder.logged_out_at)}` : "";
  let text = "";
  if (responder.cannot_alert) {
    const when = responder.cannot_alert_since ? ` at ${clockTime(responder.cannot_alert_since)}` : "";
    const what = responder.cannot_alert === "declined" ? "declined" : "cleared from";
    text = `${what} this incident${when}, not alerted again`;
  } else if (responder.committed_to) {
    text = `on ${responder.committed_to}`;
  }
  return [text, loggedOut].filter(Boolean).join(", ");
}

/** The candidate the Alert named dialog chooses before the coordinator does: the nearest who is
 *  free (not on another incident, and not one who declined or cleared from this one), or null,
 *  and then nobody is chosen. Found by a browser trial: the dialog opened with a responder on
 *  another cardiac arrest chosen, and one press of "Alert them" would have pulled that crew off
 *  it; alerting someone committed elsewhere is the coordinator's deliberate choice, never the
 *  default. `candidates`: nearest first, as the server lists them. */
export function namedDefault(candidates) {
  return candidates.find((responder) => !responder.cannot_alert && !responder.committed_to) ?? null;
}

/** What "Alert named" did, from the dispatch's answer (`dispatch`: alerted_count, resumed_count):
 *  the one named, and apart from them those the dispatch alerted again as it resumed a held ladder
 *  (stood down earlier because enough crews were going). Null when the answer cannot tell (no
 *  resumed_count) or nobody was alerted: the server's message is shown. Found by a trial: naming
 *  Kate Lowe on a held ladder said "Alerted 23 responders." */
export function namedAlertText(name, dispatch) {
  const alerted = dispatch?.alerted_count;
  const resumed = dispatch?.resumed_count;
  if (!alerted || !Number.isInteger(resumed)) return null;
  const named = alerted - resumed > 0 ? `${name} alerted` : `${name} was not alerted`;
  if (!resumed) return `${named}.`;
  const others = alerted - resumed > 0 ? (resumed === 1 ? "1 other" : `${resumed} others`) : String(resumed);
  return `${named}; ${others} stood down earlier ${resumed === 1 ? "was" : "were"} alerted again as the ladder resumed.`;
}

/** Whether a dispatch's answer (the incident after it, with its `dispatch`) resumed a held ladder:
 *  some stood down earlier were alerted again (resumed_count), or the incident was held before it
 *  (`wasHeld`: its held_since as the board had it) and is no longer (as board-state.js tells a
 *  resume). */
export function ladderResumed(answer, wasHeld) {
  if (!answer?.dispatch) return false;
  return answer.dispatch.resumed_count > 0 || (Boolean(wasHeld) && answer.status === "open" && !answer.held_since);
}

/** What a dispatch that resumed a held ladder did, in a neutral tone, or null when it resumed none
 *  (the server's message then stands). Found by a browser trial: "Look again" on a held incident
 *  resumed the ladder and said, in red, "Nobody was alerted: everyone in range has already been
 *  alerted." `dispatch`: the answer's (alerted_count, resumed_count, nobody_because, message). */
export function resumedDispatchText(dispatch, resumed) {
  if (!resumed || !dispatch) return null;
  const alerted = dispatch.alerted_count ?? 0;
  const again = dispatch.resumed_count ?? 0;
  if (!alerted) {
    const label = UNREACHED_REASONS[dispatch.nobody_because];
    const why = label ? label.charAt(0).toLowerCase() + label.slice(1) : "nobody new was alerted";
    return `Escalation resumed; ${why}.`;
  }
  const more = alerted - again;
  const parts = [again ? `${again} alerted again` : null, more ? `${more} ${again ? "more " : ""}alerted` : null];
  return `Escalation resumed: ${parts.filter(Boolean).join(", ")}.`;
}

/** What the board says of an action's answer (`result`: the incident after it, with `dispatch` after
 *  a dispatch): {tone: "done" | "note" | "error", text}. A dispatch that alerted nobody did not do
 *  what was asked: an error, with the server's reason (found by trying the board: "Nobody was
 *  alerted" in the green of success); unless it resumed a held ladder (`wasHeld`: the incident's
 *  held_since before it), which it says, in a neutral tone (resumedDispatchText). `said`: the
 *  caller's words for a dispatch (namedAlertText), or null to take the server's message. */
export function answerText(what, result, { said = () => null, wasHeld = false } = {}) {
  const dispatch = result?.dispatch;
  const own = dispatch ? said(dispatch) : null;
  const resumed = own ? null : resumedDispatchText(dispatch, ladderResumed(result, wasHeld));
  if (resumed) return { tone: dispatch.alerted_count ? "done" : "note", text: `${what}: ${resumed}` };
  if (dispatch && !dispatch.alerted_count) return { tone: "error", text: `${what}: ${dispatch.message}` };
  return { tone: "done", text: `${what}: ${own || dispatch?.message || "done."}` };
}

/** The Cancel dialog's question. With nobody ever alerted (never dispatched, or a dispatch that
 *  reached nobody) nobody is told: found by a browser trial, the dialog of an incident never
 *  dispatched said "Everyone alerted is told". */
export function cancelQuestion(incident, alerts) {
  if (!alerts.length) return `Cancel ${incident.cad_reference}? Nobody has been alerted to it: no one is told. Your reason is kept with the incident.`;
  return `Cancel ${incident.cad_reference}? Everyone alerted is told, with your reason.`;
}

export const NO_NETWORK = "the server could not be reached (no network?). Check the connection, then try again.";

/** The board's calls to the API: the answer's JSON, or an ApiError; with no network, an Error that
 *  says so in words (found by trying the board offline: "Not created: Failed to fetch"). */
export function api(csrf) {
  return async (method, path, body) => {
    let response;
    try {
      response = await fetch(path, {
        method,
        credentials: "same-origin",
        headers: { Accept: "application/json", "Content-Type": "application/json", "X-CSRFToken": csrf },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch {
      throw new Error(NO_NETWORK);
    }
    let data = null;
    try {
      data = await response.json();
    } catch {
      data = null;
    }
    if (!response.ok) throw new ApiError(response.status, data);
    return data;
  };
}

// --- The alarm's sound ---------------------------------------------------------------------------

const TONES = [[880, 0], [660, 0.3]]; // Hz, start (s): a two-tone, like a pager
const TONE_SECONDS = 0.25;
const REPEAT_MS = 1200;

class AlarmSound {
  constructor(onChange) {
    this.context = null;
    this.allowed = false;
    this.playing = false;
    this.timer = null;
    this.onChange = onChange;
  }

  get state() {
    if (!this.allowed) return "off";
    return this.playing ? "playing" : "on";
  }

  /** After the coordinator's click: browsers start an AudioContext only from one. */
  async allow() {
    const Context = globalThis.AudioContext || globalThis.webkitAudioContext;
    if (!Context) throw new Error("This browser cannot play the alarm's tone.");
    this.context ??= new Context();
    await this.context.resume();
    this.allowed = true;
    this.onChange();
  }

  turnOff() {
    this.allowed = false;
    this.stop();
    this.onChange();
  }

  /** Sound while any alarm is sounding (and sound is allowed); be silent otherwise. */
  follow(sounding) {
    if (sounding && this.allowed && !this.playing) this.start();
    else if ((!sounding || !this.allowed) && this.playing) this.stop();
    this.onChange();
  }

  start() {
    this.playing = true;
    this.beep();
    this.timer = setInterval(() => this.beep(), REPEAT_MS);
  }

  stop() {
    this.playing = false;
    clearInterval(this.timer);
    this.timer = null;
  }

  beep() {
    const context = this.context;
    if (!context) return;
    const now = context.currentTime;
    for (const [frequency, offset] of TONES) {
      const oscillator = context.createOscillator();
      const gain = context.createGain();
      oscillator.type = "square";
      oscillator.frequency.value = frequency;
      // A short rise and fall: no click at either end.
      gain.gain.setValueAtTime(0.0001, now + offset);
      gain.gain.exponentialRampToValueAtTime(0.25, now + offset + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, now + offset + TONE_SECONDS);
      oscillator.connect(gain).connect(context.destination);
      oscillator.start(now + offset);
      oscillator.stop(now + offset + TONE_SECONDS + 0.05);
    }
  }
}

// --- The page ------------------------------------------------------------------------------------

const THEME_KEY = "board.theme";

class WallBoard {
  constructor(root) {
    this.root = root;
    this.api = api(root.dataset.csrf || "");
    this.incidentUrl = root.dataset.incidentUrl || "";
    this.state = createBoardState();
    this.status = { state: "connecting", detail: "" };
    this.selectedId = null;
    this.drawPending = false;
    this.cards = new Map(); // incident id -> {card, body, messages}
    this.baseTitle = document.title;

    this.incidentsBox = root.querySelector(".wall-incidents");
    // New incidents whose card arrived out of sight (the list scrolled down: found by a trial, a
    // new incident not dispatched sat above the visible cards, unseen): a notice above the list
    // until each card has been in view; it brings the newest into view. The list is not scrolled
    // for the coordinator: that would move a button from under a pointer about to click it.
    this.knownIncidents = null; // the ids drawn so far; null until the first snapshot is drawn
    this.unseenNew = new Set();
    this.newButton = root.querySelector("[data-action=show-new]");
    this.newButton?.addEventListener("click", () => this.showNewIncident());
    this.incidentsBox.addEventListener("scroll", () => this.followNewIncidents(), { passive: true });
    // A card (or the alarms' bar) pressed is drawn as it was until the press ends (board.js,
    // PressHold, shared with the admin's board).
    this.press = new PressHold(root, ".wall-card, .wall-alarms", () => this.scheduleDraw());
    // While the coordinator aims at the list, its cards keep their places: a card arriving or
    // going, or the cards' order changing, waits until the pointer rests or leaves, 4 s at most
    // (board.js, AimHold). The alarms, their sound and the notice above the list do not wait.
    this.aim = new AimHold(() => this.scheduleDraw());
    this.aim.watch(this.incidentsBox);
    // Whatever else moves a card (those held back placed at the 4 s, the alarms' bar above the
    // list), a press on it within 0.6 s is refused and said so (board.js, SettleGuard).
    this.settle = new SettleGuard();
    this.settle.guard(this.incidentsBox, (target) => target.closest(".wall-card")?.dataset.incidentId ?? null,
      () => this.showNote("The list moved as you pressed: nothing was done. Press again."));
    new ResizeObserver(() => this.noteCardPlaces()).observe(this.incidentsBox);
    this.alarmsBox = root.querySelector(".wall-alarms");
    this.errorsBox = root.querySelector(".wall-errors");
    this.connectionLine = root.querySelector(".wall-connection");
    this.clockLine = root.querySelector(".wall-clock");
    this.audioButton = root.querySelector("[data-action=audio]");
    this.themeButton = root.querySelector("[data-action=theme]");
    this.sound = new AlarmSound(() => this.drawAudio());
    // The map (issue 14's board-map.js), when the server has it: frames heard before it is
    // mounted are kept and given to it then, so it starts from the same snapshot as the cards.
    this.map = null;
    this.framesForMap = root.dataset.mapModule ? [] : null;
    this.mountMap(root.dataset.mapModule);

    this.applyTheme(localStorage.getItem(THEME_KEY));
    this.bindButtons();
    this.bindKeys();
    this.bindCreate();
    this.drawAudio();
    setInterval(() => this.tick(), 1000);
  }

  // --- Frames and drawing ---

  frame(frame) {
    if (this.map) this.map.frame(frame);
    else if (this.framesForMap) {
      if (frame.type === "board.snapshot") this.framesForMap.length = 0;
      this.framesForMap.push(frame);
    }
    if (applyFrame(this.state, frame)) this.scheduleDraw();
  }

  /** Mount the board's map in the map panel; a click on it opens the new incident's form there. */
  async mountMap(url) {
    if (!url) return;
    const panel = this.root.querySelector("[data-map-panel]");
    try {
      const { mountBoardMap } = await import(url);
      const map = mountBoardMap(panel, { onPick: (latitude, longitude) => this.openCreate({ latitude, longitude }) });
      // The map's text (positions, the nearest defibrillators) scrolls on its own in this panel:
      // reachable from the keyboard, and named.
      const text = panel.querySelector(".board-map-text");
      if (text) {
        text.tabIndex = 0;
        text.setAttribute("role", "region");
        text.setAttribute("aria-label", "Positions and nearest defibrillators");
      }
      for (const frame of this.framesForMap) map.frame(frame);
      this.framesForMap = null;
      this.map = map;
      this.map.update(incidentsToShow(this.state));
    } catch (error) {
      console.warn("Board: the map was not mounted:", error?.message || error);
      panel.replaceChildren(el("p", { className: "wall-map-note" }, "The map could not be loaded."));
    }
  }

  setStatus(status) {
    this.status = status;
    const { state, detail, retryAt } = status;
    // When it reconnects first, then that what is shown may be out of date (the cards greyed say
    // it too): the words have two lines of the bar, three the bar's width on a narrow screen, where
    // no tooltip can be read (wall.css), and what does not fit them is cut.
    const waitText = retryAt ? ` Reconnecting in ${Math.max(0, Math.ceil((retryAt - Date.now()) / 1000))} s…` : "";
    const words = {
      connecting: "Connecting…",
      live: "Live",
      waiting: `Disconnected${detail ? ` (${detail})` : ""}.${waitText} What is shown may be out of date.`,
      stopped: `Not connected. ${detail}`,
    };
    const text = words[state] ?? state;
    if (this.connectionLine.textContent !== text) {
      this.connectionLine.replaceChildren(el("span", { className: "wall-connection-text" }, text));
      this.connectionLine.title = text; // the whole, should the two lines cut it
    }
    this.connectionLine.className = `wall-connection wall-connection--${state}`;
    this.root.classList.toggle("wall-root--stale", state !== "live");
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
    const focusKey = document.activeElement?.dataset?.focusKey ?? null;
    const incidents = incidentsToShow(this.state);
    this.order = incidents.map((incident) => incident.id); // the cards' order, held back or not (heldBackPlace)
    const alarms = alarmsOf(this.state);
    const alarmOfIncident = new Map(alarms.filter((alarm) => alarm.incident_id !== null).map((alarm) => [alarm.incident_id, alarm]));
    const commitments = commitmentsOf(this.state);
    const seen = new Set();
    const cards = incidents.map((incident) => {
      seen.add(incident.id);
      return this.drawCard(incident, alarmOfIncident.get(incident.id) ?? null, commitments);
    });
    for (const id of [...this.cards.keys()]) if (!seen.has(id)) this.cards.delete(id);
    if (!cards.length) {
      cards.push(el("p", { className: "wall-empty" }, this.state.snapshotAt ? "No open incidents." : "Waiting for the board…"));
    }
    placeChildren(this.incidentsBox, this.cardsToPlace(cards));
    this.noteNewIncidents(incidents);
    if (this.selectedId !== null && !this.cards.has(this.selectedId)) this.selectedId = null;
    this.drawSelection();
    if (!this.press.holds(this.alarmsBox)) this.drawAlarms(alarms);
    const welfare = document.getElementById("welfare-notice");
    drawWelfareNotice(welfare, this.state.welfare);
    // Its "Read them" (an admin page) in a new tab, as the cards' references: the board stays.
    for (const link of welfare?.querySelectorAll("a[href]") ?? []) Object.assign(link, { target: "_blank", rel: "noopener" });
    this.map?.update(incidents);
    this.sound.follow(anySounding(alarms));
    const sounding = alarms.filter((alarm) => alarm.sounding).length;
    const short = incidents.filter(isShort).length;
    document.title = sounding ? `(${sounding} alarm${sounding === 1 ? "" : "s"}) ${this.baseTitle}` : short ? `(${short}) ${this.baseTitle}` : this.baseTitle;
    this.tick();
    this.noteCardPlaces();
    // Focus given back where it was, without scrolling the list under the coordinator.
    if (focusKey) this.root.querySelector(`[data-focus-key="${CSS.escape(focusKey)}"]`)?.focus({ preventScroll: true });
  }

  /** The list's children to draw: `cards`, in the board's order; or, while the coordinator aims at
   *  the list and that would change which cards it shows or their order, the cards as they are
   *  (drawn anew inside: drawCard), the change drawn later (AimHold). */
  cardsToPlace(cards) {
    const drawn = [...this.incidentsBox.children];
    const changing = drawn.length !== cards.length || drawn.some((node, index) => node !== cards[index]);
    const anyCard = drawn.some((node) => node.classList.contains("wall-card"));
    return this.aim.holds(changing && anyCard) ? drawn : cards;
  }

  /** Where each card is on the screen, for SettleGuard (the list's scroll added back: the
   *  coordinator scrolling is not the list moving under the pointer). */
  noteCardPlaces() {
    const scrollTop = this.incidentsBox.scrollTop;
    const places = new Map();
    for (const card of this.incidentsBox.querySelectorAll(":scope > .wall-card")) {
      const box = card.getBoundingClientRect();
      places.set(card.dataset.incidentId, [box.left, box.top + scrollTop]);
    }
    this.settle.note(places);
  }

  /** Draw now the list's cards held back (AimHold), for a card asked for that is not drawn yet. */
  drawHeldBack(id) {
    if (this.cards.get(id)?.card.isConnected) return;
    this.aim.letThrough();
    this.draw();
  }

  // --- New incidents out of sight ---

  /** After drawing: the open incidents this board has not drawn before are new (none at the first
   *  snapshot: those are the board as it was when opened); each is followed until its card has
   *  been in view. */
  noteNewIncidents(incidents) {
    if (this.knownIncidents === null) {
      if (this.state.snapshotAt === null) return;
      this.knownIncidents = new Set(incidents.map((incident) => incident.id));
      return;
    }
    for (const incident of incidents) {
      if (!this.knownIncidents.has(incident.id) && incident.status === "open") this.unseenNew.add(incident.id);
      this.knownIncidents.add(incident.id);
    }
    this.followNewIncidents();
  }

  /** Forget the new incidents whose card is in view now (or that are no longer open), and show
   *  the notice of those left. */
  followNewIncidents() {
    const box = this.incidentsBox.getBoundingClientRect();
    const outOfSight = [];
    for (const id of [...this.unseenNew]) {
      const incident = this.state.incidents.get(id);
      const card = this.cards.get(id)?.card;
      if (!incident || incident.status !== "open" || !card) {
        this.unseenNew.delete(id);
        continue;
      }
      const where = card.isConnected ? cardPlace(card.getBoundingClientRect(), box) : this.heldBackPlace(id, box);
      if (where === "in view") this.unseenNew.delete(id);
      else outOfSight.push({ id, cad_reference: incident.cad_reference, where });
    }
    this.outOfSight = outOfSight;
    if (this.newButton) this.drawNewIncidentsNotice(newIncidentsNotice(outOfSight));
  }

  /** Where the card of a new incident held back (AimHold) is to come, against the list's visible
   *  part: "above" the card it will come before when that card is in view or above it (at the
   *  list's top, where new incidents come), else "below". */
  heldBackPlace(id, box) {
    const order = this.order ?? [];
    const next = order.slice(order.indexOf(id) + 1).map((other) => this.cards.get(other)?.card).find((card) => card?.isConnected);
    if (!next) return "below";
    return cardPlace(next.getBoundingClientRect(), box) === "below" ? "below" : "above";
  }

  /** The notice above the list (never over it: it hid an alarm's text there, found by a browser
   *  trial), in a place kept for it whether shown or not (wall.css, .wall-new-incidents): the list,
   *  and every card under the coordinator's pointer, stay where they are as it comes and goes. Its
   *  words in a span of their own, cut to the place's lines (wall.css, .wall-new-text). */
  drawNewIncidentsNotice(notice) {
    this.newButton.hidden = !notice;
    if (notice && this.newButton.textContent !== notice) {
      this.newButton.replaceChildren(el("span", { className: "wall-new-text" }, notice));
    }
  }

  /** The notice's button: the newest new incident out of sight is scrolled into view and chosen. */
  showNewIncident() {
    // The newest: the first of them in the list's order (newest first). Those out of sight are kept
    // as they came, oldest first: trial 18 found "show the newest" scrolled to the oldest of three,
    // with the two newer still above it, out of sight.
    const order = this.order ?? [];
    const place = (id) => (order.includes(id) ? order.indexOf(id) : Infinity);
    const [first] = [...(this.outOfSight ?? [])].sort((a, b) => place(a.id) - place(b.id));
    if (!first) return;
    this.drawHeldBack(first.id);
    this.cards.get(first.id)?.card.scrollIntoView({ block: "start" });
    this.select(first.id);
    this.followNewIncidents();
  }

  /** An incident named in the alarm bar: its card scrolled to the list's top and chosen (focused). */
  showIncident(id) {
    this.drawHeldBack(id);
    const card = this.cards.get(id)?.card;
    if (!card) return;
    card.scrollIntoView({ block: "start" });
    this.select(id);
  }

  /** One incident's card. The card and its message box are kept from drawing to drawing (a
   *  message being typed survives a frame); what is inside the body is drawn afresh. */
  drawCard(incident, alarm, commitments) {
    let entry = this.cards.get(incident.id);
    if (entry && this.press.holds(entry.card)) return entry.card; // pressed: drawn after the release
    if (!entry) {
      const headingId = `wall-incident-${incident.id}`;
      // (A focus key: a card chosen, from the keys or the alarm bar, keeps the focus when redrawn.)
      const card = el("article", { className: "wall-card", "aria-labelledby": headingId, "data-incident-id": incident.id, "data-focus-key": `card-${incident.id}`, tabindex: "-1" });
      card.addEventListener("click", (event) => {
        if (!event.target.closest("button, a, input, select, textarea")) this.select(incident.id);
      });
      const body = el("div", { className: "wall-card-body" });
      const messages = this.messageBox(incident.id);
      card.append(body, messages.box);
      entry = { card, body, messages };
      this.cards.set(incident.id, entry);
    }
    const { card, body } = entry;
    const alerts = alertsOf(this.state, incident.id);
    const classes = ["wall-card"];
    if (incident.status !== "open") classes.push("wall-card--finished");
    else classes.push(isShort(incident) ? "wall-card--short" : "wall-card--covered");
    if (alarm?.sounding) classes.push("wall-card--alarm");
    else if (alarm) classes.push("wall-card--acknowledged");
    if (this.selectedId === incident.id) classes.push("wall-card--selected");
    card.className = classes.join(" ");

    const since = incident.dispatched_at || incident.created_at;
    const reference = this.incidentUrl
      // In a new tab: the board stays open, its alarm sound on (found by a browser trial: the
      // incident's admin page took the board's place, and the sound had to be turned on again).
      ? el("a", { href: this.incidentUrl.replace("__id__", encodeURIComponent(incident.id)), target: "_blank", rel: "noopener", "data-focus-key": `ref-${incident.id}` }, incident.cad_reference)
      : incident.cad_reference;
    // The card has its Dispatch button (actionButtons): the coverage line says to press it.
    // Those going who logged out of the app are said in it ("2 going, 1 of them logged out"), as
    // on the admin's board (board-state.js, cardCoverageText).
    const cover = cardCoverageText(this.state, incident, alerts, { dispatchButton: true });
    // Estimates only for those still on their way (accepted, en route), all counted at one `now`.
    const positions = positionsOnTheWay(positionsOf(this.state, incident.id), alerts);
    const now = Date.now();
    // "Likely first: A. Smith (3 min) · ambulance 8 min": the estimates and the CAD's ambulance_eta;
    // none once anyone has been on scene.
    const first = incident.status === "open" ? likelyFirstAmong(positions, alerts, incident.ambulance_eta, now) : "";
    // "Next: texts at 14:04:30 · 1 of 4 steps done": the escalation ladder, while short of crews.
    const escalation = escalationText(incident, alerts);
    // (replaceChildren would write a null as the text "null".)
    body.replaceChildren(...[
      el(
        "header",
        { className: "wall-card-head" },
        el("h2", { id: `wall-incident-${incident.id}`, className: "wall-ref" }, reference),
        incident.status === "open" && since
          ? el("span", {
            className: "wall-elapsed",
            "data-elapsed-since": since,
            "data-elapsed-label": incident.dispatched_at ? "since dispatch" : "not dispatched",
          })
          : el("span", { className: "wall-finished" }, incident.status === "cancelled" ? "Cancelled" : "Closed"),
      ),
      el("p", { className: "wall-address" }, incident.address),
      el("p", { className: "wall-category" }, categoryText(incident.category), incident.what3words ? ` · ///${incident.what3words.replace(/^\/+/, "")}` : ""),
      // Why it was cancelled, as the admin's board says it (the header says only "Cancelled").
      incident.status === "cancelled" && incident.cancel_reason ? el("p", { className: "wall-cancel-reason" }, finishedText(incident)) : null,
      el(
        "p",
        { className: `wall-coverage wall-coverage--${cover.tone}` },
        // The counts set apart ("3 going (2 needed)"), then the rest of the one sentence.
        cover.lead ? el("strong", { className: "wall-coverage-figure" }, cover.lead) : null,
        cover.text.slice(cover.lead.length),
      ),
      escalation ? el("p", { className: "wall-escalation" }, escalation) : null,
      alarm ? this.alarmLine(alarm) : null,
      first ? el("p", { className: "wall-first" }, first) : null,
      this.responderList(incident, alerts, commitments, positions, now),
      incident.status === "open" ? this.actionButtons(incident, alerts) : null,
    ].filter(Boolean));
    this.drawMessages(entry.messages, incident);
    return card;
  }

  alarmLine(alarm) {
    if (!alarm.sounding) {
      const by = alarm.acknowledgement;
      return el("p", { className: "wall-card-alarm wall-card-alarm--acknowledged" },
        `${alarm.title}: acknowledged by ${by.acknowledged_by} at ${clockTime(by.acknowledged_at)}.`);
    }
    return el(
      "div",
      { className: "wall-card-alarm", role: "alert" },
      el("p", {}, el("strong", {}, `${alarm.title}. `), alarm.message),
      el("button", {
        type: "button",
        className: "wall-button wall-button--alarm",
        "data-focus-key": `ack-${alarm.key}`,
        onclick: () => this.acknowledge(alarm),
      }, "Acknowledge"),
    );
  }

  responderList(incident, alerts, commitments, positions, now = Date.now()) {
    if (!alerts.length) {
      const text = noAlertsText(incident);
      return text ? el("p", { className: "wall-none" }, text) : null;
    }
    // An ordered list, and what its order is said above it (the board once left that to be guessed).
    const orderId = `wall-order-${incident.id}`;
    const list = el(
      "ol",
      { className: "wall-responders", "aria-label": `Responders alerted to ${incident.cad_reference}`, "aria-describedby": orderId },
      alerts.map((alert) => {
        const commitment = committedElsewhere(this.state, alert, commitments);
        const funnel = funnelText(this.state, alert);
        // Where they are and when they are likely there, while they share their position (issue 14).
        const position = positions.find((item) => item.alert_id === alert.id);
        // "· position 4 min old" after it when the fix it comes from is old (/app/arrival.js).
        const estimate = position ? estimateText(position.estimate, now, position.recorded_at) : "";
        const open = incident.status === "open";
        return el(
          "li",
          { className: `wall-responder wall-responder--${alert.state}`, "data-alert-id": alert.id },
          el("span", { className: "wall-r-name" }, alert.responder_name),
          el("span", { className: "wall-r-station" }, alert.station),
          el("span", { className: `wall-r-state wall-state--${alert.state}` }, stateText(alert, commitment)),
          commitment && alert.state !== "stood_down" ? el("span", { className: "wall-r-elsewhere" }, elsewhereText(commitment)) : null,
          // Logged out of the app (the funnel says when) stands out: the phone no longer hears of the job.
          funnel ? el("span", { className: `wall-r-funnel${loggedOutAt(this.state, alert) ? " wall-r-funnel--logged-out" : ""}` }, funnel) : null,
          estimate ? el("span", { className: "wall-r-eta" }, estimate) : null,
          open && canStandDown(alert)
            ? el("button", {
              type: "button",
              className: "wall-mini",
              "data-focus-key": `sd-${alert.id}`,
              "aria-label": `Stand down ${alert.responder_name}`,
              onclick: () => this.standDownOne(incident, alert),
            }, "Stand down")
            : null,
        );
      }),
    );
    return el("div", {}, el("p", { className: "wall-order", id: orderId }, RESPONDERS_ORDER_TEXT), list);
  }

  actionButtons(incident, alerts) {
    const unanswered = alerts.filter((alert) => alert.state === "alerted" || alert.state === "received").length;
    const button = (name, label, handler, extra = "") =>
      el("button", { type: "button", className: `wall-button wall-act ${extra}`, "data-act": name, "data-focus-key": `${name}-${incident.id}`, onclick: handler }, label);
    return el(
      "div",
      { className: "wall-actions", role: "group", "aria-label": `Actions on ${incident.cad_reference}` },
      button("dispatch", dispatchButtonText(incident), () => this.dispatch(incident)),
      button("named", "Alert named", () => this.alertNamed(incident)),
      unanswered ? button("stand-down", `Stand down ${unanswered} unanswered`, () => this.standDownAll(incident, unanswered)) : null,
      button("cancel", "Cancel", () => this.cancel(incident), "wall-button--danger"),
      button("close", "Close", () => this.close(incident)),
    );
  }

  // --- Messages to the crews ---

  messageBox(incidentId) {
    const list = el("ol", { className: "wall-messages" });
    const input = el("input", {
      id: `wall-message-${incidentId}`,
      name: "text",
      maxlength: "280",
      autocomplete: "off",
      placeholder: "e.g. Ambulance on scene",
    });
    const form = el(
      "form",
      { className: "wall-message-form" },
      el("label", { for: `wall-message-${incidentId}`, className: "wall-message-label" }, "Message to the crews"),
      el("div", { className: "wall-inline" }, input, el("button", { type: "submit", className: "wall-button" }, "Send")),
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.sendMessage(incidentId, input);
    });
    const box = el("section", { className: "wall-message-box", "aria-label": "Messages to the crews" }, list, form);
    return { box, list, form, input };
  }

  drawMessages(messages, incident) {
    const items = messagesOf(this.state, incident.id).slice(-3);
    messages.list.replaceChildren(
      ...items.map((message) => {
        const acks = message.acknowledgements;
        return el("li", { className: "wall-message" },
          el("span", { className: "wall-message-time" }, clockTime(message.sent_at)),
          el("span", { className: "wall-message-text" }, message.text),
          el("span", { className: `wall-message-acks${acks.length ? "" : " wall-message-acks--none"}` }, seenText(message)));
      }),
    );
    messages.form.hidden = incident.status !== "open";
  }

  async sendMessage(incidentId, input) {
    const text = input.value.trim();
    if (!text) {
      this.showError("Write the message first (up to 280 characters).");
      input.focus();
      return;
    }
    try {
      const message = await this.api("POST", `/api/v1/incidents/${incidentId}/messages/`, { text });
      if (message) applyMessage(this.state, message);
      input.value = "";
      this.showDone("Message sent.");
      this.scheduleDraw();
    } catch (error) {
      this.showError(`The message was not sent: ${error.message}`);
    }
  }

  // --- Alarms ---

  drawAlarms(alarms) {
    const system = alarms.filter((alarm) => alarm.incident_id === null);
    const sounding = alarms.filter((alarm) => alarm.sounding);
    this.alarmsBox.hidden = !sounding.length && !system.length;
    // Each incident named is a button that brings its card into view and chooses it (found by a
    // trial: "2 alarms sounding: T11-C, T11-A" with T11-A's card below the fold, and no way there
    // from the bar). The delivery workers' alarm has no card: its title stays words. Each one and
    // the comma after it are one item that never breaks (wall.css, .wall-alarm-item), the items
    // apart at a space: Chromium may break a line between a button and the comma after it, and the
    // bar's second line began with a comma at 1280 wide (found by a product trial).
    const summary = sounding.length
      ? el("p", { className: "wall-alarm-summary" }, `${sounding.length} alarm${sounding.length === 1 ? "" : "s"} sounding: `,
        ...sounding.flatMap((alarm, index) => [
          index ? " " : null,
          el("span", { className: "wall-alarm-item" },
            alarm.incident_id !== null && this.cards.has(alarm.incident_id)
              ? el("button", {
                type: "button",
                className: "wall-alarm-jump",
                "data-focus-key": `alarm-jump-${alarm.incident_id}`,
                "aria-label": `Show ${alarm.cad_reference}: ${alarm.title}`,
                onclick: () => this.showIncident(alarm.incident_id),
              }, alarm.cad_reference)
              : alarm.cad_reference ?? alarm.title,
            index < sounding.length - 1 ? "," : null),
        ]))
      : null;
    this.alarmsBox.replaceChildren(
      ...[summary, ...system.map((alarm) => el("div", { className: `wall-system-alarm${alarm.sounding ? " wall-system-alarm--sounding" : ""}` }, this.alarmLine(alarm)))].filter(Boolean),
    );
  }

  /** True once acknowledged (and shown so); false, with the error shown, otherwise. */
  async acknowledge(alarm) {
    try {
      const acknowledgement = await this.api("POST", "/api/v1/alarms/acknowledge/", { kind: alarm.kind, incident_id: alarm.incident_id });
      applyFrame(this.state, { type: "alarm.acknowledged", data: acknowledgement });
      this.scheduleDraw();
      return true;
    } catch (error) {
      this.showError(`The alarm was not acknowledged: ${error.message}`);
      return false;
    }
  }

  /** The `a` key: what is sounding, one alarm at a time (board-state.js, alarmToAcknowledge), and
   *  always in words which one, since the key may silence an alarm of a card not chosen; or that
   *  nothing is sounding, rather than nothing at all. */
  async acknowledgeByKey() {
    const alarm = alarmToAcknowledge(this.state, alarmsOf(this.state), this.selectedId);
    if (!alarm) {
      this.showNote("No alarm is sounding: nothing to acknowledge.");
      return;
    }
    if (await this.acknowledge(alarm)) {
      this.showDone(`Acknowledged: ${alarm.title}${alarm.cad_reference ? ` (${alarm.cad_reference})` : ""}.`);
    }
  }

  drawAudio() {
    const state = this.sound.state;
    document.body.dataset.audio = state;
    this.audioButton.textContent = state === "off" ? "Turn on alarm sound" : state === "playing" ? "Alarm sounding: turn sound off" : "Alarm sound on: turn off";
    this.audioButton.setAttribute("aria-pressed", String(state !== "off"));
    this.audioButton.classList.toggle("wall-audio--off", state === "off");
  }

  async toggleAudio() {
    if (this.sound.allowed) {
      this.sound.turnOff();
      return;
    }
    try {
      await this.sound.allow();
      this.sound.follow(anySounding(alarmsOf(this.state)));
    } catch (error) {
      this.showError(error.message);
    }
  }

  // --- Actions (each an API call: the same action function as the admin) ---

  async run(what, method, path, body, { said = () => null, wasHeld = false } = {}) {
    try {
      const result = await this.api(method, path, body);
      const { tone, text } = answerText(what, result, { said, wasHeld });
      if (tone === "error") this.showError(text);
      else if (tone === "note") this.showNote(text);
      else this.showDone(text);
      return result;
    } catch (error) {
      this.showError(`${what} failed: ${error.message}`);
      return null;
    }
  }

  dispatch(incident) {
    // What this board shows: if another coordinator (or the ladder) has alerted more meanwhile,
    // the server refuses rather than widening a second time, and the message says so.
    const seen_alerts = alertsOf(this.state, incident.id).length;
    const wasHeld = this.state.incidents.get(incident.id)?.held_since ?? incident.held_since;
    return this.run(`Dispatch ${incident.cad_reference}`, "POST", `/api/v1/incidents/${incident.id}/dispatch/`, { seen_alerts }, { wasHeld });
  }

  async standDownAll(incident, count) {
    const ok = await this.confirm(`Stand down the ${count} responder${count === 1 ? "" : "s"} who have not answered ${incident.cad_reference}? Their phones stop ringing.`, "Stand them down");
    if (ok) this.run(`Stand down on ${incident.cad_reference}`, "POST", `/api/v1/incidents/${incident.id}/stand-down/`, {});
  }

  async standDownOne(incident, alert) {
    const question = standDownQuestion(incident, alert);
    if (question && !(await this.confirm(question, "Stand down"))) return null;
    return this.run(`Stand down ${alert.responder_name}`, "POST", `/api/v1/incidents/${incident.id}/stand-down/`, { alert_ids: [alert.id] });
  }

  async cancel(incident) {
    const alerts = alertsOf(this.state, incident.id);
    const reason = await this.confirm(cancelQuestion(incident, alerts), "Cancel the incident", { reason: true, nobodyTold: !alerts.length });
    if (reason) this.run(`Cancel ${incident.cad_reference}`, "POST", `/api/v1/incidents/${incident.id}/cancel/`, { reason });
  }

  async close(incident) {
    const ok = await this.confirm(closeQuestion(incident, alertsOf(this.state, incident.id)), "Close the incident");
    if (ok) this.run(`Close ${incident.cad_reference}`, "POST", `/api/v1/incidents/${incident.id}/close/`);
  }

  async alertNamed(incident) {
    let candidates;
    try {
      candidates = (await this.api("GET", `/api/v1/incidents/${incident.id}/named-candidates/`)).responders;
    } catch (error) {
      this.showError(`Could not list responders: ${error.message}`);
      return;
    }
    if (!candidates.length) {
      this.showError(`Nobody else is on call with training in date for ${incident.cad_reference}.`);
      return;
    }
    const alertable = candidates.filter((responder) => !responder.cannot_alert);
    if (!alertable.length) {
      this.showError(`Nobody else can be alerted to ${incident.cad_reference} by name: ${candidates.map((responder) => `${responder.name} ${namedCandidateText(responder)}`).join("; ")}.`);
      return;
    }
    const dialog = document.getElementById("wall-named");
    const select = dialog.querySelector("select");
    const chosenFirst = namedDefault(candidates);
    // With nobody free, nobody is chosen: "Alert them" asks for a choice (the select is required).
    const placeholder = chosenFirst ? null : el("option", { value: "" }, "Choose a responder");
    select.required = true;
    select.replaceChildren(...[placeholder, ...candidates.map((responder) => el("option", { value: responder.id, disabled: Boolean(responder.cannot_alert) },
      `${responder.name} (${responder.station}, ${responder.distance_km.toFixed(1)} km)${namedCandidateText(responder) ? `: ${namedCandidateText(responder)}` : ""}`))].filter(Boolean));
    select.value = chosenFirst ? String(chosenFirst.id) : "";
    const answer = await this.openDialog(dialog);
    if (answer !== "confirm") return;
    const chosen = candidates.find((responder) => String(responder.id) === select.value);
    if (!chosen) return;
    this.run(`Alert ${chosen.name} to ${incident.cad_reference}`, "POST", `/api/v1/incidents/${incident.id}/dispatch/`, { responder_ids: [chosen.id] }, { said: (dispatch) => namedAlertText(chosen.name, dispatch) });
  }

  /** The confirmation dialog: true when confirmed (or, with `reason`, the reason typed); false
   *  otherwise. A reason is required to cancel: the dialog stays open until one is given. */
  async confirm(text, okLabel, { reason = false, nobodyTold = false } = {}) {
    const dialog = document.getElementById("wall-confirm");
    dialog.querySelector(".wall-confirm-text").textContent = text;
    dialog.querySelector(".wall-confirm-ok").textContent = okLabel;
    const reasonBox = dialog.querySelector(".wall-reason");
    const input = reasonBox.querySelector("input");
    const error = reasonBox.querySelector(".wall-field-error");
    reasonBox.hidden = !reason;
    // (With nobody alerted, nobody is told the reason: cancelQuestion.)
    const label = reasonBox.querySelector("label");
    label.dataset.told ??= label.textContent;
    label.textContent = nobodyTold ? "Reason for cancelling" : label.dataset.told;
    input.value = "";
    error.hidden = true;
    for (;;) {
      const answer = await this.openDialog(dialog, reason ? input : dialog.querySelector(".wall-confirm-ok"));
      if (answer !== "confirm") return false;
      if (!reason) return true;
      if (input.value.trim()) return input.value.trim();
      error.textContent = nobodyTold ? "Give the reason." : "Give the reason: the crews are told it.";
      error.hidden = false;
      input.setAttribute("aria-describedby", error.id);
    }
  }

  openDialog(dialog, focus = null) {
    return new Promise((resolve) => {
      dialog.returnValue = "";
      dialog.addEventListener("close", () => resolve(dialog.returnValue), { once: true });
      dialog.showModal();
      focus?.focus();
    });
  }

  // --- Creating an incident ---

  bindCreate() {
    const dialog = document.getElementById("wall-create");
    if (!dialog) return;
    const form = dialog.querySelector("form");
    const error = form.querySelector(".wall-form-error");
    dialog.querySelector("[data-action=close-create]").addEventListener("click", () => dialog.close());
    dialog.querySelector("[data-action=postcode]").addEventListener("click", () => this.findPostcode(form, error));
    form.elements.postcode.addEventListener("input", () => forgetPostcodePlace(form));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      error.textContent = "";
      const body = createBody(form);
      if (body.error) {
        error.textContent = body.error;
        return;
      }
      try {
        const incident = await this.api("POST", "/api/v1/incidents/", body.data);
        dialog.close();
        form.reset();
        delete form.dataset.postcodePlace;
        this.showDone(`Created ${incident.cad_reference}${incident.dispatch ? `: ${incident.dispatch.message}` : "."}`);
        this.selectedId = incident.id;
      } catch (failure) {
        error.textContent = `Not created: ${failure.message}`;
      }
    });
  }

  /** Open the form, with a place already chosen (a click on the map) if given. */
  openCreate({ latitude = null, longitude = null } = {}) {
    const dialog = document.getElementById("wall-create");
    if (!dialog) return;
    const form = dialog.querySelector("form");
    if (latitude !== null) form.elements.latitude.value = latitude.toFixed(6);
    if (longitude !== null) form.elements.longitude.value = longitude.toFixed(6);
    dialog.showModal();
    form.elements.cad_reference.focus();
  }

  async findPostcode(form, error) {
    const postcode = form.elements.postcode.value.trim();
    error.textContent = "";
    if (!postcode) {
      error.textContent = "Type a postcode first.";
      return;
    }
    try {
      const place = await this.api("GET", `/api/v1/postcodes/${encodeURIComponent(postcode)}/`);
      rememberPostcodePlace(form, place);
      error.textContent = retiredPostcodeText(place);
    } catch (failure) {
      forgetPostcodePlace(form);
      error.textContent = failure.status === 404 && (failure.body?.error?.code ?? failure.body?.code) === "unknown_postcode"
        ? `${postcode} is not in the postcode table: type the latitude and longitude.`
        : `The postcode was not looked up: ${failure.message}`;
    }
  }

  // --- Buttons, keys, theme ---

  bindButtons() {
    const on = (name, handler) => this.root.querySelector(`[data-action=${name}]`)?.addEventListener("click", handler);
    on("audio", () => this.toggleAudio());
    on("create", () => this.openCreate());
    on("theme", () => this.toggleTheme());
    on("help", () => this.openDialog(document.getElementById("wall-help")));
  }

  bindKeys() {
    document.addEventListener("keydown", (event) => {
      if (event.ctrlKey || event.metaKey || event.altKey) return;
      if (event.target.closest?.("input, textarea, select, dialog[open]")) return;
      if (document.querySelector("dialog[open]")) return;
      const handled = this.key(event.key);
      if (handled) event.preventDefault();
    });
  }

  key(key) {
    const incident = this.selectedId === null ? null : this.state.incidents.get(this.selectedId);
    const open = incident && incident.status === "open" ? incident : null;
    switch (key) {
      case "?":
        this.openDialog(document.getElementById("wall-help"));
        return true;
      case "j":
      case "k":
        this.moveSelection(key === "j" ? 1 : -1);
        return true;
      case "a":
        this.acknowledgeByKey();
        return true;
      case "Escape":
        // (A dialog open takes its own Escape: see bindKeys.) Otherwise: choose no incident.
        if (this.selectedId === null) return false;
        this.select(null);
        return true;
      case "n":
        this.openCreate();
        return true;
      case "u":
        this.toggleAudio();
        return true;
      case "t":
        this.toggleTheme();
        return true;
    }
    if (!open) return false;
    const unanswered = alertsOf(this.state, open.id).filter((alert) => alert.state === "alerted" || alert.state === "received").length;
    switch (key) {
      case "d":
        this.dispatch(open);
        return true;
      case "l":
        this.alertNamed(open);
        return true;
      case "s":
        if (unanswered) this.standDownAll(open, unanswered);
        else this.showError(`Nobody on ${open.cad_reference} is waiting to answer.`);
        return true;
      case "c":
        this.cancel(open);
        return true;
      case "x":
        this.close(open);
        return true;
      case "m":
        this.cards.get(open.id)?.messages.input.focus();
        return true;
      default:
        return false;
    }
  }

  /** Choose an incident's card (and focus it), or none (null). */
  select(id) {
    const focused = this.cards.get(this.selectedId)?.card === document.activeElement;
    this.selectedId = id;
    this.drawSelection();
    if (id !== null) this.cards.get(id)?.card.focus({ preventScroll: false });
    else if (focused) document.activeElement.blur();
  }

  moveSelection(step) {
    const ids = [...this.incidentsBox.querySelectorAll(".wall-card")].map((card) => Number(card.dataset.incidentId));
    if (!ids.length) return;
    const at = ids.indexOf(this.selectedId);
    const next = at === -1 ? (step > 0 ? 0 : ids.length - 1) : (at + step + ids.length) % ids.length;
    this.select(ids[next]);
  }

  drawSelection() {
    for (const [id, { card }] of this.cards) {
      card.classList.toggle("wall-card--selected", id === this.selectedId);
      if (id === this.selectedId) card.setAttribute("aria-current", "true");
      else card.removeAttribute("aria-current");
    }
  }

  applyTheme(theme) {
    const chosen = theme === "dark" || theme === "light" ? theme : null;
    if (chosen) document.documentElement.dataset.theme = chosen;
    else delete document.documentElement.dataset.theme;
    const dark = chosen ? chosen === "dark" : matchMedia("(prefers-color-scheme: dark)").matches;
    this.themeButton.textContent = dark ? "Light" : "Dark";
    this.themeButton.setAttribute("aria-label", dark ? "Switch to light" : "Switch to dark");
  }

  toggleTheme() {
    const dark = document.documentElement.dataset.theme
      ? document.documentElement.dataset.theme === "dark"
      : matchMedia("(prefers-color-scheme: dark)").matches;
    const theme = dark ? "light" : "dark";
    localStorage.setItem(THEME_KEY, theme);
    this.applyTheme(theme);
  }

  // --- Feedback ---

  showError(text) {
    this.errorsBox.replaceChildren(el("p", { className: "wall-error" }, text, " ",
      el("button", { type: "button", className: "wall-mini", onclick: () => this.errorsBox.replaceChildren() }, "Dismiss")));
  }

  showDone(text, className = "wall-done") {
    this.errorsBox.replaceChildren(el("p", { className }, text));
    clearTimeout(this.doneTimer);
    this.doneTimer = setTimeout(() => {
      if (this.errorsBox.querySelector(".wall-done, .wall-note")) this.errorsBox.replaceChildren();
    }, 8000);
  }

  /** Not an error, not a change: a word on what a key did not do. */
  showNote(text) {
    this.showDone(text, "wall-note");
  }

  tick() {
    const now = Date.now();
    // The estimates count down with no frame to say so: drawn again as the minutes change, so that
    // this board and the other say the same (board-state.js, arrivalWordsAt).
    if (this.arrivalDrawn !== undefined && arrivalWordsAt(this.state, now) !== this.arrivalDrawn) this.scheduleDraw();
    for (const node of this.incidentsBox.querySelectorAll("[data-elapsed-since]")) {
      node.textContent = `${elapsed(now - Date.parse(node.dataset.elapsedSince))} ${node.dataset.elapsedLabel}`;
    }
    this.clockLine.textContent = new Date(now).toLocaleTimeString("en-GB", { hour12: false });
    if (this.status.state === "waiting") this.setStatus(this.status);
  }
}

/** Who has seen a message, on its card: "Seen by 1 of 3: Alice", "Not yet seen (0 of 3)", in the
 *  words of the admin's board too (board-state.js, seenText; board.js, messageLines). */
export { seenText };

// What closing does to each of the incident's people, in the words of the admin's Close page
// (backend/dispatch/admin.py, _closing_does, as actions.close_incident does it): on scene, cleared;
// going, or not answered yet, stood down; the others keep their state.
const CLOSING_DOES = [
  ["Cleared from the scene", (alert) => alert.state === "on_scene"],
  ["Stood down while going", (alert) => alert.state === "accepted" || alert.state === "en_route"],
  ["Stood down before answering", (alert) => alert.state === "alerted" || alert.state === "received"],
];

/** The Close dialog's question: what closing does, then whom it does it to, by name, as the admin's
 *  Close page says it ("Cleared from the scene: Sam Barker (on scene). Stood down while going: Jo
 *  Day (en route)."; found by a browser trial: the board's dialog named nobody). `alerts`: the
 *  incident's alerts as the board holds them (alertsOf: in the rows' order). */
export function closeQuestion(incident, alerts) {
  const stateLabel = (state) => (ALERT_STATES[state] ?? state).toLowerCase();
  const does = CLOSING_DOES.flatMap(([what, applies]) => {
    const who = alerts.filter(applies).map((alert) => `${alert.responder_name} (${stateLabel(alert.state)})`);
    return who.length ? [`${what}: ${who.join(", ")}.`] : [];
  });
  const saying = does.length ? does.join(" ") : "Nobody is alerted or going: nobody's state changes.";
  return `Close ${incident.cad_reference}? Anyone still going, or not yet answered, is stood down; anyone on scene is cleared. ${saying}`;
}

/** Where a card is against the list's visible part (both DOMRects, or {top, bottom, height}): "in
 *  view" once its head (the reference and address: its top, and up to 3 rem of it) is within it,
 *  else "above" or "below". */
export function cardPlace(card, box, head = 48) {
  const headBottom = card.top + Math.min(card.height ?? card.bottom - card.top, head);
  if (card.top >= box.top - 2 && headBottom <= box.bottom + 2) return "in view";
  return card.top < box.top ? "above" : "below";
}

/** The words of the notice of new incidents out of sight ({cad_reference, where}: "above" or
 *  "below", newest first), or null when there are none. "New incident T9-NOR-9 above: show it ↑";
 *  of more than one, how many and where, never their references ("3 new incidents above: show the
 *  newest ↑"): words as long whatever the number, whole in the notice's one line (two on a phone).
 *  Naming them all, the notice was cut at 1280, 1920 and 360 wide (found by a product trial); the
 *  cards name them as the button brings each into view. */
export function newIncidentsNotice(items) {
  if (!items.length) return null;
  const above = items.every((item) => item.where === "above");
  const below = items.every((item) => item.where === "below");
  const where = above ? "above" : below ? "below" : "out of sight";
  const arrow = above ? " ↑" : below ? " ↓" : "";
  if (items.length === 1) return `New incident ${items[0].cad_reference} ${where}: show it${arrow}`;
  return `${items.length} new incidents ${where}: show the newest${arrow}`;
}

/** A postcode found: its place goes into the form, and the form remembers that the place is the
 *  postcode's (see forgetPostcodePlace). */
export function rememberPostcodePlace(form, place) {
  form.elements.latitude.value = place.latitude;
  form.elements.longitude.value = place.longitude;
  form.elements.postcode.value = place.postcode;
  form.dataset.postcodePlace = `${form.elements.latitude.value},${form.elements.longitude.value}`;
}

const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];

/** A postcode found that is no longer in use (`terminated`, YYYYMM: docs/postcodes.md): its place
 *  is still filled in (callers give their old postcode for years), with a warning to check the
 *  address; "" for a postcode in use. Found by a tester: NR1 9ZZ (retired) filled the place silently. */
export function retiredPostcodeText(place) {
  const terminated = String(place?.terminated ?? "").trim();
  if (!terminated) return "";
  const month = /^(\d{4})(\d{2})$/.exec(terminated);
  const since = month && Number(month[2]) >= 1 && Number(month[2]) <= 12 ? ` since ${MONTHS[Number(month[2]) - 1]} ${month[1]}` : "";
  return `${place.postcode} is a retired postcode (not in use${since}): check the address with the caller. Its last known place is filled in.`;
}

/** The postcode changed, or was not found: the place an earlier postcode put in the form goes
 *  with it, so the incident cannot be created (and crews sent) at the old postcode's place. A
 *  place clicked on the map or typed since is the coordinator's own and stays. */
export function forgetPostcodePlace(form) {
  const place = form.dataset.postcodePlace;
  if (!place) return;
  delete form.dataset.postcodePlace;
  const { latitude, longitude } = form.elements;
  if (`${latitude.value},${longitude.value}` !== place) return;
  latitude.value = "";
  longitude.value = "";
}

/** The create form's fields as the API's body, or {error} in words. */
export function createBody(form) {
  const value = (name) => (form.elements[name]?.value ?? "").trim();
  const missing = [];
  if (!value("cad_reference")) missing.push("the CAD reference");
  if (!value("address")) missing.push("the address");
  const latitude = Number(value("latitude"));
  const longitude = Number(value("longitude"));
  // One coordinate typed and not the other: name the one missing (found by a tester: a latitude
  // typed and no longitude was answered "Give the place (a postcode, ...)").
  if (!value("latitude") && !value("longitude")) {
    missing.push("the place (a postcode, a click on the map, or latitude and longitude)");
  } else if (!value("latitude")) missing.push("the latitude");
  else if (!value("longitude")) missing.push("the longitude");
  // A value typed but not a number is named, not taken for a missing place (found by trying the
  // board: latitude 95 and longitude "abc" were answered "Give the place").
  const notNumbers = [["latitude", latitude], ["longitude", longitude]]
    .filter(([name, number]) => value(name) && !Number.isFinite(number))
    .map(([name]) => `The ${name} "${value(name)}" is not a number.`);
  if (missing.length || notNumbers.length) {
    return { error: [missing.length ? `Give ${missing.join(", ")}.` : "", ...notNumbers].filter(Boolean).join(" ") };
  }
  const data = {
    cad_reference: value("cad_reference"),
    address: value("address"),
    category: value("category") || "cardiac_arrest",
    latitude,
    longitude,
    dispatch: Boolean(form.elements.dispatch?.checked),
  };
  const what3words = value("what3words").replace(/^\/+/, "");
  if (what3words) data.what3words = what3words;
  if (value("notes")) data.notes = value("notes");
  return { data };
}

export function mountWall(root, { location = window.location } = {}) {
  const view = new WallBoard(root);
  const connection = connectBoard({
    path: root.dataset.socketPath || "/ws/coordinator/",
    location,
    onFrame: (frame) => view.frame(frame),
    onStatus: (status) => view.setStatus(status),
  });
  keepConnected(connection);
  // For the tests and the map: the board's model and its form.
  window.wallBoard = view;
  return { view, connection };
}

if (typeof document !== "undefined") {
  for (const root of document.querySelectorAll("[data-wall-board]")) mountWall(root);
}
