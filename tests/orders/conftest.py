"""A world with a bureau head (the only approver of positioning orders) and helpers to drive orders over REST."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from core.security import issue_access_token
from tests.factories import add_bureau_head


@pytest.fixture
def head(db, settings, clock, world):
    """The head of the world's bureau (局长), with a token as world.auth("head")."""
    user = add_bureau_head(db, world.bureau, f"head-{world.bureau.id}")
    world.users["head"] = user
    world.tokens["head"] = issue_access_token(settings.auth, user_id=user.id, role=user.role, now=clock.now()).token
    return user


def propose(client, world, *, start: datetime, end: datetime, who: str = "officer_a", sup: str = "a",
            ground: str = "left_area_unapproved"):
    return client.post(f"/supervisees/{world.supervisees[sup].id}/positioning-orders", headers=world.auth(who),
                       json={"ground": ground, "facts": "2026年3月未经批准前往杭州", "starts_at": start.isoformat(),
                             "ends_at": end.isoformat()})


def approve(client, world, order_id: int, who: str = "head"):
    return client.post(f"/positioning-orders/{order_id}/approve", headers=world.auth(who), json={})


def make_order(client, world, *, start: datetime, end: datetime, sup: str = "a") -> dict:
    """An approved order (proposed by officer a, approved by the head)."""
    r = propose(client, world, start=start, end=end, sup=sup)
    assert r.status_code == 201, r.text
    r = approve(client, world, r.json()["id"])
    assert r.status_code == 200, r.text
    return r.json()


DAY = timedelta(days=1)


def reissue_tokens(world, settings, clock) -> None:
    """New access tokens at the clock's time (a test that moves the clock days ahead outlives them)."""
    for key, user in world.users.items():
        world.tokens[key] = issue_access_token(settings.auth, user_id=user.id, role=user.role, now=clock.now()).token
