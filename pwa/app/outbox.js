// The after-call forms on this phone: what the server holds (GET alerts/{id}/{kind}/, kept in
// the kv store so a form opens without signal) and the submissions waiting to be sent (the
// "outbox" store, through the same EventQueue as the checklist's events: one idempotency key
// per submission, kept for every retry, sent in the order they were made).

import { AUTH, CONFLICT, PENDING, REJECTED, SENT, classifyStatus } from "./queue.js";
import { QueueSync } from "./queue-sync.js";
import { KINDS, formStatus, formsToFill, listedFormStatus, patchBody, postBody, valuesFrom } from "./records-rules.js";
import { activeJob, attendedHere, incidentOf } from "./store.js";

const SESSION_CODES = new Set(["not_authenticated", "authentication_failed"]);

// The welfare check-in asks nothing of what the server knows: opened without signal on a phone
// that never loaded it, it starts blank rather than refusing (found by trying the product). Had
// another phone sent one first, the server says so when this one is sent (already_submitted).
const STARTS_BLANK = new Set(["welfare"]);

// The forms of recent calls kept for use without signal (keepOwedForms): only calls with a form
// still owed, the newest few of the last week, and a form kept in the last quarter of an hour is
// not asked for again (unless it was kept during its call, and the call has ended since). A few
// requests when the firefighter attended (the job in progress's), when a job ends or the app
// comes back to the foreground.
export const KEEP_CALLS = 5;
export const KEEP_DAYS = 7;
export const KEEP_FRESH_MS = 15 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;

// GET records/ lists the calls of the last RECORDS_DAYS (backend/api/records_views.py MY_RECORDS_DAYS).
export const RECORDS_DAYS = 30;

/**
 * The calls GET records/ would list that this phone knows from its own alerts (`state`: the app's
 * store, kept offline by sync.js), as entries of that list, newest first. The server's rule
 * (backend/records/access.py my_accepted_alerts): my alerts I accepted at some point (`accepted_at`,
 * kept by a withdrawal, cleared by a re-alert; or `first_accepted_at`, which a re-alert keeps: found
 * by a browser trial, a call accepted, stood down, alerted again and cancelled left the list) first
 * alerted in the last RECORDS_DAYS, whatever the call's state now. Each entry is `known_here`: not
 * confirmed by the server. What the phone cannot judge is left out, so the screens take it as not
 * known: who of the crew fills in its outcome
 * (`fills_outcome`, `outcome_expected`, `is_crew_lead`: the crew's skills and the events their
 * phones logged) and the records the server holds (null: this phone's own are read by listedStatus).
 * `own_forms_expected` as the server has it (never_set_off), with "attended" as this phone knows
 * it (the server's on-scene time, or events logged on scene here). Pure.
 */
export function callsKnownHere(state, now = Date.now()) {
  const since = now - RECORDS_DAYS * DAY_MS;
  const calls = [];
  for (const alert of state?.alerts?.values() || []) {
    if (!everAccepted(alert) || !(Date.parse(alert.alerted_at) >= since)) continue;
    calls.push(knownEntry(state, alert));
  }
  return calls.sort(newestCallFirst);
}

/** Accepted at some point, as the server's records/access.py ever_accepted. */
function everAccepted(alert) {
  return Boolean(alert?.accepted_at || alert?.first_accepted_at);
}

// How an accepted alert ends for one who may never have set off (backend/records/access.py
// ENDED_UNLESS_GOING): withdrew ("Can't attend after all"), stood down, the call cancelled.
const ENDED_UNLESS_GOING = new Set(["declined", "stood_down", "cancelled"]);

/** Accepted, and it ended before they set off (no en-route time, not attended): they owe no form of
 *  their own, as the server's never_set_off. Found by a browser trial: the forms list asked one
 *  stood down, or whose call was cancelled, before setting off for an attendance and a welfare form.
 *  Set off at some point: `en_route_at`, or `first_en_route_at`, which a re-alert keeps (one who set
 *  off, was stood down and alerted again was mobile: their attendance form feeds on-call pay). */
