// The service worker runs here in a vm sandbox with a fake ServiceWorkerGlobalScope: push,
// notification clicks, resubscription, the update message and which requests it answers.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import vm from "node:vm";

const CODE = readFileSync(new URL("../../pwa/sw.js", import.meta.url), "utf8");
const ORIGIN = "https://coresponder.example.nhs.uk";

// Objects made inside the sandbox have its own prototypes: compare them as plain data.
const plain = (value) => JSON.parse(JSON.stringify(value));

function jsonResponse(status, body) {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}

function loadWorker({ fetch = async () => jsonResponse(404, {}), windows = [], showNotification } = {}) {
  const listeners = {};
  const shown = [];
  const opened = [];
  const fetches = [];
  const self = {
    location: new URL(`${ORIGIN}/sw.js`),
    addEventListener: (type, listener) => (listeners[type] = listener),
    skipWaiting: () => (self.skipped = true),
    registration: {
      showNotification:
        showNotification ||
        (async (title, options) => {
          shown.push({ title, options });
        }),
      pushManager: {
        subscribe: async (options) => ({
          endpoint: "https://fcm.googleapis.com/fcm/send/new",
          options,
          toJSON: () => ({ endpoint: "https://fcm.googleapis.com/fcm/send/new", keys: { p256dh: "p", auth: "a" } }),
        }),
      },
    },
    clients: {
      matchAll: async () => windows,
      openWindow: async (url) => opened.push(url),
      claim: async () => {},
    },
  };
  const context = vm.createContext({
    self,
    caches: { open: async () => ({ match: async () => undefined, put: async () => {}, addAll: async () => {} }), keys: async () => [] },
    fetch: async (url, options = {}) => {
      fetches.push({ url: String(url), options });
      return fetch(String(url), options);
    },
    setTimeout: (fn) => setTimeout(fn, 0), // the alert check gives up at once in tests
    clearTimeout,
    URL,
    Request,
    Response,
    AbortController,
    atob,
    console,
  });
  vm.runInContext(CODE, context);
  return { listeners, shown, opened, fetches, self, context };
}

function pushEvent(data) {
  const event = {
    data: data === undefined ? null : { json: () => (typeof data === "string" ? JSON.parse(data) : data) },
    waitUntil(promise) {
      event.done = promise;
    },
  };
  return event;
}

const PAYLOAD = {
  web_push: 8030,
  notification: {
    title: "Cardiac arrest alert",
    body: "Open the app to accept or decline.",
    navigate: `${ORIGIN}/#/alerts/42`,
    tag: "incident-17",
    lang: "en-GB",
    silent: false,
  },
  type: "alert.created",
  alert_id: 42,
  incident_id: 17,
  round: 1,
  url: `${ORIGIN}/#/alerts/42`,
};

async function push(worker, data) {
  const event = pushEvent(data);
  worker.listeners.push(event);
  await event.done;
  return worker.shown;
}

