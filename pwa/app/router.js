// Hash routes: #/, #/login, #/forms (recent calls' forms), #/alerts/42, #/alerts/42/incident,
// #/alerts/42/checklist, #/alerts/42/forms, #/alerts/42/forms/outcome (and attendance,
// welfare). Hash routing keeps every screen inside the one cached shell page.

const ALERT_PAGES = new Set(["incident", "checklist", "forms"]);
const FORM_KINDS = new Set(["attendance", "outcome", "welfare"]);

/** {name, params} for a location hash; anything unknown is home. */
export function parseHash(hash) {
  const path = String(hash || "").replace(/^#/, "").replace(/\/+$/, "") || "/";
  if (path === "/" || path === "") return { name: "home", params: {} };
  if (path === "/login") return { name: "login", params: {} };
  if (path === "/forms") return { name: "records", params: {} };
  const match = /^\/alerts\/(\d{1,12})(?:\/([a-z]+))?(?:\/([a-z]+))?$/.exec(path);
  if (match) {
    const id = Number(match[1]);
    if (match[3]) return match[2] === "forms" && FORM_KINDS.has(match[3]) ? { name: "form", params: { id, kind: match[3] } } : { name: "home", params: {} };
    if (!match[2]) return { name: "alert", params: { id } };
    if (ALERT_PAGES.has(match[2])) return { name: match[2], params: { id } };
  }
  return { name: "home", params: {} };
}

export function alertPath(id, page) {
  return page ? `/alerts/${id}/${page}` : `/alerts/${id}`;
}

export function go(path) {
  const hash = `#${path}`;
  if (location.hash === hash) window.dispatchEvent(new HashChangeEvent("hashchange"));
  else location.hash = hash;
}

/**
 * Mounts one view at a time into `root`. A view is a function (root, params, ctx) returning a
 * cleanup function. `guard(route)` may return another path to go to instead.
 */
export class Router {
  constructor(root, views, ctx, guard = () => null) {
    this.root = root;
    this.views = views;
    this.ctx = ctx;
    this.guard = guard;
    this.cleanup = null;
    this.current = null;
  }

  start() {
    window.addEventListener("hashchange", () => this.render());
    this.render();
  }

  render() {
    const route = parseHash(location.hash);
    const redirect = this.guard(route);
    if (redirect) {
      history.replaceState(null, "", `#${redirect}`);
      return this.render();
    }
    if (this.cleanup) this.cleanup();
    this.cleanup = null;
    this.current = route;
    this.root.replaceChildren();
    window.scrollTo(0, 0);
    const view = this.views[route.name] || this.views.home;
    this.cleanup = view(this.root, route.params, this.ctx) || null;
    const heading = this.root.querySelector("h1");
    if (heading) {
      heading.tabIndex = -1;
      heading.focus({ preventScroll: true });
    }
  }
}
