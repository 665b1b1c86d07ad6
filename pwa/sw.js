/* Co-responder service worker (scope "/").
 *
 * - Precaches the app shell under a versioned cache; cache-first for the shell, so the app opens
 *   without signal. The maps (app/map.js, Leaflet) are not in the shell: kept at runtime once a
 *   map has been shown, in a cache of the same version. /api/ and /ws/ always go to the network (never cached: the server is the
 *   record, and alerts are health data).
 * - A new version installs and then waits: the page shows "Update available" and sends
 *   {type: "skip-waiting"} when the firefighter taps Reload.
 * - push: always shows a notification (browsers revoke subscriptions that push silently), one
 *   tag per incident, renotify, requireInteraction. If the alert was cancelled meanwhile, says so.
 * - Receipts: an alert push carries a single-use token (`receipt`); once the notification is
 *   shown, the worker posts it to /api/v1/push-receipts/ ("shown") within the push event's life,
 *   and again when it is tapped ("opened"). No cookie is sent or needed: the app may be closed and
 *   the firefighter logged out. A declarative push (Safari 18.4+, `web_push: 8030`) is `mutable`,
 *   so this worker still runs for it where it can.
 * - A test of the device ("Test my alerts", the readiness checks: `type` "device.test") shows its
 *   own notification (its own tag, no incident, no vibration pattern of an alert) and posts its
 *   receipt the same way with `check_id`; an open app is told at once.
 * - A message from control (`type` "message.created") shows generic words only ("New message from
 *   control about your incident"), under its own tag so the alert's notification stays; tapping it
 *   opens the alert, where the app shows the message. It carries no receipt token.
 * - notificationclick: focuses the app and opens the alert; pushsubscriptionchange: subscribes
 *   again and tells the server.
 *
 * VERSION is a digest of the shell's files: after changing any of them, run
 * `node pwa/tools/shell-version.mjs --write` (tests/js/shell.test.mjs fails until you do).
 */

const VERSION = "2fda6636157f";
const CACHE_PREFIX = "coresponder-shell-";
const CACHE = CACHE_PREFIX + VERSION;

const SHELL = [
  "/",
  "/manifest.webmanifest",
  "/app/alarm.js",
  "/app/api.js",
  "/app/arrival.js",
  "/app/audio.js",
  "/app/backoff.js",
  "/app/checklist-data.js",
  "/app/defibrillators.js",
  "/app/dom.js",
  "/app/eventlog.js",
  "/app/form-schema.js",
  "/app/format.js",
  "/app/geolocation.js",
  "/app/idb.js",
  "/app/labels.js",
  "/app/lastevent.js",
  "/app/lazy.js",
  "/app/message-acks.js",
  "/app/messages.js",
  "/app/main.js",
  "/app/metronome.js",
  "/app/outbox.js",
  "/app/position.js",
  "/app/push.js",
  "/app/queue-sync.js",
  "/app/queue.js",
  "/app/readiness.js",
  "/app/records-rules.js",
  "/app/router.js",
  "/app/socket.js",
  "/app/status.js",
  "/app/store.js",
  "/app/styles.css",
  "/app/sync.js",
  "/app/update.js",
  "/app/wakelock.js",
  "/app/views/alert-map.js",
  "/app/views/alert.js",
  "/app/views/banner.js",
  "/app/views/checklist.js",
  "/app/views/forms.js",
  "/app/views/home.js",
  "/app/views/incident.js",
  "/app/views/login.js",
  "/app/views/messages.js",
  "/app/views/parts.js",
  "/app/views/record-form.js",
  "/icons/apple-touch-icon.png",
  "/icons/badge-96.png",
  "/icons/icon-192.png",
  "/icons/icon-512.png",
  "/icons/icon-maskable-192.png",
  "/icons/icon-maskable-512.png",
  "/icons/icon.svg",
];
const SHELL_PATHS = new Set(SHELL);

const MESSAGE_TYPE = "message.created";

