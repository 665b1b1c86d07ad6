// The control room's board (/board/, issue 15): the state rules it adds to board-state.js. Which
// alarms sound (a dispatch that reached nobody, the escalation alarm, unanswered past the first
// step, the delivery workers gone silent) and which are acknowledged (on every board, from the
// stored acknowledgements; an alarm raised again after its acknowledgement sounds afresh);
// messages to the crews and who acknowledged them, whatever the order of frames; coverage changes
// that end an alarm; and a reconnect's snapshot that brings a board up to date without a reload,
// so that two boards fed the same frames show the same.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import "./support/app-paths.mjs";

const board = await import("../../backend/dispatch/static/dispatch/board-state.js");

function incident(id, overrides = {}) {
  return {
    id,
    cad_reference: `EEAST-${id}`,
    category: "cardiac_arrest",
    status: "open",
    address: `${id} High Street, Gorleston`,
    what3words: "",
    created_at: "2026-01-01T12:00:00+00:00",
    dispatched_at: "2026-01-01T12:00:05+00:00",
    closed_at: null,
    cancelled_at: null,
    cancel_reason: "",
    alarm_raised_at: null,
    crew_target: 1,
    committed_count: 0,
    covering_count: 0,
    covered: false,
    covered_at: null,
    accepted_count: 0,
    attended_count: 0,
    unreached_reason: "",
    ring: 1,
    escalation_step: 0,
    ...overrides,
  };
}

let nextAlertId = 1;
function alert(incidentId, responderId, state, overrides = {}) {
  return {
    id: nextAlertId++,
    incident_id: incidentId,
    responder_id: responderId,
    responder_name: `Responder ${responderId}`,
    station: "Gorleston",
    state,
    version: 1,
    distance_km: 1.5,
    rank: responderId,
    decline_reason: "",
    decline_note: "",
    stood_down_reason: "",
    alerted_at: "2026-01-01T12:00:05+00:00",
    accepted_at: null,
    ...overrides,
  };
}

function snapshot({ incidents = [], alerts = [], devices = [], workers = { alive: true }, acknowledgements = [] } = {}) {
  return {
    type: "board.snapshot",
    id: null,
    sent_at: "2026-01-01T12:05:00+00:00",
    data: { incidents, alerts, devices, delivery_workers: workers, alarm_acknowledgements: acknowledgements },
  };
}

let nextAckId = 1;
function acknowledged(kind, incidentId, at = "2026-01-01T12:06:00+00:00") {
  return {
    type: "alarm.acknowledged",
    id: null,
    sent_at: at,
    data: { id: nextAckId++, kind, incident_id: incidentId, acknowledged_by: "Pat Coordinator", acknowledged_at: at },
  };
}

function boardOf(...frames) {
  const state = board.createBoardState();
  for (const frame of frames) board.applyFrame(state, frame);
  return state;
}

const kinds = (state) => board.alarmsOf(state).map((alarm) => `${alarm.kind}:${alarm.incident_id}:${alarm.sounding ? "sounding" : "acknowledged"}`);

