// A map of an incident and what is around it: the incident(s), this phone's own position, other
// responders' positions, the fire stations and the nearest defibrillators. Shared by the alert
// screen (views/alert.js) and the coordinators' board (dispatch/board-map.js).
//
// Not part of the app shell: this module and Leaflet (from npm, served by the product under
// /static/vendor/leaflet/, never from a CDN) are loaded with a dynamic import only when a map is
// shown, and the service worker keeps them once fetched, so a map shown once works offline.
//
// With no tile URL (settings MAP_TILE_URL: development, tests, a deployment without a tile
// server) the map is a plain background with the markers on it and makes no request to any other
// site. The map is decorative: everything on it is also in text next to it (the address, the
// defibrillators' list, the board's tables), so it is hidden from screen readers and holds no focus
// (no keyboard handler, no zoom buttons, no links); a keyboard user tabs straight past it. Each
// marker has a text label: nothing is told by colour alone. Attribution is plain text under it.
//
//   const map = await openMap(container, {tileUrl, attribution, fitToLabels});
//   map.setIncident({latitude, longitude, label});  map.setMe({latitude, longitude, accuracy_m});
//   map.setDefibrillators([...]); map.setStations([...]); map.setResponders([...]); map.destroy();

import { distanceText, minutesText, remainingSeconds, withFixAge } from "./arrival.js";

// The version pinned in frontend/package-lock.json (tests/js/maps.test.mjs checks they agree):
// this file is part of the service worker's VERSION, so upgrading Leaflet renews the maps' cache.
export const LEAFLET_VERSION = "1.9.4";
export const LEAFLET_SCRIPT = "/static/vendor/leaflet/leaflet.js";
export const LEAFLET_STYLESHEET = "/static/vendor/leaflet/leaflet.css";
// The markers' and the plain background's own styles (a file: the CSP allows no inline style).
export const MAP_STYLESHEET = "/app/map.css";

// Great Britain, until there is something to fit.
const START = { center: [54.0, -2.5], zoom: 5 };
const CLOSEST_ZOOM = 17;
// The closest a view of only the stations comes (one station: a town, not its street).
const AREA_CLOSEST_ZOOM = 11;
// The zoom's steps (Leaflet's zoomSnap), and a view of only the stations fitted in finer ones: half
// a step is 1.41 times as wide, too coarse for the scheme's area in a board's panel (found by trying
// the board: the stations in two thirds of its width, a quarter step closer left room to spare).
const ZOOM_SNAP = 0.5;
const AREA_ZOOM_SNAP = 0.25;
const FIT_PADDING_PX = 28;
const LABEL_ROOM_PX = 96;
// At most this share of the map's width (or height) is left as room for the labels: a fit to a
// very long label must still leave room for the map.
const MOST_ROOM_FOR_LABELS = 0.6;
// ... except for a label wider than half the map, which fits on neither side of a point in the
// middle of it: the room it needs on the right, up to this share of the map's width (fitPadding).
const MOST_ROOM_FOR_A_WIDE_LABEL = 0.8;
const STATION_HIDDEN_WITHIN_M = 250;
// The width of the line drawn from a dot to its moved label (.map-pin-leader, app/map.css).
const LEADER_PX = 2;
// Where a label that must be shown has no clear place (labelPlaces), over another marker's dot counts
// as twice this (px²) more than any place clear of every dot, and its line across another label or
// dot as this: more than any label's area, on the largest map.
const WORST_PX2 = 1e6;

// A label this near its dot (px, the gap between their boxes) is beside it, and read as its own
// whatever else is near: a moved label farther from its dot must be farther still from every other.
const BESIDE_PX = 6;

let leafletLoading = null;

function loadStylesheet(href, doc = document) {
  const existing = doc.querySelector(`link[rel="stylesheet"][href="${href}"]`);
  if (existing?.dataset.loaded) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const link = existing || doc.createElement("link");
    link.addEventListener("load", () => ((link.dataset.loaded = "1"), resolve()), { once: true });
    link.addEventListener("error", () => reject(new Error(`Could not load ${href}`)), { once: true });
    if (!existing) {
      link.rel = "stylesheet";
      link.href = href;
      doc.head.append(link);
    }
  });
}

/** Leaflet (its script sets globalThis.L) and its stylesheet, loaded once. */
export function loadLeaflet() {
  if (!leafletLoading) {
    leafletLoading = Promise.all([import(LEAFLET_SCRIPT), loadStylesheet(LEAFLET_STYLESHEET), loadStylesheet(MAP_STYLESHEET)]).then(() => {
      if (!globalThis.L?.map) throw new Error("Leaflet did not load");
      return globalThis.L;
    });
    leafletLoading.catch(() => (leafletLoading = null)); // offline: try again next time a map is shown
  }
  return leafletLoading;
}

// --- What the map says, in words (no DOM, tested in tests/js/maps.test.mjs) -------------------------

export function isPlace(point) {
  if (!point) return false;
  const latitude = Number(point.latitude);
  const longitude = Number(point.longitude);
  return (
    point.latitude !== null &&
    point.longitude !== null &&
    Number.isFinite(latitude) &&
    Number.isFinite(longitude) &&
    Math.abs(latitude) <= 90 &&
    Math.abs(longitude) <= 180
  );
}

/** "2.4 km, ETA 4 min (estimate)", from an arrival estimate {distance_km, eta_seconds, method,
 *  computed_at}: the map's short words (its labels must fit a wall board's map), its minutes those
 *  still to go at `now` as arrival.js counts them (remainingSeconds, minutesText), so that a label
 *  says the minutes the words beside the map say at the same moment. With no `now`, the minutes as
 *  worked out: the board's list beside its map is given estimates already counted to when it draws
 *  (dispatch/board-map.js estimateAt). The distance as the rows beside the map say it (arrival.js,
 *  distanceText: "450 m" under a kilometre; it said "0.4 km" there). With the position's
 *  `recordedAt`, an old fix is said after it as everywhere ("· position 4 min old": arrival.js
 *  withFixAge), its age at `now` (with no `now`, at the estimate's `computed_at`, as its minutes). */
export function estimateText(estimate, now = null, recordedAt = null) {
  const at = now ?? Date.parse(estimate?.computed_at ?? "");
  const seconds = remainingSeconds({ estimate }, at);
  if (seconds === null) return "";
  const distance = Number.isFinite(Number(estimate.distance_km)) ? `${distanceText(estimate.distance_km)}, ` : "";
  return withFixAge(`${distance}ETA ${minutesText(seconds)}${estimate.method === "routing" ? "" : " (estimate)"}`, recordedAt, at);
}

