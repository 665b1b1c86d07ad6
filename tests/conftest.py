"""Shared fixtures: a small Norfolk with named people.

Stations: Norwich and Great Yarmouth (about 30 km apart), King's Lynn (far west).
Firefighters: alice and bob at Norwich, charlie at Great Yarmouth, dave at King's Lynn.
Crew lead: erin at Norwich (opt in: she changes who Norwich alerts).
Coordinator: carol. Welfare lead: wendy (not a coordinator). Ambulance dispatch system: cad (token).
Nobody else has any role.
Nobody has a password (hashing one costs a fifth of a second): tests log in with force_login or a
session cookie; a test that needs a password sets one.
"""

import base64
import datetime
import gc
import os
import subprocess
import sys

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.db import connections
from django.test import Client
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice
from knox.models import AuthToken
from rest_framework.test import APIClient

from backend.accounts.models import Responder, Station
from backend.delivery import vapid
from backend.roles import COORDINATORS, DISPATCH_SYSTEMS, WELFARE_LEADS
from tests.support import live_server
from tests.support.channel_layers import a_receive_is_left_on
from tests.support.database import quicker_flush, vapid_settings

NORWICH = (52.6237, 1.3113)
GREAT_YARMOUTH = (52.6089, 1.7262)
KINGS_LYNN = (52.7517, 0.4034)
# A street in Norwich, 1 to 2 km from the station.
NORWICH_INCIDENT = (52.6300, 1.2950)


def in_a_year() -> datetime.date:
    return timezone.localdate() + datetime.timedelta(days=365)


def make_station(name, code, location) -> Station:
    return Station.objects.create(name=name, code=code, latitude=location[0], longitude=location[1])


def make_firefighter(username, station, *, on_call=True, expires=None, **extra) -> Responder:
    # No password: hashing one costs a fifth of a second per user; tests log in with force_login.
    user = get_user_model().objects.create_user(username=username, first_name=username.title())
    expires = expires or in_a_year()
    return Responder.objects.create(
        user=user,
        station=station,
        on_call=on_call,
        life_support_training_expires=expires,
        defibrillator_training_expires=expires,
        **extra,
    )


# --- The slow kinds of test, marked (pytest.ini lists the markers; `make test-fast` leaves them out) --

# Marked by where they are: every test in the directory or module.
MARKS_BY_PATH = {
    "tests/e2e/": "browser",
    "tests/faults/": "faults",
    "tests/fuzz/test_api_fuzz.py": "fuzz",
    "tests/fuzz/test_socket_fuzz.py": "fuzz",
    "tests/records/test_records_api_fuzz.py": "fuzz",
}
# What a test must be marked with to start a process (tests/e2e and tests/faults start servers).
MAY_START_PROCESSES = ("processes", "browser", "faults")
# Fixtures that give a test the test database.
DATABASE_FIXTURES = {
    "db",
    "transactional_db",
    "django_db_reset_sequences",
    "django_db_serialized_rollback",
    "live_server",
}


# First: xdist's own hook (a worker's) turns the xdist_group marks into the test ids that
# `--dist loadgroup` schedules by, and sees only the marks that are there when it runs. Run after it
# (the default order: this conftest is registered before the worker's plugin), the groups were
# silently never applied: the fault clusters ran two at once in .ci/run's PostgreSQL pass.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    root = config.rootpath
    for item in items:
        path = item.path.relative_to(root).as_posix() if item.path.is_relative_to(root) else ""
        for prefix, mark in MARKS_BY_PATH.items():
            if path.startswith(prefix):
                item.add_marker(mark)
        # `database`: the test uses the test database (the PostgreSQL pass of .ci/run selects these).
        if item.get_closest_marker("django_db") or DATABASE_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker("database")
        group = xdist_group_of(item, root)
        if group:
            item.add_marker(pytest.mark.xdist_group(group))


# --- Running in parallel (pytest-xdist; `make test` and .ci/run: -n 3 --dist loadgroup) -------------


