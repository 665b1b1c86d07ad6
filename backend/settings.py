"""Settings, all read from the environment (see backend/env.py and docs/deployment.md).

With nothing set, the product runs embedded: one process, SQLite, an in-memory channel layer.
With DATABASE_URL and REDIS_URL set, it runs distributed on PostgreSQL and Redis.
DJANGO_ENV=production turns on the checks and cookies a public deployment needs and refuses to
start without a real secret key.
"""

import datetime
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from backend import env
from backend import logs as _logs

BASE_DIR = Path(__file__).resolve().parent.parent

DJANGO_ENV = env.string("DJANGO_ENV", "development")
if DJANGO_ENV not in ("development", "production"):
    raise ImproperlyConfigured(f"DJANGO_ENV={DJANGO_ENV!r}: use 'development' or 'production'.")
PRODUCTION = DJANGO_ENV == "production"

DEBUG = env.boolean("DJANGO_DEBUG", False)
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("DJANGO_DEBUG must not be on with DJANGO_ENV=production.")

if PRODUCTION:
    SECRET_KEY = env.string("DJANGO_SECRET_KEY", required=True)
    if len(SECRET_KEY) < 50:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be at least 50 characters long.")
else:
    SECRET_KEY = env.string("DJANGO_SECRET_KEY") or "development-only-insecure-key-never-used-in-production-0123456789"

ALLOWED_HOSTS = env.string_list(
    "DJANGO_ALLOWED_HOSTS", [] if PRODUCTION else ["localhost", "127.0.0.1", "[::1]", "testserver"]
)
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("DJANGO_ALLOWED_HOSTS must name the host(s) the product is served on.")

# Pages and sockets on these origins may make authenticated state changes. The socket origin check
# also accepts an Origin equal to the request's own Host (same-origin), see sockets/security.py.
ALLOWED_ORIGINS = env.origins(
    "DJANGO_ALLOWED_ORIGINS", [] if PRODUCTION else ["http://localhost:8000", "http://127.0.0.1:8000"]
)
CSRF_TRUSTED_ORIGINS = ALLOWED_ORIGINS

INSTALLED_APPS = [
    "daphne",
    # The admin, with a second factor for staff (backend/accounts/admin_site.py).
    "backend.accounts.admin_config.CoordinatorsAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "webpush",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "backend.accounts",
    "backend.dispatch",
    "backend.places",
    "backend.realtime",
    "backend.delivery",
    "backend.worker",
    "backend.checklists",
    "backend.records",
    "backend.audit",
    "backend.postcodes",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "backend.pwa.CompressAppFilesMiddleware",
    # Content-Security-Policy, Permissions-Policy, the API's Cache-Control (backend/headers.py).
    # Before WhiteNoise, which answers the app's files without calling what comes after it.
    "backend.headers.SecurityHeadersMiddleware",
    # WhiteNoise: /static/ and the firefighters' app (pwa/) at the root (backend/pwa.py).
    "backend.pwa.AppFilesMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "backend.accounts.sessions.SessionLifetimeMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Turns a locked-out login into the lockout answer (backend/accounts/throttling.py).
    "axes.middleware.AxesMiddleware",
    # Where each request came from, for the audit trail (channel and client address).
    "backend.audit.middleware.AuditOriginMiddleware",
]

ROOT_URLCONF = "backend.urls"
ASGI_APPLICATION = "backend.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                # Welfare follow-ups not reaching the welfare leads: the admin's home and the boards.
                "backend.records.notices.welfare_notice",
            ],
        },
    },
]

