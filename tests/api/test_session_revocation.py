"""Hole 3 of issue 12: a password change (own, or a reset by the administrator)
revokes every token issued before it; other users' tokens keep working."""
from __future__ import annotations

from tests.factories import PASSWORD

NEW_PASSWORD = "a brand new passphrase"


def _me(client, token: str) -> int:
    return client.get("/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code


def _login(client, username: str, password: str) -> str:
    r = client.post("/auth/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


def test_changing_ones_own_password_revokes_ones_tokens(client, world) -> None:
    officer = world.users["officer_a"]
    token_a = world.tokens["officer_a"]
    token_b = _login(client, officer.username, PASSWORD)  # a second session
    assert _me(client, token_a) == 200 and _me(client, token_b) == 200
    r = client.patch(f"/users/{officer.id}", json={"password": NEW_PASSWORD}, headers=world.auth("officer_a"))
    assert r.status_code == 200, r.text
    assert _me(client, token_a) == 401
    assert _me(client, token_b) == 401
    assert client.post("/ws/tickets", headers={"Authorization": f"Bearer {token_a}"}).status_code == 401
    fresh = _login(client, officer.username, NEW_PASSWORD)
    assert _me(client, fresh) == 200
    assert _me(client, world.tokens["officer_b"]) == 200  # nobody else is logged out


def test_a_password_reset_by_the_admin_revokes_the_users_tokens(client, world) -> None:
    officer = world.users["officer_b"]
    # The admin resets (it never sets a password: hole 2, tests/api/test_separation_of_duties.py).
    r = client.post(f"/users/{officer.id}/reset", headers=world.auth("admin"))
    assert r.status_code == 200, r.text
    assert _me(client, world.tokens["officer_b"]) == 401
    assert _me(client, world.tokens["admin"]) == 200


def test_a_name_change_keeps_the_session(client, world) -> None:
    officer = world.users["officer_a"]
    r = client.patch(f"/users/{officer.id}", json={"full_name": "新名字"}, headers=world.auth("officer_a"))
    assert r.status_code == 200, r.text
    assert _me(client, world.tokens["officer_a"]) == 200
