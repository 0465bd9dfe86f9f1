"""Pure suspicion checks on a decoded fix. Flagged fixes are stored as evidence, never dropped.

Flags:

* ``future``   the fix time is more than 60 s after ``now`` (clock skew allowance).
* ``speed``    reaching this fix from its neighbour needs more than ``max_speed_mps``.
               Order-agnostic: the neighbour may be before or after this fix (late
               uploads), only |dt| matters. The distance is first reduced by both
               accuracy radii, so two honest but noisy fixes a second apart do not
               look like a jump; dt is floored at 1 s because most protocols only
               carry whole seconds.
* ``accuracy`` the accuracy radius is worse than ``max_accuracy_m`` **or missing**:
               without a radius the engine cannot tell inside from outside, so the
               fix must not count as a confident position.
* ``mock``     the device said the position came from a mock-location provider.
* ``tamper``   the device reported tampering (the decoders set DecodedFix.tamper).

Both positions handed to the speed check must be in the same datum (convert the
fix to WGS-84 first, as the rest of the pipeline does): GCJ-02 is ~580 m off
around Quzhou, which alone would look like a jump.
"""
from __future__ import annotations

import math
from datetime import datetime, timedelta

from geo.datum import EARTH_RADIUS_M
from geo.ingest.fix import DecodedFix

FUTURE_TOLERANCE = timedelta(seconds=60)
MIN_DT_S = 1.0

# (time, lat, lon) or (time, lat, lon, accuracy_m) of the neighbouring fix.
Neighbour = tuple[datetime, float, float] | tuple[datetime, float, float, float | None]


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres between two points in degrees."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def implied_speed_mps(fix: DecodedFix, neighbour: Neighbour) -> float:
    """The least speed that explains both fixes, given their accuracy radii."""
    t, lat, lon = neighbour[0], neighbour[1], neighbour[2]
    other_acc = neighbour[3] if len(neighbour) > 3 else None
    slack = (fix.accuracy_m or 0.0) + (other_acc or 0.0)
    distance = max(0.0, haversine_m(fix.lat, fix.lon, lat, lon) - slack)
    dt = max(abs((fix.time - t).total_seconds()), MIN_DT_S)
    return distance / dt


def suspicion_flags(
    fix: DecodedFix,
    *,
    now: datetime,
    previous: Neighbour | None,
    max_speed_mps: float,
    max_accuracy_m: float,
) -> set[str]:
    """The suspicion flags for ``fix`` (an empty set when nothing is wrong)."""
    flags: set[str] = set()
    if fix.time > now + FUTURE_TOLERANCE:
        flags.add("future")
    if previous is not None and implied_speed_mps(fix, previous) > max_speed_mps:
        flags.add("speed")
    if fix.accuracy_m is None or fix.accuracy_m > max_accuracy_m:
        flags.add("accuracy")
    if fix.mock:
        flags.add("mock")
    if fix.tamper:
        flags.add("tamper")
    return flags
