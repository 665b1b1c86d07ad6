// CPR metronome on the Web Audio clock. The pure part (scheduleBeats) decides which beats to
// schedule; the Metronome class wakes with setTimeout only to call it, and the clicks are
// placed on AudioContext.currentTime, so a busy main thread or a slow timer does not make the
// rhythm wander ("A tale of two clocks", Chris Wilson).

export const BPM_MIN = 100;
export const BPM_MAX = 120;
export const BPM_DEFAULT = 110;

// A beat more than this late (the tab was frozen) is skipped, not played in a burst.
export const MAX_LATE_SECONDS = 0.05;

/** A rate inside the guideline range (RCUK: 100 to 120 a minute). */
export function clampBpm(bpm, min = BPM_MIN, max = BPM_MAX) {
  const lo = Math.max(BPM_MIN, Number.isFinite(min) ? min : BPM_MIN);
  const hi = Math.min(BPM_MAX, Number.isFinite(max) ? max : BPM_MAX);
  const value = Number(bpm);
  if (!Number.isFinite(value)) return Math.min(Math.max(BPM_DEFAULT, lo), hi);
  return Math.min(Math.max(Math.round(value), lo), hi);
}

/** Seconds between beats. */
export function beatInterval(bpm) {
  return 60 / clampBpm(bpm);
}

/**
 * Which beats to schedule now. Returns {times, nextNoteTime}: every beat time in
 * [currentTime - MAX_LATE_SECONDS, currentTime + lookahead), starting at nextNoteTime, and the
 * time of the first beat not yet scheduled. Beats missed by more than MAX_LATE_SECONDS are
 * skipped on the same grid (phase kept) rather than played late.
 */
export function scheduleBeats(currentTime, nextNoteTime, bpm, lookahead) {
  const interval = beatInterval(bpm);
  let next = Number.isFinite(nextNoteTime) ? nextNoteTime : currentTime;
  if (next < currentTime - MAX_LATE_SECONDS) {
    const missed = Math.ceil((currentTime - MAX_LATE_SECONDS - next) / interval);
    next += missed * interval;
  }
  const times = [];
  const horizon = currentTime + Math.max(0, lookahead);
  while (next < horizon) {
    times.push(next);
    next += interval;
  }
  return { times, nextNoteTime: next };
}

export class Metronome {
  /**
   * getContext: returns a running AudioContext (or null: then the metronome is visual only,
   * timed from performance.now()).
   * onBeat: called close to each beat for the visual beat (and vibration).
   */
  constructor({ getContext, onBeat = () => {}, lookahead = 0.1, wakeMs = 25 } = {}) {
    this.getContext = getContext;
    this.onBeat = onBeat;
    this.lookahead = lookahead;
    this.wakeMs = wakeMs;
    this.bpm = BPM_DEFAULT;
    this.muted = false;
    this.running = false;
    this.timer = null;
    this.frame = null;
    this.pending = []; // scheduled beat times not yet shown
    this.listeners = new Set();
  }

  onChange(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  _changed() {
    for (const listener of this.listeners) listener(this);
  }

  setBpm(bpm) {
    this.bpm = clampBpm(bpm);
    this._changed();
  }

  setMuted(muted) {
    this.muted = Boolean(muted);
    this._changed();
  }

  /** The running AudioContext, or null when beats are timed by performance.now() (no audio). */
  _clock() {
    const ctx = this.getContext?.();
    return ctx && ctx.state === "running" ? ctx : null;
  }

  _now() {
    const clock = this._clock();
    return clock ? clock.currentTime : performance.now() / 1000;
  }

  start() {
    if (this.running) return;
    this.running = true;
    this.clock = this._clock();
    this.nextNoteTime = this._now() + 0.05;
    this.pending = [];
    this._tick();
    this._draw();
    this._changed();
  }

  stop() {
    this.running = false;
    clearTimeout(this.timer);
    if (this.frame !== null) cancelAnimationFrame(this.frame);
    this.timer = null;
    this.frame = null;
    this.pending = [];
    this._changed();
  }

  _tick() {
    if (!this.running) return;
    const clock = this._clock();
    if (clock !== this.clock) {
      // Audio became available, or was taken away (a phone call): the two clocks have different
      // origins, so start again on the other one.
      this.clock = clock;
      this.nextNoteTime = this._now() + 0.05;
      this.pending = [];
    }
    const { times, nextNoteTime } = scheduleBeats(this._now(), this.nextNoteTime, this.bpm, this.lookahead);
    for (const time of times) {
      if (!this.muted) this._click(time);
      this.pending.push(time);
    }
    if (this.pending.length > 16) this.pending.splice(0, this.pending.length - 16);
    this.nextNoteTime = nextNoteTime;
    this.timer = setTimeout(() => this._tick(), this.wakeMs);
  }

  _click(time) {
    const ctx = this._clock();
    if (!ctx) return;
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.frequency.value = 1200;
    gain.gain.setValueAtTime(0.0001, time);
    gain.gain.exponentialRampToValueAtTime(0.9, time + 0.002);
    gain.gain.exponentialRampToValueAtTime(0.0001, time + 0.05);
    osc.connect(gain).connect(ctx.destination);
    osc.start(time);
    osc.stop(time + 0.06);
  }

  _draw() {
    if (!this.running) return;
    const now = this._now();
    let beat = false;
    while (this.pending.length && this.pending[0] <= now) {
      this.pending.shift();
      beat = true;
    }
    if (beat) this.onBeat();
    this.frame = requestAnimationFrame(() => this._draw());
  }
}

// A metronome running when the page went (a reload): audio needs a tap to start again, so what ran
// is kept (localStorage) for the app to say so and offer a restart (trial 11: silently off).

export const RUN_KEY = "coresponder.metronome";

/** `afterEnd`: running for a call already ended before the scene (store.endedOffScene): started
 *  again by the crew after the end, which stopped it; offered after a reload all the same. */
export function saveRun(storage, { owner, alertId, bpm, afterEnd = false }) {
  try {
    storage.setItem(RUN_KEY, JSON.stringify({ owner, alertId, bpm, ...(afterEnd ? { afterEnd: true } : {}) }));
  } catch {
    // refused: only the notice after a reload is lost
  }
}

export function clearRun(storage) {
  try {
    storage.removeItem(RUN_KEY);
  } catch {
    // nothing kept
  }
}

/** What ran for `owner` when the page went: {alertId, bpm} (and afterEnd: true, saveRun's), or null. */
export function interruptedRun(storage, owner) {
  let saved = null;
  try {
    saved = JSON.parse(storage.getItem(RUN_KEY) || "null");
  } catch {
    return null;
  }
  if (!saved || !owner || saved.owner !== owner || !Number.isSafeInteger(saved.alertId)) return null;
  return { alertId: saved.alertId, bpm: clampBpm(saved.bpm), ...(saved.afterEnd === true ? { afterEnd: true } : {}) };
}
