"""The audit trail as stored: AuditLog.record writes, core.audit.verify reads back.

The pure chain logic is tested in memory (test_audit_chain.py); this module
shows the database path agrees with it: what AuditLog.record writes verifies
after a PostgreSQL round trip, and each kind of tampering done with SQL (the
append-only triggers disabled, as a superuser could) is detected with the
first bad row named.

One fresh database for the module; every test runs in a transaction that is
rolled back, so tamperings (and the disabled triggers) never outlive it.
"""
from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import Engine, create_engine, func, select, text
from sqlalchemy.orm import Session

from core.audit import AuditEntry, AuditLog, AuditUnavailable
from core.audit.chain import (
    CHECKPOINT_MISMATCH, HASH_MISMATCH, PREV_HASH_MISMATCH, SEQ_GAP, TRUNCATED, row_hash,
)
from core.audit.checkpoint_job import write_checkpoint
from core.audit.verify import ROW_BEFORE_MISSING, AuditVerification, verify_audit_log
from core.audit.checkpoints import CheckpointError, read_checkpoints
from core.clock import ManualClock
from core.principal import Principal, RequestContext
from tests.conftest import migrated_database

KEY = b"zhijiao-db-test-audit-key-0123456789"
OTHER_KEY = b"not-the-audit-key"
T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
CST = timezone(timedelta(hours=8))
ACTIONS = ["supervisee.read", "track.read", "leave.approve", "leave.reject", "fence.update", "login"]


# ------------------------------------------------------------------ fixtures and helpers

@pytest.fixture(scope="module")
def audit_engine(server_url: str) -> Iterator[Engine]:
    from core.db import sqlalchemy_url
    with migrated_database(server_url, "zj_audit") as url:
        eng = create_engine(sqlalchemy_url(url), pool_size=2)
        yield eng
        eng.dispose()


@pytest.fixture
def adb(audit_engine: Engine) -> Iterator[Session]:
    """A session on the fresh database, rolled back after the test."""
    conn = audit_engine.connect()
    outer = conn.begin()
    session = Session(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False, autoflush=False)
    try:
        yield session
    finally:
        # Each step guarded: a connection left checked out would keep the chain's
        # advisory lock, and the next test would wait for it forever.
        try:
            session.close()
            outer.rollback()
        finally:
            conn.close()


def request_for(rng: random.Random) -> RequestContext:
    principal = None if rng.random() < 0.1 else Principal(
        user_id=rng.randint(1, 500), username="u", role=rng.choice(["officer", "manager", "auditor"]),
        jurisdiction_id=1, jurisdiction_path="1/")
    return RequestContext(principal, request_id=rng.choice([None, f"req-{rng.getrandbits(48):012x}"]),
                          source_addr=rng.choice([None, "10.3.2.1", "2001:db8::7"]))


def random_detail(rng: random.Random) -> dict:
    return {
        "姓名": rng.choice(["张三", "李四", "王五"]),
        "理由": rng.choice(["就医", "探亲", "务工"]) + "，需外出 \"加急\"\n第二行",
        "天数": rng.randint(1, 30),
        "big": rng.choice([1e20, 2.5e-7, 0.1 + 0.2, -0.0, 10**30]),
        "坐标": [round(rng.uniform(118, 120), 6), round(rng.uniform(28, 30), 6)],
        "审批": {"层级": rng.randint(1, 3), "通过": rng.random() < 0.8, "备注": rng.choice([None, "", "已核实"])},
        "when": T0 + timedelta(minutes=rng.randint(0, 10_000)),
    }


def write_chain(db: Session, n: int, *, key: bytes = KEY, seed: int = 1, clock: ManualClock | None = None,
                audit: AuditLog | None = None) -> ManualClock:
    """n rows through the real writer, with varied actors and details."""
    rng = random.Random(seed)
    clock = clock or ManualClock(T0)
    audit = audit or AuditLog(key, clock)
    for _ in range(n):
        clock.advance(seconds=rng.randint(1, 90), microseconds=rng.randint(0, 999_999))
        audit.record(db, request_for(rng), action=rng.choice(ACTIONS), object_type="supervisee",
                     object_id=rng.randint(1, 10**6), outcome=rng.choice(["ok", "ok", "not_found", "forbidden"]),
                     detail=random_detail(rng))
    return clock


def tamper(db: Session, sql: str, **params) -> None:
    db.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
    db.execute(text(sql), params)


