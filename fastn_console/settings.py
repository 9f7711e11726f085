"""Settings for Fastn Console, read from the environment (and a git-ignored ``.env``).

Every variable is documented in ``.env.example``. Production defaults are the secure ones; a
missing or malformed value stops the process at start-up with a message naming the variable.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

from tenancy.databases import REGIONS, build_databases, parse_region_urls

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = BASE_DIR / ".data"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

TESTING = "pytest" in sys.modules or env.bool("FASTN_TESTING", default=False)
DEBUG = env.bool("DJANGO_DEBUG", default=False)

SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
# Former keys, newest first: sessions, signed links and API keys made with them stay valid.
SECRET_KEY_FALLBACKS = env.list("DJANGO_SECRET_KEY_FALLBACKS", default=[])
if not SECRET_KEY:
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY is not set. `make run` writes one into .env; see .env.example."
    )
if not DEBUG and len(SECRET_KEY) < 50:
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be at least 50 characters in production.")

ALLOWED_HOSTS = env.list(
    "DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"] if DEBUG else []
)
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("DJANGO_ALLOWED_HOSTS must list the host names in production.")

INSTALLED_APPS = [
    # tenancy first: its `migrate` command wraps Django's (the RLS check is silent inside it).
    "tenancy",
    "tenancy.apps.PlatformAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "guardian",
    "axes",
    "ninja",
    "accounts",
    "customers",
    "roles",
    "audit",
    "build",
    "api",
    "signup",
    "dataplane",
    "billing",
    "widget",
    "residency",
    "webhooks",  # webhooks and limit notifications: settings in the block at the end
    "sso",  # single sign-on with OpenID Connect (SPEC §14)
]

MIDDLEWARE = [
    "fastn_console.logcontext.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
    # Identity and audit (SPEC §14): the request's address and user agent on audit rows, and
    # refused actions recorded; outside the tenant context (audit.middleware says why).
    "audit.middleware.AuditMiddleware",
    "fastn_console.middleware.TenantContextMiddleware",
    # Identity (SPEC §14): two-factor where the organization or the staff admin requires it;
    # after the tenant middleware, whose tenant it reads.
    "accounts.middleware.TwoFactorMiddleware",
]

ROOT_URLCONF = "fastn_console.urls"
WSGI_APPLICATION = "fastn_console.wsgi.application"

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
                "fastn_console.context_processors.console",
            ],
        },
    },
]

# --- Databases (SPEC §5.1, §6) ---------------------------------------------------------------
DATABASE_URL = env.str("DATABASE_URL", default="")
DATABASE_OWNER_URL = env.str("DATABASE_OWNER_URL", default="")
DATABASE_PLATFORM_URL = env.str("DATABASE_PLATFORM_URL", default="")
DATABASE_BOOTSTRAP_URL = env.str("DATABASE_BOOTSTRAP_URL", default="")
try:
    REGION_DATABASE_URLS = parse_region_urls(env.str("REGION_DATABASE_URLS", default=""))
except ValueError as exc:
    raise ImproperlyConfigured(str(exc)) from exc

DATABASE_POOL = env.bool("DATABASE_POOL", default=False)
DATABASE_CONN_MAX_AGE = env.int("DATABASE_CONN_MAX_AGE", default=0)
DATABASE_PGBOUNCER = env.bool("DATABASE_PGBOUNCER", default=False)

if DATABASE_URL:
    missing = [
        name
        for name, value in (
            ("DATABASE_OWNER_URL", DATABASE_OWNER_URL),
            ("DATABASE_PLATFORM_URL", DATABASE_PLATFORM_URL),
        )
        if not value
    ]
    if missing:
        raise ImproperlyConfigured(f"{', '.join(missing)} must be set with DATABASE_URL.")
    DATABASES, TENANCY_REGION_ALIASES = build_databases(
        parse_url=environ.Env.db_url_config,
        main_url=DATABASE_URL,
        owner_url=DATABASE_OWNER_URL,
        platform_url=DATABASE_PLATFORM_URL,
        region_urls=REGION_DATABASE_URLS,
        conn_max_age=DATABASE_CONN_MAX_AGE,
        pool=DATABASE_POOL,
        disable_server_side_cursors=DATABASE_PGBOUNCER,
        # Lets several test runs share one PostgreSQL server without sharing databases.
        test_suffix=env.str("FASTN_TEST_DB_SUFFIX", default=""),
    )
else:
    # Only `manage.py db_bootstrap` can run without databases; it writes the URLs into .env.
    DATABASES = {"default": {"ENGINE": "django.db.backends.dummy"}}
    TENANCY_REGION_ALIASES = {}

DATABASE_ROUTERS = ["tenancy.router.TenantRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
TENANCY_REGIONS = REGIONS
# The model whose rows are the customers (tenants): tenancy reads a customer's region from it.
TENANCY_CUSTOMER_MODEL = "customers.Customer"

# --- Auth -----------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
if TESTING:
    # Hashing cost is not what the suite tests; the production hasher stays PBKDF2.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"
ANONYMOUS_USER_NAME = None  # guardian: no anonymous user row
GUARDIAN_MONKEY_PATCH_USER = False
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = 0.25  # hours
# Either budget locks: five failures for one account (whatever the letter case, from any
# address), or five from one client address (whatever the accounts).
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_USERNAME_FORM_FIELD = "username"
AXES_USERNAME_CALLABLE = "fastn_console.clients.login_name"
AXES_CLIENT_IP_CALLABLE = "fastn_console.clients.client_ip"
AXES_RESET_ON_SUCCESS = True
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)
DEMO_PASSWORD = env.str("DEMO_PASSWORD", default="demo-pass-123")

# --- Identity and audit (SPEC §14) ----------------------------------------------------------
# Two-factor authentication (accounts.two_factor): staff need it for /admin/ under production
# settings; development and the test suite (whose staff sign in without it) leave it off unless
# asked.
STAFF_REQUIRE_TWO_FACTOR = env.bool("STAFF_REQUIRE_TWO_FACTOR", default=not DEBUG and not TESTING)

# --- Redis, Celery, cache -------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# Every wait has a bound (SPEC §15). A publish to a frozen or unreachable broker fails within
# BROKER_TIMEOUT_SECONDS instead of hanging the request: no reconnect loop (max_retries 0), socket
# timeouts on connect and on every reply, and no publish retry. Callers log the failure and leave
# the committed row to its sweep (tenancy.tasks.publish). Workers poll with BRPOP for 1 s, less
# than the socket timeout.
BROKER_TIMEOUT_SECONDS = env.float("BROKER_TIMEOUT_SECONDS", default=2.0)
if not 1.0 < BROKER_TIMEOUT_SECONDS <= 30.0:
    raise ImproperlyConfigured("BROKER_TIMEOUT_SECONDS must be more than 1 and at most 30.")
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
    "socket_timeout": BROKER_TIMEOUT_SECONDS,
    "socket_connect_timeout": BROKER_TIMEOUT_SECONDS,
    "max_retries": 0,
}
CELERY_BROKER_CONNECTION_TIMEOUT = BROKER_TIMEOUT_SECONDS
CELERY_TASK_PUBLISH_RETRY = False
# Default limits for a task that names none; every task of the console names its own.
CELERY_TASK_SOFT_TIME_LIMIT = 300
CELERY_TASK_TIME_LIMIT = 330
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Celery's Django fixup closes every database connection around every task unless this is set;
# fastn_console.celery runs Django's own close_old_connections there instead, so a worker
# follows DATABASE_CONN_MAX_AGE / DATABASE_POOL like the web processes (0: closed after each).
CELERY_DB_REUSE_MAX = 1_000_000
# A test run gets a queue of its own, so a development worker never takes its tasks.
CELERY_TASK_DEFAULT_QUEUE = env.str(
    "CELERY_QUEUE", default=f"fastn-test-{os.getpid()}" if TESTING else "celery"
)
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        # A test run keeps its own keys, like its own queue.
        "KEY_PREFIX": env.str(
            "CACHE_KEY_PREFIX", default=f"fastn-test-{os.getpid()}" if TESTING else "fastn"
        ),
        # Throttles and caches fail fast when Redis is away (fastn_console.throttle).
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }
}

# --- Application settings -------------------------------------------------------------------
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])
EMBED_TOKEN_KEY = env.str("EMBED_TOKEN_KEY", default="")
EMBED_TOKEN_KEY_FALLBACKS = env.list("EMBED_TOKEN_KEY_FALLBACKS", default=[])
OPENAI_API_KEY = env.str("OPENAI_API_KEY", default="")
OPENAI_BASE_URL = env.str("OPENAI_BASE_URL", default="")
OPENAI_MODEL = env.str("OPENAI_MODEL", default="gpt-4o-mini")
SIGNUP_APPROVE_MIN = env.float("SIGNUP_APPROVE_MIN", default=0.85)
SIGNUP_PROVISIONAL_MIN = env.float("SIGNUP_PROVISIONAL_MIN", default=0.60)
if not 0 <= SIGNUP_PROVISIONAL_MIN <= SIGNUP_APPROVE_MIN <= 1:
    raise ImproperlyConfigured(
        "Need 0 <= SIGNUP_PROVISIONAL_MIN <= SIGNUP_APPROVE_MIN <= 1 "
        f"(got {SIGNUP_PROVISIONAL_MIN} and {SIGNUP_APPROVE_MIN})."
    )

# --- Build, workflows, widget: outbound calls and embed tokens (issue 8) --------------------
# Plain http:// to 127.0.0.1 / localhost is for tests' local servers only; every other private,
# loopback or link-local address is always refused (no server-side request forgery).
OUTBOUND_ALLOW_HTTP_LOCALHOST = env.bool("OUTBOUND_ALLOW_HTTP_LOCALHOST", default=False)
OUTBOUND_TIMEOUT_SECONDS = env.float("OUTBOUND_TIMEOUT_SECONDS", default=10.0)
OUTBOUND_MAX_RESPONSE_BYTES = env.int("OUTBOUND_MAX_RESPONSE_BYTES", default=1_048_576)
EMBED_TOKEN_MAX_AGE_SECONDS = env.int("EMBED_TOKEN_MAX_AGE_SECONDS", default=8 * 3600)

# --- Email ----------------------------------------------------------------------------------
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Fastn Console <no-reply@fastn.test>")
if DEBUG or TESTING:
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "OPTIONS": {"file_path": env.str("EMAIL_FILE_PATH", default=str(DATA_DIR / "mail"))},
        }
    }
else:
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": env.str("EMAIL_HOST", default="localhost"),
                "port": env.int("EMAIL_PORT", default=587),
                "username": env.str("EMAIL_HOST_USER", default=""),
                "password": env.str("EMAIL_HOST_PASSWORD", default=""),
                "use_tls": env.bool("EMAIL_USE_TLS", default=True),
            },
        }
    }

# --- Static files, i18n ---------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = None if DEBUG or TESTING else BASE_DIR / "staticfiles"
WHITENOISE_USE_FINDERS = DEBUG or TESTING
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG or TESTING
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Security (secure by default) -----------------------------------------------------------
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True
# Messages reach the widget inside a partner's frame over HTTPS (widget/messages.py).
MESSAGE_STORAGE = "widget.messages.EmbeddableMessageStorage"
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = 0 if DEBUG else env.int("DJANGO_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
# How many reverse proxies in front of the console append to X-Forwarded-For. Only with one
# configured are X-Forwarded-For (fastn_console.clients) and X-Forwarded-Proto believed.
TRUSTED_PROXY_COUNT = env.int("DJANGO_TRUSTED_PROXY_COUNT", default=0)
if TRUSTED_PROXY_COUNT < 0:
    raise ImproperlyConfigured("DJANGO_TRUSTED_PROXY_COUNT must be 0 or more.")
if TRUSTED_PROXY_COUNT:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"

# LOG_FORMAT=json: one JSON object per line (python-json-logger); text otherwise. Either way every
# line carries request_id, org_id and customer_id (fastn_console.logcontext).
LOG_FORMAT = env.str("LOG_FORMAT", default="text")
if LOG_FORMAT not in ("text", "json"):
    raise ImproperlyConfigured("LOG_FORMAT is text or json.")
# One line per console request (method, path, status, milliseconds), written inside its scope.
LOG_REQUESTS = env.bool("LOG_REQUESTS", default=True)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "fastn_console.logcontext.ContextFilter"}},
    "formatters": {
        "text": {
            "format": "%(asctime)s %(levelname)s %(name)s request=%(request_id)s "
            "org=%(org_id)s customer=%(customer_id)s %(message)s",
        },
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(request_id)s %(org_id)s "
            "%(customer_id)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["context"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"axes": {"level": "WARNING"}},
}
# Workers log through LOGGING above too, so their lines keep the same fields and format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False


# Email is unique case-insensitively through a functional unique index (accounts_user_email_ci).
SILENCED_SYSTEM_CHECKS = ["auth.W004"]

# --- Signup pipeline (SPEC §8) ---------------------------------------------------------------
# The classifier client never retries on its own; Celery retries a failed call after each delay
# below, so the model gets len(delays) + 1 tries, all within SIGNUP_LLM_RETRY_WINDOW_SECONDS.
OPENAI_TIMEOUT_SECONDS = env.float("OPENAI_TIMEOUT_SECONDS", default=20.0)
SIGNUP_LLM_RETRY_DELAYS = [
    float(d) for d in env.list("SIGNUP_LLM_RETRY_DELAYS", default=["30", "120"])
]
SIGNUP_LLM_MAX_TRIES = len(SIGNUP_LLM_RETRY_DELAYS) + 1
SIGNUP_LLM_RETRY_WINDOW_SECONDS = 600
if OPENAI_TIMEOUT_SECONDS <= 0 or any(d < 0 for d in SIGNUP_LLM_RETRY_DELAYS):
    raise ImproperlyConfigured(
        "OPENAI_TIMEOUT_SECONDS must be > 0 and SIGNUP_LLM_RETRY_DELAYS >= 0."
    )
# Applications whose pipeline has not moved for this long are enqueued again by the beat sweep.
SIGNUP_STUCK_AFTER_SECONDS = env.int("SIGNUP_STUCK_AFTER_SECONDS", default=900)
SIGNUP_CONFIRM_MAX_AGE_SECONDS = env.int("SIGNUP_CONFIRM_MAX_AGE_SECONDS", default=3 * 24 * 3600)
# The queue signup tasks go to (None: the default queue); tests give them a worker of their own.
SIGNUP_TASK_QUEUE = env.str("SIGNUP_TASK_QUEUE", default="") or None
# The call to the model waits on the network, so classification has a queue of its own, served
# by a worker with a thread pool (Procfile `worker-llm`); the other steps stay on the prefork
# worker. Empty: the signup queue above (the test suite's single worker serves both).
SIGNUP_CLASSIFY_QUEUE = (
    env.str("SIGNUP_CLASSIFY_QUEUE", default="" if TESTING else "signup-classify") or None
)
if SIGNUP_CLASSIFY_QUEUE:
    CELERY_TASK_ROUTES = {"signup.classify": {"queue": SIGNUP_CLASSIFY_QUEUE}}
# Base of the links in emails sent without a request at hand (the sweep's resends).
SIGNUP_PUBLIC_URL = env.str("SIGNUP_PUBLIC_URL", default="http://127.0.0.1:8000")
CELERY_BEAT_SCHEDULE = {
    "signup-sweep-stuck": {"task": "signup.sweep_stuck", "schedule": 60.0},
    # API usage counters: Redis -> UsageRecord rows, in batches (api.services.usage_flush).
    "api-flush-usage": {"task": "api.flush_usage", "schedule": 60.0},
}
# Events older than the plan's retention (dataplane.event_tasks; not a ``tasks`` module).
CELERY_IMPORTS = ["dataplane.event_tasks", "dataplane.schedule_tasks"]
CELERY_BEAT_SCHEDULE["dataplane-expire-events"] = {
    "task": "dataplane.expire_events",
    "schedule": 3600.0,
}
# Schedule triggers: at the start of every minute, the runs that minute's schedules name.
CELERY_BEAT_SCHEDULE["dataplane-run-schedules"] = {
    "task": "dataplane.run_schedules",
    "schedule": crontab(),
}

# --- Webhooks and limit notifications (SPEC §12; docs/WEBHOOKS.md) --------------------------
# Delays before each retry of a failed delivery; a last try comes at WEBHOOK_RETRY_WINDOW_SECONDS
# after the first, then the delivery has failed. Delays up to WEBHOOK_COUNTDOWN_MAX_SECONDS are
# queued with a countdown; longer ones are queued by the sweep when due (an ETA held by a
# worker past the broker's visibility timeout would be delivered twice).
WEBHOOK_RETRY_DELAYS = [
    float(d)
    for d in env.list(
        "WEBHOOK_RETRY_DELAYS", default=["5", "300", "1800", "7200", "18000", "36000"]
    )
]
WEBHOOK_RETRY_WINDOW_SECONDS = env.float("WEBHOOK_RETRY_WINDOW_SECONDS", default=24 * 3600.0)
# An endpoint whose every attempt failed for this long is disabled and its owner emailed.
WEBHOOK_DISABLE_AFTER_SECONDS = env.float("WEBHOOK_DISABLE_AFTER_SECONDS", default=24 * 3600.0)
WEBHOOK_COUNTDOWN_MAX_SECONDS = 300.0
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=15.0)
# Receivers answer briefly; a longer body is not read (the attempt still counts as answered).
WEBHOOK_MAX_RESPONSE_BYTES = 65_536
WEBHOOK_RESPONSE_EXCERPT_CHARS = 1_000
# Events not fanned out and deliveries overdue by this long are queued again by the sweep.
WEBHOOK_SWEEP_GRACE_SECONDS = env.float("WEBHOOK_SWEEP_GRACE_SECONDS", default=60.0)
if (
    not WEBHOOK_RETRY_DELAYS
    or any(d < 0 for d in WEBHOOK_RETRY_DELAYS)
    or not 0 < WEBHOOK_TIMEOUT_SECONDS <= 60
    or WEBHOOK_RETRY_WINDOW_SECONDS <= 0
):
    raise ImproperlyConfigured(
        "WEBHOOK_RETRY_DELAYS must be delays >= 0, WEBHOOK_TIMEOUT_SECONDS in (0, 60] and "
        "WEBHOOK_RETRY_WINDOW_SECONDS > 0."
    )
CELERY_BEAT_SCHEDULE["webhooks-sweep"] = {"task": "webhooks.sweep", "schedule": 60.0}
# OAuth 2.0 tokens expiring within 5 minutes are refreshed (dataplane/oauth.py).
CELERY_BEAT_SCHEDULE["dataplane-oauth-refresh"] = {
    "task": "dataplane.oauth_refresh_sweep",
    "schedule": 60.0,
}
