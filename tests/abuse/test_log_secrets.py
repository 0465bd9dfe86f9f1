"""Hole 8 of issue 12: no credential reaches a log line, whatever name or position it
is sent under. Canary tokens (a live access token, a forged one, a device secret of
each protocol, an unknown secret, a websocket ticket, a user's password) go to a
real uvicorn server on 127.0.0.1 through every authentication path — the
Authorization header (Bearer and Basic), query strings under expected and
unexpected names, paths, form and JSON bodies, the websocket URL and its auth
message; its whole output (access and error logs at debug level) must not contain
any of them. (There is no activation code yet; add it here when there is.)"""
from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from core.clock import SystemClock
from core.logging import redact
from core.security import generate_password, hash_password, issue_access_token, new_device_secret
from core.settings import Settings
from tests.alerts.test_hub import ORIGIN
from tests.conftest import migrated_database
from tests.factories import add_device, build_world, seed
from tests.servers import start_server


@dataclass
class Logged:
    base: str
    log: Path
    canaries: dict[str, str]


@pytest.fixture(scope="module")
def logged(server_url: str, tmp_path_factory) -> Iterator[Logged]:
    with migrated_database(server_url, "zj_logsec") as url:
        settings = Settings()
        password = generate_password()  # a human-style password: no secret-like shape to redact by

        def build(db):
            world = build_world(db, settings, SystemClock())
            world.users["officer_b"].password_hash = hash_password(password)
            devices = {p: add_device(db, settings, world.supervisees["a"], p)[1] for p in ("osmand", "native")}
            devices["owntracks"] = add_device(db, settings, world.supervisees["a"], "owntracks",
                                              owntracks_user="canary-user", owntracks_device="canary-phone")[1]
            return world, devices

        world, devices = seed(url, build)
        secret = devices["osmand"]
        log = tmp_path_factory.mktemp("logsec") / "server.log"
        with log.open("w") as out:
            proc: subprocess.Popen
            proc, base = start_server(url, log=out, log_level="debug")
        ticket = httpx.post(base + "/ws/tickets", headers=world.auth("officer_a")).json()["ticket"]
        # An activation code: the admin makes an officer account; the code is the new user's credential.
        made = httpx.post(base + "/users", headers=world.auth("admin"), json={
            "username": "canary-officer", "full_name": "新同事", "role": "officer",
            "jurisdiction_id": world.office_a.id})
        assert made.status_code == 201, made.text
        canaries = {"jwt": world.tokens["officer_a"], "device": secret, "ticket": ticket, "password": password,
                    "activation_code": made.json()["activation_code"],
                    "native": devices["native"], "owntracks": devices["owntracks"],
                    "username_b": world.users["officer_b"].username,
                    "unknown_secret": new_device_secret(),
                    "forged_jwt": issue_access_token(settings.auth.model_copy(update={"jwt_secret": "x" * 32}),
                                                     user_id=1, role="admin", now=SystemClock().now()).token}
        try:
            yield Logged(base, log, canaries)
        finally:
            proc.terminate()
            proc.wait(10)


def _requests(base: str, c: dict[str, str]) -> None:
    with httpx.Client(base_url=base, timeout=10) as http:
        http.get(f"/auth/me?jwt={c['jwt']}")
        http.get(f"/supervisees?limit=5&session={c['jwt']}")
        http.get(f"/ingest/osmand?device={c['device']}&lat=28.9&lon=118.9")
        http.get(f"/ingest/osmand?id={c['device']}&lat=28.9&lon=118.9&timestamp=1")
        http.get(f"/ingest/osmand?deviceid={c['unknown_secret']}&lat=28.9&lon=118.9")
        http.post(f"/ingest/osmand?x={c['device']}", data={"id": c["device"], "lat": "28.9", "lon": "118.9"})
        http.get(f"/devices/{c['device']}")
        http.get(f"/auth/{c['jwt']}")
        http.get(f"/{c['forged_jwt']}/x")
        http.get("/auth/me", headers={"Authorization": f"Bearer {c['forged_jwt']}"})
        http.post("/ingest/native", headers={"Authorization": f"Bearer {c['unknown_secret']}"}, json={"fixes": []})
        http.post("/ingest/owntracks", auth=("someone", c["unknown_secret"]), json={"_type": "location"})
        # Each device's own protocol, and the others'.
        http.post("/ingest/native", headers={"Authorization": f"Bearer {c['native']}"}, json={"fixes": []})
        http.post("/ingest/native", headers={"Authorization": f"Bearer {c['native']}"}, content=b"{broken")
        http.post("/ingest/owntracks", auth=("canary-user", c["owntracks"]), headers={"X-Limit-D": "canary-phone"},
                  json={"_type": "location", "lat": 28.9, "lon": 118.9, "tst": 1, "acc": 10})
        http.get(f"/ingest/osmand?id={c['native']}&lat=28.9&lon=118.9&timestamp=1")
        http.get("/auth/me", headers={"Authorization": f"Bearer {c['owntracks']}"})
        # The password: JSON and form logins, a wrong-name login, query strings, Basic auth.
        login = {"username": c["username_b"], "password": c["password"]}
        http.post("/auth/login", json=login)
        http.post("/auth/login", data=login)
        http.post("/auth/login", json={"username": "no-such-user", "password": c["password"]})
        http.post("/auth/login", content=('{"username": "x", "password": "%s", "extra": 1}' % c["password"]).encode(),
                  headers={"content-type": "application/json"})
        http.get(f"/auth/login?username={c['username_b']}&password={c['password']}")
        http.get("/auth/me", auth=(c["username_b"], c["password"]))
        http.post("/ingest/owntracks", auth=(c["username_b"], c["password"]), json={"_type": "location"})
        # The activation code: a wrong password first (refused), in a query string, then redeemed.
        http.post("/auth/activate", json={"username": "canary-officer", "code": c["activation_code"], "password": "short"})
        http.post(f"/auth/activate?code={c['activation_code']}", json={"username": "x", "code": "y" * 20,
                                                                       "password": "p" * 16})
        http.post("/auth/activate", json={"username": "canary-officer", "code": c["activation_code"],
                                          "password": c["password"] + "-officer"})


