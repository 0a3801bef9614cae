"""Django settings of the portal, read from the environment the command line sets.

``XLPERF_WEB_DATA``: the store's folder (files by content hash, the SQLite database, the secret key);
``XLPERF_WEB_DB``: ``postgresql://user:password@host:port/name`` (``?host=/socket/dir`` for a unix socket) or
``sqlite:///path``; default: SQLite in the store's folder.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

DATA_DIR = Path(os.environ.get("XLPERF_WEB_DATA") or "xlperf-data").resolve()


def database_from_url(url: str | None, data_dir: Path) -> dict:
    """Django's DATABASES entry for a ``--db`` URL (None: SQLite in the store's folder)."""
    if not url:
        return sqlite_database(data_dir / "portal.sqlite3")
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        return sqlite_database(Path(unquote(parts.path)))
    if parts.scheme not in ("postgres", "postgresql"):
        raise ValueError(f"--db must be a postgresql:// or sqlite:/// URL, not {url!r}")
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(parts.path.lstrip("/")) or "xlperf",
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": query.pop("host", None) or parts.hostname or "",
        "PORT": str(parts.port or query.pop("port", "") or ""),
        "OPTIONS": query,
        # a PostgreSQL connection costs a server process: the pages' thread keeps its own for a minute
        "CONN_MAX_AGE": 60,
        "CONN_HEALTH_CHECKS": True,
    }


def sqlite_database(path: Path) -> dict:
    _private_file(path)
    # WAL and a busy timeout: the web server and the validation workers are separate processes writing one
    # file; IMMEDIATE transactions take the write lock at BEGIN, so two writers never deadlock mid-way
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(path),
        "OPTIONS": {"timeout": 30, "transaction_mode": "IMMEDIATE",
                    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"},
        "TEST": {"NAME": os.environ.get("XLPERF_WEB_TEST_SQLITE") or None},
    }


def _private_file(path: Path) -> None:
    """Make the SQLite store readable only by its owner before SQLite makes it (with the umask's mode): it
    holds the office's password hashes and the sessions. SQLite gives its WAL files the same mode."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass


def secret_key(data_dir: Path) -> str:
    """The key that signs sessions: made once per store, readable only by its owner."""
    if os.environ.get("XLPERF_WEB_SECRET"):
        return os.environ["XLPERF_WEB_SECRET"]
    path = data_dir / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process of the same store made it first
            return path.read_text().strip()
        with os.fdopen(descriptor, "w") as handle:
            handle.write(key)
        return key


SECRET_KEY = secret_key(DATA_DIR)
DEBUG = False
ALLOWED_HOSTS = [host for host in os.environ.get("XLPERF_WEB_HOSTS", "*").split(",") if host]
BASE_URL = os.environ.get("XLPERF_WEB_URL", "")
# a form posted from the portal's public address (say https://… behind a proxy) passes Django's Origin check
CSRF_TRUSTED_ORIGINS = ["{0.scheme}://{0.netloc}".format(urlsplit(BASE_URL))] if BASE_URL.startswith("http") else []

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_tasks",
    "django_tasks_db",
    "xlperf.web.apps.PortalConfig",
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
ROOT_URLCONF = "xlperf.web.urls"
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "DIRS": [],
    "APP_DIRS": True,
    "OPTIONS": {"context_processors": [
        "django.template.context_processors.request",
        "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages",
    ]},
}]
ASGI_APPLICATION = "xlperf.web.asgi.application"

DATABASES = {"default": database_from_url(os.environ.get("XLPERF_WEB_DB"), DATA_DIR)}
DATABASE_ROUTERS = ["xlperf.web.router.ActiveDatabase"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

# argon2 first: new passwords are hashed with it; the others only verify old hashes
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [{"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
                             "OPTIONS": {"min_length": 8}}]
LOGIN_URL = "portal:login"
LOGIN_REDIRECT_URL = "portal:rounds"

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 8 * 3600
# served as https:// (behind a proxy: uvicorn takes the scheme from X-Forwarded-Proto of a local proxy)
SESSION_COOKIE_SECURE = BASE_URL.startswith("https://")
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# the largest upload accepted (a filled return is well under 1 MB; the library's own read limits apply too)
MAX_UPLOAD_BYTES = int(os.environ.get("XLPERF_WEB_MAX_UPLOAD", 20_000_000))
# new files one unit link may upload in an hour (a unit correcting its return needs a few; repeats of the
# same file are not counted: they are not stored again)
MAX_UPLOADS_PER_HOUR = int(os.environ.get("XLPERF_WEB_MAX_UPLOADS_PER_HOUR", 60))
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024  # form fields other than the file
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
FILE_UPLOAD_TEMP_DIR = None

LANGUAGE_CODE = "zh-hans"
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True
STATIC_URL = "/static/"
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True  # the admin's static files, straight from the installed package

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"django": {"handlers": ["console"], "level": os.environ.get("XLPERF_WEB_LOG", "WARNING")}},
}