describe("the board's alarms", () => {
  it("sounds for a dispatch that reached nobody, with why", () => {
    const state = boardOf(snapshot({ incidents: [incident(1, { unreached_reason: "no_station_in_range", alarm_raised_at: "2026-01-01T12:00:05+00:00" })] }));
    const [alarm] = board.alarmsOf(state);
    assert.equal(alarm.kind, "unreached");
    assert.equal(alarm.sounding, true);
    assert.match(alarm.message, /EEAST-1 reached nobody: no station is within range/);
  });

  it("sounds the escalation alarm of an incident still short after every ring, and not once it is covered", () => {
    const state = boardOf(snapshot({ incidents: [incident(1, { alarm_raised_at: "2026-01-01T12:03:00+00:00", escalation_step: 4 })], alerts: [alert(1, 1, "alerted")] }));
    assert.deepEqual(kinds(state), ["escalation:1:sounding"]);
    board.applyFrame(state, { type: "board.incident", data: incident(1, { alarm_raised_at: "2026-01-01T12:03:00+00:00", escalation_step: 4, committed_count: 1, covering_count: 1, covered: true }) });
    assert.deepEqual(kinds(state), []);
  });

  it("sounds for an incident past its first escalation step with nobody accepted, and stops when someone accepts", () => {
    const state = boardOf(snapshot({ incidents: [incident(1, { escalation_step: 0 })], alerts: [alert(1, 1, "alerted")] }));
    assert.deepEqual(kinds(state), [], "before the first step, no alarm");
    board.applyFrame(state, { type: "board.incident", data: incident(1, { escalation_step: 1 }) });
    assert.deepEqual(kinds(state), ["unanswered:1:sounding"]);
    board.applyFrame(state, { type: "board.incident", data: incident(1, { escalation_step: 1, crew_target: 2, committed_count: 1, covering_count: 1 }) });
    assert.deepEqual(kinds(state), [], "one is going: short, but answered");
  });

  it("says who is going now beside an escalation alarm raised when nobody was", () => {
    const raised = { alarm_raised_at: "2026-01-01T12:03:00+00:00", escalation_step: 4, crew_target: 2 };
    const messageOf = (overrides) => {
      const state = boardOf(snapshot({ incidents: [incident(1, { ...raised, ...overrides })], alerts: [alert(1, 1, "alerted")] }));
      return board.alarmsOf(state).find((alarm) => alarm.kind === "escalation").message;
    };
    assert.doesNotMatch(messageOf({}), /going/);
    assert.match(messageOf({ committed_count: 1, covering_count: 1 }), / Now 1 going \(2 needed\)\.$/);
  });

  it("says how many escalation steps have run without an answer", () => {
    // Found by trying the board: "after the first escalation step" still read after three.
    const messageAt = (step) => {
      const state = boardOf(snapshot({ incidents: [incident(1, { escalation_step: step })], alerts: [alert(1, 1, "alerted")] }));
      return board.alarmsOf(state).find((alarm) => alarm.kind === "unanswered").message;
    };
    assert.match(messageAt(1), /after the first escalation step \(1 alerted\)/);
    assert.match(messageAt(3), /after 3 escalation steps \(1 alerted\)/);
  });

  it("sounds when no delivery worker reports, and again if they fall silent after reporting", () => {
    const state = boardOf(snapshot({ workers: { alive: false, last_heard_at: "2026-01-01T12:00:00+00:00" } }));
    assert.deepEqual(kinds(state), ["worker_silent:null:sounding"]);
    board.applyFrame(state, acknowledged("worker_silent", null, "2026-01-01T12:01:00+00:00"));
    assert.deepEqual(kinds(state), ["worker_silent:null:acknowledged"]);
    // They report, then stop again: heard after the acknowledgement, so it sounds afresh.
    board.applyFrame(state, { type: "board.workers", data: { alive: true, last_heard_at: "2026-01-01T12:02:00+00:00" } });
    assert.deepEqual(kinds(state), []);
    board.applyFrame(state, { type: "board.workers", data: { alive: false, last_heard_at: "2026-01-01T12:02:30+00:00" } });
    assert.deepEqual(kinds(state), ["worker_silent:null:sounding"]);
  });

  it("stops sounding an acknowledged alarm, and keeps saying who acknowledged it", () => {
    const state = boardOf(snapshot({ incidents: [incident(1, { unreached_reason: "nobody_on_call", alarm_raised_at: "2026-01-01T12:00:05+00:00" })] }));
    assert.equal(board.anySounding(board.alarmsOf(state)), true);
    board.applyFrame(state, acknowledged("unreached", 1));
    const [alarm] = board.alarmsOf(state);
    assert.equal(alarm.sounding, false);
    assert.equal(alarm.acknowledgement.acknowledged_by, "Pat Coordinator");
    assert.equal(board.anySounding(board.alarmsOf(state)), false);
  });

  it("sounds an escalation alarm raised after the acknowledgement afresh", () => {
    const state = boardOf(
      snapshot({ incidents: [incident(1, { alarm_raised_at: "2026-01-01T12:03:00+00:00" })], alerts: [alert(1, 1, "alerted")] }),
      acknowledged("escalation", 1, "2026-01-01T12:04:00+00:00"),
    );
    assert.deepEqual(kinds(state), ["escalation:1:acknowledged"]);
    board.applyFrame(state, { type: "board.incident", data: incident(1, { alarm_raised_at: "2026-01-01T12:09:00+00:00" }) });
    assert.deepEqual(kinds(state), ["escalation:1:sounding"]);
  });

  it("sounds afresh when the last crew drops out after the escalation alarm was acknowledged", () => {
    // Found by a trial: the ladder finished with one crew going of two, the alarm was acknowledged,
    // then the crew tapped "Can't attend after all": 0 going, and nothing sounded. The server raises
    // the alarm afresh (backend/dispatch/actions.py, _follow_coverage); its frames, in the order sent.
    const short = { crew_target: 2, escalation_step: 4 };
    const escalation = "Incident EEAST-1 has 1 of the 2 crews it needs after every ring was alerted.";
    const raised = { alarm_raised_at: "2026-01-01T12:03:00+00:00", alarm_message: escalation };
    const going = alert(1, 1, "accepted", { accepted_at: "2026-01-01T12:01:00+00:00" });
    const state = boardOf(
      snapshot({ incidents: [incident(1, { ...short, ...raised, committed_count: 1, covering_count: 1 })], alerts: [going] }),
      acknowledged("escalation", 1, "2026-01-01T12:04:00+00:00"),
    );
    assert.deepEqual(kinds(state), ["escalation:1:acknowledged"]);

    const dropped = "Nobody is going to incident EEAST-1 any more (0 going, 2 needed): Responder 1 can't attend after all (no transport).";
    const again = { alarm_raised_at: "2026-01-01T12:05:00+00:00", alarm_message: dropped };
    board.applyFrame(state, { type: "board.alarm", data: { incident_id: 1, cad_reference: "EEAST-1", raised_at: again.alarm_raised_at, message: dropped } });
    board.applyFrame(state, { type: "board.alert", data: { ...going, state: "declined", version: 2, decline_reason: "no_transport" } });
    board.applyFrame(state, { type: "board.incident", data: incident(1, { ...short, escalation_step: 0, ...again }) });

    assert.deepEqual(kinds(state), ["escalation:1:sounding"]);
    const [alarm] = board.alarmsOf(state);
    assert.equal(alarm.message, dropped);
    assert.equal(board.anySounding(board.alarmsOf(state)), true);
    // Acknowledged in turn, it stops.
    board.applyFrame(state, acknowledged("escalation", 1, "2026-01-01T12:05:30+00:00"));
    assert.deepEqual(kinds(state), ["escalation:1:acknowledged"]);
  });

  it("an acknowledgement of one incident or kind silences no other", () => {
    const state = boardOf(
      snapshot({ incidents: [incident(1, { unreached_reason: "nobody_on_call" }), incident(2, { unreached_reason: "nobody_on_call" })] }),
      acknowledged("unreached", 1),
      acknowledged("escalation", 2),
    );
    assert.deepEqual(kinds(state).sort(), ["unreached:1:acknowledged", "unreached:2:sounding"]);
  });

  it("keeps the newest acknowledgement whatever order they come in, and ignores what is not one", () => {
    const state = board.createBoardState();
    const newer = acknowledged("unreached", 1, "2026-01-01T12:08:00+00:00");
    const older = acknowledged("unreached", 1, "2026-01-01T12:07:00+00:00");
    older.data.id = newer.data.id - 1;
    assert.equal(board.applyFrame(state, newer), true);
    assert.equal(board.applyFrame(state, older), false);
    assert.equal(state.acknowledgements.get("unreached:1").acknowledged_at, "2026-01-01T12:08:00+00:00");
    assert.equal(board.applyFrame(state, { type: "alarm.acknowledged", data: { id: 99, kind: "bogus", incident_id: 1 } }), false);
  });

  it("puts sounding alarms first", () => {
    const state = boardOf(
      snapshot({ incidents: [incident(1, { unreached_reason: "nobody_on_call" }), incident(2, { unreached_reason: "nobody_on_call" })] }),
      acknowledged("unreached", 2),
    );
    assert.deepEqual(board.alarmsOf(state).map((alarm) => alarm.sounding), [true, false]);
  });
});