// The maps (app/map.js, Leaflet from /static/vendor/leaflet/): not in the shell, so an app that
// never shows a map never downloads them. Kept once fetched (cache first), in a cache named after
// this version like the shell's, so a map shown once works offline and never mixes versions.
const MAP_CACHE_PREFIX = "coresponder-maps-";
const MAP_CACHE = MAP_CACHE_PREFIX + VERSION;
const MAP_FILES = ["/app/map.js", "/app/map.css"];
const MAP_PREFIX = "/static/vendor/leaflet/";

const GENERIC_TITLE = "Cardiac arrest alert: open the app";
const GENERIC_BODY = "Tap to see the alert and answer.";
const GENERIC_TAG = "coresponder-alert";
const TEST_TYPE = "device.test";
const TEST_TITLE = "Test alert — no action needed";
const TEST_BODY = "Checking that alerts reach this phone. Nothing to do.";
const TEST_TAG = "device-test";
const CHECK_TIMEOUT_MS = 3000; // how long a push may wait to learn whether the alert still stands
const RECEIPT_TIMEOUT_MS = 8000; // each attempt to post a receipt; the push event's life is short
const RECEIPT_ATTEMPTS = 4;
const RECEIPT_PAUSES_MS = [500, 1500, 3500]; // before the 2nd, 3rd and 4th attempts, plus up to half again
const RECEIPT_DEADLINE_MS = 25000; // all attempts within this: browsers end a push event after about 30 s
const RECEIPT_URL = "/api/v1/push-receipts/";
const RECEIPT_TOKEN = /^[A-Za-z0-9_-]{43}$/;
const ICON = "/icons/icon-192.png";
const BADGE = "/icons/badge-96.png";

// --- App shell ------------------------------------------------------------------------------------

self.addEventListener("install", (event) => {
  // No skipWaiting here: the page asks for it when the firefighter chooses to reload.
  event.waitUntil(
    caches.open(CACHE).then((cache) => cache.addAll(SHELL.map((path) => new Request(path, { cache: "reload" })))),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      const names = await caches.keys();
      const old = (name) => (name.startsWith(CACHE_PREFIX) && name !== CACHE) || (name.startsWith(MAP_CACHE_PREFIX) && name !== MAP_CACHE);
      await Promise.all(names.filter(old).map((name) => caches.delete(name)));
      await self.clients.claim();
    })(),
  );
});

self.addEventListener("message", (event) => {
  if (event.data && event.data.type === "skip-waiting") self.skipWaiting();
  if (event.data && event.data.type === "version" && event.source) event.source.postMessage({ type: "version", version: VERSION });
});

async function fromShell(request, path) {
  const cache = await caches.open(CACHE);
  const cached = await cache.match(path);
  if (cached) return cached;
  const response = await fetch(request);
  if (response.ok && response.type === "basic") cache.put(path, response.clone());
  return response;
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  // Network only: the API and the sockets are never served from a cache.
  if (url.pathname.startsWith("/api/") || url.pathname.startsWith("/ws/")) return;
  if (request.mode === "navigate") {
    // Only the app's own page; /admin/ and the rest of the site go to the network as usual.
    if (url.pathname === "/" || url.pathname === "/index.html") event.respondWith(fromShell(request, "/"));
    return;
  }
  if (SHELL_PATHS.has(url.pathname)) event.respondWith(fromShell(request, url.pathname));
  else if (isMapFile(url.pathname)) event.respondWith(fromMapCache(request, url.pathname));
});

function isMapFile(path) {
  return MAP_FILES.includes(path) || (path.startsWith(MAP_PREFIX) && /\.(js|css|png)$/.test(path));
}

async function fromMapCache(request, path) {
  const cache = await caches.open(MAP_CACHE);
  const cached = await cache.match(path);
  if (cached) return cached;
  const response = await fetch(request);
  if (response.ok && response.type === "basic") cache.put(path, response.clone());
  return response;
}

// --- Push -----------------------------------------------------------------------------------------

function positiveInt(value) {
  return Number.isSafeInteger(value) && value > 0 ? value : null;
}

function text(value) {
  return typeof value === "string" && value.trim() ? value.trim() : null;
}

