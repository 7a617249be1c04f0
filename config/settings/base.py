"""Settings shared by every runtime shape.

Everything is configured through environment variables (django-environ). With nothing set
you get the *embedded default*: a SQLite file, a local-memory cache and Celery tasks run
eagerly in-process, so a new user needs no server. ``DATABASE_URL`` switches to PostgreSQL,
``REDIS_URL`` to Redis for the cache, the Celery broker and the shared Spotify rate budget.
"""

from __future__ import annotations

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
# A local .env file is optional; real deployments set the environment itself.
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# --- Core -----------------------------------------------------------------------------------
_INSECURE_KEY = "embedded-default-insecure-key-change-me-in-production"  # see safety.py
SECRET_KEY = env("SECRET_KEY", default=_INSECURE_KEY)
DEBUG = env.bool("DEBUG", default=True)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "django_celery_beat",
    "core",
    "catalog",
    "spotify_integration",
    "sync",
    "library",
]

MIDDLEWARE = [
    "core.middleware.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
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

# --- Database -------------------------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the dev server read while an import writes; the timeout rides out short locks.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache, broker --------------------------------------------------------------------------
REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env("CACHE_KEY_PREFIX", default="encore"),
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                "SOCKET_CONNECT_TIMEOUT": 2,
                "SOCKET_TIMEOUT": 2,
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Seconds each process adds its metrics up in memory before writing them to Redis in one round
# trip (core/metrics_store.py): a round trip per search cost ~0.9 ms of CPU. 0: every call.
METRICS_FLUSH_SECONDS = env.float("METRICS_FLUSH_SECONDS", default=1.0)

# --- Celery (see config/celery.py) ----------------------------------------------------------
# No broker configured means the embedded default: tasks run eagerly in the calling process.
# (Celery acquires a producer even when eager; "localhost" stops kombu warning about no host.)
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL or "memory://localhost/")
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = None  # outcomes live on SyncJob rows, not in a result backend
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=60 * 60)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=60 * 60 + 300)
# Must exceed the longest countdown/ETA we ever schedule, or Redis redelivers the message
# while it is still waiting (https://docs.celeryq.dev/en/stable/getting-started/backends-and-brokers/redis.html).
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 4 * 60 * 60}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Celery's Django fixup closes the database connection after every task unless this is set
# (~10 ms to reconnect per job); sync.tasks runs Django's own per-request connection check
# (CONN_MAX_AGE, CONN_HEALTH_CHECKS) before each job instead.
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=100)
# Retry the broker connection at worker start-up (silences Celery 5's deprecation warning).
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"

# --- Auth, i18n, static ---------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# Serve app static files (admin, Swagger UI) without collectstatic in the embedded default.
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG
MEDIA_ROOT = env("MEDIA_ROOT", default=str(BASE_DIR / "media"))
# Uploaded import files are streamed to disk, never held whole in memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# --- REST framework, OpenAPI ----------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: its WWW-Authenticate challenge makes an anonymous request a 401, not a
        # 403, on every endpoint (DRF answers 403 when the first class has no challenge).
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_SCHEMA_CLASS": "core.schema.ErrorDocumentingAutoSchema",
    "EXCEPTION_HANDLER": "core.exceptions.api_exception_handler",
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "spotify_connect": env("THROTTLE_SPOTIFY_CONNECT", default="20/min"),
        "spotify_callback": env("THROTTLE_SPOTIFY_CALLBACK", default="20/min"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Encore API",
    "DESCRIPTION": "Song catalog with fast local search, Spotify enrichment and sync jobs.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
}

