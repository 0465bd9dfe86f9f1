"""A live demo district: phones that send fixes through the real ingest route over HTTP.

``./dev demo`` runs this beside the server (``zhijiao seed simulate``; ``./dev demo
--quiet`` does not). Each simulated phone posts one fix about once a minute to
``POST /ingest/native`` with its own device token, jittering around home; now and
then one of them drives out of the district (a 'left permitted area' alert within
a few minutes), breaks its curfew (at night, strict tier) or goes silent ('signal
lost' after the tier's limit). The first walk-out starts at once, with the phone
nearest the boundary, so a newcomer's desk shows a live alert within minutes.

Time comes from the injectable clock: a test drives ``tick()`` on a manual clock
and sees the alert in seconds.
"""
from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

import httpx
from geoalchemy2.shape import to_shape
from shapely.geometry import Point
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.clock import Clock
from core.localtime import LOCAL_TZ
from core.security import keyed_hash, new_device_secret
from geo.admin_areas import admin_union
from geo.models import Fence
from supervision.demo import BUREAU_CODE, PERMITTED_CODES
from supervision.models import Device, Jurisdiction, Supervisee

DEVICE_NAME = "demo sim phone"
STEP_KM = 1.5  # per minute while driving: ~90 km/h, well under the suspicious-speed limit
KM_PER_DEG_LAT = 111.32
Mode = Literal["home", "out", "back", "silent", "curfew"]


@dataclass
class Phone:
    supervisee_id: int
    secret: str
    home: tuple[float, float]  # lon, lat (WGS-84)
    exit: tuple[float, float]  # a point ~2 km outside the permitted area
    curfew: bool
    mode: Mode = "home"
    position: tuple[float, float] = (0.0, 0.0)
    until: datetime | None = None  # when the current scenario ends
    next_send: datetime | None = None
    sent: int = 0

    def __post_init__(self) -> None:
        self.position = self.home


def _km(a: tuple[float, float], b: tuple[float, float]) -> float:
    dx = (b[0] - a[0]) * KM_PER_DEG_LAT * math.cos(math.radians(a[1]))
    return math.hypot(dx, (b[1] - a[1]) * KM_PER_DEG_LAT)


def _toward(a: tuple[float, float], b: tuple[float, float], km: float) -> tuple[float, float]:
    d = _km(a, b)
    if d <= km:
        return b
    f = km / d
    return (a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f)


def _exit_point(area, home: tuple[float, float]) -> tuple[float, float]:
    """The nearest way out: along the shortest of 16 bearings, 2 km past the boundary."""
    best = None
    for k in range(16):
        angle = 2 * math.pi * k / 16
        for km in range(1, 80):
            p = (home[0] + km * math.sin(angle) / (KM_PER_DEG_LAT * math.cos(math.radians(home[1]))),
                 home[1] + km * math.cos(angle) / KM_PER_DEG_LAT)
            if not area.contains(Point(p)):
                if best is None or km < best[0]:
                    best = (km, _toward(home, p, km + 2))
                break
    return best[1] if best else (home[0] + 1.0, home[1])