/** A defibrillator marker's note on access ("AED 2 not public"): the list says it in full. */
export function accessNote(access) {
  if (access === "yes" || access === "permissive") return "";
  return access === "unknown" || !access ? "access unknown" : "not public";
}

/** The incidents' labels shortened, for a map too crowded to show them in full (declutter): each
 *  the shortest end of it, in whole parts ("CAD-T3-009": "009", "T3-009", ...), that no other label
 *  ends with, after an ellipsis ("…009"); a label as short as that, or with no shorter end that is
 *  its alone, as it is. The board's lists beside the map name each incident in full. */
export function shortLabels(labels) {
  const ends = (label) => {
    const parts = String(label).split(/(?<=[-\s/])/);
    return parts.map((_, index) => parts.slice(index).join("")).reverse();
  };
  return labels.map((label, index) => {
    const text = String(label);
    const end = ends(text).find((candidate) => candidate.length < text.length && labels.every((other, at) => at === index || !ends(other).includes(candidate)));
    return end && end.length + 1 < text.length ? `…${end}` : text;
  });
}

/** The room a fit leaves at the map's edges, in px ({paddingTopLeft, paddingBottomRight}, as
 *  Leaflet's fitBounds takes it), so that no marker's face is cut off by them: each face as
 *  {width, height, offsetX, offsetY} (the point is offsetX, offsetY from the face's top left
 *  corner; the labels are to the right of their points); `size` the map's {x, y}. Every point the
 *  fit places has room for its label on one side of it or the other (labelSide chooses):
 *  - labels to the right, with room for them at the right edge, up to 60 % of the map;
 *  - a map too small for that (the wall board's): labels no wider than half the map fit on one side
 *    of a point wherever it is (to the right in the map's western part, to the left in its eastern
 *    part), so the fit leaves only the dots' room at both edges;
 *  - a label wider than half the map fits on neither side of a point in the map's middle (found by a
 *    tester: "m Barker 0.3 km, ETA 1 min (estimate)" cut at the left edge of a map 513 px wide, the
 *    label 309 px): every point is kept where it fits to the right, with the room it needs, up to
 *    80 % of the map; only a label wider than that is cut, whatever the fit. */
export function fitPadding(faces, size) {
  let [left, top, right, bottom] = [FIT_PADDING_PX, FIT_PADDING_PX, LABEL_ROOM_PX, FIT_PADDING_PX];
  let dotRight = FIT_PADDING_PX;
  for (const face of faces) {
    left = Math.max(left, face.offsetX);
    top = Math.max(top, face.offsetY);
    right = Math.max(right, face.width - face.offsetX);
    bottom = Math.max(bottom, face.height - face.offsetY);
    dotRight = Math.max(dotRight, face.offsetX); // a label to the left: the face's dot half to the right
  }
  const fitWithin = (a, b, room) => {
    const scale = a + b > room ? room / (a + b) : 1;
    return [Math.floor(a * scale), Math.floor(b * scale)];
  };
  let roomX = size.x * MOST_ROOM_FOR_LABELS;
  if (left + right > roomX) {
    // A label placed left of its point reaches as far from it as it did to the right: one no wider
    // than half the map fits on one side or the other wherever its point is.
    const wide = 2 * right > size.x - 1;
    if (wide && left + right <= size.x * MOST_ROOM_FOR_A_WIDE_LABEL) {
      [left, right] = [Math.ceil(left), Math.ceil(right)];
      roomX = left + right;
    } else right = Math.min(right, dotRight);
  }
  [left, right] = fitWithin(left, right, roomX);
  [top, bottom] = fitWithin(top, bottom, size.y * MOST_ROOM_FOR_LABELS);
  return { paddingTopLeft: [left, top], paddingBottomRight: [right, bottom] };
}

/** The room a fit to the stations alone (the scheme's area, with nothing else to show: pointsToFit)
 *  leaves at the map's edges, as fitPadding's: the dots' room at the sides, the labels' height above
 *  and below, but no label's width at the right. A station's label goes on whichever side of its dot
 *  has room (contextLabels), so the view comes as close as the dots allow (found by trying the
 *  board: the room kept for "Norwich (Carrow)" at the right left the stations in a third of the
 *  panel, when the view could have come closer). */
export function areaPadding(faces) {
  let [side, top, bottom] = [FIT_PADDING_PX, FIT_PADDING_PX, FIT_PADDING_PX];
  for (const face of faces) {
    side = Math.max(side, face.offsetX); // the dot's half, on either side of the point
    top = Math.max(top, face.offsetY);
    bottom = Math.max(bottom, face.height - face.offsetY);
  }
  return { paddingTopLeft: [side, top], paddingBottomRight: [side, bottom] };
}

/** Which side of its dot a label goes: {dx, inside}. To the right (dx 0) where it fits inside
 *  `within` (the map's box); otherwise to the left of the dot, as far from it as it was (dx < 0),
 *  where that fits; where neither does (a map narrower than twice the label), the side that cuts
 *  less. `inside`: whether the label, so placed, is inside the map. `dot` and `label` as drawn,
 *  the label to the right of the dot. Found by a tester: "Sam Day 39.6 km, ETA 59 min (estimate"
 *  cut off at the wall board's right edge. */
export function labelSide({ dot, label }, within) {
  if (!within) return { dx: 0, inside: true };
  const rightCut = Math.max(0, label.right - within.right);
  if (rightCut <= 0.5) return { dx: 0, inside: label.left >= within.left };
  const dx = dot.left - (label.left - dot.right) - label.right; // the same gap, on the dot's other side
  const leftCut = Math.max(0, within.left - (label.left + dx));
  if (leftCut <= 0.5) return { dx, inside: true };
  return { dx: leftCut < rightCut ? dx : 0, inside: false };
}

const overlaps = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
const moved = (rect, dx, dy) => ({ left: rect.left + dx, right: rect.right + dx, top: rect.top + dy, bottom: rect.bottom + dy });
const widened = (rect, by) => ({ left: rect.left - by, right: rect.right + by, top: rect.top - by, bottom: rect.bottom + by });
const intersection = (a, b) => ({ left: Math.max(a.left, b.left), right: Math.min(a.right, b.right), top: Math.max(a.top, b.top), bottom: Math.min(a.bottom, b.bottom) });
const area = (rect) => Math.max(0, rect.right - rect.left) * Math.max(0, rect.bottom - rect.top);
const gapBetween = (a, b) => Math.hypot(Math.max(0, a.left - b.right, b.left - a.right), Math.max(0, a.top - b.bottom, b.top - a.bottom));
/** Whether `label` (as placed) reads as the label of `face`'s dot rather than of one of `dots`: a
 *  reader pairs a label with the dot nearest it. Beside its own dot (BESIDE_PX or less) it is its
 *  own whatever else is near; farther, no other dot may be nearer it than its own by a dot's width
 *  or more (in a crowd of dots closer than that, its line tells which is its own). */
