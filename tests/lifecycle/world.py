"""A committed database with one supervisee who has data in every package, made through the
real routes (fixes, a violation and its alert with a note, leave, face enrolment and a face
check-in with photos), for the end-of-term and purge tests."""
from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select, update
from sqlalchemy.orm import Session, sessionmaker

from core.clock import ManualClock
from core.jobs import run_job
from core.localtime import LOCAL_TZ
from core.security import issue_access_token
from tests.conftest import migrated_database
from tests.factories import World, add_fence, build_world, seed

ROOT = Path(__file__).resolve().parents[2]
FACES = ROOT / "tests" / "data" / "faces"
HOME = (118.95, 28.95)  # a village in Qujiang (WGS-84)
OUTSIDE = (118.3, 28.9)  # west of the district: outside the permitted area
HANGZHOU = (120.16, 30.27)


@dataclass
class Scene:
    url: str
    db: Session  # a session of its own on the committed database (autocommit off; tests re-read)
    client: TestClient
    clock: ManualClock
    settings: object
    world: World
    app: object
    sid: int = 0
    device_secret: str = ""
    facts: dict = field(default_factory=dict)

    def auth(self, who: str) -> dict[str, str]:
        user = self.world.users[who]
        token = issue_access_token(self.settings.auth, user_id=user.id, role=user.role, now=self.clock.now()).token
        return {"Authorization": f"Bearer {token}"}

    def run(self, name: str, at: datetime | None = None):
        """One round of the app's job ``name`` at ``at`` (default: the clock), committed, as the runner does."""
        from api.app import JOBS

        [job] = [j for j in JOBS if j.name == name]
        return run_job(job, self.app.state.session_factory, now=at or self.clock.now(), settings=self.settings,
                       audit=self.app.state.audit, force=True)

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        env = {**os.environ, "ZHIJIAO_DATABASE_URL": self.url,
               "ZHIJIAO_AUDIT_CHECKPOINT_PATH": str(self.settings.audit.audit_checkpoint_path)}
        return subprocess.run([sys.executable, "-m", "api.cli", *args], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=120)


@contextmanager
def scene(server_url: str, settings, tmp_path: Path, *, term_days: int = 35) -> Iterator[Scene]:
    """A fresh migrated database, the real app on it (no session override: requests commit), and a world
    whose supervisee "a" ends their term ``term_days`` after the clock's start."""
    from api.app import create_app
    from core.db import sqlalchemy_url

    settings.audit.audit_checkpoint_path = tmp_path / "checkpoints.jsonl"
    settings.lifecycle.purge_retention_days = 30
    # Weeks in the past: tokens are issued at the manual clock's time, and PyJWT
    # refuses one issued after the wall clock; the scenario runs ~70 days forward.
    clock = ManualClock((datetime.now(UTC) - timedelta(days=100)).replace(microsecond=0))
    with migrated_database(server_url, "zj_endterm_purge") as url:
        engine = create_engine(sqlalchemy_url(url))
        try:
            world = seed(url, lambda db: _world(db, settings, clock, term_days))
            app = create_app(settings, clock=clock, engine=engine)
            with TestClient(app, raise_server_exceptions=False) as client, \
                    sessionmaker(engine, expire_on_commit=False)() as db:
                s = Scene(url, db, client, clock, settings, world, app, sid=world.supervisees["a"].id)
                yield s
        finally:
            engine.dispose()


def _world(db: Session, settings, clock: ManualClock, term_days: int) -> World:
    from geo.boundaries import bundled, load_boundary
    from supervision.models import Supervisee

    world = build_world(db, settings, clock)
    sup = world.supervisees["a"]
    end = (clock.now() + timedelta(days=term_days)).astimezone(LOCAL_TZ).date()
    db.execute(update(Supervisee).where(Supervisee.id == sup.id).values(term_start=date(2020, 1, 1), term_end=end))
    qujiang, _ = load_boundary(bundled("330803"), "gcj02")
    add_fence(db, sup, "permitted", qujiang)
    return world


