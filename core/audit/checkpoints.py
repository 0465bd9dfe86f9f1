"""Signed checkpoints of the audit chain head, kept in a file outside the database.

Each line is one JSON object ``{"v", "seq", "hash", "at", "prev_sig", "sig"}``.
``sig`` is HMAC-SHA256, under a key derived from the audit key, over the
canonical JSON of the other fields, and ``prev_sig`` is the previous line's
``sig`` (GENESIS for the first line). So a line cannot be edited, forged, or
removed from the middle without :func:`read_checkpoints` noticing.

Removing the *last* lines of this file is not detectable from the file alone;
that is why it lives apart from the database (an attacker must alter both in
agreement) and why operators should also ship it off the host (syslog, WORM
storage). A checkpoint of the head written after every write batch bounds
how many newest audit rows could be dropped unnoticed.
"""
from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

GENESIS_SIG = "0" * 64
FORMAT_VERSION = 1
_KEY_LABEL = b"zhijiao/audit-checkpoint/v1"
_FIELDS = ("v", "seq", "hash", "at", "prev_sig")


class CheckpointError(Exception):
    """The checkpoint file is damaged or has been tampered with."""

    def __init__(self, line_no: int | None, message: str) -> None:
        where = f"line {line_no}: " if line_no is not None else ""
        super().__init__(f"{where}{message}")
        self.line_no = line_no


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str
    at: datetime
    sig: str


def checkpoint_key(audit_key: bytes) -> bytes:
    """The signing key for checkpoint lines, derived from the audit key."""
    if not audit_key:
        raise ValueError("audit key must not be empty")
    return hmac.new(audit_key, _KEY_LABEL, hashlib.sha256).digest()


def _sign(ck_key: bytes, body: dict) -> str:
    data = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hmac.new(ck_key, data.encode("utf-8"), hashlib.sha256).hexdigest()


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


def _parse_line(ck_key: bytes, raw: bytes, line_no: int | None, prev_sig: str) -> Checkpoint:
    try:
        obj = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(line_no, f"not valid JSON ({exc})") from exc
    if not isinstance(obj, dict) or set(obj) != {*_FIELDS, "sig"}:
        raise CheckpointError(line_no, "unexpected set of fields")
    sig = obj.pop("sig")
    if not isinstance(sig, str) or not _same(_sign(ck_key, obj), sig):
        raise CheckpointError(line_no, "bad signature (edited, forged, or signed with another key)")
    if obj["v"] != FORMAT_VERSION:
        raise CheckpointError(line_no, f"unknown format version {obj['v']!r}")
    if not _same(obj["prev_sig"], prev_sig):
        raise CheckpointError(line_no, "does not chain to the line before (a line was removed or moved)")
    seq, hash_, at = obj["seq"], obj["hash"], obj["at"]
    if not isinstance(seq, int) or not isinstance(hash_, str) or not isinstance(at, str):
        raise CheckpointError(line_no, "fields of the wrong type")
    return Checkpoint(seq=seq, hash=hash_, at=datetime.fromisoformat(at), sig=sig)


def _claimed_prev_sig(raw: bytes) -> str:
    try:
        obj = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        obj = None
    if not isinstance(obj, dict) or not isinstance(obj.get("prev_sig"), str):
        raise CheckpointError(None, "last line is not a checkpoint")
    return obj["prev_sig"]


def _lines(data: bytes) -> list[bytes]:
    if data and not data.endswith(b"\n"):
        raise CheckpointError(None, "last line is incomplete (crash during a write, or truncated)")
    return data.split(b"\n")[:-1] if data else []


def read_checkpoints(path: str | os.PathLike, key: bytes, *, missing_ok: bool = False) -> list[Checkpoint]:
    """Read and verify every checkpoint; raise :class:`CheckpointError` on tampering.

    ``key`` is the audit key. A missing file raises FileNotFoundError unless
    ``missing_ok`` (say, before the first checkpoint was ever written).
    """
    ck_key = checkpoint_key(key)
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        if missing_ok:
            return []
        raise
    out: list[Checkpoint] = []
    prev_sig = GENESIS_SIG
    for line_no, raw in enumerate(_lines(data), start=1):
        cp = _parse_line(ck_key, raw, line_no, prev_sig)
        if out and cp.seq < out[-1].seq:
            raise CheckpointError(line_no, f"seq goes backwards ({out[-1].seq} -> {cp.seq})")
        if out and cp.seq == out[-1].seq and not _same(cp.hash, out[-1].hash):
            raise CheckpointError(line_no, f"two different hashes for seq {cp.seq}")
        out.append(cp)
        prev_sig = cp.sig
    return out


def _last_line(fd: int) -> bytes | None:
    """The file's last line (without newline), reading backwards from the end."""
    size = os.fstat(fd).st_size
    if size == 0:
        return None
    end, chunk, buf = size, 4096, b""
    while end > 0:
        start = max(0, end - chunk)
        buf = os.pread(fd, end - start, start) + buf
        end = start
        if buf.count(b"\n") >= 2 or end == 0:
            break
    lines = _lines(buf if end == 0 else buf[buf.index(b"\n") + 1:])
    return lines[-1]


def _ensure_parent(path: Path) -> None:
    parent = path.parent
    if not parent.exists():
        parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(parent, 0o700)  # mkdir's mode is filtered by the umask


def append_checkpoint(path: str | os.PathLike, key: bytes, seq: int, hash: str, at: datetime) -> Checkpoint:
    """Append a signed checkpoint of the chain head ``(seq, hash)`` and fsync it.

    Raises CheckpointError if the last line does not verify, or if ``seq``
    goes backwards or restates an earlier seq with another hash: either
    means the file or the audit table was tampered with.
    """
    if not isinstance(seq, int) or seq < 0:
        raise ValueError(f"seq must be a non-negative int, got {seq!r}")
    if at.tzinfo is None:
        raise ValueError("checkpoint time must be timezone-aware")
    ck_key = checkpoint_key(key)
    path = Path(path)
    _ensure_parent(path)
    created = not path.exists()
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        if created:
            os.fchmod(fd, 0o600)
        # One writer at a time, or two could chain onto the same line.
        fcntl.flock(fd, fcntl.LOCK_EX)
        last_raw = _last_line(fd)
        prev_sig = GENESIS_SIG
        if last_raw is not None:
            # Only the last line is checked here (cheap); read_checkpoints checks the rest.
            last = _parse_line(ck_key, last_raw, None, _claimed_prev_sig(last_raw))
            if seq < last.seq:
                raise CheckpointError(None, f"seq {seq} is behind the last checkpoint {last.seq}")
            if seq == last.seq and not _same(hash, last.hash):
                raise CheckpointError(None, f"seq {seq} was checkpointed with another hash")
            prev_sig = last.sig
        body = {
            "v": FORMAT_VERSION,
            "seq": seq,
            "hash": hash,
            "at": at.astimezone(timezone.utc).isoformat(timespec="microseconds"),
            "prev_sig": prev_sig,
        }
        line = dict(body, sig=_sign(ck_key, body))
        data = (json.dumps(line, sort_keys=True, separators=(",", ":")) + "\n").encode("utf-8")
        # A single write() on an O_APPEND fd lands whole at the end.
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    if created:
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)  # make the new directory entry durable too
        finally:
            os.close(dir_fd)
    return Checkpoint(seq=seq, hash=hash, at=datetime.fromisoformat(body["at"]), sig=line["sig"])