def verify(db: Session, path: Path | None = None, **kw) -> AuditVerification:
    return verify_audit_log(db, key=kw.pop("key", KEY), checkpoint_path=path, **kw)


def assert_bad(report: AuditVerification, seq: int, *reasons: str) -> None:
    problem = report.chain.problem
    assert not report.ok and problem is not None, "tampering not detected"
    assert problem.seq == seq, f"named seq {problem.seq}, expected {seq}: {problem}"
    if reasons:
        assert problem.reason in reasons, problem


def shift_up_from(db: Session, seq: int) -> None:
    """Make room at ``seq``: every row from it moves one up (seq is the primary key)."""
    tamper(db, "UPDATE audit_log SET seq = -seq - 1 WHERE seq >= :s", s=seq)
    db.execute(text("UPDATE audit_log SET seq = -seq WHERE seq < 0"))


def insert_forged(db: Session, seq: int, prev_hash: str, *, key: bytes = OTHER_KEY) -> None:
    """A plausible row linked to the row before, hashed without the audit key."""
    row = {"seq": seq, "at": T0, "actor_id": 7, "actor_role": "manager", "action": "leave.approve",
           "object_type": "leave", "object_id": "42", "outcome": "ok", "request_id": None, "source_addr": None,
           "detail": {"理由": "补录"}, "prev_hash": prev_hash}
    row["hash"] = row_hash(key, row)
    db.execute(text(
        "INSERT INTO audit_log (seq, at, actor_id, actor_role, action, object_type, object_id, outcome, request_id,"
        " source_addr, detail, prev_hash, hash) VALUES (:seq, :at, :actor_id, :actor_role, :action, :object_type,"
        " :object_id, :outcome, :request_id, :source_addr, CAST(:detail AS jsonb), :prev_hash, :hash)"),
        {**row, "detail": '{"理由": "补录"}'})


_SWAP_COLS = ("at", "actor_id", "actor_role", "action", "object_type", "object_id", "outcome", "request_id",
              "source_addr", "detail", "prev_hash", "hash")


def swap_rows(db: Session, i: int, j: int) -> None:
    """Swap the whole content (hashes included) of seqs i and j; seq stays put."""
    sets = ", ".join(f"{c} = o.{c}" for c in _SWAP_COLS)
    tamper(db, f"UPDATE audit_log a SET {sets} FROM audit_log o "
               f"WHERE (a.seq, o.seq) IN ((:i, :j), (:j, :i))", i=i, j=j)


def recompute_from(db: Session, seq: int, key: bytes = OTHER_KEY) -> None:
    """Re-seal every row from ``seq`` on with another key: a consistent chain, but not ours."""
    from core.audit import entry_as_row

    rows = [entry_as_row(e) for e in db.scalars(select(AuditEntry).where(AuditEntry.seq >= seq - 1)
                                               .order_by(AuditEntry.seq))]
    prev = rows[0]["hash"] if seq > 1 else "0" * 64
    seqs, prevs, hashes = [], [], []
    for row in rows if seq == 1 else rows[1:]:
        row["prev_hash"] = prev
        prev = row_hash(key, row)
        seqs.append(row["seq"])
        prevs.append(row["prev_hash"])
        hashes.append(prev)
    tamper(db, "UPDATE audit_log a SET prev_hash = v.p, hash = v.h FROM "
               "(SELECT unnest(CAST(:s AS bigint[])) AS seq, unnest(CAST(:p AS text[])) AS p,"
               " unnest(CAST(:h AS text[])) AS h) v WHERE a.seq = v.seq", s=seqs, p=prevs, h=hashes)
    db.expire_all()


def head(db: Session) -> int:
    return db.scalar(select(func.max(AuditEntry.seq))) or 0


# ------------------------------------------------------------------ round trip and the clean chain

def test_record_and_verify_agree_on_a_round_trip(adb, tmp_path):
    write_chain(adb, 60)
    adb.commit()  # a savepoint release: rows read back through PostgreSQL, not the session
    adb.expire_all()
    path = tmp_path / "cp.jsonl"
    assert write_checkpoint(adb, path=path, key=KEY, now=T0) is not None
    report = verify(adb, path)
    assert report.ok, report
    assert (report.chain.rows_checked, report.chain.last_seq, len(report.checkpoints)) == (60, 60, 1)
    stored = adb.scalar(select(AuditEntry.detail).where(AuditEntry.seq == 1))
    assert stored["姓名"] in ("张三", "李四", "王五") and isinstance(stored["when"], str)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**30, 10**30)
    | st.floats(allow_nan=False, allow_infinity=False) | st.decimals(allow_nan=False, allow_infinity=False, places=4)
    # NUL cannot be stored in jsonb (nor in any PostgreSQL text): see test_unstorable_detail_fails_closed.
    | st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12)
    # Bounded: near year 1 a +08:00 time has no UTC form (OverflowError; it fails closed).
    | st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(CST))
    | st.dates(),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=6),
                      inner, max_size=4),
    max_leaves=12,
)


