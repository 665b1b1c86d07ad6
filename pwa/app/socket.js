// The one socket client, for the firefighters' app (/ws/responder/) and the coordinators' board
// (/ws/coordinator/, which imports this module from /app/socket.js). It reconnects by itself with
// backoff and jitter, checks with ping that a quiet socket is still alive (a phone on a bad
// network, or a laptop whose lid was closed, can hold a dead one for minutes) and acts on the
// close codes of docs/events.md. Both sockets get the same liveness rules, so a dead connection
// is noticed within the same time on a phone and on the control-room wall.
//
// Timers and the clock come from `clock` and sockets from `WebSocketImpl`, so that the tests
// (tests/js/socket.test.mjs) drive it with a fake clock and a fake WebSocket.

import { Backoff } from "./backoff.js";

export const CLOSE_NOT_LOGGED_IN = 4401;
export const CLOSE_NOT_ALLOWED = 4403;
export const CLOSE_BAD_LAST_EVENT_ID = 4400;
// Our own code when we give up on a socket that stopped answering.
export const CLOSE_NOT_ANSWERING = 4000;

export const PING_EVERY_MS = 25000;
export const PONG_DEADLINE_MS = 10000;
// The longest an open but dead socket can go unnoticed: the next ping is at most PING_EVERY_MS
// away, and its pong is given PONG_DEADLINE_MS.
export const DEAD_SOCKET_NOTICED_WITHIN_MS = PING_EVERY_MS + PONG_DEADLINE_MS;
// A socket not open within this is given up and tried again. The browser itself has no such limit:
// a server that took the connection and never answered (a wedged process, a half-dead proxy)
// left the phone "connecting" for minutes. Long enough for a surviving process working through a
// reconnect storm (docs/scaling.md), so that a phone keeps its place instead of queuing again.
export const OPEN_DEADLINE_MS = 30000;

/** The browser's timers and clock. */
export const browserClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (id) => clearTimeout(id),
  setInterval: (fn, ms) => setInterval(fn, ms),
  clearInterval: (id) => clearInterval(id),
};

/** Whether the browser knows it has no network (then waiting for "online" beats retrying). */
export const browserIsOffline = () => Boolean(globalThis.navigator && navigator.onLine === false);

