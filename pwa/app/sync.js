// Keeping the store in step with the server: the socket's events (replayed and live), the REST
// API when the socket says its replay was incomplete or the app comes back to the foreground,
// and acknowledging each alert once it is on screen.

import { LastEventTracker } from "./lastevent.js";
import { allMessages, applyAcknowledgement, applyMessage } from "./messages.js";
import { CLOSE_BAD_LAST_EVENT_ID, CLOSE_NOT_ALLOWED, CLOSE_NOT_LOGGED_IN, browserClock, responderSocket } from "./socket.js";
import { applyAlert, applyIncident, applyPosition, incidentOf, isActionable } from "./store.js";

const ACK_TIMEOUT_MS = 5000;

export class AlertSync {
  /**
   * storage: where the last event id is kept (localStorage). clock: timers and time, and
   * socketOptions (WebSocketImpl, location, ...) for the socket: the tests pass fakes.
   */
  constructor({
    store,
    api,
    kv,
    owner,
    onNewAlert,
    onAuthRequired,
    onForbidden,
    onSynced,
    onNewMessage = () => {},
    storage = globalThis.localStorage,
    clock = browserClock,
    socketOptions = {},
  }) {
    Object.assign(this, { store, api, kv, owner, onNewAlert, onAuthRequired, onForbidden, onSynced, onNewMessage, clock });
    this.tracker = new LastEventTracker(storage, owner);
    this.acked = new Set();
    this.answering = new Map(); // alert id -> {key, promise}: the answer on its way
    this.ackTimers = new Map();
    this.persistTimer = null;
    this.stopped = false;
    this.socket = responderSocket({
      query: () => this.tracker.connectQuery(),
      onFrame: (frame) => this.handleFrame(frame),
      onStatus: (status, retryAt) => store.update((s) => void (s.connection = { status, retryAt })),
      onClosedFor: (code) => this._closedFor(code),
      clock,
      ...socketOptions,
    });
  }

  async start() {
    await this.loadCache();
    this.socket.start();
    await this.reloadAlerts();
  }

  stop() {
    this.stopped = true;
    this.socket.stop();
    for (const timer of this.ackTimers.values()) this.clock.clearTimeout(timer);
    this.ackTimers.clear();
    this.clock.clearTimeout(this.persistTimer);
  }

  _closedFor(code) {
    if (code === CLOSE_NOT_LOGGED_IN) this.onAuthRequired();
    else if (code === CLOSE_NOT_ALLOWED) this.onForbidden();
    else if (code === CLOSE_BAD_LAST_EVENT_ID) this.tracker.reset();
  }

  handleFrame(frame) {
    switch (frame.type) {
      case "alert.created":
      case "alert.updated": {
        const alert = frame.data?.alert;
        // Alerted again (stood down when enough crews were going, then needed): show it and
        // acknowledge it again.
        if (frame.type === "alert.created" && alert) this.acked.delete(alert.id);
        this.store.update((s) => applyAlert(s, alert));
        this.tracker.observe(frame);
        this.persist();
        const current = alert && this.store.state.alerts.get(alert.id);
        if (frame.type === "alert.created" && isActionable(this.store.state, current)) this.onNewAlert(alert.id, true);
        break;
      }
      case "incident.updated":
        this.store.update((s) => applyIncident(s, frame.data?.incident, frame.data?.crew));
        this.tracker.observe(frame);
        this.persist();
        break;
      case "message.created": {
        // A message from control: kept and shown on the alert, the checklist and the banner on
        // every screen; never a screen of its own (CPR keeps the checklist). One not kept before
        // is announced (onNewMessage: a buzz).
        const message = frame.data?.message;
        const known = this.store.state.messages?.get(message?.incident_id)?.has(message?.id);
        const added = this.store.update((s) => applyMessage(s, message));
        this.tracker.observe(frame);
        this.persist();
        if (added && !known) this.onNewMessage(this.store.state.messages.get(message.incident_id)?.get(message.id));
        break;
      }
      case "message.acknowledged":
        this.store.update((s) => applyAcknowledgement(s, frame.data));
        this.tracker.observe(frame);
        this.persist();
        break;
      case "sync.ready": {
        const { reload } = this.tracker.syncReady(frame.data);
        if (reload) this.reloadAlerts();
        this.onSynced?.();
        break;
      }
      case "alert.ack.ok":
        this._acked(frame.data?.alert_id);
        break;
      case "position.updated":
      case "position.cleared":
        // Not stored by the server, never replayed: the crew panel's picture only.
        this.store.update((s) => void applyPosition(s, frame.type, frame.data));
        break;
      default:
        break; // pong, error and types this version does not know
    }
  }

  /** Active alerts over the REST API (the record), merged by version. */
  async reloadAlerts() {
    let alerts;
    try {
      alerts = await this.api.activeAlerts();
    } catch {
      return false; // offline or logged out: the store keeps what it had
    }
    const ids = new Set(alerts.map((alert) => alert.id));
    const vanished = [];
    this.store.update((s) => {
      for (const alert of alerts) applyAlert(s, alert);
      for (const alert of s.alerts.values()) {
        if (!ids.has(alert.id) && incidentOf(s, alert)?.status === "open") vanished.push(alert.id);
      }
    });
    // No longer in the active list: its incident was closed or cancelled; learn which.
    for (const id of vanished) this.ensureAlert(id).catch(() => {});
    for (const incidentId of new Set(alerts.map((alert) => alert.incident_id))) this.reloadMessages(incidentId);
    this.persist();
    for (const alert of alerts) {
      const current = this.store.state.alerts.get(alert.id);
      if (current?.state === "alerted" && isActionable(this.store.state, current)) this.onNewAlert(alert.id, false);
    }
    return true;
  }

