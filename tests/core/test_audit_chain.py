"""Acceptance test of the tamper-evident audit chain: random single tamperings.

The oracle ("first bad row") is defined independently of the verifier:

  * For every tampering that leaves rows in the list, the first bad row is the
    first *position* p where the tampered list differs from the original one
    (compared by canonical bytes + stored hash). Per kind that means:
    edit of row k -> k; deletion of row k -> the row that now follows k-1;
    insertion before row k -> the inserted row (an exact replay placed right
    before its own original -> the second of the two copies); swap of rows
    i < j (positions, seq values or contents) -> i; chain recomputed from k
    without the key -> k.
  * Dropping the last k rows leaves a clean prefix; it is reported as
    TRUNCATED naming the lowest signed checkpoint seq beyond the new end.
    The test writes a checkpoint every 500 rows and one of the final head
    (the system checkpoints the head after each write batch), so every
    truncation is covered. A tail after the newest checkpoint is not
    detectable, and no test pretends otherwise.

Speed: the verifier's state after an untouched prefix is fully determined
(previous hash, next seq), so most trials verify from a random start up to
256 rows before the first tampered position, with the true prev hash, as a
caller verifying a sub-range would. One trial in eight verifies from genesis.
"""
from __future__ import annotations

import json
import random
from collections.abc import Sequence
from itertools import islice
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.audit.chain import (
    CHECKPOINT_MISMATCH,
    GENESIS,
    HASH_MISMATCH,
    MALFORMED,
    PREV_HASH_MISMATCH,
    SEQ_DUPLICATE,
    SEQ_GAP,
    SEQ_OUT_OF_ORDER,
    TRUNCATED,
    CanonicalisationError,
    canonical_bytes,
    normalise_json,
    row_hash,
    seal_row,
    verify_chain,
)
from core.audit.checkpoints import Checkpoint, append_checkpoint, read_checkpoints

KEY = b"zhijiao-test-audit-key-0123456789abcdef"
WRONG_KEY = b"attacker-guess-key"
N_ROWS = 3007          # not a multiple of the checkpoint interval, so the head checkpoint matters
CHECKPOINT_EVERY = 500
TRIALS_PER_KIND = 200
WINDOW = 256
SEQ_REASONS = {SEQ_GAP, SEQ_DUPLICATE, SEQ_OUT_OF_ORDER}
CST = timezone(timedelta(hours=8))

NAMES = ["张三", "李四", "王五", "赵六", "钱七", "孙八"]
PLACES = ["衢州市衢江区", "杭州市西湖区", "金华市婺城区", "上海市浦东新区"]
ACTIONS = ["leave.apply", "leave.approve", "leave.reject", "location.read", "track.read",
           "photo.read", "checkin.create", "login", "zone.update"]


# ------------------------------------------------------------------ fixtures

def make_rows(rng: random.Random, n: int, key: bytes = KEY) -> list[dict]:
    """A realistic sealed chain of n rows."""
    rows, prev = [], GENESIS
    at = datetime(2025, 3, 1, 8, 0, tzinfo=CST)
    for seq in range(1, n + 1):
        at += timedelta(seconds=rng.randint(0, 90), microseconds=rng.randint(0, 999_999))
        role = rng.choice(["officer", "manager", "inspector", None])
        detail = {
            "姓名": rng.choice(NAMES),
            "理由": rng.choice(["就医", "探亲", "务工", "奔丧"]) + "，需外出",
            "目的地": rng.choice(PLACES),
            "天数": rng.randint(1, 30),
            "坐标": [round(rng.uniform(118, 120), 6), round(rng.uniform(28, 30), 6)],
            "备注": rng.choice([None, "", "已核实", "经所长同意 \"加急\"\n第二行"]),
            "审批": {"层级": rng.randint(1, 3), "通过": rng.random() < 0.8},
        }
        row = {
            "seq": seq,
            # Mix zones: the chain must not care how the driver hands times back.
            "at": at if rng.random() < 0.5 else at.astimezone(timezone.utc),
            "actor_id": rng.choice([None, rng.randint(1, 5000)]),
            "actor_role": role,
            "action": rng.choice(ACTIONS),
            "object_type": rng.choice(["leave", "supervisee", "zone", None]),
            "object_id": rng.choice([None, str(rng.randint(1, 10**6))]),
            "outcome": rng.choice(["ok", "ok", "ok", "denied", "not_found", "error"]),
            "request_id": rng.choice([None, f"req-{rng.getrandbits(64):016x}"]),
            "source_addr": rng.choice([None, "10.3.2.1", "2001:db8::7"]),
            "detail": detail,
        }
        row = seal_row(key, row, prev)
        prev = row["hash"]
        rows.append(row)
    return rows