/** A URL inside this app for the alert; never another site, whatever the payload says. */
function alertUrl(candidate, alertId) {
  const fallback = new URL(alertId ? `/#/alerts/${alertId}` : "/", self.location.origin).href;
  if (typeof candidate !== "string") return fallback;
  try {
    const url = new URL(candidate, self.location.origin);
    return url.origin === self.location.origin ? url.href : fallback;
  } catch {
    return fallback;
  }
}

/** Title and options for a push payload (docs/delivery.md); anything missing gets a safe default. */
function notificationFor(payload) {
  const data = payload && typeof payload === "object" ? payload : {};
  const note = data.notification && typeof data.notification === "object" ? data.notification : {};
  const alertId = positiveInt(data.alert_id);
  const incidentId = positiveInt(data.incident_id);
  const silent = note.silent === true;
  const options = {
    body: text(note.body) || GENERIC_BODY,
    tag: text(note.tag) || (incidentId ? `incident-${incidentId}` : GENERIC_TAG),
    renotify: true,
    requireInteraction: true,
    lang: text(note.lang) || "en-GB",
    silent,
    icon: ICON,
    badge: BADGE,
    timestamp: Date.now(),
    data: {
      url: alertUrl(data.url || note.navigate, alertId),
      alert_id: alertId,
      incident_id: incidentId,
      receipt: typeof data.receipt === "string" && RECEIPT_TOKEN.test(data.receipt) ? data.receipt : null,
    },
  };
  if (!silent) options.vibrate = [500, 200, 500, 200, 500];
  return { title: text(note.title) || GENERIC_TITLE, options };
}

/** A test of the device: no incident, its own tag, shown briefly; the token completes the test. */
function testNotificationFor(data) {
  const note = data.notification && typeof data.notification === "object" ? data.notification : {};
  return {
    title: text(note.title) || TEST_TITLE,
    options: {
      body: text(note.body) || TEST_BODY,
      tag: TEST_TAG,
      renotify: true,
      requireInteraction: false,
      lang: "en-GB",
      silent: false,
      icon: ICON,
      badge: BADGE,
      timestamp: Date.now(),
      data: {
        url: new URL("/#/", self.location.origin).href,
        check_id: positiveInt(data.check_id),
        receipt: typeof data.receipt === "string" && RECEIPT_TOKEN.test(data.receipt) ? data.receipt : null,
      },
    },
  };
}

/** {ending, attended}: ending "cancelled", "stood_down", "closed", "open" or "unknown" (no answer in
 *  time, logged out...); attended, whether the firefighter has been on scene. */
async function alertStatus(alertId) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), CHECK_TIMEOUT_MS);
  try {
    const response = await fetch(`/api/v1/alerts/${alertId}/`, {
      credentials: "include",
      headers: { Accept: "application/json" },
      cache: "no-store",
      signal: controller.signal,
    });
    if (!response.ok) return { ending: "unknown", attended: false };
    const alert = await response.json();
    const status = alert && alert.incident && alert.incident.status;
    // Was on scene at some time (the app's store.hasAttended): a re-alert keeps the arrival.
    const attended = Boolean(alert && (alert.attended === true || alert.on_scene_at || alert.state === "on_scene" || alert.state === "cleared"));
    if (status === "cancelled" || (alert && alert.state === "cancelled")) return { ending: "cancelled", attended };
    if (alert && alert.state === "stood_down") return { ending: "stood_down", attended };
    if (status === "closed") return { ending: "closed", attended };
    return { ending: "open", attended };
  } catch {
    return { ending: "unknown", attended: false };
  } finally {
    clearTimeout(timer);
  }
}

/** Tell the server this device showed (or its firefighter opened) the alert's notification, with
 *  the token its push carried. No cookie: the token is the proof. A network failure, a server error
 *  or "too many requests" is tried again after a growing, jittered pause (a burst of phones coming
 *  back online must not all retry at once), up to RECEIPT_ATTEMPTS within RECEIPT_DEADLINE_MS, the
 *  push event's life; a refusal (a replay, an old token) is final. Never throws. */
