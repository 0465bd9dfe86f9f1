"""Login, and every way a token can be wrong."""
from __future__ import annotations

import base64
import json
from datetime import timedelta

import jwt
import pytest

from tests.factories import PASSWORD


def test_login_and_me(client, world):
    user = world.users["officer_a"]
    r = client.post("/auth/login", json={"username": user.username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    token = r.json()["access_token"]
    me = client.get("/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json()["username"] == user.username


def test_login_wrong_password_and_unknown_user(client, world):
    for body in ({"username": world.users["officer_a"].username, "password": "nope"},
                 {"username": "no-such-user", "password": "nope"}):
        r = client.post("/auth/login", json=body)
        assert r.status_code == 401
        assert r.json()["detail"] == "wrong username or password"


def _claims(settings, user, now, **over):
    claims = {"sub": str(user.id), "role": user.role, "iss": settings.auth.jwt_issuer, "aud": settings.auth.jwt_audience,
              "iat": int(now.timestamp()), "exp": int((now + timedelta(minutes=5)).timestamp())}
    claims.update(over)
    return claims


def _b64(obj) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


@pytest.mark.parametrize("case", ["expired", "wrong_key", "alg_none", "other_audience", "other_issuer", "garbage",
                                  "missing_exp", "hs512", "not_yet_valid"])
def test_bad_tokens_are_refused(client, world, settings, clock, case):
    user = world.users["manager"]
    now = clock.now()
    key = settings.auth.jwt_secret
    if case == "expired":
        token = jwt.encode(_claims(settings, user, now, exp=int((now - timedelta(seconds=1)).timestamp())), key, "HS256")
    elif case == "wrong_key":
        token = jwt.encode(_claims(settings, user, now), "another-key-entirely-32-bytes-long!", "HS256")
    elif case == "alg_none":
        token = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(_claims(settings, user, now))}."
    elif case == "other_audience":
        token = jwt.encode(_claims(settings, user, now, aud="someone-else"), key, "HS256")
    elif case == "other_issuer":
        token = jwt.encode(_claims(settings, user, now, iss="evil"), key, "HS256")
    elif case == "missing_exp":
        claims = _claims(settings, user, now)
        del claims["exp"]
        token = jwt.encode(claims, key, "HS256")
    elif case == "not_yet_valid":
        later = now + timedelta(hours=1)
        token = jwt.encode(_claims(settings, user, later, nbf=int(later.timestamp())), key, "HS256")
    elif case == "hs512":
        token = jwt.encode(_claims(settings, user, now), key, "HS512")
    else:
        token = "not.a.token"
    r = client.get("/supervisees", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401, (case, r.text)


def test_token_expires_by_the_clock(client, world, clock, settings):
    headers = world.auth("manager")
    assert client.get("/supervisees", headers=headers).status_code == 200
    clock.advance(minutes=settings.auth.access_token_minutes + 1)
    assert client.get("/supervisees", headers=headers).status_code == 401


def test_no_token(client, world):
    assert client.get("/supervisees").status_code == 401


def test_deactivated_user_token_stops_working(client, world, db):
    world.users["officer_a"].active = False
    db.flush()
    assert client.get("/supervisees", headers=world.auth("officer_a")).status_code == 401


def test_a_foreign_host_header_is_refused_before_anything_else(client, world):
    """Issue 12 (12): a DNS-rebinding page on the intranet sends Host: its own name."""
    body = {"username": world.users["officer_a"].username, "password": "x" * 12}
    r = client.post("/auth/login", json=body, headers={"Host": "rebind.attacker.example"})
    assert r.status_code == 400 and "host" in r.text.lower()
    assert client.post("/auth/login", json=body, headers={"Host": "127.0.0.1:8000"}).status_code == 401
    assert client.get("/health", headers={"Host": "[::1]:8000"}).status_code == 200


def _login(client, username, password):
    return client.post("/auth/login", json={"username": username, "password": password})


def test_wrong_passwords_lock_the_account_even_for_the_right_one(client, world, db, settings):
    """Issue 12, hole 4: 50 wrong passwords then the right one used to log in."""
    from sqlalchemy import select

    from core.audit import AuditEntry

    user = world.users["officer_a"]
    password = "correct horse battery staple"
    from core.security import hash_password

    user.password_hash = hash_password(password)
    db.flush()
    assert _login(client, user.username, password).status_code == 200
    for _ in range(settings.auth.login_max_failures):
        assert _login(client, user.username, "wrong-password-x").status_code == 401
    r = _login(client, user.username, password)
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0, r.text
    assert "try again" in r.json()["detail"]
    throttled = db.scalars(select(AuditEntry).where(AuditEntry.action == "auth.login",
                                                    AuditEntry.outcome == "throttled")).all()
    assert throttled and throttled[-1].detail["username"] == user.username
    # An unknown name locks the same way: the lock says nothing about existence.
    for _ in range(settings.auth.login_max_failures):
        assert _login(client, "no-such-user-here", "whatever-1").status_code == 401
    assert _login(client, "no-such-user-here", "whatever-1").status_code == 429


def test_the_lock_ends_and_a_success_clears_the_count(client, world, db, settings, clock):
    from core.security import hash_password

    user = world.users["officer_b"]
    user.password_hash = hash_password("the-right-password")
    db.flush()
    for _ in range(settings.auth.login_max_failures - 1):
        assert _login(client, user.username, "nope-nope-nope").status_code == 401
    assert _login(client, user.username, "the-right-password").status_code == 200  # clears the count
    for _ in range(settings.auth.login_max_failures - 1):
        assert _login(client, user.username, "nope-nope-nope").status_code == 401
    assert _login(client, user.username, "the-right-password").status_code == 200
    for _ in range(settings.auth.login_max_failures):
        _login(client, user.username, "nope-nope-nope")
    assert _login(client, user.username, "the-right-password").status_code == 429
    clock.advance(minutes=settings.auth.login_lockout_minutes, seconds=1)
    assert _login(client, user.username, "the-right-password").status_code == 200


def test_one_source_failing_across_many_names_is_locked(client, world, settings):
    settings.auth.login_source_max_failures = 8
    for i in range(8):
        assert _login(client, f"spray-{i}", "password-spray").status_code == 401
    assert _login(client, world.users["manager"].username, "anything-at-all").status_code == 429


def test_password_hashes_are_bounded_per_process():
    import pytest

    from core.errors import Busy
    from core.security import HashSlots

    slots = HashSlots(1, wait=0.05)
    slots._slots.acquire()  # one hash in progress
    try:
        with pytest.raises(Busy):
            slots.verify(None, "x")
    finally:
        slots._slots.release()
    assert slots.verify(None, "x") is False


def test_an_auditor_changes_nothing_but_its_own_password(client, world):
    """Issue 12 (12): the auditor could change its own profile."""
    me = world.users["auditor"]
    r = client.patch(f"/users/{me.id}", headers=world.auth("auditor"), json={"full_name": "改过的名字"})
    assert r.status_code == 403 and "password" in r.json()["detail"]
    r = client.patch(f"/users/{me.id}", headers=world.auth("auditor"), json={"password": "a-new-long-password"})
    assert r.status_code == 200
