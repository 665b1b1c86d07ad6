// One after-call form (#/alerts/42/forms/outcome): prefilled from the server (or from the record
// it already holds), checked as the firefighter types (app/records-rules.js), saved on this
// phone and sent through the outbox, with the server's messages shown next to their fields.
//
// What the screen shows follows where the form stands:
//   edit      a new form, a change to a record (with a reason), or one the server refused
//   pending   saved on this phone, waiting to be sent: read-only until the server has it
//   view      the record the server holds, with "Change" while it is not locked
//   readonly  the outcome form for a crew member who does not fill it in (records-rules.js outcomeReadOnlyText)

import { h } from "../dom.js";
import { formatDateTime } from "../format.js";
import { FORMS, estimateHint, fromLocalInput, isShown, outcomeReadOnlyText, patchBody, postBody, serverErrors, toLocalInput, validate, valuesFrom } from "../records-rules.js";
import { alertPath } from "../router.js";
import { crewOfAlert } from "../store.js";
import { onBackOnline } from "./forms.js";
import { notice, topbar } from "./parts.js";

const SAYS_YES_NO = [["yes", "Yes"], ["no", "No"]];
// A question the server takes null for (field.nullable): "Not known" is sent and stored as null.
const SAYS_YES_NO_NOT_KNOWN = [...SAYS_YES_NO, ["not_known", "Not known"]];
const REASON = "reason";
const MEMBER_STATES = new Set(["accepted", "en_route", "on_scene", "cleared"]);
// Attendance and outcome records lock some hours after submission (then a coordinator amends
// them); a welfare check-in stays its author's to change, and coordinators may not see it.
const LOCKABLE = new Set(["attendance", "outcome"]);

/** Is this record locked against its author's changes? Never for a welfare check-in. */
export function isLocked(kind, record) {
  return LOCKABLE.has(kind) && Boolean(record?.locked);
}

// The app's date and time ("7 Dec, 10:11:31"), as the forms list has it too.
const formatWhen = (iso) => (iso ? formatDateTime(iso) : "");

/** A value as a person reads it. */
export function displayValue(field, value, crewNames = new Map()) {
  if (field.type === "bool") return value === true ? "Yes" : value === false ? "No" : field.nullable ? "Not known" : "Not answered";
  if (value === null || value === undefined || value === "" || (Array.isArray(value) && value.length === 0)) return "Not answered";
  if (field.type === "choice") return (field.choices.find(([key]) => key === String(value)) || [null, String(value)])[1];
  if (field.type === "time") return formatWhen(value);
  if (field.type === "crew") return value.map((id) => crewNames.get(Number(id)) || `Firefighter ${id}`).join(", ");
  return String(value);
}

/** The form shown with what this phone keeps of it now; not fromCache once the server has
 *  answered for it since (outbox heard_at). */
export function withKeptCopy(data, cached) {
  if (!data || !cached) return data;
  const kept = { ...data, record: cached.record, note: cached.note, draft: cached.draft || null, blank: false };
  if (data.fromCache && cached.heard_at && cached.heard_at !== data.heard_at) Object.assign(kept, { fromCache: false, heard_at: cached.heard_at });
  return kept;
}

/** The outcome form as it starts, with the appliance given in the attendance form of the same
 *  call (`appliance`) when the server has none for it: found by a trial of the product, the crew
 *  lead typed the call sign twice. A record the server holds is left as it is. */
export function withAttendanceAppliance(kind, data, appliance) {
  if (kind !== "outcome" || !data || data.record || !appliance) return data;
  if (String(data.prefill?.appliance ?? "").trim()) return data;
  return { ...data, prefill: { ...data.prefill, appliance } };
}

/** What the no-signal notice says of a form opened from the copy this phone kept. A copy of a
 *  form with times that was kept during its call (outbox.js `kept_during_call`: the signal went
 *  before the call ended), not yet submitted, says so: the times from its end (the left-scene
 *  estimate...) are not in it. */