async function sendReceipt(data, event) {
  if (!data || !data.receipt || !(data.alert_id || data.check_id)) return false;
  const about = data.check_id ? { check_id: data.check_id } : { alert_id: data.alert_id };
  const body = JSON.stringify({ ...about, token: data.receipt, event });
  const started = Date.now();
  for (let attempt = 1; attempt <= RECEIPT_ATTEMPTS; attempt += 1) {
    if (attempt > 1) {
      const pause = RECEIPT_PAUSES_MS[attempt - 2] * (1 + Math.random() / 2);
      if (Date.now() - started + pause >= RECEIPT_DEADLINE_MS) return false;
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
    const left = RECEIPT_DEADLINE_MS - (Date.now() - started);
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), Math.min(RECEIPT_TIMEOUT_MS, left));
    try {
      const response = await fetch(RECEIPT_URL, {
        method: "POST",
        credentials: "omit",
        cache: "no-store",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body,
        signal: controller.signal,
      });
      if (response.ok) return true;
      if (response.status < 500 && response.status !== 429) return false;
    } catch {
      // offline or timed out: again, after a pause
    } finally {
      clearTimeout(timer);
    }
  }
  return false;
}

// A call that has ended, in the worker's own words: for an alert push that arrives after it ended,
// or a stand-down push without words of its own. "You are not needed" only to those known never to
// have reached the scene: one who was there may be in the middle of CPR (docs/hazard-log.md, H04
// control 7). No clinical guidance: that is the signed checklist's, shown in the app.
const ENDED = {
  cancelled: ["Alert cancelled", "The incident was cancelled."],
  stood_down: ["Stood down", "You were stood down from this incident."],
  closed: ["Incident closed", "This incident is closed."],
};
const NOT_NEEDED = "You are not needed.";
const ENDED_BY_TYPE = { "alert.cancelled": "cancelled", "alert.stood_down": "stood_down" };

/** Title and body for a call that ended (`ending`, a key of ENDED); `notNeeded` only when the
 *  firefighter is known not to have been on scene. */
function endedWords(ending, notNeeded) {
  const [title, body] = ENDED[ending];
  return { title, body: notNeeded ? `${body} ${NOT_NEEDED}` : body };
}

/** A test push: shown as a test, its receipt sent, and an open app told (it shows the result). */
async function showTest(payload) {
  const { title, options } = testNotificationFor(payload);
  try {
    await self.registration.showNotification(title, options);
  } catch {
    try {
      await self.registration.showNotification(TEST_TITLE, { body: TEST_BODY, tag: TEST_TAG, data: options.data });
    } catch {
      return; // not shown (no permission): no receipt, and the test fails as it should
    }
  }
  const receipt = sendReceipt(options.data, "shown");
  const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  for (const client of windows) client.postMessage({ type: "push-test", check_id: options.data.check_id });
  await receipt;
}

async function showPush(event) {
  let payload = null;
  try {
    payload = event.data ? event.data.json() : null;
  } catch {
    payload = null; // not JSON: still show the generic alert
  }
  // A test never falls back to an alert's notification, and sends no receipt if it was not shown.
  if (payload && payload.type === TEST_TYPE) return showTest(payload);
  const { title, options } = notificationFor(payload);
  let shownTitle = title;
  if (options.data.alert_id && !(payload && typeof payload.type === "string" && payload.type !== "alert.created")) {
    const status = await alertStatus(options.data.alert_id);
    if (ENDED[status.ending]) {
      const words = endedWords(status.ending, !status.attended);
      shownTitle = words.title;
      options.body = words.body;
      options.requireInteraction = false;
      delete options.vibrate;
    }
  }
  const ending = payload && ENDED_BY_TYPE[payload.type];
  if (ending) {
    // The server words every stand-down push; should one come without words, these, and "not
    // needed" only if the push says the firefighter was not on scene (`attended`: false).
    const note = payload.notification && typeof payload.notification === "object" ? payload.notification : {};
    const words = endedWords(ending, payload.attended === false);
    if (!text(note.title)) shownTitle = words.title;
    if (!text(note.body)) options.body = words.body;
  }
  if (payload && (payload.type === "alert.cancelled" || payload.type === "alert.stood_down")) {
    // Telling a crew the call ended must not buzz like an alert or demand a tap.
    options.requireInteraction = false;
    delete options.vibrate;
  }
  if (payload && payload.type === MESSAGE_TYPE) {
    // A message is read when the firefighter can: it must not demand a tap like an alert.
    options.requireInteraction = false;
  }
  try {
    await self.registration.showNotification(shownTitle, options);
  } catch {
    // Something in the options was refused: show the plainest notification there is.
    await self.registration.showNotification(GENERIC_TITLE, { body: GENERIC_BODY, tag: GENERIC_TAG, data: options.data });
  }
  // On screen: say so (the receipt), and an open app refreshes at once (its socket normally has
  // the alert already).
  const receipt = sendReceipt(options.data, "shown");
  const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  for (const client of windows) client.postMessage({ type: "push", alert_id: options.data.alert_id });
  await receipt;
}

