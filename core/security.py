"""Passwords, access tokens and keyed hashes."""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from core.errors import Busy
from core.settings import AuthSettings

# Only this algorithm is accepted when decoding: never "none", never
# whatever the token header claims.
JWT_ALGORITHMS = ["HS256"]

_hasher = PasswordHasher()
# A hash to verify against when the user does not exist, so a login for an
# unknown name costs the same time as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


# The password of an account nobody has set yet (awaiting activation, or reset):
# no password matches it. Verified like an unknown user (against the dummy
# hash), so a login cannot tell such an account by its speed.
UNUSABLE_PASSWORD = "!unset"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    if password_hash == UNUSABLE_PASSWORD:
        password_hash = None
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


class HashSlots:
    """At most ``n`` password hashes at once in this process.

    Each argon2 hash takes 64 MiB and tens of milliseconds of a core: without
    a bound, ten login attempts a second saturate the server and starve every
    other request. A caller that cannot get a slot within ``wait`` seconds is
    answered 503 with Retry-After instead of queueing without end.
    """

    def __init__(self, n: int, *, wait: float = 3.0) -> None:
        self._slots = threading.BoundedSemaphore(n)
        self._wait = wait

    def verify(self, password_hash: str | None, password: str) -> bool:
        """verify_password, inside a slot."""
        return self._run(verify_password, password_hash, password)

    def hash(self, password: str) -> str:
        """hash_password, inside a slot (an activation sets a password)."""
        return self._run(hash_password, password)

    def _run(self, fn, *args):
        if not self._slots.acquire(timeout=self._wait):
            raise Busy("too many logins at once; try again in a few seconds")
        try:
            return fn(*args)
        finally:
            self._slots.release()


def keyed_hash(key: str, value: str) -> str:
    """HMAC-SHA256 hex: for lookups of secrets we must not store (IDs, device keys)."""
    return hmac.new(key.encode(), value.encode(), hashlib.sha256).hexdigest()


# Mosquitto's password_file format for PBKDF2-SHA512 ("$7$", what
# ``mosquitto_passwd`` writes by default since 2.0): iterations, 12-byte salt
# and the 64-byte derived key, both base64. The device secret carries 256 bits
# of entropy, so mosquitto's own default of 101 iterations costs an attacker
# nothing worth having; more would only slow every broker CONNECT.
BROKER_HASH_ITERATIONS = 101


def broker_password_hash(secret: str, *, salt: bytes | None = None, iterations: int = BROKER_HASH_ITERATIONS) -> str:
    """A salted hash of a device secret as the MQTT broker's password file takes it (never the secret)."""
    salt = secrets.token_bytes(12) if salt is None else salt
    derived = hashlib.pbkdf2_hmac("sha512", secret.encode(), salt, iterations)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(derived).decode()}"


def new_device_secret() -> str:
    return secrets.token_urlsafe(32)


def new_activation_code() -> str:
    """A one-time activation code: 120 random bits, short enough to read out or type."""
    return secrets.token_urlsafe(15)


def code_hash(code: str) -> str:
    """How an activation code is stored. Plain SHA-256 suffices: the code is random, not chosen."""
    return hashlib.sha256(code.encode()).hexdigest()


def generate_password() -> str:
    return secrets.token_urlsafe(12)


@dataclass(frozen=True)
class AccessToken:
    token: str
    expires_in: int


class TokenError(Exception):
    pass


@dataclass(frozen=True)
class TokenClaims:
    """What a valid access token says: whose it is, its session version, its expiry."""

    user_id: int
    token_version: int
    expires_at: datetime


def issue_access_token(settings: AuthSettings, *, user_id: int, role: str, now: datetime,
                       token_version: int = 0) -> AccessToken:
    lifetime = timedelta(minutes=settings.access_token_minutes)
    claims = {
        "sub": str(user_id),
        "ver": token_version,
        "role": role,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": int(now.timestamp()),
        "nbf": int(now.timestamp()),
        "exp": int((now + lifetime).timestamp()),
        "jti": uuid.uuid4().hex,
    }
    return AccessToken(jwt.encode(claims, settings.jwt_secret, algorithm="HS256"), int(lifetime.total_seconds()))


def decode_access_token(settings: AuthSettings, token: str, *, now: datetime) -> int:
    """Return the user id of a valid token, or raise TokenError."""
    return decode_access_claims(settings, token, now=now).user_id


def decode_access_claims(settings: AuthSettings, token: str, *, now: datetime) -> TokenClaims:
    """The claims of a valid token, or raise TokenError. The caller checks the
    session version against the user's (a token without one is version 0)."""
    try:
        claims = jwt.decode(
            token,
            settings.jwt_secret,
            algorithms=JWT_ALGORITHMS,
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={"require": ["exp", "iat", "sub", "aud", "iss"], "verify_exp": False, "verify_iat": False,
                     "verify_nbf": False},
        )
    except jwt.PyJWTError as exc:
        raise TokenError(str(exc)) from exc
    # Time claims are checked against the injectable clock, not the wall
    # clock, so tests (and a server whose clock is injected) age tokens
    # consistently. A little leeway for clock skew between issuer and checker.
    ts = now.timestamp()
    try:
        if float(claims["exp"]) <= ts:
            raise TokenError("token expired")
        if float(claims.get("nbf", claims["iat"])) > ts + 30:
            raise TokenError("token not yet valid")
    except (TypeError, ValueError) as exc:
        raise TokenError("bad time claim") from exc
    try:
        user_id, version = int(claims["sub"]), claims.get("ver", 0)
    except (TypeError, ValueError) as exc:
        raise TokenError("bad subject") from exc
    if type(version) is not int:
        raise TokenError("bad session version")
    return TokenClaims(user_id, version, datetime.fromtimestamp(float(claims["exp"]), tz=UTC))
