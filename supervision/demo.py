"""The demo district: 衢江区 (Qujiang, Quzhou) with 393 supervisees.

The bureau's boundary is the real one (GCJ-02 from Amap, converted to
WGS-84). The justice offices' areas are a *synthetic* partition of it
(Voronoi cells around seed points, clipped to the district): real township
boundaries are not in the bundled data. Office names are real townships of
Qujiang. Data is deterministic (seeded random); passwords are fresh each run.

This module makes the people and the offices; the district's areas and
everyone's fences are geo's (geo/demo.py, which calls this), since
supervision sits below geo and may not write fences.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import shapely
from geoalchemy2.shape import from_shape
from shapely.geometry import MultiPolygon, Point, Polygon
from shapely.prepared import prep
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.audit import AuditLog
from core.clock import Clock
from core.context import Ctx
from core.principal import Principal, RequestContext
from core.security import broker_password_hash, generate_password, hash_password, keyed_hash, new_device_secret
from supervision.jurisdictions import add_jurisdiction
from supervision.models import Device, Jurisdiction, Role, SentenceType, Supervisee, Tier, User
from supervision.schemas import _ID_CHECK, _ID_WEIGHTS

BUREAU_CODE = "330803"
PERMITTED_CODES = ["330803", "330802"]  # 衢江区 ∪ 柯城区 (Law art. 27)
OFFICES = ["樟潭街道司法所", "浮石街道司法所", "东港街道司法所", "廿里镇司法所",
           "杜泽镇司法所", "高家镇司法所", "湖南镇司法所", "莲花镇司法所"]
SUPERVISEES = 393
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林郑谢罗梁宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红娥玲芬燕彬鹏辉斌宇浩凯健俊帆帅旭宁龙林欣晨阳佳建国志文海波春"


@dataclass
class DemoAccount:
    username: str
    role: str
    where: str
    password: str


def national_id(rng: random.Random, birth: date) -> str:
    body = f"330803{birth:%Y%m%d}{rng.randrange(1000):03d}"
    total = sum(int(c) * w for c, w in zip(body, _ID_WEIGHTS))
    return body + _ID_CHECK[total % 11]


def partition(area: MultiPolygon, n: int, rng: random.Random) -> list[MultiPolygon]:
    """Split an area into n cells: Voronoi around random interior points."""
    seeds = random_points(area, n, rng)
    cells = shapely.voronoi_polygons(shapely.MultiPoint(seeds), extend_to=area.envelope.buffer(0.1))
    out = []
    for seed in seeds:
        cell = next(c for c in cells.geoms if c.contains(Point(seed)))
        part = cell.intersection(area)
        polys = [g for g in getattr(part, "geoms", [part]) if isinstance(g, Polygon)]
        out.append(MultiPolygon(polys))
    return out


def random_points(area, n: int, rng: random.Random) -> list[tuple[float, float]]:
    minx, miny, maxx, maxy = area.bounds
    prepared = prep(area)
    pts: list[tuple[float, float]] = []
    while len(pts) < n:
        p = (rng.uniform(minx, maxx), rng.uniform(miny, maxy))
        if prepared.contains(Point(p)):
            pts.append(p)
    return pts


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def _account(db: Session, accounts: list[DemoAccount], username: str, role: Role, where: Jurisdiction,
             full_name: str, supervisee_id: int | None = None) -> User:
    password = generate_password()
    user = db.scalar(select(User).where(User.username == username))
    if user is None:
        user = User(username=username, full_name=full_name, role=role, jurisdiction_id=where.id,
                    supervisee_id=supervisee_id, password_hash="")
        db.add(user)
    user.password_hash = hash_password(password)
    user.revoke_sessions()  # a refreshed demo password ends the old sessions
    db.flush()
    accounts.append(DemoAccount(username, role, where.name, password))
    return user


def _devices(db: Session, accounts: list[DemoAccount], device_key: str) -> None:
    """For each demo supervisee account, a phone with our native app and one with
    OwnTracks (HTTP or MQTT mode, user = the account's name), each with a fresh secret."""
    for user in db.scalars(select(User).where(User.username.like("demo-supervisee%")).order_by(User.id)):
        for name, protocol, label in (("demo phone", "native", "device"), ("demo owntracks", "owntracks", "owntracks")):
            secret = new_device_secret()
            device = db.scalar(select(Device).where(Device.supervisee_id == user.supervisee_id, Device.name == name))
            if device is None:
                ot = protocol == "owntracks"
                device = Device(supervisee_id=user.supervisee_id, name=name, kind="phone", protocol=protocol,
                                credential_hash="", owntracks_user=user.username if ot else None,
                                owntracks_device="phone" if ot else None)
                db.add(device)
            device.credential_hash = keyed_hash(device_key, secret)
            device.mqtt_password_hash = broker_password_hash(secret) if protocol == "owntracks" else None
            db.flush()
            accounts.append(DemoAccount(f"{label} of {user.username}", "device", user.jurisdiction.name, secret))


def demo_seeded(db: Session) -> bool:
    """Has the demo district been built in this database?"""
    return db.scalar(select(Jurisdiction.id).where(Jurisdiction.code == BUREAU_CODE)) is not None


def seed_people(db: Session, *, id_hash_key: str, today: date, district: MultiPolygon | None,
                device_key: str = "") -> list[DemoAccount]:
    """Build the offices, accounts and supervisees in ``district`` (or refresh the passwords). Caller commits."""
    accounts: list[DemoAccount] = []
    if demo_seeded(db):
        # Already seeded: hand out fresh passwords for the same accounts.
        for user in db.scalars(select(User).where(User.username.like("demo-%")).order_by(User.id)):
            _account(db, accounts, user.username, Role(user.role), user.jurisdiction, user.full_name, user.supervisee_id)
        _devices(db, accounts, device_key)
        return accounts

    assert district is not None, "a first seeding needs the district's boundary"
    rng = random.Random(330803)
    bureau = add_jurisdiction(db, name="衢州市衢江区司法局", level="bureau", parent=None, code=BUREAU_CODE,
                              boundary=from_shape(district, srid=4326))
    cells = partition(district, len(OFFICES), rng)
    offices = [add_jurisdiction(db, name=name, level="office", parent=bureau, code=f"{BUREAU_CODE}-{i + 1:02d}",
                                boundary=from_shape(cell, srid=4326))
               for i, (name, cell) in enumerate(zip(OFFICES, cells))]
    _account(db, accounts, "demo-admin", Role.admin, bureau, "系统管理员")
    _account(db, accounts, "demo-manager", Role.manager, bureau, "区局" + _name(rng))
    _account(db, accounts, "demo-auditor", Role.auditor, bureau, "检察" + _name(rng))
    officers: dict[int, list[User]] = {}
    for i, office in enumerate(offices):
        officers[office.id] = [_account(db, accounts, f"demo-officer{i + 1}{suffix}", Role.officer, office, _name(rng))
                               for suffix in ("a", "b")]
    sentence_mix = [SentenceType.probation] * 80 + [SentenceType.temporary_release] * 9 + \
        [SentenceType.parole] * 8 + [SentenceType.control] * 3
    tier_mix = [Tier.strict] * 25 + [Tier.ordinary] * 55 + [Tier.lenient] * 20
    weights = np.array([c.area for c in cells])
    # Residences: more people where the office area is larger, at least a few per office.
    counts = np.maximum(8, np.round(weights / weights.sum() * SUPERVISEES)).astype(int)
    counts[int(np.argmax(counts))] += SUPERVISEES - int(counts.sum())
    first_supervisee: dict[int, Supervisee] = {}
    for office, cell, count in zip(offices, cells, counts):
        for lon, lat in random_points(cell.buffer(-0.002), int(count), rng):
            birth = date(1960, 1, 1) + timedelta(days=rng.randrange(365 * 45))
            start = today - timedelta(days=rng.randrange(20, 700))
            nid = national_id(rng, birth)
            # Drawn in the order the row's fields always drew them (the demo stays the same).
            name, sentence = _name(rng), rng.choice(sentence_mix)
            term_end = start + timedelta(days=rng.randrange(180, 1460))
            if term_end <= today:
                # Still under supervision (the term-end job would release it at once): the
                # term ends within the coming year, some within the reminders' 30 days.
                term_end = today + timedelta(days=(term_end - start).days % 360 + 3)
            row = Supervisee(
                name=name, id_hash=keyed_hash(id_hash_key, nid), id_last4=nid[-4:],
                sentence_type=sentence, term_start=start,
                term_end=term_end, tier=rng.choice(tier_mix),
                office_id=office.id, officer_id=rng.choice(officers[office.id]).id,
                residence=from_shape(Point(lon, lat), srid=4326), residence_address=f"{office.name[:-3]}某村{rng.randrange(1, 200)}号",
                permitted_area_codes=PERMITTED_CODES, status="active",
            )
            db.add(row)
            first_supervisee.setdefault(office.id, row)
    db.flush()
    for i, office in enumerate(offices[:2]):
        person = first_supervisee[office.id]
        _account(db, accounts, f"demo-supervisee{i + 1}", Role.supervisee, office, person.name, person.id)
    if device_key:
        _devices(db, accounts, device_key)
    return accounts


def acting_as(db: Session, user: User, *, settings, clock: Clock, audit: AuditLog) -> Ctx:
    """A service context as a demo person, so seeded records go through the services (their
    checks, authority and audit rows) as in real use."""
    path = db.scalar(select(Jurisdiction.path).where(Jurisdiction.id == user.jurisdiction_id))
    principal = Principal(user.id, user.username, user.role, user.jurisdiction_id, path, user.supervisee_id,
                          user.token_version)
    return Ctx(db=db, request=RequestContext(principal, source_addr="demo-seed"), audit=audit, settings=settings,
               clock=clock)
