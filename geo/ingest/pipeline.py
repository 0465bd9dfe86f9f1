"""Ingest: the whole path of a batch of fixes from one device, in small steps.

    decode (per protocol, in the route) → to WGS-84 → lock and prefetch
    (one round trip) → deduplicate → legal basis (refuse positioning data
    outside an order, Law art. 29) → flag suspicious → judge against fences
    → fold episodes → store fixes (COPY) → raise alerts → update last contact

Every step reads and extends one ``Batch`` (one device's fixes). A *wave* is
several batches of distinct supervisees (a group commit's requests,
geo/ingest/group_commit.py): the steps that talk to the database do it once
for the whole wave — one prefetch round trip, one fold read and write, one
COPY, one last-contact upsert — and the engine judges the whole wave in one
call, so a wave of a hundred phones' single fixes costs about what one phone's did. A single batch is a wave of one.
Everything happens in the caller's transaction; the caller commits, and only
then acknowledges, so an acknowledged fix is durable and its alerts exist with
it (outbox).
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Callable

import numpy as np
from sqlalchemy.orm import Session

from core.errors import Conflict, Forbidden, ServiceError
from core.settings import Settings
from geo.datum import to_wgs84
from geo.engine import FenceSet, Judgement, PersistenceRule
from geo.fences.cache import LATE_FIX_HORIZON, FenceCache
from geo.fences.loading import load_fence_set
from geo.ingest.alerting import raise_batch_alerts, update_signal
from geo.ingest import store
from geo.ingest.checks import implied_speed_mps, suspicion_flags
from geo.ingest.devices import DeviceIdentity
from geo.ingest.fix import DecodedFix
from geo.ingest.folds import FoldResult, fold_fence, load_folds, write_snapshots
from geo.ingest.purpose import Window, needs_order, purpose_at, refusal_message


@dataclass
class IngestContext:
    db: Session
    now: datetime
    settings: Settings
    device: DeviceIdentity
    fences: FenceCache


@dataclass
class Batch:
    fixes: list[DecodedFix]
    lon: np.ndarray = field(default_factory=lambda: np.empty(0))
    lat: np.ndarray = field(default_factory=lambda: np.empty(0))
    new: list[int] = field(default_factory=list)  # indexes of fixes not stored before
    duplicates: int = 0
    fingerprints: dict[int, str] = field(default_factory=dict)
    prefetched: store.Prefetched | None = None
    flags: dict[int, set[str]] = field(default_factory=dict)
    ids: dict[int, int] = field(default_factory=dict)  # fix index -> fixes.id
    fence_set: FenceSet | None = None
    judgement: Judgement | None = None
    decisions: dict[int, list[list[int]]] = field(default_factory=dict)
    folds: list[FoldResult] = field(default_factory=list)
    alert_ids: set[int] = field(default_factory=set)
    purposes: dict[int, str] = field(default_factory=dict)  # fix index -> legal basis it is stored under
    refused: list[int] = field(default_factory=list)  # positioning fixes outside every order: not stored

    @property
    def judged(self) -> list[int]:
        return [i for i in self.new if not self.flags.get(i)]


def convert_datum(batch: Batch, ctx: IngestContext) -> None:
    """Every position to WGS-84 (vectorised per declared datum); raw input is kept."""
    lon = np.fromiter((f.lon for f in batch.fixes), np.float64, len(batch.fixes))
    lat = np.fromiter((f.lat for f in batch.fixes), np.float64, len(batch.fixes))
    for datum in {f.datum for f in batch.fixes} - {"wgs84"}:
        mask = np.fromiter((f.datum == datum for f in batch.fixes), bool, len(batch.fixes))
        lon[mask], lat[mask] = to_wgs84(lon[mask], lat[mask], datum)
    batch.lon, batch.lat = lon, lat


def prefetch(wave: list[tuple[Batch, IngestContext]], *, wait: bool = True) -> None:
    """Lock every supervisee's ingest and read what the next steps need: one round trip for the wave."""
    requests = []
    for batch, ctx in wave:
        dev = ctx.device
        times = [f.time for f in batch.fixes]
        requests.append(store.PrefetchRequest(
            device_id=dev.device_id, supervisee_id=dev.supervisee_id, keys=list({f.dedup_key for f in batch.fixes}),
            first=min(times), last=max(times), count=len(batch.fixes),
            windows=needs_order(dev.kind, dev.positioning_grade)))
    for (batch, _), prefetched in zip(wave, store.prefetch_many(wave[0][1].db, requests, wait=wait)):
        batch.prefetched = prefetched


