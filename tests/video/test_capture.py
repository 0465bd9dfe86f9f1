"""Frame grabs against real loopback cameras: OpenCV reads, deadlines hold, nothing leaks."""
from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.cameras_fixture import PRIVATE_CREDENTIALS, camera_servers
from video.camera_url import check_camera_url
from video.capture import GrabPool

LOOP = ["127.0.0.0/8"]
FACE = Path(__file__).resolve().parent.parent / "data" / "faces" / "person-a-1.jpg"


def cam(url: str, **kw):
    return check_camera_url(url, networks=LOOP, **kw)


def decode(jpeg: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None
    return image


def children() -> set[int]:
    me, found = os.getpid(), set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == me:
                found.add(int(entry))
    return found


def fds() -> int:
    return len(os.listdir("/proc/self/fd"))


class OverrunPool(GrabPool):
    """A pool whose workers are told a budget far past the hard deadline: the only way a
    test can make a real worker outlive its deadline, so the kill path is exercised."""

    def _request(self, *args):
        request = super()._request(*args)
        request["budget_s"] = 60.0
        return request


@pytest.fixture(scope="module")
def cameras():
    with camera_servers() as servers:
        yield servers


@pytest.fixture(scope="module")
def pool():
    with GrabPool(workers=2, deadline_s=2.0) as p:
        yield p


def test_opencv_reads_the_mjpeg_stream(cameras, pool):
    result = pool.grab(cam(cameras.mjpeg), frames=3, interval_s=0.15)
    assert result.ok and result.error is None and len(result.frames) == 3
    images = [decode(f) for f in result.frames]
    assert all(i.shape == (240, 320, 3) for i in images)
    assert np.abs(images[0].astype(int) - images[2].astype(int)).mean() > 1  # later frames, not one repeated
    assert result.elapsed_ms < 2000


def test_still_image_is_decoded_and_reencoded(tmp_path):
    served = FACE.read_bytes()
    with camera_servers(images=[served]) as cameras, GrabPool(workers=1, deadline_s=3.0) as pool:
        result = pool.grab(cam(cameras.still))
    assert result.ok and len(result.frames) == 1
    frame = result.frames[0]
    assert frame != served and frame[:3] == b"\xff\xd8\xff"  # ours, not the camera's bytes
    original, grabbed = decode(served), decode(frame)
    assert original.shape == grabbed.shape
    assert np.abs(original.astype(int) - grabbed.astype(int)).mean() < 4


def test_mjpeg_from_given_jpegs_reaches_opencv():
    with camera_servers(images=[FACE]) as cameras, GrabPool(workers=1, deadline_s=3.0) as pool:
        result = pool.grab(cam(cameras.mjpeg))
    assert result.ok and decode(result.frames[0]).shape == decode(FACE.read_bytes()).shape


@pytest.mark.parametrize("name, error", [("not_image", "not_an_image"), ("forbidden", "refused"),
                                         ("redirect", "refused")])
def test_camera_answers_that_are_not_frames(cameras, pool, name, error):
    before = len(cameras.requests)
    result = pool.grab(cam(getattr(cameras, name)))
    assert (result.ok, result.error, result.frames) == (False, error, ())
    assert "/still.jpg" not in cameras.requests[before:]  # a redirect is never followed


def test_closed_port_is_unreachable(pool):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, never listening: connections are refused
        for scheme in ("http", "rtsp"):
            result = pool.grab(cam(f"{scheme}://127.0.0.1:{port}/x"))
            assert (result.ok, result.error) == (False, "unreachable")


def test_credentials_reach_the_camera_and_nowhere_else(cameras, pool):
    url = cam(cameras.private)
    assert pool.grab(url).error == "refused"
    result = pool.grab(url, credentials=PRIVATE_CREDENTIALS)
    assert result.ok
    secret = PRIVATE_CREDENTIALS[1].encode()
    for pid in children():  # not in any worker's command line or environment (other users can read them)
        assert secret not in Path(f"/proc/{pid}/cmdline").read_bytes()
        assert secret not in Path(f"/proc/{pid}/environ").read_bytes()


def test_a_name_is_connected_to_at_its_pinned_address(cameras, pool):
    def resolve(host, port, type=0, **_):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]

    url = cam(f"http://cam-17.village.test:{cameras.port}/still.jpg", resolve=resolve)
    result = pool.grab(url)  # cam-17.village.test resolves nowhere: only the pinned address can work
    assert result.ok
    assert cameras.hosts[-1] == f"cam-17.village.test:{cameras.port}"  # the camera still sees its name