function readsAsOwn(face, label, dots) {
  const own = gapBetween(label, face.dot);
  const slack = Math.max(face.dot.right - face.dot.left, face.dot.bottom - face.dot.top);
  return own <= BESIDE_PX || dots.every((dot) => gapBetween(label, dot) + slack > own);
}

const insideOf = (rect, within) => !within || (rect.left >= within.left && rect.right <= within.right && rect.top >= within.top && rect.bottom <= within.bottom);

/** How far (px, down if positive) `label` moves from `start` to be clear of `obstacles`: past the
 *  bottom (or, not `down`, the top) of whatever it covers, again until it covers nothing. A crowd
 *  stacks at most MOST_STEPS deep: the offset then still covers something (the caller checks). */
function clearOffset(label, obstacles, start, down) {
  const GAP_PX = 2;
  const MOST_STEPS = 12;
  let offset = start;
  for (let step = 0; step < MOST_STEPS; step += 1) {
    const blocking = obstacles.filter((rect) => overlaps(moved(label, 0, offset), rect));
    if (!blocking.length) return offset;
    offset = down
      ? Math.max(...blocking.map((rect) => rect.bottom)) - label.top + GAP_PX
      : Math.min(...blocking.map((rect) => rect.top)) - label.bottom - GAP_PX;
  }
  return offset;
}

/** The line drawn from a dot to its label moved up or down (leaderBox's, as screen rectangles a
 *  line's width wide): down (or up) from the dot's centre to the label's middle, then across to
 *  the label's near side. `label` as placed (moved up or down by `dy`: the line's length). */
export function leaderLines({ dot, label }, dy) {
  if (!dy) return [];
  const half = LEADER_PX / 2;
  const x = (dot.left + dot.right) / 2;
  const [fromY, toY] = [(dot.top + dot.bottom) / 2, (label.top + label.bottom) / 2];
  const lines = [{ left: x - half, right: x + half, top: Math.min(fromY, toY) - half, bottom: Math.max(fromY, toY) + half }];
  const [from, to] = label.right <= x ? [label.right, x] : [x, label.left];
  if (to > from) lines.push({ left: from, right: to, top: toY - half, bottom: toY + half });
  return lines;
}

/** The places a marker's label may go, as {dx, dy} from where labelSide put it: where it is, or
 *  moved below what it would cover, or above; moved up (or down) into the map where it hangs off
 *  its edge (a label that grew taller after the fit: the board's defibrillators once the second
 *  incident's list came); the same on the other side of its dot (mirrored about it); and under its
 *  dot, or over it, starting or ending where the dot does (inside the map), then below (or above)
 *  what that would cover: a label with no room beside its dot, near the map's edge (found by a
 *  browser trial: King's Lynn's defibrillators, the map's edge on their left and Norwich's labels
 *  on their right). Each also where it starts, before it moves past anything: where nothing is
 *  clear, what covers least may be one of those. */
function labelCandidates(face, obstacles, within) {
  const GAP_PX = 2;
  const { dot } = face;
  const mirror = dot.left + dot.right - face.label.left - face.label.right;
  const places = [];
  for (const dx of [0, mirror]) {
    const label = moved(face.label, dx, 0);
    const nudge = !within ? 0 : label.bottom > within.bottom ? within.bottom - label.bottom : Math.max(0, within.top - label.top);
    const starts = nudge ? [[0, true], [0, false], [nudge, nudge > 0], [nudge, nudge < 0]] : [[0, true], [0, false]];
    for (const [start, down] of starts) places.push({ dx, dy: start }, { dx, dy: clearOffset(label, obstacles, start, down) });
  }
  for (const left of [dot.left, dot.right - (face.label.right - face.label.left)]) {
    let dx = left - face.label.left;
    if (within) dx += Math.max(0, within.left - face.label.left - dx) - Math.max(0, face.label.right + dx - within.right);
    const label = moved(face.label, dx, 0);
    for (const [start, down] of [[dot.bottom + GAP_PX - label.top, true], [dot.top - GAP_PX - label.bottom, false]]) {
      places.push({ dx, dy: start }, { dx, dy: clearOffset(label, obstacles, start, down) });
    }
  }
  return places;
}

/** Where each marker's label goes: {dx, dy, shown}, px from where labelSide put it (a label moved up
 *  or down is tied to its dot by a line: leaderBox). Two places a few metres apart (an incident at a
 *  village hall and the hall's defibrillator) would otherwise print one label over the other.
 *  `faces` in order of importance (incidents first), each {dot, label, keep, rank} as screen
 *  rectangles {left, top, right, bottom}; the dots never move (they are where things are). Each
 *  label in turn (placingOrder) goes to the nearest of labelCandidates (the least moved up or down;
 *  the other side of its dot, or under or over it, counts as a label's height farther; over one of
 *  `reserved`, the stations' names as drawn, three more, for all but a label to keep: a defibrillator's
 *  label goes a little farther to leave a station its name) that is inside `within` (the map's box),
 *  covers no other marker's dot, none of `fixed` (the stations' dots, context but never hidden, and
 *  the scale bar), no label placed before it and no line drawn to one, and whose own line crosses
 *  no label placed before it and no other marker's dot but those on its own (found by a browser
 *  trial of the control room's board: the lines from four incidents in Norwich to their labels,
 *  stacked down the map, ran across "AED 1 of T9-KL-5", which read "AED 1 of T9-KL-"; on a phone,
 *  "T9-LDN-6" hung 80 px above its dot, its line across another incident's marker), and that reads
 *  as its own (readsAsOwn; a lesser label, where no such place is, one that reads as no other of
 *  its kind's). Where there is none, the lesser label gives way: it is not shown (found by a browser trial: the labels of two
 *  nearby incidents' shared defibrillators printed over each other, one off the map's edge); the
 *  map is decorative, its text says the same. Except one to `keep` (an incident's: which incident
 *  is where is what the map is for), which goes where it does least harm: over no other dot if it
 *  can (that would hide where something is), then with its line across nothing, then covering the
 *  least (px²; off the map counting twice: its text is cut off there).
 *  The lines drawn (leaderLines) are on the answer as `leaders`, for the stations' labels to keep
 *  clear of (contextLabels). */