def provision_phones(db: Session, *, device_key: str, count: int = 40) -> list[Phone]:
    """A simulated phone (fresh secret) for ``count`` demo supervisees spread over the offices. Caller commits."""
    area = admin_union(db, PERMITTED_CODES).geometry
    curfewed = set(db.scalars(select(Fence.supervisee_id).where(Fence.kind == "curfew", Fence.retired_at.is_(None))))
    # Only the demo district's people: run against a real database by mistake, the
    # simulator must not give real supervisees devices and fake fixes.
    bureau = db.scalar(select(Jurisdiction).where(Jurisdiction.code == BUREAU_CODE))
    if bureau is None:
        raise RuntimeError("no demo district in this database (run `zhijiao seed demo` first)")
    offices = select(Jurisdiction.id).where(Jurisdiction.path.startswith(bureau.path))
    people = db.scalars(select(Supervisee).where(Supervisee.status == "active", Supervisee.office_id.in_(offices))
                        .order_by(Supervisee.id)).all()
    chosen = people[:: max(1, len(people) // count)][:count]
    phones = []
    for person in chosen:
        secret = new_device_secret()
        device = db.scalar(select(Device).where(Device.supervisee_id == person.id, Device.name == DEVICE_NAME))
        if device is None:
            device = Device(supervisee_id=person.id, name=DEVICE_NAME, kind="phone", protocol="native",
                            credential_hash="")
            db.add(device)
        device.credential_hash = keyed_hash(device_key, secret)
        home = to_shape(person.residence)
        phones.append(Phone(person.id, secret, (home.x, home.y), _exit_point(area, (home.x, home.y)),
                            curfew=person.id in curfewed))
    db.flush()
    return phones


@dataclass
class DemoSimulator:
    base_url: str
    phones: list[Phone]
    clock: Clock
    client: httpx.Client
    rng: random.Random = field(default_factory=lambda: random.Random(330803))
    interval: timedelta = timedelta(seconds=60)
    event_every: timedelta = timedelta(minutes=4)
    next_event: datetime | None = None
    errors: int = 0

    def start(self) -> None:
        now = self.clock.now()
        for i, phone in enumerate(self.phones):  # staggered over one interval
            phone.next_send = now + self.interval * (i / max(1, len(self.phones)))
        nearest = min(self.phones, key=lambda p: _km(p.home, p.exit))
        self._begin(nearest, "out", now)
        self.next_event = now + self.event_every

    def tick(self) -> int:
        """Send every fix that is due at the clock's time; returns how many were accepted."""
        now = self.clock.now()
        if self.next_event is None:
            self.start()
        if now >= self.next_event:
            self._scenario(now)
            self.next_event = now + self.event_every
        sent = 0
        for phone in self.phones:
            if phone.next_send is not None and now >= phone.next_send:
                phone.next_send = now + self.interval
                sent += self._send(phone, now)
        return sent

    def run(self, stop: Callable[[], bool] = lambda: False) -> None:
        """Forever (until ``stop()``): tick once a second of real time."""
        while not stop():
            self.tick()
            time.sleep(1)

    def _scenario(self, now: datetime) -> None:
        idle = [p for p in self.phones if p.mode == "home"]
        if not idle:
            return
        phone = self.rng.choice(idle)
        night = not 6 <= now.astimezone(LOCAL_TZ).hour < 22
        choice = self.rng.choice(["out", "out", "silent"] + (["curfew"] if night and phone.curfew else []))
        self._begin(phone, choice, now)

    def _begin(self, phone: Phone, mode: Mode, now: datetime) -> None:
        phone.mode = mode
        phone.until = now + {"out": timedelta(minutes=15), "silent": timedelta(minutes=45),
                             "curfew": timedelta(minutes=20)}.get(mode, timedelta(0))

    def _move(self, phone: Phone, now: datetime) -> tuple[float, float] | None:
        if phone.mode in ("out", "curfew", "silent") and phone.until and now >= phone.until:
            phone.mode = "back" if phone.mode != "silent" else "home"
        if phone.mode == "silent":
            return None
        if phone.mode == "out":
            phone.position = _toward(phone.position, phone.exit, STEP_KM)
        elif phone.mode == "curfew":  # a walk 1 km from home at night
            phone.position = _toward(phone.position, (phone.home[0] + 0.012, phone.home[1]), 0.5)
        elif phone.mode == "back":
            phone.position = _toward(phone.position, phone.home, STEP_KM)
            if phone.position == phone.home:
                phone.mode = "home"
        jitter = 0.0003
        return (phone.position[0] + self.rng.uniform(-jitter, jitter), phone.position[1] + self.rng.uniform(-jitter, jitter))

    def _send(self, phone: Phone, now: datetime) -> int:
        where = self._move(phone, now)
        if where is None:
            return 0
        phone.sent += 1
        fix = {"id": f"sim-{phone.supervisee_id}-{phone.sent}-{int(now.timestamp())}", "time": now.isoformat(),
               "lon": round(where[0], 6), "lat": round(where[1], 6), "accuracy": round(self.rng.uniform(8, 35), 1),
               "battery": round(self.rng.uniform(30, 95))}
        try:
            r = self.client.post(f"{self.base_url}/ingest/native", json={"fixes": [fix]},
                                 headers={"Authorization": f"Bearer {phone.secret}"}, timeout=10)
        except httpx.HTTPError:
            self.errors += 1
            return 0
        if r.status_code != 200:
            self.errors += 1
            return 0
        return 1
