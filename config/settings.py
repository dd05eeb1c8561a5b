"""The one settings module. Every value comes from an environment variable.

Defaults serve the quick start on one machine (SQLite, Celery over kombu's
filesystem transport, a worker started beside the web server by
``bin/quickstart``): the embedded mode, on with ``DEBUG`` or ``EMBEDDED=1``. Production sets
``DATABASE_URL`` (PostgreSQL) and ``CELERY_BROKER_URL`` (Redis), and refuses to start without
them; see README.md for every variable.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config.client_ip import parse_trusted_proxies
from config.env import read_bool, read_choice, read_int, read_int_map, read_list, read_str
from config.llm_annotators import parse_llm_annotators

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(read_str("VAR_DIR", str(BASE_DIR / "var")))
try:
    VAR_DIR.mkdir(parents=True, exist_ok=True)  # the quick start's SQLite file and broker live here
except OSError as exc:
    raise ImproperlyConfigured(f"VAR_DIR={str(VAR_DIR)!r} cannot be created: {exc}") from exc

DEBUG = read_bool("DEBUG", False)

_DEV_SECRET_KEY = "insecure-dev-only-key-set-SECRET_KEY-in-production"
# Required (raises naming the variable) unless DEBUG is on.
SECRET_KEY = read_str("SECRET_KEY", _DEV_SECRET_KEY if DEBUG else None)
# The same bar as Django's deploy check (security.W009).
_weak_secret = SECRET_KEY == _DEV_SECRET_KEY or len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5
if not DEBUG and _weak_secret:
    raise ImproperlyConfigured(
        "SECRET_KEY must be a random string of at least 50 characters "
        "(python -c 'import secrets; print(secrets.token_urlsafe(50))')."
    )

# Annotator pseudonyms in exports are HMAC-SHA256(key, campaign id + user id): stable within a
# campaign, unlinkable across campaigns, and not the sequential user id. Derived from SECRET_KEY
# unless set (rotating either renames every exported annotator).
PSEUDONYM_KEY = read_str("PSEUDONYM_KEY", "pseudonym:" + SECRET_KEY)

ALLOWED_HOSTS = read_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = read_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    # failed logins counted in the database, so a lock-out holds across gunicorn workers
    "axes",
    "csp",
    "annotate",
    "routing",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "csp.middleware.CSPMiddleware",
    # After the views' own handlers: a lost database connection is a 503.
    "config.middleware.DatabaseConnectionLostMiddleware",
    # Last: turns a login refused during a lock-out into the lock-out answer (page or JSON).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Embedded mode -------------------------------------------------------------------------
# The quick start's SQLite database and filesystem broker are an explicit mode, on by default
# only with DEBUG: a production process (DEBUG off) without DATABASE_URL or CELERY_BROKER_URL
# refuses to start instead of silently writing to a local SQLite file.
EMBEDDED = read_bool("EMBEDDED", DEBUG)


def _embedded_default(name: str, value: str) -> str:
    if EMBEDDED:
        return value
    raise ImproperlyConfigured(
        f"Environment variable {name} is required with DEBUG off (set EMBEDDED=1 for the "
        "single-machine embedded mode: SQLite and a filesystem broker)."
    )


# --- Database -------------------------------------------------------------------------------
DATABASE_URL = (
    read_str("DATABASE_URL")
    if "DATABASE_URL" in os.environ or "DATABASE_URL_FILE" in os.environ
    else _embedded_default("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}")
)
try:
    _database = dj_database_url.parse(
        DATABASE_URL, conn_max_age=read_int("DB_CONN_MAX_AGE", 60, minimum=0)
    )
except ValueError as exc:
    raise ImproperlyConfigured(f"DATABASE_URL={DATABASE_URL!r} cannot be parsed: {exc}") from exc
if _database["ENGINE"] == "django.db.backends.sqlite3":
    # The web server and the embedded worker write to one file: WAL lets readers run beside the
    # writer, IMMEDIATE takes the write lock at BEGIN so two writers queue instead of deadlocking.
    _database["CONN_MAX_AGE"] = 0
    _database["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # Tests use a file, not shared-cache memory, so a worker thread locks like a real process.
    _database["TEST"] = {"NAME": str(VAR_DIR / "test-db.sqlite3")}
elif _database["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured(
        f"DATABASE_URL must point at PostgreSQL or SQLite, not {_database['ENGINE']}."
    )
else:
    _database["CONN_HEALTH_CHECKS"] = True
DATABASES = {"default": _database}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# AxesStandaloneBackend first: it refuses a locked-out username/address before the password
# is checked (so the right password is refused too); ModelBackend then checks the password.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = read_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(read_str("STATIC_ROOT", str(VAR_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- Security (secure by default whenever DEBUG is off) ------------------------------------
SECURE_SSL_REDIRECT = read_bool("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = read_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = read_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_HSTS_SECONDS = read_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = read_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = read_bool("SECURE_HSTS_PRELOAD", not DEBUG)
# Only behind a proxy that overwrites the header: anyone reaching the server directly could
# otherwise claim https. The compose default is off; see docker/README.md.
TRUST_X_FORWARDED_PROTO = read_bool("TRUST_X_FORWARDED_PROTO", False)
# The reverse proxies (addresses or networks) whose X-Forwarded-For names the client for the
# login lock and the API throttles; empty = trust no header, the TCP peer is the client. The
# same variable tells gunicorn which peers may set X-Forwarded-Proto (docker/compose.yaml).
FORWARDED_ALLOW_IPS = read_list("FORWARDED_ALLOW_IPS", [])
parse_trusted_proxies(FORWARDED_ALLOW_IPS)  # loud at start on a bad entry
if TRUST_X_FORWARDED_PROTO:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy (django-csp): scripts and styles from our own static files only, no
# inline script or style attribute, no plugins, no framing, forms post only to us. Swagger UI
# and the charts' SVG use data: images.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# --- Login throttling (django-axes) ----------------------------------------------------------
# LOGIN_FAILURE_LIMIT wrong passwords for one username from one address lock that pair out for
# LOGIN_COOLOFF_MINUTES, the right password included; the page and the token endpoint share the
# count. Failures are rows in the database (axes' database handler), so every worker sees them.
AXES_FAILURE_LIMIT = read_int("LOGIN_FAILURE_LIMIT", 10, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=read_int("LOGIN_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]

# --- Rendered Markdown cache ------------------------------------------------------------------
# Per process: characters of source text plus rendered HTML kept for reuse (least recently used
# evicted). 8 million characters is about 30-70 MB of Python strings (see test_markup).
MARKDOWN_CACHE_MAX_CHARS = read_int("MARKDOWN_CACHE_MAX_CHARS", 8_000_000, minimum=0)
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_LOCKOUT_CALLABLE = "annotate.views.lockout.lockout_response"
# Every attempt during a lock-out restarts the cool-off; a successful login clears the count.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = True
AXES_RESET_ON_SUCCESS = True
# The address is the TCP peer (REMOTE_ADDR), never a header a client can write, unless the peer
# is a trusted reverse proxy (FORWARDED_ALLOW_IPS): then it is the right-most X-Forwarded-For hop
# that is not a trusted proxy (config/client_ip.py). The API throttles count the same address.
AXES_CLIENT_IP_CALLABLE = "config.client_ip.client_ip"
AXES_VERBOSE = False


# --- REST API -----------------------------------------------------------------------------------
REST_FRAMEWORK = {
    # Token first: an anonymous call is answered 401 with ``WWW-Authenticate: Token``.
    # The session serves the browser (the docs page) and enforces CSRF on writes.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "annotate.api.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "annotate.api.pagination.PagePagination",
    "PAGE_SIZE": read_int("API_PAGE_SIZE", 50, minimum=1),
    "EXCEPTION_HANDLER": "annotate.api.errors.handle_exception",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Every call: per client address when anonymous, per user when authenticated (counters in
    # CACHES, shared by the workers through Redis in production).
    "DEFAULT_THROTTLE_CLASSES": [
        "annotate.api.authentication.AnonymousCallThrottle",
        "annotate.api.authentication.UserCallThrottle",
    ],
    # Per client address: attempts at the token endpoint, and failed credential checks
    # anywhere (a wrong password, an unknown token).
    "DEFAULT_THROTTLE_RATES": {
        "anon": read_str("API_ANON_RATE", "60/min"),
        "user": read_str("API_USER_RATE", "3000/min"),
        "auth": read_str("API_TOKEN_RATE", "20/min"),
        "auth_failure": read_str("API_AUTH_FAILURE_RATE", "10/hour"),
    },
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Prefroute API",
    "DESCRIPTION": "Campaigns, imports, the annotation queue, labels and jobs.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # The docs page's assets come from drf-spectacular-sidecar (static files), never a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "CampaignStatusEnum": "annotate.models.CampaignStatus",
        "JobStatusEnum": "annotate.models.JobStatus",
        "InstanceStateEnum": "annotate.selectors.InstanceState",
    },
}

# --- Jobs (JobRun rows run by Celery workers) --------------------------------------------------------
# While a job runs, its worker touches the row's heartbeat every JOB_HEARTBEAT_S seconds, whether
# or not the job reports progress. A RUNNING job whose heartbeat is older than JOB_STALE_AFTER_S
# has lost its worker: it is requeued, or failed once JOB_MAX_ATTEMPTS workers were lost on it.
JOB_HEARTBEAT_S = read_int("JOB_HEARTBEAT_S", 15, minimum=1)
JOB_STALE_AFTER_S = read_int("JOB_STALE_AFTER_S", 60, minimum=1)
if JOB_STALE_AFTER_S < 3 * JOB_HEARTBEAT_S:
    # One slow beat (a busy database, a long pause of the process) must not look like a death.
    raise ImproperlyConfigured(
        f"JOB_STALE_AFTER_S={JOB_STALE_AFTER_S} must be at least 3 x JOB_HEARTBEAT_S={JOB_HEARTBEAT_S}."
    )
JOB_MAX_ATTEMPTS = read_int("JOB_MAX_ATTEMPTS", 3, minimum=1)
# A job attempt running longer than its kind's limit is hung: it is failed with the reason (by the
# reaper, and by Celery's soft time limit inside the task; the hard limit, 60 s later, kills the
# pool process) and its partial output is discarded. JOB_KIND_TIMEOUT_S sets some kinds apart,
# e.g. "import=3600,llm_annotation=43200" (the kinds of annotate.models.JobKind).
JOB_TIMEOUT_S = read_int("JOB_TIMEOUT_S", 6 * 3600, minimum=10)
JOB_KIND_TIMEOUT_S = read_int_map(
    "JOB_KIND_TIMEOUT_S", keys=("import", "llm_annotation", "export", "routing"), minimum=10
)

# --- Celery ---------------------------------------------------------------------------------------
# The quick start's broker is kombu's filesystem transport: no server, a folder of messages.
CELERY_BROKER_URL = (
    read_str("CELERY_BROKER_URL")
    if "CELERY_BROKER_URL" in os.environ or "CELERY_BROKER_URL_FILE" in os.environ
    else _embedded_default("CELERY_BROKER_URL", "filesystem://")
)
CELERY_BROKER_DIR = Path(read_str("CELERY_BROKER_DIR", str(VAR_DIR / "broker")))
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_DIR / "messages"),
        "data_folder_out": str(CELERY_BROKER_DIR / "messages"),
        "processed_folder": str(CELERY_BROKER_DIR / "processed"),
        # kombu's default is "control" relative to the working directory (exchange tables).
        "control_folder": str(CELERY_BROKER_DIR / "control"),
        "store_processed": False,
    }
elif not CELERY_BROKER_URL.startswith(("redis://", "rediss://", "amqp://", "sqla+")):
    raise ImproperlyConfigured(
        f"CELERY_BROKER_URL={CELERY_BROKER_URL!r}: use redis://, amqp:// or filesystem://."
    )
else:
    # How long a delivered, unacknowledged message waits before the broker hands it to another
    # worker: the fallback for a whole worker lost without a reaper running. Ten stale thresholds
    # (10 minutes by default): a job's message that outlives it while the job still runs is
    # delivered again, finds the job RUNNING with a fresh heartbeat and is retried until the job
    # ends (a no-op then). It must stay well above the retry countdown (JOB_STALE_AFTER_S), since
    # a retried message is held unacknowledged until its countdown ends and would otherwise be
    # delivered twice.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 10 * JOB_STALE_AFTER_S}
# Job state lives in JobRun rows, not in a result backend.
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "annotate.*": {"queue": "default"},
    "routing.llm.*": {"queue": "llm"},
    "routing.gpu.*": {"queue": "gpu"},
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A worker that lost the broker retries for as long as it takes (Celery's default gives up after
# 100 tries, about 50 minutes, and exits): a Redis outage must never leave the queues unserved.
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
# A job running when the broker connection drops keeps running (stated, as Celery 6 flips the
# default): its message is restored and redelivered, finds the job RUNNING in a live worker and
# is retried until the job ends (a no-op then). Cancelling would throw the work away.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Celery beat (`celery -A config beat`; the quick start's worker runs it with -B) sends the job
# reaper every half stale threshold, so a lost worker's job is requeued within 1.5 thresholds of
# its last heartbeat; a reap that waited longer than its period in a busy queue is dropped.
CELERY_BEAT_SCHEDULE = {
    "reap-stale-jobs": {
        "task": "annotate.reap_stale_jobs",
        "schedule": JOB_STALE_AFTER_S / 2,
        "options": {"expires": JOB_STALE_AFTER_S / 2},
    },
    # Upload files of finished imports past UPLOAD_RETENTION_HOURS (an import deletes its own
    # as it finishes; this catches those failed by the reaper and files no import refers to).
    "sweep-upload-files": {
        "task": "annotate.sweep_upload_files",
        "schedule": 3600,
        "options": {"expires": 3600},
    },
}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Beat touches BEAT_HEARTBEAT_FILE on every tick (at least every 30 s); `manage.py check_beat`
# (the compose healthcheck) fails once it is older than BEAT_STALE_AFTER_S.
CELERY_BEAT_SCHEDULER = "config.beat:HeartbeatScheduler"
CELERY_BEAT_MAX_LOOP_INTERVAL = 30
BEAT_HEARTBEAT_FILE = Path(read_str("BEAT_HEARTBEAT_FILE", str(VAR_DIR / "beat-heartbeat")))
BEAT_STALE_AFTER_S = read_int("BEAT_STALE_AFTER_S", 120, minimum=31)
# Beat also records each tick in the database (config/beat.py); where beat is expected, /healthz
# is 503 once that is older than BEAT_STALE_AFTER_S. On by default outside the embedded quick
# start (whose worker runs beat with -B beside the web server).
BEAT_EXPECTED = read_bool("BEAT_EXPECTED", not EMBEDDED)

# --- Cache (DRF throttle counters) -----------------------------------------------------------
# Throttle histories must be shared by every web worker: Redis in production (CACHE_URL, e.g.
# redis://:password@redis:6379/1); the embedded mode's single process may use memory.
CACHE_URL = (
    read_str("CACHE_URL")
    if "CACHE_URL" in os.environ or "CACHE_URL_FILE" in os.environ
    else _embedded_default("CACHE_URL", "locmem://")
)
if CACHE_URL.startswith(("redis://", "rediss://")):
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
    }
elif CACHE_URL == "locmem://":
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
else:
    raise ImproperlyConfigured(f"CACHE_URL={CACHE_URL!r}: use redis://, rediss:// or locmem://.")

# --- Platform ---------------------------------------------------------------------------------------
# Files below this size are imported inside the request; larger ones become a Celery job.
IMPORT_INLINE_MAX_BYTES = read_int("IMPORT_INLINE_MAX_BYTES", 256 * 1024, minimum=0)
DATA_UPLOAD_MAX_MEMORY_SIZE = read_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 10 * 1024 * 1024, minimum=1)
FILE_UPLOAD_MAX_MEMORY_SIZE = read_int("FILE_UPLOAD_MAX_MEMORY_SIZE", 10 * 1024 * 1024, minimum=1)
# Campaigns with at most this many labels get their agreement and aggregate computed inside the
# request; bigger ones show the latest "Recompute" job's result (a JobRun).
REPORT_INLINE_MAX_LABELS = read_int("REPORT_INLINE_MAX_LABELS", 2000, minimum=0)
IMPORT_MAX_BYTES = read_int("IMPORT_MAX_BYTES", 512 * 1024 * 1024, minimum=1)
# A longer line of an import file is a row error (a 10 MB prompt is no annotation task).
IMPORT_MAX_LINE_BYTES = read_int("IMPORT_MAX_LINE_BYTES", 1024 * 1024, minimum=1024)
# Caps on an import file's content once decompressed, checked before any row is parsed (a
# 32 KB gzip of "{}" lines inflates to 34 MB: millions of row errors without them).
IMPORT_MAX_DECOMPRESSED_BYTES = read_int("IMPORT_MAX_DECOMPRESSED_BYTES", 1024 * 1024 * 1024, minimum=1024)
IMPORT_MAX_ROWS = read_int("IMPORT_MAX_ROWS", 1_000_000, minimum=1)
# Uploads waiting for their import job (``imports/`` below it). Never served over HTTP; the web
# process and the workers must see the same folder.
MEDIA_ROOT = Path(read_str("MEDIA_ROOT", str(VAR_DIR / "media")))
# An import deletes its upload when it finishes; beat's hourly sweep removes those still there
# this many hours after the upload (and unreferenced files as old), never one a queued or
# running import needs.
UPLOAD_RETENTION_HOURS = read_int("UPLOAD_RETENTION_HOURS", 24, minimum=1)
# Finished export files (and their dataset cards), one folder per export job.
EXPORT_DIR = Path(read_str("EXPORT_DIR", str(VAR_DIR / "exports")))

# Outgoing email (invite links). Empty EMAIL_HOST = no email: invite links are only shown.
EMAIL_HOST = read_str("EMAIL_HOST", "")
EMAIL_PORT = read_int("EMAIL_PORT", 587, minimum=1)
EMAIL_HOST_USER = read_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = read_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = read_bool("EMAIL_USE_TLS", True)
DEFAULT_FROM_EMAIL = read_str("DEFAULT_FROM_EMAIL", "prefroute@localhost")
EMAIL_TIMEOUT = 10

# Local reward-model judge (routing/ → models_rm/). Empty = the judge shipped with models_rm.
LOCAL_JUDGE_ARTIFACT = read_str("LOCAL_JUDGE_ARTIFACT", "")
LOCAL_JUDGE_BACKBONE = read_str("LOCAL_JUDGE_BACKBONE", "")
# A sequence-classification reward model (local directory or a name in the local Hugging Face
# cache) to use as the local judge instead of the frozen-encoder artifact above.
LOCAL_JUDGE_MODEL = read_str("LOCAL_JUDGE_MODEL", "")
MODELS_DEVICE = read_choice("MODELS_DEVICE", "auto", ("auto", "cpu", "cuda"))
EMBEDDING_CACHE_DIR = Path(read_str("EMBEDDING_CACHE_DIR", str(VAR_DIR / "embedding-cache")))

# OpenAI-compatible chat judges (routing.llm_annotators.openai_chat), a JSON list; the format is
# in config/llm_annotators.py. Each names the variable its API key is read from on the worker.
LLM_ANNOTATORS = parse_llm_annotators(
    read_str("LLM_ANNOTATORS_JSON", ""), variable="LLM_ANNOTATORS_JSON"
)
# Their answers, cached by content hash (one small JSON file each); empty = no cache.
LLM_CACHE_DIR = read_str("LLM_CACHE_DIR", str(VAR_DIR / "llm-cache"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": read_str("LOG_LEVEL", "INFO").upper()},
    # axes logs every successful login's reset at INFO; lock-outs and failures are WARNING.
    "loggers": {"django.db.backends": {"level": "INFO"}, "axes": {"level": "WARNING"}},
}
