// Found by a browser trial: "Alert named" on an incident whose ladder was held said "Alert Kate
// Lowe to T14-1: Alerted 23 responders." when the coordinator named one firefighter: the dispatch
// also resumed the ladder and alerted again the 22 stood down because enough crews were going.
// The board says what happened, from the answer's dispatch.resumed_count (wall.js namedAlertText).
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import "./support/app-paths.mjs";

const wall = await import("../../backend/dispatch/static/dispatch/wall.js");

describe("what Alert named says it did", () => {
  it("tells the one named from those alerted again as the ladder resumed", () => {
    assert.equal(
      wall.namedAlertText("Kate Lowe", { alerted_count: 23, resumed_count: 22, nobody_because: "", message: "" }),
      "Kate Lowe alerted; 22 others stood down earlier were alerted again as the ladder resumed.",
    );
    assert.equal(
      wall.namedAlertText("Kate Lowe", { alerted_count: 2, resumed_count: 1, nobody_because: "", message: "" }),
      "Kate Lowe alerted; 1 other stood down earlier was alerted again as the ladder resumed.",
    );
  });

  it("says only the named when nothing resumed", () => {
    assert.equal(wall.namedAlertText("Kate Lowe", { alerted_count: 1, resumed_count: 0 }), "Kate Lowe alerted.");
  });

  it("says the named was not alerted when only the ladder's were", () => {
    assert.equal(
      wall.namedAlertText("Kate Lowe", { alerted_count: 3, resumed_count: 3 }),
      "Kate Lowe was not alerted; 3 stood down earlier were alerted again as the ladder resumed.",
    );
  });

  it("leaves the server's message when nobody was alerted or the answer cannot tell", () => {
    assert.equal(wall.namedAlertText("Kate Lowe", { alerted_count: 0, resumed_count: 0 }), null);
    assert.equal(wall.namedAlertText("Kate Lowe", { alerted_count: 23 }), null);
  });
});
