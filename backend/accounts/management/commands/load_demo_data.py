"""Demo data for `make run`: Norfolk Fire and Rescue stations, firefighters, coordinators and a CAD
client, and defibrillators MADE UP FOR THE DEMO around the stations (loaded by the same command
as real data, `import_defibrillators`). Idempotent: running it again changes nothing. Never for
production (it sets known passwords), so it refuses to run with DJANGO_ENV=production."""

import datetime
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from backend.accounts.models import Responder, Skill, Station
from backend.roles import CLINICAL_SAFETY_OFFICERS, COORDINATORS, DISPATCH_SYSTEMS, WELFARE_LEADS

DEMO_PASSWORD = "demo-password-2026"  # noqa: S105 (demo only; refused in production)
DEMO_WELFARE_EMAIL = "welfare-lead@example.org"

# Approximate station locations (WGS84).
STATIONS = [
    ("Great Yarmouth", "great-yarmouth", 52.6089, 1.7262),
    ("Gorleston", "gorleston", 52.5770, 1.7210),
    ("King's Lynn", "kings-lynn", 52.7517, 0.4034),
    ("Norwich (Carrow)", "norwich", 52.6237, 1.3113),
    ("North Walsham", "north-walsham", 52.8197, 1.3869),
    ("Sheringham", "sheringham", 52.9404, 1.2108),
    ("Thetford", "thetford", 52.4138, 0.7461),
    # Two more of the brigade's retained stations in the pilot's kind of place (market towns).
    ("Dereham", "dereham", 52.6780, 0.9430),
    ("Wymondham", "wymondham", 52.5722, 1.1178),
]

FIRST_NAMES = ["Sam", "Alex", "Jo", "Chris", "Priya", "Tom", "Ellie", "Dan", "Ruth", "Mo", "Kate", "Lee"]
SURNAMES = ["Barker", "Cole", "Day", "Ellis", "Fox", "Grant", "Hale", "Iqbal", "Jones", "Kemp", "Lowe", "Marsh"]
FIREFIGHTERS_PER_STATION = 3
# Fictitious defibrillators near the stations, in OpenStreetMap's GeoJSON shape (docs/defibrillators.md).
DEMO_DEFIBRILLATORS = (
    Path(__file__).resolve().parents[3] / "places" / "demo" / "defibrillators-made-up-for-the-demo.geojson"
)
# Postcodes around the demo stations, MADE UP for the demo (not ONS data): docs/postcodes.md.
DEMO_POSTCODES = Path(__file__).resolve().parents[3] / "postcodes" / "data" / "demo-postcodes-made-up.csv"


class Command(BaseCommand):
    help = "Load demo stations, firefighters and coordinators (idempotent; not for production)."

    def handle(self, *args, **options):
        if settings.PRODUCTION:
            raise CommandError("Demo data sets known passwords; it is never loaded with DJANGO_ENV=production.")
        with transaction.atomic():
            stations = [self._station(*row) for row in STATIONS]
            for station_index, station in enumerate(stations):
                for number in range(1, FIREFIGHTERS_PER_STATION + 1):
                    self._firefighter(station, station_index, number)
            self._user("coordinator", "Casey", "Morgan", staff=True, group=COORDINATORS)
            self._user("coordinator2", "Jordan", "Reed", staff=True, group=COORDINATORS)
            # With an email address: the worker emails the welfare leads when a firefighter asks for
            # a follow-up, and a lead with none is told nothing (found by a trial: the request
            # waited, unseen). A made-up address (example.org, RFC 2606), sent through EMAIL_HOST's
            # relay (docs/deployment.md); with no relay there, the coordinators' notice says so.
            self._user("welfare", "Sam", "Okafor", staff=True, group=WELFARE_LEADS, email=DEMO_WELFARE_EMAIL)
            self._user("safety", "Dana", "Whitlock", staff=True, group=CLINICAL_SAFETY_OFFICERS)
            self._user("cad", "EEAST", "CAD", staff=False, group=DISPATCH_SYSTEMS)
            # By name, not import: the places app sits above accounts in the layers. --keep-missing:
            # a deployer's real points already loaded are not marked missing from the demo's file.
            call_command("import_defibrillators", str(DEMO_DEFIBRILLATORS), "--keep-missing", stdout=self.stdout)
        # By the command's name: the postcodes app sits beside accounts, not below it.
        call_command("import_postcodes", str(DEMO_POSTCODES), stdout=self.stdout)
        self.stdout.write(self.style.SUCCESS(f"Demo data ready: {len(stations)} stations."))

    def _station(self, name, code, latitude, longitude) -> Station:
        station, _ = Station.objects.update_or_create(
            code=code, defaults={"name": name, "latitude": latitude, "longitude": longitude, "active": True}
        )
        return station

    def _firefighter(self, station: Station, station_index: int, number: int) -> None:
        index = station_index * FIREFIGHTERS_PER_STATION + number - 1
        username = f"ff.{station.code}.{number}"
        user = self._user(username, FIRST_NAMES[index % 12], SURNAMES[(index // 12 + index) % 12])
        expiry = timezone.localdate() + datetime.timedelta(days=365)
        Responder.objects.get_or_create(
            user=user,
            defaults={
                "station": station,
                "on_call": True,
                "skills": [Skill.BLS, Skill.AED] + ([Skill.CREW_LEAD] if number == 1 else []),
                "life_support_training_expires": expiry,
                "defibrillator_training_expires": expiry,
            },
        )

    def _user(self, username, first_name, last_name, *, staff=False, group=None, email=""):
        user, created = get_user_model().objects.get_or_create(
            username=username,
            defaults={"first_name": first_name, "last_name": last_name, "is_staff": staff, "email": email},
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save()
        elif email and not user.email:
            # A demo database loaded before the address was given gets it; one set since is kept.
            user.email = email
            user.save(update_fields=["email"])
        if group:
            user.groups.add(Group.objects.get(name=group))
        return user
