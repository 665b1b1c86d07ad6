// On scene: the CPR/AED checklist (versioned data from the server, adult, child or infant, under a
// "not clinically approved" banner unless its version is signed off), a
// metronome on the audio clock with a visible beat, the 2-minute cycle timer, a shock counter,
// one-tap timestamps, the screen kept on, and the event log with each event's sync state.
// Everything here works without signal and without a session; events wait in the queue.

import { audioContext, tone, unlockAudio, vibrate } from "../audio.js";
import { VARIANTS, eventData, eventDefinitions, loadChecklist, onSceneGuidance, variantFor } from "../checklist-data.js";
import { h } from "../dom.js";
import { checklistEndDetail, closedText, endText, formatClock, formatTime, notNeededText } from "../format.js";
import { messagesKey } from "../messages.js";
import { alertPath, go } from "../router.js";
import { attendedHere, closedOf, endOf, incidentOf } from "../store.js";
import { ScreenWakeLock } from "../wakelock.js";
import { messageBanner } from "./messages.js";
import { notice, region, topbar } from "./parts.js";

const DOUBLE_TAP_MS = 1500;
const SYNC_TEXT = { synced: "Sent", pending: "Waiting to send", conflict: "Conflict", rejected: "Refused" };
const ADVICE_TEXT = { shock_advised: "shock advised", no_shock_advised: "no shock advised" };

function progressKey(owner, alertId) {
  return `progress:${owner}:${alertId}`;
}

function describe(entry, labels) {
  const label = labels[entry.type] || entry.type;
  const details = [];
  if (entry.data?.shock_number) details.push(`no. ${entry.data.shock_number}`);
  if (entry.data?.advice) details.push(ADVICE_TEXT[entry.data.advice] || entry.data.advice);
  if (entry.data?.patient === "child" || entry.data?.patient === "infant") details.push(entry.data.patient);
  return details.length ? `${label} (${details.join(", ")})` : label;
}

/**
 * The checklist's notice of a call that ended for this alert ({headline, detail}), or null while
 * it goes on: cancelled or stood down (`end`, store.endOf) or closed by control (`closed`,
 * store.closedOf). The headline says how it ended, in neutral words; the detail is what the signed
 * checklist tells the crew on scene about CPR for that ending (its notice, where it applies:
 * nothing of the screen's own when it has none), and that what they record is kept. To one who
 * never reached the scene (`onScene` false: checklistOnScene), as on the alert's screen
 * (alert.js endedSubText), no guidance: that they are not needed (format.js notNeededText). Found
 * by a browser trial: accepted, on the checklist with nothing tapped, a cancel told him "If you
 * are still doing CPR, carry on" there and "You are not needed" on his alert. Without `onScene`,
 * on scene: never "not needed" to someone who may be doing CPR.
 */
export function endNotice({ end, closed, incident, checklist, onScene = true }) {
  const detail = (ending) => checklistEndDetail(onScene ? onSceneGuidance(checklist, ending) : "");
  if (end) return { headline: `${endText(end, incident)}.`, detail: onScene ? detail(end.kind) : checklistEndDetail(notNeededText(end)) };
  if (closed) return { headline: `${closedText(closed)}.`, detail: detail("closed") };
  return null;
}

/**
 * Was the firefighter on scene, for what the checklist tells them when the call ends: the same
 * rule as the alert's screen (store.attendedHere: the server says so, or this phone logged
 * checklist events for the alert), counting too the events this checklist shows (`entries`),
 * which the store's copy may not hold yet. A tap on an accepted alert puts them on scene, so a
 * checklist opened with nothing tapped is one who never reached the scene.
 */
export function checklistOnScene(state, alert, entries = []) {
  return attendedHere(state, alert) || entries.length > 0;
}

/**
 * Is the checklist's alert not one of this firefighter's? Found by a trial: the checklist of someone
 * else's alert (its address typed in) worked, taps refused by the server and kept on the phone.
 * Only when known: the server said so (`notFound`, a 404), or the alerts this phone holds are
 * loaded (`alertsKnown`) without it and nothing was logged for it here. While unknown (loading, no
 * signal before the saved alerts are read) the checklist shows: CPR never waits for a check.
 */
