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

const { AimHold, AIM_STILL_MS, AIM_HOLD_MAX_MS, SettleGuard, SETTLE_MS, REAIM_PX } = await import("../../backend/dispatch/static/dispatch/board.js");

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

// Trial 16b: a coordinator who rests the pointer on a button ("Stand down …", Cancel) for 1.5 s or
// more got no hold, and a click 0.4 s after a new card moved every card a place stood down a
// firefighter on another incident. Resting on a control holds too; and a press on a card that has
// just moved, whatever moved it, is refused (SettleGuard).
describe("the list held still while the pointer rests on one of its controls (AimHold)", () => {
  it("holds a change with the pointer still on a control, 4 s at most", () => {
    const { hold, clock, asked } = aimHold();
    hold.moved();
    hold.pointingAt(true);
    clock.advance(2000); // still for longer than 1.5 s
    assert.equal(hold.aiming(), true);
    assert.equal(hold.holds(true), true);
    clock.advance(AIM_HOLD_MAX_MS - 1);
    assert.equal(asked.drawings, 0);
    clock.advance(1);
    assert.equal(asked.drawings, 1);
    assert.equal(hold.holds(true), false);
  });

  it("draws the change once the pointer leaves the control, or the list", () => {
    const { hold, clock, asked } = aimHold();
    hold.pointingAt(true);
    clock.advance(2000);
    assert.equal(hold.holds(true), true);
    hold.pointingAt(false);
    assert.equal(asked.drawings, 1);
    clock.advance(AIM_STILL_MS);
    assert.equal(hold.holds(true), false);

    hold.pointingAt(true);
    assert.equal(hold.holds(true), true);
    hold.left();
    assert.equal(asked.drawings, 2);
    assert.equal(hold.holds(true), false);
  });

  it("a pointer still on the list but not on a control still holds nothing", () => {
    const { hold, clock } = aimHold();
    hold.pointingAt(false);
    hold.moved();
    clock.advance(AIM_STILL_MS);
    assert.equal(hold.holds(true), false);
  });
});

describe("a press on a card that has just moved is refused (SettleGuard)", () => {
  /** A SettleGuard on a fake clock. */
  function guard() {
    const clock = new FakeClock();
    return { clock, settle: new SettleGuard({ clock }) };
  }

  it("waits as documented: 0.6 s", () => {
    assert.equal(SETTLE_MS, 600);
  });

  it("a card that moved is refused for 0.6 s, then pressed", () => {
    const { clock, settle } = guard();
    settle.note(new Map([["1", [0, 0]], ["2", [500, 0]]]));
    clock.advance(5000);
    assert.equal(settle.moving("1"), false);
    settle.note(new Map([["1", [500, 0]], ["2", [0, 300]], ["3", [0, 0]]])); // a new card first
    assert.equal(settle.moving("1"), true);
    assert.equal(settle.moving("2"), true);
    assert.equal(settle.moving("3"), true); // new: it came under the pointer
    clock.advance(SETTLE_MS - 1);
    assert.equal(settle.moving("1"), true);
    clock.advance(1);
    assert.equal(settle.moving("1"), false);
    assert.equal(settle.moving("3"), false);
  });

  it("a card drawn again in the same place is not moving, nor one moved by less than half a pixel", () => {
    const { clock, settle } = guard();
    settle.note(new Map([["1", [0, 100]]]));
    clock.advance(5000);
    settle.note(new Map([["1", [0, 100]]]));
    settle.note(new Map([["1", [0.3, 100.2]]]));
    assert.equal(settle.moving("1"), false);
  });

  it("a pointer moved 24 px or more since the cards moved was aimed again: its press goes through", () => {
    const { clock, settle } = guard();
    settle.pointerAt(100, 100);
    settle.note(new Map([["1", [0, 0]]]));
    clock.advance(5000);
    settle.note(new Map([["1", [0, 300]]]));
    settle.pointerAt(110, 112); // a hand resting, or trembling: still the old aim
    assert.equal(settle.moving("1"), true);
    settle.pointerAt(100, 130);
    assert.equal(REAIM_PX, 24);
    assert.equal(settle.moving("1"), false);
  });

  it("a pointer first seen after the cards moved came to aim there: its press goes through", () => {
    const { clock, settle } = guard();
    settle.note(new Map([["1", [0, 0]]]));
    clock.advance(5000);
    settle.note(new Map([["1", [0, 300]]]));
    assert.equal(settle.moving("1"), true);
    settle.pointerAt(100, 100);
    assert.equal(settle.moving("1"), false);
  });

  it("the list moving down (the alarms' bar above it) moves every card", () => {
    const { clock, settle } = guard();
    settle.note(new Map([["1", [0, 175]], ["2", [960, 175]]]));
    clock.advance(5000);
    settle.note(new Map([["1", [0, 224]], ["2", [960, 224]]]));
    assert.equal(settle.moving("1"), true);
    assert.equal(settle.moving("2"), true);
  });

  it("a card new among cards that did not move is not moving: the first drawing, one added at the end", () => {
    const { clock, settle } = guard();
    settle.note(new Map([["1", [0, 0]]]));
    assert.equal(settle.moving("1"), false); // the first drawing
    clock.advance(5000);
    settle.note(new Map([["1", [0, 0]], ["2", [0, 300]]]));
    assert.equal(settle.moving("2"), false);
    settle.note(new Map());
    settle.note(new Map([["1", [0, 0]]])); // to an empty list
    assert.equal(settle.moving("1"), false);
    assert.equal(settle.moving("9"), false); // never noted
  });
});

