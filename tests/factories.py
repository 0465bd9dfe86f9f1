"""Builders for test data: a small bureau with two offices."""
from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field
from datetime import date

from geoalchemy2.shape import from_shape
from shapely.geometry import Point
from sqlalchemy.orm import Session

from core.security import hash_password, issue_access_token, keyed_hash
from supervision.jurisdictions import add_jurisdiction
from supervision.models import Jurisdiction, Role, Supervisee, User
from supervision.schemas import _ID_CHECK, _ID_WEIGHTS

PASSWORD = "correct horse battery"
_HASH = hash_password(PASSWORD)
_counter = itertools.count(1)


def national_id(n: int | None = None) -> str:
    n = next(_counter) if n is None else n
    body = f"33080319{80 + n % 20:02d}0101{(n * 7919) % 1000:03d}"
    body = body[:17]
    total = sum(int(c) * w for c, w in zip(body, _ID_WEIGHTS))
    return body + _ID_CHECK[total % 11]


def random_national_id(rng: random.Random) -> str:
    body = "330803" + f"{rng.randrange(1950, 2005)}{rng.randrange(1, 13):02d}{rng.randrange(1, 29):02d}{rng.randrange(1000):03d}"
    total = sum(int(c) * w for c, w in zip(body, _ID_WEIGHTS))
    return body + _ID_CHECK[total % 11]


@dataclass
class World:
    bureau: Jurisdiction
    office_a: Jurisdiction
    office_b: Jurisdiction
    users: dict[str, User] = field(default_factory=dict)
    supervisees: dict[str, Supervisee] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}


def add_user(db: Session, username: str, role: Role, where: Jurisdiction, supervisee: Supervisee | None = None) -> User:
    user = User(username=username, full_name=username, role=role, jurisdiction_id=where.id,
                supervisee_id=supervisee.id if supervisee else None, password_hash=_HASH)
    db.add(user)
    db.flush()
    return user


def add_supervisee(db: Session, settings, office: Jurisdiction, officer: User | None, name: str,
                   lon: float = 118.95, lat: float = 28.95, tier: str = "ordinary") -> Supervisee:
    nid = random_national_id(random.Random(name))
    row = Supervisee(name=name, id_hash=keyed_hash(settings.auth.id_hash_key, nid), id_last4=nid[-4:],
                     sentence_type="probation", term_start=date(2026, 1, 1), term_end=date(2027, 12, 31), tier=tier,
                     office_id=office.id, officer_id=officer.id if officer else None,
                     residence=from_shape(Point(lon, lat), srid=4326), residence_address="某村1号",
                     permitted_area_codes=["330803", "330802"], status="active")
    db.add(row)
    db.flush()
    return row


def build_world(db: Session, settings, clock) -> World:
    tag = next(_counter)
    bureau = add_jurisdiction(db, name=f"测试区司法局{tag}", level="bureau", parent=None, code=f"T{tag}")
    office_a = add_jurisdiction(db, name="甲司法所", level="office", parent=bureau, code=f"T{tag}-A")
    office_b = add_jurisdiction(db, name="乙司法所", level="office", parent=bureau, code=f"T{tag}-B")
    w = World(bureau, office_a, office_b)
    w.users["officer_a"] = add_user(db, f"officer-a-{tag}", Role.officer, office_a)
    w.users["officer_b"] = add_user(db, f"officer-b-{tag}", Role.officer, office_b)
    w.users["manager"] = add_user(db, f"manager-{tag}", Role.manager, bureau)
    w.users["auditor"] = add_user(db, f"auditor-{tag}", Role.auditor, bureau)
    w.users["admin"] = add_user(db, f"admin-{tag}", Role.admin, bureau)
    w.supervisees["a"] = add_supervisee(db, settings, office_a, w.users["officer_a"], "甲一")
    w.supervisees["a2"] = add_supervisee(db, settings, office_a, w.users["officer_a"], "甲二")
    w.supervisees["b"] = add_supervisee(db, settings, office_b, w.users["officer_b"], "乙一")
    w.users["supervisee_a"] = add_user(db, f"sup-a-{tag}", Role.supervisee, office_a, w.supervisees["a"])
    w.users["supervisee_b"] = add_user(db, f"sup-b-{tag}", Role.supervisee, office_b, w.supervisees["b"])
    for key, user in w.users.items():
        w.tokens[key] = issue_access_token(settings.auth, user_id=user.id, role=user.role, now=clock.now()).token
    db.flush()
    return w


