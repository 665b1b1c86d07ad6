// One watch on the phone's position for the whole app, shared by whoever needs it (the alert map's
// "you are here" and the position sharing while responding: pwa/app/position.js).
//
// Why not a watchPosition each: the browser reports a watch's first fix only when the device has a
// new one, or a cached one younger than that watch's maximumAge. A phone standing still has no new
// one, so a second watch started more than a few seconds after the first may wait for ever: the
// firefighter's screen said "Sharing your position with the control room" while nothing was sent
// (found in CI under load, where accepting came more than 5 s after the alert map's watch began).
// One watch also asks the GPS once, not twice. A watcher that joins gets the last fix at once when
// it is younger than LAST_FIX_KEPT_MS; the fix keeps its own timestamp, so the server knows its age.
//
// Same interface as navigator.geolocation's watchPosition/clearWatch/getCurrentPosition; options of
// the watchers are not merged: the one watch asks for what the most demanding user needs
// (WATCH_OPTIONS).
//
// A watcher that needs a fix now (the sharing, when it starts or when the server refused a fix as
// too old) asks getCurrentPosition: the last fix if its own time is recent enough, else the
// browser's, which asks the phone for a new one. Found by a tester: the map's watch had its fix
// from when the alert was opened; accepted minutes later, standing still, the sharing got nothing
// for 8 minutes while the screen said "Sharing your position with the control room".

export const WATCH_OPTIONS = { enableHighAccuracy: true, maximumAge: 5000, timeout: 30000 };
// A watch reports changes only: a fix this recent is where the phone still is. Older ones are not
// handed to a new watcher (the server refuses fixes older than POSITION_MAX_AGE_SECONDS, 120 s).
export const LAST_FIX_KEPT_MS = 60_000;
// What getCurrentPosition asks for by default: a fix at most 30 s old, well inside the server's
// 120 s, so that it is still fresh after a retry or two.
export const FRESH_FIX_OPTIONS = { enableHighAccuracy: true, maximumAge: 30_000, timeout: 30_000 };

/** When a fix was taken: its own timestamp, or `cameAt` (when it came) if it has none. */
function timeOf(fix, cameAt) {
  return Number.isFinite(fix?.timestamp) ? fix.timestamp : cameAt;
}

const browserClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (id) => clearTimeout(id),
};

export class SharedGeolocation {
  /** `geolocation`: the browser's (navigator.geolocation) or a fake; null when the phone has none. */
  constructor(geolocation, clock = browserClock) {
    this.geolocation = geolocation;
    this.clock = clock;
    this.watchers = new Map(); // our id -> {success, error, handOver: the timer handing over the last fix}
    this.nextId = 1;
    this.watchId = null; // the one browser watch, while anyone watches
    this.lastFix = null;
    this.lastFixAt = 0;
  }

  watchPosition(success, error) {
    const id = this.nextId++;
    const watcher = { success, error, handOver: null };
    this.watchers.set(id, watcher);
    if (this.watchId === null) {
      this.watchId = this.geolocation.watchPosition(
        (fix) => this._fix(fix),
        (failure) => this._error(failure),
        WATCH_OPTIONS,
      );
    } else if (this.lastFix && this.clock.now() - this.lastFixAt <= LAST_FIX_KEPT_MS) {
      // Later, as the browser would: the caller has not stored the id this returns yet.
      const fix = this.lastFix;
      watcher.handOver = this.clock.setTimeout(() => {
        watcher.handOver = null;
        if (this.watchers.get(id) === watcher) success(fix);
      }, 0);
    }
    return id;
  }

  clearWatch(id) {
    const watcher = this.watchers.get(id);
    if (!watcher) return;
    this.clock.clearTimeout(watcher.handOver);
    this.watchers.delete(id);
    if (this.watchers.size > 0 || this.watchId === null) return;
    this.geolocation.clearWatch(this.watchId);
    this.watchId = null;
    this.lastFix = null; // nobody needs it: positions are kept only while in use
  }

  /** One fix now, at most `options.maximumAge` old by its own time: the last one the watch had
   *  when young enough (handed over later, as the browser would), else the browser's. */
  getCurrentPosition(success, error, options = FRESH_FIX_OPTIONS) {
    const maximumAge = options?.maximumAge ?? 0;
    const last = this.lastFix;
    if (last && this.watchId !== null && this.clock.now() - timeOf(last, this.lastFixAt) <= maximumAge) {
      this.clock.setTimeout(() => success(last), 0);
      return;
    }
    this.geolocation.getCurrentPosition(
      (fix) => {
        // Kept for a watcher joining later, only while someone watches (positions kept only in use).
        if (this.watchId !== null && (!this.lastFix || timeOf(fix, this.clock.now()) >= timeOf(this.lastFix, this.lastFixAt))) {
          this.lastFix = fix;
          this.lastFixAt = this.clock.now();
        }
        success(fix);
      },
      (failure) => error?.(failure),
      options,
    );
  }

  _fix(fix) {
    this.lastFix = fix;
    this.lastFixAt = this.clock.now();
    for (const watcher of [...this.watchers.values()]) {
      this.clock.clearTimeout(watcher.handOver); // a newer fix than the one being handed over
      watcher.handOver = null;
      watcher.success(fix);
    }
  }

  _error(failure) {
    for (const watcher of [...this.watchers.values()]) watcher.error?.(failure);
  }
}

let shared = null;

/** The app's one shared watch on navigator.geolocation, or null on a phone without geolocation. */
export function appGeolocation() {
  const geolocation = globalThis.navigator?.geolocation;
  if (!geolocation) return null;
  shared ??= new SharedGeolocation(geolocation);
  return shared;
}
