"""One small world for the security tests: every role, alerts of two stations, some accepted, and
rows in every admin page. Also the walk of the URL configuration and the socket routes."""

import ast
import inspect
import re
import uuid
from dataclasses import dataclass
from pathlib import Path

from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from backend.checklists import actions as checklist_actions
from backend.checklists import content as checklist_content
from backend.delivery.subscriptions import subscribe_device
from backend.dispatch import actions
from backend.places.models import Defibrillator
from backend.sockets.routing import websocket_urlpatterns
from tests.conftest import GREAT_YARMOUTH, NORWICH_INCIDENT, browser_subscription

ROLES = [
    "anonymous",
    "firefighter",  # alice, Norwich
    "other_station_firefighter",  # charlie, Great Yarmouth
    "crew_lead",  # erin, Norwich
    "coordinator",  # carol
    "welfare_lead",  # wendy
    "machine",  # cad, with an API token
    "nobody",  # logged in, no role
]
FIREFIGHTERS = ("firefighter", "other_station_firefighter", "crew_lead")
ALICES_ENDPOINT = "https://fcm.googleapis.com/fcm/send/alices-phone"
# What must never appear in a refusal: the incidents' references and addresses, people's names.
SECRETS = ("EEAST-", "YARM-", "Example Road", "Other Street", "Quay", "Alice", "Charlie", "Erin")


@dataclass
class World:
    users: dict  # role -> user (None for anonymous)
    incident: int  # Norwich incident A, dispatched: alice and erin alerted, nobody answered
    alert: int  # alice's alert on A
    accepted_incident: int  # Norwich incident B: alice and erin accepted
    accepted_alert: int  # alice's alert on B
    own_accepted_alerts: dict  # role -> that firefighter's accepted alert
    yarmouth_incident: int  # charlie accepted
    alerts_of: dict  # role -> ids of every alert of that firefighter


def _incident(actor, reference: str, location, address: str):
    return actions.create_incident(
        actor=actor, cad_reference=reference, latitude=location[0], longitude=location[1], address=address
    )


def _alert_of(alerts, responder) -> int:
    return next(alert.pk for alert in alerts if alert.responder_id == responder.pk)


def build_world(*, alice, charlie, erin, carol, wendy, cad, nobody) -> World:
    people = {"firefighter": alice, "other_station_firefighter": charlie, "crew_lead": erin}
    # Alice's phone first, so that each dispatch makes deliveries.
    subscription = browser_subscription(ALICES_ENDPOINT)
    subscribe_device(actor=alice.user, endpoint=ALICES_ENDPOINT, label="phone", **subscription["keys"])
    # B first, accepted; then A, alerted (by name) and unanswered.
    incident_b = _incident(carol, "EEAST-0002", NORWICH_INCIDENT, "4 Other Street, Norwich")
    alerts_b = actions.dispatch_incident(actor=carol, incident_id=incident_b.pk)
    yarmouth = _incident(carol, "YARM-0001", GREAT_YARMOUTH, "1 Quay, Great Yarmouth")
    alerts_y = actions.dispatch_incident(actor=carol, incident_id=yarmouth.pk)
    accepted = {
        "firefighter": _alert_of(alerts_b, alice),
        "crew_lead": _alert_of(alerts_b, erin),
        "other_station_firefighter": _alert_of(alerts_y, charlie),
    }
    for role, alert_id in accepted.items():
        actions.respond_to_alert(actor=people[role].user, alert_id=alert_id, response="accept")
    incident_a = _incident(carol, "EEAST-0001", NORWICH_INCIDENT, "12 Example Road, Norwich")
    # Alice and Erin are committed to B: only a coordinator naming them alerts them to A.
    alerts_a = actions.dispatch_incident(actor=carol, incident_id=incident_a.pk, responder_ids=[alice.pk, erin.pk])
    alice_a = _alert_of(alerts_a, alice)
    _alert_of(alerts_a, erin)

    # A defibrillator near the Norwich incidents, for their defibrillators and the admin's pages.
    Defibrillator.objects.create(
        source="osm", source_id="node/1", latitude=52.631, longitude=1.295, name="Forum", imported_at=timezone.now()
    )
    # A row for the admin's on-scene event pages.
    checklist_actions.record_onscene_event(
        actor=alice.user,
        alert_id=accepted["firefighter"],
        idempotency_key=uuid.uuid4(),
        type=checklist_content.event_ids()[0],
        occurred_at=timezone.now(),
        data={},
    )
    # Erin, the crew lead, was on scene too, so the crew's outcome form is hers to submit
    # (backend/records/access.py, outcome_duty), not that of Alice, the first to log being there.
    checklist_actions.record_onscene_event(
        actor=erin.user,
        alert_id=accepted["crew_lead"],
        idempotency_key=uuid.uuid4(),
        type=checklist_content.event_ids()[0],
        occurred_at=timezone.now(),
        data={},
    )
    from backend.dispatch.models import Alert

    return World(
        users={
            "anonymous": None,
            "firefighter": alice.user,
            "other_station_firefighter": charlie.user,
            "crew_lead": erin.user,
            "coordinator": carol,
            "welfare_lead": wendy,
            "machine": cad,
            "nobody": nobody,
        },
        incident=incident_a.pk,
        alert=alice_a,
        accepted_incident=incident_b.pk,
        accepted_alert=accepted["firefighter"],
        own_accepted_alerts=accepted,
        yarmouth_incident=yarmouth.pk,
        alerts_of={
            role: set(Alert.objects.filter(responder=person).values_list("pk", flat=True))
            for role, person in people.items()
        },
    )