self.addEventListener("push", (event) => {
  event.waitUntil(
    showPush(event).catch(() =>
      self.registration.showNotification(GENERIC_TITLE, { body: GENERIC_BODY, tag: GENERIC_TAG, requireInteraction: true }),
    ),
  );
});

// --- Notification click ---------------------------------------------------------------------------

async function openAlert(data) {
  const url = alertUrl(data && data.url, data && positiveInt(data.alert_id));
  const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  const appWindows = windows.filter((client) => {
    const where = new URL(client.url);
    return where.origin === self.location.origin && (where.pathname === "/" || where.pathname === "/index.html");
  });
  const client = appWindows.find((item) => item.focused) || appWindows.find((item) => item.visibilityState === "visible") || appWindows[0];
  if (client) {
    try {
      await client.focus();
    } catch {
      // focus can be refused; navigating still helps
    }
    // The app changes its hash route itself: no reload, nothing in progress is lost.
    client.postMessage({ type: "navigate", url });
    return;
  }
  await self.clients.openWindow(url);
}

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const data = event.notification.data || {};
  event.waitUntil(Promise.all([openAlert(data), sendReceipt(data, "opened")]));
});

// --- The push service replaced our subscription ---------------------------------------------------

function keyBytes(base64) {
  const padded = (base64 + "=".repeat((4 - (base64.length % 4)) % 4)).replace(/-/g, "+").replace(/_/g, "/");
  return Uint8Array.from(atob(padded), (char) => char.charCodeAt(0));
}

async function resubscribe(event) {
  const keyResponse = await fetch("/api/v1/push/vapid-public-key/", { credentials: "include", cache: "no-store" });
  if (!keyResponse.ok) return;
  const { public_key: publicKey } = await keyResponse.json();
  const subscription =
    event.newSubscription ||
    (await self.registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(publicKey) }));
  // The worker cannot read cookies: ask the server for the CSRF token.
  const csrfResponse = await fetch("/api/v1/auth/csrf/", { credentials: "include", cache: "no-store" });
  const { csrf_token: csrfToken } = csrfResponse.ok ? await csrfResponse.json() : {};
  const headers = { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken || "" };
  await fetch("/api/v1/push-subscriptions/", {
    method: "POST",
    credentials: "include",
    headers,
    body: JSON.stringify({ ...subscription.toJSON(), label: "This phone (subscription renewed)" }),
  });
  const old = event.oldSubscription;
  if (old && old.endpoint && old.endpoint !== subscription.endpoint) {
    await fetch("/api/v1/push-subscriptions/", {
      method: "DELETE",
      credentials: "include",
      headers,
      body: JSON.stringify({ endpoint: old.endpoint }),
    }).catch(() => {});
  }
}

self.addEventListener("pushsubscriptionchange", (event) => {
  // If this fails (logged out, offline), the app registers the phone again when it next opens.
  event.waitUntil(resubscribe(event).catch(() => {}));
});
