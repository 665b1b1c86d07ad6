// Pieces several screens share.

import { h } from "../dom.js";
import { CONNECTION_TEXT } from "../status.js";

/**
 * A region rebuilt only when its key changes, so a re-render does not steal focus or taps.
 * While a finger (or Enter/Space) is down inside it, rebuilding waits until the press has
 * become a click: replacing the button under a finger between pointerdown and pointerup would
 * swallow the tap (an acknowledgement arriving just as the firefighter taps Accept).
 */
export function region(tag = "div", props = {}) {
  const el = h(tag, props);
  let lastKey;
  let pending = null;
  let pressed = false;
  let safety = null;
  const flush = () => {
    pressed = false;
    clearTimeout(safety);
    const apply = pending;
    pending = null;
    apply?.();
  };
  const press = () => {
    pressed = true;
    clearTimeout(safety);
    safety = setTimeout(flush, 2000); // never hold a rebuild back for long
  };
  const release = () => setTimeout(flush, 0); // after the click event has been dispatched
  el.addEventListener("pointerdown", press, true);
  el.addEventListener("pointerup", release, true);
  el.addEventListener("pointercancel", release, true);
  el.addEventListener("keydown", (event) => (event.key === "Enter" || event.key === " ") && press(), true);
  el.addEventListener("keyup", release, true);
  el.show = (key, build) => {
    const text = JSON.stringify(key);
    const apply = () => {
      if (text === lastKey) return;
      lastKey = text;
      el.replaceChildren(...[build()].flat(Infinity).filter((child) => child !== null && child !== undefined && child !== false));
    };
    if (text === lastKey && !pending) return;
    if (pressed) pending = apply;
    else apply();
  };
  return el;
}

export function notice(level, text, ...extra) {
  return h("div", { class: `notice ${level}`, role: level === "danger" ? "alert" : null }, h("p", { text }), ...extra);
}

export function connectionPill(state) {
  const status = state.online === false ? "offline" : state.connection.status;
  return h("span", { class: `pill pill-${status}`, text: CONNECTION_TEXT[status] || status });
}

/** Top bar: a back link (or the app name) and the connection state. */
export function topbar(state, back) {
  return h(
    "div",
    { class: "topbar" },
    back ? h("a", { class: "back", href: `#${back.path}`, text: `‹ ${back.label}` }) : h("span", { class: "brand", text: "Co-responder" }),
    connectionPill(state),
  );
}

/** A small "Saved on this phone, not sent yet" style line for the queue. */
export function queueLine(queue) {
  if (!queue || (!queue.pending && !queue.problems)) return null;
  const parts = [];
  if (queue.pending) parts.push(`${queue.pending} event${queue.pending === 1 ? "" : "s"} waiting to be sent`);
  if (queue.problems) parts.push(`${queue.problems} refused by the server`);
  return h("p", { class: "notice warning", text: `${parts.join("; ")}. They are kept on this phone.` });
}

/** Run `fn` every `ms` until the returned stop function is called. */
export function every(ms, fn) {
  const timer = setInterval(fn, ms);
  return () => clearInterval(timer);
}
