// What the checklist's event log (app/eventlog.js) and the after-call forms' outbox
// (app/outbox.js) share: one logged-in user's offline queue (app/queue.js), replayed to the
// server, tried again later with growing delays after a temporary failure, kept for logging in
// again when the session has gone. Subclasses say what is sent, how answers are read and what the
// screens are shown; everything about when and how often to send lives here, so both queues keep
// the same timings.

import { Backoff } from "./backoff.js";
import { AUTH, EventQueue, PENDING, RETRY } from "./queue.js";

/** Delays between replays after a temporary failure: from about 2 s, never more than a minute. */
export const REPLAY_BACKOFF = Object.freeze({ baseMs: 2000, maxMs: 60000 });

export class QueueSync {
  /**
   * storage: the store the queue keeps its items in (one per subclass; its name is what existing
   * installs hold their unsent items under). send/classify: as for EventQueue.
   */
  constructor({ stores, api, storage, send, classify, onAuthRequired = () => {}, onChange = () => {} }) {
    this.stores = stores;
    this.api = api;
    this.owner = null;
    this.onAuthRequired = onAuthRequired;
    this.onChange = onChange;
    this.backoff = new Backoff(REPLAY_BACKOFF);
    this.retryTimer = null;
    this.queue = new EventQueue({
      storage,
      send,
      classify,
      onResult: (item, outcome, body, status) => this._result(item, outcome, body, status),
      onChange: () => this.onChange(),
    });
  }

  setOwner(owner) {
    this.owner = owner;
  }

  /** Told what happened to each item sent (outcome from queue.js); subclasses keep what they show. */
  async _result(_item, _outcome, _body, _status) {}

  /** This user's queued items, oldest first (everyone's while nobody is logged in). */
  _ownItems() {
    return this.queue.list(this.owner ?? undefined);
  }

  /** Send what is queued; on a temporary failure try again later with growing delays. */
  async sync() {
    const owner = this.owner;
    if (!owner) return null;
    clearTimeout(this.retryTimer);
    const result = await this.queue.replay(owner);
    if (this.owner !== owner) return result; // halted (logged out) meanwhile: nothing more is tried
    if (result.stopped === AUTH) {
      this.onAuthRequired(); // the queue is kept; logging in again calls sync()
    } else if (result.stopped === RETRY) {
      this.retryTimer = setTimeout(() => this.sync(), this.backoff.next());
    } else {
      this.backoff.reset();
    }
    return result;
  }

  /** {pending, problems} for this user's queue: problems are the items the server refused
   *  (conflict or rejected, the only other states an item can be in), waiting for the person. */
  async counts() {
    const items = await this._ownItems();
    return {
      pending: items.filter((item) => item.state === PENDING).length,
      problems: items.filter((item) => item.state !== PENDING).length,
    };
  }

  /** The session has ended (logout): nothing more is sent or tried again, from this moment, not
   *  once the queue has been forgotten (a retry falling due in between sent records with no
   *  session; CI on 76ab229). forget() still takes the owner it forgets. */
  halt() {
    clearTimeout(this.retryTimer);
    this.owner = null;
  }

  /** Explicit logout: this user's queue goes unless told to keep it (after the warning). */
  async forget(owner, { keepQueue }) {
    clearTimeout(this.retryTimer);
    if (!keepQueue) await this.queue.clear(owner);
    await this._forgetOnLogout();
    this.onChange();
  }

  /** What a subclass keeps beside the queue that goes at logout. */
  async _forgetOnLogout() {}
}
