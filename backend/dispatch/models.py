from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Upper

from backend.accounts.models import Responder, Station


class IncidentCategory(models.TextChoices):
    CARDIAC_ARREST = "cardiac_arrest", "Suspected cardiac arrest"
    UNCONSCIOUS = "unconscious", "Unconscious, breathing uncertain"
    OTHER_MEDICAL = "other_medical", "Other medical emergency"


# The CAD may ask for more crews than the default; a bigger number is a typing error.
MAX_CREW_TARGET = 20


def default_crew_target() -> int:
    return settings.DISPATCH_CREW_TARGET


class UnreachedReason(models.TextChoices):
    """Why a dispatch alerted nobody: the caller and the board are told at once."""

    NO_STATION_IN_RANGE = "no_station_in_range", "No station is within range"
    NOBODY_ON_CALL = "nobody_on_call", "Nobody in range is on call with training in date"
    EVERYONE_COMMITTED = "everyone_committed", "Everyone in range is committed to another incident"
    EVERYONE_ALERTED = "everyone_alerted", "Everyone in range has already been alerted"
    EVERYONE_ALERTED_OR_COMMITTED = (
        "everyone_alerted_or_committed",
        "Everyone in range has already been alerted or is committed to another incident",
    )
    # A coordinator's named dispatch that reached nobody says why each named responder could not be
    # alerted, when one reason holds for all (found by trying the board: someone who had declined
    # was refused as "off call, untrained or already alerted"); the last is for a mix of reasons.
    NAMED_OFF_CALL = "named_off_call", "Every named responder is off call or has training out of date"
    NAMED_DECLINED = (
        "named_declined",
        "Every named responder declined this incident (they can still accept it on their phone)",
    )
    NAMED_ALREADY_ALERTED = (
        "named_already_alerted",
        "Every named responder is already alerted to this incident or has cleared from it",
    )
    NAMED_NOT_AVAILABLE = (
        "named_not_available",
        "None of the named responders can be alerted: off call, untrained, declined or already alerted",
    )


class IncidentStatus(models.TextChoices):
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"
    CANCELLED = "cancelled", "Cancelled"


