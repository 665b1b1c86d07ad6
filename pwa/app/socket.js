// The one responder socket: /ws/responder/?last_event_id=N on the page's own host. Reconnects
// by itself with backoff and jitter, checks with ping that a quiet socket is still alive (a
// phone on a bad network can hold a dead one for minutes) and acts on the close codes of
// docs/events.md.

import { Backoff } from "./backoff.js";

export const CLOSE_NOT_LOGGED_IN = 4401;
export const CLOSE_NOT_ALLOWED = 4403;
export const CLOSE_BAD_LAST_EVENT_ID = 4400;

export function socketUrl(path, query = "", loc = location) {
  const scheme = loc.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${loc.host}${path}${query}`;
}

export class ResponderSocket {
  /**
   * query(): the query string for the next connection (from LastEventTracker.connectQuery).
   * onFrame(frame): every parsed frame. onStatus(status, retryAt): connection changes.
   * onClosedFor(code): 4401 / 4403 / 4400 closes.
   */
  constructor({
    query,
    onFrame,
    onStatus = () => {},
    onClosedFor = () => {},
    backoff = new Backoff(),
    pingMs = 25000,
    pongTimeoutMs = 10000,
    WebSocketImpl = globalThis.WebSocket,
  }) {
    Object.assign(this, { query, onFrame, onStatus, onClosedFor, backoff, pingMs, pongTimeoutMs, WebSocketImpl });
    this.ws = null;
    this.stopped = true;
    this.retryTimer = null;
    this.pingTimer = null;
    this.deadline = null;
    this.status = "stopped";
  }

  _setStatus(status, retryAt = null) {
    this.status = status;
    this.onStatus(status, retryAt);
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
    clearTimeout(this.retryTimer);
    this._connect();
  }

  _clearTimers() {
    clearTimeout(this.retryTimer);
    clearInterval(this.pingTimer);
    clearTimeout(this.deadline);
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
    if (globalThis.navigator && navigator.onLine === false) {
      this._setStatus("offline");
      return; // the "online" event calls poke()
    }
    this._setStatus("connecting");
    let ws;
    try {
      ws = new this.WebSocketImpl(socketUrl("/ws/responder/", this.query()));
    } catch {
      this._retry();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      this._setStatus("syncing");
      this.pingTimer = setInterval(() => this._ping(), this.pingMs);
    };
    ws.onmessage = (message) => {
      clearTimeout(this.deadline);
      this.deadline = null;
      let frame;
      try {
        frame = JSON.parse(message.data);
      } catch {
        return;
      }
      if (!frame || typeof frame !== "object") return;
      if (frame.type === "sync.ready") {
        // Only a connection that got as far as sync.ready counts as a success.
        this.backoff.reset();
        this._setStatus("live");
      }
      this.onFrame(frame);
    };
    ws.onclose = (event) => this._closed(event.code);
  }

  _ping() {
    if (!this.send({ type: "ping" })) return;
    clearTimeout(this.deadline);
    this.deadline = setTimeout(() => {
      // No answer: the socket is dead even if the browser has not noticed.
      this._drop(4000);
      this._retry();
    }, this.pongTimeoutMs);
  }

  _closed(code) {
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
    this._retry();
  }

  _retry() {
    if (this.stopped) return;
    clearTimeout(this.retryTimer);
    if (globalThis.navigator && navigator.onLine === false) {
      this._setStatus("offline");
      return;
    }
    const delay = this.backoff.next();
    this._setStatus("reconnecting", Date.now() + delay);
    this.retryTimer = setTimeout(() => this._connect(), delay);
  }
}
