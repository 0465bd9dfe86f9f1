"""Violation episodes per supervisee + fence, whatever order fixes arrive in.

The fold (geo.engine.persistence) is a pure function of the ordered fixes.
Each fold (one supervisee + fence) keeps a few snapshots of the fold; a batch replays from the
newest snapshot older than its earliest fix, with every stored observation
after that snapshot plus the new ones. The newest snapshot is the running
state: a batch whose fixes all follow it (the common case, a phone in order)
reads only that one and writes back only its new state. The recomputed episodes are then
reconciled with the stored ones: matched by overlapping time, created when
new, withdrawn (never deleted) when late data disproves them. The final set
of episodes is therefore the same for every arrival order.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
import psycopg
import psycopg.types.json
from sqlalchemy import select
from sqlalchemy.orm import Session

from geo.engine import Compliance, Episode, PersistenceRule, PersistenceState, replay
from geo.ingest import store
from geo.ingest.models import ViolationEpisode

MAX_SNAPSHOTS = 12
Obs = tuple[float, int, int]


def _state_to_json(s: PersistenceState) -> dict[str, Any]:
    ep = s.open_episode
    return {
        "rule": [s.rule.min_fixes, s.rule.min_seconds], "as_of": list(s.as_of) if s.as_of else None,
        "closed": s.closed_count, "run": [list(k) for k in s.run],
        "open": None if ep is None else [ep.seq, ep.opened_at, list(ep.evidence_fix_ids)],
    }


def _state_from_json(d: dict[str, Any]) -> PersistenceState:
    op = d["open"]
    episode = None if op is None else Episode(op[0], op[1], None, tuple(op[2]))
    return PersistenceState(PersistenceRule(*d["rule"]), tuple(d["as_of"]) if d["as_of"] else None, d["closed"],
                            episode, tuple(tuple(k) for k in d["run"]))


@dataclass
class FoldResult:
    fence_id: int
    created: list[ViolationEpisode]  # new episodes (need alerts)
    closed: list[ViolationEpisode]  # episodes that closed in this batch
    withdrawn: list[ViolationEpisode]
    still_open: list[ViolationEpisode]  # open before and after: add evidence


def _to_dt(t: float | None) -> datetime | None:
    return None if t is None else datetime.fromtimestamp(t, UTC)


Snapshots = list[dict[str, Any]]  # sorted by as_of, oldest first
# The newest snapshot is the fold's running state, replaced by each in-order batch; it
# is kept as a checkpoint (the next batch appends after it) once it is this much fix
# time newer than the checkpoint before it. A late fix replays from the newest
# checkpoint before it, so spacing them costs at most this much replay.
CHECKPOINT_SPACING_S = 600.0


@dataclass(frozen=True, slots=True)
class FoldHead:
    """What an in-order batch needs of a stored fold: its newest snapshot, how many
    there are, and the time of the one before (whether the newest is a checkpoint)."""

    count: int
    newest: dict[str, Any]
    before_newest: list | None  # as_of of the snapshot before the newest


def _cursor(db: Session) -> psycopg.Cursor:
    """A cursor in the session's transaction that parses jsonb with orjson: snapshots hold
    small numbers only, and orjson's parser is several times the standard library's."""
    cur = store.raw_connection(db).cursor()
    psycopg.types.json.set_json_loads(orjson.loads, cur)
    return cur


def load_folds(db: Session, fence_ids: list[int]) -> dict[int, FoldHead]:
    """The heads of these folds: the newest snapshot of each, not the whole list (an
    in-order batch replays from it and needs nothing older). The caller holds the
    supervisee's ingest lock: no other batch folds these fences now."""
    with _cursor(db) as cur:
        rows = cur.execute(
            "SELECT fence_id, jsonb_array_length(snapshots), snapshots->-1, snapshots->-2->'as_of' FROM fence_folds"
            " WHERE fence_id = ANY(%s) AND jsonb_array_length(snapshots) > 0", (fence_ids,)).fetchall()
    return {fid: FoldHead(count, newest, before) for fid, count, newest, before in rows}


def load_snapshots(db: Session, fence_id: int) -> Snapshots | None:
    """Every stored snapshot of one fold: for a late batch, or to thin a full list."""
    with _cursor(db) as cur:
        row = cur.execute("SELECT snapshots FROM fence_folds WHERE fence_id = %s", (fence_id,)).fetchone()
    return row[0] if row else None


def _key(cp: dict[str, Any]) -> tuple[float, int]:
    return (cp["as_of"][0], cp["as_of"][1]) if cp["as_of"] else (float("-inf"), 0)