class Incident(models.Model):
    """One 999 call that firefighters are (or may be) sent to. The CAD reference links it to the
    ambulance service's own record; there are no patient identifiers here."""

    # Unique in any case (Meta.constraints): "cad-t3-001" is the call "CAD-T3-001" is.
    cad_reference = models.CharField("CAD reference", max_length=40)
    category = models.CharField(
        max_length=20, choices=IncidentCategory.choices, default=IncidentCategory.CARDIAC_ARREST
    )
    latitude = models.FloatField(validators=[MinValueValidator(-90), MaxValueValidator(90)])
    longitude = models.FloatField(validators=[MinValueValidator(-180), MaxValueValidator(180)])
    address = models.CharField(max_length=300)
    what3words = models.CharField(max_length=100, blank=True)
    notes = models.TextField(blank=True, max_length=1000, help_text="Access notes for the crew. No patient names.")
    status = models.CharField(max_length=10, choices=IncidentStatus.choices, default=IncidentStatus.OPEN)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    # Indexed for the board's snapshot, which reads the open incidents and those finished in the
    # last minutes: without them it read every incident ever made (backend/sockets/consumers.py).
    closed_at = models.DateTimeField(null=True, blank=True, db_index=True)
    cancelled_at = models.DateTimeField(null=True, blank=True, db_index=True)
    cancel_reason = models.CharField(max_length=200, blank=True)
    # Escalation runs from stored due times, so it survives restarts (backend/dispatch/escalation.py).
    ring = models.PositiveSmallIntegerField(default=1, help_text="Ring of stations alerted so far (1 = nearest).")
    escalation_step = models.PositiveSmallIntegerField(default=0, help_text="Next step of the escalation ladder.")
    # Before the first dispatch: when the alarm for an incident not dispatched is due (ladder.py,
    # undispatched_alarm_at); the worker's escalation pass reads both.
    next_escalation_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # While the ladder is held after a coordinator's stand-down (ladder.is_held): since when. The
    # worker's escalation pass raises the board's `held` alarm HELD_LADDER_REMINDER_SECONDS later if
    # nobody has dispatched, cancelled or closed it meanwhile (escalation.py; H17).
    held_since = models.DateTimeField(
        null=True, blank=True, db_index=True, help_text="Since when the ladder has been held after a stand-down."
    )
    # When a dispatch last resumed the held ladder, and at which step (ladder.resume_held): a fresh
    # attempt, so the boards' `unanswered` alarm waits for a step to run since, as for a new
    # incident (board-state.js, incidentAlarm). None until then, and once the ladder starts again.
    ladder_resumed_at = models.DateTimeField(
        null=True, blank=True, help_text="When a dispatch last resumed the ladder after a hold."
    )
    ladder_resumed_step = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="The step the ladder resumed at (its next step then)."
    )
    # The board's alarm (backend/dispatch/actions.py, raise_board_alarm): when it was last raised and
    # its words as they were then, so that a board opened later says what the alarm said, not what
    # the incident is now (found by a trial: "Nobody has accepted" under an alarm raised while one
    # crew was going).
    alarm_raised_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the board's alarm was last raised: not dispatched in time, a dispatch that reached "
        "nobody, still short after the last ring, or the last crew going dropped out.",
    )
    alarm_message = models.CharField(max_length=300, blank=True, help_text="The alarm's words when it was raised.")
    # Coverage (backend/dispatch/coverage.py): how many crews the incident needs, and since when it
    # has them. While covered the ladder is paused; it resumes where it was if coverage drops.
    crew_target = models.PositiveSmallIntegerField(
        default=default_crew_target,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_CREW_TARGET)],
        help_text="Responders needed: once this many are going (or attended and cleared), no more are alerted.",
    )
    covered_at = models.DateTimeField(null=True, blank=True, help_text="When enough crews were going.")
    escalation_delay_seconds = models.PositiveIntegerField(
        default=0,
        help_text="How far the ladder's steps are moved on from the dispatch: the time it spent paused while "
        "covered, or, once started again after a crew dropped out, the time from the dispatch to then.",
    )
    unreached_reason = models.CharField(
        max_length=40,
        choices=UnreachedReason.choices,
        blank=True,
        help_text="Why the last dispatch alerted nobody; blank once somebody is alerted.",
    )
    # Issue 14: the ambulance's estimated arrival, from the CAD; the board and the crew panel compare
    # it with the responders' estimates ("likely first on scene").
    ambulance_eta = models.DateTimeField(null=True, blank=True, help_text="The ambulance's estimated arrival (CAD).")

    class Meta:
        ordering = ["-created_at"]
        permissions = [
            ("dispatch_incident", "Can dispatch responders to an incident"),
            ("stand_down_incident", "Can stand responders down"),
            ("cancel_incident", "Can cancel an incident"),
        ]
        indexes = [models.Index(fields=["status", "-created_at"])]
        constraints = [
            # One incident per 999 call, however the CAD or a coordinator types its reference: a
            # taken reference in another case is a duplicate (actions._refuse_if_duplicate answers
            # 409 naming the incident that has it), refused by the database whoever writes.
            models.UniqueConstraint(
                Upper("cad_reference"),
                name="dispatch_incident_cad_reference_unique_in_any_case",
                violation_error_message="An incident with this CAD reference (in any case) already exists.",
            ),
        ]

    def __str__(self) -> str:
        return self.cad_reference

    @property
    def is_open(self) -> bool:
        return self.status == IncidentStatus.OPEN


class AlertState(models.TextChoices):
    ALERTED = "alerted", "Alerted"
    RECEIVED = "received", "Shown on device"
    ACCEPTED = "accepted", "Accepted"
    DECLINED = "declined", "Declined"
    EN_ROUTE = "en_route", "En route"
    ON_SCENE = "on_scene", "On scene"
    CLEARED = "cleared", "Cleared"
    STOOD_DOWN = "stood_down", "Stood down"
    CANCELLED = "cancelled", "Incident cancelled"


# A responder in one of these states is expected on scene: committed to that incident, so no
# dispatch or ring selects them for another (backend/dispatch/selection.py).
COMMITTED_STATES = frozenset({AlertState.ACCEPTED, AlertState.EN_ROUTE, AlertState.ON_SCENE})


class DistanceFrom(models.TextChoices):
    """Where an alert's distance was measured from (backend/dispatch/selection.py)."""

    STATION = "station", "From the station"
    POSITION = "position", "From the responder's position"


class StandDownReason(models.TextChoices):
    """Why an alert was stood down: the phone tells its firefighter, the board its coordinator."""

    COORDINATOR = "coordinator", "Stood down by a coordinator"
    # By the ambulance service's CAD (a user in the Dispatch systems group), not by a person on the
    # board: the phone must not say a coordinator did it.
    CONTROL_ROOM = "control_room", "Stood down by the ambulance control room"
    ENOUGH_CREWS = "enough_crews", "Enough crews are going"
    COMMITTED_ELSEWHERE = "committed_elsewhere", "Accepted another incident"
    INCIDENT_CLOSED = "incident_closed", "Incident closed"