# --- Database: SQLite by default, PostgreSQL with DATABASE_URL -------------------------------
_database_url = env.string("DATABASE_URL")
if _database_url:
    try:
        DATABASES = {"default": dj_database_url.parse(_database_url, conn_max_age=60, conn_health_checks=True)}
    except ValueError as exc:
        raise ImproperlyConfigured(f"DATABASE_URL is not a database URL: {exc}") from None
    # A dispatch must fail fast with a clear error, not hang, when the database is unreachable.
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = env.integer(
            "DATABASE_CONNECT_TIMEOUT", 3, minimum=1
        )
        # No JIT compilation: a plan costed high on stale statistics was JIT-compiled for 24-36 ms
        # to read a few rows (the selection's generic plan, bench/plan_check.py --generic); this
        # service's statements are short lookups, which JIT only delays.
        DATABASES["default"]["OPTIONS"]["options"] = "-c jit=off"
        # Statements prepared on the server once a connection has run them PREPARE_THRESHOLD times
        # (psycopg; Django turns it off by default for PgBouncer's transaction pooling, which this
        # deployment does not use: each process keeps its own pool of connections). PostgreSQL then
        # parses and plans the dispatch's dozen statements once per connection instead of on every
        # call: planning was 1.3-2 ms of the CAD's call (issue 17 item 2, docs/scaling.md).
        if env.boolean("DATABASE_PREPARED_STATEMENTS", True):
            DATABASES["default"]["OPTIONS"]["server_side_binding"] = True
            DATABASES["default"]["OPTIONS"]["prepare_threshold"] = env.integer(
                "DATABASE_PREPARE_THRESHOLD", 2, minimum=0, maximum=1000
            )
        # A pool of connections per process (psycopg_pool, through Django's OPTIONS["pool"]), on by
        # default in production: without it every request thread holds a connection of its own
        # for CONN_MAX_AGE, and a burst of receipts opens more than PostgreSQL allows. Django
        # needs CONN_MAX_AGE 0 with a pool: a connection goes back to the pool after each request.
        if env.boolean("DATABASE_POOL", PRODUCTION):
            _pool = {
                "min_size": env.integer("DATABASE_POOL_MIN_SIZE", 2, minimum=0, maximum=1000),
                "max_size": env.integer("DATABASE_POOL_MAX_SIZE", 20, minimum=1, maximum=1000),
                # Beyond this wait for a free connection, the API answers 503 database_busy. A
                # request waiting while the pool cannot connect is told at once instead (503
                # database_unavailable, as without the pool): backend/postgresql/pool.py.
                "timeout": env.number("DATABASE_POOL_TIMEOUT", 10.0, minimum=0.1, maximum=300),
                "name": "coresponder",
            }
            if _pool["min_size"] > _pool["max_size"]:
                raise ImproperlyConfigured("DATABASE_POOL_MIN_SIZE must not be above DATABASE_POOL_MAX_SIZE.")
            DATABASES["default"]["OPTIONS"]["pool"] = _pool
            DATABASES["default"]["CONN_MAX_AGE"] = 0
            # Django's PostgreSQL backend with a pool that tells an outage from a busy pool.
            DATABASES["default"]["ENGINE"] = "backend.postgresql"
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env.string("SQLITE_PATH", str(BASE_DIR / "db.sqlite3")),
            # Wait for the writer lock rather than failing a dispatch with "database is locked";
            # WAL lets readers (sockets replaying, the board) work while a dispatch writes.
            "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"},
            # Each thread keeps its connection between requests (the request threads are kept and
            # reused, backend/asgi.py): opening one, with its set-up and the first read of the
            # schema, was about 0.9 ms before each request's first query, the CAD's token check
            # among them (issue 17). A connection left unusable (an error, a transaction left open)
            # is still closed at the request's end, as Django closes it.
            "CONN_MAX_AGE": None,
        }
    }
    if PRODUCTION:
        raise ImproperlyConfigured("DJANGO_ENV=production needs DATABASE_URL (PostgreSQL).")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Channel layer: in-memory by default, Redis with REDIS_URL --------------------------------