export function keptCopyText(kind, data) {
  const text = "No signal: showing what this phone last knew of this form.";
  const hasTimes = FORMS[kind].sections.some((section) => section.fields.some((field) => field.type === "time"));
  if (!data?.kept_during_call || data.record || !hasTimes) return text;
  return `${text} It was kept during the call, so times from later on are not in it: check them.`;
}

export function formView(root, { id, kind }, ctx) {
  const { store, outbox } = ctx;
  const spec = FORMS[kind];
  const local = {
    data: null, // {record, prefill, editable, lock_hours, note, draft, fromCache}
    loadError: null,
    loading: true,
    item: null, // the newest queued submission of this form
    editing: false, // the firefighter chose to change an accepted record
    useDraft: false, // ... starting from the answers this phone had but did not send
    typed: null, // the answers typed here and not sent yet, kept on this phone (outbox.typedAnswers)
    crew: [], // crew members the firefighter can tick (this station's, who accepted or attended)
    stationCrew: [], // everyone of this station alerted to the incident: the names of those ticked
    modeKey: null,
  };
  const top = h("div");
  const body = h("div");
  const heading = h("h1", { text: `${spec.title} form` });
  root.append(h("main", { class: "page" }, top, heading, body));

  function alertOf() {
    return store.state.alerts.get(id) || null;
  }

  function crewNames() {
    return new Map(local.stationCrew.map((member) => [Number(member.responder_id), member.responder_name]));
  }

  function mode() {
    if (local.loading && !local.data) return "loading";
    if (!local.data) return local.item ? "pending" : "error";
    if (local.item?.state === "pending") return "pending";
    if (local.item && local.item.state !== "pending") return "edit"; // refused: fix and send again
    if (!local.data.editable) return "readonly";
    if (local.data.record && !local.editing) return "view";
    return "edit";
  }

  // --- Reading the server's form and the outbox -------------------------------------------------
  async function load() {
    try {
      local.data = await outbox.load(id, kind);
      if (kind === "outcome" && local.data && !local.data.record) local.data = withAttendanceAppliance(kind, local.data, await outbox.attendanceAppliance(id).catch(() => ""));
      local.loadError = local.data ? null : "This form has not been opened on this phone before and there is no signal to load it. Try again with signal.";
      // Answers typed before the firefighter went elsewhere (a new alert...): the form opens with
      // them, a change of the record as a change again (found by a browser trial: all were lost).
      if (local.data && !local.typed) {
        local.typed = await outbox.typedAnswers(id, kind, local.data.record).catch(() => null);
        if (local.typed && local.data.record) local.editing = true;
      }
    } catch (error) {
      local.loadError = error.status === 404 ? "There is no form for this alert: forms are for alerts you accepted." : error.message;
    }
    await loadCrew();
    local.loading = false;
    await refresh();
  }

  async function loadCrew() {
    if (kind !== "outcome") return;
    const me = store.state.me;
    // The store's crew, else the server's, else (offline) the crew this phone kept with the forms.
    const crew = await outbox.crewOf(id, crewOfAlert(store.state, id));
    const station = me?.responder?.station?.name;
    local.stationCrew = crew.filter((member) => member.station === station);
    // Those who were on scene are offered whatever their alert's state now: a cancelled incident
    // ends every alert as "cancelled", crew lead included (found by trying the product: the form
    // then named no one, and the prefilled crew lead as "Firefighter 10").
    local.crew = local.stationCrew.filter((member) => MEMBER_STATES.has(member.state) || member.attended);
  }

  async function refresh() {
    const items = await outbox.itemsFor(id, kind);
    const before = local.item;
    local.item = items.at(-1) || null;
    if (local.data) {
      local.data = withKeptCopy(local.data, await outbox.cached(id, kind));
    }
    const refused = before?.state === "pending" && local.item && local.item.state !== "pending";
    render(false, { focusErrors: refused });
  }

  // --- The screen ---------------------------------------------------------------------------------
  function statusNotice() {
    const record = local.data?.record;
    if (local.item?.state === "pending") {
      const waiting = store.state.online === false ? "No signal: it is sent when the phone is back online, even if the app is closed and opened again." : "Sending…";
      return notice("warning", `Saved on this phone, not sent yet. ${waiting}`);
    }
    if (local.item) return notice("danger", `The server did not accept this form: ${local.item.last_error || "see the messages below."} Correct it and send it again.`);
    if (record) {
      const parts = [`Sent and accepted (version ${record.version}), ${formatWhen(record.updated_at || record.submitted_at)}.`];
      if (isLocked(kind, record)) parts.push("Locked: ask a coordinator to amend it.");
      else if (record.locks_at && LOCKABLE.has(kind)) parts.push(`You can change it until ${formatWhen(record.locks_at)}.`);
      else if (kind === "welfare") parts.push("You can change it at any time.");
      return h("div", { class: "notice ok", role: "status" }, h("p", { text: parts.join(" ") }));
    }
    return null;
  }

  function offlineText() {
    if (local.data?.blank) return notice("warning", "No signal: fill it in now, and it is kept on this phone and sent when there is signal.");
    if (local.data?.fromCache) return notice("warning", keptCopyText(kind, local.data));
    return null;
  }

  function render(force = false, { focusErrors = false } = {}) {
    const state = store.state;
    const current = mode();
    // Rebuilt only when where the form stands changes: never under the fingers of someone typing.
    const key = JSON.stringify([current, local.item?.idempotency_key, local.item?.state, local.data?.record?.version, local.data?.note, Boolean(local.data?.draft), local.useDraft, local.loadError]);
    // Even when the form is not rebuilt (being typed in).
    offlineNotice.replaceChildren(...[offlineText()].filter(Boolean));
    if (!force && key === local.modeKey) return;
    local.modeKey = key;
    top.replaceChildren(topbar(state, { path: alertPath(id, "forms"), label: "Forms" }));
    const alert = alertOf();
    const intro = [
      alert?.incident?.cad_reference ? h("p", { class: "lead", text: `Incident ${alert.incident.cad_reference}` }) : null,
      h("p", { class: "hint", text: spec.intro }),
    ];
    if (current === "loading") return body.replaceChildren(...intro.filter(Boolean), h("p", { text: "Loading…" }));
    if (current === "error") return body.replaceChildren(...intro.filter(Boolean), notice("danger", local.loadError));
    const parts = [...intro, cadTimes()];
    parts.push(offlineNotice);
    const draft = current === "view" ? draftNotice() : null;
    if (draft) parts.push(draft); // it says what the note says, and what can be done about it
    else if (local.data?.note) parts.push(notice("info", local.data.note));
    parts.push(statusNotice());
    if (current === "edit") parts.push(editForm({ focusErrors }));
    else if (current === "pending") parts.push(readView(queuedValues()));
    else if (current === "readonly") parts.push(...readOnly());
    else parts.push(...viewRecord());
    parts.push(h("a", { class: "btn btn-quiet", href: `#${alertPath(id, "forms")}`, text: "Back to the forms" }));
    body.replaceChildren(...parts.flat(Infinity).filter(Boolean));
  }

  /** The ambulance service's own times (sent by its CAD), read-only: the crew sees them, never types them. */
  function cadTimes() {
    const times = local.data?.cad_times;
    if (kind !== "outcome" || !times) return null;
    const rows = [
      ["999 call received", times.call_received_at],
      ["Ambulance at scene", times.ambulance_at_scene_at],
    ];
    return h(
      "section",
      { class: "cad-times", "aria-labelledby": "cad-times-title" },
      h("h2", { id: "cad-times-title", text: "From the ambulance service (read-only)" }),
      h("dl", {}, ...rows.flatMap(([label, iso]) => [h("dt", { text: label }), h("dd", { text: iso ? formatWhen(iso) : "Not sent yet" })])),
    );
  }

  function baseValues() {
    return valuesFrom(kind, local.data?.record || local.data?.prefill || {});
  }

  /** The values of the queued (or refused) submission, over what it was based on. */
  function queuedValues() {
    const base = local.data?.record || local.data?.prefill || {};
    const { reason: _reason, ...changes } = local.item?.data?.body || {};
    return valuesFrom(kind, { ...base, ...changes });
  }

  function readView(values) {
    const names = crewNames();
    return spec.sections.map((section) =>
      h(
        "section",
        { class: "card record-view" },
        section.legend ? h("h2", { text: section.legend }) : null,
        h(
          "dl",
          {},
          section.fields
            .filter((field) => isShown(field, values))
            .map((field) => [h("dt", { text: field.label }), h("dd", { text: displayValue(field, values[field.name], names) })]),
        ),
      ),
    );
  }

  /** The answers this phone had but did not send (someone submitted the form first), over the
   *  server's record: what was left unanswered here keeps the record's value. */
  function draftValues() {
    return valuesFrom(kind, { ...local.data?.record, ...local.data?.draft });
  }

  function startChange(fromDraft) {
    local.editing = true;
    local.useDraft = fromDraft;
    render(true);
    body.querySelector("#record-form input, #record-form textarea")?.focus();
  }

  async function discardDraft() {
    await outbox.discardDraft(id, kind);
    await refresh();
    body.querySelector("button")?.focus(); // the button pressed is gone: "Change this record"
  }

  /** The server kept another submission: offer this phone's unsent answers as a change. */
  function draftNotice() {
    const record = local.data?.record;
    if (!local.data?.draft || !record || isLocked(kind, record)) return null;
    return h(
      "div",
      { class: "notice warning", role: "status" },
      h("p", { text: "This form had already been submitted, so the server kept its record (shown below). Your phone had different answers that were not sent:" }),
      h(
        "div",
        { class: "row" },
        h("button", { type: "button", class: "btn btn-primary", text: "Use my answers as a change", on: { click: () => startChange(true) } }),
        h("button", { type: "button", class: "btn btn-quiet", text: "Discard my answers", on: { click: discardDraft } }),
      ),
    );
  }

  function viewRecord() {
    const record = local.data.record;
    const change = !isLocked(kind, record) ? h("button", { type: "button", class: "btn btn-primary", text: "Change this record", on: { click: () => startChange(false) } }) : null;
    return [change, readView(valuesFrom(kind, record))];
  }

  /** The server says this user may not change the form now: say why, and show what it holds. */
  function readOnly() {
    const record = local.data.record;
    let why = "This form cannot be changed now.";
    if (isLocked(kind, record)) why = `This record was locked ${local.data.lock_hours || 72} hours after it was submitted. Ask a coordinator to amend it.`;
    else if (kind === "outcome") why = outcomeReadOnlyText(local.data);
    const nothing = "Nothing has been submitted.";
    return [notice("info", why), record ? readView(valuesFrom(kind, record)) : h("p", { class: "empty", text: nothing })];
  }

  // --- The form being filled in ----------------------------------------------------------------
  function editForm({ focusErrors }) {
    const refused = local.item && local.item.state !== "pending";
    const record = local.data?.record || null;
    const values = refused ? queuedValues() : local.useDraft && record ? draftValues() : baseValues();
    const fromServer = refused ? serverErrors(kind, local.item.last_fields) : {};
    // The answers typed here before (outbox.typedAnswers), over the same record: the fields changed,
    // which were touched, and the messages as they were shown.
    const typedBase = record?.version ?? null;
    const typed = local.typed?.base === typedBase ? local.typed : null;
    const changes = { ...typed?.changes };
    Object.assign(values, changes);
    const touched = new Set([...(refused ? Object.keys(fromServer) : []), ...(typed?.touched || [])]);
    let submitted = Boolean(refused) || Boolean(typed?.submitted);
    let reason = typed ? typed.reason || "" : refused ? local.item.data.body.reason || "" : "";
    const controls = {};
    let summaryCount = 0;
    let sending = false;

    const describe = (name, hint) => [hint ? `hint-${name}` : null, `err-${name}`].filter(Boolean).join(" ");
    const errorLine = (name) => h("p", { class: "field-error", id: `err-${name}`, hidden: true });

    function changed(name, value) {
      values[name] = value;
      changes[name] = value;
      touched.add(name);
      delete fromServer[name];
      update();
      keepTyped();
    }

    /** Keep what was typed on this phone until it is sent or discarded (outbox.typedAnswers). */
    function keepTyped() {
      if (Object.keys(changes).length === 0 && !reason) return;
      local.typed = { base: typedBase, changes: { ...changes }, reason, touched: [...touched], submitted };
      outbox.keepTypedAnswers(id, kind, local.typed).catch(() => {}); // in memory for this page all the same
      if (clearTyped) clearTyped.hidden = false;
    }

    function choiceGroup(field, options, type = "radio") {
      const group = h(
        "fieldset",
        { class: "field", id: `f-${field.name}`, "aria-describedby": describe(field.name, field.hint) },
        h("legend", { text: field.label }),
        field.hint ? h("p", { class: "hint", id: `hint-${field.name}`, text: field.hint }) : null,
      );
      const inputs = options.map(([value, label]) => {
        const input = h("input", { type, name: `f-${field.name}`, id: `f-${field.name}-${value}`, value });
        return { value, input, label: h("label", { class: "choice", for: input.id }, input, h("span", { text: label })) };
      });
      group.append(h("div", { class: "choices" }, inputs.map((option) => option.label)), errorLine(field.name));
      return { group, inputs: inputs.map((option) => option.input), options: inputs };
    }

    function fieldControl(field) {
      const value = values[field.name];
      if (field.type === "bool" || field.type === "choice") {
        const options = field.type !== "bool" ? field.choices : field.nullable ? SAYS_YES_NO_NOT_KNOWN : SAYS_YES_NO;
        const { group, inputs } = choiceGroup(field, options);
        for (const input of inputs) {
          input.checked = field.type === "bool" ? (value === true && input.value === "yes") || (value === false && input.value === "no") || (value === null && input.value === "not_known") : value === input.value;
          input.addEventListener("change", () => changed(field.name, field.type === "bool" ? (input.value === "not_known" ? null : input.value === "yes") : input.value));
        }
        return { wrap: group, inputs };
      }
      if (field.type === "crew") {
        const names = crewNames();
        const ids = [...new Set([...local.crew.map((member) => Number(member.responder_id)), ...(value || []).map(Number)])];
        if (ids.length === 0) {
          return { wrap: h("div", { class: "field", id: `f-${field.name}` }, h("p", { class: "hint", text: "Crew: none known yet. The crew is filled in from the alert when there is signal." }), errorLine(field.name)), inputs: [] };
        }
        const { group, inputs } = choiceGroup(field, ids.map((rid) => [String(rid), names.get(rid) || `Firefighter ${rid}`]), "checkbox");
        for (const input of inputs) {
          input.checked = (values.crew || []).map(String).includes(input.value);
          input.addEventListener("change", () => changed("crew", inputs.filter((box) => box.checked).map((box) => Number(box.value))));
        }
        return { wrap: group, inputs };
      }
      const inputId = `f-${field.name}`;
      let input;
      let extra = null;
      if (field.type === "time") {
        input = h("input", { type: "datetime-local", id: inputId, step: 1, value: toLocalInput(value) });
        input.addEventListener("input", () => changed(field.name, fromLocalInput(input.value)));
        extra = h("button", {
          type: "button",
          class: "btn btn-small btn-quiet btn-clear",
          text: "Clear",
          "aria-label": `Clear time: ${field.label}`,
          on: { click: () => ((input.value = ""), changed(field.name, null)) },
        });
      } else if (field.type === "count") {
        input = h("input", { type: "number", id: inputId, min: 0, step: 1, inputMode: "numeric", value: value ?? "" });
        input.addEventListener("input", () => changed(field.name, input.value === "" ? null : Number(input.value)));
      } else if (field.type === "notes") {
        input = h("textarea", { id: inputId, rows: 4, value: value || "" });
        input.addEventListener("input", () => changed(field.name, input.value));
      } else {
        input = h("input", { type: "text", id: inputId, value: value || "", autocomplete: "off" });
        input.addEventListener("input", () => changed(field.name, input.value));
      }
      const counter = field.type === "notes" ? h("p", { class: "hint counter", id: `count-${field.name}` }) : null;
      // A prefilled estimate ("Left scene" from when the call ended) says so, as the form's intro
      // says of the other times filled in for the firefighter (found by the eleventh trial).
      const hint = field.hint || (field.type === "time" ? estimateHint(local.data, field.name, value) : null);
      input.setAttribute("aria-describedby", [describe(field.name, hint), counter ? counter.id : null].filter(Boolean).join(" "));
      input.addEventListener("blur", () => {
        touched.add(field.name);
        update();
        keepTyped();
      });
      const wrap = h(
        "div",
        { class: "field" },
        h("label", { for: inputId, text: field.label }),
        hint ? h("p", { class: "hint", id: `hint-${field.name}`, text: hint }) : null,
        extra ? h("div", { class: "input-row" }, input, extra) : input,
        counter,
        errorLine(field.name),
      );
      return { wrap, inputs: [input], counter };
    }

    const summary = h("div", { class: "notice danger", role: "alert", hidden: true });
    const form = h("form", { id: "record-form", class: "record-form", noValidate: true, "aria-label": `${spec.title} form` });
    form.append(summary);
    for (const section of spec.sections) {
      const items = section.fields.map((field) => {
        controls[field.name] = { field, ...fieldControl(field) };
        return controls[field.name].wrap;
      });
      form.append(section.legend ? h("fieldset", { class: "section" }, h("legend", { text: section.legend }), items) : h("div", { class: "section" }, items));
    }
    if (record) {
      const input = h("textarea", { id: `f-${REASON}`, rows: 2, value: reason, "aria-describedby": `hint-${REASON} err-${REASON}` });
      input.addEventListener("input", () => {
        reason = input.value;
        touched.add(REASON);
        delete fromServer[REASON];
        update();
        keepTyped();
      });
      controls[REASON] = { field: { name: REASON }, inputs: [input], wrap: null };
      form.append(
        h(
          "div",
          { class: "field" },
          h("label", { for: input.id, text: "Why are you changing this record?" }),
          h("p", { class: "hint", id: `hint-${REASON}`, text: "Required for every change after the form was submitted." }),
          input,
          errorLine(REASON),
        ),
      );
    }
    const formError = h("p", { class: "field-error", id: "err-form", tabIndex: -1, hidden: true });
    form.append(formError, h("button", { type: "submit", class: "btn btn-primary btn-big", text: record ? "Save changes" : `Submit ${spec.title.toLowerCase()} form` }));
    if (record) form.append(h("button", { type: "button", class: "btn btn-quiet", text: "Cancel changes", on: { click: cancel } }));
    // A new form's answers typed here are kept until sent, or cleared here.
    const clearTyped = record ? null : h("button", { type: "button", class: "btn btn-quiet", text: "Clear my answers", hidden: !typed, on: { click: () => (forgetTyped(), render(true), heading.focus()) } });
    if (clearTyped) form.append(clearTyped);

    function forgetTyped() {
      local.typed = null;
      outbox.forgetTypedAnswers(id, kind).catch(() => {});
    }

    function cancel() {
      forgetTyped();
      local.editing = false;
      local.useDraft = false;
      if (local.item && local.item.state !== "pending") outbox.queue.discard(local.item.idempotency_key).then(refresh);
      else render(true);
    }

    function currentErrors() {
      const errors = validate(kind, values);
      if (record && submitted && !reason.trim()) errors[REASON] = ["Say why you are changing this record."];
      return errors;
    }

    /** Show each field's messages: the phone's rules once the field was touched (or the form
     *  was submitted), the server's until the field is changed. */
    function update() {
      const errors = currentErrors();
      const shown = [];
      for (const [name, control] of Object.entries(controls)) {
        const field = control.field;
        if (control.wrap) control.wrap.hidden = field.type ? !isShown(field, values) : false;
        const own = submitted || touched.has(name) ? errors[name] || [] : [];
        const messages = [...new Set([...own, ...(fromServer[name] || [])])];
        const line = form.querySelector(`#err-${name}`);
        if (line) {
          line.textContent = messages.join(" ");
          line.hidden = messages.length === 0;
        }
        for (const input of control.inputs) {
          if (messages.length) input.setAttribute("aria-invalid", "true");
          else input.removeAttribute("aria-invalid");
        }
        if (control.counter) control.counter.textContent = `${String(values[name] || "").length} of 1000 characters`;
        if (messages.length) shown.push(name);
      }
      const general = fromServer.form || [];
      formError.textContent = general.join(" ");
      formError.hidden = general.length === 0;
      const count = submitted ? shown.length + (general.length ? 1 : 0) : 0;
      if (count !== summaryCount) {
        // Changed only when the number changes, so a screen reader is not told again on every key.
        summaryCount = count;
        summary.hidden = count === 0;
        summary.replaceChildren(h("p", { text: count === 1 ? "There is 1 problem: see the message next to the field." : `There are ${count} problems: see the messages next to the fields.` }));
      }
      return shown;
    }

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (sending) return; // a double tap submits once
      submitted = true;
      const errors = currentErrors();
      const shown = update();
      keepTyped(); // with its messages shown
      if (Object.keys(errors).length) {
        const first = controls[shown[0]]?.inputs[0];
        first?.focus();
        return;
      }
      let method = "POST";
      let payload = postBody(kind, values);
      if (record) {
        method = "PATCH";
        payload = patchBody(kind, values, record);
        if (Object.keys(payload).length === 0) {
          fromServer.form = ["Nothing has changed: change a field, or cancel."];
          update();
          formError.focus();
          return;
        }
        payload.reason = reason.trim();
      }
      local.editing = false;
      local.useDraft = false;
      local.typed = null; // the outbox forgets them as it queues the form
      sending = true;
      await outbox.submit(id, kind, method, payload);
      await refresh();
      heading.focus();
    });

    update();
    if (focusErrors) {
      // The server refused what was sent: take the firefighter to the first field it named.
      queueMicrotask(() => {
        const name = update()[0];
        (controls[name]?.inputs[0] || (formError.hidden ? heading : formError)).focus();
      });
    }
    return form;
  }

  const offlineNotice = h("div", { class: "form-offline-notice" });
  render();
  load();
  const stopOnline = onBackOnline(store, () => local.data?.fromCache && load());
  let lastChange = store.state.recordsChangedAt;
  let lastOnline = store.state.online;
  const unsubscribe = store.subscribe((state) => {
    if (state.recordsChangedAt !== lastChange) {
      lastChange = state.recordsChangedAt;
      refresh();
    } else if (state.online !== lastOnline) {
      lastOnline = state.online;
      top.replaceChildren(topbar(state, { path: alertPath(id, "forms"), label: "Forms" }));
      if (mode() === "pending") render(true);
    }
  });
  return () => {
    unsubscribe();
    stopOnline();
  };
}