describe("service worker: push", () => {
  it("shows the alert with one tag per incident, renotify and requireInteraction", async () => {
    const worker = loadWorker({ fetch: async () => jsonResponse(200, { id: 42, state: "alerted", incident: { status: "open" } }) });
    const [shown] = await push(worker, PAYLOAD);
    assert.equal(shown.title, "Cardiac arrest alert");
    assert.equal(shown.options.body, "Open the app to accept or decline.");
    assert.equal(shown.options.tag, "incident-17");
    assert.equal(shown.options.renotify, true);
    assert.equal(shown.options.requireInteraction, true);
    assert.deepEqual(plain(shown.options.data), { url: `${ORIGIN}/#/alerts/42`, alert_id: 42, incident_id: 17, receipt: null });
    assert.equal(worker.fetches[0].url, "/api/v1/alerts/42/");
    assert.equal(worker.fetches[0].options.credentials, "include");
  });

  it("says the alert was cancelled when it was cancelled before the push arrived", async () => {
    const worker = loadWorker({ fetch: async () => jsonResponse(200, { id: 42, state: "cancelled", incident: { status: "cancelled" } }) });
    const [shown] = await push(worker, PAYLOAD);
    assert.equal(shown.title, "Alert cancelled");
    assert.equal(shown.options.tag, "incident-17", "replaces the alert's notification");
  });

  it("says so when the firefighter was stood down", async () => {
    const worker = loadWorker({ fetch: async () => jsonResponse(200, { id: 42, state: "stood_down", incident: { status: "open" } }) });
    const [shown] = await push(worker, PAYLOAD);
    assert.equal(shown.title, "Stood down");
  });

  // Someone on scene may be in the middle of CPR: never "not needed" to them (docs/hazard-log.md,
  // H04 control 7), and no guidance of the worker's own either.
  it("says how the call ended, and never 'not needed', to one who was on scene", async () => {
    const ON_SCENE_AT = "2026-01-01T12:10:00+00:00";
    for (const [alert, title, body] of [
      [{ state: "cancelled", on_scene_at: ON_SCENE_AT, incident: { status: "cancelled" } }, "Alert cancelled", "The incident was cancelled."],
      [{ state: "stood_down", on_scene_at: ON_SCENE_AT, incident: { status: "open" } }, "Stood down", "You were stood down from this incident."],
      [{ state: "cleared", on_scene_at: ON_SCENE_AT, incident: { status: "closed" } }, "Incident closed", "This incident is closed."],
      [{ state: "alerted", on_scene_at: ON_SCENE_AT, incident: { status: "cancelled" } }, "Alert cancelled", "The incident was cancelled."],
    ]) {
      const worker = loadWorker({ fetch: async () => jsonResponse(200, { id: 42, ...alert }) });
      const [shown] = await push(worker, PAYLOAD);
      assert.equal(shown.title, title);
      assert.equal(shown.options.body, body);
      assert.doesNotMatch(shown.options.body, /needed|CPR|carry on|continue|stop/i);
    }
  });

  it("tells one who never got there that they are not needed", async () => {
    const worker = loadWorker({ fetch: async () => jsonResponse(200, { id: 42, state: "cancelled", on_scene_at: null, incident: { status: "cancelled" } }) });
    const [shown] = await push(worker, PAYLOAD);
    assert.equal(shown.options.body, "The incident was cancelled. You are not needed.");
  });

  it("words a stand-down push that came without words, 'not needed' only if it says they were not on scene", async () => {
    const bare = (type, extra) => ({ type, alert_id: 42, incident_id: 17, url: `${ORIGIN}/#/alerts/42`, ...extra });
    for (const [payload, title, body] of [
      [bare("alert.cancelled", { attended: true }), "Alert cancelled", "The incident was cancelled."],
      [bare("alert.stood_down", { attended: true }), "Stood down", "You were stood down from this incident."],
      [bare("alert.cancelled", {}), "Alert cancelled", "The incident was cancelled."],
      [bare("alert.cancelled", { attended: false }), "Alert cancelled", "The incident was cancelled. You are not needed."],
      [bare("alert.stood_down", { attended: false, notification: { title: "Stood down" } }), "Stood down", "You were stood down from this incident. You are not needed."],
    ]) {
      const worker = loadWorker();
      const [shown] = await push(worker, payload);
      assert.equal(shown.title, title, JSON.stringify(payload));
      assert.equal(shown.options.body, body, JSON.stringify(payload));
      assert.equal(shown.options.tag, "incident-17");
      assert.equal(shown.options.requireInteraction, false);
    }
    const worded = await push(loadWorker(), bare("alert.cancelled", { attended: true, notification: { title: "Alert cancelled", body: "The incident was cancelled." } }));
    assert.equal(worded[0].options.body, "The incident was cancelled.", "the server's words stand");
  });

  it("still shows the alert when the check fails (logged out, offline, server error)", async () => {
    for (const fetch of [
      async () => jsonResponse(401, { error: {} }),
      async () => jsonResponse(500, {}),
      async () => {
        throw new TypeError("Failed to fetch");
      },
      async () => new Response("not json", { status: 200 }),
    ]) {
      const worker = loadWorker({ fetch });
      const [shown] = await push(worker, PAYLOAD);
      assert.equal(shown.title, "Cardiac arrest alert");
    }
  });

  it("does not wait for ever for the check", async () => {
    const hanging = (url, { signal }) =>
      new Promise((resolve, reject) => signal.addEventListener("abort", () => reject(new Error("aborted"))));
    const worker = loadWorker({ fetch: hanging });
    const [shown] = await push(worker, PAYLOAD);
    assert.equal(shown.title, "Cardiac arrest alert");
  });

  it("shows a generic alert for a payload it cannot read", async () => {
    for (const data of ["{not json", undefined, "null", "[1,2]", { notification: "x" }]) {
      const worker = loadWorker();
      const event = pushEvent(undefined);
      if (data !== undefined) event.data = { json: () => JSON.parse(typeof data === "string" ? data : JSON.stringify(data)) };
      worker.listeners.push(event);
      await event.done;
      assert.equal(worker.shown.length, 1, String(data));
      assert.equal(worker.shown[0].title, "Cardiac arrest alert: open the app");
      assert.ok(worker.shown[0].options.tag, "renotify needs a tag");
    }
  });

  it("never opens another site from a payload's URL", async () => {
    const worker = loadWorker();
    const [shown] = await push(worker, { ...PAYLOAD, url: "https://evil.example/phish", notification: { ...PAYLOAD.notification, navigate: "https://evil.example" } });
    assert.equal(shown.options.data.url, `${ORIGIN}/#/alerts/42`);
  });

  it("falls back to a plain notification when the browser refuses the options", async () => {
    const shown = [];
    let first = true;
    const worker = loadWorker({
      showNotification: async (title, options) => {
        if (first) {
          first = false;
          throw new TypeError("bad option");
        }
        shown.push({ title, options });
      },
    });
    await push(worker, PAYLOAD);
    assert.equal(shown.length, 1);
    assert.equal(shown[0].title, "Cardiac arrest alert: open the app");
  });

  it("tells open app windows so they refresh at once", async () => {
    const messages = [];
    const worker = loadWorker({ windows: [{ url: `${ORIGIN}/`, postMessage: (m) => messages.push(m) }] });
    await push(worker, PAYLOAD);
    assert.deepEqual(plain(messages), [{ type: "push", alert_id: 42 }]);
  });
});

