// What a browser trial found on the boards (backend/dispatch/static/dispatch/), the pure parts:
// - the admin board's row of a responder on the way said "1.0 km" (the straight line from their
//   station when alerted) beside "1.1 km · about 1 min (estimate)" (the estimate's road distance from
//   where they are now): one distance now, the estimate's (board.js, distanceCellText);
// - the control room's Close dialog named nobody: it now says whom the close clears and stands
//   down, in the words of the admin's Close page (wall.js, closeQuestion);
// - the board's map never labelled Great Yarmouth: its places were taken by names placed before it
//   (app/map.js, contextLabels).
// In a browser: tests/e2e/test_admin_board_like_the_wall.py (1280 px wide, an estimate in the
// table) and tests/e2e/test_board_trial15.py (the new-incident notice, references at 360 px).
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import "./support/app-paths.mjs";

const admin = await import("../../backend/dispatch/static/dispatch/board.js");
const wall = await import("../../backend/dispatch/static/dispatch/wall.js");
const map = await import("../../pwa/app/map.js");

const NOW = Date.parse("2026-12-07T10:00:00Z");

describe("the admin board's distance cell", () => {
  const alert = { id: 7, state: "en_route", distance_km: 0.98, distance_from: "station" };
  const position = { alert_id: 7, estimate: { distance_km: 1.12, eta_seconds: 70, method: "estimate", computed_at: "2026-12-07T10:00:00Z" } };

  it("says one distance: the estimate's, with when they are likely there under it", () => {
    const cell = admin.distanceCellText(alert, position, NOW);
    assert.equal(cell.distance, "1.1 km");
    assert.equal(cell.eta, "about 1 min (estimate)");
    assert.doesNotMatch(cell.eta, /km|\bm\b/, "a second distance");
    assert.equal(cell.title, "980 m from their station when alerted"); // as the wall board says it
  });

  it("words the distance as every estimate does (metres under a kilometre, by road when routed)", () => {
    const near = { alert_id: 7, estimate: { distance_km: 0.45, eta_seconds: 20, method: "routing", computed_at: "2026-12-07T10:00:00Z" } };
    assert.deepEqual(admin.distanceCellText({ ...alert, distance_from: "position" }, near, NOW), {
      distance: "450 m", eta: "about 1 min (by road)", title: "980 m from where they were when alerted",
    });
  });

  it("with no estimate, says the distance when alerted, as before (in the wall board's words)", () => {
    assert.deepEqual(admin.distanceCellText(alert, null, NOW), { distance: "980 m", eta: "", title: null });
    assert.deepEqual(admin.distanceCellText(alert, { alert_id: 7, estimate: null }, NOW), { distance: "980 m", eta: "", title: null });
  });
});

describe("the control room's Close dialog", () => {
  const incident = { id: 1, cad_reference: "CAD-E5" };
  const alert = (responder_name, state) => ({ responder_name, state });

  it("names whom the close clears from the scene and whom it stands down, as the admin's Close page does", () => {
    const alerts = [
      alert("Sam Barker", "on_scene"), alert("Jo Day", "en_route"), alert("Alex Cole", "accepted"),
      alert("Mo Kemp", "received"), alert("Ruth Lowe", "declined"), alert("Tom Fox", "cleared"),
    ];
    assert.equal(
      wall.closeQuestion(incident, alerts),
      "Close CAD-E5? Anyone still going, or not yet answered, is stood down; anyone on scene is cleared. "
        + "Cleared from the scene: Sam Barker (on scene). Stood down while going: Jo Day (en route), Alex Cole (accepted). "
        + "Stood down before answering: Mo Kemp (shown on device).",
    );
  });

  it("says so when nobody's state changes", () => {
    assert.equal(
      wall.closeQuestion(incident, [alert("Ruth Lowe", "declined")]),
      "Close CAD-E5? Anyone still going, or not yet answered, is stood down; anyone on scene is cleared. "
        + "Nobody is alerted or going: nobody's state changes.",
    );
  });
});

