// The app's entry point: wires the store, the API, the socket, the offline queue, the alarm and
// the screens together, and owns the session (login, expiry, logout).

import { Alarm } from "./alarm.js";
import { Api, endSession, isAuthError } from "./api.js";
import { audioContext, installUnlockListeners, messageChime, onAudioChange, unlockAudio } from "./audio.js";
import { loadChecklist } from "./checklist-data.js";
import { h } from "./dom.js";
import { EventLog } from "./eventlog.js";
import { openStores } from "./idb.js";
import { RecordOutbox, callsKnownHere, jobFormsAhead } from "./outbox.js";
import { lastEventKey } from "./lastevent.js";
import { lazyView } from "./lazy.js";
import { MessageAcks } from "./message-acks.js";
import { applyAcknowledgement, isNewsForAJob, markAcknowledging } from "./messages.js";
import { Metronome, clearRun, interruptedRun, saveRun } from "./metronome.js";
import { PositionSharing } from "./position.js";
import { dropPushSubscription, pushEndpoint, readPushState, registerDevice } from "./push.js";
import { reportState } from "./readiness.js";
import { Router, alertPath, go, parseHash } from "./router.js";
import {
  activeJob,
  alarmWanted,
  createState,
  createStore,
  crewOfAlert,
  endStopsMetronome,
  endTakesBackRestart,
  endedOffScene,
  mayTakeScreen,
  movedOnFrom,
  newlyEnded,
  startScreen,
} from "./store.js";
import { AlertSync } from "./sync.js";
import { applyUpdate, registerServiceWorker } from "./update.js";
import { alertView } from "./views/alert.js";
import { mountAlertBanner } from "./views/banner.js";
import { checklistView } from "./views/checklist.js";
import { homeView } from "./views/home.js";
import { loginView } from "./views/login.js";

const ME_KEY = "coresponder.me"; // who was logged in, for starting without signal
const RETURN_KEY = "coresponder.returnTo"; // where to go after logging in again

function readJson(key) {
  try {
    return JSON.parse(localStorage.getItem(key) || "null");
  } catch {
    return null;
  }
}

function writeJson(key, value) {
  try {
    if (value === null) localStorage.removeItem(key);
    else localStorage.setItem(key, JSON.stringify(value));
  } catch {
    // storage full or refused: only the offline start is lost
  }
}

