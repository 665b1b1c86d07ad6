// A clock the test moves by hand: the timers of pwa/app/socket.js and sync.js (their `clock`
// option) run when advance() passes their time, in time order, and never by themselves.

export class FakeClock {
  constructor(start = Date.parse("2026-01-01T12:00:00Z")) {
    this.time = start;
    this.timers = new Map(); // id -> {at, fn, every}
    this.nextId = 1;
  }

  now() {
    return this.time;
  }

  setTimeout(fn, ms = 0) {
    const id = this.nextId++;
    this.timers.set(id, { at: this.time + Math.max(0, ms), fn, every: null });
    return id;
  }

  setInterval(fn, ms) {
    const id = this.nextId++;
    this.timers.set(id, { at: this.time + ms, fn, every: ms });
    return id;
  }

  clearTimeout(id) {
    this.timers.delete(id);
  }

  clearInterval(id) {
    this.timers.delete(id);
  }

  /** Move time on by `ms`, running each timer that falls due on the way. */
  advance(ms) {
    const end = this.time + ms;
    for (;;) {
      const due = [...this.timers].filter(([, timer]) => timer.at <= end).sort(([a, x], [b, y]) => x.at - y.at || a - b)[0];
      if (!due) break;
      const [id, timer] = due;
      this.time = timer.at;
      if (timer.every === null) this.timers.delete(id);
      else timer.at += timer.every;
      timer.fn();
    }
    this.time = end;
  }

  /** How many timers are waiting (none after stop()). */
  get pending() {
    return this.timers.size;
  }
}