describe("the alarm the `a` key acknowledges", () => {
  const chosen = (state, selectedId = null) => {
    const alarm = board.alarmToAcknowledge(state, board.alarmsOf(state), selectedId);
    return alarm && `${alarm.kind}:${alarm.incident_id}`;
  };
  const threeSounding = () => boardOf(snapshot({
    incidents: [
      incident(1, { unreached_reason: "nobody_on_call", alarm_raised_at: "2026-01-01T12:02:00+00:00" }),
      incident(2, { escalation_step: 1, dispatched_at: "2026-01-01T12:01:00+00:00" }),
      incident(3),
    ],
    alerts: [alert(2, 1, "alerted"), alert(3, 2, "alerted")],
    workers: { alive: false, last_heard_at: "2026-01-01T12:00:00+00:00" },
  }));

  it("is the chosen incident's, when it has one sounding", () => {
    assert.equal(chosen(threeSounding(), 2), "unanswered:2");
  });

  it("is the delivery workers' when the chosen incident has none, or none is chosen", () => {
    assert.equal(chosen(threeSounding(), 3), "worker_silent:null");
    assert.equal(chosen(threeSounding()), "worker_silent:null");
  });

  it("is otherwise the one sounding longest (an alarm with no raising time counts from the dispatch)", () => {
    const state = threeSounding();
    board.applyFrame(state, acknowledged("worker_silent", null));
    assert.equal(chosen(state, 3), "unanswered:2");
    board.applyFrame(state, acknowledged("unanswered", 2));
    assert.equal(chosen(state, 3), "unreached:1");
  });

  it("is none when nothing sounds", () => {
    const state = threeSounding();
    for (const [kind, id] of [["worker_silent", null], ["unanswered", 2], ["unreached", 1]]) board.applyFrame(state, acknowledged(kind, id));
    assert.equal(chosen(state, 1), null);
    assert.equal(chosen(boardOf(snapshot())), null);
  });
});