function neverSetOff(state, alert) {
  return ENDED_UNLESS_GOING.has(alert.state) && !alert.en_route_at && !alert.first_en_route_at && !attendedHere(state, alert);
}

/** One alert I accepted as an entry of GET records/, from what this phone knows (callsKnownHere). */
function knownEntry(state, alert) {
  return {
    alert_id: alert.id,
    incident_id: alert.incident_id,
    cad_reference: incidentOf(state, alert)?.cad_reference ?? null,
    alerted_at: alert.alerted_at,
    attendance: null,
    outcome: null,
    welfare: null,
    own_forms_expected: !neverSetOff(state, alert),
    known_here: true,
  };
}

/**
 * The job in progress (store.js activeJob) and whether its forms are kept on this phone ahead of
 * its end: {id, entry}, `id` the job's alert (null: none), `entry` the job as an entry of GET
 * records/ (callsKnownHere's) once the firefighter attended (on scene, as the server has it, or
 * checklist events logged on scene here), else null. Found by trying the product: the signal went
 * before the call ended, and its attendance and outcome forms would not open offline, as they
 * were kept only once the job had ended. Not before attending: the server serves a live job's
 * forms (GET alerts/{id}/{kind}/, to anyone who accepted), but the crew's outcome duty and the
 * times are not settled until someone is on scene (kept on the way, the outcome form would say
 * "nobody of your crew attended"), one who withdraws before setting off owes nothing, and on the
 * way the call comes first. What is kept is asked for again when the call ends (`kept_during_call`).
 */
export function jobFormsAhead(state) {
  const job = state?.alerts ? activeJob(state) : null;
  if (!job) return { id: null, entry: null };
  return { id: job.id, entry: job.accepted_at && attendedHere(state, job) ? knownEntry(state, job) : null };
}

/** GET records/'s order: newest alerted first, then the highest alert id. */
function newestCallFirst(a, b) {
  return Date.parse(b.alerted_at) - Date.parse(a.alerted_at) || b.alert_id - a.alert_id;
}

/** The list kept (`kept`: GET records/'s results) with the calls this phone knows that it lacks
 *  (`known`: callsKnownHere's), in the server's order. Pure. */
export function withCallsKnownHere(kept, known) {
  const listed = new Set((kept || []).map((entry) => entry.alert_id));
  const missing = (known || []).filter((entry) => !listed.has(entry.alert_id));
  return missing.length ? [...(kept || []), ...missing].sort(newestCallFirst) : kept || [];
}

/** The calls of two lists to keep (`later` given after `earlier`), each once: the later entry of a
 *  call, unless it is only known here and the earlier one is the server's. */
function withEntries(earlier, later) {
  if (!earlier?.length) return later || [];
  const merged = new Map((earlier || []).map((entry) => [entry.alert_id, entry]));
  for (const entry of later || []) {
    const before = merged.get(entry.alert_id);
    if (!before || !entry.known_here || before.known_here) merged.set(entry.alert_id, entry);
  }
  return [...merged.values()];
}

// Each answer from the server for a form gets its own mark (heard_at), compared only for change
// (record-form.js withKeptCopy): a time alone repeats within a millisecond (CI on 1f52ab0: a form
// loaded and its submission accepted in the same one kept "No signal" up).
let heardCount = 0;
function heardMark() {
  heardCount += 1;
  return `${new Date().toISOString()}#${heardCount}`;
}

/** A form as it starts when the server has nothing for it yet. */
function blankForm() {
  return { record: null, prefill: {}, editable: true, lock_hours: null, note: null, draft: null };
}

/** An answer that says asking again now is pointless: no signal, or no session. */
function stopsAsking(error) {
  return Boolean(error?.offline) || error?.status === 401 || error?.status === 403;
}

