// The firefighter's "Got it" on messages from control, queued on this phone (the "message_acks"
// store) and sent like the other answers (app/queue-sync.js): tried at once, kept without signal,
// replayed in order with growing delays, kept for logging in again when the session has gone.
// POST /api/v1/messages/{id}/acknowledge/ is idempotent, and each message has one queue item per
// user (its key), however many times "Got it" is tapped.

import { acknowledgementKey } from "./messages.js";
import { QueueSync } from "./queue-sync.js";
import { REJECTED, SENT, classifyStatus } from "./queue.js";

export function acknowledgePath(messageId) {
  return `/messages/${Number(messageId)}/acknowledge/`;
}

/** What an answer means for a queued "Got it": as for the other answers; a 404 (the message is
 *  not this person's, or is gone) will never be accepted. */
export function classifyAcknowledgement(status, body) {
  return classifyStatus(status, body);
}

export class MessageAcks extends QueueSync {
  /** onAcknowledged(ack): the server's acknowledgement, for the store. */
  constructor({ stores, api, onAuthRequired, onChange, onAcknowledged = () => {} }) {
    super({
      stores,
      api,
      storage: stores.message_acks,
      send: (item) => api.raw("POST", acknowledgePath(item.data.message_id), {}),
      classify: classifyAcknowledgement,
      onAuthRequired,
      onChange,
    });
    this.onAcknowledged = onAcknowledged;
  }

  /** Queue "Got it" for a message and try to send it now. */
  async acknowledge(message) {
    if (!this.owner) return null;
    const item = await this.queue.enqueue({
      idempotency_key: acknowledgementKey(this.owner, message.id),
      owner: this.owner,
      alert_id: null,
      type: "message.ack",
      data: { message_id: message.id, incident_id: message.incident_id },
    });
    this.sync();
    return item;
  }

  /** Messages whose "Got it" is still queued on this phone, as {message_id, incident_id}. */
  async pending() {
    return (await this._ownItems()).map((item) => item.data);
  }

  async _result(item, outcome, body) {
    if (outcome === SENT && body) this.onAcknowledged(body);
    // Refused for good (404): nothing to send, nothing to show the firefighter about it.
    if (outcome === REJECTED) await this.queue.discard(item.idempotency_key);
  }
}
