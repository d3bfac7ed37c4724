"""Reputable settings: one file, every value from the environment, safe defaults.

Without any environment the platform runs on SQLite under ./var and keeps mail as .eml files
under ./var/mailbox, with DEBUG off.
"""

import ipaddress
import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

import environ
from django.utils.csp import CSP

env = environ.Env()

BASE_DIR = Path(__file__).resolve().parent
# The data directory holds customers' addresses and tokens (the SQLite database, the mailbox,
# the secret key): it and every file Reputable creates are private to the user running it.
os.umask(0o077)
DATA_DIR = Path(env.str("REPUTABLE_DATA_DIR", default="var")).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)
DATA_DIR.chmod(0o700)  # also for a folder made before this was so


def _persistent_secret_key() -> str:
    # A stable key without configuration: generated once and kept beside the database.
    path = DATA_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))  # 0600: see the umask above
    return path.read_text().strip()


SECRET_KEY = env.str("SECRET_KEY", default="") or _persistent_secret_key()
DEBUG = env.bool("DEBUG", default=False)
BASE_URL = env.str("BASE_URL", default="http://localhost:8000").rstrip("/")
_base_host = urlsplit(BASE_URL).hostname or "localhost"
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[_base_host, "localhost", "127.0.0.1"])
CSRF_TRUSTED_ORIGINS = [f"{urlsplit(BASE_URL).scheme}://{urlsplit(BASE_URL).netloc}"]

INSTALLED_APPS = [
    "reputable.apps.AdminConfig",  # Django's admin, its logins limited (reputable/admin.py)
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "ninja",  # the API docs page from its own static files, not a CDN
    "reputable.apps.ReputableConfig",  # the platform's own commands (serve, demo), templates, static files
    "reputable.shops",
    "reputable.events",
    "reputable.invitations",
    "reputable.dispatch",
    "reputable.reviews",
    "reputable.widgets",
    "reputable.dashboard",
    "reputable.privacy",
    "reputable.moderation",
    "reputable.integrations",
    "reputable.webhooks",
    # Accounts: sign-up, email verification, password reset, login throttling, TOTP.
    "allauth",
    "allauth.account",
    "allauth.mfa",
]

