"""Hole 2 of issue 12: the administrator reaches no location data.

- Accounts are made through one-time activation codes: the admin never sets
  or learns a password (the code is stored only as a hash, expires, works once,
  and its redemption is throttled like login).
- A reset by the admin ends the user's sessions at once, replaces the password
  by a new activation code and leaves the user a notice (and an audit row).
- Manager, auditor and supervisee accounts (creation and reset) wait for a
  manager of that jurisdiction, who receives the code; admin accounts are the
  operator's (CLI). Device registration and secret rotation are refused to admins.
"""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from core.audit import AuditEntry

from tests.factories import PASSWORD

NEW_PASSWORD = "my own new passphrase"


def _new(world, role="officer", where=None, **extra):
    return {"username": f"new-{role}-{world.bureau.id}", "full_name": "新同事", "role": role,
            "jurisdiction_id": (where or world.office_a).id, **extra}


def _login(client, username, password):
    return client.post("/auth/login", json={"username": username, "password": password})


def _activate(client, username, code, password=NEW_PASSWORD):
    return client.post("/auth/activate", json={"username": username, "code": code, "password": password})


def _actions(db, action):
    return list(db.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)))


def test_the_admin_cannot_set_or_reset_a_password(client, world):
    body = {**_new(world), "password": "a-password-the-admin-knows"}
    r = client.post("/users", headers=world.auth("admin"), json=body)
    assert r.status_code == 422 and "password" in r.text, r.text
    officer = world.users["officer_a"]
    r = client.patch(f"/users/{officer.id}", headers=world.auth("admin"), json={"password": "a-password-the-admin-knows"})
    assert r.status_code == 403, r.text
    assert _login(client, officer.username, PASSWORD).status_code == 200  # unchanged


def test_an_officer_account_is_made_through_a_one_time_activation_code(client, db, world):
    body = _new(world)
    r = client.post("/users", headers=world.auth("admin"), json=body)
    assert r.status_code == 201, r.text
    made = r.json()
    code = made["activation_code"]
    assert made["username"] == body["username"] and made["activation_expires_at"] and "password" not in made
    # Stored only as a hash.
    from supervision.models import ActivationCode

    rows = list(db.scalars(select(ActivationCode).where(ActivationCode.user_id == made["id"])))
    assert len(rows) == 1 and code not in rows[0].code_hash
    # Nobody can log in before the code is redeemed; no password guesses it.
    assert _login(client, body["username"], code).status_code == 401
    wrong = _activate(client, body["username"], code[:-2] + "xx")
    assert wrong.status_code == 401 and "activation code" in wrong.json()["detail"]
    ok = _activate(client, body["username"], code)
    assert ok.status_code == 200, ok.text
    assert _login(client, body["username"], NEW_PASSWORD).status_code == 200
    used = _activate(client, body["username"], code, "someone else's passphrase")
    assert used.status_code == 422 and "already been used" in used.json()["detail"], used.text
    assert _login(client, body["username"], NEW_PASSWORD).status_code == 200
    assert [e.outcome for e in _actions(db, "user.create")] == ["ok"]
    assert [e.outcome for e in _actions(db, "user.activate")] == ["denied", "ok", "refused"]


def test_an_activation_code_expires(client, world, clock, settings):
    r = client.post("/users", headers=world.auth("admin"), json=_new(world))
    assert r.status_code == 201, r.text
    clock.advance(timedelta(hours=settings.auth.activation_code_hours, seconds=1))
    late = _activate(client, r.json()["username"], r.json()["activation_code"])
    assert late.status_code == 422 and "expired" in late.json()["detail"], late.text


def test_activation_is_throttled_like_login(client, world, settings):
    r = client.post("/users", headers=world.auth("admin"), json=_new(world))
    username, code = r.json()["username"], r.json()["activation_code"]
    for _ in range(settings.auth.login_max_failures):
        assert _activate(client, username, "not-the-code-at-all").status_code == 401
    locked = _activate(client, username, code)
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 0


def test_a_reset_ends_sessions_issues_a_code_and_notifies_the_user(client, db, world):
    officer = world.users["officer_a"]
    r = client.post(f"/users/{officer.id}/reset", headers=world.auth("admin"))
    assert r.status_code == 200, r.text
    code = r.json()["activation_code"]
    assert client.get("/auth/me", headers=world.auth("officer_a")).status_code == 401  # the session ended
    assert _login(client, officer.username, PASSWORD).status_code == 401  # the old password too
    assert _activate(client, officer.username, code).status_code == 200
    login = _login(client, officer.username, NEW_PASSWORD)
    assert login.status_code == 200
    assert [n["kind"] for n in login.json()["notices"]] == ["password_reset"]
    me = client.get("/auth/me", headers={"Authorization": f"Bearer {login.json()['access_token']}"})
    notices = me.json()["notices"]
    assert len(notices) == 1 and notices[0]["seen_at"] is not None and "administrator" in notices[0]["message"]
    # Seen once at login; the next login does not show it again.
    assert _login(client, officer.username, NEW_PASSWORD).json()["notices"] == []
    reset = _actions(db, "user.reset")
    assert len(reset) == 1 and reset[0].object_id == str(officer.id)


