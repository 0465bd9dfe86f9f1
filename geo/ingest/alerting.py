"""Turning a judged batch into alerts, in the batch's transaction (the outbox).

- violation episodes → one alert per supervisee + fence + kind; an open
  episode's later fixes become evidence; a closed episode clears the alert;
  an episode withdrawn by late data is announced and, if it was the alert's
  only reason, the alert is resolved as withdrawn;
- suspicious fixes → one "integrity" alert per supervisee (evidence per fix);
- low battery / tamper → "device" alerts per device.
"""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select, text

from alerts.models import Alert, AlertKind
from alerts.raising import Evidence, add_evidence, clear_alert, emit, raise_alert
from geo.engine import FenceKind, distance_to_boundary_m
from geo.ingest import store
from geo.ingest.models import ViolationEpisode

if TYPE_CHECKING:
    from geo.ingest.pipeline import Batch, IngestContext

MAX_EVIDENCE_PER_BATCH = 20
TITLES = {
    AlertKind.left_permitted_area: "离开许可活动区域 · left the permitted area",
    AlertKind.outside_leave_destination: "请假期间不在目的地 · outside the leave destination",
    AlertKind.entered_exclusion_zone: "进入禁止区域 · entered an exclusion zone",
    AlertKind.curfew_breach: "宵禁时段不在家 · away from home during curfew",
    AlertKind.integrity: "定位数据可疑 · suspicious location data",
    AlertKind.device: "设备异常 · device problem",
}


def _alert_kind(batch: Batch, fence_kind: str, fence_id: int, opened_at: datetime) -> AlertKind:
    if fence_kind == FenceKind.EXCLUSION:
        return AlertKind.entered_exclusion_zone
    if fence_kind == FenceKind.CURFEW:
        return AlertKind.curfew_breach
    t = opened_at.timestamp()
    on_leave = any(f.kind == FenceKind.LEAVE_DESTINATION and f.valid_from_s <= t < f.valid_to_s
                   for f in batch.fence_set.fences)
    return AlertKind.outside_leave_destination if on_leave else AlertKind.left_permitted_area


def _evidence(batch: Batch, ctx: IngestContext, fence_id: int, fix_ids: list[int], role: str) -> list[Evidence]:
    by_id = {batch.ids[i]: i for i in batch.ids}
    missing = [f for f in fix_ids if f not in by_id]
    stored = store.fix_details(ctx.db, missing)
    fence = next((f for f in batch.fence_set.fences if f.id == fence_id), None)
    out = []
    for fix_id in fix_ids[:MAX_EVIDENCE_PER_BATCH]:
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


def _raise_episode(batch: Batch, ctx: IngestContext, ep: ViolationEpisode) -> None:
    dev = ctx.device
    kind = _alert_kind(batch, ep.kind, ep.fence_id, ep.opened_at)
    fence = next((f for f in batch.fence_set.fences if f.id == ep.fence_id), None)
    alert, _ = raise_alert(
        ctx.db, now=ctx.now, supervisee_id=dev.supervisee_id, office_id=dev.office_id, tier=dev.tier, kind=kind,
        cause=f"fence:{ep.fence_id}:{kind}", title=TITLES[kind], occurred_at=ep.opened_at,
        evidence=_evidence(batch, ctx, ep.fence_id, list(ep.evidence_fix_ids), "opening"),
        detail={"episode_opened_at": ep.opened_at.isoformat(), "fence_kind": ep.kind},
        fence_id=ep.fence_id, fence_version=fence.version if fence else None)
    ep.alert_id = alert.id
    batch.alert_ids.add(alert.id)
    if ep.closed_at is not None:
        clear_alert(ctx.db, alert, now=ctx.now, cleared_at=ep.closed_at, reason="back in compliance")


def _open_episodes_of(ctx: IngestContext, alert_id: int) -> int:
    return ctx.db.scalar(select(text("count(*)")).select_from(ViolationEpisode).where(
        ViolationEpisode.alert_id == alert_id, ViolationEpisode.withdrawn.is_(False),
        ViolationEpisode.closed_at.is_(None))) or 0


def _track_alerts(batch: Batch, ctx: IngestContext) -> None:
    for tr in batch.tracks:
        for ep in tr.created:
            _raise_episode(batch, ctx, ep)
        for ep in tr.still_open:
            alert = ctx.db.get(Alert, ep.alert_id) if ep.alert_id else None
            fresh = _violating_in_batch(batch, tr.fence_id)
            if alert is not None and alert.state != "resolved" and fresh:
                add_evidence(ctx.db, alert, _evidence(batch, ctx, tr.fence_id, fresh, "continuing"), now=ctx.now)
                batch.alert_ids.add(alert.id)
        for ep in tr.closed:
            alert = ctx.db.get(Alert, ep.alert_id) if ep.alert_id else None
            if alert is not None and _open_episodes_of(ctx, alert.id) == 0:
                clear_alert(ctx.db, alert, now=ctx.now, cleared_at=ep.closed_at, reason="back in compliance")
                batch.alert_ids.add(alert.id)
        for ep in tr.withdrawn:
            alert = ctx.db.get(Alert, ep.alert_id) if ep.alert_id else None
            if alert is None:
                continue
            emit(ctx.db, alert, "episode_withdrawn", ctx.now, {"episode_opened_at": ep.opened_at.isoformat()})
            remaining = ctx.db.scalar(select(text("count(*)")).select_from(ViolationEpisode).where(
                ViolationEpisode.alert_id == alert.id, ViolationEpisode.withdrawn.is_(False))) or 0
            # Only an untouched alert is closed by the system; once an officer
            # has acknowledged it, the decision stays with people.
            if remaining == 0 and alert.state == "open":
                alert.state, alert.resolution, alert.resolved_at = "resolved", "withdrawn", ctx.now
                alert.resolution_note = "late fixes showed the violation did not persist"
                emit(ctx.db, alert, "resolved", ctx.now, {"reason": "withdrawn"})
            batch.alert_ids.add(alert.id)


