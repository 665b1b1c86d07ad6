// The board says what the server said of each field: a message to crews refused because it seems
// to identify the patient (backend/patient_identifiers.py) shows the server's words, field and all.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import "./support/app-paths.mjs";

const { errorText } = await import("../../backend/dispatch/static/dispatch/wall.js");

describe("the server's refusal of a message, as the board shows it", () => {
  it("shows the field's message, not only the summary", () => {
    const refusal = "This looks like a patient's NHS number: a message to crews must not identify the patient.";
    const body = { error: { code: "invalid", message: "The message seems to identify the patient.", fields: { text: [refusal] } } };
    const shown = errorText(400, body);
    assert.ok(shown.includes(refusal), shown);
  });

  it("names the field as the board's form does, not by the API's name", () => {
    const body = { error: { code: "invalid", message: "Invalid input.", fields: { text: ["Too long."], crew_target: ["At most 6."], address: ["Required."] } } };
    const shown = errorText(400, body);
    assert.equal(shown, "Invalid input. Message: Too long. Crews needed: At most 6. Address: Required.");
    assert.ok(!shown.includes("text:"), shown);
  });
});
