import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { Backoff, DEFAULT_BACKOFF, backoffDelay } from "../../pwa/app/backoff.js";

const lowest = () => 0;
const highest = () => 0.999999;

describe("reconnect backoff", () => {
  it("starts at about a second", () => {
    assert.equal(backoffDelay(0, {}, highest), 1000);
    assert.equal(backoffDelay(0, {}, lowest), 500);
  });

  it("doubles with each attempt", () => {
    const ceilings = [0, 1, 2, 3, 4].map((attempt) => backoffDelay(attempt, {}, highest));
    assert.deepEqual(ceilings, [1000, 2000, 4000, 8000, 16000]);
  });

  it("never waits longer than the maximum, even after a very long outage", () => {
    for (const attempt of [5, 6, 10, 100, 10_000, Number.MAX_SAFE_INTEGER]) {
      const delay = backoffDelay(attempt, {}, highest);
      assert.ok(delay <= DEFAULT_BACKOFF.maxMs, `attempt ${attempt}: ${delay}`);
      assert.ok(Number.isFinite(delay));
    }
    assert.equal(backoffDelay(100, {}, highest), 30000);
  });

  it("keeps the jitter inside [ceiling / 2, ceiling]", () => {
    for (let attempt = 0; attempt < 12; attempt += 1) {
      const ceiling = Math.min(30000, 1000 * 2 ** attempt);
      for (let i = 0; i < 200; i += 1) {
        const delay = backoffDelay(attempt);
        assert.ok(delay >= ceiling / 2 && delay <= ceiling, `attempt ${attempt}: ${delay} outside [${ceiling / 2}, ${ceiling}]`);
      }
    }
  });

  it("spreads clients out rather than giving everyone the same delay", () => {
    const delays = new Set(Array.from({ length: 50 }, () => backoffDelay(4)));
    assert.ok(delays.size > 10, `only ${delays.size} distinct delays`);
  });

  it("treats nonsense attempts as the first", () => {
    for (const attempt of [-1, Number.NaN, undefined, null, "x"]) {
      assert.equal(backoffDelay(attempt, {}, highest), 1000);
    }
  });

  it("clamps a random source that goes out of range", () => {
    assert.equal(backoffDelay(0, {}, () => 7), 1000);
    assert.equal(backoffDelay(0, {}, () => -3), 500);
  });

  it("takes other bounds", () => {
    assert.equal(backoffDelay(0, { baseMs: 2000, maxMs: 60000, jitter: 0 }, lowest), 2000);
    assert.equal(backoffDelay(10, { baseMs: 2000, maxMs: 60000, jitter: 0 }, lowest), 60000);
  });

  it("grows while failing and starts again after a success", () => {
    const backoff = new Backoff({}, highest);
    assert.deepEqual([backoff.next(), backoff.next(), backoff.next()], [1000, 2000, 4000]);
    backoff.reset();
    assert.equal(backoff.next(), 1000);
  });
});