def _fix_alerts(batch: Batch, ctx: IngestContext) -> None:
    dev = ctx.device
    integrity = [i for i, fl in batch.flags.items() if fl - {"tamper"}]
    tamper = [i for i, fl in batch.flags.items() if "tamper" in fl]
    for kind, cause, items in ((AlertKind.integrity, "integrity", integrity),
                               (AlertKind.device, f"device:{dev.device_id}:tamper", tamper)):
        if not items:
            continue
        evidence = []
        for i in sorted(items, key=lambda k: batch.fixes[k].time)[:MAX_EVIDENCE_PER_BATCH]:
            f = batch.fixes[i]
            evidence.append(Evidence(fix_id=batch.ids[i], t=f.time, lon=float(batch.lon[i]), lat=float(batch.lat[i]),
                                     accuracy_m=f.accuracy_m, datum=f.datum, raw=f.raw,
                                     detail={"flags": sorted(batch.flags[i])}))
        alert, _ = raise_alert(ctx.db, now=ctx.now, supervisee_id=dev.supervisee_id, office_id=dev.office_id,
                               tier=dev.tier, kind=kind, cause=cause, title=TITLES[kind],
                               occurred_at=min(batch.fixes[i].time for i in items), evidence=evidence,
                               detail={"flags": sorted({fl for i in items for fl in batch.flags[i]})})
        batch.alert_ids.add(alert.id)
    latest = max(batch.new, key=lambda i: batch.fixes[i].time, default=None)
    if latest is not None:
        f = batch.fixes[latest]
        if f.battery_pct is not None and f.battery_pct <= ctx.settings.ingest.low_battery_pct and not f.charging:
            alert, _ = raise_alert(
                ctx.db, now=ctx.now, supervisee_id=dev.supervisee_id, office_id=dev.office_id, tier=dev.tier,
                kind=AlertKind.device, cause=f"device:{dev.device_id}:battery", title="设备电量低 · low battery",
                occurred_at=f.time, detail={"battery_pct": f.battery_pct},
                evidence=[Evidence(fix_id=batch.ids[latest], t=f.time, detail={"battery_pct": f.battery_pct})])
            batch.alert_ids.add(alert.id)


def raise_batch_alerts(batch: Batch, ctx: IngestContext) -> None:
    if batch.tracks:
        _track_alerts(batch, ctx)
    if batch.new:
        _fix_alerts(batch, ctx)


def update_signal(batch: Batch, ctx: IngestContext) -> None:
    """Last contact; a fix after silence clears the "signal lost" alert.

    Only fixes that passed the integrity checks count as contact: a single
    future-dated (or mock) fix must not switch the silence alarm off."""
    trusted = [i for i in batch.new if not batch.flags.get(i) and batch.fixes[i].time <= ctx.now]
    if not trusted:
        return
    latest = max(trusted, key=lambda i: batch.fixes[i].time)
    f = batch.fixes[latest]
    sid = ctx.device.supervisee_id
    was_silent = ctx.db.execute(text(
        "WITH prev AS (SELECT silence_alerted FROM supervisee_signal WHERE supervisee_id = :s)"
        " INSERT INTO supervisee_signal (supervisee_id, last_fix_t, last_fix_lon, last_fix_lat, last_received_at,"
        " battery_pct, fixes_total, silence_alerted, version) VALUES (:s, :t, :lon, :lat, :now, :b, :n, false, 1)"
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
        " RETURNING (SELECT silence_alerted FROM prev)"),
        {"s": sid, "t": f.time, "lon": float(batch.lon[latest]), "lat": float(batch.lat[latest]), "now": ctx.now,
         "b": f.battery_pct, "n": len(trusted)}).scalar()
    if not was_silent:
        return  # the common case: no "signal lost" alert can be waiting for this fix
    lost = ctx.db.scalar(select(Alert).where(Alert.supervisee_id == sid, Alert.cause == "signal_lost",
                                             Alert.state != "resolved", Alert.cleared_at.is_(None)))
    if lost is not None:
        clear_alert(ctx.db, lost, now=ctx.now, cleared_at=f.time, reason="contact restored")
        batch.alert_ids.add(lost.id)
