// Faults found by a browser trial of the control room's board: a refused dispatch's technical
// field detail, "nobody has accepted" after two had accepted and dropped out, and the Alert named
// dialog offering people who had declined the incident.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import "./support/app-paths.mjs";

const wall = await import("../../backend/dispatch/static/dispatch/wall.js");
const board = await import("../../backend/dispatch/static/dispatch/board-state.js");

describe("a refusal that is not an input error, as the board shows it", () => {
  const conflict = {
    error: {
      code: "conflict",
      message: "15 more responders were alerted to T5-BOARD-1 since your screen showed it: look again before dispatching further.",
      fields: { seen_alerts: ["21 are alerted now, not 6."] },
    },
  };

  it("shows only the message of a 409", () => {
    assert.equal(wall.errorText(409, conflict), conflict.error.message);
  });

  it("still names each field of an input error", () => {
    assert.equal(wall.errorText(400, { error: { message: "Invalid input.", fields: { text: ["Too long."] } } }), "Invalid input. Message: Too long.");
  });
});

describe("the coverage line when those who accepted dropped out", () => {
  const incident = {
    id: 1, cad_reference: "T5-BOARD-1", status: "open", dispatched_at: "2026-01-01T12:00:05+00:00",
    crew_target: 2, committed_count: 0, covering_count: 0, accepted_count: 0, attended_count: 0, escalation_step: 2,
  };
  const alerts = [
    { id: 1, incident_id: 1, state: "declined", accepted_at: "2026-01-01T12:01:00+00:00", on_scene_at: null },
    { id: 2, incident_id: 1, state: "stood_down", accepted_at: "2026-01-01T12:01:30+00:00", on_scene_at: null },
    { id: 3, incident_id: 1, state: "alerted", accepted_at: null, on_scene_at: null },
  ];

  it("says no one is going, not that nobody has accepted", () => {
    const { text, tone } = board.coverageText(incident, alerts);
    assert.equal(text, "0 going (2 needed): no one going now: 2 accepted, then dropped out (3 alerted).");
    assert.equal(tone, "none");
  });

  it("still says nobody has accepted when nobody has", () => {
    assert.equal(board.coverageText(incident, alerts.slice(2)).text, "0 going (2 needed): nobody has accepted (1 alerted).");
  });
});

describe("the Alert named dialog's words for a candidate", () => {
  it("says who declined the incident, and when, and that they are not alerted again", () => {
    const since = "2026-01-01T21:30:00+00:00";
    const text = wall.namedCandidateText({ name: "Kate Lowe", cannot_alert: "declined", cannot_alert_since: since, committed_to: null });
    assert.equal(text, `declined this incident at ${board.clockTime(since)}, not alerted again`);
  });

  it("names the other incident of someone committed to it, and nothing for someone free", () => {
    assert.equal(wall.namedCandidateText({ cannot_alert: null, committed_to: "T5-OTHER" }), "on T5-OTHER");
    assert.equal(wall.namedCandidateText({ cannot_alert: null, committed_to: null }), "");
  });
});
