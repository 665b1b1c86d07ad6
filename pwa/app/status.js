// Can alerts reach this phone? One pure function turns what the app knows into the warnings the
// home screen shows, most serious first.

export const CONNECTION_TEXT = {
  live: "Live: connected",
  connecting: "Connecting…",
  syncing: "Catching up…",
  reconnecting: "Connection lost: reconnecting…",
  offline: "No network",
  "login-required": "Logged out",
  forbidden: "This account cannot receive alerts",
  stopped: "Not connected",
};

/** [{level: "danger"|"warning"|"info", text, action?}] for the home screen. */
export function deliveryWarnings({ connection, push, onCall, trainingInDate, online }) {
  const warnings = [];
  if (onCall === false) warnings.push({ level: "info", text: "You are off call: you will not be alerted." });
  if (trainingInDate === false) {
    warnings.push({ level: "warning", text: "Your training is out of date: you will not be alerted until it is renewed." });
  }
  if (push) {
    if (push.needsInstall) {
      warnings.push({
        level: "danger",
        action: "install",
        text:
          "On iPhone, alerts reach the phone only when this app is on the Home Screen. Tap Share, then " +
          "“Add to Home Screen”, open the app from there and turn on notifications.",
      });
    } else if (!push.supported) {
      warnings.push({
        level: "danger",
        text: "This browser cannot receive alerts while the app is closed. Keep the app open, or use a phone browser that supports notifications.",
      });
    } else if (push.permission === "denied") {
      warnings.push({
        level: "danger",
        text: "Notifications are blocked for this app, so alerts cannot reach this phone while the app is closed. Allow notifications for this app in the phone's settings.",
      });
    } else if (push.permission !== "granted") {
      warnings.push({
        level: "danger",
        action: "enable",
        text: "Notifications are not turned on: alerts cannot reach this phone while the app is closed.",
      });
    } else if (push.serverConfigured === false) {
      warnings.push({
        level: "warning",
        text: "The server cannot send push alerts yet. Keep the app open to receive alerts.",
      });
    } else if (!push.subscribed || push.registered === false) {
      // Notifications are allowed already: registering failed (refreshPush tried), so the way
      // forward is to try again, not "Turn on notifications" (found by a browser trial).
      warnings.push({
        level: "danger",
        action: "retry",
        text: "This phone is not registered for alerts.",
      });
    }
    if (push.device?.flagged) {
      warnings.push({
        level: "danger",
        action: "test",
        text: "This phone failed its last two alert tests, so alerts may not reach it. Tap “Test my alerts” and check what it says.",
      });
    } else if (onCall && push.anyProven === false) {
      // "Test my alerts" is offered only for a phone registered for alerts (views/home.js): until
      // then the way forward is to turn notifications on.
      const testable = push.supported && push.permission === "granted" && push.subscribed && push.registered !== false;
      warnings.push(
        testable
          ? {
              level: "warning",
              action: "test",
              text: "You are on call, and none of your phones has shown an alert or a test recently. Tap “Test my alerts” to check this one.",
            }
          : {
              level: "warning",
              text:
                push.supported && push.permission === "granted"
                  ? "You are on call, and none of your phones has shown an alert or a test recently. Register this phone for alerts (“Try again”), then tap “Test my alerts”."
                  : "You are on call, and none of your phones has shown an alert or a test recently. Turn on notifications on this phone, then tap “Test my alerts”.",
            },
      );
    }
    if (push.error) warnings.push({ level: "warning", text: push.error });
  }
  if (online === false) {
    warnings.push({ level: "danger", text: "No network: alerts cannot reach this phone until it is back online." });
  } else if (connection && connection !== "live" && connection !== "connecting" && connection !== "syncing") {
    warnings.push({ level: "warning", text: `${CONNECTION_TEXT[connection] || connection}. Alerts still come by notification if they are turned on.` });
  }
  const rank = { danger: 0, warning: 1, info: 2 };
  return warnings.sort((a, b) => rank[a.level] - rank[b.level]);
}

/** True when nothing stands between an alert and this phone. */
export function readyForAlerts(warnings) {
  return !warnings.some((warning) => warning.level === "danger" || warning.level === "warning");
}