class DeclineReason(models.TextChoices):
    UNAVAILABLE = "unavailable", "Not available"
    TOO_FAR = "too_far", "Too far away"
    NO_TRANSPORT = "no_transport", "No transport"
    ALREADY_COMMITTED = "already_committed", "Already at another incident"
    OTHER = "other", "Other"


class Alert(models.Model):
    """One responder's part in one incident, from alert to clearing. Each state it has passed
    through has its time, so the timeline can be rebuilt without a separate log."""

    # Looked up through one_alert_per_responder (incident, responder) and the (responder, state)
    # index, which start with these columns: no index of their own to write with every alert.
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="alerts", db_index=False)
    responder = models.ForeignKey(Responder, on_delete=models.PROTECT, related_name="alerts", db_index=False)
    # The reports count an alert for the station the firefighter belonged to when alerted, not
    # the one they belong to now: a firefighter who moves takes no history with them.
    station = models.ForeignKey(
        Station, on_delete=models.PROTECT, related_name="+", help_text="The firefighter's station when alerted."
    )
    state = models.CharField(max_length=12, choices=AlertState.choices, default=AlertState.ALERTED)
    version = models.PositiveIntegerField(default=1, help_text="Goes up on every change; clients keep the newest.")
    distance_km = models.FloatField(
        help_text="Great-circle distance to the incident when alerted, from where distance_from says."
    )
    distance_from = models.CharField(
        max_length=10,
        choices=DistanceFrom.choices,
        default=DistanceFrom.STATION,
        help_text="Measured from the station, or from a fresh on-call position the responder shared.",
    )
    rank = models.PositiveIntegerField(help_text="1 = nearest of those alerted at the same time.")
    decline_reason = models.CharField(max_length=20, choices=DeclineReason.choices, blank=True)
    decline_note = models.CharField(max_length=200, blank=True)
    stood_down_reason = models.CharField(max_length=20, choices=StandDownReason.choices, blank=True)

    # The first alert: kept when the responder is alerted again, as the incident's "fire alerted"
    # time (backend/records/registry.py) and the bound of what the crew may log (checklists).
    alerted_at = models.DateTimeField(help_text="When the responder was first alerted to the incident.")
    # A stood-down alert alerted again (actions._alert_again) is asked afresh: its earlier answer's
    # times are cleared there, and the answers after it are measured from this time (answered_alert).
    realerted_at = models.DateTimeField(
        null=True, blank=True, help_text="When the latest re-alert went out (empty: alerted once)."
    )
    received_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    # Kept for good, unlike accepted_at, which a re-alert clears (actions._ask_afresh): that the
    # responder accepted at some time, so the board, the crew's phones and the alarm can say "1
    # accepted, then dropped out" after a re-alert too. Domain state, not read back from the audit
    # trail, which is the accountability record (archived, pseudonymised, its detail no schema).
    first_accepted_at = models.DateTimeField(
        null=True, blank=True, help_text="When the responder first accepted (kept after a re-alert or stand-down)."
    )
    declined_at = models.DateTimeField(null=True, blank=True)
    en_route_at = models.DateTimeField(null=True, blank=True)
    # Kept for good, as first_accepted_at, unlike en_route_at, which a re-alert clears unless they
    # were on scene (actions._ask_afresh): that the responder set off at some time, so one stood down
    # on the way and alerted again still owes their attendance form (mobile: on-call pay;
    # records/access.py never_set_off, docs/hazard-log.md H10).
    first_en_route_at = models.DateTimeField(
        null=True, blank=True, help_text="When the responder first set off (kept after a re-alert or stand-down)."
    )
    on_scene_at = models.DateTimeField(null=True, blank=True)
    cleared_at = models.DateTimeField(null=True, blank=True)
    stood_down_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    # The firefighter tapped Stop on the phone's position sharing (cleared by their next fix, "Share
    # again"): their positions leave the boards' maps and estimates (backend/dispatch/positions.py).
    position_stopped_at = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="When the firefighter stopped sharing their position."
    )

    # The reports' summary of this alert (backend.records.summaries) is behind: set when the alert
    # is made and when a time the reports count is set, cleared by the worker's summaries pass (or by
    # a report, which catches up first). Kept here, in the same row and write, so that neither a
    # dispatch nor an answer pays for the reports (docs/architecture.md).
    summary_due = models.BooleanField(default=True, editable=False)

    class Meta:
        ordering = ["incident", "rank"]
        constraints = [models.UniqueConstraint(fields=["incident", "responder"], name="one_alert_per_responder")]
        indexes = [
            models.Index(fields=["responder", "state"]),
            # Only the few alerts whose summary is behind: the summaries pass reads them by this.
            models.Index(fields=["summary_due"], condition=models.Q(summary_due=True), name="alert_summary_due"),
        ]

    def __str__(self) -> str:
        return f"{self.incident} → {self.responder}"

    # What the delivery outbox asks before sending a push or a text for an alert, without knowing
    # dispatch's states (docs/architecture.md). Each takes the columns it needs rather than the
    # alert, so that a worker's claim can ask it of plain rows (backend/delivery/sending.py:
    # claim_due reads values, not an Alert and an Incident per push).

    @staticmethod
    def not_to_call_because(*, incident_status: str, state: str) -> str:
        """Why a push or a text for this alert is no longer worth sending ("" while it is): the
        responder can only still answer an open incident's alert that is not yet answered."""
        if incident_status != IncidentStatus.OPEN:
            return f"Not sent: the incident is {incident_status}."
        if state not in (AlertState.ALERTED, AlertState.RECEIVED):
            return f"Not sent: the alert is {AlertState(state).label.lower()}."
        return ""

    @staticmethod
    def not_to_text_because(*, incident_covered_at) -> str:
        """Why a text for this alert is no longer worth sending, besides not_to_call_because (""
        while it is): a text is the fallback for a phone that did not ring, needed only while the
        incident is short of crews. `covered_at` is kept by coverage.follow_coverage under the
        incident's lock, set while enough crews are going."""
        if incident_covered_at is not None:
            return "Not sent: enough crews are going."
        return ""

    @staticmethod
    def not_to_message_because(*, incident_status: str, state: str) -> str:
        """Why a push saying "new message" is no longer worth sending to this alert's phones (""
        while it is): the incident has ended, or the responder is no longer part of it."""
        if incident_status != IncidentStatus.OPEN:
            return f"Not sent: the incident is {incident_status}."
        if state not in MESSAGE_RECIPIENT_STATES:
            return f"Not sent: the alert is {AlertState(state).label.lower()}."
        return ""

    @staticmethod
    def answered_alert(alerted_at, realerted_at, at):
        """The alert an answer at `at` answered: the re-alert if it came after it, else the first
        alert (an arrival kept from before a re-alert answered the first: actions._alert_again).
        The board's, the admin's and the reports' "alert to answer" intervals run from it."""
        if realerted_at is not None and at is not None and at >= realerted_at:
            return realerted_at
        return alerted_at

    @staticmethod
    def shown_on_device_in(state: str) -> bool:
        """The app has shown the alert (a text queued as a fallback is then not needed)."""
        return state != AlertState.ALERTED


