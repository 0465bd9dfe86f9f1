"""The roll-call job: grab frames from each waiting roll-call's camera, judge them, keep the evidence.

One round takes up to ``rollcall_batch`` waiting roll-calls (those attempted
longest ago first), submits one grab per roll-call to the bounded GrabPool
the cameras' snapshots use (one bound on grab processes for the whole server;
video.capture: a worker process with a hard deadline, killed when
late), so a hung camera costs one worker for at most the deadline and never
blocks the others; then judges each grab (rollcall.judge) and records the
attempt. The round holds no row lock while it grabs: the rows are re-read
``FOR UPDATE`` and written only if still waiting, so an officer's cancel
during a grab wins and the attempt is dropped.

A match ends the roll-call at once; otherwise it is attempted every round
until its deadline, when the best attempt of the window is its outcome
(``camera_failed`` if no grab ever got a frame). At most
``rollcall_frames_kept`` frames are kept per roll-call (the best frame of
each attempt, encrypted in the media store, owned by the supervisee), so a
long window cannot fill the disk.
"""
from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from cameras.snapshots import shared_pool
from checkins.face_check import enrolled_descriptors
from core import media
from core.jobs import JobContext
from rollcall import cameras_port
from rollcall.judge import Judgement, better, judge_frames
from rollcall.models import Rollcall, RollcallFrame
from video.camera_url import CameraUrlRefused

if TYPE_CHECKING:
    from video.capture import GrabPool, GrabResult

JOB_NAME = "rollcalls"
FRAME_KIND = "rollcall_frame"
FRAME_PURPOSE = "remote roll-call"


@dataclass(frozen=True)
class NoGrab:
    """A grab that was never submitted (the camera is gone, or its URL is refused now): same shape."""

    error: str
    frames: tuple[bytes, ...] = ()
    elapsed_ms: float = 0.0


def run_rollcalls(job: JobContext, *, pool: "GrabPool | None" = None) -> dict:
    """One round: close the roll-calls past their deadline, then attempt the waiting ones.

    ``pool``: the process's shared grab pool unless given (tests give one with a short deadline)."""
    closed = _close_expired(job)
    cfg = job.settings.rollcall
    due = list(job.db.scalars(select(Rollcall).where(
        Rollcall.state == "waiting", Rollcall.deadline_at > job.now, Rollcall.requested_at <= job.now)
        .order_by(Rollcall.last_attempt_at.asc().nulls_first(), Rollcall.id).limit(cfg.rollcall_batch)))
    pool = pool or (shared_pool(job.settings) if due else None)
    pending = [(row.id, row.supervisee_id, _submit(job, row, pool)) for row in due]
    outcomes = {}
    for rollcall_id, supervisee_id, grab in pending:
        result = grab.result() if isinstance(grab, Future) else grab
        outcomes[rollcall_id] = _record_attempt(job, rollcall_id, supervisee_id, result)
    return {"closed": closed, "attempted": outcomes}


def _submit(job: JobContext, row: Rollcall, pool: "GrabPool") -> "Future[GrabResult] | NoGrab":
    """The grab for one roll-call, submitted to the pool (or a failed result at once, with its reason)."""
    cfg = job.settings.rollcall
    try:
        url, credentials = cameras_port.grab_target(job.db, row.camera_id, job.settings)
    except LookupError as exc:
        return NoGrab(error=str(exc))
    except CameraUrlRefused as exc:
        return NoGrab(error=f"refused: {exc}"[:120])
    return pool.submit(url, credentials=credentials, frames=cfg.rollcall_frames_per_grab,
                                          interval_s=cfg.rollcall_frame_interval_seconds)


def _record_attempt(job: JobContext, rollcall_id: int, supervisee_id: int,
                    result: "GrabResult | NoGrab") -> str | None:
    row = job.db.scalar(select(Rollcall).where(Rollcall.id == rollcall_id).with_for_update())
    if row is None or row.state != "waiting":
        return None  # cancelled (or closed) while the camera was being grabbed
    references = enrolled_descriptors(job, supervisee_id)
    now = job.now
    attempt = row.attempts + 1
    if not references:
        judgement = Judgement("camera_failed", None, (), None, "not_enrolled")
    else:
        judgement = judge_frames(result.frames, references, error=result.error, settings=job.settings.face)
    kept = _keep_frame(job, row, attempt, result, judgement)
    entry = {"attempt": attempt, "at": now.isoformat(), "elapsed_ms": round(result.elapsed_ms, 1),
             "frame_id": kept, **judgement.evidence()}
    row.attempts, row.last_attempt_at = attempt, now
    row.evidence = [*row.evidence, entry]
    row.outcome, row.distance = better((row.outcome or "camera_failed", row.distance),
                                       (judgement.outcome, judgement.distance))
    if row.outcome == "match" or judgement.error == "not_enrolled":
        row.state, row.finished_at = "done", now
    job.db.flush()
    job.record("rollcall.attempt", "rollcall", row.id, detail={
        "supervisee_id": supervisee_id, "attempt": attempt, "outcome": judgement.outcome,
        "distance": entry["distance"], "error": judgement.error, "frame_id": kept, "state": row.state})
    return judgement.outcome


def _keep_frame(job: JobContext, row: Rollcall, attempt: int, result: "GrabResult | NoGrab",
                judgement: Judgement) -> int | None:
    """Store the attempt's best frame as evidence, while the roll-call has room for one."""
    if judgement.best_frame is None or judgement.outcome == "camera_failed":
        return None
    kept = job.db.scalar(select(func.count()).select_from(RollcallFrame).where(RollcallFrame.rollcall_id == row.id))
    # A match is always kept: it is the frame the officer confirms.
    if kept >= job.settings.rollcall.rollcall_frames_kept and judgement.outcome != "match":
        return None
    finding = judgement.frames[judgement.best_frame]
    media_id = media.store(job.db, data=result.frames[judgement.best_frame], content_type="image/jpeg",
                           kind=FRAME_KIND, purpose=FRAME_PURPOSE, supervisee_id=row.supervisee_id,
                           settings=job.settings)
    frame = RollcallFrame(rollcall_id=row.id, supervisee_id=row.supervisee_id, media_id=media_id, attempt=attempt,
                          grabbed_at=job.now, faces=finding.faces, distance=finding.distance, outcome=finding.outcome)
    job.db.add(frame)
    job.db.flush()
    return frame.id


def _close_expired(job: JobContext) -> int:
    """Roll-calls whose window has passed: done, with the best attempt's outcome (or camera_failed)."""
    rows = list(job.db.scalars(select(Rollcall).where(Rollcall.state == "waiting", Rollcall.deadline_at <= job.now)
                               .with_for_update(skip_locked=True)))
    for row in rows:
        row.state, row.finished_at = "done", job.now
        if row.outcome is None:
            row.outcome = "camera_failed"  # not one grab in the window (the camera, or the system, was down)
        job.record("rollcall.closed", "rollcall", row.id, detail={
            "supervisee_id": row.supervisee_id, "outcome": row.outcome, "attempts": row.attempts})
    job.db.flush()
    return len(rows)


