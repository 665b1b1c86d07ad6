// Arrival estimates in words, and who is likely first on scene: shared by the app's crew panel and
// alert screen and by the coordinators' board (which imports /app/arrival.js as it does
// /app/socket.js). Pure functions, tested in Node (tests/js/position.test.mjs). The server works out
// each estimate (backend/dispatch/arrival.py); method "estimate" is a straight line times a road
// factor at an average speed, and is always called an estimate here.

// Arrival estimates are for those still on their way: once on scene (or cleared, stood down...) a
// responder's row shows none, and nobody is "likely first" once anyone has been on scene.
const ON_THE_WAY = new Set(["accepted", "en_route"]);

/** Accepted or en route: the only states whose arrival estimate means anything. */
export function isOnTheWay(alert) {
  return ON_THE_WAY.has(alert?.state);
}

/** Has been on scene, whatever they are now: a board alert (on_scene_at) or a crew member
 *  (attended). */
export function hasArrived(alert) {
  return alert?.state === "on_scene" || Boolean(alert?.on_scene_at) || alert?.attended === true;
}

/** The positions (with estimates) of those still on their way, out of an incident's `positions`;
 *  `alerts`: its alerts (board: `id`) or crew members (app: `alert_id`), with their states. */
export function positionsOnTheWay(positions, alerts) {
  const going = new Set((alerts ?? []).filter(isOnTheWay).map((alert) => alert.alert_id ?? alert.id));
  return (positions ?? []).filter((position) => going.has(position.alert_id));
}

/** A position fix at least this old (seconds) at `now` is said beside every estimate worked out
 *  from it ("position 4 min old"): the phone shares a fix at most every 10 s while it moves, so a
 *  fix this old means no signal, the app closed or the phone standing still, and the estimate,
 *  still counted down, may say nothing of where they are. Found by a product trial: the boards
 *  kept counting such an estimate down as if current ("about 1 min" for ever once it ran out).
 *  Operational words, never clinical. The responder stays in "Likely first": the coordinator
 *  decides. */
export const OLD_FIX_SECONDS = 120;

/** How old the fix taken at `recordedAt` (a position's `recorded_at`, ISO) is at `now`, in whole
 *  seconds (0 for one stamped ahead of this clock), or null when it is not known. */
export function fixAgeSeconds(recordedAt, now = Date.now()) {
  const at = Date.parse(recordedAt ?? "");
  if (Number.isNaN(at)) return null;
  return Math.max(0, Math.floor((now - at) / 1000));
}

/** "position 4 min old" (whole minutes, rounded down) for a fix at least OLD_FIX_SECONDS old at
 *  `now`, or "" for a younger one or one whose time is not known. */
export function fixAgeText(recordedAt, now = Date.now()) {
  const age = fixAgeSeconds(recordedAt, now);
  return age !== null && age >= OLD_FIX_SECONDS ? `position ${Math.floor(age / 60)} min old` : "";
}

/** `words` (an estimate said somewhere), with " · position 4 min old" after them when the fix they
 *  come from (`recordedAt`) is old at `now` (fixAgeText); "" stays "". The one way every screen
 *  says it: the boards' rows and maps, the crew panel. */
export function withFixAge(words, recordedAt, now = Date.now()) {
  const age = words ? fixAgeText(recordedAt, now) : "";
  return age ? `${words} · ${age}` : words;
}

/** "1.2 km · about 3 min (estimate)", or "... (by road)" for a routed one. The minutes are those
 *  still to go at `now`, counted from when the estimate was worked out, as "likely first" counts
 *  them, so a row and the "likely first" line drawn at the same `now` agree. With the position's
 *  `recordedAt`, an old fix is said after it: "... (estimate) · position 4 min old" (withFixAge). */
export function estimateText(estimate, now = Date.now(), recordedAt = null) {
  if (!estimate || typeof estimate.eta_seconds !== "number") return "";
  return `${distanceText(estimate.distance_km)} · ${etaText(estimate, now, recordedAt)}`;
}

/** "1.2 km", or "450 m" under a kilometre: a distance as the app and both boards say it (an
 *  estimate's; on the boards the distance when alerted too, and on their maps). Under a kilometre
 *  in whole metres: 999.6 m is "1.0 km", never "1000 m". */
