// The REST API (/api/v1/): session cookie, CSRF header on every unsafe request, and one error
// shape: ApiError with the server's {code, message, fields}, or status 0 when there was no
// answer at all.

const BASE = "/api/v1";
const UNSAFE = new Set(["POST", "PUT", "PATCH", "DELETE"]);

export class ApiError extends Error {
  constructor(status, code, message, fields = {}, body = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.fields = fields || {};
    this.body = body;
  }

  get offline() {
    return this.status === 0;
  }
}

/** The session has ended (or never began): log in again. */
export function isAuthError(error) {
  if (!(error instanceof ApiError)) return false;
  if (error.status === 401) return true;
  return error.status === 403 && ["not_authenticated", "authentication_failed"].includes(error.code);
}

function isCsrfFailure(status, body) {
  return status === 403 && /csrf/i.test(body?.error?.message || "");
}

function cookie(name) {
  for (const part of document.cookie ? document.cookie.split(";") : []) {
    const [key, ...rest] = part.trim().split("=");
    if (key === name) return decodeURIComponent(rest.join("="));
  }
  return null;
}

/** Log out on the server: {ok: true} only on a 2xx, else {ok: false, offline, status} and the
 *  caller keeps everything. Not tried without signal (trial 11: an offline logout deleted the
 *  unsent records while the server session went on). */
export async function endSession(api, { online = true, pushEndpoint = null } = {}) {
  if (online === false) return { ok: false, offline: true, status: 0 };
  try {
    await api.logout(pushEndpoint);
    return { ok: true, offline: false, status: 204 };
  } catch (error) {
    const status = error instanceof ApiError ? error.status : 0;
    return { ok: false, offline: status === 0, status };
  }
}

const GENERIC = {
  0: "No connection to the server. Check the phone's signal and try again.",
  401: "Your session has ended. Log in again.",
  403: "You are not allowed to do this.",
  404: "Not found.",
  409: "That cannot be done now.",
  429: "Too many attempts. Wait a moment and try again.",
};

export class Api {
  constructor({ fetchImpl = (...args) => fetch(...args) } = {}) {
    this.fetch = fetchImpl;
    this.csrfFromServer = null;
    this.onAuthRequired = () => {};
  }

  async csrfToken({ refresh = false } = {}) {
    if (!refresh) {
      const fromCookie = cookie("csrftoken");
      if (fromCookie) return fromCookie;
      if (this.csrfFromServer) return this.csrfFromServer;
    }
    try {
      const { body } = await this.raw("GET", "/auth/csrf/");
      this.csrfFromServer = body?.csrf_token || null;
    } catch {
      // offline: the request that needed it will fail and say so
    }
    return cookie("csrftoken") || this.csrfFromServer;
  }

