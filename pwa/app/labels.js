// Generated from the choices in backend/dispatch/models.py by `manage.py write_app_modules`
// (backend/records/app_modules.py). Do not edit: change the server's definitions, then run the
// command; tests/records/test_app_modules.py fails while this file is out of date.

export const ALERT_STATES = {
  "alerted": "Alerted",
  "received": "Shown on device",
  "accepted": "Accepted",
  "declined": "Declined",
  "en_route": "En route",
  "on_scene": "On scene",
  "cleared": "Cleared",
  "stood_down": "Stood down",
  "cancelled": "Incident cancelled",
};

export const INCIDENT_CATEGORIES = {
  "cardiac_arrest": "Suspected cardiac arrest",
  "unconscious": "Unconscious, breathing uncertain",
  "other_medical": "Other medical emergency",
};

export const INCIDENT_STATUSES = {
  "open": "Open",
  "closed": "Closed",
  "cancelled": "Cancelled",
};

export const DECLINE_REASONS = {
  "unavailable": "Not available",
  "too_far": "Too far away",
  "no_transport": "No transport",
  "already_committed": "Already at another incident",
  "other": "Other",
};

export const STAND_DOWN_REASONS = {
  "coordinator": "Stood down by a coordinator",
  "control_room": "Stood down by the ambulance control room",
  "enough_crews": "Enough crews are going",
  "committed_elsewhere": "Accepted another incident",
  "incident_closed": "Incident closed",
};

export const UNREACHED_REASONS = {
  "no_station_in_range": "No station is within range",
  "nobody_on_call": "Nobody in range is on call with training in date",
  "everyone_committed": "Everyone in range is committed to another incident",
  "everyone_alerted": "Everyone in range has already been alerted",
  "everyone_alerted_or_committed": "Everyone in range has already been alerted or is committed to another incident",
  "named_off_call": "Every named responder is off call or has training out of date",
  "named_declined": "Every named responder declined this incident (they can still accept it on their phone)",
  "named_already_alerted": "Every named responder is already alerted to this incident or has cleared from it",
  "named_not_available": "None of the named responders can be alerted: off call, untrained, declined or already alerted",
};

// The alert states the server takes a decline in, in the states' order.
export const DECLINE_FROM = ["alerted", "received", "accepted", "en_route"];