describe("a reconnect, and two boards", () => {
  it("catches up from the snapshot after a reconnect: acknowledgements made meanwhile are known, stale ones dropped", () => {
    const state = boardOf(snapshot({ incidents: [incident(1, { unreached_reason: "nobody_on_call" })] }));
    assert.deepEqual(kinds(state), ["unreached:1:sounding"]);
    // The socket dropped; meanwhile another coordinator acknowledged, and a second incident came.
    board.applyFrame(state, snapshot({
      incidents: [incident(1, { unreached_reason: "nobody_on_call" }), incident(2)],
      alerts: [alert(2, 7, "accepted", { accepted_at: "2026-01-01T12:04:00+00:00" })],
      acknowledgements: [{ id: 50, kind: "unreached", incident_id: 1, acknowledged_by: "Sam Other", acknowledged_at: "2026-01-01T12:04:30+00:00" }],
    }));
    assert.deepEqual(kinds(state), ["unreached:1:acknowledged"]);
    assert.equal(board.alertsOf(state, 2).length, 1);
  });

  it("shows two coordinators the same, whether one heard the frames live or only the snapshot", () => {
    const frames = [
      snapshot({ incidents: [incident(1, { unreached_reason: "nobody_on_call" })] }),
      { type: "board.incident", data: incident(2, { escalation_step: 1 }) },
      { type: "board.alert", data: alert(2, 3, "alerted", { id: 900 }) },
      acknowledged("unreached", 1),
    ];
    const live = boardOf(...frames);
    const late = boardOf(snapshot({
      incidents: [incident(1, { unreached_reason: "nobody_on_call" }), incident(2, { escalation_step: 1 })],
      alerts: [alert(2, 3, "alerted", { id: 900 })],
      acknowledgements: [frames[3].data],
    }));
    assert.deepEqual(kinds(live).sort(), kinds(late).sort());
    assert.deepEqual(kinds(live).sort(), ["unanswered:2:sounding", "unreached:1:acknowledged"]);
  });

  it("applies frames in version order: a late alert frame does not undo a newer one", () => {
    const state = boardOf(snapshot({ incidents: [incident(1)] }));
    board.applyFrame(state, { type: "board.alert", data: alert(1, 1, "accepted", { id: 500, version: 3 }) });
    board.applyFrame(state, { type: "board.alert", data: alert(1, 1, "alerted", { id: 500, version: 1 }) });
    assert.equal(state.alerts.get(500).state, "accepted");
  });
});

