// Sharing the phone's position, by consent and only while responding (docs/positions.md).
//
// After the firefighter accepts an alert, the phone's position goes to the control room and the
// crew going (POST /api/v1/alerts/{id}/positions/) until the alert is cleared, stood down, cancelled
// or declined, the incident ends, the server answers 409 (not responding), the firefighter taps
// Stop, or they log out (none from the moment the logout's request goes: hold()). Never before accepting. A fix is sent at most every 10 s, sooner only when
// the phone has moved 50 m (and not within 2 s of the last, which the server would not keep).
// When the sharing starts it asks for a fix now (getCurrentPosition): a phone standing still gets
// nothing from a watch, and the screen says "Waiting for a position…" until one has been sent.
//
// With the opt-in "Share my position while on call" (PATCH /api/v1/me/ share_position_on_call), an
// on-call phone with no job sends a fix now and then (PUT /api/v1/me/position/) so that dispatch
// measures from where the firefighter is; a 409 there (off call, opted out) stops it.
//
// `geolocation` is the app's one shared watch (pwa/app/geolocation.js) and `clock` the browser's by
// default; the tests pass fakes.

import { ApiError } from "./api.js";
import { FRESH_FIX_OPTIONS, appGeolocation } from "./geolocation.js";
import { COMMITTED, activeJob, incidentOf } from "./store.js";

export const RESPONDING = { everyMs: 10_000, movedMetres: 50, soonestMs: 2_000, retryMs: 5_000 };
export const ON_CALL = { everyMs: 60_000, movedMetres: 200, soonestMs: 10_000, retryMs: 30_000 };
// `send` answers this when a fix could not be delivered for a reason that may pass (no network, a
// server error, a rate limit): the same fix is tried again after `retryMs` unless a newer one came.
// A phone standing still gets no new fix from watchPosition, so without this one failed first send
// left the control room without the position (found in CI under load).
export const TRY_AGAIN = "try-again";
// `send` answers this when the server refused the fix itself (400: too old, in the future, ...):
// sending it again would be refused again (found by a tester: one fix posted 24 times, each
// refused as older than 120 s). It is dropped; if it was old (older than a fresh fix may be), a
// fresh one is asked for; otherwise the next fix the watch gives is sent.
export const REFUSED = "refused";
// hold() waits at most this long for a send already going to be answered.
export const HOLD_WAIT_MS = 5_000;
// The server refuses a fix older than its POSITION_MAX_AGE_SECONDS (backend/settings.py, checked
// by backend/accounts/positions.py check_fix), and states it in GET /api/v1/me/
// (`responder.position_max_age_seconds`): the phone goes by that once it has it, by this default
// until then. A fix older than that, less SEND_MARGIN_MS for its way to the server, is dropped on
// the phone, never sent, and a fresh one is asked for (found by a browser trial: a fix kept through
// minutes without signal was sent when the signal came back, and refused with a 400).
export const SERVER_MAX_AGE_SECONDS = 120;
export const SEND_MARGIN_MS = 5_000;

/** Is this fix (as sent: {recorded_at}) too old for the server to take, at `now`? */
export function isTooOldToSend(fix, now, maxAgeSeconds = SERVER_MAX_AGE_SECONDS) {
  const at = Date.parse(fix?.recorded_at);
  return Number.isFinite(at) && now - at > maxAgeSeconds * 1000 - SEND_MARGIN_MS;
}

/** The server's limit as GET /me/ states it (`state.me`), else SERVER_MAX_AGE_SECONDS. */
export function serverMaxAgeSeconds(state) {
  const stated = Number(state?.me?.responder?.position_max_age_seconds);
  return Number.isFinite(stated) && stated > 0 ? stated : SERVER_MAX_AGE_SECONDS;
}

/** Was this fix (as sent: {recorded_at}) older than a fresh fix may be, at `now`? */
export function isOldFix(fix, now) {
  const at = Date.parse(fix?.recorded_at);
  return Number.isFinite(at) && now - at > FRESH_FIX_OPTIONS.maximumAge;
}

