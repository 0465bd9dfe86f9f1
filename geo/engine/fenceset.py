"""Batch judgement of fixes against the active fences of their supervisees.

A :class:`FenceSet` is built (by the service layer) from the fences that
may apply; ``judge`` takes parallel arrays of fixes and returns a
:class:`Judgement` over the (fix, fence) pairs that apply.  Nothing is done
per supervisee in Python: fixes are paired with fences through a CSR index
(supervisee -> fence range), and the pairs are judged in one numpy call for
circles and one GEOS call per predicate for polygons, each pair using its
zone's prepared geometry (equal geometries share one prepared object).
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from .containment import Decision, ZoneTable, apply_leave_relaxation, decide_circles
from .curfew import DEFAULT_TZ, local_clock, windows_active
from .persistence import Compliance
from .zones import KIND_CODE, Circle, Fence, FenceKind, zone_geometry

__all__ = ["FenceSet", "Judgement"]

_CURFEW = KIND_CODE[FenceKind.CURFEW]


@dataclass(frozen=True, slots=True)
class Judgement:
    """Parallel arrays over the (fix, fence) pairs that applied, ordered by fix."""

    fences: tuple[Fence, ...]  # the FenceSet's fence table; ``fence`` indexes it
    n_fixes: int
    fix: np.ndarray  # int64 index into the judged batch
    fence: np.ndarray  # int64 index into ``fences``
    fence_id: np.ndarray
    fence_version: np.ndarray
    decision: np.ndarray  # int8 Decision codes
    status: np.ndarray  # int8 Compliance codes, after leave relaxation

    def per_fix(self) -> list[list[tuple[int, int, Decision]]]:
        """For each fix of the batch: [(fence_id, fence_version, Decision), ...]."""
        out: list[list[tuple[int, int, Decision]]] = [[] for _ in range(self.n_fixes)]
        for i, fid, ver, dec in zip(
            self.fix.tolist(), self.fence_id.tolist(), self.fence_version.tolist(), self.decision.tolist()
        ):
            out[i].append((fid, ver, Decision(dec)))
        return out

    def observations(self, t, fix_ids) -> dict[int, list[tuple[float, int, int]]]:
        """Persistence input per fence id: [(t, fix_id, Compliance), ...] for rule pairs."""
        t = np.asarray(t, np.float64)
        fix_ids = np.asarray(fix_ids, np.int64)
        rule = self.status != Compliance.NOT_APPLICABLE
        out: dict[int, list[tuple[float, int, int]]] = defaultdict(list)
        for fid, i, st in zip(self.fence_id[rule].tolist(), self.fix[rule].tolist(), self.status[rule].tolist()):
            out[fid].append((float(t[i]), int(fix_ids[i]), st))
        return dict(out)


class FenceSet:
    """The fences that may apply, indexed by supervisee, ready for batch judgement."""

    def __init__(self, fences: Iterable[Fence], *, tz: str = DEFAULT_TZ, leave_relaxes_curfew: bool = True) -> None:
        self.tz = tz
        self.leave_relaxes_curfew = leave_relaxes_curfew
        table = tuple(sorted(fences, key=lambda f: (f.supervisee_id, f.id, f.version)))
        self.fences = table
        n = len(table)
        sup = np.fromiter((f.supervisee_id for f in table), np.int64, n)
        self._sup_keys, self._sup_start, counts = np.unique(sup, return_index=True, return_counts=True)
        self._sup_count = counts.astype(np.int64)
        self._id = np.fromiter((f.id for f in table), np.int64, n)
        self._version = np.fromiter((f.version for f in table), np.int64, n)
        self._kind = np.fromiter((KIND_CODE[f.kind] for f in table), np.int64, n)
        self._from = np.fromiter((f.valid_from_s for f in table), np.float64, n)
        self._to = np.fromiter((f.valid_to_s for f in table), np.float64, n)
        self._circle = np.fromiter((isinstance(f.geometry, Circle) for f in table), bool, n)
        self._clon = np.array([f.geometry.lon if isinstance(f.geometry, Circle) else np.nan for f in table])
        self._clat = np.array([f.geometry.lat if isinstance(f.geometry, Circle) else np.nan for f in table])
        self._crad = np.array([f.geometry.radius_m if isinstance(f.geometry, Circle) else np.nan for f in table])
        # Interning by WKB means fences loaded separately with equal geometry share one prepared zone.
        distinct: dict[int, int] = {}
        zones: list = []
        self._zix = np.zeros(n, np.int64)
        for i, f in enumerate(table):
            if not isinstance(f.geometry, Circle):
                z = zone_geometry(f.geometry)
                self._zix[i] = distinct.setdefault(id(z), len(zones))
                if self._zix[i] == len(zones):
                    zones.append(z)
        self._zones = ZoneTable(zones)
        # Curfew windows as a CSR table: fence -> rows [w_ptr[f], w_ptr[f+1]).
        wcounts = np.fromiter((len(f.curfew) for f in table), np.int64, n)
        self._w_ptr = np.concatenate([[0], np.cumsum(wcounts)]).astype(np.int64)
        rows = [w for f in table for w in f.curfew]
        self._w_start = np.array([w.start_s for w in rows], np.int64)
        self._w_end = np.array([w.end_s for w in rows], np.int64)
        self._w_mask = np.array([w.weekday_mask for w in rows], np.int64)

    @classmethod
    def concat(cls, sets: list[FenceSet]) -> FenceSet:
        """One set judging the supervisees of several (which must be distinct), built
        from their arrays without recomputing anything: the ingest pipeline judges
        a whole wave of phones, each with its cached set, in one call instead of one
        call per phone (each call costs some fifty numpy operations, whatever its size)."""
        sets = sorted((s for s in sets if len(s)), key=lambda s: int(s._sup_keys[0]))
        if not sets:
            return cls(())
        first = sets[0]
        if any(s.tz != first.tz or s.leave_relaxes_curfew != first.leave_relaxes_curfew for s in sets):
            raise ValueError("fence sets with different time zones or leave rules cannot be judged together")
        keys = np.concatenate([s._sup_keys for s in sets])
        if np.any(np.diff(keys) <= 0):
            raise ValueError("fence sets to concatenate must hold distinct supervisees")
        out = cls.__new__(cls)
        out.tz, out.leave_relaxes_curfew = first.tz, first.leave_relaxes_curfew
        out.fences = tuple(f for s in sets for f in s.fences)
        fence_offsets = np.cumsum([0] + [len(s) for s in sets[:-1]])
        # Zones shared by several sets (every supervisee of a district has its boundary as
        # permitted area) stay one zone: the engine's per-zone work is done once.
        index: dict[int, int] = {}
        zones: list = []
        remaps = []
        for s in sets:
            remap = np.empty(len(s._zones.zones), np.int64)
            for i, z in enumerate(s._zones.zones):
                remap[i] = index.setdefault(id(z), len(zones))
                if remap[i] == len(zones):
                    zones.append(z)
            remaps.append(remap)
        row_offsets = np.cumsum([0] + [s._w_start.size for s in sets[:-1]])
        out._sup_keys = keys
        out._sup_start = np.concatenate([s._sup_start + o for s, o in zip(sets, fence_offsets)])
        out._sup_count = np.concatenate([s._sup_count for s in sets])
        for name in ("_id", "_version", "_kind", "_from", "_to", "_circle", "_clon", "_clat", "_crad",
                     "_w_start", "_w_end", "_w_mask"):
            setattr(out, name, np.concatenate([getattr(s, name) for s in sets]))
        # A circle's _zix is 0 and unused (its pairs never reach the zone table).
        out._zix = np.concatenate([r[s._zix] if r.size else s._zix for s, r in zip(sets, remaps)])
        out._zones = ZoneTable(zones)
        out._w_ptr = np.concatenate([s._w_ptr[:-1] + o for s, o in zip(sets, row_offsets)]
                                    + [np.array([sum(s._w_start.size for s in sets)], np.int64)]).astype(np.int64)
        return out

    def __len__(self) -> int:
        return len(self.fences)

    def for_supervisee(self, supervisee_id: int) -> tuple[Fence, ...]:
        i = np.searchsorted(self._sup_keys, supervisee_id)
        if i == len(self._sup_keys) or self._sup_keys[i] != supervisee_id:
            return ()
        s = int(self._sup_start[i])
        return self.fences[s : s + int(self._sup_count[i])]

    def _pairs(self, sids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        keys = self._sup_keys
        if keys.size == 0:
            return np.empty(0, np.int64), np.empty(0, np.int64)
        idx = np.clip(np.searchsorted(keys, sids), 0, keys.size - 1)
        found = keys[idx] == sids
        counts = np.where(found, self._sup_count[idx], 0)
        pair_fix = np.repeat(np.arange(sids.size, dtype=np.int64), counts)
        first = np.cumsum(counts) - counts
        pair_fence = self._sup_start[idx][pair_fix] + (np.arange(pair_fix.size, dtype=np.int64) - first[pair_fix])
        return pair_fix, pair_fence

    def _curfew_active(self, t: np.ndarray, fence: np.ndarray) -> np.ndarray:
        starts, ends = self._w_ptr[fence], self._w_ptr[fence + 1]
        counts = ends - starts
        row_pair = np.repeat(np.arange(fence.size, dtype=np.int64), counts)
        row = starts[row_pair] + (np.arange(row_pair.size) - (np.cumsum(counts) - counts)[row_pair])
        weekday, sod = local_clock(t, self.tz)
        act = windows_active(
            weekday[row_pair], sod[row_pair], self._w_start[row], self._w_end[row], self._w_mask[row]
        )
        return np.bincount(row_pair[act], minlength=fence.size) > 0

    def judge(self, supervisee_ids, t, lon, lat, acc) -> Judgement:
        """Judge a batch of fixes (parallel arrays; ``t`` in UTC epoch seconds, WGS-84, metres)."""
        sids = np.asarray(supervisee_ids, np.int64).ravel()
        t = np.asarray(t, np.float64).ravel()
        lon = np.asarray(lon, np.float64).ravel()
        lat = np.asarray(lat, np.float64).ravel()
        acc = np.asarray(acc, np.float64).ravel()
        if not (sids.size == t.size == lon.size == lat.size == acc.size):
            raise ValueError("supervisee_ids, t, lon, lat and acc must have the same length")
        if np.any(~(acc >= 0)):
            raise ValueError("accuracy radii must be non-negative numbers")
        pf, pz = self._pairs(sids)
        tp = t[pf]
        ok = (self._from[pz] <= tp) & (tp < self._to[pz])
        cur = np.flatnonzero(ok & (self._kind[pz] == _CURFEW))
        if cur.size:
            ok[cur] = self._curfew_active(tp[cur], pz[cur])
        pf, pz = pf[ok], pz[ok]
        dec = np.empty(pf.size, dtype=np.int8)
        circ = self._circle[pz]
        c = np.flatnonzero(circ)
        if c.size:
            fz, ff = pz[c], pf[c]
            dec[c] = decide_circles(lon[ff], lat[ff], acc[ff], self._clon[fz], self._clat[fz], self._crad[fz])
        g = np.flatnonzero(~circ)
        if g.size:
            ff = pf[g]
            dec[g] = self._zones.decide(self._zix[pz[g]], lon[ff], lat[ff], acc[ff])
        status = apply_leave_relaxation(
            pf, self._kind[pz], dec, sids.size, relax_curfew=self.leave_relaxes_curfew
        ).astype(np.int8)
        return Judgement(
            self.fences, int(sids.size), pf, pz, self._id[pz], self._version[pz], dec, status
        )