def write_checkpoints(path, rows: list[dict], key: bytes = KEY) -> list[Checkpoint]:
    for row in rows:
        if row["seq"] % CHECKPOINT_EVERY == 0:
            append_checkpoint(path, key, row["seq"], row["hash"], row["at"])
    head = rows[-1]
    append_checkpoint(path, key, head["seq"], head["hash"], head["at"])  # the head, as the system does
    return read_checkpoints(path, key)


@pytest.fixture(scope="module")
def chain(tmp_path_factory) -> tuple[list[dict], list[Checkpoint]]:
    rows = make_rows(random.Random(20250301), N_ROWS)
    cps = write_checkpoints(tmp_path_factory.mktemp("audit") / "checkpoints.jsonl", rows)
    assert [c.seq for c in cps][-2:] == [3000, N_ROWS]
    return rows, cps


# ------------------------------------------------------------------ tamperings
# Each returns (tampered rows, allowed reasons). Rows are copied before editing.

def _rand_hex(rng: random.Random) -> str:
    return f"{rng.getrandbits(256):064x}"


def _new_value(rng: random.Random, row: dict, field: str):
    old = row[field]
    if field == "seq":
        return rng.choice([old + 1, old - 1, old + rng.randint(2, 50), max(1, old - rng.randint(2, 50)), 0])
    if field == "at":
        return rng.choice([
            old + timedelta(microseconds=rng.choice([1, -1])),
            old - timedelta(days=rng.randint(1, 400)),
            old.replace(tzinfo=None),                        # naive: cannot be hashed
            old.replace(tzinfo=timezone(timedelta(hours=9))),  # same wall time, other zone
        ])
    if field == "actor_id":
        return rng.choice([(old or 0) + 1, None if old is not None else 7, str(old)])
    if field == "detail":
        d = json.loads(json.dumps(old, ensure_ascii=False))
        op = rng.randrange(5)
        if op == 0:
            d["姓名"] = d["姓名"] + "某"
        elif op == 1:
            d["审批"]["通过"] = not d["审批"]["通过"]
        elif op == 2:
            d.pop("备注")
        elif op == 3:
            d["坐标"][0] = d["坐标"][0] + 1e-6
        else:
            d["外出"] = "未经批准"
        return d
    if field in ("prev_hash", "hash"):
        return rng.choice([_rand_hex(rng), old.upper(), old[:-1] + ("0" if old[-1] != "0" else "1")])
    # plain strings, some optional
    return rng.choice([(old or "") + "x", "ok" if old != "ok" else "denied", "删除" + (old or ""), None])


def _differs(a: dict, b: dict) -> bool:
    try:
        return canonical_bytes(a) != canonical_bytes(b) or a["hash"] != b["hash"]
    except CanonicalisationError:
        return True


def _reasons_for_field(field: str) -> set[str]:
    if field == "seq":
        return SEQ_REASONS | {MALFORMED}
    if field == "prev_hash":
        return {PREV_HASH_MISMATCH}
    return {HASH_MISMATCH, MALFORMED}


def t_edit(rng, rows, rehash_with_wrong_key=False):
    fields = ["seq", "at", "actor_id", "actor_role", "action", "object_type", "object_id",
              "outcome", "request_id", "source_addr", "detail", "prev_hash"]
    if not rehash_with_wrong_key:
        fields.append("hash")
    while True:
        i, field = rng.randrange(len(rows)), rng.choice(fields)
        row = dict(rows[i])
        row[field] = _new_value(rng, row, field)
        if rehash_with_wrong_key:
            try:
                row["hash"] = row_hash(WRONG_KEY, row)
            except CanonicalisationError:
                pass
        if _differs(row, rows[i]):  # skip no-op edits (e.g. the same instant in another zone)
            break
    out = list(rows)
    out[i] = row
    reasons = _reasons_for_field(field)
    if rehash_with_wrong_key and field != "seq":
        reasons = reasons | {HASH_MISMATCH}
    return out, reasons


def t_delete(rng, rows):
    i = rng.randrange(len(rows))
    run = 1 if rng.random() < 0.7 else rng.randint(2, 40)
    return rows[:i] + rows[i + run:], SEQ_REASONS | {TRUNCATED}