// Trial 17: the pointer rested on "Stand down", the cards held back were placed 4 s later, and a
// press a second after that (past SETTLE_MS) stood down a firefighter on another incident.
describe("a press on another control than the pointer last moved over is refused (SettleGuard)", () => {
  function guard() {
    const clock = new FakeClock();
    return { clock, settle: new SettleGuard({ clock }) };
  }

  it("a pointer that moved onto a control and pressed it: the press goes through", () => {
    const { settle } = guard();
    settle.pointerAt(100, 100, "sd-1");
    assert.equal(settle.changedUnder("sd-1"), false);
  });

  it("the control under a still pointer changed, however long ago: refused once, then it acts", () => {
    const { clock, settle } = guard();
    settle.pointerAt(100, 100, "sd-1");
    clock.advance(60_000);
    settle.pointerAt(100, 100, "sd-2"); // the browser's own move where the pointer is: not an aim
    assert.equal(settle.changedUnder("sd-2"), true);
    assert.equal(settle.changedUnder("sd-2"), false); // told, pressed again
  });

  it("a pointer that moved since, by a pixel, aimed at what it is over", () => {
    const { settle } = guard();
    settle.pointerAt(100, 100, "sd-1");
    settle.pointerAt(101, 100, "sd-2");
    assert.equal(settle.changedUnder("sd-2"), false);
  });

  it("a pointer over no control when it last moved, a control under it at the press: refused", () => {
    const { settle } = guard();
    settle.pointerAt(100, 100, null);
    assert.equal(settle.changedUnder("cancel-7"), true);
  });

  it("after the cards moved, a nudge under 24 px does not aim again; a move of 24 px does (trial 18)", () => {
    const { settle } = guard();
    settle.pointerAt(100, 100, "sd-1");
    settle.note(new Map([["1", [0, 0]], ["2", [960, 0]]]));
    settle.note(new Map([["1", [960, 0]], ["2", [0, 300]], ["3", [0, 0]]])); // a new card first: a place on
    settle.pointerAt(103, 104, "sd-3"); // 5 px: a hand's nudge
    assert.equal(settle.changedUnder("sd-3"), true);
    settle.note(new Map([["3", [0, 0]], ["4", [0, 300]]])); // moved again (another card came)
    settle.note(new Map([["3", [0, 300]], ["4", [0, 600]], ["5", [0, 0]]]));
    settle.pointerAt(103, 128, "sd-5"); // 24 px from where it was when they moved: aimed again
    assert.equal(settle.changedUnder("sd-5"), false);
  });

  it("with no card moved, every move aims, however small", () => {
    const { settle } = guard();
    settle.note(new Map([["1", [0, 0]]]));
    settle.pointerAt(100, 100, "sd-1");
    settle.pointerAt(101, 100, "sd-2");
    assert.equal(settle.changedUnder("sd-2"), false);
  });

  it("the list scrolled under the pointer by the coordinator aims at what is under it then", () => {
    const { settle } = guard();
    settle.pointerAt(100, 100, "sd-1");
    settle.note(new Map([["1", [0, 0]], ["2", [0, 300]]]));
    settle.note(new Map([["1", [0, 300]], ["2", [0, 600]], ["3", [0, 0]]]));
    settle.touchedAt(100, 100, "sd-9"); // the scroll's own aim, where the pointer is
    assert.equal(settle.changedUnder("sd-9"), false);
  });

  it("a touch is its own aim; a pointer never seen moving is not refused", () => {
    const { settle } = guard();
    assert.equal(settle.changedUnder("sd-1"), false);
    settle.pointerAt(100, 100, "sd-1");
    settle.touchedAt(300, 300, "sd-3");
    assert.equal(settle.changedUnder("sd-3"), false);
  });
});
