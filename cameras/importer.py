"""Bulk import of a public-security camera list (CSV: code,name,lon,lat,datum,heading,fov,range,url).

Every row is checked on its own (numbers and their ranges, the datum, the
code unique in the file and in the registry, the stream URL against the
camera networks); refused rows are reported with their line and reason and
the rest are imported. Accepted rows are converted to WGS-84 per datum in one
vectorised call and written with one COPY, then each camera is placed in the
office (below the given jurisdiction) whose boundary covers it, so 14,000
rows take about a second, not a minute of single-row inserts.
Optional columns: ``height`` (metres), ``status`` (active/disabled).
"""
from __future__ import annotations

from collections.abc import Iterator

import csv
import io
import math
import re
import time
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import select, text

from cameras.models import MAX_RANGE_M, Camera
from cameras.scope import require_admin
from cameras.service import camera_networks
from core.context import Ctx
from core.errors import Invalid, NotFound
from geo.datum import DATUM_NAMES, to_wgs84
from supervision.models import Jurisdiction
from supervision.scope import jurisdiction_clause
from video.camera_url import CameraUrlRefused, check_camera_url

REQUIRED = ("code", "name", "lon", "lat", "datum", "heading", "fov", "range", "url")
OPTIONAL = ("height", "status")
MAX_ROWS = 100_000
_CODE = re.compile(r"^[0-9A-Za-z_.:-]{1,64}$")
_COPY = ("COPY cameras (code, name, lon, lat, geog, source_datum, heading, fov, range_m, height_m, stream_url,"
         " jurisdiction_id, status, created_at, updated_at) FROM STDIN")


class RowRefused(ValueError):
    pass


@dataclass
class Report:
    rows: int = 0
    imported: int = 0
    refused: list[dict] = field(default_factory=list)
    elapsed_ms: float = 0.0

    def as_dict(self) -> dict:
        return {"rows": self.rows, "imported": self.imported, "refused": self.refused,
                "elapsed_ms": round(self.elapsed_ms, 1)}


def _number(row: dict, name: str, lo: float, hi: float, *, lo_open: bool = False, hi_open: bool = False) -> float:
    raw = (row.get(name) or "").strip()
    try:
        value = float(raw)
    except ValueError:
        raise RowRefused(f"{name}: {raw[:40]!r} is not a number") from None
    if not math.isfinite(value) or value < lo or value > hi or (lo_open and value == lo) or (hi_open and value == hi):
        raise RowRefused(f"{name}: {raw[:40]} is outside {'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}")
    return value


def _parse(row: dict, networks: list[str]) -> dict:
    code = (row.get("code") or "").strip()
    if not _CODE.match(code):
        raise RowRefused("code: 1–64 letters, digits or _.:- required")
    name = (row.get("name") or "").strip()
    if not name or len(name) > 200 or "\x00" in name:
        raise RowRefused("name: 1–200 characters required")
    datum = (row.get("datum") or "wgs84").strip().lower() or "wgs84"
    if datum not in DATUM_NAMES:
        raise RowRefused(f"datum: {datum[:20]!r} is not one of {', '.join(sorted(DATUM_NAMES))}")
    heading = _number(row, "heading", 0, 360) % 360.0  # 360 is north, like 0
    height = _number(row, "height", 0, 200) if (row.get("height") or "").strip() else None
    status = (row.get("status") or "active").strip() or "active"
    if status not in ("active", "disabled"):
        raise RowRefused("status: active or disabled")
    url = (row.get("url") or "").strip()
    try:
        check_camera_url(url, networks=networks)
    except CameraUrlRefused as exc:
        raise RowRefused(f"url: {exc}") from None
    return dict(code=code, name=name, lon=_number(row, "lon", -180, 180), lat=_number(row, "lat", -90, 90),
                datum=datum, heading=heading, fov=_number(row, "fov", 0, 360, lo_open=True),
                range_m=_number(row, "range", 0, MAX_RANGE_M, lo_open=True), height_m=height, url=url, status=status)


def _read(data: bytes) -> Iterator[dict]:
    try:
        body = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Invalid("the file is not UTF-8 text", field="body") from None
    reader = csv.DictReader(io.StringIO(body, newline=""))
    try:
        yield from _rows(reader)
    except csv.Error as exc:  # a field over the csv module's limit, a NUL byte…: the file, not a row, is bad
        raise Invalid(f"after line {reader.line_num}: not readable as CSV ({exc})", field="body") from None


