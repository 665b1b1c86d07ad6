// After the call: the three forms of one alert (#/alerts/42/forms) and the forms of recent calls
// (#/forms), each with where it stands: not started, pending (saved on this phone, not sent
// yet), accepted by the server (with its version), or needs attention (refused: why).

import { h, replaceChanged } from "../dom.js";
import { formatDateTime } from "../format.js";
import { ACCEPTED, ATTENTION, CHECKING, DUTY_NOT_KNOWN, FORMS, KINDS, NOT_NEEDED, NOT_STARTED, PENDING, STATUS_LABELS, outcomeDutyHint, outcomeSubmitted, pageFormStatus } from "../records-rules.js";
import { callsKnownHere } from "../outbox.js";
import { alertPath } from "../router.js";
import { crewOfAlert } from "../store.js";
import { notice, topbar } from "./parts.js";

const ACTION = { [NOT_STARTED]: "Fill in", [PENDING]: "Open", [ACCEPTED]: "Open", [ATTENTION]: "Correct and send again", [NOT_NEEDED]: "Open", [CHECKING]: "Open", [DUTY_NOT_KNOWN]: "Open" };

function statusChip(status) {
  return h("span", { class: `status status-${status.state}`, text: STATUS_LABELS[status.state] });
}

/** The line under a form's title that says where it stands, or null when it would only repeat
 *  its chip ("Not started" twice: found by the ninth trial of the product). The statuses' texts
 *  (records-rules.js) add only what the chip does not say (the eleventh trial: "Not needed" then
 *  "Not needed: ...", "Accepted" then "Sent and accepted"). */
export function statusDetail(status) {
  return status.text && status.text !== STATUS_LABELS[status.state] ? status.text : null;
}

/** Run fn whenever the outbox or the records this phone knows change. */
function onRecordsChange(store, fn) {
  let last = store.state.recordsChangedAt;
  return store.subscribe((state) => {
    if (state.recordsChangedAt === last) return;
    last = state.recordsChangedAt;
    fn();
  });
}

/** The top bar, drawn again whenever the connection or where it goes back to changes: drawn
 *  once, its pill said "connected" after the signal was lost (found by trying the product).
 *  `backOf(state)`: its back link. [element, unsubscribe]. */
export function liveTopbar(store, backOf) {
  const top = h("div");
  let shown = null;
  const draw = (state) => {
    const back = backOf(state);
    const now = `${state.connection.status}|${state.online}|${back.path}`;
    if (now === shown) return;
    shown = now;
    top.replaceChildren(topbar(state, back));
  };
  draw(store.state);
  return [top, store.subscribe(draw)];
}

/** Run fn when the app may be back online (the phone's network back, the server's socket live):
 *  a page showing "No signal: showing what this phone last knew" loads again (found by the
 *  eleventh trial: the notice stayed 12 s and more under "Live: connected"). */
export function onBackOnline(store, fn) {
  const key = (state) => `${state.online}|${state.connection?.status}`;
  let was = key(store.state);
  let running = false;
  let again = false;
  const run = () => {
    if (running) return void (again = true);
    running = true;
    Promise.resolve()
      .then(fn)
      .catch(() => {})
      .finally(() => {
        running = false;
        if (again) (again = false), run();
      });
  };
  return store.subscribe((state) => {
    const now = key(state);
    if (now === was) return;
    was = now;
    // Each step back (the network, then the socket live) tries again, one try at a time.
    if (state.online !== false) run();
  });
}

/** Where the call's forms page goes back to: the alert while its call is going on, else the forms
 *  list (where a firefighter filling in forms after a call came from; a call this phone no longer
 *  holds among its alerts is over too). */
export function backFromForms(alert, id) {
  const over = !alert || alert.incident?.status !== "open" || alert.state === "cleared";
  return over ? { path: "/forms", label: "Forms" } : { path: alertPath(id), label: "Alert" };
}

