"""What the crew records after a call: attendance (each firefighter), outcome (each crew, by its
lead) and a private welfare check-in (each firefighter). Field list and wording: CLINICAL.md.

No patient identifiers: the incident's CAD reference links to the ambulance service's record.
Every record is written only by backend.records.actions; each submission carries a key made by
the phone, so a retry after a lost answer returns the stored record instead of a second one.
"""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from backend.accounts.models import Responder, Station
from backend.dispatch.models import Alert, Incident

NOTES_MAX_LENGTH = 1000


class SubmittedRecord(models.Model):
    """What every form shares: who submitted it, with which key, and its lock and retention state."""

    idempotency_key = models.UUIDField(unique=True, help_text="Made by the phone: the same key is the same submission.")
    body_hash = models.CharField(max_length=64, help_text="SHA-256 of the submission, to tell a retry from a misuse.")
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    submitted_at = models.DateTimeField(help_text="When the server first stored it; the lock window runs from here.")
    updated_at = models.DateTimeField()
    version = models.PositiveIntegerField(default=1, help_text="Goes up on every change or amendment.")
    pseudonymised_at = models.DateTimeField(
        null=True, blank=True, help_text="Free text removed and people unlinked by the retention command."
    )

    class Meta:
        abstract = True


class CrewRole(models.TextChoices):
    CREW_LEAD = "crew_lead", "Crew lead"
    CREW_MEMBER = "crew_member", "Crew member"
    DRIVER = "driver", "Driver"


class Attendance(SubmittedRecord):
    """One firefighter's attendance at one incident (one per alert). Feeds on-call pay and the
    scheme's figures. Times are prefilled from the alert's transitions and the on-scene log."""

    alert = models.OneToOneField(Alert, on_delete=models.PROTECT, related_name="attendance")
    attended = models.BooleanField()
    appliance = models.CharField(max_length=20, blank=True, help_text="Call sign of the appliance, e.g. 21P1.")
    role = models.CharField(max_length=20, choices=CrewRole.choices, blank=True)
    mobile_at = models.DateTimeField(null=True, blank=True)
    on_scene_at = models.DateTimeField(null=True, blank=True)
    at_patient_at = models.DateTimeField(null=True, blank=True)
    left_scene_at = models.DateTimeField(null=True, blank=True)
    notes = models.TextField(blank=True, max_length=NOTES_MAX_LENGTH)

    class Meta:
        ordering = ["-submitted_at"]

    def __str__(self) -> str:
        return f"Attendance {self.pk} ({self.alert_id})"


class NotAttemptedReason(models.TextChoices):
    DNACPR = "dnacpr", "Do-not-attempt-CPR decision"
    OBVIOUSLY_DEAD = "obviously_dead", "Obviously dead"
    SIGNS_OF_LIFE = "signs_of_life", "Signs of life on arrival"


class LocationType(models.TextChoices):
    """The Utstein location categories (CLINICAL.md). `public_place` is kept for records made
    before the finer categories existed (no stored value is rewritten); new forms may still use it
    for a public place that fits none of them."""

    HOME = "home", "Home or residence"
    CARE_HOME = "care_home", "Care home or assisted living"
    STREET = "street", "Street or highway"
    PUBLIC_BUILDING = "public_building", "Public building"
    WORKPLACE = "workplace", "Workplace or industrial"
    SPORT = "sport_recreation", "Sport or recreation"
    EDUCATIONAL = "educational", "Educational"
    HEALTHCARE = "healthcare_facility", "Healthcare facility"
    PUBLIC_PLACE = "public_place", "Other public place"
    OTHER = "other", "Other"


class Witnessed(models.TextChoices):
    """Who saw the collapse. `crew` is the fire crew (the value records have always held)."""

    BYSTANDER = "bystander", "Bystander"
    CREW = "crew", "Fire crew"
    AMBULANCE_CREW = "ambulance_crew", "Ambulance crew"
    NOT_WITNESSED = "not_witnessed", "Not witnessed"


class PresumedCause(models.TextChoices):
    """The Utstein presumed cause (aetiology), as the crew judged it on scene."""

    MEDICAL = "medical", "Medical (presumed cardiac or other medical)"
    TRAUMA = "trauma", "Trauma"
    OVERDOSE = "overdose", "Drug overdose"
    DROWNING = "drowning", "Drowning"
    ELECTROCUTION = "electrocution", "Electrocution"
    ASPHYXIA = "asphyxia", "Asphyxia (external)"
    UNKNOWN = "unknown", "Unknown"


class YesNoUnknown(models.TextChoices):
    YES = "yes", "Yes"
    NO = "no", "No"
    UNKNOWN = "unknown", "Unknown"


