// The alert alarm: a repeating two-tone siren on the Web Audio clock, with vibration where the
// phone allows, until the alert is answered, silenced, stood down or cancelled.

import { audioContext, audioUnlocked, tone, vibrate } from "./audio.js";

const PATTERN_SECONDS = 1.6; // three hi-lo pairs, then a short gap
const LOOKAHEAD_SECONDS = 1.0;
const WAKE_MS = 250;
const VIBRATION = [500, 200, 500, 200, 500];

export class Alarm {
  constructor() {
    this.playing = false;
    this.wanted = false;
    this.timer = null;
    this.nextPatternTime = 0;
    this.oscillators = [];
    this.lastVibration = 0;
    this.listeners = new Set();
  }

  onChange(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  notify() {
    for (const listener of this.listeners) listener(this);
  }

  /**
   * Whether an alert is waiting for an answer. The alarm starts when one begins waiting (if
   * audio is unlocked); after that only a tap on "Tap to sound alarm" starts it again, so that a
   * tap on Accept never sets it off for a moment on its way to stopping it.
   */
  setWanted(wanted) {
    const was = this.wanted;
    this.wanted = Boolean(wanted);
    if (this.wanted && !was) this.start();
    else if (!this.wanted && (was || this.playing)) this.stop();
  }

  /** Start if audio is unlocked; returns whether it is playing. */
  start() {
    if (this.playing) return true;
    if (!audioUnlocked()) {
      this._vibrate();
      this.notify();
      return false;
    }
    this.playing = true;
    this.nextPatternTime = audioContext().currentTime + 0.05;
    this._tick();
    this.notify();
    return true;
  }

  stop() {
    this.playing = false;
    clearTimeout(this.timer);
    this.timer = null;
    for (const osc of this.oscillators) {
      try {
        osc.stop();
      } catch {
        // already stopped
      }
    }
    this.oscillators = [];
    vibrate(0);
    this.notify();
  }

  _vibrate() {
    const now = Date.now();
    if (now - this.lastVibration < PATTERN_SECONDS * 1000 * 2) return;
    this.lastVibration = now;
    vibrate(VIBRATION);
  }

  _tick() {
    if (!this.playing) return;
    const ctx = audioContext();
    if (!ctx || ctx.state !== "running") {
      // The OS took audio away (a phone call): ask for a tap again.
      this.playing = false;
      this.notify();
      return;
    }
    if (this.nextPatternTime < ctx.currentTime) this.nextPatternTime = ctx.currentTime + 0.05;
    while (this.nextPatternTime < ctx.currentTime + LOOKAHEAD_SECONDS) {
      const start = this.nextPatternTime;
      for (let i = 0; i < 3; i += 1) {
        this.oscillators.push(tone(ctx, start + i * 0.4, { frequency: 960, duration: 0.2 }));
        this.oscillators.push(tone(ctx, start + i * 0.4 + 0.2, { frequency: 720, duration: 0.2 }));
      }
      this.nextPatternTime = start + PATTERN_SECONDS;
    }
    if (this.oscillators.length > 48) this.oscillators.splice(0, this.oscillators.length - 24);
    this._vibrate();
    this.timer = setTimeout(() => this._tick(), WAKE_MS);
  }
}