def t_insert(rng, rows):
    i = rng.randint(0, len(rows))  # len(rows): appended after the head
    kind = rng.randrange(3)
    if kind == 0:   # forged row that fits the chain, hashed without the key
        base = dict(rows[rng.randrange(len(rows))])
        base.update(seq=i + 1, prev_hash=rows[i - 1]["hash"] if i else GENESIS, outcome="ok",
                    detail={"姓名": "李四", "理由": "补录"})
        forged = dict(base, hash=row_hash(WRONG_KEY, base))
    elif kind == 1:  # a random hash with a duplicated seq
        forged = dict(rows[max(i - 1, 0)], action="leave.approve", hash=_rand_hex(rng))
    else:           # replay of an existing, genuine row
        forged = dict(rows[rng.randrange(len(rows))])
    return rows[:i] + [forged] + rows[i:], SEQ_REASONS | {HASH_MISMATCH, PREV_HASH_MISMATCH}


def _pair(rng, n, adjacent):
    i = rng.randrange(n - 1)
    j = i + 1 if adjacent else rng.randrange(i + 1, n)
    return i, j


def t_swap_positions(rng, rows, adjacent):
    i, j = _pair(rng, len(rows), adjacent)
    out = list(rows)
    out[i], out[j] = out[j], out[i]
    return out, SEQ_REASONS


def t_swap_seq_values(rng, rows, adjacent):
    i, j = _pair(rng, len(rows), adjacent)
    out = list(rows)
    a, b = dict(rows[i]), dict(rows[j])
    a["seq"], b["seq"] = b["seq"], a["seq"]
    if rng.random() < 0.5:  # and re-link/re-hash them, without the key
        a["prev_hash"], b["prev_hash"] = b["prev_hash"], a["prev_hash"]
        a["hash"], b["hash"] = row_hash(WRONG_KEY, a), row_hash(WRONG_KEY, b)
    if rng.random() < 0.5:
        out[i], out[j] = b, a   # read back ORDER BY seq: j's content now sits at position i
    else:
        out[i], out[j] = a, b   # read back in storage order
    return out, SEQ_REASONS | {PREV_HASH_MISMATCH, HASH_MISMATCH}


def t_swap_contents(rng, rows, adjacent):
    """Exchange what happened between two rows, keeping seq and the links in place."""
    i, j = _pair(rng, len(rows), adjacent)
    keep = ("seq", "prev_hash", "hash")
    a = {**rows[j], **{k: rows[i][k] for k in keep}}
    b = {**rows[i], **{k: rows[j][k] for k in keep}}
    out = list(rows)
    out[i], out[j] = a, b
    if not _differs(a, rows[i]):  # identical content: nothing was tampered
        return None
    return out, {HASH_MISMATCH}


def t_truncate(rng, rows):
    k = rng.choice([1, 2, rng.randint(1, 600), rng.randint(1, len(rows))])
    return rows[: len(rows) - k], {TRUNCATED}


class _Resealed(Sequence):
    """rows[:i] followed by ``tail`` re-sealed with the wrong key, sealed lazily.

    The attacker rewrites everything from row i on; sealing only what the
    verifier and the oracle actually read keeps the trial cheap.
    """

    def __init__(self, rows: list[dict], i: int, tail: list[dict]) -> None:
        self._rows, self._i, self._tail = rows, i, tail
        self._sealed: list[dict] = []

    def __len__(self) -> int:
        return self._i + len(self._tail)

    def __getitem__(self, p):
        if isinstance(p, slice):
            return [self[k] for k in range(*p.indices(len(self)))]
        if not 0 <= p < len(self):
            raise IndexError(p)
        if p < self._i:
            return self._rows[p]
        while len(self._sealed) <= p - self._i:
            k = len(self._sealed)
            prev = self._sealed[-1]["hash"] if k else (self._rows[self._i - 1]["hash"] if self._i else GENESIS)
            self._sealed.append(seal_row(WRONG_KEY, dict(self._tail[k], seq=self._i + 1 + k), prev))
        return self._sealed[p - self._i]


def t_recompute_from(rng, rows):
    """Rewrite history from row i (edit or delete it) and recompute the rest with a wrong key."""
    i = rng.randrange(len(rows))
    tail = rows[i:]
    if rng.random() < 0.5 or len(tail) == 1:
        tail = [dict(tail[0], outcome="denied" if tail[0]["outcome"] == "ok" else "ok"), *tail[1:]]
    else:
        tail = tail[1:]  # delete row i, renumber the rest so seq stays gapless
    return _Resealed(rows, i, tail), {HASH_MISMATCH}