describe("the stations' names on the board's map", () => {
  // The board with no open incident at 1920x1080, as measured in Chromium (px in the page): the
  // stations in the server's order, dots and labels as drawn (labels right of their dots).
  const face = ([dl, dt, dr, db], [ll, lt, lr, lb]) => ({ dot: { left: dl, top: dt, right: dr, bottom: db }, label: { left: ll, top: lt, right: lr, bottom: lb } });
  const NAMES = ["Dereham", "Gorleston", "Great Yarmouth", "King's Lynn", "North Walsham", "Norwich (Carrow)", "Sheringham", "Thetford", "Wymondham"];
  const STATIONS_1920 = [
    face([1538, 366, 1551, 379], [1558, 360.5, 1643, 384.4]),
    face([1822, 427, 1835, 440], [1842, 421.5, 1930.6, 445.4]),
    face([1823, 407, 1836, 420], [1843, 401.5, 1978, 425.4]),
    face([1342, 322, 1355, 335], [1362, 316.5, 1463, 340.4]),
    face([1700, 281, 1713, 294], [1720, 275.5, 1852.7, 299.4]),
    face([1672, 399, 1685, 412], [1692, 393.5, 1840.3, 417.4]),
    face([1636, 208, 1649, 221], [1656, 202.5, 1763.5, 226.4]),
    face([1467, 524, 1480, 537], [1487, 518.5, 1566, 542.4]),
    face([1602, 429, 1615, 442], [1622, 423.5, 1738.5, 447.4]),
  ];
  const WITHIN_1920 = { left: 1280.7, top: 78.3, right: 1898.4, bottom: 660.5 };
  const SCALE_BAR_1920 = { left: 1285.7, top: 617.4, right: 1372.7, bottom: 655.5 };

  const gapBetween = (a, b) => Math.hypot(Math.max(0, a.left - b.right, b.left - a.right), Math.max(0, a.top - b.bottom, b.top - a.bottom));
  const cover = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
  const placedLabel = ({ label }, { dx, dy }) => ({ left: label.left + dx, right: label.right + dx, top: label.top + dy, bottom: label.bottom + dy });

  it("labels every station where there is room, Great Yarmouth at the map's right edge too", () => {
    const places = map.contextLabels([SCALE_BAR_1920], STATIONS_1920, WITHIN_1920);
    assert.deepEqual(NAMES.filter((_, index) => !places[index].shown), [], JSON.stringify(places));
    const labels = STATIONS_1920.map((station, index) => placedLabel(station, places[index]));
    labels.forEach((label, index) => {
      const name = NAMES[index];
      assert.ok(label.left >= WITHIN_1920.left && label.right <= WITHIN_1920.right, `${name} off the map`);
      assert.ok(label.top >= WITHIN_1920.top && label.bottom <= WITHIN_1920.bottom, `${name} off the map`);
      assert.ok(!cover(label, SCALE_BAR_1920), `${name} under the scale bar`);
      STATIONS_1920.forEach(({ dot }, other) => {
        if (other === index) return;
        assert.ok(!cover(label, dot), `${name} over ${NAMES[other]}'s dot`);
        assert.ok(!cover(label, labels[other]), `${name} over ${NAMES[other]}'s name`);
        // Read as its own: nearer its own dot than any other.
        assert.ok(gapBetween(label, dot) > gapBetween(label, STATIONS_1920[index].dot), `${name} as near ${NAMES[other]}'s dot as its own`);
      });
    });
  });

  it("at 1280x720, with room for all but one, names Great Yarmouth too (Norwich (Carrow) gives way)", () => {
    // The 1280x720 board as measured (px inside the map): Great Yarmouth and Norwich (Carrow) cannot
    // both be named there (each name's only clear places are the other's).
    const rect = (left, top, width, height) => ({ left, top, right: left + width, bottom: top + height });
    const station = (x, y, width) => ({ dot: rect(x, y, 12, 12), label: rect(x + 18, y - 4, width, 20) });
    const stations = [
      station(168, 186, 70), station(368, 228, 73), station(369, 215, 112), station(29, 154, 83), station(282, 125, 109),
      station(263, 209, 122), station(237, 74, 89), station(117, 297, 65), station(213, 230, 96),
    ];
    const places = map.contextLabels([rect(5, 341, 76, 33)], stations, { left: 0, top: 0, right: 410, bottom: 379 });
    assert.equal(places.filter(({ shown }) => shown).length, 8, JSON.stringify(places));
    assert.equal(places[2].shown, true, `Great Yarmouth: ${JSON.stringify(places)}`);
  });
});