def fixes(t0: datetime, point: tuple[float, float], n: int = 5, step_s: int = 30, tag: str = "f") -> dict:
    return {"fixes": [{"id": f"{tag}-{t0.timestamp():.0f}-{i}", "time": (t0 + timedelta(seconds=step_s * i)).isoformat(),
                       "lon": point[0], "lat": point[1], "accuracy": 10.0} for i in range(n)]}


def face(name: str) -> bytes:
    return (FACES / f"person-{name}.jpg").read_bytes()


def fill(s: Scene) -> None:
    """Data for the person in every package, through the routes."""
    c, sid = s.client, s.sid
    r = c.post("/devices", headers=s.auth("officer_a"),
               json={"supervisee_id": sid, "name": "手机", "kind": "phone", "protocol": "native"})
    assert r.status_code == 201, r.text
    s.device_secret = r.json()["secret"]
    device = {"Authorization": f"Bearer {s.device_secret}"}
    t0 = s.clock.now() - timedelta(hours=10)
    assert c.post("/ingest/native", headers=device, json=fixes(t0, HOME, tag="home")).status_code == 200
    # Five hours later outside the permitted area, long enough to persist: an episode and its alert.
    r = c.post("/ingest/native", headers=device, json=fixes(t0 + timedelta(hours=5), OUTSIDE, n=8, tag="out"))
    assert r.status_code == 200, r.text
    alerts = c.get("/alerts", headers=s.auth("officer_a")).json()["items"]
    [alert] = [a for a in alerts if a["supervisee_id"] == sid]
    s.facts["alert_id"] = alert["id"]
    assert c.post(f"/alerts/{alert['id']}/notes", headers=s.auth("officer_a"),
                  json={"body": "已电话联系本人"}).status_code == 201
    # Leave: requested by the supervisee, approved by the officer (a destination fence).
    start = s.clock.now() + timedelta(days=2)
    body = {"destination": {"address": "杭州市西湖区某路1号",
                            "circle": {"lon": HANGZHOU[0], "lat": HANGZHOU[1], "radius_m": 5000}},
            "reason": "探望住院的母亲", "depart_at": start.isoformat(),
            "return_at": (start + timedelta(days=2)).isoformat()}
    r = c.post("/leave", headers=s.auth("supervisee_a"), json=body)
    assert r.status_code == 201, r.text
    leave_id = r.json()["id"]
    assert c.post(f"/leave/{leave_id}/approve", headers=s.auth("officer_a"), json={"reason": "同意"}).status_code == 200
    s.facts["leave_id"] = leave_id
    # Face enrolment and a face check-in with two photos.
    files = [("photos", ("r0.jpg", face("a-2"), "image/jpeg")), ("photos", ("r1.jpg", face("a-3"), "image/jpeg"))]
    r = c.post(f"/supervisees/{sid}/face-enrolment", files=files, headers=s.auth("officer_a"))
    assert r.status_code == 201, r.text
    r = c.post("/checkins/spot-checks", headers=s.auth("officer_a"), json={"supervisee_id": sid, "requires_face": True})
    assert r.status_code == 201, r.text
    occ = r.json()["id"]
    for _ in range(100):
        ch = c.post(f"/checkins/{occ}/challenge", headers=s.auth("supervisee_a")).json()
        if ch["challenge"] in ("turn_left", "turn_right"):
            break
    form = {"nonce": ch["nonce"], "lon": str(HOME[0]), "lat": str(HOME[1]), "accuracy_m": "20", "datum": "wgs84"}
    r = c.post(f"/checkins/{occ}/submit", data=form, headers=s.auth("supervisee_a"),
               files={"neutral": ("n.jpg", face("a-1"), "image/jpeg"), "challenge": ("c.jpg", face("a-2"), "image/jpeg")})
    assert r.status_code == 200, r.text
