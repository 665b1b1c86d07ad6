// The highest stored-event id this device has seen, per user, kept in localStorage so that a
// reconnecting socket asks for exactly what it missed (docs/events.md, "Catching up").
// `storage` is anything with getItem/setItem/removeItem (localStorage in the app, a fake in tests).

const PREFIX = "coresponder.lastEventId.";

export function lastEventKey(username) {
  return PREFIX + encodeURIComponent(String(username));
}

/** A stored event id: a whole number, 0 or more; anything else is null. */
export function parseEventId(value) {
  if (typeof value === "number") return Number.isSafeInteger(value) && value >= 0 ? value : null;
  if (typeof value !== "string" || !/^\d{1,15}$/.test(value)) return null;
  return Number(value);
}

/**
 * What to remember after `sync.ready`. The server says the highest id this responder has: that
 * is the truth even when lower than ours (a database restore, or an id kept from another
 * account), so we take it. Reload over the REST API when the replay was incomplete or when we
 * connected without an id (nothing was replayed).
 */
export function afterSyncReady(connectedWith, data) {
  const serverId = parseEventId(data?.last_event_id);
  const complete = data?.complete === true;
  return {
    lastEventId: serverId,
    reload: !complete || connectedWith === null || connectedWith === undefined,
  };
}

export class LastEventTracker {
  constructor(storage, username) {
    this.storage = storage;
    this.key = lastEventKey(username);
    this.memory = null; // used when storage refuses (private mode, quota)
    this.connectedWith = null;
  }

  get value() {
    try {
      const stored = parseEventId(this.storage.getItem(this.key));
      if (stored !== null) return stored;
    } catch {
      // fall through to memory
    }
    return this.memory;
  }

  set(id) {
    const valid = parseEventId(id);
    if (valid === null) return;
    this.memory = valid;
    try {
      this.storage.setItem(this.key, String(valid));
    } catch {
      // keep it in memory only
    }
  }

  reset() {
    this.memory = null;
    this.connectedWith = null;
    try {
      this.storage.removeItem(this.key);
    } catch {
      // nothing to do
    }
  }

  /** The query string for the next connection; remembers what was sent. */
  connectQuery() {
    this.connectedWith = this.value;
    return this.connectedWith === null ? "" : `?last_event_id=${this.connectedWith}`;
  }

  /**
   * Note a frame's id. Returns "new" for a stored event not seen before (remembered),
   * "seen" for one at or below the remembered id, "none" for frames without a stored id.
   */
  observe(frame) {
    const id = frame && typeof frame.id === "number" ? parseEventId(frame.id) : null;
    if (id === null || id < 1) return "none";
    const current = this.value;
    if (current !== null && id <= current) return "seen";
    this.set(id);
    return "new";
  }

  /** Apply `sync.ready`; returns {reload} (true: reload state over the REST API). */
  syncReady(data) {
    const { lastEventId, reload } = afterSyncReady(this.connectedWith, data);
    if (lastEventId !== null) this.set(lastEventId);
    return { reload };
  }
}