describe("service worker: a message from control", () => {
  // What backend/delivery/transports/webpush.py's message_payload sends: generic words, no text.
  const MESSAGE = {
    web_push: 8030,
    mutable: true,
    notification: {
      title: "Message from control",
      body: "New message from control about your incident. Open the app to read it.",
      navigate: `${ORIGIN}/#/alerts/42`,
      tag: "message-17",
      lang: "en-GB",
      silent: false,
    },
    type: "message.created",
    alert_id: 42,
    incident_id: 17,
    url: `${ORIGIN}/#/alerts/42`,
  };

  it("shows it under its own tag, asks nothing of the alert, sends no receipt, and demands no tap", async () => {
    const messages = [];
    const worker = loadWorker({ windows: [{ url: `${ORIGIN}/`, postMessage: (m) => messages.push(m) }] });
    const [shown] = await push(worker, MESSAGE);
    assert.equal(shown.title, "Message from control");
    assert.equal(shown.options.tag, "message-17", "the alert's notification (incident-17) stays");
    assert.equal(shown.options.requireInteraction, false);
    assert.deepEqual(plain(shown.options.data), { url: `${ORIGIN}/#/alerts/42`, alert_id: 42, incident_id: 17, receipt: null });
    assert.deepEqual(worker.fetches, [], "no alert check, no receipt");
    assert.deepEqual(plain(messages), [{ type: "push", alert_id: 42 }], "an open app loads the message at once");
  });

  it("opens the alert, where the app shows the message, when tapped", async () => {
    const worker = loadWorker();
    const [shown] = await push(worker, MESSAGE);
    const event = { notification: { close: () => {}, data: shown.options.data }, waitUntil: (promise) => (event.done = promise) };
    worker.listeners.notificationclick(event);
    await event.done;
    assert.deepEqual(worker.opened, [`${ORIGIN}/#/alerts/42`]);
  });
});

const TOKEN = "A".repeat(40) + "b-_";

