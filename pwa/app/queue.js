// The offline queue: checklist events (POST /api/v1/alerts/{id}/events/, app/eventlog.js) and
// the after-call forms (app/outbox.js), each in its own store. Every item gets an idempotency
// key when it is recorded and keeps it for every retry, so the server stores it once however
// many times it is sent. Items are sent in the order they were recorded; a temporary failure
// stops the replay (keeping the order) and leaves the item queued; only a 2xx removes it.
// Storage is behind a small interface so tests can use memory:
//
//   storage.getAll() -> [item]      storage.get(key) -> item | undefined
//   storage.put(item)               storage.delete(key)
//
// with items keyed by `idempotency_key`.

export const SENT = "sent";
export const CONFLICT = "conflict"; // 409: the same key was used for a different event
export const REJECTED = "rejected"; // other 4xx: the server will never accept this body
export const AUTH = "auth"; // 401/403: log in again, then resend
export const RETRY = "retry"; // network error, 408, 425, 429, 5xx: try again later

export const PENDING = "pending";

/** What a response status means for a queued event. Status 0 stands for "no response". */
export function classifyStatus(status) {
  if (status >= 200 && status < 300) return SENT;
  if (status === 409) return CONFLICT;
  if (status === 401 || status === 403) return AUTH;
  if (!status || status === 408 || status === 425 || status === 429 || status >= 500) return RETRY;
  return REJECTED;
}

/** A random UUID v4 (crypto.randomUUID needs a secure context; fall back to getRandomValues). */
export function uuid4() {
  if (globalThis.crypto?.randomUUID) return globalThis.crypto.randomUUID();
  const bytes = new Uint8Array(16);
  globalThis.crypto.getRandomValues(bytes);
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The request body the server gets: the same bytes on every retry. */
export function bodyOf(item) {
  return {
    idempotency_key: item.idempotency_key,
    type: item.type,
    occurred_at: item.occurred_at,
    data: item.data ?? {},
  };
}

function errorMessage(body, status) {
  const message = body?.error?.message;
  if (typeof message === "string" && message) return message;
  return status ? `The server answered ${status}.` : "No connection.";
}

export function createMemoryStorage() {
  const items = new Map();
  return {
    async getAll() {
      return [...items.values()].map((item) => ({ ...item }));
    },
    async get(key) {
      const item = items.get(key);
      return item ? { ...item } : undefined;
    },
    async put(item) {
      items.set(item.idempotency_key, { ...item });
    },
    async delete(key) {
      items.delete(key);
    },
  };
}

export class EventQueue {
  /**
   * send(item) -> Promise<{status, body}>; rejects when there is no response at all.
   * onResult(item, outcome, body, status) is told what happened to each item sent.
   */
  constructor({ storage, send, classify = classifyStatus, onResult = () => {}, onChange = () => {}, now = () => new Date() }) {
    this.storage = storage;
    this.send = send;
    this.classify = classify; // (status, body) -> SENT | CONFLICT | REJECTED | AUTH | RETRY
    this.onResult = onResult;
    this.onChange = onChange;
    this.now = now;
    this.running = null;
    this.again = false;
  }

  /** Queue an event. Queuing the same idempotency key twice keeps one item. Other properties
   *  (`extra`) are kept on the item for its sender. */
  async enqueue({ idempotency_key = uuid4(), owner, alert_id, type, occurred_at, data = {}, ...extra }) {
    const existing = await this.storage.get(idempotency_key);
    if (existing) return existing;
    const items = await this.storage.getAll();
    const seq = items.reduce((max, item) => Math.max(max, item.seq || 0), 0) + 1;
    const item = {
      ...extra,
      idempotency_key,
      owner,
      alert_id,
      type,
      occurred_at: occurred_at ?? this.now().toISOString(),
      data,
      seq,
      state: PENDING,
      attempts: 0,
      last_status: null,
      last_error: null,
      last_code: null,
      last_fields: null,
      queued_at: this.now().toISOString(),
    };
    await this.storage.put(item);
    this.onChange();
    return item;
  }

  /** Items in the order they were recorded, optionally only one user's. */
  async list(owner) {
    const items = await this.storage.getAll();
    return items.filter((item) => owner === undefined || item.owner === owner).sort((a, b) => a.seq - b.seq);
  }

  async pendingCount(owner) {
    return (await this.list(owner)).filter((item) => item.state === PENDING).length;
  }

  /**
   * Send the owner's pending items in order. One replay at a time: a call made while one runs
   * makes it run once more at the end (for items queued meanwhile) and shares its result.
   * Resolves to {sent, stopped, remaining}; stopped is null, RETRY or AUTH.
   */
  replay(owner) {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      let total = 0;
      let result;
      do {
        this.again = false;
        result = await this._drain(owner);
        total += result.sent;
      } while (this.again && result.stopped === null);
      return { ...result, sent: total };
    })().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  async _drain(owner) {
    let sent = 0;
    const pending = (await this.list(owner)).filter((item) => item.state === PENDING);
    for (const queued of pending) {
      const item = await this.storage.get(queued.idempotency_key);
      if (!item || item.state !== PENDING) continue; // removed or resolved meanwhile
      let status = 0;
      let body = null;
      try {
        ({ status, body } = await this.send(item));
      } catch {
        status = 0;
      }
      const outcome = this.classify(status, body);
      if (outcome === SENT) {
        await this.storage.delete(item.idempotency_key);
        sent += 1;
      } else {
        const next = {
          ...item,
          attempts: item.attempts + 1,
          last_status: status,
          last_error: errorMessage(body, status),
          last_code: body?.error?.code ?? null,
          last_fields: body?.error?.fields ?? null,
        };
        if (outcome === CONFLICT || outcome === REJECTED) next.state = outcome;
        await this.storage.put(next);
      }
      await this.onResult(item, outcome, body, status);
      this.onChange();
      if (outcome === RETRY || outcome === AUTH) {
        return { sent, stopped: outcome, remaining: await this.pendingCount(owner) };
      }
    }
    return { sent, stopped: null, remaining: await this.pendingCount(owner) };
  }

  /** Put a conflicted or rejected item back in line (the person chose to try again). */
  async retry(key) {
    const item = await this.storage.get(key);
    if (!item) return;
    await this.storage.put({ ...item, state: PENDING });
    this.onChange();
  }

  async discard(key) {
    await this.storage.delete(key);
    this.onChange();
  }

  /** Forget one user's items (explicit logout, after warning). */
  async clear(owner) {
    for (const item of await this.list(owner)) await this.storage.delete(item.idempotency_key);
    this.onChange();
  }
}