export function labelPlaces(faces, within = null, fixed = [], reserved = [], bars = []) {
  // A label to keep that found no clear place is placed again first of its rank, once or twice,
  // where the labels to keep then cover less (then fewer are not shown): found by a browser trial,
  // the wall board on a phone (360 px wide), eight incidents' labels in a map 160 px high.
  let best = null;
  const first = new Set();
  const worse = (a, b) => a.strain - b.strain || a.filter(({ shown }) => !shown).length - b.filter(({ shown }) => !shown).length;
  for (let attempt = 0; attempt < 3; attempt += 1) {
    const tried = placeLabels(faces, placingOrder(faces, fixed, first), within, fixed, reserved, bars);
    if (!best || worse(tried, best) < 0) best = tried;
    if (!tried.forced.length || tried.forced.every((index) => first.has(index))) break;
    for (const index of tried.forced) first.add(index);
  }
  return best;
}

/** labelPlaces' placing, in `order` (indexes into `faces`): the places, with `leaders` (the lines
 *  drawn), `forced` (the labels to keep that had no clear place) and `strain` (how much those cover,
 *  in px², a label over another marker's dot or with its line across another's counting WORST_PX2
 *  more, or twice that). */
function placeLabels(faces, order, within, fixed, reserved, bars) {
  const placed = [];
  const leaders = [];
  const places = [];
  const forced = [];
  let strained = 0;
  for (const index of order) {
    const face = faces[index];
    const others = faces.filter((_, other) => other !== index).map((other) => other.dot);
    const obstacles = [...placed, ...leaders, ...others, ...fixed, ...bars];
    // Dots on its own (an incident's defibrillator at its door, another incident at the same place):
    // its line starts across them whatever it does.
    const apart = [...others, ...fixed].filter((dot) => !overlaps(dot, face.dot));
    // The scale bar over its own dot (a marker in the map's bottom left corner): its line starts
    // across it whatever it does, as across a dot on its own. Counted, every place for the label
    // "covered" it, and a second incident joining a board at 1280x720 had every incident's label
    // shortened (found by the wall board's tests in CI).
    const barsApart = bars.filter((bar) => !overlaps(bar, face.dot));
    // A place away from its own dot and nearer another's reads as that one's label, whatever line ties
    // it to its own (found by a browser trial of the board with fifteen incidents: labels stacked far
    // from their dots, beside others', "T3-NOR-19" by Great Yarmouth's). A lesser label's text says
    // what it labels ("AED 1 of …", a responder's name): where no place clear of everything reads as
    // its own, one that reads as no other of its kind's (the same rank) does, rather than the name
    // not shown (found by the wall board's tests: a responder's name, and a defibrillator's
    // incidents, gone from a map with two incidents).
    const kin = faces.filter((other, at) => at !== index && other.rank === face.rank && !overlaps(other.dot, face.dot)).map(({ dot }) => dot);
    const ownAmong = (dots) => ({ dx, dy }) => readsAsOwn(face, moved(face.label, dx, dy), dots);
    const readsAsItsOwn = ownAmong(apart);
    // How much a place covers, in px²: the label over other labels, lines and dots, its line across
    // other labels and dots, and the label off the map, counted twice (its text is cut off there,
    // where a label a pixel over another's edge is still read).
    const covered = ({ dx, dy }) => {
      const label = moved(face.label, dx, dy);
      const lines = leaderLines({ dot: face.dot, label }, dy);
      const outside = within ? area(label) - area(intersection(label, widened(within, 1))) : 0;
      const over = obstacles.reduce((sum, rect) => sum + area(intersection(label, rect)), 0);
      const crossed = lines.reduce((sum, line) => sum + [...placed, ...apart, ...barsApart].reduce((part, rect) => part + area(intersection(line, rect)), 0), 0);
      return 2 * outside + over + crossed;
    };
    // How far a place is from where the label was drawn (a label moved one step down stays on the
    // side it reads from rather than go to the other side of its dot).
    const height = face.label.bottom - face.label.top;
    const spared = face.keep ? [] : reserved;
    const away = ({ dx, dy }) => {
      const label = moved(face.label, dx, dy);
      return Math.abs(dy) + (dx ? height + 4 : 0) + (spared.some((rect) => overlaps(label, rect)) ? 3 * height : 0);
    };
    // Inside the map to the pixel: the boxes are measured in fractions of one.
    const inside = ({ dx, dy }) => insideOf(moved(face.label, dx, dy), within && widened(within, 1));
    const candidates = labelCandidates(face, obstacles, within)
      .map((place, order) => ({ ...place, order }))
      .sort((a, b) => away(a) - away(b) || a.order - b.order);
    const clear = (candidate) => inside(candidate) && !covered(candidate);
    let place = candidates.find((candidate) => clear(candidate) && readsAsItsOwn(candidate));
    if (!place && !face.keep) place = candidates.find((candidate) => clear(candidate) && ownAmong(kin)(candidate));
    if (!place && face.keep) {
      // Nearer another's dot than its own never (it would read as that one's: beside its own dot,
      // over another label, is still read as its own), nor off the map or under the scale bar (cut
      // off, or hidden: found by browser trials), then over another marker's dot last of all
      // (it would hide where that is), then with its line across another label or dot, or over
      // another's line (struck through, or read as that one's).
      const hides = ({ dx, dy }) => {
        const label = moved(face.label, dx, dy);
        return placed.some((rect) => area(intersection(label, rect)) > Math.min(area(label), area(rect)) / 3);
      };
      const underBar = ({ dx, dy }) => bars.some((rect) => overlaps(moved(face.label, dx, dy), rect));
      const overDot = ({ dx, dy }) => [...others, ...fixed].some((rect) => overlaps(moved(face.label, dx, dy), rect));
      const strikes = ({ dx, dy }) => {
        const label = moved(face.label, dx, dy);
        const lines = leaderLines({ dot: face.dot, label }, dy);
        return leaders.some((line) => overlaps(label, line)) || lines.some((line) => [...placed, ...apart, ...barsApart].some((rect) => overlaps(line, rect)));
      };
      const strain = (candidate) =>
        (readsAsItsOwn(candidate) ? 0 : 4 * WORST_PX2) +
        (overDot(candidate) ? 2 * WORST_PX2 : 0) +
        (hides(candidate) ? 2 * WORST_PX2 : 0) +
        (strikes(candidate) ? WORST_PX2 : 0) +
        (underBar(candidate) ? 4 * WORST_PX2 : inside(candidate) ? 0 : WORST_PX2) +
        covered(candidate);
      place = candidates.reduce((best, candidate) => (best && strain(best) <= strain(candidate) ? best : candidate), null);
      forced.push(index);
      strained += strain(place);
    }
    if (!place) {
      places[index] = { dx: 0, dy: 0, shown: false };
      continue;
    }
    const label = moved(face.label, place.dx, place.dy);
    placed.push(label);
    leaders.push(...leaderLines({ dot: face.dot, label }, place.dy));
    places[index] = { dx: place.dx, dy: place.dy, shown: true };
  }
  return Object.assign(places, { leaders, forced, strain: strained });
}