describe("messages to the crews", () => {
  const message = (id, incidentId, overrides = {}) => ({
    id,
    incident_id: incidentId,
    text: `Message ${id}`,
    author_name: "Pat Coordinator",
    sent_at: `2026-01-01T12:0${id}:00+00:00`,
    acknowledgements: [],
    ...overrides,
  });
  const ack = (messageId, responderId, at) => ({
    type: "message.acknowledged",
    data: { message_id: messageId, incident_id: 1, responder_id: responderId, responder_name: `Responder ${responderId}`, acknowledged_at: at },
  });

  it("lists an incident's messages oldest first, from the snapshot and the frames", () => {
    const state = boardOf(
      { ...snapshot({ incidents: [incident(1)] }), data: { ...snapshot({ incidents: [incident(1)] }).data, messages: [message(2, 1)] } },
      { type: "message.created", data: { message: message(1, 1) } },
      { type: "message.created", data: message(3, 2) },
    );
    assert.deepEqual(board.messagesOf(state, 1).map((item) => item.id), [1, 2]);
    assert.deepEqual(board.messagesOf(state, 2).map((item) => item.id), [3]);
  });

  it("says who acknowledged each message, once each, even when the acknowledgement comes first", () => {
    const state = boardOf(snapshot({ incidents: [incident(1)] }), ack(1, 5, "2026-01-01T12:02:00+00:00"));
    board.applyFrame(state, { type: "message.created", data: message(1, 1) });
    assert.equal(board.applyFrame(state, ack(1, 5, "2026-01-01T12:03:00+00:00")), false, "a repeat changes nothing");
    board.applyFrame(state, ack(1, 6, "2026-01-01T12:02:30+00:00"));
    const [shown] = board.messagesOf(state, 1);
    assert.deepEqual(shown.acknowledgements.map((item) => [item.responder_name, item.acknowledged_at]), [
      ["Responder 5", "2026-01-01T12:02:00+00:00"],
      ["Responder 6", "2026-01-01T12:02:30+00:00"],
    ]);
  });
});

