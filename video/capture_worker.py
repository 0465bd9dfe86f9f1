"""The grab worker process: opens one camera at a time, answers with re-encoded JPEGs.

Run as ``python -m video.capture_worker`` by video/capture.py's pool, never by
hand. Why a process: OpenCV/FFmpeg can block inside C code where no Python
timeout reaches, so the parent keeps a hard deadline and kills this process
when it is late. The worker also keeps its own, shorter budget (OpenCV's
open/read timeouts, FFmpeg's socket timeouts, httpx's), so a hung camera
usually costs a "timeout" answer, not a kill and a respawn.

Protocol on stdin/stdout, each message a 4-byte big-endian length and a body:
one ``R`` byte when ready; then per request a JSON object in, and out a JSON
header ``{"error": …, "sizes": […]}`` followed by the JPEG bytes. Credentials
arrive in the request (never in argv or the environment, which other local
users can read in /proc), and nothing of the URL is ever printed: fds 1 and 2
point at /dev/null so a chatty C library can neither corrupt the protocol nor
leak a password into a log.
"""
from __future__ import annotations

import json
import os
import socket
import struct
import sys
import time
from urllib.parse import urlsplit, urlunsplit

import httpx

from video.image_header import HeaderError, read_header

MAX_PIXELS = 16_000_000    # a 4K camera is 8.3 M; anything larger is not a camera frame
JPEG_QUALITY = 90
# FFmpeg protocols each scheme may use: nothing that reads files or chains other URLs.
WHITELIST = {"rtsp": "rtsp,rtp,udp,tcp", "http": "http,tcp", "https": "https,tls,tcp"}


class GrabError(Exception):
    """A grab that failed for a reason of the camera's (str: the GrabResult error code)."""


def _ffmpeg_options(req: dict, remaining_s: float) -> str:
    # Socket timeouts: a camera silent for answer_s is hung; the open as a whole (which may wait
    # for a keyframe) gets the remaining budget through CAP_PROP_OPEN_TIMEOUT_MSEC.
    micro = str(max(1, int(min(req["answer_s"], remaining_s) * 1_000_000)))
    opts = [f"protocol_whitelist;{WHITELIST[req['scheme']]}"]
    if req["scheme"] == "rtsp":
        opts += ["rtsp_transport;tcp", f"timeout;{micro}"]
    else:
        # No redirects: a camera must not send FFmpeg to another internal address.
        opts += [f"rw_timeout;{micro}", "max_redirects;0", "reconnect;0"]
    return "|".join(opts)


def _encode(cv2, frame) -> bytes:
    height, width = frame.shape[:2]
    if width * height > MAX_PIXELS:
        raise GrabError("stream_error")
    ok, data = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise GrabError("stream_error")
    return data.tobytes()


def _decode_still(cv2, np, data: bytes) -> bytes:
    try:
        header = read_header(data)
    except HeaderError:
        raise GrabError("not_an_image") from None
    if header.width * header.height > MAX_PIXELS:  # refused before a decoder allocates for it
        raise GrabError("not_an_image")
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if image is None or image.size == 0:
        raise GrabError("not_an_image")
    return _encode(cv2, image)


def _http_get(client: httpx.Client, req: dict, deadline: float):
    """Open the URL with httpx: (content type, response) or GrabError. The caller closes it."""
    headers = {"Host": req["host_header"], "Accept": "image/jpeg, multipart/x-mixed-replace, */*"}
    extensions = {"sni_hostname": req["sni"]} if req.get("sni") else {}
    request = client.build_request("GET", req["url"], headers=headers, extensions=extensions)
    try:
        response = client.send(request, stream=True, follow_redirects=False)
    except httpx.TimeoutException:
        raise GrabError("timeout") from None
    except (httpx.TransportError, OSError):
        raise GrabError("timeout" if time.monotonic() >= deadline else "unreachable") from None
    if response.status_code in (401, 403) or 300 <= response.status_code < 400:
        response.close()
        raise GrabError("refused")
    if response.status_code != 200:
        response.close()
        raise GrabError("stream_error")
    return response.headers.get("content-type", "").lower(), response


def _read_capped(response: httpx.Response, max_bytes: int, deadline: float) -> bytes:
    body = bytearray()
    try:
        for chunk in response.iter_raw():
            body += chunk
            if len(body) > max_bytes:
                raise GrabError("not_an_image")
            if time.monotonic() >= deadline:  # a slow drip: each read is quick, the whole is not
                raise GrabError("timeout")
    except httpx.TimeoutException:
        raise GrabError("timeout") from None
    except httpx.TransportError:
        raise GrabError("stream_error") from None
    return bytes(body)


def _grab_still(cv2, np, client, req, deadline, first) -> list[bytes]:
    frames: list[bytes] = []
    for i in range(req["frames"]):
        if i:
            if time.monotonic() + req["interval_s"] >= deadline:
                break
            time.sleep(req["interval_s"])
        _ctype, response = first if i == 0 else _http_get(client, req, deadline)
        try:
            frames.append(_decode_still(cv2, np, _read_capped(response, req["max_bytes"], deadline)))
        finally:
            response.close()
    return frames


