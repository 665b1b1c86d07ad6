// Home: who and where I am, whether alerts can reach this phone (and what to do if not), the
// on-call switch, the active alerts (the job I am on first, then those waiting for my answer,
// then the rest; and any that were cancelled or stood down in the last hour), the forms still to
// fill after calls, and logging out.

import { h } from "../dom.js";
import { categoryDetail, distanceFromText, endText, ownStateLabel, stoodDownShort, timeAgo } from "../format.js";
import { enablePush, platform, registerDevice } from "../push.js";
import { adviceFor, appState, resultLine, runTest } from "../readiness.js";
import { formsToFillText } from "../records-rules.js";
import { alertPath } from "../router.js";
import { activeJob, callInHand, endOf, homeAlerts, homeItemTime, incidentOf } from "../store.js";
import { deliveryWarnings, readyForAlerts } from "../status.js";
import { every, notice, queueLine, region, topbar } from "./parts.js";

/** The log-out warning for `count` records not sent yet (checklist times or forms). */
export function unsentWarningText(count) {
  const what = count === 1 ? "1 record (checklist times or a form) has" : `${count} records (checklist times or forms) have`;
  const them = count === 1 ? "it" : "them";
  return `${what} not been sent to the server yet. Logging out deletes ${them} from this phone. Get signal and wait for ${them} to be sent first if you can.`;
}

/** Why logging out did not happen (api.endSession's answer); `unsent`: records not sent. */
export function logoutRefusedText({ offline, status }, unsent = 0) {
  const records = unsent === 1 ? "your 1 unsent record" : `your ${unsent} unsent records`;
  if (offline) {
    return unsent
      ? `No signal: logging out needs a connection, so ${records} can be sent and your login ended. Try again when you have signal.`
      : "No signal: logging out needs a connection, so your login can be ended. Try again when you have signal.";
  }
  const answered = status ? ` (it answered ${status})` : "";
  return `Not logged out: the server could not end your login${answered}. Nothing was deleted from this phone. Try again.`;
}

/**
 * The log-out prompt's line for a firefighter committed to an incident (store.activeJob), or "":
 * found by a trial of the product, the prompt did not mention the job they were on.
 */
export function logoutJobText(job, jobIncident) {
  if (!job) return "";
  const address = jobIncident?.address || "an incident";
  const where = job.state === "on_scene" ? `You are on scene at ${address}` : `You are going to ${address}`;
  return `${where}: logging out stops your alerts and position sharing on this phone.`;
}

/**
 * The question before going off call with a live job (store.activeJob), or "" with none: found by
 * a trial, a firefighter went off call while en route with no word of what it does to the job.
 */
export function offCallJobText(job, jobIncident) {
  if (!job) return "";
  const address = jobIncident?.address || "an incident";
  const where = job.state === "on_scene" ? `You are on scene at ${address}` : `You are going to ${address}`;
  return `${where}. Going off call stops new alerts only: this job carries on, and the control room still counts you on it.`;
}