@pytest.mark.parametrize("name", ["black_hole", "slow_drip", "slow_still", "rtsp_black_hole"])
def test_hung_cameras_hit_the_deadline(cameras, pool, name):
    url = cameras.black_hole.replace("http", "rtsp") if name == "rtsp_black_hole" else getattr(cameras, name)
    start = time.monotonic()
    result = pool.grab(cam(url))
    took = time.monotonic() - start
    assert (result.ok, result.error) == (False, "timeout")
    assert took < pool.deadline_s + 0.5 and result.elapsed_ms <= pool.deadline_s * 1000 + 100


def test_a_late_worker_is_killed_and_replaced(cameras):
    others = children()  # the module's pool
    with OverrunPool(workers=1, deadline_s=1.0) as pool:
        assert pool.grab(cam(cameras.still)).ok
        (pid,) = children() - others
        start = time.monotonic()
        result = pool.grab(cam(cameras.black_hole))
        assert (result.error, pool.kills) == ("timeout", 1)
        assert 0.95 < time.monotonic() - start < 1.5
        assert not Path(f"/proc/{pid}").exists()  # killed and reaped, no zombie
        assert pool.grab(cam(cameras.still)).ok  # a fresh worker took its place
        assert len(children() - others) == 1


def test_a_full_queue_answers_busy_at_once(cameras):
    with GrabPool(workers=1, deadline_s=1.0, max_queue=2) as pool:
        futures = [pool.submit(cam(cameras.black_hole)) for _ in range(6)]
        busy = [f for f in futures if f.done() and f.result().error == "busy"]
        assert len(busy) == 3
        assert all(f.result().error == "timeout" for f in futures if f not in busy)


def test_grab_takes_only_checked_urls(pool):
    with pytest.raises(TypeError):
        pool.grab("file:///etc/passwd")  # type: ignore[arg-type]


def test_hundred_attempts_leave_no_process_and_no_descriptor():
    fds_before, children_before = fds(), children()
    most = 0
    with camera_servers() as cameras:
        hung = [cam(cameras.black_hole), cam(cameras.slow_drip), cam(cameras.slow_still),
                cam(cameras.black_hole.replace("http", "rtsp"))]
        healthy = [cam(cameras.mjpeg), cam(cameras.still)]
        with GrabPool(workers=4, deadline_s=1.0, max_queue=100) as pool:
            futures = [pool.submit(hung[i % 4] if i % 3 else healthy[i % 2]) for i in range(90)]
            for f in futures:
                f.result()
                most = max(most, len(children() - children_before))
            results = [f.result() for f in futures]
        with OverrunPool(workers=2, deadline_s=0.5) as killer:  # the kill path, ten times
            killed = [killer.submit(hung[0]) for _ in range(10)]
            assert all(f.result().error == "timeout" for f in killed) and killer.kills == 10
    assert sum(r.ok for r in results) == 30 and {r.error for r in results if not r.ok} == {"timeout"}
    assert most <= 4
    time.sleep(0.1)
    assert children() == children_before
    assert fds() == fds_before


def test_a_silent_camera_is_hung_after_the_answer_timeout_a_slow_one_gets_the_deadline(cameras):
    """A black hole says nothing: given up after answer_s. A slow drip keeps talking: it gets the whole budget."""
    with GrabPool(workers=2, deadline_s=3.0, answer_s=0.5) as pool:
        pool.grab(cam(cameras.still))  # workers started
        for url in (cameras.black_hole, cameras.black_hole.replace("http", "rtsp")):
            result = pool.grab(cam(url))
            assert result.error == "timeout" and 400 < result.elapsed_ms < 1500, result
        result = pool.grab(cam(cameras.slow_still))
        assert result.error == "timeout" and result.elapsed_ms > 2000
        assert pool.kills == 0


