"""The protocol-neutral result of decoding: one location fix, still in its declared datum."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from geo.datum import DATUM_NAMES as DATUMS, DatumName as Datum  # noqa: F401 (the decoders import them from here)


@dataclass(frozen=True, slots=True)
class DecodedFix:
    """One fix as a device reported it.

    Units: lat/lon in degrees of ``datum`` (not yet converted: geo.datum does that),
    accuracy_m = horizontal radius in metres, speed in m/s, heading in degrees
    clockwise from north, altitude in metres, battery in percent 0..100.
    ``raw`` is the exact input for this fix (secrets removed), kept as evidence.
    """

    client_fix_id: str | None
    time: datetime
    lat: float
    lon: float
    datum: Datum
    accuracy_m: float | None
    speed_mps: float | None = None
    heading_deg: float | None = None
    altitude_m: float | None = None
    battery_pct: float | None = None
    charging: bool | None = None
    mock: bool = False
    tamper: bool = False
    raw: dict[str, Any] = field(default_factory=dict, hash=False)
    protocol: str = "native"

    def __post_init__(self) -> None:
        if self.time.tzinfo is None or self.time.utcoffset() is None:
            raise ValueError("DecodedFix.time must be timezone-aware")
        if self.datum not in DATUMS:
            raise ValueError(f"unknown datum {self.datum!r}")
        # Normalise to UTC once, so dedup keys and fingerprints never depend on
        # the offset a client happened to write.
        object.__setattr__(self, "time", self.time.astimezone(timezone.utc))

    @property
    def dedup_key(self) -> str:
        """What the server dedups on (per device): the client's id, else the fix time."""
        if self.client_fix_id is not None:
            return self.client_fix_id
        return "t:" + self.time.isoformat(timespec="microseconds")

    def payload_fingerprint(self) -> str:
        """A stable hash (BLAKE2b) of the meaningful fields, to tell a retry from a conflicting reuse of a key.

        ``raw`` and ``protocol`` are left out on purpose: the same fix re-sent with
        other headers, or re-imported through another route, is still the same fix.
        """
        # A tuple's repr is deterministic for these types (str, float, bool,
        # None), cheaper than JSON, and this runs for every fix of every batch.
        meaningful = (
            self.client_fix_id, self.time.isoformat(timespec="microseconds"), _canon(self.lat), _canon(self.lon),
            self.datum, _canon(self.accuracy_m), _canon(self.speed_mps), _canon(self.heading_deg),
            _canon(self.altitude_m), _canon(self.battery_pct), self.charging, self.mock, self.tamper,
        )
        return hashlib.blake2b(repr(meaningful).encode(), digest_size=20).hexdigest()


def _canon(x: float | None) -> float | None:
    # float() makes 87 and 87.0 hash alike; + 0.0 folds -0.0 into 0.0.
    return None if x is None else float(x) + 0.0
