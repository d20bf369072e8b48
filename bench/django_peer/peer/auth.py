"""Basic auth with eventrail's two caches, so that the comparison is of the write
path and not of password hashing:

- a verified (user, stored hash, presented password) is remembered for 300 s
  under an HMAC of the three (eventrail's ``VerifiedCache``): a changed password
  or another secret never hits it;
- the authenticated user is remembered for 5 s under an HMAC of the header and
  the client's address (eventrail's ``CallerCache``): a request within those
  seconds costs no query to know who is asking.

Everything else is DRF's ``BasicAuthentication``.
"""

import hashlib
import hmac
import threading
import time

from django.conf import settings
from django.contrib.auth import get_user_model
from rest_framework import exceptions
from rest_framework.authentication import BasicAuthentication

_VERIFIED_TTL = 300.0
_USER_TTL = 5.0
_lock = threading.Lock()
_verified: dict[str, float] = {}
_users: dict[str, tuple[float, object]] = {}


def _digest(*parts: str) -> str:
    mac = hmac.new(settings.SECRET_KEY.encode(), digestmod=hashlib.sha256)
    for part in parts:
        mac.update(part.encode())
        mac.update(b"\x00")
    return mac.hexdigest()


class CachedBasicAuthentication(BasicAuthentication):
    def authenticate(self, request):  # type: ignore[no-untyped-def]
        header = request.META.get("HTTP_AUTHORIZATION", "")
        key = _digest("user", request.META.get("REMOTE_ADDR", ""), header)
        now = time.monotonic()
        with _lock:
            hit = _users.get(key)
        if hit is not None and hit[0] > now:
            return (hit[1], None)
        found = super().authenticate(request)
        if found is not None:
            with _lock:
                if len(_users) > 10_000:
                    _users.clear()
                _users[key] = (now + _USER_TTL, found[0])
        return found

    def authenticate_credentials(self, userid, password, request=None):  # type: ignore[no-untyped-def]
        user = get_user_model()._default_manager.filter(username=userid).first()
        if user is None or not user.is_active:
            raise exceptions.AuthenticationFailed("Invalid username/password.")
        key = _digest(str(user.pk), user.password, password)
        now = time.monotonic()
        with _lock:
            expiry = _verified.get(key)
        if expiry is None or expiry < now:
            if not user.check_password(password):
                raise exceptions.AuthenticationFailed("Invalid username/password.")
            with _lock:
                _verified[key] = now + _VERIFIED_TTL
        return (user, None)