REDIS_URL = env.string("REDIS_URL")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            # channels_redis's, sending a batch and reading what waits in one round trip each
            # (backend/realtime/layers.py).
            "BACKEND": "backend.realtime.layers.BatchedRedisChannelLayer",
            "CONFIG": {
                # channels_redis waits for messages with a blocking read that Redis itself ends after
                # 5 s. redis-py 8's default read timeout (5 s) cut those reads off and dropped quiet
                # sockets, and any explicit read timeout made cancelled receives hang; so reads have
                # no client-side timeout (the server bounds them), connects have one, and TCP
                # keepalive finds dead peers. The pool holds one connection per socket that may
                # disconnect at once.
                "hosts": [
                    {
                        "address": REDIS_URL,
                        "socket_timeout": None,
                        "socket_connect_timeout": env.number("REDIS_CONNECT_TIMEOUT", 5.0, minimum=0.5),
                        "socket_keepalive": True,
                        "max_connections": env.integer("REDIS_MAX_CONNECTIONS", 2000, minimum=10),
                        # A new connection says only what the layer needs (issue 17): redis-py 8
                        # speaks RESP3 by default, so each connection first sent HELLO 3, then asked
                        # for maintenance notifications (a Redis Enterprise command) and set its
                        # library name and version (Redis 7.2+): two more round trips, and on Redis
                        # 7.0 three refused commands whose exceptions were left as cyclic garbage.
                        # RESP2 is what channels_redis is built and tested on.
                        "protocol": 2,
                        "driver_info": None,
                    }
                ],
                "prefix": env.string("CHANNEL_LAYER_PREFIX", "coresponder"),
                "capacity": 1000,
                "expiry": 60,
            },
        }
    }
else:
    CHANNEL_LAYERS = {
        "default": {"BACKEND": "backend.realtime.layers.ThrottledInMemoryChannelLayer", "CONFIG": {"capacity": 1000}}
    }

# --- Auth -------------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/admin/login/"
# Axes first: it refuses a locked-out login before any password is checked.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]

# Login throttling (django-axes): failures are counted per username AND address, so a station's
# crews behind one shared address are not locked out by one person's mistakes, nor is an account by
# someone guessing from elsewhere. Daphne runs with --proxy-headers, so REMOTE_ADDR is the client.
AXES_FAILURE_LIMIT = env.integer("LOGIN_FAILURE_LIMIT", 5, minimum=1, maximum=100)
AXES_COOLOFF_TIME = datetime.timedelta(minutes=env.integer("LOGIN_COOLOFF_MINUTES", 15, minimum=1, maximum=1440))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# The cool-off runs from the lockout; tries during it do not extend it, so "try again at" holds.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_CALLABLE = "backend.accounts.throttling.lockout_response"

# Session lifetimes (backend/accounts/sessions.py). Firefighters log in on their own phones and
# must not be logged out before an alert: long, and sliding with use. Staff sessions (the admin)
# end a fixed time after logging in, and sooner when left idle.
SESSION_COOKIE_AGE = env.integer("FIREFIGHTER_SESSION_DAYS", 30, minimum=1, maximum=365) * 86400
# Django's database sessions with the user's id in an indexed column: a user's sessions are found
# by one indexed query, not by decoding every session (backend/accounts/session_store.py).
SESSION_ENGINE = "backend.accounts.session_store"
ADMIN_SESSION_MAX_AGE = env.integer("ADMIN_SESSION_HOURS", 8, minimum=1, maximum=24) * 3600
ADMIN_SESSION_IDLE = env.integer("ADMIN_SESSION_IDLE_MINUTES", 30, minimum=5, maximum=600) * 60

# Two-factor authentication for the admin (django-otp, TOTP): backend/accounts/admin_site.py.
OTP_TOTP_ISSUER = "Co-responder alerting"

LANGUAGE_CODE = "en-gb"
# 24-hour times everywhere (Django's en_GB says "5:58 p.m."): backend/formats/en_GB/formats.py.
FORMAT_MODULE_PATH = ["backend.formats"]
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = not PRODUCTION
# The firefighters' app is served from the site root: `/` is pwa/index.html, `/sw.js` the service
# worker. In development files are looked up on each request, so an edited file is served as it is
# now (a file scanned at start-up and changed later would be served with its old length).
WHITENOISE_ROOT = BASE_DIR / "pwa"
WHITENOISE_INDEX_FILE = True
WHITENOISE_AUTOREFRESH = not PRODUCTION
WHITENOISE_MIMETYPES = {".webmanifest": "application/manifest+json"}
# Front-end libraries from npm (frontend/package.json, pinned by its lockfile, installed by `make
# install`), served by the product under /static/vendor/ and never from a CDN: Leaflet (BSD-2-Clause)
# for the maps, loaded only when a map is shown (pwa/app/map.js).
STATICFILES_DIRS = [("vendor/leaflet", BASE_DIR / "frontend" / "node_modules" / "leaflet" / "dist")]

