// Position sharing (pwa/app/position.js) with a fake geolocation and a fake clock: never before
// accepting; at most every 10 s unless moved 50 m; stops at cleared, stood down, cancelled,
// declined, a 409, the Stop button and logout (none from the logout's request on). And the words of arrival estimates and "likely
// first on scene" (pwa/app/arrival.js). No network, no browser.
import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";

import { ApiError } from "../../pwa/app/api.js";
import { estimateText, isOnTheWay, likelyFirstAmong, likelyFirstText, minutesText, positionsOnTheWay } from "../../pwa/app/arrival.js";
import { FRESH_FIX_OPTIONS, SharedGeolocation } from "../../pwa/app/geolocation.js";
import { HOLD_WAIT_MS, PositionSharing, distanceMetres, waitBeforeSending } from "../../pwa/app/position.js";
import { applyAlert, createState, createStore } from "../../pwa/app/store.js";
import { FakeClock } from "./support/fake-clock.mjs";

class FakeGeolocation {
  constructor() {
    this.watches = new Map();
    this.nextId = 1;
  }
  watchPosition(success, error) {
    const id = this.nextId++;
    this.watches.set(id, { success, error });
    return id;
  }
  clearWatch(id) {
    this.watches.delete(id);
  }
  move(latitude, longitude, timestamp = Date.now()) {
    for (const { success } of this.watches.values()) success({ coords: { latitude, longitude, accuracy: 10 }, timestamp });
  }
  get watching() {
    return this.watches.size;
  }
}

/** A phone standing still: its watch reports nothing new, but asked (getCurrentPosition) it gives
 *  a fix taken now, at the place it stands. */
class AskablePhone extends FakeGeolocation {
  constructor(clock) {
    super();
    this.clock = clock;
    this.asks = [];
  }
  getCurrentPosition(success, error, options) {
    this.asks.push({ success, error, options });
  }
  /** Answer every ask so far with a fix taken now at (latitude, longitude). */
  answer(latitude, longitude) {
    const asks = this.asks.splice(0);
    for (const { success } of asks) success({ coords: { latitude, longitude, accuracy: 10 }, timestamp: this.clock.now() });
    return asks.length;
  }
}

const tooOld = () => new ApiError(400, "invalid", "The position is not valid.", { recorded_at: ["The fix is older than 120 seconds: send a fresh one."] });

function fakeApi() {
  const api = {
    sent: [],
    onCall: [],
    answer: () => ({ sharing: true, stored: true, estimate: { distance_km: 1.2, eta_seconds: 180, method: "estimate", computed_at: "2026-01-01T12:00:00Z" } }),
    async sharePosition(alertId, fix) {
      api.sent.push({ alertId, ...fix });
      return api.answer();
    },
    async shareOnCallPosition(fix) {
      api.onCall.push(fix);
    },
  };
  return api;
}

const settle = () => new Promise((resolve) => setImmediate(resolve));
const INCIDENT = { id: 1, status: "open", address: "1 Quay Road" };
// About 10 m and 100 m north of a point in Norwich.
const HERE = [52.63, 1.295];
const TEN_M = [52.63009, 1.295];
const HUNDRED_M = [52.6309, 1.295];

function stateWith(alertState, incident = INCIDENT, version = 1) {
  const state = createState();
  applyAlert(state, { id: 7, incident_id: 1, state: alertState, version, incident, accepted_at: "2026-01-01T11:59:00Z" });
  return state;
}

describe("the throttle", () => {
  it("sends the first fix at once", () => assert.equal(waitBeforeSending(null, 0, { latitude: 1, longitude: 1 }, 0), 0));
  it("waits out 10 s for a fix that has not moved 50 m", () => {
    const last = { latitude: HERE[0], longitude: HERE[1] };
    assert.equal(waitBeforeSending(last, 0, { latitude: TEN_M[0], longitude: TEN_M[1] }, 3000), 7000);
  });
  it("sends a fix 50 m away after 2 s", () => {
    const last = { latitude: HERE[0], longitude: HERE[1] };
    assert.equal(waitBeforeSending(last, 0, { latitude: HUNDRED_M[0], longitude: HUNDRED_M[1] }, 500), 1500);
    assert.equal(waitBeforeSending(last, 0, { latitude: HUNDRED_M[0], longitude: HUNDRED_M[1] }, 2500), 0);
  });
  it("measures metres", () => {
    const d = distanceMetres({ latitude: HERE[0], longitude: HERE[1] }, { latitude: HUNDRED_M[0], longitude: HUNDRED_M[1] });
    assert.ok(d > 95 && d < 105, String(d));
  });
});