# --- Spotify --------------------------------------------------------------------------------
# The integration is on only when the client id and secret are set.
SPOTIFY_CLIENT_ID = env("SPOTIFY_CLIENT_ID", default="")
SPOTIFY_CLIENT_SECRET = env("SPOTIFY_CLIENT_SECRET", default="")
# Spotify refuses `localhost`; loopback IPs over plain http are allowed.
SPOTIFY_REDIRECT_URI = env(
    "SPOTIFY_REDIRECT_URI", default="http://127.0.0.1:8000/api/spotify/callback/"
)
SPOTIFY_API_URL = env("SPOTIFY_API_URL", default="https://api.spotify.com/v1/")
SPOTIFY_ACCOUNTS_URL = env("SPOTIFY_ACCOUNTS_URL", default="https://accounts.spotify.com/")
# development: a new app (5 users, no batch endpoints); extended: an extended-quota app.
SPOTIFY_APP_MODE = env("SPOTIFY_APP_MODE", default="development")
if SPOTIFY_APP_MODE not in ("development", "extended"):
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("SPOTIFY_APP_MODE must be 'development' or 'extended'")
SPOTIFY_SCOPES = env.list(
    "SPOTIFY_SCOPES",
    default=[
        "user-read-private",
        "playlist-read-private",
        "playlist-read-collaborative",
        "user-read-recently-played",
    ],
)
SPOTIFY_REQUEST_TIMEOUT = env.float("SPOTIFY_REQUEST_TIMEOUT", default=10.0)
# Spotify counts calls per app over a rolling 30 s window; all processes share this budget.
SPOTIFY_RATE_LIMIT_CALLS = env.int("SPOTIFY_RATE_LIMIT_CALLS", default=90)
SPOTIFY_RATE_LIMIT_WAIT = env.float("SPOTIFY_RATE_LIMIT_WAIT", default=2.0)
# Comma-separated Fernet keys; the first encrypts, all decrypt (MultiFernet).
TOKEN_ENCRYPTION_KEYS = env.list("TOKEN_ENCRYPTION_KEYS", default=[])

# --- Sync jobs (see docs/sync.md) ------------------------------------------------------------
# A running job whose heartbeat is older than this is failed as "worker lost" by the reaper.
# A thread beats every SYNC_HEARTBEAT_INTERVAL s while a job runs (issue 14: was 600 s).
SYNC_HEARTBEAT_TIMEOUT = env.int("SYNC_HEARTBEAT_TIMEOUT", default=90)
SYNC_HEARTBEAT_INTERVAL = env.float("SYNC_HEARTBEAT_INTERVAL", default=15.0)
SYNC_RETRY_BASE_DELAY = env.float("SYNC_RETRY_BASE_DELAY", default=5.0)  # seconds, doubled
SYNC_RETRY_MAX_DELAY = env.float("SYNC_RETRY_MAX_DELAY", default=900.0)  # each attempt, capped
SYNC_REQUEUE_LIMIT = env.int("SYNC_REQUEUE_LIMIT", default=3)  # reaper requeues in a row
# A pending job overdue this long (its message lost) has its message sent again.
SYNC_PENDING_RESEND_AFTER = env.int("SYNC_PENDING_RESEND_AFTER", default=600)
# Where uploaded import files go and the only place jobs read files from.
SYNC_IMPORT_DIR = env("SYNC_IMPORT_DIR", default=str(Path(MEDIA_ROOT) / "imports"))
# Days an import file is kept for retries once no active job names it (then purged daily).
SYNC_IMPORT_FILE_RETENTION_DAYS = env.int("SYNC_IMPORT_FILE_RETENTION_DAYS", default=7)

# --- Catalog search -------------------------------------------------------------------------
# How many candidates search ranks at most, per index branch (see catalog/search.py).
SEARCH_CANDIDATE_CAP = env.int("SEARCH_CANDIDATE_CAP", default=500)
# Seconds a search's local result is kept in the shared cache (catalog/search_cache.py; a catalog
# write makes every kept result out of date at once). Needs Redis: without it (the embedded
# default) nothing is kept, since the worker writes the catalog in another process.
SEARCH_CACHE_SECONDS = env.int("SEARCH_CACHE_SECONDS", default=300) if REDIS_URL else 0

# --- Logging --------------------------------------------------------------------------------
LOG_LEVEL = env("LOG_LEVEL", default="INFO")
LOG_FORMAT = env("LOG_FORMAT", default="json")  # json (one object a line) or text
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "core.logging.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "filters": {"redact": {"()": "core.logging.RedactSecretsFilter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["redact"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.server": {"level": "WARNING"},
        "django.request": {"level": "ERROR"},
    },
}

if SECRET_KEY == _INSECURE_KEY and not DEBUG:
    # Fail closed: without DEBUG this is meant to serve others, and the key is public.
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(
        "DEBUG is off but SECRET_KEY is the embedded development default; set SECRET_KEY."
    )

# --- Spotify features: enrichment, hybrid search, connections, libraries (features.py) ---
from config.settings.features import *  # noqa: E402, F403