def choose_snapshot(snapshots: Snapshots | None, first_new: tuple[float, int],
                    rule: PersistenceRule) -> PersistenceState | None:
    """Newest snapshot strictly before the earliest new fix (None: from scratch).
    Only snapshots from the newest back to the chosen one are parsed (in
    order, usually just the newest)."""
    for cp in reversed(snapshots or []):
        if cp["as_of"] is None or _key(cp) >= first_new:
            continue
        state = _state_from_json(cp)
        return state if state.rule == rule else None  # the rule changed: the old folds do not apply
    return None


def reconcile(db: Session, *, supervisee_id: int, fence_id: int, kind: str, prior: PersistenceState | None,
              episodes: list[Episode], nothing_stored_after: bool = False) -> FoldResult:
    """Make stored episodes (from ``prior.closed_count`` on) equal the recomputed ones."""
    first_seq = prior.closed_count if prior else 0
    if nothing_stored_after and prior is not None and prior.open_episode is None and not episodes:
        # The common case: in-order fixes, nothing open, nothing new.
        return FoldResult(fence_id, [], [], [], [])
    stored = list(db.scalars(select(ViolationEpisode).where(
        ViolationEpisode.fence_id == fence_id, ViolationEpisode.withdrawn.is_(False),
        ViolationEpisode.seq >= first_seq).order_by(ViolationEpisode.opened_at)))
    result = FoldResult(fence_id, [], [], [], [])
    unmatched = list(stored)
    for ep in episodes:
        start, end = ep.opened_at, ep.closed_at if ep.closed_at is not None else float("inf")
        match = next((s for s in unmatched if s.opened_at.timestamp() < end and
                      (s.closed_at is None or s.closed_at.timestamp() > start)), None)
        closed_at = _to_dt(ep.closed_at)
        if match is None:
            row = ViolationEpisode(supervisee_id=supervisee_id, fence_id=fence_id, kind=kind, seq=ep.seq,
                                   opened_at=_to_dt(ep.opened_at), closed_at=closed_at,
                                   evidence_fix_ids=list(ep.evidence_fix_ids),
                                   closing_fix_ids=list(ep.closing_fix_ids), withdrawn=False)
            db.add(row)
            result.created.append(row)
            continue
        unmatched.remove(match)
        was_open = match.closed_at is None
        match.seq, match.opened_at, match.closed_at = ep.seq, _to_dt(ep.opened_at), closed_at
        match.evidence_fix_ids, match.closing_fix_ids = list(ep.evidence_fix_ids), list(ep.closing_fix_ids)
        if was_open and closed_at is not None:
            result.closed.append(match)
        elif was_open:
            result.still_open.append(match)
    for gone in unmatched:
        gone.withdrawn = True
        result.withdrawn.append(gone)
    db.flush()
    return result