/** The call's entry in the forms list the store holds (GET records/, or the copy kept), or null. */
function listedCall(state, id) {
  return (state.recentCalls || []).find((entry) => entry.alert_id === Number(id)) || null;
}

export function formsView(root, { id }, ctx) {
  const { store, outbox } = ctx;
  // statuses: kind -> formStatus's from this phone's outbox and kept forms (null until read: no
  // card is drawn before, rather than "Not started" for a form this phone holds as sent); kept:
  // the forms this phone kept (with who fills in the crew's outcome), until the server's arrive
  // in `forms`; loading: the server is being asked.
  const local = { statuses: null, kept: {}, errors: {}, forms: {}, fromCache: false, loading: true };
  const list = h("ul", { class: "form-list" });
  const banner = h("div");
  const alert = store.state.alerts.get(id);
  const [top, stopTop] = liveTopbar(store, (state) => backFromForms(state.alerts.get(id), id));
  root.append(
    h(
      "main",
      { class: "page" },
      top,
      h("h1", { text: "Forms after the call" }),
      alert?.incident?.cad_reference ? h("p", { class: "lead", text: `Incident ${alert.incident.cad_reference}` }) : null,
      banner,
      list,
      h("p", { class: "hint", text: "Forms are kept on this phone until the server has them, so they can be filled in without signal." }),
      h("p", { class: "hint", text: "If the call affected you, talk to your watch manager or the welfare team now: you do not need to wait for the form." }),
    ),
  );

  function render() {
    banner.replaceChildren(local.fromCache ? notice("warning", "No signal: showing what this phone last knew.") : "");
    if (!local.statuses) return;
    const listed = listedCall(store.state, id);
    replaceChanged(
      list,
      KINDS.map((kind) => {
        // As the forms list has it (the crew's outcome not needed when nobody of it attended, or
        // filled in by another of the crew), from the server's form, else the one this phone
        // kept, else the list's entry of the call: the first drawing says who fills it in when
        // this phone knows, not "Not started" until the server's form arrives.
        const form = local.forms[kind] || local.kept[kind] || undefined;
        const status = pageFormStatus(form, kind, local.statuses[kind], { listed, checking: local.loading });
        const error = local.errors[kind];
        const readOnly = kind === "outcome" && form?.editable === false;
        const who = kind === "outcome" ? outcomeDutyHint(form, local.statuses[kind]) : null;
        // Nothing to read yet of a crew's outcome someone else fills in: no link to an empty form.
        const notMine = readOnly || (!form && kind === "outcome" && listed?.fills_outcome === false);
        const link = !notMine || outcomeSubmitted(form, local.statuses[kind]);
        return h(
          "li",
          { class: "card", dataset: { kind } },
          h("h2", {}, `${FORMS[kind].title} `, statusChip(status)),
          statusDetail(status) ? h("p", { class: "form-status", text: statusDetail(status) }) : null,
          who ? h("p", { class: "hint", text: who }) : null,
          error ? h("p", { class: "hint", text: error }) : null,
          link
            ? h("a", {
                class: ["btn", status.state === ATTENTION ? "btn-primary" : "btn-quiet"],
                href: `#${alertPath(id, "forms")}/${kind}`,
                text: readOnly ? `Read the ${FORMS[kind].title.toLowerCase()} form` : `${ACTION[status.state]}: ${FORMS[kind].title.toLowerCase()} form`,
              })
            : null,
        );
      }),
    );
  }

  async function refresh() {
    const statuses = {};
    for (const kind of KINDS) {
      const { status, cached } = await outbox.statusOf(id, kind);
      statuses[kind] = status;
      local.kept[kind] = cached;
    }
    local.statuses = statuses;
    render();
  }

  async function load() {
    const forms = {};
    let fromCache = false;
    await Promise.all(
      KINDS.map(async (kind) => {
        try {
          const data = await outbox.load(id, kind);
          if (data?.fromCache) fromCache = true;
          if (data) forms[kind] = data;
          delete local.errors[kind];
          // The outcome form's crew by name, kept with the forms for opening it without signal.
          if (kind === "outcome" && data && !data.fromCache) await outbox.crewOf(id, crewOfAlert(store.state, id));
        } catch (error) {
          local.errors[kind] = error.status === 404 ? "Not available for this alert." : error.message;
        }
      }),
    );
    local.forms = forms;
    local.fromCache = fromCache;
    local.loading = false;
    await refresh();
  }

  render();
  refresh().then(load);
  const stopOnline = onBackOnline(store, () => local.fromCache && load());
  const stopRecords = onRecordsChange(store, refresh);
  // The forms list's entries may arrive after this page (fetched as the app starts).
  let calls = store.state.recentCalls;
  const stopCalls = store.subscribe((state) => {
    if (state.recentCalls === calls) return;
    calls = state.recentCalls;
    render();
  });
  return () => (stopTop(), stopRecords(), stopCalls(), stopOnline());
}

