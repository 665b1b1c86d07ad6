// One AudioContext for the alarm and the metronome. Browsers start audio only after a user
// gesture, so the context is created and resumed inside the first tap or key press, and the
// app asks for a tap ("Tap to sound alarm") while it is still locked.

let context = null;
// How long a tap waits for the audio to start before going on without it (the alarm then vibrates).
export const UNLOCK_WAIT_MS = 1000;
const listeners = new Set();

function notify() {
  for (const listener of listeners) listener(audioUnlocked());
}

export function onAudioChange(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** The context if it exists (never creates one outside a gesture). */
export function audioContext() {
  return context;
}

export function audioUnlocked() {
  return Boolean(context && context.state === "running");
}

/** Call from a user gesture: creates or resumes the context. Resolves to true if it runs. */
export async function unlockAudio() {
  const AudioContextClass = globalThis.AudioContext || globalThis.webkitAudioContext;
  if (!AudioContextClass) return false;
  if (!context) {
    try {
      context = new AudioContextClass({ latencyHint: "interactive" });
    } catch {
      return false;
    }
    context.addEventListener?.("statechange", notify);
  }
  if (context.state !== "running") {
    // iOS unlocks only if a sound starts inside the gesture: play one silent sample.
    try {
      const buffer = context.createBuffer(1, 1, 22050);
      const source = context.createBufferSource();
      source.buffer = buffer;
      source.connect(context.destination);
      source.start(0);
    } catch {
      // not needed elsewhere
    }
    try {
      // Waited for a while only: a tap must never seem to do nothing. Found by CI: the audio took
      // over 10 s to start. It still starts later (statechange tells the listeners).
      await Promise.race([context.resume(), new Promise((resolve) => setTimeout(resolve, UNLOCK_WAIT_MS))]);
    } catch {
      // still locked
    }
  }
  notify();
  return audioUnlocked();
}

/** Unlock on the first gesture anywhere in the page (and again if the OS suspended audio). */
export function installUnlockListeners() {
  const handler = () => {
    if (!audioUnlocked()) unlockAudio();
  };
  for (const type of ["pointerdown", "keydown", "touchend"]) {
    document.addEventListener(type, handler, { capture: true, passive: true });
  }
}

/** A short tone at `when` on the audio clock. */
export function tone(ctx, when, { frequency = 880, duration = 0.2, type = "square", volume = 0.5 } = {}) {
  const osc = ctx.createOscillator();
  const gain = ctx.createGain();
  osc.type = type;
  osc.frequency.setValueAtTime(frequency, when);
  gain.gain.setValueAtTime(0.0001, when);
  gain.gain.exponentialRampToValueAtTime(volume, when + 0.01);
  gain.gain.setValueAtTime(volume, when + duration - 0.02);
  gain.gain.exponentialRampToValueAtTime(0.0001, when + duration);
  osc.connect(gain).connect(ctx.destination);
  osc.start(when);
  osc.stop(when + duration + 0.01);
  return osc;
}

export function vibrate(pattern) {
  // Browsers refuse (and log) vibration before the first tap on the page.
  if (navigator.userActivation && !navigator.userActivation.hasBeenActive) return false;
  try {
    return Boolean(navigator.vibrate?.(pattern));
  } catch {
    return false;
  }
}

/** A new message from control: one short two-note chime (if audio is unlocked) and a buzz, once;
 *  unlike the alarm it never repeats. */
export function messageChime() {
  const ctx = audioContext();
  if (ctx && ctx.state === "running") {
    const at = ctx.currentTime + 0.05;
    tone(ctx, at, { frequency: 880, duration: 0.15, type: "sine", volume: 0.6 });
    tone(ctx, at + 0.2, { frequency: 1320, duration: 0.25, type: "sine", volume: 0.6 });
  }
  vibrate([200, 100, 200]);
}