/** The server's own words for a refused fix: its field messages, else its message. */
export function refusalText(error) {
  const words = Object.values(error?.fields || {})
    .flat()
    .filter((message) => typeof message === "string" && message);
  return words.length ? words.join(" ") : error?.message || "The position was refused.";
}

function sameFix(a, b) {
  return Boolean(a && b) && a.recorded_at === b.recorded_at && a.latitude === b.latitude && a.longitude === b.longitude;
}

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
  /** held(): true while nothing may be sent (PositionSharing.hold): fixes are kept, not sent.
   *  maxAgeSeconds(): the server's limit on a fix's age (serverMaxAgeSeconds). */
  constructor({ geolocation, clock, rules, send, onError, held = () => false, maxAgeSeconds = () => SERVER_MAX_AGE_SECONDS }) {
    Object.assign(this, { geolocation, clock, rules, send, onError, held, maxAgeSeconds });
    this.watchId = null;
    this.last = null; // the last fix sent (or being sent) and not refused
    this.lastSentAt = 0;
    this.pending = null;
    this.timer = null;
    this.sending = false;
    this.inFlight = null; // the send under way (its promise), if any
    this.refused = null; // the last fix the server refused: never sent again
    this.fixes = 0; // fixes received, so that a failed ask after one came says nothing
  }

  start() {
    if (this.watchId !== null || !this.geolocation) return;
    this.watchId = this.geolocation.watchPosition(
      (position) => this.fix(position),
      (error) => this.onError?.(error),
    ); // the options are the shared watch's (geolocation.js WATCH_OPTIONS)
    this.askForFix(); // a phone standing still gets nothing from the watch
  }

  /** A fix now, not older than FRESH_FIX_OPTIONS.maximumAge: it comes to fix() as the watch's do. */
  askForFix() {
    if (!this.running || typeof this.geolocation.getCurrentPosition !== "function") return;
    const fixesBefore = this.fixes;
    const watchId = this.watchId;
    this.geolocation.getCurrentPosition(
      (position) => this.watchId === watchId && this.fix(position, { asked: true }),
      (error) => this.watchId === watchId && this.fixes === fixesBefore && this.onError?.(error),
      FRESH_FIX_OPTIONS,
    );
  }

  stop() {
    if (this.watchId !== null) this.geolocation.clearWatch(this.watchId);
    this.watchId = null;
    this.clock.clearTimeout(this.timer);
    this.timer = null;
    this.pending = null;
  }

  tooOld(fix) {
    return isTooOldToSend(fix, this.clock.now(), this.maxAgeSeconds());
  }

  get running() {
    return this.watchId !== null;
  }

  /** A fix from the watch, or one asked for (`asked`: askForFix's). */
  fix(position, { asked = false } = {}) {
    if (!this.running) return;
    const coords = position?.coords;
    if (!coords) return;
    this.fixes += 1;
    const fix = {
      latitude: coords.latitude,
      longitude: coords.longitude,
      accuracy_m: Number.isFinite(coords.accuracy) ? Math.min(coords.accuracy, 5000) : null,
      recorded_at: new Date(position.timestamp || this.clock.now()).toISOString(),
    };
    // The same fix twice (the watch's and the one asked for), or one already refused: nothing new.
    if (sameFix(fix, this.pending) || sameFix(fix, this.last) || sameFix(fix, this.refused)) return;
    if (this.tooOld(fix)) {
      // The server would refuse it: dropped here. A fresh one is asked for, unless this was the
      // answer to asking (then the watch's next fix is waited for, not asked for again and again).
      this.refused = fix;
      if (!asked && !this.pending) this.askForFix();
      return;
    }
    this.pending = fix;
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
    if (!fix || !this.running || this.held()) return; // held: kept, sent once released (schedule)
    this.pending = null;
    if (this.tooOld(fix)) {
      // Grown too old while kept (no signal, held, throttled): dropped, and a fresh one asked for.
      this.refused = fix;
      this.askForFix();
      return;
    }
    this.sending = true;
    const before = { last: this.last, lastSentAt: this.lastSentAt };
    this.last = fix;
    this.lastSentAt = this.clock.now();
    let outcome;
    try {
      this.inFlight = this.send(fix);
      outcome = await this.inFlight;
    } finally {
      this.sending = false;
      this.inFlight = null;
    }
    if (!this.running) return;
    if (outcome === REFUSED) {
      // Final for this fix: not kept, so the throttle counts from the last one that was.
      this.refused = fix;
      Object.assign(this, before);
      if (isOldFix(fix, this.clock.now()) && !this.pending) this.askForFix();
      this.schedule();
      return;
    }
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
    this.sent = false; // has the server taken a fix for this alert yet? Until then: "Waiting for a position…"
    this.blocked = false; // none will come: the phone has no geolocation or does not allow the app to use it
    this.responding = null; // the ThrottledWatch while responding
    this.onCall = null; // the ThrottledWatch while on call with the opt-in
    this.held = false; // hold(): nothing is sent, nothing starts, until release()
    this.maxAgeSeconds = SERVER_MAX_AGE_SECONDS; // the server's limit on a fix's age, once GET /me/ says
  }

  /** Call with the store's state whenever it changes: starts, moves or stops the sharing (while
   *  held, only stops it). */
  follow(state) {
    this.maxAgeSeconds = serverMaxAgeSeconds(state);
    const alert = alertToShare(state, this.stopped);
    if (alert) {
      this._stopOnCall();
      if (this.alertId !== alert.id) {
        this._stopResponding();
        if (!this.held) this._startResponding(alert.id);
      }
      return;
    }
    if (this.alertId !== null) this._stopResponding();
    const responder = state.me?.responder;
    const wantOnCall = Boolean(responder?.on_call && responder?.share_position_on_call) && !activeJob(state);
    if (wantOnCall && !this.onCall && !this.held) this._startOnCall();
    else if (!wantOnCall && this.onCall) this._stopOnCall();
  }

  /** Logout, before its request goes: from now no position is sent, and no sharing starts, until
   *  release(). Fixes that come meanwhile are kept, not sent. Resolves once a send already under
   *  way has been answered (at most HOLD_WAIT_MS), so that none reaches the server after the logout.
   *  Found by a browser trial (twice): a position POSTed after the logout, answered 401; stopAll()
   *  as the logout tidied up told the screens, whose follow() with the job still on them, signed
   *  in, started the sharing again. Held, it stays stopped until the next sign-in. */
  hold() {
    this.held = true;
    const going = [this.responding, this.onCall].map((watch) => watch?.inFlight).filter(Boolean);
    if (!going.length) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = this.clock.setTimeout(resolve, HOLD_WAIT_MS);
      Promise.allSettled(going).then(() => {
        this.clock.clearTimeout(timer);
        resolve();
      });
    });
  }

  /** The logout failed (no signal, or not 2xx), or someone signs in: everything carries on as
   *  before; with `state`, what should be shared starts (follow). A fix kept while held goes now
   *  (or when the throttle allows). */
  release(state = null) {
    if (!this.held) return;
    this.held = false;
    if (state) this.follow(state);
    this.responding?.schedule();
    this.onCall?.schedule();
  }

  /** What the alert screen shows for `alertId`: {sharing, sent, blocked, stopped, estimate, error};
   *  `sent`: the server has taken a fix since the sharing began (until then nothing is shared yet);
   *  `blocked`: no fix will come (no geolocation, or not allowed). */
  status(alertId) {
    return {
      sharing: this.alertId === alertId,
      sent: this.alertId === alertId && this.sent,
      blocked: this.alertId === alertId && this.blocked,
      stopped: this.stopped.has(alertId),
      estimate: this.alertId === alertId ? this.estimate : null,
      error: this.alertId === alertId ? this.error : null,
    };
  }

  /** The Stop button: no more positions for this alert, and the server is told (tellStopped). */
  stopFor(alertId) {
    this.stopped.add(alertId);
    if (this.alertId === alertId) this._stopResponding();
    this._tellStopped(alertId);
    this.onChange();
  }

  /** DELETE /api/v1/alerts/{id}/positions/: the boards drop the position, its estimate and "Likely
   *  first" (found by a browser trial: the phone said "Not sharing your position." while the wall
   *  still read "Likely first: Sam Barker (1 min)" minutes later). Tried again after
   *  RESPONDING.retryMs while it could not be delivered (no network, a server error), as long as
   *  sharing for it stays stopped; a refusal (the alert is not theirs any more) is final. */
  async _tellStopped(alertId) {
    try {
      await this.api.stopSharingPosition(alertId);
    } catch (error) {
      const final = error instanceof ApiError && !error.offline && error.status >= 400 && error.status < 500 && error.status !== 429;
      if (final) return;
      this.clock.setTimeout(() => {
        if (this.stopped.has(alertId) && !this.held) this._tellStopped(alertId);
      }, RESPONDING.retryMs);
    }
  }

  /** "Share again" after Stop. */
  resumeFor(alertId, state) {
    this.stopped.delete(alertId);
    this.follow(state);
    this.onChange();
  }

  /** Logout (once the server has ended the session; hold() first): everything stops and is
   *  forgotten. Still held: nothing starts again until release(). */
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
    this.sent = false;
    this.blocked = !this.geolocation;
    this.responding = new ThrottledWatch({
      geolocation: this.geolocation,
      clock: this.clock,
      rules: RESPONDING,
      send: (fix) => this._sendResponding(alertId, fix),
      onError: (error) => this._geolocationError(error),
      held: () => this.held,
      maxAgeSeconds: () => this.maxAgeSeconds,
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
    this.sent = false;
    if (was !== null) this.onChange();
  }

  async _sendResponding(alertId, fix) {
    try {
      const answer = await this.api.sharePosition(alertId, fix);
      if (this.alertId !== alertId) return;
      this.estimate = answer?.estimate ?? this.estimate;
      this.error = null;
      this.sent = true;
      this.blocked = false;
    } catch (error) {
      if (this.alertId !== alertId) return;
      if (error instanceof ApiError && error.status === 409) {
        // The server says the job is over (or never was): stop, and do not start again for it.
        this.stopped.add(alertId);
        this._stopResponding();
        return;
      }
      if (error instanceof ApiError && error.status === 400) {
        // The server refused this fix (too old, ...): final for it; the watch asks for a fresh one.
        const waiting = isOldFix(fix, this.clock.now()) ? " Waiting for a fresh one…" : "";
        this.error = `Position not sent: ${refusalText(error)}${waiting}`;
        this.onChange();
        return REFUSED;
      }
      this.error = error instanceof ApiError && error.offline ? "Position not sent: no connection." : `Position not sent: ${error.message}`;
      this.onChange();
      return TRY_AGAIN;
    }
    this.onChange();
  }

  _geolocationError(error) {
    this.blocked = error?.code === 1;
    this.error = error?.code === 1 ? "Position not shared: this phone does not allow the app to use it." : "Position not found yet.";
    this.onChange();
  }

  _startOnCall() {
    this.onCall = new ThrottledWatch({
      geolocation: this.geolocation,
      clock: this.clock,
      rules: ON_CALL,
      send: (fix) => this._sendOnCall(fix),
      held: () => this.held,
      maxAgeSeconds: () => this.maxAgeSeconds,
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
      else if (error instanceof ApiError && error.status === 400) return REFUSED;
      else return TRY_AGAIN;
    }
  }
}