describe("service worker: receipts", () => {
  const receipts = (worker) => worker.fetches.filter((f) => f.url === "/api/v1/push-receipts/");

  it("posts the push's token once the notification is shown, without a cookie", async () => {
    const order = [];
    const worker = loadWorker({
      fetch: async (url) => {
        order.push(url);
        return url === "/api/v1/push-receipts/" ? new Response(null, { status: 204 }) : jsonResponse(401, {});
      },
      showNotification: async () => order.push("shown"),
    });
    await push(worker, { ...PAYLOAD, receipt: TOKEN });
    const [receipt] = receipts(worker);
    assert.equal(receipt.options.method, "POST");
    assert.equal(receipt.options.credentials, "omit");
    assert.deepEqual(JSON.parse(receipt.options.body), { alert_id: 42, token: TOKEN, event: "shown" });
    assert.deepEqual(order, ["/api/v1/alerts/42/", "shown", "/api/v1/push-receipts/"]);
  });

  it("posts none for a push without a token, or with one that is not a token", async () => {
    for (const receipt of [undefined, "", "short", `${"A".repeat(42)}!`, 42]) {
      const worker = loadWorker();
      await push(worker, { ...PAYLOAD, receipt });
      assert.equal(receipts(worker).length, 0, String(receipt));
    }
  });

  it("tries again, up to four times, after a network failure, a server error or too many requests; never after a refusal", async () => {
    // A burst of phones coming back online can meet a busy server (503, found by bench/faults.py):
    // a receipt given up after two tries was lost.
    for (const [answers, tries] of [
      [["network", 204], 2],
      [[503, 204], 2],
      [[429, 204], 2],
      [[503, 503, 503, 204], 4],
      [[409], 1],
      [[403], 1],
      [["network", "network", "network", "network", 204], 4],
      [[503, 503, 503, 503, 204], 4],
    ]) {
      const queue = [...answers];
      const worker = loadWorker({
        fetch: async (url) => {
          if (url !== "/api/v1/push-receipts/") return jsonResponse(404, {});
          const answer = queue.shift();
          if (answer === "network") throw new TypeError("Failed to fetch");
          return new Response(null, { status: answer });
        },
      });
      const [shown] = await push(worker, { ...PAYLOAD, receipt: TOKEN });
      assert.equal(shown.title, "Cardiac arrest alert");
      assert.equal(receipts(worker).length, tries, JSON.stringify(answers));
    }
  });

  it("keeps the token with the notification and posts it as opened when tapped", async () => {
    const worker = loadWorker({ fetch: async () => new Response(null, { status: 204 }) });
    const [shown] = await push(worker, { ...PAYLOAD, receipt: TOKEN });
    assert.equal(shown.options.data.receipt, TOKEN);
    const event = { notification: { data: shown.options.data, close() {} }, waitUntil: (p) => (event.done = p) };
    worker.listeners.notificationclick(event);
    await event.done;
    const opened = receipts(worker).map((f) => JSON.parse(f.options.body).event);
    assert.deepEqual(opened, ["shown", "opened"]);
  });
});

const TEST_PUSH = {
  web_push: 8030,
  mutable: true,
  notification: { title: "Test alert — no action needed", body: "Checking that alerts reach this phone. Nothing to do.", navigate: `${ORIGIN}/#/`, tag: "device-test", lang: "en-GB", silent: false },
  type: "device.test",
  check_id: 7,
  url: `${ORIGIN}/#/`,
  receipt: TOKEN,
};

