// The coordinators' live board: alerted responders with no phone proven to ring (issue 13, item 5;
// backend/dispatch/static/dispatch/board-state.js). The server says per device whether it is
// proven (`proven` in board.devices); a phone that shows this alert is proven by that alone; the
// incident counts those alerted with none ("2 of 3 alerted have no proven phone") while it is open,
// and the count follows the frames as they come.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import "./support/app-paths.mjs";

const board = await import("../../backend/dispatch/static/dispatch/board-state.js");

const incident = (id, overrides = {}) => ({
  id,
  cad_reference: `EEAST-${id}`,
  status: "open",
  crew_target: 2,
  covering_count: 0,
  created_at: "2026-01-01T12:00:00+00:00",
  ...overrides,
});
const alert = (id, name) => ({
  id,
  incident_id: 1,
  responder_id: id,
  responder_name: name,
  state: "alerted",
  version: 1,
  rank: id,
  alerted_at: "2026-01-01T12:00:05+00:00",
});
const device = (device_id, overrides = {}) => ({
  device_id,
  label: `phone ${device_id}`,
  sent_at: null,
  shown_at: null,
  opened_at: null,
  failed: "",
  proven: false,
  ...overrides,
});
const devicesFrame = (alertId, devices) => ({
  type: "board.devices",
  data: { alerts: [{ alert_id: alertId, incident_id: 1, responder_id: alertId, devices }] },
});

function boardOf(alerts) {
  const state = board.createBoardState();
  board.applyFrame(state, { type: "board.snapshot", data: { incidents: [incident(1)], alerts, devices: [], delivery_workers: { alive: true } } });
  return state;
}

describe("alerted responders with no proven phone", () => {
  const sam = alert(1, "Sam Barker");
  const alex = alert(2, "Alex Cole");
  const jo = alert(3, "Jo Day");

  it("counts those whose phones are all unproven, or who have none, and names them", () => {
    const state = boardOf([sam, alex, jo]);
    board.applyFrame(state, devicesFrame(1, [device(10, { proven: true }), device(11)]));
    board.applyFrame(state, devicesFrame(2, [device(20), device(21)]));
    board.applyFrame(state, devicesFrame(3, []));
    const warning = board.unprovenWarning(state, incident(1), [sam, alex, jo]);
    assert.equal(warning.text, "2 of 3 alerted have no proven phone: Alex Cole, Jo Day.");
    assert.deepEqual([...warning.alertIds], [2, 3]);
    assert.equal(board.devicesText(state, sam).unproven, false);
    assert.equal(board.devicesText(state, alex).unproven, true);
    assert.match(board.devicesText(state, alex).title, /phone 20: waiting to be sent \(not proven to ring\)/);
    assert.equal(board.devicesText(state, jo).unproven, true);
  });

  it("does not count a responder whose devices it has not heard of yet", () => {
    const state = boardOf([sam, alex]);
    board.applyFrame(state, devicesFrame(2, [device(20)]));
    assert.equal(board.hasProvenPhone(state, sam), null);
    assert.equal(board.unprovenWarning(state, incident(1), [sam, alex]).text, "1 of 2 alerted has no proven phone: Alex Cole.");
  });

  it("stops counting a responder once a phone of theirs shows the alert, whatever order the frames come in", () => {
    const state = boardOf([sam, alex]);
    board.applyFrame(state, devicesFrame(1, [device(10, { proven: true })]));
    board.applyFrame(state, devicesFrame(2, [device(20)]));
    assert.equal(board.unprovenWarning(state, incident(1), [sam, alex]).count, 1);

    // The phone's receipt: the server sends shown_at and proven.
    const shown = { sent_at: "2026-01-01T12:00:06+00:00", shown_at: "2026-01-01T12:00:08+00:00" };
    board.applyFrame(state, devicesFrame(2, [device(20, { ...shown, proven: true })]));
    assert.equal(board.unprovenWarning(state, incident(1), [sam, alex]), null);
    // A frame sent before the receipt, arriving after it, still leaves the phone proven.
    board.applyFrame(state, devicesFrame(2, [device(20, { sent_at: shown.sent_at })]));
    assert.equal(board.hasProvenPhone(state, alex), true);
  });

  it("takes the latest word on a phone that has stopped being proven", () => {
    const state = boardOf([sam]);
    board.applyFrame(state, devicesFrame(1, [device(10, { proven: true })]));
    assert.equal(board.unprovenWarning(state, incident(1), [sam]), null);
    board.applyFrame(state, devicesFrame(1, [device(10, { proven: false })]));
    assert.equal(board.unprovenWarning(state, incident(1), [sam]).text, "1 of 1 alerted has no proven phone: Sam Barker.");
  });

  it("reads proven from the snapshot too, and says nothing once the incident is finished", () => {
    const state = board.createBoardState();
    board.applySnapshot(state, {
      incidents: [incident(1)],
      alerts: [sam, alex],
      devices: [
        { alert_id: 1, incident_id: 1, responder_id: 1, devices: [device(10, { proven: true })] },
        { alert_id: 2, incident_id: 1, responder_id: 2, devices: [device(20)] },
      ],
      delivery_workers: { alive: true },
    });
    assert.equal(board.unprovenWarning(state, incident(1), [sam, alex]).count, 1);
    assert.equal(board.unprovenWarning(state, incident(1, { status: "closed" }), [sam, alex]), null);
    assert.equal(board.unprovenWarning(state, incident(1), []), null);
  });
});