/** What a response means for a queued form. A 403 that is not about the session (the outcome
 *  form sent by someone who is not the crew lead) will never be accepted: it needs attention. */
export function classifyRecordStatus(status, body) {
  if (status === 403) {
    const error = body?.error || {};
    return SESSION_CODES.has(error.code) || /csrf/i.test(error.message || "") ? AUTH : REJECTED;
  }
  return classifyStatus(status);
}

export function recordPath(alertId, kind) {
  return `/alerts/${Number(alertId)}/${kind}/`;
}

/** The body sent for a queued item: the same bytes on every retry. */
export function requestOf(item) {
  return { method: item.data.method, path: recordPath(item.alert_id, item.type), body: { idempotency_key: item.idempotency_key, ...item.data.body } };
}

/** The newest queued item for each form kind of one alert. */
export function newestByKind(items, alertId) {
  const newest = {};
  for (const item of items) if (item.alert_id === Number(alertId)) newest[item.type] = item;
  return newest;
}

/** Would these answers (a POST body: unanswered fields left out) change the record the server holds? */
export function differsFrom(kind, answers, record) {
  return Object.keys(patchBody(kind, valuesFrom(kind, { ...record, ...answers }), record)).length > 0;
}

/** The forms, sent through the "outbox" store; sending, retries and logout are QueueSync's. */
export class RecordOutbox extends QueueSync {
  /** `jobInProgress()`: the alert id of the job in progress, or null: a form fetched for it is
   *  marked as kept during its call (`kept_during_call`), to be fetched again once it has ended. */
  constructor({ stores, api, onAuthRequired, onChange, jobInProgress = () => null }) {
    super({
      stores,
      api,
      storage: stores.outbox,
      send: (item) => {
        const { method, path, body } = requestOf(item);
        return api.raw(method, path, body);
      },
      classify: classifyRecordStatus,
      onAuthRequired,
      onChange,
    });
    this._keeping = null; // the run of keepOwedForms under way
    this._keepNext = null; // the list it keeps next
    this.jobInProgress = jobInProgress;
  }

  /** Is this alert the job in progress (its call not over, as this phone knows)? */
  _inProgress(alertId) {
    const job = this.jobInProgress();
    return job !== null && job !== undefined && Number(job) === Number(alertId);
  }

  _key(alertId, kind) {
    return `record:${this.owner}:${Number(alertId)}:${kind}`;
  }

  /** What this phone last knew of a form: {record, prefill, editable, lock_hours, note, draft,
   *  kept_during_call} or null; `draft` holds answers from this phone that were not sent (the form
   *  was already submitted); `kept_during_call`: fetched while its call was the job in progress,
   *  so the times from later on (the left-scene estimate made when the call ends...) are not in it. */
  async cached(alertId, kind) {
    return (await this.stores.kv.get(this._key(alertId, kind))) || null;
  }

  async _remember(alertId, kind, changes) {
    const current = (await this.cached(alertId, kind)) || blankForm();
    const next = { ...current, ...changes, key: this._key(alertId, kind), alert_id: Number(alertId), kind, saved_at: new Date().toISOString() };
    await this.stores.kv.put(next);
    return next;
  }

  /** The form from the server, remembered for offline use. Throws ApiError (offline: status 0). */
  async _fetch(alertId, kind) {
    const data = await this.api.request("GET", recordPath(alertId, kind));
    const kept = await this.cached(alertId, kind);
    // A note about the server's copy replacing ours stays until the record changes again.
    const note = kept?.note && kept.record?.version === data.record?.version ? kept.note : null;
    const duringCall = this._inProgress(alertId);
    // heard_at: the server answered (record-form.js withKeptCopy).
    return { ...(await this._remember(alertId, kind, { ...data, note, kept_during_call: duringCall, heard_at: heardMark() })), fromCache: false };
  }