describe("service worker: a test of the device", () => {
  const receipts = (worker) => worker.fetches.filter((f) => f.url === "/api/v1/push-receipts/");

  it("shows the test as a test, asks nothing of any alert, and posts its receipt with check_id", async () => {
    const messages = [];
    const worker = loadWorker({
      fetch: async () => new Response(null, { status: 204 }),
      windows: [{ postMessage: (message) => messages.push(message) }],
    });
    const [shown] = await push(worker, TEST_PUSH);
    assert.equal(shown.title, "Test alert — no action needed");
    assert.equal(shown.options.tag, "device-test");
    assert.equal(shown.options.requireInteraction, false);
    assert.deepEqual(plain(shown.options.data), { url: `${ORIGIN}/#/`, check_id: 7, receipt: TOKEN });
    assert.deepEqual(worker.fetches.map((f) => f.url), ["/api/v1/push-receipts/"]);
    assert.deepEqual(JSON.parse(receipts(worker)[0].options.body), { check_id: 7, token: TOKEN, event: "shown" });
    assert.deepEqual(plain(messages), [{ type: "push-test", check_id: 7 }]);
  });

  it("sends no receipt when it could not show the test, and never shows an alert instead", async () => {
    const worker = loadWorker({
      fetch: async () => new Response(null, { status: 204 }),
      showNotification: async () => {
        throw new TypeError("No notification permission has been granted for this origin.");
      },
    });
    await push(worker, TEST_PUSH);
    assert.equal(receipts(worker).length, 0);
  });

  it("posts opened with check_id when the test is tapped, and opens the app's home", async () => {
    const worker = loadWorker({ fetch: async () => new Response(null, { status: 204 }) });
    const [shown] = await push(worker, TEST_PUSH);
    const event = { notification: { data: shown.options.data, close() {} }, waitUntil: (p) => (event.done = p) };
    worker.listeners.notificationclick(event);
    await event.done;
    assert.deepEqual(
      receipts(worker).map((f) => JSON.parse(f.options.body)),
      [
        { check_id: 7, token: TOKEN, event: "shown" },
        { check_id: 7, token: TOKEN, event: "opened" },
      ],
    );
    assert.deepEqual(worker.opened, [`${ORIGIN}/#/`]);
  });
});

describe("service worker: notification click", () => {
  function click(worker, data) {
    const event = {
      notification: { data, close: () => (event.closed = true) },
      waitUntil(promise) {
        event.done = promise;
      },
    };
    worker.listeners.notificationclick(event);
    return event;
  }

  it("focuses the open app and sends it to the alert", async () => {
    const messages = [];
    const app = { url: `${ORIGIN}/#/`, focused: false, visibilityState: "visible", focus: async () => (app.wasFocused = true), postMessage: (m) => messages.push(m) };
    const admin = { url: `${ORIGIN}/admin/`, focus: async () => assert.fail("not the admin"), postMessage: () => assert.fail("not the admin") };
    const worker = loadWorker({ windows: [admin, app] });
    const event = click(worker, { url: `${ORIGIN}/#/alerts/42`, alert_id: 42 });
    await event.done;
    assert.equal(event.closed, true);
    assert.equal(app.wasFocused, true);
    assert.deepEqual(plain(messages), [{ type: "navigate", url: `${ORIGIN}/#/alerts/42` }]);
    assert.deepEqual(worker.opened, []);
  });

  it("opens the app at the alert when it is not open", async () => {
    const worker = loadWorker();
    await click(worker, { url: `${ORIGIN}/#/alerts/42`, alert_id: 42 }).done;
    assert.deepEqual(worker.opened, [`${ORIGIN}/#/alerts/42`]);
  });

  it("opens the alert from its id when the URL is missing", async () => {
    const worker = loadWorker();
    await click(worker, { alert_id: 7 }).done;
    assert.deepEqual(worker.opened, [`${ORIGIN}/#/alerts/7`]);
  });
});

describe("service worker: subscription change", () => {
  it("subscribes again with the server's key and posts the new subscription with a CSRF token", async () => {
    const worker = loadWorker({
      fetch: async (url) => {
        if (url === "/api/v1/push/vapid-public-key/") return jsonResponse(200, { public_key: "BEl62iUYgUivxIkv69yViEuiBIa-Ib9-SkvMeAtA3LFgDzkrxZJjSgSnfckjBJuBkr3qBUYIHBQFLXYp5Nksh8U" });
        if (url === "/api/v1/auth/csrf/") return jsonResponse(200, { csrf_token: "t".repeat(64) });
        return jsonResponse(201, {});
      },
    });
    const event = {
      oldSubscription: { endpoint: "https://fcm.googleapis.com/fcm/send/old" },
      waitUntil(promise) {
        event.done = promise;
      },
    };
    worker.listeners.pushsubscriptionchange(event);
    await event.done;
    const post = worker.fetches.find((f) => f.options.method === "POST");
    assert.equal(post.url, "/api/v1/push-subscriptions/");
    assert.equal(post.options.headers["X-CSRFToken"], "t".repeat(64));
    const body = JSON.parse(post.options.body);
    assert.equal(body.endpoint, "https://fcm.googleapis.com/fcm/send/new");
    assert.deepEqual(body.keys, { p256dh: "p", auth: "a" });
    const removed = worker.fetches.find((f) => f.options.method === "DELETE");
    assert.deepEqual(JSON.parse(removed.options.body), { endpoint: "https://fcm.googleapis.com/fcm/send/old" });
  });
});