@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(details=st.lists(st.dictionaries(st.text(max_size=8).filter(lambda s: "\x00" not in s), json_values,
                                        max_size=5), min_size=1, max_size=4))
def test_any_detail_verifies_after_the_round_trip(adb, details):
    sp = adb.begin_nested()
    try:
        audit = AuditLog(KEY, ManualClock(T0))
        first = head(adb) + 1
        for d in details:
            audit.record(adb, RequestContext(None, source_addr="test"), action="prop", detail=d)
        adb.expire_all()
        assert verify(adb).ok and head(adb) == first + len(details) - 1
    finally:
        sp.rollback()


def test_unstorable_detail_fails_closed(adb):
    write_chain(adb, 3)
    adb.commit()
    audit = AuditLog(KEY, ManualClock(T0))
    with pytest.raises(AuditUnavailable):
        audit.record(adb, RequestContext(None), action="x", detail={"reason": "a\x00b"})
    with pytest.raises(AuditUnavailable):
        audit.record(adb, RequestContext(None), action="x", detail={"v": float("nan")})
    assert head(adb) == 3 and verify(adb).ok  # nothing half-written; the chain is intact


def test_untouched_chain_ok_also_by_range(adb, tmp_path):
    path = tmp_path / "cp.jsonl"
    clock = write_chain(adb, 120)
    write_checkpoint(adb, path=path, key=KEY, now=clock.now())
    assert verify(adb, path).ok
    assert verify(adb, path, from_=40, to=80).chain.rows_checked == 41
    assert verify(adb, path, from_=121).chain.rows_checked == 0  # past the head: nothing to check
    at_50, at_90 = (adb.scalar(select(AuditEntry.at).where(AuditEntry.seq == s)) for s in (50, 90))
    ranged = verify(adb, path, from_=at_50.astimezone(CST), to=at_90)
    assert ranged.ok and (ranged.from_seq, ranged.to_seq, ranged.chain.rows_checked) == (50, 90, 41)


def test_empty_trail_is_ok_and_needs_no_checkpoint(adb, tmp_path):
    assert verify(adb, tmp_path / "none.jsonl", require_checkpoints=False).ok
    assert write_checkpoint(adb, path=tmp_path / "cp.jsonl", key=KEY, now=T0) is None


# ------------------------------------------------------------------ each kind of tampering

@pytest.mark.parametrize("column, value", [
    ("action", "'supervisee.read2'"), ("outcome", "'denied'"), ("actor_id", "coalesce(actor_id, 0) + 1"),
    ("actor_role", "'admin'"), ("object_id", "'forged'"), ("request_id", "'forged'"), ("source_addr", "'1.2.3.4'"),
    ("at", "at + interval '1 microsecond'"), ("detail", "detail || '{\"天数\": 99}'"),
    ("detail", "'{}'"), ("prev_hash", "md5(prev_hash) || md5(hash)"), ("hash", "md5(hash) || md5(prev_hash)"),
])
def test_edited_field(adb, column, value):
    write_chain(adb, 50)
    assert verify(adb).ok
    tamper(adb, f"UPDATE audit_log SET {column} = {value} WHERE seq = 17")
    assert_bad(verify(adb), 17, HASH_MISMATCH, PREV_HASH_MISMATCH)


@pytest.mark.parametrize("seq", [1, 25, 49])
def test_deleted_row(adb, seq, tmp_path):
    write_chain(adb, 50)
    tamper(adb, "DELETE FROM audit_log WHERE seq = :s", s=seq)
    assert_bad(verify(adb), seq + 1, SEQ_GAP)


def test_deleted_rows_and_renumbered(adb):
    write_chain(adb, 50)
    tamper(adb, "DELETE FROM audit_log WHERE seq BETWEEN 20 AND 22")
    adb.execute(text("UPDATE audit_log SET seq = seq - 3 WHERE seq > 22"))  # no gap left behind
    assert_bad(verify(adb), 20, HASH_MISMATCH, PREV_HASH_MISMATCH)


