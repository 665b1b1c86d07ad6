// The on-scene event log: each one-tap timestamp is written to this phone first (IndexedDB),
// then sent through the offline queue. The log screen shows every event with its sync state:
// synced, pending (waiting for signal or for the server), conflict or rejected.

import { Backoff } from "./backoff.js";
import { AUTH, CONFLICT, EventQueue, PENDING, REJECTED, RETRY, SENT, bodyOf, uuid4 } from "./queue.js";

const STATE_AFTER = { [SENT]: "synced", [CONFLICT]: "conflict", [REJECTED]: "rejected", [RETRY]: PENDING, [AUTH]: PENDING };

export class EventLog {
  constructor({ stores, api, onAuthRequired = () => {}, onChange = () => {} }) {
    this.stores = stores;
    this.api = api;
    this.owner = null;
    this.onAuthRequired = onAuthRequired;
    this.onChange = onChange;
    this.backoff = new Backoff({ baseMs: 2000, maxMs: 60000 });
    this.retryTimer = null;
    this.queue = new EventQueue({
      storage: stores.queue,
      send: (item) => api.postEvent(item.alert_id, bodyOf(item)),
      onResult: (item, outcome, body, status) => this._result(item, outcome, body, status),
      onChange: () => this.onChange(),
    });
  }

  setOwner(owner) {
    this.owner = owner;
  }

  /** Record that `type` happened now, on this phone first, then send it. */
  async record(alertId, type, data = {}) {
    const entry = {
      idempotency_key: uuid4(),
      owner: this.owner,
      alert_id: Number(alertId),
      type,
      occurred_at: new Date().toISOString(),
      data,
    };
    await this.stores.log.put({ ...entry, state: PENDING, error: null });
    await this.queue.enqueue(entry);
    this.onChange();
    this.sync();
    return entry;
  }

  async _result(item, outcome, body, status) {
    const entry = (await this.stores.log.get(item.idempotency_key)) || { ...item };
    const state = STATE_AFTER[outcome];
    let error = null;
    if (outcome === AUTH) error = "Kept on this phone: log in again to send it.";
    else if (outcome === RETRY) error = status ? `The server could not take it (${status}): trying again.` : "Waiting for signal.";
    else if (state !== "synced") error = body?.error?.message || `Refused by the server (${status}).`;
    await this.stores.log.put({ ...entry, state, error });
  }

  /** Send what is queued; on a temporary failure try again later with growing delays. */
  async sync() {
    if (!this.owner) return null;
    clearTimeout(this.retryTimer);
    const result = await this.queue.replay(this.owner);
    if (result.stopped === AUTH) {
      this.onAuthRequired(); // the queue is kept; logging in again calls sync()
    } else if (result.stopped === RETRY) {
      this.retryTimer = setTimeout(() => this.sync(), this.backoff.next());
    } else {
      this.backoff.reset();
    }
    return result;
  }

  /** This user's events for one alert, oldest first, including queued ones the log lacks. */
  async entries(alertId) {
    const mine = (entry) => entry.alert_id === Number(alertId) && entry.owner === this.owner;
    const logged = (await this.stores.log.getAll()).filter(mine);
    const known = new Set(logged.map((entry) => entry.idempotency_key));
    const queued = (await this.queue.list(this.owner ?? undefined))
      .filter((item) => mine(item) && !known.has(item.idempotency_key))
      .map((item) => ({ ...item, error: item.last_error }));
    return [...logged, ...queued].sort((a, b) => String(a.occurred_at).localeCompare(String(b.occurred_at)));
  }

  /** Add events the server has that this phone does not (recorded on another device). */
  async mergeFromServer(alertId) {
    const remote = await this.api.listEvents(alertId);
    let added = 0;
    for (const event of remote) {
      if (!event?.idempotency_key || !event.type) continue;
      const local = await this.stores.log.get(event.idempotency_key);
      if (local) continue;
      await this.stores.log.put({
        idempotency_key: event.idempotency_key,
        owner: this.owner,
        alert_id: Number(alertId),
        type: event.type,
        occurred_at: event.occurred_at,
        data: event.data || {},
        state: "synced",
        error: null,
      });
      added += 1;
    }
    if (added) this.onChange();
    return added;
  }

  /** {pending, problems} for this user's queue. */
  async counts() {
    const items = await this.queue.list(this.owner ?? undefined);
    return {
      pending: items.filter((item) => item.state === PENDING).length,
      problems: items.filter((item) => item.state !== PENDING).length,
    };
  }

  async retry(key) {
    await this.queue.retry(key);
    const entry = await this.stores.log.get(key);
    if (entry) await this.stores.log.put({ ...entry, state: PENDING, error: null });
    this.sync();
  }

  /** Explicit logout: this user's queue goes (after the warning), and every event log entry. */
  async forget(owner, { keepQueue }) {
    clearTimeout(this.retryTimer);
    if (!keepQueue) await this.queue.clear(owner);
    await this.stores.log.clear();
    this.onChange();
  }
}