  /** One alert with its crew over the REST API; throws ApiError (404 for not mine). */
  async ensureAlert(id) {
    const detail = await this.api.alert(id);
    this._applyDetail(detail);
    if (detail?.incident_id) this.reloadMessages(detail.incident_id);
    return this.store.state.alerts.get(detail.id);
  }

  _applyDetail(detail) {
    if (!detail) return;
    const { crew, ...alert } = detail;
    this.store.update((s) => {
      applyAlert(s, alert);
      if (alert.incident) applyIncident(s, alert.incident, crew);
    });
    this.persist();
  }

  /** An incident's messages from control over the REST API (the record), merged by id. Without
   *  signal the store keeps what it had (from the socket and this phone's cache). */
  async reloadMessages(incidentId) {
    let messages;
    try {
      messages = await this.api.messages(incidentId);
    } catch {
      return false;
    }
    // A message first heard of here (the reload after a reconnect, or a screen's, won the race
    // with the socket's frame) is news as much as one from the socket: it is announced once, by
    // whichever path brings it first (CI on 76ab229: shown, never buzzed).
    const news = [];
    this.store.update((s) => {
      for (const message of messages) {
        const known = s.messages?.get(message?.incident_id)?.has(message?.id);
        if (applyMessage(s, message) && !known) news.push(s.messages.get(message.incident_id).get(message.id));
      }
    });
    this.persist();
    for (const message of news) this.onNewMessage(message);
    return true;
  }

  /**
   * Answer an alert; the server's reply (alert with crew) goes straight into the store.
   * One POST per answer: the same answer asked for again while it is on its way (a double tap,
   * two screens) gets the request already in flight; a different answer to the same alert waits
   * for it, so the server sees them in the order they were given.
   */
  respond(id, response, options = {}) {
    const key = JSON.stringify([response, options?.reason || "", options?.note || ""]);
    const current = this.answering.get(id);
    if (current && current.key === key) return current.promise;
    const before = current ? current.promise.catch(() => {}) : null;
    const send = async () => {
      const detail = await this.api.respond(id, response, options);
      this._applyDetail(detail);
      return detail;
    };
    const promise = (before ? before.then(send) : send()).finally(() => {
      if (this.answering.get(id)?.promise === promise) this.answering.delete(id);
    });
    this.answering.set(id, { key, promise });
    return promise;
  }

  /** Is an answer to this alert on its way to the server? */
  isAnswering(id) {
    return this.answering.has(id);
  }

  /**
   * The alert is on screen: tell the server (alert.ack on the socket, or the "received"
   * response over REST when the socket is down or does not answer).
   */
  acknowledge(id) {
    const alert = this.store.state.alerts.get(id);
    if (!alert || alert.state !== "alerted" || this.acked.has(id) || this.ackTimers.has(id)) return;
    if (this.socket.send({ type: "alert.ack", alert_id: id })) {
      this.ackTimers.set(id, this.clock.setTimeout(() => this._ackOverRest(id), ACK_TIMEOUT_MS));
    } else {
      this.ackTimers.set(id, null);
      this._ackOverRest(id);
    }
  }

  _acked(id) {
    if (typeof id !== "number") return;
    this.acked.add(id);
    this.clock.clearTimeout(this.ackTimers.get(id));
    this.ackTimers.delete(id);
  }

  async _ackOverRest(id) {
    try {
      if (!this.acked.has(id)) {
        this._applyDetail(await this.api.respond(id, "received"));
        this.acked.add(id);
      }
    } catch {
      // offline: the alert screen tries again when it is shown again or the app is back online
    } finally {
      this.clock.clearTimeout(this.ackTimers.get(id));
      this.ackTimers.delete(id);
    }
  }

  /** Back in the foreground or online: reconnect if needed and re-read the active alerts. */
  foreground() {
    this.socket.poke();
    this.reloadAlerts();
  }

  // --- The alerts kept on this phone for use without signal (health data: cleared at logout) ---

  get cacheKey() {
    return `alerts:${this.owner}`;
  }

  async loadCache() {
    try {
      const record = await this.kv.get(this.cacheKey);
      if (!record) return;
      this.store.update((s) => {
        for (const alert of record.alerts || []) applyAlert(s, alert);
        for (const { incident, crew } of record.incidents || []) applyIncident(s, incident, crew);
        for (const message of record.messages || []) applyMessage(s, message);
      });
    } catch {
      // unreadable: the REST API fills the store
    }
  }

  persist() {
    this.clock.clearTimeout(this.persistTimer);
    if (this.stopped) return;
    this.persistTimer = this.clock.setTimeout(() => {
      const s = this.store.state;
      const incidents = [...s.incidents.values()].map(({ incident, crew }) => ({ incident, crew: [...crew.values()] }));
      const messages = allMessages(s);
      this.kv.put({ key: this.cacheKey, alerts: [...s.alerts.values()], incidents, messages, saved_at: new Date().toISOString() }).catch(() => {});
    }, 300);
  }
}
