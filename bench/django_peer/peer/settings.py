"""Settings of the Django peer: a production configuration (DEBUG off, persistent
database connections, every request in one transaction), no more."""

import os
from urllib.parse import urlsplit

SECRET_KEY = os.environ.get("PEER_SECRET_KEY", "peer-bench-secret-key-0123456789-0123456789")
DEBUG = False
ALLOWED_HOSTS = ["*"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "rest_framework",
    "auditlog",
    "peer",
]

# startproject's middleware (less messages, which needs its app), plus auditlog's,
# which records the request's address on every log entry.
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "auditlog.middleware.AuditlogMiddleware",
]

ROOT_URLCONF = "peer.urls"
WSGI_APPLICATION = "peer.wsgi.application"

_db = urlsplit(os.environ.get("PEER_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/peer"))
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": _db.path.lstrip("/"),
        "USER": _db.username or "postgres",
        "PASSWORD": _db.password or "",
        "HOST": _db.hostname or "127.0.0.1",
        "PORT": str(_db.port or 5432),
        # One connection per worker thread, kept across requests (as eventrail's pool).
        "CONN_MAX_AGE": 600,
        "CONN_HEALTH_CHECKS": False,
        # The change and its auditlog entry commit together, or neither does.
        "ATOMIC_REQUESTS": True,
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Argon2id with eventrail's parameters (peer.hashers); the password a client sends
# is the md5 hex of the till's password, as eventrail's Basic auth expects.
PASSWORD_HASHERS = ["peer.hashers.Argon2idLikeEventrail"]

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["peer.auth.CachedBasicAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "UNAUTHENTICATED_USER": None,
}

USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"
USE_I18N = False

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