describe("sharing while responding", () => {
  let clock;
  let geo;
  let api;
  let sharing;
  beforeEach(() => {
    clock = new FakeClock();
    geo = new FakeGeolocation();
    api = fakeApi();
    sharing = new PositionSharing({ api, geolocation: geo, clock });
  });

  it("never watches before accepting", () => {
    sharing.follow(stateWith("alerted"));
    sharing.follow(stateWith("received"));
    assert.equal(geo.watching, 0);
  });

  it("after accepting sends the first fix, then at most every 10 s unless moved 50 m", async () => {
    sharing.follow(stateWith("accepted"));
    assert.equal(geo.watching, 1);
    geo.move(...HERE);
    await settle();
    assert.equal(api.sent.length, 1);
    clock.advance(3000);
    geo.move(...TEN_M);
    await settle();
    assert.equal(api.sent.length, 1, "10 m after 3 s waits");
    clock.advance(6999);
    await settle();
    assert.equal(api.sent.length, 1);
    clock.advance(1);
    await settle();
    assert.equal(api.sent.length, 2, "sent once 10 s have passed");
    clock.advance(2500);
    geo.move(...HUNDRED_M);
    await settle();
    assert.equal(api.sent.length, 3, "100 m moved: sent after 2 s");
    assert.deepEqual(
      Object.keys(api.sent[0]).sort(),
      ["accuracy_m", "alertId", "latitude", "longitude", "recorded_at"],
    );
    assert.equal(sharing.status(7).sharing, true);
    assert.equal(sharing.status(7).estimate.eta_seconds, 180);
  });

  for (const ending of ["cleared", "stood_down", "cancelled", "declined"]) {
    it(`stops at ${ending}`, async () => {
      sharing.follow(stateWith("en_route"));
      geo.move(...HERE);
      await settle();
      sharing.follow(stateWith(ending, INCIDENT, 2));
      assert.equal(geo.watching, 0);
      clock.advance(60000);
      geo.move(...HUNDRED_M);
      await settle();
      assert.equal(api.sent.length, 1);
    });
  }

  it("stops when the incident is closed or cancelled", () => {
    sharing.follow(stateWith("on_scene"));
    sharing.follow(stateWith("on_scene", { ...INCIDENT, status: "closed" }));
    assert.equal(geo.watching, 0);
  });

  it("stops for good on the server's 409 not_responding", async () => {
    api.sharePosition = async () => {
      throw new ApiError(409, "not_responding", "Your alert is cleared.");
    };
    const state = stateWith("accepted");
    sharing.follow(state);
    geo.move(...HERE);
    await settle();
    assert.equal(geo.watching, 0);
    sharing.follow(state);
    assert.equal(geo.watching, 0, "not restarted for the same alert");
  });

  it("sends the same fix again after 5 s when it could not be sent, until it is", async () => {
    let failures = 2;
    const send = api.sharePosition;
    api.sharePosition = async (alertId, fix) => {
      if (failures-- > 0) throw new ApiError(503, "database_busy", "Try again.");
      return send(alertId, fix);
    };
    sharing.follow(stateWith("accepted"));
    geo.move(...HERE); // standing still: no further fix comes from the phone
    await settle();
    assert.equal(api.sent.length, 0);
    assert.match(sharing.status(7).error, /Try again/);
    clock.advance(4999);
    await settle();
    assert.equal(failures, 1, "not before 5 s");
    clock.advance(1);
    await settle();
    clock.advance(5000);
    await settle();
    assert.equal(api.sent.length, 1);
    assert.deepEqual([api.sent[0].latitude, api.sent[0].longitude], HERE);
    assert.equal(sharing.status(7).error, null);
    clock.advance(60000);
    await settle();
    assert.equal(api.sent.length, 1, "sent once: no retry after success");
  });

  it("keeps going (and says so) when a fix could not be sent", async () => {
    api.sharePosition = async () => {
      throw new ApiError(0, "network", "No connection.");
    };
    sharing.follow(stateWith("accepted"));
    geo.move(...HERE);
    await settle();
    assert.equal(geo.watching, 1);
    assert.match(sharing.status(7).error, /no connection/i);
  });

  it("stops at the Stop button, and shares again only when asked", async () => {
    const state = stateWith("accepted");
    sharing.follow(state);
    sharing.stopFor(7);
    assert.equal(geo.watching, 0);
    sharing.follow(state);
    assert.equal(geo.watching, 0);
    assert.deepEqual(sharing.status(7), { sharing: false, sent: false, blocked: false, stopped: true, estimate: null, error: null });
    sharing.resumeFor(7, state);
    assert.equal(geo.watching, 1);
  });

  it("stops at logout", () => {
    sharing.follow(stateWith("accepted"));
    sharing.stopAll();
    assert.equal(geo.watching, 0);
    assert.equal(clock.pending ? clock.pending() : 0, 0);
  });
});