def deduplicate(batch: Batch, ctx: IngestContext) -> None:
    """Known fixes are acknowledged again, not stored twice; same key, other payload: 409."""
    seen: dict[str, tuple[int, str]] = {}
    for i, f in enumerate(batch.fixes):
        key, fp = f.dedup_key, f.payload_fingerprint()
        batch.fingerprints[i] = fp
        if key in seen:
            if seen[key][1] != fp:
                raise Conflict(f"fix {key!r} appears twice in the batch with different content", field=f"fixes[{i}]")
            batch.duplicates += 1
            continue
        seen[key] = (i, fp)
    known = batch.prefetched.known
    for key, (i, fp) in seen.items():
        if key in known:
            if known[key] != fp:
                raise Conflict(f"fix {key!r} was already received with different content", field=f"fixes[{i}]")
            batch.duplicates += 1
        else:
            batch.new.append(i)


def assign_purpose(batch: Batch, ctx: IngestContext) -> None:
    """Each new fix's legal basis at its own time (geo.ingest.purpose); a tracker's fix
    outside every order is dropped from the batch, never judged nor stored.

    A batch refused whole answers 403 with the reason (JT/T 808: a failure
    result; MQTT: an audited refusal); a batch straddling the lapse stores the
    fixes before it and counts the rest as refused in the acknowledgement.
    """
    dev = ctx.device
    windows = [Window(*w) for w in batch.prefetched.windows]
    kept = []
    for i in batch.new:
        purpose = purpose_at(batch.fixes[i].time, windows, kind=dev.kind, positioning_grade=dev.positioning_grade)
        if purpose is None:
            batch.refused.append(i)
        else:
            batch.purposes[i] = purpose
            kept.append(i)
    batch.new = kept
    if batch.refused and not kept:
        raise Forbidden(refusal_message(batch.fixes[batch.refused[0]].time, dev.kind), field="fixes")


def flag_suspicious(batch: Batch, ctx: IngestContext) -> None:
    """Future, too fast, too inaccurate, mock or tamper: kept, flagged, not judged.

    Speed is judged against the time-neighbours among the stored fixes as well
    as the batch: otherwise a phone could send, in a later request, fixes timed
    between real ones ("at home" 20 s after each fix in an exclusion zone) and
    have late-data reconciliation withdraw a genuine violation.
    """
    cfg = ctx.settings.ingest
    order = sorted(batch.new, key=lambda i: batch.fixes[i].time)
    if not order:
        return
    stored = batch.prefetched.neighbours
    stored_times = [n[0] for n in stored]
    events = sorted([(n[0], 0, n) for n in stored] + [(batch.fixes[i].time, 1, i) for i in order],
                    key=lambda e: (e[0], e[1]))
    previous = None
    for _, kind, item in events:
        if kind == 0:
            previous = item
            continue
        i = item
        f, wgs = batch.fixes[i], _wgs_fix(batch, i)
        flags = suspicion_flags(wgs, now=ctx.now, previous=previous, max_speed_mps=cfg.max_speed_mps,
                                max_accuracy_m=cfg.max_accuracy_m)
        after = bisect.bisect_right(stored_times, f.time)
        if not flags and after < len(stored) and implied_speed_mps(wgs, stored[after]) > cfg.max_speed_mps:
            flags = {"speed"}  # a late fix must also fit the stored fix that follows it
        if flags:
            batch.flags[i] = flags
        else:
            previous = (f.time, float(batch.lat[i]), float(batch.lon[i]), f.accuracy_m)


def _wgs_fix(batch: Batch, i: int) -> DecodedFix:
    f = batch.fixes[i]
    return f if f.datum == "wgs84" else replace(f, lon=float(batch.lon[i]), lat=float(batch.lat[i]), datum="wgs84")


def _fence_set(batch: Batch, ctx: IngestContext) -> FenceSet:
    sid = ctx.device.supervisee_id
    oldest = min(batch.fixes[i].time for i in batch.judged)
    if oldest < ctx.now - LATE_FIX_HORIZON:
        # A backlog older than the cache keeps: load every version it may need.
        return load_fence_set(ctx.db, sid, since=oldest)
    ctx.fences.refresh(ctx.db, gen=batch.prefetched.fence_gen)
    return ctx.fences.for_supervisee(ctx.db, sid, now=ctx.now)


