"""Group commit: the fixes of concurrent ingest requests judged and committed together.

A phone sends one fix per request. Alone, each request pays for a
transaction of its own: a connection checkout, a credential lookup, its
round trips and a commit (an fsync). Here the requests a process receives
while its groups are being written wait in a queue (at most
``group_window_ms`` more once one is waiting), and the next group goes
through the pipeline in one transaction:

    sync the credential cache (one query) → per request: authenticate,
    decode, limit → in supervisee-id order: the pipeline (geo.ingest.pipeline)
    → one COMMIT → every request of the group is answered

- **Nothing acknowledged is lost.** A request's future is resolved only
  after the COMMIT holding its fixes returned; a crash before it answers no
  one, and the devices send again (idempotent: dedup keys).
- **One round trip per step, not per request.** The group runs as waves
  of distinct supervisees (geo.ingest.pipeline.ingest_many): each wave
  prefetches, reads and writes folds, copies its fixes and updates last
  contact once for all its batches.
- **A refusal refuses one request.** A request refused by the pipeline's
  checks (a conflicting duplicate, a positioning fix outside every order) is
  refused before it wrote anything, and the rest of its wave goes on. Should
  anything else fail (a bug), the group is rolled back and each request run
  alone in a savepoint, so only the one that fails gets the error.
- **Per-supervisee ordering holds.** The pipeline takes each supervisee's
  ingest lock (store.prefetch) and keeps it to the group's commit. Taking
  them in id order means two groups (two workers) never wait on each other
  in a cycle; a supervisee's lock is re-entrant within the group, so two
  requests of one phone in one group run one after the other in arrival
  order, the second seeing the first's fixes. Late-fix replay is the
  pipeline's own, unchanged.
- **The fleet is not serialised.** Each worker process writes up to
  ``group_in_flight`` groups at once (each in its own thread and transaction:
  while one waits for the database the next is judged), and the other
  processes theirs at the same time. A group only *tries* its supervisees'
  locks: one whose lock another transaction holds (a GPX import, an MQTT
  batch, another group) is left out of the group and written on its own
  right after, waiting for that lock in its own transaction, so only its own
  requests wait.
"""
from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import psycopg
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from core.clock import Clock
from core.db import is_database_outage
from core.errors import Busy
from core.settings import Settings
from geo.fences.cache import FenceCache
from geo.ingest.device_cache import DeviceCache
from geo.ingest.devices import CredentialLookup, DeviceIdentity
from geo.ingest.fix import DecodedFix
from geo.ingest.pipeline import IngestContext, SuperviseeBusy, ingest, ingest_many

log = logging.getLogger("zhijiao.ingest")

# prepare(lookup) -> (the device, its decoded fixes): authentication, decoding and
# the per-credential limits — everything that refuses a request before the pipeline.
Prepare = Callable[[CredentialLookup], tuple[DeviceIdentity, list[DecodedFix]]]
_RETRIED_SQLSTATES = {"40P01", "40001"}  # deadlock, serialisation failure: the whole group again
_ATTEMPTS = 3


@dataclass(eq=False)
class _Request:
    prepare: Prepare
    future: asyncio.Future
    device: DeviceIdentity | None = None
    fixes: list[DecodedFix] = field(default_factory=list)
    refused: BaseException | None = None  # by prepare (401, 403, 422, 429): final, never retried
    result: dict | None = None  # the pipeline's outcome in the current attempt...
    error: BaseException | None = None  # ...or its refusal there (reset when the group is written again)
    busy: bool = False  # its supervisee's lock was held elsewhere: written on its own, after the group


# The pipeline talks to the database through SQLAlchemy and through the raw psycopg
# connection (COPY, pipelined prefetch): errors of both kinds are the database's.
DatabaseError = (DBAPIError, psycopg.Error)


def _sqlstate(exc: BaseException) -> str | None:
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    return getattr(orig, "sqlstate", None)


def _retrying(write: Callable[[], None], what: str) -> None:
    """``write`` (one transaction), again after a deadlock or serialisation failure."""
    for attempt in range(_ATTEMPTS):
        try:
            write()
            return
        except DatabaseError as exc:
            if _sqlstate(exc) not in _RETRIED_SQLSTATES or attempt == _ATTEMPTS - 1:
                raise
            log.warning("%s: sqlstate %s; writing it again", what, _sqlstate(exc))
            time.sleep(random.uniform(0.001, 0.02))  # so that two retrying writers do not meet again


def _groups_fault(exc: BaseException) -> bool:
    """A deadlock, a serialisation failure or an outage: not one request's doing."""
    return _sqlstate(exc) in _RETRIED_SQLSTATES or is_database_outage(exc)


