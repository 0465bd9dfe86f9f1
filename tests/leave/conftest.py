"""Fixtures for leave: a supervisee in 衢江区 with a permitted fence, a device and an account.

Tokens are issued on demand at the ManualClock's time: the clock jumps days
ahead in these tests, far past a token's 15-minute lifetime.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from alerts.models import Alert
from core.clock import ManualClock
from core.security import issue_access_token
from geo.boundaries import bundled, load_boundary
from supervision.models import Role
from tests.factories import add_device, add_fence, add_supervisee, add_user

QUJIANG_WGS84, _ = load_boundary(bundled("330803"), "gcj02")
HOME = (118.95, 28.95)  # a village in Qujiang (WGS-84)
OUTSIDE = (118.3, 28.9)  # west of the district: outside the permitted area
HANGZHOU = (120.16, 30.27)  # the leave destination (a 5 km circle)


@dataclass
class Leaver:
    supervisee: object
    secret: str
    user: object

    def device(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secret}"}


@pytest.fixture
def clock():
    # Weeks in the past: PyJWT refuses a token whose "iat" is ahead of the wall
    # clock, and these scenarios move the ManualClock forward by days.
    return ManualClock((datetime.now(UTC) - timedelta(days=40)).replace(microsecond=0))


@pytest.fixture(autouse=True)
def _committed_world(db, world):
    # A refused action rolls the request's transaction back; commit the
    # fixture data first so that rollback cannot take the world with it.
    db.commit()


@pytest.fixture
def leaver(db, settings, world) -> Leaver:
    sup = add_supervisee(db, settings, world.office_a, world.users["officer_a"], "请假人", lon=HOME[0], lat=HOME[1])
    add_fence(db, sup, "permitted", QUJIANG_WGS84)
    _, secret = add_device(db, settings, sup, "native")
    user = add_user(db, f"leaver-{sup.id}", Role.supervisee, world.office_a, sup)
    world.users["leaver"] = user
    db.commit()
    return Leaver(sup, secret, user)


@pytest.fixture
def auth(world, settings, clock):
    """auth("officer_a") -> headers with a token valid at the clock's current time."""

    def make(who: str) -> dict[str, str]:
        user = world.users[who]
        token = issue_access_token(settings.auth, user_id=user.id, role=user.role, now=clock.now()).token
        return {"Authorization": f"Bearer {token}"}

    return make


def leave_body(start: datetime, *, days: float = 3, dest=HANGZHOU, **over) -> dict:
    body = {
        "destination": {"address": "杭州市西湖区某路1号", "circle": {"lon": dest[0], "lat": dest[1], "radius_m": 5000}},
        "reason": "探望住院的母亲",
        "depart_at": start.isoformat(),
        "return_at": (start + timedelta(days=days)).isoformat(),
    }
    body.update(over)
    return body


def fixes(t0: datetime, point: tuple[float, float], n: int = 5, step_s: int = 30, tag: str = "f") -> dict:
    return {"fixes": [{"id": f"{tag}-{t0.timestamp():.0f}-{i}", "time": (t0 + timedelta(seconds=step_s * i)).isoformat(),
                       "lon": point[0], "lat": point[1], "accuracy": 10.0} for i in range(n)]}


def alerts_of(db, supervisee_id: int, kind: str | None = None) -> list[Alert]:
    q = select(Alert).where(Alert.supervisee_id == supervisee_id)
    if kind:
        q = q.where(Alert.kind == kind)
    return list(db.scalars(q.order_by(Alert.id)))
