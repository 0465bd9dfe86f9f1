"""The world the authorization matrix and the fuzzers run in: two bureaus, thirteen principals,
and one object of every kind in scope (supervisee "a", office A of bureau 1) and out of scope
(supervisee "x", office X of bureau 2).

Built on tests.factories.build_world (bureau 1 with offices A and B); bureau 2 and the odd
principals (expired, disabled, revoked by a password change, a device) are added here.
"""
from __future__ import annotations

import base64
from pathlib import Path
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from alerts.models import Webhook
from core.security import issue_access_token
from supervision.jurisdictions import add_jurisdiction
from supervision.models import Role
from tests.alerts.alert_helpers import make_alert
from tests.factories import World, add_device, add_fence, add_supervisee, add_user, build_world

# An id no table reaches in a test database (bigint, so it is a valid id, just nobody's).
MISSING = 2**62

# The principals, in the order of the matrix's columns (tests/security/matrix.py).
PRINCIPALS = ("same", "other", "xbur", "mgr", "aud", "admin", "sup", "sup2", "dev", "anon", "exp", "dis", "pwd")
PRINCIPAL_NAMES = {
    "same": "officer of office A (the objects' office)",
    "other": "officer of office B (same bureau)",
    "xbur": "officer of office X (another bureau)",
    "mgr": "manager of bureau 1",
    "aud": "auditor of bureau 1",
    "admin": "administrator of bureau 1",
    "sup": "supervisee a (the objects' owner)",
    "sup2": "supervisee a2 (same office, another person)",
    "dev": "a device credential of supervisee a",
    "anon": "no credentials",
    "exp": "officer A's token, expired",
    "dis": "a disabled officer of office A",
    "pwd": "an officer of office A, token from before a password change",
}


@dataclass
class MatrixWorld:
    base: World
    tokens: dict[str, str] = field(default_factory=dict)
    # kind -> (in scope id, out of scope id); MISSING is the nonexistent one.
    objects: dict[str, tuple[int, int]] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)  # device secrets of supervisee a, by protocol
    owntracks: tuple[str, str] = ("", "")  # (X-Limit-U, X-Limit-D) of supervisee a's OwnTracks phone
    nonces: dict[str, str] = field(default_factory=dict)  # which -> a fetched check-in nonce of that occurrence
    activation: tuple[str, str] = ("", "")  # (username, one-time code) of an officer account made by the admin

    def headers(self, who: str) -> dict[str, str]:
        if who == "anon":
            return {}
        if who == "dev":
            return {"Authorization": f"Bearer {self.secrets['native']}"}
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def owntracks_headers(self) -> dict[str, str]:
        user, device = self.owntracks
        basic = base64.b64encode(f"{user}:{self.secrets['owntracks']}".encode()).decode()
        return {"Authorization": f"Basic {basic}", "X-Limit-U": user, "X-Limit-D": device}

    def target(self, kind: str, which: str) -> int:
        """``which`` is "in", "out" or "missing"."""
        if which == "missing":
            return MISSING
        inside, outside = self.objects[kind]
        return inside if which == "in" else outside


def _token(settings, user, now: datetime) -> str:
    return issue_access_token(settings.auth, user_id=user.id, role=user.role, now=now,
                              token_version=user.token_version or 0).token


