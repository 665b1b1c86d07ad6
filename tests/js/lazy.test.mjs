import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { lazyView } from "../../pwa/app/lazy.js";

// The smallest DOM the lazy view touches: elements with children, text, attributes and events.
function fakeDocument() {
  const make = (tag) => ({
    tag,
    children: [],
    attributes: {},
    listeners: {},
    textContent: "",
    setAttribute(name, value) {
      this.attributes[name] = value;
    },
    addEventListener(type, listener) {
      this.listeners[type] = listener;
    },
    replaceChildren(...nodes) {
      this.children = nodes;
    },
    querySelector: () => null,
  });
  return { createElement: make, root: make("div") };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

describe("lazy screens", () => {
  it("shows Loading…, then the real view, and imports once", async () => {
    const doc = fakeDocument();
    let imports = 0;
    const real = (root, params) => {
      root.replaceChildren({ tag: "h2", textContent: `screen ${params.id}` });
      return () => (real.cleaned = true);
    };
    const view = lazyView(async () => (imports++, real), { doc });
    const cleanup = view(doc.root, { id: 7 }, {});
    assert.equal(doc.root.children[0].textContent, "Loading…");
    await tick();
    assert.equal(doc.root.children[0].textContent, "screen 7");
    view(doc.root, { id: 8 }, {});
    assert.equal(doc.root.children[0].textContent, "screen 8", "once loaded it mounts at once");
    assert.equal(imports, 1);
    cleanup();
    assert.equal(real.cleaned, true);
  });

  it("does not mount a screen the firefighter has already left", async () => {
    const doc = fakeDocument();
    let mounted = false;
    const view = lazyView(async () => () => void (mounted = true), { doc });
    const cleanup = view(doc.root, {}, {});
    cleanup();
    await tick();
    assert.equal(mounted, false);
  });

  it("says the screen could not be loaded and tries again on a tap", async () => {
    const doc = fakeDocument();
    let attempts = 0;
    const view = lazyView(
      async () => {
        attempts++;
        if (attempts === 1) throw new TypeError("Failed to fetch dynamically imported module");
        return (root) => root.replaceChildren({ textContent: "forms" });
      },
      { doc },
    );
    view(doc.root, {}, {});
    await tick();
    assert.match(doc.root.children[0].textContent, /could not be loaded/);
    const retry = doc.root.children[1];
    assert.equal(retry.textContent, "Try again");
    retry.listeners.click();
    await tick();
    assert.equal(doc.root.children[0].textContent, "forms");
    assert.equal(attempts, 2);
  });

  it("warms without showing anything, and a failed warm-up is retried on use", async () => {
    let attempts = 0;
    const doc = fakeDocument();
    const view = lazyView(
      async () => {
        attempts++;
        if (attempts === 1) throw new Error("offline");
        return () => null;
      },
      { doc },
    );
    await view.warm();
    assert.equal(attempts, 1);
    view(doc.root, {}, {});
    await tick();
    assert.equal(attempts, 2);
  });
});
