import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { BPM_DEFAULT, MAX_LATE_SECONDS, beatInterval, clampBpm, scheduleBeats } from "../../pwa/app/metronome.js";

const close = (actual, expected, tolerance, message) =>
  assert.ok(Math.abs(actual - expected) <= tolerance, `${message ?? ""} ${actual} is not within ${tolerance} of ${expected}`);

describe("metronome rate", () => {
  it("beats every 545.45 ms at 110 a minute", () => {
    close(beatInterval(110) * 1000, 545.4545, 0.0001);
  });

  it("defaults to 110 a minute", () => {
    assert.equal(BPM_DEFAULT, 110);
    assert.equal(clampBpm(undefined), 110);
    assert.equal(clampBpm("fast"), 110);
  });

  it("stays inside 100 to 120 a minute", () => {
    assert.equal(clampBpm(60), 100);
    assert.equal(clampBpm(99), 100);
    assert.equal(clampBpm(100), 100);
    assert.equal(clampBpm(120), 120);
    assert.equal(clampBpm(121), 120);
    assert.equal(clampBpm(300), 120);
    assert.equal(clampBpm(-5), 100);
    close(beatInterval(30), 0.6, 1e-12);
    close(beatInterval(200), 0.5, 1e-12);
  });

  it("never widens the range beyond the guideline, whatever the checklist says", () => {
    assert.equal(clampBpm(90, 80, 140), 100);
    assert.equal(clampBpm(130, 80, 140), 120);
    assert.equal(clampBpm(104, 105, 115), 105);
  });
});

describe("metronome scheduler", () => {
  it("schedules the beats inside the lookahead window, starting at the next note", () => {
    const { times, nextNoteTime } = scheduleBeats(10, 10.05, 120, 0.1);
    assert.deepEqual(times, [10.05]);
    assert.equal(nextNoteTime, 10.55);
  });

  it("schedules nothing when the next beat is beyond the window", () => {
    const { times, nextNoteTime } = scheduleBeats(10, 10.3, 110, 0.1);
    assert.deepEqual(times, []);
    assert.equal(nextNoteTime, 10.3);
  });

  it("schedules several beats when the window is long", () => {
    const { times } = scheduleBeats(0, 0, 120, 1.6);
    assert.deepEqual(times, [0, 0.5, 1, 1.5]);
  });

  it("does not drift over 1000 beats at 110 a minute, however irregularly it wakes", () => {
    const start = 3.2;
    const interval = 60 / 110;
    let now = 3.0;
    let next = start;
    const beats = [];
    let wake = 0;
    while (beats.length < 1000) {
      const { times, nextNoteTime } = scheduleBeats(now, next, 110, 0.1);
      beats.push(...times);
      next = nextNoteTime;
      // setTimeout(25) wakes late, sometimes by a lot (but less than the lookahead).
      now += [0.025, 0.031, 0.047, 0.026, 0.09][wake++ % 5];
    }
    for (let n = 0; n < 1000; n += 1) close(beats[n], start + n * interval, 1e-9, `beat ${n}`);
    close(beats[999] - beats[0], 999 * interval, 1e-9, "span");
  });

  it("never schedules a beat twice", () => {
    let now = 0;
    let next = 0.05;
    const seen = [];
    for (let i = 0; i < 2000; i += 1) {
      const { times, nextNoteTime } = scheduleBeats(now, next, 100, 0.1);
      seen.push(...times);
      next = nextNoteTime;
      now += 0.025;
    }
    assert.equal(new Set(seen).size, seen.length);
    for (let i = 1; i < seen.length; i += 1) close(seen[i] - seen[i - 1], 0.6, 1e-9);
  });

  it("still plays a beat that is only a little late", () => {
    const { times } = scheduleBeats(10, 10 - MAX_LATE_SECONDS / 2, 110, 0.1);
    assert.deepEqual(times, [10 - MAX_LATE_SECONDS / 2]);
  });

  it("skips beats missed while the page was frozen instead of playing a burst, keeping the rhythm's phase", () => {
    const interval = 60 / 110;
    const { times, nextNoteTime } = scheduleBeats(100, 10, 110, 0.1);
    assert.ok(times.length <= 1, `burst of ${times.length} beats`);
    const first = times[0] ?? nextNoteTime;
    assert.ok(first >= 100 - MAX_LATE_SECONDS && first < 100 + interval);
    close(((first - 10) / interval) % 1, 0, 1e-6, "phase");
  });

  it("follows a change of rate from the next beat", () => {
    let { times, nextNoteTime } = scheduleBeats(0, 0, 100, 0.1);
    assert.deepEqual(times, [0]);
    close(nextNoteTime, 0.6, 1e-12);
    ({ times, nextNoteTime } = scheduleBeats(0.55, nextNoteTime, 120, 0.1));
    close(times[0], 0.6, 1e-12);
    close(nextNoteTime, 1.1, 1e-12);
  });
});
