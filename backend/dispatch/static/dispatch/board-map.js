// The coordinators' map: every open incident, the stations, the responders' shared positions with
// their arrival estimates, and the nearest defibrillators of each incident, with those
// defibrillators also as text (the map itself is decorative: app/map.js). Used by the live board
// (board.js) and meant for any other page that shows the board's picture.
//
//   const boardMap = mountBoardMap(container);   // draws into `container` (an empty element)
//                                                  // {onPick(lat, lng)}: a click on the map picks a place
//                                                  // (the control room's board: a new incident there)
//   boardMap.frame(frame)                         // every socket frame; true if positions changed
//                                                  // (the snapshot's `defibrillators` are taken too)
//   boardMap.update(incidents)                    // the incidents shown (board-state.js objects)
//   boardMap.destroy()
//
// The responders' alerts (the snapshot's `alerts`, `board.alert` frames) say who is still on their
// way: only they are drawn with an arrival estimate (/app/arrival.js, as the board's rows and
// "Likely first"); one on scene keeps their marker while they share, labelled "on scene".
//
// Positions come from the board's snapshot (`positions`: a list of the contract's position items,
// each with its incident_id, or each incident's own `positions`) and from `position.updated` /
// `position.cleared` frames; they are never stored on this page beyond what is shown. Leaflet is
// loaded (by app/map.js) only when the map is drawn.

import { positionsOnTheWay, remainingSeconds } from "/app/arrival.js";
import { accessText, hoursText, metresText, whereText } from "/app/defibrillators.js";
import { ALERT_STATES } from "/app/labels.js";
import { estimateText, openMap } from "/app/map.js";

// --- Positions (no DOM; tests/js/maps.test.mjs) -----------------------------------------------

export function createPositions() {
  return new Map(); // alert_id -> position item
}

function framePayload(frame) {
  return frame.data && typeof frame.data === "object" ? frame.data : frame;
}

function positionItem(item, incidentId = item.incident_id) {
  const alertId = Number(item?.alert_id);
  if (!Number.isSafeInteger(alertId)) return null;
  return { ...item, alert_id: alertId, incident_id: Number(incidentId) };
}

/** Apply one socket frame to the positions; true if they changed. */
export function applyPositionFrame(positions, frame) {
  if (!frame || typeof frame !== "object") return false;
  const data = framePayload(frame);
  switch (frame.type) {
    case "board.snapshot": {
      positions.clear();
      const listed = Array.isArray(data?.positions) ? data.positions : [];
      for (const item of listed) {
        const position = positionItem(item);
        if (position) positions.set(position.alert_id, position);
      }
      for (const incident of data?.incidents ?? []) {
        for (const item of incident.positions ?? []) {
          const position = positionItem(item, item.incident_id ?? incident.id);
          if (position) positions.set(position.alert_id, position);
        }
      }
      return true;
    }
    case "position.updated": {
      const position = positionItem(data);
      if (!position) return false;
      const known = positions.get(position.alert_id);
      if (known && String(known.recorded_at ?? "") > String(position.recorded_at ?? "")) return false; // an older fix, late
      positions.set(position.alert_id, position);
      return true;
    }
    case "position.cleared":
      return positions.delete(Number(data?.alert_id));
    case "board.incident":
      // An incident no longer open takes its positions with it.
      if (data?.status && data.status !== "open") {
        let changed = false;
        for (const [alertId, position] of positions) {
          if (position.incident_id === Number(data.id)) changed = positions.delete(alertId) || changed;
        }
        return changed;
      }
      return false;
    default:
      return false;
  }
}

/** The responders' alerts, as far as the map needs them (alert id -> {id, incident_id, state,
 *  version}): from the snapshot's `alerts` and `board.alert` frames, keeping the highest version
 *  of each as the board does (board-state.js). True if a state the map shows changed. */
export function createAlerts() {
  return new Map();
}

export function applyAlertFrame(alerts, frame) {
  if (!frame || typeof frame !== "object") return false;
  const keep = (alert) => {
    const id = Number(alert?.id);
    if (!Number.isSafeInteger(id)) return false;
    const known = alerts.get(id);
    if (known && Number(known.version) >= Number(alert.version)) return false;
    alerts.set(id, { id, incident_id: alert.incident_id, state: alert.state, version: alert.version });
    return known?.state !== alert.state;
  };
  switch (frame.type) {
    case "board.snapshot":
      alerts.clear();
      for (const alert of framePayload(frame)?.alerts ?? []) keep(alert);
      return true;
    case "board.alert":
      return keep(framePayload(frame));
    default:
      return false;
  }
}

/** The positions as the map draws them: those of responders still on their way with their
 *  estimates (positionsOnTheWay: the board's rule) as at `now`, the others (on scene) with none,
 *  and what they are now instead ("on scene": `state_label`). */
export function positionsToDraw(positions, alerts, now = Date.now()) {
  const going = new Set(positionsOnTheWay(positions, [...alerts.values()]).map((position) => position.alert_id));
  return positions.map((position) => {
    if (going.has(position.alert_id)) return { ...position, estimate: estimateAt(position, now) };
    const label = ALERT_STATES[alerts.get(position.alert_id)?.state];
    return { ...position, estimate: null, state_label: label ? label.charAt(0).toLowerCase() + label.slice(1) : "" };
  });
}

