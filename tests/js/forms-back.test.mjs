// The call's forms page goes back to where a firefighter came from (found by trying the product:
// "‹ Alert" from the forms list after the call).
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import "./support/app-paths.mjs";

const { backFromForms } = await import("../../pwa/app/views/forms.js");

describe("the back link of a call's forms page", () => {
  it("goes to the alert while the call is going on", () => {
    const alert = { id: 7, state: "on_scene", incident: { status: "open" } };
    assert.deepEqual(backFromForms(alert, 7), { path: "/alerts/7", label: "Alert" });
  });

  it("goes to the forms list once the call is over, or when this phone no longer holds it", () => {
    assert.equal(backFromForms({ id: 7, state: "on_scene", incident: { status: "closed" } }, 7).path, "/forms");
    assert.equal(backFromForms({ id: 7, state: "cleared", incident: { status: "open" } }, 7).path, "/forms");
    assert.equal(backFromForms(undefined, 7).label, "Forms");
  });
});
