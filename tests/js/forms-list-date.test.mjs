// The date of a call on the forms list, in the app's one date-and-time format (format.js
// formatDateTime: "7 Dec, 10:11:31", as the forms say their times). Found by a browser trial: the
// list said "Alerted 07/12/2026 10:11:31" where the rest of the app says "7 Dec".
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import "./support/app-paths.mjs";

const { formatDateTime, formatTime } = await import("../../pwa/app/format.js");
const { alertedText } = await import("../../pwa/app/views/forms.js");
const { displayValue } = await import("../../pwa/app/views/record-form.js");

const WHEN = "2026-12-07T10:11:31Z";
const local = new Date(WHEN);
const dayMonth = local.toLocaleDateString("en-GB", { day: "numeric", month: "short" }); // "7 Dec" here

describe("the app's date and time", () => {
  it("is the short day and month, then the time to the second", () => {
    assert.match(formatDateTime(WHEN), /^\d{1,2} [A-Z][a-z]{2,3},? \d{2}:\d{2}:\d{2}$/);
    assert.ok(formatDateTime(WHEN).startsWith(dayMonth), formatDateTime(WHEN));
    assert.ok(formatDateTime(WHEN).endsWith(formatTime(WHEN)), formatDateTime(WHEN));
    assert.equal(formatDateTime("not a time"), "");
    assert.equal(formatDateTime(null), "");
  });

  it("is what the forms list says of when the call came, never the full numeric date", () => {
    const text = alertedText({ alerted_at: WHEN });
    assert.equal(text, `Alerted ${formatDateTime(WHEN)}`);
    assert.doesNotMatch(text, /\d{2}\/\d{2}\/\d{4}/);
    assert.doesNotMatch(text, /2026/);
  });

  it("is what a form says of its times", () => {
    assert.equal(displayValue({ type: "time" }, WHEN), formatDateTime(WHEN));
  });
});