class Ventilation(models.TextChoices):
    NONE = "none", "None"
    MOUTH_TO_MASK = "mouth_to_mask", "Mouth-to-mask"
    BAG_VALVE_MASK = "bag_valve_mask", "Bag-valve-mask"


class FirstRhythm(models.TextChoices):
    SHOCK_ADVISED = "shock_advised", "Shock advised"
    NO_SHOCK_ADVISED = "no_shock_advised", "No shock advised"
    UNKNOWN = "unknown", "Unknown"


class FirstBy(models.TextChoices):
    BYSTANDER = "bystander", "Bystander"
    FIRE_CREW = "fire_crew", "Fire crew"
    AMBULANCE = "ambulance", "Ambulance"
    OTHER = "other", "Other"
    NOBODY = "nobody", "Nobody"


class FirstCprBy(models.TextChoices):
    """Who gave CPR first: FirstBy, with the dispatcher-assisted bystander told apart (Utstein)."""

    BYSTANDER = "bystander", "Bystander"
    DISPATCHER_ASSISTED = "dispatcher_assisted", "Bystander, dispatcher-assisted"
    FIRE_CREW = "fire_crew", "Fire crew"
    AMBULANCE = "ambulance", "Ambulance"
    OTHER = "other", "Other"
    NOBODY = "nobody", "Nobody"


class AgeBand(models.TextChoices):
    UNDER_1 = "under_1", "Under 1"
    AGE_1_17 = "1_17", "1 to 17"
    AGE_18_34 = "18_34", "18 to 34"
    AGE_35_54 = "35_54", "35 to 54"
    AGE_55_74 = "55_74", "55 to 74"
    AGE_75_PLUS = "75_plus", "75 and over"
    UNKNOWN = "unknown", "Unknown"


class Sex(models.TextChoices):
    FEMALE = "female", "Female"
    MALE = "male", "Male"
    UNKNOWN = "unknown", "Unknown"