def _rtsp_preflight(req: dict, timeout: float) -> None:
    """Ask the pinned address for the stream ourselves first: FFmpeg's RTSP client follows a 3xx
    to wherever its Location points (no option turns that off, unlike HTTP's max_redirects), which
    would take the grab past the address the URL check pinned. A camera that redirects is refused."""
    parts = urlsplit(req["url"])
    netloc = parts.netloc.rpartition("@")[2]  # never send the credentials to a probe
    target = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
    try:
        with socket.create_connection((req["address"], req["port"]), timeout=timeout) as conn:
            conn.sendall(f"DESCRIBE {target} RTSP/1.0\r\nCSeq: 1\r\nAccept: application/sdp\r\n"
                         f"User-Agent: Lavf\r\n\r\n".encode())
            status = conn.recv(64).split(b"\r\n", 1)[0].split()
    except TimeoutError:
        raise GrabError("timeout") from None
    except OSError:
        raise GrabError("unreachable") from None
    if len(status) < 2 or not status[0].startswith(b"RTSP/"):
        raise GrabError("stream_error")
    if status[1][:1] == b"3":
        raise GrabError("refused")


def _hex_address(text: str) -> tuple[str, int]:
    """An address:port of /proc/net/tcp{,6} (the kernel's byte order) as (ip text, port)."""
    addr, port = text.split(":")
    raw = bytes.fromhex(addr)
    raw = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
    family = socket.AF_INET if len(raw) == 4 else socket.AF_INET6
    ip = socket.inet_ntop(family, raw)
    if ip.startswith("::ffff:") and "." in ip:
        ip = ip[7:]
    return ip, int(port, 16)


def tcp_peers() -> set[tuple[str, int]]:
    """The remote ends of this process's own connected TCP sockets."""
    inodes = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            link = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[8:-1])
    peers = set()
    for table in ("/proc/self/net/tcp", "/proc/self/net/tcp6"):
        try:
            lines = open(table).read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            if cols[9] in inodes and cols[3] in ("01", "02"):  # established or connecting
                peers.add(_hex_address(cols[2]))
    return peers


def _grab_stream(cv2, req: dict, deadline: float) -> list[bytes]:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise GrabError("timeout")
    if req["scheme"] == "rtsp":  # also: a refused port answers at once ("unreachable", not "stream_error")
        _rtsp_preflight(req, min(req["answer_s"], remaining))
    os.environ["OPENCV_FFMPEG_CAPTURE_OPTIONS"] = _ffmpeg_options(req, remaining)  # read by each open()
    ms = max(1, int(remaining * 1000))
    silent = min(req["answer_s"], remaining) * 0.9  # failing after this long = the camera went silent
    opened_at = time.monotonic()
    cap = cv2.VideoCapture(req["url"], cv2.CAP_FFMPEG,
                           [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, ms])
    try:
        if not cap.isOpened():
            raise GrabError("timeout" if time.monotonic() - opened_at >= silent else "stream_error")
        # Whatever the camera told FFmpeg, it may only be connected to the pinned address: a
        # redirect that got past the preflight (a camera answering it differently) ends here,
        # before any frame of another host is read.
        if any(peer != (req["address"], req["port"]) for peer in tcp_peers()):
            raise GrabError("refused")
        frames: list[bytes] = []
        for i in range(req["frames"]):
            if i:
                until = time.monotonic() + req["interval_s"]
                if until >= deadline:
                    break
                while time.monotonic() < until and cap.grab():  # keep reading, so the next frame is fresh
                    pass
            read_at = time.monotonic()
            ok, frame = cap.read()
            if not ok or frame is None:
                if frames:
                    break
                raise GrabError("timeout" if time.monotonic() - read_at >= silent else "stream_error")
            frames.append(_encode(cv2, frame))
            if time.monotonic() >= deadline:
                break
        return frames
    finally:
        cap.release()


def grab(cv2, np, req: dict) -> list[bytes]:
    """One grab: JPEG frames re-encoded by us, or GrabError."""
    deadline = time.monotonic() + req["budget_s"]
    if req["scheme"] == "rtsp":
        return _grab_stream(cv2, req, deadline)
    # Per read: a camera that sends nothing for answer_s is hung. The whole grab: budget_s (checked while reading).
    timeout = httpx.Timeout(max(0.05, min(req["answer_s"], req["budget_s"])))
    with httpx.Client(timeout=timeout, verify=False, trust_env=False) as client:  # camera certs are self-signed
        ctype, response = _http_get(client, req, deadline)
        if ctype.startswith("multipart/"):
            response.close()  # an MJPEG stream: FFmpeg reads it (with the same pinned address)
            return _grab_stream(cv2, req, deadline)
        return _grab_still(cv2, np, client, req, deadline, (ctype, response))


def _read_exact(stream, n: int) -> bytes | None:
    data = stream.read(n)
    return data if data and len(data) == n else None


def _send(out, header: dict, frames: list[bytes]) -> None:
    body = json.dumps(header).encode()
    out.write(struct.pack(">I", len(body)) + body + b"".join(frames))
    out.flush()


def main() -> None:
    # No PR_SET_PDEATHSIG: it fires when the *thread* that spawned us ends (the pool's prestart
    # thread does), not the process. A dead parent closes our stdin: we exit at the next read,
    # at most one grab budget later.
    out = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.close(devnull)
    import cv2  # noqa: PLC0415 - imported after fds 1/2 are silenced
    import numpy as np  # noqa: PLC0415

    out.write(b"R")
    out.flush()
    inp = sys.stdin.buffer
    while True:
        size = _read_exact(inp, 4)
        if size is None:
            return  # the pool closed us (or died)
        raw = _read_exact(inp, struct.unpack(">I", size)[0])
        if raw is None:
            return
        req = json.loads(raw)
        try:
            frames, error = grab(cv2, np, req), None
        except GrabError as exc:
            frames, error = [], str(exc)
        except Exception:  # noqa: BLE001 - an unexpected camera answer is a failed grab, not a dead worker
            frames, error = [], "stream_error"
        if not frames and error is None:
            error = "timeout"
        _send(out, {"error": error, "sizes": [len(f) for f in frames]}, frames)


if __name__ == "__main__":
    main()
