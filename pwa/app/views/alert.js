// The alert: full screen, red, unmistakable. Sounds the alarm (after a tap has unlocked audio),
// acknowledges that it was shown, and takes the answer: accept, decline with a reason, then en
// route, on scene, cleared. A cancelled or stood-down alert says so and the alarm stops.

import { ApiError } from "../api.js";
import { estimateText, isOnTheWay } from "../arrival.js";
import { unlockAudio } from "../audio.js";
import { onSceneGuidance, savedChecklist } from "../checklist-data.js";
import { h } from "../dom.js";
import { messagesKey } from "../messages.js";
import {
  DECLINE_REASONS,
  cancelledSubText,
  categoryDetail,
  categoryHeading,
  closedSubText,
  crewSummary,
  declinedText,
  distanceFromText,
  formatTime,
  otherJobText,
  ownStateLabel,
  stoodDownSubText,
  timeAgo,
} from "../format.js";
import { platform } from "../push.js";
import { alertPath } from "../router.js";
import { COMMITTED, DECLINABLE, UNANSWERED, activeJob, attendedHere, hasAttended, incidentOf, isActionable, lastAlertedAt, mayWithdraw } from "../store.js";
import { alertMap } from "./alert-map.js";
import { messageList } from "./messages.js";
import { every, notice, region, topbar } from "./parts.js";

function coordinate(value) {
  return Number(value).toFixed(6);
}

/** The question above the reasons: a withdrawal after accepting ("Can't attend after all") is not
 *  a decline of the alert, and the board says "Withdrew after accepting" (found by a trial: the
 *  phone asked "Why are you declining?" of one who had accepted). */
export function declineQuestion(alert) {
  return mayWithdraw(alert) ? "Why can't you attend?" : "Why are you declining?";
}

/** Links to the phone's maps app: the one this phone prefers first. */
export function mapLinks(latitude, longitude, { ios = false, android = false } = {}) {
  const lat = coordinate(latitude);
  const lon = coordinate(longitude);
  const apple = { label: "Apple Maps", href: `https://maps.apple.com/?daddr=${lat},${lon}&dirflg=d` };
  const google = { label: "Google Maps", href: `https://www.google.com/maps/dir/?api=1&destination=${lat},${lon}&travelmode=driving` };
  const geo = { label: "Other maps app", href: `geo:${lat},${lon}?q=${lat},${lon}` };
  if (ios) return [apple, google];
  if (android) return [geo, google];
  return [google, apple];
}

/** What the server's 409 committed_elsewhere says about the job held elsewhere, or null. */
export function committedElsewhere(error) {
  if (!(error instanceof ApiError) || error.status !== 409 || error.code !== "committed_elsewhere") return null;
  const body = error.body?.error || {};
  const alertId = Number(body.other_alert_id ?? error.body?.other_alert_id);
  const incident = body.other_incident || error.body?.other_incident || null;
  return Number.isSafeInteger(alertId) && alertId > 0 ? { alertId, address: incident?.address || "", state: incident?.state || "" } : null;
}

/** The alert state a failed answer's words belong to: a refusal (409) names the state the server
 *  found (which the app may not have heard of yet: "You cannot decline this alert: it is on
 *  scene."), anything else the state the screen showed. The words go once the alert is in another
 *  state (found by a trial of the product: a refusal was still shown after the incident closed). */
export function errorStateOf(error, shown) {
  const found = error instanceof ApiError && error.status === 409 ? error.body?.error?.state : null;
  return typeof found === "string" && found ? found : shown;
}

/** "To the incident: 1.2 km · about 3 min (estimate)" under the sharing line while on the way, or
 *  "": the firefighter's own estimate at `now`, counted down from when the server worked it out
 *  (found by a browser trial: with no new fix the phone kept "about 11 min" for three minutes while
 *  the boards counted down to 8). The screen draws it again from its tick once the words change. */
export function ownEstimateText(status, alert, now = Date.now()) {
  return status?.estimate && isOnTheWay(alert) ? `To the incident: ${estimateText(status.estimate, now)}` : "";
}

/** Stop is offered only while positions can be shared: not on a phone that does not allow (or
 *  has no) location, found by a browser trial ("Your position is not shared" with Stop under it). */