class Outcome(SubmittedRecord):
    """The Utstein-style record of one crew's part in one incident, submitted by the crew's lead.
    One per incident per station (a crew is the station's firefighters who attended)."""

    # Indexed by one_outcome_per_crew (incident, station) below.
    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="outcomes", db_index=False)
    station = models.ForeignKey(Station, on_delete=models.PROTECT, related_name="outcomes")
    appliance = models.CharField(max_length=20, blank=True)
    crew = models.ManyToManyField(Responder, blank=True, related_name="outcomes")

    resuscitation_attempted = models.BooleanField()
    not_attempted_reason = models.CharField(max_length=20, choices=NotAttemptedReason.choices, blank=True)
    location_type = models.CharField(max_length=20, choices=LocationType.choices, blank=True)
    witnessed = models.CharField(max_length=20, choices=Witnessed.choices, blank=True)
    presumed_cause = models.CharField(max_length=20, choices=PresumedCause.choices, blank=True)
    # When the patient collapsed: often told by a bystander, so it may be an estimate. Whether it
    # is: yes, no, or not known (null: unanswered); records made before migration 0009 hold False
    # where the crew gave no answer (docs/registry.md).
    collapse_at = models.DateTimeField(null=True, blank=True)
    collapse_time_estimated = models.BooleanField(null=True, blank=True)

    # Before the crew arrived.
    bystander_cpr = models.CharField(max_length=10, choices=YesNoUnknown.choices, default=YesNoUnknown.UNKNOWN)
    dispatcher_assisted_cpr = models.CharField(
        max_length=10, choices=YesNoUnknown.choices, default=YesNoUnknown.UNKNOWN
    )
    public_defibrillator_applied = models.CharField(
        max_length=10, choices=YesNoUnknown.choices, default=YesNoUnknown.UNKNOWN
    )
    public_defibrillator_shocks = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MaxValueValidator(50)]
    )
    public_defibrillator_first_shock_at = models.DateTimeField(null=True, blank=True)

    # What the crew did. Compressions and the crew's defibrillator: yes, no, or not known (null: the
    # crew left it unanswered); records made before migration 0009 hold False where the crew gave no
    # answer, so for them no and unanswered cannot be told apart (docs/registry.md).
    compressions = models.BooleanField(null=True, blank=True)
    ventilation = models.CharField(max_length=20, choices=Ventilation.choices, default=Ventilation.NONE)
    defibrillator_applied = models.BooleanField(null=True, blank=True)
    first_rhythm = models.CharField(max_length=20, choices=FirstRhythm.choices, blank=True)
    crew_shocks = models.PositiveSmallIntegerField(default=0, validators=[MaxValueValidator(50)])

    # Who first.
    first_cpr_by = models.CharField(max_length=20, choices=FirstCprBy.choices, blank=True)
    first_defibrillator_by = models.CharField(max_length=20, choices=FirstBy.choices, blank=True)
    first_shock_by = models.CharField(max_length=20, choices=FirstBy.choices, blank=True)
    # By anyone (the Utstein times): the crew's own are first_shock_at and cpr_started_at.
    first_cpr_at = models.DateTimeField(null=True, blank=True)
    first_shock_any_at = models.DateTimeField(null=True, blank=True)

    # Times, in the order they must come.
    crew_arrived_at = models.DateTimeField(null=True, blank=True)
    cpr_started_at = models.DateTimeField(null=True, blank=True)
    pads_on_at = models.DateTimeField(null=True, blank=True)
    first_shock_at = models.DateTimeField(null=True, blank=True)
    rosc_at = models.DateTimeField(null=True, blank=True)
    ambulance_arrived_at = models.DateTimeField(null=True, blank=True)
    handover_at = models.DateTimeField(null=True, blank=True)

    # Outcome at handover: yes, no, or not known (null: the crew left it unanswered). Records made
    # before migration 0008 hold False where the crew gave no answer: for them no and unanswered
    # cannot be told apart (docs/registry.md).
    rosc_any_time = models.BooleanField(null=True, blank=True)
    rosc_at_handover = models.BooleanField(null=True, blank=True)
    ongoing_cpr_at_handover = models.BooleanField(null=True, blank=True)
    resuscitation_stopped = models.BooleanField(null=True, blank=True)

    # Patient: bands only, recorded as stated.
    age_band = models.CharField(max_length=10, choices=AgeBand.choices, default=AgeBand.UNKNOWN)
    sex = models.CharField(max_length=10, choices=Sex.choices, default=Sex.UNKNOWN)

    notes = models.TextField(blank=True, max_length=NOTES_MAX_LENGTH)

    class Meta:
        ordering = ["-submitted_at"]
        constraints = [models.UniqueConstraint(fields=["incident", "station"], name="one_outcome_per_crew")]
        permissions = [
            ("amend_record", "Can amend a locked attendance or outcome record, with a reason"),
            ("view_reports", "Can see the scheme's reports"),
            ("export_reports", "Can export the scheme's reports as CSV"),
            ("export_registry", "Can export the per-case registry data and the Utstein figures"),
            ("record_cad_times", "Can send the CAD's times of an incident (call received, ambulance at scene)"),
        ]

    def __str__(self) -> str:
        return f"Outcome {self.pk} ({self.incident_id}, {self.station_id})"


class CadTimes(models.Model):
    """The ambulance service's own times for an incident, sent by its CAD through the API
    (backend.records.actions.record_cad_times): shown read-only on the outcome form and used by
    the registry export. One row per incident, made when the CAD first sends a time."""

    incident = models.OneToOneField(Incident, on_delete=models.CASCADE, primary_key=True, related_name="cad_times")
    call_received_at = models.DateTimeField(null=True, blank=True, help_text="999 call received (CAD).")
    ambulance_at_scene_at = models.DateTimeField(null=True, blank=True, help_text="First ambulance at scene (CAD).")
    updated_at = models.DateTimeField()
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = "CAD times"
        verbose_name_plural = "CAD times"

    def __str__(self) -> str:
        return f"CAD times of incident {self.incident_id}"


class FollowUp(models.TextChoices):
    NONE = "none", "No follow-up wanted"
    WELFARE = "welfare", "A welfare conversation"
    TRIM = "trim", "A TRiM (trauma risk management) follow-up"


class WelfareCheckIn(SubmittedRecord):
    """How a firefighter feels after a call, and whether they want a follow-up. Private: seen only
    by the firefighter and by welfare leads, never by coordinators as such."""

    alert = models.OneToOneField(Alert, on_delete=models.PROTECT, related_name="welfare_check_in")
    impact = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(5)],
        help_text="How affected they feel: 1 not at all, 5 very much.",
    )
    follow_up = models.CharField(max_length=10, choices=FollowUp.choices, default=FollowUp.NONE)
    notes = models.TextField(blank=True, max_length=NOTES_MAX_LENGTH)
    welfare_leads_notified_at = models.DateTimeField(null=True, blank=True)
    # The email to the welfare leads is sent by the delivery worker (backend.records.notify), never
    # in the firefighter's request: a check-in asking for a follow-up with no notified time is the
    # durable "still to tell them" marker, and these fields are its retry state.
    welfare_notice_attempts = models.PositiveIntegerField(
        default=0, help_text="How many times the delivery worker has tried to email the welfare leads."
    )
    welfare_notice_next_attempt_at = models.DateTimeField(
        null=True, blank=True, help_text="When the worker may try again (empty: as soon as it can)."
    )
    welfare_notice_last_error = models.CharField(
        max_length=300, blank=True, help_text="Why the last attempt to email the welfare leads failed."
    )

    class Meta:
        verbose_name = "welfare check-in"
        ordering = ["-submitted_at"]

    def __str__(self) -> str:
        return f"Welfare check-in {self.pk}"


