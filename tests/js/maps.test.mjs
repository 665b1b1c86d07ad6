// The maps' words and bookkeeping (issue 14): the alert screen's list of the nearest
// defibrillators (views/alert-map.js), what app/map.js fits the view to, and the board's
// positions from its snapshot and frames (dispatch/board-map.js), with fixtures in the shapes of
// the contract (GET .../defibrillators/, position.updated / position.cleared).
import "./support/app-paths.mjs";

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";

const around = await import("../../pwa/app/views/alert-map.js");
const words = await import("../../pwa/app/defibrillators.js");
const map = await import("../../pwa/app/map.js");
const boardMap = await import("../../backend/dispatch/static/dispatch/board-map.js");

const FORUM = {
  id: 7, latitude: 52.63, longitude: 1.29, distance_m: 240, name: "Forum", access: "yes", access_label: "Public access",
  location: "Inside the main entrance, left of the lifts", level: "0", indoor: true, opening_hours: "Mo-Su 07:00-22:00",
  open_now: true, source: "osm", attribution: "© OpenStreetMap contributors (ODbL)",
};
const SURGERY = {
  id: 9, latitude: 52.631, longitude: 1.291, distance_m: 612.4, name: "", access: "customers", access_label: "Customers only: ask at reception",
  location: "", level: "", indoor: null, opening_hours: "", open_now: null, source: "osm", attribution: "© OpenStreetMap contributors (ODbL)",
};

describe("the alert screen's defibrillators", () => {
  it("lists them nearest first with the access, where, level, hours and distance, numbered as on the map", () => {
    const [first, second] = around.defibrillatorItems([FORUM, SURGERY]);
    assert.deepEqual(first, {
      id: 7, label: "AED 1", access: "Public access", public: true,
      where: "Forum, Inside the main entrance, left of the lifts, ground floor, indoors",
      hours: "Open now (Mo-Su 07:00-22:00)", open: true, distance: "240 m",
    });
    assert.equal(second.label, "AED 2");
    assert.equal(second.access, "Customers only: ask at reception");
    assert.equal(second.public, false);
    assert.equal(second.where, "Location not described");
    assert.equal(second.hours, "Opening hours unknown");
    assert.equal(second.distance, "610 m");
  });

  it("says closed, and the levels, in words", () => {
    assert.equal(words.openNowText({ open_now: false }), "Closed now");
    assert.equal(words.levelText("-1"), "basement level 1");
    assert.equal(words.levelText("2"), "level 2");
    assert.equal(words.metresText(1540), "1.5 km");
    assert.equal(words.metresText(3), "10 m");
  });

  it("does not say the level twice when the location text already says it", () => {
    const reception = { name: "Leisure Centre", location: "Reception desk, ground floor", level: "0", indoor: true };
    assert.equal(words.whereText(reception), "Leisure Centre, Reception desk, ground floor, indoors");
    assert.equal(words.whereText({ location: "First floor landing", level: "1", indoor: true }), "First floor landing, indoors");
    assert.equal(words.whereText({ location: "By the lifts, Level 2.", level: "2" }), "By the lifts, Level 2.");
    // A text that names another level, or a floor in passing, does not hide the tagged level.
    assert.equal(words.whereText({ location: "Ground floor lobby", level: "2" }), "Ground floor lobby, level 2");
    assert.equal(words.whereText({ location: "Behind the counter", level: "0", indoor: true }), "Behind the counter, ground floor, indoors");
    assert.equal(words.whereText({ location: "Next to the floor plan", level: "1" }), "Next to the floor plan, level 1");
  });

  it("reads well for every one of the demo's made-up defibrillators: no level said twice", () => {
    const demo = JSON.parse(readFileSync(new URL("../../backend/places/demo/defibrillators-made-up-for-the-demo.geojson", import.meta.url), "utf8"));
    for (const { properties } of demo.features) {
      const where = words.whereText({
        name: properties.name,
        location: properties["defibrillator:location"],
        level: properties.level ?? "",
        indoor: properties.indoor === "yes" ? true : properties.indoor === "no" ? false : null,
      });
      for (const phrase of ["ground floor", "first floor", "level 1"]) {
        assert.ok(where.toLowerCase().split(phrase).length <= 2, `${properties["@id"]} says "${phrase}" twice: ${where}`);
      }
    }
  });

  it("says why there is no list: none near, offline, not found, loading", () => {
    assert.equal(around.defibrillatorsMessage({ answer: { radius_m: 1000, defibrillators: [] } }), "No defibrillator is registered within 1.0 km.");
    assert.equal(around.defibrillatorsMessage({ answer: { radius_m: 1000, defibrillators: [FORUM] } }), "");
    assert.match(around.defibrillatorsMessage({ answer: null, error: "offline" }), /no connection/);
    assert.match(around.defibrillatorsMessage({ answer: null, error: "not_found" }), /No defibrillator information/);
    assert.match(around.defibrillatorsMessage({ answer: null, loading: true }), /Looking/);
  });

  it("credits each data source once", () => {
    assert.deepEqual(around.attributionsOf([FORUM, SURGERY]), ["© OpenStreetMap contributors (ODbL)"]);
  });
});