/** Whether the incidents' labels go shortened (`short`: labelPlaces' answer for them so) rather than
 *  in full (`full`), `faces` as placed (`keep`: an incident's): where fewer of them then have no
 *  clear place, or what they harm is less by a fault's worth (WORST_PX2: a label read as another's,
 *  over a dot or another's label, under the scale bar, off the map). Never for a few px² less
 *  overlap: the board's lists name each incident in full, and so should its map wherever shortening
 *  mends nothing (found by the wall board's tests: with two incidents open, both shortened for a
 *  label that was no clearer shortened). */
export function shortenedIsBetter(faces, full, short) {
  const forced = ({ forced }) => forced.filter((index) => faces[index].keep).length;
  return forced(short) < forced(full) || short.strain <= full.strain - WORST_PX2;
}

/** The order labelPlaces places `faces` in: by `rank` (their kind's importance: incidents first;
 *  without one, as given), and of one rank, those with the fewest other dots around them first, so
 *  that a label with room near its dot takes it before a crowd's labels spread over it (found by a
 *  browser trial: four incidents in Norwich placed first spread their labels across King's Lynn's,
 *  which then had nowhere to go); those in `first` before the others of their rank. */
function placingOrder(faces, fixed, first = new Set()) {
  const dots = [...faces.map(({ dot }) => dot), ...fixed];
  const crowd = ({ dot, label }) => {
    const [width, height] = [label.right - label.left, label.bottom - label.top];
    const around = { left: dot.left - width, right: dot.right + width, top: dot.top - 2 * height, bottom: dot.bottom + 2 * height };
    return dots.filter((other) => other !== dot && overlaps(other, around)).length;
  };
  const keys = faces.map((face, index) => [face.rank ?? index, first.has(index) ? -1 : face.rank === undefined ? 0 : crowd(face), index]);
  return keys.sort((a, b) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2]).map(([, , index]) => index);
}

/** Where each context marker's (each fire station's) label goes: {dx, dy, shown}. Every station's
 *  dot is drawn, always: a station is where it is, and one left out reads as no station there (found
 *  by trying the board with no open incident: Great Yarmouth, Norwich and Wymondham gone, their
 *  labels crossing others'). Each label in turn goes beside its dot: to its right, else to its left
 *  (the same gap: labelSide), else above it or below it (starting over the dot, or ending over it,
 *  or slid along to the map's edge while still over it),
 *  the first of these that is inside `within` (the map's box) and clear of `placed` (the other
 *  markers' dots, labels and lines, as placed by labelPlaces, and the scale bar), of every station's
 *  dot and of the labels shown before it, and no nearer another dot (a station's, or one of
 *  `markerDots`) than its own, nor level with one less than a label's height past its end: a reader
 *  pairs a name with the dot nearest it (found by browser trials: "Great Yarmouth" above its dot,
 *  its end a pixel from Norwich's, read as Norwich's name; "Dereham" level with Wymondham's dot).
 *  The markers drawn over its dot (an incident at the station's door) count as its own, and the
 *  label goes beside them all: it names that place (found by a browser trial: King's Lynn's name not
 *  shown, the incident there the only other thing near). Where none is, the label is not shown (a
 *  station is never worth a label moved away from it and a line across the map). `faces` as
 *  labelPlaces takes them. */
export function contextLabels(placed, faces, within = null, markerDots = []) {
  // Placed in the stations' order, then (if any had no place) again with those first: the one
  // showing more names wins (found by a browser trial: Great Yarmouth's name never shown, the
  // places it could have had taken by names placed before it).
  const inOrder = faces.map((_, index) => index);
  const first = placeContextLabels(placed, faces, within, markerDots, inOrder);
  const missed = inOrder.filter((index) => !first[index].shown);
  if (!missed.length) return first;
  const again = placeContextLabels(placed, faces, within, markerDots, [...missed, ...inOrder.filter((index) => first[index].shown)]);
  const count = (places) => places.filter(({ shown }) => shown).length;
  return count(again) > count(first) ? again : first;
}

/** contextLabels' placing, in `order` (indexes into `faces`). */
function placeContextLabels(placed, faces, within, markerDots, order) {
  const dots = faces.map((face) => face.dot);
  const taken = [...placed];
  const places = faces.map(() => ({ dx: 0, dy: 0, shown: false }));
  for (const index of order) {
    const { dot: own, label } = faces[index];
    // The markers drawn over its dot (an incident at the station's door, at a scale that puts a town
    // in a few pixels) are at its place: its label goes beside them all, and names that place.
    const here = markerDots.filter((other) => overlaps(other, own));
    const dot = here.reduce((union, other) => ({
      left: Math.min(union.left, other.left), right: Math.max(union.right, other.right),
      top: Math.min(union.top, other.top), bottom: Math.max(union.bottom, other.bottom),
    }), own);
    const gap = label.left - own.right;
    // Every place tried is `gap` from its own dot: another dot must be farther; one level with the
    // label, farther than a label's height from its ends (a name level with a dot a few pixels past
    // its end reads as that dot's: found by a browser trial, "Dereham" under its dot, level with
    // Wymondham's 18 px on).
    const height = label.bottom - label.top;
    const otherDots = [...markerDots.filter((other) => !here.includes(other)), ...dots.filter((other) => other !== own)];
    const nearOthers = otherDots.flatMap((other) => [widened(other, Math.max(0, gap) + 1), { ...other, left: other.left - height, right: other.right + height }]);
    const obstacles = [...taken, ...nearOthers];
    const start = moved(label, dot.right - own.right, 0); // to the right of them all
    const [right, left] = [0, dot.left - gap - start.right];
    const [level, above, below] = [0, dot.top - gap - start.bottom, dot.bottom + gap - start.top];
    const [over, underEnd] = [dot.left - start.left, dot.right - start.right]; // above or below: starting, or ending, over the dot
    const tries = [[right, level], [left, level], [over, above], [underEnd, above], [over, below], [underEnd, below]];
    // Above or below, slid along to end at the map's edge while still over its dot: the easternmost
    // station (Great Yarmouth, at the right edge of a view fitted to the stations' dots) has no room
    // to its right, nor to its left for Norwich's dot (found by a browser trial).
    if (within) {
      const toRight = Math.min(over, Math.max(underEnd, within.right - start.right));
      const toLeft = Math.max(underEnd, Math.min(over, within.left - start.left));
      for (const dx of [toRight, toLeft]) tries.push([dx, above], [dx, below]);
    }
    for (const [dx, dy] of tries) {
      const shifted = moved(start, dx, dy);
      if (insideOf(shifted, within) && obstacles.every((rect) => !overlaps(shifted, rect))) {
        taken.push(shifted);
        places[index] = { dx: dx + start.left - label.left, dy, shown: true };
        break;
      }
    }
  }
  return places;
}

