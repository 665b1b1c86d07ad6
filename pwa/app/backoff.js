// Reconnect delays: exponential growth with jitter, so that a hundred phones that lost the same
// server do not all come back in the same second. Pure: the random source is passed in.

export const DEFAULT_BACKOFF = Object.freeze({
  baseMs: 1000, // first retry after about a second
  maxMs: 30000, // never wait longer than 30 s between tries (docs/events.md)
  factor: 2,
  jitter: 0.5, // the delay is drawn from [ceiling * (1 - jitter), ceiling]
});

/**
 * Delay in milliseconds before retry number `attempt` (0 for the first retry).
 * `random` returns a number in [0, 1), like Math.random.
 */
export function backoffDelay(attempt, options = {}, random = Math.random) {
  const { baseMs, maxMs, factor, jitter } = { ...DEFAULT_BACKOFF, ...options };
  const n = Number.isFinite(attempt) && attempt > 0 ? Math.floor(attempt) : 0;
  // Cap the exponent so a very long outage cannot overflow to Infinity.
  const ceiling = Math.min(maxMs, baseMs * factor ** Math.min(n, 52));
  const spread = Math.min(Math.max(jitter, 0), 1);
  const r = Math.min(Math.max(Number(random()) || 0, 0), 1);
  return Math.round(ceiling * (1 - spread) + ceiling * spread * r);
}

/** The attempt counter around backoffDelay: next() after each failure, reset() after success. */
export class Backoff {
  constructor(options = {}, random = Math.random) {
    this.options = options;
    this.random = random;
    this.attempt = 0;
  }

  next() {
    const delay = backoffDelay(this.attempt, this.options, this.random);
    this.attempt += 1;
    return delay;
  }

  reset() {
    this.attempt = 0;
  }
}