  /** One request; resolves to {status, body} for any HTTP answer, rejects only with no answer. */
  async raw(method, path, body, { retriedCsrf = false } = {}) {
    const headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (UNSAFE.has(method)) headers["X-CSRFToken"] = (await this.csrfToken()) || "";
    let response;
    try {
      response = await this.fetch(BASE + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: "same-origin",
        cache: "no-store",
      });
    } catch {
      throw new ApiError(0, "network", GENERIC[0]);
    }
    let parsed = null;
    if (response.status !== 204 && (response.headers.get("Content-Type") || "").includes("json")) {
      try {
        parsed = await response.json();
      } catch {
        parsed = null;
      }
    }
    // Logging in rotates the CSRF token; a page that kept an old one retries once with a new one.
    if (UNSAFE.has(method) && !retriedCsrf && isCsrfFailure(response.status, parsed)) {
      await this.csrfToken({ refresh: true });
      return this.raw(method, path, body, { retriedCsrf: true });
    }
    return { status: response.status, body: parsed };
  }

  /** One request; resolves to the body on 2xx, throws ApiError otherwise. */
  async request(method, path, body, { authHook = true } = {}) {
    const { status, body: parsed } = await this.raw(method, path, body);
    if (status >= 200 && status < 300) return parsed;
    const error = parsed?.error || {};
    const apiError = new ApiError(
      status,
      error.code || `http_${status}`,
      error.message || GENERIC[status] || `The server answered ${status}.`,
      error.fields,
      parsed,
    );
    if (authHook && isAuthError(apiError)) this.onAuthRequired(apiError);
    throw apiError;
  }

  // --- Session ---------------------------------------------------------------------------------
  login(username, password) {
    return this.request("POST", "/auth/login/", { username, password }, { authHook: false });
  }
  /** `pushEndpoint`: this phone's push subscription, removed with the session (see push.js). */
  logout(pushEndpoint = null) {
    const body = pushEndpoint ? { endpoint: pushEndpoint } : undefined;
    return this.request("POST", "/auth/logout/", body, { authHook: false });
  }
  /** Who is signed in, if anyone: {authenticated: false} or {authenticated: true, me}. Nobody
   *  signed in is an answer, not a 401, so opening the login page logs no error. */
  session() {
    return this.request("GET", "/auth/session/", undefined, { authHook: false });
  }
  me({ authHook = true } = {}) {
    return this.request("GET", "/me/", undefined, { authHook });
  }
  setOnCall(onCall) {
    return this.request("PATCH", "/me/", { on_call: Boolean(onCall) });
  }
  /** The opt-in "Share my position while on call" (docs/positions.md). */
  setSharePositionOnCall(share) {
    return this.request("PATCH", "/me/", { share_position_on_call: Boolean(share) });
  }

  // --- Positions (pwa/app/position.js) ---------------------------------------------------------
  sharePosition(alertId, fix) {
    return this.request("POST", `/alerts/${Number(alertId)}/positions/`, fix);
  }
  /** Stop on the alert screen: the server takes the position off the boards (docs/positions.md). */
  stopSharingPosition(alertId) {
    return this.request("DELETE", `/alerts/${Number(alertId)}/positions/`);
  }
  shareOnCallPosition(fix) {
    return this.request("PUT", "/me/position/", fix);
  }
  async incidentPositions(incidentId) {
    const body = await this.request("GET", `/incidents/${Number(incidentId)}/positions/`);
    return Array.isArray(body?.positions) ? body.positions : [];
  }

  // --- Alerts ----------------------------------------------------------------------------------
  async activeAlerts() {
    const page = await this.request("GET", "/alerts/?active=true&limit=50");
    return Array.isArray(page?.results) ? page.results : [];
  }
  alert(id) {
    return this.request("GET", `/alerts/${Number(id)}/`);
  }
  respond(id, response, { reason = "", note = "" } = {}) {
    const body = { response };
    if (reason) body.reason = reason;
    if (note) body.note = note;
    return this.request("POST", `/alerts/${Number(id)}/respond/`, body);
  }

  // --- Messages from control (app/messages.js) --------------------------------------------------
  async messages(incidentId) {
    const body = await this.request("GET", `/incidents/${Number(incidentId)}/messages/`);
    return Array.isArray(body?.messages) ? body.messages : [];
  }

  // --- Checklist events ------------------------------------------------------------------------
  postEvent(alertId, body) {
    return this.raw("POST", `/alerts/${Number(alertId)}/events/`, body);
  }
  async listEvents(alertId) {
    const body = await this.request("GET", `/alerts/${Number(alertId)}/events/`);
    if (Array.isArray(body)) return body;
    return Array.isArray(body?.results) ? body.results : [];
  }
  checklist() {
    return this.request("GET", "/checklist/");
  }

  // --- Web Push --------------------------------------------------------------------------------
  async pushDevices() {
    const body = await this.request("GET", "/push-subscriptions/");
    return Array.isArray(body?.results) ? body.results : [];
  }
  addPushSubscription(subscriptionJson, label) {
    return this.request("POST", "/push-subscriptions/", { ...subscriptionJson, label });
  }
  removePushSubscription(endpoint) {
    return this.request("DELETE", "/push-subscriptions/", { endpoint });
  }
  // --- Readiness: "Test my alerts" and this phone's state (docs/delivery.md) ----------------------
  startPushTest(endpoint, state) {
    return this.request("POST", "/push-tests/", { endpoint, state });
  }
  pushTest(id) {
    return this.request("GET", `/push-tests/${Number(id)}/`);
  }
  reportDeviceState(endpoint, state) {
    return this.request("PUT", "/push-device-state/", { endpoint, ...state });
  }
  async vapidPublicKey() {
    const body = await this.request("GET", "/push/vapid-public-key/");
    return body?.public_key || null;
  }
}