describe("one responder in one line", () => {
  it("sums up the delivery funnel of the responder's phones", () => {
    const state = boardOf(snapshot({ incidents: [incident(1)], alerts: [alert(1, 1, "alerted", { id: 700 })] }));
    assert.equal(board.funnelText(state, state.alerts.get(700)), null, "no frame of the devices yet");
    board.applyFrame(state, snapshot({ incidents: [incident(1)], alerts: [alert(1, 1, "alerted", { id: 700 })], devices: [{ alert_id: 700, incident_id: 1, responder_id: 1, devices: [] }] }));
    assert.equal(board.funnelText(state, state.alerts.get(700)), "no phone");
    board.applyFrame(state, { type: "board.devices", data: { alerts: [{ alert_id: 700, devices: [
      { device_id: 1, label: "Pixel", sent_at: "2026-01-01T12:00:06Z", shown_at: "2026-01-01T12:00:07Z", opened_at: null, failed: "", proven: true },
      { device_id: 2, label: "iPad", sent_at: null, shown_at: null, opened_at: null, failed: "gone", proven: false },
    ] }] } });
    assert.equal(board.funnelText(state, state.alerts.get(700)), "sent 1/2 · shown 1/2 · opened 0/2 · 1 failed");
  });

  it("says nothing in place of the responders of an open card (its coverage line does), and no 'yet' once finished", () => {
    assert.equal(board.noAlertsText(incident(1)), null);
    assert.equal(board.noAlertsText(incident(1, { status: "cancelled", dispatched_at: null })), "It was never dispatched.");
    assert.equal(board.noAlertsText(incident(1, { status: "closed", dispatched_at: "2026-01-01T12:00:00+00:00" })), "Nobody was alerted.");
  });

  it("says a responder without a push phone saw the alert in the open app", () => {
    const seen = alert(1, 1, "received", { id: 700, received_at: "2026-01-01T12:00:07+00:00" });
    const state = boardOf(snapshot({ incidents: [incident(1)], alerts: [seen], devices: [{ alert_id: 700, incident_id: 1, responder_id: 1, devices: [] }] }));
    assert.equal(board.funnelText(state, state.alerts.get(700)), "seen in the open app, no push phone");
  });

  it("lets the coordinator stand down only someone still alerted or going", () => {
    assert.equal(board.canStandDown(alert(1, 1, "alerted")), true);
    assert.equal(board.canStandDown(alert(1, 1, "en_route")), true);
    assert.equal(board.canStandDown(alert(1, 1, "declined")), false);
    assert.equal(board.canStandDown(alert(1, 1, "stood_down")), false);
  });
});

// Found trying the board: one stray click on a wall screen stood down a firefighter on scene (on
// the CPR checklist), with no question asked, while standing down everyone unanswered asks first.
describe("standing down one responder", () => {
  const where = incident(7, { cad_reference: "EEAST-7" });
  const responder = (state) => ({ id: 70, incident_id: 7, state, responder_name: "Kate Lowe" });

  it("does it at once for someone who has not answered", () => {
    assert.equal(board.standDownQuestion(where, responder("alerted")), null);
    assert.equal(board.standDownQuestion(where, responder("received")), null);
  });

  it("asks first about someone going or on scene, saying where they are", () => {
    assert.equal(
      board.standDownQuestion(where, responder("on_scene")),
      "Stand down Kate Lowe, who is on scene at EEAST-7? Their phone tells them they are stood down.",
    );
    assert.match(board.standDownQuestion(where, responder("en_route")), /who is on the way to EEAST-7\?/);
    assert.match(board.standDownQuestion(where, responder("accepted")), /who is going to EEAST-7\?/);
  });
});

// Found trying two boards: a board open when an incident was cancelled kept its card for ten
// minutes, while one opened or reloaded meanwhile did not show it at all.
describe("a finished incident's card", () => {
  const cancelledAt = "2026-01-01T12:10:00+00:00";
  const finished = incident(8, { status: "cancelled", cancelled_at: cancelledAt, cancel_reason: "Hoax" });
  const minutesAfter = (minutes) => Date.parse(cancelledAt) + minutes * 60 * 1000;
  const shown = (state, now) => board.incidentsToShow(state, now).map((each) => each.id);

  it("is kept ten minutes from when it finished, on a board that learnt of it later", () => {
    const opened = boardOf(snapshot({ incidents: [finished] })); // opened long after, now
    assert.deepEqual(shown(opened, minutesAfter(9)), [8]);
    assert.deepEqual(shown(opened, minutesAfter(11)), []);
  });

  it("goes at the same moment on a board that was open when it finished", () => {
    const open = boardOf(snapshot({ incidents: [incident(8)] }));
    board.applyIncident(open, finished, minutesAfter(0));
    assert.deepEqual(shown(open, minutesAfter(9)), [8]);
    assert.deepEqual(shown(open, minutesAfter(11)), []);
  });
});