describe("a phone standing still when the sharing starts (found by a tester: nothing sent for 8 min)", () => {
  let clock;
  let phone;
  let api;
  let sharing;
  beforeEach(() => {
    clock = new FakeClock();
    phone = new AskablePhone(clock);
    api = fakeApi();
    sharing = new PositionSharing({ api, geolocation: phone, clock });
  });

  it("asks for a fix at once on accepting, sends it, and says 'waiting' until it is sent", async () => {
    sharing.follow(stateWith("accepted"));
    assert.equal(phone.asks.length, 1, "a fix asked for: the watch gives none to a phone standing still");
    assert.ok(phone.asks[0].options.maximumAge <= 30_000, "fresh enough for the server's 120 s");
    assert.equal(sharing.status(7).sharing, true);
    assert.equal(sharing.status(7).sent, false, "nothing sent yet: the screen must not say 'Sharing'");
    phone.answer(...HERE);
    await settle();
    assert.equal(api.sent.length, 1);
    assert.equal(api.sent[0].recorded_at, new Date(clock.now()).toISOString());
    assert.equal(sharing.status(7).sent, true);
  });

  it("says the position is not shared (not 'waiting') when the phone does not allow it", () => {
    sharing.follow(stateWith("accepted"));
    phone.asks[0].error({ code: 1 });
    assert.equal(sharing.status(7).blocked, true);
    assert.equal(sharing.status(7).sent, false);
    assert.match(sharing.status(7).error, /does not allow/);
  });

  it("sends the same fix once when both the watch and the ask bring it", async () => {
    sharing.follow(stateWith("accepted"));
    phone.move(...HERE, clock.now());
    phone.answer(...HERE); // the same fix: same place, same time
    await settle();
    clock.advance(60_000);
    await settle();
    assert.equal(api.sent.length, 1);
  });

  it("after the alert map watched for minutes, accepting still sends a fix taken now", async () => {
    const shared = new SharedGeolocation(phone, clock);
    sharing = new PositionSharing({ api, geolocation: shared, clock });
    shared.watchPosition(() => {}); // the alert map, opened with the alert
    phone.move(...HERE, clock.now());
    clock.advance(5 * 60_000); // the firefighter reads the alert, standing still, and accepts
    sharing.follow(stateWith("accepted"));
    clock.advance(0);
    await settle();
    assert.equal(phone.answer(...HERE), 1, "the browser asked for a fresh fix");
    await settle();
    assert.equal(api.sent.length, 1);
    assert.equal(api.sent[0].recorded_at, new Date(clock.now()).toISOString(), "taken now, not 5 min ago");
  });
});

