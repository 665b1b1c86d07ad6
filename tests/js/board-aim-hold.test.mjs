// The full-screen board's list of incidents holds still while the coordinator aims at it
// (backend/dispatch/static/dispatch/board.js, AimHold). Found by a browser trial: a new incident's
// card at the list's top moved every card down by a whole card (266 px at 1280 wide), and a
// finished one going on its timer moved them back, so a click aimed at one incident's Cancel or
// Close could land on another incident's. A change to the list's order or membership now waits
// while the pointer over the list has moved within the last 1.5 s, or a press on it is held; it is
// drawn once the pointer rests or leaves, and 4 s after it was first held back at the latest.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import "./support/app-paths.mjs";
import { FakeClock } from "./support/fake-clock.mjs";

const { AimHold, AIM_STILL_MS, AIM_HOLD_MAX_MS } = await import("../../backend/dispatch/static/dispatch/board.js");

/** An AimHold on a fake clock, and how many drawings it has asked for. */
function aimHold() {
  const clock = new FakeClock();
  const asked = { drawings: 0 };
  const hold = new AimHold(() => asked.drawings++, { clock });
  return { clock, asked, hold };
}

describe("the list held still while the coordinator aims (AimHold)", () => {
  it("waits as documented: 1.5 s still, 4 s at most", () => {
    assert.equal(AIM_STILL_MS, 1500);
    assert.equal(AIM_HOLD_MAX_MS, 4000);
  });

  it("does not hold a change with the pointer away from the list", () => {
    const { hold, clock } = aimHold();
    assert.equal(hold.holds(true), false);
    assert.equal(clock.pending, 0);
  });

  it("holds a change while the pointer moves over the list, and draws it once it has rested 1.5 s", () => {
    const { hold, clock, asked } = aimHold();
    hold.moved();
    clock.advance(500);
    assert.equal(hold.holds(true), true);
    clock.advance(999);
    assert.equal(asked.drawings, 0);
    clock.advance(1); // 1.5 s since the pointer last moved
    assert.equal(asked.drawings, 1);
    assert.equal(hold.holds(true), false);
    assert.equal(clock.pending, 0);
  });

  it("a pointer over the list but still for 1.5 s holds nothing", () => {
    const { hold, clock } = aimHold();
    hold.moved();
    clock.advance(AIM_STILL_MS);
    assert.equal(hold.aiming(), false);
    assert.equal(hold.holds(true), false);
  });

  it("holds a change 4 s at the most, however the pointer keeps moving", () => {
    const { hold, clock, asked } = aimHold();
    hold.moved();
    assert.equal(hold.holds(true), true);
    for (let at = 500; at < AIM_HOLD_MAX_MS; at += 500) {
      clock.advance(500);
      hold.moved();
      assert.equal(hold.holds(true), true, `held at ${at} ms`);
    }
    const before = asked.drawings;
    clock.advance(500); // 4 s since it was first held back
    assert.equal(asked.drawings, before + 1);
    hold.moved();
    assert.equal(hold.holds(true), false);
  });

  it("the 4 s count from the first change held back, not from the latest", () => {
    const { hold, clock } = aimHold();
    hold.moved();
    assert.equal(hold.holds(true), true);
    clock.advance(1000);
    hold.moved();
    clock.advance(1000);
    hold.moved();
    assert.equal(hold.holds(true), true); // another change, 2 s on
    clock.advance(1000);
    hold.moved();
    clock.advance(1000);
    hold.moved();
    assert.equal(hold.holds(true), false);
  });

  it("draws the change at once when the pointer leaves the list", () => {
    const { hold, clock, asked } = aimHold();
    hold.moved();
    assert.equal(hold.holds(true), true);
    clock.advance(200);
    hold.left();
    assert.equal(asked.drawings, 1);
    assert.equal(hold.holds(true), false);
    assert.equal(clock.pending, 0);
  });

  it("asks for no drawing when nothing was held back", () => {
    const { hold, clock, asked } = aimHold();
    hold.moved();
    assert.equal(hold.holds(false), false);
    hold.left();
    hold.pressed(true);
    hold.pressed(false);
    clock.advance(10_000);
    assert.equal(asked.drawings, 0);
  });

  it("holds a change while a press on the list is held, still or not, and draws it on the release", () => {
    const { hold, clock, asked } = aimHold();
    hold.pressed(true);
    clock.advance(3000);
    assert.equal(hold.holds(true), true);
    clock.advance(500);
    assert.equal(asked.drawings, 0);
    hold.pressed(false);
    assert.equal(asked.drawings, 1);
    assert.equal(hold.holds(true), false);
  });

  it("holds a press's change 4 s at the most too", () => {
    const { hold, clock, asked } = aimHold();
    hold.pressed(true);
    assert.equal(hold.holds(true), true);
    clock.advance(AIM_HOLD_MAX_MS);
    assert.equal(asked.drawings, 1);
    assert.equal(hold.holds(true), false);
  });

  it("a change that no longer waits (the list drawn as it is) starts no count for the next", () => {
    const { hold, clock } = aimHold();
    hold.moved();
    assert.equal(hold.holds(true), true);
    clock.advance(1000);
    hold.moved();
    assert.equal(hold.holds(false), false); // the change undone before it was drawn
    clock.advance(3500);
    hold.moved();
    assert.equal(hold.holds(true), true); // a new change: a new 4 s
  });

  it("lets a change through when a card not drawn yet is asked for, aiming or not", () => {
    const { hold } = aimHold();
    hold.moved();
    assert.equal(hold.holds(true), true);
    hold.letThrough();
    assert.equal(hold.holds(true), false);
    hold.moved();
    assert.equal(hold.holds(true), true); // once only
  });
});
