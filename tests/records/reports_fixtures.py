"""Rows for the reports' tests, made directly with the ORM (the actions would refuse history: forms
for incidents years ago, times chosen by hand).

`hand_checked_incidents` builds the fixture whose figures tests/records/test_reports.py checks by
hand. Times are UK local times unless they say UTC.
"""

import datetime
import hashlib
import itertools
import uuid
from dataclasses import dataclass

from django.utils import timezone

from backend.dispatch.models import Alert, AlertState, Incident, IncidentStatus
from backend.records.models import Amendment, Attendance, Outcome, RecordKind, WelfareCheckIn
from backend.records.summaries import note_changed_incidents, summarise_alerts

UTC = datetime.UTC
_references = itertools.count(1)
BODY_HASH = hashlib.sha256(b"reports fixture").hexdigest()


def local(year, month, day, hour=0, minute=0, second=0) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime(year, month, day, hour, minute, second))


def seconds(count: float) -> datetime.timedelta:
    return datetime.timedelta(seconds=count)


def make_incident(created_at: datetime.datetime, created_by, **fields) -> Incident:
    defaults = {
        "cad_reference": f"REPORT-{next(_references):05d}",
        "latitude": 52.63004,
        "longitude": 1.29501,
        "address": "12 Example Road, Norwich",
        "status": IncidentStatus.CLOSED,
    }
    incident = Incident.objects.create(created_by=created_by, **{**defaults, **fields})
    # created_at is set on creation (auto_now_add): history is written afterwards.
    Incident.objects.filter(pk=incident.pk).update(created_at=created_at)
    incident.created_at = created_at
    return incident


def make_alert(incident, responder, *, after=30, accepted=None, on_scene=None, **fields) -> Alert:
    """An alert sent `after` seconds after the incident was created; `accepted` and `on_scene` are
    seconds after the alert."""
    alerted_at = incident.created_at + seconds(after)
    state = AlertState.ON_SCENE if on_scene is not None else AlertState.ACCEPTED if accepted else AlertState.ALERTED
    alert = Alert.objects.create(
        incident=incident,
        responder=responder,
        station_id=fields.pop("station_id", responder.station_id),
        state=fields.pop("state", state),
        distance_km=2.0,
        rank=Alert.objects.filter(incident=incident).count() + 1,
        alerted_at=alerted_at,
        accepted_at=alerted_at + seconds(accepted) if accepted is not None else None,
        on_scene_at=alerted_at + seconds(on_scene) if on_scene is not None else None,
        summary_due=False,
        **fields,
    )
    # Written past the actions, so summarised here, as the worker's pass would (backend.records.summaries).
    summarise_alerts([alert.pk])
    return alert


def _submitted(user) -> dict:
    now = timezone.now()
    return {
        "idempotency_key": uuid.uuid4(),
        "body_hash": BODY_HASH,
        "submitted_by": user,
        "submitted_at": now,
        "updated_at": now,
    }


def make_attendance(alert, *, attended=True, on_scene=None, notes="", **fields) -> Attendance:
    """`on_scene`: seconds after the alert, as the firefighter corrected it on the form."""
    attendance = Attendance.objects.create(
        alert=alert,
        attended=attended,
        on_scene_at=alert.alerted_at + seconds(on_scene) if on_scene is not None else None,
        notes=notes,
        **_submitted(alert.responder.user),
        **fields,
    )
    summarise_alerts([alert.pk])
    return attendance


def make_outcome(incident, station, *, submitted_by=None, crew=(), **fields) -> Outcome:
    """An outcome form as stored. The outcome at handover, the crew's compressions and defibrillator
    and an estimated collapse time are No unless given (None: not known), as these fixtures' forms
    were written when an unanswered question was stored as No."""
    values = {
        "resuscitation_attempted": True,
        "location_type": "home",
        "witnessed": "not_witnessed",
        "first_rhythm": "unknown",
        "collapse_time_estimated": False,
        "compressions": False,
        "defibrillator_applied": False,
        "rosc_any_time": False,
        "rosc_at_handover": False,
        "ongoing_cpr_at_handover": False,
        "resuscitation_stopped": False,
        **fields,
    }
    outcome = Outcome.objects.create(incident=incident, station=station, **_submitted(submitted_by), **values)
    outcome.crew.set(crew)
    note_changed_incidents([incident.created_at])
    return outcome