describe("service worker: shell and updates", () => {
  function fetchEvent(path, mode = "no-cors", method = "GET") {
    const event = { request: { url: `${ORIGIN}${path}`, mode, method }, respondWith: () => (event.answered = true) };
    return event;
  }

  it("serves the shell and leaves the API, sockets and the rest of the site to the network", () => {
    const worker = loadWorker();
    const answered = (path, mode) => {
      const event = fetchEvent(path, mode);
      worker.listeners.fetch(event);
      return Boolean(event.answered);
    };
    assert.equal(answered("/app/main.js"), true);
    assert.equal(answered("/", "navigate"), true);
    assert.equal(answered("/?source=pwa", "navigate"), true);
    assert.equal(answered("/api/v1/alerts/?active=true"), false);
    assert.equal(answered("/api/v1/checklist/"), false);
    assert.equal(answered("/ws/responder/"), false);
    assert.equal(answered("/admin/", "navigate"), false);
    assert.equal(answered("/static/admin/css/base.css"), false);
    const post = fetchEvent("/app/main.js", "cors", "POST");
    worker.listeners.fetch(post);
    assert.equal(Boolean(post.answered), false);
  });

  it("keeps the maps (app/map.js, Leaflet) once fetched, in a cache named after its version", async () => {
    const worker = loadWorker();
    const answered = (path) => {
      const event = fetchEvent(path);
      worker.listeners.fetch(event);
      return Boolean(event.answered);
    };
    assert.equal(answered("/app/map.js"), true);
    assert.equal(answered("/app/map.css"), true);
    assert.equal(answered("/static/vendor/leaflet/leaflet.js"), true);
    assert.equal(answered("/static/vendor/leaflet/leaflet.css"), true);
    assert.equal(answered("/static/vendor/leaflet/leaflet.js.map"), false);
    assert.equal(answered("/static/vendor/other/thing.js"), false);

    // Cache first: from the network once, then from the maps' cache (a map shown once works offline).
    const stored = new Map();
    const opened = [];
    const cache = { match: async (key) => stored.get(key)?.clone(), put: async (key, response) => void stored.set(key, response), addAll: async () => {} };
    const fetched = [];
    const mapWorker = loadWorker();
    const serve = async (path) => {
      let answer;
      const event = { request: { url: `${ORIGIN}${path}`, mode: "no-cors", method: "GET" }, respondWith: (promise) => (answer = promise) };
      mapWorker.listeners.fetch(event);
      return answer;
    };
    mapWorker.context.caches = { open: async (name) => (opened.push(name), cache), keys: async () => [] };
    const basic = new Response("L", { status: 200 });
    Object.defineProperty(basic, "type", { value: "basic" });
    mapWorker.context.fetch = async (url) => (fetched.push(String(url)), basic);
    assert.equal(await (await serve("/static/vendor/leaflet/leaflet.js")).text(), "L");
    assert.equal(await (await serve("/static/vendor/leaflet/leaflet.js")).text(), "L");
    assert.equal(fetched.length, 1, "the second time from the cache");
    assert.ok(opened.length && opened.every((name) => /^coresponder-maps-[0-9a-f]{12}$/.test(name)), opened);

    // Never precached: tests/js/shell.test.mjs checks SHELL.
  });

  it("waits for the page to ask before taking over", () => {
    const worker = loadWorker();
    assert.equal(worker.self.skipped, undefined);
    worker.listeners.message({ data: { type: "something-else" } });
    assert.equal(worker.self.skipped, undefined);
    worker.listeners.message({ data: { type: "skip-waiting" } });
    assert.equal(worker.self.skipped, true);
  });
});