# --- API --------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    # Token first so that an anonymous request gets 401 with WWW-Authenticate rather than 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # knox's, with less reading per call (backend/accounts/tokens.py).
        "backend.accounts.tokens.TokenAuthentication",
        # Staff sessions only after the second factor (backend/accounts/second_factor.py).
        "backend.accounts.second_factor.SecondFactorSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": ["backend.api.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "backend.api.errors.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
REST_KNOX = {
    # Machine clients (the ambulance CAD) get tokens made by `manage.py create_api_token`; each
    # token's own expiry is set there. Only a hash of each token is stored.
    "TOKEN_TTL": None,
    "AUTH_HEADER_PREFIX": "Token",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Co-responder alerting API",
    "DESCRIPTION": (
        "Cardiac-arrest alerts for fire and rescue co-responders. Coordinators and the ambulance "
        "dispatch system create and dispatch incidents; firefighters answer their alerts. "
        'Every error is JSON: {"error": {"code", "message", "fields"}}.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "COMPONENT_SPLIT_REQUEST": True,
    "OAS_VERSION": "3.1.0",  # the payload schemas are JSON Schema 2020-12
    # Served by the product itself: no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Choice sets the records forms use for several fields, named once in the document.
    "ENUM_NAME_OVERRIDES": {
        "YesNoUnknownEnum": "backend.records.models.YesNoUnknown.values",
        "FirstByEnum": "backend.records.models.FirstBy.values",
    },
    # drf-spectacular's own hook, then: the inputs that refuse unknown fields say so.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "backend.api.known_fields.mark_known_fields_only",
    ],
}

# --- Defibrillators (docs/defibrillators.md) ---------------------------------------------------------
# The nearest ones shown for an incident: how many, and how far from it at most (metres).
DEFIBRILLATORS_NEAREST_COUNT = env.integer("DEFIBRILLATORS_NEAREST_COUNT", 3, minimum=1, maximum=20)
DEFIBRILLATORS_RADIUS_M = env.integer("DEFIBRILLATORS_RADIUS_M", 1000, minimum=50, maximum=10000)

# --- Dispatch rules (docs/deployment.md) --------------------------------------------------------
# Where an incident may be: a box around the area the deployment serves, by default the United
# Kingdom, the Channel Islands and the Isle of Man with a margin (as the postcode import's:
# backend/postcodes/importing.py). A CAD that sent (0, 0), a place abroad or its latitude and
# longitude swapped made an incident nobody could reach, and the board's map zoomed out to a
# continent to show it (found by trying the product). A trust may narrow it to its own area.
INCIDENT_AREA_SOUTH = env.number("INCIDENT_AREA_SOUTH", 49.0, minimum=-90, maximum=90)
INCIDENT_AREA_NORTH = env.number("INCIDENT_AREA_NORTH", 61.0, minimum=-90, maximum=90)
INCIDENT_AREA_WEST = env.number("INCIDENT_AREA_WEST", -9.0, minimum=-180, maximum=180)
INCIDENT_AREA_EAST = env.number("INCIDENT_AREA_EAST", 2.0, minimum=-180, maximum=180)
if INCIDENT_AREA_SOUTH >= INCIDENT_AREA_NORTH or INCIDENT_AREA_WEST >= INCIDENT_AREA_EAST:
    raise ImproperlyConfigured("INCIDENT_AREA_SOUTH must be below _NORTH, and INCIDENT_AREA_WEST below _EAST.")
DISPATCH_RADIUS_KM = env.number("DISPATCH_RADIUS_KM", 20.0, minimum=0.1, maximum=500)
DISPATCH_MAX_PER_STATION = env.integer("DISPATCH_MAX_PER_STATION", 4, minimum=1, maximum=100)
DISPATCH_MAX_RESPONDERS = env.integer("DISPATCH_MAX_RESPONDERS", 50, minimum=1, maximum=1000)
# Rings of stations: the first dispatch reaches DISPATCH_RADIUS_KM; each "ring" step of the ladder
# reaches the next radius of DISPATCH_NEXT_RINGS_KM (a dispatch that reaches nobody widens at once).
# The ladder: seconds after dispatch and what to do then, each step only while the incident is not
# covered: ring: re-send to the unanswered and alert the next ring; sms: text everyone whose device
# has not shown the alert; alarm: raise an alarm on the coordinators' board.
DISPATCH_NEXT_RINGS_KM = env.number_list("DISPATCH_NEXT_RINGS_KM", [35.0, 50.0])
# Coverage: an incident is covered when this many crews are committed (accepted, en route, on
# scene) or attended and cleared; the CAD may set its own target per incident. Once covered, the
# ladder pauses and, after the grace, those who have not answered are stood down ("Enough crews are
# going"); if coverage drops (a decline after accepting), the ladder resumes where it was.
DISPATCH_CREW_TARGET = env.integer("DISPATCH_CREW_TARGET", 2, minimum=1, maximum=20)
COVERED_STAND_DOWN_GRACE_SECONDS = env.integer("COVERED_STAND_DOWN_GRACE_SECONDS", 30, minimum=0, maximum=3600)

# Stored socket events (the replay store) are deleted by the worker after this many days; a phone
# offline longer reloads its state over the API (backend/realtime/pruning.py).
STORED_EVENTS_RETENTION_DAYS = env.integer("STORED_EVENTS_RETENTION_DAYS", 7, minimum=1, maximum=366)

# --- Positions and arrival estimates (issue 14, docs/positions.md) -------------------------------
# Positions shared while responding (and the opt-in on-call fix) are deleted by the worker after this.
POSITIONS_RETENTION_HOURS = env.integer("POSITIONS_RETENTION_HOURS", 24, minimum=1, maximum=24 * 31)
# An on-call fix younger than this places the responder for dispatch; an older one is ignored (station).
POSITION_FRESH_FOR_SELECTION_SECONDS = env.integer(
    "POSITION_FRESH_FOR_SELECTION_SECONDS", 600, minimum=10, maximum=24 * 3600
)
# A fix sent to the API must have been taken within this many seconds (and not in the future, beyond
# POSITION_CLOCK_SKEW_SECONDS of a phone's clock running ahead): an older one is not where they are.
POSITION_MAX_AGE_SECONDS = env.integer("POSITION_MAX_AGE_SECONDS", 120, minimum=5, maximum=3600)
POSITION_CLOCK_SKEW_SECONDS = env.integer("POSITION_CLOCK_SKEW_SECONDS", 10, minimum=0, maximum=300)
# Fixes of one alert closer together than this are accepted without being stored (the app sends at
# most every 10 s; a retry or a second tab must not fill the trail).
POSITION_MIN_INTERVAL_SECONDS = env.number("POSITION_MIN_INTERVAL_SECONDS", 2.0, minimum=0, maximum=60)
# The estimate: straight-line distance times the road factor, at the average speed.
ARRIVAL_ROAD_FACTOR = env.number("ARRIVAL_ROAD_FACTOR", 1.3, minimum=1.0, maximum=3.0)
ARRIVAL_AVERAGE_SPEED_KMH = env.number("ARRIVAL_AVERAGE_SPEED_KMH", 40.0, minimum=5, maximum=150)
# An OSRM-compatible routing service (e.g. http://osrm:5000); empty: the estimate only. A request
# that fails or takes longer than the timeout falls back to the estimate.
ROUTING_URL = env.string("ROUTING_URL", "").rstrip("/")
if ROUTING_URL and not ROUTING_URL.startswith(("http://", "https://")):
    raise ImproperlyConfigured(f"ROUTING_URL={ROUTING_URL!r} must start with http:// or https://.")
ROUTING_TIMEOUT_SECONDS = env.number("ROUTING_TIMEOUT_SECONDS", 1.5, minimum=0.1, maximum=10)
ESCALATION_LADDER = env.ladder(
    "ESCALATION_LADDER", "60:ring,90:sms,120:ring,180:alarm", actions={"ring", "sms", "alarm"}
)
# An open incident nobody has dispatched this long after it was created sounds the board's alarm
# (found by a trial: one created with `dispatch: false` sat above a scrolled board, unseen, for two
# minutes): the worker's escalation pass raises it (backend/dispatch/escalation.py; docs/board.md).
UNDISPATCHED_ALARM_SECONDS = env.integer("UNDISPATCHED_ALARM_SECONDS", 60, minimum=10, maximum=3600)
# An open incident left short with its ladder held after a coordinator's stand-down (ladder.is_held)
# and nobody dispatching, cancelling or closing it this long after sounds the board's `held` alarm,
# once: the worker's escalation pass raises it (H17; docs/board.md).
HELD_LADDER_REMINDER_SECONDS = env.integer("HELD_LADDER_REMINDER_SECONDS", 120, minimum=10, maximum=3600)

# --- After-call records (issue 5) -----------------------------------------------------------------
# A submitted attendance, outcome or welfare form can be changed by its author for this long; after
# that only a coordinator can amend it, with a reason.
RECORDS_LOCK_HOURS = env.integer("RECORDS_LOCK_HOURS", 72, minimum=1, maximum=24 * 365)
# Email: welfare leads are told when a firefighter asks for a follow-up (backend/records/notify.py).
EMAIL_HOST = env.string("EMAIL_HOST", "localhost")
EMAIL_PORT = env.integer("EMAIL_PORT", 25, minimum=1, maximum=65535)
EMAIL_HOST_USER = env.string("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env.string("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env.boolean("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = env.integer("EMAIL_TIMEOUT", 10, minimum=1, maximum=120)
DEFAULT_FROM_EMAIL = env.string("DEFAULT_FROM_EMAIL", "coresponder@localhost")
# The reports' running total of emergencies attended counts from this day (YYYY-MM-DD); unset: from
# the first incident (backend/records/reports.py).
_scheme_started = env.string("RECORDS_SCHEME_STARTED", "")
try:
    RECORDS_SCHEME_STARTED = datetime.date.fromisoformat(_scheme_started) if _scheme_started else None
except ValueError:
    raise ImproperlyConfigured(
        f"RECORDS_SCHEME_STARTED={_scheme_started!r} is not a date: write it as YYYY-MM-DD."
    ) from None
# Records of incidents older than this lose their free text and the people they name, keeping the
# statistics (manage.py apply_retention). Default 8 years; at least one year.
RECORDS_RETENTION_DAYS = env.integer("RECORDS_RETENTION_DAYS", 2922, minimum=365, maximum=36500)

# --- Sockets ------------------------------------------------------------------------------------
WEBSOCKET_MAX_MESSAGE_BYTES = env.integer("WEBSOCKET_MAX_MESSAGE_BYTES", 4096, minimum=256)
WEBSOCKET_REPLAY_LIMIT = env.integer("WEBSOCKET_REPLAY_LIMIT", 500, minimum=10)
# Threads for the sockets' database work (connecting: session, user, responder, replay; and each
# frame that reads or writes): backend/database_threads.py. 0 runs it all on channels' one
# database thread per process, one socket after another. With a pool, half of it by default: the
# pool keeps a connection for each of these threads, the rest is the HTTP requests' (the CAD's
# dispatches) and the embedded worker's (backend/postgresql/pool.py), and a reconnect storm can
# never ask for more connections than the pool has. PostgreSQL without a pool keeps one
# thread (each thread would hold a connection of its own for CONN_MAX_AGE); SQLite gets 4 (WAL lets
# them read at once; writes wait for the writer lock).
_database = DATABASES["default"]
_pool_max_size = _database.get("OPTIONS", {}).get("pool", {}).get("max_size")
if _pool_max_size:
    _default_socket_threads = max(1, _pool_max_size // 2)
elif _database["ENGINE"] == "django.db.backends.sqlite3":
    _default_socket_threads = 4
else:
    _default_socket_threads = 0
WEBSOCKET_DATABASE_THREADS = env.integer(
    "WEBSOCKET_DATABASE_THREADS", _default_socket_threads, minimum=0, maximum=_pool_max_size or 1000
)
# How often each open board checks the delivery workers' heartbeats (it warns when none is recent).
BOARD_WORKER_CHECK_SECONDS = env.number("BOARD_WORKER_CHECK_SECONDS", 5.0, minimum=0.1, maximum=60)
# How often each open live board checks whether welfare follow-ups are reaching the welfare leads
# (backend/records/notices.py): a few small queries per board; an email retried for minutes.
BOARD_WELFARE_CHECK_SECONDS = env.number("BOARD_WELFARE_CHECK_SECONDS", 30.0, minimum=0.1, maximum=600)

# --- Web Push (subscriptions are stored with django-webpush's models) --------------------------
# The key comes from VAPID_PRIVATE_KEY (or VAPID_PRIVATE_KEY_FILE). Without one, development uses
# the demo key that `make run` writes to .local/ (git-ignored); production refuses to start.
PUBLIC_BASE_URL = env.origins("PUBLIC_BASE_URL", ["http://127.0.0.1:8000"])[0]
_DEMO_VAPID_KEY_FILE = BASE_DIR / ".local" / "vapid_private_key.txt"
_vapid_text = env.string("VAPID_PRIVATE_KEY")
if not _vapid_text and not PRODUCTION and _DEMO_VAPID_KEY_FILE.exists():
    _vapid_text = _DEMO_VAPID_KEY_FILE.read_text()
if PRODUCTION and not _vapid_text:
    raise ImproperlyConfigured(
        "VAPID_PRIVATE_KEY (or VAPID_PRIVATE_KEY_FILE) must be set: alerts are sent by Web Push."
    )
VAPID_PRIVATE_KEY = _vapid_text.strip() if _vapid_text else ""
VAPID_SUBJECT = env.string("VAPID_SUBJECT", "" if PRODUCTION else "mailto:coresponder-demo@example.org")
if VAPID_PRIVATE_KEY:
    from backend.delivery import vapid as _vapid

    _key = _vapid.load_private_key(VAPID_PRIVATE_KEY, source="VAPID_PRIVATE_KEY")
    VAPID_PUBLIC_KEY = _vapid.public_key_b64(_key)
    VAPID_SUBJECT = _vapid.check_subject(VAPID_SUBJECT, source="VAPID_SUBJECT")
else:
    VAPID_PUBLIC_KEY = ""
# django-webpush reads these (only its models and admin are used; see backend/delivery).
WEBPUSH_SETTINGS = {
    "VAPID_PUBLIC_KEY": VAPID_PUBLIC_KEY,
    "VAPID_PRIVATE_KEY": VAPID_PRIVATE_KEY,
    "VAPID_ADMIN_EMAIL": VAPID_SUBJECT.removeprefix("mailto:"),
}
# Subscriptions are accepted only for these push services (scheme://host, "*." for subdomains),
# so the server can never be made to POST to an internal address.
PUSH_SERVICE_ALLOWLIST = env.string_list(
    "PUSH_SERVICE_ALLOWLIST",
    [
        "https://fcm.googleapis.com",
        "https://android.googleapis.com",
        "https://updates.push.services.mozilla.com",
        "https://push.services.mozilla.com",
        "https://web.push.apple.com",
        "https://*.push.apple.com",
        "https://*.notify.windows.com",
    ],
)
# An alert push is useful for this long; a phone in deep sleep still gets it within it.
PUSH_TTL_SECONDS = env.integer("PUSH_TTL_SECONDS", 600, minimum=60, maximum=86400)
PUSH_TIMEOUT_SECONDS = env.number("PUSH_TIMEOUT_SECONDS", 10.0, minimum=0.5, maximum=60)
# Sends in flight at once per worker (and connections): at least the largest fan-out, so that one
# dispatch's pushes leave together rather than in waves of a round trip each.
PUSH_MAX_CONCURRENCY = env.integer("PUSH_MAX_CONCURRENCY", 500, minimum=1, maximum=5000)
# Phones' receipts (POST /api/v1/push-receipts/, no session) accepted per client address per
# minute: each alert push brings at most two (shown, opened), and a station's phones may share an
# address. Counted in Django's cache (per process unless CACHES is shared).
PUSH_RECEIPT_RATE_PER_MINUTE = env.integer("PUSH_RECEIPT_RATE_PER_MINUTE", 120, minimum=1, maximum=100000)
DELIVERY_MAX_ATTEMPTS = env.integer("DELIVERY_MAX_ATTEMPTS", 6, minimum=1, maximum=50)
DELIVERY_LEASE_SECONDS = env.integer("DELIVERY_LEASE_SECONDS", 30, minimum=5, maximum=600)
# Readiness (issue 13, docs/delivery.md): a device is "proven" when its service worker showed a
# push (a real alert or a test) within this many days; the worker's readiness pass sends a test
# push to on-call responders' devices not proven within it, at most once a day per device, never
# in the quiet hours (local time, "HH:MM-HH:MM", may wrap midnight; empty for none). A test with no
# receipt after READINESS_RECEIPT_WAIT_SECONDS has failed.
READINESS_PROVEN_WITHIN_DAYS = env.integer("READINESS_PROVEN_WITHIN_DAYS", 7, minimum=1, maximum=90)
READINESS_QUIET_HOURS = env.time_window("READINESS_QUIET_HOURS", "22:00-08:00")
READINESS_RECEIPT_WAIT_SECONDS = env.integer("READINESS_RECEIPT_WAIT_SECONDS", 120, minimum=10, maximum=3600)
# "Test my alerts" and the app's state reports, per firefighter (429 `throttled` past it).
READINESS_REQUESTS_PER_MINUTE = env.integer("READINESS_REQUESTS_PER_MINUTE", 20, minimum=1, maximum=10000)
DELIVERY_POLL_SECONDS = env.number("DELIVERY_POLL_SECONDS", 1.0, minimum=0.05, maximum=60)
DELIVERY_RETRY_BASE_SECONDS = env.number("DELIVERY_RETRY_BASE_SECONDS", 1.0, minimum=0.01, maximum=60)
DELIVERY_RETRY_MAX_SECONDS = env.number("DELIVERY_RETRY_MAX_SECONDS", 60.0, minimum=0.1, maximum=3600)
# SMS fallback through GOV.UK Notify: on when an API key and a template are configured.
NOTIFY_API_KEY = env.string("NOTIFY_API_KEY", "")
NOTIFY_SMS_TEMPLATE_ID = env.string("NOTIFY_SMS_TEMPLATE_ID", "")
NOTIFY_BASE_URL = env.string("NOTIFY_BASE_URL", "https://api.notifications.service.gov.uk")
# In the embedded setup the worker runs inside the server process (manage.py serve).
DELIVERY_WORKER_EMBEDDED = env.boolean("DELIVERY_WORKER_EMBEDDED", not REDIS_URL)
# Whether the serving process freezes what survives each full garbage collection (the sockets'
# state), so that later collections stop walking it (backend/worker/serving.py). Off by default: on
# this machine it did not shorten the longest pause (bench/gc_pauses.py, docs/scaling.md).
GC_FREEZE_SURVIVORS = env.boolean("GC_FREEZE_SURVIVORS", False)

# --- Maps (docs/maps.md) ------------------------------------------------------------------------
# Tiles from a tile server the deployer has the right to use (its URL template and the attribution
# its licence requires, shown as plain text under each map). Empty: the maps draw the incident,
# the responders, the stations and the defibrillators on a plain background, with no request to any
# other site; the Content-Security-Policy allows the tile server's origin only when one is set.
MAP_TILE_URL = env.tile_url("MAP_TILE_URL")
MAP_TILE_ATTRIBUTION = env.string("MAP_TILE_ATTRIBUTION", "")
if MAP_TILE_URL and not MAP_TILE_ATTRIBUTION:
    raise ImproperlyConfigured("MAP_TILE_URL is set: set MAP_TILE_ATTRIBUTION to the attribution its licence requires.")

# --- Production hardening ------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # the app reads the token from the cookie to send it in a header
SESSION_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env.boolean("DJANGO_SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env.integer("DJANGO_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# Request bodies are small JSON documents; anything large is refused early.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.integer("DJANGO_MAX_BODY_BYTES", 256 * 1024, minimum=1024)

# Logs: JSON lines in production, readable lines in development; never patient data (backend/logs.py).
LOG_FORMAT = env.string("LOG_FORMAT", "json" if PRODUCTION else "plain")
if LOG_FORMAT not in _logs.LOG_FORMATS:
    raise ImproperlyConfigured(f"LOG_FORMAT={LOG_FORMAT!r}: use one of {', '.join(_logs.LOG_FORMATS)}.")
LOGGING = _logs.logging_config(log_format=LOG_FORMAT, level=env.string("LOG_LEVEL", "INFO"))