export function socketUrl(path, query = "", loc = location) {
  const scheme = loc.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${loc.host}${path}${query}`;
}

export class SocketClient {
  /**
   * url(): the URL of the next connection (asked afresh each time, so that it carries the last
   *   event id seen so far).
   * readyType: the frame type that proves a connection works ("sync.ready" after the responder's
   *   replay, "board.snapshot" on the board); only then is the backoff reset and the status "live".
   * onFrame(frame): every parsed frame.
   * onStatus(status, retryAt, detail): stopped, offline, connecting, syncing, live,
   *   reconnecting (retryAt: when), login-required, forbidden; detail says why, in words.
   * onClosedFor(code): 4401 / 4403 / 4400 closes.
   */
  constructor({
    url,
    readyType,
    onFrame,
    onStatus = () => {},
    onClosedFor = () => {},
    backoff = new Backoff(),
    pingMs = PING_EVERY_MS,
    pongTimeoutMs = PONG_DEADLINE_MS,
    openTimeoutMs = OPEN_DEADLINE_MS,
    WebSocketImpl = globalThis.WebSocket,
    clock = browserClock,
    isOffline = browserIsOffline,
  }) {
    Object.assign(this, { url, readyType, onFrame, onStatus, onClosedFor, backoff, pingMs, pongTimeoutMs, openTimeoutMs, WebSocketImpl, clock, isOffline });
    this.ws = null;
    this.stopped = true;
    this.retryTimer = null;
    this.pingTimer = null;
    this.deadline = null;
    this.status = "stopped";
  }

  _setStatus(status, retryAt = null, detail = "") {
    this.status = status;
    this.onStatus(status, retryAt, detail);
  }

  start() {
    this.stopped = false;
    this._connect();
  }

  stop() {
    this.stopped = true;
    this._clearTimers();
    this._drop(1000);
    this._setStatus("stopped");
  }

  isOpen() {
    return Boolean(this.ws && this.ws.readyState === 1);
  }

  send(frame) {
    if (!this.isOpen()) return false;
    try {
      this.ws.send(JSON.stringify(frame));
      return true;
    } catch {
      return false;
    }
  }

  /** Back in the foreground or back online: connect now if not connected, else check it lives. */
  poke() {
    if (this.stopped) return;
    if (this.ws && (this.ws.readyState === 0 || this.ws.readyState === 1)) {
      if (this.ws.readyState === 1) this._ping();
      return;
    }
    this.clock.clearTimeout(this.retryTimer);
    this._connect();
  }

  /** The browser says it has lost the network (its "offline" event): a socket does not live
   *  without one, so it is let go and the status is "offline" at once, not at the pong's deadline
   *  (trial 17: the coordinators' board said "Live" for 11.9 s after the network went). The
   *  "online" event's poke() connects again. Nothing is done if the browser thinks it is online. */
  wentOffline() {
    if (this.stopped || !this.isOffline()) return;
    this._clearTimers();
    this._drop(1000);
    this._setStatus("offline");
  }

  _clearTimers() {
    this.clock.clearTimeout(this.retryTimer);
    this.clock.clearInterval(this.pingTimer);
    this.clock.clearTimeout(this.deadline);
    this.retryTimer = this.pingTimer = this.deadline = null;
  }

  /** Forget the current socket without waiting for its close handshake. */
  _drop(code) {
    const ws = this.ws;
    this.ws = null;
    if (!ws) return;
    ws.onopen = ws.onmessage = ws.onerror = ws.onclose = null;
    try {
      ws.close(code);
    } catch {
      // already closed
    }
  }

  _connect() {
    this._clearTimers();
    this._drop(1000);
    if (this.isOffline()) {
      this._setStatus("offline");
      return; // the "online" event calls poke()
    }
    this._setStatus("connecting");
    let ws;
    try {
      ws = new this.WebSocketImpl(this.url());
    } catch (error) {
      this._retry(`could not open the socket (${error?.message ?? error})`);
      return;
    }
    this.ws = ws;
    this.deadline = this.clock.setTimeout(() => {
      this._drop(CLOSE_NOT_ANSWERING);
      this._retry("the server did not open the connection");
    }, this.openTimeoutMs);
    ws.onopen = () => {
      this.clock.clearTimeout(this.deadline);
      this.deadline = null;
      this._setStatus("syncing");
      this.pingTimer = this.clock.setInterval(() => this._ping(), this.pingMs);
    };
    ws.onmessage = (message) => this._received(message);
    ws.onerror = () => {}; // a close always follows; that is where it is handled
    ws.onclose = (event) => this._closed(event.code, event.reason);
  }

  _received(message) {
    // Anything heard proves the socket lives: the pong need not be the frame that answers.
    this.clock.clearTimeout(this.deadline);
    this.deadline = null;
    let frame;
    try {
      frame = JSON.parse(message.data);
    } catch {
      return;
    }
    if (!frame || typeof frame !== "object") return;
    if (frame.type === this.readyType) {
      // Only a connection that got as far as its ready frame counts as a success.
      this.backoff.reset();
      this._setStatus("live");
    }
    this.onFrame(frame);
  }

  _ping() {
    if (!this.send({ type: "ping" })) return;
    this.clock.clearTimeout(this.deadline);
    this.deadline = this.clock.setTimeout(() => {
      // No answer: the socket is dead even if the browser has not noticed.
      this._drop(CLOSE_NOT_ANSWERING);
      this._retry("the server stopped answering");
    }, this.pongTimeoutMs);
  }

  _closed(code, reason = "") {
    this._clearTimers();
    this.ws = null;
    if (this.stopped) return;
    if (code === CLOSE_NOT_LOGGED_IN) {
      this.stopped = true;
      this._setStatus("login-required");
      this.onClosedFor(code);
      return;
    }
    if (code === CLOSE_NOT_ALLOWED) {
      this.stopped = true;
      this._setStatus("forbidden");
      this.onClosedFor(code);
      return;
    }
    if (code === CLOSE_BAD_LAST_EVENT_ID) {
      this.onClosedFor(code); // forgets the id; the next connection goes without it
      this._connect();
      return;
    }
    this._retry(reason || `connection lost, code ${code}`);
  }

  _retry(detail = "") {
    if (this.stopped) return;
    this.clock.clearTimeout(this.retryTimer);
    if (this.isOffline()) {
      this._setStatus("offline");
      return;
    }
    const delay = this.backoff.next();
    this._setStatus("reconnecting", this.clock.now() + delay, detail);
    this.retryTimer = this.clock.setTimeout(() => this._connect(), delay);
  }
}

/** The firefighter's socket: their stored events, replayed after the last id they saw.
 *  query(): "?last_event_id=N" or "" (LastEventTracker.connectQuery). */
export function responderSocket({ query, location: loc = globalThis.location, ...options }) {
  return new SocketClient({ url: () => socketUrl("/ws/responder/", query(), loc), readyType: "sync.ready", ...options });
}

/** The coordinators' board: a fresh snapshot on every connection (which is its catch-up), then
 *  live changes. */
export function coordinatorSocket({ path = "/ws/coordinator/", location: loc = globalThis.location, ...options }) {
  return new SocketClient({ url: () => socketUrl(path, "", loc), readyType: "board.snapshot", ...options });
}