def judge(wave: list[tuple[Batch, IngestContext]]) -> None:
    """Accuracy-aware inside/outside/uncertain for every fence valid at each fix's time:
    the wave's fixes in one engine call, over its supervisees' fence sets joined
    (one call per phone cost more than the judging itself)."""
    parts = []
    for batch, ctx in wave:
        if batch.judged:
            batch.fence_set = _fence_set(batch, ctx)
            if len(batch.fence_set):
                parts.append((batch, ctx.device.supervisee_id, np.array(batch.judged)))
    if not parts:
        return
    fence_set = parts[0][0].fence_set if len(parts) == 1 else FenceSet.concat([b.fence_set for b, _, _ in parts])
    sids = np.concatenate([np.full(ix.size, sid, np.int64) for _, sid, ix in parts])
    t = np.fromiter((b.fixes[i].time.timestamp() for b, _, ix in parts for i in ix.tolist()), np.float64, sids.size)
    acc = np.fromiter((b.fixes[i].accuracy_m or 0.0 for b, _, ix in parts for i in ix.tolist()), np.float64,
                      sids.size)
    lon = np.concatenate([b.lon[ix] for b, _, ix in parts])
    lat = np.concatenate([b.lat[ix] for b, _, ix in parts])
    j = fence_set.judge(sids, t, lon, lat, acc)
    starts = np.cumsum([0] + [ix.size for _, _, ix in parts])
    # Pairs are ordered by fix: each batch's are one slice, its fixes renumbered from 0.
    bounds = np.searchsorted(j.fix, starts)
    for (batch, _, ix), first, a, b in zip(parts, starts.tolist(), bounds[:-1].tolist(), bounds[1:].tolist()):
        batch.judgement = Judgement(j.fences, int(ix.size), j.fix[a:b] - first, j.fence[a:b], j.fence_id[a:b],
                                    j.fence_version[a:b], j.decision[a:b], j.status[a:b])
        idx = batch.judged
        for k, fid, ver, dec, st in zip(batch.judgement.fix.tolist(), j.fence_id[a:b].tolist(),
                                        j.fence_version[a:b].tolist(), j.decision[a:b].tolist(),
                                        j.status[a:b].tolist()):
            batch.decisions.setdefault(idx[k], []).append([fid, ver, dec, st])


def allocate_ids(batch: Batch, ctx: IngestContext) -> None:
    # Ids were drawn for every fix of the batch; those of duplicates stay unused.
    for i, fix_id in zip(batch.new, batch.prefetched.ids):
        batch.ids[i] = fix_id


def _observations(batch: Batch) -> dict[int, list]:
    """The batch's judged fixes as (time, fix id, status) per fence."""
    if batch.judgement is None:
        return {}
    idx = batch.judged
    t = np.fromiter((batch.fixes[i].time.timestamp() for i in idx), np.float64, len(idx))
    ids = np.fromiter((batch.ids[i] for i in idx), np.int64, len(idx))
    return batch.judgement.observations(t, ids)


def fold_episodes(wave: list[tuple[Batch, IngestContext]]) -> None:
    """Persistence per supervisee + fence, in fix-time order whatever the arrival order:
    the heads of the wave's stored folds read in one query, their changes written in one
    statement (a late batch reads its fold's whole list on its own)."""
    per_batch = [(batch, ctx, _observations(batch)) for batch, ctx in wave]
    fence_ids = sorted(fid for _, _, per_fence in per_batch for fid in per_fence)
    if not fence_ids:
        return
    db, now = wave[0][1].db, wave[0][1].now
    folds = load_folds(db, fence_ids)
    written = []
    for batch, ctx, per_fence in per_batch:
        fences = {f.id: f for f in batch.fence_set.fences} if per_fence else {}
        sid = ctx.device.supervisee_id
        for fence_id in sorted(per_fence):
            fence = fences[fence_id]
            rule = fence.persistence if isinstance(fence.persistence, PersistenceRule) else PersistenceRule()
            result, change = fold_fence(
                db, supervisee_id=sid, fence_id=fence_id, kind=str(fence.kind), rule=rule,
                new_obs=per_fence[fence_id], head=folds.get(fence_id))
            batch.folds.append(result)
            if change is not None:
                written.append((fence_id, sid, change))
    write_snapshots(db, written, now)


