"""Signed checkpoint file: round trip, permissions, and every way of tampering with it."""
from __future__ import annotations

import json
import stat
import threading
from datetime import datetime, timedelta, timezone

import pytest

from core.audit.chain import GENESIS, TRUNCATED, seal_row, verify_chain
from core.audit.checkpoints import (
    CheckpointError,
    append_checkpoint,
    checkpoint_key,
    read_checkpoints,
)

KEY = b"audit-key-for-checkpoint-tests"
T0 = datetime(2025, 5, 1, 9, 30, tzinfo=timezone(timedelta(hours=8)))


def _hash(i: int) -> str:
    return f"{i:064x}"


@pytest.fixture
def cp_file(tmp_path):
    path = tmp_path / "private" / "audit" / "checkpoints.jsonl"
    for i in range(1, 6):
        append_checkpoint(path, KEY, i * 100, _hash(i), T0 + timedelta(minutes=i))
    return path


def _lines(path) -> list[str]:
    return path.read_text().splitlines(keepends=True)


def test_round_trip_and_permissions(cp_file):
    cps = read_checkpoints(cp_file, KEY)
    assert [c.seq for c in cps] == [100, 200, 300, 400, 500]
    assert cps[2].hash == _hash(3)
    assert cps[0].at == T0 + timedelta(minutes=1) and cps[0].at.utcoffset() == timedelta(0)
    assert stat.S_IMODE(cp_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(cp_file.parent.stat().st_mode) == 0o700
    first = json.loads(_lines(cp_file)[0])
    assert first["prev_sig"] == "0" * 64 and first["v"] == 1
    assert json.loads(_lines(cp_file)[1])["prev_sig"] == first["sig"]


def test_same_head_may_be_checkpointed_again(cp_file):
    append_checkpoint(cp_file, KEY, 500, _hash(5), T0 + timedelta(hours=1))
    assert [c.seq for c in read_checkpoints(cp_file, KEY)][-2:] == [500, 500]


def test_edited_line_is_rejected(cp_file):
    lines = _lines(cp_file)
    obj = json.loads(lines[2])
    obj["seq"] = 299
    lines[2] = json.dumps(obj, sort_keys=True, separators=(",", ":")) + "\n"
    cp_file.write_text("".join(lines))
    with pytest.raises(CheckpointError, match="line 3: bad signature"):
        read_checkpoints(cp_file, KEY)


@pytest.mark.parametrize("drop", [0, 1, 2, 3])
def test_removed_line_is_rejected(cp_file, drop):
    lines = _lines(cp_file)
    del lines[drop]
    cp_file.write_text("".join(lines))
    with pytest.raises(CheckpointError, match=f"line {drop + 1}: does not chain"):
        read_checkpoints(cp_file, KEY)


def test_reordered_lines_are_rejected(cp_file):
    lines = _lines(cp_file)
    lines[1], lines[3] = lines[3], lines[1]
    cp_file.write_text("".join(lines))
    with pytest.raises(CheckpointError, match="line 2: does not chain"):
        read_checkpoints(cp_file, KEY)


def test_forged_signature_is_rejected(cp_file):
    """A line signed with another key (here: the audit key itself, not the derived one)."""
    import hashlib
    import hmac

    lines = _lines(cp_file)
    last = json.loads(lines[-1])
    body = {"v": 1, "seq": 600, "hash": _hash(6), "at": last["at"], "prev_sig": last["sig"]}
    data = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    forged = dict(body, sig=hmac.new(KEY, data, hashlib.sha256).hexdigest())
    with cp_file.open("a") as f:
        f.write(json.dumps(forged) + "\n")
    with pytest.raises(CheckpointError, match="line 6: bad signature"):
        read_checkpoints(cp_file, KEY)
    # and the writer refuses to chain onto it
    with pytest.raises(CheckpointError, match="bad signature"):
        append_checkpoint(cp_file, KEY, 700, _hash(7), T0)


def test_wrong_key_and_garbage_are_rejected(cp_file):
    with pytest.raises(CheckpointError, match="line 1: bad signature"):
        read_checkpoints(cp_file, b"another key")
    with cp_file.open("a") as f:
        f.write("not json\n")
    with pytest.raises(CheckpointError, match="line 6: not valid JSON"):
        read_checkpoints(cp_file, KEY)


def test_incomplete_last_line_is_reported(cp_file):
    with cp_file.open("a") as f:
        f.write('{"v":1,"seq":')
    with pytest.raises(CheckpointError, match="incomplete"):
        read_checkpoints(cp_file, KEY)
    with pytest.raises(CheckpointError, match="incomplete"):
        append_checkpoint(cp_file, KEY, 600, _hash(6), T0)


def test_writer_refuses_to_go_backwards(cp_file):
    with pytest.raises(CheckpointError, match="behind"):
        append_checkpoint(cp_file, KEY, 499, _hash(9), T0)
    with pytest.raises(CheckpointError, match="another hash"):
        append_checkpoint(cp_file, KEY, 500, _hash(9), T0)
    with pytest.raises(ValueError, match="timezone"):
        append_checkpoint(cp_file, KEY, 600, _hash(6), datetime(2025, 1, 1))


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_checkpoints(tmp_path / "nope.jsonl", KEY)
    assert read_checkpoints(tmp_path / "nope.jsonl", KEY, missing_ok=True) == []


def test_key_is_derived_not_reused():
    assert checkpoint_key(KEY) != KEY and len(checkpoint_key(KEY)) == 32
    with pytest.raises(ValueError):
        checkpoint_key(b"")


def test_concurrent_writers_keep_one_chain(tmp_path):
    """Several workers checkpointing the same head at once must not fork the line chain."""
    path = tmp_path / "cp.jsonl"

    def writer() -> None:
        for _ in range(25):
            append_checkpoint(path, KEY, 77, _hash(77), T0)

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [c.seq for c in read_checkpoints(path, KEY)] == [77] * 100


def test_long_file_last_line_found(tmp_path):
    path = tmp_path / "cp.jsonl"
    for i in range(1, 120):  # more than one 4 KiB read-back chunk
        append_checkpoint(path, KEY, i, _hash(i), T0)
    assert len(read_checkpoints(path, KEY)) == 119


def test_checkpoints_from_file_detect_truncated_audit_tail(tmp_path):
    path = tmp_path / "cp.jsonl"
    rows, prev = [], GENESIS
    for seq in range(1, 51):
        row = seal_row(KEY, {
            "seq": seq, "at": T0 + timedelta(seconds=seq), "actor_id": 1, "actor_role": "officer",
            "action": "track.read", "object_type": "supervisee", "object_id": "42", "outcome": "ok",
            "request_id": None, "source_addr": None, "detail": {"说明": "查看轨迹"},
        }, prev)
        prev = row["hash"]
        rows.append(row)
        if seq % 20 == 0 or seq == 50:
            append_checkpoint(path, KEY, seq, row["hash"], row["at"])
    cps = read_checkpoints(path, KEY)
    assert verify_chain(rows, KEY, checkpoints=cps).ok
    res = verify_chain(rows[:45], KEY, checkpoints=cps)
    assert res.problem.reason == TRUNCATED and res.problem.seq == 50 and res.last_seq == 45