export function homeView(root, _params, ctx) {
  const { store, api } = ctx;
  const local = {
    onCallBusy: false,
    onCallError: null,
    onCallWarning: null,
    shareBusy: false,
    shareError: null,
    pushBusy: false,
    pushMessage: null,
    logout: null, // the prompt: {unsent, busy, refused, refusedOffline}
    logoutRefused: null, // why logging out did not happen, with the prompt closed (no signal)
    offCallAsk: false, // "Going off call stops new alerts only": asked before going off call with a live job
    test: null, // "Test my alerts": {check, error, busy}
  };
  let testRun = null;

  const top = region("div");
  const owed = region("div");
  const readiness = region("section", { class: "card", "aria-labelledby": "ready-heading" });
  const onCall = region("section", { class: "card" });
  const alerts = region("section", { "aria-labelledby": "alerts-heading" });
  const queue = region("div");
  const account = region("section", { class: "card" });

  function renderReadiness(state) {
    const me = state.me;
    if (!me?.responder) {
      return [
        h("h2", { id: "ready-heading", text: "This app is for firefighters" }),
        h("p", { text: "This account is not a co-responder, so it cannot receive alerts here. Coordinators use the admin site." }),
        h("a", { class: "btn btn-quiet", href: "/admin/", text: "Open the coordinators' site" }),
      ];
    }
    const warnings = deliveryWarnings({
      connection: state.connection.status,
      push: state.push,
      onCall: me.responder.on_call,
      trainingInDate: me.responder.training_in_date,
      online: state.online,
    });
    const ready = readyForAlerts(warnings) && me.responder.on_call;
    // "Try again" where notifications are allowed and registering failed (status.js).
    const retry = !warnings.some((warning) => warning.action === "enable") && warnings.some((warning) => warning.action === "retry");
    const enable = retry || warnings.some((warning) => warning.action === "enable");
    const { ios } = platform();
    return [
      h(
        "h2",
        { id: "ready-heading", class: ready ? "ok-text" : "danger-text" },
        state.push === null ? "Checking this phone…" : ready ? "Ready: alerts will reach this phone" : "Alerts may not reach this phone",
      ),
      warnings.map((warning) => notice(warning.level, warning.text)),
      enable
        ? h("button", {
            type: "button",
            class: "btn btn-primary btn-big",
            disabled: local.pushBusy,
            text: local.pushBusy ? (retry ? "Trying again…" : "Turning on…") : retry ? "Try again" : "Turn on notifications",
            on: { click: () => turnOnNotifications(retry) },
          })
        : null,
      enable && ios ? h("p", { class: "hint", text: "On iPhone this works only in the app opened from the Home Screen." }) : null,
      local.pushMessage ? h("p", { class: "hint", role: "status", text: local.pushMessage }) : null,
      renderTest(state),
      h(
        "details",
        { class: "tips" },
        h("summary", { text: "Make sure alerts get through" }),
        h(
          "ul",
          {},
          h("li", { text: "Allow notifications for this app, with sound, in the phone's settings." }),
          h("li", { text: "A web app cannot ring through silent mode or Do Not Disturb: allow this app as an exception if your phone offers it." }),
          h("li", { text: "On Android, turn off battery optimisation for your browser so alerts are not delayed." }),
          h("li", { text: "On iPhone, add the app to the Home Screen (Share, then Add to Home Screen) and open it from there." }),
          h("li", { text: "If your phone does not show an alert in time, you get a text message instead." }),
        ),
      ),
    ];
  }

  /** "Test my alerts": a real push to this phone; the time it took, or what to check. */
  function renderTest(state) {
    const push = state.push;
    if (!push?.supported || !push.subscribed || !push.registered) return null;
    const test = local.test;
    const check = test?.check;
    const failed = check?.result === "failed";
    return h(
      "div",
      { class: "push-test" },
      h("button", {
        type: "button",
        class: "btn btn-quiet",
        disabled: Boolean(test?.busy),
        text: test?.busy ? "Testing…" : "Test my alerts",
        on: { click: testMyAlerts },
      }),
      check ? h("p", { class: failed ? "danger-text" : check.result === "passed" ? "ok-text" : "hint", role: "status", dataset: { testResult: check.result }, text: resultLine(check) }) : null,
      failed ? h("ul", { class: "advice", "aria-label": "What to check" }, adviceFor(check, appState()).map((line) => h("li", { text: line }))) : null,
      test?.error ? notice("danger", test.error) : null,
    );
  }

  function testMyAlerts() {
    local.test = { busy: true, check: null, error: null };
    render();
    testRun = runTest(api, {
      onChange: (check) => {
        local.test = { ...local.test, check };
        render();
      },
    });
    testRun.done
      .then(() => (local.test = { ...local.test, busy: false }))
      .catch((error) => (local.test = { ...local.test, busy: false, error: error.message }))
      .then(async () => {
        testRun = null;
        await ctx.refreshPush({ repair: false }); // proven, or flagged: the warnings above follow
        render();
      });
  }

  function turnOnNotifications(retry = false) {
    // requestPermission must run inside this tap: enablePush calls it first (allowed already:
    // registering again is all there is to do).
    const pending = retry ? registerDevice(api) : enablePush(api);
    local.pushBusy = true;
    local.pushMessage = null;
    render();
    pending.then(async (result) => {
      local.pushBusy = false;
      local.pushMessage = result.message;
      await ctx.refreshPush({ repair: false });
      render();
    });
  }

  function renderOnCall(state) {
    const responder = state.me?.responder;
    if (!responder) return null;
    const on = responder.on_call;
    return [
      h("h2", { text: "Availability" }),
      h(
        "button",
        {
          type: "button",
          class: ["btn", "btn-big", "toggle", on ? "toggle-on" : "toggle-off"],
          "aria-pressed": on ? "true" : "false",
          disabled: local.onCallBusy,
          // Off call with a live job: asked first (offCallJobText).
          on: { click: () => (on && activeJob(state) ? ((local.offCallAsk = true), render()) : setOnCall(!on)) },
        },
        h("span", { class: "toggle-label", text: on ? "ON CALL" : "OFF CALL" }),
        h("span", { class: "toggle-hint", text: on ? "You will be alerted. Tap to go off call." : "You will not be alerted. Tap to go on call." }),
      ),
      on && local.offCallAsk ? offCallQuestion(state) : null,
      local.onCallError ? notice("danger", local.onCallError) : null,
      on && local.onCallWarning ? notice("warning", local.onCallWarning) : null,
      renderSharePosition(responder),
    ];
  }

  /** The opt-in "Share my position while on call" (off by default; docs/positions.md). */
  function renderSharePosition(responder) {
    const box = h("input", {
      id: "share-position-on-call",
      type: "checkbox",
      checked: Boolean(responder.share_position_on_call),
      "aria-describedby": "share-position-hint",
      disabled: local.shareBusy,
      on: { change: () => setSharePosition(box.checked) },
    });
    return h(
      "div",
      { class: "share-position" },
      h("label", { for: "share-position-on-call" }, box, " Share my position while on call"),
      h("p", {
        class: "hint",
        id: "share-position-hint",
        text: "While you are on call, alerts are then measured from where you are, not only from your station. Nothing is shared off call.",
      }),
      local.shareError ? notice("danger", local.shareError) : null,
    );
  }

  async function setSharePosition(value) {
    local.shareBusy = true;
    local.shareError = null;
    render();
    try {
      const me = await api.setSharePositionOnCall(value);
      store.update((s) => void (s.me = me));
      localStorage.setItem("coresponder.me", JSON.stringify(me));
    } catch (error) {
      local.shareError = error.message;
    }
    local.shareBusy = false;
    render();
  }

  function offCallQuestion(state) {
    const job = activeJob(state);
    return notice(
      "warning",
      offCallJobText(job, job ? incidentOf(state, job) : null),
      h(
        "div",
        { class: "row" },
        h("button", { type: "button", class: "btn btn-quiet", text: "Stay on call", on: { click: () => ((local.offCallAsk = false), render()) } }),
        h("button", { type: "button", class: "btn btn-stop", text: "Go off call", on: { click: () => setOnCall(false) } }),
      ),
    );
  }

  async function setOnCall(value) {
    local.offCallAsk = false;
    local.onCallBusy = true;
    local.onCallError = null;
    render();
    try {
      const { readiness: phones, ...me } = await api.setOnCall(value);
      // Going on call with no phone that has shown an alert or a test lately: the server says so.
      local.onCallWarning = phones?.warning || null;
      store.update((s) => void (s.me = me));
      localStorage.setItem("coresponder.me", JSON.stringify(me));
    } catch (error) {
      local.onCallError = error.message;
    }
    local.onCallBusy = false;
    render();
  }

  function stateLine(state, alert, role) {
    if (role === "waiting") return "Waiting for your answer";
    if (role === "job") return ownStateLabel(alert);
    const end = endOf(state, alert);
    if (end) return endText(end, incidentOf(state, alert));
    if (alert.state === "stood_down") return stoodDownShort(alert.stood_down_reason);
    return ownStateLabel(alert);
  }

  function alertItem(state, { alert, role }) {
    const incident = incidentOf(state, alert);
    const classes = ["alert-item", role === "waiting" ? "alert-item-waiting" : null, role === "job" ? "alert-item-job" : null, role === "ended" ? "alert-item-ended" : null];
    return h(
      "li",
      {},
      h(
        "a",
        { class: classes, href: `#${alertPath(alert.id)}` },
        role === "job" ? h("span", { class: "job-tag", text: "Your job" }) : null,
        h("strong", { text: incident.address || "Address not given" }),
        h("span", { text: `${categoryDetail(incident.category)} · ${distanceFromText(alert)}` }),
        h("span", { class: "alert-item-state", text: `${stateLine(state, alert, role)} · ${timeAgo(homeItemTime(state, { alert, role }))}` }),
      ),
    );
  }

  function renderAlerts(state) {
    const { list, ended } = homeAlerts(state);
    return [
      h("h2", { id: "alerts-heading", text: "Active alerts" }),
      list.length === 0 ? h("p", { class: "empty", text: "No active alerts." }) : h("ul", { class: "alert-list" }, list.map((item) => alertItem(state, item))),
      ended.length
        ? [h("h2", { class: "ended-heading", text: "Ended in the last hour" }), h("ul", { class: "alert-list" }, ended.map((item) => alertItem(state, item)))]
        : null,
    ];
  }

  /** "2 forms to fill after calls", to the forms list; not while a call is in hand: the call first. */
  function renderFormsToFill(count, inHand) {
    if (!count || inHand) return null;
    return notice("info", formsToFillText(count), h("a", { class: "btn btn-primary", href: "#/forms", text: "Fill them in" }));
  }

  async function confirmLogout() {
    if (!local.logout || local.logout.busy) return;
    local.logout = { ...local.logout, busy: true, refused: null };
    render();
    const result = await ctx.logout();
    if (result?.ok || !local.logout) return; // logged out: the login screen replaces this one
    local.logout = { ...local.logout, busy: false, refused: logoutRefusedText(result, await ctx.unsentCount()), refusedOffline: Boolean(result?.offline) };
    render();
  }

  async function askLogout() {
    const unsent = await ctx.unsentCount();
    if (store.state.online === false || navigator.onLine === false) {
      local.logout = null;
      local.logoutRefused = logoutRefusedText({ offline: true }, unsent);
    } else {
      local.logoutRefused = null;
      local.logout = { unsent, busy: false, refused: null };
    }
    render();
  }

  /** "No signal: logging out needs a connection" goes once the signal is back (found by a trial:
   *  it stayed, still citing "your 2 unsent records" after they had been sent). Only on coming
   *  back online: a logout whose request got no answer on a phone that thinks it is online says
   *  the same, and stays. */
  let wasOnline = true;
  function forgetNoSignalRefusal(state) {
    const online = state.online !== false && navigator.onLine !== false;
    const back = online && !wasOnline;
    wasOnline = online;
    if (!back) return;
    local.logoutRefused = null;
    if (local.logout?.refusedOffline) local.logout = { ...local.logout, refused: null, refusedOffline: false };
  }

  function renderAccount(state) {
    const me = state.me;
    if (local.logout) {
      const { unsent, busy, refused } = local.logout;
      const job = activeJob(state);
      return [
        h("h2", { text: "Log out?" }),
        job ? notice("warning", logoutJobText(job, incidentOf(state, job))) : null,
        unsent ? notice("danger", unsentWarningText(unsent)) : null,
        h("p", { text: "This phone will stop receiving alerts for you, and the alerts and on-scene records kept on it are deleted." }),
        refused ? notice("danger", refused) : null,
        h(
          "div",
          { class: "row" },
          h("button", { type: "button", class: "btn btn-quiet", text: "Cancel", disabled: busy, on: { click: () => ((local.logout = null), render()) } }),
          h("button", {
            type: "button",
            class: "btn btn-stop",
            disabled: busy,
            text: busy ? "Logging out…" : unsent ? "Log out and delete" : "Log out",
            on: { click: confirmLogout },
          }),
        ),
      ];
    }
    return [
      h("p", { text: `Logged in as ${me?.name || ""} (${me?.username || ""})` }),
      local.logoutRefused ? notice("danger", local.logoutRefused) : null,
      h("button", { type: "button", class: "btn btn-quiet", text: "Log out", on: { click: askLogout } }),
    ];
  }

  function render() {
    const state = store.state;
    const me = state.me;
    top.show([state.connection.status, state.online, state.session, me?.name, me?.responder?.station], () => [
      topbar(state),
      h("h1", { text: me?.responder ? me.responder.station.name : "Co-responder" }),
      me ? h("p", { class: "lead", text: me.responder ? `${me.name}, ${me.responder.station.name} station` : me.name }) : null,
      state.session === "offline" ? notice("warning", "No signal: showing what this phone last knew.") : null,
    ]);
    readiness.show([me, state.push, state.connection.status, state.online, local.pushBusy, local.pushMessage, local.test], () => renderReadiness(state));
    const job = activeJob(state);
    const jobKey = [job?.id, job?.state, job ? incidentOf(state, job)?.address : null];
    // The question before going off call shows as soon as it is asked (found by a trial: with
    // local.offCallAsk not in this key, tapping ON CALL with a live job showed nothing).
    onCall.show(
      [me?.responder?.on_call, local.offCallAsk, ...jobKey, local.onCallBusy, local.onCallError, local.onCallWarning, me?.responder?.share_position_on_call, local.shareBusy, local.shareError],
      () => renderOnCall(state),
    );
    const { list, ended } = homeAlerts(state);
    const alertKey = [...list, ...ended].map(({ alert, role }) => [alert.id, role, alert.version, incidentOf(state, alert)?.status, incidentOf(state, alert)?.cancel_reason]);
    alerts.show([alertKey, Math.floor(Date.now() / 30000)], () => renderAlerts(state));
    const inHand = callInHand(list);
    owed.show([state.formsToFill, inHand], () => renderFormsToFill(state.formsToFill, inHand));
    // During an incident the alerts come before the phone's settings: the job is what matters.
    const before = alertKey.length ? readiness : queue;
    if (alerts.nextSibling !== before) page.insertBefore(alerts, before);
    queue.show([state.queue], () => queueLine(state.queue));
    forgetNoSignalRefusal(state);
    account.show([me?.username, local.logout, local.logoutRefused, ...jobKey], () => renderAccount(state));
  }

  const forms = store.state.me?.responder ? h("a", { class: "btn btn-quiet", href: "#/forms", text: "Forms after calls" }) : null;
  const page = h("main", { class: "page" }, top, owed, readiness, onCall, alerts, queue, forms, account);
  root.append(page);
  render();
  if (store.state.push === null && store.state.session === "authenticated" && store.state.me?.responder) ctx.refreshPush();
  const unsubscribe = store.subscribe(render);
  const stopTicking = every(30000, render);
  ctx.onPushTest = () => testRun?.nudge();
  return () => {
    unsubscribe();
    stopTicking();
    ctx.onPushTest = null;
  };
}
