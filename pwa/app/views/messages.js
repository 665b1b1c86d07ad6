// Messages from control on the alert screen (a list, newest first) and on the checklist (a banner
// of those not yet acknowledged: it never takes the screen, so a firefighter doing CPR keeps the
// checklist). Each has "Got it", which is queued on the phone and sent like the other answers
// (app/message-acks.js). The text is the coordinator's, shown as text (dom.js never parses HTML).

import { h } from "../dom.js";
import { formatTime } from "../format.js";
import { isAcknowledged, messagesOf, waitingForAcknowledgement } from "../messages.js";

/** "Got it" for a message, or that it was given (the banner on every screen uses it too). */
export function gotIt(ctx, message) {
  if (isAcknowledged(message)) {
    const words = message.acknowledged_at ? "✓ Got it" : "✓ Got it (sending)";
    return h("span", { class: "message-acked", text: words });
  }
  return h("button", {
    type: "button",
    class: "btn btn-small message-ack",
    text: "Got it",
    "aria-label": `Got it: ${message.text}`,
    on: { click: () => ctx.acknowledgeMessage(message) },
  });
}

export function messageMeta(message) {
  return [message.author_name ? `From ${message.author_name}` : "From control", formatTime(message.sent_at)].filter(Boolean).join(" · ");
}

/** The alert screen's list: every message of the incident, newest first; nothing if none. */
export function messageList(ctx, incidentId) {
  const messages = messagesOf(ctx.store.state, incidentId);
  if (!messages.length) return [];
  return [
    h("h2", { class: "messages-heading", text: "Messages from control" }),
    h(
      "ul",
      { class: "messages" },
      messages.map((message) =>
        h(
          "li",
          { class: ["message", isAcknowledged(message) ? "message-seen" : "message-new"], dataset: { messageId: String(message.id) } },
          h("p", { class: "message-text", text: message.text }),
          h("p", { class: "message-meta", text: messageMeta(message) }),
          gotIt(ctx, message),
        ),
      ),
    ),
  ];
}

/** The checklist's banner: the newest message not yet acknowledged (and how many more). */
export function messageBanner(ctx, incidentId) {
  const waiting = waitingForAcknowledgement(ctx.store.state, incidentId);
  if (!waiting.length) return [];
  const [newest] = waiting;
  return h(
    "div",
    { class: "notice info message-banner", role: "status", dataset: { messageId: String(newest.id) } },
    h("p", { class: "message-banner-title", text: waiting.length > 1 ? `Message from control (${waiting.length} new)` : "Message from control" }),
    h("p", { class: "message-text", text: newest.text }),
    h("p", { class: "message-meta", text: messageMeta(newest) }),
    gotIt(ctx, newest),
  );
}
