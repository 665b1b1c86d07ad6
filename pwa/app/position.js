// Sharing the phone's position, by consent and only while responding (docs/positions.md).
//
// After the firefighter accepts an alert, the phone's position goes to the control room and the
// crew going (POST /api/v1/alerts/{id}/positions/) until the alert is cleared, stood down, cancelled
// or declined, the incident ends, the server answers 409 (not responding), the firefighter taps
// Stop, or they log out. Never before accepting. A fix is sent at most every 10 s, sooner only when
// the phone has moved 50 m (and not within 2 s of the last, which the server would not keep).
//
// With the opt-in "Share my position while on call" (PATCH /api/v1/me/ share_position_on_call), an
// on-call phone with no job sends a fix now and then (PUT /api/v1/me/position/) so that dispatch
// measures from where the firefighter is; a 409 there (off call, opted out) stops it.
//
// `geolocation` is the app's one shared watch (pwa/app/geolocation.js) and `clock` the browser's by
// default; the tests pass fakes.

import { ApiError } from "./api.js";
import { appGeolocation } from "./geolocation.js";
import { COMMITTED, activeJob, incidentOf } from "./store.js";

export const RESPONDING = { everyMs: 10_000, movedMetres: 50, soonestMs: 2_000, retryMs: 5_000 };
export const ON_CALL = { everyMs: 60_000, movedMetres: 200, soonestMs: 10_000, retryMs: 30_000 };
// `send` answers this when a fix could not be delivered for a reason that may pass (no network, a
// server error, a rate limit): the same fix is tried again after `retryMs` unless a newer one came.
// A phone standing still gets no new fix from watchPosition, so without this one failed first send
// left the control room without the position (found in CI under load).
export const TRY_AGAIN = "try-again";

const browserClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (id) => clearTimeout(id),
};

