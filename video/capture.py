"""Frame grabs from cameras with a hard deadline, in a bounded pool of worker processes.

A grab opens a camera URL that was checked (video/camera_url.py) at its pinned
address, in a worker process (video/capture_worker.py), and answers with
JPEGs re-encoded by us (nothing from a camera is passed on as it came).

Why processes, and why reused: OpenCV/FFmpeg can block in C where no Python
timeout reaches, so the only deadline that always holds is killing the
process. Spawning one per grab would cost an interpreter plus the cv2 import
(~0.3 s of CPU, more on a loaded host) for a grab that takes ~50 ms on a
healthy camera, so workers are kept and reused; a late one is killed (and a
fresh one spawned when next needed), and each is recycled after
``recycle_after`` grabs so FFmpeg's slow leaks stay bounded. At most
``workers`` processes exist at once and at most ``max_queue`` grabs wait for
one: an alert storm gets "busy" answers, it does not fork-bomb the host.
One stream is grabbed by one worker at a time (others wait for it without
holding a worker), so a hung camera asked for by many alerts holds one
worker, not all of them, and a camera is never opened twice at once (they
allow few sessions).

A camera that says nothing at all for ``answer_s`` (default 3 s: connect, the
first bytes of an answer, any later read) is hung and answered "timeout" then,
without waiting for the whole deadline, which is for a slow keyframe; that
keeps a black-hole camera from holding a worker for ten seconds.

The deadline counts from the moment a worker starts the grab (waiting in the
queue is not the camera's fault), and a worker that is still starting (cv2
import) does not eat into it either.
"""
from __future__ import annotations

import collections
import concurrent.futures
import json
import os
import queue
import select
import struct
import subprocess
import sys
import threading
import time
from dataclasses import dataclass

from video.camera_url import CameraUrl

STARTUP_S = 60.0  # a deadline for a worker's start only: a loaded 2-core host imports cv2 slowly
# The environment a grab worker inherits (see _Worker).
WORKER_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "LD_LIBRARY_PATH")
ERRORS = ("timeout", "unreachable", "not_an_image", "refused", "stream_error", "busy")


@dataclass(frozen=True)
class GrabResult:
    ok: bool
    frames: tuple[bytes, ...]  # JPEG bytes (re-encoded by us); fewer than asked when the deadline came first
    error: str | None          # one of ERRORS
    elapsed_ms: float


class _Late(Exception):
    pass


@dataclass
class _Job:
    future: concurrent.futures.Future
    url: CameraUrl
    credentials: tuple[str, str] | None
    frames: int
    interval_s: float


class _Worker:
    """One worker process and its two pipes; used by one pool thread at a time."""

    def __init__(self) -> None:
        # Only what a Python process needs: the server's environment holds its secrets (the
        # keys, the database URL), and a worker talks to cameras that may not be ours.
        env = {k: os.environ[k] for k in WORKER_ENV if k in os.environ}
        env |= {"OPENCV_LOG_LEVEL": "OFF", "OPENCV_FFMPEG_LOGLEVEL": "-8", "OPENCV_VIDEOIO_DEBUG": "0",
                "OPENCV_FFMPEG_CAPTURE_OPTIONS": "", "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        self.proc = subprocess.Popen([sys.executable, "-m", "video.capture_worker"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, close_fds=True)
        self.uses = 0
        try:
            if self._read(1, time.monotonic() + STARTUP_S) != b"R":
                raise _Late
        except _Late:
            self.kill()
            raise RuntimeError("grab worker did not start") from None

    def _read(self, n: int, deadline: float) -> bytes:
        fd, chunks, got = self.proc.stdout.fileno(), [], 0
        while got < n:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise _Late
            chunk = os.read(fd, n - got)
            if not chunk:
                raise EOFError("grab worker exited")
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)

    def run(self, request: dict, deadline: float) -> tuple[str | None, list[bytes]]:
        """Send one request; its answer by ``deadline`` or _Late (the caller kills us)."""
        body = json.dumps(request).encode()
        self.proc.stdin.write(struct.pack(">I", len(body)) + body)
        self.proc.stdin.flush()
        self.uses += 1
        size = struct.unpack(">I", self._read(4, deadline))[0]
        header = json.loads(self._read(size, deadline))
        frames = [self._read(n, deadline) for n in header["sizes"]]
        return header["error"], frames

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        self.proc.kill()
        self._reap(5.0)

    def stop(self) -> None:
        """Ask politely (stdin EOF ends its loop), then kill."""
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(2.0)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self._reap(5.0)

    def _reap(self, timeout: float) -> None:
        self.proc.wait(timeout)  # no zombie left behind
        for pipe in (self.proc.stdin, self.proc.stdout):
            try:
                pipe.close()
            except OSError:
                pass