  /** The form from the server (remembered for offline use); without signal, what was remembered
   *  ({..., fromCache: true}), a blank welfare check-in ({..., fromCache: true, blank: true}: it
   *  needs nothing from the server), or null. Other errors (404...) are thrown. */
  async load(alertId, kind) {
    try {
      return await this._fetch(alertId, kind);
    } catch (error) {
      if (!error.offline) throw error;
      const cached = await this.cached(alertId, kind);
      if (cached) return { ...cached, fromCache: true };
      return STARTS_BLANK.has(kind) ? { ...blankForm(), fromCache: true, blank: true } : null;
    }
  }

  /** The appliance call sign the attendance form of this call gives, or "": the newest queued
   *  submission that says one (waiting offline, or refused and still this phone's answer), else
   *  the record this phone kept of it (sent), else the server's when it has never been kept. The
   *  outcome form starts from it (found by a trial of the product: the crew lead typed it twice). */
  async attendanceAppliance(alertId) {
    const items = await this.itemsFor(alertId, "attendance");
    for (const item of items.reverse()) {
      const body = item.data?.body || {};
      if ("appliance" in body) return String(body.appliance ?? "").trim();
    }
    let kept = await this.cached(alertId, "attendance");
    if (!kept) kept = await this.load(alertId, "attendance").catch(() => null); // a 404: no form
    return String(kept?.record?.appliance ?? "").trim();
  }

  _crewKey(alertId) {
    return `crew:${this.owner}:${Number(alertId)}`;
  }

  /**
   * The crew of one call, for the names on its outcome form: `known` (the crew the app's store
   * holds), else the server's (GET alerts/{id}/), kept on this phone either way; without them,
   * the crew last kept ([] if none). Without it a form opened offline named the crew "Firefighter
   * 1" (found by trying the product: after logging in afresh the store holds no ended call).
   */
  async crewOf(alertId, known = []) {
    let crew = known;
    if (crew.length === 0) {
      try {
        crew = (await this.api.request("GET", `/alerts/${Number(alertId)}/`))?.crew || [];
      } catch {
        return (await this.stores.kv.get(this._crewKey(alertId)))?.crew || [];
      }
    }
    if (crew.length) await this.stores.kv.put({ key: this._crewKey(alertId), crew }).catch(() => {}); // shown all the same
    return crew;
  }

  /**
   * Fetch and keep the forms of the recent calls that still owe one (GET records/'s `entries`),
   * as a call's page does, so they open without signal later: a firefighter whose call ended and
   * who then lost signal could not open a form this phone had never loaded (found by trying the
   * product). `skip`: the job in progress until the firefighter attended (jobFormsAhead: its
   * forms are not kept yet); `knownCrew(alertId)`: the crew the store holds, for the outcome
   * form's names. Runs one at a time; the lists given while one runs are kept after it, together
   * (the job in progress's and GET records/'s: neither is dropped), with the options given last.
   * Modest: see KEEP_CALLS.
   */
  keepOwedForms(entries, options = {}) {
    this._keepNext = { entries: withEntries(this._keepNext?.entries, entries), options };
    this._keeping ||= this._keepInTurn().finally(() => (this._keeping = null));
    return this._keeping;
  }

  async _keepInTurn() {
    while (this._keepNext) {
      const { entries, options } = this._keepNext;
      this._keepNext = null;
      await this._keepOwed(entries, options);
    }
  }

  async _keepOwed(entries, { skip = null, knownCrew = () => [], now = Date.now() }) {
    const owner = this.owner;
    for (const entry of await this._owedCalls(entries, skip, now)) {
      if (this.owner !== owner) return; // logged out meanwhile
      const kinds = await Promise.all(KINDS.map((kind) => this._keepFresh(entry.alert_id, kind, now)));
      if (kinds.some(stopsAsking)) return; // no signal (or session): the next list tries again
      // The names for the outcome form, unless nobody of the crew attended (then it is not owed).
      if (entry.outcome_expected !== false) await this.crewOf(entry.alert_id, knownCrew(entry.alert_id));
    }
  }