export function alertNotOnThisPhone(state, alertId, { notFound = false, alertsKnown = false } = {}) {
  if (state.alerts.has(alertId)) return false;
  if (notFound) return true;
  return alertsKnown && !state.loggedOnScene?.has(alertId);
}

export function checklistView(root, { id }, ctx) {
  const { store, metronome, eventLog } = ctx;
  const owner = store.state.me?.username || "unknown";
  const local = {
    checklist: ctx.checklist?.checklist || null,
    checklistInfo: ctx.checklist,
    progress: { key: progressKey(owner, id), patient: null, steps: {}, cycleStart: null, promptedAt: null },
    entries: [],
    lastTap: {},
    confirm: null, // event type waiting for a second tap (non-repeatable, already recorded)
    vibrateBeat: "vibrate" in navigator,
    wakeHeld: false,
    notFound: false, // the server has no such alert of theirs (alertNotOnThisPhone)
    alertsKnown: false, // the alerts this phone holds are loaded (ctx.synced)
  };
  const wakeLock = new ScreenWakeLock((lock) => {
    local.wakeHeld = lock.held;
    render();
  });

  const banners = region("div");
  // Messages from control: a banner, never a screen of its own (views/messages.js).
  const messageBox = region("div", { class: "checklist-messages" });
  const top = region("div");
  const head = region("header");
  const beat = h("div", { class: "beat", "aria-hidden": "true" });
  const metro = region("section", { class: "card metronome", "aria-label": "Metronome" });
  const cycle = region("section", { class: "card cycle", "aria-label": "2-minute cycle" });
  const shocks = region("section", { class: "card shocks", "aria-label": "Shocks" });
  const quick = region("section", { class: "card", "aria-labelledby": "events-heading" });
  const steps = region("section", { "aria-labelledby": "steps-heading" });
  const log = region("section", { class: "card", "aria-labelledby": "log-heading" });
  const about = region("footer", { class: "about" });
  const missing = region("section", { class: "checklist-missing" });
  const checklistParts = [banners, messageBox, head, metro, cycle, shocks, quick, steps, log, about];
  root.append(h("main", { class: "page checklist" }, banners, messageBox, top, missing, head, metro, cycle, shocks, quick, steps, log, about));

  // --- State kept on this phone for this alert -------------------------------------------------
  async function loadProgress() {
    try {
      const saved = await ctx.stores.kv.get(local.progress.key);
      if (saved) Object.assign(local.progress, saved);
    } catch {
      // start fresh
    }
    if (!local.progress.patient) local.progress.patient = local.checklist?.defaultVariant || "adult";
  }

  function saveProgress() {
    ctx.stores.kv.put({ ...local.progress }).catch(() => {});
  }

  async function refreshEntries() {
    local.entries = await eventLog.entries(id);
    render();
  }

  const definitions = () => eventDefinitions(local.checklist);
  const definition = (type) => definitions().find((item) => item.id === type);
  const labels = () => Object.fromEntries(definitions().map((item) => [item.id, item.label]));
  const recorded = (type) => local.entries.filter((entry) => entry.type === type);
  const shockCount = () => {
    const shocks = recorded("shock");
    return Math.max(shocks.length, ...shocks.map((entry) => entry.data?.shock_number || 0));
  };

  /** One tap: timestamp now, on this phone first. */
  async function record(type, extra = {}) {
    const now = Date.now();
    if (now - (local.lastTap[type] || 0) < DOUBLE_TAP_MS) return false; // a double tap, not two events
    const def = definition(type);
    if (def && !def.repeatable && recorded(type).length && local.confirm !== type) {
      local.confirm = type;
      render();
      setTimeout(() => {
        if (local.confirm === type) {
          local.confirm = null;
          render();
        }
      }, 4000);
      return false;
    }
    local.confirm = null;
    local.lastTap[type] = now;
    await eventLog.record(id, type, eventData(def, { patient: local.progress.patient, ...extra }));
    vibrate(60);
    await refreshEntries();
    return true;
  }

  // --- Metronome and cycle timer ---------------------------------------------------------------
  function flash() {
    beat.classList.add("on");
    setTimeout(() => beat.classList.remove("on"), 120);
    if (local.vibrateBeat) vibrate(40);
  }

  function startMetronome() {
    ctx.metronomeAlertId = id; // main.js stops it if this alert is cancelled or stood down before the scene, or its call over and another taken on
    ctx.metronomeStoppedFor = null;
    // Asked inside the tap, where browsers allow audio, but not waited for: the beat is seen and
    // felt at once, and the clicks join when the audio runs (Metronome._tick changes clocks). Found
    // by CI: the audio took over 10 s to start and the button did nothing all that time.
    unlockAudio();
    const m = local.checklist?.metronome;
    if (m && !metronome.running && metronome.bpm === 110) metronome.setBpm(m.default);
    metronome.start();
  }

  function startCycle() {
    local.progress.cycleStart = Date.now();
    local.progress.promptedAt = null;
    saveProgress();
    render();
  }

  function remaining() {
    if (!local.progress.cycleStart) return null;
    const seconds = local.checklist?.cycleSeconds || 120;
    return seconds - (Date.now() - local.progress.cycleStart) / 1000;
  }

  function prompt() {
    const ctxAudio = audioContext();
    if (ctxAudio && ctxAudio.state === "running") {
      const t = ctxAudio.currentTime + 0.05;
      for (let i = 0; i < 3; i += 1) tone(ctxAudio, t + i * 0.3, { frequency: 1500, duration: 0.18, type: "sine", volume: 0.7 });
    }
    vibrate([300, 100, 300, 100, 300]);
  }

  let clockTimer = null;
  function tickClock() {
    const left = remaining();
    if (left !== null && left <= 0) {
      const since = local.progress.promptedAt ? Date.now() - local.progress.promptedAt : Infinity;
      if (since > 30000) {
        local.progress.promptedAt = Date.now();
        saveProgress();
        prompt();
      }
    }
    renderCycle();
    clockTimer = setTimeout(tickClock, 250);
  }

  // --- Rendering -------------------------------------------------------------------------------
  /** Says, above everything, when the checklist on screen has no clinical sign-off. */
  function clinicalBanner() {
    const checklist = local.checklist;
    const info = local.checklistInfo;
    if (checklist && info?.noApproved) {
      return h(
        "div",
        { class: "notice danger not-approved", role: "alert" },
        h("p", { text: "No clinically approved checklist is available from the server." }),
        h("p", { text: `This is a copy saved on this phone (version ${checklist.version}); it may have been withdrawn. Follow your training.` }),
      );
    }
    if (!checklist || checklist.signOff?.approved) return null;
    return h(
      "div",
      { class: "notice danger not-approved", role: "status" },
      h("p", { text: "Not clinically approved" }),
      h("p", { text: `Checklist version ${checklist.version} is a ${checklist.signOff?.status || "draft"}: no clinician has signed it off. For development and training only.` }),
    );
  }

  function renderBanners(state) {
    const parts = [clinicalBanner()];
    if (state.session === "expired") {
      parts.push(
        notice(
          "warning",
          "Your session has ended. Everything you record is kept on this phone and sent after you log in.",
          h("button", {
            type: "button",
            class: "btn btn-small",
            text: "Log in",
            on: {
              click: () => {
                sessionStorage.setItem("coresponder.returnTo", alertPath(id, "checklist"));
                go("/login");
              },
            },
          }),
        ),
      );
    }
    // Running when the page went (a reload): audio needs a tap to start again.
    if (ctx.metronomeInterrupted?.alertId === id && !metronome.running) {
      parts.push(
        notice(
          "warning",
          "The metronome stopped when the app reloaded.",
          h(
            "div",
            { class: "row" },
            h("button", { type: "button", class: "btn btn-go", text: "Restart metronome", on: { click: () => ctx.restartInterruptedMetronome() } }),
            h("button", { type: "button", class: "btn btn-small", text: "Dismiss", on: { click: () => ctx.forgetInterruptedMetronome() } }),
          ),
        ),
      );
    }
    // Cancelled or stood down: say so, with what the signed checklist tells the crew about CPR then
    // (endNotice); nothing here is locked and what is recorded is kept. The metronome was stopped
    // (main.js) only for someone who never reached the scene; for someone on scene it runs on.
    const alert = state.alerts.get(id);
    const end = endOf(state, alert);
    const closed = closedOf(state, alert);
    const onScene = checklistOnScene(state, alert, local.entries);
    const told = endNotice({ end, closed, incident: alert ? incidentOf(state, alert) : null, checklist: local.checklist, onScene });
    if (end) {
      parts.push(
        notice(
          "danger",
          told.headline,
          h("p", { text: told.detail }),
          // Offered where the cancel stopped it: a metronome never started has its own button below.
          metronome.running || ctx.metronomeStoppedFor !== id
            ? null
            : h("button", { type: "button", class: "btn btn-go", text: "Restart metronome", on: { click: startMetronome } }),
        ),
      );
    }
    // Closed (those on scene are cleared): said the same way, neutral (format.js, closedText), with
    // guidance only if the signed checklist's notice applies to a close. The metronome is left as
    // the crew set it.
    if (closed) parts.push(notice("danger", told.headline, h("p", { text: told.detail })));
    return parts;
  }

  /**
   * A cancel, stand-down or close arriving while the crew is further down the checklist (at the
   * metronome, the shocks, the log) is brought into view once, with the focus: its notice is
   * at the top, and the metronome it stopped would otherwise fall silent with no reason seen.
   * `end`: endOf() or closedOf()'s answer.
   */
  let endShown = null;
  function showTheEndOnce(end) {
    const key = end ? JSON.stringify(end) : null;
    if (key === endShown) return;
    const shown = end && banners.querySelector(".notice.danger[role=alert]:not(.not-approved)");
    if (end && !shown) return; // its rebuild waits for a finger on the banners: next render
    endShown = key;
    if (!shown) return;
    shown.setAttribute("tabindex", "-1");
    shown.scrollIntoView({ block: "start" });
    shown.focus({ preventScroll: true });
  }

  function renderHead(state) {
    const alert = state.alerts.get(id);
    const incident = alert ? incidentOf(state, alert) : null;
    const checklist = local.checklist;
    const variant = variantFor(checklist, local.progress.patient);
    const choose = (patient) => {
      local.progress.patient = patient;
      saveProgress();
      render();
    };
    return [
      h("h1", { text: "CPR" }),
      incident ? h("p", { class: "lead", text: incident.address }) : null,
      h(
        "div",
        { class: "segmented", role: "group", "aria-label": "Patient" },
        VARIANTS.map((patient) =>
          h("button", {
            type: "button",
            class: "btn",
            "aria-pressed": local.progress.patient === patient ? "true" : "false",
            disabled: patient !== "adult" && checklist && !checklist[patient],
            text: { adult: "Adult", child: "Child", infant: "Infant" }[patient],
            on: { click: () => choose(patient) },
          }),
        ),
      ),
      variant?.appliesTo ? h("p", { class: "hint", text: variant.appliesTo }) : null,
      variant?.compressions?.length ? h("ul", { class: "facts" }, variant.compressions.map((line) => h("li", { text: line }))) : null,
    ];
  }

  function renderMetronome() {
    const m = local.checklist?.metronome || { min: 100, max: 120 };
    const change = (delta) => metronome.setBpm(Math.min(m.max, Math.max(m.min, metronome.bpm + delta)));
    return [
      h("div", { class: "metronome-row" }, beat, h("p", { class: "bpm", "aria-live": "polite" }, h("strong", { text: String(metronome.bpm) }), " a minute")),
      h(
        "div",
        { class: "row" },
        h("button", { type: "button", class: "btn", disabled: metronome.bpm <= m.min, text: "Slower −5", on: { click: () => change(-5) } }),
        h("button", { type: "button", class: "btn", disabled: metronome.bpm >= m.max, text: "Faster +5", on: { click: () => change(5) } }),
      ),
      metronome.running
        ? h("button", { type: "button", class: "btn btn-big btn-stop", text: "Stop metronome", on: { click: () => metronome.stop() } })
        : h("button", { type: "button", class: "btn btn-big btn-go", text: "Start metronome", on: { click: startMetronome } }),
      h(
        "div",
        { class: "row" },
        h("button", {
          type: "button",
          class: "btn btn-small",
          "aria-pressed": metronome.muted ? "false" : "true",
          text: metronome.muted ? "Sound off" : "Sound on",
          on: { click: () => metronome.setMuted(!metronome.muted) },
        }),
        "vibrate" in navigator
          ? h("button", {
              type: "button",
              class: "btn btn-small",
              "aria-pressed": local.vibrateBeat ? "true" : "false",
              text: local.vibrateBeat ? "Vibrate on" : "Vibrate off",
              on: { click: () => ((local.vibrateBeat = !local.vibrateBeat), render()) },
            })
          : null,
      ),
    ];
  }

  function renderCycle() {
    const left = remaining();
    const due = left !== null && left <= 0;
    cycle.classList.toggle("prompt-due", due);
    cycle.show([left === null ? null : Math.ceil(left), Boolean(local.checklist)], () => {
      if (left === null) {
        return [
          h("h2", { text: "2-minute cycle" }),
          h("button", {
            type: "button",
            class: "btn btn-big btn-go",
            text: "Start CPR: metronome and timer",
            on: {
              click: async () => {
                startCycle();
                await startMetronome();
                if (!recorded("cpr_started").length) record("cpr_started");
              },
            },
          }),
        ];
      }
      const analysed = (advice) => async () => {
        await record("analysis", { advice });
        startCycle();
      };
      return [
        h("h2", { text: due ? "Analyse rhythm / swap compressor" : "Next analysis and swap in" }),
        h("p", { class: "timer", role: "timer", text: formatClock(Math.ceil(left)) }),
        due ? h("p", { class: "prompt-text", role: "alert", text: local.checklist?.cyclePrompt || "Stand clear for the analysis and swap the person doing compressions." }) : null,
        h(
          "div",
          { class: "row" },
          h("button", { type: "button", class: "btn btn-big", text: "Shock advised", on: { click: analysed("shock_advised") } }),
          h("button", { type: "button", class: "btn btn-big", text: "No shock advised", on: { click: analysed("no_shock_advised") } }),
        ),
        h("button", { type: "button", class: "btn btn-small", text: "Restart 2-minute timer", on: { click: startCycle } }),
      ];
    });
  }

  function renderShocks() {
    const count = shockCount();
    return [
      h("p", { class: "shock-count" }, "Shocks: ", h("strong", { text: String(count) })),
      h("button", {
        type: "button",
        class: "btn btn-big btn-shock",
        text: `Shock delivered (no. ${count + 1})`,
        on: { click: () => record("shock", { shockNumber: count + 1 }) },
      }),
    ];
  }

  /** A step's or the grid's event button: a shock gets its number, an analysis restarts the cycle. */
  async function tap(type) {
    if (type === "shock") return record("shock", { shockNumber: shockCount() + 1 });
    const recordedIt = await record(type);
    if (recordedIt && type === "analysis" && local.progress.cycleStart) startCycle();
    return recordedIt;
  }

  function eventButton(def) {
    const times = recorded(def.id);
    const last = times[times.length - 1];
    const confirming = local.confirm === def.id;
    return h(
      "button",
      {
        type: "button",
        class: ["btn", "event-btn", times.length ? "event-done" : null, confirming ? "event-confirm" : null],
        on: { click: () => tap(def.id) },
      },
      h("span", { text: confirming ? `Record ${def.label} again?` : def.label }),
      last ? h("span", { class: "event-time", text: `${formatTime(last.occurred_at)}${times.length > 1 ? ` (×${times.length})` : ""}` }) : null,
    );
  }

  function renderQuick() {
    return [
      h("h2", { id: "events-heading", text: "Tap when it happens" }),
      h("div", { class: "event-grid" }, definitions().filter((def) => def.id !== "shock" && def.id !== "analysis").map(eventButton)),
    ];
  }

  function renderSteps() {
    const checklist = local.checklist;
    const info = local.checklistInfo;
    if (!checklist) {
      return [
        h("h2", { id: "steps-heading", text: "Checklist" }),
        notice("warning", info?.error ? `The checklist is not available: ${info.error}` : "Loading the checklist…"),
      ];
    }
    const variant = variantFor(checklist, local.progress.patient);
    return [
      h("h2", { id: "steps-heading", text: `${variant.label} checklist` }),
      variant.intro.map((line) => h("p", { text: line })),
      h(
        "ol",
        { class: "steps" },
        variant.steps.map((step) => {
          const def = step.event ? definition(step.event) : null;
          const doneAt = def ? recorded(def.id).slice(-1)[0]?.occurred_at : local.progress.steps[step.id];
          return h(
            "li",
            { class: ["step", doneAt ? "step-done" : null] },
            h("h3", { text: step.title }),
            step.instructions.map((line) => h("p", { text: line })),
            def
              ? eventButton(def)
              : h("button", {
                  type: "button",
                  class: ["btn", "btn-small", doneAt ? "event-done" : null],
                  "aria-pressed": doneAt ? "true" : "false",
                  text: doneAt ? `Done ${formatTime(doneAt)}` : "Mark done",
                  on: {
                    click: () => {
                      if (local.progress.steps[step.id]) delete local.progress.steps[step.id];
                      else local.progress.steps[step.id] = new Date().toISOString();
                      saveProgress();
                      render();
                    },
                  },
                }),
          );
        }),
      ),
    ];
  }

  function renderLog() {
    const names = labels();
    const entries = [...local.entries].reverse();
    const waiting = entries.filter((entry) => entry.state === "pending").length;
    return [
      h("h2", { id: "log-heading", text: "Event log" }),
      waiting ? h("p", { class: "notice warning", text: `${waiting} waiting to be sent: kept on this phone until there is signal.` }) : null,
      ctx.persistentStorage ? null : notice("danger", "This browser cannot store events on the phone: keep the app open until they are sent."),
      entries.length === 0
        ? h("p", { class: "empty", text: "Nothing recorded yet." })
        : h(
            "ul",
            { class: "log" },
            entries.map((entry) =>
              h(
                "li",
                { class: `log-${entry.state}` },
                h("span", { class: "log-time", text: formatTime(entry.occurred_at) }),
                h("span", { class: "log-what", text: describe(entry, names) }),
                h("span", { class: `sync sync-${entry.state}`, text: SYNC_TEXT[entry.state] || entry.state }),
                entry.error && entry.state !== "synced" ? h("span", { class: "log-error", text: entry.error }) : null,
                entry.state === "conflict" || entry.state === "rejected"
                  ? h("button", {
                      type: "button",
                      class: "btn btn-small",
                      text: "Try again",
                      on: { click: () => eventLog.retry(entry.idempotency_key).then(refreshEntries) },
                    })
                  : null,
              ),
            ),
          ),
    ];
  }

  function renderAbout() {
    const checklist = local.checklist;
    const info = local.checklistInfo;
    return [
      checklist
        ? h("p", {}, `Checklist version ${checklist.version}`, checklist.title ? `: ${checklist.title}` : "", info?.fromCache ? ` (saved copy${info.savedAt ? ` from ${new Date(info.savedAt).toLocaleDateString("en-GB")}` : ""})` : "")
        : null,
      checklist?.source ? h("p", { text: `Source: ${checklist.source}` }) : null,
      checklist && !checklist.reviewed ? h("p", { class: "review-warning", text: `Clinical review: ${checklist.review || "not recorded"}` }) : null,
      checklist?.reviewed ? h("p", { text: checklist.review }) : null,
      h("p", { text: !wakeLock.supported ? "This phone cannot keep the screen on by itself: check its screen timeout." : local.wakeHeld ? "Screen kept on." : "Screen may turn off." }),
    ];
  }

  /** The alert is not one of theirs: no checklist, no metronome; only a way back (and a way to stop
   *  a metronome started on their own job, whose chip the checklist's screen hides). */
  function renderMissing() {
    return [
      h("h1", { text: "CPR checklist" }),
      notice("danger", "This alert is not on this phone.", h("p", { text: "Open the checklist from your alert's screen." })),
      metronome.running
        ? h("button", { type: "button", class: "btn btn-stop", text: "Stop metronome", on: { click: () => metronome.stop() } })
        : null,
      h("a", { class: "btn btn-quiet", href: "#/", text: "Home" }),
    ];
  }

  function render() {
    const state = store.state;
    const alert = state.alerts.get(id);
    top.show([state.connection.status, state.online], () => topbar(state, { path: alertPath(id), label: "Alert" }));
    const absent = alertNotOnThisPhone(state, id, local);
    for (const part of checklistParts) part.hidden = absent;
    missing.hidden = !absent;
    if (absent) {
      missing.show([metronome.running], renderMissing);
      return;
    }
    if (alert) messageBox.show(messagesKey(state, alert.incident_id), () => messageBanner(ctx, alert.incident_id));
    const closed = closedOf(state, alert);
    const onScene = checklistOnScene(state, alert, local.entries);
    const told = endNotice({ end: endOf(state, alert), closed, incident: alert ? incidentOf(state, alert) : null, checklist: local.checklist, onScene });
    banners.show(
      [state.session, endOf(state, alert), closed, alert ? incidentOf(state, alert)?.cancel_reason : null, told, metronome.running, ctx.metronomeStoppedFor === id, ctx.metronomeInterrupted?.alertId === id, local.checklist?.version, local.checklist?.signOff?.approved, local.checklistInfo?.noApproved],
      () => renderBanners(state),
    );
    showTheEndOnce(endOf(state, alert) || closed);
    // Keyed on what the head shows (the address), not the alert's objects: every update of the
    // alert (a receipt, a crewmate's answer) brings new ones, and redrawing the patient buttons
    // then could drop a tap on them.
    const shownAlert = state.alerts.get(id);
    const address = shownAlert ? incidentOf(state, shownAlert)?.address : undefined;
    head.show([address, local.progress.patient, Boolean(local.checklist)], () => renderHead(state));
    metro.show([metronome.bpm, metronome.running, metronome.muted, local.vibrateBeat, local.checklist?.metronome], renderMetronome);
    renderCycle();
    shocks.show([shockCount()], renderShocks);
    const entryKey = local.entries.map((entry) => [entry.idempotency_key, entry.state]);
    quick.show([entryKey, local.confirm, Boolean(local.checklist)], renderQuick);
    steps.show([entryKey, local.confirm, local.progress.patient, local.progress.steps, local.checklist?.version, local.checklistInfo?.error], renderSteps);
    log.show([local.entries, ctx.persistentStorage, labels()], renderLog); // the checklist's labels, once it is loaded
    about.show([local.checklist?.version, local.checklist?.review, local.checklistInfo?.fromCache, local.wakeHeld], renderAbout);
  }

  // --- Start ----------------------------------------------------------------------------------
  metronome.onBeat = flash;
  const unMetronome = metronome.onChange(() => render());
  const unsubscribe = store.subscribe(() => {
    refreshEntries();
  });
  wakeLock.enable();
  (async () => {
    await loadProgress();
    await refreshEntries();
    if (!local.checklist || local.checklistInfo?.fromCache) {
      local.checklistInfo = await loadChecklist(ctx.api);
      ctx.checklist = local.checklistInfo;
      local.checklist = local.checklistInfo.checklist;
      if (!local.progress.patient) local.progress.patient = local.checklist?.defaultVariant || "adult";
      render();
    }
    if (store.state.session === "authenticated") {
      eventLog.mergeFromServer(id).then(refreshEntries).catch(() => {});
      if (!store.state.alerts.has(id)) {
        ctx.sync?.ensureAlert(id).catch((error) => {
          local.notFound = error?.status === 404;
          render();
        });
      }
    }
  })();
  Promise.resolve(ctx.synced)
    .catch(() => {})
    .then(() => {
      local.alertsKnown = Boolean(ctx.synced);
      render();
    });
  render();
  tickClock();
  return () => {
    clearTimeout(clockTimer);
    metronome.onBeat = () => {};
    unMetronome();
    unsubscribe();
    wakeLock.disable();
  };
}