class RecordKind(models.TextChoices):
    ATTENDANCE = "attendance", "Attendance"
    OUTCOME = "outcome", "Outcome"
    WELFARE = "welfare", "Welfare check-in"


class Amendment(models.Model):
    """One change to a submitted record, with its reason: by the author while the record is open,
    by a coordinator after it is locked. Changed field names only; the record holds the values."""

    idempotency_key = models.UUIDField(unique=True)
    body_hash = models.CharField(max_length=64)
    record_kind = models.CharField(max_length=20, choices=RecordKind.choices)
    record_id = models.BigIntegerField()
    amended_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    by_coordinator = models.BooleanField(
        default=False, help_text="Made by a coordinator (the only way to change a record after it is locked)."
    )
    reason = models.CharField(max_length=500)
    changed_fields = models.JSONField(default=list)
    at = models.DateTimeField()
    version = models.PositiveIntegerField(help_text="The record's version after this change.")

    class Meta:
        ordering = ["record_kind", "record_id", "at"]
        indexes = [models.Index(fields=["record_kind", "record_id"])]

    def __str__(self) -> str:
        return f"{self.record_kind} {self.record_id} v{self.version}"


class AlertSummary(models.Model):
    """What the reports count of one alert, in one narrow row: a report over years reads these and
    joins nothing. Derived from the alert, its incident and its attendance form, and kept up by
    backend.records.summaries in the same transaction as every change to them; never edited by
    hand (`manage.py rebuild_report_summaries` makes them all again)."""

    alert = models.OneToOneField(Alert, on_delete=models.CASCADE, primary_key=True, related_name="+")
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="+")
    station = models.ForeignKey(
        Station,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,  # indexed by summary_by_station_created (station, incident_created_at)
        help_text="The firefighter's station when alerted.",
    )
    incident_created_at = models.DateTimeField(help_text="The report's date range and months go by this.")
    attended = models.BooleanField(help_text="The attendance form says the firefighter attended.")
    to_acceptance_s = models.FloatField(null=True, help_text="Seconds from alert to acceptance.")
    to_on_scene_s = models.FloatField(
        null=True, help_text="Seconds from alert to on scene, if accepted and not recorded as not attending."
    )
    form_on_scene_s = models.FloatField(
        null=True, help_text="The attendance form's on-scene time, in seconds after the incident was created."
    )

    class Meta:
        indexes = [
            models.Index(fields=["incident_created_at"], name="summary_by_created"),
            models.Index(fields=["station", "incident_created_at"], name="summary_by_station_created"),
        ]

    def __str__(self) -> str:
        return f"Summary of alert {self.alert_id}"


class ReportMonth(models.Model):
    """The reports' figures of one settled month, kept so that a report over years reads one row
    per month instead of every alert again (backend.records.reports). A change to one of the
    month's incidents counts up `changes`; the figures are used only while `built_from` (the
    count when they were worked out) still equals it, and are worked out again otherwise."""

    month = models.PositiveIntegerField(primary_key=True, help_text="Months since year 0 (backend.records.months).")
    changes = models.PositiveIntegerField(default=0)
    built_from = models.PositiveIntegerField(null=True)
    time_zone = models.CharField(max_length=64, blank=True, help_text="The months are local months of this zone.")
    figures = models.JSONField(null=True)
    built_at = models.DateTimeField(null=True)

    def __str__(self) -> str:
        return f"Report month {self.month}"


def health_and_welfare_field_names() -> set[str]:
    """Every field of the attendance, outcome and welfare forms is health or welfare data about a
    patient or a firefighter, except the bookkeeping every form shares and the keys linking it to
    its alert, incident and station. The logs refuse these names (backend.logs); taken from the
    models, so that a new field is covered."""
    bookkeeping = {field.name for field in SubmittedRecord._meta.fields}
    return {
        field.name
        for model in (Attendance, Outcome, WelfareCheckIn)
        for field in model._meta.get_fields()
        if not field.auto_created and not field.many_to_one and not field.one_to_one and field.name not in bookkeeping
    }
