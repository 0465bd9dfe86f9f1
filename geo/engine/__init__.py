"""Pure geofence decisions: zones, accuracy-aware containment, curfew, hysteresis.

Plain values in, plain values out; no database or web imports.  Times are
UTC epoch seconds (float64); positions are WGS-84 lon/lat; distances metres.
"""
from .containment import Decision, apply_leave_relaxation, compliance, decide, decide_circles, decide_zones
from .curfew import CurfewWindow, curfew_active, local_clock, to_epoch
from .fenceset import FenceSet, Judgement
from .persistence import Compliance, Episode, PersistenceRule, PersistenceState, episodes, replay
from .zones import Circle, Fence, FenceKind, ZoneGeometry, distance_to_boundary_m, local_xy, zone_geometry

__all__ = [
    "Circle",
    "Compliance",
    "CurfewWindow",
    "Decision",
    "Episode",
    "Fence",
    "FenceKind",
    "FenceSet",
    "Judgement",
    "PersistenceRule",
    "PersistenceState",
    "ZoneGeometry",
    "apply_leave_relaxation",
    "compliance",
    "curfew_active",
    "decide",
    "decide_circles",
    "decide_zones",
    "distance_to_boundary_m",
    "episodes",
    "local_clock",
    "local_xy",
    "replay",
    "to_epoch",
    "zone_geometry",
]