def admin_client(user):
    """A Django test client logged in as `user`; staff have passed the admin's second factor
    (backend/accounts/admin_site.py), so a refusal is about their role, not the missing code."""
    from django.test import Client

    from tests.conftest import pass_second_factor

    client = Client()
    if user is None:
        return client
    client.force_login(user)
    if user.is_staff:
        pass_second_factor(client, user)
    return client


# --- The URL configuration ---------------------------------------------------------------------


def walk_urls(patterns=None, prefix: str = ""):
    """(route, callback) of every URL pattern, routes as written in the URL conf."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            yield from walk_urls(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern.callback


def routes_under(*prefixes: str) -> dict:
    return {route: callback for route, callback in walk_urls() if route.startswith(prefixes) or route in prefixes}


def api_methods(callback) -> set[str]:
    """The HTTP methods a DRF view implements (OPTIONS and HEAD are DRF's own)."""
    view_class = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
    if view_class is None:
        return {"get"}
    return {method for method in ("get", "post", "put", "patch", "delete") if hasattr(view_class, method)}


STATE_CHANGING = ("post", "put", "patch", "delete")


# --- The sockets and the frames each accepts -------------------------------------------------------


def socket_routes() -> dict[str, type]:
    return {"/" + str(pattern.pattern): pattern.callback.consumer_class for pattern in websocket_urlpatterns}


def _frame_types_compared_in(cls) -> set[str]:
    """String constants compared with frame["type"] (or frame.get("type")) in the class's own code."""
    tree = ast.parse(inspect.getsource(cls))
    found = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Compare):
            continue
        sides = [node.left, *node.comparators]
        if not any(_is_frame_type(side) for side in sides):
            continue
        for side in sides:
            for constant in ast.walk(side):
                if isinstance(constant, ast.Constant) and isinstance(constant.value, str) and constant.value != "type":
                    found.add(constant.value)
    return found


def _is_frame_type(node) -> bool:
    text = ast.unparse(node)
    return text in ('frame["type"]', "frame['type']", 'frame.get("type")', "frame.get('type')")


def accepted_frame_types(consumer_class) -> set[str]:
    """Every inbound frame type the consumer handles, read from its code and its bases' code (ours,
    not Channels'): each string compared with frame["type"]. A consumer that dispatched on the type
    another way would escape this; docs/events.md is compared as well."""
    types = set()
    for cls in consumer_class.__mro__:
        if cls.__module__.startswith("backend."):
            types |= _frame_types_compared_in(cls)
    return types


def documented_client_frames() -> dict[str, set[str]]:
    """docs/events.md, '## Frames a client may send': type -> sockets ('responder', 'coordinator')."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "events.md").read_text()
    section = re.search(r"^## Frames a client may send\n(.*?)(?=^## )", text, flags=re.M | re.S).group(1)
    documented = {}
    for frame_type, sockets in re.findall(r"^\| `([^`]+)` \| ([^|]+) \|", section, flags=re.M):
        names = {"responder", "coordinator"} if sockets.strip() == "both" else {sockets.strip()}
        documented[frame_type] = names
    return documented


def snapshot() -> dict:
    """Every row of every model, to show that a refused request changed nothing. Sessions (their
    expiry slides with use; Django's table and ours, accounts.UserSession) and login attempts are
    left out."""
    from django.apps import apps

    skipped = {"sessions", "axes", "admin"}
    skipped_models = {"accounts.UserSession"}
    return {
        model._meta.label: list(model._default_manager.order_by("pk").values_list())
        for model in apps.get_models()
        if model._meta.app_label not in skipped and model._meta.label not in skipped_models
    }


def make_personas() -> dict:
    """The suite's personas (tests/conftest.py), for code that runs outside pytest (bench/)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from backend.roles import COORDINATORS, DISPATCH_SYSTEMS, WELFARE_LEADS
    from tests.conftest import KINGS_LYNN, NORWICH, make_firefighter, make_station

    users = get_user_model().objects
    stations = {
        "norwich": make_station("Norwich", "norwich", NORWICH),
        "yarmouth": make_station("Great Yarmouth", "great-yarmouth", GREAT_YARMOUTH),
        "lynn": make_station("King's Lynn", "kings-lynn", KINGS_LYNN),
    }
    carol = users.create_user(username="carol", is_staff=True)
    carol.groups.add(Group.objects.get(name=COORDINATORS))
    wendy = users.create_user(username="wendy", is_staff=True)
    wendy.groups.add(Group.objects.get(name=WELFARE_LEADS))
    cad = users.create_user(username="cad")
    cad.groups.add(Group.objects.get(name=DISPATCH_SYSTEMS))
    return {
        "alice": make_firefighter("alice", stations["norwich"]),
        "charlie": make_firefighter("charlie", stations["yarmouth"]),
        "erin": make_firefighter("erin", stations["norwich"], skills=["bls", "aed", "crew_lead"]),
        "carol": carol,
        "wendy": wendy,
        "cad": cad,
        "nobody": users.create_user(username="nobody"),
    }
