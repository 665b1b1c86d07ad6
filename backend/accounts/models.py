import datetime

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

# The login sessions' model lives beside its session store; imported here so that Django registers it.
from backend.accounts.session_store import UserSession  # noqa: F401


class Station(models.Model):
    """A fire station whose crews co-respond. Its location decides who is alerted."""

    name = models.CharField(max_length=100, unique=True)
    code = models.SlugField(max_length=30, unique=True, help_text="Short code, e.g. the brigade's station number.")
    latitude = models.FloatField(validators=[MinValueValidator(-90), MaxValueValidator(90)])
    longitude = models.FloatField(validators=[MinValueValidator(-180), MaxValueValidator(180)])
    active = models.BooleanField(default=True, help_text="Inactive stations are never alerted.")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Skill(models.TextChoices):
    BLS = "bls", "Basic life support"
    AED = "aed", "Defibrillator"
    FIRST_AID = "first_aid", "Immediate emergency care"
    CREW_LEAD = "crew_lead", "Crew lead"


class Responder(models.Model):
    """A firefighter who can be alerted. One per user."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="responder")
    station = models.ForeignKey(Station, on_delete=models.PROTECT, related_name="responders")
    on_call = models.BooleanField(default=False, help_text="Available to be alerted now.")
    on_call_changed_at = models.DateTimeField(null=True, blank=True)
    skills = models.JSONField(default=list, blank=True, help_text="Any of: " + ", ".join(Skill.values))
    life_support_training_expires = models.DateField(
        null=True, blank=True, help_text="Responders whose training has expired are not alerted."
    )
    defibrillator_training_expires = models.DateField(null=True, blank=True)
    phone_number = models.CharField(max_length=20, blank=True, help_text="For SMS fallback; never shown to others.")
    # Issue 14: off by default; the firefighter turns it on in the app. While on call, the app then
    # sends its position (OnCallPosition), and dispatch measures from there when it is fresh.
    share_position_on_call = models.BooleanField(
        default=False, help_text="Shares the phone's position while on call, so that dispatch measures from there."
    )
    # Found by a trial: a firefighter who logged out mid-job still read "En route · seen in the open
    # app" on the board. Set when they log out of the app, cleared when they log in to it again; the
    # board says "logged out at 02:08:15" on their alerts (backend/dispatch/presence.py).
    logged_out_at = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text="When they last logged out of the app (empty: logged in since).",
    )

    class Meta:
        ordering = ["station__name", "user__username"]
        permissions = [("view_board", "Can watch the live dispatch board")]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        full = self.user.get_full_name()
        return full or self.user.username

    def training_in_date(self, on: datetime.date | None = None) -> bool:
        on = on or timezone.localdate()
        expiries = (self.life_support_training_expires, self.defibrillator_training_expires)
        return all(expiry is not None and expiry >= on for expiry in expiries)


class OnCallPosition(models.Model):
    """The latest position of an on-call responder who opted in (Responder.share_position_on_call):
    one row per responder, replaced by each fix, deleted when they go off call or opt out, and by
    the positions retention pass (backend/dispatch/positions.py) after POSITIONS_RETENTION_HOURS.
    Only dispatch's selection reads it (docs/positions.md)."""

    responder = models.OneToOneField(
        Responder, on_delete=models.CASCADE, primary_key=True, related_name="on_call_position"
    )
    latitude = models.FloatField(validators=[MinValueValidator(-90), MaxValueValidator(90)])
    longitude = models.FloatField(validators=[MinValueValidator(-180), MaxValueValidator(180)])
    accuracy_m = models.FloatField(null=True, blank=True)
    recorded_at = models.DateTimeField(help_text="When the phone took the fix.")
    received_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"On-call position of responder {self.responder_id}"