/** A rectangle's sides as a plain object: a DOMRect's are getters, which copies would not keep. */
function box(element) {
  const { left, top, right, bottom } = element.getBoundingClientRect();
  return { left, top, right, bottom };
}

/** Where the line from a dot to its moved label goes, in px from the marker's top left corner
 *  (`pin`): from the dot's centre down (or up, `up`) to the label's middle, then right to it (or
 *  left, `toLeft`, to a label placed left of its dot: labelSide). `label` as placed sideways. */
export function leaderBox({ pin, dot, label }, offset) {
  const fromX = (dot.left + dot.right) / 2 - pin.left;
  const fromY = (dot.top + dot.bottom) / 2 - pin.top;
  const toY = (label.top + label.bottom) / 2 + offset - pin.top;
  const box = { top: Math.min(fromY, toY), height: Math.abs(toY - fromY), up: toY < fromY };
  if (label.right - pin.left <= fromX) {
    const width = Math.max(0, fromX - (label.right - pin.left));
    return { left: fromX - width, ...box, width, toLeft: true };
  }
  return { left: fromX, ...box, width: Math.max(0, label.left - pin.left - fromX) };
}

/** The points the view is fitted to: the incidents, this phone, the responders and the
 *  defibrillators (not the stations: they may be far away, and are context only). With none of
 *  those (the board with no open incident) the stations: the scheme's area (found by trying the
 *  product: Great Britain at 200 km to the scale bar, one station's label on it). */
export function pointsToFit({ incidents = [], me = null, responders = [], defibrillators = [], stations = [] }) {
  const points = [...incidents, me, ...responders, ...defibrillators].filter(isPlace);
  return (points.length ? points : stations.filter(isPlace)).map((point) => [Number(point.latitude), Number(point.longitude)]);
}

// --- The map -----------------------------------------------------------------------------------

/** A marker's face: a shape and a text label (never colour alone). No HTML strings: text is text.
 *  `label` is a string, or a list of lines (the board's defibrillators, "AED 1 of CAD-T3-009":
 *  board-map.js), drawn one under the other with the detail on a line of its own, so that a label
 *  naming its incident stays narrow enough for the wall board's map; the dot stays on its point,
 *  beside the first line (map.css). */
function pinElement(kind, label, detail = "", short = "") {
  const lines = Array.isArray(label) ? label : null;
  const pin = document.createElement("span");
  pin.className = `map-pin-inner${lines ? " map-pin-inner--lines" : ""}`;
  const dot = document.createElement("span");
  dot.className = "map-pin-dot";
  const text = document.createElement("span");
  text.className = "map-pin-label";
  text.textContent = lines ? lines.join("\n") : label;
  // A shorter text, shown instead where the map is too crowded for the full one (declutter).
  if (short && !lines && !detail && short !== label) Object.assign(text.dataset, { full: label, short });
  if (detail) {
    const small = document.createElement("small");
    small.textContent = detail;
    text.append(lines ? "\n" : " ", small);
  }
  pin.append(dot, text);
  return pin;
}

/** What a responder's label says after the name at `now`: an estimate only for one still on the
 *  way, counted down (estimateText); one on scene says so (`state_label`: the board), after a dot on
 *  the name's line, or on a line of its own under a label of lines (pinElement). */
export function responderDetail(position, now = Date.now()) {
  const estimate = estimateText(position.estimate, now, position.recorded_at);
  if (estimate || !position.state_label) return estimate;
  return Array.isArray(position.map_label) ? position.state_label : `· ${position.state_label}`;
}

/** A marker's face as fitPadding takes it: its size, and where its point is (the face is moved
 *  off its point by its CSS margins: app/map.css, and the board's wall.css). */
function faceOf(element) {
  const style = getComputedStyle(element);
  return {
    width: element.offsetWidth,
    height: element.offsetHeight,
    offsetX: -parseFloat(style.marginLeft) || 0,
    offsetY: -parseFloat(style.marginTop) || 0,
  };
}

/**
 * Draw a map in `container` (an empty element with a height from CSS). Options: `tileUrl` and
 * `attribution` (from GET /api/v1/map/; "" for a plain background), `pan` (drag to move: off on
 * the alert screen, where a finger on the map must still scroll the page), `fitToLabels` (leave
 * room at the edges for the labels as drawn, not the phone's fixed room: the control room's board,
 * whose labels grow with its type), `leaflet` (tests).
 */