class GroupCommitter:
    """One per server process: ``await submit(prepare)`` is a request's acknowledgement."""

    def __init__(self, *, session_factory: sessionmaker[Session], settings: Settings, clock: Clock,
                 fences: FenceCache, devices: DeviceCache) -> None:
        self.session_factory, self.settings, self.clock = session_factory, settings, clock
        self.fences, self.devices = fences, devices
        cfg = settings.ingest
        self.window = cfg.group_window_ms / 1000
        self.max_requests = cfg.group_max_requests
        self.in_flight = cfg.group_in_flight
        # Beyond this many waiting requests the server is saturated: a fast 503 with
        # Retry-After (devices resend) instead of unbounded memory and latency.
        self.max_queued = 8 * cfg.group_max_requests
        self.delay_before_commit = settings.testing.group_commit_delay_seconds
        self._queue: list[_Request] = []
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._closing = False
        # Requests whose supervisee was locked elsewhere wait for that lock here, each in a
        # transaction of its own, so that only they wait (a few threads: they mostly sleep).
        self._alone_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="ingest-alone")
        self._group_pool = ThreadPoolExecutor(max_workers=self.in_flight, thread_name_prefix="ingest-group")
        self._alone_tasks: set[asyncio.Task] = set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="ingest group commit")
        self._task.add_done_callback(self._loop_ended)

    def _loop_ended(self, task: asyncio.Task) -> None:
        """Should the loop ever die, nobody waits for an answer that cannot come."""
        if not task.cancelled() and task.exception() is not None:
            log.error("ingest group commit stopped", exc_info=task.exception())
        for request in self._queue:
            if not request.future.done():
                request.future.set_exception(Busy("ingest is not running in this server process; send again"))
        self._queue.clear()

    async def stop(self) -> None:
        """Write and answer what is queued, then stop (the server has stopped taking requests)."""
        self._closing = True
        self._wakeup.set()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
        await asyncio.gather(*self._alone_tasks, return_exceptions=True)
        self._alone_pool.shutdown(wait=False)
        self._group_pool.shutdown(wait=False)

    async def submit(self, prepare: Prepare) -> dict:
        """The request's acknowledgement, once its fixes are committed (or its error)."""
        if self._task is None or self._task.done() or self._closing:
            raise Busy("ingest is not running in this server process (shutting down); send again")
        if len(self._queue) >= self.max_queued:
            raise Busy(f"ingest saturated: {len(self._queue)} requests waiting in this server process; send again")
        request = _Request(prepare, asyncio.get_running_loop().create_future())
        self._queue.append(request)
        self._wakeup.set()
        return await request.future

    async def _loop(self) -> None:
        in_flight = asyncio.Semaphore(self.in_flight)
        writing: set[asyncio.Task] = set()
        try:
            while True:
                if not self._queue:
                    if self._closing:
                        return
                    self._wakeup.clear()
                    await self._wakeup.wait()
                    continue
                await in_flight.acquire()  # requests arriving meanwhile join this group
                if self.window and len(self._queue) < self.max_requests and not self._closing:
                    await asyncio.sleep(self.window)
                group, self._queue = self._queue[:self.max_requests], self._queue[self.max_requests:]
                writing.add(task := asyncio.create_task(self._write_and_answer(group)))
                task.add_done_callback(lambda t: (writing.discard(t), in_flight.release()))
        finally:
            await asyncio.gather(*writing, return_exceptions=True)

    async def _write_and_answer(self, group: list[_Request]) -> None:
        try:
            await asyncio.get_running_loop().run_in_executor(self._group_pool, self._write, group)
        except Exception as exc:  # noqa: BLE001 - the group's failure is every request's answer
            for request in group:
                if request.refused is None and request.error is None:
                    request.error, request.result = exc, None
        for request in group:
            if request.busy and request.refused is None and request.error is None:
                self._alone_tasks.add(task := asyncio.create_task(self._write_alone(request)))
                task.add_done_callback(self._alone_tasks.discard)
                continue
            if request.future.done():
                continue  # the client went away; its fixes are committed all the same
            error = request.refused or request.error
            if error is not None:
                request.future.set_exception(error)
            else:
                request.future.set_result(request.result)

    def _write(self, group: list[_Request]) -> None:
        """In a worker thread: the group's one transaction."""
        _retrying(lambda: self._attempt(group), f"ingest group of {len(group)} requests")

    def _attempt(self, group: list[_Request]) -> None:
        with self.session_factory() as db:
            lookup = self.devices.lookup_in(db)
            for request in group:
                # Authenticated, decoded and charged to the device's limits once: a group
                # written again after a deadlock keeps that (the identity as it was read
                # when the request was first taken, as any transaction reads it at its start).
                if request.device is None and request.refused is None:
                    try:
                        request.device, request.fixes = request.prepare(lookup)
                    except DatabaseError:
                        raise  # the database's failure, not this request's: the whole group
                    except Exception as exc:  # noqa: BLE001 - this request's refusal (401, 403, 422, 429)
                        request.refused = exc
            ready = [r for r in group if r.refused is None]
            for request in ready:  # nothing of a rolled-back attempt stays
                request.result, request.error, request.busy = None, None, False
            try:
                self._run_waves(db, ready)
            except DatabaseError as exc:
                if _groups_fault(exc):
                    raise  # the whole group: written again, or its error for everyone
                db.rollback()
                log.error("ingest group of %d requests failed (%s); writing each alone to find which",
                          len(ready), type(exc).__name__)
                self._run_one_by_one(db, ready)
            except Exception as exc:  # noqa: BLE001 - a bug somewhere in the group: find whose
                db.rollback()
                log.error("ingest group of %d requests failed; writing each alone to find which", len(ready),
                          exc_info=exc)
                self._run_one_by_one(db, ready)
            if self.delay_before_commit:
                time.sleep(self.delay_before_commit)  # TEST ONLY: the crash test kills the server here
            db.commit()

    async def _write_alone(self, request: _Request) -> None:
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._alone_pool, self._write_alone_sync, request)
        except Exception as exc:  # noqa: BLE001 - this request's answer
            request.error, request.result = exc, None
        if request.future.done():
            return
        if request.error is not None:
            request.future.set_exception(request.error)
        else:
            request.future.set_result(request.result)

    def _write_alone_sync(self, request: _Request) -> None:
        """One request in its own transaction, waiting for its supervisee's lock."""
        def attempt() -> None:
            request.result = request.error = None
            with self.session_factory() as db:
                try:
                    request.result = ingest(request.fixes, self._context(db, request, self.clock.now())).as_dict()
                except DatabaseError:
                    raise
                except Exception as exc:  # noqa: BLE001 - a refusal (409, 403) or a bug: this request's answer
                    request.error = exc
                    return
                db.commit()

        _retrying(attempt, "ingest request")

    def _context(self, db: Session, request: _Request, now) -> IngestContext:
        return IngestContext(db=db, now=now, settings=self.settings, device=request.device, fences=self.fences)

    def _run_waves(self, db: Session, ready: list[_Request]) -> None:
        """The group in waves: wave k holds the k-th request of each supervisee, in
        arrival order, so a phone's second request reads what its first wrote."""
        now = self.clock.now()
        waves: list[list[_Request]] = []
        seen: dict[int, int] = {}
        for request in sorted(ready, key=lambda r: r.device.supervisee_id):  # stable: arrival order kept
            k = seen.get(request.device.supervisee_id, 0)
            seen[request.device.supervisee_id] = k + 1
            if k == len(waves):
                waves.append([])
            waves[k].append(request)
        busy: set[int] = set()
        for wave in waves:
            for request in wave:
                request.busy = request.device.supervisee_id in busy
            wave = [r for r in wave if not r.busy]
            # Locks are tried, not waited for: a supervisee another transaction holds (a
            # GPX import, an MQTT batch, another process's group) must not hold up the
            # group; its requests are written on their own once this group is answered.
            results = ingest_many([(r.fixes, self._context(db, r, now)) for r in wave], wait_for_locks=False)
            for request, result in zip(wave, results):
                if isinstance(result, SuperviseeBusy):
                    request.busy = True
                    busy.add(request.device.supervisee_id)
                elif isinstance(result, BaseException):
                    request.error = result  # refused before it wrote anything; the others go on
                else:
                    request.result = result.as_dict()

    def _run_one_by_one(self, db: Session, ready: list[_Request]) -> None:
        """After a failure no refusal explains: each request alone, in a savepoint, so
        the one that fails gets its error (a 500, logged) and the rest are written.
        In supervisee-id order, as the waves take their locks."""
        now = self.clock.now()
        for request in sorted(ready, key=lambda r: r.device.supervisee_id):
            request.result, request.error, request.busy = None, None, False
            try:
                # Locks tried, as in the waves: waiting here for another group's lock while
                # it waits for ours (in its own fallback) would be a deadlock.
                with db.begin_nested():
                    [result] = ingest_many([(request.fixes, self._context(db, request, now))], wait_for_locks=False)
            except DatabaseError as exc:
                if _groups_fault(exc):
                    raise
                request.error = exc
            except Exception as exc:  # noqa: BLE001 - this request's bug, not the group's
                request.error = exc
            else:
                if isinstance(result, SuperviseeBusy):
                    request.busy = True  # written on its own after the group
                elif isinstance(result, BaseException):
                    request.error = result  # refused before it wrote anything
                else:
                    request.result = result.as_dict()