KINDS = {
    "edit": t_edit,
    "edit+rehash-wrong-key": lambda rng, rows: t_edit(rng, rows, rehash_with_wrong_key=True),
    "delete": t_delete,
    "insert": t_insert,
    "swap-positions-adjacent": lambda rng, rows: t_swap_positions(rng, rows, True),
    "swap-positions": lambda rng, rows: t_swap_positions(rng, rows, False),
    "swap-seq-adjacent": lambda rng, rows: t_swap_seq_values(rng, rows, True),
    "swap-seq": lambda rng, rows: t_swap_seq_values(rng, rows, False),
    "swap-contents": lambda rng, rows: t_swap_contents(rng, rows, False),
    "truncate-tail": t_truncate,
    "recompute-from-wrong-key": t_recompute_from,
}


def expected_problem(original: list[dict], tampered: list[dict], cps: list[Checkpoint]):
    """(position, seq, truncated?) of the first bad row, from the definition above."""
    for p, row in enumerate(tampered):
        if p < len(original) and row is original[p]:
            continue  # untouched (tamperings copy a row before changing it)
        if p >= len(original) or _differs(row, original[p]):
            return p, row.get("seq"), False
    assert len(tampered) < len(original), "tampering produced an identical chain"
    last_seq = len(tampered)  # a clean prefix of a gapless chain
    return len(tampered), min(c.seq for c in cps if c.seq > last_seq), True


# ------------------------------------------------------------------ the test

@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_tampering_is_detected_at_the_first_bad_row(chain, kind):
    rows, cps = chain
    rng = random.Random(f"mutation-{kind}")
    done = 0
    while done < TRIALS_PER_KIND:
        made = KINDS[kind](rng, rows)
        if made is None:
            continue
        tampered, reasons = made
        pos, seq, truncated = expected_problem(rows, tampered, cps)
        start = 0 if done % 8 == 0 else rng.randint(max(0, pos - WINDOW), pos)
        result = verify_chain(
            islice(tampered, start, None),  # an iterator: the verifier must stream
            KEY,
            start_prev_hash=rows[start - 1]["hash"] if start else GENESIS,
            expected_first_seq=start + 1,
            checkpoints=cps,
        )
        ctx = f"{kind} trial {done}: expected position {pos} seq {seq}, got {result.problem}"
        assert not result.ok and result.problem is not None, ctx
        assert result.problem.position == pos - start, ctx
        assert result.problem.seq == seq, ctx
        if truncated:
            assert result.problem.reason == TRUNCATED, ctx
        else:
            assert result.problem.reason in reasons, ctx
        done += 1


def test_clean_chains_raise_no_alarm(chain):
    rows, cps = chain
    result = verify_chain(iter(rows), KEY, checkpoints=cps)
    assert result.ok and result.problem is None
    assert result.rows_checked == N_ROWS and result.last_seq == N_ROWS
    assert result.last_hash == rows[-1]["hash"]
    rng = random.Random(7)
    # Sub-ranges of the big chain, with checkpoints and an explicit end.
    for _ in range(300):
        a = rng.randint(1, N_ROWS)
        b = rng.randint(a, min(N_ROWS, a + rng.choice([0, 5, 300])))
        res = verify_chain(
            iter(rows[a - 1:b]), KEY,
            start_prev_hash=rows[a - 2]["hash"] if a > 1 else GENESIS,
            expected_first_seq=a, to_seq=b, checkpoints=cps,
        )
        assert res.ok, (a, b, res.problem)
        assert res.last_seq == b
    # Many small random chains, each with its own key, checkpoints and ranges.
    for n in range(60):
        key = rng.randbytes(32)
        small = make_rows(rng, rng.randint(1, 120), key)
        small_cps = [Checkpoint(r["seq"], r["hash"], r["at"], "") for r in small if rng.random() < 0.1]
        assert verify_chain(small, key, checkpoints=small_cps).ok
        a = rng.randint(1, len(small))
        res = verify_chain(small[a - 1:], key, start_prev_hash=small[a - 2]["hash"] if a > 1 else GENESIS,
                           expected_first_seq=a, checkpoints=small_cps)
        assert res.ok, (n, a, res.problem)


def test_chain_verified_in_consecutive_ranges_links_up(chain):
    rows, cps = chain
    prev, seq = GENESIS, 1
    for a in range(1, N_ROWS + 1, 700):
        b = min(a + 699, N_ROWS)
        res = verify_chain(rows[a - 1:b], KEY, start_prev_hash=prev, expected_first_seq=seq,
                           to_seq=b, checkpoints=cps)
        assert res.ok
        prev, seq = res.last_hash, res.last_seq + 1


def test_empty_chain():
    assert verify_chain([], KEY).ok
    cp = Checkpoint(3, "ab" * 32, datetime.now(timezone.utc), "")
    res = verify_chain([], KEY, checkpoints=[cp])
    assert res.problem.reason == TRUNCATED and res.problem.seq == 3 and res.problem.position == 0