export function offersStop(status) {
  return Boolean(status?.sharing && !status.blocked);
}

/**
 * The line under the heading of an alert whose call has ended (cancelled, stood down, closed), or
 * null while it goes on. Those who never reached the scene are told they are not needed; those who
 * were on scene never are, and read what the signed checklist (`checklist`, normalised) says to
 * them for that ending: nothing of the screen's own when it has no such notice.
 */
export function endedSubText(alert, incident, checklist, { loggedOnScene = false } = {}) {
  const onScene = loggedOnScene || hasAttended(alert);
  const guidance = (ending) => (onScene ? onSceneGuidance(checklist, ending) : "");
  if (incident.status === "cancelled" || alert.state === "cancelled") return cancelledSubText(incident, { onScene, guidance: guidance("cancelled") });
  if (alert.state === "stood_down") return stoodDownSubText(alert.stood_down_reason, { onScene, guidance: guidance("stood_down") });
  if (incident.status === "closed") return closedSubText({ onScene, guidance: guidance("closed") });
  return null;
}

/** The signed checklist, for what those on scene are told when the call ends (endedSubText): the
 *  copy main.js loaded, else the one this phone saved (read once: offline since the app started). */
export function checklistReader(ctx) {
  let saved;
  return () => ctx.checklist?.checklist || (saved === undefined ? (saved = savedChecklist()) : saved);
}

/** Is the focus in a field being typed in? A new alert's screen never takes it from one. */
function typingIn(element) {
  return Boolean(element?.matches?.("input, textarea, select, [contenteditable]:not([contenteditable=false])"));
}

/** An answer refused for want of a connection (nothing queues an answer). "On scene" says that
 *  the checklist, which works without signal, records the arrival (found by a trial: someone
 *  refused "On scene" with no signal did CPR believing it unrecorded; the server takes a checklist
 *  event of a crew going as their arrival, and the phone counts it at once). */
export function offlineAnswerText(response) {
  if (response === "on_scene") {
    return "Not sent: no connection. Tap again when you have signal. The CPR checklist works without signal: what you tap there records your arrival.";
  }
  return "Not sent: no connection. Check your signal and tap again.";
}

/** What an answer is called on its button, to say which one to tap again. */
const ANSWER_NAMES = { accept: "Accept", decline: "Decline", en_route: "En route", on_scene: "On scene", cleared: "Cleared", switch: "Go to this one instead" };