describe("the map", () => {
  it("fits the incident, this phone, the responders and the defibrillators, never the stations", () => {
    const points = map.pointsToFit({
      incidents: [{ latitude: 52.6, longitude: 1.3 }],
      me: { latitude: "52.61", longitude: "1.31" },
      responders: [{ latitude: null, longitude: null }],
      defibrillators: [FORUM],
    });
    assert.deepEqual(points, [[52.6, 1.3], [52.61, 1.31], [52.63, 1.29]]);
    assert.deepEqual(map.pointsToFit({ incidents: [{ latitude: 95, longitude: 0 }] }), []);
  });

  it("fits the stations, the scheme's area, when there is nothing else (the board with no open incident)", () => {
    // Found by trying the product: Great Britain at 200 km to the scale bar, one station's label on it.
    const stations = [{ latitude: 52.6237, longitude: 1.3113 }, { latitude: "52.7517", longitude: "0.4034" }, { latitude: null, longitude: 1 }];
    assert.deepEqual(map.pointsToFit({ incidents: [], stations }), [[52.6237, 1.3113], [52.7517, 0.4034]]);
    // Anything else to show, and the stations are context only.
    assert.deepEqual(map.pointsToFit({ incidents: [{ latitude: 52.6, longitude: 1.3 }], stations }), [[52.6, 1.3]]);
  });

  // Found by trying the board with no open incident: room for "Norwich (Carrow)" kept at the right,
  // the stations in a third of the panel. The stations' labels go on whichever side has room.
  it("fits the stations alone as close as their dots allow, with room for the labels' height", () => {
    const faces = [{ width: 160, height: 24, offsetX: 9, offsetY: 9 }, { width: 90, height: 24, offsetX: 9, offsetY: 9 }];
    assert.deepEqual(map.areaPadding(faces), { paddingTopLeft: [28, 28], paddingBottomRight: [28, 28] });
    // Larger faces (a wall screen's type): their dots' and labels' reach, and no label's width.
    assert.deepEqual(map.areaPadding([{ width: 300, height: 70, offsetX: 32, offsetY: 30 }]), { paddingTopLeft: [32, 30], paddingBottomRight: [32, 40] });
  });

  it("leaves room at the edges for the labels as drawn (the board's grow with its type)", () => {
    const size = { x: 1200, y: 800 };
    // Small faces: the phone's fixed room (28 px, and 96 px to the right for the labels).
    assert.deepEqual(map.fitPadding([{ width: 90, height: 20, offsetX: 8, offsetY: 8 }], size), {
      paddingTopLeft: [28, 28],
      paddingBottomRight: [96, 28],
    });
    // A wall screen's label, 260 px wide and 40 px high, to the right of its point.
    assert.deepEqual(map.fitPadding([{ width: 260, height: 40, offsetX: 14, offsetY: 14 }, { width: 120, height: 70, offsetX: 40, offsetY: 35 }], size), {
      paddingTopLeft: [40, 35],
      paddingBottomRight: [246, 35],
    });
  });

  it("never leaves more than most of a small map as room for the labels", () => {
    const { paddingTopLeft, paddingBottomRight } = map.fitPadding([{ width: 900, height: 300, offsetX: 100, offsetY: 150 }], { x: 500, y: 200 });
    assert.ok(paddingTopLeft[0] + paddingBottomRight[0] <= 300, JSON.stringify({ paddingTopLeft, paddingBottomRight }));
    assert.ok(paddingTopLeft[1] + paddingBottomRight[1] <= 120, JSON.stringify({ paddingTopLeft, paddingBottomRight }));
  });

  // Found by a tester: "Sam Day 39.6 km, ETA 59 min (estimate" cut off at the wall board's right
  // edge (its map 410 px wide at 1280x720, the label 253 px). Room on the right cut to 60 % of the
  // map put the easternmost responder where the label fitted on neither side of its dot.
  it("leaves a label too wide for the right of a small map room to the left of its point", () => {
    const size = { x: 410, y: 300 };
    const sam = { width: 273, height: 22, offsetX: 10, offsetY: 10 }; // dot 20 px, gap 0, label 253 px
    const { paddingTopLeft, paddingBottomRight } = map.fitPadding([sam], size);
    const x = size.x - paddingBottomRight[0]; // where the easternmost point is drawn
    const fitsRight = x + (sam.width - sam.offsetX) <= size.x;
    const fitsLeft = x - (sam.width - sam.offsetX) >= 0;
    assert.ok(fitsRight || fitsLeft, JSON.stringify({ paddingTopLeft, paddingBottomRight, x }));
    // A wide map keeps the labels to the right of their points, with room for them.
    assert.deepEqual(map.fitPadding([sam], { x: 1200, y: 800 }).paddingBottomRight, [263, 28]);
  });

  // Found by a tester: "m Barker 0.3 km, ETA 1 min (estimate)" and "lex Cole 0.2 km, ..." cut off
  // at the LEFT edge of the board's map at 1600x1000 (513 px wide, the labels 309 px from their
  // points). The room on the right, too much for 60 % of the map, was cut to the dot's, and the fit
  // put the points in the map's middle, where such a label fits on neither side. Wherever the fit
  // may put a point, its label fits to its right or to its left (labelSide).
  it("leaves every point it fits room for its label on one side or the other", () => {
    const cases = [
      { size: { x: 513, y: 470 }, faces: [{ width: 317, height: 24, offsetX: 8, offsetY: 8 }, { width: 219, height: 30, offsetX: 8, offsetY: 8 }] },
      { size: { x: 410, y: 300 }, faces: [{ width: 273, height: 22, offsetX: 10, offsetY: 10 }] },
      { size: { x: 640, y: 500 }, faces: [{ width: 400, height: 22, offsetX: 8.01, offsetY: 8 }] },
      { size: { x: 500, y: 400 }, faces: [{ width: 240, height: 22, offsetX: 8, offsetY: 8 }, { width: 60, height: 60, offsetX: 60, offsetY: 30 }] },
      { size: { x: 1200, y: 800 }, faces: [{ width: 260, height: 40, offsetX: 14, offsetY: 14 }] },
    ];
    for (const { size, faces } of cases) {
      const { paddingTopLeft, paddingBottomRight } = map.fitPadding(faces, size);
      for (let x = paddingTopLeft[0]; x <= size.x - paddingBottomRight[0]; x += 1) {
        for (const face of faces) {
          const reach = face.width - face.offsetX; // from the point, on either side
          const fits = x + reach <= size.x || x - reach >= 0;
          assert.ok(fits, JSON.stringify({ size, face, paddingTopLeft, paddingBottomRight, x }));
        }
      }
    }
  });

  it("still leaves most of a small map to the map when a label is wider than the room it may have", () => {
    // 80 % of the map at most for a label wider than half of it: a wider one is cut whatever the fit.
    const { paddingTopLeft, paddingBottomRight } = map.fitPadding([{ width: 420, height: 22, offsetX: 8, offsetY: 8 }], { x: 513, y: 400 });
    assert.ok(paddingTopLeft[0] + paddingBottomRight[0] <= 0.6 * 513, JSON.stringify({ paddingTopLeft, paddingBottomRight }));
    const room = map.fitPadding([{ width: 360, height: 22, offsetX: 8, offsetY: 8 }], { x: 513, y: 400 });
    assert.deepEqual(room.paddingBottomRight[0], 352);
    assert.ok(room.paddingTopLeft[0] + room.paddingBottomRight[0] <= 0.8 * 513);
  });

  it("places a label left of its dot where it would run off the map's right edge", () => {
    const within = { left: 0, top: 0, right: 410, bottom: 300 };
    const rect = (left, top, width, height) => ({ left, top, right: left + width, bottom: top + height });
    // A dot at x = 380 (20 px), its 253 px label 4 px to the right of it.
    const face = (x, width = 253) => ({ dot: rect(x - 10, 100, 20, 20), label: rect(x + 14, 100, width, 20) });
    assert.deepEqual(map.labelSide(face(100), within), { dx: 0, inside: true });
    const { dx, inside } = map.labelSide(face(380), within);
    assert.equal(inside, true);
    assert.equal(face(380).label.right + dx, 380 - 14, "the same gap, on the dot's left");
    // Neither side has room: the side that cuts less, and said to be cut (the map fits again).
    assert.deepEqual(map.labelSide(face(200), within), { dx: 0, inside: false });
    assert.equal(map.labelSide(face(250), within).inside, false);
    assert.ok(map.labelSide(face(250), within).dx < 0);
    // The line to a label moved below, and to its left, goes left from the dot's centre.
    const marker = { pin: rect(370, 100, 287, 20), dot: rect(370, 100, 20, 20), label: rect(113, 100, 253, 20) };
    assert.deepEqual(map.leaderBox(marker, 30), { left: 0 - 4, top: 10, width: 14, height: 30, up: false, toLeft: true });
  });

  it("notes on a defibrillator's marker when it is not public", () => {
    assert.equal(map.accessNote("yes"), "");
    assert.equal(map.accessNote("customers"), "not public");
    assert.equal(map.accessNote("private"), "not public");
    assert.equal(map.accessNote("unknown"), "access unknown");
  });

  it("labels an arrival estimate as an estimate unless routed", () => {
    assert.equal(map.estimateText({ distance_km: 2.4, eta_seconds: 260, method: "estimate" }), "2.4 km, ETA 4 min (estimate)");
    assert.equal(map.estimateText({ distance_km: 2.4, eta_seconds: 20, method: "routing" }), "2.4 km, ETA 1 min");
    assert.equal(map.estimateText(null), "");
  });

  it("names the Leaflet version pinned in frontend/package-lock.json (so an upgrade renews the maps' cache)", () => {
    const lock = JSON.parse(readFileSync(new URL("../../frontend/package-lock.json", import.meta.url), "utf8"));
    assert.equal(map.LEAFLET_VERSION, lock.packages["node_modules/leaflet"].version);
  });

  it("loads Leaflet and its styles from this site only", () => {
    for (const url of [map.LEAFLET_SCRIPT, map.LEAFLET_STYLESHEET, map.MAP_STYLESHEET]) assert.match(url, /^\/(static\/vendor\/leaflet|app)\//);
  });
});

describe("the board's defibrillators", () => {
  const aed = (id, latitude) => ({ id, latitude, longitude: 1.3, access: "yes" });
  const labels = (markers) => markers.map((marker) => [marker.id, marker.map_label]);

  it("labels them as the list does while one incident is open", () => {
    const known = new Map([[1, [aed(7, 52.6), aed(8, 52.61)]]]);
    assert.deepEqual(labels(boardMap.defibrillatorMarkers([{ id: 1, cad_reference: "A" }], known)), [[7, "AED 1"], [8, "AED 2"]]);
  });

  it("draws a defibrillator near two open incidents once, saying which it is in each list", () => {
    // Seen trying the board: two "AED 1" labels on one spot, one per incident, read as two devices.
    // Found by a tester: "AED 1 · AED 2" and "AED 2 · AED 1 not public" on one map: whose first,
    // whose second? Each line names its incident, as the lists beside the map are headed.
    const known = new Map([[1, [aed(7, 52.6), aed(8, 52.61)]], [2, [aed(7, 52.6), aed(9, 52.62)]], [3, [aed(9, 52.62)]]]);
    const incidents = [{ id: 1, cad_reference: "B" }, { id: 2, cad_reference: "C" }, { id: 3, cad_reference: "D" }];
    assert.deepEqual(labels(boardMap.defibrillatorMarkers(incidents, known)), [
      [7, ["AED 1 of B", "AED 1 of C"]],
      [8, ["AED 2 of B"]],
      [9, ["AED 2 of C", "AED 1 of D"]],
    ]);
  });

  it("names the incident of every defibrillator while several incidents have theirs on the map", () => {
    // Two incidents' "AED 1", a few kilometres apart: which incident's is which?
    const known = new Map([[1, [aed(7, 52.6)]], [2, [aed(8, 52.5)]], [3, []]]);
    const incidents = [{ id: 1, cad_reference: "CAD-T3-006" }, { id: 2, cad_reference: "CAD-T3-005" }, { id: 3, cad_reference: "CAD-T3-007" }];
    assert.deepEqual(labels(boardMap.defibrillatorMarkers(incidents, known)), [[7, ["AED 1 of CAD-T3-006"]], [8, ["AED 1 of CAD-T3-005"]]]);
    // An incident with none near it does not count: the other's stay "AED 1".
    assert.deepEqual(labels(boardMap.defibrillatorMarkers(incidents.slice(0, 1).concat(incidents[2]), known)), [[7, "AED 1"]]);
  });

  it("skips an incident whose list has not come yet", () => {
    const known = new Map([[1, [aed(7, 52.6)]], [2, "loading"]]);
    const incidents = [{ id: 1, cad_reference: "A" }, { id: 2, cad_reference: "B" }];
    assert.deepEqual(labels(boardMap.defibrillatorMarkers(incidents, known)), [[7, "AED 1"]]);
  });
});

describe("the board's positions", () => {
  const estimate = { distance_km: 2.4, eta_seconds: 260, method: "estimate", computed_at: "2026-12-04T15:00:00Z" };
  const updated = (alertId, latitude) => ({
    type: "position.updated", alert_id: alertId, incident_id: 3, responder_id: 11, latitude, longitude: 1.3,
    accuracy_m: 12, recorded_at: "2026-12-04T15:00:00Z", estimate,
  });

  it("takes the snapshot's positions, listed or per incident", () => {
    const positions = boardMap.createPositions();
    boardMap.applyPositionFrame(positions, { type: "board.snapshot", data: { incidents: [], alerts: [], positions: [{ ...updated(5, 52.6), type: undefined, responder_name: "Alice" }] } });
    assert.deepEqual([...positions.keys()], [5]);
    boardMap.applyPositionFrame(positions, { type: "board.snapshot", data: { incidents: [{ id: 4, positions: [{ alert_id: 6, latitude: 52.5, longitude: 1.2 }] }] } });
    assert.deepEqual([...positions.keys()], [6]);
    assert.equal(positions.get(6).incident_id, 4);
  });

  it("moves a responder on position.updated and drops them on position.cleared", () => {
    const positions = boardMap.createPositions();
    assert.equal(boardMap.applyPositionFrame(positions, updated(5, 52.6)), true);
    assert.equal(boardMap.applyPositionFrame(positions, updated(5, 52.61)), true);
    assert.equal(positions.get(5).latitude, 52.61);
    assert.equal(boardMap.applyPositionFrame(positions, { type: "position.cleared", alert_id: 5, incident_id: 3 }), true);
    assert.equal(positions.size, 0);
    assert.equal(boardMap.applyPositionFrame(positions, { type: "position.cleared", alert_id: 5, incident_id: 3 }), false);
  });

  it("keeps the newest fix when an older one arrives late", () => {
    const positions = boardMap.createPositions();
    boardMap.applyPositionFrame(positions, { ...updated(5, 52.61), recorded_at: "2026-12-04T15:00:10Z" });
    assert.equal(boardMap.applyPositionFrame(positions, { type: "position.updated", data: { ...updated(5, 52.6), type: undefined } }), false);
    assert.equal(positions.get(5).latitude, 52.61);
  });

  it("takes each open incident's nearest defibrillators from the snapshot", () => {
    const known = new Map();
    const snapshot = { type: "board.snapshot", data: { incidents: [], defibrillators: [{ incident_id: 3, radius_m: 1000, defibrillators: [FORUM] }] } };
    assert.equal(boardMap.applyDefibrillatorsFrame(known, snapshot), true);
    assert.deepEqual(known.get(3), [FORUM]);
    assert.equal(boardMap.applyDefibrillatorsFrame(known, { type: "board.snapshot", data: { incidents: [] } }), false);
  });

  it("forgets the positions of an incident that is no longer open, and shows only open incidents'", () => {
    const positions = boardMap.createPositions();
    boardMap.applyPositionFrame(positions, updated(5, 52.6));
    assert.equal(boardMap.positionsToShow(positions, [{ id: 3, status: "open" }]).length, 1);
    assert.equal(boardMap.positionsToShow(positions, [{ id: 3, status: "closed" }]).length, 0);
    assert.equal(boardMap.applyPositionFrame(positions, { type: "board.incident", data: { id: 3, status: "closed" } }), true);
    assert.equal(positions.size, 0);
  });

  // Found by a tester: the board's rows showed no estimate for a responder on scene, its map still
  // "ETA 2 min". The map knows the alerts' states from the snapshot and board.alert frames.
  it("draws an estimate only for those still on their way, and says who is on scene", () => {
    const positions = boardMap.createPositions();
    const alerts = boardMap.createAlerts();
    const snapshot = {
      type: "board.snapshot",
      data: {
        incidents: [],
        alerts: [{ id: 5, incident_id: 3, state: "en_route", version: 4 }, { id: 6, incident_id: 3, state: "accepted", version: 3 }],
        positions: [{ ...updated(5, 52.6), type: undefined, responder_name: "Mo Kemp" }, { ...updated(6, 52.61), type: undefined, responder_name: "Kate Lowe" }],
      },
    };
    boardMap.applyPositionFrame(positions, snapshot);
    boardMap.applyAlertFrame(alerts, snapshot);
    // Drawn when the estimate was worked out: its minutes as given (they count down from then).
    const drawn = () => boardMap.positionsToDraw([...positions.values()], alerts, Date.parse(estimate.computed_at)).map(boardMap.responderText);
    assert.deepEqual(drawn(), ["Mo Kemp: 2.4 km, ETA 4 min (estimate)", "Kate Lowe: 2.4 km, ETA 4 min (estimate)"]);
    // On scene: still sharing (the marker stays), with no estimate.
    assert.equal(boardMap.applyAlertFrame(alerts, { type: "board.alert", data: { id: 5, incident_id: 3, state: "on_scene", version: 5 } }), true);
    assert.deepEqual(drawn(), ["Mo Kemp: on scene", "Kate Lowe: 2.4 km, ETA 4 min (estimate)"]);
    const [mo] = boardMap.positionsToDraw([...positions.values()], alerts);
    assert.equal(mo.estimate, null);
    assert.equal(mo.state_label, "on scene");
    assert.equal(mo.latitude, 52.6);
    // A late frame of an older version changes nothing.
    assert.equal(boardMap.applyAlertFrame(alerts, { type: "board.alert", data: { id: 5, incident_id: 3, state: "en_route", version: 4 } }), false);
    assert.deepEqual(drawn()[0], "Mo Kemp: on scene");
    // A position whose alert the map has not heard of: no estimate either (the board's rule).
    assert.deepEqual(boardMap.positionsToDraw([{ ...updated(9, 52.6), responder_name: "Sam Day" }], alerts).map(boardMap.responderText), ["Sam Day"]);
  });

  // Found by a browser trial of the coordinators' board: several incidents open, and the map's
  // responders' labels said who and how far, not which incident each was going to.
  it("names the incident each responder is going to while more than one incident is on the map", () => {
    const incidents = [{ id: 3, cad_reference: "CAD-T3-009" }, { id: 4, cad_reference: "CAD-T3-008" }];
    const mo = { ...updated(5, 52.6), responder_name: "Mo Kemp" };
    const kate = { ...updated(6, 52.61), incident_id: 4, responder_name: "Kate Lowe" };
    const labels = (positions, shown) => boardMap.responderMarkers(positions, shown).map((position) => position.map_label);
    assert.deepEqual(labels([mo, kate], incidents), [["Mo Kemp on CAD-T3-009"], ["Kate Lowe on CAD-T3-008"]]);
    // One incident on the map: the name alone (the map's own label).
    assert.deepEqual(labels([mo], incidents.slice(0, 1)), [undefined]);
    // The positions themselves are left as they are (the text beside the map is worded from them).
    assert.equal(boardMap.responderMarkers([mo], incidents)[0].latitude, 52.6);
    assert.equal(mo.map_label, undefined);
  });

  it("words a responder's estimate and an incident's defibrillators", () => {
    assert.equal(boardMap.responderText({ responder_name: "Alice", estimate }), "Alice: 2.4 km, ETA 4 min (estimate)");
    // The alert screen's words: the access, how far, where (with the level and indoors or out), and
    // whether it is open now.
    assert.equal(
      boardMap.defibrillatorLine(FORUM, 0),
      "AED 1: Public access, 240 m; Forum, Inside the main entrance, left of the lifts, ground floor, indoors; Open now (Mo-Su 07:00-22:00)",
    );
    const outside = { ...FORUM, level: "-1", indoor: false, open_now: false };
    assert.equal(boardMap.defibrillatorLine(outside, 0).split("; ")[1], "Forum, Inside the main entrance, left of the lifts, basement level 1, outdoors");
    assert.match(boardMap.defibrillatorLine(outside, 0), /; Closed now \(Mo-Su 07:00-22:00\)$/);
    assert.equal(boardMap.defibrillatorLine(SURGERY, 1), "AED 2: Customers only: ask at reception, 610 m; Location not described; Opening hours unknown");
  });
});

describe("labels that would cover each other", () => {
  const rect = (left, top, width, height) => ({ left, top, right: left + width, bottom: top + height });
  // A marker at (x, y): its 16 px dot centred there, its label to the right of it.
  const face = (x, y, labelWidth = 60) => ({ dot: rect(x - 8, y - 8, 16, 16), label: rect(x + 12, y - 9, labelWidth, 18) });
  // How far each label moved up or down (labelPlaces).
  const labelOffsets = (...args) => map.labelPlaces(...args).map(({ dy }) => dy);

  it("leaves labels that are clear of each other where they are", () => {
    assert.deepEqual(labelOffsets([face(100, 100), face(300, 100), face(100, 200)]), [0, 0, 0]);
  });

  it("moves the less important label below the one it would cover, never the first", () => {
    // An incident and a defibrillator a few metres apart: the same point on the screen, near enough.
    const [incident, defibrillator] = labelOffsets([face(100, 100), face(103, 102)]);
    assert.equal(incident, 0);
    const moved = face(103, 102).label;
    const incidentLabel = face(100, 100).label;
    assert.ok(moved.top + defibrillator >= incidentLabel.bottom, `moved ${defibrillator} px: still under the incident's label`);
  });

  it("keeps a label off another marker's dot, and a crowd's labels off one another", () => {
    // Stacked one under another, or on the other side of their dots.
    const crowd = [face(100, 100), face(101, 100), face(102, 101), face(99, 99)];
    const places = map.labelPlaces(crowd);
    const placed = crowd.map((item, index) => ({
      left: item.label.left + places[index].dx, right: item.label.right + places[index].dx,
      top: item.label.top + places[index].dy, bottom: item.label.bottom + places[index].dy,
    }));
    const cover = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
    for (let a = 0; a < placed.length; a += 1) {
      for (let b = a + 1; b < placed.length; b += 1) assert.ok(!cover(placed[a], placed[b]), `labels ${a} and ${b} overlap: ${JSON.stringify(placed)}`);
    }
    // A label right of a dot it would cover moves below that dot.
    const [, beside] = labelOffsets([face(130, 100), face(100, 100)]);
    assert.ok(face(100, 100).label.top + beside >= face(130, 100).dot.bottom);
  });

  it("ties a moved label to its dot by a line from the dot's centre down to the label's middle", () => {
    const marker = { pin: rect(92, 91, 80, 18), dot: rect(92, 92, 16, 16), label: rect(112, 91, 60, 18) };
    assert.deepEqual(map.leaderBox(marker, 30), { left: 8, top: 9, width: 12, height: 30, up: false });
    assert.deepEqual(map.leaderBox(marker, -30), { left: 8, top: -21, width: 12, height: 30, up: true });
  });

  // Found by trying the board with no open incident: Great Yarmouth, Norwich (Carrow) and Wymondham
  // left out, marker and label, where their labels would cross others'. A station's dot is always
  // drawn; its label goes beside it where it is clear, or is not shown.
  it("never leaves out a fire station: its label goes where it is clear, or is not shown", () => {
    const within = { left: 0, top: 0, right: 500, bottom: 400 };
    const clear = (placed, faces) => {
      const shown = map.contextLabels(placed, faces, within);
      const labels = faces.map(({ label }, index) => ({
        left: label.left + shown[index].dx, right: label.right + shown[index].dx, top: label.top + shown[index].dy, bottom: label.bottom + shown[index].dy,
      }));
      const cover = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
      const taken = [...placed, ...faces.map(({ dot }) => dot)];
      labels.forEach((label, index) => {
        if (!shown[index].shown) return;
        assert.ok(label.left >= within.left && label.right <= within.right && label.top >= within.top && label.bottom <= within.bottom, `label ${index} off the map`);
        for (const rect of [...taken.filter((dot) => dot !== faces[index].dot), ...labels.filter((other, j) => j !== index && shown[j].shown)]) {
          assert.ok(!cover(label, rect), `label ${index} covers ${JSON.stringify(rect)}: ${JSON.stringify(shown)}`);
        }
      });
      return shown;
    };
    // Clear of everything: where it is drawn, to the right.
    assert.deepEqual(map.contextLabels([], [face(100, 100)], within), [{ dx: 0, dy: 0, shown: true }]);
    // Its label over an incident's marker: to the left of its dot instead, level with it.
    const incident = face(160, 100);
    assert.deepEqual(clear([incident.dot, incident.label], [face(100, 104)]), [{ dx: -84, dy: 0, shown: true }]);
    // Two stations a few pixels apart (Great Yarmouth and Gorleston): both labelled, one beside the other's.
    const [first, second] = clear([], [face(400, 200), face(401, 212)]);
    assert.equal(first.shown && second.shown, true, JSON.stringify([first, second]));
    // At the map's right edge: to the left of the dot.
    assert.ok(map.contextLabels([], [face(470, 200)], within)[0].dx < 0);
    // Nowhere clear (other markers' labels all round its dot): the label is not shown, only the label.
    const allRound = [rect(150, 150, 200, 90), rect(150, 260, 200, 90), rect(150, 240, 90, 20), rect(260, 240, 90, 20)];
    assert.deepEqual(map.contextLabels(allRound, [face(250, 250), face(50, 50)], within), [
      { dx: 0, dy: 0, shown: false },
      { dx: 0, dy: 0, shown: true },
    ]);
  });

  it("keeps the labels off the stations' dots: context, but never hidden", () => {
    const station = rect(140, 95, 12, 12); // under the label of the marker at (100, 100)
    const [offset] = labelOffsets([face(100, 100)], null, [station]);
    const label = face(100, 100).label;
    assert.ok(label.top + offset >= station.bottom || label.bottom + offset <= station.top, `moved ${offset} px`);
    assert.deepEqual(labelOffsets([face(100, 100)], null, [rect(400, 400, 12, 12)]), [0]);
  });

  it("moves a label above what it would cover where below would take it off the map", () => {
    const within = { left: 0, top: 0, right: 400, bottom: 112 };
    const [first, second] = labelOffsets([face(100, 100), face(103, 101)], within);
    assert.equal(first, 0);
    assert.ok(second < 0, `moved ${second} px`);
    assert.ok(face(103, 101).label.bottom + second <= face(100, 100).label.top, "still under the first label");
    assert.ok(face(103, 101).label.top + second >= within.top, "off the top of the map");
  });

  // Every label shown (labelPlaces' places) inside the map and over no other label or dot.
  const assertLegible = (faces, places, within, fixed = []) => {
    const cover = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
    const labels = faces.map(({ label }, index) => ({
      left: label.left + places[index].dx, right: label.right + places[index].dx, top: label.top + places[index].dy, bottom: label.bottom + places[index].dy,
    }));
    labels.forEach((label, index) => {
      if (!places[index].shown) return;
      const inside = label.left >= within.left && label.right <= within.right && label.top >= within.top && label.bottom <= within.bottom;
      assert.ok(inside, `label ${index} off the map: ${JSON.stringify(label)}`);
      const others = [...labels.filter((_, j) => j !== index && places[j].shown), ...faces.filter((_, j) => j !== index).map(({ dot }) => dot), ...fixed];
      for (const rect of others) assert.ok(!cover(label, rect), `label ${index} covers ${JSON.stringify(rect)}: ${JSON.stringify(places)}`);
    });
  };

  // Found by a browser trial of the control room's board: two incidents near each other, the
  // defibrillators in both lists labelled a line per incident ("AED 2 of CAD-1", "AED 2 of CAD-2",
  // "not public": 3 lines); one such label ran off the map's bottom edge (drawn where it was when the
  // map was fitted to one line), and zoomed out the labels were printed over each other.
  it("keeps the labels of two nearby incidents' defibrillators apart and inside the map", () => {
    const tall = (x, y) => ({ dot: rect(x - 8, y - 8, 16, 16), label: rect(x + 12, y - 9, 150, 46) });
    const incident = (x, y) => ({ ...face(x, y, 110), keep: true });
    const within = { left: 0, top: 0, right: 480, bottom: 170 };
    // The wall board's map: the second defibrillator's label hangs off the bottom edge.
    const board = [incident(300, 30), incident(250, 70), tall(20, 45), tall(300, 160)];
    const placed = map.labelPlaces(board, within);
    assert.ok(placed.every(({ shown }) => shown), JSON.stringify(placed));
    assertLegible(board, placed, within);
    // Zoomed out: all four a few pixels apart, no room to stack them all. The incidents' labels are
    // shown; a defibrillator's that fits nowhere gives way (the list beside the map says it all).
    const low = { ...within, bottom: 100 };
    const crowd = [incident(200, 50), incident(203, 52), tall(201, 54), tall(199, 51)];
    const crowded = map.labelPlaces(crowd, low);
    assert.ok(crowded[0].shown && crowded[1].shown, JSON.stringify(crowded));
    assert.ok(crowded.some(({ shown }) => !shown), JSON.stringify(crowded));
    assertLegible(crowd, crowded, low);
  });

  it("puts a label on the other side of its dot where neither below nor above it is clear and inside", () => {
    const within = { left: 0, top: 15, right: 400, bottom: 50 };
    // A label over the next marker's dot to its right, the map too low to move it below or above.
    const faces = [face(200, 30), face(130, 30)];
    const places = map.labelPlaces(faces, within);
    assert.equal(places[1].shown, true);
    assert.ok(places[1].dx < 0, JSON.stringify(places));
    assertLegible(faces, places, within);
  });

  // Found by a browser trial of the control room's board (1280x720, no open incident): "Great
  // Yarmouth" above its dot and ending over it, its other end touching Norwich (Carrow)'s dot: read
  // as Norwich's name. The stations as drawn then (px inside the map; labels right of their dots).
  it("never puts a station's label nearer another dot than its own", () => {
    const station = (x, y, width) => ({ dot: rect(x, y, 12, 12), label: rect(x + 18, y - 4, width, 20) });
    const stations = [
      station(168, 186, 70), station(368, 228, 73), station(369, 215, 112), station(29, 154, 83), station(282, 125, 109),
      station(263, 209, 122), station(237, 74, 89), station(117, 297, 65), station(213, 230, 96),
    ];
    const within = { left: 0, top: 0, right: 410, bottom: 379 };
    const gapBetween = (a, b) => Math.hypot(Math.max(0, a.left - b.right, b.left - a.right), Math.max(0, a.top - b.bottom, b.top - a.bottom));
    const places = map.contextLabels([], stations, within);
    places.forEach(({ dx, dy, shown }, index) => {
      if (!shown) return;
      const { dot, label } = stations[index];
      const placed = { left: label.left + dx, right: label.right + dx, top: label.top + dy, bottom: label.bottom + dy };
      for (const [other, { dot: otherDot }] of stations.entries()) {
        if (other === index) continue;
        assert.ok(gapBetween(placed, otherDot) > gapBetween(placed, dot), `station ${index}'s label is as near station ${other}'s dot as its own: ${JSON.stringify(places)}`);
      }
    });
    assert.ok(places.filter(({ shown }) => shown).length > stations.length / 2, JSON.stringify(places));
    // The other markers' dots count too: a station's label beside a responder's dot moves away.
    const [beside] = map.contextLabels([], [station(100, 100, 60)], within, [rect(182, 100, 12, 12)]);
    assert.ok(beside.dx < 0, JSON.stringify(beside));
  });

  // Found by a browser trial of the control room's board (/board/) with ten incidents open in
  // Norfolk (four in Norwich, a few pixels apart at the scale that also takes in one in London): the
  // lines from the Norwich incidents' dots to their labels, stacked down the map, ran across "AED 1
  // of T9-KL-5", which read "AED 1 of T9-KL-"; "Dereham" sat level with Wymondham's dot; King's
  // Lynn's name was not shown, its dot under the incident there (itself with nothing else near);
  // and on a phone (360 px wide) "T9-LDN-6" hung 80 px above its dot, its line across another
  // incident's marker. The markers as measured in that browser (px in the page: [kind (incident,
  // station, defibrillator), name, dot, label as drawn]), then placed as the map places them.
  const TRIAL_1920 = {
    within: { left: 1281, top: 120, right: 1898, bottom: 677 },
    scale: { left: 1286, top: 634, right: 1372, bottom: 672 },
    pins: [
      ["i", "T9-SH-10", [1567, 151, 1598, 182], [1596, 153, 1701, 180]],
      ["i", "T9-NOR-9", [1584, 245, 1615, 276], [1613, 247, 1722, 274]],
      ["i", "T9-NOR-8", [1585, 245, 1616, 276], [1614, 247, 1723, 274]],
      ["i", "T9-GY-7", [1662, 254, 1693, 285], [1691, 256, 1781, 283]],
      ["i", "T9-LDN-6", [1325, 579, 1356, 610], [1354, 581, 1460, 608]],
      ["i", "T9-KL-5", [1419, 207, 1450, 238], [1448, 209, 1538, 236]],
      ["i", "T9-NOR-4", [1578, 244, 1609, 275], [1607, 246, 1716, 273]],
      ["i", "T9-NOR-3", [1582, 244, 1613, 275], [1611, 246, 1720, 273]],
      ["s", "Dereham", [1528, 238, 1541, 251], [1548, 232, 1633, 256]],
      ["s", "Gorleston", [1669, 268, 1682, 281], [1689, 262, 1778, 286]],
      ["s", "Great Yarmouth", [1670, 258, 1683, 271], [1690, 252, 1825, 276]],
      ["s", "King's Lynn", [1429, 215, 1442, 228], [1449, 209, 1550, 233]],
      ["s", "North Walsham", [1608, 195, 1621, 208], [1628, 189, 1761, 213]],
      ["s", "Norwich (Carrow)", [1595, 254, 1608, 267], [1615, 248, 1763, 272]],
      ["s", "Thetford", [1492, 317, 1505, 330], [1512, 311, 1591, 335]],
      ["s", "Wymondham", [1559, 269, 1572, 282], [1579, 263, 1696, 287]],
      ["d", "AED 1 of T9-SH-10", [1574, 152, 1591, 170], [1596, 152, 1770, 176]],
      ["d", "AED 2 of T9-SH-10", [1575, 154, 1592, 172], [1597, 154, 1771, 198]],
      ["d", "AED 3 of T9-SH-10", [1576, 151, 1593, 169], [1598, 151, 1772, 175]],
      ["d", "AED 1 of T9-NOR-9", [1590, 246, 1607, 264], [1612, 246, 1789, 331]],
      ["d", "AED 2 of T9-NOR-9", [1592, 247, 1609, 265], [1614, 247, 1791, 291]],
      ["d", "AED 3 of T9-NOR-8", [1594, 249, 1611, 267], [1616, 249, 1793, 293]],
      ["d", "AED 1 of T9-KL-5", [1427, 209, 1444, 227], [1449, 209, 1610, 233]],
      ["d", "AED 2 of T9-KL-5", [1428, 211, 1445, 229], [1450, 211, 1611, 255]],
      ["d", "AED 3 of T9-KL-5", [1429, 207, 1446, 225], [1451, 207, 1612, 231]],
    ],
  };
  const TRIAL_360 = {
    within: { left: 16, top: 555, right: 344, bottom: 715 },
    scale: { left: 21, top: 679, right: 120, bottom: 710 },
    pins: [
      ["i", "T9-SH-10", [115, 582, 143, 610], [141, 586, 222, 607]],
      ["i", "T9-NOR-9", [117, 594, 145, 622], [143, 598, 227, 619]],
      ["i", "T9-NOR-8", [117, 594, 145, 622], [143, 598, 227, 619]],
      ["i", "T9-GY-7", [126, 595, 154, 623], [152, 599, 221, 620]],
      ["i", "T9-LDN-6", [84, 635, 112, 663], [110, 639, 192, 660]],
      ["i", "T9-KL-5", [96, 589, 124, 617], [122, 593, 192, 614]],
      ["i", "T9-NOR-4", [116, 594, 144, 622], [142, 598, 226, 619]],
      ["i", "T9-NOR-3", [116, 593, 144, 621], [142, 597, 226, 618]],
      ["s", "Dereham", [116, 599, 128, 611], [134, 596, 200, 614]],
      ["s", "Gorleston", [134, 602, 146, 614], [152, 599, 221, 617]],
      ["s", "Great Yarmouth", [134, 601, 146, 613], [152, 598, 256, 616]],
      ["s", "King's Lynn", [104, 596, 116, 608], [122, 593, 200, 611]],
      ["s", "North Walsham", [127, 593, 139, 605], [145, 590, 247, 608]],
      ["s", "Norwich (Carrow)", [125, 601, 137, 613], [143, 598, 257, 616]],
      ["s", "Thetford", [112, 609, 124, 621], [130, 606, 191, 624]],
      ["s", "Wymondham", [120, 603, 132, 615], [138, 600, 228, 618]],
      ["d", "AED 1 of T9-SH-10", [120, 586, 136, 602], [140, 586, 274, 604]],
      ["d", "AED 2 of T9-SH-10", [121, 586, 137, 602], [141, 586, 275, 620]],
      ["d", "AED 3 of T9-SH-10", [121, 586, 137, 602], [141, 586, 275, 604]],
      ["d", "AED 1 of T9-NOR-9", [123, 597, 139, 613], [143, 597, 280, 662]],
      ["d", "AED 2 of T9-NOR-9", [123, 598, 139, 614], [143, 598, 280, 632]],
      ["d", "AED 3 of T9-NOR-8", [123, 598, 139, 614], [143, 598, 280, 632]],
      ["d", "AED 1 of T9-KL-5", [102, 593, 118, 609], [122, 593, 246, 611]],
      ["d", "AED 2 of T9-KL-5", [102, 593, 118, 609], [122, 593, 246, 627]],
      ["d", "AED 3 of T9-KL-5", [102, 593, 118, 609], [122, 593, 246, 611]],
    ],
  };
  // Found by a browser trial of the control room's board at 1280x720 with fifteen incidents open in
  // Norfolk (tests/e2e/test_maps.py FIFTEEN_IN_NORFOLK), as measured: the labels that found no clear
  // place stacked far from their dots, tied by long lines across other labels ("T3-NOR-19" by
  // Great Yarmouth's dot, "T3-FAK-17" struck through by another's line).
  const TRIAL_15 = {
    within: { left: 853.3, top: 63.9, right: 1263.0, bottom: 442.9 },
    scale: { left: 858.3, top: 405.2, right: 953.3, bottom: 437.9 },
    pins: [
      ["i", "T3-HUN-20", [899.1, 166.9, 927.4, 195.2], [925.3, 169.9, 1025.3, 192.1]],
      ["i", "T3-NOR-19", [1000.1, 229.9, 1028.4, 258.2], [1026.3, 232.9, 1125.9, 255.1]],
      ["i", "T3-SWA-18", [924.1, 228.9, 952.4, 257.2], [950.3, 231.9, 1051.3, 254.1]],
      ["i", "T3-FAK-17", [945.1, 189.9, 973.4, 218.2], [971.3, 192.9, 1064.8, 215.1]],
      ["i", "T3-AYL-16", [997.1, 196.9, 1025.4, 225.2], [1023.3, 199.9, 1116.9, 222.1]],
      ["i", "T3-DIS-15", [978.1, 285.9, 1006.4, 314.2], [1004.3, 288.9, 1096.2, 311.1]],
      ["i", "T3-WYM-14", [979.1, 244.9, 1007.4, 273.2], [1005.3, 247.9, 1109.5, 270.1]],
      ["i", "T3-DER-13", [956.1, 221.9, 984.4, 250.2], [982.3, 224.9, 1079.4, 247.1]],
      ["i", "T3-CR-12", [1003.1, 167.9, 1031.4, 196.2], [1029.3, 170.9, 1115.2, 193.1]],
      ["i", "T3-TF-11", [932.1, 277.9, 960.4, 306.2], [958.3, 280.9, 1039.6, 303.1]],
      ["i", "T3-SH-10", [991.1, 165.9, 1019.4, 194.2], [1017.3, 168.9, 1103.9, 191.1]],
      ["i", "T3-NOR-9", [1003.1, 232.9, 1031.4, 261.2], [1029.3, 235.9, 1118.9, 258.1]],
      ["i", "T3-NOR-8", [1003.1, 233.9, 1031.4, 262.2], [1029.3, 236.9, 1118.9, 259.1]],
      ["i", "T3-GY-7", [1058.1, 239.9, 1086.4, 268.2], [1084.3, 242.9, 1158.3, 265.1]],
      ["i", "T3-KL-5", [887.1, 205.9, 915.4, 234.2], [913.3, 208.9, 987.8, 231.1]],
      ["i", "T3-NOR-4", [999.1, 232.9, 1027.4, 261.2], [1025.3, 235.9, 1114.9, 258.1]],
      ["i", "T3-NOR-3", [1001.1, 231.9, 1029.4, 260.2], [1027.3, 234.9, 1116.9, 257.1]],
      ["s", "Dereham", [965.3, 228.9, 977.3, 240.9], [983.3, 224.9, 1053.4, 244.9]],
      ["s", "Gorleston", [1065.3, 250.9, 1077.3, 262.9], [1083.3, 246.9, 1156.5, 266.9]],
      ["s", "Great Yarmouth", [1066.3, 243.9, 1078.3, 255.9], [1084.3, 239.9, 1195.7, 259.9]],
      ["s", "King's Lynn", [895.3, 213.9, 907.3, 225.9], [913.3, 209.9, 996.6, 229.9]],
      ["s", "North Walsham", [1022.3, 198.9, 1034.3, 210.9], [1040.3, 194.9, 1149.7, 214.9]],
      ["s", "Norwich (Carrow)", [1012.3, 240.9, 1024.3, 252.9], [1030.3, 236.9, 1152.5, 256.9]],
      ["s", "Thetford", [940.3, 284.9, 952.3, 296.9], [958.3, 280.9, 1023.7, 300.9]],
      ["s", "Wymondham", [987.3, 251.9, 999.3, 263.9], [1005.3, 247.9, 1101.4, 267.9]],
      ["d", "AED 1 of T3-WYM-14", [985.3, 246.9, 1001.3, 262.9], [1005.3, 246.9, 1164.3, 266.9]],
      ["d", "AED 2 of T3-WYM-14\nnot public", [986.3, 248.9, 1002.3, 264.9], [1006.3, 248.9, 1165.3, 285.5]],
      ["d", "AED 1 of T3-DER-13", [963.3, 224.9, 979.3, 240.9], [983.3, 224.9, 1135.9, 244.9]],
      ["d", "AED 2 of T3-DER-13", [964.3, 223.9, 980.3, 239.9], [984.3, 223.9, 1136.9, 243.9]],
      ["d", "AED 3 of T3-DER-13\nnot public", [964.3, 225.9, 980.3, 241.9], [984.3, 225.9, 1136.9, 262.5]],
      ["d", "AED 1 of T3-TF-11", [937.3, 280.9, 953.3, 296.9], [957.3, 280.9, 1095.9, 300.9]],
      ["d", "AED 2 of T3-TF-11\nnot public", [938.3, 281.9, 954.3, 297.9], [958.3, 281.9, 1096.9, 318.5]],
      ["d", "AED 3 of T3-TF-11", [939.3, 279.9, 955.3, 295.9], [959.3, 279.9, 1097.9, 299.9]],
      ["d", "AED 1 of T3-SH-10", [997.3, 168.9, 1013.3, 184.9], [1017.3, 168.9, 1160.6, 188.9]],
      ["d", "AED 2 of T3-SH-10\nnot public", [998.3, 169.9, 1014.3, 185.9], [1018.3, 169.9, 1161.6, 206.5]],
      ["d", "AED 3 of T3-SH-10", [998.3, 167.9, 1014.3, 183.9], [1018.3, 167.9, 1161.6, 187.9]],
      ["d", "AED 1 of T3-NOR-9\nAED 2 of T3-NOR-8\nAED 1 of T3-NOR-3\naccess unknown", [1008.3, 234.9, 1024.3, 250.9], [1028.3, 234.9, 1174.2, 304.9]],
      ["d", "AED 2 of T3-NOR-9\nAED 1 of T3-NOR-8", [1010.3, 235.9, 1026.3, 251.9], [1030.3, 235.9, 1176.2, 272.5]],
      ["d", "AED 3 of T3-NOR-8\nnot public", [1011.3, 237.9, 1027.3, 253.9], [1031.3, 237.9, 1177.2, 274.5]],
      ["d", "AED 1 of T3-KL-5", [893.3, 208.9, 909.3, 224.9], [913.3, 208.9, 1045.8, 228.9]],
      ["d", "AED 2 of T3-KL-5\nnot public", [894.3, 209.9, 910.3, 225.9], [914.3, 209.9, 1046.8, 246.5]],
      ["d", "AED 3 of T3-KL-5", [894.3, 207.9, 910.3, 223.9], [914.3, 207.9, 1046.8, 227.9]],
    ],
  };
  // The same board, its incidents' labels shortened (app/map.js shortLabels) and the view fitted to
  // them, as measured in the browser.
  const TRIAL_15_SHORT = {
    within: { left: 853.3, top: 63.9, right: 1263, bottom: 442.9 },
    scale: { left: 858.3, top: 405.2, right: 945.3, bottom: 437.9 },
    pins: [
      ["i", "…20", [905.1, 158.9, 933.4, 187.2], [931.3, 161.9, 977.9, 184.1]],
      ["i", "…19", [1049.1, 248.9, 1077.4, 277.2], [1075.3, 251.9, 1121.9, 274.1]],
      ["i", "…18", [941.1, 246.9, 969.4, 275.2], [967.3, 249.9, 1013.9, 272.1]],
      ["i", "…17", [970.1, 190.9, 998.4, 219.2], [996.3, 193.9, 1042.9, 216.1]],
      ["i", "…16", [1044.1, 201.9, 1072.4, 230.2], [1070.3, 204.9, 1116.9, 227.1]],
      ["i", "…15", [1018.1, 327.9, 1046.4, 356.2], [1044.3, 330.9, 1090.9, 353.1]],
      ["i", "…14", [1019.1, 269.9, 1047.4, 298.2], [1045.3, 272.9, 1091.9, 295.1]],
      ["i", "…13", [987.1, 236.9, 1015.4, 265.2], [1013.3, 239.9, 1059.9, 262.1]],
      ["i", "…12", [1053.1, 160.9, 1081.4, 189.2], [1079.3, 163.9, 1125.9, 186.1]],
      ["i", "…11", [953.1, 315.9, 981.4, 344.2], [979.3, 318.9, 1025.9, 341.1]],
      ["i", "…10", [1036.1, 158.9, 1064.4, 187.2], [1062.3, 161.9, 1108.9, 184.1]],
      ["i", "…9", [1053.1, 252.9, 1081.4, 281.2], [1079.3, 255.9, 1115.8, 278.1]],
      ["i", "…8", [1054.1, 252.9, 1082.4, 281.2], [1080.3, 255.9, 1116.8, 278.1]],
      ["i", "…7", [1131.1, 261.9, 1159.4, 290.2], [1157.3, 264.9, 1193.8, 287.1]],
      ["i", "…5", [888.1, 214.9, 916.4, 243.2], [914.3, 217.9, 950.8, 240.1]],
      ["i", "…4", [1047.1, 251.9, 1075.4, 280.2], [1073.3, 254.9, 1109.8, 277.1]],
      ["i", "…3", [1051.1, 251.9, 1079.4, 280.2], [1077.3, 254.9, 1113.8, 277.1]],
      ["s", "Dereham", [996.3, 244.9, 1008.3, 256.9], [1014.3, 240.9, 1084.4, 260.9]],
      ["s", "Gorleston", [1137.3, 274.9, 1149.3, 286.9], [1155.3, 270.9, 1228.5, 290.9]],
      ["s", "Great Yarmouth", [1138.3, 264.9, 1150.3, 276.9], [1156.3, 260.9, 1267.7, 280.9]],
      ["s", "King's Lynn", [897.3, 221.9, 909.3, 233.9], [915.3, 217.9, 998.6, 237.9]],
      ["s", "North Walsham", [1076.3, 201.9, 1088.3, 213.9], [1094.3, 197.9, 1203.7, 217.9]],
      ["s", "Norwich (Carrow)", [1063.3, 260.9, 1075.3, 272.9], [1081.3, 256.9, 1203.5, 276.9]],
      ["s", "Thetford", [960.3, 323.9, 972.3, 335.9], [978.3, 319.9, 1043.7, 339.9]],
      ["s", "Wymondham", [1027.3, 275.9, 1039.3, 287.9], [1045.3, 271.9, 1141.4, 291.9]],
      ["d", "AED 1 of T3-WYM-14", [1025.3, 271.9, 1041.3, 287.9], [1045.3, 271.9, 1205.1, 291.9]],
      ["d", "AED 2 of T3-WYM-14\nnot public", [1026.3, 272.9, 1042.3, 288.9], [1046.3, 272.9, 1206.1, 309.5]],
      ["d", "AED 1 of T3-DER-13", [993.3, 239.9, 1009.3, 255.9], [1013.3, 239.9, 1166.7, 259.9]],
      ["d", "AED 2 of T3-DER-13", [995.3, 238.9, 1011.3, 254.9], [1015.3, 238.9, 1168.7, 258.9]],
      ["d", "AED 3 of T3-DER-13\nnot public", [995.3, 241.9, 1011.3, 257.9], [1015.3, 241.9, 1168.7, 278.5]],
      ["d", "AED 1 of T3-TF-11", [957.3, 318.9, 973.3, 334.9], [977.3, 318.9, 1116.7, 338.9]],
      ["d", "AED 2 of T3-TF-11\nnot public", [959.3, 320.9, 975.3, 336.9], [979.3, 320.9, 1118.7, 357.5]],
      ["d", "AED 3 of T3-TF-11", [959.3, 317.9, 975.3, 333.9], [979.3, 317.9, 1118.7, 337.9]],
      ["d", "AED 1 of T3-SH-10", [1042.3, 160.9, 1058.3, 176.9], [1062.3, 160.9, 1206.4, 180.9]],
      ["d", "AED 2 of T3-SH-10\nnot public", [1043.3, 162.9, 1059.3, 178.9], [1063.3, 162.9, 1207.4, 199.5]],
      ["d", "AED 3 of T3-SH-10", [1044.3, 159.9, 1060.3, 175.9], [1064.3, 159.9, 1208.4, 179.9]],
      ["d", "AED 1 of T3-NOR-9\nAED 2 of T3-NOR-8\nAED 1 of T3-NOR-3\naccess unknown", [1058.3, 254.9, 1074.3, 270.9], [1078.3, 254.9, 1225.0, 324.9]],
      ["d", "AED 2 of T3-NOR-9\nAED 1 of T3-NOR-8", [1060.3, 255.9, 1076.3, 271.9], [1080.3, 255.9, 1227.0, 292.5]],
      ["d", "AED 3 of T3-NOR-8\nnot public", [1062.3, 257.9, 1078.3, 273.9], [1082.3, 257.9, 1229.0, 294.5]],
      ["d", "AED 1 of T3-KL-5", [895.3, 217.9, 911.3, 233.9], [915.3, 217.9, 1048.6, 237.9]],
      ["d", "AED 2 of T3-KL-5\nnot public", [896.3, 219.9, 912.3, 235.9], [916.3, 219.9, 1049.6, 256.5]],
      ["d", "AED 3 of T3-KL-5", [897.3, 215.9, 913.3, 231.9], [917.3, 215.9, 1050.6, 235.9]],
    ],
  };
  // Found by the wall board's tests at 1280x720 (tests/e2e/test_wall_board.py), as measured in the
  // browser: a second incident joins south of King's Lynn, its dot under the scale bar; a responder
  // on their way to the first, their label with no place beside their dot.
  const KINGS_LYNN_TWO = {
    within: { left: 853.3, top: 63.9, right: 1263.0, bottom: 442.9 },
    scale: { left: 858.3, top: 405.2, right: 945.3, bottom: 437.9 },
    pins: [
      ["i", "E2E-WALL-99A6DB7F", [894.1, 401.9, 922.4, 430.2], [920.3, 404.9, 1102.3, 427.1]],
      ["i", "E2E-WALL-7D2C661D", [923.1, 131.9, 951.4, 160.2], [949.3, 134.9, 1131.9, 157.1]],
      ["r", "Ellie Hale on E2E-WALL-7D2C661D\n0.4 km, ETA 1 min (estimate)", [909.3, 113.9, 925.3, 129.9], [929.3, 113.9, 1186.4, 150.5]],
      ["d", "AED 1", [904.3, 127.9, 920.3, 143.9], [924.3, 125.9, 978.0, 145.9]],
      ["d", "AED 2 not public", [950.3, 185.9, 966.3, 201.9], [970.3, 183.9, 1085.7, 203.9]],
      ["d", "AED 3", [965.3, 88.9, 981.3, 104.9], [985.3, 86.9, 1039.0, 106.9]],
    ],
  };
  // Found by the same tests: two incidents in Gorleston, the defibrillator in both lists with its label
  // between the map's left edge and the incidents' dots and labels.
  const GORLESTON_TWO = {
    within: { left: 853.3, top: 63.9, right: 1263.0, bottom: 442.9 },
    scale: { left: 858.3, top: 405.2, right: 932.3, bottom: 437.9 },
    pins: [
      ["i", "E2E-WALL-1721E3E4", [1001.1, 141.9, 1029.4, 170.2], [1027.3, 144.9, 1205.1, 167.1]],
      ["i", "E2E-WALL-CB878505", [951.1, 195.9, 979.4, 224.2], [977.3, 198.9, 1157.0, 221.1]],
      ["d", "AED 1 of E2E-WALL-1721E3E4\nAED 1 of E2E-WALL-CB878505", [880.3, 164.9, 896.3, 180.9], [900.3, 164.9, 1126.4, 201.5]],
      ["d", "AED 2 of E2E-WALL-1721E3E4\nAED 2 of E2E-WALL-CB878505\nnot public", [1010.3, 327.9, 1026.3, 343.9], [1030.3, 327.9, 1256.4, 381.2]],
    ],
  };
  const RANKS = { i: 0, r: 2, d: 3 }; // app/map.js declutter: incidents, this phone, responders, defibrillators

  /** The scene laid out as app/map.js declutter lays it out: each marker {name, kind, dot, label
   *  (as placed; null when not shown), lines (its line to its label, as drawn: leaderBox)}, each
   *  station {name, dot, label}. */
  const layOut = ({ within, scale, pins }) => {
    const rectOf = ([left, top, right, bottom]) => ({ left, top, right, bottom });
    const shift = (r, dx, dy) => ({ left: r.left + dx, right: r.right + dx, top: r.top + dy, bottom: r.bottom + dy });
    const markers = pins.filter(([kind]) => kind !== "s").map(([kind, name, dot, label]) => ({ kind, name, dot: rectOf(dot), label: rectOf(label), keep: kind === "i", rank: RANKS[kind] }));
    const stations = pins.filter(([kind]) => kind === "s").map(([, name, dot, label]) => ({ name, dot: rectOf(dot), label: rectOf(label) }));
    markers.forEach((face) => (face.label = shift(face.label, map.labelSide(face, within).dx, 0)));
    const places = map.labelPlaces(markers, within, stations.map(({ dot }) => dot), stations.map(({ label }) => label), [scale]);
    const drawn = markers.map((face, index) => {
      const { dx, dy, shown } = places[index];
      if (!shown) return { ...face, label: null, lines: [] };
      const line = dy ? map.leaderBox({ pin: { left: 0, top: 0 }, dot: face.dot, label: shift(face.label, dx, 0) }, dy) : null;
      const lines = [];
      if (line) {
        const x = line.toLeft ? line.left + line.width : line.left;
        const y = line.up ? line.top : line.top + line.height;
        lines.push({ left: x - 1, right: x + 1, top: line.top, bottom: line.top + line.height });
        if (line.width > 0) lines.push({ left: line.left, right: line.left + line.width, top: y - 1, bottom: y + 1 });
      }
      return { ...face, label: shift(face.label, dx, dy), lines };
    });
    const placed = [...drawn.map(({ dot }) => dot), ...drawn.filter(({ label }) => label).map(({ label }) => label), ...drawn.flatMap(({ lines }) => lines), scale];
    const named = map.contextLabels(placed, stations, within, markers.map(({ dot }) => dot));
    return {
      markers: drawn,
      stations: stations.map((station, index) => ({ ...station, label: named[index].shown ? shift(station.label, named[index].dx, named[index].dy) : null })),
    };
  };
  /** labelPlaces' arguments for a scene, as layOut passes them. */
  const argsOf = ({ within, scale, pins }) => {
    const rectOf = ([left, top, right, bottom]) => ({ left, top, right, bottom });
    const markers = pins.filter(([kind]) => kind !== "s").map(([kind, , dot, label]) => ({ dot: rectOf(dot), label: rectOf(label), keep: kind === "i", rank: RANKS[kind] }));
    markers.forEach((face) => (face.label = { ...face.label, left: face.label.left + map.labelSide(face, within).dx, right: face.label.right + map.labelSide(face, within).dx }));
    const stations = pins.filter(([kind]) => kind === "s").map(([, , dot, label]) => ({ dot: rectOf(dot), label: rectOf(label) }));
    return [markers, within, stations.map(({ dot }) => dot), stations.map(({ label }) => label), [scale]];
  };
  const cover = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
  const gapBetween = (a, b) => Math.hypot(Math.max(0, a.left - b.right, b.left - a.right), Math.max(0, a.top - b.bottom, b.top - a.bottom));
  const insideTo1px = (r, within) => r.left >= within.left - 1 && r.right <= within.right + 1 && r.top >= within.top - 1 && r.bottom <= within.bottom + 1;

  /** What is wrong with a laid out scene: labels over other labels, dots, lines or the scale bar,
   *  lines across another label or another place's dot (one not under its own), labels off the map
   *  (but those in `offMapAllowed`). */
  const faults = (scene, { markers, stations }, offMapAllowed = []) => {
    const found = [];
    const labels = [...markers, ...stations].filter(({ label }) => label);
    const dots = [...markers, ...stations];
    for (const item of labels) {
      if (!insideTo1px(item.label, scene.within) && !offMapAllowed.includes(item.name)) found.push(`${item.name}: off the map`);
      for (const other of labels) if (other !== item && cover(item.label, other.label)) found.push(`${item.name}: over the label ${other.name}`);
      for (const other of dots) if (other !== item && cover(item.label, other.dot)) found.push(`${item.name}: over the dot ${other.name}`);
      for (const other of markers) if (other !== item && other.lines.some((line) => cover(item.label, line))) found.push(`${item.name}: over the line to ${other.name}`);
      if (cover(item.label, scene.scale)) found.push(`${item.name}: under the scale bar`);
    }
    for (const marker of markers) {
      for (const line of marker.lines) {
        for (const other of labels) if (other !== marker && cover(line, other.label)) found.push(`the line to ${marker.name} across the label ${other.name}`);
        for (const other of dots) if (other !== marker && !cover(other.dot, marker.dot) && cover(line, other.dot)) found.push(`the line to ${marker.name} across the dot ${other.name}`);
      }
    }
    return [...new Set(found)];
  };

  it("keeps the lines to moved labels off other labels, on the control room's crowded board", () => {
    const laidOut = layOut(TRIAL_1920);
    assert.deepEqual(faults(TRIAL_1920, laidOut), []);
    const incidents = laidOut.markers.filter(({ kind }) => kind === "i");
    assert.ok(incidents.every(({ label }) => label), JSON.stringify(incidents.map(({ name, label }) => [name, label])));
  });

  it("names a station where its name has room, and never level with another dot just past its end", () => {
    const { markers, stations } = layOut(TRIAL_1920);
    const shown = stations.filter(({ label }) => label).map(({ name }) => name);
    // King's Lynn: under the incident's dot there, nothing else near; Thetford: nothing near.
    for (const name of ["King's Lynn", "Thetford"]) assert.ok(shown.includes(name), `${name} is not named: ${shown}`);
    for (const station of stations.filter(({ label }) => label)) {
      const here = markers.filter(({ dot }) => cover(dot, station.dot)).map(({ dot }) => dot);
      const own = Math.min(...[station.dot, ...here].map((dot) => gapBetween(station.label, dot)));
      const height = station.label.bottom - station.label.top;
      for (const other of [...markers, ...stations]) {
        if (other === station || here.includes(other.dot)) continue;
        assert.ok(gapBetween(station.label, other.dot) > own, `${station.name}'s label is as near ${other.name}'s dot as its own`);
        const level = other.dot.top < station.label.bottom && station.label.top < other.dot.bottom;
        assert.ok(!level || gapBetween(station.label, other.dot) >= height, `${station.name}'s label is level with ${other.name}'s dot, ${gapBetween(station.label, other.dot)} px from its end`);
      }
    }
  });

  it("names a station under an incident's marker beside that marker, with nothing else near", () => {
    const within = { left: 0, top: 0, right: 500, bottom: 400 };
    const incident = { dot: rect(190, 190, 31, 31), label: rect(219, 192, 90, 27) };
    const station = { dot: rect(200, 200, 13, 13), label: rect(220, 197, 100, 24) };
    const placed = [incident.dot, incident.label];
    const [named] = map.contextLabels(placed, [station], within, [incident.dot]);
    assert.equal(named.shown, true, JSON.stringify(named));
    const label = { left: station.label.left + named.dx, right: station.label.right + named.dx, top: station.label.top + named.dy, bottom: station.label.bottom + named.dy };
    assert.ok(!cover(label, incident.dot) && !cover(label, incident.label), JSON.stringify(label));
    assert.ok(gapBetween(label, incident.dot) <= 8, `${gapBetween(label, incident.dot)} px from the marker`);
  });

  it("keeps a far incident's label beside its marker on a phone-sized board, and every line off other labels", () => {
    const laidOut = layOut(TRIAL_360);
    const { markers } = laidOut;
    const incidents = markers.filter(({ kind }) => kind === "i");
    assert.ok(incidents.every(({ label }) => label), JSON.stringify(incidents.map(({ name, label }) => [name, label])));
    // Eight incidents' labels in a map 160 px high: London's, beside its dot near the map's left
    // edge, is the one without a clear place; it is cut by that edge rather than over another.
    assert.deepEqual(faults(TRIAL_360, laidOut, ["T9-LDN-6"]), []);
    const london = incidents.find(({ name }) => name === "T9-LDN-6");
    assert.ok(gapBetween(london.label, london.dot) <= 3, `T9-LDN-6's label ${gapBetween(london.label, london.dot)} px from its dot`);
    const inside = Math.max(0, Math.min(london.label.right, TRIAL_360.within.right) - Math.max(london.label.left, TRIAL_360.within.left));
    assert.ok(inside >= 0.85 * (london.label.right - london.label.left), JSON.stringify(london.label));
  });
  it("shortens the incidents' labels to the least end of each that is its alone", () => {
    assert.deepEqual(map.shortLabels(["CAD-T3-009", "CAD-T3-008", "CAD-T4-009", "X"]), ["…T3-009", "…008", "…T4-009", "X"]);
    assert.deepEqual(map.shortLabels(["T3-NOR-19", "T3-NOR-9"]), ["…19", "…9"]);
    assert.deepEqual(map.shortLabels(["AB-1", "AB-1"]), ["AB-1", "AB-1"]); // no end its alone: as it is
  });

  it("places an incident's label clear of the scale bar over its dot, with no need to shorten it", () => {
    // Its line starts across the bar whatever it does: counted, every place "covered" something, the
    // label had no clear place, and both incidents' labels were shortened (5ccaf03, reverted).
    const places = map.labelPlaces(...argsOf(KINGS_LYNN_TWO));
    assert.deepEqual(places.forced, []);
    const { markers } = layOut(KINGS_LYNN_TWO);
    const south = markers.find(({ name }) => name === "E2E-WALL-99A6DB7F");
    assert.ok(south.label && !cover(south.label, KINGS_LYNN_TWO.scale), JSON.stringify(south.label));
    assert.ok(gapBetween(south.label, south.dot) <= 6, `${gapBetween(south.label, south.dot)} px from its dot`);
  });

  it("shows a responder's or a defibrillator's label where it reads as no other of its kind's, when none reads as its own", () => {
    // Nowhere clear reads as its own: every place clear of the incidents' labels is nearer an
    // incident's dot (or a defibrillator's) than its own. Its text says what it labels, and its line
    // ties it to its dot: shown there, rather than the responder's name, or the defibrillator's
    // incidents, gone (tests/e2e/test_wall_board.py).
    for (const [scene, name] of [[KINGS_LYNN_TWO, "Ellie Hale"], [GORLESTON_TWO, "AED 1 of"]]) {
      const laidOut = layOut(scene);
      const marker = laidOut.markers.find((item) => item.name.startsWith(name));
      assert.ok(marker.label, `${name}'s label not shown`);
      assert.deepEqual(faults(scene, laidOut), []);
      for (const other of laidOut.markers.filter((item) => item !== marker && item.kind === marker.kind)) {
        assert.ok(gapBetween(marker.label, other.dot) + 16 > gapBetween(marker.label, marker.dot), `${name}'s label nearer ${other.name}'s dot`);
      }
      assert.ok(laidOut.markers.filter(({ kind }) => kind === "i").every(({ label }) => label));
    }
  });

  it("shortens the incidents' labels only where that mends something", () => {
    const faces = [{ keep: true }, { keep: true }, { keep: false }];
    const worst = 1e6; // app/map.js WORST_PX2
    // No fewer without a clear place, and a few px² less covered: in full.
    assert.equal(map.shortenedIsBetter(faces, { forced: [0], strain: worst + 40 }, { forced: [0], strain: worst + 10 }), false);
    // One fewer, or a label no longer read as another's (or over a dot...): shortened.
    assert.equal(map.shortenedIsBetter(faces, { forced: [0, 1], strain: 80 }, { forced: [0], strain: 60 }), true);
    assert.equal(map.shortenedIsBetter(faces, { forced: [0], strain: 4 * worst + 40 }, { forced: [0], strain: 300 }), true);
  });

  it("keeps every incident's label nearer its own dot than any other, on a board with fifteen incidents", () => {
    // A reader pairs a label with the dot nearest it: a label beside its own dot (6 px or less), or
    // no other place's dot (one not under its own) nearer it than its own by a dot's width or more
    // (in a crowd of dots closer than that the line tells).
    const misread = ({ markers, stations }) => {
      const found = [];
      for (const marker of markers.filter(({ label }) => label)) {
        const own = gapBetween(marker.label, marker.dot);
        if (own <= 6) continue;
        for (const other of [...markers, ...stations]) {
          if (other === marker || cover(other.dot, marker.dot)) continue;
          const nearer = own - gapBetween(marker.label, other.dot);
          if (nearer >= marker.dot.right - marker.dot.left) found.push(`${marker.name}'s label is ${Math.round(nearer)} px nearer ${other.name}'s dot than its own`);
        }
      }
      return found;
    };
    // In full, the labels are too many for the map: the incidents' labels that had no clear place
    // (labelPlaces' `forced`, for which app/map.js shortens them) still read as their own, inside
    // the map and clear of the scale bar.
    const full = layOut(TRIAL_15);
    assert.ok(full.markers.filter(({ kind }) => kind === "i").every(({ label }) => label));
    assert.deepEqual(misread(full), []);
    assert.deepEqual(faults(TRIAL_15, full).filter((fault) => /scale bar/.test(fault)), []);
    const markers = TRIAL_15.pins.filter(([kind]) => kind !== "s");
    assert.ok(map.labelPlaces(...argsOf(TRIAL_15)).forced.some((index) => markers[index][0] === "i"), "not found too crowded");
    // Shortened ("…19", as the browser drew them in a view fitted to them): every incident's label
    // shown, read as its own, inside the map, clear of the scale bar, and none hiding another (over
    // a third of it: the browser drew four of Norwich's in one place).
    const short = layOut(TRIAL_15_SHORT);
    const incidents = short.markers.filter(({ kind }) => kind === "i");
    assert.ok(incidents.every(({ label }) => label), JSON.stringify(incidents.map(({ name, label }) => [name, label])));
    assert.deepEqual(misread(short), []);
    assert.deepEqual(faults(TRIAL_15_SHORT, short).filter((fault) => /off the map|scale bar/.test(fault)), []);
    const area = (r) => Math.max(0, r.right - r.left) * Math.max(0, r.bottom - r.top);
    const common = (a, b) => area({ left: Math.max(a.left, b.left), right: Math.min(a.right, b.right), top: Math.max(a.top, b.top), bottom: Math.min(a.bottom, b.bottom) });
    const hidden = incidents.flatMap((a) => incidents.filter((b) => b !== a && common(a.label, b.label) > Math.min(area(a.label), area(b.label)) / 3).map((b) => `${a.name} over ${b.name}`));
    assert.deepEqual(hidden, []);
  });

});
