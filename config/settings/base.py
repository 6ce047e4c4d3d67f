"""Settings shared by every environment.

Every deployment value is read from the environment (see `.env.example` and the README table).
The defaults are the embedded mode: a SQLite file under `var/`, tasks run in-process, a file cache.
"""

from datetime import timedelta
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
# A local .env is a convenience for development; real deployments set the environment.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

SECRET_KEY = env("SECRET_KEY", default="insecure-embedded-key-change-me")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "config.admin.AdminConfig",  # Django's admin with the site of config/admin.py
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "contacts",
    "campaigns",
    "api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "config.middleware.RefuseNulBytesMiddleware",
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
        "DIRS": [BASE_DIR / "config" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]


GENERIC_PLANS = "-c plan_cache_mode=force_generic_plan"


def database_from_env(url: str) -> dict:
    """DATABASE_URL → Django settings, with the SQLite options that make it safe for a few writers.

    SQLite ignores SELECT … FOR UPDATE, so lease exclusivity there rests on IMMEDIATE transactions
    (the write lock is taken at BEGIN) and a generous busy timeout so a second writer waits instead
    of failing with "database is locked" (measured: 5 s was not enough under 4 claimants, 30 s was).
    """
    db = environ.Env.db_url_config(url)
    if db["ENGINE"] == "django.db.backends.sqlite3":
        name = Path(db["NAME"])
        if not name.is_absolute():
            name = BASE_DIR / name
        name.parent.mkdir(parents=True, exist_ok=True)
        db["NAME"] = str(name)
        db["OPTIONS"] = {
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
        # A file, not :memory:, so that concurrency tests can open several connections to it.
        db["TEST"] = {"NAME": str(name.with_name(f"test_{name.stem}.sqlite3"))}
    else:
        db.setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=60))
        db["CONN_HEALTH_CHECKS"] = True
        # The ORM keeps Django's client-side binding (never prepared). The statements of every lease
        # request run through `config.db.prepared_cursor`, which PostgreSQL plans once per
        # connection, at their first run: they are a fixed handful, and with psycopg's default (the
        # 5th run) a new worker's first five leases planned the claim each time (~2 ms of the
        # database's CPU each, the slowest answers of the bench). Set DB_PREPARED_STATEMENTS=false
        # behind a pooler in transaction mode that cannot carry prepared statements (PgBouncer
        # before 1.21).
        if env.bool("DB_PREPARED_STATEMENTS", default=True):
            db.setdefault("OPTIONS", {}).setdefault("prepare_threshold", 0)
        # Prepared, but PostgreSQL still plans a prepared statement again at each run while it
        # judges its generic plan dearer than the plans made for the values at hand, and it judged
        # so the lease claim's (a LIMIT given as a parameter): 0 generic plans in 120 claims, ~1 ms
        # of the database's CPU each (pg_prepared_statements). Its generic plan is the same plan
        # (the hand-over index, LockRows under the LIMIT), so prepared statements are held to their
        # generic plan. Only these are affected: the ORM's statements are never prepared. Sent as a
        # startup option, added to any the URL gives; DB_GENERIC_PLANS=false where the connection
        # cannot carry it (PgBouncer refuses startup options it does not track: set it with
        # `ALTER ROLE … SET plan_cache_mode = force_generic_plan` there instead).
        if env.bool("DB_PREPARED_STATEMENTS", default=True) and env.bool("DB_GENERIC_PLANS", default=True):
            options = db.setdefault("OPTIONS", {})
            options["options"] = " ".join(
                part for part in (options.get("options", ""), GENERIC_PLANS) if part
            )
    return db


DATABASES = {"default": database_from_env(env("DATABASE_URL", default="sqlite:///var/db.sqlite3"))}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {
    "default": env.cache(
        "CACHE_URL",
        # Throttle counters must be shared by every process; a file cache is, LocMem is not.
        default=f"filecache://{VAR_DIR / 'cache'}",
    )
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=str(VAR_DIR / "static"))
Path(STATIC_ROOT).mkdir(parents=True, exist_ok=True)  # whitenoise warns on every request otherwise
MEDIA_URL = "media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=str(VAR_DIR / "media"))
STORAGES = {
    "default": {
        "BACKEND": env("DEFAULT_FILE_STORAGE", default="django.core.files.storage.FileSystemStorage")
    },
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# --- Celery -------------------------------------------------------------------------------------
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="")
# No broker configured → the embedded mode: tasks run in-process, right after the commit that
# enqueued them, so a fresh clone needs no service.
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=None)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=30 * 60)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=25 * 60)
# Without a broker an uploaded register file is imported inside the upload's request, which the
# web server kills after its timeout (gunicorn: 30 s) however far the import got. Larger files are
# refused there, pointing to `manage.py import_register` or a worker. Measured on the 2-core
# machine, loaded: 360,000 RPO lines (4 MB) took 18-22 s on SQLite, 3-5 s on PostgreSQL; 2 MB
# keeps the embedded (SQLite) default well inside the timeout. 0: no limit.
REGISTER_IMPORT_IN_REQUEST_MAX_BYTES = env.int("REGISTER_IMPORT_IN_REQUEST_MAX_BYTES", default=2 * 2**20)
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_TASK_DEFAULT_QUEUE", default="telemarketing")
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"

# --- REST framework -----------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["api.permissions.RolePermission"],
    # DRF's defaults, with its JSON written by orjson (api/renderers.py).
    "DEFAULT_RENDERER_CLASSES": [
        "api.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    # DRF's, reading text charsets only, and JSON without lone surrogates or runaway nesting
    # (api/parsers.py).
    "DEFAULT_PARSER_CLASSES": [
        "api.parsers.JSONParser",
        "api.parsers.FormParser",
        "api.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
        "rest_framework.filters.SearchFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.errors.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "api.throttling.PersonRateThrottle",
        "api.throttling.DiallerRateThrottle",
        "rest_framework.throttling.AnonRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "person": env("THROTTLE_PERSON", default="1200/min"),
        "dialler": env("THROTTLE_DIALLER", default="6000/min"),
        "anon": env("THROTTLE_ANON", default="60/min"),
    },
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

REST_KNOX = {
    "TOKEN_TTL": timedelta(hours=env.int("PERSON_TOKEN_TTL_HOURS", default=10)),
    "AUTO_REFRESH": True,
    "TOKEN_LIMIT_PER_USER": 20,
    "AUTH_HEADER_PREFIX": "Token",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Telemarketing campaign manager API",
    "DESCRIPTION": (
        "Call lists, floors, dialler leases, call results and recordings, within each country's law. "
        "People authenticate with a session or `Authorization: Token <token>` from `/api/v1/auth/login/`; "
        "dialler integrations send the credential issued to them the same way."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

LOGIN_URL = "/admin/login/"

# --- Domain settings ----------------------------------------------------------------------------
# Pepper for hashes of suppressed numbers of erased people: without it a hash of a phone number
# is reversible by enumerating the numbering plan.
SUPPRESSION_HASH_PEPPER = env("SUPPRESSION_HASH_PEPPER", default="embedded-pepper-change-me")
# CNIL référentiel "gestion des activités commerciales": prospect data 3 years after last contact.
PROSPECT_RETENTION_DAYS = env.int("PROSPECT_RETENTION_DAYS", default=3 * 365)
# How long a slow count of an idle floor's leads may be reused by an empty lease answer
# (campaigns.selectors.queue); 0 counts at every empty answer.
EMPTY_QUEUE_REUSE_SECONDS = env.int("EMPTY_QUEUE_REUSE_SECONDS", default=5)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
}
