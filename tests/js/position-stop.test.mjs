// Stop on the alert screen tells the server (DELETE /api/v1/alerts/{id}/positions/), so that the
// boards drop the position, its estimate and "Likely first". Found by a browser trial: the phone said
// "Not sharing your position." while the wall still read "Likely first: Sam Barker (1 min)" minutes
// later; the phone had only stopped its own watch (pwa/app/position.js, stopFor).
import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";

import { ApiError } from "../../pwa/app/api.js";
import { PositionSharing, RESPONDING } from "../../pwa/app/position.js";
import { applyAlert, createState } from "../../pwa/app/store.js";
import { FakeClock } from "./support/fake-clock.mjs";

const settle = () => new Promise((resolve) => setImmediate(resolve));

class StillPhone {
  watchPosition() {
    return 1;
  }
  clearWatch() {}
}

function fakeApi() {
  const api = {
    stops: [],
    failWith: null,
    async sharePosition() {
      return { sharing: true, stored: true, estimate: null };
    },
    async shareOnCallPosition() {},
    async stopSharingPosition(alertId) {
      api.stops.push(alertId);
      if (api.failWith) throw api.failWith;
    },
  };
  return api;
}

function accepted() {
  const state = createState();
  applyAlert(state, { id: 7, incident_id: 1, state: "accepted", version: 1, incident: { id: 1, status: "open" }, accepted_at: "2026-01-01T11:59:00Z" });
  return state;
}

describe("Stop tells the server", () => {
  let clock;
  let api;
  let sharing;
  beforeEach(() => {
    clock = new FakeClock();
    api = fakeApi();
    sharing = new PositionSharing({ api, geolocation: new StillPhone(), clock });
  });

  it("once, at the tap", async () => {
    sharing.follow(accepted());
    sharing.stopFor(7);
    await settle();
    assert.deepEqual(api.stops, [7]);
    clock.advance(60_000);
    await settle();
    assert.deepEqual(api.stops, [7]);
  });

  it("again after a while when there was no connection, until it is delivered", async () => {
    sharing.follow(accepted());
    api.failWith = new ApiError(0, "offline", "No connection.");
    sharing.stopFor(7);
    await settle();
    assert.deepEqual(api.stops, [7]);
    api.failWith = null;
    clock.advance(RESPONDING.retryMs);
    await settle();
    assert.deepEqual(api.stops, [7, 7]);
    clock.advance(60_000);
    await settle();
    assert.deepEqual(api.stops, [7, 7]);
  });

  it("not again once shared again, nor after a refusal", async () => {
    const state = accepted();
    sharing.follow(state);
    api.failWith = new ApiError(0, "offline", "No connection.");
    sharing.stopFor(7);
    await settle();
    sharing.resumeFor(7, state);
    clock.advance(60_000);
    await settle();
    assert.deepEqual(api.stops, [7]);

    api.failWith = new ApiError(404, "not_found", "You have no alert 7.");
    sharing.stopFor(7);
    await settle();
    clock.advance(60_000);
    await settle();
    assert.deepEqual(api.stops, [7, 7]);
  });
});
