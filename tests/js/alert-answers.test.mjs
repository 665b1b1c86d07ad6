// Which answers the alert screen offers, and where a refused answer's words belong
// (pwa/app/store.js, pwa/app/views/alert.js). Found by a trial of the product: on scene the phone
// offered "Can't attend after all", the server refused it ("You cannot decline this alert: it is
// on scene."), and the refusal was still shown after the incident closed. The screen itself is
// driven in a browser by tests/e2e/test_alert_answers.py.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { ApiError } from "../../pwa/app/api.js";
import { DECLINE_FROM } from "../../pwa/app/labels.js";
import { COMMITTED, DECLINABLE, mayWithdraw } from "../../pwa/app/store.js";
import { errorStateOf } from "../../pwa/app/views/alert.js";

const STATES = ["alerted", "received", "accepted", "declined", "en_route", "on_scene", "cleared", "stood_down", "cancelled"];

describe("declining after accepting", () => {
  it("is offered accepted and en route, never on scene or after", () => {
    const offered = STATES.filter((state) => mayWithdraw({ state }));
    assert.deepEqual(offered, ["accepted", "en_route"]);
    assert.equal(mayWithdraw(null), false);
  });

  it("is offered in exactly the committed states the server takes a decline in", () => {
    // DECLINE_FROM is generated from the server's answers (tests/records/test_app_modules.py).
    assert.deepEqual([...DECLINABLE], DECLINE_FROM);
    const offered = STATES.filter((state) => mayWithdraw({ state }));
    assert.deepEqual(offered, DECLINE_FROM.filter((state) => COMMITTED.has(state)));
  });
});

describe("the state a failed answer's words belong to", () => {
  const refusal = (body) => new ApiError(409, "conflict", "You cannot decline this alert: it is on scene.", {}, body);

  it("is the state the server found, for a refusal", () => {
    const error = refusal({ error: { code: "conflict", message: "You cannot decline this alert: it is on scene.", fields: {}, state: "on_scene" } });
    assert.equal(errorStateOf(error, "en_route"), "on_scene");
  });

  it("is the state the screen showed, for a refusal without one or any other failure", () => {
    assert.equal(errorStateOf(refusal({ error: { code: "conflict", message: "x", fields: {} } }), "en_route"), "en_route");
    assert.equal(errorStateOf(refusal(null), "accepted"), "accepted");
    assert.equal(errorStateOf(new ApiError(0, "network", "No connection."), "accepted"), "accepted");
    assert.equal(errorStateOf(new ApiError(500, "error", "Server error.", {}, { error: { state: "on_scene" } }), "accepted"), "accepted");
    assert.equal(errorStateOf(new Error("boom"), "received"), "received");
  });
});
