"""Ingest's alert facts: what a judged batch observed, handed to alerts in its transaction.

Ingest records facts only (episodes opened / continued / closed / withdrawn,
flagged fixes, a low battery, contact restored) and hands them to
``alerts.intake.apply_facts``, which decides every alert, its kind, title,
cause and state (the outbox). Ingest keeps what only it knows: which fixes
are evidence, the distance to the fence, whether a leave was running, and
the links from episodes to their alerts.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select, text

from alerts.facts import (
    MAX_EVIDENCE, BatteryLow, ContactRestored, EpisodeClosed, EpisodeContinued, EpisodeOpened, EpisodeWithdrawn,
    Evidence, Fact, FixesFlagged, FlaggedFix, Subject,
)
from alerts.intake import apply_facts
from geo.engine import FenceKind, distance_to_boundary_m
from geo.ingest import store
from geo.ingest.models import ViolationEpisode

if TYPE_CHECKING:
    from geo.ingest.pipeline import Batch, IngestContext


def _subject(ctx: IngestContext) -> Subject:
    dev = ctx.device
    return Subject(supervisee_id=dev.supervisee_id, office_id=dev.office_id, tier=dev.tier)


def _on_leave(batch: Batch, ep: ViolationEpisode) -> bool:
    t = ep.opened_at.timestamp()
    return any(f.kind == FenceKind.LEAVE_DESTINATION and f.valid_from_s <= t < f.valid_to_s
               for f in batch.fence_set.fences)


def _evidence(batch: Batch, ctx: IngestContext, fence_id: int, fix_ids: list[int], role: str) -> list[Evidence]:
    by_id = {batch.ids[i]: i for i in batch.ids}
    missing = [f for f in fix_ids if f not in by_id]
    stored = store.fix_details(ctx.db, missing)
    fence = next((f for f in batch.fence_set.fences if f.id == fence_id), None)
    out = []
    for fix_id in fix_ids[:MAX_EVIDENCE]:
        if fix_id in by_id:
            i = by_id[fix_id]
            f = batch.fixes[i]
            info = {"t": f.time, "lon": float(batch.lon[i]), "lat": float(batch.lat[i]), "accuracy_m": f.accuracy_m,
                    "datum": f.datum, "raw": f.raw}
        elif fix_id in stored:
            info = stored[fix_id]
        else:
            continue
        if fence is not None:
            version = next((f for f in batch.fence_set.fences
                            if f.id == fence_id and f.valid_from_s <= info["t"].timestamp() < f.valid_to_s), fence)
        else:
            version = None
        distance = float(distance_to_boundary_m(version, info["lon"], info["lat"])[0]) if version else None
        detail = {"role": role}
        if version is not None:
            detail.update({"fence_id": version.id, "fence_version": version.version, "rule": {
                "min_fixes": version.persistence.min_fixes, "min_seconds": version.persistence.min_seconds,
                "decision": "accuracy circle vs fence: inside / outside / uncertain"}})
        out.append(Evidence(fix_id=fix_id, t=info["t"], lon=info["lon"], lat=info["lat"],
                            accuracy_m=info["accuracy_m"], datum=info["datum"], raw=info["raw"],
                            distance_m=distance, detail=detail))
    return out


def _violating_in_batch(batch: Batch, fence_id: int) -> list[int]:
    return [batch.ids[i] for i, decs in batch.decisions.items() for d in decs if d[0] == fence_id and d[3] == 2]


def _count_episodes(ctx: IngestContext, alert_id: int, *, open_only: bool) -> int:
    where = [ViolationEpisode.alert_id == alert_id, ViolationEpisode.withdrawn.is_(False)]
    if open_only:
        where.append(ViolationEpisode.closed_at.is_(None))
    return ctx.db.scalar(select(text("count(*)")).select_from(ViolationEpisode).where(*where)) or 0


def _fold_facts(batch: Batch, ctx: IngestContext) -> tuple[list[Fact], list[ViolationEpisode | None]]:
    """The facts of every fence fold, and per fact the new episode its alert is to be linked to."""
    facts: list[Fact] = []
    opened: list[ViolationEpisode | None] = []
    for tr in batch.folds:
        fence = next((f for f in batch.fence_set.fences if f.id == tr.fence_id), None)
        for ep in tr.created:
            facts.append(EpisodeOpened(
                fence_id=ep.fence_id, fence_kind=ep.kind, fence_version=fence.version if fence else None,
                on_leave=_on_leave(batch, ep), opened_at=ep.opened_at, closed_at=ep.closed_at,
                evidence=_evidence(batch, ctx, ep.fence_id, list(ep.evidence_fix_ids), "opening")))
            opened.append(ep)
        fresh = _violating_in_batch(batch, tr.fence_id) if tr.still_open else []
        for ep in tr.still_open:
            if ep.alert_id and fresh:
                facts.append(EpisodeContinued(ep.alert_id, _evidence(batch, ctx, tr.fence_id, fresh, "continuing")))
                opened.append(None)
        for ep in tr.closed:
            if ep.alert_id:
                facts.append(EpisodeClosed(ep.alert_id, ep.closed_at,
                                           open_episodes=_count_episodes(ctx, ep.alert_id, open_only=True)))
                opened.append(None)
        for ep in tr.withdrawn:
            if ep.alert_id:
                facts.append(EpisodeWithdrawn(ep.alert_id, ep.opened_at,
                                              episodes=_count_episodes(ctx, ep.alert_id, open_only=False)))
                opened.append(None)
    return facts, opened


def _fix_facts(batch: Batch, ctx: IngestContext) -> list[Fact]:
    facts: list[Fact] = []
    if batch.flags:
        facts.append(FixesFlagged(ctx.device.device_id, [
            FlaggedFix(fix_id=batch.ids[i], t=batch.fixes[i].time, lon=float(batch.lon[i]), lat=float(batch.lat[i]),
                       accuracy_m=batch.fixes[i].accuracy_m, datum=batch.fixes[i].datum, raw=batch.fixes[i].raw,
                       flags=frozenset(fl)) for i, fl in batch.flags.items()]))
    latest = max(batch.new, key=lambda i: batch.fixes[i].time, default=None)
    if latest is not None:
        f = batch.fixes[latest]
        if f.battery_pct is not None and f.battery_pct <= ctx.settings.ingest.low_battery_pct and not f.charging:
            facts.append(BatteryLow(ctx.device.device_id, batch.ids[latest], f.time, f.battery_pct))
    return facts


def raise_batch_alerts(batch: Batch, ctx: IngestContext) -> None:
    """Hand the batch's facts to alerts (one call) and link new episodes to their alerts."""
    facts, opened = _fold_facts(batch, ctx) if batch.folds else ([], [])
    if batch.new:
        facts += _fix_facts(batch, ctx)
    if not facts:
        return
    touched = apply_facts(ctx.db, _subject(ctx), facts, now=ctx.now, cfg=ctx.settings.alerts)
    for i, alert_ids in enumerate(touched):
        if i < len(opened) and opened[i] is not None:
            opened[i].alert_id = alert_ids[0]
        batch.alert_ids.update(alert_ids)