class AlertPosition(models.Model):
    """Where a responder was while responding to an alert (accepted, en route, on scene), with the
    arrival estimate worked out from there: a short trail per alert, the newest (highest id) served.
    Never in a push, a log line or the replayable event store; served only while the alert is
    committed to an open incident; deleted by the retention pass after POSITIONS_RETENTION_HOURS
    (backend/dispatch/positions.py, docs/positions.md)."""

    # Indexed by (alert, id) below, which serves the look-ups by alert too.
    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="positions", db_index=False)
    latitude = models.FloatField(validators=[MinValueValidator(-90), MaxValueValidator(90)])
    longitude = models.FloatField(validators=[MinValueValidator(-180), MaxValueValidator(180)])
    accuracy_m = models.FloatField(null=True, blank=True)
    recorded_at = models.DateTimeField(help_text="When the phone took the fix.")
    received_at = models.DateTimeField(db_index=True)
    # The arrival estimate from this position (backend/dispatch/arrival.py), kept so that reading
    # the positions never calls the routing service.
    distance_km = models.FloatField()
    eta_seconds = models.PositiveIntegerField()
    method = models.CharField(max_length=10)
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["alert", "-id"]
        indexes = [models.Index(fields=["alert", "-id"])]

    def __str__(self) -> str:
        return f"Position of alert {self.alert_id} at {self.recorded_at:%H:%M:%S}"


# --- Messages to the crews (backend/dispatch/messages.py) -----------------------------------------

MESSAGE_MAX_LENGTH = 280

# Who is told of a message: those still part of the incident, answered or not ("access by the rear
# door" helps one who is still deciding). Not those who declined, were stood down, were cancelled or
# have cleared: they are not going, or are done (docs/events.md, `message.created`).
MESSAGE_RECIPIENT_STATES = frozenset(
    {AlertState.ALERTED, AlertState.RECEIVED, AlertState.ACCEPTED, AlertState.EN_ROUTE, AlertState.ON_SCENE}
)