# --- issue 12: library web (docs/library-api.md) ---------------------------------------------
# Per user: POST /api/spotify/me/sync/ (a repeat returns the running job anyway) and uploads.
_THROTTLE_RATES: dict[str, str] = REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]  # type: ignore[assignment]
_THROTTLE_RATES["spotify_me_sync"] = env("THROTTLE_SPOTIFY_ME_SYNC", default="30/hour")
_THROTTLE_RATES["spotify_me_history"] = env("THROTTLE_SPOTIFY_ME_HISTORY", default="20/hour")
# A history upload (all its files) larger than this is refused (413) before it is read.
LIBRARY_HISTORY_MAX_UPLOAD_BYTES = env.int("LIBRARY_HISTORY_MAX_UPLOAD_BYTES", default=300_000_000)

# --- issue 15: operators and newcomers (docs/operations.md) ---------------------------------
# Swagger UI (/api/docs/) and ReDoc (/api/redoc/) are served from the app's static files
# (drf-spectacular-sidecar, pinned), so the API docs work offline and never load a CDN.
INSTALLED_APPS += ["drf_spectacular_sidecar"]
SPECTACULAR_SETTINGS.update(
    {
        "SWAGGER_UI_DIST": "SIDECAR",
        "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
        "REDOC_DIST": "SIDECAR",
    }
)

# The embedded worker (`make run`, `manage.py run_embedded`): with EMBEDDED_WORKER on and no
# Redis, the web process and one Celery worker beside it pass job messages through files in
# EMBEDDED_BROKER_DIR (kombu's filesystem transport) instead of running jobs eagerly inside the
# request, so the console shows live progress and cancel works, with nothing but Python.
EMBEDDED_WORKER = env.bool("EMBEDDED_WORKER", default=False)
EMBEDDED_BROKER_DIR = env("EMBEDDED_BROKER_DIR", default=str(BASE_DIR / ".broker"))
if EMBEDDED_WORKER and not REDIS_URL and not env("CELERY_BROKER_URL", default=""):
    Path(EMBEDDED_BROKER_DIR).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://localhost/"
    CELERY_TASK_ALWAYS_EAGER = False
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": EMBEDDED_BROKER_DIR,
        "data_folder_out": EMBEDDED_BROKER_DIR,
        "control_folder": str(Path(EMBEDDED_BROKER_DIR) / "control"),  # type: ignore[dict-item]
        "store_processed": False,
        "visibility_timeout": 4 * 60 * 60,  # as above (the sync.E001 check compares it)
    }
    CELERY_WORKER_ENABLE_REMOTE_CONTROL = False  # the filesystem transport has no broadcast
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Two processes write the SQLite file under `make run` (the web server and the embedded
    # worker): a transaction takes the write lock when it begins and waits up to `timeout`
    # for it, instead of failing at once with "database is locked" when it first writes.
    DATABASES["default"]["OPTIONS"]["transaction_mode"] = "IMMEDIATE"

# Django's own "django" logger has a console handler of its own under DEBUG: with the root
# handler above every django.* line (runserver's "Watching for file changes") came out twice.
LOGGING["loggers"]["django"] = {"handlers": [], "level": "INFO", "propagate": True}  # type: ignore[index]
# Timestamps to the second with their time zone in the admin (config/formats/en/formats.py).
FORMAT_MODULE_PATH = ["config.formats"]

# --- issue 14: fail closed (docs/deploy.md) --------------------------------------------------
# Proxies (IPs or networks) whose X-Forwarded-Proto / X-Forwarded-For are believed; from any
# other peer both headers are dropped (core.middleware.TrustedProxyMiddleware), so a client can
# neither fake https nor pick the address the throttles key on.
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])
MIDDLEWARE.insert(0, "core.middleware.TrustedProxyMiddleware")
if TRUSTED_PROXIES:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# DRF's throttles: the client is the address NUM_PROXIES hops back in X-Forwarded-For (0: the
# peer itself). Left unset, DRF would key on the whole, client-written header.
REST_FRAMEWORK["NUM_PROXIES"] = env.int("NUM_PROXIES", default=1 if TRUSTED_PROXIES else 0)
# Production: /api/schema/ and /api/docs/ are staff-only unless this is true (always open here).
API_DOCS_PUBLIC = env.bool("API_DOCS_PUBLIC", default=True)
# The API's JSON parser: DRF's, bounded by DATA_UPLOAD_MAX_MEMORY_SIZE and in depth, refusing
# lone surrogates (core/parsers.py); forms and uploads keep DRF's own parsers.
REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"] = [
    "core.parsers.BoundedJSONParser",
    "rest_framework.parsers.FormParser",
    "rest_framework.parsers.MultiPartParser",
]