def test_manager_auditor_and_supervisee_accounts_wait_for_a_manager(client, db, world):
    sup = world.supervisees["a2"]  # has no login yet
    asks = {"manager": _new(world, "manager", world.bureau), "auditor": _new(world, "auditor", world.bureau),
            "supervisee": _new(world, "supervisee", world.office_a, supervisee_id=sup.id)}
    pending = {}
    for role, body in asks.items():
        r = client.post("/users", headers=world.auth("admin"), json=body)
        assert r.status_code == 202, (role, r.text)
        assert r.json()["status"] == "pending" and "activation_code" not in r.json()
        pending[role] = r.json()["id"]
        assert _activate(client, body["username"], "anything-at-all-here").status_code == 401
    queue = client.get("/account-requests", headers=world.auth("manager"))
    assert set(pending.values()) <= {q["id"] for q in queue.json()["items"]}
    for who in ("officer_a", "admin", "auditor"):
        r = client.post(f"/account-requests/{pending['manager']}/approve", headers=world.auth(who), json={"reason": "ok"})
        assert r.status_code == 403, (who, r.text)
    r = client.post(f"/account-requests/{pending['manager']}/approve", headers=world.auth("manager"),
                    json={"reason": "新任副局长"})
    assert r.status_code == 200, r.text
    assert _activate(client, asks["manager"]["username"], r.json()["activation_code"]).status_code == 200
    assert _login(client, asks["manager"]["username"], NEW_PASSWORD).status_code == 200
    r = client.post(f"/account-requests/{pending['supervisee']}/reject", headers=world.auth("manager"),
                    json={"reason": "not this person"})
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    again = client.post(f"/account-requests/{pending['supervisee']}/approve", headers=world.auth("manager"),
                        json={"reason": "ok"})
    assert again.status_code == 409
    assert [e.outcome for e in _actions(db, "account_request.approve")].count("ok") == 1
    assert len(_actions(db, "account_request.create")) == 3


def test_a_supervisee_gets_one_login_and_an_officer_belongs_to_an_office(client, world):
    taken = _new(world, "supervisee", world.office_a, supervisee_id=world.supervisees["a"].id)
    r = client.post("/users", headers=world.auth("admin"), json=taken)
    assert r.status_code == 409 and "already has a login" in r.text
    # An officer at the bureau would read the whole district without a manager's approval.
    r = client.post("/users", headers=world.auth("admin"), json=_new(world, "officer", world.bureau))
    assert r.status_code == 422 and "jurisdiction_id" in r.text


def test_admin_accounts_are_the_operators(client, world):
    r = client.post("/users", headers=world.auth("admin"), json=_new(world, "admin", world.bureau))
    assert r.status_code == 403 and "zhijiao users create-admin" in r.json()["detail"]
    r = client.post(f"/users/{world.users['admin'].id}/reset", headers=world.auth("admin"))
    assert r.status_code == 403


def test_a_managers_reset_waits_for_another_manager(client, db, world):
    from tests.factories import add_user
    from supervision.models import Role

    manager = world.users["manager"]
    r = client.post(f"/users/{manager.id}/reset", headers=world.auth("admin"))
    assert r.status_code == 202, r.text
    assert client.get("/auth/me", headers=world.auth("manager")).status_code == 401  # ended at once
    other = add_user(db, f"manager2-{world.bureau.id}", Role.manager, world.bureau)
    db.commit()
    own = _login(client, other.username, PASSWORD).json()["access_token"]
    r2 = client.post(f"/account-requests/{r.json()['id']}/approve", headers={"Authorization": f"Bearer {own}"},
                     json={"reason": "本人来电"})
    assert r2.status_code == 200, r2.text
    assert _activate(client, manager.username, r2.json()["activation_code"]).status_code == 200


def test_nobody_approves_their_own_reset(client, db, world):
    manager = world.users["manager"]
    r = client.post(f"/users/{manager.id}/reset", headers=world.auth("admin"))
    assert r.status_code == 202
    # The manager cannot log in now; even with a token from before, it approves nothing of its own.
    from core.security import issue_access_token

    db.refresh(manager)
    token = issue_access_token(client.app.state.settings.auth, user_id=manager.id, role="manager",
                               now=client.app.state.clock.now(), token_version=manager.token_version).token
    r2 = client.post(f"/account-requests/{r.json()['id']}/approve", headers={"Authorization": f"Bearer {token}"},
                     json={"reason": "me"})
    assert r2.status_code == 403, r2.text


def test_devices_are_registered_and_rotated_by_officers_not_admins(client, world):
    body = {"supervisee_id": world.supervisees["a"].id, "name": "phone", "kind": "phone", "protocol": "native"}
    assert client.post("/devices", headers=world.auth("admin"), json=body).status_code == 403
    made = client.post("/devices", headers=world.auth("officer_a"), json=body)
    assert made.status_code == 201
    did = made.json()["id"]
    r = client.patch(f"/devices/{did}", headers=world.auth("admin"), json={"rotate_secret": True})
    assert r.status_code == 403 and "secret" not in r.json()
    assert client.patch(f"/devices/{did}", headers=world.auth("admin"), json={"active": False}).status_code == 200
    assert "secret" in client.patch(f"/devices/{did}", headers=world.auth("officer_a"),
                                    json={"rotate_secret": True}).json()