describe("a fix the server refuses (found by a tester: one fix posted 24 times, each refused)", () => {
  let clock;
  let phone;
  let api;
  let sharing;
  beforeEach(() => {
    clock = new FakeClock();
    phone = new AskablePhone(clock);
    api = fakeApi();
    sharing = new PositionSharing({ api, geolocation: phone, clock });
  });

  it("drops a fix refused as too old, says the server's words, and sends a fresh one asked for", async () => {
    const send = api.sharePosition;
    let calls = 0;
    api.sharePosition = async (alertId, fix) => {
      calls += 1;
      // The server's clock a minute ahead of the phone's: a fix the phone takes for 90 s old (under
      // the 120 s, so sent: position-stale-fix.test.mjs) is 150 s old to the server.
      if (Date.parse(fix.recorded_at) < clock.now() + 60_000 - 120_000) throw tooOld();
      return send(alertId, fix);
    };
    sharing.follow(stateWith("accepted"));
    phone.asks.length = 0; // not answered: the watch gives an old fix first (a phone's cache)
    phone.move(...HERE, clock.now() - 90_000);
    await settle();
    assert.equal(calls, 1);
    assert.equal(sharing.status(7).sent, false);
    assert.match(sharing.status(7).error, /The fix is older than 120 seconds/);
    assert.match(sharing.status(7).error, /Waiting for a fresh/);
    clock.advance(60_000);
    await settle();
    assert.equal(calls, 1, "the refused fix is not sent again");
    assert.equal(phone.asks.length, 1, "a fresh fix was asked for");
    assert.equal(phone.asks[0].options.maximumAge, FRESH_FIX_OPTIONS.maximumAge);
    phone.answer(...HERE);
    await settle();
    assert.equal(calls, 2);
    assert.equal(api.sent.length, 1);
    assert.equal(sharing.status(7).sent, true);
    assert.equal(sharing.status(7).error, null);
  });

  it("does not send a refused fix again when the watch brings it back", async () => {
    let calls = 0;
    api.sharePosition = async () => {
      calls += 1;
      throw tooOld();
    };
    sharing.follow(stateWith("accepted"));
    const old = clock.now() - 90_000; // refused (the server's clock ahead), brought back 20 s later
    phone.move(...HERE, old);
    await settle();
    clock.advance(20_000);
    phone.move(...HERE, old);
    await settle();
    clock.advance(20_000);
    await settle();
    assert.equal(calls, 1);
  });

  it("does not ask again and again when a fresh fix is refused (a wrong clock): waits for the next", async () => {
    let calls = 0;
    const send = api.sharePosition;
    api.sharePosition = async (alertId, fix) => {
      calls += 1;
      if (calls === 1) throw new ApiError(400, "invalid", "The position is not valid.", { recorded_at: ["The fix is in the future."] });
      return send(alertId, fix);
    };
    sharing.follow(stateWith("accepted"));
    phone.answer(...HERE);
    await settle();
    assert.equal(sharing.status(7).error, "Position not sent: The fix is in the future.");
    clock.advance(60_000);
    await settle();
    assert.equal(calls, 1, "not sent again");
    assert.equal(phone.asks.length, 0, "no fresh fix asked for: it would be refused the same");
    phone.move(...HUNDRED_M, clock.now());
    await settle();
    assert.equal(calls, 2, "the next fix from the watch is sent at once: the refused one does not count");
    assert.equal(sharing.status(7).error, null);
  });

  it("while on call, does not send a refused fix again either", async () => {
    let calls = 0;
    api.shareOnCallPosition = async () => {
      calls += 1;
      throw new ApiError(400, "invalid", "The position is not valid.", { recorded_at: ["The fix is in the future."] });
    };
    const state = createState();
    state.me = { username: "alice", responder: { on_call: true, share_position_on_call: true } };
    sharing.follow(state);
    phone.answer(...HERE);
    await settle();
    clock.advance(10 * 60_000);
    await settle();
    assert.equal(calls, 1);
  });
});

describe("sharing while on call, by the opt-in", () => {
  const onCall = (share, on_call = true) => {
    const state = createState();
    state.me = { username: "alice", responder: { on_call, share_position_on_call: share } };
    return state;
  };

  it("does nothing without the opt-in, and follows it when given", async () => {
    const geo = new FakeGeolocation();
    const api = fakeApi();
    const sharing = new PositionSharing({ api, geolocation: geo, clock: new FakeClock() });
    sharing.follow(onCall(false));
    assert.equal(geo.watching, 0);
    sharing.follow(onCall(true));
    geo.move(...HERE);
    await settle();
    assert.equal(api.onCall.length, 1);
    sharing.follow(onCall(true, false));
    assert.equal(geo.watching, 0, "off call: stopped");
  });
});