describe("responders the alert has reached without a phone that rings", () => {
  // Found by trying the product: a firefighter answering in the open app, with no push
  // subscription, was counted as having "no proven phone" and shown "No phone for alerts" while
  // the board also showed them accepted.
  const sam = alert(1, "Sam Barker");
  const alex = alert(2, "Alex Cole");
  const shownInApp = { state: "received", received_at: "2026-01-01T12:00:07+00:00" };

  it("counts only those not shown the alert and not answering yet", () => {
    const accepted = { ...sam, state: "accepted", received_at: "2026-01-01T12:00:07+00:00", version: 3 };
    const seen = { ...alex, ...shownInApp, version: 2 };
    const state = boardOf([accepted, seen]);
    board.applyFrame(state, devicesFrame(1, []));
    board.applyFrame(state, devicesFrame(2, [device(20)]));
    assert.equal(board.unprovenWarning(state, incident(1), [accepted, seen]), null);
    // Still waiting, with no phone: counted, as before.
    assert.equal(
      board.unprovenWarning(state, incident(1), [accepted, alex]).text,
      "1 of 2 alerted has no proven phone: Alex Cole.",
    );
    // Declined without a phone that rings: they have answered, so they are not counted either.
    const declined = { ...alex, state: "declined", version: 2 };
    assert.equal(board.unprovenWarning(state, incident(1), [accepted, declined]), null);
  });

  it("says where a responder with no push phone saw the alert", () => {
    const seen = { ...sam, ...shownInApp, version: 2 };
    const state = boardOf([seen]);
    board.applyFrame(state, devicesFrame(1, []));
    const cell = board.devicesText(state, seen);
    assert.equal(cell.text, "Seen in the open app");
    assert.equal(cell.tone, "shown");
    assert.match(cell.title, /^Shown in the open app at \d\d:\d\d(:\d\d)?\. No device is registered for push alerts/);
    // Not yet seen anywhere: the plain warning stays.
    assert.equal(board.devicesText(state, sam).text, "No phone for alerts");
  });

  it("does not warn in red about the phones of an alert that ended before it was needed", () => {
    const state = boardOf([sam, alex]);
    board.applyFrame(state, devicesFrame(1, []));
    board.applyFrame(state, devicesFrame(2, [device(20, { failed: "Gone (410)" })]));
    assert.equal(board.devicesText(state, sam).tone, "none");
    assert.equal(board.devicesText(state, alex).tone, "failed");
    for (const ended of ["stood_down", "cancelled"]) {
      const noPhone = board.devicesText(state, { ...sam, state: ended });
      assert.equal(noPhone.text, "No phone for alerts", "still said, for next time");
      assert.equal(noPhone.tone, "ended");
      assert.match(noPhone.title, /This alert has ended/);
      assert.equal(board.devicesText(state, { ...alex, state: ended }).tone, "ended");
    }
    // Declined or answered: the phones' state is theirs as before.
    assert.equal(board.devicesText(state, { ...sam, state: "declined" }).tone, "none");
  });
});