@pytest.mark.parametrize("seq", [1, 30, 51])
def test_inserted_row(adb, seq):
    write_chain(adb, 50)
    prev = adb.scalar(select(AuditEntry.hash).where(AuditEntry.seq == seq - 1)) or "0" * 64
    shift_up_from(adb, seq)
    insert_forged(adb, seq, prev)
    assert_bad(verify(adb), seq, HASH_MISMATCH)


def test_inserted_replay_of_a_genuine_row(adb):
    write_chain(adb, 50)
    shift_up_from(adb, 31)
    # A byte-exact copy of row 30 (its true hash included) placed after it.
    cols = ", ".join(_SWAP_COLS)
    adb.execute(text(f"INSERT INTO audit_log (seq, {cols}) SELECT 31, {cols} FROM audit_log WHERE seq = 30"))
    assert_bad(verify(adb), 31, PREV_HASH_MISMATCH, HASH_MISMATCH)


@pytest.mark.parametrize("i, j", [(10, 11), (3, 40), (1, 50)])
def test_swapped_rows(adb, i, j):
    write_chain(adb, 50)
    swap_rows(adb, i, j)
    assert_bad(verify(adb), i)


def test_truncated_tail(adb, tmp_path):
    path = tmp_path / "cp.jsonl"
    clock = write_chain(adb, 50)
    write_checkpoint(adb, path=path, key=KEY, now=clock.now())
    tamper(adb, "DELETE FROM audit_log WHERE seq > 44")
    report = verify(adb, path)
    assert_bad(report, 50, TRUNCATED)
    assert report.chain.last_seq == 44 and report.checkpoint_at(50)[0] == 1
    # Without the file the shorter chain looks fine: the reason the file exists.
    assert verify(adb).ok
    # And the job refuses to checkpoint a head that went backwards.
    with pytest.raises(CheckpointError, match="behind"):
        write_checkpoint(adb, path=path, key=KEY, now=clock.now())


def test_chain_recomputed_without_the_key(adb, tmp_path):
    path = tmp_path / "cp.jsonl"
    write_chain(adb, 50)
    write_checkpoint(adb, path=path, key=KEY, now=T0)
    recompute_from(adb, 1)
    assert_bad(verify(adb, path), 1, HASH_MISMATCH)
    # Consistent under the attacker's key: it is the key, not the linking, that catches this.
    assert verify(adb, None, key=OTHER_KEY).ok


def test_chain_rewritten_with_the_key_disagrees_with_the_checkpoint(adb, tmp_path):
    """Someone holding the key rebuilt the trail: only the file outside the database shows it."""
    path = tmp_path / "cp.jsonl"
    write_chain(adb, 30, seed=1)
    write_checkpoint(adb, path=path, key=KEY, now=T0)
    tamper(adb, "DELETE FROM audit_log")
    write_chain(adb, 30, seed=2)
    report = verify(adb, path)
    assert_bad(report, 30, CHECKPOINT_MISMATCH)
    assert report.checkpoint_at(30)[0] == 1
    with pytest.raises(CheckpointError, match="another hash"):  # the job notices too
        write_checkpoint(adb, path=path, key=KEY, now=T0)


def test_checkpoint_file_tampering_is_reported(adb, tmp_path):
    path = tmp_path / "cp.jsonl"
    clock = write_chain(adb, 10)
    write_checkpoint(adb, path=path, key=KEY, now=clock.now())
    write_chain(adb, 5, clock=clock, seed=3)
    write_checkpoint(adb, path=path, key=KEY, now=clock.now())
    lines = path.read_text().splitlines()
    path.write_text(lines[0].replace('"seq":10', '"seq":9') + "\n" + lines[1] + "\n")
    report = verify(adb, path)
    assert report.chain.ok and not report.ok
    assert "line 1" in report.checkpoint_error and "signature" in report.checkpoint_error
    missing = verify(adb, tmp_path / "gone.jsonl")
    assert not missing.ok and "not found" in missing.checkpoint_error


def test_range_starting_after_a_deleted_row(adb):
    write_chain(adb, 50)
    tamper(adb, "DELETE FROM audit_log WHERE seq = 19")
    assert verify(adb, from_=21).ok  # the rest of the chain still links to row 20
    assert_bad(verify(adb, from_=20), 19, ROW_BEFORE_MISSING)
    assert_bad(verify(adb, to=30), 20, SEQ_GAP)