def _rows(reader: csv.DictReader) -> Iterator[dict]:
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise Invalid(f"the header lacks column(s): {', '.join(missing)} (needs {','.join(REQUIRED)})", field="body")
    reader.fieldnames = header
    yield from reader


def import_cameras(*, ctx: Ctx, data: bytes, jurisdiction_id: int) -> Report:
    """Import a CSV camera list into ``jurisdiction_id`` (and its offices, by boundary); per-row refusals."""
    require_admin(ctx.principal, "import cameras")
    started = time.perf_counter()
    home = ctx.db.scalar(select(Jurisdiction).where(Jurisdiction.id == jurisdiction_id,
                                                    jurisdiction_clause(ctx.principal)))
    if home is None:
        raise NotFound()  # the jurisdiction is the object of the import: another one looks nonexistent
    return run_import(ctx=ctx, data=data, home=home, started=started)


def run_import(*, ctx: Ctx, data: bytes, home: Jurisdiction, started: float | None = None) -> Report:
    """The import itself, for a caller already allowed to write into ``home`` (the route, the operator's CLI)."""
    started = time.perf_counter() if started is None else started
    report, accepted, first_line = Report(), [], {}
    networks = camera_networks(ctx.settings)
    for line, row in enumerate(_read(data), start=2):
        report.rows += 1
        if report.rows > MAX_ROWS:
            raise Invalid(f"at most {MAX_ROWS} rows per import", field="body")
        code = (row.get("code") or "").strip()[:64] or None
        try:
            if None in row or any(v is None for k, v in row.items() if k in REQUIRED):
                raise RowRefused("wrong number of fields")
            item = _parse(row, networks)
            if item["code"] in first_line:
                raise RowRefused(f"code: also on line {first_line[item['code']]} of this file")
        except RowRefused as exc:
            report.refused.append({"line": line, "code": code, "reason": str(exc)})
            continue
        first_line[item["code"]] = line
        item["line"] = line
        accepted.append(item)
    taken = _registered(ctx, [a["code"] for a in accepted])
    for item in [a for a in accepted if a["code"] in taken]:
        report.refused.append({"line": item["line"], "code": item["code"], "reason": "code: already registered"})
    accepted = [a for a in accepted if a["code"] not in taken]
    if accepted:
        _copy(ctx, accepted, home)
    report.imported = len(accepted)
    report.refused.sort(key=lambda r: r["line"])
    report.elapsed_ms = (time.perf_counter() - started) * 1000
    ctx.record("camera.import", "jurisdiction", home.id,
               detail={"rows": report.rows, "imported": report.imported, "refused": len(report.refused)})
    return report


def _registered(ctx: Ctx, codes: list[str]) -> set[str]:
    if not codes:
        return set()
    return set(ctx.db.scalars(select(Camera.code).where(Camera.code.in_(codes))))


def _copy(ctx: Ctx, rows: list[dict], home: Jurisdiction) -> None:
    lon = np.array([r["lon"] for r in rows], np.float64)
    lat = np.array([r["lat"] for r in rows], np.float64)
    datums = np.array([r["datum"] for r in rows])
    for datum in set(datums.tolist()) - {"wgs84"}:
        mask = datums == datum
        lon[mask], lat[mask] = to_wgs84(lon[mask], lat[mask], datum)
    now = ctx.clock.now()
    ctx.db.flush()
    raw = ctx.db.connection().connection.driver_connection
    with raw.cursor() as cur, cur.copy(_COPY) as copy:
        for r, x, y in zip(rows, lon.tolist(), lat.tolist()):
            copy.write_row((r["code"], r["name"], x, y, f"SRID=4326;POINT({x!r} {y!r})", r["datum"], r["heading"],
                            r["fov"], r["range_m"], r["height_m"], r["url"], home.id, r["status"], now, now))
    # Each camera into the office below ``home`` whose boundary covers it (else it stays at ``home``).
    ctx.db.execute(text("""
        UPDATE cameras c SET jurisdiction_id = j.id
        FROM jurisdictions j
        WHERE c.code = ANY(:codes) AND j.level = 'office' AND j.boundary IS NOT NULL
          AND starts_with(j.path, :path) AND ST_Covers(j.boundary, c.geog::geometry)"""),
        {"codes": [r["code"] for r in rows], "path": home.path})