def make_welfare(alert, *, notes="", impact=3) -> WelfareCheckIn:
    return WelfareCheckIn.objects.create(alert=alert, impact=impact, notes=notes, **_submitted(alert.responder.user))


def make_amendment(record, kind: RecordKind, user, *, reason="Corrected the on-scene time.") -> Amendment:
    return Amendment.objects.create(
        idempotency_key=uuid.uuid4(),
        body_hash=BODY_HASH,
        record_kind=kind,
        record_id=record.pk,
        amended_by=user,
        reason=reason,
        changed_fields=["on_scene_at"],
        at=timezone.now(),
        version=2,
    )


@dataclass
class Fixture:
    incidents: dict
    stations: dict


def hand_checked_incidents(stations, alice, bob, charlie, dave, carol) -> Fixture:
    """March and April 2025 (British Summer Time began on 30 March), with one incident before and
    one after. Seconds are after the alert unless they say otherwise.

    I1  3 Mar 10:00   alice (acc 60, scene 600), bob (acc 120, scene 700; his form: 540),
                      charlie declined. Norwich outcome: bystander, shock advised, 2 shocks, ROSC at
                      handover; crew from the forms (bob's 540 = 10:10:00), ambulance 10:15:00.
    I2  20 Mar 14:00  charlie (acc 30, scene 900); dave (acc 90, pressed on scene at 1000 but his
                      form says he did not attend). Yarmouth outcome: crew-witnessed, no shock
                      advised, no ROSC; crew 14:15:30, ambulance 14:10:00.
    I3  31 Mar 23:30 UTC = 1 Apr 00:30 BST (April): alice (acc 45, scene 300), bob (acc 75,
                      scene 420), charlie (acc 150, scene 480, his form 480). Norwich outcome:
                      bystander, shock advised, 1 shock, no ROSC at handover, no ambulance time.
                      Yarmouth outcome: bystander, shock advised, 3 shocks, ROSC at handover; crew
                      from charlie's form (23:38:30 UTC), ambulance 23:45:00 UTC.
    I4  15 Apr 09:00  dave alerted, never answered.
    I8  10 Apr 12:00  alice (acc 40, scene 360). Norwich outcome: not attempted (DNACPR),
                      bystander; crew 12:06:00, ambulance 12:20:00.
    I7  20 Apr        no alerts at all.
    I5  27 Feb 2025   alice attended; Norwich outcome with 5 shocks (before the range).
    I6  2 May 2025    charlie attended; Yarmouth outcome with 7 shocks (after the range).
    """
    norwich, yarmouth = stations["norwich"], stations["yarmouth"]
    found = {}

    i1 = found["I1"] = make_incident(local(2025, 3, 3, 10, 0), carol, notes="Key safe 1234")
    make_attendance(make_alert(i1, alice, after=60, accepted=60, on_scene=600), notes="Went well")
    make_attendance(make_alert(i1, bob, after=60, accepted=120, on_scene=700), on_scene=540)
    make_alert(i1, charlie, after=60, state=AlertState.DECLINED, decline_reason="too_far", decline_note="On leave")
    make_outcome(
        i1,
        norwich,
        submitted_by=alice.user,
        crew=[alice, bob],
        witnessed="bystander",
        first_rhythm="shock_advised",
        defibrillator_applied=True,
        crew_shocks=2,
        rosc_any_time=True,
        rosc_at_handover=True,
        ambulance_arrived_at=local(2025, 3, 3, 10, 15),
        notes="Family present",
    )

    i2 = found["I2"] = make_incident(local(2025, 3, 20, 14, 0), carol)
    make_attendance(make_alert(i2, charlie, after=30, accepted=30, on_scene=900))
    make_attendance(make_alert(i2, dave, after=30, accepted=90, on_scene=1000), attended=False)
    make_outcome(
        i2,
        yarmouth,
        witnessed="crew",
        first_rhythm="no_shock_advised",
        crew_arrived_at=local(2025, 3, 20, 14, 15, 30),
        ambulance_arrived_at=local(2025, 3, 20, 14, 10),
    )

    i3 = found["I3"] = make_incident(datetime.datetime(2025, 3, 31, 23, 30, tzinfo=UTC), carol)
    make_attendance(make_alert(i3, alice, after=30, accepted=45, on_scene=300))
    make_attendance(make_alert(i3, bob, after=30, accepted=75, on_scene=420))
    make_attendance(make_alert(i3, charlie, after=30, accepted=150, on_scene=480), on_scene=480)
    make_outcome(
        i3,
        norwich,
        witnessed="bystander",
        first_rhythm="shock_advised",
        defibrillator_applied=True,
        crew_shocks=1,
        rosc_any_time=True,
        crew_arrived_at=datetime.datetime(2025, 3, 31, 23, 35, tzinfo=UTC),
    )
    make_outcome(
        i3,
        yarmouth,
        witnessed="bystander",
        first_rhythm="shock_advised",
        defibrillator_applied=True,
        crew_shocks=3,
        rosc_any_time=True,
        rosc_at_handover=True,
        ambulance_arrived_at=datetime.datetime(2025, 3, 31, 23, 45, tzinfo=UTC),
    )

    i4 = found["I4"] = make_incident(local(2025, 4, 15, 9, 0), carol)
    make_alert(i4, dave, after=30)

    i8 = found["I8"] = make_incident(local(2025, 4, 10, 12, 0), carol)
    make_attendance(make_alert(i8, alice, after=0, accepted=40, on_scene=360))
    make_outcome(
        i8,
        norwich,
        resuscitation_attempted=False,
        not_attempted_reason="dnacpr",
        witnessed="bystander",
        first_rhythm="",
        crew_arrived_at=local(2025, 4, 10, 12, 6),
        ambulance_arrived_at=local(2025, 4, 10, 12, 20),
    )

    found["I7"] = make_incident(local(2025, 4, 20, 8, 0), carol)

    i5 = found["I5"] = make_incident(local(2025, 2, 27, 16, 0), carol)
    make_attendance(make_alert(i5, alice, after=30, accepted=50, on_scene=400))
    make_outcome(i5, norwich, witnessed="bystander", first_rhythm="shock_advised", crew_shocks=5, rosc_at_handover=True)

    i6 = found["I6"] = make_incident(local(2025, 5, 2, 11, 0), carol)
    make_attendance(make_alert(i6, charlie, after=30, accepted=20, on_scene=500))
    make_outcome(i6, yarmouth, witnessed="bystander", first_rhythm="shock_advised", crew_shocks=7)
    return Fixture(incidents=found, stations=stations)


def many_incidents(count: int, stations, responders, created_by, *, start=None) -> None:
    """`count` attended incidents a day apart, each with an alert, an attendance and an outcome per
    responder's station: for showing that the number of queries does not depend on the rows."""
    start = start or local(2025, 1, 1, 12, 0)
    for index in range(count):
        incident = make_incident(start + datetime.timedelta(days=index), created_by)
        responder = responders[index % len(responders)]
        alert = make_alert(incident, responder, accepted=60, on_scene=400)
        make_attendance(alert, on_scene=400)
        make_outcome(
            incident,
            responder.station,
            witnessed="bystander",
            first_rhythm="shock_advised",
            crew_shocks=1,
            rosc_at_handover=index % 2 == 0,
            ambulance_arrived_at=alert.alerted_at + seconds(600),
        )