class GrabPool:
    """Thread-safe; ``grab`` blocks, ``submit`` returns a future at once."""

    def __init__(self, *, workers: int = 4, deadline_s: float = 10.0, max_queue: int = 64,
                 max_bytes: int = 8 * 1024 * 1024, recycle_after: int = 500, answer_s: float = 3.0,
                 prestart: bool = True) -> None:
        if workers < 1 or deadline_s <= 0 or max_queue < 0 or answer_s <= 0:
            raise ValueError("workers ≥ 1, deadline_s > 0, answer_s > 0 and max_queue ≥ 0 are required")
        self.workers, self.deadline_s, self.max_queue, self.answer_s = workers, deadline_s, max_queue, answer_s
        self.max_bytes, self.recycle_after = max_bytes, recycle_after
        self._executor = concurrent.futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="camera-grab")
        self._slots: queue.SimpleQueue[_Worker | None] = queue.SimpleQueue()
        for _ in range(workers):
            self._slots.put(None)  # spawned when first needed
        self._lock = threading.Lock()
        self._pending = 0  # submitted, not answered (running, queued, or waiting for their camera)
        self._streams: dict[tuple, collections.deque[_Job]] = {}  # cameras being grabbed -> grabs waiting
        self._closed = False
        self.kills = 0  # late workers killed (for benchmarks and tests)
        if prestart:  # in the background: the first grabs then find workers ready (cv2 imported)
            threading.Thread(target=self._prestart, daemon=True, name="camera-grab-prestart").start()

    def _prestart(self) -> None:
        for _ in range(self.workers):
            worker = self._slots.get()
            if worker is None and not self._closed:
                try:
                    worker = _Worker()
                except RuntimeError:
                    worker = None  # spawned again when a grab needs it
            self._slots.put(worker)

    @classmethod
    def from_settings(cls, settings) -> GrabPool:
        """A pool sized by ``CameraSettings``."""
        return cls(workers=settings.camera_grab_workers, deadline_s=settings.camera_grab_deadline_seconds,
                   max_queue=settings.camera_grab_queue, max_bytes=settings.camera_snapshot_max_bytes,
                   answer_s=settings.camera_answer_timeout_seconds)

    def grab(self, url: CameraUrl, *, credentials: tuple[str, str] | None = None, frames: int = 1,
             interval_s: float = 0.0) -> GrabResult:
        """Grab ``frames`` frames ``interval_s`` apart; blocks until done or the deadline."""
        return self.submit(url, credentials=credentials, frames=frames, interval_s=interval_s).result()

    def submit(self, url: CameraUrl, *, credentials: tuple[str, str] | None = None, frames: int = 1,
               interval_s: float = 0.0) -> concurrent.futures.Future[GrabResult]:
        if not isinstance(url, CameraUrl):
            raise TypeError("grab takes a CameraUrl from check_camera_url, never a raw string")
        if not 1 <= frames <= 50 or interval_s < 0:
            raise ValueError("frames must be 1..50 and interval_s ≥ 0")
        key = (url.scheme, url.address, url.port, url.path)  # one stream (an NVR's channels are separate ones)
        job = _Job(concurrent.futures.Future(), url, credentials, frames, interval_s)
        with self._lock:
            if self._closed:
                raise RuntimeError("the grab pool is closed")
            if self._pending >= self.workers + self.max_queue:
                job.future.set_result(GrabResult(False, (), "busy", 0.0))
                return job.future
            self._pending += 1
            waiting = self._streams.get(key)
            if waiting is not None:  # this camera is being grabbed: wait without holding a worker
                waiting.append(job)
                return job.future
            self._streams[key] = collections.deque()
        self._start(key, job)
        return job.future

    def _start(self, key: tuple, job: _Job) -> None:
        try:
            inner = self._executor.submit(self._run, job.url, job.credentials, job.frames, job.interval_s)
        except RuntimeError:  # closed meanwhile
            self._finished(key, job, None)
            return
        inner.add_done_callback(lambda done: self._finished(key, job, done))

    def _finished(self, key: tuple, job: _Job, inner: concurrent.futures.Future | None) -> None:
        """A grab ended (or was cancelled): answer it, and start the next one waiting for the same camera."""
        with self._lock:
            self._pending -= 1
            waiting = self._streams[key]
            if waiting and not self._closed:
                following, left = waiting.popleft(), []
            else:
                following, left = None, list(waiting)  # closed: nobody will grab these
                del self._streams[key]
                self._pending -= len(left)
        try:
            if inner is None or inner.cancelled():
                job.future.cancel()
            elif inner.exception() is not None:
                job.future.set_exception(inner.exception())
            else:
                job.future.set_result(inner.result())
        except concurrent.futures.InvalidStateError:  # the caller cancelled it meanwhile
            pass
        for other in left:
            other.future.cancel()
        if following is not None:
            self._start(key, following)

    def _request(self, url: CameraUrl, credentials, frames: int, interval_s: float) -> dict:
        # The worker's own budget ends before the hard deadline, so a hung camera is usually
        # answered "timeout" by the worker (kept) rather than by a kill (respawn costs a cv2 import).
        margin = min(max(0.3, 0.1 * self.deadline_s), 0.5 * self.deadline_s)
        return {"url": url.connect_url(credentials), "scheme": url.scheme, "address": url.address, "port": url.port,
                "host_header": url.host_header, "sni": url.host if url.scheme == "https" else None,
                "frames": frames, "interval_s": interval_s, "budget_s": self.deadline_s - margin,
                "max_bytes": self.max_bytes, "answer_s": self.answer_s}

    def _run(self, url: CameraUrl, credentials, frames: int, interval_s: float) -> GrabResult:
        worker = self._slots.get()
        try:
            if worker is not None and not worker.alive():
                worker.kill()  # reaps it and closes its pipes
                worker = None
            if worker is None:
                try:
                    worker = _Worker()
                except RuntimeError:
                    return GrabResult(False, (), "stream_error", 0.0)
            start = time.monotonic()
            try:
                error, jpegs = worker.run(self._request(url, credentials, frames, interval_s), start + self.deadline_s)
            except _Late:
                worker.kill()
                worker = None
                with self._lock:
                    self.kills += 1
                error, jpegs = "timeout", []
            except (EOFError, OSError, ValueError):  # the worker died mid-grab (crash in C code)
                worker.kill()
                worker, error, jpegs = None, "stream_error", []
            elapsed = (time.monotonic() - start) * 1000
            if worker is not None and worker.uses >= self.recycle_after:
                worker.stop()
                worker = None
            return GrabResult(ok=bool(jpegs) and error is None, frames=tuple(jpegs), error=error, elapsed_ms=elapsed)
        finally:
            self._slots.put(worker)

    def close(self) -> None:
        """Wait for running grabs (each ends by its deadline), cancel queued ones, stop every worker."""
        with self._lock:
            self._closed = True
        self._executor.shutdown(wait=True, cancel_futures=True)
        for _ in range(self.workers):
            worker = self._slots.get()
            if worker is not None:
                worker.stop()
            self._slots.put(None)

    def __enter__(self) -> GrabPool:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()