/** A responder's estimate as at `now`: the seconds still to go, counted from when it was worked
 *  out (/app/arrival.js, remainingSeconds), as the cards' rows and "Likely first" count them. The
 *  map's labels (app/map.js) say the estimate's seconds as they are given: given as worked out,
 *  the map said "ETA 8 min" beside a card's "about 7 min" for the same responder (found by a
 *  browser trial). */
export function estimateAt(position, now = Date.now()) {
  const seconds = remainingSeconds(position, now);
  if (seconds === null) return position.estimate ?? null;
  return { ...position.estimate, eta_seconds: seconds, computed_at: new Date(now).toISOString() };
}

/** The snapshot's nearest defibrillators per open incident (`defibrillators`: [{incident_id,
 *  radius_m, defibrillators}], as GET .../defibrillators/ answers) into `known` (incident id ->
 *  list); true if it held any. Incidents opened after the snapshot are asked for over the API. */
export function applyDefibrillatorsFrame(known, frame) {
  if (frame?.type !== "board.snapshot" || !Array.isArray(frame.data?.defibrillators)) return false;
  for (const item of frame.data.defibrillators) {
    const incidentId = Number(item?.incident_id);
    if (Number.isSafeInteger(incidentId) && Array.isArray(item.defibrillators)) known.set(incidentId, item.defibrillators);
  }
  return true;
}

/** The positions of the open incidents shown, each labelled with who it is. */
export function positionsToShow(positions, incidents) {
  const open = new Set(incidents.filter((incident) => incident.status === "open").map((incident) => incident.id));
  return [...positions.values()].filter((position) => open.has(position.incident_id));
}

/** "Alice: 2.4 km, ETA 4 min (estimate)", or "Mo Kemp: on scene": a responder's line in the
 *  map's text (positionsToDraw's items, their estimates counted to when they were drawn), with
 *  "· position 4 min old" after an estimate from an old fix (app/map.js, estimateText). */
export function responderText(position) {
  const said = estimateText(position.estimate, null, position.recorded_at) || position.state_label;
  return `${position.responder_name || "Responder"}${said ? `: ${said}` : ""}`;
}

/** The positions as the map labels them (positionsToDraw's items): while more than one incident is
 *  on the map, each label names the incident its responder is going to by its CAD reference, as the
 *  board names incidents ("On CAD-2 (en route)": board-state.js), a line of its own above the
 *  estimate, as the defibrillators' labels are (app/map.js pinElement): ["Mo Kemp on CAD-T3-009"]
 *  (found by a browser trial: with several incidents open, whose responder was which?). */
export function responderMarkers(positions, incidents) {
  if (incidents.length < 2) return positions;
  const references = new Map(incidents.map((incident) => [incident.id, incident.cad_reference]));
  return positions.map((position) => {
    const reference = references.get(position.incident_id);
    return reference ? { ...position, map_label: [`${position.responder_name || "Responder"} on ${reference}`] } : position;
  });
}

/** One of an incident's defibrillators as a line of text, in the alert screen's words
 *  (/app/defibrillators.js): "AED 1: Public access, 240 m; Forum, Inside the main entrance, left
 *  of the lifts, ground floor, indoors; Open now (Mo-Su 07:00-22:00)". */
export function defibrillatorLine(defibrillator, index) {
  const distance = metresText(defibrillator.distance_m);
  return `AED ${index + 1}: ${accessText(defibrillator)}${distance ? `, ${distance}` : ""}; ${whereText(defibrillator)}; ${hoursText(defibrillator)}`;
}

// --- The drawing --------------------------------------------------------------------------------

