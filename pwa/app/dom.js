// Building DOM without innerHTML: text always goes in as text, so server data cannot become
// markup. h("button", {class: "btn", on: {click}}, "Accept").

export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.className = Array.isArray(value) ? value.filter(Boolean).join(" ") : value;
    else if (key === "text") el.textContent = String(value);
    else if (key === "on") for (const [event, handler] of Object.entries(value)) el.addEventListener(event, handler);
    else if (key === "attrs") for (const [name, attr] of Object.entries(value)) setAttr(el, name, attr);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key === "innerHTML" || key === "outerHTML") throw new Error("h(): no HTML strings");
    else if (key.startsWith("aria-") || key === "role" || key === "for") setAttr(el, key, value);
    else el[key] = value;
  }
  append(el, children);
  return el;
}

function setAttr(el, name, value) {
  if (value === undefined || value === null || value === false) return;
  el.setAttribute(name, value === true ? "" : String(value));
}

function append(el, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace an element's children. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/**
 * Replace an element's children with `nodes`, keeping each old child that is equal to its new one
 * (same tag, attributes and text; isEqualNode). A re-render that changes nothing then touches
 * nothing, so a tap landing while it runs (statuses arriving from the phone's store, then the
 * server) is not lost on an element that was swapped between the press and the release. Only for
 * nodes without listeners of their own: isEqualNode does not compare them.
 */
export function replaceChanged(el, nodes) {
  const old = [...el.children];
  if (old.length !== nodes.length || el.childNodes.length !== old.length) {
    el.replaceChildren(...nodes);
    return;
  }
  nodes.forEach((node, index) => {
    if (!old[index].isEqualNode(node)) old[index].replaceWith(node);
  });
}