async function boot() {
  const store = createStore(createState());
  const api = new Api();
  const stores = await openStores();
  const alarm = new Alarm();
  const metronome = new Metronome({ getContext: audioContext });
  const silenced = new Set(); // alert ids whose alarm the firefighter silenced
  const dismissed = new Set(); // alert ids whose banner the firefighter dismissed
  const shownOnce = new Set(); // alert ids already opened automatically this session
  let renderBanner = () => {}; // the banner of alerts waiting elsewhere (mounted with the screens)

  const ctx = {
    store,
    api,
    stores,
    alarm,
    metronome,
    silenced,
    dismissed,
    metronomeAlertId: null, // the alert whose checklist started the metronome
    metronomeStoppedFor: null, // the alert whose cancel or stand-down stopped it (checklist: "Restart")
    metronomeInterrupted: null, // {alertId, bpm}: running when the page went (a reload): "Restart"
    sync: null,
    eventLog: null,
    outbox: null, // the after-call forms: cached, and waiting to be sent
    checklist: null, // {checklist, fromCache, savedAt, error}
    persistentStorage: stores.queue.persistent,
  };

  ctx.eventLog = new EventLog({
    stores,
    api,
    onAuthRequired: () => ctx.sessionExpired(),
    onChange: () => refreshQueueCounts(),
  });

  ctx.outbox = new RecordOutbox({
    stores,
    api,
    onAuthRequired: () => ctx.sessionExpired(),
    onChange: () => store.update((s) => void (s.recordsChangedAt = Date.now())),
    jobInProgress: () => activeJob(store.state)?.id ?? null,
  });

  // --- Position sharing follows the store: only while responding, or on call by the opt-in ----------
  ctx.positions = new PositionSharing({ api, onChange: () => store.update((s) => void (s.sharing += 1)) });
  store.subscribe((state) => {
    if (state.session === "authenticated") ctx.positions.follow(state);
    else ctx.positions.stopAll();
  });
  // "Got it" on messages from control: queued on the phone, sent like the other answers.
  ctx.messageAcks = new MessageAcks({
    stores,
    api,
    onAuthRequired: () => ctx.sessionExpired(),
    onAcknowledged: (ack) => {
      store.update((s) => applyAcknowledgement(s, ack));
      ctx.sync?.persist();
    },
  });
  ctx.acknowledgeMessage = (message) => {
    store.update((s) => markAcknowledging(s, message.incident_id, message.id));
    ctx.sync?.persist();
    ctx.messageAcks.acknowledge(message);
  };
  /** The "Got it"s still queued on this phone show as given (after a restart without signal). */
  async function markQueuedAcknowledgements() {
    const pending = await ctx.messageAcks.pending();
    store.update((s) => pending.forEach(({ incident_id, message_id }) => markAcknowledging(s, incident_id, message_id)));
  }

  let loggedOnSceneOf = null; // whose checklist events state.loggedOnScene holds, once read
  async function refreshQueueCounts() {
    const counts = await ctx.eventLog.counts();
    // Who logged checklist events here was on scene, sent or not (store.attendedHere).
    const owner = ctx.eventLog.owner;
    const logged = await ctx.eventLog.alertsLogged();
    store.update((s) => {
      s.queue = { ...counts, changedAt: Date.now() };
      s.loggedOnScene = logged;
      loggedOnSceneOf = owner;
    });
  }

  // --- The alarm follows the store: it sounds while an alert waits for an answer -----------------
  // (Not on the checklist of a job still live: store.alarmWanted.)
  const updateAlarm = () => alarm.setWanted(alarmWanted(store.state, parseHash(location.hash), silenced));
  store.subscribe(updateAlarm);
  window.addEventListener("hashchange", updateAlarm);
  onAudioChange(() => alarm.notify());
  ctx.silence = (alertId) => {
    silenced.add(alertId);
    updateAlarm();
    renderBanner();
  };
  /** The firefighter has seen the banner of an alert and chosen not to answer it now. */
  ctx.dismissAlert = (alertId) => {
    dismissed.add(alertId);
    ctx.silence(alertId);
  };

  /**
   * A new alert (live, or found waiting on reload): open it full screen only when nothing else
   * holds the screen (store.mayTakeScreen); otherwise the banner on every screen announces it
   * and the alarm sounds, and the firefighter chooses.
   */
  ctx.showAlert = (alertId, live) => {
    if (!live && shownOnce.has(alertId)) return;
    shownOnce.add(alertId);
    if (mayTakeScreen(store.state, parseHash(location.hash), alertId)) go(alertPath(alertId));
    else renderBanner();
  };

  // --- Cancelled or stood down: the metronome of that job stops (it can be started again) -------
  // Only for someone who never reached the scene: for one who was on scene it runs on (reversed
  // after trial 11: the signed notices.call_ended_on_scene says "If you are still doing CPR, carry
  // on"; store.endStopsMetronome). It stops once they take on another incident (store.movedOnFrom).
  const endsSeen = new Map(); // alert id -> how it ended, as last seen ("cancelled", "stood_down", null)
  const jobSeen = { key: undefined }; // the active job and its state, as last seen
  store.subscribe((state) => {
    const ended = newlyEnded(state, endsSeen);
    const movedOn = movedOnFrom(state, ctx.metronomeAlertId, jobSeen); // asked every time: it keeps count
    if (metronome.running && (endStopsMetronome(state, ended, ctx.metronomeAlertId) || movedOn)) {
      ctx.metronomeStoppedFor = ctx.metronomeAlertId;
      metronome.stop();
    }
    if (movedOn && ctx.metronomeInterrupted) forgetInterruptedMetronome();
    else forgetEndedInterruptedRun();
  });

  // A metronome interrupted by a reload is not offered again for a call ended before the scene:
  // running, that end would have stopped it (store.endTakesBackRestart). Asked at each change and
  // at the start (ended while the app was away); only once this phone's checklist events are read,
  // as they count someone as on scene (store.attendedHere).
  function forgetEndedInterruptedRun() {
    const eventsRead = Boolean(loggedOnSceneOf) && loggedOnSceneOf === store.state.me?.username;
    if (eventsRead && endTakesBackRestart(store.state, ctx.metronomeInterrupted)) forgetInterruptedMetronome();
  }

  // --- A metronome running when the page went (a reload) is offered again (metronome.js) ---------
  let metronomeWasRunning = false;
  metronome.onChange(() => {
    const owner = store.state.me?.username;
    if (metronome.running && owner && ctx.metronomeAlertId !== null) {
      const afterEnd = endedOffScene(store.state, ctx.metronomeAlertId); // started again after the end
      saveRun(localStorage, { owner, alertId: ctx.metronomeAlertId, bpm: metronome.bpm, afterEnd });
      if (ctx.metronomeInterrupted) ctx.metronomeInterrupted = null;
    } else if (!metronome.running && metronomeWasRunning) {
      clearRun(localStorage);
    }
    metronomeWasRunning = metronome.running;
  });
  function forgetInterruptedMetronome() {
    ctx.metronomeInterrupted = null;
    if (!metronome.running) clearRun(localStorage);
    updateChip();
    store.update(() => {}); // the checklist's notice goes
  }
  ctx.forgetInterruptedMetronome = forgetInterruptedMetronome;
  ctx.restartInterruptedMetronome = () => {
    const was = ctx.metronomeInterrupted;
    if (!was) return;
    ctx.metronomeAlertId = was.alertId;
    ctx.metronomeStoppedFor = null;
    unlockAudio(); // not waited for, as the checklist's Start (the clicks join when the audio runs)
    metronome.setBpm(was.bpm);
    metronome.start();
  };

  /**
   * Opening the app on home during an incident shows the job: once the alerts are known (the
   * cache, then the server), open the active job, unless the firefighter has gone elsewhere.
   */
  function openActiveJobAtStart(loaded) {
    if (parseHash(location.hash).name !== "home") return;
    let done = false;
    const finish = () => {
      done = true;
      unsubscribe();
    };
    const check = () => {
      if (done) return;
      const route = parseHash(location.hash);
      if (route.name !== "home") return finish(); // the firefighter (or a new alert) went elsewhere
      const path = startScreen(store.state, route);
      if (path) {
        finish();
        go(path);
      }
    };
    const unsubscribe = store.subscribe(check);
    check();
    Promise.resolve(loaded)
      .catch(() => {})
      .then(() => setTimeout(() => (check(), done || finish()), 0));
  }

  // --- Forms still to fill after calls (home's prompt) -------------------------------------------
  // Counted from GET records/ (fetched at start, back in the foreground, when a job ends, and by
  // the forms list) with this phone's outbox, so a firefighter who logs in afresh is told of the
  // forms owed without opening the list. The job in progress is not "after the call" yet.
  let counted = { calls: null, changedAt: undefined, job: null };
  store.subscribe((state) => {
    const seen = { calls: state.recentCalls, changedAt: state.recordsChangedAt, job: activeJob(state)?.id ?? null };
    if (seen.calls === counted.calls && seen.changedAt === counted.changedAt && seen.job === counted.job) return;
    const jobEnded = counted.job !== null && seen.job !== counted.job;
    counted = seen;
    // The call is over: its forms are owed now (not after a logout: trial 11 saw a 401).
    if (jobEnded && state.session === "authenticated") ctx.refreshRecentCalls();
    countFormsToFill(seen.calls, seen.job);
  });

  let countRun = 0; // only the latest count is kept: an earlier one may finish last
  async function countFormsToFill(calls, jobId) {
    const run = ++countRun;
    const count = calls ? await ctx.outbox.countToFill(calls.filter((entry) => entry.alert_id !== jobId)) : 0;
    if (run === countRun && store.state.formsToFill !== count) store.update((s) => void (s.formsToFill = count));
  }

  ctx.refreshRecentCalls = async () => {
    const owner = ctx.outbox.owner;
    if (!owner || (store.state.session !== "authenticated" && store.state.session !== "offline")) return;
    try {
      const { results, fromCache } = await ctx.outbox.recentCalls(() => callsKnownHere(store.state));
      // Not a list that arrives after its owner logged out.
      if (store.state.me?.username !== owner) return;
      store.update((s) => void (s.recentCalls = results));
      if (!fromCache) ctx.keepOwedForms(results);
    } catch {
      // No list, or none kept: the prompt stays as it was; the forms list says why when opened.
    }
  };

  /** Keep the forms owed after recent calls (a fresh GET records/ list) for opening without
   *  signal, but not the job in progress's before the firefighter attended: the call first
   *  (outbox.js jobFormsAhead). */
  ctx.keepOwedForms = (calls) => {
    const job = jobFormsAhead(store.state);
    const skip = job.entry ? null : job.id;
    ctx.outbox.keepOwedForms(calls, { skip, knownCrew: (alertId) => crewOfAlert(store.state, alertId) }).catch(() => {});
  };

  // The job in progress's forms, kept once the firefighter attended (with signal, and again when
  // it comes back: what was kept lately is not asked for again), so they open without signal if
  // it goes before the call ends; asked for again when the call ends (outbox.js _keepFresh).
  let keptAhead = null;
  store.subscribe((state) => {
    const { entry } = jobFormsAhead(state);
    const now = entry && state.session === "authenticated" && state.online !== false ? entry.alert_id : null;
    if (now === keptAhead) return;
    keptAhead = now;
    if (now !== null) ctx.keepOwedForms([entry]);
  });

  // --- Push state (the home screen's warnings) --------------------------------------------------
  ctx.refreshPush = async ({ repair = true, report = false } = {}) => {
    let push = await readPushState(api);
    // Permission granted but this phone is not (or no longer) registered: fix it quietly.
    if (repair && push.supported && push.permission === "granted" && (!push.subscribed || push.registered === false)) {
      const result = await registerDevice(api);
      push = await readPushState(api);
      if (!result.ok && !push.error) push.error = result.message;
    }
    // At start the app tells the server what this phone is (platform, installed, permission): the
    // coordinators' readiness view and the advice after a failed test read it.
    if (report && push.registered) push.device = (await reportState(api)) || push.device;
    store.update((s) => void (s.push = push));
    return push;
  };

  // --- Session ----------------------------------------------------------------------------------
  function startSignedIn(me, { offline = false } = {}) {
    const previous = readJson(ME_KEY);
    if (previous && previous.username !== me.username) forgetOtherUser(previous.username);
    writeJson(ME_KEY, me);
    ctx.positions.release(); // held since a logout (ctx.logout): this login's positions go
    store.update((s) => {
      s.me = me;
      s.session = offline ? "offline" : "authenticated";
    });
    ctx.eventLog.setOwner(me.username);
    ctx.outbox.setOwner(me.username);
    ctx.messageAcks.setOwner(me.username);
    refreshQueueCounts();
    if (!me.responder) return; // not a firefighter: the home screen explains
    ctx.sync?.stop();
    ctx.sync = new AlertSync({
      store,
      api,
      kv: stores.kv,
      owner: me.username,
      onNewAlert: ctx.showAlert,
      onAuthRequired: () => ctx.sessionExpired(),
      onForbidden: () => {},
      onSynced: () => ctx.eventLog.sync(),
      onNewMessage: (message) => ctx.announceMessage(message),
    });
    ctx.synced = ctx.sync.start();
    ctx.synced.then(markQueuedAcknowledgements).catch(() => {});
    if (!offline) {
      ctx.eventLog.sync();
      ctx.outbox.sync();
      ctx.messageAcks.sync();
      const pushRead = ctx.refreshPush({ report: true });
      // The checklist (~18 KB, uncompressed like every API answer) once the alerts and the push
      // state are in, so that it does not share a slow network with what makes home usable. The
      // checklist screen loads it itself if opened first, and falls back to the saved copy.
      Promise.allSettled([ctx.synced, pushRead]).then(() => {
        ctx.refreshRecentCalls(); // small: what forms are owed, for home's prompt
        // Screens redraw with it: the alert's screen reads its notice for a call that ends on scene.
        return loadChecklist(api).then((result) => {
          ctx.checklist = result;
          store.update(() => {});
        });
      });
    } else {
      ctx.refreshRecentCalls(); // the list this phone last kept
    }
  }

  /** A different person logs in on this phone: the last person's health data goes. Their
   *  unsent events stay queued under their name (sent when they log in again). */
  async function forgetOtherUser(username) {
    await ctx.eventLog.forget(username, { keepQueue: true });
    await stores.kv.clear();
    localStorage.removeItem(lastEventKey(username));
  }

  ctx.login = async (username, password) => {
    const me = await api.login(username, password);
    startSignedIn(me);
    const back = sessionStorage.getItem(RETURN_KEY);
    sessionStorage.removeItem(RETURN_KEY);
    go(back && back !== "/login" ? back : "/");
    openActiveJobAtStart(ctx.synced);
    return me;
  };

  /** The session ended on the server (401, socket 4401). Nothing queued is lost. */
  ctx.sessionExpired = () => {
    if (store.state.session !== "authenticated" && store.state.session !== "offline") return;
    ctx.sync?.stop();
    ctx.sync = null;
    store.update((s) => {
      s.session = "expired";
      s.connection = { status: "login-required", retryAt: null };
    });
    const route = parseHash(location.hash);
    if (route.name === "checklist") return; // CPR goes on; the checklist shows a banner
    router.render();
  };

  ctx.unsentCount = async () => {
    const events = await ctx.eventLog.counts();
    const forms = await ctx.outbox.counts();
    return events.pending + events.problems + forms.pending + forms.problems;
  };

  /** Explicit logout: this phone stops getting alerts and forgets the health data it held. Only
   *  once the server has ended the session (api.endSession): else nothing changes and the answer
   *  says why (home shows it). */
  ctx.logout = async () => {
    const username = store.state.me?.username;
    const online = store.state.online !== false && navigator.onLine !== false;
    // No position goes once the logout's request has (a browser trial: one went after it, answered
    // 401): held from here, one already going answered first, until the next sign-in; released at
    // once if the logout fails, when everything carries on as before.
    await ctx.positions.hold();
    // The server removes this phone's subscription with the session; the browser drops it too.
    const endpoint = online ? await pushEndpoint() : null;
    const ended = await endSession(api, { online, pushEndpoint: endpoint });
    if (!ended.ok) {
      ctx.positions.release(store.state);
      return ended;
    }
    // At once, before any await: a retry falling due while the push subscription is dropped
    // would otherwise send records without a session.
    ctx.eventLog.halt();
    ctx.outbox.halt();
    ctx.messageAcks.halt();
    alarm.setWanted(false);
    metronome.stop();
    ctx.positions.stopAll();
    ctx.sync?.stop();
    ctx.sync = null;
    await dropPushSubscription();
    if (username) {
      await ctx.eventLog.forget(username, { keepQueue: false });
      await ctx.outbox.forget(username, { keepQueue: false });
      await ctx.messageAcks.forget(username, { keepQueue: false });
      localStorage.removeItem(lastEventKey(username));
    }
    ctx.eventLog.setOwner(null);
    ctx.outbox.setOwner(null);
    ctx.messageAcks.setOwner(null);
    await stores.kv.clear();
    writeJson(ME_KEY, null);
    clearRun(localStorage);
    const fresh = createState();
    store.update((s) => Object.assign(s, fresh, { session: "anonymous", online: navigator.onLine !== false }));
    silenced.clear();
    dismissed.clear();
    shownOnce.clear();
    endsSeen.clear();
    jobSeen.key = undefined;
    ctx.metronomeAlertId = null;
    ctx.metronomeStoppedFor = null;
    ctx.metronomeInterrupted = null;
    updateChip();
    go("/login");
    return ended;
  };

  // A new message from control about a live job: a chime and a buzz (views/banner.js shows it).
  ctx.announceMessage = (message) => {
    if (isNewsForAJob(store.state, message)) messageChime();
  };

  // --- Screens ----------------------------------------------------------------------------------
  // The crew panel and the after-call forms load when first shown, or once home is usable (lazy.js).
  const incidentView = lazyView(() => import("./views/incident.js").then((module) => module.incidentView));
  const formsView = lazyView(() => import("./views/forms.js").then((module) => module.formsView));
  const recordsView = lazyView(() => import("./views/forms.js").then((module) => module.recordsView));
  const formView = lazyView(() => import("./views/record-form.js").then((module) => module.formView));
  const warmLaterScreens = () => [incidentView, formsView, recordsView, formView].forEach((view) => view.warm());
  const root = document.getElementById("app");
  const router = new Router(
    root,
    {
      login: loginView,
      home: homeView,
      alert: alertView,
      incident: incidentView,
      checklist: checklistView,
      forms: formsView,
      form: formView,
      records: recordsView,
    },
    ctx,
    (route) => {
      const session = store.state.session;
      const inside = session === "authenticated" || session === "offline";
      if (route.name === "login") return inside ? "/" : null;
      if (inside || (session === "expired" && route.name === "checklist")) return null;
      sessionStorage.setItem(RETURN_KEY, location.hash.replace(/^#/, "") || "/");
      return "/login";
    },
  );
  ctx.router = router;
  ctx.go = go;
  renderBanner = mountAlertBanner(root, ctx);

  // --- A running metronome stays visible (and stoppable) on every screen ------------------------
  const chip = document.getElementById("metronome-chip");
  let chipShows = null;
  function updateChip() {
    const onChecklist = parseHash(location.hash).name === "checklist";
    const signedIn = store.state.session === "authenticated" || store.state.session === "offline";
    const shows = onChecklist ? null : metronome.running ? "running" : ctx.metronomeInterrupted && signedIn ? "interrupted" : null;
    chip.hidden = !shows;
    if (shows === chipShows) return;
    chipShows = shows;
    if (shows === "running") {
      chip.replaceChildren(
        h("span", { text: "Metronome running" }),
        h("button", { type: "button", class: "btn btn-small", text: "Stop", on: { click: () => metronome.stop() } }),
      );
    } else if (shows === "interrupted") {
      chip.replaceChildren(
        h("span", { text: "The metronome stopped when the app reloaded" }),
        h("button", { type: "button", class: "btn btn-small", text: "Restart", on: { click: () => ctx.restartInterruptedMetronome() } }),
        h("button", { type: "button", class: "btn btn-small", text: "Dismiss", on: { click: () => forgetInterruptedMetronome() } }),
      );
    } else {
      chip.replaceChildren();
    }
  }
  metronome.onChange(updateChip);
  window.addEventListener("hashchange", updateChip);
  // The bars at the foot of the screen never cover the end of a page, and what is scrolled to (a
  // field given the focus) stops above them: room under the page as high as they reach while they
  // show (found by a browser trial: the metronome's offer lay over the attendance form's "Your role").
  const bottomBars = [chip, document.getElementById("update")];
  function roomForBottomBars() {
    const reach = Math.ceil(Math.max(0, ...bottomBars.filter((bar) => !bar.hidden).map((bar) => window.innerHeight - bar.getBoundingClientRect().top)));
    root.style.paddingBottom = reach ? `${reach}px` : "";
    document.documentElement.style.scrollPaddingBottom = reach ? `${reach}px` : "";
  }
  if (globalThis.ResizeObserver) {
    const watch = new ResizeObserver(roomForBottomBars); // shown, hidden (no size), or wrapping anew
    for (const bar of bottomBars) watch.observe(bar);
  }

  // --- Service worker: updates, and messages from notifications ---------------------------------
  const banner = document.getElementById("update");
  registerServiceWorker({
    onUpdateReady: (worker) => {
      banner.replaceChildren(
        h("span", { text: "Update available" }),
        h("button", { type: "button", class: "btn btn-small", text: "Reload", on: { click: () => applyUpdate(worker) } }),
      );
      banner.hidden = false;
    },
    onMessage: (message) => {
      if (message?.type === "navigate" && typeof message.url === "string") {
        const hash = new URL(message.url, location.href).hash.replace(/^#/, "");
        if (hash) go(hash);
      } else if (message?.type === "push") {
        ctx.sync?.foreground();
      } else if (message?.type === "push-test") {
        ctx.onPushTest?.(); // the test's notification is shown: "Test my alerts" looks again at once
      }
    },
  });

  // --- Foreground, network ----------------------------------------------------------------------
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState !== "visible") return;
    if (store.state.session === "authenticated") {
      ctx.sync?.foreground();
      ctx.eventLog.sync();
      ctx.outbox.sync();
      ctx.messageAcks.sync();
      ctx.refreshPush({ repair: false });
      if (store.state.me?.responder) ctx.refreshRecentCalls();
    }
  });
  window.addEventListener("online", () => {
    store.update((s) => void (s.online = true));
    if (store.state.session === "offline") restoreSession();
    ctx.sync?.socket.poke();
    ctx.sync?.reloadAlerts();
    ctx.eventLog.sync();
    ctx.outbox.sync();
    ctx.messageAcks.sync();
  });
  window.addEventListener("offline", () => {
    store.update((s) => void (s.online = false));
    // No socket lives without the network: let it go now, and the "online" event connects afresh
    // and replays what was missed (SocketClient.wentOffline). Pinging it instead left a socket dead
    // through the loss looking open until the pong's deadline, 10 s after the signal came back, and
    // a cancel meanwhile reached the phone that late (found by CI: "carry on" not shown in 10 s).
    ctx.sync?.socket.wentOffline();
  });
  store.update((s) => void (s.online = navigator.onLine !== false));
  api.onAuthRequired = () => ctx.sessionExpired();
  installUnlockListeners();

  /** Who is logged in? Without signal, carry on as the last person (cached alerts, checklist). */
  async function restoreSession({ render = true } = {}) {
    try {
      const session = await api.session();
      if (session?.authenticated) {
        startSignedIn(session.me);
      } else {
        ctx.sync?.stop();
        store.update((s) => void (s.session = readJson(ME_KEY) ? "expired" : "anonymous"));
      }
    } catch (error) {
      const cached = readJson(ME_KEY);
      if (error.offline && cached) {
        if (store.state.session !== "offline") startSignedIn(cached, { offline: true });
      } else if (isAuthError(error)) {
        ctx.sync?.stop();
        store.update((s) => void (s.session = cached ? "expired" : "anonymous"));
      } else {
        store.update((s) => void (s.session = "anonymous"));
      }
    }
    if (render) router.render();
  }

  await restoreSession({ render: false });
  ctx.metronomeInterrupted = interruptedRun(localStorage, store.state.me?.username);
  if (ctx.metronomeInterrupted) {
    ctx.metronomeAlertId = ctx.metronomeInterrupted.alertId;
    metronome.setBpm(ctx.metronomeInterrupted.bpm);
  }
  forgetEndedInterruptedRun(); // the call ended before the scene while the app was away
  router.start();
  updateChip();
  openActiveJobAtStart(ctx.synced);
  // After the first screen, not before it: a few seconds on a slow network.
  setTimeout(warmLaterScreens, 1000);
}

boot().catch((error) => {
  const root = document.getElementById("app");
  root.replaceChildren(
    h("h1", { text: "Co-responder" }),
    h("p", { class: "notice danger", role: "alert", text: `The app could not start: ${error?.message || error}. Reload to try again.` }),
  );
});