describe("a logout while sharing (found by a browser trial, twice: a position POSTed after the logout, answered 401)", () => {
  let clock;
  let phone;
  let requests; // what the phone asked of the server, in order: "position", "on call", "logout"
  let api;
  let store;
  let sharing;
  beforeEach(() => {
    clock = new FakeClock();
    phone = new AskablePhone(clock);
    requests = [];
    api = fakeApi();
    const { sharePosition, shareOnCallPosition } = api;
    api.sharePosition = (...args) => (requests.push("position"), sharePosition(...args));
    api.shareOnCallPosition = (...args) => (requests.push("on call"), shareOnCallPosition(...args));
    // Wired as main.js wires them: the store's changes drive the sharing, whose changes redraw.
    store = createStore(Object.assign(stateWith("en_route"), { session: "authenticated" }));
    sharing = new PositionSharing({ api, geolocation: phone, clock, onChange: () => store.update((s) => void (s.sharing += 1)) });
    store.subscribe((state) => (state.session === "authenticated" ? sharing.follow(state) : sharing.stopAll()));
    sharing.follow(store.state);
  });
  const positionsAfterTheLogout = () => requests.slice(requests.indexOf("logout") + 1).filter((what) => what !== "logout");

  /** main.js's ctx.logout, as far as positions go; `works`: whether the server ended the session. */
  async function logOut(works) {
    await sharing.hold();
    requests.push("logout");
    await settle();
    if (!works) {
      sharing.release(store.state);
      return;
    }
    sharing.stopAll();
    await settle(); // the logout tidies up (push, stored data) with the job still on the screens, signed in
    phone.answer(...HERE);
    clock.advance(60_000);
    await settle();
    store.update((s) => void (s.session = "anonymous"));
    await settle();
  }

  it("sends nothing once the logout's request has gone, though the screens redraw the job signed in meanwhile", async () => {
    phone.answer(...HERE);
    await settle();
    assert.deepEqual(requests, ["position"]);
    clock.advance(3_000);
    phone.move(...HUNDRED_M, clock.now()); // due at once: moved 100 m, 3 s after the last

    await logOut(true);

    assert.deepEqual(positionsAfterTheLogout(), []);
    assert.equal(phone.watching, 0);
    assert.equal(clock.pending, 0);
  });

  it("waits for a position already being sent to be answered before the logout's request goes", async () => {
    let answer;
    api.answer = () => new Promise((resolve) => (answer = resolve));
    phone.answer(...HERE);
    await settle();
    assert.deepEqual(requests, ["position"]);
    let held = false;
    sharing.hold().then(() => (held = true));
    await settle();
    assert.equal(held, false, "the logout's request would have gone before the position was answered");
    answer({ estimate: null });
    await settle();
    assert.equal(held, true);
  });

  it("waits at most HOLD_WAIT_MS for a position being sent that gets no answer", async () => {
    api.answer = () => new Promise(() => {});
    phone.answer(...HERE);
    await settle();
    let held = false;
    sharing.hold().then(() => (held = true));
    clock.advance(HOLD_WAIT_MS - 1);
    await settle();
    assert.equal(held, false);
    clock.advance(1);
    await settle();
    assert.equal(held, true);
  });

  it("carries on as before when the logout fails: a fix kept meanwhile goes then, and the next ones as usual", async () => {
    phone.answer(...HERE);
    await settle();
    await sharing.hold();
    clock.advance(3_000);
    phone.move(...HUNDRED_M, clock.now());
    clock.advance(20_000);
    await settle();
    assert.deepEqual(requests, ["position"], "sent while the logout's request was under way");

    sharing.release(store.state);
    await settle();
    assert.deepEqual(requests, ["position", "position"]);
    assert.equal(api.sent.at(-1).latitude, HUNDRED_M[0]);
    assert.equal(sharing.status(7).sharing, true);
    clock.advance(3_000);
    phone.move(...HERE, clock.now());
    await settle();
    assert.deepEqual(requests, ["position", "position", "position"]);
  });

  it("the logout refused (no signal, not 2xx): everything carries on", async () => {
    await logOut(false);
    phone.answer(...HERE);
    await settle();
    assert.deepEqual(positionsAfterTheLogout(), ["position"]);
    assert.equal(sharing.status(7).sharing, true);
  });

  it("after a logout that worked, shares again only from the next sign-in", async () => {
    await logOut(true);
    store.update((s) => void (s.session = "authenticated")); // someone signs in: main.js releases first
    sharing.release();
    await settle();
    assert.equal(phone.watching, 1);
    phone.answer(...HERE);
    await settle();
    assert.deepEqual(positionsAfterTheLogout(), ["position"]);
  });

  it("holds the on-call sharing too", async () => {
    store.update((s) => {
      s.alerts.clear();
      s.me = { username: "alice", responder: { on_call: true, share_position_on_call: true } };
    });
    await settle();
    await sharing.hold();
    phone.answer(...HERE);
    await settle();
    assert.deepEqual(requests, []);
    sharing.release(store.state);
    await settle();
    assert.deepEqual(requests, ["on call"]);
  });
});