// A call listed without signal from this phone's own alerts (outbox.js callsKnownHere).
export const KNOWN_HERE_TEXT = "From this phone: not yet confirmed by the server.";

/** When the call came, in the app's date and time (format.js formatDateTime): "Alerted 7 Dec, 10:11:31". */
export function alertedText(entry) {
  return `Alerted ${formatDateTime(entry?.alerted_at)}`;
}

/** Recent calls (GET records/, kept for offline use, with the calls this phone knows that the
 *  list kept lacks) and the forms of each. */
export function recordsView(root, _params, ctx) {
  const { store, outbox } = ctx;
  const local = { results: null, error: null, fromCache: false };
  const body = h("div");
  const [top, stopTop] = liveTopbar(store, () => ({ path: "/", label: "Home" }));
  root.append(
    h(
      "main",
      { class: "page" },
      top,
      h("h1", { text: "Forms after calls" }),
      h("p", { class: "hint", text: "Calls you accepted in the last 30 days." }),
      body,
    ),
  );

  async function render() {
    if (local.results === null) {
      body.replaceChildren(local.error ? notice("danger", local.error) : h("p", { text: "Loading…" }));
      return;
    }
    const rows = await Promise.all(
      local.results.map(async (entry) => {
        const statuses = await Promise.all(KINDS.map((kind) => outbox.listedStatus(entry, kind)));
        return h(
          "li",
          {},
          h(
            "a",
            { class: "alert-item", href: `#${alertPath(entry.alert_id, "forms")}` },
            h("strong", { text: `Incident ${entry.cad_reference || entry.incident_id}` }),
            h("span", { text: alertedText(entry) }),
            entry.known_here ? h("span", { class: "hint", text: KNOWN_HERE_TEXT }) : null,
            KINDS.map((kind, index) => h("span", { class: "record-status" }, `${FORMS[kind].title}: `, statusChip(statuses[index]))),
          ),
        );
      }),
    );
    body.replaceChildren(
      local.fromCache ? notice("warning", "No signal: showing what this phone last knew.") : "",
      rows.length ? h("ul", { class: "alert-list" }, rows) : h("p", { class: "empty", text: "No calls in the last 30 days." }),
    );
  }

  async function load() {
    try {
      ({ results: local.results, fromCache: local.fromCache } = await outbox.recentCalls(() => callsKnownHere(store.state)));
      // Home's prompt of forms still to fill counts from the same list, and the forms it owes
      // are kept for opening without signal.
      store.update((s) => void (s.recentCalls = local.results));
      if (!local.fromCache) ctx.keepOwedForms?.(local.results);
    } catch (error) {
      local.error = error.message;
    }
    render();
  }

  render();
  load();
  const stopRecords = onRecordsChange(store, render);
  const stopOnline = onBackOnline(store, () => local.fromCache && load());
  return () => (stopTop(), stopRecords(), stopOnline());
}