def build_matrix_world(db: Session, settings, clock) -> MatrixWorld:
    base = build_world(db, settings, clock)
    now = clock.now()
    b1 = base.bureau
    bureau2 = add_jurisdiction(db, name=f"{b1.name}-乙局", level="bureau", parent=None, code=f"{b1.code}-X")
    office_x = add_jurisdiction(db, name="丙司法所", level="office", parent=bureau2, code=f"{b1.code}-XA")
    officer_x = add_user(db, f"officer-x-{b1.id}", Role.officer, office_x)
    sup_x = add_supervisee(db, settings, office_x, officer_x, "丙一")
    base.supervisees["x"] = sup_x
    sup2 = add_user(db, f"sup-a2-{b1.id}", Role.supervisee, base.office_a, base.supervisees["a2"])
    user_x = add_user(db, f"sup-x-{b1.id}", Role.supervisee, office_x, sup_x)
    admin_x = add_user(db, f"admin-x-{b1.id}", Role.admin, bureau2)  # asks for bureau 2's account request
    disabled = add_user(db, f"disabled-{b1.id}", Role.officer, base.office_a)
    disabled.active = False
    revoked = add_user(db, f"revoked-{b1.id}", Role.officer, base.office_a)
    db.flush()

    w = MatrixWorld(base)
    users = {"same": base.users["officer_a"], "other": base.users["officer_b"], "xbur": officer_x,
             "mgr": base.users["manager"], "aud": base.users["auditor"], "admin": base.users["admin"],
             "sup": base.users["supervisee_a"], "sup2": sup2, "supx": user_x, "adminx": admin_x, "dis": disabled, "pwd": revoked}
    w.tokens = {who: _token(settings, user, now) for who, user in users.items()}
    w.tokens["exp"] = _token(settings, base.users["officer_a"], now - timedelta(days=1))
    revoked.revoke_sessions()  # what a password change does
    db.flush()

    a = base.supervisees["a"]
    for protocol in ("native", "osmand"):
        _, w.secrets[protocol] = add_device(db, settings, a, protocol)
    w.owntracks = (f"ot-{a.id}", "phone")
    _, w.secrets["owntracks"] = add_device(db, settings, a, "owntracks", owntracks_user=w.owntracks[0],
                                           owntracks_device=w.owntracks[1])
    dev_a, _ = add_device(db, settings, a, "native")
    dev_x, _ = add_device(db, settings, sup_x, "native")

    from shapely.geometry import Point

    fence_a = add_fence(db, a, "exclusion", Point(118.96, 28.96).buffer(0.002), label="禁止区域")
    fence_x = add_fence(db, sup_x, "exclusion", Point(118.96, 28.96).buffer(0.002), label="禁止区域")
    alert_a = make_alert(db, base, clock, "a")
    alert_x = make_alert(db, base, clock, "x")
    hook_a = _webhook(db, b1.id, users["mgr"].id, now)
    hook_x = _webhook(db, bureau2.id, officer_x.id, now)
    db.flush()

    w.objects = {
        "supervisee": (a.id, sup_x.id),
        "bureau": (b1.id, bureau2.id),
        "jurisdiction": (base.office_a.id, office_x.id),
        "user": (users["sup"].id, officer_x.id),
        "device": (dev_a.id, dev_x.id),
        "fence": (fence_a.id, fence_x.id),
        "alert": (alert_a.id, alert_x.id),
        "webhook": (hook_a.id, hook_x.id),
        "officer": (users["same"].id, officer_x.id),  # an officer to assign an alert to
    }
    w.objects["media"] = (_photo(db, settings, a.id), _photo(db, settings, sup_x.id))
    from lifecycle.models import LegalHold

    # Legal holds set by each person's own officer (a manager may lift one he did not set).
    holds = [LegalHold(supervisee_id=sid, reason="申诉未结", set_by=by, set_at=now)
             for sid, by in ((a.id, users["same"].id), (sup_x.id, officer_x.id))]
    db.add_all(holds)
    db.flush()
    w.objects["legal_hold"] = (holds[0].id, holds[1].id)
    _cameras(db, settings, w, (base.office_a, office_x), (alert_a, alert_x), now)
    from tests.security.world_rollcall import seed_rollcalls

    seed_rollcalls(db, w, settings, now)
    _orders(db, w, users, officer_x, now)
    return w


