// The after-call forms on this phone: what the server holds (GET alerts/{id}/{kind}/, kept in
// the kv store so a form opens without signal) and the submissions waiting to be sent (the
// "outbox" store, through the same EventQueue as the checklist's events: one idempotency key
// per submission, kept for every retry, sent in the order they were made).

import { AUTH, CONFLICT, PENDING, REJECTED, SENT, classifyStatus } from "./queue.js";
import { QueueSync } from "./queue-sync.js";
import { KINDS, formStatus, formsToFill, listedFormStatus, patchBody, valuesFrom } from "./records-rules.js";

const SESSION_CODES = new Set(["not_authenticated", "authentication_failed"]);

/** What a response means for a queued form. A 403 that is not about the session (the outcome
 *  form sent by someone who is not the crew lead) will never be accepted: it needs attention. */
export function classifyRecordStatus(status, body) {
  if (status === 403) {
    const error = body?.error || {};
    return SESSION_CODES.has(error.code) || /csrf/i.test(error.message || "") ? AUTH : REJECTED;
  }
  return classifyStatus(status);
}

export function recordPath(alertId, kind) {
  return `/alerts/${Number(alertId)}/${kind}/`;
}

/** The body sent for a queued item: the same bytes on every retry. */
export function requestOf(item) {
  return { method: item.data.method, path: recordPath(item.alert_id, item.type), body: { idempotency_key: item.idempotency_key, ...item.data.body } };
}

/** The newest queued item for each form kind of one alert. */
export function newestByKind(items, alertId) {
  const newest = {};
  for (const item of items) if (item.alert_id === Number(alertId)) newest[item.type] = item;
  return newest;
}

/** Would these answers (a POST body: unanswered fields left out) change the record the server holds? */
export function differsFrom(kind, answers, record) {
  return Object.keys(patchBody(kind, valuesFrom(kind, { ...record, ...answers }), record)).length > 0;
}

/** The forms, sent through the "outbox" store; sending, retries and logout are QueueSync's. */
export class RecordOutbox extends QueueSync {
  constructor({ stores, api, onAuthRequired, onChange }) {
    super({
      stores,
      api,
      storage: stores.outbox,
      send: (item) => {
        const { method, path, body } = requestOf(item);
        return api.raw(method, path, body);
      },
      classify: classifyRecordStatus,
      onAuthRequired,
      onChange,
    });
  }

  _key(alertId, kind) {
    return `record:${this.owner}:${Number(alertId)}:${kind}`;
  }

  /** What this phone last knew of a form: {record, prefill, editable, lock_hours, note, draft} or
   *  null; `draft` holds answers from this phone that were not sent (the form was already submitted). */
  async cached(alertId, kind) {
    return (await this.stores.kv.get(this._key(alertId, kind))) || null;
  }

  async _remember(alertId, kind, changes) {
    const current = (await this.cached(alertId, kind)) || { record: null, prefill: {}, editable: true, lock_hours: null, note: null, draft: null };
    const next = { ...current, ...changes, key: this._key(alertId, kind), alert_id: Number(alertId), kind, saved_at: new Date().toISOString() };
    await this.stores.kv.put(next);
    return next;
  }

  /** The form from the server (remembered for offline use); without signal, what was remembered
   *  ({..., fromCache: true}), or null if nothing was. Other errors (404...) are thrown. */
  async load(alertId, kind) {
    try {
      const data = await this.api.request("GET", recordPath(alertId, kind));
      const kept = await this.cached(alertId, kind);
      // A note about the server's copy replacing ours stays until the record changes again.
      const note = kept?.note && kept.record?.version === data.record?.version ? kept.note : null;
      return { ...(await this._remember(alertId, kind, { ...data, note })), fromCache: false };
    } catch (error) {
      if (!error.offline) throw error;
      const cached = await this.cached(alertId, kind);
      return cached ? { ...cached, fromCache: true } : null;
    }
  }

  /** Queue a submission (method POST or PATCH, body without the key) and try to send it. A
   *  refused earlier submission of the same form is replaced by this one. */
  async submit(alertId, kind, method, body) {
    for (const item of await this.itemsFor(alertId, kind)) {
      if (item.state !== PENDING) await this.queue.discard(item.idempotency_key);
    }
    const item = await this.queue.enqueue({ owner: this.owner, alert_id: Number(alertId), type: kind, data: { method, body } });
    this.sync();
    return item;
  }

  async _result(item, outcome, body) {
    if (outcome === SENT && body?.record) {
      // The server holds this phone's answers now: an unsent draft has been used (or overtaken).
      await this._remember(item.alert_id, item.type, { record: body.record, note: null, draft: null });
    } else if (outcome === CONFLICT && body?.error?.code === "already_submitted" && body.error.record) {
      // Someone (another phone, or this one before a reset) submitted it first: the server's
      // record stands and is shown. This copy is not left to fail again, but the answers typed
      // on this phone are kept as a draft when they differ, to be offered as a change.
      const record = body.error.record;
      const { reason: _reason, ...answers } = item.data.body;
      await this._remember(item.alert_id, item.type, {
        record,
        draft: differsFrom(item.type, answers, record) ? answers : null,
        note: "This form had already been submitted, so the server kept its record (shown here) and not the copy from this phone. Change it below, with a reason, if it needs correcting.",
      });
      await this.queue.discard(item.idempotency_key);
    }
  }

  /** The firefighter chose to keep the server's record: forget the answers that were not sent. */
  async discardDraft(alertId, kind) {
    await this._remember(alertId, kind, { draft: null, note: null });
    this.onChange();
  }

  /** This user's queued items for one form (or all forms of the alert), oldest first. */
  async itemsFor(alertId, kind) {
    const items = await this._ownItems();
    return items.filter((item) => item.alert_id === Number(alertId) && (kind === undefined || item.type === kind));
  }

  /** Where one form stands: {status, record, item, cached}. */
  async statusOf(alertId, kind) {
    const cached = await this.cached(alertId, kind);
    const items = await this.itemsFor(alertId, kind);
    const item = items.at(-1) || null;
    return { status: formStatus(cached?.record || null, item), record: cached?.record || null, item, cached };
  }

  /** My calls of the last 30 days with where each form stands (GET records/), kept for offline
   *  use: {results, fromCache}. Without signal, the list last kept; with none kept, the error. */
  async recentCalls() {
    const key = `records-list:${this.owner}`;
    try {
      const page = await this.api.request("GET", "/records/");
      const results = Array.isArray(page?.results) ? page.results : [];
      this.stores.kv.put({ key, results }).catch(() => {});
      return { results, fromCache: false };
    } catch (error) {
      const kept = error.offline ? await this.stores.kv.get(key) : null;
      if (!kept) throw error;
      return { results: kept.results, fromCache: true };
    }
  }

  /** Where a form of a listed call stands: this phone's queued copy first (newer than any list),
   *  else the record the list says the server holds, else the one this phone last saw. */
  async listedStatus(entry, kind) {
    const local = await this.statusOf(entry.alert_id, kind);
    if (local.item) return local.status;
    const held = entry[kind];
    return listedFormStatus(entry, kind, formStatus(held ? { version: held.version, locked: held.locked } : local.record, null));
  }

  /** How many forms of these listed calls the firefighter still has to fill (home's prompt). */
  async countToFill(entries) {
    let count = 0;
    for (const entry of entries || []) {
      const statuses = {};
      for (const kind of KINDS) statuses[kind] = await this.listedStatus(entry, kind);
      count += formsToFill(entry, statuses).length;
    }
    return count;
  }
}