def _latest_trusted(batch: Batch, ctx: IngestContext) -> tuple[int, int] | None:
    """(index of the batch's latest trusted fix, how many trusted) — only fixes that
    passed the integrity checks count as contact: a single future-dated (or mock)
    fix must not switch the silence alarm off."""
    trusted = [i for i in batch.new if not batch.flags.get(i) and batch.fixes[i].time <= ctx.now]
    if not trusted:
        return None
    return max(trusted, key=lambda i: batch.fixes[i].time), len(trusted)


_SIGNAL = text(
    "WITH v AS (SELECT * FROM unnest(CAST(:s AS bigint[]), CAST(:t AS timestamptz[]), CAST(:lon AS float8[]),"
    "  CAST(:lat AS float8[]), CAST(:b AS float8[]), CAST(:n AS bigint[])) AS v(s, t, lon, lat, b, n) ORDER BY s),"
    " prev AS (SELECT supervisee_id, silence_alerted FROM supervisee_signal WHERE supervisee_id IN (SELECT s FROM v))"
    " INSERT INTO supervisee_signal (supervisee_id, last_fix_t, last_fix_lon, last_fix_lat, last_received_at,"
    " battery_pct, fixes_total, silence_alerted, version) SELECT s, t, lon, lat, :now, b, n, false, 1 FROM v"
    " ON CONFLICT (supervisee_id) DO UPDATE SET"
    "  last_fix_lon = CASE WHEN EXCLUDED.last_fix_t > supervisee_signal.last_fix_t OR supervisee_signal.last_fix_t IS NULL"
    "   THEN EXCLUDED.last_fix_lon ELSE supervisee_signal.last_fix_lon END,"
    "  last_fix_lat = CASE WHEN EXCLUDED.last_fix_t > supervisee_signal.last_fix_t OR supervisee_signal.last_fix_t IS NULL"
    "   THEN EXCLUDED.last_fix_lat ELSE supervisee_signal.last_fix_lat END,"
    "  last_fix_t = GREATEST(supervisee_signal.last_fix_t, EXCLUDED.last_fix_t),"
    "  last_received_at = EXCLUDED.last_received_at,"
    "  battery_pct = COALESCE(EXCLUDED.battery_pct, supervisee_signal.battery_pct),"
    "  fixes_total = supervisee_signal.fixes_total + EXCLUDED.fixes_total,"
    "  silence_alerted = false, version = supervisee_signal.version + 1"
    " RETURNING supervisee_id,"
    "  (SELECT p.silence_alerted FROM prev p WHERE p.supervisee_id = supervisee_signal.supervisee_id)")


def update_signal(batches: list[tuple[Batch, IngestContext]]) -> None:
    """Last contact of every batch's supervisee (one statement for a whole wave); a fix
    after silence clears the "signal lost" alert. The supervisees are distinct."""
    rows = []
    for batch, ctx in batches:
        latest = _latest_trusted(batch, ctx)
        if latest is not None:
            rows.append((batch, ctx, *latest))
    if not rows:
        return
    db, now = rows[0][1].db, rows[0][1].now
    silent = {sid for sid, was_silent in db.execute(_SIGNAL, {
        "s": [ctx.device.supervisee_id for _, ctx, _, _ in rows],
        "t": [batch.fixes[i].time for batch, _, i, _ in rows],
        "lon": [float(batch.lon[i]) for batch, _, i, _ in rows],
        "lat": [float(batch.lat[i]) for batch, _, i, _ in rows],
        "b": [batch.fixes[i].battery_pct for batch, _, i, _ in rows],
        "n": [n for _, _, _, n in rows], "now": now}) if was_silent}
    for batch, ctx, i, _ in rows:
        if ctx.device.supervisee_id in silent:  # rare: a "signal lost" alert waits for this fix
            [restored] = apply_facts(ctx.db, _subject(ctx), [ContactRestored(batch.fixes[i].time)], now=ctx.now,
                                     cfg=ctx.settings.alerts)
            batch.alert_ids.update(restored)