def test_sub_range_shorter_than_to_seq_is_truncated(chain):
    rows, _ = chain
    res = verify_chain(rows[99:150], KEY, start_prev_hash=rows[98]["hash"], expected_first_seq=100, to_seq=200)
    assert res.problem.reason == TRUNCATED and res.problem.seq == 200 and res.last_seq == 150


def test_wrong_start_prev_hash_is_caught(chain):
    rows, cps = chain
    res = verify_chain(rows[100:], KEY, start_prev_hash=rows[50]["hash"], expected_first_seq=101)
    assert res.problem.reason == PREV_HASH_MISMATCH and res.problem.position == 0
    # A checkpoint on the row before the range vouches for the prev hash the caller gave.
    res = verify_chain(rows[500:], KEY, start_prev_hash=_rand_hex(random.Random(1)),
                       expected_first_seq=501, checkpoints=cps)
    assert res.problem.reason == CHECKPOINT_MISMATCH and res.problem.seq == 500


def test_rewrite_with_the_real_key_is_caught_by_checkpoints(chain):
    """An insider holding the key can re-seal the table, but not the checkpoint file already written."""
    rows, cps = chain
    i = 1234
    prev, new = rows[i - 1]["hash"], []
    for r in rows[i:]:
        edited = dict(r, detail={**r["detail"], "备注": "事后补签"}) if r["seq"] == i + 1 else r
        sealed = seal_row(KEY, edited, prev)
        prev = sealed["hash"]
        new.append(sealed)
    res = verify_chain(rows[:i] + new, KEY, checkpoints=cps)
    assert res.problem.reason == CHECKPOINT_MISMATCH and res.problem.seq == 1500
    assert verify_chain(rows[:i] + new, KEY).ok  # without checkpoints it would pass: they matter


def test_wrong_key_fails_on_first_row(chain):
    rows, _ = chain
    res = verify_chain(rows, WRONG_KEY)
    assert res.problem.reason == HASH_MISMATCH and res.problem.seq == 1


# ------------------------------------------------------------------ canonical form

def test_canonical_bytes_shape():
    row = {
        "seq": 1, "at": datetime(2025, 1, 2, 3, 4, 5, tzinfo=CST), "actor_id": None,
        "actor_role": "officer", "action": "leave.approve", "object_type": None, "object_id": "9",
        "outcome": "ok", "request_id": None, "source_addr": None,
        "detail": {"b": 1.0, "a": "张三"}, "prev_hash": GENESIS, "hash": "ignored", "id": 77,
    }
    data = canonical_bytes(row)
    assert data.startswith(b'{"action":"leave.approve","actor_id":null,')
    assert '"at":"2025-01-01T19:04:05.000000+00:00"'.encode() in data
    assert '"detail":{"a":"张三","b":1}'.encode() in data
    assert b"ignored" not in data and b"77" not in data
    assert b" " not in data
    with pytest.raises(CanonicalisationError):
        canonical_bytes({**row, "at": datetime(2025, 1, 1)})
    with pytest.raises(CanonicalisationError):
        canonical_bytes({k: v for k, v in row.items() if k != "outcome"})
    with pytest.raises(CanonicalisationError):
        canonical_bytes({**row, "detail": {"x": float("nan")}})


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**62), 2**62) | st.text()
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None)
@given(
    detail=st.dictionaries(st.text(max_size=6), json_values, max_size=5),
    at=st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2090, 1, 1),
                    timezones=st.sampled_from([timezone.utc, CST, timezone(timedelta(hours=-5))])),
    tz=st.sampled_from([timezone.utc, CST, timezone(timedelta(hours=5, minutes=30))]),
)
def test_hash_survives_a_database_round_trip(detail, at, tz):
    """What PostgreSQL hands back (other session zone, jsonb numbers) hashes the same."""
    row = seal_row(KEY, {
        "seq": 1, "at": at, "actor_id": 3, "actor_role": None, "action": "a", "object_type": None,
        "object_id": None, "outcome": "ok", "request_id": None, "source_addr": None, "detail": detail,
    }, GENESIS)
    # jsonb prints numbers in plain decimal (1e+20 -> 100000000000000000000), which
    # json.loads then reads as an int; emulate that by re-parsing a plain-decimal dump.
    text = json.dumps(row["detail"], ensure_ascii=False)
    back = dict(row, at=row["at"].astimezone(tz), detail=json.loads(text, parse_float=_jsonb_float))
    assert row_hash(KEY, back) == row["hash"]
    assert normalise_json(back["detail"]) == row["detail"]


def _jsonb_float(text: str):
    return json.loads(format(Decimal(text), "f"))
