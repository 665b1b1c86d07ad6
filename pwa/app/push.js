// Web Push on this phone: whether it can work here, turning it on after a tap, keeping the
// server's record of this phone's subscription right, and turning it off at logout.

import { ApiError } from "./api.js";

export function platform(nav = navigator, win = window) {
  const ua = nav.userAgent || "";
  const ios = /iPad|iPhone|iPod/.test(ua) || (/Macintosh/.test(ua) && nav.maxTouchPoints > 1);
  const standalone =
    nav.standalone === true || Boolean(win.matchMedia?.("(display-mode: standalone)").matches);
  return { ios, android: /Android/.test(ua), standalone };
}

export function pushSupported() {
  return "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;
}

export function urlBase64ToUint8Array(base64) {
  const padded = (base64 + "=".repeat((4 - (base64.length % 4)) % 4)).replace(/-/g, "+").replace(/_/g, "/");
  const raw = atob(padded);
  return Uint8Array.from(raw, (char) => char.charCodeAt(0));
}

function sameKey(subscription, key) {
  const current = subscription?.options?.applicationServerKey;
  if (!current) return true; // the browser does not say; assume it matches
  const a = new Uint8Array(current);
  return a.length === key.length && a.every((byte, i) => byte === key[i]);
}

export function deviceLabel() {
  const { ios, android } = platform();
  const kind = ios ? "iPhone" : android ? "Android phone" : "This device";
  return `${kind} (added ${new Date().toLocaleDateString("en-GB")})`;
}

async function registration() {
  if (!("serviceWorker" in navigator)) return null;
  // `ready` never settles if registration failed; do not wait for ever.
  return Promise.race([navigator.serviceWorker.ready, new Promise((resolve) => setTimeout(() => resolve(null), 5000))]);
}

/** What the home screen needs to know about push on this phone. Never throws. */
export async function readPushState(api) {
  const { ios, standalone } = platform();
  const state = {
    supported: pushSupported(),
    needsInstall: ios && !standalone,
    permission: "Notification" in window ? Notification.permission : "unsupported",
    subscribed: false,
    registered: null,
    device: null, // the server's record of this phone: proven, flagged, last failure (readiness)
    anyProven: null, // whether any of the firefighter's phones has shown a push lately
    serverConfigured: null,
    error: null,
  };
  if (!state.supported) return state;
  // The server's list does not depend on the service worker: ask for it while waiting for the
  // worker to be ready (on a first start that wait is its install, the whole shell), not after.
  const devicesLoading = api.pushDevices();
  devicesLoading.catch(() => {}); // awaited below, or not needed (no worker)
  try {
    // On the app's first start its worker is still installing (the whole shell, on a slow network):
    // a registration with no active worker cannot hold a subscription yet, so there is nothing to
    // wait for ("not subscribed" is already the answer). Otherwise wait for the worker to be ready.
    const installing = await navigator.serviceWorker.getRegistration?.();
    const reg = installing && !installing.active ? installing : await registration();
    if (!reg) {
      state.error = "The app's service worker is not running, so alerts cannot arrive while it is closed. Reload the app.";
      return state;
    }
    const subscription = reg.active ? await reg.pushManager.getSubscription() : null;
    state.subscribed = Boolean(subscription);
    const devices = await devicesLoading;
    state.anyProven = devices.some((device) => device.proven);
    if (subscription) {
      state.device = devices.find((device) => device.endpoint === subscription.endpoint) || null;
      state.registered = state.device !== null;
    }
  } catch (error) {
    if (error instanceof ApiError && error.offline) return state;
    if (error instanceof ApiError) state.error = error.message;
  }
  return state;
}

/**
 * Subscribe this phone and tell the server. Call requestPermission() first, inside the tap
 * (Safari refuses it otherwise): enablePush() does that before anything else.
 */
export function enablePush(api) {
  if (!pushSupported()) return Promise.resolve({ ok: false, message: "This browser cannot receive notifications." });
  const asked = Notification.requestPermission();
  return asked.then(async (permission) => {
    if (permission !== "granted") {
      return {
        ok: false,
        message:
          permission === "denied"
            ? "Notifications were blocked. Allow them for this app in the phone's settings."
            : "Notifications were not allowed.",
      };
    }
    return registerDevice(api);
  });
}

// What the phone says when the browser's push service will not subscribe it although
// notifications are allowed (found by a browser trial: the raw "Registration failed - permission
// denied." beside "Turn on notifications"). Worded as status.js says of a browser without push.
export const CANNOT_SUBSCRIBE_TEXT =
  "This browser cannot receive alerts while the app is closed: it could not register this phone. Keep the app open, or use a phone browser that supports notifications, then tap “Try again”.";
// The errors of pushManager.subscribe() (the Push API's DOMException names; Chromium's messages
// start "Registration failed - ...").
const SUBSCRIBE_ERRORS = new Set(["NotAllowedError", "AbortError", "NotSupportedError", "InvalidStateError", "InvalidAccessError"]);

/** The plain words for an error of registering this phone for alerts (registerDevice). */
export function registrationErrorText(error) {
  if (error instanceof ApiError) {
    if (error.status === 503) return "The server cannot send push alerts yet (not configured).";
    if (error.offline) return "No signal: this phone could not be registered for alerts. Tap “Try again” when there is signal.";
    return `Could not register this phone for alerts: ${error.message || "the server refused"}. Tap “Try again”.`;
  }
  if (SUBSCRIBE_ERRORS.has(error?.name) || /registration failed|push service|subscri/i.test(error?.message || "")) return CANNOT_SUBSCRIBE_TEXT;
  return "Could not register this phone for alerts. Tap “Try again”, or reload the app.";
}

/** With permission granted: subscribe (or re-use the subscription) and POST it. */
export async function registerDevice(api) {
  try {
    const reg = await registration();
    if (!reg) return { ok: false, message: "The app's service worker is not running. Reload the app and try again." };
    const publicKey = await api.vapidPublicKey();
    const key = urlBase64ToUint8Array(publicKey);
    let subscription = await reg.pushManager.getSubscription();
    if (subscription && !sameKey(subscription, key)) {
      await subscription.unsubscribe(); // the server's key changed: the old one cannot be used
      subscription = null;
    }
    if (!subscription) {
      subscription = await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
    }
    await api.addPushSubscription(subscription.toJSON(), deviceLabel());
    return { ok: true, message: "Notifications are on. Tap “Test my alerts” to check that an alert reaches this phone." };
  } catch (error) {
    return { ok: false, message: registrationErrorText(error) };
  }
}

/**
 * This phone's push subscription endpoint, or null. At logout the app sends it with the logout
 * request, so the server removes this phone's subscription with the session (only this one: the
 * person's other devices keep getting alerts). Never throws.
 */
export async function pushEndpoint() {
  try {
    const reg = await registration();
    const subscription = await reg?.pushManager.getSubscription();
    return subscription?.endpoint || null;
  } catch {
    return null;
  }
}

/**
 * After logout: the browser drops the subscription too, so nothing more reaches this phone even if
 * the server did not hear the logout (offline): the push service then answers 404 or 410 and the
 * server forgets it. Never throws.
 */
export async function dropPushSubscription() {
  try {
    const reg = await registration();
    const subscription = await reg?.pushManager.getSubscription();
    await subscription?.unsubscribe();
  } catch {
    // nothing more to do
  }
}