def _fix_rows(batch: Batch, ctx: IngestContext) -> list[tuple]:
    dev = ctx.device
    rows = []
    for i in batch.new:
        f = batch.fixes[i]
        flags = sorted(batch.flags.get(i, ()))
        rows.append((batch.ids[i], dev.supervisee_id, dev.device_id, f.dedup_key, batch.fingerprints[i], f.time,
                     ctx.now, float(batch.lon[i]), float(batch.lat[i]), f.accuracy_m, f.speed_mps, f.heading_deg,
                     f.altitude_m, f.battery_pct, f.datum, f.protocol, f.raw, store.PgTextArray(flags), bool(flags),
                     batch.decisions.get(i, []), batch.purposes[i]))
    return rows


def store_fixes(wave: list[tuple[Batch, IngestContext]]) -> None:
    """One COPY of every new fix of the wave, flagged ones included (they are evidence)."""
    rows = [row for batch, ctx in wave for row in _fix_rows(batch, ctx)]
    if rows:
        store.copy_fixes(wave[0][1].db, rows)


Step = Callable[[Batch, IngestContext], None]
Wave = list[tuple[Batch, IngestContext]]
# A wave holds at most one batch per supervisee. Steps taking a Batch run per batch;
# those taking the wave read or write for all its batches in one round trip.
# CHECKS may refuse a batch (409, 403) — before it has written anything, so the
# rest of the wave goes on without it.
CHECKS: tuple[Step, ...] = (deduplicate, assign_purpose)
JUDGE: tuple[Step, ...] = (flag_suspicious, allocate_ids)  # then judge(), once for the wave


@dataclass
class IngestResult:
    received: int
    stored: int
    duplicates: int
    flagged: int
    alerts: list[int]
    refused: int = 0
    refused_reason: str | None = None

    def as_dict(self, *, with_alerts: bool = False) -> dict[str, Any]:
        """The acknowledgement. Devices never get alert ids: a supervisee's phone
        could otherwise probe where exclusion zones are."""
        out = {"received": self.received, "stored": self.stored, "duplicates": self.duplicates,
               "flagged": self.flagged}
        if self.refused:
            out["refused"], out["refused_reason"] = self.refused, self.refused_reason
        if with_alerts:
            out["alerts"] = self.alerts
        return out


class SuperviseeBusy(Exception):
    """Not written: another transaction holds this supervisee's ingest lock (ingest_many
    with ``wait_for_locks=False``). The caller writes the batch again, on its own."""


def ingest_many(items: list[tuple[list[DecodedFix], IngestContext]], *,
                wait_for_locks: bool = True) -> list[IngestResult | ServiceError | SuperviseeBusy]:
    """Run every step over a wave of batches, one per supervisee, in one transaction
    (the contexts share it). Each batch's result, or the refusal of that batch alone
    (the others are written), or — without ``wait_for_locks`` — SuperviseeBusy for a
    supervisee whose lock another transaction holds. The caller commits, then acknowledges."""
    wave: Wave = [(Batch(fixes=fixes), ctx) for fixes, ctx in items]
    refusals: dict[int, Exception] = {}
    live = [(batch, ctx) for batch, ctx in wave if batch.fixes]
    if live:
        for batch, ctx in live:
            convert_datum(batch, ctx)
        prefetch(live, wait=wait_for_locks)
        for batch, _ in live:
            if not batch.prefetched.locked:
                refusals[id(batch)] = SuperviseeBusy()
        checked = []
        for batch, ctx in live:
            if id(batch) in refusals:
                continue
            try:
                for step in CHECKS:
                    step(batch, ctx)
            except ServiceError as exc:
                refusals[id(batch)] = exc
                continue
            checked.append((batch, ctx))
        live = checked
        for batch, ctx in live:
            for step in JUDGE:
                step(batch, ctx)
        judge(live)
        fold_episodes(live)
        store_fixes(live)
        for batch, ctx in live:
            raise_batch_alerts(batch, ctx)
        update_signal(live)
    return [refusals.get(id(batch)) or _result(batch, ctx) for batch, ctx in wave]


def _result(batch: Batch, ctx: IngestContext) -> IngestResult:
    reason = refusal_message(batch.fixes[batch.refused[0]].time, ctx.device.kind) if batch.refused else None
    return IngestResult(len(batch.fixes), len(batch.new), batch.duplicates, len(batch.flags), sorted(batch.alert_ids),
                        len(batch.refused), reason)


def ingest(fixes: list[DecodedFix], ctx: IngestContext) -> IngestResult:
    """One device's batch (a wave of one). The caller commits, then acknowledges."""
    [result] = ingest_many([(fixes, ctx)])
    if isinstance(result, ServiceError):
        raise result
    return result
