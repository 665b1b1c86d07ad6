// A fix older than the server takes (backend/settings.py POSITION_MAX_AGE_SECONDS, checked by
// backend/accounts/positions.py check_fix: 400 "The fix is older than 120 seconds") is dropped on
// the phone, never sent, and a fresh one is asked for. The limit is the server's own, from GET
// /api/v1/me/ (`responder.position_max_age_seconds`), 120 s until the phone has it. Found by a
// browser trial: a fix kept through minutes without signal was sent, and refused (400), when the
// signal came back.
import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";

import { ApiError } from "../../pwa/app/api.js";
import * as position from "../../pwa/app/position.js";
import { applyAlert, createState } from "../../pwa/app/store.js";
import { FakeClock } from "./support/fake-clock.mjs";

/** A phone whose watch the test moves, and that keeps each ask (getCurrentPosition) for the test. */
class Phone {
  constructor(clock) {
    this.clock = clock;
    this.watches = new Map();
    this.nextId = 1;
    this.asks = [];
  }
  watchPosition(success, error) {
    const id = this.nextId++;
    this.watches.set(id, { success, error });
    return id;
  }
  clearWatch(id) {
    this.watches.delete(id);
  }
  getCurrentPosition(success, error, options) {
    this.asks.push({ success, error, options });
  }
  move(latitude, longitude, timestamp) {
    for (const { success } of this.watches.values()) success({ coords: { latitude, longitude, accuracy: 10 }, timestamp });
  }
  answer(latitude, longitude, timestamp = this.clock.now()) {
    const asks = this.asks.splice(0);
    for (const { success } of asks) success({ coords: { latitude, longitude, accuracy: 10 }, timestamp });
    return asks.length;
  }
}

const { PositionSharing } = position;
// The server's default (backend/settings.py POSITION_MAX_AGE_SECONDS), played by the fake server.
const SERVER_MAX_AGE_SECONDS = 120;

const settle = () => new Promise((resolve) => setImmediate(resolve));
const HERE = [52.63, 1.295];
const SECOND = 1000;

function responding(me = null) {
  const state = createState();
  applyAlert(state, { id: 7, incident_id: 1, state: "accepted", version: 1, incident: { id: 1, status: "open" }, accepted_at: "2026-01-01T11:59:00Z" });
  if (me) state.me = me;
  return state;
}

let clock;
let phone;
let api;
let sharing;
beforeEach(() => {
  clock = new FakeClock();
  phone = new Phone(clock);
  api = {
    sent: [],
    ages: [], // each fix's age, in seconds, when it was sent
    onCall: [],
    offline: false,
    async sharePosition(alertId, fix) {
      api.sent.push(fix);
      api.ages.push(ageOf(fix));
      if (api.offline) throw new ApiError(0, "network", "No connection.", {}, { offline: true });
      // The server's rule (check_fix): older than its limit is refused.
      if (Date.parse(fix.recorded_at) < clock.now() - SERVER_MAX_AGE_SECONDS * SECOND) {
        throw new ApiError(400, "invalid", "The position is not valid.", { recorded_at: ["The fix is older than 120 seconds: send a fresh one."] });
      }
      return { sharing: true, stored: true, estimate: null };
    },
    async shareOnCallPosition(fix) {
      api.onCall.push(fix);
    },
  };
  sharing = new PositionSharing({ api, geolocation: phone, clock });
});

const ageOf = (fix) => (clock.now() - Date.parse(fix.recorded_at)) / SECOND;

describe("a fix older than the server takes", () => {
  it("is the server's 120 s until the phone knows the server's own", () => assert.equal(position.SERVER_MAX_AGE_SECONDS, SERVER_MAX_AGE_SECONDS));

  it("from the watch (a phone's cached fix) is not sent; a fresh one is asked for and sent", async () => {
    sharing.follow(responding());
    phone.asks.length = 0; // the first ask, not answered
    phone.move(...HERE, clock.now() - 150 * SECOND);
    await settle();
    assert.deepEqual(api.sent, [], "not sent: the server would refuse it");
    assert.equal(phone.asks.length, 1, "a fresh fix asked for");
    phone.answer(...HERE);
    await settle();
    assert.equal(api.sent.length, 1);
    assert.equal(ageOf(api.sent[0]), 0);
    assert.equal(sharing.status(7).sent, true);
    assert.equal(sharing.status(7).error, null);
  });

  it("kept through minutes without signal is not sent when the signal comes back", async () => {
    api.offline = true;
    sharing.follow(responding());
    phone.answer(...HERE); // standing still: the watch brings nothing more
    await settle();
    assert.equal(api.sent.length, 1);
    for (let seconds = 0; seconds < 180; seconds += 5) {
      clock.advance(5 * SECOND);
      await settle();
    }
    api.offline = false;
    const tried = api.sent.length;
    clock.advance(5 * SECOND);
    await settle();
    assert.ok(api.ages.every((age) => age < SERVER_MAX_AGE_SECONDS), `sent at ${api.ages.join(", ")} s old`);
    assert.ok(phone.asks.length >= 1, "a fresh fix asked for instead");
    phone.answer(...HERE);
    await settle();
    assert.ok(api.sent.length > tried && api.ages.at(-1) === 0, "the fresh fix sent");
    assert.equal(sharing.status(7).sent, true);
  });

  it("goes by the limit the server states (GET /me/), not only 120 s", async () => {
    sharing.follow(responding({ username: "alice", responder: { on_call: true, share_position_on_call: false, position_max_age_seconds: 60 } }));
    phone.asks.length = 0;
    phone.move(...HERE, clock.now() - 90 * SECOND);
    await settle();
    assert.deepEqual(api.sent, [], "90 s is over the server's 60 s");
    phone.move(...HERE, clock.now() - 20 * SECOND);
    await settle();
    assert.equal(api.sent.length, 1, "20 s is within it");
  });

  it("while on call, is not sent either", async () => {
    const state = createState();
    state.me = { username: "alice", responder: { on_call: true, share_position_on_call: true } };
    sharing.follow(state);
    phone.asks.length = 0;
    phone.move(...HERE, clock.now() - 10 * 60 * SECOND);
    await settle();
    assert.deepEqual(api.onCall, []);
    assert.equal(phone.asks.length, 1, "a fresh fix asked for");
  });

  it("asked for and still too old (a phone's wrong cache) is not asked for again and again", async () => {
    sharing.follow(responding());
    phone.answer(...HERE, clock.now() - 150 * SECOND);
    await settle();
    assert.deepEqual(api.sent, []);
    assert.equal(phone.asks.length, 0, "the watch's next fix is waited for");
    phone.move(...HERE, clock.now());
    await settle();
    assert.equal(api.sent.length, 1);
  });
});
