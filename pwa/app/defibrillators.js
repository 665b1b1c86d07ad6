// A defibrillator in words, as GET /api/v1/incidents/{id}/defibrillators/ gives it: how far, the
// access, where it is (name, location text, level, indoors or out) and whether it is open now.
// Shared by the alert screen's list (views/alert-map.js) and the coordinators' board
// (backend/dispatch/static/dispatch/board-map.js, which imports /app/defibrillators.js as it does
// /app/arrival.js), so that a firefighter and the control room read the same words.
// Pure functions, no imports; tested in Node (tests/js/maps.test.mjs).

export function metresText(metres) {
  const value = Number(metres);
  if (!Number.isFinite(value) || value < 0) return "";
  if (value < 1000) return `${Math.max(10, Math.round(value / 10) * 10)} m`;
  return `${(value / 1000).toFixed(1)} km`;
}

export function openNowText(defibrillator) {
  if (defibrillator.open_now === true) return "Open now";
  if (defibrillator.open_now === false) return "Closed now";
  return "Opening hours unknown";
}

/** "Open now (Mo-Su 07:00-22:00)": whether it is open, then the hours it was worked out from. */
export function hoursText(defibrillator) {
  return [openNowText(defibrillator), defibrillator.opening_hours ? `(${defibrillator.opening_hours})` : ""].filter(Boolean).join(" ");
}

/** OpenStreetMap's `level` in words: 0 is the ground floor, below it the basement. */
export function levelText(level) {
  const text = String(level ?? "").trim();
  if (!text) return "";
  if (text === "0") return "ground floor";
  if (/^-\d+(\.\d+)?$/.test(text)) return `basement level ${text.slice(1)}`;
  return `level ${text}`;
}

const ORDINAL_FLOORS = ["ground", "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth"];

/** The ways a location text may already name this level ("Reception desk, ground floor" for 0,
 *  "First floor landing" for 1, "by the lifts, level 2" for 2). */
function levelPhrases(level) {
  const text = String(level ?? "").trim();
  const phrases = [levelText(text)];
  if (/^\d$/.test(text)) phrases.push(`${ORDINAL_FLOORS[Number(text)]} floor`);
  if (text === "0") phrases.push("ground level");
  return phrases.filter(Boolean);
}

/** Whether the location text already says the level: then it is not said twice. A level that the
 *  text does not match (say "ground floor" in the text, level 2 in the tags) is still shown. */
export function saysLevel(location, level) {
  const words = (text) => ` ${String(text ?? "").toLowerCase().replace(/[^a-z0-9]+/g, " ").trim()} `;
  const said = words(location);
  return levelPhrases(level).some((phrase) => said.includes(words(phrase)));
}

/** Where it is, as a firefighter reads it on the way: name, location text, level, indoors or out. */
export function whereText(defibrillator) {
  const level = saysLevel(defibrillator.location, defibrillator.level) ? "" : levelText(defibrillator.level);
  const parts = [defibrillator.name, defibrillator.location, level].map((part) => String(part ?? "").trim());
  if (defibrillator.indoor === true) parts.push("indoors");
  else if (defibrillator.indoor === false) parts.push("outdoors");
  return parts.filter(Boolean).join(", ") || "Location not described";
}

/** The access in words; anything not public is said, never implied by a colour. */
export function accessText(defibrillator) {
  return defibrillator.access_label || (defibrillator.access === "yes" ? "Public access" : "Access not known");
}

/** Public, as the server counts it (backend/places: yes, or permissive: by the owner's leave). */
export function isPublic(defibrillator) {
  return defibrillator.access === "yes" || defibrillator.access === "permissive";
}