def xdist_group_of(item, root) -> str | None:
    """Tests that must run one after another, or that share a module's processes, run on one xdist
    worker (under `--dist loadgroup` the other tests are handed out one at a time): the
    fault-injection tests (tests/faults/test_faults.py), each of which starts a cluster of its own
    (two at once would load the machine that their "answers within 5 s" measure), and those of a
    module whose module-scoped fixture starts processes (its tests carry a MAY_START_PROCESSES mark),
    so that they start once, not once on every worker that gets one of them.

    The browser tests (tests/e2e) are not grouped: each worker that gets one starts the package's
    server and Chromium for itself (about 10 s), and the browser tests, the longest kind (about 15
    of the pass's 23 worker-minutes, .ci/run on 5 December 2026), are shared by every worker rather
    than queued on one or two. A module's world of rows (tests/support/database.py) takes a second
    to build: its tests are spread out too, each worker building its own."""
    if item.get_closest_marker("faults") and "start_cluster" in item.fixturenames:
        return "fault clusters"  # one at a time: each is two daphnes, workers, a Redis and a proxy
    if item.get_closest_marker("browser"):
        return None
    scopes = {
        definition.scope
        for definitions in item._fixtureinfo.name2fixturedefs.values()
        for definition in definitions
        if definition.func.__module__.startswith("tests.")  # the suite's own, not a plugin's
    }
    if "module" in scopes and any(item.get_closest_marker(mark) for mark in MAY_START_PROCESSES):
        return item.path.relative_to(root).as_posix()
    return None


def channel_layers_for_worker(channel_layers: dict, worker: str) -> dict:
    """CHANNEL_LAYERS with a Redis layer's prefix made the xdist worker's own: the workers share one
    Redis, and their test databases number incidents and people alike, so without it a socket test
    on one worker could receive another's group messages (incident-1, responder-1)."""
    layers = {alias: {**layer, "CONFIG": dict(layer.get("CONFIG", {}))} for alias, layer in channel_layers.items()}
    for layer in layers.values():
        if "prefix" in layer["CONFIG"]:
            layer["CONFIG"]["prefix"] = f"{layer['CONFIG']['prefix']}-{worker}"
    return layers


def pytest_configure(config):
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker:
        from django.conf import settings

        settings.CHANNEL_LAYERS = channel_layers_for_worker(settings.CHANNEL_LAYERS, worker)
        prefix = settings.CHANNEL_LAYERS["default"]["CONFIG"].get("prefix")
        if prefix:  # for the processes a test starts on the same Redis
            os.environ["CHANNEL_LAYER_PREFIX"] = prefix


@pytest.fixture(autouse=True)
def processes_are_marked(request, monkeypatch):
    """A test that starts a process without saying so (@pytest.mark.processes) fails: `make test-fast`
    promises none. (Module-scoped servers start before this, in tests already marked.)"""
    if any(request.node.get_closest_marker(mark) for mark in MAY_START_PROCESSES):
        return

    def refuse(self, args, *rest, **options):
        pytest.fail(f"This test starts a process ({args!r}): mark it @pytest.mark.processes", pytrace=False)

    monkeypatch.setattr(subprocess.Popen, "__init__", refuse)


@pytest.fixture(autouse=True)
def a_fresh_channel_layer_after_a_stuck_receive():
    """channels_redis keeps one receive lock per layer, bound to the event loop that receives. A
    consumer cut off in the middle of a read when its test ended (assert_closed_with cancels a
    hang-up after 0.1 s) can leave that lock, or the lock of its process channel, held and bound to a
    loop that is gone, and every later socket test of the process then failed ("bound to a different
    event loop"; the PostgreSQL + Redis pass of CI). The next test gets a fresh layer on the same
    Redis and prefix."""
    yield
    from channels import DEFAULT_CHANNEL_LAYER
    from channels.layers import channel_layers

    layer = channel_layers.backends.get(DEFAULT_CHANNEL_LAYER)
    if layer is not None and a_receive_is_left_on(layer):
        del channel_layers.backends[DEFAULT_CHANNEL_LAYER]


