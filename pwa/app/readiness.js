// "Test my alerts" and what the app says of this phone (docs/delivery.md, "Readiness"): a real push
// through the server's outbox, the push service and the service worker, whose receipt completes the
// test; the time it took, or what to check, in plain words for this phone. The words the
// firefighter reads are here, in one place.

import { ApiError } from "./api.js";
import { platform, pushEndpoint } from "./push.js";

const POLL_MS = 1000;
const GRACE_MS = 15000; // past the server's own wait, for the overdue pass to run

/** What the app says of itself with each test and at start: {platform, installed, permission}. */
export function appState(nav = navigator, win = window) {
  const { ios, android, standalone } = platform(nav, win);
  const mobile = /Mobi|Tablet/.test(nav.userAgent || "");
  const permission = "Notification" in win ? win.Notification.permission : "default";
  return {
    platform: ios ? "ios" : android ? "android" : mobile ? "other" : "desktop",
    installed: standalone,
    permission: ["granted", "denied", "default"].includes(permission) ? permission : "default",
  };
}

/** "0.8 s", "1.4 s", "12 s", "2 min 5 s". */
export function formatDuration(ms) {
  const seconds = Math.max(0, ms) / 1000;
  if (seconds < 10) return `${seconds.toFixed(1)} s`;
  if (seconds < 60) return `${Math.round(seconds)} s`;
  const minutes = Math.floor(seconds / 60);
  return `${minutes} min ${Math.round(seconds - minutes * 60)} s`;
}

const PERMISSION = {
  ios: "Allow notifications for this app: Settings, Notifications, then this app, and turn on Allow Notifications, Sounds and Lock Screen.",
  android: "Allow notifications for your browser and for this site: long-press the browser's icon, App info, Notifications, and allow them (with sound).",
  desktop: "Allow notifications for this site: the padlock beside the address, Site settings, Notifications, Allow.",
  other: "Allow notifications for this app in the phone's settings, with sound.",
};
const INSTALL_IOS =
  "On iPhone, alerts reach the phone only from the app on the Home Screen: open this site in Safari, tap Share, then “Add to Home Screen”, and open the app from there.";
const BATTERY_ANDROID =
  "Turn off battery optimisation for your browser (Settings, Apps, your browser, Battery: Unrestricted), or Android may hold alerts back while the phone sleeps.";
const FOCUS = {
  ios: "Check Focus (Do Not Disturb, Sleep, Driving): a web app cannot ring through it unless you allow this app in that Focus.",
  android: "Check Do Not Disturb and any bedtime or driving mode: allow your browser's notifications as an exception.",
  desktop: "Check Do Not Disturb or Focus on this computer, and that the browser is allowed to show notifications.",
  other: "Check Do Not Disturb or any quiet mode: allow this app as an exception if the phone offers it.",
};
const SIGNAL = "Check the phone has signal or Wi-Fi, then test again.";
const REGISTER_AGAIN = "The push service no longer knows this phone. Turn notifications on again below, then test again.";

/** What to check, most likely first, for this phone, after a failed (or missing) test. */
export function adviceFor(check, state = appState()) {
  const advice = [];
  const kind = state.platform in PERMISSION ? state.platform : "other";
  if (state.platform === "ios" && state.installed === false) advice.push(INSTALL_IOS);
  if (check?.failure_code === "permission" || state.permission !== "granted") advice.push(PERMISSION[kind]);
  if (check?.failure_code === "refused") advice.push(REGISTER_AGAIN);
  if (check?.failure_code === "no_receipt" || !check?.failure_code) {
    if (state.permission === "granted") advice.push(PERMISSION[kind].replace(/^Allow/, "Check that you allow"));
    if (kind === "android") advice.push(BATTERY_ANDROID);
    advice.push(FOCUS[kind]);
    advice.push(SIGNAL);
  }
  return [...new Set(advice)];
}

/** The one line that says how a test went. */
export function resultLine(check) {
  if (!check) return "";
  if (check.result === "passed") {
    return check.duration_ms == null ? "Shown on this phone." : `Shown in ${formatDuration(check.duration_ms)}.`;
  }
  if (check.result === "failed") {
    if (check.failure_code === "permission") return "Test failed: notifications are not allowed for this app.";
    if (check.failure_code === "refused") return "Test failed: the push service refused the test.";
    return "Test failed: this phone did not show the test alert in time.";
  }
  return "Test sent: waiting for this phone to show it…";
}

/** Tell the server what this phone is (at start). Returns the server's record of it, or null. */
export async function reportState(api) {
  const endpoint = await pushEndpoint();
  if (!endpoint) return null;
  try {
    return await api.reportDeviceState(endpoint, appState());
  } catch {
    return null; // offline, or not registered yet: the home screen already says so
  }
}

/**
 * Run a test: start it (with the app's state), then follow it until the receipt passes it or the
 * server gives up. `onChange(check)` is called with each new state; a push-test message from the
 * service worker (`nudge()`) makes it look again at once. Resolves to the last check.
 */
export function runTest(
  api,
  {
    onChange = () => {},
    sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    endpointOf = pushEndpoint,
    stateOf = appState,
    now = () => Date.now(),
  } = {},
) {
  let wake = null;
  const nudge = () => wake?.();
  const done = (async () => {
    const endpoint = await endpointOf();
    if (!endpoint) throw new ApiError(404, "not_found", "This phone is not registered for alerts: turn on notifications first.");
    let check = await api.startPushTest(endpoint, stateOf());
    onChange(check);
    const deadline = now() + (check.receipt_wait_seconds || 120) * 1000 + GRACE_MS;
    while (check.result === "pending" && now() < deadline) {
      await Promise.race([sleep(POLL_MS), new Promise((resolve) => (wake = resolve))]);
      try {
        check = await api.pushTest(check.id);
      } catch (error) {
        if (error instanceof ApiError && error.status === 404) {
          // The push service said this phone's subscription is gone: its device and tests went.
          check = { ...check, result: "failed", failure_code: "refused" };
        } else if (!(error instanceof ApiError && error.offline)) {
          throw error;
        }
      }
      onChange(check);
    }
    return check;
  })();
  return { done, nudge };
}
