// The alert screen's map and its text: the nearest defibrillators as a list (the access, where it
// is, the level, whether it is open now, how far), and a map of the incident, this phone, the
// stations and those defibrillators. The list is the information; the map only shows the same
// (it is hidden from screen readers and takes no focus: app/map.js).
//
// The list is part of the app shell and works offline: the last answer for each incident is kept
// on this phone (the kv store, cleared at logout) like the alert itself. The map is not in the shell:
// app/map.js and Leaflet are imported only when a map is shown, and the service worker keeps them.
//
// This phone's own position is drawn on the map only, never sent from here (the app's position
// sharing sends it, by consent, while responding). It is asked for only once the firefighter has accepted: before
// that a permission prompt would cover the answer buttons, and nobody's position is needed for a
// job they have not taken. If the phone already allows it, it is shown before accepting too.

import { accessText, hoursText, isPublic, metresText, whereText } from "../defibrillators.js";
import { h } from "../dom.js";
import { appGeolocation } from "../geolocation.js";
import { COMMITTED, UNANSWERED } from "../store.js";
import { region } from "./parts.js";

const SETTINGS_KEY = "map-settings";
const DEFIBRILLATORS_KEY = (incidentId) => `defibrillators-${incidentId}`;
const RETRY_AFTER_MS = 30000; // a failed load is tried again on a later render, not in a loop
const NO_SETTINGS = { tile_url: "", attribution: "", stations: [] };

// --- The words (no DOM state; tests/js/maps.test.mjs; each defibrillator's: ../defibrillators.js) --

/** The list items' data: label (matching the map's), heading, where, hours, distance. */
export function defibrillatorItems(defibrillators) {
  return (defibrillators || []).map((defibrillator, index) => ({
    id: defibrillator.id,
    label: `AED ${index + 1}`,
    access: accessText(defibrillator),
    public: isPublic(defibrillator),
    where: whereText(defibrillator),
    hours: hoursText(defibrillator),
    open: defibrillator.open_now,
    distance: metresText(defibrillator.distance_m),
  }));
}

export function attributionsOf(defibrillators) {
  return [...new Set((defibrillators || []).map((d) => d.attribution).filter(Boolean))];
}

/** What the list says when there is no list: not loaded, none near, not available. */
export function defibrillatorsMessage({ answer, error, loading }) {
  if (answer && !answer.defibrillators.length) {
    return `No defibrillator is registered within ${metresText(answer.radius_m) || "the search radius"}.`;
  }
  if (answer) return "";
  if (loading) return "Looking for defibrillators near the incident…";
  if (error === "offline") return "Defibrillators not loaded: no connection. They will be looked up when the signal is back.";
  if (error === "not_found") return "No defibrillator information for this incident.";
  if (error) return "Defibrillators could not be loaded.";
  return "";
}

// --- The section ---------------------------------------------------------------------------------