def test_a_hung_camera_asked_many_times_holds_one_worker(cameras):
    """Grabs of one stream run one at a time (waiting without a worker): other cameras keep being served."""
    with GrabPool(workers=2, deadline_s=1.0, answer_s=0.5) as pool:
        pool.grab(cam(cameras.still))
        start = time.monotonic()
        hung = [pool.submit(cam(cameras.black_hole)) for _ in range(4)]
        healthy = [pool.submit(cam(f"{cameras.still}?n={n}")) for n in range(4)]
        assert all(f.result().ok for f in healthy)
        healthy_done = time.monotonic() - start
        assert all(f.result().error == "timeout" for f in hung)
        hung_done = time.monotonic() - start
    assert healthy_done < 0.9  # not behind the hung camera's grabs
    assert hung_done > 4 * 0.45  # the hung camera's four grabs took turns


def test_a_worker_inherits_no_secret_of_the_server(cameras, monkeypatch):
    canary = "canary-" + os.urandom(8).hex()
    monkeypatch.setenv("ZHIJIAO_AUDIT_KEY", canary)
    monkeypatch.setenv("ZHIJIAO_DATABASE_URL", f"postgresql://user:{canary}@127.0.0.1/db")
    before = children()
    with GrabPool(workers=1, deadline_s=3.0) as pool:
        assert pool.grab(cam(cameras.still)).ok  # a working worker, without the server's environment
        spawned = children() - before
        assert spawned
        for pid in spawned:
            environ = Path(f"/proc/{pid}/environ").read_bytes()
            assert canary.encode() not in environ and b"ZHIJIAO_" not in environ


class _RtspRedirector:
    """An RTSP 'camera' on 127.0.0.1 that answers every request with a 302 to a listener on
    another loopback address (127.0.0.77, outside the camera network given), which counts the
    connections it gets: there must be none."""

    def __init__(self) -> None:
        import threading

        self.elsewhere = socket.create_server(("127.0.0.77", 0))
        self.reached = 0
        self.camera = socket.create_server(("127.0.0.1", 0))
        self.url = f"rtsp://127.0.0.1:{self.camera.getsockname()[1]}/live"
        self.location = f"rtsp://127.0.0.77:{self.elsewhere.getsockname()[1]}/live"
        self._stop = False
        for target in (self._serve, self._count):
            threading.Thread(target=target, daemon=True).start()

    def _serve(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.camera.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                try:
                    while request := conn.recv(4096):
                        cseq = next((line.split(b":", 1)[1].strip() for line in request.split(b"\r\n")
                                     if line.lower().startswith(b"cseq:")), b"1")
                        conn.sendall(b"RTSP/1.0 302 Moved Temporarily\r\nCSeq: " + cseq +
                                     b"\r\nLocation: " + self.location.encode() + b"\r\n\r\n")
                except OSError:
                    pass

    def _count(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.elsewhere.accept()
            except OSError:
                return
            self.reached += 1
            conn.close()

    def close(self) -> None:
        self._stop = True
        self.camera.close()
        self.elsewhere.close()


def test_an_rtsp_redirect_to_another_host_is_refused_and_never_followed(pool):
    redirector = _RtspRedirector()
    try:
        url = check_camera_url(redirector.url, networks=["127.0.0.1/32"])
        result = pool.grab(url)
        assert (result.ok, result.error, result.frames) == (False, "refused", ())
        time.sleep(0.2)
        assert redirector.reached == 0
    finally:
        redirector.close()


def test_a_worker_knows_its_own_tcp_peers():
    from video.capture_worker import tcp_peers

    with socket.create_server(("127.0.0.1", 0)) as server, \
            socket.create_connection(server.getsockname()) as client:
        assert server.getsockname() in tcp_peers()
        assert client.getsockname() not in tcp_peers()  # the other end: not accepted, so no fd of ours
