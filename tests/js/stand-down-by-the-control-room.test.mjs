// A stand-down by the ambulance CAD (stood_down_reason "control_room") says who did it, on the
// phone and on the board (found by trying the product: the CAD's stand-down read "Stood down by a
// coordinator" when no coordinator had touched it).
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import "./support/app-paths.mjs";

import { stoodDownShort, stoodDownSubText, stoodDownText } from "../../pwa/app/format.js";
import { STAND_DOWN_REASONS } from "../../pwa/app/labels.js";

// Dynamic, after the hook that finds the app's modules at /app/ (support/app-paths.mjs).
const board = await import("../../backend/dispatch/static/dispatch/board-state.js");

describe("a stand-down by the ambulance control room", () => {
  it("is the server's own reason, with its label", () => {
    assert.equal(STAND_DOWN_REASONS.control_room, "Stood down by the ambulance control room");
  });

  it("tells the firefighter the control room did it, not a coordinator", () => {
    assert.equal(stoodDownText("control_room"), "The ambulance control room stood you down: you are not needed for this incident.");
    assert.equal(stoodDownShort("control_room"), "Stood down by the ambulance control room");
    assert.doesNotMatch(stoodDownSubText("control_room", { onScene: true }), /coordinator/);
    assert.equal(stoodDownShort("coordinator"), "Stood down by a coordinator");
  });

  it("reads on the board as the control room's", () => {
    const alert = { id: 1, incident_id: 1, responder_id: 7, state: "stood_down", stood_down_reason: "control_room" };
    assert.equal(board.standDownText(alert), "Stood down by the ambulance control room");
  });
});
