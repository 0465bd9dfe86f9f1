"""Fixture cameras on loopback: real sockets, real HTTP, real JPEGs.

``camera_servers()`` starts one HTTP camera server and one black hole on
127.0.0.1 and yields their URLs:

- ``mjpeg``: ``multipart/x-mixed-replace`` MJPEG, as IP cameras serve it, from
  generated frames (a counter drawn on a gradient, so consecutive frames
  differ) or from given JPEG files (``images=[Path(...)]``, cycled);
- ``still``: one JPEG per request (a snapshot URL), the next frame each time;
- ``slow_drip``: answers 200 with MJPEG headers, then one byte every 0.2 s forever;
- ``slow_still``: a snapshot whose body (Content-Length: 1 MB) drips the same way;
- ``not_image``: 200 text/html; ``redirect``: 302 to the still image; ``forbidden``: 401;
- ``private``: the still image behind Basic auth (``PRIVATE_CREDENTIALS``);
- ``black_hole``: a TCP port that accepts and never answers (HTTP or RTSP alike).

Every connection is closed when the context exits, so a test can count file
descriptors after it.
"""
from __future__ import annotations

import base64
import contextlib
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import cv2
import numpy as np

BOUNDARY = "zjframe"
PRIVATE_CREDENTIALS = ("admin", "p@ss:w/rd 1")


def generated_jpeg(n: int, size: tuple[int, int] = (320, 240)) -> bytes:
    """A JPEG showing frame number ``n`` (different every frame)."""
    width, height = size
    ramp = np.linspace(0, 255, width, dtype=np.uint8)
    image = np.dstack([np.tile(ramp, (height, 1)), np.full((height, width), (n * 23) % 256, np.uint8),
                       np.tile(ramp[::-1], (height, 1))]).copy()
    cv2.putText(image, f"#{n}", (20, height // 2), cv2.FONT_HERSHEY_SIMPLEX, 2.0, (255, 255, 255), 3)
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 85])
    assert ok
    return data.tobytes()


@dataclass
class CameraServers:
    mjpeg: str
    still: str
    slow_drip: str
    slow_still: str
    not_image: str
    redirect: str
    forbidden: str
    black_hole: str
    port: int
    black_hole_port: int
    requests: list[str]  # paths served, in order (what the cameras were asked)
    hosts: list[str]     # the Host header of each request, same order
    private: str = ""    # a snapshot needing Basic credentials PRIVATE_CREDENTIALS (401 without)


class _Frames:
    def __init__(self, images: Sequence[bytes] | None) -> None:
        self.images = list(images or ())
        self.count = 0
        self.lock = threading.Lock()

    def next(self) -> bytes:
        with self.lock:
            n, self.count = self.count, self.count + 1
        return self.images[n % len(self.images)] if self.images else generated_jpeg(n)


def _handler(frames: _Frames, stop: threading.Event, fps: float, log: list[str], hosts: list[str]):
    class Camera(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def log_message(self, *_args) -> None:  # quiet: tests read assertions, not access logs
            pass

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            log.append(self.path)
            hosts.append(self.headers.get("Host", ""))
            path = self.path.split("?", 1)[0]
            try:
                route = {"/mjpeg": self._mjpeg, "/still.jpg": self._still, "/drip": self._drip,
                         "/slow.jpg": self._slow_still, "/text": self._text, "/redirect": self._redirect,
                         "/forbidden": self._forbidden, "/private.jpg": self._private}.get(path)
                if route is None:
                    self.send_error(404)
                else:
                    route()
            except (BrokenPipeError, ConnectionResetError, TimeoutError, OSError):
                pass  # the client went away (or was killed): that is the point of several tests

        def _mjpeg(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
            self.send_header("Cache-Control", "no-cache")
            self.end_headers()
            while not stop.is_set():
                jpeg = frames.next()
                self.wfile.write(f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n"
                                 .encode() + jpeg + b"\r\n")
                self.wfile.flush()
                stop.wait(1.0 / fps)

        def _still(self) -> None:
            jpeg = frames.next()
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Content-Length", str(len(jpeg)))
            self.end_headers()
            self.wfile.write(jpeg)

        def _drip_bytes(self, data: bytes) -> None:
            for i in range(len(data)):
                if stop.wait(0.2):
                    return
                self.wfile.write(data[i:i + 1])
                self.wfile.flush()

        def _drip(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
            self.end_headers()
            self.wfile.flush()
            jpeg = frames.next()
            self._drip_bytes(f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\n\r\n".encode() + jpeg * 100)

        def _slow_still(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Content-Length", str(1_000_000))
            self.end_headers()
            self.wfile.flush()
            self._drip_bytes(frames.next() * 100)

        def _text(self) -> None:
            body = b"<html><body>not a camera</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _redirect(self) -> None:
            self.send_response(302)
            self.send_header("Location", "/still.jpg")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def _private(self) -> None:
            expected = "Basic " + base64.b64encode(":".join(PRIVATE_CREDENTIALS).encode()).decode()
            if self.headers.get("Authorization") == expected:
                self._still()
            else:
                self._forbidden()

        def _forbidden(self) -> None:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="camera"')
            self.send_header("Content-Length", "0")
            self.end_headers()

    return Camera


class _BlackHole:
    """Accepts every connection and never sends a byte (nor reads one)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(256)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.held: list[socket.socket] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True, name="camera-black-hole")
        self.thread.start()

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            self.held.append(conn)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)
        for conn in self.held:
            conn.close()
        self.sock.close()


@contextlib.contextmanager
def camera_servers(*, images: Sequence[Path | bytes] | None = None, fps: float = 10.0) -> Iterator[CameraServers]:
    """Start the fixture cameras on loopback; yield their URLs; close everything on exit."""
    data = [p.read_bytes() if isinstance(p, Path) else p for p in images or ()]
    stop = threading.Event()
    log: list[str] = []
    hosts: list[str] = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(_Frames(data), stop, fps, log, hosts))
    server.daemon_threads = True
    server.block_on_close = False
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True,
                              name="camera-fixture")
    thread.start()
    hole = _BlackHole()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        yield CameraServers(
            mjpeg=f"{base}/mjpeg", still=f"{base}/still.jpg", slow_drip=f"{base}/drip", slow_still=f"{base}/slow.jpg",
            not_image=f"{base}/text", redirect=f"{base}/redirect", forbidden=f"{base}/forbidden",
            black_hole=f"http://127.0.0.1:{hole.port}/video", port=server.server_port, black_hole_port=hole.port,
            requests=log, hosts=hosts, private=f"{base}/private.jpg")
    finally:
        stop.set()
        server.shutdown()
        server.server_close()
        hole.close()
        time.sleep(0.05)  # let the streaming handler threads see `stop` and close their sockets
