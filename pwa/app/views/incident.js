// The crew on this incident, live: who accepted, who is en route, who is on scene, and who has
// been on scene (attended) whatever they are doing now. Kept up to date by incident.updated
// events; loaded over the REST API when the screen opens.

import { estimateText, likelyFirstAmong, positionsOnTheWay } from "../arrival.js";
import { h } from "../dom.js";
import { STATE_LABELS, cancelledText, crewSummary } from "../format.js";
import { alertPath } from "../router.js";
import { COMMITTED, applyPosition, attendedHere, hasAttended, incidentOf, positionsOf } from "../store.js";
import { checklistReader, endedSubText } from "./alert.js";
import { every, notice, region, topbar } from "./parts.js";

const ORDER = ["on_scene", "attended", "en_route", "accepted", "received", "alerted", "declined", "cleared", "stood_down", "cancelled"];

/** On scene first, then those who have been (cleared, or stood down after arriving), then the rest. */
export function sortCrew(crew) {
  const rank = (member) => ORDER.indexOf(member.state !== "on_scene" && hasAttended(member) ? "attended" : member.state);
  return [...crew].sort((a, b) => rank(a) - rank(b) || String(a.responder_name).localeCompare(String(b.responder_name)));
}

/**
 * The notice at the top of the crew page once the call has ended for this firefighter ({kind,
 * text}, or null while it goes on). A stand-down says what the alert's screen says (endedSubText):
 * "not needed" only to those who never reached the scene, and to one who was there, who may be in
 * the middle of CPR, how it ended and what the signed checklist (`checklist`) says, if anything.
 */
export function crewEndNotice(alert, incident, checklist, { loggedOnScene = false } = {}) {
  if (incident.status === "cancelled") return { kind: "danger", text: `${cancelledText(incident)}.` };
  if (incident.status === "closed") return { kind: "warning", text: "This incident is closed." };
  if (alert.state === "stood_down") return { kind: "warning", text: endedSubText(alert, incident, checklist, { loggedOnScene }) };
  return null;
}

/**
 * What the crew's arrival estimates say at `now`: {first: the "Likely first" line, or "", and
 * estimates: each going crew member's estimate in words, by alert id}. Counted down from when each
 * estimate was worked out (arrival.js), as the alert screen's own estimate and the boards count
 * them, so that the panel agrees with them between positions (found by a trial: the panel kept
 * "about 3 min" while the boards counted down). An estimate from an old fix says so, as on the
 * boards ("· position 4 min old", arrival.js). `shared`: the positions of those on their way.
 */
export function crewArrivalWords(shared, crew, ambulanceEta, now = Date.now()) {
  return {
    first: likelyFirstAmong(shared, crew, ambulanceEta, now),
    estimates: new Map(shared.map((position) => [position.alert_id, estimateText(position.estimate, now, position.recorded_at)])),
  };
}

/** Put `text` in `el` if it says something else (so the tick touches only what changed). */
function redrawText(el, text) {
  if (el && text && el.textContent !== text) el.textContent = text;
}