describe("estimates in words", () => {
  const at = "2026-01-01T12:00:00Z";
  const now = Date.parse(at);
  const position = (name, seconds) => ({ responder_name: name, estimate: { distance_km: 1.2, eta_seconds: seconds, method: "estimate", computed_at: at } });

  it("says the distance and time, labelled as an estimate", () => {
    assert.equal(estimateText(position("A", 180).estimate, now), "1.2 km · about 3 min (estimate)");
    assert.equal(estimateText({ distance_km: 0.45, eta_seconds: 20, method: "routing" }), "450 m · about 1 min (by road)");
    assert.equal(minutesText(0), "1 min");
  });

  it("names who is likely first, the responder or the ambulance", () => {
    const eightMinutes = new Date(now + 8 * 60000).toISOString();
    assert.equal(likelyFirstText([position("A. Smith", 180), position("B. Jones", 400)], eightMinutes, now), "Likely first: A. Smith (3 min) · ambulance 8 min");
    assert.equal(likelyFirstText([position("A. Smith", 600)], eightMinutes, now), "Likely first: the ambulance (8 min) · A. Smith 10 min");
    assert.equal(likelyFirstText([], null, now), "");
    assert.equal(likelyFirstText([position("A. Smith", 180)], null, now + 60000), "Likely first: A. Smith (2 min)");
  });

  it("gives a row and 'likely first' the same figure (found by a tester: 57 min against 59)", () => {
    const sam = position("Sam Day", 59 * 60);
    const later = now + 2 * 60000; // the estimate was worked out two minutes ago
    assert.equal(likelyFirstText([sam], null, later), "Likely first: Sam Day (57 min)");
    assert.equal(estimateText(sam.estimate, later), "1.2 km · about 57 min (estimate)");
  });
});

describe("estimates only for those on their way", () => {
  const at = "2026-01-01T12:00:00Z";
  const now = Date.parse(at);
  const position = (alertId, name, seconds) => ({ alert_id: alertId, responder_name: name, estimate: { distance_km: 1.5, eta_seconds: seconds, method: "estimate", computed_at: at } });
  const alert = (id, state, extra = {}) => ({ id, state, on_scene_at: state === "on_scene" ? at : null, ...extra });
  const mo = position(1, "Mo Kemp", 120);
  const kate = position(2, "Kate Lowe", 150);

  it("keeps the estimates of those accepted or en route only, not of one on scene", () => {
    const alerts = [alert(1, "on_scene"), alert(2, "en_route"), alert(3, "accepted")];
    assert.deepEqual(positionsOnTheWay([mo, kate], alerts).map((p) => p.alert_id), [2]);
    assert.equal(isOnTheWay({ state: "on_scene" }), false);
    assert.equal(isOnTheWay({ state: "cleared" }), false);
    assert.equal(isOnTheWay({ state: "en_route" }), true);
  });

  it("names nobody 'likely first' once anyone is, or was, on scene", () => {
    assert.equal(likelyFirstAmong([mo, kate], [alert(1, "en_route"), alert(2, "en_route")], null, now), "Likely first: Mo Kemp (2 min)");
    assert.equal(likelyFirstAmong([mo, kate], [alert(1, "on_scene"), alert(2, "en_route")], null, now), "");
    // Mo cleared (his position is gone): Kate cannot be first any more.
    assert.equal(likelyFirstAmong([kate], [alert(1, "cleared", { on_scene_at: at }), alert(2, "en_route")], null, now), "");
    // The app's crew members say `attended` and key by alert_id.
    const crew = [{ alert_id: 1, state: "cleared", attended: true }, { alert_id: 2, state: "en_route", attended: false }];
    assert.equal(likelyFirstAmong([kate], crew, null, now), "");
    // Cleared without getting there (never attended) leaves Kate likely first.
    assert.equal(likelyFirstAmong([kate], [{ alert_id: 1, state: "cleared", attended: false }, crew[1]], null, now), "Likely first: Kate Lowe (3 min)");
  });
});

describe("the alert's distance, from where", async () => {
  const { distanceFromText } = await import("../../pwa/app/format.js");
  it("says from you for a fresh position, from the station otherwise", () => {
    assert.equal(distanceFromText({ distance_km: 1.9, distance_from: "position", station: "Norwich" }), "1.9 km from you");
    assert.equal(distanceFromText({ distance_km: 1.9, distance_from: "station", station: "Norwich" }), "1.9 km from Norwich station");
    assert.equal(distanceFromText({ distance_km: 1.9, station: "Norwich" }), "1.9 km from Norwich station");
  });
});
