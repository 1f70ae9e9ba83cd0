"""Django settings, read from the environment (12-factor); defaults run on SQLite with no Redis."""
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# Variables this process refuses to start without (docker-compose.yml names the secrets here, so a
# missing one stops the app at start while services that need none, like redis, still start).
REQUIRED_ENV = env.list("REQUIRED_ENV", default=[])
if _missing := [name for name in REQUIRED_ENV if not env.str(name, default="").strip()]:
    raise ImproperlyConfigured(f"Set {', '.join(_missing)} (required by REQUIRED_ENV).")

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="dev-insecure-change-me-" + "x" * 32)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    # runserver then leaves static files to WhiteNoise, as gunicorn does: one path in every mode.
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_results",
    "django_celery_beat",
    "background_tasks",
    "wizamart.accounts",
    "wizamart.marketplace",
    "imports",
    "exports",
    "quality",
    "wizamart.demo",
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
]

ROOT_URLCONF = "wizamart.urls"
WSGI_APPLICATION = "wizamart.wsgi.application"
ASGI_APPLICATION = "wizamart.asgi.application"

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

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and IMMEDIATE transactions let the in-process worker threads write beside web requests.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's backend, with a health check that asks the socket first (wizamart/postgresql/base.py).
    DATABASES["default"]["ENGINE"] = "wizamart.postgresql"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# Static files: collected into STATIC_ROOT (the Docker build, `make run`'s set-up) and served from
# there by WhiteNoise, under runserver as under gunicorn. With DEBUG on, WhiteNoise reads them
# from the apps instead, so that an edited script shows without collecting again.
STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
# Files browsers ask for at the site's root (favicon.ico), served by WhiteNoise too.
WHITENOISE_ROOT = BASE_DIR / "wizamart" / "public"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
# Uploaded feeds, error reports, exports and order files are private: served only through their
# job's API. A local folder by default; with AWS_STORAGE_BUCKET_NAME set, an S3 bucket (AWS, MinIO,
# any S3 API) that every web process and worker shares, so a job runs on any machine.
PRIVATE_STORAGE_ROOT = env.path("PRIVATE_STORAGE_ROOT", default=BASE_DIR / "private")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "private": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(PRIVATE_STORAGE_ROOT), "base_url": None},
    },
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# django-storages' own settings, read from the environment under their own names. The access key and
# secret (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) are read by django-storages and boto3 from the
# environment directly; without them boto3's usual chain applies (an instance role, ~/.aws).
AWS_STORAGE_BUCKET_NAME = env.str("AWS_STORAGE_BUCKET_NAME", default="")
AWS_S3_ENDPOINT_URL = env.str("AWS_S3_ENDPOINT_URL", default="") or None  # MinIO: http://minio:9000
AWS_S3_REGION_NAME = env.str("AWS_S3_REGION_NAME", default="") or None
AWS_S3_ADDRESSING_STYLE = env.str("AWS_S3_ADDRESSING_STYLE", default="") or None  # MinIO: path
AWS_S3_SIGNATURE_VERSION = env.str("AWS_S3_SIGNATURE_VERSION", default="s3v4")
AWS_LOCATION = env.str("AWS_LOCATION", default="")  # a key prefix: several sites in one bucket
# Objects are uploaded with this canned ACL; set it empty for a bucket whose ACLs are disabled
# (S3's "bucket owner enforced", where every object is private anyway).
AWS_DEFAULT_ACL = env.str("AWS_DEFAULT_ACL", default="private") or None
# Never a public URL: a URL of the storage is presigned and short-lived (downloads stream anyway).
AWS_QUERYSTRING_AUTH = True
AWS_QUERYSTRING_EXPIRE = env.int("AWS_QUERYSTRING_EXPIRE", default=300)
# A name already taken gets a new one: two exports of one second never overwrite each other.
AWS_S3_FILE_OVERWRITE = False
if AWS_STORAGE_BUCKET_NAME:
    STORAGES["private"] = {"BACKEND": "background_tasks.storage.PrivateS3Storage"}

LOGIN_URL = "admin:login"
# Django's database sessions and ModelBackend, reading a request's session and its user in one
# query built once per process (wizamart/accounts/auth.py; the same rows and checks as Django's).
SESSION_ENGINE = "wizamart.accounts.auth"
AUTHENTICATION_BACKENDS = ["wizamart.accounts.auth.ModelBackend"]

