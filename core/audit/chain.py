"""Tamper-evident audit chain: canonical row bytes, HMAC row hashes, verification.

Pure functions over plain mappings; no database imports. The service layer
assigns ``seq`` (gapless, under a lock), sets ``prev_hash`` to the previous
row's ``hash`` and ``hash`` to :func:`row_hash` (see :func:`seal_row`).

Why HMAC and not a bare hash chain: anyone who can write the table could
recompute a plain SHA-256 chain after an edit. With a keyed hash they cannot,
as long as the key lives outside the database. Deleting the newest rows leaves
a valid-looking shorter chain, so the head is also written, signed, to a file
outside the database (:mod:`core.audit.checkpoints`) and compared here.

What this cannot detect: truncation of rows written after the newest
checkpoint, and anything done by someone holding the key.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any, Protocol

GENESIS = "0" * 64

#: The hashed columns: every column but ``hash``. Extra keys in a row (say an
#: ``id`` added by an ORM) are ignored, so they are *not* protected.
CONTENT_FIELDS: tuple[str, ...] = (
    "seq", "at", "actor_id", "actor_role", "action", "object_type", "object_id",
    "outcome", "request_id", "source_addr", "detail", "prev_hash",
)
_OPTIONAL_STR = ("actor_role", "object_type", "object_id", "request_id", "source_addr")

# Reasons a row (or the chain) is reported bad.
MALFORMED = "malformed"                  # missing field / wrong type: cannot be hashed
SEQ_GAP = "seq_gap"                      # seq jumps ahead: rows before it were removed
SEQ_DUPLICATE = "seq_duplicate"          # same seq as the row before: inserted row
SEQ_OUT_OF_ORDER = "seq_out_of_order"    # seq goes backwards: reordered rows
PREV_HASH_MISMATCH = "prev_hash_mismatch"  # link to the previous row broken
HASH_MISMATCH = "hash_mismatch"          # content edited, or hash made without the key
CHECKPOINT_MISMATCH = "checkpoint_mismatch"  # row differs from the signed checkpoint
TRUNCATED = "truncated"                  # rows a checkpoint (or to_seq) vouches for are missing


class CanonicalisationError(ValueError):
    """The row cannot be serialised canonically (missing field, naive datetime...)."""


def _same(a: str, b: str) -> bool:
    # compare_digest refuses non-ASCII str, and a tampered field may hold anything.
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


class CheckpointLike(Protocol):
    seq: int
    hash: str


# ---------------------------------------------------------------- canonical form

def _utc_iso(value: datetime) -> str:
    if value.tzinfo is None or value.utcoffset() is None:
        raise CanonicalisationError(f"naive datetime {value!r}: audit times must be timezone-aware")
    return value.astimezone(timezone.utc).isoformat(timespec="microseconds")


def normalise_json(value: Any) -> Any:
    """Return ``value`` as JSON values that survive a PostgreSQL jsonb round trip.

    Store ``normalise_json(detail)`` in the ``detail`` column: jsonb prints
    ``1e20`` as ``100000000000000000000`` (read back as an int) and has no
    datetime type, so integral floats become ints and datetimes UTC strings.
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise CanonicalisationError(f"non-finite number {value!r} cannot be stored in jsonb")
        return int(value) if value.is_integer() else value
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise CanonicalisationError(f"non-finite number {value!r} cannot be stored in jsonb")
        return int(value) if value == value.to_integral_value() else normalise_json(float(value))
    if isinstance(value, datetime):
        return _utc_iso(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise CanonicalisationError(f"detail keys must be strings, got {k!r}")
            out[k] = normalise_json(v)
        return out
    if isinstance(value, (list, tuple)):
        return [normalise_json(v) for v in value]
    raise CanonicalisationError(f"value of type {type(value).__name__} is not JSON-serialisable")


def _normalise_at(value: Any) -> str:
    if isinstance(value, str):  # e.g. a row from a JSON export
        try:
            value = datetime.fromisoformat(value)
        except ValueError as exc:
            raise CanonicalisationError(f"bad timestamp {value!r}") from exc
    if not isinstance(value, datetime):
        raise CanonicalisationError(f"'at' must be a datetime, got {type(value).__name__}")
    return _utc_iso(value)


def _content(row: Mapping[str, Any]) -> dict[str, Any]:
    missing = [f for f in CONTENT_FIELDS if f not in row]
    if missing:
        raise CanonicalisationError(f"row lacks field(s) {', '.join(missing)}")
    seq, actor_id = row["seq"], row["actor_id"]
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
        raise CanonicalisationError(f"'seq' must be a positive int, got {seq!r}")
    if actor_id is not None and (not isinstance(actor_id, int) or isinstance(actor_id, bool)):
        raise CanonicalisationError(f"'actor_id' must be an int or None, got {actor_id!r}")
    for name in ("action", "outcome", "prev_hash"):
        if not isinstance(row[name], str):
            raise CanonicalisationError(f"{name!r} must be a string, got {row[name]!r}")
    for name in _OPTIONAL_STR:
        if row[name] is not None and not isinstance(row[name], str):
            raise CanonicalisationError(f"{name!r} must be a string or None, got {row[name]!r}")
    detail = row["detail"]
    if not isinstance(detail, Mapping):
        raise CanonicalisationError(f"'detail' must be a JSON object, got {type(detail).__name__}")
    content = {name: row[name] for name in CONTENT_FIELDS}
    content["at"] = _normalise_at(row["at"])
    content["detail"] = normalise_json(detail)
    return content


def _dumps(content: dict[str, Any]) -> bytes:
    return json.dumps(
        content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def _hmac_hex(key: bytes, data: bytes) -> str:
    return hmac.new(key, data, hashlib.sha256).hexdigest()


def canonical_bytes(row: Mapping[str, Any]) -> bytes:
    """Deterministic UTF-8 JSON of the row's content fields (all but ``hash``)."""
    return _dumps(_content(row))


def row_hash(key: bytes, row: Mapping[str, Any]) -> str:
    """HMAC-SHA256 (hex) of :func:`canonical_bytes`."""
    if not key:
        raise ValueError("audit key must not be empty")
    return _hmac_hex(key, canonical_bytes(row))


def seal_row(key: bytes, row: Mapping[str, Any], prev_hash: str) -> dict[str, Any]:
    """Return a copy of ``row`` with ``prev_hash`` and ``hash`` set, ready to insert."""
    sealed = dict(row)
    sealed["detail"] = normalise_json(row.get("detail") or {})
    sealed["prev_hash"] = prev_hash
    sealed["hash"] = row_hash(key, sealed)
    return sealed


# ---------------------------------------------------------------- verification

@dataclass(frozen=True)
class Problem:
    """The first bad row: where it is in the stream, its seq and why."""

    reason: str
    position: int          # 0-based index in the rows given; for TRUNCATED, the count of rows seen
    seq: int | None        # the row's seq; for TRUNCATED, the seq vouched for but missing
    message: str


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    rows_checked: int
    last_seq: int | None   # seq of the last row that verified
    last_hash: str | None  # its hash: the start_prev_hash for verifying the next range
    problem: Problem | None = None

    def __bool__(self) -> bool:
        return self.ok


class ChainVerifier:
    """Incremental verifier: ``feed`` rows in seq order, then ``finish``.

    Stops at the first problem (later rows cannot be trusted to mean anything
    once the chain is broken). Memory is O(number of checkpoints).
    """

    def __init__(
        self,
        key: bytes,
        *,
        start_prev_hash: str = GENESIS,
        expected_first_seq: int = 1,
        to_seq: int | None = None,
        checkpoints: Iterable[CheckpointLike] = (),
    ) -> None:
        if not key:
            raise ValueError("audit key must not be empty")
        if expected_first_seq < 1:
            raise ValueError("expected_first_seq must be >= 1")
        self._key = key
        self._prev_hash = start_prev_hash
        self._next_seq = expected_first_seq
        self._to_seq = to_seq
        self._position = 0
        self._last_seq: int | None = None
        self._problem: Problem | None = None
        lo = expected_first_seq - 1
        hi = to_seq if to_seq is not None else math.inf
        cps = sorted((c for c in checkpoints if lo <= c.seq <= hi), key=lambda c: c.seq)
        # A checkpoint on the row just before the range vouches for start_prev_hash.
        while cps and cps[0].seq == lo:
            cp = cps.pop(0)
            if not _same(cp.hash, start_prev_hash):
                self._problem = Problem(
                    CHECKPOINT_MISMATCH, -1, lo,
                    f"start_prev_hash differs from the signed checkpoint at seq {lo}",
                )
        self._checkpoints = cps
        self._cp_index = 0

    @property
    def problem(self) -> Problem | None:
        return self._problem

    def _fail(self, reason: str, seq: int | None, message: str) -> None:
        self._problem = Problem(reason, self._position, seq, message)

    def feed(self, row: Mapping[str, Any]) -> bool:
        """Check one row; return False once the chain is known bad."""
        if self._problem is not None:
            return False
        seq = row.get("seq") if isinstance(row, Mapping) else None
        try:
            content = _content(row)
            stored = row["hash"]
            if not isinstance(stored, str):
                raise CanonicalisationError(f"'hash' must be a string, got {stored!r}")
        except (CanonicalisationError, KeyError) as exc:
            self._fail(MALFORMED, seq if isinstance(seq, int) else None, f"row cannot be verified: {exc}")
            return False
        expected = self._next_seq
        if seq != expected:
            if seq > expected:
                reason, what = SEQ_GAP, f"rows {expected}..{seq - 1} missing"
            elif seq == expected - 1:
                reason, what = SEQ_DUPLICATE, "repeats the previous seq"
            else:
                reason, what = SEQ_OUT_OF_ORDER, "goes backwards"
            self._fail(reason, seq, f"expected seq {expected}, found {seq}: {what}")
            return False
        if not _same(content["prev_hash"], self._prev_hash):
            self._fail(PREV_HASH_MISMATCH, seq, "prev_hash does not match the hash of the row before")
            return False
        if not _same(_hmac_hex(self._key, _dumps(content)), stored):
            self._fail(HASH_MISMATCH, seq, "hash does not match the row's content under the audit key")
            return False
        while self._cp_index < len(self._checkpoints) and self._checkpoints[self._cp_index].seq == seq:
            cp = self._checkpoints[self._cp_index]
            self._cp_index += 1
            if not _same(cp.hash, stored):
                self._fail(CHECKPOINT_MISMATCH, seq, "row hash differs from the signed checkpoint")
                return False
        self._prev_hash, self._last_seq = stored, seq
        self._next_seq = seq + 1
        self._position += 1
        return True

    def finish(self) -> VerifyResult:
        """Close the stream: rows vouched for by a checkpoint or ``to_seq`` must have been seen."""
        if self._problem is None and self._cp_index < len(self._checkpoints):
            cp = self._checkpoints[self._cp_index]
            self._fail(
                TRUNCATED, cp.seq,
                f"signed checkpoint at seq {cp.seq} but the chain ends at seq {self._last_seq}",
            )
        if self._problem is None and self._to_seq is not None and self._next_seq <= self._to_seq:
            self._fail(
                TRUNCATED, self._to_seq,
                f"range ends at seq {self._to_seq} but the chain ends at seq {self._last_seq}",
            )
        ok = self._problem is None
        return VerifyResult(
            ok=ok,
            rows_checked=self._position,
            last_seq=self._last_seq,
            last_hash=self._prev_hash if self._last_seq is not None else None,
            problem=self._problem,
        )


def verify_chain(
    rows: Iterable[Mapping[str, Any]],
    key: bytes,
    *,
    start_prev_hash: str = GENESIS,
    expected_first_seq: int = 1,
    to_seq: int | None = None,
    checkpoints: Iterable[CheckpointLike] = (),
) -> VerifyResult:
    """Verify rows (in ``seq`` order, streamed) and name the first bad one.

    For a sub-range [from_seq, to_seq] pass ``expected_first_seq=from_seq``,
    ``start_prev_hash`` = hash of row ``from_seq - 1`` and ``to_seq``.
    Checkpoints outside the range are ignored; without ``to_seq`` the rows
    are taken to run to the head, so every later checkpoint must be reached.
    """
    verifier = ChainVerifier(
        key,
        start_prev_hash=start_prev_hash,
        expected_first_seq=expected_first_seq,
        to_seq=to_seq,
        checkpoints=checkpoints,
    )
    for row in rows:
        if not verifier.feed(row):
            break
    return verifier.finish()
