// Screens the home screen does not need, loaded when first shown (or warmed once the home screen
// is usable), so that a cold start on a slow network fetches less before the firefighter can act.
// The alert and checklist screens are never lazy: an alert must paint at once, and CPR guidance
// must not wait for a network. Every lazy module is still in the service worker's shell, so it
// loads offline once the app is installed.

/**
 * A view (root, params, ctx) => cleanup that imports its module on first use. Until then it shows
 * "Loading…"; if the import fails (offline before the shell was cached) it says so and offers to
 * try again. `load` returns a promise of the real view function.
 */
export function lazyView(load, { doc = globalThis.document } = {}) {
  let loaded = null;
  let loading = null;
  const fetchView = () => {
    loading ??= load().then(
      (view) => (loaded = view),
      (error) => {
        loading = null; // the next attempt imports again
        throw error;
      },
    );
    return loading;
  };

  function view(root, params, ctx) {
    if (loaded) return loaded(root, params, ctx);
    let gone = false;
    let cleanup = null;
    const mount = () => {
      root.replaceChildren(status(doc, "Loading…"));
      fetchView().then(
        (real) => {
          if (gone) return;
          root.replaceChildren();
          cleanup = real(root, params, ctx) || null;
          const heading = root.querySelector?.("h1");
          if (heading) {
            heading.tabIndex = -1;
            heading.focus?.({ preventScroll: true });
          }
        },
        () => {
          if (gone) return;
          const retry = doc.createElement("button");
          retry.type = "button";
          retry.className = "btn";
          retry.textContent = "Try again";
          retry.addEventListener("click", mount);
          root.replaceChildren(status(doc, "This screen could not be loaded: check the signal and try again."), retry);
        },
      );
    };
    mount();
    return () => {
      gone = true;
      if (cleanup) cleanup();
    };
  }
  view.warm = () => fetchView().catch(() => {});
  return view;
}

function status(doc, text) {
  const line = doc.createElement("p");
  line.className = "hint";
  line.setAttribute("role", "status");
  line.textContent = text;
  return line;
}
