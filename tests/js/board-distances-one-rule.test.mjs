// Found by a product trial of the admin's live board (/admin/dispatch/incident/board/): "140 m" beside
// "0.2 km" for like distances. The row of a responder sharing their position said the estimate's
// distance in the shared words (/app/arrival.js, distanceText: metres under a kilometre), the row of
// one not sharing it (and its title) the distance when alerted to one decimal of a kilometre, and the
// map's text and labels (/app/map.js, estimateText) the estimate to one decimal of a kilometre too.
// Every distance on the board now says it as the control room's wall board does: distanceText.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import "./support/app-paths.mjs";

const admin = await import("../../backend/dispatch/static/dispatch/board.js");
const boardMap = await import("../../backend/dispatch/static/dispatch/board-map.js");
const arrival = await import("../../pwa/app/arrival.js");
const map = await import("../../pwa/app/map.js");

const NOW = Date.parse("2026-12-07T10:00:00Z");
const estimateOf = (km) => ({ distance_km: km, eta_seconds: 60, method: "estimate", computed_at: "2026-12-07T10:00:00Z" });
// Near and far, and either side of a kilometre (as the server sends them: alerts unrounded,
// estimates to 10 m).
const DISTANCES = [0.03, 0.14, 0.2, 0.2371, 0.45, 0.98, 0.999, 0.9996, 1, 1.04, 1.12, 2.4, 12.35];

describe("the admin board's distances", () => {
  it("say a responder not sharing their position as one sharing it: metres under a kilometre", () => {
    const alerted = { id: 7, state: "accepted", distance_km: 0.2, distance_from: "station" };
    const going = { alert_id: 7, estimate: estimateOf(0.14) };
    assert.equal(admin.distanceCellText({ ...alerted, id: 8 }, null, NOW).distance, "200 m");
    assert.deepEqual(admin.distanceCellText(alerted, going, NOW), {
      distance: "140 m", eta: "about 1 min (estimate)", title: "200 m from their station when alerted",
    });
  });

  it("are each said by the wall board's rule, in the rows, their titles and the map", () => {
    for (const km of DISTANCES) {
      const said = arrival.distanceText(km);
      const alert = { id: 1, state: "en_route", distance_km: km, distance_from: "position" };
      assert.equal(admin.distanceCellText(alert, null, NOW).distance, said, `${km} km in a row`);
      assert.equal(admin.distanceCellText(alert, { alert_id: 1, estimate: estimateOf(km) }, NOW).distance, said, `${km} km, estimated`);
      assert.equal(admin.distanceCellText(alert, { alert_id: 1, estimate: estimateOf(5) }, NOW).title, `${said} from where they were when alerted`);
      assert.equal(map.estimateText(estimateOf(km), NOW), `${said}, ETA 1 min (estimate)`, `${km} km on the map`);
      assert.equal(boardMap.responderText({ responder_name: "Alice", estimate: estimateOf(km) }), `Alice: ${said}, ETA 1 min (estimate)`);
    }
  });

  it("never say a kilometre in metres (\"1000 m\" beside \"1.0 km\")", () => {
    assert.equal(arrival.distanceText(0.9996), "1.0 km");
    assert.equal(arrival.distanceText(0.9994), "999 m");
    assert.equal(arrival.distanceText(1.04), "1.0 km");
    assert.equal(arrival.distanceText(0.45), "450 m");
  });
});