@pytest.fixture(scope="session", autouse=True)
def quicker_flush_after_transactional_tests():
    """Transactional tests are flushed without remaking content types, permissions and role groups
    each time (tests/support/database.py): 0.4 s a test."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        quicker_flush(monkeypatch)
        yield


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup):
    """pytest-django's, and before it drops the test databases: a collection, which closes the
    connections still held by threads that have ended (a request run in-process through the ASGI
    application has a thread of its own, whose connection nothing else closes). On PostgreSQL one
    left open keeps the test database from being dropped (.ci/run's PostgreSQL pass warned so).
    And the idle request threads the ASGI application keeps for its next requests (backend/asgi.py,
    RequestThreads) close theirs."""
    yield
    asgi = sys.modules.get("backend.asgi")
    if asgi is not None:
        for executor in asgi.django_asgi_app.request_threads.idle:
            executor.submit(connections.close_all).result()
    gc.collect()


@pytest.fixture(autouse=True)
async def close_connections_of_the_orm_thread():
    """sync_to_async runs the ORM on one long-lived thread; on PostgreSQL its connection would outlive
    the test and keep the test database from being dropped at the end of the run."""
    yield
    await sync_to_async(connections.close_all)()


@pytest.fixture(scope="session")
def demo_database_template(tmp_path_factory):
    """A SQLite file with the demo data (migrated, `load_demo_data`), made once for the run and shared
    by the xdist workers: servers (tests/e2e, tests/delivery/test_embedded_worker.py) start on a copy."""
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent  # the workers' temporary directories are side by side in it
    return live_server.shared_demo_database(shared)


@pytest.fixture(autouse=True)
def rate_limits_start_afresh():
    """The API's rate limits (push receipts, readiness tests) count in Django's cache, which lives as
    long as the test process: without this a test inherits the requests of the tests before it in
    the last minute (with the suite on three processes, the permission matrix met a 429)."""
    cache.clear()


@pytest.fixture(autouse=True)
def quick_password_hasher(settings):
    """Passwords hashed with MD5 in tests: every login attempt hashes the password given, even for
    an unknown username (Django's defence against timing), 0.5 s each with the product's hasher
    (the API fuzzing's login examples took half a minute). Tests that set passwords say so again."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def vapid_keys(settings):
    """Every test runs with Web Push configured, as production does."""
    key = vapid.generate()
    for name, value in vapid_settings(key).items():
        setattr(settings, name, value)
    return key


def browser_subscription(endpoint: str) -> dict:
    """A subscription as a browser's PushSubscription.toJSON() gives it, with real key material."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    public = ec.generate_private_key(ec.SECP256R1()).public_key()
    raw = public.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    b64 = lambda data: base64.urlsafe_b64encode(data).rstrip(b"=").decode()  # noqa: E731
    return {"endpoint": endpoint, "keys": {"p256dh": b64(raw), "auth": b64(os.urandom(16))}}


@pytest.fixture
def stations(db):
    return {
        "norwich": make_station("Norwich", "norwich", NORWICH),
        "yarmouth": make_station("Great Yarmouth", "great-yarmouth", GREAT_YARMOUTH),
        "lynn": make_station("King's Lynn", "kings-lynn", KINGS_LYNN),
    }


@pytest.fixture
def alice(stations):
    return make_firefighter("alice", stations["norwich"])


@pytest.fixture
def bob(stations):
    return make_firefighter("bob", stations["norwich"])


@pytest.fixture
def charlie(stations):
    return make_firefighter("charlie", stations["yarmouth"])


@pytest.fixture
def dave(stations):
    return make_firefighter("dave", stations["lynn"])


@pytest.fixture
def erin(stations):
    """A crew lead at Norwich: a firefighter who submits the crew's outcome form."""
    return make_firefighter("erin", stations["norwich"], skills=["bls", "aed", "crew_lead"])


@pytest.fixture
def wendy(db):
    """A welfare lead: reads welfare check-ins; not a coordinator."""
    user = get_user_model().objects.create_user(username="wendy", is_staff=True)
    user.groups.add(Group.objects.get(name=WELFARE_LEADS))
    return user


@pytest.fixture
def carol(db):
    """A coordinator."""
    user = get_user_model().objects.create_user(username="carol", is_staff=True)
    user.groups.add(Group.objects.get(name=COORDINATORS))
    return user


@pytest.fixture
def cad(db):
    """The ambulance service's dispatch system, a machine client."""
    user = get_user_model().objects.create_user(username="cad")
    user.groups.add(Group.objects.get(name=DISPATCH_SYSTEMS))
    return user


@pytest.fixture
def nobody(db):
    """A logged-in user with no role at all."""
    return get_user_model().objects.create_user(username="nobody")


@pytest.fixture
def api():
    """An API client that enforces CSRF like a browser would."""
    return APIClient(enforce_csrf_checks=True)


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def admin_client_for(user) -> Client:
    """A browser logged in to the admin as `user` past its second factor (TOTP): the user gets a
    confirmed authenticator device and the session is verified with it, as typing a right code
    does (backend/accounts/admin_site.py). Use this for admin pages: with force_login alone every
    admin page redirects to the code page."""
    client = Client()
    client.force_login(user)
    pass_second_factor(client, user)
    return client


def pass_second_factor(client, user) -> None:
    """Mark the client's session verified with an authenticator device of the user's, as typing a
    right code does: staff sessions need it for the admin, the API and the coordinators' socket."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Test authenticator", confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()


def token_client_for(user) -> APIClient:
    _, token = AuthToken.objects.create(user=user, expiry=None)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


@pytest.fixture
def incident(carol):
    from backend.dispatch.actions import create_incident

    return create_incident(
        actor=carol,
        cad_reference="EEAST-0001",
        latitude=NORWICH_INCIDENT[0],
        longitude=NORWICH_INCIDENT[1],
        address="12 Example Road, Norwich",
    )