async def _sockets(base: str, c: dict[str, str]) -> None:
    ws = base.replace("http://", "ws://")
    for uri, origin in ((f"{ws}/ws/alerts?jwt={c['jwt']}&device={c['device']}", ORIGIN),
                        (f"{ws}/ws/alerts?ticket={c['ticket']}", "http://evil.example"),
                        (f"{ws}/ws/alerts/{c['jwt']}", ORIGIN),
                        (f"{ws}/ws/{c['device']}", ORIGIN),
                        (f"{ws}/ws/alerts?password={c['password']}&native={c['native']}", ORIGIN)):
        try:
            async with connect(uri, origin=origin, open_timeout=5) as conn:
                await conn.send('{"type": "auth", "ticket": "%s", "last_seq": null}' % c["ticket"])
                await asyncio.wait_for(conn.recv(), 5)
        except (InvalidStatus, ConnectionClosed, TimeoutError):
            pass


def test_no_canary_token_reaches_any_log_line(logged: Logged) -> None:
    _requests(logged.base, logged.canaries)
    asyncio.run(_sockets(logged.base, logged.canaries))
    httpx.get(logged.base + "/health")  # the log is written by now
    text = logged.log.read_text()
    assert "/auth/me?jwt=" in text and "WebSocket /ws/alerts" in text, text[-2000:]  # the requests were logged
    leaked = {name: [line for line in text.splitlines() if token in line][:3]
              for name, token in logged.canaries.items() if token in text and name != "username_b"}
    assert not leaked, leaked


@pytest.mark.parametrize("line", [
    "GET /x?jwt=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlc2lnbmF0dXJl HTTP/1.1",
    "path /devices/eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlc2lnbmF0dXJl",
    "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.",  # unsigned ("none") JWT
])
def test_a_jwt_is_redacted_by_its_shape(line: str) -> None:
    assert "eyJ" not in redact(line)


def test_a_device_secret_is_redacted_by_its_shape_anywhere() -> None:
    secret = new_device_secret()
    for line in (f"/ingest/x/{secret}", f"device {secret} unknown", f"'{secret}'", f"?q=1&anything={secret}"):
        assert secret not in redact(line), line


def test_every_query_value_is_redacted_but_plain_text_is_kept() -> None:
    line = redact('127.0.0.1:5 - "GET /ingest/osmand?lat=28.9&lon=118.9&whatever=abc HTTP/1.1" 200')
    assert "28.9" not in line and "abc" not in line and "/ingest/osmand?lat=" in line and '" 200' in line
    kept = "job escalate: 3 alerts escalated in 0.012s; api.routes.ingest at 2026-01-01T00:00:00+00:00"
    assert redact(kept) == kept


def test_arguments_and_tracebacks_are_redacted_in_the_record() -> None:
    """Formatters that read record.args (uvicorn's access log) and tracebacks
    (an exception quoting a URL) get redacted values too."""
    import io
    import logging

    from core.logging import install_redaction

    install_redaction()
    secret = new_device_secret()
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.getLogger("zhijiao.test.redaction")
    logger.addHandler(handler)
    try:
        logger.warning('%s - "%s %s HTTP/%s" %d', "127.0.0.1:1", "GET", f"/x?device={secret}", "1.1", 200)
        try:
            raise RuntimeError(f"could not reach https://h/x?id={secret}")
        except RuntimeError:
            logger.exception("delivery failed")
    finally:
        logger.removeHandler(handler)
    text = out.getvalue()
    assert secret not in text and '"GET /x?device=[redacted] HTTP/1.1" 200' in text and "RuntimeError" in text