ADMINS = [tuple(a.split(":", 1)) for a in env.list("ADMINS", default=[]) if ":" in a]
SERVER_EMAIL = env.str("SERVER_EMAIL", default="wizamart@localhost")
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- REST API -----------------------------------------------------------------------------
REST_FRAMEWORK = {
    # Token first: an anonymous request then gets 401 with a WWW-Authenticate header.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAdminUser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "EXCEPTION_HANDLER": "background_tasks.api_errors.api_exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Wizamart background tasks API",
    "DESCRIPTION": "Trigger long jobs and follow them: imports, exports, quality runs, maintenance.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAdminUser"],
    "PREPROCESSING_HOOKS": ["background_tasks.routers.schema_paths_without_trailing_slash"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "background_tasks.schema.closed_request_bodies",
    ],
}

# --- Background tasks -----------------------------------------------------------------------
USE_CELERY = env.bool("USE_CELERY", default=False)
REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")
FLOWER_URL = env.str("FLOWER_URL", default="http://localhost:5555")
FLOWER_PASSWORD = env.str("FLOWER_PASSWORD", default="")
LETZSHOP_API_URL = env.str("LETZSHOP_API_URL", default="https://letzshop.lu/graphql")

BACKGROUND_TASKS = {
    # In-process mode (USE_CELERY=false): threads running jobs inside the web process.
    "INPROCESS_WORKERS": env.int("BACKGROUND_TASKS_INPROCESS_WORKERS", default=2),
    # Run in-process jobs in the committing thread instead of the pool (tests, commands).
    "EAGER": env.bool("BACKGROUND_TASKS_EAGER", default=False),
    # A running job writes its heartbeat this often; silent for STALE_AFTER means its worker is gone.
    "HEARTBEAT_INTERVAL": env.float("BACKGROUND_TASKS_HEARTBEAT_INTERVAL", default=10.0),
    "STALE_AFTER": env.float("BACKGROUND_TASKS_STALE_AFTER", default=60.0),
    # Attempts (claims) a job may use before a lost worker makes it fail for good.
    "MAX_ATTEMPTS": env.int("BACKGROUND_TASKS_MAX_ATTEMPTS", default=3),
    # Minimum seconds between two progress writes of one job.
    "PROGRESS_INTERVAL": env.float("BACKGROUND_TASKS_PROGRESS_INTERVAL", default=1.0),
    # Pending jobs never published get published by the sweep after this grace period.
    "PUBLISH_GRACE": env.float("BACKGROUND_TASKS_PUBLISH_GRACE", default=10.0),
    # Pending jobs published but never started are published again after this long.
    "REPUBLISH_AFTER": env.float("BACKGROUND_TASKS_REPUBLISH_AFTER", default=3600.0),
    # Sooner when the broker says it lost the message: published this long ago, not in its
    # queue and held by no worker (0 turns the check off).
    "LOST_MESSAGE_AFTER": env.float("BACKGROUND_TASKS_LOST_MESSAGE_AFTER", default=60.0),
    "SWEEP_INTERVAL": env.float("BACKGROUND_TASKS_SWEEP_INTERVAL", default=30.0),
    # Job tasks are named "wizamart.<task_type>": running workers and beat rows know them so.
    "TASK_NAME_PREFIX": "wizamart.",
    # USE_CELERY=false: the janitor also runs the beat schedules of the database (false: it does not).
    "EMBEDDED_BEAT": env.bool("BACKGROUND_TASKS_EMBEDDED_BEAT", default=True),
    # Finished jobs lose their files after files_days and their rows after rows_days (None: never),
    # per task type, "default" for the rest; e.g. BACKGROUND_TASKS_RETENTION='{"default": {"rows_days": 90,
    # "files_days": 30}, "product_import": {"files_days": 7}}'. The nightly prune job applies it.
    "RETENTION": env.json("BACKGROUND_TASKS_RETENTION", default={"default": {"rows_days": 90, "files_days": 30}}),
    "RETENTION_BATCH_SIZE": env.int("BACKGROUND_TASKS_RETENTION_BATCH_SIZE", default=1000),
    # Celery workers lower their CPU priority by this much (os.nice, 0-19) when they start, so the
    # web process answering pages and polls on the same machine is served first.
    "WORKER_NICENESS": env.int("BACKGROUND_TASKS_WORKER_NICENESS", default=19),
    # An upload left on the import's mapping screen (no job took it) is deleted by the prune after this.
    "PENDING_UPLOAD_HOURS": env.float("BACKGROUND_TASKS_PENDING_UPLOAD_HOURS", default=24.0),
}