def _cameras(db: Session, settings, w: MatrixWorld, offices, alerts, now: datetime) -> None:
    """A dome camera in office A and one in office X, over the alerts' place, each with a grabbed frame
    attached to its office's alert."""
    from geoalchemy2.shape import from_shape
    from shapely.geometry import Point

    from cameras.models import Camera, CameraSnapshot
    from core import media

    settings.cameras.camera_networks = ["127.0.0.0/8"]  # the URLs the rows register and import
    frame = (Path(__file__).resolve().parent.parent / "data" / "faces" / "person-a-1.jpg").read_bytes()
    cams, snaps = [], []
    for office, alert in zip(offices, alerts):
        cam = Camera(code=f"M-{office.id}", name="矩阵", lon=118.9, lat=28.9, geog=from_shape(Point(118.9, 28.9), srid=4326),
                     source_datum="wgs84", heading=0, fov=360, range_m=200, stream_url="http://127.0.0.21:9/x.jpg",
                     jurisdiction_id=office.id, status="active")
        db.add(cam)
        db.flush()
        snap = CameraSnapshot(camera_id=cam.id, alert_id=alert.id, supervisee_id=alert.supervisee_id, around_at=now,
                              state="done", attempts=1, requested_at=now, done_at=now, media_ids=[
                                  media.store(db, data=frame, content_type="image/jpeg", kind="snapshot",
                                              purpose="camera_evidence", supervisee_id=alert.supervisee_id,
                                              settings=settings)])
        db.add(snap)
        db.flush()
        cams.append(cam.id)
        snaps.append(snap.id)
    w.objects["camera"] = tuple(cams)
    w.objects["camera_snapshot"] = tuple(snaps)


def _orders(db: Session, w: MatrixWorld, users: dict, officer_x, now: datetime) -> None:
    """Electronic-positioning orders (Law art. 29): one in force and one waiting for approval, for a and x.
    The manager of bureau 1 is also its head (局长), the only one who approves them."""
    from orders.models import PositioningOrder
    from tests.factories import add_positioning_order

    users["mgr"].bureau_head = True
    a, x = w.base.supervisees["a"], w.base.supervisees["x"]
    approved, proposed = [], []
    for sup, officer in ((a, users["same"]), (x, officer_x)):
        approved.append(add_positioning_order(db, sup, starts_at=now - timedelta(days=1), ends_at=now + timedelta(days=30),
                                              proposed_by=officer, approved_by=users["mgr"]).id)
        row = PositioningOrder(supervisee_id=sup.id, office_id=sup.office_id, ground="police_penalty",
                               facts="被给予治安管理处罚", proposed_by=officer.id, proposed_at=now,
                               starts_at=now + timedelta(days=40), ends_at=now + timedelta(days=60), status="proposed")
        db.add(row)
        db.flush()
        proposed.append(row.id)
    w.objects["order"] = tuple(approved)
    w.objects["proposed_order"] = tuple(proposed)


def _photo(db: Session, settings, supervisee_id: int) -> int:
    """A stored check-in photo of one supervisee (the photo route serves what the store holds)."""
    from pathlib import Path

    from checkins.face_check import PHOTO_KIND, PURPOSE
    from core import media

    data = (Path(__file__).resolve().parent.parent / "data" / "faces" / "person-a-1.jpg").read_bytes()
    return media.store(db, data=data, content_type="image/jpeg", kind=PHOTO_KIND, purpose=PURPOSE,
                       supervisee_id=supervisee_id, settings=settings)


def _webhook(db: Session, bureau_id: int, by: int, now: datetime) -> Webhook:
    hook = Webhook(bureau_id=bureau_id, url="https://hooks.example.invalid/zj", secret="s" * 32, description="t",
                   event_types=None, active=True, created_by=by, created_at=now)
    db.add(hook)
    db.flush()
    return hook


def seed_through_the_api(client, db: Session, w: MatrixWorld, now: datetime, settings) -> None:
    """The objects their services write, in scope (a, office A, bureau 1) and out (x, office X,
    bureau 2): leave, standing permits, account requests, held registrations, an activation code,
    check-ins."""
    _seed_leave(client, w, now)
    _seed_accounts(client, w)
    _seed_registrations(client, w, settings)
    _seed_checkins(client, db, w, now)
    _seed_sanctions(db, w, now)


