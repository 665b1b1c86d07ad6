// The app's one shared watch on the phone's position (pwa/app/geolocation.js): the alert map and
// the position sharing watch through it, so the browser is asked once, and a watcher that joins
// later gets the last fix at once instead of waiting for the phone to move (which a phone standing
// still never does: the sharing said "on" and sent nothing, found in CI). No browser.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { FRESH_FIX_OPTIONS, LAST_FIX_KEPT_MS, SharedGeolocation, WATCH_OPTIONS } from "../../pwa/app/geolocation.js";
import { FakeClock } from "./support/fake-clock.mjs";

/** A browser geolocation that, like Chromium's, reports a fix only when the phone has a new one. */
class StillPhone {
  constructor() {
    this.watches = new Map();
    this.nextId = 1;
    this.options = [];
  }
  watchPosition(success, error, options) {
    const id = this.nextId++;
    this.watches.set(id, { success, error });
    this.options.push(options);
    return id;
  }
  clearWatch(id) {
    this.watches.delete(id);
  }
  move(latitude, longitude, timestamp = 1) {
    for (const { success } of this.watches.values()) success({ coords: { latitude, longitude, accuracy: 10 }, timestamp });
  }
  fail(code) {
    for (const { error } of this.watches.values()) error?.({ code });
  }
  /** Asked, the phone takes a fix (answer() gives it: where it stands, taken then). */
  getCurrentPosition(success, error, options) {
    this.asks ??= [];
    this.asks.push({ success, error, options });
  }
  answer(latitude, longitude, timestamp) {
    for (const { success } of (this.asks ?? []).splice(0)) success({ coords: { latitude, longitude, accuracy: 10 }, timestamp });
  }
}

function setUp() {
  const phone = new StillPhone();
  const clock = new FakeClock();
  return { phone, clock, shared: new SharedGeolocation(phone, clock) };
}

const latitudes = (fixes) => fixes.map((fix) => fix.coords.latitude);

describe("the shared watch", () => {
  it("asks the browser once, whoever watches, with the options the sharing needs", () => {
    const { phone, shared } = setUp();
    const map = [];
    const sharing = [];
    shared.watchPosition((fix) => map.push(fix));
    shared.watchPosition((fix) => sharing.push(fix));
    assert.equal(phone.watches.size, 1);
    assert.deepEqual(phone.options, [WATCH_OPTIONS]);
    phone.move(52.63, 1.29);
    assert.deepEqual(latitudes(map), [52.63]);
    assert.deepEqual(latitudes(sharing), [52.63]);
  });

  it("gives a watcher that joins later the last fix, without the phone moving", () => {
    const { phone, clock, shared } = setUp();
    shared.watchPosition(() => {});
    phone.move(52.63, 1.29, 1234);
    clock.advance(20_000); // accepting 20 s after the alert map began to watch
    const sharing = [];
    const id = shared.watchPosition((fix) => sharing.push(fix));
    assert.deepEqual(sharing, [], "not before the caller has the id, as the browser");
    clock.advance(0);
    assert.deepEqual(latitudes(sharing), [52.63]);
    assert.equal(sharing[0].timestamp, 1234, "the fix keeps its own time: the server knows its age");
    assert.equal(typeof id, "number");
  });

  it("does not hand over a fix older than a minute", () => {
    const { phone, clock, shared } = setUp();
    shared.watchPosition(() => {});
    phone.move(52.63, 1.29);
    clock.advance(LAST_FIX_KEPT_MS + 1);
    const sharing = [];
    shared.watchPosition((fix) => sharing.push(fix));
    clock.advance(10);
    assert.deepEqual(sharing, []);
    phone.move(52.64, 1.29);
    assert.deepEqual(latitudes(sharing), [52.64]);
  });

  it("hands over nothing to a watcher cleared before the hand-over, and a newer fix replaces it", () => {
    const { phone, clock, shared } = setUp();
    shared.watchPosition(() => {});
    phone.move(52.63, 1.29);
    const cleared = [];
    shared.clearWatch(shared.watchPosition((fix) => cleared.push(fix)));
    const joined = [];
    shared.watchPosition((fix) => joined.push(fix));
    phone.move(52.64, 1.29); // before the hand-over ran
    clock.advance(0);
    assert.deepEqual(cleared, []);
    assert.deepEqual(latitudes(joined), [52.64], "the newer fix only, not the older one after it");
  });

  it("stops the browser's watch with the last watcher and forgets the fix", () => {
    const { phone, clock, shared } = setUp();
    const first = shared.watchPosition(() => {});
    const second = shared.watchPosition(() => {});
    phone.move(52.63, 1.29);
    shared.clearWatch(first);
    assert.equal(phone.watches.size, 1);
    shared.clearWatch(second);
    assert.equal(phone.watches.size, 0);
    assert.equal(shared.lastFix, null);
    const later = [];
    shared.watchPosition((fix) => later.push(fix));
    clock.advance(0);
    assert.deepEqual(later, [], "no position kept once nobody watched");
    assert.equal(phone.watches.size, 1);
  });

  it("tells every watcher of an error", () => {
    const { phone, shared } = setUp();
    const errors = [];
    shared.watchPosition(() => {}, (error) => errors.push(["map", error.code]));
    shared.watchPosition(() => {}, (error) => errors.push(["sharing", error.code]));
    phone.fail(1);
    assert.deepEqual(errors, [["map", 1], ["sharing", 1]]);
  });

  // Found by a tester: accepted minutes after the alert map began to watch, standing still, the
  // sharing got no fix for 8 minutes. It now asks for one (getCurrentPosition).
  it("gives a fix asked for: the last one when young enough by its own time", () => {
    const { phone, clock, shared } = setUp();
    shared.watchPosition(() => {});
    phone.move(52.63, 1.29, clock.now() - 5_000);
    clock.advance(20_000);
    const asked = [];
    shared.getCurrentPosition((fix) => asked.push(fix), null, FRESH_FIX_OPTIONS);
    clock.advance(0);
    assert.deepEqual(latitudes(asked), [52.63]);
    assert.equal((phone.asks ?? []).length, 0, "the browser was not asked");
  });

  it("asks the browser for a fresh fix when the last one is too old, and keeps it for later watchers", () => {
    const { phone, clock, shared } = setUp();
    shared.watchPosition(() => {});
    phone.move(52.63, 1.29, clock.now());
    clock.advance(5 * 60_000);
    const asked = [];
    shared.getCurrentPosition((fix) => asked.push(fix), null, FRESH_FIX_OPTIONS);
    clock.advance(0);
    assert.deepEqual(asked, [], "not the 5-minute-old fix");
    assert.equal(phone.asks.length, 1);
    assert.deepEqual(phone.asks[0].options, FRESH_FIX_OPTIONS);
    phone.answer(52.64, 1.29, clock.now());
    assert.deepEqual(latitudes(asked), [52.64]);
    const joined = [];
    shared.watchPosition((fix) => joined.push(fix));
    clock.advance(0);
    assert.deepEqual(latitudes(joined), [52.64]);
  });
});