  /** The newest KEEP_CALLS of these calls alerted in the last KEEP_DAYS with a form still to fill. */
  async _owedCalls(entries, skip, now) {
    const recent = (entries || [])
      .filter((entry) => entry.alert_id !== skip && now - Date.parse(entry.alerted_at) < KEEP_DAYS * DAY_MS)
      .sort((a, b) => Date.parse(b.alerted_at) - Date.parse(a.alerted_at));
    const owed = [];
    for (const entry of recent) {
      if (owed.length >= KEEP_CALLS) break;
      const statuses = {};
      for (const kind of KINDS) statuses[kind] = await this.listedStatus(entry, kind);
      if (formsToFill(entry, statuses).length) owed.push(entry);
    }
    return owed;
  }

  /** Fetch one form unless it was kept lately (and not during its call, which has ended since:
   *  the times of its end are in the server's form now); the error (never thrown: one form's 404
   *  must not stop the others), or null. */
  async _keepFresh(alertId, kind, now) {
    const kept = await this.cached(alertId, kind);
    const endedSince = kept?.kept_during_call && !this._inProgress(alertId);
    if (kept && !endedSince && now - Date.parse(kept.saved_at) < KEEP_FRESH_MS) return null;
    try {
      await this._fetch(alertId, kind);
      return null;
    } catch (error) {
      return error;
    }
  }

  /** Queue a submission (method POST or PATCH, body without the key) and try to send it. A
   *  refused earlier submission of the same form is replaced by this one. */
  async submit(alertId, kind, method, body) {
    await this.forgetTypedAnswers(alertId, kind); // the form's answers are in the queue now
    for (const item of await this.itemsFor(alertId, kind)) {
      if (item.state !== PENDING) await this.queue.discard(item.idempotency_key);
    }
    const item = await this.queue.enqueue({ owner: this.owner, alert_id: Number(alertId), type: kind, data: { method, body } });
    this.sync();
    return item;
  }

  async _result(item, outcome, body) {
    if (outcome === SENT && body?.record) {
      // The server holds this phone's answers now: an unsent draft has been used (or overtaken).
      await this._remember(item.alert_id, item.type, { record: body.record, note: null, draft: null, heard_at: heardMark() });
    } else if (outcome === CONFLICT && body?.error?.code === "already_submitted" && body.error.record) {
      // Someone (another phone, or this one before a reset) submitted it first: the server's
      // record stands and is shown. This copy is not left to fail again, but the answers typed
      // on this phone are kept as a draft when they differ, to be offered as a change.
      const record = body.error.record;
      const { reason: _reason, ...answers } = item.data.body;
      await this._remember(item.alert_id, item.type, {
        record,
        heard_at: heardMark(),
        draft: differsFrom(item.type, answers, record) ? answers : null,
        note: "This form had already been submitted, so the server kept its record (shown here) and not the copy from this phone. Change it below, with a reason, if it needs correcting.",
      });
      await this.queue.discard(item.idempotency_key);
    }
  }

  /** Logging out: the forms not yet kept are not asked for (the kv store is cleared by main.js). */
  async _forgetOnLogout() {
    this._keepNext = null;
  }

  _typedKey(alertId, kind) {
    return `form-draft:${this.owner}:${Number(alertId)}:${kind}`;
  }