def _seed_sanctions(db: Session, w: MatrixWorld, now: datetime) -> None:
    """For a and x: a 训诫 a rule proposed (office level), last month's assessment not yet
    confirmed, and a tier proposal (ordinary → strict) waiting for an officer."""
    from datetime import date

    from risk.models import TierProposal
    from sanctions.models import MonthlyAssessment, Sanction

    made: dict[str, list[int]] = {"sanction": [], "assessment": [], "tier_proposal": []}
    for sup in ("a", "x"):
        s = w.base.supervisees[sup]
        rows = {
            "sanction": Sanction(supervisee_id=s.id, office_id=s.office_id, kind="admonition", status="proposed",
                                 facts="失联5日", evidence={"alerts": []}, rule_key=f"matrix:{s.id}", proposed_at=now,
                                 required_level="office"),
            "assessment": MonthlyAssessment(supervisee_id=s.id, office_id=s.office_id, month=date(2026, 1, 1),
                                            tier=s.tier, score=100.0, grade="good", breakdown={}, computed_at=now),
            "tier_proposal": TierProposal(supervisee_id=s.id, office_id=s.office_id, from_tier=s.tier, to_tier="strict",
                                          reasons=[{"rule": "intake"}], rule_key=f"matrix:{s.id}", status="proposed",
                                          proposed_at=now, required_level="office"),
        }
        for kind, row in rows.items():
            db.add(row)
            db.flush()
            made[kind].append(row.id)
    db.commit()
    for kind, ids in made.items():
        w.objects[kind] = tuple(ids)


def _seed_checkins(client, db: Session, w: MatrixWorld, now: datetime) -> None:
    """Check-ins of a and x: an open spot check each (its challenge fetched, so a nonce is ready)
    and a missed one in the review ledger."""
    from checkins.models import CheckinLedgerEntry

    occurrences, nonces, entries = [], [], []
    for officer, sup, who in (("same", "a", "sup"), ("xbur", "x", "supx")):
        sid = w.base.supervisees[sup].id
        made = []
        for _ in range(2):
            r = client.post("/checkins/spot-checks", headers=w.headers(officer),
                            json={"supervisee_id": sid, "requires_face": False, "minutes": 60})
            assert r.status_code == 201, r.text
            made.append(r.json()["id"])
        occurrences.append(made[0])
        r = client.post(f"/checkins/{made[0]}/challenge", headers=w.headers(who))
        assert r.status_code == 200, r.text
        nonces.append(r.json()["nonce"])
        entry = CheckinLedgerEntry(occurrence_id=made[1], supervisee_id=sid, office_id=w.base.supervisees[sup].office_id,
                                   kind="missed", outcome="missed", created_at=now)
        db.add(entry)
        db.flush()
        entries.append(entry.id)
    db.commit()
    w.objects["occurrence"] = tuple(occurrences)
    w.objects["ledger_entry"] = tuple(entries)
    w.nonces = {"in": nonces[0], "out": nonces[1], "missing": nonces[0]}


