// Generated from the form fields in backend/records/validation.py by `manage.py write_app_modules`
// (backend/records/app_modules.py). Do not edit: change the server's definitions, then run the
// command; tests/records/test_app_modules.py fails while this file is out of date.

// Each form's fields, in the server's order, as the server accepts them.
export const FORM_FIELDS = {
  "attendance": {
    "attended": {"type": "bool", "required": true},
    "appliance": {"type": "text", "required": false, "maxLength": 20},
    "role": {"type": "choice", "required": false, "choices": [["crew_lead", "Crew lead"], ["crew_member", "Crew member"], ["driver", "Driver"]]},
    "mobile_at": {"type": "time", "required": false},
    "on_scene_at": {"type": "time", "required": false},
    "at_patient_at": {"type": "time", "required": false},
    "left_scene_at": {"type": "time", "required": false},
    "notes": {"type": "text", "required": false, "maxLength": 1000},
  },
  "outcome": {
    "appliance": {"type": "text", "required": false, "maxLength": 20},
    "crew": {"type": "ids", "required": false},
    "resuscitation_attempted": {"type": "bool", "required": true},
    "not_attempted_reason": {"type": "choice", "required": false, "choices": [["dnacpr", "Do-not-attempt-CPR decision"], ["obviously_dead", "Obviously dead"], ["signs_of_life", "Signs of life on arrival"]]},
    "location_type": {"type": "choice", "required": false, "choices": [["home", "Home or residence"], ["care_home", "Care home or assisted living"], ["street", "Street or highway"], ["public_building", "Public building"], ["workplace", "Workplace or industrial"], ["sport_recreation", "Sport or recreation"], ["educational", "Educational"], ["healthcare_facility", "Healthcare facility"], ["public_place", "Other public place"], ["other", "Other"]]},
    "witnessed": {"type": "choice", "required": false, "choices": [["bystander", "Bystander"], ["crew", "Fire crew"], ["ambulance_crew", "Ambulance crew"], ["not_witnessed", "Not witnessed"]]},
    "presumed_cause": {"type": "choice", "required": false, "choices": [["medical", "Medical (presumed cardiac or other medical)"], ["trauma", "Trauma"], ["overdose", "Drug overdose"], ["drowning", "Drowning"], ["electrocution", "Electrocution"], ["asphyxia", "Asphyxia (external)"], ["unknown", "Unknown"]]},
    "collapse_at": {"type": "time", "required": false},
    "collapse_time_estimated": {"type": "bool", "required": false, "nullable": true},
    "bystander_cpr": {"type": "choice", "required": false, "choices": [["yes", "Yes"], ["no", "No"], ["unknown", "Unknown"]]},
    "dispatcher_assisted_cpr": {"type": "choice", "required": false, "choices": [["yes", "Yes"], ["no", "No"], ["unknown", "Unknown"]]},
    "public_defibrillator_applied": {"type": "choice", "required": false, "choices": [["yes", "Yes"], ["no", "No"], ["unknown", "Unknown"]]},
    "public_defibrillator_shocks": {"type": "count", "required": false, "minimum": 0, "maximum": 50},
    "public_defibrillator_first_shock_at": {"type": "time", "required": false},
    "compressions": {"type": "bool", "required": false, "nullable": true},
    "ventilation": {"type": "choice", "required": false, "choices": [["none", "None"], ["mouth_to_mask", "Mouth-to-mask"], ["bag_valve_mask", "Bag-valve-mask"]]},
    "defibrillator_applied": {"type": "bool", "required": false, "nullable": true},
    "first_rhythm": {"type": "choice", "required": false, "choices": [["shock_advised", "Shock advised"], ["no_shock_advised", "No shock advised"], ["unknown", "Unknown"]]},
    "crew_shocks": {"type": "count", "required": false, "minimum": 0, "maximum": 50},
    "first_cpr_by": {"type": "choice", "required": false, "choices": [["bystander", "Bystander"], ["dispatcher_assisted", "Bystander, dispatcher-assisted"], ["fire_crew", "Fire crew"], ["ambulance", "Ambulance"], ["other", "Other"], ["nobody", "Nobody"]]},
    "first_cpr_at": {"type": "time", "required": false},
    "first_defibrillator_by": {"type": "choice", "required": false, "choices": [["bystander", "Bystander"], ["fire_crew", "Fire crew"], ["ambulance", "Ambulance"], ["other", "Other"], ["nobody", "Nobody"]]},
    "first_shock_by": {"type": "choice", "required": false, "choices": [["bystander", "Bystander"], ["fire_crew", "Fire crew"], ["ambulance", "Ambulance"], ["other", "Other"], ["nobody", "Nobody"]]},
    "first_shock_any_at": {"type": "time", "required": false},
    "crew_arrived_at": {"type": "time", "required": false},
    "cpr_started_at": {"type": "time", "required": false},
    "pads_on_at": {"type": "time", "required": false},
    "first_shock_at": {"type": "time", "required": false},
    "rosc_at": {"type": "time", "required": false},
    "ambulance_arrived_at": {"type": "time", "required": false},
    "handover_at": {"type": "time", "required": false},
    "rosc_any_time": {"type": "bool", "required": false, "nullable": true},
    "rosc_at_handover": {"type": "bool", "required": false, "nullable": true},
    "ongoing_cpr_at_handover": {"type": "bool", "required": false, "nullable": true},
    "resuscitation_stopped": {"type": "bool", "required": false, "nullable": true},
    "age_band": {"type": "choice", "required": false, "choices": [["under_1", "Under 1"], ["1_17", "1 to 17"], ["18_34", "18 to 34"], ["35_54", "35 to 54"], ["55_74", "55 to 74"], ["75_plus", "75 and over"], ["unknown", "Unknown"]]},
    "sex": {"type": "choice", "required": false, "choices": [["female", "Female"], ["male", "Male"], ["unknown", "Unknown"]]},
    "notes": {"type": "text", "required": false, "maxLength": 1000},
  },
  "welfare": {
    "impact": {"type": "scale", "required": true, "minimum": 1, "maximum": 5},
    "follow_up": {"type": "choice", "required": false, "choices": [["none", "No follow-up wanted"], ["welfare", "A welfare conversation"], ["trim", "A TRiM (trauma risk management) follow-up"]]},
    "notes": {"type": "text", "required": false, "maxLength": 1000},
  },
};

// How far ahead of the server's clock a phone's time may be and still be accepted.
export const CLOCK_SLACK_MS = 120000;