MIDDLEWARE = [
    "reputable.lib.http.HttpMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "reputable.lib.http.PageInputMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

# The JSON API (see reputable/wsgi.py): no sessions, cookies, CSRF or page language.
API_MIDDLEWARE = [
    "reputable.lib.http.HttpMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

# Every page, the API docs included: our own scripts, styles and images only, no inline
# script or style, never framed.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
X_FRAME_OPTIONS = "DENY"
# Behind a reverse proxy that sets X-Forwarded-Proto and X-Forwarded-For, and only then:
# otherwise any client could claim to have come over https, or from any address.
TRUST_PROXY_HEADERS = env.bool("TRUST_PROXY_HEADERS", default=False)
if TRUST_PROXY_HEADERS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    ALLAUTH_TRUSTED_PROXY_COUNT = 1
if BASE_URL.startswith("https://"):
    # Browsers keep to https for a year once they have seen it.
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000)

ROOT_URLCONF = "reputable.urls"
WSGI_APPLICATION = "reputable.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
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

DATABASES = {"default": env.db_url("DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'reputable.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        # IMMEDIATE takes the write lock at BEGIN, so concurrent writers queue on the
        # timeout instead of failing with "database is locked" mid-transaction.
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
            " PRAGMA busy_timeout=30000; PRAGMA cache_size=-20000;"
        ),
    }
    # A file, not memory, so that subprocesses and threads in tests share the test database.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test.sqlite3")}
# Connections are kept: opening one (and its pragmas) costs more than a small request.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=600)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"


def _mailer(url: str) -> dict:
    """A MAILERS entry from EMAIL_URL: smtp://, smtps:// (STARTTLS), smtp+ssl://, mailbox:///path
    (one .eml file per message; the default), filemail:///path, consolemail://."""
    if url.startswith("mailbox://"):
        path = urlsplit(url).path or str(DATA_DIR / "mailbox")
        return {"BACKEND": "reputable.lib.mailbox.MailboxBackend", "OPTIONS": {"path": path}}
    if url.startswith("filemail://"):
        path = urlsplit(url).path or str(DATA_DIR / "mail")
        return {"BACKEND": "django.core.mail.backends.filebased.EmailBackend", "OPTIONS": {"file_path": path}}
    config = env.email_url_config(url)
    options: dict = {}
    if config["EMAIL_BACKEND"].endswith("smtp.EmailBackend"):
        options = {
            "host": config["EMAIL_HOST"],
            "port": config["EMAIL_PORT"],
            "username": config["EMAIL_HOST_USER"] or "",
            "password": config["EMAIL_HOST_PASSWORD"] or "",
            "use_tls": config.get("EMAIL_USE_TLS", False),
            "use_ssl": config.get("EMAIL_USE_SSL", False),
            "timeout": env.int("EMAIL_TIMEOUT", default=30),
        }
    return {"BACKEND": config["EMAIL_BACKEND"], "OPTIONS": options}


MAILERS = {"default": _mailer(env.str("EMAIL_URL", default="mailbox://"))}
# Show the local mailbox at /demo/mailbox/ (every customer's email, to anyone): demo only.
MAILBOX_PAGE = env.bool("REPUTABLE_MAILBOX_PAGE", default=False)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default=f"reviews@{_base_host}")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Where anyone may report a review as unlawful or untrue (named on every shop's page on how
# its reviews work).
CONTACT_EMAIL = env.str("CONTACT_EMAIL", default=DEFAULT_FROM_EMAIL)

# --- Calls out ---------------------------------------------------------------------------------
# Networks that calls out of Reputable (a connector's pull, a webhook) may reach although they
# are loopback, private or link-local, comma separated CIDRs (reputable/lib/outbound.py); by
# default none: only public addresses are called.
OUTBOUND_ALLOWED_NETWORKS = [
    str(ipaddress.ip_network(n, strict=False)) for n in env.list("OUTBOUND_ALLOWED_NETWORKS", default=[])
]

# --- Bounces and complaints ----------------------------------------------------------------------
# For plain SMTP: the envelope sender of invitations becomes bounces+<tag>@domain of this address
# (VERP, see reputable/invitations/verp.py), where `reputable bounces` reads the DSNs. Empty: off.
BOUNCE_ADDRESS = env.str("BOUNCE_ADDRESS", default="")
# The providers' tracking webhooks under /anymail/<provider>/tracking/ (reputable/invitations/
# bounces.py), each verified as django-anymail verifies it. Only keys that are set are given:
# a webhook without its credential refuses every post (an empty HMAC key would verify anything).
ANYMAIL = {
    name: value
    for name, value in {
        # "user:password" in the webhook URL (Amazon SES, Postmark, Brevo, SendGrid); a
        # comma-separated list while rotating.
        "WEBHOOK_SECRET": env.list("ANYMAIL_WEBHOOK_SECRET", default=[]),
        "MAILGUN_WEBHOOK_SIGNING_KEY": env.str("MAILGUN_WEBHOOK_SIGNING_KEY", default=""),
        "POSTAL_WEBHOOK_KEY": env.str("POSTAL_WEBHOOK_KEY", default=""),  # the public key, base64, no PEM lines
        "SENDGRID_TRACKING_WEBHOOK_VERIFICATION_KEY": env.str("SENDGRID_TRACKING_WEBHOOK_VERIFICATION_KEY", default=""),
    }.items()
    if value
}

# --- Accounts (django-allauth) -------------------------------------------------------------------
# People log in with their email address; an address is verified before its first login.
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",  # the Django admin's staff
    "allauth.account.auth_backends.AuthenticationBackend",
]
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = "username"  # filled from the address by allauth
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_EMAIL_SUBJECT_PREFIX = ""
# Account mail goes out through the dispatcher's outbox like every other message.
ACCOUNT_ADAPTER = "reputable.dashboard.accounts.AccountAdapter"
# Failed logins: allauth's own limits (per address and per account), besides ours.
ACCOUNT_RATE_LIMITS = {"login_failed": "10/m/ip,5/5m/key"}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = env.str("MFA_TOTP_ISSUER", default="Reputable")
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "dashboard"
# A one-time login link (`reputable createshop --owner`) is good for this long, and only until
# the first login with it (see reputable/dashboard/accounts.py).
PASSWORD_RESET_TIMEOUT = env.int("LOGIN_LINK_SECONDS", default=3 * 24 * 3600)

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("de", "Deutsch"), ("nl", "Nederlands"), ("pl", "Polski")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
# Serve straight from the apps' static folders: no collectstatic step to forget.
WHITENOISE_USE_FINDERS = True