class CrewMessage(models.Model):
    """A coordinator's short message to an incident's crews ("Ambulance on scene", "Access by the
    rear door"). The text goes to the crews' apps over the socket and the API after they have logged
    in, never in a push: a coordinator may type patient details."""

    # Indexed by (incident, sent_at) below.
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="messages", db_index=False)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.CharField(max_length=MESSAGE_MAX_LENGTH)
    sent_at = models.DateTimeField()
    # Kept with its MessageRecipient rows (backend/dispatch/messages.py): what the boards show as
    # "Seen by N of M", M never below the acknowledgements, which only those it reaches can make.
    recipient_count = models.PositiveSmallIntegerField(
        default=0,
        help_text="Responders it reaches: told when sent, alerted to the incident since, or who acknowledged it.",
    )

    class Meta:
        ordering = ["-sent_at", "-pk"]
        indexes = [models.Index(fields=["incident", "-sent_at"])]

    def __str__(self) -> str:
        return f"Message {self.pk} to {self.incident}"


class MessageRecipient(models.Model):
    """A responder a message reaches, through their alert on its incident, once per alert: told
    when it was sent (alerted and still part of the incident), alerted to the incident since (a
    wider ring, a re-alert: their app loads the incident's messages with the alert and can say "Got
    it"), or one who acknowledged it otherwise (any responder alerted to the incident may read and
    acknowledge its messages). The message's recipient_count counts these. Found by a browser
    trial: a responder alerted after the message acknowledged it, and the boards said "Seen by 2 of
    1"."""

    # Indexed by one_recipient_row_per_alert (message, alert) below.
    message = models.ForeignKey(CrewMessage, on_delete=models.CASCADE, related_name="recipients", db_index=False)
    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["message", "alert"], name="one_recipient_row_per_alert")]

    def __str__(self) -> str:
        return f"Message {self.message_id} reaches {self.alert_id}"


class MessageAcknowledgement(models.Model):
    """A responder's "Got it" on a message, through their alert on its incident: once per alert."""

    # Indexed by one_acknowledgement_per_alert (message, alert) below.
    message = models.ForeignKey(CrewMessage, on_delete=models.CASCADE, related_name="acknowledgements", db_index=False)
    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="message_acknowledgements")
    acknowledged_at = models.DateTimeField()

    class Meta:
        ordering = ["acknowledged_at", "pk"]
        constraints = [models.UniqueConstraint(fields=["message", "alert"], name="one_acknowledgement_per_alert")]

    def __str__(self) -> str:
        return f"{self.alert} acknowledged message {self.message_id}"


class AlarmKind(models.TextChoices):
    """The board's alarms (docs/board.md): each sounds until a coordinator acknowledges it."""

    UNANSWERED = "unanswered", "Nobody has accepted after the first escalation step"
    ESCALATION = "escalation", "Nobody accepted after the last ring (the escalation alarm)"
    UNREACHED = "unreached", "A dispatch reached nobody"
    # Raised by the worker UNDISPATCHED_ALARM_SECONDS after an incident nobody has dispatched was
    # created (backend/dispatch/escalation.py): over once it is dispatched.
    UNDISPATCHED = "undispatched", "An open incident was not dispatched in time"
    # Raised by the worker HELD_LADDER_REMINDER_SECONDS after a stand-down left the incident short
    # and held its ladder (backend/dispatch/escalation.py): over once it is dispatched, or ended.
    HELD = "held", "Nobody dispatched again after a stand-down left an incident short"
    WORKER_SILENT = "worker_silent", "No delivery worker is reporting"


# The alarm that belongs to no incident.
SYSTEM_ALARM_KINDS = {AlarmKind.WORKER_SILENT}


class AlarmAcknowledgement(models.Model):
    """A coordinator heard an alarm and is dealing with it: the board stops sounding and flashing
    it, on every coordinator's screen (stored, so a board that connects later knows; sent as
    `alarm.acknowledged`). An acknowledgement holds for the alarm as it was: an escalation alarm
    raised after it, or a worker that stops reporting again after reporting, sounds afresh
    (board-state.js: isAcknowledged)."""

    kind = models.CharField(max_length=20, choices=AlarmKind.choices)
    incident = models.ForeignKey(
        Incident, null=True, blank=True, on_delete=models.CASCADE, related_name="alarm_acknowledgements"
    )
    acknowledged_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    acknowledged_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["kind", "incident", "-acknowledged_at"])]

    def __str__(self) -> str:
        return f"{self.kind} acknowledged by {self.acknowledged_by_id} at {self.acknowledged_at:%H:%M:%S}"
