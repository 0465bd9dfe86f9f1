"""Fixtures for ingest: a supervisee inside 衢江区 with real fences and a device."""
from __future__ import annotations

from dataclasses import dataclass

import pytest
from shapely.geometry import Point

from geo.boundaries import bundled, load_boundary
from tests.factories import add_device, add_fence, add_supervisee

QUJIANG_WGS84, _ = load_boundary(bundled("330803"), "gcj02")
HOME = (118.95, 28.95)  # a village in Qujiang (WGS-84)
EXCLUDED = (119.0, 28.9)  # centre of a 300 m exclusion zone, also in Qujiang
OUTSIDE = (118.3, 28.9)  # west of the district, outside the permitted area


@dataclass
class Tracked:
    supervisee: object
    permitted: object
    exclusion: object
    device: object
    secret: str

    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secret}"}


@pytest.fixture
def tracked(db, settings, world):
    sup = add_supervisee(db, settings, world.office_a, world.users["officer_a"], "丁", lon=HOME[0], lat=HOME[1])
    permitted = add_fence(db, sup, "permitted", QUJIANG_WGS84)
    exclusion = add_fence(db, sup, "exclusion", Point(*EXCLUDED), radius_m=300)
    device, secret = add_device(db, settings, sup, "native")
    return Tracked(sup, permitted, exclusion, device, secret)


@pytest.fixture
def db_settings_device(db, settings, world):
    """Make a supervisee with a device of the given protocol: returns (supervisee, secret)."""

    def make(protocol: str, **kw):
        sup = add_supervisee(db, settings, world.office_a, world.users["officer_a"], f"设备{protocol}",
                             lon=HOME[0], lat=HOME[1])
        add_fence(db, sup, "permitted", QUJIANG_WGS84)
        _, secret = add_device(db, settings, sup, protocol, **kw)
        return sup, secret

    return make