# Large enough for a batch of 1,000 events; the single-event endpoint checks its own limit.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=4 * 1024 * 1024)

SESSION_COOKIE_SECURE = BASE_URL.startswith("https://")
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

# The dispatcher: how long a claim holds a row, how often a failing send is retried.
DISPATCH_LEASE_SECONDS = env.int("DISPATCH_LEASE_SECONDS", default=300)
DISPATCH_MAX_ATTEMPTS = env.int("DISPATCH_MAX_ATTEMPTS", default=8)
DISPATCH_IDLE_SECONDS = env.float("DISPATCH_IDLE_SECONDS", default=2.0)

# Outgoing webhooks (reputable/webhooks): days a message and its deliveries are kept, once
# nothing of it is left to deliver.
WEBHOOK_RETENTION_DAYS = env.int("WEBHOOK_RETENTION_DAYS", default=90)

# Forwarding invitations to a provider (reputable/integrations/forwarding.py): each provider's
# API base URL, a setting so that tests (or a provider's sandbox) can point elsewhere.
KIYOH_BASE_URL = env.str("KIYOH_BASE_URL", default="https://www.kiyoh.com")
FEEDBACKCOMPANY_BASE_URL = env.str("FEEDBACKCOMPANY_BASE_URL", default="https://www.feedbackcompany.com")
ETRUSTED_BASE_URL = env.str("ETRUSTED_BASE_URL", default="https://api.etrusted.com")
ETRUSTED_LOGIN_URL = env.str("ETRUSTED_LOGIN_URL", default="https://login.etrusted.com")
TRUSTPILOT_BASE_URL = env.str("TRUSTPILOT_BASE_URL", default="https://invitations-api.trustpilot.com")
TRUSTPILOT_API_URL = env.str("TRUSTPILOT_API_URL", default="https://api.trustpilot.com")

# Magento 2 connectors: seconds between pulls of a shop's changed orders, once caught up.
MAGENTO_PULL_INTERVAL = env.int("MAGENTO_PULL_INTERVAL", default=300)

# Scheduled pulls of other portals' reviews (Kiyoh, Trustpilot; reputable/integrations/
# review_pulls.py): seconds between pulls once caught up. Their base URLs are the ones above.
REVIEW_PULL_INTERVAL = env.int("REVIEW_PULL_INTERVAL", default=21600)

# Failed attempts (wrong API keys, unknown link tokens, failed logins) per client address:
# past the limit within the window, 429 until the window ends (see reputable/lib/ratelimit.py).
FAILED_ATTEMPTS_LIMIT = env.int("FAILED_ATTEMPTS_LIMIT", default=20)
FAILED_ATTEMPTS_WINDOW = env.int("FAILED_ATTEMPTS_WINDOW", default=300)
# Shared by every process on this machine; across machines use a shared cache (redis://,
# pymemcache://, dbcache://table after `reputable createcachetable`).
# The file cache's default of 300 entries would drop a random third of everything (cached
# widgets, shops' generations, failed-attempt counts) whenever a busy site passed it.
CACHES = {"default": env.cache_url("CACHE_URL", default=f"filecache://{DATA_DIR / 'cache'}?MAX_ENTRIES=100000")}

# A review link accepts a new review for this many days after the last message it came in.
REVIEW_LINK_DAYS = env.int("REVIEW_LINK_DAYS", default=90)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

# Whether any signed-up user may open a shop at /dashboard/new (else only staff; the operator
# creates shops with `reputable createshop --owner`).
ALLOW_SHOP_CREATION = env.bool("ALLOW_SHOP_CREATION", default=True)
# Whether anyone may sign up at /accounts/signup/ (team invitations still work when off).
ALLOW_SIGNUP = env.bool("ALLOW_SIGNUP", default=True)

# Moderation: how many disputes a shop may have open at once, per 100 of its published
# reviews (rounded up, at least one), so that disputing is for the exception.
DISPUTES_PER_100_REVIEWS = env.int("DISPUTES_PER_100_REVIEWS", default=5)
# The public notice form (reputable/moderation/notices.py): notices per hour from one client
# address, and to one email address; past it, 429 until the hour ends.
NOTICES_PER_HOUR = env.int("NOTICES_PER_HOUR", default=5)