# --- issue 14: faults (docs/deploy.md "Timeouts") ---------------------------------------------
# A hung Redis (or one that refuses) must cost a request about this long, not 30 s: every cache
# call (and the Spotify budget, pause and locks, which share its pool) gives up after it.
CACHE_SOCKET_TIMEOUT = env.float("CACHE_SOCKET_TIMEOUT", default=1.0)
CACHE_CONNECT_TIMEOUT = env.float("CACHE_CONNECT_TIMEOUT", default=1.0)
if REDIS_URL:
    CACHES["default"]["OPTIONS"]["SOCKET_TIMEOUT"] = CACHE_SOCKET_TIMEOUT
    CACHES["default"]["OPTIONS"]["SOCKET_CONNECT_TIMEOUT"] = CACHE_CONNECT_TIMEOUT
# PostgreSQL: seconds to open a connection, and the longest one statement may run (ms; 0 = no
# limit, e.g. for `migrate` building indexes on a very large catalog).
DATABASE_CONNECT_TIMEOUT = env.int("DATABASE_CONNECT_TIMEOUT", default=3)
DATABASE_STATEMENT_TIMEOUT_MS = env.int("DATABASE_STATEMENT_TIMEOUT_MS", default=60_000)


def postgres_timeouts(database: dict) -> None:
    """Put the connect and statement timeouts into a PostgreSQL DATABASES entry."""
    if database["ENGINE"] != "django.db.backends.postgresql":
        return
    options = database.setdefault("OPTIONS", {})
    options["connect_timeout"] = DATABASE_CONNECT_TIMEOUT
    given = options.get("options", "")
    options["options"] = f"{given} -c statement_timeout={DATABASE_STATEMENT_TIMEOUT_MS}".strip()


postgres_timeouts(DATABASES["default"])
# /healthz waits this long (s) for the database before answering 503 (a hung server).
HEALTHZ_TIMEOUT = env.float("HEALTHZ_TIMEOUT", default=1.5)
# The job broker: a hung or refused Redis fails a publish within seconds (then the job is
# flagged not_enqueued and the reaper resends it), not after gunicorn's 30 s. The socket timeout
# stays above kombu's 1 s BRPOP poll, which the workers' consuming connection uses.
CELERY_BROKER_CONNECTION_TIMEOUT = env.float("CELERY_BROKER_CONNECTION_TIMEOUT", default=2.0)
CELERY_BROKER_TRANSPORT_OPTIONS["socket_timeout"] = env.float("BROKER_SOCKET_TIMEOUT", default=3.0)
CELERY_BROKER_TRANSPORT_OPTIONS["socket_connect_timeout"] = CELERY_BROKER_CONNECTION_TIMEOUT

# --- issue 14: bounded uploads and imports (docs/sync.md "Import files") ----------------------
# The largest file an upload may carry (the admin's Import songs); over it nothing is kept.
UPLOAD_MAX_BYTES = env.int("UPLOAD_MAX_BYTES", default=512 * 1024**2)
FILE_UPLOAD_HANDLERS = [
    "core.uploads.CappedUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
# An import reads at most this many bytes of one file, decompressed (a gzip bomb stops here),
# and lines of at most this many characters (one huge line is refused before it is in memory).
SYNC_IMPORT_MAX_BYTES = env.int("SYNC_IMPORT_MAX_BYTES", default=2 * 1024**3)
SYNC_IMPORT_MAX_LINE_CHARS = env.int("SYNC_IMPORT_MAX_LINE_CHARS", default=1024 * 1024)

# --- issue 14: operators see a Spotify pause ---------------------------------------------------
# Admin pages show a banner while a 429 pauses Spotify (spotify_integration/context_processors).
_template_options: dict = TEMPLATES[0]["OPTIONS"]  # type: ignore[assignment]
_template_options["context_processors"].append(
    "spotify_integration.context_processors.spotify_pause"
)