export function distanceText(km) {
  const value = Number(km);
  const metres = Math.round(value * 1000);
  return metres < 1000 ? `${metres} m` : `${value.toFixed(1)} km`;
}

/** "about 3 min (estimate)" (or "(by road)"): estimateText without the distance, for a place that
 *  shows the estimate's distance already (the admin board's distance cell); "" with no estimate.
 *  With `recordedAt`, "about 3 min (estimate) · position 4 min old" from an old fix. */
export function etaText(estimate, now = Date.now(), recordedAt = null) {
  if (!estimate || typeof estimate.eta_seconds !== "number") return "";
  const how = estimate.method === "routing" ? "by road" : "estimate";
  return withFixAge(`about ${minutesText(remainingSeconds({ estimate }, now))} (${how})`, recordedAt, now);
}

/** Whole minutes, at least one: "1 min", "3 min". */
export function minutesText(seconds) {
  return `${Math.max(1, Math.round(seconds / 60))} min`;
}

/** Seconds from `now` until an ISO time (negative: past), or null. */
export function secondsUntil(iso, now = Date.now()) {
  const at = Date.parse(iso ?? "");
  return Number.isNaN(at) ? null : Math.round((at - now) / 1000);
}

/** The responder's estimate, counted from when it was worked out: seconds still to go at `now`. */
export function remainingSeconds(position, now = Date.now()) {
  const estimate = position?.estimate;
  if (!estimate || typeof estimate.eta_seconds !== "number") return null;
  const since = (now - Date.parse(estimate.computed_at ?? "")) / 1000;
  return Math.max(0, Math.round(estimate.eta_seconds - (Number.isFinite(since) ? Math.max(0, since) : 0)));
}

/** Who is likely first on scene: {who: "responder", name, seconds} | {who: "ambulance", seconds} |
 *  null when nothing is known. `positions`: the incident's shared positions (with estimates);
 *  `ambulanceEta`: the incident's ambulance_eta (ISO) or null. */
export function likelyFirst(positions, ambulanceEta, now = Date.now()) {
  let best = null;
  for (const position of positions ?? []) {
    const seconds = remainingSeconds(position, now);
    if (seconds === null) continue;
    if (!best || seconds < best.seconds) best = { who: "responder", name: position.responder_name, seconds, recordedAt: position.recorded_at ?? null };
  }
  const ambulance = ambulanceEta ? secondsUntil(ambulanceEta, now) : null;
  const ambulanceSeconds = ambulance === null ? null : Math.max(0, ambulance);
  if (ambulanceSeconds !== null && (!best || ambulanceSeconds < best.seconds)) {
    return { who: "ambulance", seconds: ambulanceSeconds, responder: best };
  }
  return best ? { ...best, ambulanceSeconds } : null;
}

/** "Likely first: A. Smith (3 min) · ambulance 8 min", or "Likely first: the ambulance (2 min) ·
 *  A. Smith 5 min", or "" when nothing is known. A responder named whose fix is old at `now` is
 *  said so, as beside their estimate (fixAgeText): "Likely first: A. Smith (3 min, position 4 min
 *  old)", "... · A. Smith 5 min (position 4 min old)"; they keep their place in the ranking. */
export function likelyFirstText(positions, ambulanceEta, now = Date.now()) {
  const first = likelyFirst(positions, ambulanceEta, now);
  if (!first) return "";
  if (first.who === "ambulance") {
    const responder = first.responder;
    const age = responder ? fixAgeText(responder.recordedAt, now) : "";
    const next = responder ? ` · ${responder.name} ${minutesText(responder.seconds)}${age ? ` (${age})` : ""}` : "";
    return `Likely first: the ambulance (${minutesText(first.seconds)})${next}`;
  }
  const age = fixAgeText(first.recordedAt, now);
  const ambulance = first.ambulanceSeconds === null ? "" : ` · ambulance ${minutesText(first.ambulanceSeconds)}`;
  return `Likely first: ${first.name} (${minutesText(first.seconds)}${age ? `, ${age}` : ""})${ambulance}`;
}

/** "Likely first" among those of `alerts` still on their way, or "" once any of them has been on
 *  scene (somebody was first already). */
export function likelyFirstAmong(positions, alerts, ambulanceEta, now = Date.now()) {
  if ((alerts ?? []).some(hasArrived)) return "";
  return likelyFirstText(positionsOnTheWay(positions, alerts), ambulanceEta, now);
}