def _seed_accounts(client, w: MatrixWorld) -> None:
    """An auditor account each bureau's administrator asked for (pending a manager), an officer
    account made directly, whose activation code nobody has redeemed yet, and a supervisee of
    office A and of office X without a login (for the admin's request to make one)."""
    from tests.factories import national_id

    made = []
    for who, office in (("same", "in"), ("xbur", "out")):
        r = client.post("/supervisees", headers=w.headers(who), json={
            "name": "无账号", "national_id": national_id(), "sentence_type": "probation",
            "term_start": "2026-01-01", "term_end": "2027-06-30", "office_id": w.target("jurisdiction", office)})
        assert r.status_code == 201, r.text
        made.append(r.json()["id"])
    w.objects["loginless"] = tuple(made)
    made = []
    for who, bureau in (("admin", "in"), ("adminx", "out")):
        r = client.post("/users", headers=w.headers(who), json={
            "username": f"matrix-aud-{who}-{w.base.bureau.id}", "full_name": "新审计", "role": "auditor",
            "jurisdiction_id": w.target("bureau", bureau)})
        assert r.status_code == 202, r.text
        made.append(r.json()["id"])
    w.objects["account_request"] = tuple(made)
    r = client.post("/users", headers=w.headers("admin"), json={
        "username": f"matrix-act-{w.base.bureau.id}", "full_name": "待激活", "role": "officer",
        "jurisdiction_id": w.target("jurisdiction", "in")})
    assert r.status_code == 201, r.text
    w.activation = (r.json()["username"], r.json()["activation_code"])


def _seed_registrations(client, w: MatrixWorld, settings) -> None:
    """A registration of office A and one of office X held for bureau review (drawn by the sample),
    and one of office A entered by the manager (who may not decide it)."""
    from tests.factories import national_id

    share = settings.supervision.registration_review_share
    settings.supervision.registration_review_share = 1.0
    made = []
    try:
        for who, office in (("same", "in"), ("xbur", "out"), ("mgr", "in")):
            r = client.post("/supervisees", headers=w.headers(who), json={
                "name": "待审", "national_id": national_id(), "sentence_type": "probation",
                "term_start": "2026-01-01", "term_end": "2027-06-30", "office_id": w.target("jurisdiction", office)})
            assert r.status_code == 202, r.text
            made.append(r.json()["id"])
    finally:
        settings.supervision.registration_review_share = share
    w.objects["registration"] = (made[0], made[1])
    w.objects["own_registration"] = (made[2], made[1])  # held, made by the manager of bureau 1


def _seed_leave(client, w: MatrixWorld, now: datetime) -> None:
    """Leave and standing permits as their service writes them: a pending 3-day request and a
    pending permit, each asked for by supervisee a and by x themselves (nobody approves their
    own request, so one entered by an officer would not show who may approve)."""
    from core.localtime import LOCAL_TZ

    today = now.astimezone(LOCAL_TZ).date()
    depart = now + timedelta(days=2)
    made: dict[str, list[int]] = {"leave": [], "permit": []}
    for who, sup in (("sup", "a"), ("supx", "x")):
        sid = w.base.supervisees[sup].id
        r = client.post("/leave", headers=w.headers(who), json={
            "supervisee_id": sid, "destination": destination(), "reason": "探望住院的母亲",
            "depart_at": depart.isoformat(), "return_at": (depart + timedelta(days=3)).isoformat()})
        assert r.status_code == 201, r.text
        made["leave"].append(r.json()["id"])
        r = client.post("/leave-permits", headers=w.headers(who), json={
            "supervisee_id": sid, "area": destination(118.3, 28.9, 3000), "reason": "每天去工地上班",
            "weekdays": [0, 1, 2, 3, 4], "start_time": "08:00", "end_time": "18:00",
            "valid_from": today.isoformat(), "valid_until": (today + timedelta(days=60)).isoformat()})
        assert r.status_code == 201, r.text
        made["permit"].append(r.json()["id"])
    w.objects["leave"] = tuple(made["leave"])
    w.objects["permit"] = tuple(made["permit"])


def destination(lon: float = 120.16, lat: float = 30.27, radius_m: float = 5000) -> dict:
    return {"address": "杭州市西湖区某路1号", "circle": {"lon": lon, "lat": lat, "radius_m": radius_m}}


def isolated(client, db, request: dict):
    """One request whose effects are rolled back afterwards (a savepoint of the test's transaction
    around it), so that an approval or a retirement cannot change what the next request sees."""
    db.commit()
    savepoint = db.get_bind().begin_nested()
    try:
        return client.request(**request)
    finally:
        db.rollback()
        savepoint.rollback()
        db.expunge_all()
