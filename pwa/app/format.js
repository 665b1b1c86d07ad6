// Words and numbers as firefighters read them (en-GB, 24-hour clock).

export const STATE_LABELS = {
  alerted: "Alerted",
  received: "Seen",
  accepted: "Accepted",
  declined: "Declined",
  en_route: "En route",
  on_scene: "On scene",
  cleared: "Cleared",
  stood_down: "Stood down",
  cancelled: "Incident cancelled",
};

export const DECLINE_REASONS = [
  ["unavailable", "Not available"],
  ["too_far", "Too far away"],
  ["no_transport", "No transport"],
  ["already_committed", "Already at another incident"],
  ["other", "Other reason"],
];

export const EVENT_TYPES = [
  ["arrived", "Arrived at patient"],
  ["cpr_started", "CPR started"],
  ["pads_on", "Pads on"],
  ["analysis", "Rhythm analysed"],
  ["shock", "Shock delivered"],
  ["rosc", "ROSC: signs of life"],
  ["ambulance_arrived", "Ambulance arrived"],
  ["handover", "Handed over"],
];
export const EVENT_LABELS = Object.fromEntries(EVENT_TYPES);

export function categoryHeading(category) {
  if (category === "other_medical") return "MEDICAL EMERGENCY";
  return "CARDIAC ARREST";
}

export function categoryDetail(category) {
  return (
    {
      cardiac_arrest: "Suspected cardiac arrest",
      unconscious: "Unconscious, breathing uncertain",
      other_medical: "Other medical emergency",
    }[category] || ""
  );
}

function toDate(value) {
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

export function formatTime(value) {
  const date = toDate(value);
  if (!date) return "";
  return date.toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

export function timeAgo(value, now = Date.now()) {
  const date = toDate(value);
  if (!date) return "";
  const seconds = Math.max(0, Math.round((now - date.getTime()) / 1000));
  if (seconds < 45) return "just now";
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.floor(minutes / 60);
  return `${hours} h ${minutes % 60} min ago`;
}

export function formatDistance(km) {
  const value = Number(km);
  if (!Number.isFinite(value)) return "";
  if (value < 1) return `${Math.round(value * 1000)} m`;
  return `${value.toFixed(value < 10 ? 1 : 0)} km`;
}

/** m:ss; negative values count up as "+m:ss" (time over). */
export function formatClock(seconds) {
  const over = seconds < 0;
  const total = Math.floor(Math.abs(seconds));
  const text = `${Math.floor(total / 60)}:${String(total % 60).padStart(2, "0")}`;
  return over ? `+${text}` : text;
}