export function alertView(root, { id }, ctx) {
  const { store, alarm } = ctx;
  // switching: {alertId, address, state}: the job held elsewhere, while "Leave it for this one?" shows
  // offline: {response, state} when local.error is an answer not sent for want of a connection,
  // and the alert's state then (the notice goes once the alert has moved on: sent after all)
  // errorState: the alert state local.error belongs to (errorStateOf); shownState: the alert's
  // state when last rendered (alertMoved)
  const local = { busy: null, error: null, errorState: null, offline: null, declining: false, otherNote: null, loadError: null, switching: null, shownState: null };
  document.body.classList.add("mode-alert");

  const top = region("div");
  const elsewhere = region("div");
  const head = region("header", { class: "alert-head" });
  const alarmBox = region("div", { class: "alarm-box" });
  const messages = region("section", { class: "alert-messages", "aria-label": "Messages from control" });
  const actions = region("section", { class: "alert-actions", "aria-label": "Your answer" });
  const sharingBox = region("section", { class: "alert-sharing", "aria-label": "Your position" });
  const where = region("section", { class: "alert-where" });
  const more = region("nav", { class: "alert-more", "aria-label": "More" });
  // Below the answer and Navigate: the map and the nearest defibrillators (views/alert-map.js).
  const around = alertMap(ctx, id);
  const screen = h("main", { class: "alert-screen" }, top, elsewhere, head, alarmBox, actions, messages, sharingBox, where, around.element, more);
  root.append(screen);

  async function load() {
    if (!ctx.sync) return;
    try {
      await ctx.sync.ensureAlert(id);
      local.loadError = null;
    } catch (error) {
      if (!store.state.alerts.has(id)) local.loadError = error.status === 404 ? "This alert was not found." : error.message;
    }
    render();
  }

  function failed(error, response) {
    const offline = error instanceof ApiError && error.offline;
    const shown = store.state.alerts.get(id)?.state ?? null;
    local.offline = offline ? { response, state: shown } : null;
    local.errorState = errorStateOf(error, shown);
    return offline ? offlineAnswerText(response) : error.message || "Not sent. Try again.";
  }

  /** The answer's error as it reads now. Found by a tester: "Not sent: no connection. Check your
   *  signal" stayed after the signal came back. The answer was not sent (nothing queues it): once
   *  the phone is online the notice says which button to tap again. (Once the alert has moved on,
   *  the error is gone: alertMoved.) */
  function errorNow(alert, state) {
    const offline = local.offline;
    if (!local.error || !offline) return local.error;
    if (state.online === false) return local.error;
    return `${ANSWER_NAMES[offline.response] || "Your answer"} was not sent: there was no connection. Tap it again.`;
  }

  async function answer(response, options = {}) {
    if (local.busy) return; // one answer at a time: a second tap is not a second answer
    if (!ctx.sync) {
      local.error = "Not connected: log in again to answer.";
      local.errorState = store.state.alerts.get(id)?.state ?? null;
      local.offline = null;
      render();
      return;
    }
    local.busy = response;
    local.error = null;
    local.offline = null;
    render();
    try {
      await ctx.sync.respond(id, response, options);
      local.declining = false;
      local.otherNote = null;
    } catch (error) {
      const other = committedElsewhere(error);
      if (other) {
        local.switching = other; // the server says: already on another job; ask before leaving it
      } else {
        local.error = failed(error, response);
        // Refused (not merely unsent): the picker closes, so the server's words show above the
        // buttons of the state the alert is in, not over them (found by a trial of the product:
        // the reasons stayed over "Open CPR checklist" and "Cleared" until Cancel). Unsent for want
        // of a connection, it stays open to tap the reason again.
        if (!local.offline) {
          local.declining = false;
          local.otherNote = null;
        }
        if (error instanceof ApiError && error.status === 409) ctx.sync.ensureAlert(id).catch(() => {});
      }
    }
    local.busy = null;
    render();
  }

  /** The job this firefighter is on elsewhere, as {alertId, address, state}, or null. */
  function jobElsewhere(state) {
    const job = activeJob(state);
    if (!job || job.id === id) return null;
    return { alertId: job.id, address: incidentOf(state, job)?.address || "", state: job.state };
  }

  /** Accept, but never leave another job without asking. */
  function accept() {
    if (local.busy) return;
    const other = jobElsewhere(store.state);
    if (other) {
      local.switching = other;
      local.error = null;
      render(true);
      return;
    }
    answer("accept");
  }

  /** "Leave <A> for this one?" confirmed: decline A (or clear it, if on scene there), then accept. */
  async function switchJobs() {
    const other = local.switching;
    if (local.busy || !other || !ctx.sync) return;
    local.busy = "switch";
    local.error = null;
    local.offline = null;
    render(true);
    let leaving = true; // the answer to the other job, until this alert's accept is sent
    try {
      const held = store.state.alerts.get(other.alertId);
      const onScene = (held?.state || other.state) === "on_scene";
      try {
        if (onScene) await ctx.sync.respond(other.alertId, "cleared");
        else await ctx.sync.respond(other.alertId, "decline", { reason: "already_committed" });
      } catch (error) {
        if (!(error instanceof ApiError && error.status === 409)) throw error;
        // Refused: perhaps that job was over already. Go on only if it no longer holds them.
        const fresh = await ctx.sync.ensureAlert(other.alertId).catch(() => null);
        if (!fresh || (COMMITTED.has(fresh.state) && incidentOf(store.state, fresh)?.status === "open")) throw error;
      }
      leaving = false;
      await ctx.sync.respond(id, "accept");
      local.switching = null;
    } catch (error) {
      const again = committedElsewhere(error);
      if (again) local.switching = again;
      else local.error = failed(error, "switch");
      // A refusal of leaving the other job names that alert's state, not this one's.
      if (!again && leaving) local.errorState = store.state.alerts.get(id)?.state ?? null;
    }
    local.busy = null;
    render(true);
  }

  function renderSwitch(other) {
    const where = other.address || "your other incident";
    const onScene = (store.state.alerts.get(other.alertId)?.state || other.state) === "on_scene";
    return [
      h("h2", { class: "switch-heading", text: `Leave ${where} for this one?` }),
      h("p", {
        class: "switch-text",
        text: onScene
          ? `You are on scene at ${where}. You will be cleared from it and this alert accepted.`
          : `${other.state === "en_route" ? `You are en route to ${where}.` : `You accepted ${where}.`} Your answer there becomes "declined: already at another incident", and this alert is accepted.`,
      }),
      h("button", {
        type: "button",
        class: "btn btn-big btn-accept",
        disabled: Boolean(local.busy),
        text: local.busy === "switch" ? "Sending…" : "Yes: go to this one instead",
        on: { click: switchJobs },
      }),
      h("button", {
        type: "button",
        class: "btn btn-quiet-on-red",
        disabled: Boolean(local.busy),
        text: `No: stay on ${where}`,
        on: { click: () => ((local.switching = null), render(true)) },
      }),
    ];
  }

  function renderElsewhere(alert, state) {
    const job = activeJob(state);
    if (!job || job.id === id || COMMITTED.has(alert.state)) return null;
    return h(
      "div",
      { class: "notice warning other-job", role: "status" },
      h("p", { text: otherJobText(job, incidentOf(state, job)) }),
      h("a", { class: "btn btn-small", href: `#${alertPath(job.id)}`, text: "Back to your job" }),
    );
  }

  function button(response, label, kind) {
    return h("button", {
      type: "button",
      class: ["btn", "btn-big", kind],
      disabled: Boolean(local.busy),
      text: local.busy === response ? "Sending…" : label,
      on: { click: () => (response === "accept" ? accept() : answer(response)) },
    });
  }

  const checklistNow = checklistReader(ctx);

  function renderHead(alert, incident, endedSub) {
    const cancelled = incident.status === "cancelled" || alert.state === "cancelled";
    const heading = cancelled ? "ALERT CANCELLED" : alert.state === "stood_down" ? "STOOD DOWN" : categoryHeading(incident.category);
    return [
      h("h1", { class: "alert-heading", text: heading }),
      h("p", { class: "alert-sub", text: endedSub ?? categoryDetail(incident.category) }),
      h("p", { class: "alert-address", text: incident.address || "Address not given" }),
      incident.what3words ? h("p", { class: "alert-w3w", text: `what3words: ///${incident.what3words.replace(/^\/+/, "")}` }) : null,
      h(
        "p",
        { class: "alert-meta" },
        // Alerted again: when the re-alert went out, not the first alert it replaced.
        `${distanceFromText(alert)} · ${alert.realerted_at ? "alerted again" : "alerted"} ${formatTime(lastAlertedAt(alert))} (${timeAgo(lastAlertedAt(alert))})`,
      ),
    ];
  }

  function renderAlarm(alert, state) {
    if (!isActionable(state, alert)) return null;
    if (alarm.playing) {
      return h("button", { type: "button", class: "btn btn-quiet-on-red", text: "Silence alarm", on: { click: () => ctx.silence(id) } });
    }
    if (ctx.silenced.has(id)) return h("p", { class: "alarm-note", text: "Alarm silenced." });
    // Audio is locked until a tap (or was taken away, e.g. by a phone call).
    return h("button", {
      type: "button",
      class: "btn btn-big btn-sound",
      text: "Tap to sound alarm",
      on: {
        click: async () => {
          await unlockAudio();
          alarm.start();
          render(true);
        },
      },
    });
  }

  function renderDecline(alert) {
    const choose = (reason) => {
      if (reason === "other") {
        local.otherNote = "";
        render(true);
        return;
      }
      answer("decline", { reason });
    };
    if (local.otherNote !== null) {
      const note = h("input", { id: "decline-note", type: "text", maxLength: 200, autocomplete: "off", value: local.otherNote });
      note.addEventListener("input", () => (local.otherNote = note.value));
      return [
        h("h2", { text: mayWithdraw(alert) ? "Can't attend: other reason" : "Decline: other reason" }),
        h("label", { for: "decline-note", text: "Say why (optional, no patient details)" }),
        note,
        h("button", {
          type: "button",
          class: "btn btn-big btn-decline",
          disabled: Boolean(local.busy),
          text: local.busy ? "Sending…" : mayWithdraw(alert) ? "Send" : "Send decline",
          on: { click: () => answer("decline", { reason: "other", note: local.otherNote.trim() }) },
        }),
        h("button", { type: "button", class: "btn btn-quiet-on-red", text: "Back", on: { click: () => ((local.otherNote = null), render(true)) } }),
      ];
    }
    return [
      h("h2", { text: declineQuestion(alert) }),
      h(
        "div",
        { class: "stack" },
        DECLINE_REASONS.map(([reason, label]) =>
          h("button", { type: "button", class: "btn btn-decline", disabled: Boolean(local.busy), text: label, on: { click: () => choose(reason) } }),
        ),
      ),
      h("button", { type: "button", class: "btn btn-quiet-on-red", text: "Cancel", on: { click: () => ((local.declining = false), render(true)) } }),
    ];
  }

  function renderActions(alert, incident, error) {
    const open = incident.status === "open";
    const parts = [];
    if (error) parts.push(notice("danger", error));
    if (!open || ["stood_down", "cancelled"].includes(alert.state)) {
      parts.push(h("p", { class: "alert-state", text: `Your status: ${ownStateLabel(alert)}` }));
      // The call is over for them, not their part in it: someone who was on scene still files the
      // forms (renderMore links them only while committed).
      if (attendedHere(store.state, alert) && !COMMITTED.has(alert.state)) {
        parts.push(h("a", { class: "btn btn-quiet-on-red", href: `#${alertPath(id, "forms")}`, text: "Forms after the call" }));
      }
      return parts;
    }
    if (local.switching && ["alerted", "received", "declined"].includes(alert.state)) return [...parts, ...renderSwitch(local.switching)];
    if (local.declining && DECLINABLE.has(alert.state)) return [...parts, ...renderDecline(alert)];
    const decline = (label) =>
      h("button", {
        type: "button",
        class: "btn btn-decline",
        disabled: Boolean(local.busy),
        text: label,
        on: { click: () => ((local.declining = true), (local.error = null), render(true)) },
      });
    switch (alert.state) {
      case "alerted":
      case "received":
        parts.push(button("accept", "ACCEPT: I'm going", "btn-accept"), decline("Decline"));
        break;
      case "declined":
        parts.push(
          h("p", { class: "alert-state", text: declinedText(alert) }),
          button("accept", "Accept after all", "btn-accept"),
        );
        break;
      case "accepted":
        parts.push(h("p", { class: "alert-state", text: "You accepted. Go now." }), button("en_route", "En route", "btn-go"), button("on_scene", "On scene", "btn-go"));
        break;
      case "en_route":
        parts.push(h("p", { class: "alert-state", text: "En route." }), button("on_scene", "On scene", "btn-go"));
        break;
      case "on_scene":
        parts.push(
          h("a", { class: "btn btn-big btn-go", href: `#${alertPath(id, "checklist")}`, text: "Open CPR checklist" }),
          button("cleared", "Cleared: leaving scene", "btn-quiet-on-red"),
        );
        break;
      case "cleared":
        parts.push(h("p", { class: "alert-state", text: "Cleared. Thank you." }), h("a", { class: "btn btn-quiet-on-red", href: `#${alertPath(id, "forms")}`, text: "Forms after the call" }));
        break;
      default:
        parts.push(h("p", { class: "alert-state", text: `Your status: ${ownStateLabel(alert)}` }));
    }
    // Only where the server takes it (accepted, en route): on scene it refuses a decline.
    if (mayWithdraw(alert)) parts.push(decline("Can't attend after all"));
    return parts;
  }

  function renderWhere(alert, incident) {
    if (incident.status !== "open" || ["stood_down", "cancelled"].includes(alert.state)) {
      return [h("p", { class: "alert-ref", text: `Incident ${incident.cad_reference}` })];
    }
    const links = mapLinks(incident.latitude, incident.longitude, platform());
    const [first, ...others] = links;
    const external = (link) => (link.href.startsWith("http") ? { target: "_blank", rel: "noopener" } : {});
    return [
      h("a", { class: "btn btn-big btn-navigate", href: first.href, ...external(first) }, "Navigate"),
      h(
        "p",
        { class: "map-others" },
        "Or open in: ",
        others.map((link, index) => [index ? " · " : "", h("a", { href: link.href, ...external(link), text: link.label })]),
      ),
      incident.notes ? h("p", { class: "alert-notes", text: `Notes: ${incident.notes}` }) : null,
      h("p", { class: "alert-ref", text: `Incident ${incident.cad_reference}` }),
    ];
  }

  /** "Sharing your position with the control room [Stop]" while responding (pwa/app/position.js);
   *  "Waiting for a position…" until the server has taken one (found by a tester: "Sharing" was
   *  shown for 8 minutes while nothing was sent). */
  function renderSharing(alert, incident, estimate) {
    const positions = ctx.positions;
    if (!positions || !COMMITTED.has(alert.state) || incident.status !== "open") return null;
    const status = positions.status(id);
    if (status.stopped) {
      return h(
        "p",
        { class: "sharing-line sharing-off", role: "status" },
        h("span", { text: "Not sharing your position." }),
        h("button", { type: "button", class: "btn btn-small", text: "Share again", on: { click: () => positions.resumeFor(id, store.state) } }),
      );
    }
    if (!status.sharing) return null;
    return [
      h(
        "p",
        { class: "sharing-line", role: "status" },
        // No separator before the button: it wraps under the words on a phone (a tester saw "room ·").
        h("span", {
          text: status.sent
            ? "Sharing your position with the control room"
            : status.blocked
              ? "Your position is not shared"
              : "Waiting for a position to share with the control room…",
        }),
        offersStop(status)
          ? h("button", { type: "button", class: "btn btn-small", text: "Stop", "aria-label": "Stop sharing your position", on: { click: () => positions.stopFor(id) } })
          : null,
      ),
      // How far there is still to go, while on the way: not once on scene.
      estimate ? h("p", { class: "sharing-estimate", text: estimate }) : null,
      status.error ? h("p", { class: "sharing-error", text: status.error }) : null,
    ];
  }

  function renderMore(alert, state) {
    const crew = state.incidents.get(alert.incident_id)?.crew || new Map();
    const incident = incidentOf(state, alert);
    // Not known yet (no crew loaded) is not "nobody attended".
    const label = crew.size || incident.status === "open" ? `Crew: ${crewSummary(crew, incident)}` : "Crew";
    return [
      h("a", { class: "btn btn-quiet-on-red", href: `#${alertPath(id, "incident")}` }, label),
      COMMITTED.has(alert.state) || alert.state === "cleared" || attendedHere(state, alert)
        ? h("a", { class: "btn btn-quiet-on-red", href: `#${alertPath(id, "checklist")}`, text: "CPR checklist" })
        : null,
      COMMITTED.has(alert.state) ? h("a", { class: "btn btn-quiet-on-red", href: `#${alertPath(id, "forms")}`, text: "Forms after the call" }) : null,
    ];
  }

  /** A frame or a read shows the alert in another state than the screen last did. An error that
   *  belonged to an earlier state goes (sent after all, stood down, cleared when the incident
   *  closed: found by a trial of the product, "You cannot decline this alert: it is on scene" still
   *  shown under "Your status: Cleared"); a refusal naming the state now reached stays. In a state
   *  that takes no decline (on scene) the reason picker closes, and stays closed should the alert
   *  be alerted again later. */
  function alertMoved(now) {
    local.shownState = now;
    if (local.error && local.errorState !== now) {
      local.error = null;
      local.errorState = null;
      local.offline = null;
    }
    if (!DECLINABLE.has(now)) {
      local.declining = false;
      local.otherNote = null;
    }
  }

  // A new alert's screen gives Accept the focus: the first stop for a keyboard or a switch (found by
  // a trial of the product: nothing had it, the heading the router focuses being redrawn as the
  // alert was acknowledged, and Tab went to "Silence alarm" first). Once, when the alert is first
  // shown, after the router's focus; never from a field being typed in or from outside the screen.
  let arrived = false;
  function focusAcceptOnArrival(alert, state) {
    if (arrived) return;
    arrived = true;
    if (!isActionable(state, alert)) return;
    setTimeout(() => {
      const here = document.activeElement;
      if (!screen.isConnected || typingIn(here) || (here && here !== document.body && !screen.contains(here))) return;
      actions.querySelector(".btn-accept")?.focus();
    }, 0);
  }

  function acknowledgeIfShown(alert) {
    if (alert?.state === "alerted" && document.visibilityState === "visible") ctx.sync?.acknowledge(id);
  }

  /** The sharing line, drawn again when what it says changes: also from the one-second tick, as the
   *  estimate's minutes count down with no new fix. */
  function showSharing(alert, incident) {
    const sharing = ctx.positions?.status(id);
    const estimate = ownEstimateText(sharing, alert);
    sharingBox.show([alert.state, incident.status, sharing, estimate], () => renderSharing(alert, incident, estimate));
  }

  function render(force = false) {
    const state = store.state;
    const alert = state.alerts.get(id);
    top.show([state.connection.status, state.online], () => topbar(state, { path: "/", label: "Home" }));
    if (!alert) {
      head.show(["missing", local.loadError], () =>
        local.loadError ? [h("h1", { text: "Alert" }), notice("danger", local.loadError)] : [h("h1", { text: "Loading alert…" })],
      );
      return;
    }
    const incident = incidentOf(state, alert);
    const job = activeJob(state);
    elsewhere.show([job?.id, job?.state, job ? incidentOf(state, job)?.address : null, alert.state], () => renderElsewhere(alert, state));
    const ended = incident.status !== "open" || ["stood_down", "cancelled", "declined", "cleared"].includes(alert.state);
    screen.classList.toggle("alert-ended", ended);
    screen.classList.toggle("alert-waiting", isActionable(state, alert));
    const tick = Math.floor(Date.now() / 15000);
    const endedSub = endedSubText(alert, incident, checklistNow(), { loggedOnScene: attendedHere(state, alert) });
    head.show([alert, incident, tick, endedSub], () => renderHead(alert, incident, endedSub));
    // Keys name what the region shows, not the alert's version: "alerted" and "received" show
    // the same buttons, so the acknowledgement arriving does not rebuild them.
    const phase = UNANSWERED.has(alert.state) ? "waiting" : alert.state;
    alarmBox.show([isActionable(state, alert), alarm.playing, ctx.silenced.has(id), force && Date.now()], () => renderAlarm(alert, state));
    if (alert.state !== local.shownState) alertMoved(alert.state);
    const error = errorNow(alert, state);
    actions.show([phase, alert.decline_reason, incident.status, attendedHere(state, alert), local.busy, error, local.declining, local.otherNote !== null, local.switching, force && Date.now()], () =>
      renderActions(alert, incident, error),
    );
    messages.show(messagesKey(state, alert.incident_id), () => messageList(ctx, alert.incident_id));
    showSharing(alert, incident);
    where.show([incident, alert.state], () => renderWhere(alert, incident));
    around.update(alert, incident);
    const crew = state.incidents.get(alert.incident_id)?.crew;
    more.show([alert.state, incident.status, incident.crew_target, attendedHere(state, alert), crew ? [...crew.values()].map((m) => [m.alert_id, m.state, m.attended]) : null], () =>
      renderMore(alert, state),
    );
    focusAcceptOnArrival(alert, state);
    acknowledgeIfShown(alert);
  }

  const onVisible = () => render();
  document.addEventListener("visibilitychange", onVisible);
  const unsubscribe = store.subscribe(() => render());
  const unAlarm = alarm.onChange(() => render());
  const stopTicking = every(15000, () => render());
  const stopCounting = every(1000, () => {
    const alert = store.state.alerts.get(id);
    if (alert) showSharing(alert, incidentOf(store.state, alert));
  });
  render();
  load();
  return () => {
    document.body.classList.remove("mode-alert");
    document.removeEventListener("visibilitychange", onVisible);
    unsubscribe();
    unAlarm();
    stopTicking();
    stopCounting();
    around.destroy();
  };
}