async function getJson(path) {
  const response = await fetch(path, { credentials: "same-origin", headers: { Accept: "application/json" }, cache: "no-store" });
  if (!response.ok) {
    const error = new Error(`${path}: ${response.status}`);
    error.status = response.status;
    throw error;
  }
  return response.json();
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** One marker per defibrillator for the open incidents' nearest lists (`known`: incident id → list),
 *  labelled as the lists number it ("AED 2"). While more than one incident has a list on the map,
 *  each label names its incident as the lists beside the map are headed, a line of its own (the
 *  access note under it: app/map.js pinElement): ["AED 2 of CAD-T3-008"] (found by a tester: "AED
 *  1" next to one incident was another's, and a defibrillator in two lists read "AED 1 · AED 2":
 *  whose first, whose second?). A defibrillator near two incidents is still one marker, a line per
 *  incident (["AED 1 of CAD-T3-009", "AED 2 of CAD-T3-008"]): two labels at one spot read as two
 *  defibrillators. */
export function defibrillatorMarkers(incidents, known) {
  const listed = incidents.filter((incident) => Array.isArray(known.get(incident.id)) && known.get(incident.id).length);
  const named = listed.length > 1;
  const markers = new Map();
  for (const incident of listed) {
    known.get(incident.id).forEach((defibrillator, index) => {
      const key = defibrillator.id ?? `${defibrillator.latitude},${defibrillator.longitude}`;
      if (!named) {
        markers.set(key, { ...defibrillator, map_label: `AED ${index + 1}` });
        return;
      }
      const line = `AED ${index + 1} of ${incident.cad_reference}`;
      const marker = markers.get(key);
      if (!marker) markers.set(key, { ...defibrillator, map_label: [line] });
      else if (!marker.map_label.includes(line)) marker.map_label.push(line);
    });
  }
  return [...markers.values()];
}

export function mountBoardMap(container, { fetchJson = getJson, onPick = null } = {}) {
  const positions = createPositions();
  const alerts = createAlerts();
  const defibrillators = new Map(); // incident id -> list | "none" | "loading"
  let incidents = [];
  let map = null;
  let destroyed = false;

  const canvas = el("div", "board-map-canvas");
  const text = el("div", "board-map-text");
  container.classList.add("board-map");
  container.replaceChildren(canvas, text);

  const ready = (async () => {
    let settings = { tile_url: "", attribution: "", stations: [] };
    try {
      settings = await fetchJson("/api/v1/map/");
    } catch (error) {
      console.warn("Board map: no map settings,", error.message);
    }
    if (destroyed) return;
    // The labels grow with the page's type on the control room's board (wall.css): the fit leaves
    // room for them as drawn.
    map = await openMap(canvas, { tileUrl: settings.tile_url, attribution: settings.attribution, pan: true, fitToLabels: true });
    map.setStations(settings.stations);
    // A click on the map picks a place (the control room's board: a new incident there).
    if (onPick) map.leafletMap.on("click", (event) => onPick(event.latlng.lat, event.latlng.lng));
    draw();
  })().catch((error) => {
    console.warn("Board map not shown:", error?.message || error);
    canvas.hidden = true;
  });

  function loadDefibrillators(incident) {
    if (defibrillators.has(incident.id)) return;
    defibrillators.set(incident.id, "loading");
    fetchJson(`/api/v1/incidents/${encodeURIComponent(incident.id)}/defibrillators/`)
      .then((answer) => defibrillators.set(incident.id, Array.isArray(answer?.defibrillators) ? answer.defibrillators : []))
      .catch(() => defibrillators.set(incident.id, "none")) // 404 (none known, or not yet served) or offline
      .finally(() => !destroyed && draw());
  }

  function openIncidents() {
    return incidents.filter((incident) => incident.status === "open");
  }

  function drawText(open, shownPositions) {
    const parts = [];
    for (const incident of open) {
      const list = defibrillators.get(incident.id);
      const people = shownPositions.filter((position) => position.incident_id === incident.id);
      if (!Array.isArray(list) && !people.length) continue;
      const block = el("div", "board-map-incident");
      block.dataset.incidentId = incident.id;
      block.append(el("h3", "", `${incident.cad_reference}: ${incident.address || "no address"}`));
      if (people.length) {
        const ul = el("ul", "board-map-positions");
        for (const position of people) {
          const li = el("li", "", responderText(position));
          li.dataset.alertId = position.alert_id;
          ul.append(li);
        }
        block.append(el("p", "board-map-label", "Sharing their position:"), ul);
      }
      if (Array.isArray(list)) {
        if (list.length) {
          const ol = el("ol", "board-map-defibs");
          list.forEach((defibrillator, index) => ol.append(el("li", "", defibrillatorLine(defibrillator, index))));
          block.append(el("p", "board-map-label", "Nearest defibrillators:"), ol);
        } else {
          block.append(el("p", "board-map-label", "No defibrillator registered nearby."));
        }
      }
      parts.push(block);
    }
    const sources = new Set(
      [...defibrillators.values()].filter(Array.isArray).flat().map((defibrillator) => defibrillator.attribution).filter(Boolean),
    );
    if (sources.size) parts.push(el("p", "board-map-source", `Defibrillator data: ${[...sources].join("; ")}`));
    text.replaceChildren(...parts);
  }

  function draw() {
    const open = openIncidents();
    const shownPositions = positionsToDraw(positionsToShow(positions, open), alerts);
    for (const incident of open) loadDefibrillators(incident);
    drawText(open, shownPositions);
    if (!map) return;
    map.setIncidents(open.map((incident) => ({ id: incident.id, latitude: incident.latitude, longitude: incident.longitude, label: incident.cad_reference })));
    map.setResponders(responderMarkers(shownPositions, open));
    map.setDefibrillators(defibrillatorMarkers(open, defibrillators));
  }

  return {
    ready,
    positions,
    /** Every frame from the board's socket; true if the positions changed (and were redrawn). */
    frame(frame) {
      const changed = applyPositionFrame(positions, frame);
      const listed = applyDefibrillatorsFrame(defibrillators, frame);
      const states = applyAlertFrame(alerts, frame);
      if (changed || listed || states) draw();
      return changed;
    },
    /** The incidents the board shows (board-state.js's objects). */
    update(shownIncidents) {
      incidents = shownIncidents;
      draw();
    },
    destroy() {
      destroyed = true;
      map?.destroy();
      container.replaceChildren();
    },
  };
}