  /**
   * The answers typed into a form on this phone and not sent yet (record-form.js), kept in the kv
   * store with the forms (so cleared at logout), until sent (submit) or discarded: found by a
   * browser trial, a form half filled in was blank again after a new alert was opened and answered.
   * {changes, reason, touched, submitted, base}: `changes` the fields the firefighter changed (the
   * form's values, nothing more), `base` the version of the record they change (null: a new form).
   * Typed over a record that has changed since (another phone sent the form), they are not put over
   * it: they are offered as a change of it, as an overtaken submission's are (`draft`), when they
   * differ. `record`: the record the form shows now. Null when there are none.
   */
  async typedAnswers(alertId, kind, record = null) {
    const kept = await this.stores.kv.get(this._typedKey(alertId, kind));
    if (!kept?.changes) return null;
    if (kept.base === (record?.version ?? null)) return kept;
    await this.forgetTypedAnswers(alertId, kind);
    const answers = postBody(kind, valuesFrom(kind, { ...record, ...kept.changes }));
    if (record && differsFrom(kind, answers, record)) await this._remember(alertId, kind, { draft: answers });
    return null;
  }

  /** Keep the answers being typed into a form (typedAnswers); `base`: the record's version, or null. */
  async keepTypedAnswers(alertId, kind, { changes, reason = "", touched = [], submitted = false, base = null }) {
    const key = this._typedKey(alertId, kind);
    await this.stores.kv.put({ key, alert_id: Number(alertId), kind, base, changes, reason, touched, submitted, saved_at: new Date().toISOString() });
  }

  /** Forget the answers typed into a form: sent, or discarded. */
  async forgetTypedAnswers(alertId, kind) {
    const key = this._typedKey(alertId, kind);
    if (this.stores.kv.delete) await this.stores.kv.delete(key);
    else await this.stores.kv.put({ key, changes: null });
  }

  /** The firefighter chose to keep the server's record: forget the answers that were not sent. */
  async discardDraft(alertId, kind) {
    await this._remember(alertId, kind, { draft: null, note: null });
    this.onChange();
  }

  /** This user's queued items for one form (or all forms of the alert), oldest first. */
  async itemsFor(alertId, kind) {
    const items = await this._ownItems();
    return items.filter((item) => item.alert_id === Number(alertId) && (kind === undefined || item.type === kind));
  }

  /** Where one form stands: {status, record, item, cached}. */
  async statusOf(alertId, kind) {
    const cached = await this.cached(alertId, kind);
    const items = await this.itemsFor(alertId, kind);
    const item = items.at(-1) || null;
    return { status: formStatus(cached?.record || null, item), record: cached?.record || null, item, cached };
  }

  /** My calls of the last 30 days with where each form stands (GET records/), kept for offline
   *  use: {results, fromCache}. Without signal, the list last kept with the calls this phone
   *  knows that it lacks (`knownHere()`: callsKnownHere's, asked then: found by a browser trial, a
   *  call attended after the list was kept could not be found offline, nor its forms started);
   *  with neither, the error. */
  async recentCalls(knownHere = () => []) {
    const key = `records-list:${this.owner}`;
    try {
      const page = await this.api.request("GET", "/records/");
      const results = Array.isArray(page?.results) ? page.results : [];
      this.stores.kv.put({ key, results }).catch(() => {});
      return { results, fromCache: false };
    } catch (error) {
      if (!error.offline) throw error;
      const kept = await this.stores.kv.get(key);
      const known = knownHere();
      if (!kept && !known.length) throw error;
      return { results: withCallsKnownHere(kept?.results, known), fromCache: true };
    }
  }

  /** Where a form of a listed call stands: this phone's queued copy first (newer than any list),
   *  else the record the list says the server holds, else the one this phone last saw. */
  async listedStatus(entry, kind) {
    const local = await this.statusOf(entry.alert_id, kind);
    if (local.item) return local.status;
    const held = entry[kind];
    return listedFormStatus(entry, kind, formStatus(held ? { version: held.version, locked: held.locked } : local.record, null));
  }

  /** How many forms of these listed calls the firefighter still has to fill (home's prompt). */
  async countToFill(entries) {
    let count = 0;
    for (const entry of entries || []) {
      const statuses = {};
      for (const kind of KINDS) statuses[kind] = await this.listedStatus(entry, kind);
      count += formsToFill(entry, statuses).length;
    }
    return count;
  }
}