/** Metres between two {latitude, longitude} (haversine: plenty at town scale). */
export function distanceMetres(a, b) {
  const rad = (degrees) => (degrees * Math.PI) / 180;
  const dLat = rad(b.latitude - a.latitude);
  const dLon = rad(b.longitude - a.longitude);
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(rad(a.latitude)) * Math.cos(rad(b.latitude)) * Math.sin(dLon / 2) ** 2;
  return 2 * 6371008.8 * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** How long to wait before sending `next`, given the last fix sent (null: none) at `lastSentAt`:
 *  0 = now. At most every `everyMs`, unless moved `movedMetres`, but never within `soonestMs`. */
export function waitBeforeSending(last, lastSentAt, next, now, rules = RESPONDING) {
  if (!last) return 0;
  const elapsed = now - lastSentAt;
  const moved = distanceMetres(last, next) >= rules.movedMetres;
  return Math.max(0, (moved ? rules.soonestMs : rules.everyMs) - elapsed);
}

/** The alert whose position is shared now, or null: the firefighter's job (accepted, en route, on
 *  scene) on an open incident, unless sharing for it was stopped (Stop, or the server's 409). */
export function alertToShare(state, stopped = new Set()) {
  const job = activeJob(state);
  if (!job || !COMMITTED.has(job.state) || stopped.has(job.id)) return null;
  return incidentOf(state, job)?.status === "open" ? job : null;
}

/** One watchPosition, throttled, posting each fix with `send(fix)`. */
class ThrottledWatch {
  constructor({ geolocation, clock, rules, send, onError }) {
    Object.assign(this, { geolocation, clock, rules, send, onError });
    this.watchId = null;
    this.last = null;
    this.lastSentAt = 0;
    this.pending = null;
    this.timer = null;
    this.sending = false;
  }

  start() {
    if (this.watchId !== null || !this.geolocation) return;
    this.watchId = this.geolocation.watchPosition(
      (position) => this.fix(position),
      (error) => this.onError?.(error),
    ); // the options are the shared watch's (geolocation.js WATCH_OPTIONS)
  }

  stop() {
    if (this.watchId !== null) this.geolocation.clearWatch(this.watchId);
    this.watchId = null;
    this.clock.clearTimeout(this.timer);
    this.timer = null;
    this.pending = null;
  }

  get running() {
    return this.watchId !== null;
  }

  fix(position) {
    if (!this.running) return;
    const coords = position?.coords;
    if (!coords) return;
    this.pending = {
      latitude: coords.latitude,
      longitude: coords.longitude,
      accuracy_m: Number.isFinite(coords.accuracy) ? Math.min(coords.accuracy, 5000) : null,
      recorded_at: new Date(position.timestamp || this.clock.now()).toISOString(),
    };
    this.schedule();
  }

  schedule() {
    if (!this.pending || this.sending) return;
    this.clock.clearTimeout(this.timer);
    const wait = waitBeforeSending(this.last, this.lastSentAt, this.pending, this.clock.now(), this.rules);
    if (wait === 0) this.flush();
    else this.timer = this.clock.setTimeout(() => this.flush(), wait);
  }

  async flush() {
    this.timer = null;
    const fix = this.pending;
    if (!fix || !this.running) return;
    this.pending = null;
    this.sending = true;
    this.last = fix;
    this.lastSentAt = this.clock.now();
    let outcome;
    try {
      outcome = await this.send(fix);
    } finally {
      this.sending = false;
    }
    if (!this.running) return;
    if (outcome === TRY_AGAIN && !this.pending) {
      this.pending = fix;
      this.timer = this.clock.setTimeout(() => this.flush(), this.rules.retryMs);
      return;
    }
    this.schedule(); // a fix that came while sending
  }
}

export class PositionSharing {
  /** api: pwa/app/api.js's Api (or a fake with sharePosition / shareOnCallPosition). onChange:
   *  called when what the alert screen shows changes (status()). */
  constructor({ api, geolocation = appGeolocation(), clock = browserClock, onChange = () => {} }) {
    Object.assign(this, { api, geolocation, clock, onChange });
    this.stopped = new Set(); // alert ids the firefighter (or the server) stopped sharing for
    this.alertId = null;
    this.estimate = null;
    this.error = null;
    this.responding = null; // the ThrottledWatch while responding
    this.onCall = null; // the ThrottledWatch while on call with the opt-in
  }

  /** Call with the store's state whenever it changes: starts, moves or stops the sharing. */
  follow(state) {
    const alert = alertToShare(state, this.stopped);
    if (alert) {
      this._stopOnCall();
      if (this.alertId !== alert.id) this._startResponding(alert.id);
      return;
    }
    if (this.alertId !== null) this._stopResponding();
    const responder = state.me?.responder;
    const wantOnCall = Boolean(responder?.on_call && responder?.share_position_on_call) && !activeJob(state);
    if (wantOnCall && !this.onCall) this._startOnCall();
    else if (!wantOnCall && this.onCall) this._stopOnCall();
  }

  /** What the alert screen shows for `alertId`: {sharing, stopped, estimate, error}. */
  status(alertId) {
    return {
      sharing: this.alertId === alertId,
      stopped: this.stopped.has(alertId),
      estimate: this.alertId === alertId ? this.estimate : null,
      error: this.alertId === alertId ? this.error : null,
    };
  }

  /** The Stop button: no more positions for this alert. */
  stopFor(alertId) {
    this.stopped.add(alertId);
    if (this.alertId === alertId) this._stopResponding();
    this.onChange();
  }

  /** "Share again" after Stop. */
  resumeFor(alertId, state) {
    this.stopped.delete(alertId);
    this.follow(state);
    this.onChange();
  }

  /** Logout: everything stops and is forgotten. */
  stopAll() {
    this._stopResponding();
    this._stopOnCall();
    this.stopped.clear();
  }

  _startResponding(alertId) {
    this._stopResponding();
    this.alertId = alertId;
    this.estimate = null;
    this.error = null;
    this.responding = new ThrottledWatch({
      geolocation: this.geolocation,
      clock: this.clock,
      rules: RESPONDING,
      send: (fix) => this._sendResponding(alertId, fix),
      onError: (error) => this._geolocationError(error),
    });
    if (!this.geolocation) this.error = "This phone cannot share its position.";
    this.responding.start();
    this.onChange();
  }

  _stopResponding() {
    this.responding?.stop();
    this.responding = null;
    const was = this.alertId;
    this.alertId = null;
    this.estimate = null;
    if (was !== null) this.onChange();
  }

  async _sendResponding(alertId, fix) {
    try {
      const answer = await this.api.sharePosition(alertId, fix);
      if (this.alertId !== alertId) return;
      this.estimate = answer?.estimate ?? this.estimate;
      this.error = null;
    } catch (error) {
      if (this.alertId !== alertId) return;
      if (error instanceof ApiError && error.status === 409) {
        // The server says the job is over (or never was): stop, and do not start again for it.
        this.stopped.add(alertId);
        this._stopResponding();
        return;
      }
      this.error = error instanceof ApiError && error.offline ? "Position not sent: no connection." : `Position not sent: ${error.message}`;
      this.onChange();
      return TRY_AGAIN;
    }
    this.onChange();
  }

  _geolocationError(error) {
    this.error = error?.code === 1 ? "Position not shared: this phone does not allow the app to use it." : "Position not found yet.";
    this.onChange();
  }

  _startOnCall() {
    this.onCall = new ThrottledWatch({
      geolocation: this.geolocation,
      clock: this.clock,
      rules: ON_CALL,
      send: (fix) => this._sendOnCall(fix),
    });
    this.onCall.start();
  }

  _stopOnCall() {
    this.onCall?.stop();
    this.onCall = null;
  }

  async _sendOnCall(fix) {
    try {
      await this.api.shareOnCallPosition(fix);
    } catch (error) {
      if (error instanceof ApiError && error.status === 409) this._stopOnCall();
      else return TRY_AGAIN;
    }
  }
}