def next_snapshots(snapshots: Snapshots | None, *, state: PersistenceState,
                     first_new: tuple[float, int]) -> Snapshots:
    """Keep the valid snapshots (before the earliest new fix) and add the new state."""
    doc = _state_to_json(state)
    # Snapshots under another persistence rule are dropped: should the rule change back,
    # one of them would otherwise be taken up with a count of closed episodes that the
    # other rule's replay has since changed.
    kept = [cp for cp in (snapshots or []) if cp["as_of"] and _key(cp) < first_new and cp["rule"] == doc["rule"]]
    kept.append(doc)
    kept.sort(key=_key)
    if len(kept) > MAX_SNAPSHOTS:
        # Keep the newest half densely and thin the older ones, so a late fix
        # far back still finds a snapshot without a full replay.
        old, recent = kept[: -MAX_SNAPSHOTS // 2], kept[-MAX_SNAPSHOTS // 2:]
        step = max(1, len(old) // (MAX_SNAPSHOTS // 2))
        kept = old[::step][-(MAX_SNAPSHOTS // 2):] + recent
    return kept


# How a fold's stored snapshots change: the newest replaced ("last"), one appended
# ("append"), or the whole list written ("full": a late batch, a first fold, thinning).
SnapshotWrite = tuple[str, Any]


def write_snapshots(db: Session, folds: list[tuple[int, int, SnapshotWrite]], now: datetime) -> None:
    """Every fold's snapshot change, (fence id, supervisee id, (mode, document)) each,
    in one statement: one round trip for a whole wave of batches, not one per fence,
    and an in-order batch sends its new state only, not the fold's whole list."""
    if not folds:
        return
    db.flush()
    # No two transactions write one fold at once: a fold is its supervisee's, written
    # under that supervisee's ingest lock (the order the rows are locked in is the plan's).
    # One JSON document, not a text[]: the driver escapes array elements character
    # by character, which for a wave's snapshots cost more than the statement. A fold
    # row found missing is written again from the state alone.
    store.raw_connection(db).execute(
        "WITH e AS (SELECT (x->>0)::bigint AS fence_id, (x->>1)::bigint AS supervisee_id, x->>2 AS mode,"
        "                  x->3 AS doc FROM jsonb_array_elements(%(doc)s::jsonb) AS x),"
        " changed AS (UPDATE fence_folds f SET updated_at = %(now)s, snapshots = CASE e.mode"
        "               WHEN 'last' THEN (f.snapshots - (-1)) || jsonb_build_array(e.doc)"
        "               ELSE f.snapshots || jsonb_build_array(e.doc) END"
        "             FROM e WHERE e.mode <> 'full' AND f.fence_id = e.fence_id RETURNING f.fence_id)"
        " INSERT INTO fence_folds (fence_id, supervisee_id, snapshots, updated_at)"
        " SELECT fence_id, supervisee_id, CASE WHEN mode = 'full' THEN doc ELSE jsonb_build_array(doc) END, %(now)s"
        " FROM e WHERE mode = 'full' OR fence_id NOT IN (SELECT fence_id FROM changed)"
        " ON CONFLICT (fence_id) DO UPDATE SET snapshots = EXCLUDED.snapshots, updated_at = EXCLUDED.updated_at",
        {"now": now, "doc": orjson.dumps([[f[0], f[1], *f[2]] for f in folds]).decode()})


def _quiet(state: PersistenceState) -> bool:
    """No episode open, no run of violations pending: only a violating fix changes it."""
    return state.open_episode is None and not state.run


def _stored_after(db: Session, supervisee_id: int, fence_id: int, after: tuple[float, int] | None) -> list[Obs]:
    """The fence's stored observations after ``after`` (None: all of them)."""
    out = []
    since = _to_dt(after[0]) if after is not None else None
    for fix_id, t, decisions in store.observations_since(db, supervisee_id, since):
        if after is None or (t, fix_id) > tuple(after):
            out.extend((t, fix_id, d[3]) for d in decisions if d[0] == fence_id and d[3] != 0)
    return out


def fold_fence(db: Session, *, supervisee_id: int, fence_id: int, kind: str, rule: PersistenceRule,
               new_obs: list[Obs], head: FoldHead | None) -> tuple[FoldResult, SnapshotWrite | None]:
    """Replay one fence's fold with its new observations and the stored ones since
    its chosen snapshot; returns the result and how the fold's snapshots change
    (None: they stay as they are).

    The common case, fixes arriving in order, replays from the newest snapshot
    alone and writes back only the new state — or nothing at all: from a quiet
    state (no episode open, no violation pending) compliant and uncertain fixes
    change nothing, so a phone at home costs its folds one write per
    CHECKPOINT_SPACING_S of fix time. Hence the invariant: after a quiet newest
    snapshot, only non-violating observations are stored; a violating one,
    arriving in order, is replayed with them."""
    first_new = min((t, fid) for t, fid, _ in new_obs)
    newest = head.newest if head is not None else None
    if newest is not None and newest["as_of"] and _key(newest) < first_new:
        prior = _state_from_json(newest)
        if prior.rule == rule:
            obs = new_obs
            if _quiet(prior):
                violations = [(t, fid) for t, fid, status in new_obs if status == Compliance.VIOLATING]
                if not violations and max(t for t, _, _ in new_obs) - prior.as_of[0] < CHECKPOINT_SPACING_S:
                    # Unchanged but for its time; written once per CHECKPOINT_SPACING_S of fix
                    # time all the same, so that a late fix never replays more than that.
                    return FoldResult(fence_id, [], [], [], []), None
                if violations:
                    # Stored fixes before the first new violation cannot change a quiet state;
                    # those after it can (a fix at home breaks the run). Usually there are none.
                    obs = _stored_after(db, supervisee_id, fence_id, min(violations)) + new_obs
            # (A fold that is not quiet is written by every batch: its newest snapshot is current.)
            episodes, state = replay(prior, obs, None)
            result = reconcile(db, supervisee_id=supervisee_id, fence_id=fence_id, kind=kind, prior=prior,
                               episodes=episodes, nothing_stored_after=True)
            doc = _state_to_json(state)
            if head.before_newest and newest["as_of"][0] - head.before_newest[0] < CHECKPOINT_SPACING_S:
                return result, ("last", doc)  # the newest was only the running state: replaced
            if head.count < MAX_SNAPSHOTS:
                return result, ("append", doc)  # the newest stays, as a checkpoint
            return result, ("full", next_snapshots(load_snapshots(db, fence_id), state=state, first_new=first_new))
    fold = load_snapshots(db, fence_id) if head is not None else None
    prior = choose_snapshot(fold, first_new, rule)
    # Always the stored observations since the chosen snapshot (older than the newest here,
    # which may be quiet and behind the compliant fixes stored after it).
    obs = _stored_after(db, supervisee_id, fence_id, prior.as_of if prior else None) + list(new_obs)
    episodes, state = replay(prior, obs, None if prior else rule)
    result = reconcile(db, supervisee_id=supervisee_id, fence_id=fence_id, kind=kind, prior=prior, episodes=episodes)
    return result, ("full", next_snapshots(fold, state=state, first_new=first_new))
