"""Settings, read from the environment.

``DATABASE_URL`` selects the database (default: SQLite in the data folder, WAL mode).
``RAPPORT_DATA_DIR`` is the data folder (default ``./var``). ``CELERY_BROKER_URL`` switches
background jobs from in-process to Celery workers.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import dj_database_url
import django_stubs_ext
from django.utils.translation import gettext_lazy as _

from rapport.core.secrets import load_or_create

django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(os.environ.get("RAPPORT_DATA_DIR", Path.cwd() / "var")).resolve()
_stored = load_or_create(DATA_DIR)


def _env_bool(name: str, default: bool = False) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


def _env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    return [item.strip() for item in raw.split(",") if item.strip()] if raw else default


SECRET_KEY = os.environ.get("RAPPORT_SECRET_KEY") or str(_stored["secret_key"])
DEBUG = _env_bool("RAPPORT_DEBUG")
ALLOWED_HOSTS = _env_list("RAPPORT_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = _env_list("RAPPORT_CSRF_TRUSTED_ORIGINS", [])

# Personal data: the first encryption key encrypts, all of them decrypt (rotation).
RAPPORT_ENCRYPTION_KEYS = _env_list("RAPPORT_ENCRYPTION_KEYS", list(_stored["encryption_keys"]))  # type: ignore[call-overload]
RAPPORT_BLIND_INDEX_KEY = os.environ.get("RAPPORT_BLIND_INDEX_KEY") or str(_stored["blind_index_key"])
RAPPORT_PHONE_REGION = os.environ.get("RAPPORT_PHONE_REGION", "CN")
RAPPORT_CURRENCY = os.environ.get("RAPPORT_CURRENCY", "CNY")
# What one message costs per channel, in RAPPORT_CURRENCY ("sms:0.045,wechat:0.01"): the launch
# confirmation shows a plan's cost on the channels that have one.
RAPPORT_CHANNEL_COSTS = {
    name.strip(): price.strip()
    for name, _sep, price in (item.partition(":") for item in os.environ.get("RAPPORT_CHANNEL_COSTS", "").split(","))
    if name.strip() and price.strip()
}
RAPPORT_API_RATE_LIMIT = int(os.environ.get("RAPPORT_API_RATE_LIMIT", "600"))  # requests / minute / token

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "ninja",  # serves its bundled Swagger UI at /api/docs instead of fetching it from a CDN
    "axes",  # sign-in throttling (rapport.console.login_throttle)
    "rapport.core",  # the record of long background jobs (rapport.core.jobs)
    "rapport.accounts",
    "rapport.audit",
    "rapport.customers",
    "rapport.commerce",
    "rapport.events",
    "rapport.segments",
    "rapport.tags",
    "rapport.imports",
    "rapport.analytics",
    "rapport.promotions",
    "rapport.loyalty",
    "rapport.campaigns",
    "rapport.service",
    "rapport.portal",
    "rapport.privacy",
    "rapport.counter",
    "rapport.clienteling",
    "rapport.opportunities",
    "rapport.inventory",
    "rapport.recommendations",
    "rapport.console",
    "rapport.runtime",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "rapport.console.middleware.StoreTimeZoneMiddleware",
    "rapport.core.inputs.RejectNulMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "rapport.urls"
WSGI_APPLICATION = "rapport.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "rapport.console.context_processors.console",
            ],
        },
    },
]

_default_sqlite = f"sqlite:///{DATA_DIR / 'rapport.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(os.environ.get("DATABASE_URL", _default_sqlite), conn_max_age=60)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets the console read while an import writes; IMMEDIATE avoids lock upgrades
        # that SQLite would otherwise answer with "database is locked".
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
    DATABASES["default"]["TEST"] = {"NAME": os.environ.get("RAPPORT_TEST_SQLITE_NAME")}
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Many short queries and segment counts: JIT compilation costs up to a second per count and
    # saves nothing here; a segment's per-customer aggregates spill to disk at PostgreSQL's default
    # 4 MB of work memory (see docs/benchmarks.md, segment counts).
    _work_mem = os.environ.get("RAPPORT_PG_WORK_MEM", "32MB")
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = f"-c jit=off -c work_mem={_work_mem}"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# The counted-orders index includes the order total on PostgreSQL; SQLite builds it without.
SILENCED_SYSTEM_CHECKS = ["models.W040"]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
# Sign-in throttling (django-axes): after this many wrong passwords for one user name, or from
# one address, sign-in is refused until this many minutes after the last failure.
AUTHENTICATION_BACKENDS = [
    "rapport.console.login_throttle.ThrottledLoginBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("RAPPORT_LOGIN_FAILURE_LIMIT", "10"))
AXES_COOLOFF_TIME = dt.timedelta(minutes=int(os.environ.get("RAPPORT_LOGIN_LOCKOUT_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "rapport.console.login_throttle.lockout_response"
LOGIN_URL = "console:login"
LOGIN_REDIRECT_URL = "console:home"
LOGOUT_REDIRECT_URL = "console:login"

LANGUAGE_CODE = os.environ.get("RAPPORT_LANGUAGE", "en")
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "UTC"  # storage; each store has its own display time zone
RAPPORT_DEFAULT_TIME_ZONE = os.environ.get("RAPPORT_DEFAULT_TIME_ZONE", "Asia/Shanghai")

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "rapport.console.finders.PackageAssetFinder",
]
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = DATA_DIR / "media"
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 20 * 1024 * 1024
# Behaviour events: how long they are kept, and how long a message id is remembered for retries.
RAPPORT_EVENT_RETENTION_DAYS = int(os.environ.get("RAPPORT_EVENT_RETENTION_DAYS", "730"))
RAPPORT_EVENT_DEDUP_DAYS = int(os.environ.get("RAPPORT_EVENT_DEDUP_DAYS", "30"))
RAPPORT_ABANDONED_CART_MINUTES = int(os.environ.get("RAPPORT_ABANDONED_CART_MINUTES", "60"))
RAPPORT_IMPORT_MAX_BYTES = int(os.environ.get("RAPPORT_IMPORT_MAX_BYTES", str(200 * 1024 * 1024)))
# imports: days a finished job's (encrypted) rejected-rows report is kept before it is deleted
RAPPORT_IMPORT_REPORT_DAYS = int(os.environ.get("RAPPORT_IMPORT_REPORT_DAYS", "30"))
# Staff performance (导购业绩): an order placed within this many days after a staff member's contact
# with the customer goes to that staff member rather than the customer's owner (when the rule is on).
RAPPORT_ATTRIBUTION_CONTACT_RULE = _env_bool("RAPPORT_ATTRIBUTION_CONTACT_RULE", default=True)
RAPPORT_ATTRIBUTION_CONTACT_DAYS = int(os.environ.get("RAPPORT_ATTRIBUTION_CONTACT_DAYS", "7"))
# ... and an order goes to the owner the customer had when it was placed (off: the current owner)
RAPPORT_ATTRIBUTION_OWNER_AT_ORDER_TIME = _env_bool("RAPPORT_ATTRIBUTION_OWNER_AT_ORDER_TIME", default=True)
# Shared links (clienteling): the hosts staff may share links to (empty: any http or https address)
RAPPORT_SHARE_HOSTS = [host.lower() for host in _env_list("RAPPORT_SHARE_HOSTS", [])]
# Analytics: lifecycle stages by days since the first/last order (new ≤ new, active/repeat ≤ active,
# dormant ≤ churned, churned beyond).
RAPPORT_LIFECYCLE_DAYS = {
    "new": int(os.environ.get("RAPPORT_LIFECYCLE_NEW_DAYS", "30")),
    "active": int(os.environ.get("RAPPORT_LIFECYCLE_ACTIVE_DAYS", "90")),
    "churned": int(os.environ.get("RAPPORT_LIFECYCLE_CHURNED_DAYS", "365")),
}
# loyalty: member portal sign-in codes (minutes valid, wrong guesses allowed, requests per 15 minutes)
RAPPORT_PORTAL_CODE_MINUTES = int(os.environ.get("RAPPORT_PORTAL_CODE_MINUTES", "10"))
RAPPORT_PORTAL_CODE_ATTEMPTS = int(os.environ.get("RAPPORT_PORTAL_CODE_ATTEMPTS", "5"))
RAPPORT_PORTAL_CODES_PER_ADDRESS = int(os.environ.get("RAPPORT_PORTAL_CODES_PER_ADDRESS", "5"))
RAPPORT_PORTAL_CODES_PER_IP = int(os.environ.get("RAPPORT_PORTAL_CODES_PER_IP", "30"))
RAPPORT_PORTAL_SESSION_DAYS = int(os.environ.get("RAPPORT_PORTAL_SESSION_DAYS", "30"))
# The member code in the portal: how long one shown code is accepted at the counter (it rotates sooner)
RAPPORT_MEMBER_CODE_SECONDS = int(os.environ.get("RAPPORT_MEMBER_CODE_SECONDS", "120"))
# Identity channels whose ids are member card numbers from an older system, accepted at the counter
RAPPORT_MEMBER_CARD_CHANNELS = [
    c.strip() for c in os.environ.get("RAPPORT_MEMBER_CARD_CHANNELS", "card,member_card").split(",") if c.strip()
]

# Data-subject requests: days to answer one, and days an access archive (and its link) is kept.
RAPPORT_PRIVACY_REQUEST_DAYS = int(os.environ.get("RAPPORT_PRIVACY_REQUEST_DAYS", "15"))
RAPPORT_PRIVACY_ARCHIVE_DAYS = int(os.environ.get("RAPPORT_PRIVACY_ARCHIVE_DAYS", "7"))
# where access copies are kept, encrypted chunk by chunk (rapport.privacy.archives), until they expire
RAPPORT_PRIVACY_ARCHIVE_DIR = Path(os.environ.get("RAPPORT_PRIVACY_ARCHIVE_DIR", DATA_DIR / "archives"))
# Retention: after these many days personal texts are erased (rows and figures stay).
RAPPORT_RETENTION_TICKET_DAYS = int(os.environ.get("RAPPORT_RETENTION_TICKET_DAYS", "1095"))  # from closing
RAPPORT_RETENTION_SITE_MESSAGE_DAYS = int(os.environ.get("RAPPORT_RETENTION_SITE_MESSAGE_DAYS", "365"))
RAPPORT_RETENTION_INBOUND_MAIL_DAYS = int(os.environ.get("RAPPORT_RETENTION_INBOUND_MAIL_DAYS", "90"))
RAPPORT_RETENTION_IMPORT_FILE_DAYS = int(os.environ.get("RAPPORT_RETENTION_IMPORT_FILE_DAYS", "7"))
RAPPORT_RETENTION_OUTBOX_DAYS = int(os.environ.get("RAPPORT_RETENTION_OUTBOX_DAYS", "30"))

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# Served over HTTPS (behind a proxy that terminates TLS and sets X-Forwarded-Proto): cookies
# travel only over HTTPS, and browsers may be told to use nothing else (HSTS, in seconds).
RAPPORT_HTTPS = _env_bool("RAPPORT_HTTPS")
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = RAPPORT_HTTPS
if RAPPORT_HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = int(os.environ.get("RAPPORT_HSTS_SECONDS", "0")) if RAPPORT_HTTPS else 0
# No inline script anywhere: every page's behaviour lives in static files (console/console.js),
# so injected markup cannot run. Inline styles stay allowed (Plotly and Swagger UI set them).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# Background jobs: Celery with Redis in production; in-process in the embedded default.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND", "") or None
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
# A job whose worker is killed goes back to the queue instead of being acknowledged as done; with
# Redis it is redelivered once the visibility timeout has passed, so that must exceed the longest job
# (1M order rows import in about 2.3 hours at the 121 rows/s of docs/benchmarks.md), or a job still
# running would be started a second time.
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": int(os.environ.get("RAPPORT_JOB_VISIBILITY_SECONDS", "21600"))}
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"
# a worker logs through LOGGING below, whose handlers mask personal data, not handlers of its own
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Scheduled jobs: Celery beat in production, the in-process scheduler of ``rapport run`` otherwise.
CELERY_BEAT_SCHEDULE = {
    # long jobs whose worker died are queued again (resumable) or marked stalled (rapport.core.jobs)
    "jobs-watch": {"task": "rapport.jobs.watch", "schedule": 60.0},
    "jobs-prune": {"task": "rapport.jobs.prune", "schedule": 24 * 3600.0},
    "maintain-events": {"task": "rapport.events.maintain", "schedule": 24 * 3600.0},
    "imports-purge-reports": {"task": "rapport.imports.purge_reports", "schedule": 24 * 3600.0},
    # customers created by imports, the console or the API meet their namesakes here
    "customers-scan-weak-matches": {"task": "rapport.customers.scan_weak_matches", "schedule": 24 * 3600.0},
    # staged tracking messages are also resolved on every commit; this sweep catches a lost wake-up
    "events-resolve": {"task": "rapport.events.resolve", "schedule": 5.0},
    "segment-snapshots": {"task": "rapport.segments.snapshot_all", "schedule": 24 * 3600.0},
    "evaluate-automatic-tags": {"task": "rapport.tags.evaluate_automatic_tags", "schedule": 3600.0},
    "deliver-tag-sync": {"task": "rapport.tags.deliver_sync", "schedule": 60.0},
    # analytics
    "analytics-recompute-metrics": {"task": "rapport.analytics.recompute_metrics", "schedule": 24 * 3600.0},
    # recommendations: refit, rewrite every customer's list and re-run the backtest nightly
    "recommendations-train": {"task": "rapport.recommendations.train", "schedule": 24 * 3600.0},
    # inventory: the sales forecast of every series with its backtest, then the stock plan
    "inventory-forecast": {"task": "rapport.inventory.forecast", "schedule": 24 * 3600.0},
    # loyalty
    "loyalty-expire-points": {"task": "rapport.loyalty.expire_points", "schedule": 24 * 3600.0},
    "loyalty-expire-coupons": {"task": "rapport.loyalty.expire_coupons", "schedule": 3600.0},
    "loyalty-review-levels": {"task": "rapport.loyalty.review_levels", "schedule": 24 * 3600.0},
    "loyalty-birthday-gifts": {"task": "rapport.loyalty.birthday_gifts", "schedule": 24 * 3600.0},
    # the counter: member codes a day past their expiry
    "counter-forget-expired-codes": {"task": "rapport.counter.forget_expired_codes", "schedule": 24 * 3600.0},
    # owners' care reminders: hourly, so a day's list is there soon after the day starts (a rerun adds none)
    "clienteling-make-reminders": {"task": "rapport.clienteling.make_reminders", "schedule": 3600.0},
    # owners hear of a complaint opened or a level lowered within minutes
    "clienteling-alert-owners": {"task": "rapport.clienteling.alert_owners", "schedule": 300.0},
    # campaigns
    "campaigns-tick": {"task": "rapport.campaigns.tick", "schedule": 60.0},
    # every minute: an abandoned cart's idle time is given in minutes (5 at the least)
    "campaigns-scan-triggers": {"task": "rapport.campaigns.scan_triggers", "schedule": 60.0},
    # service
    "service-sla-check": {"task": "rapport.service.check_sla", "schedule": 300.0},
    "service-close-resolved": {"task": "rapport.service.close_resolved", "schedule": 3600.0},
    # privacy: access archives are kept only as long as their links live
    "privacy-drop-expired-archives": {"task": "rapport.privacy.drop_expired_archives", "schedule": 3600.0},
    "privacy-enforce-retention": {"task": "rapport.privacy.enforce_retention", "schedule": 24 * 3600.0},
}
RAPPORT_JOBS_INPROCESS = not CELERY_BROKER_URL
# Stock plans: the chance of not running out within a lead time that safety stock is held for.
RAPPORT_STOCK_SERVICE_LEVEL = float(os.environ.get("RAPPORT_STOCK_SERVICE_LEVEL", "0.95"))
# A long job's runner stamps a heartbeat this often; one silent for the stall period has lost its
# worker and is queued again (when it can resume) at most this many runs in all.
RAPPORT_JOB_HEARTBEAT_SECONDS = float(os.environ.get("RAPPORT_JOB_HEARTBEAT_SECONDS", "15"))
RAPPORT_JOB_STALL_SECONDS = float(os.environ.get("RAPPORT_JOB_STALL_SECONDS", "120"))
RAPPORT_JOB_MAX_ATTEMPTS = int(os.environ.get("RAPPORT_JOB_MAX_ATTEMPTS", "3"))
# Records of finished jobs (most are scheduled runs) are kept this long; failed and stalled ones stay.
RAPPORT_JOB_KEEP_DAYS = int(os.environ.get("RAPPORT_JOB_KEEP_DAYS", "14"))

# Outgoing mail (campaign email, ticket replies, portal sign-in codes). Without an SMTP host the
# embedded default writes mail to the server log instead of sending it.
EMAIL_HOST = os.environ.get("RAPPORT_SMTP_HOST", "")
EMAIL_PORT = int(os.environ.get("RAPPORT_SMTP_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("RAPPORT_SMTP_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("RAPPORT_SMTP_PASSWORD", "")
EMAIL_USE_TLS = _env_bool("RAPPORT_SMTP_STARTTLS")
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST else "django.core.mail.backends.console.EmailBackend"
)
DEFAULT_FROM_EMAIL = os.environ.get("RAPPORT_MAIL_FROM", "Rapport <noreply@localhost>")
# Where messages go, one file each, while a channel has no transport (no SMTP host, no gateway).
RAPPORT_OUTBOX_DIR = Path(os.environ.get("RAPPORT_OUTBOX_DIR", DATA_DIR / "outbox"))
# empty: links use the address `rapport run` serves (rapport.core.public_url)
RAPPORT_PUBLIC_URL = os.environ.get("RAPPORT_PUBLIC_URL", "").rstrip("/")
RAPPORT_JOBS_SYNC = _env_bool("RAPPORT_JOBS_SYNC")  # tests: run jobs inline
# an API body that breaks its response schema: an error (tests, the fuzzing run) or a logged warning
RAPPORT_STRICT_RESPONSES = _env_bool("RAPPORT_STRICT_RESPONSES")

# Campaign email bounces: with a bounce domain, campaign mail goes out with the envelope sender
# bounce+<signed message token>@<domain> (VERP) and the inbound listener reads the DSNs returned
# to it; an address is suppressed after a hard bounce or after this many soft bounces.
RAPPORT_BOUNCE_DOMAIN = os.environ.get("RAPPORT_BOUNCE_DOMAIN", "").strip().lower()
RAPPORT_BOUNCE_SOFT_LIMIT = int(os.environ.get("RAPPORT_BOUNCE_SOFT_LIMIT", "3"))

# Customer service: the support address customers write to (the inbound SMTP listener runs when
# RAPPORT_SERVICE_SMTP_PORT is set), limits on mail and attachments, and the bot's confidence.
RAPPORT_SERVICE_ADDRESS = os.environ.get("RAPPORT_SERVICE_ADDRESS", "support@localhost")
RAPPORT_SERVICE_SMTP_HOST = os.environ.get("RAPPORT_SERVICE_SMTP_HOST", "127.0.0.1")
RAPPORT_SERVICE_SMTP_PORT = int(os.environ.get("RAPPORT_SERVICE_SMTP_PORT", "0"))  # 0: no listener
RAPPORT_SERVICE_MAX_MAIL_BYTES = int(os.environ.get("RAPPORT_SERVICE_MAX_MAIL_BYTES", str(25 * 1024 * 1024)))
RAPPORT_SERVICE_MAX_ATTACHMENT_BYTES = int(os.environ.get("RAPPORT_SERVICE_MAX_ATTACHMENT_BYTES", str(10 << 20)))
RAPPORT_SERVICE_MAX_ATTACHMENTS_TOTAL_BYTES = 20 * 1024 * 1024
RAPPORT_SERVICE_TIME_ZONE = os.environ.get("RAPPORT_SERVICE_TIME_ZONE", "Asia/Shanghai")  # tickets without a store
RAPPORT_SERVICE_CLOSE_RESOLVED_DAYS = int(os.environ.get("RAPPORT_SERVICE_CLOSE_RESOLVED_DAYS", "7"))
# The bot answers when its calibrated probability of being right is at least this (docs/models.md).
RAPPORT_SERVICE_BOT_THRESHOLD = float(os.environ.get("RAPPORT_SERVICE_BOT_THRESHOLD", "0.8"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    # every handler masks emails, phones and ID numbers (rapport.core.logmask); a new one must too
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["mask_personal_data"]}
    },
    "root": {"handlers": ["console"], "level": os.environ.get("RAPPORT_LOG_LEVEL", "INFO")},
    "filters": {
        "expected_refusals": {"()": "rapport.console.errors.ExpectedRefusalFilter"},
        "mask_personal_data": {"()": "rapport.core.logmask.MaskPersonalData"},
    },
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "django.request": {"filters": ["expected_refusals"]},
        "axes.apps": {"level": "WARNING"},  # not a start-up banner on every command
    },
}