# --- Celery ---------------------------------------------------------------------------------
# The time limits: a job running longer is stopped (soft limit first, so it ends failed with a message).
LONGEST_JOB_SECONDS = env.int("LONGEST_JOB_SECONDS", default=4 * 3600)
# Redis delivers an unacked message again after this many seconds, counted from its delivery, even
# while the first copy still runs (the copy then loses the claim and exits). Set on its own: keep
# it above LONGEST_JOB_SECONDS (a system check warns otherwise); shorter means a message lost with
# its worker comes back sooner. The default is 5 h, one hour above the default time limit.
BROKER_VISIBILITY_TIMEOUT = env.int("BROKER_VISIBILITY_TIMEOUT", default=5 * 3600)
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND = "django-db"
CELERY_RESULT_EXTENDED = True
CELERY_CACHE_BACKEND = "default"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# A Redis blip must not kill hours-long imports: running jobs go on, and if the broker
# redelivers their message meanwhile, the copy loses the claim on the job row.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
# Job tasks are sent to their type's queue by dispatch; scheduled starts by this router.
CELERY_TASK_ROUTES = ["background_tasks.celery_tasks.route_scheduled_start"]
CELERY_TASK_TRACK_STARTED = True
CELERY_TASK_TIME_LIMIT = LONGEST_JOB_SECONDS
CELERY_TASK_SOFT_TIME_LIMIT = LONGEST_JOB_SECONDS - 60
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": BROKER_VISIBILITY_TIMEOUT,
    # A trigger must never hang on a dead broker: one connection attempt (no retry loop),
    # bounded connect and socket waits; the job stays pending and the sweep publishes it later.
    "max_retries": 0,
    "socket_connect_timeout": 2,
    "socket_timeout": 2,
}
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"visibility_timeout": BROKER_VISIBILITY_TIMEOUT}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Publishing must fail fast when Redis is down: the sweep publishes the job later.
CELERY_BROKER_CONNECTION_TIMEOUT = 2.0
CELERY_TASK_PUBLISH_RETRY = False
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Keep one database connection per worker process instead of one per task.
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=1000)
CELERY_WORKER_SEND_TASK_EVENTS = True
CELERY_TASK_SEND_SENT_EVENT = True
CELERY_RESULT_EXPIRES = timedelta(days=14)

# --- Uploads --------------------------------------------------------------------------------
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# --- Product import (defaults in imports/conf.py) ---------------------------------------------
IMPORTS_MAX_UPLOAD_SIZE = env.int("IMPORTS_MAX_UPLOAD_SIZE", default=512 * 1024 * 1024)
IMPORTS_MAX_DOWNLOAD_SIZE = env.int("IMPORTS_MAX_DOWNLOAD_SIZE", default=512 * 1024 * 1024)
IMPORTS_DOWNLOAD_TIMEOUT = env.float("IMPORTS_DOWNLOAD_TIMEOUT", default=300.0)
IMPORTS_BATCH_SIZE = env.int("IMPORTS_BATCH_SIZE", default=5_000)
IMPORTS_PARSE_IN_DATABASE = env.bool("IMPORTS_PARSE_IN_DATABASE", default=True)
IMPORTS_SECOND_CONNECTION = env.bool("IMPORTS_SECOND_CONNECTION", default=True)

# The sweep is infrastructure, so it is declared here; DatabaseScheduler copies it into the
# database. Business schedules (subscription maintenance) are created by data migrations.
CELERY_BEAT_SCHEDULE = {
    "background-tasks-sweep": {
        "task": "background_tasks.sweep",
        "schedule": BACKGROUND_TASKS["SWEEP_INTERVAL"],
        "options": {"queue": "default", "expires": BACKGROUND_TASKS["SWEEP_INTERVAL"]},
    },
}

# --- Code-quality scans (defaults in quality/scans/conf.py) -----------------------------------
# Each file's findings (and ruff's cache) are kept across scans in QUALITY_SCAN_CACHE_DIR (empty: a
# folder of this user's in the system's temporary directory).
QUALITY_SCAN_CACHE = env.bool("QUALITY_SCAN_CACHE", default=True)
QUALITY_SCAN_CACHE_DIR = env.str("QUALITY_SCAN_CACHE_DIR", default="")

# --- Exports --------------------------------------------------------------------------------
# Finished export files are kept this long, then a periodic task deletes them (the job stays).
EXPORTS_RETENTION_HOURS = env.int("EXPORTS_RETENTION_HOURS", default=72)
# The <link> of the XML feed's channel (RSS 2.0 requires one).
EXPORTS_FEED_LINK = env.str("EXPORTS_FEED_LINK", default="https://letzshop.lu/")
