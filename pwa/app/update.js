// Service worker registration and the "Update available" prompt. A new version waits until
// the firefighter chooses to reload: it never takes over mid-alert by itself.

let updateRequested = false;

export function registerServiceWorker({ onUpdateReady = () => {}, onMessage = () => {} } = {}) {
  if (!("serviceWorker" in navigator)) return;
  const sw = navigator.serviceWorker;
  sw.addEventListener("message", (event) => onMessage(event.data));
  sw.addEventListener("controllerchange", () => {
    // The first install also changes the controller (clients.claim); reload only when asked.
    if (updateRequested) location.reload();
  });
  sw.register("/sw.js", { scope: "/", updateViaCache: "none" })
    .then((reg) => {
      if (reg.waiting && sw.controller) onUpdateReady(reg.waiting);
      reg.addEventListener("updatefound", () => {
        const worker = reg.installing;
        worker?.addEventListener("statechange", () => {
          if (worker.state === "installed" && sw.controller) onUpdateReady(worker);
        });
      });
      document.addEventListener("visibilitychange", () => {
        if (document.visibilityState === "visible") reg.update().catch(() => {});
      });
    })
    .catch(() => {
      // The app still works online; push and offline use need the worker (the home screen says so).
    });
}

/** The firefighter tapped "Reload": let the waiting worker take over, then reload. */
export function applyUpdate(worker) {
  updateRequested = true;
  worker.postMessage({ type: "skip-waiting" });
}