export async function openMap(container, { tileUrl = "", attribution = "", pan = true, fitToLabels = false, leaflet = null } = {}) {
  const L = leaflet || (await loadLeaflet());
  const canvas = document.createElement("div");
  canvas.className = `map-canvas${tileUrl ? "" : " map-canvas--plain"}`;
  canvas.setAttribute("aria-hidden", "true");
  const credit = document.createElement("p");
  credit.className = "map-attribution";
  credit.textContent = tileUrl && attribution ? `Map: ${attribution}` : "";
  credit.hidden = !credit.textContent;
  container.classList.add("map");
  container.replaceChildren(canvas, credit);

  const map = L.map(canvas, {
    zoomControl: false,
    attributionControl: false,
    keyboard: false, // decorative: no focus, no arrow keys taken from the page
    dragging: pan,
    scrollWheelZoom: pan,
    touchZoom: true,
    doubleClickZoom: true,
    boxZoom: false,
    zoomSnap: ZOOM_SNAP,
  }).setView(START.center, START.zoom);
  if (tileUrl) L.tileLayer(tileUrl, { maxZoom: 19, crossOrigin: false }).addTo(map);
  // The scale bar is drawn over the markers: no label goes under it (declutter).
  const scale = L.control.scale({ metric: true, imperial: true, position: "bottomleft" }).addTo(map);

  const layers = {
    stations: L.layerGroup().addTo(map),
    defibrillators: L.layerGroup().addTo(map),
    responders: L.layerGroup().addTo(map),
    me: L.layerGroup().addTo(map),
    incidents: L.layerGroup().addTo(map),
  };
  const shown = { incidents: [], me: null, responders: [], defibrillators: [], stations: [] };
  let fitted = "";
  let shortened = false; // the incidents' labels shortened at the last placing (declutter)
  // The responders' labels that say an arrival estimate, {position, detail: the label's <small>},
  // and the tick that counts them down (running only while there are any, cleared by destroy).
  let counted = [];
  let counting = null;

  function pin(kind, point, label, detail, short = "") {
    return pinMarker(kind, point, pinElement(kind, label, detail, short));
  }

  function pinMarker(kind, point, face) {
    const icon = L.divIcon({ className: `map-pin map-pin--${kind}`, html: face, iconSize: null });
    return L.marker([Number(point.latitude), Number(point.longitude)], { icon, keyboard: false, interactive: false, title: "" });
  }

  /** Once a second: each estimate's words as they stand now, put in only where they changed (the
   *  markers stay as drawn), and the labels placed again if any did ("10 min" to "9 min" is another
   *  width). Between new positions the labels count down as the words beside the map do (the alert
   *  screen's, the crew panel's, the boards' rows: arrival.js), instead of keeping the minutes of
   *  when they were drawn. */
  function countDown() {
    const now = Date.now();
    let changed = false;
    for (const { position, detail } of counted) {
      const words = responderDetail(position, now);
      if (detail.textContent === words) continue;
      detail.textContent = words;
      changed = true;
    }
    if (changed) place();
  }

  function countWhileNeeded() {
    if (counted.length && counting === null) counting = setInterval(countDown, 1000);
    if (!counted.length) stopCounting();
  }

  function stopCounting() {
    if (counting !== null) clearInterval(counting);
    counting = null;
  }

  function accuracy(point, kind) {
    const metres = Number(point.accuracy_m);
    if (!Number.isFinite(metres) || metres <= 0 || metres > 5000) return null;
    return L.circle([Number(point.latitude), Number(point.longitude)], { radius: metres, className: `map-accuracy map-accuracy--${kind}`, interactive: false });
  }

  /** Fit the view to what matters when that changes (another incident, other defibrillators),
   *  or when something to be seen has moved out of view; otherwise leave the zoom as the person
   *  left it (positions move every few seconds). Returns whether it fitted. */
  function fit({ force = false, shownOnly = false } = {}) {
    const points = pointsToFit(shown);
    if (!points.length) return false;
    const area = !pointsToFit({ ...shown, stations: [] }).length; // only the stations
    const key = JSON.stringify(pointsToFit({ incidents: shown.incidents, defibrillators: shown.defibrillators }));
    map.invalidateSize({ pan: false });
    const outOfView = !map.getBounds().contains(L.latLngBounds(points));
    if (!force && key === fitted && !outOfView) return false;
    fitted = key;
    if (points.length === 1 && !area) map.setView(points[0], 16, { animate: false });
    else {
      let padding = { paddingTopLeft: [FIT_PADDING_PX, FIT_PADDING_PX], paddingBottomRight: [LABEL_ROOM_PX, FIT_PADDING_PX] }; // the labels are to the right of their points
      if (area) padding = areaPadding(facesToFit(true));
      else if (fitToLabels) padding = fitPadding(facesToFit(false, shownOnly), map.getSize());
      map.options.zoomSnap = area ? AREA_ZOOM_SNAP : ZOOM_SNAP; // read by fitBounds, as it runs (not animated)
      map.fitBounds(L.latLngBounds(points), { ...padding, maxZoom: area ? AREA_CLOSEST_ZOOM : CLOSEST_ZOOM, animate: false });
      map.options.zoomSnap = ZOOM_SNAP;
    }
    return true;
  }

  /** The faces of the markers fitted to (the stations' when they are all there is: areaPadding). */
  function facesToFit(area = false, shownOnly = false) {
    const faces = [];
    for (const group of area ? [layers.stations] : [layers.incidents, layers.me, layers.responders, layers.defibrillators]) {
      group.eachLayer((layer) => {
        const element = layer instanceof L.Marker ? layer.getElement() : null;
        if (!element) return;
        const face = faceOf(element);
        // A label not shown at the last placing (`shownOnly`): room for the dot only (about its point).
        const hidden = shownOnly && element.querySelector(".map-pin-label")?.style.visibility === "hidden";
        faces.push(hidden ? { ...face, width: Math.min(face.width, 2 * face.offsetX), height: Math.min(face.height, 2 * face.offsetY) } : face);
      });
    }
    return faces;
  }

  /** The markers of `groups` as drawn: {element, dot, label, rank} (rank: its group's place in
   *  `groups`, the order of importance). */
  function markersOf(groups) {
    const markers = [];
    for (const [rank, group] of groups.entries()) {
      group.eachLayer((layer) => {
        const element = layer instanceof L.Marker ? layer.getElement() : null;
        const dot = element?.querySelector(".map-pin-dot");
        const label = element?.querySelector(".map-pin-label");
        if (dot && label) markers.push({ element, dot, label, rank });
      });
    }
    return markers;
  }

  /** Put a marker's label where it was placed ({dx, dy, shown}: px from where it is drawn), tied to
   *  its dot by a drawn line if it moved up or down and `face` (as measured, leaderBox) is given.
   *  CSSOM, not a style attribute: the Content-Security-Policy allows no inline style markup. */
  function putLabel({ element, label }, { dx, dy, shown }, face = null) {
    if (!shown) label.style.visibility = "hidden"; // the label only: the dot stays
    if (dx || dy) label.style.transform = `translate(${dx}px, ${dy}px)`;
    if (!shown || !dy || !face) return;
    const leader = document.createElement("span");
    const { left, top, width, height, up, toLeft } = leaderBox(face, dy);
    leader.className = `map-pin-leader${up ? " map-pin-leader--up" : ""}${toLeft ? " map-pin-leader--left" : ""}`;
    Object.assign(leader.style, { left: `${left}px`, top: `${top}px`, width: `${width}px`, height: `${height}px` });
    element.prepend(leader); // under the dot and the label
  }

  /** Place the labels, measured as drawn now: after each redraw and each zoom, since what overlaps
   *  depends on the scale. A label that would run off the map's right edge goes to the left of its
   *  dot (labelSide); then labels move out of each other's way and into the map, or give way
   *  (labelPlaces). A moved label is tied to its dot by a drawn line (leaderBox), so that it never
   *  reads as the label of the dot it moved under. The stations' dots stay; their labels go where
   *  they are clear, or are not shown (contextLabels). Too crowded for every incident's label in
   *  full beside its own dot (the defibrillators' labels already gave way, the stations' come
   *  after), the incidents' labels are placed again shortened, and shown so where that does less
   *  harm (shortenedIsBetter). Returns whether a label of what the view is fitted to is still cut
   *  off by the map's edges (a map narrower than twice it, or a view someone zoomed: fit() then
   *  fits again). */
  function declutter() {
    const full = layOut(false);
    const crowded = full.places.forced.some((index) => full.measured[index].keep);
    let chosen = full;
    if (crowded && full.markers.some(({ label }) => label.dataset.short)) {
      const short = layOut(true);
      if (shortenedIsBetter(full.measured, full.places, short.places)) chosen = short;
      else showShort(full.markers, false); // as measured for `full`: nothing else moved
    }
    shortened = chosen !== full;
    putLabels(chosen);
    return chosen.sides.some((side) => !side.inside);
  }
  map.on("zoomend", () => declutter());

  /** The incidents' labels in full, or shortened (`short`: shortLabels), where they have both. */
  function showShort(markers, short) {
    for (const { label } of markers) if (label.dataset.short) label.textContent = short ? label.dataset.short : label.dataset.full;
  }

  /** Every label back where it is drawn, the incidents' in full or `short`, measured, and placed
   *  (labelSide, labelPlaces): {markers, stations, within, measured, sides, stationFaces, scaleBar,
   *  places}, for putLabels. */
  function layOut(short) {
    const markers = markersOf([layers.incidents, layers.me, layers.responders, layers.defibrillators]);
    const stations = markersOf([layers.stations]);
    for (const { element, label } of [...markers, ...stations]) {
      label.style.transform = "";
      label.style.visibility = "";
      element.querySelector(".map-pin-leader")?.remove();
    }
    showShort(markers, short);
    const within = box(canvas);
    const keep = (element) => element.classList.contains("map-pin--incident");
    const measured = markers.map(({ element, dot, label, rank }) => ({ pin: box(element), dot: box(dot), label: box(label), keep: keep(element), rank }));
    const sides = measured.map((face) => labelSide(face, within));
    for (const [index, face] of measured.entries()) face.label = moved(face.label, sides[index].dx, 0);
    const stationFaces = stations.map(({ dot, label }) => ({ dot: box(dot), label: box(label) }));
    const scaleBar = box(scale.getContainer());
    const places = labelPlaces(measured, within, stationFaces.map(({ dot }) => dot), stationFaces.map(({ label }) => label), [scaleBar]);
    return { markers, stations, within, measured, sides, stationFaces, scaleBar, places };
  }

  /** Put the labels where layOut placed them; then the stations' labels where they are clear. */
  function putLabels({ markers, stations, within, measured, sides, stationFaces, scaleBar, places }) {
    markers.forEach((marker, index) => {
      const { dx, dy, shown } = places[index];
      putLabel(marker, { dx: sides[index].dx + dx, dy, shown }, { ...measured[index], label: moved(measured[index].label, dx, 0) });
    });
    const placed = measured.flatMap(({ dot, label }, index) => {
      const { dx, dy, shown } = places[index];
      return shown ? [dot, moved(label, dx, dy)] : [dot];
    });
    placed.push(...places.leaders, scaleBar);
    const dots = measured.map(({ dot }) => dot);
    contextLabels(placed, stationFaces, within, dots).forEach((place, index) => putLabel(stations[index], place));
  }

  /** Fit (when that is due) and place the labels; a label of what is fitted to still cut off at the
   *  map's edge (its marker moved near one, in a view fitted before) is something out of view: fit
   *  again, once, with room for the labels as they are now. */
  function place() {
    const refitted = fit();
    const cut = declutter();
    // Just fitted with room for the incidents' labels in full, and those shortened: fitted to them as
    // shortened, and to the dots only of the labels that gave way, the view may come closer, with
    // more room between the dots (found by a browser trial: fifteen incidents in a third of the
    // board's map, their labels over one another).
    if (refitted && shortened && fitToLabels) {
      fit({ force: true, shownOnly: true });
      if (!declutter()) return;
    } else if (!cut) return;
    fit({ force: true });
    declutter();
  }

  function drawStations() {
    const clear = (station) =>
      shown.incidents.every((incident) => map.distance([incident.latitude, incident.longitude], [station.latitude, station.longitude]) > STATION_HIDDEN_WITHIN_M);
    redraw(layers.stations, shown.stations.filter(clear), (station) => [pin("station", station, station.name || "Station")]);
  }

  function redraw(group, items, draw) {
    group.clearLayers();
    for (const layer of items.flatMap(draw)) if (layer) group.addLayer(layer);
  }

  const api = {
    leafletMap: map,
    /** One incident: {latitude, longitude, label?}; null for none. */
    setIncident(incident) {
      api.setIncidents(incident ? [incident] : []);
    },
    /** Several incidents (the board): [{id?, latitude, longitude, label?}]. */
    setIncidents(incidents) {
      shown.incidents = (incidents || []).filter(isPlace);
      const labels = shown.incidents.map((incident) => incident.label || "Incident");
      const shorts = shortLabels(labels);
      redraw(layers.incidents, shown.incidents, (incident, index) => [pin("incident", incident, labels[index], "", shorts[index])]);
      drawStations();
      place();
    },
    /** This phone's own position {latitude, longitude, accuracy_m}, or null. Shown here only. */
    setMe(me) {
      shown.me = isPlace(me) ? me : null;
      redraw(layers.me, shown.me ? [shown.me] : [], (point) => [accuracy(point, "me"), pin("me", point, "You")]);
      place();
    },
    /** Other responders' positions (the board, the crew): the contract's `positions` items, each
     *  drawn with its estimate, or with its `state_label` ("on scene") when given instead, labelled
     *  with the responder's name or as its `map_label` says (a list of lines naming the incident:
     *  the board's, dispatch/board-map.js responderMarkers). An estimate counts down from when it
     *  was worked out (its `computed_at`) on the map's own tick until the next call (countDown). */
    setResponders(positions) {
      shown.responders = (positions || []).filter(isPlace);
      counted = [];
      redraw(layers.responders, shown.responders, (position) => {
        const face = pinElement("responder", position.map_label || position.responder_name || "Responder", responderDetail(position));
        const detail = face.querySelector("small");
        if (detail && estimateText(position.estimate)) counted.push({ position, detail });
        return [accuracy(position, "responder"), pinMarker("responder", position, face)];
      });
      countWhileNeeded();
      place();
    },
    /** The nearest defibrillators, nearest first, labelled "AED 1", "AED 2"... as the list is, or
     *  as each one's `map_label` says (a string, or a list of lines: pinElement). */
    setDefibrillators(defibrillators) {
      shown.defibrillators = (defibrillators || []).filter(isPlace);
      redraw(layers.defibrillators, shown.defibrillators, (defibrillator, index) => [
        pin("defibrillator", defibrillator, defibrillator.map_label || `AED ${index + 1}`, accessNote(defibrillator.access)),
      ]);
      place();
    },
    /** The fire stations: context only, fitted to only when nothing else is shown (pointsToFit);
     *  one under an incident's marker is left out (its label would show through the incident's). */
    setStations(stations) {
      shown.stations = (stations || []).filter(isPlace);
      drawStations();
      place();
    },
    /** Fit again (e.g. after the container was resized or shown). */
    fit: () => (fit({ force: true }), declutter()),
    destroy() {
      stopCounting();
      counted = [];
      map.remove();
      container.replaceChildren();
      container.classList.remove("map");
    },
  };
  return api;
}