def add_fence(db: Session, supervisee: Supervisee, kind: str, geometry, *, radius_m: float | None = None,
              valid_from=None, valid_to=None, curfew=None, min_fixes: int = 2, min_seconds: float = 60.0,
              label: str | None = None):
    """A fence with one version, written directly (the REST layer is tested separately)."""
    from datetime import UTC, datetime

    from geo.models import Fence, FenceVersion

    fence = Fence(supervisee_id=supervisee.id, kind=kind, label=label or kind, sensitive=kind == "exclusion",
                  current_version=1, source={})
    db.add(fence)
    db.flush()
    db.add(FenceVersion(fence_id=fence.id, version=1, geom=from_shape(geometry, srid=4326), radius_m=radius_m,
                        datum="wgs84", raw={}, valid_from=valid_from or datetime(2020, 1, 1, tzinfo=UTC),
                        valid_to=valid_to, curfew=curfew or [], min_fixes=min_fixes, min_seconds=min_seconds))
    db.flush()
    return fence


def add_device(db: Session, settings, supervisee: Supervisee, protocol: str = "native", *,
               owntracks_user: str | None = None, owntracks_device: str | None = None,
               jt808_phone: str | None = None, jt808_terminal_id: str | None = "T000001", kind: str = "phone",
               positioning_grade: bool = False):
    """A device and its secret."""
    from core.security import broker_password_hash, new_device_secret
    from supervision.models import Device

    secret = new_device_secret()
    device = Device(supervisee_id=supervisee.id, name=f"{protocol}-{kind}", kind=kind, protocol=protocol,
                    positioning_grade=positioning_grade,
                    credential_hash=keyed_hash(settings.auth.device_key, secret), owntracks_user=owntracks_user,
                    owntracks_device=owntracks_device, jt808_phone=jt808_phone,
                    jt808_terminal_id=jt808_terminal_id if protocol == "jt808" else None,
                    mqtt_password_hash=broker_password_hash(secret) if protocol == "owntracks" else None)
    db.add(device)
    db.flush()
    return device, secret


def add_bureau_head(db: Session, bureau: Jurisdiction, username: str) -> User:
    """The head of a district bureau (局长): a manager who may approve positioning orders."""
    user = add_user(db, username, Role.manager, bureau)
    user.bureau_head = True
    db.flush()
    return user


def add_positioning_order(db: Session, supervisee: Supervisee, *, starts_at, ends_at, proposed_by: User,
                          approved_by: User, ground: str = "left_area_unapproved"):
    """An approved electronic-positioning order (Law art. 29) and its window, as orders.service writes them:
    what a world with a tracker or wristband needs before its fixes are stored."""
    from geo.ingest.models import PositioningWindow
    from orders.models import PositioningOrder

    order = PositioningOrder(supervisee_id=supervisee.id, office_id=supervisee.office_id, ground=ground,
                             facts="测试：未经批准离开所居住的县", proposed_by=proposed_by.id, proposed_at=starts_at,
                             starts_at=starts_at, ends_at=ends_at, status="approved", approved_by=approved_by.id,
                             approved_at=starts_at)
    db.add(order)
    db.flush()
    db.add(PositioningWindow(order_id=order.id, supervisee_id=supervisee.id, starts_at=starts_at, ends_at=ends_at))
    db.flush()
    return order


def seed(url: str, build):
    """``build(db)`` in one committed session on the database at ``url`` (for tests that run
    real server processes against it); returns what ``build`` returned."""
    from sqlalchemy import create_engine

    from core.db import sqlalchemy_url

    engine = create_engine(sqlalchemy_url(url))
    try:
        with Session(engine, expire_on_commit=False) as db:
            result = build(db)
            db.commit()
    finally:
        engine.dispose()
    return result


def seed_world_with_device(url: str, settings, protocol: str = "native",
                           exclusion: tuple[float, float] | None = None, **device) -> tuple[World, str]:
    """A committed world plus one ``protocol`` device of supervisee "a", in the database at ``url``
    (for tests that run real server processes against it); returns the world and the device secret.
    With ``exclusion`` (lon, lat), supervisee "a" also gets a 300 m exclusion zone there."""
    from core.clock import SystemClock

    def build(db: Session) -> tuple[World, str]:
        world = build_world(db, settings, SystemClock())
        if exclusion is not None:
            add_fence(db, world.supervisees["a"], "exclusion", Point(*exclusion), radius_m=300)
        _, secret = add_device(db, settings, world.supervisees["a"], protocol, **device)
        return world, secret

    return seed(url, build)