def test_range_end_beyond_the_head_is_truncation(adb):
    write_chain(adb, 20)
    assert_bad(verify(adb, to=25), 25, TRUNCATED)


def test_write_checkpoint_only_when_the_head_moved(adb, tmp_path):
    path = tmp_path / "sub" / "cp.jsonl"
    clock = write_chain(adb, 5)
    first = write_checkpoint(adb, path=path, key=KEY, now=clock.now())
    assert first is not None and first.seq == 5
    assert write_checkpoint(adb, path=path, key=KEY, now=clock.advance(minutes=1)) is None
    write_chain(adb, 2, clock=clock, seed=9)
    assert write_checkpoint(adb, path=path, key=KEY, now=clock.advance(minutes=1)).seq == 7
    assert [c.seq for c in read_checkpoints(path, KEY)] == [5, 7]
    assert oct(path.stat().st_mode & 0o777) == "0o600"


# ------------------------------------------------------------------ randomized, through the database

N_ROWS = 2000
CHECKPOINT_EVERY = 250
TRIALS = 20


def test_random_tamperings_through_the_database(adb, tmp_path):
    """20 random single tamperings of each kind on a 2,000-row chain: all detected,
    the first bad row named, each undone (savepoint) and the clean chain re-verified."""
    rng = random.Random(20260302)
    path = tmp_path / "cp.jsonl"
    clock = ManualClock(T0)
    audit = AuditLog(KEY, clock)
    for block in range(N_ROWS // CHECKPOINT_EVERY):
        write_chain(adb, CHECKPOINT_EVERY, clock=clock, audit=audit, seed=block)
        write_checkpoint(adb, path=path, key=KEY, now=clock.now())
    adb.commit()
    assert verify(adb, path).ok
    cp_seqs = [c.seq for c in read_checkpoints(path, KEY)]

    def hash_of(seq: int) -> str:
        return adb.scalar(select(AuditEntry.hash).where(AuditEntry.seq == seq)) or "0" * 64

    def edit() -> tuple[int, set[str]]:
        k = rng.randint(1, N_ROWS)
        column, value = rng.choice([("outcome", "'ok2'"), ("detail", "detail || '{\"x\": 1}'"),
                                    ("at", "at - interval '1 second'"), ("actor_id", "coalesce(actor_id, 0) + 1"),
                                    ("action", "'login2'"), ("hash", "md5(hash) || md5(hash)")])
        tamper(adb, f"UPDATE audit_log SET {column} = {value} WHERE seq = :k", k=k)
        return k, {HASH_MISMATCH}

    def delete() -> tuple[int, set[str]]:
        k = rng.randint(1, N_ROWS - 1)
        tamper(adb, "DELETE FROM audit_log WHERE seq = :k", k=k)
        return k + 1, {SEQ_GAP}

    def insert() -> tuple[int, set[str]]:
        k = rng.randint(1, N_ROWS + 1)
        prev = hash_of(k - 1)
        shift_up_from(adb, k)
        insert_forged(adb, k, prev)
        return k, {HASH_MISMATCH}

    def swap() -> tuple[int, set[str]]:
        i, j = sorted(rng.sample(range(1, N_ROWS + 1), 2))
        swap_rows(adb, i, j)
        return i, {HASH_MISMATCH, PREV_HASH_MISMATCH}

    def truncate() -> tuple[int, set[str]]:
        keep = rng.randint(0, N_ROWS - 1)
        tamper(adb, "DELETE FROM audit_log WHERE seq > :k", k=keep)
        return min(s for s in cp_seqs if s > keep), {TRUNCATED}

    def recompute() -> tuple[int, set[str]]:
        k = rng.randint(1, N_ROWS)
        recompute_from(adb, k)
        return k, {HASH_MISMATCH}

    for kind in (edit, delete, insert, swap, truncate, recompute):
        for trial in range(TRIALS):
            sp = adb.begin_nested()
            try:
                expected_seq, reasons = kind()
                adb.expire_all()
                report = verify(adb, path)
                assert report.chain.problem is not None, f"{kind.__name__} #{trial} not detected"
                assert (report.chain.problem.seq, report.chain.problem.reason in reasons) == (expected_seq, True), \
                    f"{kind.__name__} #{trial}: {report.chain.problem}, expected seq {expected_seq} {reasons}"
            finally:
                sp.rollback()
        adb.expire_all()
        assert verify(adb, path).ok, f"false alarm after undoing {kind.__name__}"