export function alertMap(ctx, alertId) {
  const local = {
    incidentId: null,
    answer: null, // {radius_m, defibrillators, saved_at?, fromCache}
    error: null, // "offline" | "not_found" | "failed"
    loading: false,
    triedAt: 0,
    settings: null,
    map: null,
    mapState: "none", // none | loading | shown | failed
    me: null,
    watchId: null,
    destroyed: false,
  };
  const mapBox = h("div", { class: "alert-map", hidden: true });
  const list = region("section", { class: "alert-defibs", "aria-labelledby": `defibs-heading-${alertId}` });
  const element = h("div", { class: "alert-around", hidden: true }, mapBox, list);

  async function cached(key) {
    try {
      return (await ctx.stores?.kv?.get(key)) || null;
    } catch {
      return null;
    }
  }

  function keep(key, value) {
    ctx.stores?.kv?.put({ key, ...value, saved_at: new Date().toISOString() }).catch(() => {});
  }

  async function mapSettings() {
    if (local.settings) return local.settings;
    try {
      const answer = await ctx.api.request("GET", "/map/");
      keep(SETTINGS_KEY, answer);
      local.settings = answer;
    } catch {
      local.settings = (await cached(SETTINGS_KEY)) || NO_SETTINGS;
    }
    return local.settings;
  }

  async function loadDefibrillators(incidentId) {
    if (local.loading || (local.answer && !local.answer.fromCache) || Date.now() - local.triedAt < RETRY_AFTER_MS) return;
    local.loading = true;
    local.triedAt = Date.now();
    if (!local.answer) {
      const saved = await cached(DEFIBRILLATORS_KEY(incidentId));
      if (saved) local.answer = { ...saved, fromCache: true };
    }
    drawList();
    try {
      const answer = await ctx.api.request("GET", `/incidents/${Number(incidentId)}/defibrillators/`);
      local.answer = { radius_m: answer?.radius_m, defibrillators: Array.isArray(answer?.defibrillators) ? answer.defibrillators : [], fromCache: false };
      local.error = null;
      keep(DEFIBRILLATORS_KEY(incidentId), { radius_m: local.answer.radius_m, defibrillators: local.answer.defibrillators });
    } catch (error) {
      local.error = error?.status === 0 ? "offline" : error?.status === 404 ? "not_found" : "failed";
    }
    local.loading = false;
    if (local.destroyed) return;
    drawList();
    local.map?.setDefibrillators(local.answer?.defibrillators || []);
  }

  function drawList() {
    const items = defibrillatorItems(local.answer?.defibrillators);
    const message = defibrillatorsMessage(local);
    list.show([items, message, local.answer?.fromCache || false, attributionsOf(local.answer?.defibrillators)], () => [
      h("h2", { id: `defibs-heading-${alertId}`, text: "Nearest defibrillators" }),
      message ? h("p", { class: "defibs-message", text: message }) : null,
      items.length
        ? h(
            "ol",
            { class: "defibs" },
            items.map((item) =>
              h(
                "li",
                { class: ["defib", item.public ? "defib-public" : "defib-restricted"], dataset: { defibrillatorId: item.id } },
                h("p", { class: "defib-head" }, h("strong", { text: `${item.label}: ${item.access}` }), item.distance ? `, ${item.distance}` : ""),
                h("p", { class: "defib-where", text: item.where }),
                h("p", { class: ["defib-hours", item.open === false ? "defib-closed" : null], text: item.hours }),
              ),
            ),
          )
        : null,
      local.answer?.fromCache && local.error ? h("p", { class: "defibs-message", text: "Saved on this phone earlier; not updated (no connection)." }) : null,
      attributionsOf(local.answer?.defibrillators).length
        ? h("p", { class: "defibs-source", text: `Defibrillator data: ${attributionsOf(local.answer.defibrillators).join("; ")}` })
        : null,
    ]);
  }

  async function showMap(incident) {
    if (local.mapState !== "none") return;
    local.mapState = "loading";
    try {
      const settings = await mapSettings();
      const { openMap } = await import("../map.js");
      if (local.destroyed) return;
      mapBox.hidden = false;
      local.map = await openMap(mapBox, { tileUrl: settings.tile_url, attribution: settings.attribution, pan: false });
      if (local.destroyed) return local.map.destroy();
      local.map.setStations(settings.stations);
      local.map.setIncident({ latitude: incident.latitude, longitude: incident.longitude, label: "Incident" });
      local.map.setDefibrillators(local.answer?.defibrillators || []);
      local.map.setMe(local.me);
      local.mapState = "shown";
    } catch (error) {
      // No map (offline before it was ever shown, or a browser without what it needs): the
      // address, Navigate and the list say everything the map would.
      console.warn("Map not shown:", error?.message || error);
      mapBox.hidden = true;
      local.mapState = "failed";
    }
  }

  function watchMe() {
    const geolocation = appGeolocation(); // shared with the position sharing: one watch for the app
    if (local.watchId !== null || !geolocation) return;
    local.watchId = geolocation.watchPosition(
      (fix) => {
        local.me = { latitude: fix.coords.latitude, longitude: fix.coords.longitude, accuracy_m: fix.coords.accuracy };
        local.map?.setMe(local.me);
      },
      () => {}, // refused or unavailable: the map shows the rest
    );
  }

  function stopWatchingMe() {
    if (local.watchId === null && local.me === null) return;
    if (local.watchId !== null) appGeolocation()?.clearWatch(local.watchId);
    local.watchId = null;
    local.me = null;
    local.map?.setMe(null);
  }

  async function maybeWatchMe(alert) {
    // Declined, cleared, stood down: the phone's position is no longer of use here.
    if (!COMMITTED.has(alert.state) && !UNANSWERED.has(alert.state)) return stopWatchingMe();
    if (local.watchId !== null) return;
    if (COMMITTED.has(alert.state)) return watchMe();
    // Not committed: only if the phone allows it already (no prompt over the answer buttons).
    try {
      const status = await navigator.permissions?.query({ name: "geolocation" });
      if (status?.state === "granted" && !local.destroyed) watchMe();
    } catch {
      // no Permissions API: wait for accepting
    }
  }

  /** Called on every render of the alert screen. */
  function update(alert, incident) {
    const shown = incident.status === "open" && !["stood_down", "cancelled"].includes(alert.state);
    element.hidden = !shown;
    if (!shown) return stopWatchingMe();
    if (local.incidentId !== incident.id) {
      local.incidentId = incident.id;
      local.answer = null;
      local.triedAt = 0;
    }
    drawList();
    loadDefibrillators(incident.id);
    showMap(incident);
    maybeWatchMe(alert);
  }

  function destroy() {
    stopWatchingMe();
    local.destroyed = true;
    local.map?.destroy();
  }

  return { element, update, destroy };
}
