// The on-scene event log: each one-tap timestamp is written to this phone first (IndexedDB),
// then sent through the offline queue. The log screen shows every event with its sync state:
// synced, pending (waiting for signal or for the server), conflict or rejected.

import { AUTH, CONFLICT, PENDING, REJECTED, RETRY, SENT, bodyOf, uuid4 } from "./queue.js";
import { QueueSync } from "./queue-sync.js";

const STATE_AFTER = { [SENT]: "synced", [CONFLICT]: "conflict", [REJECTED]: "rejected", [RETRY]: PENDING, [AUTH]: PENDING };

/** The events, sent through the "queue" store; sending, retries and logout are QueueSync's. */
export class EventLog extends QueueSync {
  constructor({ stores, api, onAuthRequired, onChange }) {
    super({
      stores,
      api,
      storage: stores.queue,
      send: (item) => api.postEvent(item.alert_id, bodyOf(item)),
      onAuthRequired,
      onChange,
    });
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

  /** This user's events for one alert, oldest first, including queued ones the log lacks. */
  async entries(alertId) {
    const mine = (entry) => entry.alert_id === Number(alertId) && entry.owner === this.owner;
    const logged = (await this.stores.log.getAll()).filter(mine);
    const known = new Set(logged.map((entry) => entry.idempotency_key));
    const queued = (await this._ownItems())
      .filter((item) => mine(item) && !known.has(item.idempotency_key))
      .map((item) => ({ ...item, error: item.last_error }));
    return [...logged, ...queued].sort((a, b) => String(a.occurred_at).localeCompare(String(b.occurred_at)));
  }

  /** The alerts this user logged on-scene events for on this phone, sent or not: they were on
   *  scene, whatever the server has heard (store.attendedHere). */
  async alertsLogged() {
    const logged = (await this.stores.log.getAll()).filter((entry) => entry.owner === this.owner);
    return new Set([...logged, ...(await this._ownItems())].map((entry) => Number(entry.alert_id)));
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

  async retry(key) {
    await this.queue.retry(key);
    const entry = await this.stores.log.get(key);
    if (entry) await this.stores.log.put({ ...entry, state: PENDING, error: null });
    this.sync();
  }

  /** Explicit logout: every event log entry goes too, whether or not the queue is kept. */
  async _forgetOnLogout() {
    await this.stores.log.clear();
  }
}