export function incidentView(root, { id }, ctx) {
  /** The crew's positions as they stand (the socket keeps them up to date after): only while going.
   *  Asked once, as soon as the alert is known and this firefighter is going: a panel opened on a
   *  fresh start (from a notification, a reload) is drawn before its alert has loaded, and the
   *  positions already shared are not sent again until each one moves. */
  let positionsAsked = false;
  async function loadPositions() {
    const alert = ctx.store.state.alerts.get(id);
    if (positionsAsked || !alert || !COMMITTED.has(alert.state) || !ctx.api?.incidentPositions) return;
    positionsAsked = true;
    try {
      const positions = await ctx.api.incidentPositions(alert.incident_id);
      ctx.store.update((s) => {
        for (const position of positions) applyPosition(s, "position.updated", { ...position, incident_id: alert.incident_id });
      });
    } catch {
      // offline or no longer going: the panel shows the crew without positions
    }
  }

  const { store } = ctx;
  const checklistNow = checklistReader(ctx);
  const local = { error: null };
  const top = region("div");
  const body = region("div");
  root.append(h("main", { class: "page" }, top, body));
  // The "Likely first" line and each crew member's estimate as last drawn, for the tick below.
  let drawn = { first: null, estimates: new Map() };

  /** The crew, and the positions of those still on their way (only while this firefighter is
   *  going too): estimates only for those on their way, and no "likely first" once anyone has
   *  been on scene. */
  function crewGoing(state, alert) {
    const incident = incidentOf(state, alert);
    const crew = sortCrew(state.incidents.get(alert.incident_id)?.crew?.values() || []);
    const shared = COMMITTED.has(alert.state) && incident.status === "open" ? positionsOnTheWay(positionsOf(state, alert.incident_id), crew) : [];
    return { incident, crew, shared };
  }

  /** Once a second: the estimates' minutes and "Likely first" as they stand now, redrawn only where
   *  the words changed. Never the whole panel: that would take focus and scroll from the reader. A
   *  new position or state redraws the panel through render() as before. */
  function countDown() {
    const alert = store.state.alerts.get(id);
    if (!alert) return;
    const { incident, crew, shared } = crewGoing(store.state, alert);
    const words = crewArrivalWords(shared, crew, incident.ambulance_eta);
    redrawText(drawn.first, words.first);
    for (const [alertId, span] of drawn.estimates) redrawText(span, words.estimates.get(alertId));
  }

  /** The crew list's and "Likely first"'s elements, kept (in `drawn`) for countDown. */
  function drawArrivals(alert, crew, words) {
    const first = words.first ? h("p", { class: "crew-first", text: words.first }) : null;
    const estimates = new Map();
    const list = crew.length
      ? h(
          "ul",
          { class: "crew-list" },
          crew.map((member) => {
            const said = words.estimates.get(member.alert_id);
            const estimate = said ? h("span", { class: "crew-estimate", text: said }) : null;
            if (estimate) estimates.set(member.alert_id, estimate);
            return h(
              "li",
              { class: `crew-member crew-${member.state}` },
              h("span", { class: "crew-name", text: member.responder_id === alert.responder_id ? `${member.responder_name} (you)` : member.responder_name }),
              h("span", { class: "crew-station", text: member.station }),
              h("span", { class: `chip chip-${member.state}`, text: STATE_LABELS[member.state] || member.state }),
              hasAttended(member) && member.state !== "on_scene" ? h("span", { class: "crew-attended", text: "Attended" }) : null,
              estimate,
            );
          }),
        )
      : h("p", { class: "empty", text: "No crew information yet." });
    drawn = { first, estimates };
    return { first, list };
  }

  function render() {
    const state = store.state;
    const alert = state.alerts.get(id);
    loadPositions();
    top.show([state.connection.status, state.online], () => topbar(state, { path: alertPath(id), label: "Alert" }));
    if (!alert) {
      body.show(["missing", local.error], () => [h("h1", { text: "Crew" }), local.error ? notice("danger", local.error) : h("p", { text: "Loading…" })]);
      return;
    }
    const { incident, crew, shared } = crewGoing(state, alert);
    const ended = crewEndNotice(alert, incident, checklistNow(), { loggedOnScene: attendedHere(state, alert) });
    // Redrawn when what it shows changes; the minutes counting down are countDown's, not this key's.
    body.show([incident, crew, alert.state, ended?.text, local.error, shared], () => {
      const { first, list } = drawArrivals(alert, crew, crewArrivalWords(shared, crew, incident.ambulance_eta));
      return [
        h("h1", { text: "Crew" }),
        h("p", { class: "lead", text: incident.address }),
        ended ? notice(ended.kind, ended.text) : null,
        crew.length ? h("p", { class: "crew-summary", text: crewSummary(crew, incident) }) : null,
        first,
        local.error ? notice("warning", local.error) : null,
        list,
      ];
    });
  }

  const unsubscribe = store.subscribe(render);
  const stopCounting = every(1000, countDown);
  render();
  ctx.sync
    ?.ensureAlert(id)
    .then(() => (local.error = null))
    .catch((error) => (local.error = error.status === 404 ? "This alert was not found." : `Could not refresh: ${error.message}`))
    .finally(render);
  return () => {
    unsubscribe();
    stopCounting();
  };
}
